"""Checks that hold on every seed: each row of the mutation tables, and each solution's own answer,
judged as the grader judges it on many grading seeds (tests/sweep.py).

Prints, per exercise: rows (wrong + right, the solution counted as a right row), seeds per row, right
answers rejected (row-seeds) and wrong answers accepted (row-seeds), then the totals, and each failing
(row, seed) above the table. Exit status 1 if any right answer was rejected or wrong answer accepted.

    python bench/seed_sweep.py                      # every exercise, 50 seeds per row
    python bench/seed_sweep.py --seeds 100 --labs 03 05
    python bench/seed_sweep.py --exercises 3.3 3.6 --seeds 200
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import sweep  # noqa: E402
from mutations import Right, tables  # noqa: E402

from labhelpers.exercises import LABS, lab_of  # noqa: E402


def _order(exercise: str) -> list:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", exercise)]


def rows_of(exercises: set[str]) -> list:
    """Every wrong and right row of the chosen exercises, each solution's answer as a right row."""
    import keras

    wrong, right = tables(keras.backend.backend())  # the rows written for the backend KERAS_BACKEND names
    with contextlib.redirect_stdout(io.StringIO()):
        solutions = sweep.all_solution_answers()
    rows = [row for row in [*wrong, *right] if row.exercise in exercises]
    rows += [Right(exercise, "the solution notebook's answer", answer)
             for exercise, answer in solutions.items() if exercise in exercises]
    return sorted(rows, key=lambda row: _order(row.exercise))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=50, help="grading seeds per row (default 50)")
    parser.add_argument("--labs", nargs="*", help="lab numbers, e.g. 01 03 (default: all)")
    parser.add_argument("--exercises", nargs="*", help="exercise ids, e.g. 3.3 3.6 (default: all)")
    options = parser.parse_args()
    chosen = {e for lab, (_, names) in LABS.items() for e in names
              if (not options.labs or lab in options.labs) and (not options.exercises or e in options.exercises)}
    figures: dict[str, list[int]] = {}  # exercise: rows, right rejected, wrong accepted, seconds
    started = time.monotonic()
    for row in rows_of(chosen):
        counts = figures.setdefault(row.exercise, [0, 0, 0, 0.0])
        counts[0] += 1
        is_right = isinstance(row, Right)
        clock = time.monotonic()
        for seed in sweep.seeds(row.exercise, options.seeds):
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                failed = sweep.failure(row.exercise, row.answer(), seed)
            if is_right and failed is not None:
                counts[1] += 1
                print(f"  RIGHT REJECTED {row.exercise} ({row.style}) seed {seed}: {str(failed)[:240]}", flush=True)
            elif not is_right and failed is None:
                counts[2] += 1
                print(f"  WRONG ACCEPTED {row.exercise} ({row.mistake}) seed {seed}", flush=True)
        counts[3] += time.monotonic() - clock
        print(f"  {row.exercise} {'right' if is_right else 'wrong'}: {getattr(row, 'style', None) or row.mistake} "
              f"({time.monotonic() - clock:.0f} s)", flush=True)
    print(f"{'exercise':9} {'rows':>5} {'seeds':>6} {'right rejected':>15} {'wrong accepted':>15} {'seconds':>8}")
    total = [0, 0, 0, 0.0]
    for exercise in sorted(figures, key=_order):
        counts = figures[exercise]
        total = [a + b for a, b in zip(total, counts)]
        print(f"{exercise:9} {counts[0]:>5} {options.seeds:>6} {counts[1]:>15} {counts[2]:>15} {counts[3]:>8.0f}")
    print(f"{'all':9} {total[0]:>5} {options.seeds:>6} {total[1]:>15} {total[2]:>15} {total[3]:>8.0f}")
    print(f"({total[0] * options.seeds} row-seeds in {time.monotonic() - started:.0f} s; labs "
          f"{', '.join(sorted({lab_of(e) for e in figures}))})")
    return 0 if total[1] == total[2] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
