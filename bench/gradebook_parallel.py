"""Grading bench: 30 crafted submissions graded a few at a time vs one after another, and one real
right Lab 01 submission, every kernel in the bubblewrap sandbox.

The submissions are the ones of tests/test_gradebook.py (right, wrong, not tried, endless loops,
a dead kernel, missing imports, edited checks, broken files) against its tiny two-lab course, so
the time is kernels and timeouts, not training. Both runs must give the expected row for every
submission. The bars: grading them in parallel takes less time than one after another, and the
right Lab 01 submission (the solution's answers in the student notebook) is graded, all passed,
in under 30 s. Then the right submission of every lab (the solution's answers in its student notebook)
is graded on its own, and the seconds per notebook printed for each lab (`--labs-only` runs just that;
`--lab 03` one lab).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_gradebook import (grade, right_lab01_submission, right_submission, write_course,  # noqa: E402
                            write_submissions, wrong_rows)

from labhelpers import gradebook  # noqa: E402

JOBS = 4


def seconds_per_lab(only: str | None = None) -> bool:
    """Grade the right submission of each lab, one at a time; print its seconds per notebook."""
    ok = True
    for source in sorted((ROOT / "solutions").glob("*.ipynb")):
        if only and not source.name.startswith(only):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            solutions = right_submission(Path(tmp), source.stem)
            start = time.perf_counter()
            [row] = gradebook.grade_folder(Path(tmp) / "in", solutions, gradebook.Settings(jobs=1), progress=None)
            seconds = time.perf_counter() - start
        right = row.passed == len(row.results) > 0
        ok &= right
        print(f"{source.stem}: {seconds:.1f} s per notebook, {row.passed}/{len(row.results)} passed, "
              f"{row.points:g}/{row.max_points:g} points ({row.status}){'' if right else ' NOT all passed'}",
              flush=True)
    return ok


def main() -> int:
    if "--labs-only" in sys.argv or "--lab" in sys.argv:
        only = sys.argv[sys.argv.index("--lab") + 1] if "--lab" in sys.argv else None
        return 0 if seconds_per_lab(only) else 1
    with tempfile.TemporaryDirectory() as tmp:
        course = write_course(Path(tmp) / "course")
        (Path(tmp) / "submissions").mkdir()
        labs = {lab.name: lab for lab in gradebook.load_labs(course / "solutions")}
        cases = write_submissions(Path(tmp) / "submissions", labs)
        timings, problems = {}, []
        for jobs in (1, JOBS):
            rows, timings[jobs] = grade(course, Path(tmp) / "submissions", jobs)
            wrong = wrong_rows(rows, cases)
            problems += wrong
            print(f"{len(cases)} submissions, {jobs} at a time: {timings[jobs]:.1f} s, "
                  f"{len(cases) - len(wrong)} rows as expected")
            for problem in wrong:
                print("  WRONG", problem)
    speedup = timings[1] / timings[JOBS]
    ok = timings[JOBS] < timings[1] and not problems
    print(f"parallel ({JOBS} at a time) {timings[JOBS]:.1f} s vs one by one {timings[1]:.1f} s: "
          f"{speedup:.1f}x faster; bar (parallel faster, every row right): {'met' if ok else 'NOT met'}")
    with tempfile.TemporaryDirectory() as tmp:
        solutions = right_lab01_submission(Path(tmp))
        start = time.perf_counter()
        [row] = gradebook.grade_folder(Path(tmp) / "in", solutions, gradebook.Settings(jobs=1), progress=None)
        seconds = time.perf_counter() - start
    passed = row.passed == len(row.results) > 0
    print(f"a right Lab 01 submission: {row.passed}/{len(row.results)} passed in {seconds:.1f} s; "
          f"bar (all passed, under 30 s): {'met' if passed and seconds < 30 else 'NOT met'}")
    print("seconds per notebook, the right submission of each lab (one kernel, sandboxed, LAB_QUICK=1):")
    labs_ok = seconds_per_lab()
    return 0 if ok and passed and seconds < 30 and labs_ok else 1


if __name__ == "__main__":
    sys.exit(main())
