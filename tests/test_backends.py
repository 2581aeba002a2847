"""The labs on each Keras backend (labhelpers/backends.py): selection, the banner, NumPy from any
tensor, the reference cells equal to Keras' layers on every installed backend, and the grader running
a notebook on the backend it records (or refusing one not installed).

The per-backend checks run this file as a script in a subprocess with KERAS_BACKEND set (Keras reads
it once, at import); a backend not installed is skipped with the reason shown by `pytest -rs`.
"""

import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from backend_report import report_on
from labhelpers import backends

ROOT = Path(__file__).resolve().parent.parent
TOLERANCE = 1e-5  # float32 through tanh, sigmoid and a few matrix products of size 5

# Lab 01's MyRNNCell and Lab 02's MyLSTMCell as the solutions write them, in keras.ops: the reference
# the notebooks' own cells are also measured against (where they use keras.ops only).
REFERENCE_RNN = '''
class MyRNNCell(keras.layers.Layer):
    "h_t = tanh(W_hh h_{t-1} + W_xh x_t + b),  y_t = W_hy h_t"

    def __init__(self, rnn_units, output_dim, **kwargs):
        super().__init__(**kwargs)
        self.state_size, self.output_size = rnn_units, output_dim

    def build(self, input_shape):
        units = self.state_size
        self.W_xh = self.add_weight(shape=(units, input_shape[-1]), initializer="glorot_uniform", name="W_xh")
        self.W_hh = self.add_weight(shape=(units, units), initializer="orthogonal", name="W_hh")
        self.b = self.add_weight(shape=(units,), initializer="zeros", name="b")
        self.W_hy = self.add_weight(shape=(self.output_size, units), initializer="glorot_uniform", name="W_hy")

    def call(self, inputs, states):
        h = ops.tanh(ops.matmul(states[0], ops.transpose(self.W_hh)) + ops.matmul(inputs, ops.transpose(self.W_xh))
                     + self.b)
        return ops.matmul(h, ops.transpose(self.W_hy)), [h]
'''
REFERENCE_LSTM = '''
class MyLSTMCell(keras.layers.Layer):
    "u_t = W x_t + U h_{t-1} + b split as i, f, c~, o; c_t = f c_{t-1} + i c~; h_t = o tanh(c_t)"

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units, self.state_size, self.output_size = units, [units, units], units

    def build(self, input_shape):
        n = self.units
        self.W_xh = self.add_weight(shape=(4 * n, input_shape[-1]), initializer="glorot_uniform", name="W_xh")
        self.W_hh = self.add_weight(shape=(4 * n, n), initializer="orthogonal", name="W_hh")
        self.b = self.add_weight(shape=(4 * n,), initializer="zeros", name="b")

    def call(self, inputs, states):
        h_prev, c_prev = states
        u = ops.matmul(inputs, ops.transpose(self.W_xh)) + ops.matmul(h_prev, ops.transpose(self.W_hh)) + self.b
        u_i, u_f, u_c, u_o = ops.split(u, 4, axis=-1)
        c = ops.sigmoid(u_f) * c_prev + ops.sigmoid(u_i) * ops.tanh(u_c)
        h = ops.sigmoid(u_o) * ops.tanh(c)
        return h, [h, c]
'''
NOTEBOOK_CELLS = {"rnn": ("01_rnn_from_scratch.ipynb", "MyRNNCell"), "lstm": ("02_bptt_and_lstm.ipynb", "MyLSTMCell")}
TF_CALL = re.compile(r"\btf\.[\w.]+")


def notebook_cell(kind: str) -> tuple[str | None, str]:
    """(the solution's source of the cell class, or None; why it is not measured, or '')."""
    name, cls = NOTEBOOK_CELLS[kind]
    path = ROOT / "solutions" / name
    if not path.exists():
        return None, f"no {name}"
    cells = [c.source for c in nbformat.read(path, as_version=4).cells
             if c.cell_type == "code" and re.search(rf"^class {cls}\(", c.source, re.M)]
    if not cells:
        return None, f"{name} defines no {cls}"
    calls = sorted(set(TF_CALL.findall(cells[-1])))
    if calls:
        return None, f"{name}'s {cls} calls TensorFlow ({', '.join(calls)}), not keras.ops only"
    return cells[-1], ""


# ---------------------------------------------------------------- the subprocess, on one backend


def oriented(matrix: np.ndarray, rows: int) -> np.ndarray:
    """A weight matrix laid out (rows, ...) as Keras' kernels are: transposed if stored the other way."""
    return matrix if matrix.shape[0] == rows else matrix.T


def cell_weights(cell, d: int, units: int) -> dict[str, np.ndarray]:
    """A cell's input, recurrent and bias weights (and output matrix, if any) in Keras' layout, found by
    shape; the recurrent matrix is taken in the same layout as the input one (both x @ W, or both W x)."""
    found = {}
    for weight in cell.weights:
        value = backends.to_numpy(weight)
        if value.ndim == 1:
            found["bias"] = value
        elif d in value.shape:
            found["input"] = value
        elif set(value.shape) <= {units, 4 * units}:
            found["recurrent"] = value
        else:
            found["output"] = value
    transposed = found["input"].shape[0] != d
    found["input"] = oriented(found["input"], d)
    found["recurrent"] = found["recurrent"].T if transposed else found["recurrent"]
    if "output" in found:
        found["output"] = oriented(found["output"], units)
    return found


def measure(source: str, kind: str) -> dict:
    """Run the cell `source` defines in keras.layers.RNN against SimpleRNN or LSTM with its weights
    copied in; the largest absolute differences of the outputs and final states."""
    import keras
    from keras import ops

    namespace = {"keras": keras, "ops": ops, "np": np}
    exec(source, namespace)
    d, units, outputs, batch, steps = 3, 5, 4, 2, 7
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, steps, d)).astype("float32")
    cell = namespace["MyRNNCell"](units, outputs) if kind == "rnn" else namespace["MyLSTMCell"](units)
    mine = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    mine(x)
    for weight in cell.weights:
        weight.assign(rng.normal(scale=0.5, size=tuple(weight.shape)).astype("float32"))
    found = [backends.to_numpy(t) for t in mine(x)]
    weights = cell_weights(cell, d, units)
    layer = keras.layers.SimpleRNN if kind == "rnn" else keras.layers.LSTM
    reference = layer(units, return_sequences=True, return_state=True)
    reference(x)
    reference.set_weights([weights["input"], weights["recurrent"], weights["bias"]])
    expected = [backends.to_numpy(t) for t in reference(x)]
    if kind == "rnn":
        expected[0] = expected[0] @ weights["output"]  # y_t = W_hy h_t
    return {"outputs": float(np.abs(found[0] - expected[0]).max()),
            "states": max(float(np.abs(f - e).max()) for f, e in zip(found[1:], expected[1:]))}


def on_this_backend() -> dict:
    """What the tests check on the backend KERAS_BACKEND names (run in a subprocess)."""
    import keras
    from keras import ops

    from labhelpers import grading

    variable = keras.Variable(np.arange(6, dtype="float32").reshape(2, 3))
    tensors = {"tensor": ops.ones((2, 3)), "variable": variable, "through a variable": ops.multiply(variable, 2.0)}
    report = {"backend": backends.name(), "banner": backends.banner(),
              "to_numpy": {k: type(backends.to_numpy(t)).__name__ for k, t in tensors.items()},
              "plain": {k: type(grading.plain(t)).__name__ for k, t in tensors.items()},
              "values": backends.to_numpy(tensors["through a variable"]).tolist()}
    for kind, reference in (("rnn", REFERENCE_RNN), ("lstm", REFERENCE_LSTM)):
        report[f"reference {kind}"] = measure(reference, kind)
        source, reason = notebook_cell(kind)
        report[f"notebook {kind}"] = measure(source, kind) if source else reason
    return report


# ---------------------------------------------------------------- the tests


@pytest.fixture(scope="module", params=backends.BACKENDS)
def measured(request):
    """on_this_backend()'s report from a subprocess with KERAS_BACKEND set to each backend."""
    return request.param, report_on(request.param, __file__, timeout=900, TF_CPP_MIN_LOG_LEVEL="3")


def test_the_banner_names_keras_the_backend_and_the_device(measured):
    backend, report = measured
    assert report["backend"] == backend
    title = re.escape(backends.TITLES[backend])
    assert re.fullmatch(rf"Keras 3\.\d+\.\d+\S* on {title} \d+\.\d+\S*, (CPU|GPU|TPU)", report["banner"]), report


def test_any_backends_tensor_becomes_a_numpy_array(measured):
    """A tensor, a Keras variable, and (on torch) a tensor carrying a gradient, for the probes."""
    _, report = measured
    assert set(report["to_numpy"].values()) == {"ndarray"}, report["to_numpy"]
    assert set(report["plain"].values()) == {"ndarray"}, report["plain"]
    assert report["values"] == [[0.0, 2.0, 4.0], [6.0, 8.0, 10.0]]


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_the_reference_cells_equal_keras_layers(measured, kind):
    """MyRNNCell = SimpleRNN and MyLSTMCell = LSTM, with the same weights, on every backend."""
    _, report = measured
    assert max(report[f"reference {kind}"].values()) < TOLERANCE, report[f"reference {kind}"]


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_the_solution_notebooks_cells_equal_keras_layers(measured, kind):
    """The same for the cell as solutions/ writes it, once it uses keras.ops only."""
    _, report = measured
    if isinstance(report[f"notebook {kind}"], str):
        pytest.skip(report[f"notebook {kind}"])
    assert max(report[f"notebook {kind}"].values()) < TOLERANCE, report[f"notebook {kind}"]


def test_the_measure_reads_either_weight_layout():
    """A cell that stores its matrices as Keras does (x @ W_xh, NOTATION.md's layout) is measured too."""
    keras_layout = (REFERENCE_RNN.replace("shape=(units, input_shape[-1])", "shape=(input_shape[-1], units)")
                    .replace("shape=(self.output_size, units)", "shape=(units, self.output_size)")
                    .replace("ops.transpose(self.W_xh)", "self.W_xh").replace("ops.transpose(self.W_hh)", "self.W_hh")
                    .replace("ops.transpose(self.W_hy)", "self.W_hy"))
    assert keras_layout.count("transpose") == 0
    assert max(measure(keras_layout, "rnn").values()) < TOLERANCE


def test_the_measure_catches_a_cell_that_differs():
    """The comparison can fail: a cell without its tanh is far from SimpleRNN (on the default backend)."""
    broken = REFERENCE_RNN.replace("h = ops.tanh(", "h = (")
    assert measure(broken, "rnn")["states"] > 0.1


# ---------------------------------------------------------------- selection, without Keras


def test_choose_reads_the_flag_then_keras_backend(monkeypatch):
    monkeypatch.delenv(backends.ENV, raising=False)
    assert backends.choose(None) == ("tensorflow",)
    assert backends.choose("all") == backends.BACKENDS
    monkeypatch.setenv(backends.ENV, "torch")
    assert backends.choose(None) == ("torch",) and backends.choose("jax") == ("jax",)
    monkeypatch.setenv(backends.ENV, "numpy")
    with pytest.raises(ValueError, match=r"not on 'numpy' \(from KERAS_BACKEND\)"):
        backends.choose(None)


def test_extras_are_pinned_exactly():
    """A range would let pip take a newer torch: on Linux a multi-GB CUDA build."""
    assert backends.EXTRAS["tensorflow"] == ()
    for backend in ("jax", "torch"):
        assert backends.EXTRAS[backend] and all(re.fullmatch(r"[\w-]+==[\d.]+", r) for r in backends.EXTRAS[backend])
    assert backends.EXTRAS["torch"] == ("torch==2.13.0",)


@pytest.mark.parametrize("metadata, expected", [
    ({}, "tensorflow"), ({"seqlab": {"backend": "jax"}}, "jax"), ({"seqlab": "jax"}, "tensorflow"),
    ({"seqlab": {"backend": ["torch"]}}, "tensorflow"), ({"seqlab": {"backend": "cntk"}}, "cntk")])
def test_a_notebook_records_its_backend_in_metadata(metadata, expected):
    assert backends.of_notebook(nbformat.v4.new_notebook(metadata=metadata)) == expected
    assert backends.of_notebook({"metadata": ["not", "a", "dict"]}) == "tensorflow"


def test_mark_writes_what_of_notebook_reads():
    notebook = nbformat.v4.new_notebook(metadata={"seqlab": {"other": 1}})
    backends.mark(notebook, "torch")
    assert backends.of_notebook(notebook) == "torch" and notebook.metadata.seqlab.other == 1
    with pytest.raises(ValueError):
        backends.mark(notebook, "all")


def test_to_numpy_densifies_an_embeddings_sparse_gradient():
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("IndexedSlices are TensorFlow's")
    import tensorflow as tf

    embedding = keras.layers.Embedding(4, 2)
    with tf.GradientTape() as tape:
        loss = keras.ops.sum(embedding(np.array([1, 1, 3])))
    (gradient,) = tape.gradient(loss, embedding.trainable_weights)
    assert isinstance(gradient, tf.IndexedSlices)
    assert backends.to_numpy(gradient).tolist() == [[0, 0], [2, 2], [0, 0], [1, 1]]


def test_to_numpy_passes_arrays_and_lists():
    array = np.ones(3)
    assert backends.to_numpy(array) is array and backends.to_numpy([1, 2]).tolist() == [1, 2]


@pytest.mark.parametrize("filename, stub", [("<ipython-input-3-abc>", True), ("/tmp/ipykernel_7/123.py", True),
                                             ("/tmp/__autograph_generated_file1x.py", True),
                                             ("/venv/lib/python3.11/site-packages/jax/_src/api.py", False)])
def test_a_stub_is_a_not_implemented_error_the_learner_raised(filename, stub):
    """A backend's own NotImplementedError (JAX meeting tf.function) is an error to show, not 'not done yet'."""
    from labhelpers import grading

    namespace = {}
    exec(compile("def step():\n    raise NotImplementedError('no')", filename, "exec"), namespace)
    with pytest.raises(NotImplementedError) as raised:
        namespace["step"]()
    assert grading.error_record(raised.value)["stub"] is stub


# ---------------------------------------------------------------- grading on the recorded backend

# A submission of the tiny course's lab 97 whose answer is right only on the backend its kernel runs.
ON_BACKEND = ('import keras\n\nRUNS_ON = keras.backend.backend()\n\n\ndef double(x):\n'
              '    return int(keras.ops.convert_to_numpy(keras.ops.add(x, x if RUNS_ON == {backend!r} else x - x)))')


def submission(labs, runs_on: str, recorded: str | None):
    from test_gradebook import RIGHT, answered

    notebook = answered(labs, {**RIGHT, 4: ON_BACKEND.format(backend=runs_on)})
    if recorded:
        notebook.metadata["seqlab"] = {"backend": recorded}
    return nbformat.writes(notebook)


def test_the_grader_runs_the_kernel_on_the_recorded_backend(course, labs, tmp_path):
    """Each notebook is right only on its own backend: jax (and torch) where installed, and TensorFlow
    for one that records none; the kernels run in the sandbox."""
    from labhelpers import gradebook
    from labhelpers.grading import FAILED, PASSED

    others = [b for b in backends.BACKENDS if b != backends.DEFAULT and backends.installed(b)]
    if not others:
        pytest.skip("neither jax nor torch is installed: `python -m labhelpers setup --backend all`")
    cases = {"tf": (backends.DEFAULT, None), **{b: (b, b) for b in others}, "tf-on-jax": ("jax", None)}
    for student, (runs_on, recorded) in cases.items():
        (tmp_path / student).mkdir()
        (tmp_path / student / "97_tiny.ipynb").write_text(submission(labs, runs_on, recorded))
    settings = gradebook.Settings(jobs=2, cell_timeout=400, notebook_timeout=600, startup_timeout=300,
                                  pythonpath=[str(course / "checks")], judges_path=[str(course / "judges")])
    rows = {row.student: row for row in gradebook.grade_folder(tmp_path, course / "solutions", settings, progress=None)}
    for student, row in rows.items():
        expected = FAILED if student == "tf-on-jax" else PASSED  # recorded none: ran on TensorFlow
        assert (row.status, row.results["7.1 double"].status) == (gradebook.GRADED, expected), row
    for backend in others:
        assert f"ran on Keras' {backend} backend" in rows[backend].notes
    assert not any("ran on" in note for note in rows["tf"].notes)


@pytest.mark.parametrize("recorded, fragment", [
    ("jax", "jax backend, which is not installed where it is graded: run `python -m labhelpers setup --backend jax`"),
    ("cntk", "asks for Keras backend 'cntk' (its metadata seqlab.backend); the course runs on tensorflow, jax, torch")])
def test_the_grader_refuses_a_backend_it_cannot_run(course, labs, tmp_path, monkeypatch, recorded, fragment):
    from labhelpers import gradebook

    monkeypatch.setattr(backends, "installed", lambda name: name == backends.DEFAULT)
    path = tmp_path / "97_tiny.ipynb"
    path.write_text(submission(labs, recorded, recorded))
    monkeypatch.setattr(gradebook, "Run", None)  # no kernel may start
    row = gradebook.grade_notebook(path, "ann", list(labs.values()), gradebook.Settings())
    assert (row.status, row.lab) == (gradebook.NO_BACKEND, "97_tiny") and fragment in " ".join(row.notes), row
    assert {r.status for r in row.results.values()} == {gradebook.NOT_REACHED} and len(row.results) == 2


if __name__ == "__main__":  # the subprocess of `measured`, on the backend KERAS_BACKEND names
    print(json.dumps(on_this_backend()))
