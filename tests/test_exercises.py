"""One list of exercises: labhelpers/exercises.py, the notebooks' headings and the declared checks agree."""

import importlib
import re
from pathlib import Path

import nbformat
import pytest

from labhelpers import exercises, grading
from labhelpers.release import EXERCISE_HEADING

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


def headings(path: Path) -> dict[str, str]:
    notebook = nbformat.read(path, as_version=4)
    return {number: name.strip() for cell in notebook.cells if cell.cell_type == "markdown"
            for number, name in EXERCISE_HEADING.findall(cell.source)}


def test_every_lab_has_its_notebook():
    assert [re.match(r"\d+", p.name).group() for p in SOLUTIONS] == sorted(exercises.LABS)


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_headings_equal_the_registry(path):
    number = re.match(r"\d+", path.name).group()
    assert headings(path) == exercises.LABS[number][1]
    assert headings(ROOT / "notebooks" / path.name) == exercises.LABS[number][1]


@pytest.mark.parametrize("number", sorted(exercises.LABS))
def test_declared_checks_equal_the_registry(number):
    importlib.import_module(f"labhelpers.{exercises.MODULES[number]}")
    lab = grading.LABS[number]
    assert lab.title == exercises.LABS[number][0]
    assert {e.id: e.name for e in lab.exercises.values()} == exercises.LABS[number][1]


@pytest.mark.parametrize("number", sorted(exercises.LABS))
def test_notebook_check_calls_reach_the_declared_checks(number):
    """Each check cell calls a check_ function of the lab's module that is that exercise's check."""
    from labhelpers import submissions

    lab = submissions.load_lab(next(p for p in SOLUTIONS if p.name.startswith(number)))
    for cells in lab.exercises:
        assert cells.judge().id == cells.number, cells.label
