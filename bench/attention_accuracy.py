"""Lab 05's bars: exact match with attention against the plain encoder-decoder, and the time.

Runs solutions/05_attention.ipynb end to end, in full mode unless --quick, and prints what its
cells tagged `report` printed: both models' exact-match accuracy overall and by how many dates
the input holds, and the characters they got right by dates held (the baseline and attention
side by side, from the same run); the table of the three models, where the Transformer is marked
not comparable (a third of the sentences, a smaller learning rate, no warm-up); then the notebook's wall
time and the CPU time of its kernel (on a shared machine the two differ).

Bars (full mode): attention >= 99% exact match, clearly above the baseline on the inputs that
hold three dates, and the whole notebook within 10 minutes on a 2-core CPU.

The kernel runs on the Keras backend KERAS_BACKEND names (TensorFlow when unset):
`KERAS_BACKEND=jax python bench/attention_accuracy.py --quick`. Compare times only on one machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent.parent / "solutions" / "05_attention.ipynb"
TIME_BAR_S = 600


def execute(quick: bool) -> nbformat.NotebookNode:
    """Run the solution notebook in a fresh kernel; LAB_QUICK decides the mode."""
    os.environ.pop("LAB_QUICK", None)
    if quick:
        os.environ["LAB_QUICK"] = "1"
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(notebook, timeout=3600, allow_errors=True,
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()
    return notebook


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="run with LAB_QUICK=1 (the CI mode)")
    parser.add_argument("--save", type=Path, help="also write the executed notebook there")
    args = parser.parse_args()
    start = time.perf_counter()
    notebook = execute(args.quick)
    wall = time.perf_counter() - start
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    if args.save:
        nbformat.write(notebook, args.save)
    backend = os.environ.get("KERAS_BACKEND", "").strip() or "tensorflow"
    print(f"lab 05, {'quick' if args.quick else 'full'} mode, Keras on {backend} (KERAS_BACKEND), {os.cpu_count()} CPUs")
    print("\n".join(report_lines(notebook)))
    verdict = "within" if wall <= TIME_BAR_S else "OVER"
    print(f"notebook wall time {wall:.0f} s ({verdict} the {TIME_BAR_S} s bar); "
          f"kernel CPU time {children.ru_utime + children.ru_stime:.0f} s")
    failures = errors(notebook)
    print("\n".join(failures) or "every cell ran and every claim held")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
