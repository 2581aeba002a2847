"""Run a solution notebook in a fresh kernel, on a chosen Keras backend and mode, and read back what it
printed: the text of its cells tagged `report` (a lab's figures) and the cells that raised."""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"


@dataclass
class Run:
    notebook: nbformat.NotebookNode
    wall_s: float
    kernel_cpu_s: float  # the kernel's user + system time: on a shared machine it differs from the wall time


def execute(path: Path, quick: bool, backend: str | None = None, timeout: int = 3600, edit=None,
            workdir: Path | None = None) -> Run:
    """Run the notebook top to bottom; LAB_QUICK decides the mode, `backend` (else KERAS_BACKEND) the backend.
    `edit(notebook)`, when given, changes the notebook before it runs (a bench's variant of a lab); the kernel
    starts in `workdir` (else the notebook's folder), where a lab keeps its full-mode checkpoints."""
    env = {key: value for key, value in os.environ.items() if key != "LAB_QUICK"}
    if quick:
        env["LAB_QUICK"] = "1"
    if backend:
        env["KERAS_BACKEND"] = backend
    notebook = nbformat.read(path, as_version=4)
    if edit:
        edit(notebook)
    client = NotebookClient(notebook, timeout=timeout, allow_errors=True,
                            resources={"metadata": {"path": str(workdir or path.parent)}})
    before = _children_cpu()
    start = time.perf_counter()
    client.execute(env=env)  # the kernel's environment; this process's stays as it is
    return Run(notebook, time.perf_counter() - start, _children_cpu() - before)


def _children_cpu() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return children.ru_utime + children.ru_stime


def errors(notebook) -> list[str]:
    """One line per cell that raised, e.g. a claim of the lab whose assert failed."""
    return [f"cell {index} raised {output['ename']}: {output['evalue']}"
            for index, cell in enumerate(notebook.cells) for output in cell.get("outputs", [])
            if output.get("output_type") == "error"]


def report_lines(notebook) -> list[str]:
    """The text printed by the cells tagged `report`."""
    lines = []
    for cell in notebook.cells:
        if "report" in cell.get("metadata", {}).get("tags", []):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream" and output.get("name") == "stdout":
                    lines += output["text"].rstrip("\n").split("\n")
    return lines
