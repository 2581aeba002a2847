"""Solutions are the source: write student notebooks from them, check, and bundle.

In a solution notebook, the code between `### BEGIN SOLUTION` and `### END SOLUTION`
(nbgrader's markers) is the answer to the exercise named by the closest markdown heading
above it that starts with "Exercise" (e.g. `### Exercise 1.3: MyRNNCell`). The student
notebook gets a stub that raises NotImplementedError naming that exercise.

One solution serves every backend the lab is written for (its metadata `seqlab.backends`, TensorFlow
alone when it names none): backend cells (labhelpers/backends.py) are kept only in their own backends'
student notebooks, which go to notebooks/ for TensorFlow and notebooks/<backend>/ for the others.
"""

from __future__ import annotations

import copy
import re
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from labhelpers import backends

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
EXERCISE_HEADING = re.compile(r"^#+\s*Exercise\s+([0-9]+\.[0-9]+[a-z]?)\b[:.]?\s*(.*)$", re.M)
KEPT_CELL_METADATA = ("tags", "editable", "deletable")
# When a notebook opens, JupyterLab writes the kernel's language_info into it and marks it modified
# if anything changed. This is what ipykernel reports on the course's reference Python (the CI
# image's 3.11.7, environment.yml's 3.11); elsewhere only `version` differs.
LANGUAGE_INFO = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                 "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                 "pygments_lexer": "ipython3", "version": "3.11.7"}
# The student bundle: the setup files, the learner's README and Makefile (bundle/), the notebooks
# and labhelpers without the instructor's modules (grading a class, releasing) or any answer keys.
STUDENT_FILES = ("pyproject.toml", "environment.yml", "postBuild", "tools/install-mitdeeplearning.sh")
LEARNER_TEMPLATES = ("README.md", "Makefile")
INSTRUCTOR_ONLY = {"gradebook.py", "sandbox.py", "submissions.py", "release.py", "cgroups.py", "capped_client.py",
                   "keys", "platforms", "site.py", "__pycache__"}


class ReleaseError(Exception):
    """A solution notebook that cannot be released, or a student notebook out of step."""


@dataclass
class Region:
    """One solution region of one cell."""

    exercise: str
    lines: list[str]


def _stub(indent: str, exercise: str) -> list[str]:
    return [
        f"{indent}# YOUR CODE HERE (Exercise {exercise})",
        f'{indent}raise NotImplementedError("Exercise {exercise}: replace this line with your code")',
    ]


def split_cell(source: str, exercise: str | None, where: str) -> tuple[list[str], list[Region]]:
    """Return the student's lines for one cell and the solution regions removed from it."""
    student, regions, region, indent = [], [], None, ""
    for line in source.split("\n"):
        marker = line.strip()
        if marker == BEGIN:
            if region is not None:
                raise ReleaseError(f"{where}: {BEGIN} inside another solution region")
            if exercise is None:
                raise ReleaseError(f"{where}: solution region with no 'Exercise N.M' heading above it")
            region, indent = Region(exercise, []), line[: len(line) - len(line.lstrip())]
        elif marker == END:
            if region is None:
                raise ReleaseError(f"{where}: {END} without {BEGIN}")
            student.extend(_stub(indent, exercise))
            regions.append(region)
            region = None
        elif region is not None:
            region.lines.append(line)
        else:
            student.append(line)
    if region is not None:
        raise ReleaseError(f"{where}: {BEGIN} without {END}")
    return student, regions


def lab_backends(solution) -> tuple[str, ...]:
    """The backends a solution notebook is written for (metadata `seqlab.backends`), TensorFlow's first."""
    entry = solution.metadata.get(backends.METADATA)
    named = entry.get("backends") if isinstance(entry, dict) else None
    return tuple(b for b in backends.BACKENDS if b in named) if isinstance(named, list) else (backends.DEFAULT,)


def backend_view(solution: nbformat.NotebookNode, backend: str, name: str = "notebook"):
    """The solution as one backend runs it: other backends' cells left out, its own without their marker."""
    view, cells = copy.deepcopy(solution), []
    for index, cell in enumerate(view.cells):
        try:
            names = backends.cell_backends(cell)
        except ValueError as error:
            raise ReleaseError(f"{name} cell {index}: {error}") from None
        if names is not None and backend in names:
            cell.source = backends.without_marker(cell.source)
        if names is None or backend in names:
            cells.append(cell)
    view.cells = cells
    return view


def notebook_folder(notebooks: Path, backend: str) -> Path:
    """Where a backend's student notebooks go: notebooks/ for TensorFlow, notebooks/<backend>/ otherwise."""
    return notebooks if backend == backends.DEFAULT else notebooks / backend


def student_notebook(solution: nbformat.NotebookNode, name: str, backend: str = backends.DEFAULT):
    """The student version of a solution notebook for one backend, and every solution region in it."""
    notebook = backend_view(solution, backend, name)
    exercise, regions = None, []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            found = EXERCISE_HEADING.findall(cell.source)
            exercise = f"{found[-1][0]} {found[-1][1]}".strip() if found else exercise
        elif cell.cell_type == "code":
            lines, cell_regions = split_cell(cell.source, exercise, f"{name} cell {index}")
            cell.source = "\n".join(lines)
            regions += cell_regions
            cell.outputs, cell.execution_count = [], None
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in KEPT_CELL_METADATA}
    notebook.metadata = {k: v for k, v in notebook.metadata.items() if k == "kernelspec"}
    notebook.metadata["language_info"] = LANGUAGE_INFO
    if backend != backends.DEFAULT:
        backends.mark(notebook, backend)
        pin_backend(notebook, backend)
    return notebook, regions


def pin_backend(notebook, backend: str) -> None:
    """Start the first code cell by setting KERAS_BACKEND to the notebook's backend, before anything
    imports Keras: its backend cells run on that backend alone, whatever the server was started with."""
    first = next((c for c in notebook.cells if c.cell_type == "code"), None)
    if first is not None:
        lines = first.source.split("\n")
        if "import os" in lines:  # the cell's own `import os` moves up to the setting
            lines.remove("import os")
        first.source = (f'import os\n\nos.environ["{backends.ENV}"] = "{backend}"  # this notebook is written for '
                        f"{backends.TITLES[backend]}: Keras must start on it\n\n" + "\n".join(lines))


def leaked_lines(regions: list[Region], solution, student) -> list[str]:
    """Solution-only lines (not elsewhere in the solution notebook) found in the student one."""
    public = {line.strip() for cell in solution.cells for line in split_cell_public(cell)}
    secret = {line.strip() for r in regions for line in r.lines} - public
    secret = {line for line in secret if len(line) > 3 and not line.startswith("#")}
    student_lines = {line.strip() for cell in student.cells for line in cell.source.split("\n")}
    return sorted(secret & student_lines)


def split_cell_public(cell) -> list[str]:
    """The lines of a solution cell outside its solution regions."""
    inside, public = False, []
    for line in cell.source.split("\n"):
        if line.strip() in (BEGIN, END):
            inside = line.strip() == BEGIN
        elif not inside:
            public.append(line)
    return public


def render(notebook) -> str:
    return nbformat.writes(notebook, version=4) + "\n"


def release(solutions: Path, notebooks: Path, check: bool = False,
            platform: tuple[str, str] | None = None) -> list[str]:
    """Write (or with check=True, compare) every student notebook; return the problems found.

    With `platform` = (GitHub repo, branch) (the CLI passes labhelpers/platform_links.py's), every
    solution and student notebook also gets its Colab badge and setup cell (platform_links.py),
    written into solutions/ too.
    """
    problems = []
    sources = sorted(solutions.glob("*.ipynb"))
    if not sources:
        problems.append(f"no solution notebooks in {solutions}")
    for source in sources:
        solution = nbformat.read(source, as_version=4)
        if platform is not None:
            solution, stale = _with_platform(solution, source, solutions.name, platform, check)
            problems += stale
        for backend in lab_backends(solution):
            problems += _release_one(solution, source.name, notebook_folder(notebooks, backend), backend, check,
                                     platform, notebooks)
    if check:
        known = {(notebook_folder(notebooks, backend), s.name) for s in sources
                 for backend in lab_backends(nbformat.read(s, as_version=4))}
        written = [p for backend in backends.BACKENDS for p in sorted(notebook_folder(notebooks, backend).glob("*.ipynb"))]
        problems += [f"{p}: has no solution notebook written for its backend" for p in written
                     if (p.parent, p.name) not in known]
    return problems


def _release_one(solution, name: str, folder: Path, backend: str, check: bool, platform, notebooks: Path) -> list[str]:
    """Write (or compare) one backend's student notebook of one solution; return the problems found."""
    try:
        student, regions = student_notebook(solution, name, backend)
    except ReleaseError as error:
        return [str(error)]
    if platform is not None:  # the student notebook's badge opens the student notebook
        from labhelpers.platform_links import with_badge

        first = next((c for c in student.cells if c.cell_type == "markdown"), None)
        if first is not None:
            where = folder.relative_to(notebooks.parent).as_posix()
            first.source = with_badge(first.source, f"{where}/{name}", *platform)
    target = folder / name
    text = render(student)
    if check:
        return _compare(target, text, regions, backend_view(solution, backend, name))
    folder.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
        print(f"wrote {target}", flush=True)
    else:
        print(f"{target} is up to date", flush=True)
    return []


def _with_platform(solution, source: Path, folder: str, platform: tuple[str, str], check: bool):
    """The solution with its Colab badge and setup cell; written back to `source` where they changed
    (with check=True: reported instead)."""
    from labhelpers.platform_links import with_platform_cells

    placed = with_platform_cells(solution, f"{folder}/{source.name}", *platform)
    if [(c.cell_type, c.source) for c in placed.cells] == [(c.cell_type, c.source) for c in solution.cells]:
        return solution, []
    if check:
        return placed, [f"{source}: its Colab badge or setup cell is out of step with labhelpers/platform_links.py; "
                        "run `python -m labhelpers release`"]
    source.write_text(render(placed))
    print(f"wrote {source} (Colab badge and setup cell)")
    return placed, []


def _compare(target: Path, expected_text: str, regions, solution) -> list[str]:
    if not target.exists():
        return [f"{target}: missing; run `python -m labhelpers release`"]
    problems = []
    on_disk = nbformat.reads(target.read_text(), as_version=4)
    leaks = leaked_lines(regions, solution, on_disk)
    if leaks:
        cells = [i for i, c in enumerate(on_disk.cells) if any(l in c.source for l in leaks)]
        problems.append(f"{target}: solution lines leaked into cells {cells}: {leaks[:3]}")
    if target.read_text() != expected_text:
        expected = nbformat.reads(expected_text, as_version=4)
        differing = [
            i for i in range(max(len(expected.cells), len(on_disk.cells)))
            if i >= len(expected.cells) or i >= len(on_disk.cells)
            or expected.cells[i].source != on_disk.cells[i].source
        ]
        what = f"cells {differing} differ" if differing else "outputs or metadata differ"
        problems.append(f"{target}: out of date with solutions/ ({what}); run `python -m labhelpers release`")
    return problems


def bundle(root: Path, dist: Path, execute: bool = True, timeout: int = 1800) -> list[Path]:
    """Write the student zip and, for instructors, the executed solutions as HTML."""
    dist.mkdir(parents=True, exist_ok=True)
    student_zip = dist / "seqlab-student.zip"
    with zipfile.ZipFile(student_zip, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, name in _student_files(root):
            archive.write(path, f"seqlab/{name}")
    print(f"wrote {student_zip}", flush=True)
    written = [student_zip]
    if execute:
        written += _executed_solutions_html(root / "solutions", dist / "instructor", timeout)
    return written


def _student_files(root: Path):
    """(file, its path in the bundle) for every file a learner gets."""
    for name in STUDENT_FILES:
        if (root / name).is_file():
            yield root / name, name
    for name in LEARNER_TEMPLATES:
        yield root / "bundle" / name, name
    for path in sorted((root / "notebooks").rglob("*.ipynb")):  # notebooks/<backend>/ included
        yield path, path.relative_to(root).as_posix()
    for path in sorted((root / "labhelpers").rglob("*")):
        inside = path.relative_to(root / "labhelpers")
        if path.is_file() and not INSTRUCTOR_ONLY & set(inside.parts) and path.suffix != ".pyc":
            yield path, f"labhelpers/{inside.as_posix()}"


# The instructor pages need no network: MathJax 3 (SVG output, every TeX extension, no fonts to fetch)
# is written into each page instead of nbconvert's CDN script, and the lab template's other CDN
# scripts are left out: require.js (nothing in the page uses it), the widget manager (the pages keep
# no widget state; each widget shows its own HTML view) and mermaid (no lab draws a diagram with it).
MATHJAX = Path(__file__).resolve().parent.parent / "bundle" / "vendor" / "mathjax-3.2.2-tex-svg-full.js"
OFFLINE_MATHJAX_PAGE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_js_mathjax -%}
<script>window.MathJax = {tex: {inlineMath: [['$', '$'], ['\\\\(', '\\\\)']], processEscapes: true,
  processEnvironments: true, tags: 'ams'}, svg: {fontCache: 'global'}};</script>
<script>{{ resources.mathjax_js }}</script>
{%- endblock html_head_js_mathjax -%}
"""


def offline_html(notebook) -> str:
    """The notebook as one HTML page that needs no network, formulas included."""
    import jinja2
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(extra_loaders=[jinja2.DictLoader({"offline.html.j2": OFFLINE_MATHJAX_PAGE})],
                            template_file="offline.html.j2")
    html, _ = exporter.from_notebook_node(notebook, resources={"mathjax_js": MATHJAX.read_text()})
    return html


def _executed_solutions_html(solutions: Path, out: Path, timeout: int) -> list[Path]:
    from nbclient import NotebookClient

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted(solutions.glob("*.ipynb")):
        print(f"executing {source.name} ...", flush=True)
        started = time.monotonic()
        notebook = nbformat.read(source, as_version=4)
        # No widget state: the pages then show each widget's own HTML view, which works offline.
        NotebookClient(notebook, timeout=timeout, store_widget_state=False,
                       resources={"metadata": {"path": str(solutions)}}).execute()
        html = offline_html(notebook)
        target = out / f"{source.stem}.html"
        target.write_text(html)
        print(f"wrote {target} (executed in {time.monotonic() - started:.0f} s)", flush=True)
        written.append(target)
    return written
