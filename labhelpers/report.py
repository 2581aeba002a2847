"""`make check`: run a learner's notebooks and print one report card per notebook.

Each notebook runs top to bottom in its own kernel (LAB_QUICK=1), with a progress file of its
own. A cell whose check fails (CheckFailed) does not stop the run; the first cell that raises
anything else does, and the card says where. The exercise table comes from the progress file's
records (grading.load_progress), never from printed text; the results then join the learner's
own progress file, so `make status` shows them too.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from labhelpers import exercises as registry
from labhelpers import grading

NOT_REACHED = "not reached"
HEADING = re.compile(r"^#+\s*(.+)$", re.M)
CHECK_ERRORS = {grading.CheckFailed.__name__, *(c.__name__ for c in grading.CheckFailed.__subclasses__())}


@dataclass
class Stop:
    """Where a run stopped: the cell, the section it is in, and why."""

    cell: int
    section: str
    reason: str
    source: str = ""  # the cell's first line, what the learner recognises it by

    def __str__(self) -> str:
        return f"stopped in section \"{self.section}\", at the cell \"{self.source}\": {self.reason}"


def executed_cells(notebook, env: dict, folder: Path, timeout: float, kernel_name: str = "python3"):
    """Run the notebook's code cells one by one in a fresh kernel; yield (index, cell) after each.

    What the kernel writes goes into the cells' outputs; its process's own streams (its start-up
    chatter) are dropped.
    """
    from nbclient import NotebookClient

    client = NotebookClient(notebook, timeout=timeout, allow_errors=True, kernel_name=kernel_name,
                            resources={"metadata": {"path": str(folder)}})
    with client.setup_kernel(env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "code":
                client.execute_cell(cell, index)
                yield index, cell


def section_of(notebook, index: int) -> str:
    """The last markdown heading above cell `index`."""
    for cell in reversed(notebook.cells[:index]):
        headings = HEADING.findall(cell.source) if cell.cell_type == "markdown" else []
        if headings:
            return headings[-1].strip()
    return "top of the notebook"


def run(path: Path, progress: Path, timeout: float = 900) -> Stop | None:
    """Run one notebook with results going to `progress`; where it stopped, or None."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    notebook = nbformat.read(path, as_version=4)
    env = {**os.environ, "LAB_QUICK": "1", "SEQLAB_PROGRESS": str(progress)}
    stop = lambda index, reason: Stop(index, section_of(notebook, index), reason,  # noqa: E731
                                      grading.shorten(notebook.cells[index].source.strip().split("\n")[0], 60))
    done = -1  # the last cell run to its end
    try:
        for done, cell in executed_cells(notebook, env, path.parent, timeout):
            error = next((o for o in cell.outputs if o.output_type == "error"), None)
            if error is not None and error.ename not in CHECK_ERRORS:
                return stop(done, grading.shorten(f"{error.ename}: {error.evalue}", 200))
    except (CellTimeoutError, DeadKernelError) as error:
        running = next(i for i in range(done + 1, len(notebook.cells)) if notebook.cells[i].cell_type == "code")
        why = "the kernel died (out of memory?)" if isinstance(error, DeadKernelError) else \
            f"the cell ran longer than {timeout:.0f} s"
        return stop(running, why)
    return None


def exercise_rows(path: Path, lab: str, results: dict, stop: Stop | None) -> list[tuple[str, str, str]]:
    """(exercise, status, one-line message) for each exercise of the lab, in the notebook's order."""
    notebook = nbformat.read(path, as_version=4)
    heading_cell = {}
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            for match in re.finditer(r"^#+\s*Exercise\s+(\S+?):", cell.source, re.M):
                heading_cell.setdefault(match.group(1), index)
    rows = []
    for exercise, name in registry.LABS[lab][1].items():
        entry = results.get(exercise)
        if entry:
            status, message = entry["status"], entry["detail"] if entry["status"] != grading.PASSED else ""
        elif stop is not None and heading_cell.get(exercise, len(notebook.cells)) > stop.cell:
            status, message = NOT_REACHED, ""
        else:
            status, message = grading.NOT_TRIED, "its check did not run"
        rows.append((f"{exercise} {name}", status, grading.shorten(message, 500)))  # as progress records keep it
    return rows


def lab_of(path: Path) -> str | None:
    number = path.name[:2]
    return number if number in registry.LABS else None


def keep(lab: str, results: dict, path: Path | None = None, stop: Stop | None = None) -> None:
    """Add this run's results to the learner's own progress file; given the notebook's path, also the
    exercises whose check did not run, with the words of the card (not tried, not reached), so that
    `status` says what `check` said."""
    names = registry.LABS[lab][1]
    for exercise, entry in results.items():
        grading.record(grading.Result(lab, exercise, names.get(exercise, ""), entry["status"], entry["detail"]))
    if path is not None:
        for exercise, (_, status, message) in zip(names, exercise_rows(path, lab, results, stop)):
            if exercise not in results:
                grading.record(grading.Result(lab, exercise, names[exercise], status, message))


def report_card(path: Path, timeout: float = 900) -> tuple[str, bool]:
    """Run one notebook; its card (text) and whether every exercise passed."""
    lab = lab_of(path)
    with tempfile.TemporaryDirectory(prefix="seqlab-check-") as scratch:
        progress = Path(scratch) / "progress.json"
        stop = run(path, progress, timeout)
        results = grading.load_progress(progress).get(lab, {}) if lab else {}
    if lab is None:
        return f"{path.name}: {stop or 'ran to the end'} (no exercises: not a lab notebook)", stop is None
    keep(lab, results, path, stop)
    return card(path, lab, results, stop)


def card(path: Path, lab: str, results: dict, stop: Stop | None) -> tuple[str, bool]:
    """The card of a run (also what `pytest --nbval-lax` prints, labhelpers/nbval_report.py)."""
    rows = exercise_rows(path, lab, results, stop)
    passed = sum(status == grading.PASSED for _, status, _ in rows)
    head = f"{path.name}: {passed} of {len(rows)} exercises pass; {stop or 'ran to the end'}"
    return f"{head}\n{table(rows)}", passed == len(rows) and stop is None


def table(rows: list[tuple[str, str, str]]) -> str:
    """The exercise and status columns aligned, the check's message after them (its rule not drawn)."""
    lines = grading.format_table(("exercise", "status"), [row[:2] for row in rows]).splitlines()
    messages = ["what the check said", "", *(row[2] for row in rows)]
    return "\n".join(f"{line:{len(lines[1])}}  {message}".rstrip() for line, message in zip(lines, messages))


def notebooks_in(paths: list[Path]) -> list[Path]:
    found = []
    for path in paths:
        found += sorted(path.glob("*.ipynb")) if path.is_dir() else [path]
    return found


def main(paths: list[Path], timeout: float = 900) -> int:
    """Print a card per notebook; 0 when every exercise of every notebook passes."""
    notebooks = notebooks_in(paths)
    if not notebooks:
        print(f"no notebooks in {', '.join(map(str, paths))}")
        return 1
    all_pass = True
    for path in notebooks:
        print(f"running {path.name} (quick mode) ...", flush=True)
        card, passed = report_card(path, timeout)
        print(card + "\n", flush=True)
        all_pass &= passed
    return 0 if all_pass else 1
