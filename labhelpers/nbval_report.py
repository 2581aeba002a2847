"""`pytest --nbval-lax notebooks/`: a learner's notebooks as tests, reported by exercise.

A pytest plugin (pyproject's [project.entry-points.pytest11]) that joins in wherever nbval runs a
lab notebook that is not an instructor's (the course's own `make test` runs nbval on solutions/,
which it leaves alone). For those notebooks it does what `make check` (labhelpers/report.py) does,
so the two agree on every exercise:
- each notebook's kernel gets a progress file of its own (SEQLAB_PROGRESS) and LAB_QUICK=1 unless
  LAB_QUICK is set (LAB_QUICK=0 runs the full configuration);
- a failing check cell (CheckFailed) fails its test with the check's one-paragraph message instead
  of nbval's dump of the cell and its traceback;
- the first cell that raises anything else (a stub's NotImplementedError, an error in the learner's
  code) fails with that error and the learner's own lines, no frame of labhelpers, and the cells
  after it are skipped as not reached: they would only fail on what it did not compute;
- at the end, one line per exercise (passed, failed with what the check said, not tried, not
  reached), read from the progress records, never from printed text; the results also join the
  learner's own progress file, so `python -m labhelpers status` shows them.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(__file__).resolve().parent
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
LEARNER_FRAME = re.compile(r"^(Cell In\s*\[|Input In\s*\[|<ipython-input-)")


@dataclass
class Run:
    """One lab notebook under nbval: where its results go and where it stopped."""

    path: Path
    lab: str
    progress: Path
    stop: object = None  # a labhelpers.report.Stop
    started: bool = False
    cells: list = field(default_factory=list)


class Tracker:
    def __init__(self):
        self.runs: dict[int, Run] = {}  # by id() of nbval's IPyNbFile node
        self.order: list[Run] = []
        self.folder: str | None = None
        self.saved_env: dict[str, str | None] = {}

    def run_of(self, item) -> Run | None:
        """The Run of an nbval cell item, or None where this plugin keeps out."""
        notebook_node = getattr(item, "parent", None)
        if type(item).__name__ != "IPyNbCell" or not hasattr(notebook_node, "nb"):
            return None
        key = id(notebook_node)
        if key not in self.runs:
            self.runs[key] = self._new_run(Path(str(notebook_node.fspath)), notebook_node.nb)
        return self.runs[key]

    def _new_run(self, path: Path, notebook) -> Run | None:
        from labhelpers import report

        lab = report.lab_of(path)
        if lab is None or path.resolve().is_relative_to(ROOT / "solutions"):
            return None  # not a lab notebook, or the instructor's: nbval as usual
        if self.folder is None:
            self.folder = tempfile.mkdtemp(prefix="seqlab-nbval-")
        run = Run(path, lab, Path(self.folder) / f"{len(self.order)}-progress.json", cells=notebook.cells)
        self.order.append(run)
        return run

    def set_env(self, name: str, value: str) -> None:
        self.saved_env.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    def restore_env(self) -> None:
        for name, value in self.saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self.saved_env.clear()


TRACKER_KEY = pytest.StashKey[Tracker]()


def pytest_configure(config):
    config.stash[TRACKER_KEY] = Tracker()


def tracker(item_or_config) -> Tracker:
    config = getattr(item_or_config, "config", item_or_config)
    return config.stash[TRACKER_KEY]


def cell_index(run: Run, cell) -> int:
    return next((i for i, c in enumerate(run.cells) if c is cell), 0)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    run = tracker(item).run_of(item)
    if run is None:
        return
    if run.stop is not None:
        raise pytest.skip.Exception(f"not reached: {run.stop}", _use_item_location=True)
    if not run.started:  # before nbval starts this notebook's kernel, which inherits the environment
        run.started = True
        tracker(item).set_env("SEQLAB_PROGRESS", str(run.progress))
        if "LAB_QUICK" not in os.environ:
            tracker(item).set_env("LAB_QUICK", "1")


def error_output(item):
    return next((o for o in reversed(getattr(item, "test_outputs", None) or []) if o.get("output_type") == "error"),
                None)


def learner_lines(traceback: list[str]) -> str:
    """The frames of the learner's own cells, without colours; nothing of labhelpers or the libraries."""
    frames = [ANSI.sub("", entry).strip("\n") for entry in traceback or []]
    return "\n".join(f for f in frames if LEARNER_FRAME.match(f) and str(PACKAGE) not in f)


def paragraph(text: str) -> str:
    return textwrap.fill(" ".join(ANSI.sub("", text).split()), width=100)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    run = tracker(item).run_of(item)
    result = outcome.get_result()
    if run is None or call.when != "call" or not result.failed:
        return
    from labhelpers import grading, report

    index = cell_index(run, item.cell)
    error = error_output(item)
    if error is not None and error.get("ename") in report.CHECK_ERRORS:
        result.longrepr = paragraph(f"{error['ename']}: {error.get('evalue', '')}")
        return
    message = str(call.excinfo.value) if call.excinfo else ""
    if getattr(item.parent, "timed_out", False) or message.startswith("Timeout"):  # nbval interrupted the kernel
        reason = f"the cell ran longer than {item.config.option.nbval_cell_timeout:.0f} s"
        error = None
    elif error is not None:
        reason = grading.shorten(f"{error['ename']}: {error.get('evalue', '')}", 200)
    elif "dead" in message.lower():
        reason = "the kernel died (out of memory?)"
    else:
        reason = grading.shorten(message, 200)
    first_line = grading.shorten(run.cells[index].source.strip().split("\n")[0], 60)
    run.stop = report.Stop(index, report.section_of(SimpleNamespace(cells=run.cells), index), reason, first_line)
    shown = [paragraph(f"{error['ename']}: {error.get('evalue', '')}") if error is not None else paragraph(reason)]
    own = learner_lines(error.get("traceback")) if error is not None else ""
    if own:
        shown.append(own)
    shown.append(f"The run stops here ({run.stop}); the cells below are not run.")
    result.longrepr = "\n\n".join(shown)


def cards(config) -> list[str]:
    """One card per lab notebook run (as `make check` prints them); their results join the learner's
    progress file."""
    from labhelpers import grading, report

    state = tracker(config)
    state.restore_env()
    printed = []
    for run in state.order:
        if not run.started:
            continue
        results = grading.load_progress(run.progress).get(run.lab, {})
        report.keep(run.lab, results, run.path, run.stop)
        text, _ = report.card(run.path, run.lab, results, run.stop)
        printed.append(text)
    return printed


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    printed = cards(config)
    if not printed:
        return
    terminalreporter.write_sep("=", "exercises (as `python -m labhelpers check` reports them)")
    for text in printed:
        terminalreporter.write_line(text + "\n")


def pytest_unconfigure(config):
    state = config.stash.get(TRACKER_KEY, None)
    if state is None:
        return
    state.restore_env()
    if state.folder:
        shutil.rmtree(state.folder, ignore_errors=True)
