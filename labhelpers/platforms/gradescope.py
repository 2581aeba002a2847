"""A Gradescope autograder for seqlab: the same judges, the same hidden per-submission inputs.

    python -m labhelpers gradescope --lab 01 --out autograder.zip     (or --lab all)

The zip holds `setup.sh` (Gradescope runs it once, as root, on its Ubuntu image: Python, bubblewrap,
this package), `run_autograder` (run for each submission) and `seqlab/` (the package, the lab's
solution notebooks, `autograder.json`). `run_autograder` grades the notebooks in
/autograder/submission with `gradebook.grade_folder`, as one student, and writes
/autograder/results/results.json (Gradescope's format: one test per exercise, its points and the
judge's message). `SEQLAB_AUTOGRADER_ROOT` moves /autograder (for tests), `SEQLAB_PYTHON` the Python.

Isolation: Gradescope's containers run as root, often without user namespaces, so bubblewrap may not
start. `run_autograder` uses the strongest isolation it finds and says which in the results' output:
1. "sandbox": bubblewrap, as `grade` uses it everywhere;
2. "user": each kernel as user `nobody` (platforms/unprivileged.py); the grader's files (the package's
   judges, the solutions, the autograder's source, results and submission folders) are made
   unreadable to it first, and results.json is written by the grader alone;
3. neither: nothing is run; results.json says why, with score 0.
`SEQLAB_ISOLATION=sandbox|user` asks for one (refusing when it is not available).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from labhelpers import gradebook, sandbox
from labhelpers.exercises import points_of
from labhelpers.grading import PASSED
from labhelpers.platforms import unprivileged
from labhelpers.submissions import load_labs

ROOT = Path(__file__).resolve().parents[2]
STUDENT = "submission"  # the one student of a Gradescope run (names the hidden seed, never shown)
OUTPUT_LIMIT = 4000  # characters of a test's output

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu).
set -euxo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq python3 python3-venv python3-pip util-linux
apt-get install -y -qq bubblewrap || echo "bubblewrap unavailable: kernels will run as user nobody"
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --quiet /autograder/source/seqlab
if [ -f /autograder/source/seqlab/tools/install-mitdeeplearning.sh ]; then
  bash /autograder/source/seqlab/tools/install-mitdeeplearning.sh /autograder/venv/bin/python
fi
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for each submission, as root: grade /autograder/submission with seqlab's judges
# and write /autograder/results/results.json.
ROOT="${SEQLAB_AUTOGRADER_ROOT:-/autograder}"
PYTHON="${SEQLAB_PYTHON:-/autograder/venv/bin/python}"
cd "$ROOT" && exec "$PYTHON" -m labhelpers.platforms.gradescope run --root "$ROOT"
"""


# ---------------------------------------------------------------- building the zip


def setup_script(notebooks: list[Path]) -> str:
    """SETUP, and the install of every other Keras backend these labs are written for (their pinned
    extras): a submission is graded on the backend it records."""
    import nbformat

    from labhelpers.backends import DEFAULT
    from labhelpers.release import lab_backends

    others = sorted({b for p in notebooks for b in lab_backends(nbformat.read(p, as_version=4)) if b != DEFAULT})
    if not others:
        return SETUP
    return SETUP + (f"/autograder/venv/bin/python -c 'from labhelpers import install; "
                    f"install.install_backends({others!r})'\n")


def build_zip(out: Path, labs: list[str] | None = None, solutions: Path | None = None, pythonpath=(),
              judges_path=(), cell_timeout: float = 300, notebook_timeout: float = 900) -> Path:
    """Write autograder.zip for the labs whose notebook names start with one of `labs` (all when None).

    `pythonpath` and `judges_path` are extra folders (a course's own checks and judges) shipped in the
    zip under seqlab/extra/ and put on the paths as `grade --pythonpath/--judges-path` would."""
    solutions = Path(solutions or ROOT / "solutions")
    notebooks = [p for p in sorted(solutions.glob("*.ipynb")) if not labs or any(p.name.startswith(l) for l in labs)]
    if not notebooks:
        raise ValueError(f"no solution notebook of lab(s) {labs} in {solutions}")
    config = {"labs": [p.stem for p in notebooks], "solutions": "solutions", "cell_timeout": cell_timeout,
              "notebook_timeout": notebook_timeout, "pythonpath": [], "judges_path": []}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        _text(archive, "setup.sh", setup_script(notebooks))
        _text(archive, "run_autograder", RUN)
        for name in ("pyproject.toml", "README.md", "tools/install-mitdeeplearning.sh", "tools/install-sandbox.sh"):
            if (ROOT / name).is_file():
                archive.write(ROOT / name, f"seqlab/{name}")
        for path in sorted((ROOT / "labhelpers").rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                archive.write(path, f"seqlab/labhelpers/{path.relative_to(ROOT / 'labhelpers').as_posix()}")
        for path in notebooks:
            archive.write(path, f"seqlab/solutions/{path.name}")
        for kind, folders in (("pythonpath", pythonpath), ("judges_path", judges_path)):
            for n, folder in enumerate(map(Path, folders)):
                target = f"extra/{kind}-{n}"
                config[kind].append(target)
                for path in sorted(folder.rglob("*.py")):
                    archive.write(path, f"seqlab/{target}/{path.relative_to(folder).as_posix()}")
        _text(archive, "seqlab/autograder.json", json.dumps(config, indent=1))
    return out


def _text(archive: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.external_attr = (0o755 if not name.endswith(".json") else 0o644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, text)


# ---------------------------------------------------------------- grading one submission


def choose_isolation(settings: gradebook.Settings, wanted: str, lock: list[Path]) -> str:
    """Set `settings` for the strongest isolation available (or the one `wanted`); returns a sentence
    saying which. Raises RuntimeError when the one wanted, or any, is not available."""
    reason = sandbox.unavailable_reason() if wanted in ("auto", "sandbox") else f"not used (SEQLAB_ISOLATION={wanted})"
    if reason is None:
        settings.use_sandbox = True
        return f"isolation: bubblewrap sandbox (no network, own PID namespace, read-only filesystem); " \
               f"{sandbox.describe(settings.limits)}"
    if wanted == "sandbox":
        raise RuntimeError(f"the sandbox was asked for and is unavailable: {reason}")
    why_not = unprivileged.available()
    if why_not is not None:
        raise RuntimeError(f"no isolation available: bubblewrap: {reason}; an unprivileged user: {why_not}")
    settings.use_sandbox, settings.kernel_user, settings.jobs = False, "nobody", 1
    locked = unprivileged.lock(lock)
    return (f"isolation: WEAKER than the sandbox (bubblewrap: {reason}): each kernel ran as user nobody "
            f"(setpriv, no capabilities, rlimits), with {len(locked)} grader folder(s) made unreadable to it; "
            "it had the network and saw the host's processes")


def run(root: Path) -> dict:
    """Grade root/submission; write and return root/results/results.json."""
    start = time.monotonic()
    source = root / "source" / "seqlab"
    config = json.loads((source / "autograder.json").read_text())
    settings = gradebook.Settings(jobs=1, cell_timeout=config["cell_timeout"],
                                  notebook_timeout=config["notebook_timeout"],
                                  pythonpath=[str(source / p) for p in config["pythonpath"]],
                                  judges_path=[str(source / p) for p in config["judges_path"]])
    results_folder = root / "results"
    results_folder.mkdir(parents=True, exist_ok=True)
    solutions = source / config["solutions"]
    import labhelpers.judges

    judges = Path(labhelpers.judges.__file__).parent
    installed = any(part in ("site-packages", "dist-packages") for part in judges.parts) or judges.is_relative_to(root)
    lock = [root / "submission", results_folder, solutions, source / "labhelpers" / "judges",
            *map(Path, settings.judges_path), *([judges] if installed else [])]  # an editable checkout is left as is
    work = Path(tempfile.mkdtemp(prefix="seqlab-gradescope-"))
    try:
        try:
            isolation = choose_isolation(settings, os.environ.get("SEQLAB_ISOLATION", "auto"), lock)
        except RuntimeError as refused:
            return _write(results_folder, _refused(str(refused), time.monotonic() - start))
        submitted = work / "in" / STUDENT
        shutil.copytree(root / "submission", submitted, symlinks=True)  # links stay links: refused unread
        print(isolation, flush=True)
        rows = gradebook.grade_folder(work / "in", solutions, settings)
        for row in rows:  # stdout: the instructor's only (stdout_visibility hidden)
            for note in row.notes:
                print(f"{gradebook.escape(row.notebook)}: {note}")
        labs = {lab.name: lab for lab in load_labs(solutions)}
        results = results_json(rows, labs, config["labs"], isolation, time.monotonic() - start)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return _write(results_folder, results)


def results_json(rows: list[gradebook.Row], labs: dict, expected: list[str], isolation: str, seconds: float) -> dict:
    """Gradescope's results: one test per exercise of the best notebook of each lab handed in (of the
    autograder's one lab, whether handed in or not), the judge's message as its output."""
    best: dict[str, gradebook.Row] = {}
    for row in rows:
        if row.lab and (row.lab not in best or row.points > best[row.lab].points):
            best[row.lab] = row
    wanted = expected if len(expected) == 1 else sorted(best)
    tests, lines = [], [isolation]
    for name in wanted:
        row = best.get(name)
        lab = labs.get(name)
        labels = [e.label for e in lab.exercises] if lab else list(row.results) if row else []
        if row is None:
            lines.append(f"{name}: no notebook of this lab was found in the submission")
        else:
            lines.append(f"{name}: {gradebook.escape(row.notebook)}: {row.status}, "
                         f"{row.points:g} of {row.max_points:g} points" + "".join(f"; {n}" for n in _shown(row.notes)))
        for label in labels:
            result = row.results.get(label) if row else None
            worth = row.worth(label) if result else points_of(label)
            earned = row.earned(label) if result else 0.0
            message = (f"{result.status}: {result.message}" if result
                       else "missing: the submission has no notebook of this lab")
            tests.append({"name": f"{name}: {label}", "score": earned, "max_score": worth,
                          "status": "passed" if result and result.status == PASSED else "failed",
                          "output": gradebook.printable(message)[:OUTPUT_LIMIT], "visibility": "visible"})
    others = [r for r in rows if not r.lab or best.get(r.lab) is not r]
    lines += [f"not counted: {gradebook.escape(r.notebook)} ({r.status}{''.join(f'; {n}' for n in _shown(r.notes))})"
              for r in others]
    if not rows:
        lines.append("no notebook (*.ipynb) was found in the submission")
    return {"score": round(sum(t["score"] for t in tests), 3), "execution_time": round(seconds),
            "output": "\n".join(map(gradebook.printable, lines)), "stdout_visibility": "hidden",
            "tests": tests}


def _shown(notes: list[str]) -> list[str]:
    """The notes a student sees: review flags are for the instructor (printed to stdout, hidden)."""
    return [note for note in notes if not note.startswith("review:")]


def _refused(reason: str, seconds: float) -> dict:
    return {"score": 0, "execution_time": round(seconds), "tests": [],
            "output": f"The submission was not graded: {reason}. Please tell your instructor."}


def _write(folder: Path, results: dict) -> dict:
    target = folder / "results.json"
    target.write_text(json.dumps(results, indent=1))
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labhelpers.platforms.gradescope")
    parser.add_argument("command", choices=["run"])
    parser.add_argument("--root", type=Path, default=Path(os.environ.get("SEQLAB_AUTOGRADER_ROOT", "/autograder")))
    args = parser.parse_args(argv)
    results = run(args.root.resolve())
    print(f"score {results['score']} over {len(results['tests'])} tests; "
          f"wrote {args.root / 'results' / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
