"""Lab 05's bars: exact match with attention against the plain encoder-decoder, and the time.

Runs solutions/05_attention.ipynb end to end, in full mode unless --quick, and prints what its
cells tagged `report` printed: both models' exact-match accuracy overall and by how many dates
the input holds, and the characters they got right by dates held (the baseline and attention
side by side, from the same run); the table of the three models, where the Transformer is marked
not comparable (a third of the sentences, a smaller learning rate, no warm-up); then the notebook's wall
time and the CPU time of its kernel (on a shared machine the two differ).

Bars (full mode): attention >= 99% exact match on TensorFlow, 97% on JAX and PyTorch (the lab says
why), clearly above the baseline on the inputs that hold three dates, and the whole notebook within
10 minutes on a 2-core CPU.

The kernel runs on the Keras backend KERAS_BACKEND names (TensorFlow when unset):
`KERAS_BACKEND=jax python bench/attention_accuracy.py --quick`. Compare times only on one machine.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import nbformat

from notebook_runs import SOLUTIONS, errors, execute, report_lines

NOTEBOOK = SOLUTIONS / "05_attention.ipynb"
TIME_BAR_S = 600


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="run with LAB_QUICK=1 (the CI mode)")
    parser.add_argument("--save", type=Path, help="also write the executed notebook there")
    args = parser.parse_args()
    run = execute(NOTEBOOK, args.quick)
    notebook, wall = run.notebook, run.wall_s
    if args.save:
        nbformat.write(notebook, args.save)
    backend = os.environ.get("KERAS_BACKEND", "").strip() or "tensorflow"
    print(f"lab 05, {'quick' if args.quick else 'full'} mode, Keras on {backend} (KERAS_BACKEND), {os.cpu_count()} CPUs")
    print("\n".join(report_lines(notebook)))
    verdict = "within" if wall <= TIME_BAR_S else "OVER"
    print(f"notebook wall time {wall:.0f} s ({verdict} the {TIME_BAR_S} s bar); "
          f"kernel CPU time {run.kernel_cpu_s:.0f} s")
    failures = errors(notebook)
    print("\n".join(failures) or "every cell ran and every claim held")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
