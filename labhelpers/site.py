"""`make site`: the course website, built with Jupyter Book 1.x (Sphinx + MyST-NB), offline.

1. Each solution notebook runs in this environment (quick mode unless full=True), then becomes its
   student view with the outputs kept: every solution region is replaced by the stub the learner
   sees (release.split_cell), so a page shows what each cell prints and draws, never an answer.
2. Those notebooks, an intro page and Jupyter Book's _config.yml and _toc.yml go to dist/site-src/.
3. Jupyter Book, installed in a virtual environment of its own (.venv-site, so that Sphinx and its
   pins never touch the course's .venv), builds dist/site/_build/html with execution off. MathJax
   is the copy in bundle/vendor, so the pages typeset their formulas without a network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from labhelpers import exercises, install, platform_links, release

ROOT = Path(__file__).resolve().parent.parent
JUPYTER_BOOK = "jupyter-book>=1.0.4,<2"
MATHJAX = ROOT / "bundle" / "vendor" / "mathjax-3.2.2-tex-svg-full.js"

CONFIG = """# Written by `python -m labhelpers site` (labhelpers/site.py); edit that, not this.
title: "seqlab: deep sequence modeling, hands on"
author: the seqlab course
copyright: "{year}"
only_build_toc_files: true
execute:
  execute_notebooks: "off"   # the notebooks were executed by labhelpers/site.py
repository:
  url: {repo}
  branch: {branch}
html:
  use_repository_button: true
sphinx:
  config:
    mathjax_path: mathjax-3.2.2-tex-svg-full.js   # bundle/vendor's copy: formulas without a network
    html_static_path: ["_static"]
"""


def student_view(solution, name: str) -> nbformat.NotebookNode:
    """An executed solution notebook with each solution region replaced by its stub, outputs kept,
    its Colab badge opening the student notebook, without the Colab setup cell."""
    notebook, _ = release.student_notebook(solution, name)  # clears outputs: put them back cell by cell
    for shown, executed in zip(notebook.cells, solution.cells):
        if shown.cell_type == "code":
            shown.outputs, shown.execution_count = executed.outputs, executed.execution_count
    notebook.cells = [c for c in notebook.cells if c.get("id") != platform_links.SETUP_CELL_ID]  # Colab's plumbing
    first = next((c for c in notebook.cells if c.cell_type == "markdown"), None)
    if first is not None:
        first.source = platform_links.with_badge(first.source, f"notebooks/{name}")
    notebook.metadata.pop("widgets", None)
    return notebook


def execute(path: Path, quick: bool, timeout: int = 1800) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    environment = {"LAB_QUICK": "1" if quick else "0"}
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    try:
        NotebookClient(notebook, timeout=timeout, store_widget_state=False,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        for name, value in saved.items():
            os.environ.pop(name) if value is None else os.environ.__setitem__(name, value)
    return notebook


def intro(names: list[str]) -> str:
    rows = "\n".join(f"| [{name[:2]} {exercises.LABS[name[:2]][0]}]({Path(name).stem}) | "
                     f"{', '.join(exercises.LABS[name[:2]][1])} | [Colab]({platform_links.colab_url('notebooks/' + name)}) |"
                     for name in names)
    return f"""# seqlab: deep sequence modeling, hands on

Five lab notebooks on recurrent neural networks with TensorFlow/Keras. You build every piece
yourself, prove it equal to Keras' own layers, and use it on real data. These pages show each lab
with what its cells print and draw; the code you write is left as the exercise it is.

| Lab | Exercises | Open |
|---|---|---|
{rows}

Work on them in Colab, on your JupyterHub, on Binder or on your computer: see the course's
[README]({platform_links.github_url()}#start).
"""


def write_source(out: Path, quick: bool = True, notebooks: list[str] | None = None) -> list[Path]:
    """Execute the solutions and write the book's source folder; the notebooks written."""
    if out.exists():
        shutil.rmtree(out)
    (out / "_static").mkdir(parents=True)
    shutil.copy(MATHJAX, out / "_static" / MATHJAX.name)
    written = []
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        if notebooks is not None and path.name not in notebooks:
            continue
        started = time.monotonic()
        print(f"running {path.name} ({'quick' if quick else 'full'} mode) ...", flush=True)
        page = student_view(execute(path, quick), path.name)
        nbformat.write(page, out / path.name)
        print(f"  {time.monotonic() - started:.0f} s", flush=True)
        written.append(out / path.name)
    names = [p.name for p in written]
    (out / "intro.md").write_text(intro(names))
    (out / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n"
                                  + "".join(f"- file: {Path(n).stem}\n" for n in names))
    (out / "_config.yml").write_text(CONFIG.format(repo=platform_links.github_url(), branch=platform_links.BRANCH,
                                                        year=time.strftime("%Y")))
    return written


def book_python(venv: Path) -> Path:
    """The Python of the site's own environment, with Jupyter Book installed (created on first use)."""
    python = install.venv_python(venv)
    if not python.exists():
        install.create_venv(venv)
    if not install.has_module(python, "jupyter_book"):
        print(f"installing {JUPYTER_BOOK} into {venv} ...", flush=True)
        install.pip(python, "install", "--quiet", JUPYTER_BOOK)
    return python


def build(out: Path = ROOT / "dist" / "site", quick: bool = True, notebooks: list[str] | None = None,
          venv: Path = ROOT / ".venv-site") -> Path:
    """The whole site; the path of its index.html."""
    write_source(out, quick, notebooks)
    python = book_python(venv)
    command = [str(python), "-c", "from jupyter_book.cli.main import main; main()", "build", "--all", str(out)]
    subprocess.run(command, check=True)
    index = out / "_build" / "html" / "index.html"
    print(f"wrote {index}")
    return index


if __name__ == "__main__":
    sys.exit("use: python -m labhelpers site")
