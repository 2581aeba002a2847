"""The grade follows Restart & Run All: every code cell a student wrote runs, in their order; only the
check cells are the instructor's. Each notebook here passes Restart & Run All in JupyterLab with its
cells added, duplicated, moved or saved without ids, and must get the credit it would get there.

The notebooks answer the tiny lab 97 of test_gradebook.py and are graded in one batch, in the sandbox.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from labhelpers import gradebook, sandbox, submissions
from labhelpers.gradebook import GRADED, SETUP_ERROR
from labhelpers.grading import FAILED, NOT_TRIED, PASSED
from test_gradebook import RIGHT, RIGHT_COUNTER, WRONG_DOUBLE, answered, grade, released

pytestmark = pytest.mark.filterwarnings("ignore:Non-unique cell id")  # nbformat repairs a pasted cell's id

# The released notebook of lab 97, by index: 0 title, 1 imports, 2 parameters, 3 heading 7.1, 4 double,
# 5 check 7.1, 6 print(double(5)), 7 heading 7.2, 8 Counter, 9 check 7.2, 10 what you learned.
STUB_71, CHECK_71, CHECK_72 = 4, 5, 9
R = {"7.1 double": PASSED, "7.2 Counter": PASSED}
# A Counter that builds on 7.1: right only when the double in force is right.
COUNTER_ON_DOUBLE = ("class Counter:\n    def __init__(self):\n        self.total = 0\n\n"
                     "    def add(self, number):\n        self.total += double(number) - number")


def insert(notebook, index: int, *cells):
    """The notebook with cells put in before `index` (cells are copied)."""
    notebook.cells[index:index] = [copy.deepcopy(cell) for cell in cells]
    return notebook


def pasted_copy(labs, answer: str, same_id: bool = False):
    """The stub of 7.1 kept, a copy of it with the answer pasted below; same_id keeps the stub's id."""
    notebook = answered(labs, {8: COUNTER_ON_DOUBLE})
    cell = copy.deepcopy(notebook.cells[STUB_71])
    cell.source = answer
    if not same_id:
        cell["id"] = "pasted-answer"
    return insert(notebook, STUB_71 + 1, cell)


def layouts(labs) -> dict[str, tuple]:
    """student -> (notebook, status, results, fragment of the notes or messages)."""
    helper_in_section = insert(answered(labs, {STUB_71: "def double(x):\n    return twice(x)", 8: RIGHT_COUNTER}),
                               STUB_71, new_code_cell("def twice(x):\n    return x + x"))
    helper_in_setup = insert(answered(labs, {STUB_71: "def double(x):\n    return twice(x)",
                                             8: COUNTER_ON_DOUBLE}),
                             3, new_code_cell("def twice(x):\n    return x + x"))
    stub_deleted = pasted_copy(labs, RIGHT[4])
    del stub_deleted.cells[STUB_71]
    raising_stub = pasted_copy(labs, RIGHT[4])
    raising_stub.cells[STUB_71].source = 'raise NotImplementedError("I answer below")'
    moved = answered(labs, {STUB_71: RIGHT[4], 8: COUNTER_ON_DOUBLE})
    moved.cells[5], moved.cells[6] = moved.cells[6], moved.cells[5]  # print(double(5)) above the check
    insert(moved, 9, new_code_cell("counter = Counter()\ncounter.add(3)\nprint(counter.total)"))
    moved.cells[9], moved.cells[10] = moved.cells[10], moved.cells[9]  # the check of 7.2 above the try-out
    insert(moved, 8, new_markdown_cell("My notes: *Counter* keeps a running total."))
    insert(moved, 4, new_markdown_cell("double adds x to itself"), new_markdown_cell("---"))
    no_ids = insert(pasted_copy(labs, RIGHT[4]), 2, new_code_cell("import math\nimport numpy as np"))
    no_ids.nbformat_minor = 4
    for cell in no_ids.cells:
        cell.pop("id", None)
    deleted_check = pasted_copy(labs, RIGHT[4])
    del deleted_check.cells[CHECK_71 + 1]
    edited_check = pasted_copy(labs, WRONG_DOUBLE)
    edited_check.cells[CHECK_71 + 1].source = "tinylab.check_double(lambda x: 2 * x)"
    own_checks = answered(labs, {STUB_71: WRONG_DOUBLE, 8: RIGHT_COUNTER})
    right_lambda = new_code_cell("tinylab.check_double(lambda x: 2 * x)")
    # its own calls of check_double with a right answer: in 7.2's section, above the check of 7.1, in the setup
    own_checks = insert(insert(insert(own_checks, 8, right_lambda), CHECK_71, right_lambda), 2, right_lambda)
    no_ids_own_check = answered(labs, {STUB_71: WRONG_DOUBLE, 8: RIGHT_COUNTER})
    insert(no_ids_own_check, STUB_71, new_code_cell("tinylab.check_double(lambda x: 2 * x)"))
    for cell in no_ids_own_check.cells:
        cell.pop("id", None)
    no_ids_own_check.nbformat_minor = 4
    broken_setup = insert(answered(labs, RIGHT), 3, new_code_cell("raise RuntimeError('my own setup')"))
    still_stub = pasted_copy(labs, released(labs).cells[STUB_71].source)
    return {
        "helper_in_section": (helper_in_section, GRADED, R, ""),
        "helper_in_setup": (helper_in_setup, GRADED, R, ""),
        "pasted_new_id": (pasted_copy(labs, RIGHT[4]), GRADED, R, ""),
        "pasted_same_id": (pasted_copy(labs, RIGHT[4], same_id=True), GRADED, R, ""),
        "pasted_stub_deleted": (stub_deleted, GRADED, R, ""),
        "raising_stub_above": (raising_stub, GRADED, R, ""),
        "moved_and_markdown": (moved, GRADED, R, ""),
        "no_ids_extra_import": (no_ids, GRADED, R, ""),
        "pasted_wrong": (pasted_copy(labs, WRONG_DOUBLE), GRADED, {"7.1 double": FAILED, "7.2 Counter": FAILED},
                         "squared its input"),
        "pasted_still_stub": (still_stub, GRADED, dict.fromkeys(R, NOT_TRIED), "NotImplementedError"),
        "deleted_check": (deleted_check, GRADED, R, "check cell of 7.1 double deleted"),
        "edited_check": (edited_check, GRADED, {"7.1 double": FAILED, "7.2 Counter": FAILED},
                         "check cell of 7.1 double edited"),
        "own_check_calls": (own_checks, GRADED, {**R, "7.1 double": FAILED}, "squared its input"),
        "no_ids_own_check": (no_ids_own_check, GRADED, {**R, "7.1 double": FAILED}, "squared its input"),
        "broken_own_setup": (broken_setup, SETUP_ERROR, R, "RuntimeError"),
    }


def write_raw(notebook, path: Path) -> None:
    """Write a notebook as it is, duplicate cell ids included (nbformat.write would repair them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook, indent=1))


# ---------------------------------------------------------------- assembly, without kernels


def test_check_cells_are_the_instructors_and_every_other_cell_the_students(labs):
    lab = labs["97_tiny"]
    submission = answered(labs, {1: "import os\nimport tinylab\nimport math", 4: RIGHT[4],
                                 CHECK_71: 'print("PASS 7.1 double")'})
    insert(submission, 4, new_code_cell("def twice(x):\n    return x + x"))
    assembled = submissions.assemble(submission, lab)
    sources = [cell.source for cell in assembled.notebook.cells]
    assert sources[1] == "import os\nimport tinylab\nimport math" and sources[4].startswith("def twice")
    exercises = {e.label: e for e in assembled.lab.exercises}
    assert (exercises["7.1 double"].cells, exercises["7.1 double"].check) == ([4, 5], 6)
    assert (exercises["7.2 Counter"].cells, exercises["7.2 Counter"].check) == ([9], 10)
    assert sources[6] == "tinylab.check_double(double)" and sources[10] == "tinylab.check_counter(Counter)"
    assert any("check cell of 7.1 double edited" in note for note in assembled.notes)
    assert any("1 other non-exercise code cell" in note for note in assembled.notes)
    assert not assembled.missing


def test_a_deleted_check_goes_before_the_next_instructor_cell(labs):
    submission = pasted_copy(labs, RIGHT[4])
    del submission.cells[CHECK_71 + 1]  # the pasted answer is at 5; the check was at 6
    assembled = submissions.assemble(submission, labs["97_tiny"])
    sources = [cell.source for cell in assembled.notebook.cells]
    double = next(e for e in assembled.lab.exercises if e.number == "7.1")
    assert double.cells == [4, 5] and double.check == 6 and sources[6] == "tinylab.check_double(double)"
    assert sources[7] == 'print("double(5) =", double(5))'
    last = released(labs)
    del last.cells[CHECK_72]
    assembled = submissions.assemble(last, labs["97_tiny"])
    counter = next(e for e in assembled.lab.exercises if e.number == "7.2")
    assert counter.check == 9 and assembled.notebook.cells[10].source == "## What you learned"


def test_outputs_are_dropped_and_skip_tags_ignored(labs):
    submission = answered(labs, RIGHT)
    submission.cells[4].outputs = [nbformat.v4.new_output("stream", name="stdout", text="PASS 7.1\n")]
    submission.cells[4].metadata["tags"] = ["skip-execution"]
    cell = submissions.assemble(submission, labs["97_tiny"]).notebook.cells[4]
    assert cell.outputs == [] and "skip-execution" not in cell.metadata.get("tags", [])


def test_a_notebook_without_an_exercise_cell_has_it_missing(labs):
    submission = released(labs)
    del submission.cells[STUB_71]
    assembled = submissions.assemble(submission, labs["97_tiny"])
    assert assembled.missing == {"7.1 double"}
    assert not any("NotImplementedError" in cell.source and "7.1" in cell.source for cell in assembled.notebook.cells)


def test_review_flags_cover_every_cell_the_student_wrote(labs):
    submission = answered(labs, {**RIGHT, 1: "import os\n\nimport tinylab\nimport subprocess", 6: "open('x')"})
    insert(submission, 9, new_code_cell("import socket"))
    notes = submissions.assemble(submission, labs["97_tiny"]).notes
    reviews = [note for note in notes if note.startswith("review:")]
    assert any("of setup" in note and "subprocesses" in note for note in reviews), reviews
    assert any("of 7.1 double" in note and "files or paths" in note for note in reviews), reviews
    assert any("of 7.2 Counter" in note and "network" in note for note in reviews), reviews
    assert not any(note.startswith("review:") for note in submissions.assemble(answered(labs, RIGHT),
                                                                                labs["97_tiny"]).notes)


def test_setup_error_uses_the_assembled_indices(labs):
    submission = insert(answered(labs, RIGHT), 3, new_code_cell("raise RuntimeError('mine')"))
    lab = submissions.assemble(submission, labs["97_tiny"]).lab
    assert "RuntimeError" in gradebook._setup_error(lab, gradebook.Execution({3: "RuntimeError: mine"}))
    assert gradebook._setup_error(lab, gradebook.Execution({5: "NameError: twice"})) is None


# ---------------------------------------------------------------- graded in one batch


@pytest.fixture(scope="module")
def graded(course, labs, tmp_path_factory):
    if sandbox.unavailable_reason() is not None:
        pytest.skip(f"no sandbox here: {sandbox.unavailable_reason()}")
    folder = tmp_path_factory.mktemp("layouts")
    cases = layouts(labs)
    for student, (notebook, *_) in cases.items():
        write_raw(notebook, folder / student / "97_tiny.ipynb")
    rows, _ = grade(course, folder, jobs=2)  # test_gradebook's settings: 3 s a cell, 10 s a notebook
    return {row.student: row for row in rows}, cases


def test_every_layout_is_graded_as_restart_and_run_all_would(graded):
    rows, cases = graded
    wrong = []
    for student, (_, status, results, fragment) in cases.items():
        row = rows.get(student)
        found = row and (row.status, {label: result.status for label, result in row.results.items()})
        text = row and " ".join(row.notes + [r.message for r in row.results.values()])
        if found != (status, results) or fragment not in text:
            wrong.append(f"{student}: expected {status} {results} with {fragment!r}, got {row}")
    assert wrong == []


def test_a_check_called_by_the_student_earns_nothing(graded):
    rows, _ = graded
    for student in ("own_check_calls", "no_ids_own_check", "edited_check"):
        assert rows[student].results["7.1 double"].status == FAILED, rows[student]
        assert "squared its input" in rows[student].results["7.1 double"].message


def test_layouts_raise_no_review_flag(graded):
    rows, _ = graded
    assert not any(note.startswith("review:") for row in rows.values() for note in row.notes)
