"""Attacks on `grade`, written as a determined student would: none may earn a mark or touch anything else.

Every attack is an exercise cell of an otherwise normal submission to the tiny course of
test_gradebook.py, whose `double` exercise is answered wrongly (x * x) unless the attack says
otherwise: an attack that worked would show as a pass, or as a change outside its own scratch folder.
The whole class is graded once, in the sandbox, two kernels at a time.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from labhelpers import gradebook, grading, sandbox, submissions
from labhelpers.gradebook import GRADED, KERNEL_DIED, LINKED, NOT_REACHED, TIMEOUT
from labhelpers.grading import FAILED, NOT_TRIED, PASSED
from labhelpers.release import backend_view, lab_backends
from test_gradebook import RIGHT, answered, write_course

pytestmark = pytest.mark.skipif(sandbox.unavailable_reason() is not None,
                                reason=f"no sandbox here: {sandbox.unavailable_reason()}")

WRONG = "def double(x):\n    return x * x\n"
GRADER_SECRET = "grader-secret-4711"


def attacks(course: Path, outside: Path) -> dict[str, str]:
    """Exercise-cell sources, by student: each tries to pass the wrong `double` or reach outside."""
    solutions = course / "solutions"
    victim = outside / "submissions" / "victim" / "97_tiny.ipynb"
    return {
        "replace_check": WRONG + "import tinylab\ntinylab.check_double = lambda *a: print('PASS 7.1 double: ok')",
        "replace_every_check": WRONG + (
            "import tinylab, labhelpers.grading as g\n"
            "for name in dir(tinylab):\n"
            "    if name.startswith('check_'):\n"
            "        setattr(tinylab, name, lambda *a: print('PASS'))\n"
            "g.Exercise.check = lambda self, *a: print('PASS')"),
        "custom_exc": WRONG + (
            "ip = get_ipython()\n"
            "ip.set_custom_exc((BaseException,), lambda *a, **k: print('PASS 7.1 double: fine'))\n"
            "ip.showtraceback = lambda *a, **k: None"),
        "post_run_hook": WRONG + (
            "def clear(result):\n"
            "    result.error_in_exec = None\n"
            "    print('PASS 7.1 double: fine')\n"
            "get_ipython().events.register('post_run_cell', clear)"),
        "exec_solution": (
            "import json\n"
            f"nb = json.load(open({str(solutions / '97_tiny.ipynb')!r}))\n"
            "exec(''.join(nb['cells'][4]['source']))"),
        "hard_coded": _hard_coded_double(),
        "forged_data": WRONG + (
            "import os, numpy as np, io, pickle\n"
            "folder = os.environ['SEQLAB_PROBE_DIR']\n"
            "class Boom:\n"
            "    def __reduce__(self):\n"
            f"        return (open, ({str(outside / 'unpickled')!r}, 'w'))\n"
            "def forge(*a):\n"
            "    buffer = io.BytesIO()\n"
            "    np.savez(buffer, __tree__=np.array([Boom()], dtype=object))\n"
            "    open(os.path.join(folder, 'out', '7.1.out'), 'wb').write(buffer.getvalue())\n"
            "import tinylab\ntinylab.check_double = forge"),
        "linked_data": WRONG + (
            "import os\nfolder = os.environ['SEQLAB_PROBE_DIR']\n"
            "def forge(*a):\n"
            f"    os.symlink({str(outside / 'secret.txt')!r}, os.path.join(folder, 'out', '7.1.out'))\n"
            "import tinylab\ntinylab.check_double = forge"),
        "linked_inputs": WRONG + (
            "import os\nfolder = os.environ['SEQLAB_PROBE_DIR']\n"
            f"os.symlink({str(outside / 'secret.txt')!r}, os.path.join(folder, '7.2.in'))"),
        "startup_file": WRONG + (
            "import os\n"
            "startup = get_ipython().profile_dir.startup_dir\n"
            "os.makedirs(startup, exist_ok=True)\n"
            "open(os.path.join(startup, '00-pwn.py'), 'w').write('import os; os._exit(1)')\n"
            f"home = {str(Path.home() / '.ipython' / 'profile_default' / 'startup')!r}\n"
            "try:\n"
            "    open(os.path.join(home, '00-pwn.py'), 'w').write('import os; os._exit(1)')\n"
            "except OSError:\n"
            "    pass"),
        "background": WRONG + (
            "import subprocess\n"
            f"subprocess.Popen(['sh', '-c', 'sleep 4; echo hacked > {outside / 'grades.csv'}'], start_new_session=True)"),
        "kill_grader": WRONG + (
            "import os, signal\n"
            "for pid in (os.getppid(), 1):\n"
            "    try:\n"
            "        os.kill(pid, signal.SIGTERM)\n"
            "    except OSError:\n"
            "        pass"),
        "overwrite_others": WRONG + (
            "import os, glob\n"
            "targets = glob.glob('/proc/*/cwd') + glob.glob('/proc/*/root')\n"
            f"for path in [{str(victim)!r}, {str(Path(submissions.__file__).parent / 'pwned.py')!r}]:\n"
            "    try:\n"
            "        open(path, 'w').write('{}')\n"
            "    except OSError:\n"
            "        pass"),
        "leak_environment": "import os\ndef double(x):\n    raise ValueError(' '.join(f'{k}={v}' for k, v in os.environ.items()))",
        "read_outside": (
            "def double(x):\n"
            f"    raise ValueError(open({str(outside / 'secret.txt')!r}).read())"),
        "network": (
            "import socket\n"
            "def double(x):\n"
            "    socket.create_connection(('127.0.0.1', 1), timeout=1)\n"
            "    return 2 * x"),
        "ignore_interrupt": (
            "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "def double(x):\n    while True:\n        pass"),
        "swallow_interrupt": (
            "while True:\n"
            "    try:\n"
            "        while True:\n"
            "            pass\n"
            "    except KeyboardInterrupt:\n"
            "        pass"),
        "memory_hog": "def double(x):\n    hog = bytearray(8 * 2**30)\n    return 2 * x",
        "reach_the_judge": WRONG + (
            "import gc, tinylab\n"
            "found = []\n"
            "try:\n"
            "    found.append(tinylab.check_double.exercise.judging().decide)\n"
            "except Exception:\n"
            "    pass\n"
            "found += [o for o in gc.get_objects() if getattr(o, '__name__', '') == 'judge_double']\n"
            "try:\n"
            f"    found.append(open({str(course / 'judges' / 'tinylab_judges.py')!r}).read())\n"
            "except OSError:\n"
            "    pass\n"
            "if found:\n"
            "    def double(x):\n"
            "        return 2 * x"),
        "fill_every_disk": WRONG + (
            "import os\n"
            "chunk = b'x' * 2**20\n"
            "for folder in ('/tmp', '/dev/shm', os.getcwd(), os.environ['HOME'], os.environ['SEQLAB_PROBE_DIR']):\n"
            "    for n in range(4):\n"
            "        try:\n"
            "            with open(os.path.join(folder, f'fill{n}'), 'wb') as handle:\n"
            "                for _ in range(1024):\n"
            "                    handle.write(chunk)\n"
            "        except OSError:\n"
            "            break"),
        "fork_bomb": WRONG + (
            "import os, time\n"
            "for _ in range(2000):\n"
            "    try:\n"
            "        if os.fork() == 0:\n"
            "            time.sleep(20)\n"
            "            os._exit(0)\n"
            "    except OSError:\n"
            "        break"),
        "flood_output": WRONG + "for _ in range(12):\n    print('x' * 16 * 2**20)",
        "victim": None,  # a right submission that the others try to overwrite
        "zz_after_startup_file": None,  # graded after startup_file's kernel, right as well
    }


def _hard_coded_double() -> str:
    """double that returns the right value for the input a learner's own check draws, and x * x otherwise."""
    x = int(np.random.default_rng(grading.learner_seed("7.1")).integers(3, 10_000))  # as the tiny check draws
    return f"def double(x):\n    return {2 * x} if x == {x} else x * x"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the whole class once: {student: row}, with the course and the outside folder."""
    root = tmp_path_factory.mktemp("attacks")
    course = write_course(root / "course")
    labs = {lab.name: lab for lab in submissions.load_labs(course / "solutions")}
    outside = root / "outside"
    (outside / "submissions").mkdir(parents=True)
    (outside / "secret.txt").write_text(GRADER_SECRET)
    (outside / "grades.csv").write_text("original\n")
    startup = Path.home() / ".ipython" / "profile_default" / "startup" / "00-pwn.py"
    assert not startup.exists()
    for student, source in attacks(course, outside).items():
        notebook = answered(labs, {**RIGHT, 4: source} if source else RIGHT)
        folder = outside / "submissions" / student
        folder.mkdir()
        nbformat.write(notebook, folder / "97_tiny.ipynb")
    victim = outside / "submissions" / "victim" / "97_tiny.ipynb"
    victim_text = victim.read_text()
    settings = gradebook.Settings(jobs=2, cell_timeout=5, notebook_timeout=30, pythonpath=[str(course / "checks")],
                                  judges_path=[str(course / "judges")])
    os.environ["SEQLAB_TEST_SECRET"] = GRADER_SECRET
    try:
        with PeakMemory() as memory:
            rows = gradebook.grade_folder(outside / "submissions", course / "solutions", settings, progress=None)
    finally:
        del os.environ["SEQLAB_TEST_SECRET"]
    time.sleep(5)  # longer than the background attack waits
    GRADER_MEMORY["growth"] = memory.growth
    return {row.student: row for row in rows}, outside, victim_text, startup


GRADER_MEMORY = {}


class PeakMemory:
    """The growth of this process's resident memory while a block runs (sampled every 20 ms)."""

    def __enter__(self):
        self.start = self.peak = self._resident()
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()
        self.growth = self.peak - self.start

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, self._resident())
            time.sleep(0.02)

    @staticmethod
    def _resident() -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0


def result(rows, student, exercise="7.1 double"):
    return rows[student].results[exercise]


@pytest.mark.parametrize("student", ["replace_check", "replace_every_check", "custom_exc", "post_run_hook",
                                     "exec_solution", "hard_coded", "forged_data", "linked_data", "reach_the_judge",
                                     "fill_every_disk", "fork_bomb", "flood_output"])
def test_no_forged_pass(graded, student):
    rows, *_ = graded
    assert result(rows, student).status in (FAILED, NOT_TRIED), rows[student]
    if student == "replace_every_check":  # which also replaced the check of its honest exercise
        return
    honest = rows[student].results["7.2 Counter"].status
    if student == "flood_output" and honest == NOT_REACHED:  # printing 192 MiB outran the 5 s cell limit (a
        return  # loaded machine): the cells after it are not reached, as after anyone's slow cell
    assert honest == PASSED  # the honest exercise is still graded


def test_replaced_check_hands_back_nothing(graded):
    rows, *_ = graded
    assert "no answer to judge" in result(rows, "replace_check").message


def test_pickled_data_is_refused_not_run(graded):
    rows, outside, *_ = graded
    assert not (outside / "unpickled").exists()
    assert result(rows, "forged_data").status == FAILED


def test_linked_files_in_the_probe_folder_are_not_followed(graded):
    rows, outside, *_ = graded
    assert (outside / "secret.txt").read_text() == GRADER_SECRET  # not overwritten through the .in link
    for student in ("linked_data", "linked_inputs"):
        assert GRADER_SECRET not in json.dumps([r.message for r in rows[student].results.values()])
    assert rows["linked_inputs"].results["7.2 Counter"].status == PASSED


def test_startup_files_reach_no_other_kernel(graded):
    rows, _, _, startup = graded
    assert not startup.exists()
    assert rows["zz_after_startup_file"].status == GRADED
    assert {r.status for r in rows["zz_after_startup_file"].results.values()} == {PASSED}


def test_background_process_dies_with_its_kernel(graded):
    _, outside, *_ = graded
    assert (outside / "grades.csv").read_text() == "original\n"


def test_killing_the_parent_stops_nothing_else(graded):
    rows, *_ = graded
    assert len(rows) == len(attacks(Path("/c"), Path("/o")))
    assert rows["victim"].status == GRADED and rows["kill_grader"].status in (GRADED, KERNEL_DIED)


def test_other_submissions_and_labhelpers_are_out_of_reach(graded):
    rows, outside, victim_text, _ = graded
    assert (outside / "submissions" / "victim" / "97_tiny.ipynb").read_text() == victim_text
    assert not (Path(submissions.__file__).parent / "pwned.py").exists()
    assert {r.status for r in rows["victim"].results.values()} == {PASSED}


def test_feedback_holds_no_grader_environment_or_outside_file(graded):
    rows, *_ = graded
    leak = rows["leak_environment"]
    assert result(rows, "leak_environment").status == FAILED
    text = json.dumps([r.message for r in leak.results.values()] + leak.notes)
    assert GRADER_SECRET not in text and "SEQLAB_TEST_SECRET" not in text and str(Path.home()) not in text
    read = json.dumps([r.message for r in rows["read_outside"].results.values()])
    assert GRADER_SECRET not in read and "FileNotFoundError" in read


def test_memory_is_limited(graded):
    rows, *_ = graded
    assert "MemoryError" in result(rows, "memory_hog").message


def test_no_network(graded):
    rows, *_ = graded
    assert result(rows, "network").status == FAILED
    assert "ConnectionRefusedError" in result(rows, "network").message or "OSError" in result(rows, "network").message


def test_a_kernel_ignoring_interrupts_is_a_timeout(graded):
    rows, *_ = graded
    assert rows["ignore_interrupt"].status in (GRADED, TIMEOUT)
    assert "time limit" in result(rows, "ignore_interrupt").message
    swallowed = rows["swallow_interrupt"]
    assert swallowed.status == TIMEOUT and "did not stop when interrupted" in " ".join(swallowed.notes)
    assert result(rows, "swallow_interrupt").status == FAILED


def test_suspicious_code_is_flagged_for_review(graded):
    rows, *_ = graded
    expected = {"replace_check": "labhelpers internals", "custom_exc": "IPython hooks", "post_run_hook": "IPython hooks",
                "kill_grader": "signals", "background": "subprocesses", "overwrite_others": "files or paths",
                "exec_solution": "dynamic code"}
    for student, flag in expected.items():
        assert any(note.startswith("review:") and flag in note for note in rows[student].notes), (student, rows[student].notes)
    assert not any(note.startswith("review:") for note in rows["victim"].notes)


# ---------------------------------------------------------------- without kernels


def test_summaries_of_look_alike_names_never_collide(tmp_path):
    names = ["Zoë", "Zoé", "zoe", "Zoe", "a/b", "a_b", "..", "."]
    rows = [gradebook.Row(name, "97_tiny.ipynb") for name in names]
    written = gradebook.write_summaries(rows, tmp_path)
    assert len({path.name for path in written}) == len(names) == len(list(tmp_path.iterdir()))
    assert all(path.parent == tmp_path for path in written)
    import urllib.parse
    assert sorted(urllib.parse.unquote(path.stem) for path in written) == sorted(names)


def test_a_linked_submission_is_not_read(tmp_path):
    secret = tmp_path / "secret.ipynb"
    secret.write_text(GRADER_SECRET)
    (tmp_path / "in" / "mallory").mkdir(parents=True)
    (tmp_path / "in" / "mallory" / "97_tiny.ipynb").symlink_to(secret)
    notebook, status, note = submissions.read_notebook(tmp_path / "in" / "mallory" / "97_tiny.ipynb")
    assert notebook is None and status == LINKED and GRADER_SECRET not in note


def test_unreadable_notebook_note_quotes_nothing(tmp_path):
    path = tmp_path / "x.ipynb"
    path.write_text('{"cells": "' + GRADER_SECRET + '"')
    _, _, note = submissions.read_notebook(path)
    assert GRADER_SECRET not in note


def test_wrong_lab_under_a_lab_name_and_a_lab_twice_get_notes():
    notes = submissions.lab_notes([("ann", Path("ann/01_rnn.ipynb"), "02_bptt_and_lstm"),
                                   ("bo", Path("bo/a.ipynb"), "01_rnn_from_scratch"),
                                   ("bo", Path("bo/b.ipynb"), "01_rnn_from_scratch"),
                                   ("cy", Path("cy/01_rnn.ipynb"), "01_rnn_from_scratch")])
    assert "named for lab 01 but holds 02_bptt_and_lstm" in notes[Path("ann/01_rnn.ipynb")][0]
    assert "more than one notebook" in notes[Path("bo/a.ipynb")][0] and Path("bo/b.ipynb") in notes
    assert Path("cy/01_rnn.ipynb") not in notes


def test_grade_refuses_to_run_without_a_sandbox(monkeypatch, tmp_path, capsys):
    from labhelpers import __main__ as cli

    monkeypatch.setattr(sandbox, "unavailable_reason", lambda: "bubblewrap (bwrap) is not installed")
    (tmp_path / "in").mkdir()
    assert cli.main(["grade", str(tmp_path / "in"), "--out", str(tmp_path / "g.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--unsafe-no-sandbox" in err and not (tmp_path / "g.csv").exists()


@pytest.mark.parametrize("path", sorted((Path(__file__).parent.parent / "solutions").glob("*.ipynb")),
                         ids=lambda p: p.stem)
def test_right_answers_raise_no_flag(path):
    solution = nbformat.read(path, as_version=4)
    for backend in lab_backends(solution):  # each backend's answers (its backend cells)
        lab, view = submissions.load_lab(path, backend), backend_view(solution, backend)
        sources = {e.label: "\n".join(view.cells[i].source for i in e.cells) for e in lab.exercises}
        assert submissions.review_flags(sources) == [], backend


def test_seeds_differ_by_student_exercise_and_run():
    first, second = gradebook.Settings(), gradebook.Settings()
    seeds = {first.seed("ann", "lab", "7.1"), first.seed("bo", "lab", "7.1"), first.seed("ann", "lab", "7.2"),
             second.seed("ann", "lab", "7.1")}
    assert len(seeds) == 4 and first.seed("ann", "lab", "7.1") == first.seed("ann", "lab", "7.1")


def test_the_grader_holds_no_flood_of_output(graded):
    """flood_output prints 192 MiB; the grader keeps at most the output cap of it (32 MiB)."""
    rows, *_ = graded
    assert rows["flood_output"].status in (GRADED, TIMEOUT)
    assert GRADER_MEMORY["growth"] < 160 * 2**20, f"the grader grew by {GRADER_MEMORY['growth'] / 2**20:.0f} MiB"
