"""Grade a folder of submitted notebooks into a CSV gradebook and one Markdown summary per student.

    python -m labhelpers grade SUBMISSIONS_DIR --out grades.csv      (or: make grade DIR=... OUT=...)

Grading EXECUTES STUDENT CODE. Each notebook's kernel therefore runs in a bubblewrap sandbox
(labhelpers/sandbox.py: no network, its own PID namespace, a throwaway HOME, nothing writable but its
scratch folder, no view of the submissions, solutions/ or the grader's environment, memory and CPU
limits); without bubblewrap `grade` refuses to run unless given --unsafe-no-sandbox.

Verdicts never come from the kernel. The notebook that runs is the instructor's, with only the
submission's exercise cells put in (labhelpers/submissions.py). Before each check cell the grader
writes that exercise's inputs, drawn from a seed derived per student, per exercise and per run from a
secret the kernel never sees, into the kernel's probe folder; the check cell runs only the probe
(labhelpers/grading.py) and writes what the student's code computed; the grader's own process reads
that data (plain arrays and values, never pickle) and judges it. A kernel that replaces a check,
hooks IPython or prints PASS lines changes nothing but its own data, which must still be what a
right answer computes on inputs it could not know in advance.

Each row: one student's notebook, every exercise passed / failed (with the judge's message) / not
tried / not reached, the notebook's status (graded, timeout, kernel died, ...) and notes (edited
cells, lab and file name disagreeing, a second notebook of one lab, code that deserves a review).
A notebook that is empty, not JSON, a symbolic link, loops forever or kills its kernel gets its own
row, and the batch goes on.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import hmac
import logging
import os
import secrets
import shutil
import stat
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from labhelpers import grading, sandbox
from labhelpers.exercises import LABS
from labhelpers.grading import FAILED, NOT_TRIED, PASSED
from labhelpers.submissions import (EMPTY, INVALID, LINKED, LabSpec, assemble, find_submissions, identify,
                                    lab_notes, load_labs, read_notebook)

NOT_REACHED = "not reached"
# Notebook statuses, one per row (EMPTY, INVALID and LINKED come from reading the file).
GRADED, TIMEOUT, KERNEL_DIED, SETUP_ERROR = "graded", "timeout", "kernel died", "setup error"
UNKNOWN_LAB, GRADER_ERROR = "unknown lab", "grader error"
__all__ = ["EMPTY", "INVALID", "LINKED", "GRADED", "TIMEOUT", "KERNEL_DIED", "SETUP_ERROR", "UNKNOWN_LAB",
           "GRADER_ERROR", "NOT_REACHED", "Settings", "grade_folder", "write_csv", "write_summaries"]
QUIET = logging.getLogger("labhelpers.gradebook.nbclient")  # timeouts and deaths are reported in the rows
QUIET.setLevel(logging.CRITICAL)
INTERRUPT_GRACE = 10  # seconds a timed-out cell gets to stop after its interrupt
MESSAGE_LIMIT = 600  # characters of a judge's message kept in the reports
JUDGES = threading.Lock()  # judges build Keras layers: one at a time


class SandboxUnavailable(RuntimeError):
    """Kernels cannot be sandboxed here and unsafe grading was not asked for."""


@dataclass
class Settings:
    """How to run the notebooks."""

    cell_timeout: float = 300.0
    notebook_timeout: float = 900.0
    jobs: int = 4
    pythonpath: list[str] = field(default_factory=list)  # extra folders importable by kernels and judges
    startup_timeout: float = 120.0
    use_sandbox: bool = True  # False only with --unsafe-no-sandbox
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)  # new every run

    def seed(self, student: str, notebook: str, exercise: str) -> int:
        """The hidden seed of one student's inputs for one exercise, in this run."""
        message = "\0".join((student, notebook, exercise)).encode()
        return int.from_bytes(hmac.new(self.secret, message, hashlib.sha256).digest()[:8], "big")


# ---------------------------------------------------------------- running one notebook


@dataclass
class Execution:
    """What happened: each code cell's outcome ('ok', 'timeout', 'stopped' by the notebook's time limit,
    'died' or 'Name: message'), and the
    judged result of each exercise whose probe handed back data."""

    outcomes: dict[int, str] = field(default_factory=dict)
    results: dict[str, grading.Result] = field(default_factory=dict)
    status: str = GRADED
    detail: str = ""


def _error_of(cell) -> str | None:
    """The first error a cell's outputs show, as 'Name: message' (for statuses, never for verdicts)."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename')}: {output.get('evalue', '')}"
    return None


class ProbeFolder:
    """The folder through which the grader hands a kernel its inputs and takes back the probe's data.

    It lies outside the kernel's scratch folder and is bound into the sandbox at the same path; the
    kernel can write into it, so nothing in it is followed if it is a link or read if oversized.
    """

    def __init__(self, root: Path):
        self.path = root / "probes"
        self.path.mkdir(mode=0o700)

    def give(self, exercise_id: str, inputs: dict) -> None:
        (self.path / f"{exercise_id}.out").unlink(missing_ok=True)
        grading.write_atomically(self.path / f"{exercise_id}.in", grading.pack(inputs))

    def take(self, exercise_id: str) -> bytes | None:
        """The probe's packed data, or None when there is none (or it is a link, or too large)."""
        try:
            fd = os.open(self.path / f"{exercise_id}.out", os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_size > grading.MAX_PACKED_BYTES:
                return None
            return handle.read()


class Run:
    """One notebook in one kernel: its cells in order, its exercises probed and judged."""

    def __init__(self, notebook, lab: LabSpec, student: str, settings: Settings, root: Path):
        self.notebook, self.lab, self.student, self.settings = notebook, lab, student, settings
        self.scratch = root / "scratch"
        self.scratch.mkdir(mode=0o700)
        self.probes = ProbeFolder(root)
        self.execution = Execution()
        self.checks = {e.check: e for e in lab.exercises if e.check is not None and e.check_function}

    def kernel_manager(self):
        extra = {"LAB_QUICK": "1", "SEQLAB_PROGRESS": str(self.scratch / "progress.json"),
                 grading.PROBE_DIR_ENV: str(self.probes.path)}
        if self.settings.pythonpath:
            extra["PYTHONPATH"] = os.pathsep.join(self.settings.pythonpath)
        env = sandbox.kernel_env(self.scratch, extra)
        if not self.settings.use_sandbox:
            return sandbox.UnsandboxedKernelManager(self.scratch, env)
        return sandbox.SandboxedKernelManager(self.scratch, env, self.settings.limits, writable=[self.probes.path],
                                              readable=[Path(p) for p in self.settings.pythonpath])

    async def execute(self) -> Execution:
        from nbclient import NotebookClient

        asyncio.get_running_loop().set_exception_handler(_ignore_orphan_tasks)
        client = NotebookClient(self.notebook, km=self.kernel_manager(), allow_errors=True, interrupt_on_timeout=True,
                                startup_timeout=int(self.settings.startup_timeout), record_timing=False, log=QUIET,
                                shutdown_kernel="immediate")
        execution = self.execution
        with open(self.scratch.parent / "kernel.log", "wb") as log:
            try:
                async with client.async_setup_kernel(cwd=str(self.scratch), stdout=log, stderr=log):
                    await self._run_cells(client, time.monotonic() + self.settings.notebook_timeout)
            except Exception as error:  # the kernel did not start or stop cleanly
                if execution.status == GRADED:
                    execution.status, execution.detail = GRADER_ERROR, f"the kernel failed: {type(error).__name__}"
        return execution

    async def _run_cells(self, client, deadline: float) -> None:
        """Run the code cells in order. A cell past its time is interrupted and reported as 'timeout';
        one past the notebook's deadline ends the run, and so does a cell that ignores its interrupt,
        so a notebook never runs past its deadline plus INTERRUPT_GRACE."""
        from nbclient.exceptions import CellTimeoutError, DeadKernelError

        execution = self.execution
        for index, cell in enumerate(self.notebook.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            left = deadline - time.monotonic()
            if left < 1:
                execution.status, execution.detail = TIMEOUT, f"stopped at cell {index}: notebook time limit"
                return
            client.timeout = max(1, int(min(self.settings.cell_timeout, left)))
            exercise = self.checks.get(index)
            if exercise is not None:
                judge = exercise.judge()
                inputs = judge.inputs(self.settings.seed(self.student, self.lab.name, exercise.number))
                self.probes.give(judge.id, inputs)
            started = time.monotonic()
            try:
                await asyncio.wait_for(client.async_execute_cell(cell, index), client.timeout + INTERRUPT_GRACE)
            except (asyncio.TimeoutError, CellTimeoutError, DeadKernelError):
                overdue = time.monotonic() - started >= client.timeout
                execution.outcomes[index] = "timeout" if overdue else "died"
                if overdue:
                    execution.status, execution.detail = TIMEOUT, f"cell {index} did not stop when interrupted"
                else:
                    execution.status, execution.detail = KERNEL_DIED, f"the kernel died in cell {index}"
                return
            outcome = _error_of(cell) or "ok"
            timed_out = outcome.startswith("KeyboardInterrupt") and time.monotonic() - started >= client.timeout
            notebook_limit = timed_out and client.timeout < self.settings.cell_timeout
            execution.outcomes[index] = "stopped" if notebook_limit else "timeout" if timed_out else outcome
            if exercise is not None:
                self._judge(exercise, judge, inputs)
            if notebook_limit:  # the notebook's time ran out in this cell: not this cell's fault
                execution.status, execution.detail = TIMEOUT, f"stopped at cell {index}: notebook time limit"
                return

    def _judge(self, exercise, judge, inputs) -> None:
        """Judge the data the probe handed back, in this process."""
        packed = self.probes.take(judge.id)
        if packed is not None:
            with JUDGES:
                self.execution.results[exercise.label] = judge.decide(inputs, packed)


def _ignore_orphan_tasks(loop, context) -> None:
    """nbclient leaves an output poller behind when a kernel dies; its error is expected."""
    if "never retrieved" not in context.get("message", ""):
        loop.default_exception_handler(context)


# ---------------------------------------------------------------- reading the results


@dataclass
class Result:
    """One exercise's result in a row."""

    status: str
    message: str = ""


def exercise_result(exercise, execution: Execution, missing: bool) -> Result:
    """An exercise's result: the judge's verdict on its probe data, or why there is none."""
    judged = execution.results.get(exercise.label)
    if missing:
        return Result(NOT_TRIED, "your exercise cell was deleted, so its stub was run")
    if judged is not None:
        return Result(judged.status, grading.shorten(judged.message, MESSAGE_LIMIT))
    outcome = execution.outcomes.get(exercise.check) if exercise.check is not None else None
    if outcome in (None, "died", "stopped"):
        stopped_here = any(execution.outcomes.get(i) == "timeout" for i in exercise.cells)
        return _exercise_cell_error(exercise, execution) if stopped_here else Result(
            NOT_REACHED, "the check cell did not run")
    if outcome == "timeout":
        return Result(FAILED, "the check did not finish within the time limit (an endless loop?)")
    return _exercise_cell_error(exercise, execution) or Result(
        FAILED, "the check handed back no answer to judge (was the check function replaced or its cell changed?)")


def _exercise_cell_error(exercise, execution: Execution) -> Result | None:
    """When the check could not even call the answer: what went wrong in the exercise cell itself."""
    error = next((execution.outcomes[i] for i in exercise.cells if execution.outcomes.get(i, "ok") != "ok"), None)
    if error is None:
        return None
    if error.startswith("NotImplementedError"):
        return Result(NOT_TRIED, "your exercise cell still raises NotImplementedError")
    if error == "timeout":
        return Result(FAILED, "your exercise cell did not finish within the time limit (an endless loop?)")
    return Result(FAILED, grading.shorten(f"your exercise cell raised {error}", MESSAGE_LIMIT))


@dataclass
class Row:
    """One student's notebook in the gradebook."""

    student: str
    notebook: str
    lab: str = ""
    status: str = GRADED
    results: dict[str, Result] = field(default_factory=dict)  # by exercise label
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    source: Path | None = field(default=None, repr=False)  # the submitted file

    @property
    def passed(self) -> int:
        return sum(result.status == PASSED for result in self.results.values())

    @property
    def score(self) -> float:
        return round(self.passed / len(self.results), 3) if self.results else 0.0


def _setup_error(lab: LabSpec, execution: Execution) -> str | None:
    """An error in a non-exercise cell above the first exercise: the lab's setup failed."""
    first = min((i for e in lab.exercises for i in e.cells), default=len(lab.notebook.cells))
    return next((f"cell {i} raised {o.split(':')[0]}" for i, o in sorted(execution.outcomes.items())
                 if i < first and o not in ("ok", "timeout", "died")), None)


def grade_notebook(path: Path, student: str, labs: list[LabSpec], settings: Settings) -> Row:
    """Grade one submitted notebook into a Row; never raises."""
    row, start = Row(student, path.name, source=path), time.monotonic()
    try:
        _grade_into(row, path, labs, settings)
    except Exception as error:  # a bug or an unforeseen notebook: one row, not a stopped batch
        row.status = GRADER_ERROR
        row.notes.append(f"the grader failed on this notebook ({type(error).__name__})")
    row.seconds = round(time.monotonic() - start, 1)
    return row


def _grade_into(row: Row, path: Path, labs: list[LabSpec], settings: Settings) -> None:
    submission, status, note = read_notebook(path)
    if submission is None:
        row.status = status
        row.notes.append(note)
        return
    lab, note = identify(submission, path.name, labs)
    row.notes += [note] if note else []
    if lab is None:
        row.status = UNKNOWN_LAB
        return
    row.lab = lab.name
    assembled = assemble(submission, lab)
    row.notes += assembled.notes
    root = Path(tempfile.mkdtemp(prefix="seqlab-grade-"))
    try:
        execution = asyncio.run(Run(assembled.notebook, lab, row.student, settings, root).execute())
    finally:
        shutil.rmtree(root, ignore_errors=True)
    for exercise in lab.exercises:
        row.results[exercise.label] = exercise_result(exercise, execution, exercise.label in assembled.missing)
    setup_error = _setup_error(lab, execution)
    row.status = execution.status if execution.status != GRADED else (SETUP_ERROR if setup_error else GRADED)
    row.notes += [d for d in (execution.detail, setup_error) if d]


# ---------------------------------------------------------------- the batch and its reports


def grade_folder(folder: Path, solutions: Path, settings: Settings | None = None, progress=print) -> list[Row]:
    """Grade every submission in a folder, `settings.jobs` notebooks at a time."""
    settings = settings or Settings()
    if settings.use_sandbox and (reason := sandbox.unavailable_reason()):
        raise SandboxUnavailable(reason)
    for folder_on_path in settings.pythonpath:  # the judges of extra labs are imported here too
        if folder_on_path not in sys.path:
            sys.path.insert(0, folder_on_path)
    labs = load_labs(solutions, warn=progress or print)
    submissions = find_submissions(folder)
    rows = []
    with ThreadPoolExecutor(max_workers=max(1, settings.jobs)) as pool:
        futures = [pool.submit(grade_notebook, path, student, labs, settings) for student, path in submissions]
        for done, future in enumerate(as_completed(futures), start=1):
            row = future.result()
            rows.append(row)
            if progress:
                progress(f"[{done}/{len(futures)}] {row.student}/{row.notebook}: {row.status}, "
                         f"{row.passed}/{len(row.results)} pass ({row.seconds:.0f} s)")
    notes = lab_notes([(row.student, row.source, row.lab) for row in rows])
    for row in rows:
        row.notes += notes.get(row.source, [])
    return sorted(rows, key=lambda r: (r.student, r.notebook))


def _registry_position(label: str) -> tuple:
    """Where an exercise label ("3.6a sampling_step") stands in the labs' own order (exercises.py)."""
    order = [exercise for _, names in LABS.values() for exercise in names]
    exercise = label.split()[0]
    return (order.index(exercise), "") if exercise in order else (len(order), label)


def write_csv(rows: list[Row], path: Path) -> None:
    """One line per student and notebook; one column per exercise of every lab seen."""
    exercises = sorted({label for row in rows for label in row.results}, key=_registry_position)
    header = ["student", "notebook", "lab", "status", "score", "passed", "exercises", *exercises, "notes", "seconds"]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.student, row.notebook, row.lab, row.status, row.score, row.passed,
                             len(row.results), *(row.results[e].status if e in row.results else "" for e in exercises),
                             "; ".join(row.notes), row.seconds])


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def student_summary(student: str, rows: list[Row]) -> str:
    """A Markdown report for one student: every notebook, every exercise, every message."""
    lines = [f"# Grades for {student}", ""]
    for row in rows:
        lines += [f"## {row.notebook}" + (f" (lab {row.lab})" if row.lab else ""), "",
                  f"Status: **{row.status}**. {row.passed} of {len(row.results)} exercises pass.", ""]
        if row.results:
            lines += ["| exercise | result | details |", "|---|---|---|"]
            lines += [f"| {_cell(label)} | {r.status} | {_cell(r.message)} |" for label, r in row.results.items()]
            lines.append("")
        lines += [f"- {note}" for note in row.notes] + ([""] if row.notes else [])
    return "\n".join(lines)


def summary_name(student: str) -> str:
    """A file name for a student's summary: unique and reversible (urllib.parse.unquote undoes it)."""
    return urllib.parse.quote(student, safe="").replace(".", "%2E") + ".md"


def write_summaries(rows: list[Row], folder: Path) -> list[Path]:
    """One Markdown file per student; no two students can share one."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for student in sorted({row.student for row in rows}):
        target = folder / summary_name(student)
        target.write_text(student_summary(student, [r for r in rows if r.student == student]))
        written.append(target)
    return written

