"""bench/lab_figures.py and its runner (bench/notebook_runs.py): a notebook runs in a fresh kernel on the
backend and in the mode asked for, and what its `report` cells printed comes back, backend by backend.
bench/test_times.py: make test's seconds per test file, from its JUnit records."""

import os
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from lab_figures import side_by_side  # noqa: E402
from notebook_runs import errors, execute, report_lines  # noqa: E402


def test_the_kernel_runs_on_the_backend_and_mode_asked_for_and_reports_its_tagged_cells(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "torch")  # the run's own backend wins over the caller's
    monkeypatch.setenv("LAB_QUICK", "1")
    path = tmp_path / "lab.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('import os\nprint("not a figure")'),
        nbformat.v4.new_code_cell('print(os.environ["KERAS_BACKEND"], os.environ.get("LAB_QUICK"))',
                                  metadata={"tags": ["report"]}),
        nbformat.v4.new_code_cell('assert False, "a claim that does not hold"')]), path)
    run = execute(path, quick=False, backend="jax")
    assert report_lines(run.notebook) == ["jax None"]
    assert errors(run.notebook) == ["cell 2 raised AssertionError: a claim that does not hold"]
    assert run.wall_s > 0
    workdir = tmp_path / "run"
    workdir.mkdir()
    quick = execute(path, quick=True, backend="tensorflow", workdir=workdir,  # a bench's variant of the lab:
                    edit=lambda nb: nb.cells.__setitem__(-1, nbformat.v4.new_code_cell('open("here", "w")')))
    assert report_lines(quick.notebook) == ["tensorflow 1"] and errors(quick.notebook) == []
    assert (workdir / "here").exists() and not (tmp_path / "here").exists()  # the kernel started in workdir
    assert os.environ["KERAS_BACKEND"] == "torch" and os.environ["LAB_QUICK"] == "1"  # the caller's, untouched


def test_side_by_side_puts_each_backends_line_together():
    rows = side_by_side({"tensorflow": ["loss 1.1", "valid 17"], "jax": ["loss 1.2"]})
    assert rows == ["  tensorflow  loss 1.1", "  jax         loss 1.2", "",
                    "  tensorflow  valid 17", "  jax         (not printed)", ""]


def test_test_times_adds_each_files_phases_and_names_each_backend_run(tmp_path):
    from test_times import seconds_by_file

    record = tmp_path / "suite.xml"
    record.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.test_rnn" name="test_a" time="1.5" />'
        '<testcase classname="tests.test_rnn" name="test_b[x]" time="2.0" />'
        '<testcase classname="solutions.03_music_generation.ipynb" name="Cell 23" time="200.0" />'
        '<testcase classname="tests.test_backend_runs" name="test_the_solution_runs_on_the_backend[jax-01_rnn]" '
        'time="90.0" /></testsuite></testsuites>')
    assert seconds_by_file(record) == {"tests.test_rnn": 3.5, "solutions.03_music_generation.ipynb": 200.0,
                                       "tests.test_backend_runs[jax-01_rnn]": 90.0}
