"""`make site`: the course website from the executed notebooks, answers left out (labhelpers/site.py)."""

import os
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from labhelpers import platform_links, release, site
from test_release import remote_scripts

ROOT = Path(__file__).resolve().parent.parent


def executed_solution():
    solved = new_code_cell("def area(r):\n    ### BEGIN SOLUTION\n    return 3.14159 * r * r\n    ### END SOLUTION\n"
                           "print(area(1))", outputs=[new_output("stream", name="stdout", text="3.14159\n")],
                           execution_count=2)
    notebook = new_notebook(cells=[new_markdown_cell("# Lab 03: Demo"), new_markdown_cell("## Setup"),
                                   new_code_cell("pass"), new_markdown_cell("### Exercise 3.2: area"), solved])
    return platform_links.with_platform_cells(notebook, "solutions/03_demo.ipynb")


def test_a_page_shows_the_outputs_and_the_stub_never_the_answer():
    page = site.student_view(executed_solution(), "03_demo.ipynb")
    code = [c for c in page.cells if c.cell_type == "code"]
    assert platform_links.SETUP_CELL_ID not in [c.get("id") for c in page.cells]
    assert "3.14159 * r * r" not in code[-1].source and "raise NotImplementedError" in code[-1].source
    assert code[-1].outputs[0]["text"] == "3.14159\n"
    assert platform_links.colab_url("notebooks/03_demo.ipynb") in page.cells[0].source


def test_the_site_module_stays_out_of_the_student_bundle():
    assert "site.py" in release.INSTRUCTOR_ONLY


@pytest.mark.skipif(os.environ.get("SEQLAB_SITE_TEST") != "1",
                    reason="installs Jupyter Book into .venv-site and executes Lab 01 (minutes): run with "
                           "SEQLAB_SITE_TEST=1 pytest tests/test_site.py")
def test_the_site_builds_offline_with_its_own_mathjax(tmp_path):
    index = site.build(tmp_path / "site", quick=True, notebooks=["01_rnn_from_scratch.ipynb"])
    html = (index.parent / "01_rnn_from_scratch.html").read_text()
    assert index.exists() and 'src="_static/mathjax-3.2.2-tex-svg-full.js' in html
    assert "mathjax@" not in html and "cdn.jsdelivr" not in html and remote_scripts(html) == []
    solution = nbformat.read(ROOT / "solutions" / "01_rnn_from_scratch.ipynb", as_version=4)
    _, regions = release.student_notebook(solution, "01")
    page = nbformat.read(tmp_path / "site" / "01_rnn_from_scratch.ipynb", as_version=4)  # what the HTML shows
    assert release.leaked_lines(regions, solution, page) == []
    assert any(o.get("output_type") == "display_data" for c in page.cells if c.cell_type == "code" for o in c.outputs)
    assert "YOUR CODE HERE (Exercise 1.2 rnn_step)" in html
