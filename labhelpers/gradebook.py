"""Grade a folder of submitted notebooks into a CSV gradebook and one Markdown summary per student.

    python -m labhelpers grade SUBMISSIONS_DIR --out grades.csv      (or: make grade DIR=... OUT=...)

WARNING: grading EXECUTES STUDENT CODE, with your user's rights: it can read, write or delete
your files and reach the network. Run it in a container or under a throwaway account.

Submissions are `SUBMISSIONS_DIR/<student>/**/*.ipynb` (the student is the first folder name,
so nbgrader's `submitted/<student>/<assignment>/` works) or `SUBMISSIONS_DIR/<student>.ipynb`.

How one notebook is graded:
1. Its lab is recognised from its content: the exercise headings, the cell ids it shares with the
   student notebook and the modules it imports, with the file name only as a tie-breaker.
2. Checks are never trusted from the submission. The notebook that runs is the instructor's
   student version of that lab (`release.student_notebook` of `solutions/NN_name.ipynb`) with
   only its exercise cells (those holding a solution region) replaced by the submission's
   matching cells, matched by cell id, else by the exercise heading above them. A deleted
   exercise cell keeps the stub (not tried); an edited or deleted check cell, or any other edited
   cell, is replaced by the original and reported in the notes.
3. It runs in its own kernel with LAB_QUICK=1, SEQLAB_PROGRESS in a temporary folder that is also
   the working directory, a per-cell timeout (the cell is interrupted and grading goes on) and a
   per-notebook timeout (grading stops there); a few notebooks run at once, one thread each.
4. Each exercise's result is read from the output of its check cell (the first code cell after
   its exercise cells that calls a `check_...` function, else the first code cell after them):
   a `PASS` line is passed, a CheckFailed is failed with its message, a NotAttempted is not
   tried, and a check cell that never ran is not reached.

Every broken submission (not JSON, empty, unknown lab, a cell that loops forever or kills its
kernel, a missing import) gets a row with a status and notes; nothing stops the batch.

Re-running the original checks stops edited check cells and stale outputs, not a determined
cheat: code in an exercise cell can still replace a check function. Read surprising passes.
"""

from __future__ import annotations

import asyncio
import copy
import csv
import logging
import os
import re
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from labhelpers.grading import FAILED, NOT_TRIED, PASSED
from labhelpers.release import BEGIN, EXERCISE_HEADING, student_notebook

NOT_REACHED = "not reached"
# Notebook statuses, one per row.
GRADED, TIMEOUT, KERNEL_DIED, SETUP_ERROR = "graded", "timeout", "kernel died", "setup error"
INVALID, EMPTY, UNKNOWN_LAB, GRADER_ERROR = "invalid notebook", "empty", "unknown lab", "grader error"

IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import\s+([\w, ]+)|import\s+([\w., ]+))", re.M)
PASS_LINE = re.compile(r"^PASS (.*)$", re.M)
CHECK_CALL = re.compile(r"\bcheck_\w+\(")
CHECK_ERRORS = {"CheckFailed": FAILED, "NotAttempted": NOT_TRIED}
QUIET = logging.getLogger("labhelpers.gradebook.nbclient")  # timeouts and deaths are reported in the rows
QUIET.setLevel(logging.CRITICAL)
INTERRUPT_GRACE = 10  # seconds a timed-out cell gets to stop after its interrupt


# ---------------------------------------------------------------- the instructor's labs


@dataclass
class Exercise:
    """One exercise of a lab: its cells in the student notebook and the check cell after them."""

    label: str  # "1.3 MyRNNCell", as in its heading
    cells: list[int]  # indices of its exercise cells
    check: int | None  # index of its check cell

    @property
    def number(self) -> str:
        return self.label.split()[0]


@dataclass
class LabSpec:
    """What grading needs to know about one lab, taken from its solution notebook."""

    name: str  # the solution notebook's stem, e.g. 01_rnn_from_scratch
    notebook: nbformat.NotebookNode  # its student version
    exercises: list[Exercise]
    imports: set[str]

    def exercise_of_cell(self) -> dict[int, Exercise]:
        return {index: exercise for exercise in self.exercises for index in exercise.cells}


def exercise_context(notebook) -> list[str | None]:
    """For every cell, the label of the closest `Exercise N.M` heading above it (or None)."""
    label, context = None, []
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            found = EXERCISE_HEADING.findall(cell.source)
            label = f"{found[-1][0]} {found[-1][1]}".strip() if found else label
        context.append(label)
    return context


def imported_modules(notebook) -> set[str]:
    """Every module a notebook's code cells import (`from a import b` counts as a and a.b)."""
    modules = set()
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for source, names, plain in IMPORT.findall(cell.source):
            if source:
                modules.add(source)
                modules.update(f"{source}.{n.split(' as ')[0].strip()}" for n in names.split(","))
            else:
                modules.update(n.split(" as ")[0].strip() for n in plain.split(","))
    return modules - {""}


def load_lab(path: Path) -> LabSpec:
    """Read one solution notebook into a LabSpec."""
    solution = nbformat.read(path, as_version=4)
    student, _ = student_notebook(solution, path.name)
    context = exercise_context(solution)
    exercises: dict[str, Exercise] = {}
    for index, cell in enumerate(solution.cells):
        if cell.cell_type == "code" and any(line.strip() == BEGIN for line in cell.source.split("\n")):
            exercises.setdefault(context[index], Exercise(context[index], [], None)).cells.append(index)
    starts = sorted(e.cells[0] for e in exercises.values()) + [len(student.cells)]
    for exercise in exercises.values():
        end = next(start for start in starts if start > exercise.cells[-1])
        after = [i for i in range(exercise.cells[-1] + 1, end) if student.cells[i].cell_type == "code"]
        checks = [i for i in after if CHECK_CALL.search(student.cells[i].source)]
        exercise.check = (checks or after or [None])[0]
    return LabSpec(path.stem, student, list(exercises.values()), imported_modules(student))


def load_labs(solutions: Path, warn=print) -> list[LabSpec]:
    """Every lab in a solutions folder; one that cannot be read is left out with a warning."""
    labs = []
    for path in sorted(Path(solutions).glob("*.ipynb")):
        try:
            labs.append(load_lab(path))
        except Exception as error:  # a solution being edited must not stop grading the others
            warn(f"skipping {path.name}: {type(error).__name__}: {error}")
    return labs


# ---------------------------------------------------------------- recognising a submission


def identify(submission, filename: str, labs: list[LabSpec]) -> tuple[LabSpec | None, str]:
    """The lab a submission belongs to, from its content; the note says how it was recognised."""
    headings = {label.split()[0] for label in exercise_context(submission) if label}
    ids = {cell.get("id") for cell in submission.cells} - {None}
    modules = imported_modules(submission)
    shared_modules = set.intersection(*(lab.imports for lab in labs)) if labs else set()

    def evidence(lab: LabSpec) -> float:
        lab_ids = {cell.get("id") for cell in lab.notebook.cells} - {None}
        own_modules = lab.imports - shared_modules
        return (
            len(headings & {e.number for e in lab.exercises}) / max(1, len(lab.exercises))
            + len(ids & lab_ids) / max(1, len(lab_ids))
            + (len(modules & own_modules) / len(own_modules) if own_modules else 0.0)
        )

    scores = sorted(((evidence(lab), lab.name.startswith(filename.split("_")[0] + "_"), lab) for lab in labs),
                    key=lambda s: s[:2], reverse=True)
    if not scores:
        return None, "no solution notebooks to grade against"
    best_score, name_matches, best = scores[0]
    if best_score > 0:
        return best, ""
    if name_matches:
        return best, "no exercise of the lab found in the notebook: lab taken from the file name"
    return None, "no exercise heading, cell or import of any lab found"


# ---------------------------------------------------------------- the notebook that runs


@dataclass
class Assembled:
    """The notebook to execute, and what the submission changed outside its exercises."""

    notebook: nbformat.NotebookNode
    missing: set[str]  # labels of exercises whose cells the submission deleted
    notes: list[str]


def _submitted_cells(submission, lab: LabSpec) -> dict[int, nbformat.NotebookNode]:
    """For each exercise cell of the lab, the submission's matching cell (when there is one)."""
    by_id = {cell.get("id"): cell for cell in submission.cells if cell.cell_type == "code" and cell.get("id")}
    public_ids = {c.get("id") for i, c in enumerate(lab.notebook.cells) if i not in lab.exercise_of_cell()} - {None}
    public_sources = {c.source.strip() for i, c in enumerate(lab.notebook.cells) if i not in lab.exercise_of_cell()}
    context = exercise_context(submission)
    matched = {}
    for exercise in lab.exercises:
        candidates = [
            cell for cell, label in zip(submission.cells, context)
            if cell.cell_type == "code" and label and label.split()[0] == exercise.number
            and cell.get("id") not in public_ids and cell.source.strip() not in public_sources
        ]
        for position, index in enumerate(exercise.cells):
            own = by_id.get(lab.notebook.cells[index].get("id"))
            fallback = candidates[position] if position < len(candidates) else None
            if own is not None or fallback is not None:
                matched[index] = own if own is not None else fallback
    return matched


def _edited_public_cells(submission, lab: LabSpec) -> list[str]:
    """Notes on check cells and other non-exercise code cells the submission changed or deleted."""
    sources = {cell.get("id"): cell.source for cell in submission.cells if cell.get("id")}
    all_sources = {cell.source.strip() for cell in submission.cells}
    checks = {exercise.check: exercise for exercise in lab.exercises}
    exercise_cells = lab.exercise_of_cell()
    notes, others = [], 0
    for index, cell in enumerate(lab.notebook.cells):
        if cell.cell_type != "code" or index in exercise_cells:
            continue
        theirs = sources.get(cell.get("id"))
        if theirs is not None and theirs.strip() == cell.source.strip():
            continue
        if cell.source.strip() in all_sources:
            continue  # moved, or saved without its id
        if index in checks:
            what = "deleted" if theirs is None else "edited"
            notes.append(f"check cell of {checks[index].label} {what} (the original was run)")
        else:
            others += 1
    if others:
        notes.append(f"{others} other non-exercise code cell(s) edited or deleted (the originals were run)")
    return notes


def assemble(submission, lab: LabSpec) -> Assembled:
    """The lab's student notebook with the submission's exercise cells put in."""
    notebook = copy.deepcopy(lab.notebook)
    matched = _submitted_cells(submission, lab)
    for index, cell in matched.items():
        notebook.cells[index].source = cell.source
    missing = {e.label for e in lab.exercises if not any(i in matched for i in e.cells)}
    notes = [f"exercise cell of {label} deleted: counted as not tried" for label in sorted(missing)]
    return Assembled(notebook, missing, notes + _edited_public_cells(submission, lab))


# ---------------------------------------------------------------- running it


@dataclass
class Settings:
    """How to run the notebooks."""

    cell_timeout: float = 300.0
    notebook_timeout: float = 900.0
    jobs: int = 4
    pythonpath: list[str] = field(default_factory=list)  # extra folders importable by the kernels
    kernel_name: str = "python3"
    startup_timeout: float = 120.0


@dataclass
class Execution:
    """What happened to each code cell: 'ok', 'timeout', 'died' or an error 'Name: message'."""

    outcomes: dict[int, str] = field(default_factory=dict)
    status: str = GRADED
    detail: str = ""


def _error_of(cell) -> str | None:
    """The first error a cell's outputs show, as 'Name: message'."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename')}: {output.get('evalue', '')}"
    return None


def kernel_env(progress: Path, settings: Settings) -> dict[str, str]:
    """The kernel's environment: quick mode, its own progress file, the extra import folders."""
    path = os.pathsep.join([*settings.pythonpath, os.environ.get("PYTHONPATH", "")]).strip(os.pathsep)
    env = {**os.environ, "LAB_QUICK": "1", "SEQLAB_PROGRESS": str(progress), "TF_CPP_MIN_LOG_LEVEL": "2"}
    if path:
        env["PYTHONPATH"] = path
    return env


async def _run_cells(client, notebook, execution: Execution, settings: Settings, deadline: float) -> None:
    """Run the code cells in order. A cell past its time is interrupted (nbclient's
    interrupt_on_timeout) and reported as 'timeout'; one past the notebook's deadline ends the run,
    and so does a cell that ignores its interrupt, so a notebook never runs past its deadline
    plus INTERRUPT_GRACE."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        left = deadline - time.monotonic()
        if left < 1:
            execution.status, execution.detail = TIMEOUT, f"stopped at cell {index}: notebook time limit"
            return
        client.timeout = max(1, int(min(settings.cell_timeout, left)))
        started = time.monotonic()
        try:
            await asyncio.wait_for(client.async_execute_cell(cell, index), client.timeout + INTERRUPT_GRACE)
        except (asyncio.TimeoutError, CellTimeoutError):
            execution.outcomes[index] = "timeout"
            execution.status, execution.detail = TIMEOUT, f"cell {index} could not be interrupted"
            return
        except DeadKernelError:
            execution.outcomes[index] = "died"
            execution.status, execution.detail = KERNEL_DIED, f"the kernel died in cell {index}"
            return
        outcome = _error_of(cell) or "ok"
        timed_out = outcome.startswith("KeyboardInterrupt") and time.monotonic() - started >= client.timeout
        execution.outcomes[index] = "timeout" if timed_out else outcome
        if timed_out and client.timeout < settings.cell_timeout:
            execution.status, execution.detail = TIMEOUT, f"stopped at cell {index}: notebook time limit"
            return


def _ignore_orphan_tasks(loop, context) -> None:
    """nbclient leaves an output poller behind when a kernel dies; its error is expected."""
    if "never retrieved" not in context.get("message", ""):
        loop.default_exception_handler(context)


async def execute(notebook, workdir: Path, settings: Settings) -> Execution:
    """Run a notebook's code cells in a fresh kernel, cell by cell, within the time limits."""
    from nbclient import NotebookClient

    execution = Execution()
    asyncio.get_running_loop().set_exception_handler(_ignore_orphan_tasks)
    client = NotebookClient(notebook, allow_errors=True, interrupt_on_timeout=True, kernel_name=settings.kernel_name,
                            startup_timeout=int(settings.startup_timeout), record_timing=False, log=QUIET,
                            shutdown_kernel="immediate")
    env = kernel_env(workdir / "progress.json", settings)
    with open(workdir / "kernel.log", "wb") as log:
        try:
            async with client.async_setup_kernel(env=env, cwd=str(workdir), stdout=log, stderr=log):
                await _run_cells(client, notebook, execution, settings, time.monotonic() + settings.notebook_timeout)
        except Exception as error:  # the kernel did not start or stop cleanly
            if execution.status == GRADED:
                execution.status, execution.detail = GRADER_ERROR, f"{type(error).__name__}: {error}"
    return execution


# ---------------------------------------------------------------- reading the results


@dataclass
class Result:
    """One exercise's result."""

    status: str
    message: str = ""


def _without(text: str, prefix: str) -> str:
    """The text without a leading prefix (the exercise label, already in the report's own column)."""
    return text[len(prefix):] if text.startswith(prefix) else text


def exercise_result(exercise: Exercise, notebook, execution: Execution, missing: bool) -> Result:
    """Read an exercise's result from its check cell's output."""
    outcome = execution.outcomes.get(exercise.check) if exercise.check is not None else None
    if outcome in (None, "died"):
        return Result(NOT_REACHED, "the check cell did not run")
    if missing:
        return Result(NOT_TRIED, "your exercise cell was deleted, so its stub was run")
    if outcome == "timeout":
        return Result(FAILED, "the check did not finish within the time limit (an endless loop?)")
    if outcome == "ok":
        return _passed(exercise, notebook.cells[exercise.check])
    name, _, message = outcome.partition(": ")
    if name in CHECK_ERRORS:
        return Result(CHECK_ERRORS[name], _without(message, f"Exercise {exercise.label}: "))
    return _exercise_cell_error(exercise, execution) or Result(FAILED, f"the check cell raised {outcome}")


def _passed(exercise: Exercise, check) -> Result:
    """A check cell that ran without error passed if it printed its PASS line."""
    text = "".join(o.get("text", "") for o in check.outputs if o.get("output_type") == "stream")
    passes = PASS_LINE.findall(text)
    if not passes:
        return Result(FAILED, "the check printed no PASS line")
    return Result(PASSED, _without(passes[-1], f"{exercise.label}: "))


def _exercise_cell_error(exercise: Exercise, execution: Execution) -> Result | None:
    """When the check could not even call the answer: what went wrong in the exercise cell itself."""
    error = next((execution.outcomes[i] for i in exercise.cells if execution.outcomes.get(i, "ok") != "ok"), None)
    if error is None:
        return None
    if error.startswith("NotImplementedError"):
        return Result(NOT_TRIED, "your exercise cell still raises NotImplementedError")
    if error == "timeout":
        return Result(FAILED, "your exercise cell did not finish within the time limit (an endless loop?)")
    return Result(FAILED, f"your exercise cell raised {error}")


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

    @property
    def passed(self) -> int:
        return sum(result.status == PASSED for result in self.results.values())

    @property
    def score(self) -> float:
        return round(self.passed / len(self.results), 3) if self.results else 0.0


def _setup_error(lab: LabSpec, execution: Execution) -> str | None:
    """An error in a non-exercise cell above the first exercise: the lab's setup failed."""
    first = min((i for e in lab.exercises for i in e.cells), default=len(lab.notebook.cells))
    return next((f"cell {i} raised {o}" for i, o in sorted(execution.outcomes.items())
                 if i < first and o not in ("ok", "timeout", "died")), None)


def read_notebook(path: Path):
    """The notebook in a file, or (None, status, note) for an empty or unreadable one."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    if not text.strip():
        return None, EMPTY, "the file is empty"
    try:
        notebook = nbformat.reads(text, as_version=4)
    except Exception as error:  # not JSON, or JSON that is not a notebook
        return None, INVALID, f"not a readable notebook: {type(error).__name__}: {str(error)[:200]}"
    if not any(cell.get("source", "").strip() for cell in notebook.get("cells", [])):
        return None, EMPTY, "the notebook has no cells with content"
    return notebook, GRADED, ""


def grade_notebook(path: Path, student: str, labs: list[LabSpec], settings: Settings) -> Row:
    """Grade one submitted notebook into a Row; never raises."""
    row, start = Row(student, path.name), time.monotonic()
    try:
        _grade_into(row, path, labs, settings)
    except Exception as error:  # a bug or an unforeseen notebook: one row, not a stopped batch
        row.status = GRADER_ERROR
        row.notes.append(f"{type(error).__name__}: {error}")
    row.seconds = round(time.monotonic() - start, 1)
    return row


def _grade_into(row: Row, path: Path, labs: list[LabSpec], settings: Settings) -> None:
    submission, row.status, note = read_notebook(path)
    if submission is None:
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
    with tempfile.TemporaryDirectory(prefix="seqlab-grade-") as workdir:
        execution = asyncio.run(execute(assembled.notebook, Path(workdir), settings))
    for exercise in lab.exercises:
        row.results[exercise.label] = exercise_result(exercise, assembled.notebook, execution,
                                                      exercise.label in assembled.missing)
    setup_error = _setup_error(lab, execution)
    row.status = execution.status if execution.status != GRADED else (SETUP_ERROR if setup_error else GRADED)
    row.notes += [d for d in (execution.detail, setup_error) if d]


# ---------------------------------------------------------------- the batch and its reports


def find_submissions(folder: Path) -> list[tuple[str, Path]]:
    """(student, notebook) for every .ipynb under a folder, checkpoints skipped."""
    found = []
    for path in sorted(Path(folder).rglob("*.ipynb")):
        parts = path.relative_to(folder).parts
        if any(part.startswith(".") for part in parts):
            continue
        found.append((parts[0] if len(parts) > 1 else path.stem, path))
    return found


def grade_folder(folder: Path, solutions: Path, settings: Settings | None = None, progress=print) -> list[Row]:
    """Grade every submission in a folder, `settings.jobs` notebooks at a time."""
    settings = settings or Settings()
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
    return sorted(rows, key=lambda r: (r.student, r.notebook))


def write_csv(rows: list[Row], path: Path) -> None:
    """One line per student and notebook; one column per exercise of every lab seen."""
    exercises = sorted({label for row in rows for label in row.results},
                       key=lambda label: [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", label)])
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


def write_summaries(rows: list[Row], folder: Path) -> list[Path]:
    """One Markdown file per student."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for student in sorted({row.student for row in rows}):
        target = folder / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', student)}.md"
        target.write_text(student_summary(student, [r for r in rows if r.student == student]))
        written.append(target)
    return written

