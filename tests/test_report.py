"""`make check` (labhelpers.report): one report card per notebook, read from the progress records."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from labhelpers import grading, report

ROOT = Path(__file__).resolve().parent.parent
WRONG_CELL = "h = ops.tanh("  # Lab 01's MyRNNCell: the copy drops its tanh


def check_cli(*paths, env_progress: Path):
    return subprocess.run([sys.executable, "-m", "labhelpers", "check", *map(str, paths)], capture_output=True,
                          text=True, cwd=ROOT, timeout=900,
                          env={**os.environ, "SEQLAB_PROGRESS": str(env_progress)})


def card_rows(stdout: str) -> dict[str, str]:
    """exercise label -> its table line."""
    return {" ".join(line.split()[:2]): line for line in stdout.splitlines() if re.match(r"\d+\.\d+[a-z]? ", line)}


def test_rows_mark_exercises_after_the_stop_not_reached_and_before_it_not_tried(tmp_path):
    cells = [new_markdown_cell("### Exercise 1.2: rnn_step"), new_code_cell("pass"),
             new_markdown_cell("### Exercise 1.3: MyRNNCell"), new_code_cell("pass"),
             new_markdown_cell("## 1.4 Unrolling"), new_code_cell("boom()"),
             new_markdown_cell("### Exercise 1.4: unrolled_loss"), new_code_cell("pass")]
    path = tmp_path / "01_demo.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    results = {"1.2": {"status": grading.FAILED, "detail": "Expected: a.\nFound: b."}}
    rows = dict((r[0], r[1:]) for r in report.exercise_rows(path, "01", results, report.Stop(5, "1.4 Unrolling", "x")))
    assert rows["1.2 rnn_step"] == (grading.FAILED, "Expected: a. Found: b.")
    assert rows["1.3 MyRNNCell"][0] == grading.NOT_TRIED
    assert rows["1.4 unrolled_loss"] == (report.NOT_REACHED, "")
    assert rows["1.7 build_next_word_model"] == (report.NOT_REACHED, "")  # no heading at all: after the stop


def test_run_goes_past_a_failed_check_and_stops_at_the_first_other_error(tmp_path):
    cells = [new_code_cell("from labhelpers import rnn\nimport numpy as np"),
             new_markdown_cell("### Exercise 1.2: rnn_step"),
             new_code_cell("def rnn_step(x, h, W_xh, W_hh, W_hy, b):\n    h = W_hh @ h + W_xh @ x + b\n"
                           "    return W_hy @ h, h"),
             new_code_cell("rnn.check_rnn_step(rnn_step)"),
             new_markdown_cell("## 1.4 Unrolling through time"),
             new_code_cell("undefined_name"),
             new_code_cell("open('ran-after-the-stop', 'w')")]
    path = tmp_path / "01_demo.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    stop = report.run(path, tmp_path / "progress.json", timeout=300)
    assert (stop.cell, stop.section, stop.source) == (5, "1.4 Unrolling through time", "undefined_name")
    assert stop.reason.startswith("NameError: name 'undefined_name' is not defined")
    assert not (tmp_path / "ran-after-the-stop").exists()
    recorded = grading.load_progress(tmp_path / "progress.json")["01"]["1.2"]
    assert recorded["status"] == grading.FAILED and "tanh" in recorded["detail"]


def test_a_cell_that_runs_too_long_stops_the_run_there(tmp_path):
    cells = [new_code_cell("x = 1"), new_markdown_cell("## 1.6 Design criteria"),
             new_code_cell("import time\ntime.sleep(60)"), new_code_cell("open('ran-after-the-stop', 'w')")]
    nbformat.write(new_notebook(cells=cells), tmp_path / "01_demo.ipynb")
    stop = report.run(tmp_path / "01_demo.ipynb", tmp_path / "progress.json", timeout=3)
    assert (stop.cell, stop.section, stop.source) == (2, "1.6 Design criteria", "import time")
    assert stop.reason == "the cell ran longer than 3 s" and not (tmp_path / "ran-after-the-stop").exists()


def test_make_check_on_a_lab01_copy_with_one_wrong_exercise_prints_a_card(tmp_path):
    notebook = nbformat.read(ROOT / "solutions" / "01_rnn_from_scratch.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if WRONG_CELL in c.source)
    cell.source = cell.source.replace(WRONG_CELL, "h = (", 1)
    nbformat.write(notebook, tmp_path / "01_rnn_from_scratch.ipynb")
    progress = tmp_path / "mine.json"
    done = check_cli(tmp_path / "01_rnn_from_scratch.ipynb", env_progress=progress)
    lines = done.stdout.strip().splitlines()
    rows = card_rows(done.stdout)
    assert done.returncode == 1, done.stdout + done.stderr
    assert len(lines) <= 4 + len(rows) and len(rows) == 6, done.stdout  # running, head, header, rule, rows
    assert "ran to the end" in lines[1] and "FAILED" not in done.stdout
    assert "failed" in rows["1.3 MyRNNCell"] and "tanh is missing" in rows["1.3 MyRNNCell"]
    assert all(" passed" in rows[e] for e in ("1.2 rnn_step", "1.4 unrolled_loss", "1.5a build_vocabulary"))
    assert json.loads(progress.read_text())["01"]["1.3"]["status"] == grading.FAILED  # `make status` sees it


def test_a_student_notebook_stops_where_the_first_stub_is_needed(tmp_path):
    done = check_cli(ROOT / "notebooks" / "01_rnn_from_scratch.ipynb", env_progress=tmp_path / "mine.json")
    rows = card_rows(done.stdout)
    assert done.returncode == 1
    assert "stopped in section" in done.stdout and "NotImplementedError: Exercise" in done.stdout, done.stdout
    assert "not tried" in rows["1.2 rnn_step"] and "not reached" in rows["1.7 build_next_word_model"], done.stdout


def test_status_says_what_check_said_for_exercises_whose_check_did_not_run(tmp_path, monkeypatch):
    """`check` stops at an error: its card's "not tried" and "not reached" reach the progress file, and
    `status` prints the same words for every exercise of the lab."""
    cells = [new_code_cell("from labhelpers import rnn\nimport numpy as np"),
             new_markdown_cell("### Exercise 1.2: rnn_step"),
             new_code_cell("def rnn_step(x, h, W_xh, W_hh, W_hy, b):\n    h = W_hh @ h + W_xh @ x + b\n"
                           "    return W_hy @ h, h"),
             new_code_cell("rnn.check_rnn_step(rnn_step)"),
             new_markdown_cell("### Exercise 1.3: MyRNNCell"), new_code_cell("pass"),
             new_markdown_cell("## 1.4 Unrolling through time"), new_code_cell("undefined_name")]
    path = tmp_path / "01_demo.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    progress = tmp_path / "mine.json"
    monkeypatch.setenv("SEQLAB_PROGRESS", str(progress))
    text, _ = report.report_card(path, timeout=300)
    said = {label: status for label, status in
            ((" ".join(line.split()[:2]), line.split()[2] if line.split()[2] != "not" else " ".join(line.split()[2:4]))
             for line in text.splitlines() if re.match(r"\d+\.\d+[a-z]? ", line))}
    assert said["1.2 rnn_step"] == grading.FAILED and said["1.3 MyRNNCell"] == grading.NOT_TRIED
    assert said["1.4 unrolled_loss"] == said["1.7 build_next_word_model"] == report.NOT_REACHED
    status = subprocess.run([sys.executable, "-m", "labhelpers", "status"], capture_output=True, text=True, cwd=ROOT,
                            timeout=300, env={**os.environ, "SEQLAB_PROGRESS": str(progress)}).stdout
    for label, words in said.items():
        line = next(line for line in status.splitlines() if f" {label} " in f" {line} ")
        assert f"  {words}  " in line, (label, words, line)
