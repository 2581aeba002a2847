"""Each lab's figures on each Keras backend, side by side, from one run.

Runs the chosen solution notebooks (full mode unless --quick) once per backend, each in a fresh
kernel with KERAS_BACKEND set, and prints what their cells tagged `report` printed, line by line
with one row per backend, then each run's wall time, its kernel's CPU time and any cell that raised
(a claim of the lab that did not hold on that backend). Each run starts in a folder of its own, so
that no run resumes from another's checkpoint (Lab 03 keeps its full-mode training in checkpoints/).
The backends run one after another on the same machine, so their times compare; the load average
before each run is printed beside it. Beside other jobs, set OMP_NUM_THREADS=1: PyTorch's threads
otherwise wait on each other for the cores.

    python bench/lab_figures.py --labs 02 03 --backends tensorflow jax torch
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
from pathlib import Path

import nbformat

from notebook_runs import SOLUTIONS, errors, execute, report_lines

BACKENDS = ("tensorflow", "jax", "torch")


def solution(lab: str):
    """The solution notebook whose name starts with the lab's number, e.g. 03."""
    matches = sorted(SOLUTIONS.glob(f"{lab}_*.ipynb"))
    if len(matches) != 1:
        raise SystemExit(f"no single solution notebook for lab {lab!r} in {SOLUTIONS}")
    return matches[0]


def side_by_side(lines_by_backend: dict[str, list[str]]) -> list[str]:
    """The i-th report line of every backend together, each row led by its backend."""
    width = max(map(len, lines_by_backend))
    rows = []
    for lines in itertools.zip_longest(*lines_by_backend.values(), fillvalue="(not printed)"):
        rows += [f"  {backend:<{width}}  {line}" for backend, line in zip(lines_by_backend, lines)]
        rows.append("")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--labs", nargs="+", default=["01", "02", "03", "04", "05"])
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--quick", action="store_true", help="run with LAB_QUICK=1 (the CI mode)")
    parser.add_argument("--save", type=Path, help="also write each executed notebook into this folder")
    args = parser.parse_args()
    failed = False
    for lab in args.labs:
        path = solution(lab)
        lines, timings = {}, []
        for backend in args.backends:
            load = os.getloadavg()[0]
            run = execute(path, args.quick, backend, workdir=Path(tempfile.mkdtemp()))  # no other run's checkpoint
            if args.save:
                args.save.mkdir(parents=True, exist_ok=True)
                nbformat.write(run.notebook, args.save / f"{path.stem}.{backend}.ipynb")
            lines[backend] = report_lines(run.notebook)
            raised = errors(run.notebook)
            failed |= bool(raised)
            timings.append(f"  {backend:<10}  wall {run.wall_s:6.0f} s  kernel CPU {run.kernel_cpu_s:6.0f} s  "
                           f"load before {load:4.1f}  {'; '.join(raised) or 'every cell ran, every claim held'}")
        mode, threads = "quick" if args.quick else "full", os.environ.get("OMP_NUM_THREADS", "unset")
        print(f"== {path.name}, {mode} mode, {os.cpu_count()} CPUs, OMP_NUM_THREADS {threads}")
        print("\n".join(side_by_side(lines) + timings), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
