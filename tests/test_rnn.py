"""Lab 01 checks: each accepts right answers and rejects the classic wrong ones by name."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from labhelpers import rnn
from labhelpers.grading import CheckFailed, NotAttempted
from right_answers import RightRNNCell as RightCell


# ---------------------------------------------------------------- 1.2 rnn_step
def step_right(x, h_prev, W_xh, W_hh, W_hy, b):
    h = np.tanh(W_hh @ h_prev + W_xh @ x + b)
    return W_hy @ h, h


def step_right_float64(x, h_prev, W_xh, W_hh, W_hy, b):
    h = np.tanh(np.dot(W_hh.astype("float64"), h_prev) + np.dot(W_xh.astype("float64"), x) + b)
    return np.dot(W_hy, h), h


def step_elementwise(x, h_prev, W_xh, W_hh, W_hy, b):
    h = np.tanh(W_hh * h_prev + W_xh * x + b)
    return W_hy * h, h


def step_no_tanh(x, h_prev, W_xh, W_hh, W_hy, b):
    h = W_hh @ h_prev + W_xh @ x + b
    return W_hy @ h, h


def step_no_bias(x, h_prev, W_xh, W_hh, W_hy, b):
    h = np.tanh(W_hh @ h_prev + W_xh @ x)
    return W_hy @ h, h


def step_ignores_state(x, h_prev, W_xh, W_hh, W_hy, b):
    h = np.tanh(W_xh @ x + b)
    return W_hy @ h, h


def step_y_from_old_state(x, h_prev, W_xh, W_hh, W_hy, b):
    return W_hy @ h_prev, np.tanh(W_hh @ h_prev + W_xh @ x + b)


def step_returns_h_only(x, h_prev, W_xh, W_hh, W_hy, b):
    return np.tanh(W_hh @ h_prev + W_xh @ x + b)


@pytest.mark.parametrize("answer", [step_right, step_right_float64])
def test_rnn_step_accepts(answer, capsys):
    rnn.check_rnn_step(answer)
    assert capsys.readouterr().out.startswith("PASS 1.2 rnn_step: matches keras SimpleRNNCell")


@pytest.mark.parametrize("answer, diagnosis", [
    (step_elementwise, "`*` (elementwise) was used"),
    (step_no_tanh, "tanh is missing"),
    (step_no_bias, "the bias b is missing"),
    (step_ignores_state, "the previous state is ignored"),
    (step_y_from_old_state, "y_t is computed from h_{t-1}"),
    (step_returns_h_only, "must return two things"),
])
def test_rnn_step_rejects(answer, diagnosis, rejected):
    assert diagnosis in rejected(rnn.check_rnn_step, answer, "1.2")


def test_rnn_step_transposed_weights_are_named():
    def transposed(x, h_prev, W_xh, W_hh, W_hy, b):
        if W_xh.shape[0] != W_xh.shape[1]:
            return step_right(x, h_prev, W_xh, W_hh, W_hy, b)  # only wrong where shapes allow
        h = np.tanh(W_hh.T @ h_prev + W_xh.T @ x + b)
        return W_hy @ h, h

    with pytest.raises(CheckFailed, match="transposed"):
        rnn.check_rnn_step(transposed)


# ---------------------------------------------------------------- 1.3 MyRNNCell
class RightCellOtherInit(RightCell):
    def __init__(self, rnn_units, output_dim):
        super().__init__(rnn_units, output_dim, init="random_normal")


class RightCellAtOperator(RightCell):
    def call(self, inputs, states):
        h = tf.tanh(states[0] @ tf.transpose(self.W_hh) + inputs @ tf.transpose(self.W_xh) + self.b)
        return h @ tf.transpose(self.W_hy), [h]


class NoTanhCell(RightCell):
    def call(self, inputs, states):
        h = self.state_update(inputs, states[0])
        return tf.matmul(h, self.W_hy, transpose_b=True), [h]


class StateNotCarriedCell(RightCell):
    def call(self, inputs, states):
        return super().call(inputs, [tf.zeros_like(states[0])])


class TransposedRecurrenceCell(RightCell):
    def call(self, inputs, states):
        h = tf.tanh(tf.matmul(states[0], self.W_hh) + tf.matmul(inputs, self.W_xh, transpose_b=True) + self.b)
        return tf.matmul(h, self.W_hy, transpose_b=True), [h]


class ElementwiseCell(RightCell):
    def call(self, inputs, states):
        h = tf.tanh(self.W_hh * states[0] + tf.matmul(inputs, self.W_xh, transpose_b=True) + self.b)
        return tf.matmul(h, self.W_hy, transpose_b=True), [h]


class OutputTanhCell(RightCell):
    def call(self, inputs, states):
        y, new_states = super().call(inputs, states)
        return tf.tanh(y), new_states


class ReturnsStateAsOutputCell(RightCell):
    def call(self, inputs, states):
        _, [h] = super().call(inputs, states)
        return h, [h]


class AddWeightsTypoCell(RightCell):
    def build(self, input_shape):
        self.W_xh = self.add_weights([self.rnn_units, input_shape[-1]])


class TransposedShapesCell(RightCell):
    def build(self, input_shape):
        super().build(input_shape)
        self.W_xh = self.add_weight(shape=(input_shape[-1], self.rnn_units), name="W_xh_t")

    def call(self, inputs, states):
        h = tf.tanh(tf.matmul(states[0], self.W_hh, transpose_b=True) + inputs @ self.W_xh + self.b)
        return tf.matmul(h, self.W_hy, transpose_b=True), [h]


class NoStateSizeCell(RightCell):
    def __init__(self, rnn_units, output_dim):
        keras.layers.Layer.__init__(self)
        self.rnn_units, self.output_dim, self.init = rnn_units, output_dim, "glorot_uniform"


class BadlyNamedWeightsCell(RightCell):
    def build(self, input_shape):
        super().build(input_shape)
        self.U = self.W_xh
        del self.W_xh

    def call(self, inputs, states):
        h = tf.tanh(tf.matmul(states[0], self.W_hh, transpose_b=True) + tf.matmul(inputs, self.U, transpose_b=True) + self.b)
        return tf.matmul(h, self.W_hy, transpose_b=True), [h]


@pytest.mark.parametrize("cell", [RightCell, RightCellOtherInit, RightCellAtOperator])
def test_my_rnn_cell_accepts(cell, capsys):
    rnn.check_my_rnn_cell(cell)
    assert "PASS 1.3 MyRNNCell: matches keras SimpleRNN" in capsys.readouterr().out


@pytest.mark.parametrize("cell, diagnosis", [
    (NoTanhCell, "tanh is missing"),
    (StateNotCarriedCell, "the state is not carried"),
    (TransposedRecurrenceCell, "W_hh is transposed"),
    (ElementwiseCell, "elementwise"),
    (OutputTanhCell, "y_t has a tanh"),
    (ReturnsStateAsOutputCell, "output_dim=3 numbers per step"),
    (AddWeightsTypoCell, "add_weight` (singular)"),
    (TransposedShapesCell, "the transpose"),
    (NoStateSizeCell, "state_size"),
    (BadlyNamedWeightsCell, "no attribute `W_xh`"),
])
def test_my_rnn_cell_rejects(cell, diagnosis, rejected):
    message = rejected(rnn.check_my_rnn_cell, cell, "1.3")
    assert diagnosis in message and "Traceback" not in message


def test_my_rnn_cell_stub_is_not_attempted():
    class Stub(RightCell):
        def build(self, input_shape):
            raise NotImplementedError("Exercise 1.3 MyRNNCell: replace this line with your code")

    with pytest.raises(NotAttempted, match="not done yet"):
        rnn.check_my_rnn_cell(Stub)


# ---------------------------------------------------------------- 1.4 unrolled_loss
def unrolled(cell, inputs, targets, carry=True, from_logits=True, reduce=tf.add_n):
    h = tf.zeros((inputs.shape[0], cell.state_size))
    losses = []
    for t in range(inputs.shape[1]):
        y, (h_new,) = cell(inputs[:, t], [h])
        h = h_new if carry else h
        losses.append(tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(targets[:, t], y, from_logits=from_logits)))
    return reduce(losses), losses


def test_unrolled_loss_accepts(capsys):
    rnn.check_unrolled_loss(unrolled)
    assert "PASS 1.4 unrolled_loss" in capsys.readouterr().out


@pytest.mark.parametrize("answer, diagnosis", [
    (lambda c, x, y: unrolled(c, x, y, carry=False), "the state is not carried"),
    (lambda c, x, y: unrolled(c, x, y, from_logits=False), "treated as probabilities"),
    (lambda c, x, y: unrolled(c, x, y, reduce=lambda l: tf.reduce_mean(tf.stack(l))), "(the mean over time)"),
    (lambda c, x, y: (unrolled(c, x, y)[0], unrolled(c, x, y)[1][:-1]), "one loss per time step"),
    (lambda c, x, y: unrolled(c, x, y)[0], "must return two things"),
])
def test_unrolled_loss_rejects(answer, diagnosis, rejected):
    assert diagnosis in rejected(rnn.check_unrolled_loss, answer, "1.4")


# ---------------------------------------------------------------- 1.5 encodings
def vocabulary_right(sentences):
    words = sorted({w for s in sentences for w in rnn.tokenize(s)})
    return {w: i for i, w in enumerate(words, start=1)}


def vocabulary_from_zero(sentences):
    return {w: i - 1 for w, i in vocabulary_right(sentences).items()}


def vocabulary_in_order_seen(sentences):
    words = list(dict.fromkeys(w for s in sentences for w in rnn.tokenize(s)))
    return {w: i for i, w in enumerate(words, start=1)}


def vocabulary_raw_split(sentences):
    words = sorted({w for s in sentences for w in s.split()})
    return {w: i for i, w in enumerate(words, start=1)}


def test_build_vocabulary_accepts(capsys):
    rnn.check_build_vocabulary(vocabulary_right)
    assert "PASS 1.5a build_vocabulary" in capsys.readouterr().out


@pytest.mark.parametrize("answer, diagnosis", [
    (vocabulary_from_zero, "index 0 is kept for padding"),
    (vocabulary_in_order_seen, "depends on the order"),
    (vocabulary_raw_split, "wrong words"),
    (lambda s: sorted(vocabulary_right(s)), "must return a dict"),
])
def test_build_vocabulary_rejects(answer, diagnosis, rejected):
    assert diagnosis in rejected(rnn.check_build_vocabulary, answer, "1.5a")


@pytest.mark.parametrize("answer", [
    lambda idx, v: np.eye(v)[idx],
    lambda idx, v: tf.one_hot(idx, v).numpy().astype("int64"),
])
def test_one_hot_accepts(answer, capsys):
    rnn.check_one_hot(answer)
    assert "PASS 1.5b one_hot" in capsys.readouterr().out


@pytest.mark.parametrize("answer, diagnosis", [
    (lambda idx, v: np.eye(v)[np.asarray(idx) - 1], "one place to the left"),
    (lambda idx, v: np.eye(v)[np.ravel(idx)], "wrong shape"),
    (lambda idx, v: np.eye(v + 1)[idx], "wrong shape"),
    (lambda idx, v: np.ones(np.shape(idx) + (v,)), "wrong places"),
])
def test_one_hot_rejects(answer, diagnosis, rejected):
    assert diagnosis in rejected(rnn.check_one_hot, answer, "1.5b")


# ---------------------------------------------------------------- 1.7 next-word model
def model_right(vocab_size, embedding_dim, rnn_units, cell=RightCell):
    return keras.Sequential([keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True),
                             keras.layers.RNN(cell(rnn_units, vocab_size))])


def model_softmax(vocab_size, embedding_dim, rnn_units):
    return keras.Sequential([model_right(vocab_size, embedding_dim, rnn_units), keras.layers.Softmax()])


def model_all_steps(vocab_size, embedding_dim, rnn_units):
    return keras.Sequential([keras.layers.Embedding(vocab_size, embedding_dim),
                             keras.layers.RNN(RightCell(rnn_units, vocab_size), return_sequences=True)])


def model_last_word_only(vocab_size, embedding_dim, rnn_units):
    return keras.Sequential([keras.layers.Embedding(vocab_size, embedding_dim),
                             keras.layers.Lambda(lambda e: e[:, -1]), keras.layers.Dense(vocab_size)])


def model_without_embedding(vocab_size, embedding_dim, rnn_units):
    return keras.Sequential([keras.layers.Lambda(lambda ids: tf.one_hot(ids, vocab_size)),
                             keras.layers.RNN(RightCell(rnn_units, vocab_size))])


def test_next_word_model_accepts(capsys):
    rnn.check_next_word_model(model_right)
    assert "PASS 1.7 build_next_word_model" in capsys.readouterr().out


@pytest.mark.parametrize("answer, diagnosis", [
    (model_softmax, "outputs probabilities"),
    (model_all_steps, "wrong shape"),
    (model_last_word_only, "ignores the first word"),
    (model_without_embedding, "no Embedding"),
])
def test_next_word_model_rejects(answer, diagnosis, rejected):
    assert diagnosis in rejected(rnn.check_next_word_model, answer, "1.7")


def test_tokenize_and_corpus():
    assert rnn.tokenize("The food was good, not BAD at all.") == ["the", "food", "was", "good", "not", "bad", "at", "all"]
    assert all("cat" in s or "dog" in s for s in rnn.CORPUS)
