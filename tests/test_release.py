"""Release: solutions -> student notebooks, the staleness and leak checks, bundles."""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from labhelpers import release

ROOT = Path(__file__).resolve().parent.parent

SOLVED = '''def area(r):
    "Area of a circle."
    ### BEGIN SOLUTION
    return 3.14159 * r ** 2
    ### END SOLUTION'''


def solution_notebook():
    check = new_code_cell("print('area(1) is', area(1))", metadata={"tags": ["raises-exception"]})
    params = new_code_cell("STEPS = 10", metadata={"tags": ["parameters"], "scrolled": True})
    solved = new_code_cell(SOLVED, execution_count=3, outputs=[new_output("stream", name="stdout", text="stale output\n")])
    cells = [new_markdown_cell("# Demo"), params, new_markdown_cell("### Exercise 3.2: area"), solved, check]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                               "language": "python"}, "widgets": {}})


@pytest.fixture
def course(tmp_path):
    (tmp_path / "solutions").mkdir()
    nbformat.write(solution_notebook(), tmp_path / "solutions" / "03_demo.ipynb")
    return tmp_path


def released(course):
    assert release.release(course / "solutions", course / "notebooks") == []
    return nbformat.read(course / "notebooks" / "03_demo.ipynb", as_version=4)


def test_solution_becomes_an_indented_stub_naming_the_exercise(course):
    cell = released(course).cells[3]
    assert cell.source == (
        'def area(r):\n    "Area of a circle."\n    # YOUR CODE HERE (Exercise 3.2 area)\n'
        '    raise NotImplementedError("Exercise 3.2 area: replace this line with your code")'
    )


def test_outputs_cleared_tags_kept_other_metadata_dropped(course):
    notebook = released(course)
    assert all(c.outputs == [] and c.execution_count is None for c in notebook.cells if c.cell_type == "code")
    assert notebook.cells[1].metadata == {"tags": ["parameters"]}
    assert notebook.cells[4].metadata == {"tags": ["raises-exception"]}
    assert notebook.metadata == {"kernelspec": solution_notebook().metadata.kernelspec,
                                 "language_info": release.LANGUAGE_INFO}


def test_stub_raises_not_implemented_at_its_exercise(course):
    namespace = {}
    exec(released(course).cells[3].source, namespace)
    with pytest.raises(NotImplementedError, match="Exercise 3.2 area"):
        namespace["area"](1.0)


def test_check_passes_when_in_step(course):
    released(course)
    assert release.release(course / "solutions", course / "notebooks", check=True) == []


def test_check_reports_stale_notebook(course):
    released(course)
    notebook = nbformat.read(course / "solutions" / "03_demo.ipynb", as_version=4)
    notebook.cells[1].source = "STEPS = 20"
    nbformat.write(notebook, course / "solutions" / "03_demo.ipynb")
    problems = release.release(course / "solutions", course / "notebooks", check=True)
    assert len(problems) == 1 and "out of date" in problems[0] and "cells [1]" in problems[0]


def test_check_reports_a_leaked_solution_line(course):
    notebook = released(course)
    notebook.cells[3].source += "\n    return 3.14159 * r ** 2"
    nbformat.write(notebook, course / "notebooks" / "03_demo.ipynb")
    problems = release.release(course / "solutions", course / "notebooks", check=True)
    assert any("leaked into cells [3]" in p and "3.14159 * r ** 2" in p for p in problems)


def test_check_reports_missing_and_orphan_notebooks(course):
    problems = release.release(course / "solutions", course / "notebooks", check=True)
    assert any("missing" in p for p in problems)
    released(course)
    (course / "notebooks" / "99_orphan.ipynb").write_text("{}")
    problems = release.release(course / "solutions", course / "notebooks", check=True)
    assert problems == [f"{course / 'notebooks' / '99_orphan.ipynb'}: has no solution notebook written for its backend"]


@pytest.mark.parametrize("source, error", [
    ("### BEGIN SOLUTION\nx = 1", "without ### END SOLUTION"),
    ("x = 1\n### END SOLUTION", "without ### BEGIN SOLUTION"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside another"),
])
def test_malformed_markers_are_reported(course, source, error):
    notebook = solution_notebook()
    notebook.cells[3].source = source
    nbformat.write(notebook, course / "solutions" / "03_demo.ipynb")
    problems = release.release(course / "solutions", course / "notebooks")
    assert len(problems) == 1 and error in problems[0] and "03_demo.ipynb cell 3" in problems[0]


def test_region_without_exercise_heading_is_refused(course):
    notebook = solution_notebook()
    del notebook.cells[2]
    nbformat.write(notebook, course / "solutions" / "03_demo.ipynb")
    problems = release.release(course / "solutions", course / "notebooks")
    assert problems and "no 'Exercise N.M' heading" in problems[0]


def test_release_prints_a_line_per_notebook_and_is_idempotent(course, capsys):
    released(course)
    target = course / "notebooks" / "03_demo.ipynb"
    assert capsys.readouterr().out == f"wrote {target}\n"
    before = target.stat().st_mtime_ns
    released(course)
    assert capsys.readouterr().out == f"{target} is up to date\n" and target.stat().st_mtime_ns == before


def test_release_cli_says_what_it_wrote(course):
    done = subprocess.run([sys.executable, "-m", "labhelpers", "release", "--solutions", str(course / "solutions"),
                           "--notebooks", str(course / "notebooks")], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"wrote {course / 'notebooks' / '03_demo.ipynb'}" in done.stdout.splitlines()


SCRIPT_SOURCES = re.compile(r"""<script[^>]*\bsrc\s*=\s*["']?([^"'\s>]+)|\.src\s*=\s*["']([^"']+)|"""
                            r"""\bimport\(\s*["']([^"']+)|\bsrc\s*=\s*["']\{\{""")


def remote_scripts(html: str) -> list[str]:
    """The script sources of a page that would be fetched from the network."""
    sources = ["".join(match) for match in SCRIPT_SOURCES.findall(html)]
    return [src for src in sources if re.match(r"(https?:)?//", src)]


def test_bundle_writes_student_zip_and_executed_solutions(course, capsys):
    released(course)
    for name in ("grading.py", "gradebook.py", "sandbox.py", "cgroups.py", "keys/answers.json", "judges/demo/judges.py"):
        (course / "labhelpers" / name).parent.mkdir(parents=True, exist_ok=True)
        (course / "labhelpers" / name).write_text("# labhelpers\n")
    for name in ("README.md", "Makefile", "bundle/README.md", "bundle/Makefile", "tests/test_x.py", "bench/b.py"):
        (course / name).parent.mkdir(parents=True, exist_ok=True)
        (course / name).write_text(f"# {name}\n")
    capsys.readouterr()
    written = release.bundle(course, course / "dist", timeout=120)
    printed = capsys.readouterr().out.splitlines()
    assert printed[:2] == [f"wrote {course / 'dist' / 'seqlab-student.zip'}", "executing 03_demo.ipynb ..."]
    assert re.fullmatch(rf"wrote {re.escape(str(written[-1]))} \(executed in \d+ s\)", printed[2]), printed
    with zipfile.ZipFile(course / "dist" / "seqlab-student.zip") as archive:
        files = {name: archive.read(name).decode() for name in archive.namelist()}
    assert set(files) == {"seqlab/README.md", "seqlab/Makefile", "seqlab/notebooks/03_demo.ipynb",
                          "seqlab/labhelpers/grading.py", "seqlab/labhelpers/judges/demo/judges.py"}
    assert files["seqlab/README.md"] == "# bundle/README.md\n" and files["seqlab/Makefile"] == "# bundle/Makefile\n"
    html = (course / "dist" / "instructor" / "03_demo.html").read_text()
    assert written[-1].name == "03_demo.html"
    assert "area(1) is 3.14159" in html and "stale output" not in html
    assert remote_scripts(html) == []  # the notebook's metadata has "widgets": no widget manager from a CDN


def test_instructor_html_loads_no_script_from_the_network():
    notebook = new_notebook(cells=[new_markdown_cell("$x_t$"), new_code_cell("1", outputs=[new_output(
        "display_data", data={"text/html": "<b>1</b>", "text/plain": "1"})])], metadata={"widgets": {
        "application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2, "version_minor": 0}}})
    html = release.offline_html(notebook)
    assert remote_scripts(html) == [] and "require.js" not in html and "requirejs" not in html
    from nbconvert import HTMLExporter

    plain, _ = HTMLExporter(template_name="lab").from_notebook_node(notebook)
    assert remote_scripts(plain), "the test must see nbconvert's own CDN scripts (require.js, MathJax)"


def test_instructor_html_carries_mathjax_instead_of_loading_it():
    notebook = new_notebook(cells=[new_markdown_cell(r"The state: $h_t = \tanh(W_{hh} h_{t-1})$.")])
    html = release.offline_html(notebook)
    assert "mathjax/2.7.7" not in html and "cdnjs.cloudflare.com/ajax/libs/mathjax" not in html
    assert release.MATHJAX.read_text()[:2000] in html and "window.MathJax" in html
    assert r"$h_t = \tanh(W_{hh} h_{t-1})$" in html  # left for MathJax to typeset


def test_student_bundle_ships_the_learner_files_of_this_repository(tmp_path):
    release.bundle(ROOT, tmp_path, execute=False)
    with zipfile.ZipFile(tmp_path / "seqlab-student.zip") as archive:
        names = set(archive.namelist())
        makefile = archive.read("seqlab/Makefile").decode()
    assert {"seqlab/README.md", "seqlab/pyproject.toml", "seqlab/tools/install-mitdeeplearning.sh",
            "seqlab/labhelpers/report.py", "seqlab/labhelpers/judges/rnn/judges.py",
            "seqlab/labhelpers/probes/rnn.py", "seqlab/labhelpers/delegation.py"} <= names
    assert {f"seqlab/notebooks/{p.name}" for p in ROOT.glob("notebooks/*.ipynb")} <= names
    forbidden = ("seqlab/solutions/", "seqlab/tests/", "seqlab/bench/", "seqlab/labhelpers/keys/",
                 "seqlab/labhelpers/gradebook.py", "seqlab/labhelpers/sandbox.py", "seqlab/labhelpers/cgroups.py",
                 "__pycache__")
    assert not [n for n in names if any(f in n for f in forbidden)]
    assert all(f"\n{target}:" in makefile for target in ("lab", "check", "status")) and "make test" not in makefile


def test_repository_notebooks_are_in_step_with_solutions():
    """`release --check` on the real course: notebooks/ generated and nothing leaked."""
    result = subprocess.run([sys.executable, "-m", "labhelpers", "release", "--check"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_committed_notebooks_have_no_outputs():
    for path in sorted(ROOT.glob("solutions/*.ipynb")) + sorted(ROOT.glob("notebooks/*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        dirty = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
        assert not dirty, f"{path.name}: cells {dirty} have outputs; clear them before committing"


@pytest.mark.skipif(not shutil.which("chromium"), reason="needs Debian's chromium (apt-get install chromium)")
def test_jupyterlab_opens_a_released_notebook_unmodified_and_saves_it_byte_for_byte(tmp_path):
    """What `release` writes is what JupyterLab 4 keeps: opening marks nothing modified."""
    spec = importlib.util.spec_from_file_location("jupyterlab_shot", ROOT / "tools" / "jupyterlab_shot.py")
    shot = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shot)
    released_text = (ROOT / "notebooks" / "01_rnn_from_scratch.ipynb").read_text()
    (tmp_path / "lab.ipynb").write_text(released_text)
    with shot.lab_session(tmp_path, shot.kernel_env([])) as page:
        shot.open_notebook(page, Path("lab.ipynb"), timeout=300)
        time.sleep(2)  # the kernel's language_info arrives after it is idle
        assert page.evaluate("window.seqlabPanel.context.model.dirty") is False
        page.evaluate("window.seqlabPanel.context.save()")
    assert (tmp_path / "lab.ipynb").read_text() == released_text


def readme_commands(readme: str) -> list[str]:
    """The `make ...` commands of the README's first bash block."""
    block = readme.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.split("#")[0].strip() for line in block.splitlines() if line.startswith("make ")]


def lab_answers(url: str, seconds: float = 60) -> bool:
    """Whether the server answers within `seconds` (it prints its URL just before it listens)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.status == 200
        except OSError:
            time.sleep(1)
    return False


@pytest.mark.skipif(os.environ.get("SEQLAB_BUNDLE_TEST") != "1",
                    reason="installs the course into a fresh venv (minutes): set SEQLAB_BUNDLE_TEST=1")
def test_student_bundle_works_alone_with_a_bare_python(tmp_path):
    """Unzip the bundle into an empty folder and run its README's commands with a Python that has nothing installed."""
    release.bundle(ROOT, tmp_path / "dist", execute=False)
    with zipfile.ZipFile(tmp_path / "dist" / "seqlab-student.zip") as archive:
        archive.extractall(tmp_path / "empty")
    course = tmp_path / "empty" / "seqlab"
    assert readme_commands((course / "README.md").read_text()) == ["make lab", "make check", "make status"]
    bare = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    bare.update(PYTHON=str(Path(sys.base_prefix) / "bin" / "python3"), SEQLAB_PROGRESS=str(tmp_path / "p.json"))
    make = lambda *args, **kw: subprocess.run(["make", *args], cwd=course, env=bare, text=True,  # noqa: E731
                                              capture_output=True, **kw)
    with subprocess.Popen(["make", "lab", "PORT=0"], cwd=course, env=bare, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as lab:
        try:
            printed = []
            for line in lab.stdout:  # the install, then JupyterLab's log with its URL
                printed.append(line)
                if "/lab?token=" in line:
                    break
            url = printed[-1].split()[-1]
            assert "/lab?token=" in url, "".join(printed[-30:])
            assert lab_answers(url.replace("/lab?", "/api/status?")), "".join(printed[-30:])
        finally:
            lab.terminate()
    checked = make("check", timeout=1800)
    assert checked.returncode == 0 and checked.stderr == "", checked.stdout + checked.stderr
    assert "stopped in section" in checked.stdout and "1.2 rnn_step               not tried" in checked.stdout
    assert checked.stdout.count("exercises pass") == len(list(course.glob("notebooks/*.ipynb")))
    status = make("status", timeout=120)
    assert status.returncode == 0 and "01 RNN from scratch" in status.stdout, status.stdout + status.stderr
