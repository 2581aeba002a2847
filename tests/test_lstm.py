"""Lab 02: the adding problem, the NumPy references, and every check on right and wrong answers."""

import importlib.util
import os
import re
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from labhelpers import lstm  # noqa: E402
from labhelpers.grading import CheckFailed, NotAttempted  # noqa: E402
from right_answers import RightRNNCell  # noqa: E402

BENCH = Path(__file__).resolve().parent.parent / "bench" / "lstm_speed.py"


# ----------------------------------------------------------------------------- learners' cells
def RNNCell(rnn_units, output_dim, initializer="glorot_uniform", **kwargs):  # noqa: N802 (a class's stand-in)
    """Lab 01's MyRNNCell with a zero bias; `initializer` and `dtype` vary the right answers."""
    return RightRNNCell(rnn_units, output_dim, init=initializer, bias_init="zeros", **kwargs)


def state_gradients(cell, x, *, reverse=False, carry=True, every_step=False, from_h0=False, dtype="float32"):
    """dL/dh_t by GradientTape; the keyword arguments make the common wrong answers."""
    x = tf.cast(x, dtype)
    h = tf.zeros((x.shape[0], cell.state_size), dtype)
    states, loss = ([h] if from_h0 else []), 0.0
    with tf.GradientTape() as tape:
        tape.watch(h)
        for t in range(x.shape[1]):
            y, [h_new] = cell(x[:, t], [h])
            h = h_new if carry else tf.stop_gradient(h_new)
            states.append(h)
            loss = loss + tf.reduce_sum(y) if every_step else tf.reduce_sum(y)
    grads = tape.gradient(loss, states)
    grads = [tf.zeros_like(s) if g is None else g for g, s in zip(grads, states)]
    grads = grads[:-1] if from_h0 else grads
    return tf.stack(grads[::-1] if reverse else grads)


def make_lstm_cell(*, order=lstm.GATES, swap_activations=False, carry_cell=True, hidden="o*tanh(c)",
                   states_order="hc", dtype=None, initializer="glorot_uniform"):
    """A MyLSTMCell class; the defaults make the right one, the options the wrong ones."""
    gate_fn, candidate_fn = (tf.tanh, tf.sigmoid) if swap_activations else (tf.sigmoid, tf.tanh)
    hidden_rules = {
        "o*tanh(c)": lambda o, c, c_prev, c_tilde: o * tf.tanh(c),
        "tanh(o*c)": lambda o, c, c_prev, c_tilde: tf.tanh(o * c),
        "o*c_tilde": lambda o, c, c_prev, c_tilde: o * c_tilde,
    }

    class Cell(keras.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(dtype=dtype, **kwargs)
            self.units, self.state_size, self.output_size = units, [units, units], units

        def build(self, input_shape):
            n = self.units
            self.W_xh = self.add_weight(shape=(4 * n, input_shape[-1]), initializer=initializer, name="W_xh")
            self.W_hh = self.add_weight(shape=(4 * n, n), initializer=initializer, name="W_hh")
            self.b = self.add_weight(shape=(4 * n,), initializer="ones", name="b")

        def call(self, inputs, states):
            h_prev, c_prev = states if states_order == "hc" else states[::-1]
            z = inputs @ tf.transpose(self.W_xh) + h_prev @ tf.transpose(self.W_hh) + self.b
            block = dict(zip(order, tf.split(z, 4, axis=-1)))
            f, i, o = gate_fn(block["f"]), gate_fn(block["i"]), gate_fn(block["o"])
            c_tilde = candidate_fn(block["c"])
            c = (f * c_prev if carry_cell else 0.0) + i * c_tilde
            h = hidden_rules[hidden](o, c, c_prev, c_tilde)
            return h, ([h, c] if states_order == "hc" else [c, h])

    return Cell


def clip_global(gradients, max_norm):
    return tf.clip_by_global_norm(gradients, max_norm)[0]


def clip_global_by_hand(gradients, max_norm):
    """A right answer written without tf.clip_by_global_norm, computing in float64."""
    as64 = [tf.cast(g, tf.float64) for g in gradients]
    norm = tf.sqrt(sum(tf.reduce_sum(g ** 2) for g in as64))
    scale = tf.minimum(1.0, max_norm / norm)
    return [tf.cast(g * scale, g_in.dtype) for g, g_in in zip(as64, gradients)]


# ----------------------------------------------------------------------------- data and references
def test_adding_problem_shapes_markers_and_targets():
    x, y = lstm.adding_problem(500, 30, np.random.default_rng(0))
    assert x.shape == (500, 30, 2) and y.shape == (500, 1) and x.dtype == np.float32
    markers = x[..., 1]
    assert (markers.sum(axis=1) == 2).all()
    assert (markers[:, :15].sum(axis=1) == 1).all()  # one mark in each half
    np.testing.assert_allclose(y[:, 0], (x[..., 0] * markers).sum(axis=1), rtol=1e-6)
    baseline = np.mean((y - 1.0) ** 2)
    assert abs(baseline - lstm.ADDING_BASELINE_MSE) < 0.03


def test_adding_problem_depends_only_on_the_generator():
    first = lstm.adding_problem(4, 10, np.random.default_rng(5))
    second = lstm.adding_problem(4, 10, np.random.default_rng(5))
    np.testing.assert_array_equal(first[0], second[0])


def test_numpy_state_gradients_match_the_tape():
    cell, x, values = lstm._bptt_case(RNNCell, np.random.default_rng(0))
    np.testing.assert_allclose(state_gradients(cell, x), lstm.rnn_state_gradients(x, **values), atol=1e-4)


def test_numpy_lstm_matches_keras_lstm():
    rng = np.random.default_rng(1)
    layer = keras.layers.LSTM(3, return_sequences=True, dtype="float64")
    x = rng.normal(size=(2, 5, 4))
    outputs = np.asarray(layer(x))
    layer.set_weights([w + rng.normal(0, 0.3, w.shape) for w in layer.get_weights()])
    trace = lstm.lstm_gate_trace(layer, x)
    np.testing.assert_allclose(trace["h"], np.asarray(layer(x)), atol=1e-10)
    assert not np.allclose(outputs, trace["h"])
    assert set(trace) == {"f", "i", "c_tilde", "o", "c", "h"} and trace["f"].shape == (2, 5, 3)
    assert ((trace["f"] > 0) & (trace["f"] < 1)).all()


def test_reorder_gate_blocks_round_trip():
    matrix = np.arange(8 * 3).reshape(8, 3)
    keras_order = lstm.reorder_gate_blocks(matrix, lstm.GATES, lstm.KERAS_GATES, axis=0)
    np.testing.assert_array_equal(keras_order[:2], matrix[2:4])  # keras' first block is i
    np.testing.assert_array_equal(lstm.reorder_gate_blocks(keras_order, lstm.KERAS_GATES, lstm.GATES, 0), matrix)


def test_cell_diagram_names_every_symbol():
    svg = lstm.DIAGRAM.read_text()
    for symbol in ("σ", "tanh", "⊙", "+"):
        assert symbol in svg
    assert lstm.cell_diagram().data.lstrip().startswith("<svg")


# ----------------------------------------------------------------------------- 2.1
@pytest.mark.parametrize("variant", [
    {}, {"dtype": "float64"},
], ids=["float32", "float64"])
@pytest.mark.parametrize("initializer", ["glorot_uniform", "zeros"])
def test_hidden_state_gradients_accepts_right_answers(variant, initializer, capsys):
    cell_class = lambda units, out: RNNCell(units, out, initializer=initializer,  # noqa: E731
                                            dtype=variant.get("dtype", "float32"))
    lstm.check_hidden_state_gradients(lambda cell, x: state_gradients(cell, x, **variant), cell_class)
    assert "PASS 2.1" in capsys.readouterr().out


@pytest.mark.parametrize("mistake, message", [
    ({"reverse": True}, "reverse time order"),
    ({"from_h0": True}, "shifted by one step"),
    ({"carry": False}, "state is not carried"),
    ({"every_step": True}, "the loss uses every output"),
])
def test_hidden_state_gradients_names_wrong_answers(mistake, message, rejected):
    check = lambda answer: lstm.check_hidden_state_gradients(answer, RNNCell)  # noqa: E731
    assert message in rejected(check, lambda cell, x: state_gradients(cell, x, **mistake), "2.1")


def test_hidden_state_gradients_rejects_wrong_shape_and_stub():
    with pytest.raises(CheckFailed, match="wrong shape"):
        lstm.check_hidden_state_gradients(lambda cell, x: tf.reduce_sum(state_gradients(cell, x), -1), RNNCell)

    def stub(cell, x):
        raise NotImplementedError("Exercise 2.1")

    with pytest.raises(NotAttempted, match="not done yet"):
        lstm.check_hidden_state_gradients(stub, RNNCell)


# ----------------------------------------------------------------------------- 2.2
@pytest.mark.parametrize("clip", [clip_global, clip_global_by_hand])
def test_clip_gradients_accepts_right_answers(clip, capsys):
    lstm.check_clip_gradients(clip)
    assert "PASS 2.2" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda grads, max_norm: grads, "unchanged"),
    (lambda grads, max_norm: [tf.clip_by_norm(g, max_norm) for g in grads], "its own norm"),
    (lambda grads, max_norm: [tf.clip_by_value(g, -max_norm, max_norm) for g in grads], "each entry was clipped"),
    (lambda grads, max_norm: [g * max_norm / tf.linalg.global_norm(grads) for g in grads], "below max_norm were rescaled"),
    (lambda grads, max_norm: tf.clip_by_global_norm(grads, max_norm), r"pair \(gradients, norm\)"),
    (lambda grads, max_norm: [g * 0.5 for g in grads], "do not match clipping by the global norm"),
])
def test_clip_gradients_names_wrong_answers(wrong, message, rejected):
    assert re.search(message, rejected(lstm.check_clip_gradients, wrong, "2.2"))


# ----------------------------------------------------------------------------- 2.4
@pytest.mark.parametrize("options", [
    {}, {"dtype": "float64"}, {"initializer": "orthogonal"}, {"initializer": "zeros"},
], ids=["float32", "float64", "orthogonal", "zeros"])
def test_my_lstm_cell_accepts_right_answers(options, capsys):
    lstm.check_my_lstm_cell(make_lstm_cell(**options))
    assert "PASS 2.4" in capsys.readouterr().out


@pytest.mark.parametrize("options, message", [
    ({"order": "ifco"}, "order store \\(input\\), forget, update"),  # keras' order
    ({"order": "fioc"}, "gate blocks are read in the order"),
    ({"swap_activations": True}, "sigmoid and tanh are swapped"),
    ({"carry_cell": False}, "cell state is not carried"),
    ({"hidden": "tanh(o*c)"}, "output gate is applied to the wrong tensor"),
    ({"hidden": "o*c_tilde"}, "not o \\* c~"),
    ({"states_order": "ch"}, "order \\[c_t, h_t\\]"),
])
def test_my_lstm_cell_names_wrong_answers(options, message, rejected):
    assert re.search(message, rejected(lstm.check_my_lstm_cell, make_lstm_cell(**options), "2.4"))


def test_my_lstm_cell_names_a_missing_weight():
    class NoBias(make_lstm_cell()):
        def build(self, input_shape):
            super().build(input_shape)
            del self.b

    with pytest.raises(CheckFailed, match="no weight `self.b`"):
        lstm.check_my_lstm_cell(NoBias)


# ----------------------------------------------------------------------------- the solution's cells
def test_solution_notebook_cells_pass_the_checks(capsys):
    """The bench times the cells it reads from the solution notebook: they must be the right ones."""
    spec = importlib.util.spec_from_file_location("lstm_speed", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    cells = bench.notebook_classes("MyRNNCell", "MyLSTMCell")
    lstm.check_my_lstm_cell(cells["MyLSTMCell"])
    lstm.check_hidden_state_gradients(state_gradients, cells["MyRNNCell"])
    assert capsys.readouterr().out.count("PASS") == 2
