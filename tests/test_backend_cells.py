"""One solution, three backends: backend cells (labhelpers/backends.py), each backend's student notebook
(release), the %%backend magic in a kernel, and the grader using the instructor cells of the
submission's backend (submissions.LabSpec.for_backend)."""

import os

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from labhelpers import backends, release, submissions

ALL = ["tensorflow", "jax", "torch"]
GRADIENT = {"tensorflow": "grads = tape.gradient(loss, params)",
            "jax": "grads = jax.grad(loss)(params)", "torch": "loss.backward()"}


def solution(declared=ALL):
    """A lab with a shared cell, one backend cell per backend (one solution region in each), a cell for
    two backends and a markdown cell for JAX alone."""
    cells = [new_markdown_cell("# Lab 96: Cells"), new_code_cell("import keras"),
             new_markdown_cell("### Exercise 9.1: gradient"),
             new_markdown_cell("<!-- backend: jax -->\nJAX differentiates functions, not tapes.")]
    cells += [new_code_cell(f"%%backend {b}\ndef step():\n    ### BEGIN SOLUTION\n    {GRADIENT[b]}\n"
                            "    ### END SOLUTION") for b in ALL]
    cells += [new_code_cell("%%backend tensorflow torch\nCOMPILED = True"), new_code_cell("check_step(step)")]
    return new_notebook(cells=cells, metadata={"seqlab": {"backends": declared}})


@pytest.mark.parametrize("cell, expected", [
    (new_code_cell("%%backend jax\nx = 1"), ("jax",)),
    (new_code_cell("%%backend tensorflow torch\nx = 1"), ("tensorflow", "torch")),
    (new_markdown_cell("<!-- backend: torch -->\ntext"), ("torch",)),
    (new_code_cell("x = 1  # %%backend jax"), None),
    (new_markdown_cell("%%backend jax"), None),
    (new_code_cell("%%backendjax\nx"), None)])
def test_a_backend_cell_names_its_backends_on_its_first_line(cell, expected):
    assert backends.cell_backends(cell) == expected


@pytest.mark.parametrize("source", ["%%backend\nx = 1", "%%backend cntk\nx = 1", "%%backend jax numpy"])
def test_a_marker_naming_no_course_backend_is_refused(source):
    with pytest.raises(ValueError, match="the course's backends are tensorflow, jax, torch"):
        backends.cell_backends(new_code_cell(source))
    with pytest.raises(release.ReleaseError, match=r"lab cell 0: a backend cell names"):
        release.student_notebook(new_notebook(cells=[new_code_cell(source)]), "lab")


@pytest.mark.parametrize("backend", ALL)
def test_each_backends_student_notebook_has_its_own_cells_only(backend):
    student, regions = release.student_notebook(solution(), "96_cells.ipynb", backend)
    sources = "\n".join(c.source for c in student.cells)
    assert "%%backend" not in sources and "<!-- backend" not in sources
    assert [r.exercise for r in regions] == ["9.1 gradient"] and regions[0].lines == [f"    {GRADIENT[backend]}"]
    assert ("JAX differentiates" in sources) == (backend == "jax")
    assert ("COMPILED" in sources) == (backend != "jax")
    assert 'raise NotImplementedError("Exercise 9.1 gradient: replace this line with your code")' in sources
    assert backends.of_notebook(student) == backend
    assert ("seqlab" in student.metadata) == (backend != backends.DEFAULT)  # TensorFlow's stays as it was


def test_release_writes_a_folder_per_declared_backend_and_checks_them_all(tmp_path):
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    solutions.mkdir()
    nbformat.write(solution(), solutions / "96_cells.ipynb")
    nbformat.write(solution(declared=None), solutions / "95_tf_only.ipynb")
    assert release.release(solutions, notebooks) == []
    written = sorted(p.relative_to(notebooks).as_posix() for p in notebooks.rglob("*.ipynb"))
    assert written == ["95_tf_only.ipynb", "96_cells.ipynb", "jax/96_cells.ipynb", "torch/96_cells.ipynb"]
    assert release.release(solutions, notebooks, check=True) == []
    (notebooks / "jax" / "95_tf_only.ipynb").write_text((notebooks / "95_tf_only.ipynb").read_text())
    stale = notebooks / "torch" / "96_cells.ipynb"
    stale.write_text(stale.read_text().replace("COMPILED = True", "COMPILED = False"))
    problems = release.release(solutions, notebooks, check=True)
    assert any("jax/95_tf_only.ipynb: has no solution notebook written for its backend" in p for p in problems)
    assert any("torch/96_cells.ipynb: out of date" in p for p in problems), problems


def test_declared_backends_come_in_the_courses_order():
    assert release.lab_backends(solution(["torch", "tensorflow"])) == ("tensorflow", "torch")
    assert release.lab_backends(new_notebook()) == ("tensorflow",)


def test_the_grader_uses_the_instructor_cells_of_the_submissions_backend(tmp_path):
    nbformat.write(solution(), tmp_path / "96_cells.ipynb")
    nbformat.write(solution(["tensorflow"]), tmp_path / "95_tf_only.ipynb")
    lab = submissions.load_lab(tmp_path / "96_cells.ipynb")
    on_jax = lab.for_backend("jax")
    assert (lab.backend, on_jax.backend, on_jax.backends) == ("tensorflow", "jax", tuple(ALL))
    assert [c.source for c in on_jax.notebook.cells] == [
        c.source for c in release.student_notebook(solution(), "96_cells.ipynb", "jax")[0].cells]
    for spec in (lab, on_jax, lab.for_backend("torch")):  # the exercise cell and its check, at the view's indices
        (exercise,) = spec.exercises
        assert "def step" in spec.notebook.cells[exercise.cells[0]].source
        assert spec.notebook.cells[exercise.check].source == "check_step(step)"
    with pytest.raises(ValueError, match="lab 95_tf_only is written for Keras' tensorflow backend, not torch"):
        submissions.load_lab(tmp_path / "95_tf_only.ipynb").for_backend("torch")


def test_the_cell_magic_runs_a_backend_cell_only_on_its_backend(tmp_path):
    from labhelpers.report import executed_cells

    notebook = new_notebook(cells=[
        new_code_cell("import labhelpers\nx = 1"),
        new_code_cell("%%backend jax torch\nx = 2"),
        new_code_cell("%%backend tensorflow\nx = 3\nprint('ran')\nx * 10"),
        new_code_cell("%%backend tensorflow\nraise ValueError('inside the backend cell')"),
        new_code_cell("print('after', x)")])
    cells = [cell for _, cell in executed_cells(notebook, {**os.environ, "KERAS_BACKEND": "tensorflow"}, tmp_path, timeout=300)]
    texts = [[o.get("text") or o.get("data", {}).get("text/plain") or o.get("ename") for o in c.outputs] for c in cells]
    assert texts[1] == ["(a JAX / PyTorch cell: Keras runs on TensorFlow here, so it is skipped)\n"]
    assert texts[2] == ["ran\n", "30"]
    assert "ValueError" in texts[3]  # an error inside a backend cell is the cell's error: nbval sees it


def test_a_backend_notebook_starts_keras_on_its_backend():
    """Its first code cell sets KERAS_BACKEND before anything imports Keras; TensorFlow's is unchanged."""
    for backend in ("jax", "torch"):
        first = release.student_notebook(solution(), "96_cells.ipynb", backend)[0].cells[1].source
        assert first.startswith(f'import os\n\nos.environ["KERAS_BACKEND"] = "{backend}"') and first.endswith("import keras")
    assert release.student_notebook(solution(), "96_cells.ipynb")[0].cells[1].source == "import keras"


def test_the_setting_takes_over_the_first_cells_own_import_of_os():
    notebook = solution()
    notebook.cells[1].source = "# setup\nimport os\nimport sys\nimport keras"
    first = release.student_notebook(notebook, "96_cells.ipynb", "torch")[0].cells[1].source
    assert first.count("import os") == 1 and first.endswith("# setup\nimport sys\nimport keras")


def test_the_gradescope_image_installs_the_backends_its_labs_are_written_for(tmp_path):
    from labhelpers.platforms import gradescope

    nbformat.write(solution(), tmp_path / "96_cells.ipynb")
    nbformat.write(solution(["tensorflow"]), tmp_path / "95_tf_only.ipynb")
    assert gradescope.setup_script([tmp_path / "95_tf_only.ipynb"]) == gradescope.SETUP
    script = gradescope.setup_script([tmp_path / "95_tf_only.ipynb", tmp_path / "96_cells.ipynb"])
    assert script == gradescope.SETUP + ("/autograder/venv/bin/python -c 'from labhelpers import install; "
                                         "install.install_backends([\"jax\", \"torch\"])'\n").replace('"', "'")
