"""The command line: `python -m labhelpers setup | lab | check [NB...] | status | links | release | grade DIR`;
for a class also `grade --shard I/N`, `grade --merge`, `gradescope`, `export` and `report` (labhelpers/platforms/).

setup, lab, check and status are the learner's commands (the Makefile's targets call them): plain
Python, so they work on Windows, macOS and Linux without `make` or a shell. Run from outside the
course's .venv, `setup` creates it and installs there, and the others run in it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from labhelpers import backends  # the standard library only, like this module

ROOT = Path(__file__).resolve().parent.parent
BACKEND_CHOICES = (*backends.BACKENDS, "all")


def in_course_env(needs: tuple[str, ...], here: bool = False) -> int | None:
    """Run this command again in the course's .venv when this Python lacks what it needs; its exit
    code, or None to go on here."""
    import importlib.util

    from labhelpers import install

    venv = ROOT / ".venv"
    if here or install.running_in(venv) or all(importlib.util.find_spec(m) for m in needs):
        return None
    if not install.venv_python(venv).exists():
        print("the course is not installed: run `python -m labhelpers setup` first", file=sys.stderr)
        return 2
    import subprocess

    return subprocess.call([str(install.venv_python(venv)), "-m", "labhelpers", *sys.argv[1:]])


def cmd_setup(args) -> int:
    from labhelpers import install

    return install.setup(ROOT, here=args.here, deps=not args.no_deps, quiet=not args.verbose, backend=args.backend)


def cmd_lab(args) -> int:
    import subprocess

    from labhelpers import install

    venv = ROOT / ".venv"
    here = args.here or install.running_in(venv)
    if args.backend and args.backend != "all":  # the kernels' Keras backend, and what setup installs
        os.environ["KERAS_BACKEND"] = args.backend
    code = install.setup(ROOT, here=here, deps=not args.no_deps, backend=args.backend)
    if code:
        return code
    python = sys.executable if here else install.venv_python(venv)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    from labhelpers import backends

    command = install.lab_command(python, ROOT, args.port, backends.requested())
    sys.stdout.flush()
    if os.name == "posix":  # JupyterLab takes this process's place: a signal to it (make, Ctrl-C) reaches the server
        os.chdir(ROOT)
        os.execve(command[0], command, env)
    try:
        return subprocess.call(command, cwd=ROOT, env=env)
    except KeyboardInterrupt:
        return 0


def cmd_links(args) -> int:
    from labhelpers import exercises, platform_links

    repo, branch = args.repo or platform_links.github_url(), args.branch or platform_links.BRANCH
    names = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    for name in names:
        title = exercises.LABS.get(name[:2], (name,))[0]
        print(f"{name[:2]} {title}: {platform_links.nbgitpuller_link(args.hub, repo, branch, f'notebooks/{name}')}")
    github = repo.removeprefix("https://github.com/").removesuffix(".git").strip("/")
    if repo.startswith("https://github.com/"):
        print(f"Binder (no hub needed): {platform_links.binder_url(github, branch)}")
    return 0


def cmd_site(args) -> int:
    from labhelpers import site

    site.build(args.out, quick=not args.full, notebooks=args.notebook or None)
    return 0


def cmd_status(args) -> int:
    code = in_course_env(("numpy",))
    if code is not None:
        return code
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
    code = in_course_env(("numpy", "nbformat", "nbclient", "ipykernel"))
    if code is not None:
        return code
    from labhelpers import report

    return report.main(args.notebooks, args.cell_timeout)


def cmd_release(args) -> int:
    from labhelpers import platform_links, release

    if args.nbgrader:
        from labhelpers.platforms import nbgrader

        labs = None if args.lab in (None, "all") else [args.lab]
        for path in nbgrader.release_nbgrader(args.solutions, args.nbgrader, labs, args.backend):
            print(f"wrote {path} (nbgrader source, schema version {nbgrader.SCHEMA_VERSION})")
        return 0
    problems = release.release(args.solutions, args.notebooks, check=args.check,
                               platform=(platform_links.GITHUB_REPO, platform_links.BRANCH))
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    if args.check:
        print(f"{args.notebooks} is in step with {args.solutions}; no solution line leaked")
    if args.bundle:
        release.bundle(ROOT, args.dist, execute=not args.no_execute)  # prints a line per file as it goes
    return 0


GRADE_HELP = """Grade a folder of submitted notebooks into a CSV gradebook and one Markdown summary
per student. It EXECUTES STUDENT CODE: each kernel runs in a bubblewrap sandbox (no network, no view
of other files, limits), and verdicts are judged in this process, never in the kernel.
Layout: DIR/<student>/**/*.ipynb or DIR/<student>.ipynb."""


def cmd_grade(args) -> int:
    from labhelpers import gradebook
    from labhelpers.platforms import records, shards

    if args.merge:
        out, *parts = args.merge
        if not parts:
            print("grade --merge OUT SHARD...: name the shards' folders or grades.jsonl files", file=sys.stderr)
            return 2
        rows = shards.merge(parts)
        written = records.write_all(rows, out, args.summaries, args.totals)
        print(f"merged {len(parts)} shards: wrote {written[0]} ({len(rows)} notebooks), {written[1]}, {written[2]} "
              f"and {len(written) - 3} student summaries")
        return 0
    if args.submissions is None:
        print("grade: name the submissions folder (or --merge OUT SHARD...)", file=sys.stderr)
        return 2
    only = shards.selector(*shards.parse(args.shard)) if args.shard else None
    settings = gradebook.Settings(cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout,
                                  jobs=args.jobs, pythonpath=[str(p.resolve()) for p in args.pythonpath],
                                  judges_path=[str(p.resolve()) for p in args.judges_path],
                                  use_sandbox=not args.unsafe_no_sandbox)
    from labhelpers import sandbox

    print(sandbox.describe(settings.limits) if settings.use_sandbox else "sandbox: OFF (--unsafe-no-sandbox)")
    try:
        rows = gradebook.grade_folder(args.submissions, args.solutions, settings, only=only)
    except gradebook.SandboxUnavailable as reason:
        print(f"grade refuses to run student code unsandboxed: {reason} (or pass --unsafe-no-sandbox)",
              file=sys.stderr)
        return 2
    if not rows and not args.shard:  # a shard may hold no student
        print(f"no notebooks found in {args.submissions}", file=sys.stderr)
        return 1
    written = records.write_all(rows, args.out, args.summaries, args.totals)
    print(f"wrote {args.out} ({len(rows)} notebooks{', shard ' + args.shard if args.shard else ''}), {written[1]}, "
          f"{written[2]} and {len(written) - 3} student summaries in {args.summaries or args.out.parent / 'summaries'}")
    return 0


def cmd_gradescope(args) -> int:
    from labhelpers.platforms import gradescope

    labs = None if args.lab == "all" else [args.lab]
    out = gradescope.build_zip(args.out, labs, args.solutions, [p.resolve() for p in args.pythonpath],
                               [p.resolve() for p in args.judges_path], args.cell_timeout, args.notebook_timeout)
    print(f"wrote {out}: upload it as the Gradescope assignment's autograder (setup.sh, run_autograder, seqlab/)")
    return 0


def cmd_export(args) -> int:
    from labhelpers.platforms import lms, records

    source = args.canvas or args.moodle or args.long
    rows, roster = records.load(source), lms.read_roster(args.roster)
    if args.canvas:
        out, unknown = lms.canvas(rows, roster, args.out)
    elif args.moodle:
        out, unknown = lms.moodle(rows, roster, args.out, args.moodle_id)
    else:
        out, unknown = lms.long(rows, roster, args.out), []
    print(f"wrote {out} from {source} ({len(rows)} notebooks)")
    if unknown:
        print(f"not on the roster (no LMS id: fix the roster, or these lines will not import): "
              f"{', '.join(sorted(unknown))}", file=sys.stderr)
    return 0


def cmd_report(args) -> int:
    from labhelpers.platforms import classreport, records

    rows = records.load(args.grades)
    for path in classreport.write_report(rows, args.out):
        print(f"wrote {path}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labhelpers", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    setup = commands.add_parser("setup", help="install the course into .venv (created if missing); idempotent")
    setup.add_argument("--here", action="store_true", help="install into this Python instead (conda, Binder)")
    setup.add_argument("--no-deps", action="store_true", help="the dependencies are installed already (conda)")
    setup.add_argument("--verbose", action="store_true", help="show pip's output")
    setup.add_argument("--backend", choices=BACKEND_CHOICES,
                       help="also install this Keras backend (default: KERAS_BACKEND's, else tensorflow)")
    setup.set_defaults(run=cmd_setup)
    lab = commands.add_parser("lab", help="setup, then JupyterLab on notebooks/ (prints its URL)")
    lab.add_argument("--port", type=int, default=8888, help="0 picks a free port")
    lab.add_argument("--here", action="store_true", help="use this Python instead of .venv")
    lab.add_argument("--no-deps", action="store_true", help=argparse.SUPPRESS)
    lab.add_argument("--backend", choices=BACKEND_CHOICES,
                     help="run the kernels on this Keras backend (installed if missing; default: KERAS_BACKEND's)")
    lab.set_defaults(run=cmd_lab)
    links = commands.add_parser("links", help="nbgitpuller links of every lab for a JupyterHub")
    links.add_argument("--hub", required=True, help="the hub's URL, e.g. https://hub.example.edu")
    links.add_argument("--repo", help="the course's Git URL (default: labhelpers/platform_links.py's)")
    links.add_argument("--branch", default=None, help="default: labhelpers/platform_links.py's")
    links.set_defaults(run=cmd_links)
    site = commands.add_parser("site", help="the course website (Jupyter Book) from the executed notebooks")
    site.add_argument("--out", type=Path, default=ROOT / "dist" / "site", help="the book's folder")
    site.add_argument("--full", action="store_true", help="execute in full mode (default: LAB_QUICK=1)")
    site.add_argument("--notebook", action="append", help="only this solution notebook's name (repeatable)")
    site.set_defaults(run=cmd_site)
    rel = commands.add_parser("release", help="write notebooks/ from solutions/")
    rel.add_argument("--check", action="store_true", help="fail if notebooks/ is stale or leaks a solution")
    rel.add_argument("--bundle", action="store_true", help="also write dist/: student zip, executed solutions")
    rel.add_argument("--no-execute", action="store_true", help="with --bundle: skip the executed solutions")
    rel.add_argument("--solutions", type=Path, default=ROOT / "solutions")
    rel.add_argument("--notebooks", type=Path, default=ROOT / "notebooks")
    rel.add_argument("--dist", type=Path, default=ROOT / "dist")
    rel.add_argument("--nbgrader", type=Path, metavar="DIR",
                     help="instead: write nbgrader source notebooks (cell metadata, schema 3) into DIR")
    rel.add_argument("--lab", help="with --nbgrader: only this lab (e.g. 01; default all)")
    rel.add_argument("--backend", choices=backends.BACKENDS, default=backends.DEFAULT,
                     help="with --nbgrader: the Keras backend the course runs on (default tensorflow)")
    rel.set_defaults(run=cmd_release)
    commands.add_parser("status", help="which exercises pass").set_defaults(run=cmd_status)
    check = commands.add_parser("check", help="run notebooks (quick mode) and print each one's exercise table")
    check.add_argument("notebooks", type=Path, nargs="*", default=[Path("notebooks")], help="notebooks or folders")
    check.add_argument("--cell-timeout", type=float, default=900, help="seconds per cell (then the run stops)")
    check.set_defaults(run=cmd_check)
    grade = commands.add_parser("grade", help="grade submitted notebooks (executes student code!)",
                                description=GRADE_HELP)
    grade.add_argument("submissions", type=Path, nargs="?", help="folder of submitted notebooks")
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
    grade.add_argument("--totals", type=Path, help="the per-student totals CSV (default: OUT's folder/totals.csv)")
    grade.add_argument("--shard", metavar="I/N", help="grade only shard I of N (0-based; by a stable hash of the "
                       "student's name, so a student's notebooks share a shard)")
    grade.add_argument("--merge", nargs="+", type=Path, metavar="PATH",
                       help="OUT SHARD...: merge the shards' grades.jsonl (or their folders) into OUT, "
                       "as one run writes it")
    grade.set_defaults(run=cmd_grade)
    scope = commands.add_parser("gradescope", help="write a Gradescope autograder.zip")
    scope.add_argument("--lab", default="all", help="the lab (e.g. 01), or all")
    scope.add_argument("--out", type=Path, default=Path("autograder.zip"))
    scope.add_argument("--solutions", type=Path, default=ROOT / "solutions")
    scope.add_argument("--pythonpath", type=Path, action="append", default=[], help="as for grade (shipped in the zip)")
    scope.add_argument("--judges-path", type=Path, action="append", default=[],
                       help="as for grade (shipped in the zip)")
    scope.add_argument("--cell-timeout", type=float, default=300)
    scope.add_argument("--notebook-timeout", type=float, default=900)
    scope.set_defaults(run=cmd_gradescope)
    export = commands.add_parser("export", help="grades for Canvas or Moodle, or one line per exercise")
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("--canvas", type=Path, metavar="GRADES", help="grades.csv or grades.jsonl -> Canvas import CSV")
    which.add_argument("--moodle", type=Path, metavar="GRADES", help="grades.csv or grades.jsonl -> Moodle import CSV")
    which.add_argument("--long", type=Path, metavar="GRADES", help="one line per student, notebook and exercise")
    export.add_argument("--roster", type=Path, help="CSV: student (folder name), name, id, sis_user_id, ...")
    export.add_argument("--moodle-id", default="email", help="the roster column Moodle matches students by")
    export.add_argument("--out", type=Path, required=True)
    export.set_defaults(run=cmd_export)
    report = commands.add_parser("report", help="the class report: report.md and report.html")
    report.add_argument("grades", type=Path, help="grades.csv (its grades.jsonl is read) or grades.jsonl")
    report.add_argument("--out", type=Path, default=Path("report"))
    report.set_defaults(run=cmd_report)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
