"""nbgrader 0.9.6, for real, on Lab 01: `release --nbgrader`, then nbgrader's generate_assignment,
autograde (a right and a wrong submission) and generate_feedback.

Opt-in, it takes minutes: SEQLAB_NBGRADER=1 .venv/bin/python -m pytest tests/test_nbgrader.py -v -s
nbgrader pins old Jupyter packages, so it gets a virtualenv of its own (.seqlab/nbgrader-venv, made on
the first run, about a minute and a half, and reused); its kernel is this course's .venv Python, named
by a kernelspec on JUPYTER_PATH, so the lab runs with the course's packages.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from labhelpers.exercises import points_of
from labhelpers.platforms import nbgrader
from labhelpers.release import backend_view

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".seqlab" / "nbgrader-venv"
VERSION = "0.9.6"
LAB = "01_rnn_from_scratch"
WRONG = {"answer-1_5b-one_hot":
         "def one_hot(indices, vocab_size):\n    return np.zeros(np.shape(indices) + (vocab_size,))"}

pytestmark = pytest.mark.skipif(
    os.environ.get("SEQLAB_NBGRADER") != "1",
    reason="runs nbgrader for real (minutes): "
           "SEQLAB_NBGRADER=1 .venv/bin/python -m pytest tests/test_nbgrader.py -v -s")

GRADES = """
import json, sys
from nbgrader.api import Gradebook
with Gradebook("sqlite:///" + sys.argv[1]) as gb:
    out = {}
    for student in ("ann", "bo"):
        sub = gb.find_submission_notebook(sys.argv[2], "lab01", student)
        out[student] = {"score": sub.score, "max_score": sub.max_score,
                        "cells": {g.name: [g.score, g.max_score] for g in sub.grades}}
print(json.dumps(out))
"""


def nbgrader_venv() -> Path:
    """nbgrader's own virtualenv (made once, then reused)."""
    marker = VENV / f".nbgrader-{VERSION}"
    if not marker.exists():
        base = Path(sys.base_prefix) / "bin" / "python3"
        subprocess.run([str(base), "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "--quiet", f"nbgrader=={VERSION}"], check=True)
        marker.touch()
    return VENV / "bin"


def run(bin_folder: Path, course: Path, *args, env) -> str:
    started = time.perf_counter()
    done = subprocess.run([str(bin_folder / "nbgrader"), *args], cwd=course, env=env, capture_output=True, text=True,
                          timeout=1500)
    print(f"$ nbgrader {' '.join(args)}  ({time.perf_counter() - started:.0f} s, exit {done.returncode})")
    print("\n".join(line for line in done.stderr.splitlines() if "| INFO]" in line or "ERROR" in line)[-3000:])
    assert done.returncode == 0, done.stderr[-5000:]
    return done.stderr


def submission(released, solution, wrong: dict[str, str]):
    """The released notebook with the solution's answers in its solution cells, some replaced by `wrong`."""
    notebook = nbformat.reads(nbformat.writes(released), as_version=4)
    for index, cell in enumerate(notebook.cells):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = wrong.get(meta["grade_id"], solution.cells[index].source)
    return notebook


def test_nbgrader_generates_autogrades_and_gives_feedback(tmp_path):
    bin_folder = nbgrader_venv()
    course = tmp_path / "course"
    (course / "source" / "lab01").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text('c = get_config()\nc.CourseDirectory.course_id = "seqlab"\n')
    [source] = nbgrader.release_nbgrader(ROOT / "solutions", course / "source" / "lab01", ["01"])
    kernels = tmp_path / "jupyter" / "kernels" / "python3"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (seqlab)", "language": "python"}))
    env = {**os.environ, "PATH": f"{bin_folder}:{os.environ['PATH']}", "JUPYTER_PATH": str(tmp_path / "jupyter"),
           "LAB_QUICK": "1", "SEQLAB_PROGRESS": str(tmp_path / "progress.json")}

    run(bin_folder, course, "generate_assignment", "lab01", env=env)
    released = nbformat.read(course / "release" / "lab01" / source.name, as_version=4)
    solution = backend_view(nbformat.read(ROOT / "solutions" / source.name, as_version=4), "tensorflow")
    assert not any("### BEGIN SOLUTION" in cell.source for cell in released.cells)
    for student, wrong in (("ann", {}), ("bo", WRONG)):
        (course / "submitted" / student / "lab01").mkdir(parents=True)
        nbformat.write(submission(released, solution, wrong), course / "submitted" / student / "lab01" / source.name)

    run(bin_folder, course, "autograde", "lab01", "--ExecutePreprocessor.timeout=900", env=env)
    done = subprocess.run([str(bin_folder / "python"), "-c", GRADES, str(course / "gradebook.db"), LAB],
                          capture_output=True, text=True, check=True, env=env)
    grades = json.loads(done.stdout)
    print(json.dumps(grades, indent=1))
    total = sum(points_of(number) for number in ("1.2", "1.3", "1.4", "1.5a", "1.5b", "1.7"))
    assert grades["ann"]["score"] == grades["ann"]["max_score"] == total
    assert grades["bo"]["score"] == total - points_of("1.5b")
    assert grades["bo"]["cells"]["check-1_5b-one_hot"] == [0, points_of("1.5b")]

    run(bin_folder, course, "generate_feedback", "lab01", env=env)
    for student in ("ann", "bo"):
        feedback = course / "feedback" / student / "lab01" / f"{LAB}.html"
        assert feedback.exists() and "check-1_5b-one_hot" in feedback.read_text()
