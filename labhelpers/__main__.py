"""The command line: `python -m labhelpers release [--check | --bundle] | status`."""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_LAB_MODULES = {"grading", "release", "mitdl", "plots", "audio", "gradebook"}


def load_labs():
    """Import every lab module so that its exercises are declared."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from labhelpers import grading

    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if module.name not in NOT_LAB_MODULES and not module.name.startswith("_"):
            importlib.import_module(f"labhelpers.{module.name}")
    return grading.LABS


def cmd_status(_args) -> int:
    from labhelpers import grading

    rows = grading.status_rows(load_labs(), grading.load_progress())
    print(grading.format_table(("lab", "exercise", "status", "last run"), rows))
    passed = sum(row[2] == grading.PASSED for row in rows)
    print(f"\n{passed} of {len(rows)} exercises pass (progress file: {grading.progress_path()})")
    return 0


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
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
