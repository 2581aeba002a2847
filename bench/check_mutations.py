"""How strict the checks are: each exercise's mutation table (tests/mutations/) run through its check.

Prints, per exercise: wrong answers rejected / total, right answers accepted / total, and rejections
that name the mistake / rejections (the message matches the row's `names` pattern), then the totals;
then the same figures for the wrong answers written after labhelpers/judges/diagnosis.py (rows with
`after_diagnosis`), whose named share measures the generic diagnosis on mistakes nobody listed.
`--after` runs only those rows; `--only 2.1b,4.6` only those exercises. The rows run are those written
for the Keras backend KERAS_BACKEND names (tensorflow by default), which the first line prints:
`KERAS_BACKEND=jax .venv/bin/python bench/check_mutations.py`.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from mutations import tables  # noqa: E402

from labhelpers import grading  # noqa: E402
from labhelpers.grading import CheckFailed  # noqa: E402


def run(row) -> str | None:
    """The rejection message, or None when the check accepted the answer."""
    check = grading.find_exercise(row.exercise).check
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            check(*row.answer())
        except CheckFailed as failure:
            return str(failure)
    return None


def _order(item):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", item[0])]


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--after", action="store_true", help="only the rows written after diagnosis.py")
    parser.add_argument("--only", default="", help="comma-separated exercise ids")
    parser.add_argument("--verbose", action="store_true", help="print the message of each row written after diagnosis")
    options = parser.parse_args(argv)
    import keras

    print(f"backend: {keras.backend.backend()}")
    wrong, right = tables(keras.backend.backend())
    only = {e for e in options.only.split(",") if e}
    if only:
        wrong, right = [r for r in wrong if r.exercise in only], [r for r in right if r.exercise in only]
    if options.after:
        wrong, right = [r for r in wrong if r.after_diagnosis], []
    figures: dict[str, list[int]] = {}
    later: dict[str, list[int]] = {}  # rows written after diagnosis.py: rejected, total, named, nameable
    for row in wrong:
        counts = figures.setdefault(row.exercise, [0, 0, 0, 0, 0])
        message = run(row)
        counts[1] += 1
        named = bool(message is not None and row.names and re.search(row.names, message, re.I))
        if message is not None:
            counts[0] += 1
            counts[4] += named
        else:
            print(f"  ACCEPTED WRONG {row.exercise}: {row.mistake}")
        if row.after_diagnosis:
            new = later.setdefault(row.exercise, [0, 0, 0, 0])
            new[0] += message is not None
            new[1] += 1
            new[2] += named
            new[3] += row.names is not None
            if options.verbose or (message is not None and row.names and not named):
                state = "named" if named else "NOT NAMED" if row.names else "(no name expected)"
                print(f"  after diagnosis, {state}: {row.exercise} {row.mistake}: {(message or 'ACCEPTED')[:400]}")
    for row in right:
        counts = figures.setdefault(row.exercise, [0, 0, 0, 0, 0])
        counts[3] += 1
        message = run(row)
        if message is None:
            counts[2] += 1
        else:
            print(f"  REJECTED RIGHT {row.exercise} ({row.style}): {message[:200]}")
    print(f"{'exercise':9} {'wrong rejected':>15} {'right accepted':>15} {'named':>12}")
    total = [0] * 5
    for exercise, counts in sorted(figures.items(), key=_order):
        total = [a + b for a, b in zip(total, counts)]
        print(f"{exercise:9} {counts[0]:>8} / {counts[1]:<4} {counts[2]:>8} / {counts[3]:<4} {counts[4]:>5} / {counts[0]:<4}")
    print(f"{'all':9} {total[0]:>8} / {total[1]:<4} {total[2]:>8} / {total[3]:<4} {total[4]:>5} / {total[0]:<4}")
    if later:
        print("\nwrong answers written after diagnosis.py (tests its generality): named / rejected "
              "(rows that expect a name)")
        print(f"{'exercise':9} {'rejected':>12} {'named':>12} {'share':>7}")
        sums = [0] * 4
        for exercise, (rejected, count, named, nameable) in sorted(later.items(), key=_order):
            sums = [a + b for a, b in zip(sums, (rejected, count, named, nameable))]
            print(f"{exercise:9} {rejected:>5} / {count:<4} {named:>5} / {rejected:<4} {named / max(rejected, 1):>6.0%}"
                  f"  ({named} / {nameable} nameable)")
        print(f"{'all':9} {sums[0]:>5} / {sums[1]:<4} {sums[2]:>5} / {sums[0]:<4} {sums[2] / max(sums[0], 1):>6.0%}"
              f"  ({sums[2]} / {sums[3]} nameable)")
    return 0 if total[0] == total[1] and total[2] == total[3] else 1


if __name__ == "__main__":
    sys.exit(main())
