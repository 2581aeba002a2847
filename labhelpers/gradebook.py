"""Grade a folder of submitted notebooks into a CSV gradebook and one Markdown summary per student.

    python -m labhelpers grade SUBMISSIONS_DIR --out grades.csv      (or: make grade DIR=... OUT=...)

Grading EXECUTES STUDENT CODE. Each notebook's kernel therefore runs in a bubblewrap sandbox
(labhelpers/sandbox.py: no network, its own PID namespace, a throwaway HOME, nothing writable but its
scratch folder, no view of the submissions, solutions/ or the grader's environment, memory and CPU
limits); without bubblewrap `grade` refuses to run unless given --unsafe-no-sandbox.

Verdicts never come from the kernel. The notebook that runs follows Restart & Run All: every cell the
student wrote, in their order, with the instructor's original check cells put in (labhelpers/submissions.py).
Before each of those check cells (and only those) the grader
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
row, and the batch goes on. Each exercise earns its points (exercises.POINTS; a judge may give part of
them, grading.credit_parts). The CLI also writes grades.jsonl and totals.csv (platforms/records.py);
labhelpers/platforms/ holds the other adapters on this core (nbgrader, Gradescope, LMS, report, shards).

A notebook runs on the Keras backend it records (labhelpers/backends.py: its metadata `seqlab.backend`,
TensorFlow when none): the kernel gets KERAS_BACKEND, in the same sandbox, and the instructor's cells
(checks and all) are those of that backend's student notebook (submissions.LabSpec.for_backend). A
backend that the course does not know, that the lab is not written for, or that is not installed on
the grading host, is refused in the row's status and note.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import hmac
import logging
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from labhelpers import backends, grading, sandbox
from labhelpers.exercises import LABS, points_of
from labhelpers.grading import FAILED, NOT_TRIED, PASSED
from labhelpers.submissions import (EMPTY, INVALID, LINKED, NOT_A_FILE, TOO_LARGE, UNREADABLE, LabSpec, Refused,
                                    assemble, exercise_context, find_submissions, identify, lab_notes, load_labs,
                                    read_bounded, read_notebook)

NOT_REACHED = "not reached"
# Notebook statuses, one per row (EMPTY, INVALID, LINKED, NOT_A_FILE, TOO_LARGE and UNREADABLE: from reading it).
GRADED, TIMEOUT, KERNEL_DIED, SETUP_ERROR = "graded", "timeout", "kernel died", "setup error"
UNKNOWN_LAB, GRADER_ERROR, NO_BACKEND = "unknown lab", "grader error", "backend unavailable"
__all__ = ["EMPTY", "INVALID", "LINKED", "NOT_A_FILE", "TOO_LARGE", "UNREADABLE", "GRADED", "TIMEOUT", "KERNEL_DIED",
           "SETUP_ERROR", "UNKNOWN_LAB", "GRADER_ERROR", "NO_BACKEND", "NOT_REACHED", "Settings", "grade_folder",
           "write_csv", "write_summaries", "escape", "unescape"]
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
    judges_path: list[str] = field(default_factory=list)  # extra folders importable by the judges only
    startup_timeout: float = 120.0
    use_sandbox: bool = True  # False only with --unsafe-no-sandbox
    kernel_user: str | None = None  # without the sandbox: run each kernel as this user (platforms/unprivileged.py)
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)  # new every run

    def seed(self, student: str, notebook: str, exercise: str) -> int:
        """The hidden seed of one student's inputs for one exercise, in this run."""
        message = "\0".join((student, notebook, exercise)).encode("utf-8", "surrogatepass")  # any file name
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
    """The folders through which the grader hands a kernel its inputs and takes back the probe's data.

    Inputs (`<id>.in`) lie in `path`, which the kernel sees read-only; the probe writes its data
    (`out/<id>.out`) into `path/out`, which in the sandbox is the channel's `out` folder: the only
    place besides its sockets where a kernel can write outside its own tmpfs. What the kernel wrote
    is never followed if it is a link, nor read if it is not a regular file or is oversized.
    """

    def __init__(self, root: Path, channel: Path | None):
        self.path = root / "probes"
        (self.path / "out").mkdir(mode=0o700, parents=True)
        self.out = self.path / "out" if channel is None else channel / "out"
        self.out.mkdir(mode=0o700, exist_ok=True)

    def give(self, exercise_id: str, inputs: dict) -> None:
        (self.out / f"{exercise_id}.out").unlink(missing_ok=True)
        grading.write_atomically(self.path / f"{exercise_id}.in", grading.pack(inputs))
        os.chmod(self.path / f"{exercise_id}.in", 0o644)  # the kernel's to read, whatever user it runs as

    def take(self, exercise_id: str) -> bytes | None:
        """The probe's packed data, or None when there is none (or it is a link, a pipe, or too large)."""
        (self.path / f"{exercise_id}.in").unlink(missing_ok=True)
        try:
            return read_bounded(self.out / f"{exercise_id}.out", grading.MAX_PACKED_BYTES)
        except Refused:
            return None


class Run:
    """One notebook in one kernel: its cells in order, its exercises probed and judged."""

    def __init__(self, notebook, lab: LabSpec, student: str, settings: Settings, root: Path,
                 backend: str = backends.DEFAULT):
        self.notebook, self.lab, self.student, self.settings = notebook, lab, student, settings
        self.backend = backend
        self.channel = root / "channel"  # sockets and probe data: a bounded tmpfs where the grader is root
        self.channel.mkdir(mode=0o700)
        self.bounded = settings.use_sandbox and sandbox.mount_bounded(self.channel, settings.limits.channel_bytes)
        self.probes = ProbeFolder(root, self.channel if settings.use_sandbox else None)
        self.execution = Execution()
        self.checks = {e.check: e for e in lab.exercises if e.check is not None and e.check_function}

    def kernel_manager(self, group=None):
        work = sandbox.WORK if self.settings.use_sandbox else str(self.channel)
        extra = {"LAB_QUICK": "1", "SEQLAB_PROGRESS": f"{work}/progress.json", backends.ENV: self.backend,
                 grading.PROBE_DIR_ENV: str(self.probes.path)}
        if self.settings.pythonpath:
            extra["PYTHONPATH"] = os.pathsep.join(self.settings.pythonpath)
        env = sandbox.kernel_env(work, extra)
        if not self.settings.use_sandbox:
            for folder in sandbox.HOME_FOLDERS:
                (self.channel / folder).mkdir(parents=True, exist_ok=True)
            if self.settings.kernel_user:
                from labhelpers.platforms import unprivileged

                return unprivileged.UserKernelManager(self.settings.kernel_user, self.channel, self.probes, env,
                                                      self.settings.limits, group=group)
            return sandbox.UnsandboxedKernelManager(env)
        return sandbox.SandboxedKernelManager(self.channel, env, self.settings.limits, group=group,
                                              readable=[*map(Path, self.settings.pythonpath), self.probes.path],
                                              writable=[(self.probes.out, self.probes.path / "out")])

    async def execute(self) -> Execution:
        from labhelpers import cgroups
        from labhelpers.capped_client import CappedClient

        asyncio.get_running_loop().set_exception_handler(_ignore_orphan_tasks)
        limits = self.settings.limits
        bounded = self.settings.use_sandbox or self.settings.kernel_user
        group = cgroups.create(limits.processes, limits.group_memory_bytes)[0] if bounded else None
        client = CappedClient(self.notebook, limits.output_bytes, km=self.kernel_manager(group), allow_errors=True,
                              interrupt_on_timeout=True, startup_timeout=int(self.settings.startup_timeout),
                              record_timing=False, log=QUIET, shutdown_kernel="immediate")
        execution = self.execution
        try:
            async with client.async_setup_kernel(cwd=str(self.channel), stdout=subprocess.DEVNULL,
                                                 stderr=subprocess.DEVNULL):
                await self._run_cells(client, time.monotonic() + self.settings.notebook_timeout)
        except Exception as error:  # the kernel did not start or stop cleanly
            if execution.status == GRADED:
                execution.status, execution.detail = GRADER_ERROR, f"the kernel failed: {type(error).__name__}"
        finally:
            if group is not None:
                group.remove()
            if self.bounded:
                sandbox.unmount(self.channel)
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
    score: float | None = None  # the share of the points earned (default: 1 passed, else 0)
    max_points: float | None = None  # what the exercise is worth (default: exercises.POINTS by its label)

    def __post_init__(self):
        if self.score is None:
            self.score = 1.0 if self.status == PASSED else 0.0


def exercise_result(exercise, execution: Execution, missing: bool) -> Result:
    """An exercise's result: the judge's verdict on its probe data, or why there is none."""
    judged = execution.results.get(exercise.label)
    if judged is not None:  # whatever the layout: the answer in force when its check cell ran
        return Result(judged.status, grading.shorten(judged.message, MESSAGE_LIMIT), judged.score)
    if missing:
        return Result(NOT_TRIED, "your exercise cell was deleted: the notebook has no cell of this exercise")
    outcome = execution.outcomes.get(exercise.check) if exercise.check is not None else None
    if outcome in (None, "died", "stopped"):
        stopped_here = any(execution.outcomes.get(i) == "timeout" for i in exercise.cells)
        return _exercise_cell_error(exercise, execution) if stopped_here else Result(
            NOT_REACHED, "the check cell did not run")
    if outcome == "timeout":
        return Result(FAILED, "the check did not finish within the time limit (an endless loop?)")
    if outcome != "ok":  # the check cell could not call the answer (a name never defined, say)
        return _exercise_cell_error(exercise, execution) or Result(
            FAILED, grading.shorten(f"the check cell raised {outcome}", MESSAGE_LIMIT))
    return _exercise_cell_error(exercise, execution) or Result(
        FAILED, "the check handed back no answer to judge (was the check function replaced or its cell changed?)")


def _exercise_cell_error(exercise, execution: Execution) -> Result | None:
    """When the check could not even call the answer: what went wrong in the exercise's cells (the
    first error that is not a stub's NotImplementedError: a stub left above a pasted answer stops nothing)."""
    errors = [execution.outcomes[i] for i in exercise.cells if execution.outcomes.get(i, "ok") != "ok"]
    error = next((e for e in errors if not e.startswith("NotImplementedError")), errors[0] if errors else None)
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

    @property
    def points(self) -> float:
        """Points earned in this notebook (exercises.POINTS, partial credit included)."""
        return round(sum(self.worth(label) * r.score for label, r in self.results.items()), 3)

    @property
    def max_points(self) -> float:
        return round(sum(self.worth(label) for label in self.results), 3)

    def worth(self, label: str) -> float:
        result = self.results[label]
        return float(result.max_points if result.max_points is not None else points_of(label))

    def earned(self, label: str) -> float:
        return round(self.worth(label) * self.results[label].score, 3)


def _setup_error(lab: LabSpec, execution: Execution) -> str | None:
    """An error in a cell above the first exercise (its heading, cell or check): the lab's setup failed.
    `lab` is laid out as the notebook that ran (`Assembled.lab`), so the indices are that notebook's."""
    headings = (i for i, label in enumerate(exercise_context(lab.notebook)) if label)
    first = min((i for e in lab.exercises for i in [*e.cells, e.check] if i is not None),
                default=len(lab.notebook.cells))
    first = min(first, next(headings, first))
    return next((f"cell {i} raised {o.split(':')[0]}" for i, o in sorted(execution.outcomes.items())
                 if i < first and o not in ("ok", "timeout", "died")), None)


def grade_notebook(path: Path, student: str, labs: list[LabSpec], settings: Settings) -> Row:
    """Grade one submitted notebook into a Row; never raises."""
    row, start = Row(student, path.name, source=path), time.monotonic()
    try:
        _grade_into(row, path, labs, settings)
    except Exception as error:  # a bug or an unforeseen notebook: one row, not a stopped batch
        row.status = GRADER_ERROR
        row.notes.append(f"the grader failed on this notebook ({failure(error)})")
    row.seconds = round(time.monotonic() - start, 1)
    return row


def failure(error: Exception) -> str:
    """What went wrong, quoting nothing of the notebook (a message may hold its text): the exception's
    type, an OSError's reason, and the grader's function that raised it."""
    frames = [frame for frame, _ in traceback.walk_tb(error.__traceback__)]
    where = [f"{frame.f_globals['__name__']}.{frame.f_code.co_name}" for frame in frames
             if str(frame.f_globals.get("__name__")).startswith("labhelpers.")]
    reason = f": {error.strerror}" if isinstance(error, OSError) and error.strerror else ""
    return f"{type(error).__name__}{reason}" + (f" in {where[-1]}" if where else "")


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
    backend, refusal = submission_backend(submission)
    if refusal:
        row.status = NO_BACKEND
        row.notes.append(refusal)
        row.results = {e.label: Result(NOT_REACHED, "the notebook was not run (see the notes)") for e in lab.exercises}
        return
    try:
        lab = lab.for_backend(backend)
    except ValueError as error:
        row.status = NO_BACKEND
        row.notes.append(f"the notebook records Keras' {backend} backend (its metadata seqlab.backend): {error}")
        row.results = {e.label: Result(NOT_REACHED, "the notebook was not run (see the notes)") for e in lab.exercises}
        return
    row.notes += [f"ran on Keras' {backend} backend"] if backend != backends.DEFAULT else []
    assembled = assemble(submission, lab)
    row.notes += assembled.notes
    root = Path(tempfile.mkdtemp(prefix="seqlab-grade-"))
    try:
        execution = asyncio.run(Run(assembled.notebook, assembled.lab, row.student, settings, root,
                                    backend).execute())
    finally:
        shutil.rmtree(root, ignore_errors=True)
    for exercise in assembled.lab.exercises:  # the indices of the notebook that ran
        row.results[exercise.label] = exercise_result(exercise, execution, exercise.label in assembled.missing)
    setup_error = _setup_error(assembled.lab, execution)
    row.status = execution.status if execution.status != GRADED else (SETUP_ERROR if setup_error else GRADED)
    row.notes += [d for d in (execution.detail, setup_error) if d]


def submission_backend(submission) -> tuple[str, str | None]:
    """(the Keras backend a submission records, why it cannot run here or None)."""
    backend = backends.of_notebook(submission)
    if backend not in backends.BACKENDS:
        return backend, (f"the notebook asks for Keras backend {printable(grading.shorten(repr(backend), 60))} "
                         f"(its metadata seqlab.backend); the course runs on {', '.join(backends.BACKENDS)}")
    if not backends.installed(backend):
        return backend, (f"the notebook runs on Keras' {backend} backend, which is not installed where it is graded: "
                         f"run `python -m labhelpers setup --backend {backend}` there, then grade it again")
    return backend, None


# ---------------------------------------------------------------- the batch and its reports


def grade_folder(folder: Path, solutions: Path, settings: Settings | None = None, progress=print,
                 only=None) -> list[Row]:
    """Grade every submission in a folder, `settings.jobs` notebooks at a time; with `only`, those of the
    students for whom only(student) is true (a shard of the class: platforms/shards.py)."""
    settings = settings or Settings()
    if settings.use_sandbox and (reason := sandbox.unavailable_reason()):
        raise SandboxUnavailable(reason)
    for folder_on_path in [*settings.pythonpath, *settings.judges_path]:  # extra labs are judged here
        if folder_on_path not in sys.path:
            sys.path.insert(0, folder_on_path)
    labs = load_labs(solutions, warn=progress or print)
    submissions = [(s, path) for s, path in find_submissions(folder) if only is None or only(s)]
    rows = []
    with ThreadPoolExecutor(max_workers=max(1, settings.jobs)) as pool:
        futures = [pool.submit(grade_notebook, path, student, labs, settings) for student, path in submissions]
        for done, future in enumerate(as_completed(futures), start=1):
            row = future.result()
            rows.append(row)
            if progress:
                progress(f"[{done}/{len(futures)}] {escape(row.student)}/{escape(row.notebook)}: {row.status}, "
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


# What a name or a message may not hold in a report: control characters, bytes that were not UTF-8
# (os.fsdecode's surrogate escapes), line and paragraph separators, and bidirectional overrides.
UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
UNSAFE_IN_NAME = re.compile("%|" + UNPRINTABLE.pattern)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet takes such a cell for a formula (OWASP)


def escape(name: str) -> str:
    """A file or folder name as printable UTF-8, reversibly: '%' and UNPRINTABLE characters become %XX
    (an undecodable byte its own byte, any other character its UTF-8 bytes). `unescape` undoes it."""
    return UNSAFE_IN_NAME.sub(_percent, name)


def unescape(text: str) -> str:
    """The name `escape` was given, spelled as os.fsdecode spells it."""
    return urllib.parse.unquote(text, errors="surrogateescape")


def printable(text) -> str:
    """Any text as printable UTF-8 for a report (not reversible: a '%' stays as it is)."""
    return UNPRINTABLE.sub(_percent, str(text))


def _percent(found: re.Match) -> str:
    character = found.group()
    if "\udc80" <= character <= "\udcff":  # a byte os.fsdecode could not decode
        return f"%{ord(character) - 0xDC00:02X}"
    return "".join(f"%{byte:02X}" for byte in character.encode("utf-8", "surrogatepass"))


def write_csv(rows: list[Row], path: Path) -> None:
    """One line per student and notebook; one column per exercise of every lab seen.

    Names are escaped (`escape`), other text is made printable, and a text cell that a spreadsheet
    would take for a formula (FORMULA_START) starts with ' (OWASP); the grader's numbers stay numbers.
    """
    exercises = sorted({label for row in rows for label in row.results}, key=_registry_position)
    header = ["student", "notebook", "lab", "status", "score", "passed", "exercises", *exercises, "points",
              "max points", *(f"points {e}" for e in exercises), "notes", "seconds"]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(map(_csv_cell, header))
        for row in rows:
            writer.writerow(map(_csv_cell, _csv_row(row, exercises)))


def _csv_row(row: Row, exercises: list[str]) -> list:
    """A row's cells; a row that cannot be read is written as a grader error rather than lost."""
    try:
        return [escape(row.student), escape(row.notebook), row.lab, row.status, row.score, row.passed,
                len(row.results), *(row.results[e].status if e in row.results else "" for e in exercises),
                row.points, row.max_points, *(row.earned(e) if e in row.results else "" for e in exercises),
                "; ".join(row.notes), row.seconds]
    except Exception as error:
        return [escape(str(row.student)), escape(str(row.notebook)), "", GRADER_ERROR, 0.0, 0, 0,
                *[""] * len(exercises), 0.0, 0.0, *[""] * len(exercises),
                f"the grader could not write this row ({failure(error)})", 0.0]


def _csv_cell(value):
    """A cell as the CSV holds it: a number as it is, text printable and never a formula."""
    if isinstance(value, (int, float)):
        return value
    text = printable(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def student_summary(student: str, rows: list[Row]) -> str:
    """A Markdown report for one student: every notebook, every exercise, every message; names escaped,
    every line printable."""
    lines = [f"# Grades for {escape(student)}", ""]
    for row in rows:
        lines += [f"## {escape(row.notebook)}" + (f" (lab {row.lab})" if row.lab else ""), "",
                  f"Status: **{row.status}**. {row.passed} of {len(row.results)} exercises pass"
                  f" ({row.points:g} of {row.max_points:g} points).", ""]
        if row.results:
            lines += ["| exercise | result | points | details |", "|---|---|---|---|"]
            lines += [f"| {_cell(label)} | {r.status} | {row.earned(label):g} / {row.worth(label):g} "
                      f"| {_cell(r.message)} |" for label, r in row.results.items()]
            lines.append("")
        lines += [f"- {note}" for note in row.notes] + ([""] if row.notes else [])
    return "\n".join(map(printable, lines))


def summary_name(student: str) -> str:
    """A file name for a student's summary, unique: unescape(urllib.parse.unquote(stem)) is the student,
    but for a name too long for a file, cut and told apart by its hash after "%%" (which quote never writes)."""
    name = urllib.parse.quote(escape(student), safe="").replace(".", "%2E")
    if len(name) > 200:
        name = name[:180] + "%%" + hashlib.sha256(student.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return name + ".md"


def write_summaries(rows: list[Row], folder: Path) -> list[Path]:
    """One Markdown file per student; no two students can share one, and one that cannot be made says so."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for student in sorted({row.student for row in rows}):
        target = folder / summary_name(student)
        target.write_text(_summary(student, [r for r in rows if r.student == student]), encoding="utf-8")
        written.append(target)
    return written


def _summary(student: str, rows: list[Row]) -> str:
    try:
        return student_summary(student, rows)
    except Exception as error:  # one broken summary, not the others
        return f"# Grades for {escape(student)}\n\nThe grader could not write this summary ({failure(error)}).\n"
