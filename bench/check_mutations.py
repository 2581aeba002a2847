"""How strict the checks are: each exercise's mutation table (tests/mutations/) run through its check.

Prints, per exercise: wrong answers rejected / total, right answers accepted / total, and rejections
that name the mistake / rejections (the message matches the row's `names` pattern), then the totals.
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


def main() -> int:
    wrong, right = tables()
    figures: dict[str, list[int]] = {}
    for row in wrong:
        counts = figures.setdefault(row.exercise, [0, 0, 0, 0, 0])
        message = run(row)
        counts[1] += 1
        if message is not None:
            counts[0] += 1
            counts[4] += bool(row.names and re.search(row.names, message, re.I))
        else:
            print(f"  ACCEPTED WRONG {row.exercise}: {row.mistake}")
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
    for exercise, counts in sorted(figures.items(), key=lambda item: [int(p) if p.isdigit() else p
                                                                       for p in re.split(r"(\d+)", item[0])]):
        total = [a + b for a, b in zip(total, counts)]
        print(f"{exercise:9} {counts[0]:>8} / {counts[1]:<4} {counts[2]:>8} / {counts[3]:<4} {counts[4]:>5} / {counts[0]:<4}")
    print(f"{'all':9} {total[0]:>8} / {total[1]:<4} {total[2]:>8} / {total[3]:<4} {total[4]:>5} / {total[0]:<4}")
    return 0 if total[0] == total[1] and total[2] == total[3] else 1


if __name__ == "__main__":
    sys.exit(main())
