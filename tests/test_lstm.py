"""Lab 02: the adding problem, the gate trace, and the checks on right, wrong, forged and broken answers."""

import importlib.util
from pathlib import Path

import keras
import numpy as np
import pytest

from labhelpers import lstm
from labhelpers.judges.lstm import distance_judges, judges
from labhelpers.grading import CheckFailed, NotAttempted, pack
from mutations.lstm import LSTMCell, clip_by_hand, state_gradients, terms_by_formula
from right_answers import RightRNNCell

BENCH = Path(__file__).resolve().parent.parent / "bench" / "lstm_speed.py"
CHECKS = {"2.1": lstm.check_hidden_state_gradients, "2.1b": lstm.check_weight_gradient_by_distance,
          "2.2": lstm.check_clip_gradients, "2.4": lstm.check_my_lstm_cell}


# ----------------------------------------------------------------------------- data and pictures
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


def test_gate_trace_follows_keras_lstm():
    rng = np.random.default_rng(1)
    layer = keras.layers.LSTM(3, return_sequences=True, return_state=True)
    x = rng.normal(size=(2, 5, 4)).astype("float32")
    layer(x)
    layer.set_weights([w + rng.normal(0, 0.3, w.shape) for w in layer.get_weights()])
    outputs, _, c_last = (keras.ops.convert_to_numpy(v) for v in layer(x))
    trace = lstm.lstm_gate_trace(layer, x)
    assert set(trace) == {"i", "f", "c", "h"} and trace["f"].shape == (2, 5, 3)
    np.testing.assert_allclose(trace["h"], outputs, atol=1e-5)
    np.testing.assert_allclose(trace["c"][:, -1], c_last, atol=1e-5)
    assert ((trace["f"] > 0) & (trace["f"] < 1)).all() and not np.allclose(trace["f"], trace["i"])
    kernel, recurrent, bias = layer.get_weights()  # step 1 from zero states: i = sigmoid(x W_i + b_i)
    np.testing.assert_allclose(trace["i"][:, 0], 1 / (1 + np.exp(-(x[:, 0] @ kernel[:, :3] + bias[:3]))), atol=1e-5)


def test_gate_trace_plot_has_a_panel_per_signal_and_a_line_per_mark(monkeypatch):
    import matplotlib
    import matplotlib.pyplot as plt

    matplotlib.use("Agg")
    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(plt.gcf()))
    x, y = lstm.adding_problem(1, 12, np.random.default_rng(0))
    layer = keras.layers.LSTM(3)
    layer(x)
    lstm.plot_gate_trace(lstm.lstm_gate_trace(layer, x), x, target=y[0, 0])
    plots = shown[0].axes[0::2]
    assert [ax.get_title() for ax in plots[1:]] == ["forget gate $f_t$", "input gate $i_t$ (store)", "cell state $c_t$"]
    assert all(len(ax.get_lines()) == 2 for ax in plots)  # the two marks, dashed
    plt.close("all")


def test_cell_diagram_names_the_gates_and_the_four_functions():
    svg = lstm.DIAGRAM.read_text()
    for text in ("σ", "tanh", "⊙", "forget gate", "input gate", "candidate", "output gate",
                 "1 forget", "2 store", "3 update", "4 output"):
        assert text in svg
    assert "update gate" not in svg and "four gates" not in svg
    assert lstm.cell_diagram().data.lstrip().startswith("<svg")


def test_no_answer_key_in_the_learner_module():
    assert not {"rnn_state_gradients", "clip_reference", "lstm_numpy"} & set(vars(lstm))


# ----------------------------------------------------------------------------- stubs and broken answers
def _stub(*args):
    raise NotImplementedError("Exercise 2.x")


@pytest.mark.parametrize("exercise, answer", [
    ("2.1", (_stub, RightRNNCell)), ("2.1b", (_stub, RightRNNCell)), ("2.2", (_stub,)),
    ("2.4", (type("Stub", (LSTMCell,), {"call": lambda self, inputs, states: _stub()}),)),
])
def test_stubs_are_not_attempted(exercise, answer):
    with pytest.raises(NotAttempted, match="not done yet"):
        CHECKS[exercise](*answer)


def test_my_lstm_cell_names_a_missing_weight():
    class NoBias(LSTMCell):
        def build(self, input_shape):
            super().build(input_shape)
            del self.b

    with pytest.raises(CheckFailed, match="no weight `self.b`"):
        lstm.check_my_lstm_cell(NoBias)


@pytest.mark.parametrize("exercise, returned", [
    ("2.1", lambda cell, x: {"grads": 1}), ("2.1", lambda cell, x: "gradients"), ("2.1", lambda cell, x: 3.0),
    ("2.1b", lambda cell, x: [None] * x.shape[1]), ("2.1b", lambda cell, x: "terms"),
    ("2.2", lambda gradients, max_norm: None), ("2.2", lambda gradients, max_norm: ["a", "b", "c", "d"]),
    ("2.2", lambda gradients, max_norm: {"clipped": gradients}),
])
def test_odd_return_values_get_expected_and_found(exercise, returned, rejected):
    answer = (returned, RightRNNCell) if exercise.startswith("2.1") else (returned,)
    message = rejected(lambda a: CHECKS[exercise](*a), answer, exercise)
    assert "Expected:" in message and "Found:" in message and "could not make sense" not in message


def test_hidden_state_gradients_says_where_the_chain_rule_breaks(rejected):
    def one_entry_off(cell, x):
        grads = keras.ops.convert_to_numpy(state_gradients(cell, x))
        grads[2] *= 1.5  # dL/dh_3
        return grads

    message = rejected(lambda a: lstm.check_hidden_state_gradients(*a), (one_entry_off, RightRNNCell), "2.1")
    assert "at t = 3 is not the gradient at t = 4 sent back one step" in message


def test_weight_gradient_terms_add_up_to_keras_gradient():
    """The judge's NumPy terms (its reference per distance) sum to the gradient Keras' SimpleRNN gives."""
    for case in judges.draw_bptt(np.random.default_rng(3))["cases"]:
        states = judges._keras_states(case)
        from_y = np.ones((case["x"].shape[0], case["W_hy"].shape[0])) @ case["W_hy"]
        grads = judges._backward(states, case["W_hh"], [0 * from_y] * (len(states) - 1) + [from_y])
        terms = distance_judges._terms(states, grads)
        np.testing.assert_allclose(terms.sum(0), distance_judges._keras_weight_gradient(case), rtol=1e-4, atol=1e-5)
        assert not terms[-1].any()  # step 1 multiplies h_0 = 0


def test_weight_gradient_by_distance_names_the_distances_that_differ(rejected):
    def one_term_moved(cell, x):
        terms = keras.ops.convert_to_numpy(terms_by_formula(cell, x))
        terms[1], terms[2] = terms[1] + terms[2], 0 * terms[2]
        return terms

    message = rejected(lambda a: lstm.check_weight_gradient_by_distance(*a), (one_term_moved, RightRNNCell), "2.1b")
    assert "add up to dL/dW_hh but are split wrongly by distance" in message and "d = [1, 2]" in message


def test_weight_gradient_by_distance_hint_leaves_the_derivation_to_the_learner(rejected):
    """Exercise 2.1b asks for the closed form of G_d: a generic failure must not state it."""
    def scaled(cell, x):
        return 1.7 * terms_by_formula(cell, x)

    message = rejected(lambda a: lstm.check_weight_gradient_by_distance(*a), (scaled, RightRNNCell), "2.1b")
    assert "h_{k-1}^T" not in message and "1 - h_k^2" not in message, message


# ----------------------------------------------------------------------------- grade mode: data, not trust
def _verdict(exercise_id, inputs, data):
    exercise = CHECKS[exercise_id].exercise
    return exercise.verdict(inputs, pack(data))


def test_judges_pass_the_probe_data_of_right_answers_on_a_grader_seed():
    for exercise_id, answer in (("2.1", (state_gradients, RightRNNCell)), ("2.2", (clip_by_hand,)),
                                ("2.1b", (terms_by_formula, RightRNNCell)), ("2.4", (LSTMCell,))):
        exercise = CHECKS[exercise_id].exercise
        inputs = exercise.inputs(seed=12345)
        verified, failure = exercise.verdict(inputs, exercise.collect(answer, inputs))
        assert failure is None and verified


def test_judges_reject_data_collected_on_other_inputs():
    """Answers computed for the learner's fixed seed do not pass on the grader's inputs."""
    for exercise_id, answer in (("2.1", (state_gradients, RightRNNCell)), ("2.2", (clip_by_hand,)),
                                ("2.1b", (terms_by_formula, RightRNNCell)), ("2.4", (LSTMCell,))):
        exercise = CHECKS[exercise_id].exercise
        stale = exercise.collect(answer, exercise.inputs(seed=1))
        _, failure = exercise.verdict(exercise.inputs(seed=2), stale)
        assert failure is not None and failure.exercise.startswith(exercise_id)


def test_forged_clip_data_without_library_flag_still_needs_right_values():
    inputs = judges.draw_clip(np.random.default_rng(0))
    forged = {"cases": [{"kind": "list", "entries": [None if g is None else {"kind": "ndarray", "value": g}
                                                     for g in case["gradients"]]} for case in inputs["cases"]],
              "in_graph": {"kind": "list", "entries": []}}
    _, failure = _verdict("2.2", inputs, forged)
    assert failure is not None and "unchanged" in str(failure)


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
