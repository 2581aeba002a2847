"""What a class handed in: finding the notebooks, recognising each one's lab, and the notebook to run.

Submissions are `SUBMISSIONS_DIR/<student>/**/*.ipynb` (the student is the first folder name,
so nbgrader's `submitted/<student>/<assignment>/` works) or `SUBMISSIONS_DIR/<student>.ipynb`.

1. A notebook's lab is recognised from its content: the exercise headings, the cell ids it shares
   with the student notebook and the modules it imports, with the file name only as a tie-breaker.
2. The grade follows Restart & Run All: every code cell the student wrote runs, in the student's
   order (added helper cells, pasted copies of an exercise cell, moved cells, cells without ids);
   only the check cells are the instructor's. Each check cell of the lab (of the instructor's
   student version, `release.student_notebook` of `solutions/NN_name.ipynb`) is put in as the
   original, in the place of the submission's cell with its id, else of the cell that calls the same
   `check_...` function, else after the last cell of its exercise section (before the next exercise
   heading or the next instructor cell that follows the check in the lab). An edited or deleted check
   cell therefore still runs the original; such edits, and edited instructor cells, are reported in
   the notes. A student's own call of a check earns nothing: the grader judges only at the check
   cells it put in. An exercise's cells are the student's code cells of its section above its check;
   with none, it is not tried, like an answer that still raises NotImplementedError at its check.
   `Assembled.lab` holds the exercises' cells and checks at their indices in the notebook that runs.
3. Every code cell the student wrote (the lines not found in the instructor's cells) is read for what
   deserves a human look (labhelpers internals, IPython hooks, sys.modules, signals, subprocesses,
   paths outside the notebook), labelled by its exercise section or "setup": `review_flags`. Flags
   change no grade.
"""

from __future__ import annotations

import ast
import copy
import errno
import importlib
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import nbformat

from labhelpers import backends
from labhelpers.release import BEGIN, EXERCISE_HEADING, backend_view, lab_backends, student_notebook

# An import statement at the start of a line; [ \t] never crosses a line, so a scan is linear in the text
IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+([\w.]+)[ \t]+import[ \t]+([\w, ]+)|import[ \t]+([\w., ]+))", re.M)
CHECK_CALL = re.compile(r"\b([A-Za-z_]\w*)\.(check_\w+)\(|\b(check_\w+)\(")
LAB_NUMBER = re.compile(r"^(\d+)_")


# ---------------------------------------------------------------- the instructor's labs


@dataclass
class ExerciseCells:
    """One exercise of a lab: its cells in the student notebook and the check cell after them."""

    label: str  # "1.3 MyRNNCell", as in its heading
    cells: list[int]  # indices of its exercise cells
    check: int | None  # index of its check cell
    check_function: str = ""  # what the check cell calls, as an importable "module:function"

    @property
    def number(self) -> str:
        return self.label.split()[0]

    def judge(self):
        """The grading.Exercise whose judge decides this exercise (imported in the grader's process)."""
        module, _, function = self.check_function.partition(":")
        return getattr(importlib.import_module(module), function).exercise


@dataclass
class LabSpec:
    """What grading needs to know about one lab, taken from its solution notebook."""

    name: str  # the solution notebook's stem, e.g. 01_rnn_from_scratch
    notebook: nbformat.NotebookNode  # its student version (for `backend`)
    exercises: list[ExerciseCells]
    imports: set[str]
    backend: str = backends.DEFAULT  # the Keras backend this student version is written for
    backends: tuple[str, ...] = (backends.DEFAULT,)  # every backend the lab is written for
    source: Path | None = None  # the solution notebook

    def for_backend(self, backend: str) -> "LabSpec":
        """The same lab as a learner of `backend` has it (its backend cells); ValueError if not written for it."""
        if backend == self.backend:
            return self
        if backend not in self.backends or self.source is None:
            raise ValueError(f"lab {self.name} is written for Keras' {', '.join(self.backends)} "
                             f"backend{'s' if len(self.backends) > 1 else ''}, not {backend}")
        return load_lab(self.source, backend)

    def exercise_of_cell(self) -> dict[int, ExerciseCells]:
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


def load_lab(path: Path, backend: str = backends.DEFAULT) -> LabSpec:
    """Read one solution notebook into a LabSpec, as a learner of `backend` has it."""
    source = nbformat.read(path, as_version=4)
    student, _ = student_notebook(source, path.name, backend)
    solution = backend_view(source, backend, path.name)  # its cells are the student notebook's
    context = exercise_context(solution)
    exercises: dict[str, ExerciseCells] = {}
    for index, cell in enumerate(solution.cells):
        if cell.cell_type == "code" and any(line.strip() == BEGIN for line in cell.source.split("\n")):
            exercises.setdefault(context[index], ExerciseCells(context[index], [], None)).cells.append(index)
    starts = sorted(e.cells[0] for e in exercises.values()) + [len(student.cells)]
    for exercise in exercises.values():
        end = next(start for start in starts if start > exercise.cells[-1])
        after = [i for i in range(exercise.cells[-1] + 1, end) if student.cells[i].cell_type == "code"]
        checks = [i for i in after if CHECK_CALL.search(student.cells[i].source)]
        exercise.check = (checks or after or [None])[0]
        if checks:
            exercise.check_function = check_function(student.cells[exercise.check].source, module_aliases(student))
    return LabSpec(path.stem, student, list(exercises.values()), imported_modules(student), backend,
                   lab_backends(source), Path(path))


def module_aliases(notebook) -> dict[str, str]:
    """The name each import of a notebook binds, and the module or attribute it stands for."""
    aliases = {}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                aliases.update({(a.asname or a.name.split(".")[0]): (a.name if a.asname else a.name.split(".")[0])
                                for a in node.names})
            elif isinstance(node, ast.ImportFrom) and node.module:
                aliases.update({(a.asname or a.name): f"{node.module}.{a.name}" for a in node.names})
    return aliases


def check_function(source: str, aliases: dict[str, str]) -> str:
    """The check a check cell calls, as "module:function" ("labhelpers.rnn:check_rnn_step")."""
    found = CHECK_CALL.search(source)
    if not found:
        return ""
    owner, function = (found.group(1), found.group(2)) if found.group(2) else (None, found.group(3))
    if owner is None:  # `from module import check_x`
        module, _, function = aliases.get(function, "").rpartition(".")
        return f"{module}:{function}" if module else ""
    return f"{aliases.get(owner, owner)}:{function}"


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
    """The notebook to execute, and what the submission changed of the instructor's cells."""

    notebook: nbformat.NotebookNode
    missing: set[str]  # labels of exercises of which the notebook has no cell
    notes: list[str]
    lab: LabSpec | None = None  # the lab laid out as this notebook: its exercises' cells and checks at their indices here


def _calls(source: str) -> set[str]:
    """The check_... functions a cell's source calls."""
    return {found.group(2) or found.group(3) for found in CHECK_CALL.finditer(source)}


def _instructor_checks(lab: LabSpec) -> dict[str, int]:
    """Each exercise's check cell in the lab (label -> index), when it calls a check function."""
    return {e.label: e.check for e in lab.exercises
            if e.check is not None and CHECK_CALL.search(lab.notebook.cells[e.check].source)}


def _submitted_cells(submission, lab: LabSpec) -> tuple[list, dict[str, tuple[int, str]]]:
    """The submission's cells (copies, outputs dropped) and where each check cell of the lab goes.

    The second value maps an exercise's label to (index, how): the submission's cell that is its check
    cell, found by id ("id") or else by calling the same check function ("call": the original's source
    first, then a cell of its exercise), or else the index before which the original goes ("position":
    after the last cell of its exercise section, i.e. before the next exercise heading or the first cell
    that is one of the instructor's cells following the check in the lab).
    """
    cells = []
    for cell in submission.cells:
        cell = copy.deepcopy(cell)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            tags = [tag for tag in cell.metadata.get("tags", []) if tag != "skip-execution"]
            cell.metadata = {"tags": tags} if tags else {}
        cells.append(cell)
    lab_cells = lab.notebook.cells
    lab_ids = {cell.get("id"): index for index, cell in enumerate(lab_cells) if cell.get("id")}
    sources: dict[str, list[int]] = {}
    for index, cell in enumerate(lab_cells):
        if cell.source.strip():
            sources.setdefault(cell.source.strip(), []).append(index)
    counterpart = {}  # submission index -> lab index: same id, else the same source (found once in the lab)
    for index, cell in enumerate(cells):
        same = sources.get(cell.source.strip(), [])
        counterpart[index] = lab_ids.get(cell.get("id"), same[0] if len(same) == 1 else None)
    context = exercise_context(submission)
    code = [i for i, cell in enumerate(cells) if cell.cell_type == "code"]
    instructor = _instructor_checks(lab)
    found: dict[str, tuple[int, str]] = {}
    claimed: set[int] = set()
    for exercise in lab.exercises:  # by id
        if exercise.label in instructor:
            wanted = lab_cells[exercise.check].get("id")
            index = next((i for i in code if wanted and cells[i].get("id") == wanted and i not in claimed), None)
            if index is not None:
                found[exercise.label] = (index, "id")
                claimed.add(index)
    for exercise in lab.exercises:  # by the check function it calls
        if exercise.label not in instructor or exercise.label in found:
            continue
        original = lab_cells[exercise.check].source
        calls = [i for i in code if i not in claimed and _calls(original) & _calls(cells[i].source)]
        index = next((i for i in calls if cells[i].source.strip() == original.strip()), None)
        if index is None:
            index = next((i for i in calls if context[i] and context[i].split()[0] == exercise.number), None)
        if index is not None:
            found[exercise.label] = (index, "call")
            claimed.add(index)
            counterpart[index] = exercise.check
    headings = {}
    for index, label in enumerate(context):
        if label and cells[index].cell_type == "markdown":
            headings.setdefault(label.split()[0], index)
    floor = 0
    for exercise in lab.exercises:  # by position
        if exercise.label not in instructor:
            continue
        if exercise.label in found:
            floor = max(floor, found[exercise.label][0] + 1)
            continue
        check = instructor[exercise.label]
        index = max(floor, headings[exercise.number] + 1) if exercise.number in headings else floor
        while index < len(cells):
            numbers = ({number for number, _ in EXERCISE_HEADING.findall(cells[index].source)}
                       if cells[index].cell_type == "markdown" else set())
            later = counterpart.get(index)
            if numbers - {exercise.number} or (later is not None and later > check):
                break
            index += 1
        found[exercise.label] = (index, "position")
        floor = index
    return cells, found


def _edited_public_cells(submission, lab: LabSpec, checks: dict[str, tuple[int, str]] | None = None) -> list[str]:
    """Notes on check cells and other non-exercise code cells the submission changed or deleted.

    `checks` is where `_submitted_cells` found each check cell (found again when not given)."""
    if checks is None:
        checks = _submitted_cells(submission, lab)[1]
    sources = {cell.get("id"): cell.source for cell in submission.cells if cell.get("id")}
    all_sources = {cell.source.strip() for cell in submission.cells}
    instructor = {index: label for label, index in _instructor_checks(lab).items()}
    exercise_cells = lab.exercise_of_cell()
    notes, others = [], 0
    for index, cell in enumerate(lab.notebook.cells):
        if cell.cell_type != "code" or index in exercise_cells:
            continue
        if index in instructor:
            where, how = checks[instructor[index]]
            if how == "position":
                notes.append(f"check cell of {instructor[index]} deleted (the original was run)")
            elif submission.cells[where].source.strip() != cell.source.strip():
                notes.append(f"check cell of {instructor[index]} edited (the original was run)")
            continue
        theirs = sources.get(cell.get("id"))
        if theirs is not None and theirs.strip() == cell.source.strip():
            continue
        if cell.source.strip() in all_sources:
            continue  # moved, or saved without its id
        others += 1
    if others:
        notes.append(f"{others} other non-exercise code cell(s) edited or deleted (run as the student left them)")
    return notes


def assemble(submission, lab: LabSpec) -> Assembled:
    """The notebook that runs: the submission's cells in its order, with the lab's check cells put in."""
    cells, checks = _submitted_cells(submission, lab)
    originals = {label: lab.notebook.cells[index] for label, index in _instructor_checks(lab).items()}
    replaced = {index: label for label, (index, how) in checks.items() if how != "position"}
    inserted: dict[int, list[str]] = {}
    for exercise in lab.exercises:
        if exercise.label in checks and checks[exercise.label][1] == "position":
            inserted.setdefault(checks[exercise.label][0], []).append(exercise.label)
    notebook = copy.deepcopy(lab.notebook)
    notebook.cells, placed, students = [], {}, []

    def put_check(label):
        check = copy.deepcopy(originals[label])
        check.outputs, check.execution_count = [], None
        placed[label] = len(notebook.cells)
        notebook.cells.append(check)

    for index in range(len(cells) + 1):
        for label in inserted.get(index, []):
            put_check(label)
        if index == len(cells):
            break
        if index in replaced:
            put_check(replaced[index])
            continue
        if cells[index].cell_type == "code":
            students.append(len(notebook.cells))
        notebook.cells.append(cells[index])

    context = [label.split()[0] if label else None for label in exercise_context(notebook)]
    lab_sources = [cell.source for cell in lab.notebook.cells if cell.cell_type == "code"]
    exercise_cells = lab.exercise_of_cell()
    not_answers = {cell.source.strip() for index, cell in enumerate(lab.notebook.cells)
                   if cell.cell_type == "code" and index not in exercise_cells}
    answers = [i for i in students if notebook.cells[i].source.strip()
               and notebook.cells[i].source.strip() not in not_answers]
    exercises = []
    for exercise in lab.exercises:
        check = placed.get(exercise.label)
        before = [i for i in answers if check is None or i < check]
        if exercise.number in context:
            own = [i for i in before if context[i] == exercise.number]
        else:  # its heading deleted: the cells after the check above it
            above = [placed[e.label] for e in lab.exercises if e.label in placed and placed[e.label] < (check or 0)]
            own = [i for i in before if i > max(above)] if above and check is not None else []
        exercises.append(ExerciseCells(exercise.label, own, check, exercise.check_function if check is not None else ""))
    missing = {e.label for e in exercises if not e.cells}
    notes = [f"exercise cell of {label} deleted: the notebook has no cell of it" for label in sorted(missing)]
    notes += _edited_public_cells(submission, lab, checks)
    labels = {e.number: e.label for e in lab.exercises}
    instructor_lines = {line.strip() for source in lab_sources for line in source.split("\n") if line.strip()}
    written: dict[str, list[str]] = {}
    for index in students:
        lines = [line for line in notebook.cells[index].source.split("\n") if line.strip() not in instructor_lines]
        if lines:
            label = labels.get(context[index], context[index]) if context[index] else "setup"
            written.setdefault(label, []).append("\n".join(lines))
    notes += review_flags({label: "\n".join(parts) for label, parts in written.items()}, _own_work(lab))
    return Assembled(notebook, missing, notes, LabSpec(lab.name, notebook, exercises, lab.imports))


def _own_work(lab: LabSpec) -> dict[str, tuple[str, ...]]:
    """For each exercise, the library functions it asks the learner to write by hand (its probe's `own_work`)."""
    found = {}
    for exercise in lab.exercises:
        try:
            found[exercise.label] = exercise.judge().own_work
        except Exception:  # a lab whose checks cannot be imported here: no names to look for
            continue
    return found


# ---------------------------------------------------------------- what deserves a human look

# Every alternative starts with a literal character, so that `re` jumps to the places where it could match
# instead of trying each position of a megabyte of student text (a leading \b or look-behind is 10 times
# slower). The look-behind comes after that character: `l(?<!\w.)abhelpers` is `\blabhelpers`, and
# `o(?<![.\w]o)pen` is `(?<![.\w])open`.
FLAGS = {
    "labhelpers internals": r"l(?<!\w.)abhelpers\b|g(?<!\w.)rading\b|c(?<!\w.)heck_\w+\s*=|\.checks\b"
                            r"|C(?<!\w.)heckFailed\b|SEQLAB_",
    "IPython hooks or display": r"get_ipython|set_custom_exc|showtraceback|\.events\.|register_magic|display_pub"
                                r"|displayhook|excepthook|_render_traceback_|InteractiveShell",
    "sys.modules or import machinery": r"sys\.modules|importlib|__import__|builtins|sys\.meta_path|sys\.path",
    "signals or process control": r"s(?<!\w.)ignal\b|os\.kill|killpg|getppid|os\._exit|setsid|atexit",
    "subprocesses or threads": r"subprocess|os\.system|os\.popen|Popen|os\.fork|os\.exec|spawn|multiprocessing"
                               r"|threading|ctypes",
    "files or paths outside the notebook": r"o(?<![.\w]o)pen\(|pathlib|P(?<!\w.)ath\(|os\.(?:listdir|walk|scandir|"
                                           r"remove|unlink|rename|chdir|environ|getenv)|shutil|/proc|\.\./"
                                           r"|g(?<!\w.)lob\b",
    "dynamic code": r"(?:e(?<![.\w]e)(?:xec|val)|c(?<![.\w]c)ompile)\(|globals\(\)|s(?<!\w.)etattr\(|__dict__|__code__",
    "network": r"s(?<!\w.)ocket\b|urllib|r(?<!\w.)equests\b|http\.client",
    "tracing or profiling": r"setprofile|settrace|_getframe|f_back\b",
}


def _shortcut_pattern(path: str) -> str:
    """A name of a library shortcut ("keras.layers.LSTMCell.call" -> LSTMCell) as an attribute, an import
    or a call, not as a word in prose; linear, like FLAGS."""
    parts = path.split(".")
    name = parts[-2] if parts[-1] == "call" else parts[-1]
    return rf"\.{name}\b|import[ \t]+{name}\b|{name[0]}(?<!\w.){name[1:]}\s*\("


def review_flags(sources: dict[str, str], own_work: dict[str, tuple[str, ...]] | None = None) -> list[str]:
    """Notes naming what each exercise's submitted code touches that deserves a human look, and the
    library shortcuts it names where its exercise asks for the work by hand (`own_work` by label; a
    call of one fails the exercise already: a name alone may be a test of the answer)."""
    notes = []
    for label, source in sorted(sources.items()):
        found = [name for name, pattern in FLAGS.items() if re.search(pattern, source)]
        if found:
            notes.append(f"review: the code of {label} touches {', '.join(found)}")
        named = [path for path in (own_work or {}).get(label, ()) if re.search(_shortcut_pattern(path), source)]
        if named:
            notes.append(f"review: the code of {label} names {', '.join(named)}, which the exercise asks to write "
                         "by hand")
    return notes


# ---------------------------------------------------------------- finding and reading files

EMPTY, INVALID, LINKED = "empty", "invalid notebook", "not followed"
NOT_A_FILE, TOO_LARGE, UNREADABLE = "not a file", "too large", "unreadable"
MAX_NOTEBOOK_BYTES = 64 * 2**20  # a submitted file larger than this (64 MiB) is refused unread
MAX_JSON_VALUES = 500_000  # and one with more '{', '[' and ',' than this unparsed: a value costs up to 500 bytes
KINDS = {stat.S_IFIFO: "a named pipe", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a device", stat.S_IFBLK: "a device"}


class Refused(Exception):
    """A file the grader does not read: its row's status, and a note that quotes nothing of it."""

    def __init__(self, status: str, note: str):
        super().__init__(note)
        self.status, self.note = status, note


def read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; anything else is Refused, unread.

    Its type and size are checked before it is opened (opening a pipe or a device may block or act),
    and again once it is open, without following a link and without blocking.
    """
    try:
        _check(path, os.lstat(path), limit)
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(descriptor, "rb") as handle:
            size = _check(path, os.fstat(descriptor), limit)
            data = handle.read(size + 1)
    except OSError as error:
        if error.errno == errno.ELOOP:  # it became a link after it was checked
            raise Refused(LINKED, "a symbolic link: not followed, not graded") from None
        raise Refused(UNREADABLE, f"the file could not be read ({error.strerror or type(error).__name__})") from None
    if len(data) > size:
        raise Refused(UNREADABLE, "the file grew while it was read: not graded")
    return data


def _check(path: Path, info: os.stat_result, limit: int) -> int:
    """The size of a regular file of at most `limit` bytes; anything else is Refused."""
    if stat.S_ISLNK(info.st_mode):
        raise Refused(LINKED, "a symbolic link: not followed, not graded")
    if stat.S_ISDIR(info.st_mode):
        try:
            with os.scandir(path):
                pass
        except OSError as error:
            raise Refused(UNREADABLE, f"a folder the grader could not list ({error.strerror}): not graded") from None
        raise Refused(NOT_A_FILE, "a folder named like a notebook: not graded")
    if not stat.S_ISREG(info.st_mode):
        raise Refused(NOT_A_FILE, f"{KINDS.get(stat.S_IFMT(info.st_mode), 'a special file')}, not a file: not read")
    if info.st_size > limit:
        raise Refused(TOO_LARGE, f"the file is {info.st_size:,} bytes, over the {limit // 2**20} MiB limit: "
                                 "not read, not graded")
    return info.st_size


def read_notebook(path: Path):
    """(notebook, None, "") or (None, status, note) for a file that is refused, empty or no notebook.

    Its type and size are checked before it is read (`read_bounded`, MAX_NOTEBOOK_BYTES), and its number of
    JSON values before it is parsed. The note never quotes the file: what it holds may not be the student's.
    Outputs are dropped: grading runs code.
    """
    try:
        data = read_bounded(path, MAX_NOTEBOOK_BYTES)
    except Refused as refused:
        return None, refused.status, refused.note
    if sum(map(data.count, (b"{", b"[", b","))) > MAX_JSON_VALUES:
        return None, TOO_LARGE, f"more than {MAX_JSON_VALUES:,} JSON values: not parsed, not graded"
    text = data.decode("utf-8", errors="replace")
    del data  # parsing needs only the text
    if not text.strip():
        return None, EMPTY, "the file is empty"
    notebook, problem = _parse_notebook(text)
    if notebook is None:
        return None, INVALID, f"not a readable notebook ({problem})"
    if not any(cell.source.strip() for cell in notebook.cells):
        return None, EMPTY, "the notebook has no cells with content"
    return notebook, None, ""


def _parse_notebook(text: str):
    """(the format 4 notebook a text holds, without outputs, "") or (None, why not).

    Errors are dropped where they are caught: a JSON error holds the whole text, and nbformat's copies it.
    """
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return None, "not JSON"
    cells = document.get("cells") if isinstance(document, dict) and document.get("nbformat") == 4 else None
    if not isinstance(cells, list) or not all(map(_is_cell, cells)):
        return None, "not a notebook of format 4"
    for cell in cells:
        cell.pop("attachments", None)
        if "outputs" in cell:
            cell["outputs"] = []
    try:
        notebook = nbformat.v4.to_notebook_json(document)
    except Exception as error:  # metadata nested too deeply, ...
        return None, type(error).__name__
    return notebook, ""


def _is_cell(cell) -> bool:
    """A notebook cell: a dict with a type, and its source as text or lines of text."""
    if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
        return False
    source = cell.get("source")
    return isinstance(source, str) or isinstance(source, list) and all(isinstance(line, str) for line in source)


def find_submissions(folder: Path) -> list[tuple[str, Path]]:
    """(student, path) for everything named *.ipynb under a folder; hidden files and folders are skipped.

    Nothing is followed or read here. A link to a folder and a folder that cannot be listed are listed
    too, so that `read_notebook` refuses each in a row of its own.
    """
    folder = Path(folder)
    found, unlisted = [], []
    for root, folders, files in os.walk(folder, onerror=unlisted.append):
        here = Path(root)
        folders[:] = [name for name in folders if not name.startswith(".")]
        found += [here / name for name in files if name.endswith(".ipynb") and not name.startswith(".")]
        found += [here / name for name in folders if name.endswith(".ipynb") or (here / name).is_symlink()]
    found += [Path(error.filename) for error in unlisted if error.filename != os.fspath(folder)]
    return sorted((_student(path.relative_to(folder).parts), path) for path in found)


def _student(parts: tuple[str, ...]) -> str:
    """The student of a submission: its first folder, or the name of a notebook at the top."""
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".ipynb")


def lab_notes(submissions: list[tuple[str, Path, str]]) -> dict[Path, list[str]]:
    """Notes for notebooks whose content is another lab than their file name says, and for a
    student's second notebook of one lab. `submissions` is (student, path, recognised lab name)."""
    notes: dict[Path, list[str]] = {}
    seen: dict[tuple[str, str], list[Path]] = {}
    for student, path, lab in submissions:
        if not lab:
            continue
        named = LAB_NUMBER.match(path.name)
        if named and not lab.startswith(named.group(1) + "_"):
            notes.setdefault(path, []).append(f"the file is named for lab {named.group(1)} but holds {lab}")
        seen.setdefault((student, lab), []).append(path)
    for (student, lab), paths in seen.items():
        for path in paths if len(paths) > 1 else []:
            others = ", ".join(p.name for p in paths if p != path)
            notes.setdefault(path, []).append(f"{student} handed in more than one notebook of {lab} (also {others})")
    return notes
