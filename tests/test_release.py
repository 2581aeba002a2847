"""Release: solutions -> student notebooks, the staleness and leak checks, bundles."""

import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from labhelpers import release

ROOT = Path(__file__).resolve().parent.parent

SOLVED = '''def area(r):
    "Area of a circle."
    ### BEGIN SOLUTION
    return 3.14159 * r ** 2
    ### END SOLUTION'''


def solution_notebook():
    check = new_code_cell("print('area(1) is', area(1))", metadata={"tags": ["raises-exception"]})
    params = new_code_cell("STEPS = 10", metadata={"tags": ["parameters"], "scrolled": True})
    solved = new_code_cell(SOLVED, execution_count=3, outputs=[new_output("stream", name="stdout", text="stale output\n")])
    cells = [new_markdown_cell("# Demo"), params, new_markdown_cell("### Exercise 3.2: area"), solved, check]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                               "language": "python"}, "widgets": {}})


@pytest.fixture
def course(tmp_path):
    (tmp_path / "solutions").mkdir()
    nbformat.write(solution_notebook(), tmp_path / "solutions" / "03_demo.ipynb")
    return tmp_path


def released(course):
    assert release.release(course / "solutions", course / "notebooks") == []
    return nbformat.read(course / "notebooks" / "03_demo.ipynb", as_version=4)


def test_solution_becomes_an_indented_stub_naming_the_exercise(course):
    cell = released(course).cells[3]
    assert cell.source == (
        'def area(r):\n    "Area of a circle."\n    # YOUR CODE HERE (Exercise 3.2 area)\n'
        '    raise NotImplementedError("Exercise 3.2 area: replace this line with your code")'
    )


def test_outputs_cleared_tags_kept_other_metadata_dropped(course):
    notebook = released(course)
    assert all(c.outputs == [] and c.execution_count is None for c in notebook.cells if c.cell_type == "code")
    assert notebook.cells[1].metadata == {"tags": ["parameters"]}
    assert notebook.cells[4].metadata == {"tags": ["raises-exception"]}
    assert set(notebook.metadata) == {"kernelspec"}


def test_stub_raises_not_implemented_at_its_exercise(course):
    namespace = {}
    exec(released(course).cells[3].source, namespace)
    with pytest.raises(NotImplementedError, match="Exercise 3.2 area"):
        namespace["area"](1.0)


def test_check_passes_when_in_step(course):
    released(course)
    assert release.release(course / "solutions", course / "notebooks", check=True) == []


def test_check_reports_stale_notebook(course):
    released(course)
    notebook = nbformat.read(course / "solutions" / "03_demo.ipynb", as_version=4)
    notebook.cells[1].source = "STEPS = 20"
    nbformat.write(notebook, course / "solutions" / "03_demo.ipynb")
    problems = release.release(course / "solutions", course / "notebooks", check=True)
    assert len(problems) == 1 and "out of date" in problems[0] and "cells [1]" in problems[0]


def test_check_reports_a_leaked_solution_line(course):
    notebook = released(course)
    notebook.cells[3].source += "\n    return 3.14159 * r ** 2"
    nbformat.write(notebook, course / "notebooks" / "03_demo.ipynb")
    problems = release.release(course / "solutions", course / "notebooks", check=True)
    assert any("leaked into cells [3]" in p and "3.14159 * r ** 2" in p for p in problems)


def test_check_reports_missing_and_orphan_notebooks(course):
    problems = release.release(course / "solutions", course / "notebooks", check=True)
    assert any("missing" in p for p in problems)
    released(course)
    (course / "notebooks" / "99_orphan.ipynb").write_text("{}")
    problems = release.release(course / "solutions", course / "notebooks", check=True)
    assert problems == [f"{course / 'notebooks' / '99_orphan.ipynb'}: has no solution notebook"]


@pytest.mark.parametrize("source, error", [
    ("### BEGIN SOLUTION\nx = 1", "without ### END SOLUTION"),
    ("x = 1\n### END SOLUTION", "without ### BEGIN SOLUTION"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside another"),
])
def test_malformed_markers_are_reported(course, source, error):
    notebook = solution_notebook()
    notebook.cells[3].source = source
    nbformat.write(notebook, course / "solutions" / "03_demo.ipynb")
    problems = release.release(course / "solutions", course / "notebooks")
    assert len(problems) == 1 and error in problems[0] and "03_demo.ipynb cell 3" in problems[0]


def test_region_without_exercise_heading_is_refused(course):
    notebook = solution_notebook()
    del notebook.cells[2]
    nbformat.write(notebook, course / "solutions" / "03_demo.ipynb")
    problems = release.release(course / "solutions", course / "notebooks")
    assert problems and "no 'Exercise N.M' heading" in problems[0]


def test_release_is_idempotent(course, capsys):
    released(course)
    capsys.readouterr()
    released(course)
    assert capsys.readouterr().out == ""


def test_bundle_writes_student_zip_and_executed_solutions(course):
    released(course)
    (course / "labhelpers").mkdir()
    (course / "labhelpers" / "grading.py").write_text("# core\n")
    (course / "README.md").write_text("# course\n")
    written = release.bundle(course, course / "dist", timeout=120)
    with zipfile.ZipFile(course / "dist" / "seqlab-student.zip") as archive:
        names = set(archive.namelist())
    assert names == {"seqlab/README.md", "seqlab/notebooks/03_demo.ipynb", "seqlab/labhelpers/grading.py"}
    html = (course / "dist" / "instructor" / "03_demo.html").read_text()
    assert written[-1].name == "03_demo.html"
    assert "area(1) is 3.14159" in html and "stale output" not in html


def test_repository_notebooks_are_in_step_with_solutions():
    """`release --check` on the real course: notebooks/ generated and nothing leaked."""
    result = subprocess.run([sys.executable, "-m", "labhelpers", "release", "--check"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_committed_notebooks_have_no_outputs():
    for path in sorted(ROOT.glob("solutions/*.ipynb")) + sorted(ROOT.glob("notebooks/*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        dirty = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
        assert not dirty, f"{path.name}: cells {dirty} have outputs; clear them before committing"
