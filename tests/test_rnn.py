"""Lab 01 checks: each accepts right answers, rejects the classic wrong ones by name, and trusts
only values that the learner's code computed on the inputs the check drew.

The answers come from the mutation table (tests/mutations/rnn.py), which test_mutations runs whole.
Everything here runs on the Keras backend KERAS_BACKEND names (the answers used are keras.ops).
"""

import keras
import numpy as np
import pytest

from labhelpers import rnn
from labhelpers.autodiff import value_and_gradients
from labhelpers.grading import NotAttempted, find_exercise, pack, unpack
from mutations import rnn as table

CHECKS = {"1.2": rnn.check_rnn_step, "1.3": rnn.check_my_rnn_cell, "1.4": rnn.check_unrolled_loss,
          "1.5a": rnn.check_build_vocabulary, "1.5b": rnn.check_one_hot, "1.7": rnn.check_next_word_model}
RIGHT = {"1.2": table.step_right, "1.3": table.RightRNNCell, "1.4": table.loss_loop, "1.5a": table.vocabulary_right,
         "1.5b": table.one_hot_put, "1.7": table.model_right}


@pytest.mark.parametrize("exercise, verified", [
    ("1.2", "matches keras SimpleRNNCell + Dense readout on 3 weight shapes"),
    ("1.3", "with random weights set into W_xh, W_hh, b and W_hy, matches keras SimpleRNN"),
    ("1.4", "per-step losses, total and its gradient match keras RNN + cross-entropy"),
    ("1.5a", "numbered 1..n in sorted order"),
    ("1.5b", "matches the one-hot definition"),
    ("1.7", "its logits equal Embedding(mask_zero=True) -> SimpleRNN -> W_hy h_T"),
])
def test_right_answer_passes_with_one_line(exercise, verified, capsys):
    CHECKS[exercise](RIGHT[exercise])
    out = capsys.readouterr().out
    assert out.startswith(f"PASS {exercise} ") and verified in out and out.count("\n") == 1


@pytest.mark.parametrize("exercise, answer, diagnosis", [
    ("1.2", table.step_elementwise, "W_hh h_{t-1} and W_xh x_t are elementwise products (`*`)"),
    ("1.2", table.step_elementwise_input, "W_xh x_t is an elementwise product (`*`) where a matrix product is meant"),
    ("1.2", table.step_elementwise_recurrence, "W_hh h_{t-1} is an elementwise product (`*`)"),
    ("1.2", table.step_state_as_column, "W_hh h_{t-1} is an elementwise product (`*`), the vector taken as a column"),
    ("1.2", table.step_no_tanh, "tanh is missing"),
    ("1.2", table.step_no_bias, "the bias b is missing"),
    ("1.2", table.step_ignores_state, "the previous state is ignored"),
    ("1.2", table.step_y_from_old_state, "ŷ_t is computed from h_{t-1}"),
    ("1.2", table.step_returns_h_only, "must return two things"),
    ("1.2", table.step_y_before_tanh, "read out before the tanh"),
    ("1.3", table.CellNoTanh, "tanh is missing"),
    ("1.3", table.CellStateNotCarried, "the state is not carried"),
    ("1.3", table.CellTransposedRecurrence, "W_hh is transposed"),
    ("1.3", table.CellElementwise, "elementwise"),
    ("1.3", table.CellOutputTanh, "ŷ_t has a tanh"),
    ("1.3", table.CellReturnsState, "output_dim=3 numbers per step"),
    ("1.3", table.CellAddWeightsTypo, "add_weight` (singular)"),
    ("1.3", table.CellTransposedShapes, "the transpose"),
    ("1.3", table.CellNoStateSize, "state_size"),
    ("1.3", table.CellBadlyNamed, "no attribute `W_xh`"),
    ("1.3", table.CellZeroBiasUnused, "the bias b is missing"),
    ("1.3", table.CellReadBeforeTanh, "read out before the tanh"),
    ("1.3", table.CellNumpyTanh, "keras.ops (ops.tanh, ops.matmul)"),  # no gradient, or an error, by backend
    ("1.5a", table.vocabulary_from_zero, "index 0 is kept for padding"),
    ("1.5a", table.vocabulary_in_order_seen, "in the order the words first appear"),
    ("1.5a", table.vocabulary_raw_split, "wrong words"),
    ("1.5b", table.one_hot_loop_1d, "wrong shape"),
    ("1.7", table.model_no_mask, "not masked"),
    ("1.7", table.model_drops_last_word, "ignores the last word"),
    ("1.7", table.model_without_embedding, "no Embedding"),
])
def test_classic_mistakes_are_named(exercise, answer, diagnosis, rejected):
    message = rejected(CHECKS[exercise], answer, exercise)
    assert diagnosis in message and "Traceback" not in message


@pytest.mark.parametrize("answer, diagnosis", [
    (lambda c, x, y: table.loss_loop(c, x, y, carry=table.not_carried), "the state is not carried"),
    (lambda c, x, y: table.loss_loop(c, x, y, from_logits=False), "treated as probabilities"),
    (lambda c, x, y: table.loss_loop(c, x, y, score="h"), "the state h_t instead of the output ŷ_t"),
    (lambda c, x, y: table.loss_loop(c, x, y, steps=lambda T: T - 1), "one loss per time step"),
])
def test_unrolled_loss_mistakes_are_named(answer, diagnosis, rejected):
    assert diagnosis in rejected(rnn.check_unrolled_loss, answer, "1.4")


@pytest.mark.parametrize("answer", [table.step_elementwise, table.step_elementwise_input,
                                    table.step_elementwise_recurrence, table.step_state_as_column,
                                    table.step_elementwise_readout])
def test_an_elementwise_product_is_named_in_one_paragraph_without_the_answer(answer, rejected):
    message = rejected(rnn.check_rnn_step, answer, "1.2")
    assert "elementwise product" in message and "\n" not in message
    assert not any(line in message for line in ("W_hh @", "W_xh @", "W_hy @", "@ h_prev", "np.tanh"))


def test_unrolled_loss_uses_a_cell_whose_output_is_not_its_state():
    """Confusing ŷ_t and h_t can only show when they differ: the drawn cells have more units than classes."""
    for case in find_exercise("1.4").inputs(3)["cases"]:
        assert case["W_hh"].shape[0] > case["W_hy"].shape[0]


def test_cell_probe_sets_drawn_values_into_every_weight():
    """A term that is zero at initialisation (a zeros bias) cannot hide: the probe overwrites the weights."""
    exercise = find_exercise("1.3")
    inputs = exercise.inputs(5)
    data = unpack(exercise.collect((table.CellOtherInit,), inputs))
    for case, record in zip(inputs["cases"], data["cases"]):
        assert record["attributes"]["b"]["shape"] == list(case["b"].shape)
        assert np.all(case["b"] != 0)
    assert exercise.decide(inputs, exercise.collect((table.CellOtherInit,), inputs)).status == "passed"


@pytest.mark.parametrize("exercise", sorted(CHECKS))
def test_data_computed_for_other_inputs_is_refused(exercise):
    """What a right answer computed for one student's inputs fails another's: nothing passes on form alone."""
    check = find_exercise(exercise)
    mine, theirs = check.inputs(1), check.inputs(2)
    assert check.decide(mine, check.collect((RIGHT[exercise],), mine)).status == "passed"
    assert check.decide(theirs, check.collect((RIGHT[exercise],), mine)).status == "failed"


@pytest.mark.parametrize("exercise", sorted(CHECKS))
@pytest.mark.parametrize("junk", [
    {}, {"cases": "all passed"}, {"cases": [{"returned": {"__object__": "Forged: yes"}}] * 4},
    {"cases": [{"returned": [1, 2], "outputs": [1], "state": 3, "attributes": {}, "weights": [], "tokens": "x"}] * 4},
])
def test_forged_or_odd_data_fails_with_a_message(exercise, junk):
    check = find_exercise(exercise)
    inputs = check.inputs(1)
    if isinstance(junk.get("cases"), list):
        junk = {"cases": junk["cases"][: len(inputs["cases"])]}
    result = check.decide(inputs, pack(junk))
    assert result.status == "failed" and "could not make sense" not in result.message


def test_cases_are_judged_in_order():
    """Wrong on the first case (integers) and raising on the second: the first case's fault is reported."""
    def one_hot_vectors_only(indices, vocab_size):
        if np.ndim(indices) != 1:
            raise ValueError("only vectors")
        return np.eye(vocab_size, dtype=int)[indices]

    with pytest.raises(AssertionError, match="must return floats"):
        rnn.check_one_hot(one_hot_vectors_only)


def test_stub_is_not_attempted():
    class Stub(table.RightRNNCell):
        def build(self, input_shape):
            raise NotImplementedError("Exercise 1.3 MyRNNCell: replace this line with your code")

    with pytest.raises(NotAttempted, match="not done yet"):
        rnn.check_my_rnn_cell(Stub)


def test_tokenize_and_corpus():
    assert rnn.tokenize("The food was good, not BAD at all.") == ["the", "food", "was", "good", "not", "bad", "at", "all"]
    assert all("cat" in s or "dog" in s for s in rnn.CORPUS)


def test_no_answer_key_in_the_learner_module():
    assert not [name for name in dir(rnn) if name.startswith("reference")]


def test_an_orthogonal_w_hh_keeps_lengths_while_the_sensitivity_to_x_1_falls():
    """Lab 01 §1.6.4's lesson with the solution's initialisers (orthogonal W_hh, zero bias), asserted here
    rather than in the notebook, where a learner's own right cell may be initialised otherwise."""
    keras.utils.set_random_seed(0)
    probe = keras.layers.RNN(table.RightRNNCell(16, 16, init="orthogonal", bias_init="zeros"), return_state=True)
    sensitivities = []
    for steps in (2, 60):
        x = np.random.default_rng(1).normal(size=(1, steps, 8)).astype("float32")
        rows = [value_and_gradients(lambda x, j=j: (probe(x)[1][0, j], None), inputs=[x])[3][0][0, 0]
                for j in range(16)]  # d h_T[j] / d x_1, row by row of the Jacobian
        sensitivities.append(float(np.linalg.norm(rows)))
    v = np.random.default_rng(0).normal(size=16)
    powered = np.linalg.matrix_power(keras.ops.convert_to_numpy(probe.cell.W_hh), 60) @ v
    assert np.isclose(np.linalg.norm(powered), np.linalg.norm(v), rtol=1e-3)
    assert sensitivities[1] < 0.1 * sensitivities[0], sensitivities


@pytest.mark.parametrize("units, outputs", [(4, 7), (5, 5)])
def test_a_masked_rnn_holds_the_cells_output_not_its_state(units, outputs):
    """keras.layers.RNN over a cell whose output ŷ_t is not its state h_t, with padding masked: a padded
    sequence ends with the output of its last real step, as it does alone (§1.6.1, exercise 1.7). Keras'
    own JAX loop held the state instead (a shape error where the sizes differ); labhelpers.probes.rnn
    makes it carry the output."""
    keras.utils.set_random_seed(0)
    embedding = keras.layers.Embedding(9, 3, mask_zero=True)
    layer = keras.layers.RNN(table.RightRNNCell(units, outputs), return_sequences=True)
    padded = np.array([[4, 2, 7, 0, 0], [1, 5, 3, 8, 6]])
    in_batch = keras.ops.convert_to_numpy(layer(embedding(padded)))
    alone = keras.ops.convert_to_numpy(layer(embedding(padded[:1, :3])))
    assert in_batch.shape == (2, 5, outputs)
    assert np.allclose(in_batch[0, 2:], alone[0, 2], atol=1e-6)  # held through the padding
    assert np.allclose(in_batch[0, :3], alone[0], atol=1e-6)
