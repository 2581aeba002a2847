"""The command line: `python -m labhelpers release [--check | --bundle] | status | check [NB...] | grade DIR`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cmd_status(_args) -> int:
    from labhelpers import exercises, grading

    progress = grading.load_progress()
    rows = grading.status_rows(progress)
    print(grading.format_table(("lab", "exercise", "status", "last run"), rows))
    failures = [f"{exercise} {exercises.LABS.get(lab, ('', {}))[1].get(exercise, '')}: {entry['detail']}"
                for lab, entries in sorted(progress.items()) for exercise, entry in entries.items()
                if entry.get("status") == grading.FAILED]
    if failures:
        print("\nWhat the failing checks said:", *(f"- {detail}" for detail in failures), sep="\n")
    passed = sum(row[2] == grading.PASSED for row in rows)
    print(f"\n{passed} of {len(rows)} exercises pass (progress file: {grading.progress_path()})")
    return 0


def cmd_check(args) -> int:
    from labhelpers import report

    return report.main(args.notebooks, args.cell_timeout)


def cmd_release(args) -> int:
    from labhelpers import release

    problems = release.release(args.solutions, args.notebooks, check=args.check)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    if args.check:
        print(f"{args.notebooks} is in step with {args.solutions}; no solution line leaked")
    if args.bundle:
        for path in release.bundle(ROOT, args.dist, execute=not args.no_execute):
            print(f"wrote {path}")
    return 0


GRADE_HELP = """Grade a folder of submitted notebooks into a CSV gradebook and one Markdown summary
per student. It EXECUTES STUDENT CODE: each kernel runs in a bubblewrap sandbox (no network, no view
of other files, limits), and verdicts are judged in this process, never in the kernel.
Layout: DIR/<student>/**/*.ipynb or DIR/<student>.ipynb."""


def cmd_grade(args) -> int:
    from labhelpers import gradebook

    settings = gradebook.Settings(cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout,
                                  jobs=args.jobs, pythonpath=[str(p.resolve()) for p in args.pythonpath],
                                  judges_path=[str(p.resolve()) for p in args.judges_path],
                                  use_sandbox=not args.unsafe_no_sandbox)
    from labhelpers import sandbox

    print(sandbox.describe(settings.limits) if settings.use_sandbox else "sandbox: OFF (--unsafe-no-sandbox)")
    try:
        rows = gradebook.grade_folder(args.submissions, args.solutions, settings)
    except gradebook.SandboxUnavailable as reason:
        print(f"grade refuses to run student code unsandboxed: {reason} (or pass --unsafe-no-sandbox)",
              file=sys.stderr)
        return 2
    if not rows:
        print(f"no notebooks found in {args.submissions}", file=sys.stderr)
        return 1
    gradebook.write_csv(rows, args.out)
    summaries = gradebook.write_summaries(rows, args.summaries or args.out.parent / "summaries")
    print(f"wrote {args.out} ({len(rows)} notebooks) and {len(summaries)} student summaries "
          f"in {summaries[0].parent}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labhelpers", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    rel = commands.add_parser("release", help="write notebooks/ from solutions/")
    rel.add_argument("--check", action="store_true", help="fail if notebooks/ is stale or leaks a solution")
    rel.add_argument("--bundle", action="store_true", help="also write dist/: student zip, executed solutions")
    rel.add_argument("--no-execute", action="store_true", help="with --bundle: skip the executed solutions")
    rel.add_argument("--solutions", type=Path, default=ROOT / "solutions")
    rel.add_argument("--notebooks", type=Path, default=ROOT / "notebooks")
    rel.add_argument("--dist", type=Path, default=ROOT / "dist")
    rel.set_defaults(run=cmd_release)
    commands.add_parser("status", help="which exercises pass").set_defaults(run=cmd_status)
    check = commands.add_parser("check", help="run notebooks (quick mode) and print each one's exercise table")
    check.add_argument("notebooks", type=Path, nargs="*", default=[Path("notebooks")], help="notebooks or folders")
    check.add_argument("--cell-timeout", type=float, default=900, help="seconds per cell (then the run stops)")
    check.set_defaults(run=cmd_check)
    grade = commands.add_parser("grade", help="grade submitted notebooks (executes student code!)",
                                description=GRADE_HELP)
    grade.add_argument("submissions", type=Path, help="folder of submitted notebooks")
    grade.add_argument("--out", type=Path, default=Path("grades.csv"), help="the CSV gradebook to write")
    grade.add_argument("--summaries", type=Path, help="folder for the per-student Markdown (default: OUT's folder/summaries)")
    grade.add_argument("--solutions", type=Path, default=ROOT / "solutions", help="the instructor notebooks")
    grade.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1), help="notebooks run at once")
    grade.add_argument("--cell-timeout", type=float, default=300, help="seconds per cell (then interrupted)")
    grade.add_argument("--notebook-timeout", type=float, default=900, help="seconds per notebook (then stopped)")
    grade.add_argument("--pythonpath", type=Path, action="append", default=[],
                       help="extra folder importable by the kernels and the judges (repeatable)")
    grade.add_argument("--judges-path", type=Path, action="append", default=[],
                       help="extra folder importable by the judges only, never by a kernel (repeatable)")
    grade.add_argument("--unsafe-no-sandbox", action="store_true",
                       help="run kernels without bubblewrap (only on a throwaway machine)")
    grade.set_defaults(run=cmd_grade)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
