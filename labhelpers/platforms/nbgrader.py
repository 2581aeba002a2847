"""Copies of the solution notebooks that nbgrader (schema version 3) can take as its source.

    python -m labhelpers release --nbgrader COURSE/source/ASSIGNMENT

Each exercise cell (one holding `### BEGIN SOLUTION`) becomes a solution cell, each check cell an
autograded test cell worth the exercise's points (`exercises.POINTS`), every other code cell given
code, locked; markdown cells are left alone. `nbgrader generate_assignment` then writes the student
version, and `nbgrader autograde` runs the check cells in the student's kernel: a check that raises
scores 0, one that passes scores its points (nbgrader gives no partial credit for a raised error).

A course on JAX or PyTorch passes `--backend`: the copies then hold that backend's cells (the
student notebooks of notebooks/<backend>/), their first cell setting KERAS_BACKEND; labs not
written for it are left out.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat

from labhelpers import backends
from labhelpers.exercises import points_of
from labhelpers.release import BEGIN, pin_backend, backend_view, lab_backends, student_notebook
from labhelpers.submissions import load_lab

SCHEMA_VERSION = 3


def grade_id(kind: str, label: str, extra: int = 0) -> str:
    """A grade_id nbgrader accepts everywhere (letters, digits, '_' and '-'): "check-1_3-MyRNNCell"."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", label.replace(".", "_").replace(" ", "-")).strip("_")
    return f"{kind}-{name}" + (f"-{extra + 1}" if extra else "")


def metadata(grade_id_: str, *, solution=False, grade=False, locked=False, points=None) -> dict:
    meta = {"schema_version": SCHEMA_VERSION, "grade_id": grade_id_, "solution": solution, "grade": grade,
            "locked": locked, "task": False}
    if grade:
        meta["points"] = int(points) if float(points).is_integer() else float(points)
    return meta


def nbgrader_notebook(path: Path, backend: str = backends.DEFAULT) -> nbformat.NotebookNode:
    """The solution notebook at `path` as `backend` runs it, its code cells carrying nbgrader's
    metadata, outputs cleared."""
    lab = load_lab(path, backend)
    solution = nbformat.read(path, as_version=4)
    student_notebook(solution, path.name, backend)  # refuses a notebook whose regions `release` would refuse
    notebook = copy.deepcopy(backend_view(solution, backend, path.name))
    if backend != backends.DEFAULT:
        backends.mark(notebook, backend)
        pin_backend(notebook, backend)
    exercise_cells = {index: (exercise, n) for exercise in lab.exercises for n, index in enumerate(exercise.cells)}
    checks = {exercise.check: exercise for exercise in lab.exercises if exercise.check is not None}
    for index, cell in enumerate(notebook.cells):
        cell.metadata.pop("nbgrader", None)
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        if index in exercise_cells:
            exercise, n = exercise_cells[index]
            cell.metadata["nbgrader"] = metadata(grade_id("answer", exercise.label, n), solution=True)
        elif index in checks and checks[index].check_function:
            cell.metadata["nbgrader"] = metadata(grade_id("check", checks[index].label), grade=True, locked=True,
                                                 points=points_of(checks[index].number))
        else:
            if any(line.strip() == BEGIN for line in cell.source.split("\n")):
                raise ValueError(f"{path.name} cell {index}: a solution region outside an exercise")
            cell.metadata["nbgrader"] = metadata(f"given-{cell.get('id') or index}", locked=True)
    ids = [cell.metadata["nbgrader"]["grade_id"] for cell in notebook.cells if "nbgrader" in cell.metadata]
    if len(ids) != len(set(ids)):
        raise ValueError(f"{path.name}: grade_ids are not unique")
    return notebook


def release_nbgrader(solutions: Path, out: Path, labs: list[str] | None = None,
                     backend: str = backends.DEFAULT) -> list[Path]:
    """Write nbgrader source copies of the solution notebooks written for `backend` (all, or those
    whose names start with one of `labs`, e.g. "01") into `out`; returns the files written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(Path(solutions).glob("*.ipynb")):
        if labs and not any(path.name.startswith(lab) for lab in labs):
            continue
        if backend not in lab_backends(nbformat.read(path, as_version=4)):
            continue
        target = out / path.name
        nbformat.write(nbgrader_notebook(path, backend), target)
        written.append(target)
    return written
