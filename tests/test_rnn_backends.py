"""Lab 01 on TensorFlow, JAX and PyTorch: what each backend's learner reads and is told.

Static and judge-level checks, cheap on any backend: the solution's view for each backend (its backend
cells, no TensorFlow outside TensorFlow's), and the hints about gradients in the running backend's words.
The checks themselves run per backend in tests/test_mutations.py (KERAS_BACKEND=jax or torch).
"""

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from labhelpers import backends
from labhelpers.grading import CheckFailed
from labhelpers.judges.rnn import judges
from labhelpers.release import backend_view, lab_backends

SOLUTION = Path(__file__).resolve().parent.parent / "solutions" / "01_rnn_from_scratch.ipynb"
TENSORFLOW = re.compile(r"\btf\.|\bimport tensorflow\b|\bfrom tensorflow\b")
IDIOMS = {"tensorflow": ("tf.GradientTape", "tape.gradient", "tape.jacobian"),
          "jax": ("jax.grad", "keras.StatelessScope", "jax.jacobian"),
          "torch": (".backward()", ".grad = None", "torch.autograd.functional.jacobian")}


@pytest.fixture(scope="module")
def solution():
    return nbformat.read(SOLUTION, as_version=4)


def code(view) -> str:
    return "\n".join(c.source for c in view.cells if c.cell_type == "code")


def test_the_lab_is_written_for_the_three_backends(solution):
    assert lab_backends(solution) == backends.BACKENDS


@pytest.mark.parametrize("backend", backends.BACKENDS)
def test_each_backend_sees_its_own_gradients_and_no_other(solution, backend):
    view = backend_view(solution, backend)
    source = code(view) + "\n".join(c.source for c in view.cells if c.cell_type == "markdown")
    assert all(idiom in source for idiom in IDIOMS[backend]), backend
    others = [idiom for name, idioms in IDIOMS.items() if name != backend for idiom in idioms]
    assert not [idiom for idiom in others if idiom in code(view)], backend
    assert bool(TENSORFLOW.search(code(view))) == (backend == "tensorflow")
    assert "%%backend" not in code(view)


@pytest.mark.parametrize("backend", backends.BACKENDS)
def test_the_backend_cells_define_the_same_names(solution, backend):
    """Each backend's version of a cell leaves the same names behind: the cells after it are shared."""
    view = code(backend_view(solution, backend))
    assert view.count("def sensitivity(x):") == 1 and view.count("\ngradients = ") == 1


def _loss_failure(backend, gradients):
    record = {"returned": [1.5, [0.5, 1.0]], "gradients": gradients}
    ref = {"gradients": [np.ones((2, 2))]}
    with pytest.raises(CheckFailed) as failure:
        judges._loss_gradients(record, ref, 3, 5, backend)
    return failure.value.message()


@pytest.mark.parametrize("backend, idiom", [("tensorflow", "tf.GradientTape"), ("jax", "jax.grad"),
                                            ("torch", "loss.backward()")])
def test_gradient_hints_speak_the_learners_backend(backend, idiom):
    """1.4's messages name how the learner's framework differentiates L, and what cuts it there."""
    cut, differs = _loss_failure(backend, None), _loss_failure(backend, [np.zeros((2, 2))])
    assert idiom in cut and idiom in differs
    assert ("detach" in cut) == (backend == "torch") and ("jax.lax.stop_gradient" in differs) == (backend == "jax")


def test_a_forged_backend_name_is_worded_as_tensorflow():
    assert judges.backend_of({"backend": "<script>"}) == "tensorflow" == judges.backend_of({})
    assert judges.backend_of({"backend": "torch"}) == "torch"
