"""`pytest --nbval-lax` on a learner's notebooks (labhelpers/nbval_report.py) agrees with `make check`."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from labhelpers import grading
from labhelpers.release import backend_view

ROOT = Path(__file__).resolve().parent.parent
STUB = re.compile(r'raise NotImplementedError\("Exercise ([0-9]+\.[0-9]+[a-z]?) ')
ROW = re.compile(r"^(\d+\.\d+[a-z]? \w+)\s+(passed|failed|not tried|not reached)\b\s*(.*)$")


def card_rows(stdout: str) -> dict[str, tuple[str, str]]:
    """exercise label -> (status, what the check said), from the cards either command prints."""
    return {m.group(1): (m.group(2), m.group(3)) for m in map(ROW.match, stdout.splitlines()) if m}


def answered(folder: Path, solved=("1.2", "1.3", "1.4", "1.5a"), wrong="1.3") -> Path:
    """Lab 01's student notebook with some exercises answered from the solution, one of them wrongly
    (MyRNNCell without its tanh); the rest left as stubs."""
    student = nbformat.read(ROOT / "notebooks" / "01_rnn_from_scratch.ipynb", as_version=4)
    solution = backend_view(nbformat.read(ROOT / "solutions" / "01_rnn_from_scratch.ipynb", as_version=4), "tensorflow")
    for mine, answer in zip(student.cells, solution.cells):
        exercise = STUB.search(mine.source)
        if exercise and exercise.group(1) in solved:
            mine.source = answer.source
            if exercise.group(1) == wrong:
                assert "h = ops.tanh(" in mine.source
                mine.source = mine.source.replace("h = ops.tanh(", "h = (", 1)
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(student, folder / "01_rnn_from_scratch.ipynb")
    return folder / "01_rnn_from_scratch.ipynb"


def run(command: list[str], cwd: Path, progress: Path):
    env = {**os.environ, "SEQLAB_PROGRESS": str(progress), "LAB_QUICK": "1"}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def test_pytest_nbval_and_make_check_agree_on_every_exercise(tmp_path):
    notebook = answered(tmp_path / "my work")
    checked = run([sys.executable, "-m", "labhelpers", "check", str(notebook)], ROOT, tmp_path / "check.json")
    tested = run([sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-rs", str(notebook)],
                 tmp_path, tmp_path / "nbval.json")
    by_check, by_nbval = card_rows(checked.stdout), card_rows(tested.stdout)
    assert len(by_check) == 6 and by_nbval == by_check, checked.stdout + "\n----\n" + tested.stdout
    assert {label: status for label, (status, _) in by_nbval.items()} == {
        "1.2 rnn_step": "passed", "1.3 MyRNNCell": "failed", "1.4 unrolled_loss": "passed",
        "1.5a build_vocabulary": "passed", "1.5b one_hot": "not tried", "1.7 build_next_word_model": "not reached"}
    assert "tanh is missing" in by_nbval["1.3 MyRNNCell"][1]
    # Both keep the same results in the learner's progress file, for `python -m labhelpers status`.
    kept = [{e: r["status"] for e, r in json.loads(p.read_text())["01"].items()}
            for p in (tmp_path / "check.json", tmp_path / "nbval.json")]
    assert kept[0] == kept[1] and kept[0]["1.3"] == grading.FAILED

    out = tested.stdout
    assert tested.returncode == 1
    # The failing check: its message, not nbval's dump of the cell and labhelpers' frames.
    assert "CheckFailed: Exercise 1.3 MyRNNCell" in out and "Hint:" in out
    assert "labhelpers/" not in out.replace(str(notebook), "") and "Traceback" not in out, out
    # The stub stops the run with the learner's own lines; the cells below it are skipped, not failed.
    assert "NotImplementedError: Exercise 1.5b one_hot: replace this line with your code" in out
    assert "Cell In[" in out and "The run stops here" in out
    assert re.search(r"SKIPPED \[\d+\] .*not reached: stopped in section", out), out
    assert re.search(r"3 failed, \d+ passed, \d+ skipped", out), out  # 1.3, the check of 1.5b, the stop


def test_the_course_run_of_solutions_is_left_alone(tmp_path):
    """nbval on solutions/ (what `make test` runs) gets nbval's usual report and no exercise cards."""
    from labhelpers import nbval_report

    class Node:
        fspath = ROOT / "solutions" / "01_rnn_from_scratch.ipynb"
        nb = nbformat.v4.new_notebook()

    class IPyNbCell:
        parent = Node()

    assert nbval_report.Tracker().run_of(IPyNbCell()) is None
    Node.fspath = tmp_path / "01_copy.ipynb"
    assert nbval_report.Tracker().run_of(IPyNbCell()).lab == "01"
    Node.fspath = tmp_path / "scratch.ipynb"  # not a lab notebook
    assert nbval_report.Tracker().run_of(IPyNbCell()) is None


def test_the_plugin_is_registered_and_quiet_in_an_ordinary_test_run(tmp_path):
    (tmp_path / "test_x.py").write_text("def test_x():\n    assert True\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(tmp_path)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "exercises" not in done.stdout, done.stdout
    listed = subprocess.run([sys.executable, "-m", "pytest", "--trace-config", "--co", "-q", str(tmp_path)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert "labhelpers.nbval_report" in listed.stdout or "labhelpers/nbval_report.py" in listed.stdout


@pytest.mark.parametrize("entry, shown", [
    (["\x1b[31m---------\x1b[0m", "Cell \x1b[32mIn[4], line 3\x1b[0m\n  raise X", "File /x/labhelpers/rnn.py:3\n  y"],
     "Cell In[4], line 3\n  raise X"),
])
def test_learner_lines_drop_the_package_and_colours(entry, shown):
    from labhelpers import nbval_report

    assert nbval_report.learner_lines(entry) == shown


def test_a_cell_that_runs_too_long_stops_both_the_same_way(tmp_path):
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    cells = [new_markdown_cell("## 1.2 The recurrence"), new_code_cell("import time\ntime.sleep(60)"),
             new_code_cell("print('never')")]
    notebook = tmp_path / "01_slow.ipynb"
    nbformat.write(new_notebook(cells=cells), notebook)
    checked = run([sys.executable, "-m", "labhelpers", "check", "--cell-timeout", "3", str(notebook)], ROOT,
                  tmp_path / "check.json")
    tested = run([sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "--nbval-cell-timeout=3",
                  str(notebook)], tmp_path, tmp_path / "nbval.json")
    card = [line for line in checked.stdout.splitlines() if not line.startswith("running ")]
    assert "\n".join(card).strip() in tested.stdout, checked.stdout + "\n----\n" + tested.stdout
    assert 'stopped in section "1.2 The recurrence", at the cell "import time": the cell ran longer than 3 s' \
        in tested.stdout and "1 failed, 1 skipped" in tested.stdout
