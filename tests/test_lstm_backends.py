"""Lab 02 on each Keras backend: the solution's own cells, as that backend's student notebook has them
(release.backend_view), train, take the gradients the notebook takes, and clip inside the backend's
compiled step (check 2.2 says which).

Each backend runs this file as a script in a subprocess with KERAS_BACKEND set (Keras reads it once, at
import), which prints one JSON report; a backend not installed is skipped with the reason `pytest -rs`
shows. The whole notebook, every check included, runs per backend under nbval (the suite's own run on
TensorFlow, tests/test_backend_runs.py on JAX and PyTorch); this is the quicker test of the cells where
the backends differ.
"""

import ast
import json
import os
from pathlib import Path

import nbformat
import numpy as np
import pytest

from backend_report import report_on
from labhelpers import backends

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "02_bptt_and_lstm.ipynb"
# The cells the report needs, by how their source starts (after the %%backend line, which the view drops).
CELLS = ("import os", "import tensorflow", "import jax", "import torch", "QUICK =", "class MyRNNCell(",
         "def hidden_state_gradients(", "def weight_gradient(", "def last_output_loss(", "def truncated_loss(",
         "def weight_gradient_by_distance(", "def clip_gradients(", "def train(", "def relative_error(",
         "class MyLSTMCell(", "def input_gradient_norms(", "class TruncatedLSTM(")
DEFINITIONS = (ast.Import, ast.ImportFrom, ast.Assign, ast.FunctionDef, ast.ClassDef)


def solution_cells(backend: str) -> list[str]:
    from labhelpers.release import backend_view

    view = backend_view(nbformat.read(SOLUTION, as_version=4), backend, SOLUTION.name)
    return [c.source for c in view.cells if c.cell_type == "code" and c.source.startswith(CELLS)]


def on_this_backend() -> dict:
    """What the tests check, on the backend KERAS_BACKEND names (run in a subprocess)."""
    os.environ["LAB_QUICK"] = "1"
    import contextlib
    import io

    import keras

    backend = keras.backend.backend()
    namespace: dict = {}
    for source in solution_cells(backend):  # their imports, parameters and definitions, not what they run
        kept = [node for node in ast.parse(source).body if isinstance(node, DEFINITIONS)]
        exec(compile(ast.Module(body=kept, type_ignores=[]), SOLUTION.name, "exec"), namespace)  # noqa: S102
    ns = type("Cells", (), namespace)
    from labhelpers import lstm

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        lstm.check_clip_gradients(ns.clip_gradients)
    report = {"backend": backend, "check 2.2": out.getvalue().strip()}

    # the weight's gradient is the sum of the terms by distance; truncation keeps the first w of them
    keras.utils.set_random_seed(0)
    cell = ns.MyRNNCell(6, 6)
    cell.build((None, 2))
    x = np.random.default_rng(0).normal(scale=0.5, size=(4, 9, 2)).astype("float32")
    terms = keras.ops.convert_to_numpy(ns.weight_gradient_by_distance(cell, x))
    full = ns.weight_gradient(lambda: ns.last_output_loss(cell, x), cell.W_hh)
    truncated = ns.weight_gradient(lambda: ns.truncated_loss(cell, x, 3), cell.W_hh)
    report["terms add up"] = float(np.abs(terms.sum(0) - full).max() / np.abs(full).max())
    report["truncated = first terms"] = float(np.abs(terms[:3].sum(0) - truncated).max() / np.abs(full).max())

    # the training loop: the weights change, the loss falls, the norm is recorded before clipping
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 2)), keras.layers.RNN(ns.MyLSTMCell(8)), keras.layers.Dense(1)])
    before = [backends.to_numpy(w).copy() for w in model.weights]
    history = ns.train(model, keras.optimizers.Adam(0.01), 8, 40, clip_norm=0.5)
    report["history shape"] = list(history.shape)
    report["finite"] = bool(np.isfinite(history).all())
    report["loss first, last 10"] = [float(history[:10, 0].mean()), float(history[-10:, 0].mean())]
    report["weights changed"] = all(not np.allclose(b, backends.to_numpy(w)) for b, w in zip(before, model.weights))
    x_test, y_test = lstm.adding_problem(64, 8, np.random.default_rng(1))
    report["relative error"] = float(ns.relative_error(model, x_test, y_test))
    norms = ns.input_gradient_norms(model, x_test, y_test)
    report["input gradient norms"] = [list(np.shape(norms)), bool(np.all(np.asarray(norms) > 0))]

    # the truncated model trains too (its call takes `training`, as JAX's stateless_call passes it)
    keras.utils.set_random_seed(0)
    truncated_model = ns.TruncatedLSTM(4, 3)
    truncated_model(x_test[:1])
    report["truncated trains"] = bool(np.isfinite(ns.train(truncated_model, keras.optimizers.Adam(0.01), 8, 5)).all())
    return report


@pytest.fixture(scope="module", params=backends.BACKENDS)
def measured(request, tmp_path_factory):
    """on_this_backend()'s report from a subprocess with KERAS_BACKEND set to each backend."""
    backend = request.param
    progress = tmp_path_factory.mktemp(backend) / "progress.json"
    return backend, report_on(backend, __file__, timeout=1500, TF_CPP_MIN_LOG_LEVEL="3", SEQLAB_PROGRESS=str(progress))


def test_clipping_passes_inside_the_backends_compiled_step(measured):
    backend, report = measured
    assert report["backend"] == backend and report["check 2.2"].startswith("PASS 2.2 "), report
    compiled = {"tensorflow": "inside tf.function", "jax": "inside jax.jit", "torch": "runs the training step eagerly"}
    assert compiled[backend] in report["check 2.2"]


def test_the_weight_gradient_is_the_sum_of_the_terms_and_truncation_keeps_the_first(measured):
    _, report = measured
    assert report["terms add up"] < 1e-4 and report["truncated = first terms"] < 1e-4, report


def test_the_training_loop_updates_the_model_it_was_given(measured):
    """On JAX the step is stateless: the loop must write the trained values back into the model."""
    _, report = measured
    assert report["history shape"] == [40, 2] and report["finite"], report
    first, last = report["loss first, last 10"]
    assert last < first and report["weights changed"], report
    assert report["relative error"] < 1.5, report  # the model the loop trained, not a fresh one
    assert report["input gradient norms"] == [[8], True] and report["truncated trains"], report


def test_every_backend_has_its_own_cells_where_gradients_are_taken():
    """Each backend's view defines each gradient function once, with its own framework, and no other's."""
    uses = {"tensorflow": "tf.", "jax": "jax.", "torch": "torch."}
    for backend in backends.BACKENDS:
        cells = solution_cells(backend)
        for name in ("def hidden_state_gradients(", "def weight_gradient(", "def train(", "def input_gradient_norms("):
            (source,) = [s for s in cells if s.startswith(name)]
            assert uses[backend] in source, (backend, name)
            others = [u for b, u in uses.items() if b != backend and u in source.replace("keras.", "")]
            assert not others, (backend, name, others)


if __name__ == "__main__":  # the subprocess of `measured`, on the backend KERAS_BACKEND names
    print(json.dumps(on_this_backend()))
