"""What a class handed in: finding the notebooks, recognising each one's lab, and the notebook to run.

Submissions are `SUBMISSIONS_DIR/<student>/**/*.ipynb` (the student is the first folder name,
so nbgrader's `submitted/<student>/<assignment>/` works) or `SUBMISSIONS_DIR/<student>.ipynb`.

1. A notebook's lab is recognised from its content: the exercise headings, the cell ids it shares
   with the student notebook and the modules it imports, with the file name only as a tie-breaker.
2. Nothing but the exercise cells is taken from the submission. The notebook that runs is the
   instructor's student version of that lab (`release.student_notebook` of `solutions/NN_name.ipynb`)
   with only its exercise cells (those holding a solution region) replaced by the submission's
   matching cells, matched by cell id, else by the exercise heading above them. A deleted exercise
   cell keeps the stub (not tried); an edited or deleted check cell, or any other edited cell, is
   replaced by the original and reported in the notes.
3. The exercise cells that run are read for what deserves a human look (labhelpers internals,
   IPython hooks, sys.modules, signals, subprocesses, paths outside the notebook): `review_flags`.
   Flags change no grade.
"""

from __future__ import annotations

import ast
import copy
import importlib
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from labhelpers.release import BEGIN, EXERCISE_HEADING, student_notebook

IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import\s+([\w, ]+)|import\s+([\w., ]+))", re.M)
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
    notebook: nbformat.NotebookNode  # its student version
    exercises: list[ExerciseCells]
    imports: set[str]

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


def load_lab(path: Path) -> LabSpec:
    """Read one solution notebook into a LabSpec."""
    solution = nbformat.read(path, as_version=4)
    student, _ = student_notebook(solution, path.name)
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
    return LabSpec(path.stem, student, list(exercises.values()), imported_modules(student))


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
    notes += _edited_public_cells(submission, lab)
    exercise_of = lab.exercise_of_cell()
    notes += review_flags({exercise_of[index].label: cell.source for index, cell in matched.items()})
    return Assembled(notebook, missing, notes)


# ---------------------------------------------------------------- what deserves a human look

FLAGS = {
    "labhelpers internals": r"\blabhelpers\b|\bgrading\b|\bcheck_\w+\s*=|\.checks\b|\bCheckFailed\b|SEQLAB_",
    "IPython hooks or display": r"get_ipython|set_custom_exc|showtraceback|\.events\.|register_magic|display_pub"
                                r"|displayhook|excepthook|_render_traceback_|InteractiveShell",
    "sys.modules or import machinery": r"sys\.modules|importlib|__import__|builtins|sys\.meta_path|sys\.path",
    "signals or process control": r"\bsignal\b|os\.kill|killpg|getppid|os\._exit|setsid|atexit",
    "subprocesses or threads": r"subprocess|os\.system|os\.popen|Popen|os\.fork|os\.exec|spawn|multiprocessing"
                               r"|threading|ctypes",
    "files or paths outside the notebook": r"(?<![.\w])open\(|pathlib|\bPath\(|os\.(?:listdir|walk|scandir|remove|"
                                           r"unlink|rename|chdir|environ|getenv)|shutil|/proc|\.\./|\bglob\b",
    "dynamic code": r"(?<![.\w])(?:exec|eval|compile)\(|globals\(\)|\bsetattr\(|__dict__|__code__",
    "network": r"\bsocket\b|urllib|\brequests\b|http\.client",
}


def review_flags(sources: dict[str, str]) -> list[str]:
    """Notes naming what each exercise's submitted code touches that deserves a human look."""
    notes = []
    for label, source in sorted(sources.items()):
        found = [name for name, pattern in FLAGS.items() if re.search(pattern, source)]
        if found:
            notes.append(f"review: the code of {label} touches {', '.join(found)}")
    return notes


# ---------------------------------------------------------------- finding and reading files

EMPTY, INVALID, LINKED = "empty", "invalid notebook", "not followed"


def read_notebook(path: Path):
    """(notebook, None, "") or (None, status, note) for an empty, unreadable or linked file.

    The note never quotes the file: what it holds may not be the student's.
    """
    if path.is_symlink():
        return None, LINKED, "a symbolic link: not followed, not graded"
    text = path.read_bytes().decode("utf-8", errors="replace")
    if not text.strip():
        return None, EMPTY, "the file is empty"
    try:
        notebook = nbformat.reads(text, as_version=4)
    except Exception as error:  # not JSON, or JSON that is not a notebook
        return None, INVALID, f"not a readable notebook ({type(error).__name__})"
    if not any(cell.get("source", "").strip() for cell in notebook.get("cells", [])):
        return None, EMPTY, "the notebook has no cells with content"
    return notebook, None, ""


def find_submissions(folder: Path) -> list[tuple[str, Path]]:
    """(student, notebook) for every .ipynb under a folder, checkpoints skipped, links not followed."""
    found = []
    for path in sorted(Path(folder).rglob("*.ipynb")):
        parts = path.relative_to(folder).parts
        if any(part.startswith(".") for part in parts):
            continue
        found.append((parts[0] if len(parts) > 1 else path.stem, path))
    return found


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
