"""Batch grading: lab recognition, notebook assembly, and 30 crafted submissions graded in parallel.

The crafted submissions answer a tiny instructor lab whose checks live in a test-only module,
so each notebook runs in about a second; one slower test grades real Lab 01 submissions.
"""

import csv
import shutil
import textwrap
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from labhelpers import __main__ as cli
from labhelpers import backends, gradebook, submissions
from labhelpers.grading import FAILED, NOT_TRIED, PASSED
from labhelpers.release import backend_view, student_notebook
from labhelpers.gradebook import EMPTY, GRADED, INVALID, KERNEL_DIED, NOT_REACHED, SETUP_ERROR, TIMEOUT, UNKNOWN_LAB

ROOT = Path(__file__).resolve().parent.parent
KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}

TINY_CHECKS = '''
from labhelpers.grading import Lab

lab = Lab("97", "Tiny", judges="tinylab_judges")


def probe_double(double, inputs):
    return {"found": double(inputs["x"])}


def probe_counter(counter_class, inputs):
    counter = counter_class()
    for number in inputs["numbers"]:
        counter.add(number)
    return {"total": counter.total}


check_double = lab.exercise("7.1", name="double", probe=probe_double)
check_counter = lab.exercise("7.2", name="Counter", probe=probe_counter)
'''

TINY_JUDGES = '''
from labhelpers.grading import CheckFailed, judging


def draw_double(rng):
    return {"x": int(rng.integers(3, 10_000))}


def judge_double(inputs, data):
    x, found = inputs["x"], data["found"]
    if found == x * x:
        raise CheckFailed(f"double({x}) squared its input", expected=str(2 * x), found=str(found),
                          hint="add x to itself.")
    if found != 2 * x:
        raise CheckFailed(f"double({x}) is wrong", expected=str(2 * x), found=repr(found))
    return f"double({x}) == {2 * x}"


def draw_counter(rng):
    return {"numbers": rng.integers(1, 100, size=int(rng.integers(2, 6))).tolist()}


def judge_counter(inputs, data):
    numbers = inputs["numbers"]
    if data["total"] != sum(numbers):
        raise CheckFailed(f"the total is wrong after adding {numbers}", expected=str(sum(numbers)),
                          found=repr(data["total"]))
    return f"adding {numbers} gives {sum(numbers)}"


judging("7.1", draw=draw_double, judge=judge_double)
judging("7.2", draw=draw_counter, judge=judge_counter)
'''

OTHER_CHECKS = '''
from labhelpers.grading import Lab

lab = Lab("98", "Other", judges="otherlab_judges")
check_negate = lab.exercise("8.1", name="negate", probe=lambda negate, inputs: {"found": negate(inputs["x"])})
'''

OTHER_JUDGES = '''
from labhelpers.grading import CheckFailed, judging


def judge_negate(inputs, data):
    if data["found"] != -inputs["x"]:
        raise CheckFailed(f"negate({inputs['x']}) is wrong", expected=str(-inputs["x"]), found=repr(data["found"]))
    return f"negate({inputs['x']}) == {-inputs['x']}"


judging("8.1", draw=lambda rng: {"x": int(rng.integers(1, 1000))}, judge=judge_negate)
'''

DOUBLE = "def double(x):\n    \"Twice x.\"\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"
COUNTER = '''class Counter:
    "Adds numbers up."

    def __init__(self):
        self.total = 0

    def add(self, number):
        ### BEGIN SOLUTION
        self.total += number
        ### END SOLUTION'''
NEGATE = "def negate(x):\n    ### BEGIN SOLUTION\n    return -x\n    ### END SOLUTION"


def tiny_solution():
    """The instructor notebook of lab 97: setup, two exercises, each followed by its check."""
    cells = [
        new_markdown_cell("# Lab 97: Tiny"),
        new_code_cell("import os\n\nimport tinylab"),
        new_code_cell('QUICK = os.environ.get("LAB_QUICK") == "1"\nassert QUICK', metadata={"tags": ["parameters"]}),
        new_markdown_cell("## 7.1 Doubling\n### Exercise 7.1: double"),
        new_code_cell(DOUBLE),
        new_code_cell("tinylab.check_double(double)"),
        new_code_cell('print("double(5) =", double(5))'),
        new_markdown_cell("### Exercise 7.2: Counter"),
        new_code_cell(COUNTER),
        new_code_cell("tinylab.check_counter(Counter)"),
        new_markdown_cell("## What you learned"),
    ]
    return new_notebook(cells=cells, metadata={**KERNEL, "seqlab": {"backends": ["tensorflow", "jax", "torch"]}})


def other_solution():
    cells = [new_markdown_cell("# Lab 98: Other"), new_code_cell("import otherlab"),
             new_markdown_cell("### Exercise 8.1: negate"), new_code_cell(NEGATE), new_code_cell("otherlab.check_negate(negate)")]
    return new_notebook(cells=cells, metadata=KERNEL)


def write_course(root: Path) -> Path:
    """root/solutions with two tiny labs, root/checks with their probes (what a kernel may import) and
    root/judges with their judges (the grader's only)."""
    (root / "solutions").mkdir(parents=True)
    (root / "checks").mkdir()
    (root / "judges").mkdir()
    (root / "checks" / "tinylab.py").write_text(TINY_CHECKS)
    (root / "checks" / "otherlab.py").write_text(OTHER_CHECKS)
    (root / "judges" / "tinylab_judges.py").write_text(TINY_JUDGES)
    (root / "judges" / "otherlab_judges.py").write_text(OTHER_JUDGES)
    nbformat.write(tiny_solution(), root / "solutions" / "97_tiny.ipynb")
    nbformat.write(other_solution(), root / "solutions" / "98_other.ipynb")
    return root


def released(labs, name="97_tiny"):
    """A copy of the notebook students get."""
    return nbformat.reads(nbformat.writes(labs[name].notebook), as_version=4)


def answered(labs, answers: dict[int, str], name="97_tiny"):
    """The student notebook with some cells (by index) rewritten."""
    notebook = released(labs, name)
    for index, source in answers.items():
        notebook.cells[index].source = source
    return notebook


RIGHT_COUNTER = "class Counter:\n    def __init__(self):\n        self.total = 0\n\n    def add(self, number):\n        self.total += number"
RIGHT = {4: "def double(x):\n    return x + x", 8: RIGHT_COUNTER}
WRONG_DOUBLE = "def double(x):\n    return x * x"
WRONG_COUNTER = "class Counter:\n    def __init__(self):\n        self.total = 0\n\n    def add(self, number):\n        self.total = number"


# ---------------------------------------------------------------- units


def test_load_lab_finds_exercise_and_check_cells(labs):
    tiny = labs["97_tiny"]
    assert [(e.label, e.cells, e.check) for e in tiny.exercises] == [("7.1 double", [4], 5), ("7.2 Counter", [8], 9)]
    assert "tinylab" in tiny.imports and "raise NotImplementedError" in tiny.notebook.cells[4].source


def test_check_cell_is_the_one_calling_a_check(tmp_path):
    cells = [new_markdown_cell("### Exercise 6.1: negate"), new_code_cell(NEGATE), new_code_cell("print(negate(1))"),
             new_code_cell("otherlab.check_negate(negate)"), new_markdown_cell("### Exercise 6.2: other"),
             new_code_cell(NEGATE.replace("negate", "other")), new_code_cell("print(other(1))")]
    nbformat.write(new_notebook(cells=cells, metadata=KERNEL), tmp_path / "06_demo.ipynb")
    lab = submissions.load_lab(tmp_path / "06_demo.ipynb")
    assert [(e.label, e.check) for e in lab.exercises] == [("6.1 negate", 3), ("6.2 other", 6)]


def test_load_labs_skips_a_broken_solution(tmp_path):
    nbformat.write(new_notebook(cells=[new_code_cell("### BEGIN SOLUTION\nx = 1")]), tmp_path / "01_broken.ipynb")
    warnings = []
    assert submissions.load_labs(tmp_path, warn=warnings.append) == []
    assert "01_broken" in warnings[0]


def test_identify_uses_content_not_only_the_name(labs):
    catalogue = list(labs.values())
    other = released(labs, "98_other")
    assert submissions.identify(other, "97_tiny.ipynb", catalogue)[0].name == "98_other"
    for cell in other.cells:
        cell.pop("id", None)  # headings alone still tell
    assert submissions.identify(other, "homework.ipynb", catalogue)[0].name == "98_other"
    stranger = new_notebook(cells=[new_markdown_cell("# My holiday"), new_code_cell("print(1)")])
    assert submissions.identify(stranger, "homework.ipynb", catalogue)[0] is None
    lab, note = submissions.identify(stranger, "97_anything.ipynb", catalogue)
    assert lab.name == "97_tiny" and "file name" in note


def test_assemble_runs_the_students_cells_with_the_original_checks_and_reports_edits(labs):
    submission = answered(labs, {**RIGHT, 1: "import missing_module", 5: 'print("PASS 7.1 double: trust me")'})
    assembled = submissions.assemble(submission, labs["97_tiny"])
    sources = [cell.source for cell in assembled.notebook.cells]
    assert sources[4] == RIGHT[4] and sources[5] == "tinylab.check_double(double)"
    assert sources[1] == "import missing_module"  # Restart & Run All runs the student's setup as it is
    assert any("check cell of 7.1 double edited" in note for note in assembled.notes)
    assert any("1 other non-exercise code cell" in note for note in assembled.notes)


def test_assemble_matches_cells_by_heading_when_ids_changed(labs):
    submission = answered(labs, RIGHT)
    for cell in submission.cells:
        cell["id"] = "new-" + cell["id"]
    assembled = submissions.assemble(submission, labs["97_tiny"])
    assert assembled.notebook.cells[8].source == RIGHT[8] and not assembled.missing


def test_assemble_counts_a_deleted_exercise_as_missing(labs):
    submission = released(labs)
    del submission.cells[4]
    assembled = submissions.assemble(submission, labs["97_tiny"])
    assert assembled.missing == {"7.1 double"}
    assert assembled.notebook.cells[4].source == "tinylab.check_double(double)"  # no stub put back


@pytest.mark.parametrize("content, status", [(b"", EMPTY), (b"{not json", INVALID), (b'{"hello": 1}', INVALID),
                                             (nbformat.writes(new_notebook()).encode(), EMPTY)])
def test_read_notebook_defines_broken_files(tmp_path, content, status):
    path = tmp_path / "x.ipynb"
    path.write_bytes(content)
    notebook, found, note = submissions.read_notebook(path)
    assert notebook is None and found == status and note


def test_setup_error_is_an_error_above_the_first_exercise(labs):
    execution = gradebook.Execution({1: "ImportError: no tinylab", 5: "NameError: double"})
    assert "ImportError" in gradebook._setup_error(labs["97_tiny"], execution)
    assert gradebook._setup_error(labs["97_tiny"], gradebook.Execution({5: "NameError: double"})) is None


def test_find_submissions_names_students(tmp_path):
    for name in ("ann/lab/a.ipynb", "bo.ipynb", "ann/.ipynb_checkpoints/a-checkpoint.ipynb"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}")
    assert [(s, p.name) for s, p in submissions.find_submissions(tmp_path)] == [("ann", "a.ipynb"), ("bo", "bo.ipynb")]


def test_reports_list_every_exercise(tmp_path):
    row = gradebook.Row("ann", "a.ipynb", "97_tiny", GRADED, {
        "7.1 double": gradebook.Result(PASSED, "double(3) == 6"),
        "7.2 Counter": gradebook.Result(FAILED, "total | wrong")}, ["a note"])
    gradebook.write_csv([row, gradebook.Row("bo", "b.ipynb", status=INVALID)], tmp_path / "g.csv")
    lines = list(csv.DictReader((tmp_path / "g.csv").open()))
    assert lines[0]["7.2 Counter"] == FAILED and lines[0]["score"] == "0.5" and lines[1]["status"] == INVALID
    summary = gradebook.write_summaries([row], tmp_path / "summaries")[0].read_text()
    assert "total \\| wrong" in summary and "1 of 2 exercises pass" in summary and "a note" in summary


def test_csv_columns_follow_the_labs_order(tmp_path):
    results = {label: gradebook.Result(PASSED, "ok") for label in
               ("3.6 generate_text", "1.5b one_hot", "3.6a sampling_step", "1.5a build_vocabulary", "1.2 rnn_step")}
    gradebook.write_csv([gradebook.Row("ann", "a.ipynb", "03_music", GRADED, results)], tmp_path / "g.csv")
    header = next(csv.reader((tmp_path / "g.csv").open()))
    assert [h for h in header if h[0].isdigit()] == ["1.2 rnn_step", "1.5a build_vocabulary", "1.5b one_hot",
                                                       "3.6a sampling_step", "3.6 generate_text"]


# ---------------------------------------------------------------- 30 crafted submissions

R = {"7.1 double": PASSED, "7.2 Counter": PASSED}


def _notebook_file(notebook) -> str:
    """The text of a notebook file."""
    return nbformat.writes(notebook)


def crafted(labs):
    """(path, content, status, results, fragment expected in the notes or messages) for 30 submissions."""

    def right(changes=None):
        """The right answers, with some cells changed."""
        return _notebook_file(answered(labs, {**RIGHT, **(changes or {})}))

    no_ids = answered(labs, RIGHT)
    no_ids.nbformat_minor = 4
    for cell in no_ids.cells:
        cell.pop("id")
    new_cell = answered(labs, RIGHT)
    new_cell.cells[4] = new_code_cell(RIGHT[4])  # a fresh cell under the heading, stub deleted
    deleted_exercise = answered(labs, RIGHT)
    del deleted_exercise.cells[4]
    deleted_check = answered(labs, RIGHT)
    del deleted_check.cells[5]
    stale = released(labs)
    stale.cells[5].outputs = [nbformat.v4.new_output("stream", name="stdout", text="PASS 7.1 double: yes\n")]
    other = _notebook_file(answered(labs, {3: "def negate(x):\n    return -x"}, "98_other"))
    loop = "while True:\n    pass"
    nap = "import time\ntime.sleep(2.5)"  # s11: 2.5 + 3 + 3 s of cells, then the 10 s limit hits cell 8
    kill = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"
    return [
        ("s01/97_tiny.ipynb", right(), GRADED, R, ""),
        ("s02/97_tiny.ipynb", _notebook_file(released(labs)), GRADED, dict.fromkeys(R, NOT_TRIED), "NotImplementedError"),
        ("s03/97_tiny.ipynb", right({4: WRONG_DOUBLE}), GRADED, {**R, "7.1 double": FAILED}, "squared its input"),
        ("s04/97_tiny.ipynb", right({8: WRONG_COUNTER}), GRADED, {**R, "7.2 Counter": FAILED}, "the total is wrong"),
        ("s05/97_tiny.ipynb", _notebook_file(answered(labs, {4: RIGHT[4]})), GRADED, {**R, "7.2 Counter": NOT_TRIED}, ""),
        ("s06/97_tiny.ipynb", right({1: "raise RuntimeError('my setup is broken')"}), SETUP_ERROR,
         dict.fromkeys(R, FAILED), "non-exercise code cell"),  # its setup runs as it is: tinylab never imported
        ("s07/97_tiny.ipynb", right({4: "raise ValueError('oops')"}), GRADED, {**R, "7.1 double": FAILED}, "ValueError"),
        ("s08/97_tiny.ipynb", right({4: "import not_a_real_module\n" + RIGHT[4]}), GRADED,
         {**R, "7.1 double": FAILED}, "ModuleNotFoundError"),
        ("s09/97_tiny.ipynb", right({4: loop}), GRADED, {**R, "7.1 double": FAILED}, "did not finish"),
        ("s10/97_tiny.ipynb", right({4: "def double(x):\n    while x > 0:\n        pass\n    return 2 * x"}), GRADED,
         {**R, "7.1 double": FAILED}, "check did not finish"),
        ("s11/97_tiny.ipynb", right({4: f"{nap}\ndef double(x):\n{textwrap.indent(loop, '    ')}",
                                     8: f"{nap}\n{RIGHT_COUNTER}"}),
         TIMEOUT, {"7.1 double": FAILED, "7.2 Counter": NOT_REACHED}, "notebook time limit"),
        ("s12/97_tiny.ipynb", right({8: kill}), KERNEL_DIED, {**R, "7.2 Counter": NOT_REACHED}, "kernel died"),
        ("s13/97_tiny.ipynb", _notebook_file(answered(labs, {5: 'print("PASS 7.1 double: trust me")'})), GRADED,
         dict.fromkeys(R, NOT_TRIED), "check cell of 7.1 double edited"),
        ("s14/97_tiny.ipynb", _notebook_file(deleted_check), GRADED, R, "check cell of 7.1 double deleted"),
        ("s15/97_tiny.ipynb", _notebook_file(deleted_exercise), GRADED, {**R, "7.1 double": NOT_TRIED},
         "exercise cell of 7.1 double deleted"),
        ("s16/97_tiny.ipynb", "{ this is not json", INVALID, {}, "not a readable notebook"),
        ("s17/97_tiny.ipynb", "", EMPTY, {}, "empty"),
        ("s18/97_tiny.ipynb", _notebook_file(new_notebook()), EMPTY, {}, "no cells"),
        ("s19/97_tiny.ipynb", '{"cells": "nope"}', INVALID, {}, "not a readable notebook"),
        ("s20/holiday.ipynb", _notebook_file(new_notebook(cells=[new_code_cell("print('hi')")])), UNKNOWN_LAB, {},
         "no exercise heading"),
        ("s21/97_tiny.ipynb", other, GRADED, {"8.1 negate": PASSED}, ""),
        ("s22/homework.ipynb", _notebook_file(no_ids), GRADED, R, ""),
        ("s23/97_tiny.ipynb", _notebook_file(new_cell), GRADED, R, ""),
        ("s24/97_tiny.ipynb", right({4: "def double(x):\n    return str(2 * x)"}), GRADED,
         {**R, "7.1 double": FAILED}, "Found: '"),
        ("s25/97_tiny.ipynb", right({4: "def double(x)\n    return 2 * x"}), GRADED, {**R, "7.1 double": FAILED},
         "SyntaxError"),
        ("s26/deep/folder/97_tiny.ipynb", right(), GRADED, R, ""),
        ("s27/97_tiny.ipynb", _notebook_file(stale), GRADED, dict.fromkeys(R, NOT_TRIED), ""),
        ("s28/97_tiny.ipynb", right({4: "import time\nprint('x' * 10000)\ntime.sleep(1)\n" + RIGHT[4]}), GRADED, R, ""),
        ("s29.ipynb", right(), GRADED, R, ""),
        ("s30/97_tiny.ipynb", right({4: "import os\nos._exit(0)"}), KERNEL_DIED, dict.fromkeys(R, NOT_REACHED),
         "kernel died"),
    ]


SETTINGS = dict(cell_timeout=3, notebook_timeout=10, startup_timeout=120)


def write_submissions(folder: Path, labs) -> list[tuple]:
    """Write the 30 crafted submissions into a folder; return their cases."""
    cases = crafted(labs)
    for path, content, *_ in cases:
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(content)
    return cases


def wrong_rows(rows, cases) -> list[str]:
    """The cases whose row is not the one expected (status, results, and a fragment of the notes)."""
    by_name = {f"{row.student}:{row.notebook}": row for row in rows}
    wrong = [] if len(rows) == len(cases) else [f"{len(rows)} rows for {len(cases)} submissions"]
    for path, _, status, results, fragment in cases:
        row = by_name.get(f"{path.split('/')[0].removesuffix('.ipynb')}:{Path(path).name}")
        found = row and (row.status, {label: result.status for label, result in row.results.items()})
        text = row and " ".join(row.notes + [r.message for r in row.results.values()])
        if found != (status, results) or fragment not in text:
            wrong.append(f"{path}: expected {status} {results} with {fragment!r}, got {row}")
    return wrong


@pytest.fixture(scope="module")
def class_folder(course, labs, tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    return folder, write_submissions(folder, labs)


def grade(course, folder, jobs):
    """Grade a folder against the tiny course; return the rows and the seconds it took."""
    settings = gradebook.Settings(jobs=jobs, pythonpath=[str(course / "checks")], judges_path=[str(course / "judges")],
                                  **SETTINGS)
    start = time.perf_counter()
    rows = gradebook.grade_folder(folder, course / "solutions", settings, progress=None)
    return rows, time.perf_counter() - start


@pytest.fixture(scope="module")
def graded_in_parallel(course, class_folder):
    return grade(course, class_folder[0], jobs=4)


def test_every_crafted_submission_gets_its_row(class_folder, graded_in_parallel):
    rows, _ = graded_in_parallel
    assert len(class_folder[1]) == 30
    assert wrong_rows(rows, class_folder[1]) == []


def test_checks_are_rerun_not_trusted(class_folder, graded_in_parallel):
    rows, _ = graded_in_parallel
    row = next(r for r in rows if r.student == "s13")
    assert row.results["7.1 double"].status == NOT_TRIED and row.score == 0


SPEED_SAMPLE = ("s01", "s09", "s10", "s11", "s12")  # right answers, endless loops, a dead kernel


def test_parallel_grading_beats_one_by_one(course, class_folder, tmp_path):
    """Measured on five of the submissions (bench/gradebook_parallel.py times all 30 both ways)."""
    for student in SPEED_SAMPLE:
        shutil.copytree(class_folder[0] / student, tmp_path / student)
    serial_rows, serial_seconds = grade(course, tmp_path, jobs=1)
    rows, parallel_seconds = grade(course, tmp_path, jobs=len(SPEED_SAMPLE))
    print(f"{len(rows)} submissions: {parallel_seconds:.1f} s all at once, {serial_seconds:.1f} s one by one")
    assert [(r.student, r.status, r.score) for r in serial_rows] == [(r.student, r.status, r.score) for r in rows]
    assert parallel_seconds < 0.8 * serial_seconds


def test_cli_writes_gradebook_and_summaries(course, tmp_path, capsys):
    folder = tmp_path / "in"
    (folder / "ann").mkdir(parents=True)
    (folder / "ann" / "97_tiny.ipynb").write_text("")
    out = tmp_path / "out" / "grades.csv"
    assert cli.main(["grade", str(folder), "--out", str(out), "--solutions", str(course / "solutions")]) == 0
    assert list(csv.DictReader(out.open()))[0]["status"] == EMPTY
    assert (tmp_path / "out" / "summaries" / "ann.md").exists()
    assert cli.main(["grade", str(tmp_path / "nothing"), "--out", str(out)]) == 1


def test_cli_help_warns_that_student_code_runs(capsys):
    with pytest.raises(SystemExit):
        cli.main(["grade", "--help"])
    assert "EXECUTES STUDENT CODE" in capsys.readouterr().out
    assert "EXECUTES STUDENT CODE" in gradebook.__doc__


# ---------------------------------------------------------------- real Lab 01 (slower)


def right_lab01_submission(folder: Path) -> Path:
    """folder/in/ann/lab.ipynb: the student notebook of Lab 01 with the solution's answers put in.
    Returns the solutions folder to grade it against (Lab 01 alone)."""
    return right_submission(folder, "01_rnn_from_scratch")


def right_submission(folder: Path, name: str, student: str = "ann") -> Path:
    """folder/in/<student>/lab.ipynb: the student notebook of lab `name` (a solution's stem) with the
    solution's answers put in. Returns the solutions folder to grade it against (that lab alone)."""
    solutions = folder / "solutions"
    solutions.mkdir(exist_ok=True)
    source = ROOT / "solutions" / f"{name}.ipynb"
    (solutions / source.name).write_bytes(source.read_bytes())
    lab = submissions.load_lab(source)
    solved = backend_view(nbformat.read(source, as_version=4), backends.DEFAULT)  # the student notebook's cells
    answers, _ = student_notebook(solved, source.name)  # what notebooks/ holds when `release --check` passes
    for index in {i for e in lab.exercises for i in e.cells}:
        answers.cells[index].source = solved.cells[index].source
    (folder / "in" / student).mkdir(parents=True)
    nbformat.write(answers, folder / "in" / student / "lab.ipynb")
    return solutions


@pytest.mark.skipif(not (ROOT / "solutions" / "01_rnn_from_scratch.ipynb").exists(), reason="no Lab 01")
def test_real_lab01_submissions(tmp_path):
    solutions = right_lab01_submission(tmp_path)
    source = ROOT / "notebooks" / "01_rnn_from_scratch.ipynb"
    (tmp_path / "in" / "bo").mkdir(parents=True)
    (tmp_path / "in" / "bo" / "lab.ipynb").write_bytes(source.read_bytes())
    rows = gradebook.grade_folder(tmp_path / "in", solutions, gradebook.Settings(jobs=2), progress=None)
    assert [(r.student, r.status, r.lab) for r in rows] == [("ann", GRADED, source.stem), ("bo", GRADED, source.stem)]
    assert {r.status for r in rows[0].results.values()} == {PASSED}, rows[0]
    assert len(rows[0].results) == len(submissions.load_lab(solutions / source.name).exercises)
    assert {r.status for r in rows[1].results.values()} == {NOT_TRIED}
