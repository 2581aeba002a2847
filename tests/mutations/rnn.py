"""Lab 01's mutation table: wrong and right answers to 1.2 to 1.7, written as students write them.

Answers in NumPy or keras.ops run on every backend (`on_every_backend`); a few keep TensorFlow's own API
(tf.matmul, tf.add_n, tf.one_hot) and run on TensorFlow only. The mistakes only one framework lets a
learner make (JAX's trace, PyTorch's autograd graph) are in the section for that backend at the end."""

from __future__ import annotations

import collections
import re

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from labhelpers import rnn
from mutations import Right, Wrong, after_diagnosis, args, on_every_backend
from right_answers import RightRNNCell


# ---------------------------------------------------------------- 1.2 rnn_step
def step_right(x, h_prev, W_xh, W_hh, W_hy, b):
    h = np.tanh(W_hh @ h_prev + W_xh @ x + b)
    return W_hy @ h, h


def step_float64(x, h_prev, W_xh, W_hh, W_hy, b):
    h = np.tanh(np.dot(W_hh.astype("float64"), h_prev) + np.dot(W_xh.astype("float64"), x) + b)
    return np.dot(W_hy, h), h


def step_einsum(x, h_prev, W_xh, W_hh, W_hy, b):
    h = np.tanh(np.einsum("ij,j->i", W_hh, h_prev) + np.einsum("ij,j->i", W_xh, x) + b)
    return np.einsum("ij,j->i", W_hy, h), h


def step_fused(x, h_prev, W_xh, W_hh, W_hy, b):
    W = np.concatenate([W_hh, W_xh], axis=1)
    h = np.tanh(W @ np.concatenate([h_prev, x]) + b)
    return W_hy @ h, h


def step_rows(x, h_prev, W_xh, W_hh, W_hy, b):
    h = np.array([np.tanh(sum(W_hh[i, j] * h_prev[j] for j in range(len(h_prev)))
                          + sum(W_xh[i, j] * x[j] for j in range(len(x))) + b[i]) for i in range(len(b))])
    return np.array([sum(row * h) for row in W_hy]), h


def step_by_keras(x, h_prev, W_xh, W_hh, W_hy, b):
    """The recurrence left to Keras' SimpleRNNCell, reached under an alias: right values, not the exercise."""
    from keras.layers import SimpleRNNCell as Recurrence

    cell = Recurrence(len(b))
    cell.build((None, len(x)))
    cell.set_weights([W_xh.T, W_hh.T, b])
    h = ops.convert_to_numpy(cell(x[None].astype("float32"), [h_prev[None].astype("float32")])[0])[0]
    return W_hy @ h, h


def step_elementwise(x, h_prev, W_xh, W_hh, W_hy, b):
    h = np.tanh(W_hh * h_prev + W_xh * x + b)
    return W_hy * h, h


def step_elementwise_input(x, h_prev, W_xh, W_hh, W_hy, b):
    h = np.tanh(W_hh @ h_prev + x * W_xh + b)
    return W_hy @ h, h


def step_state_as_column(x, h_prev, W_xh, W_hh, W_hy, b):
    h = np.tanh(h_prev.reshape(-1, 1) * W_hh + W_xh @ x + b)
    return W_hy @ h, h


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


def step_swapped(x, h_prev, W_xh, W_hh, W_hy, b):
    y, h = step_right(x, h_prev, W_xh, W_hh, W_hy, b)
    return h, y


def step_output_tanh(x, h_prev, W_xh, W_hh, W_hy, b):
    h = np.tanh(W_hh @ h_prev + W_xh @ x + b)
    return np.tanh(W_hy @ h), h


def step_y_before_tanh(x, h_prev, W_xh, W_hh, W_hy, b):
    z = W_hh @ h_prev + W_xh @ x + b
    return W_hy @ z, np.tanh(z)


def step_transposed(x, h_prev, W_xh, W_hh, W_hy, b):
    h = np.tanh(W_hh.T @ h_prev + W_xh.T @ x + b)
    return W_hy @ h, h


def step_sigmoid(x, h_prev, W_xh, W_hh, W_hy, b):
    h = 1 / (1 + np.exp(-(W_hh @ h_prev + W_xh @ x + b)))
    return W_hy @ h, h


def step_relu(x, h_prev, W_xh, W_hh, W_hy, b):
    h = np.maximum(0, W_hh @ h_prev + W_xh @ x + b)
    return W_hy @ h, h


# ---------------------------------------------------------------- 1.3 MyRNNCell
def T(W):
    """W transposed: a batch of rows is multiplied as x @ W^T."""
    return ops.transpose(W)


class CellOtherInit(RightRNNCell):
    def __init__(self, rnn_units, output_dim):
        super().__init__(rnn_units, output_dim, init="random_normal", bias_init="zeros")


class CellFloat64(RightRNNCell):
    def __init__(self, rnn_units, output_dim):
        super().__init__(rnn_units, output_dim, dtype="float64")


class CellAtOperator(RightRNNCell):
    def call(self, inputs, states):
        h = ops.tanh(states[0] @ ops.transpose(self.W_hh) + inputs @ ops.transpose(self.W_xh) + self.b)
        return h @ ops.transpose(self.W_hy), [h]


class CellEinsum(RightRNNCell):
    def call(self, inputs, states):
        h = ops.tanh(ops.einsum("bj,ij->bi", states[0], self.W_hh) + ops.einsum("bj,ij->bi", inputs, self.W_xh)
                     + self.b)
        return ops.einsum("bj,ij->bi", h, self.W_hy), [h]


class CellFused(RightRNNCell):
    def call(self, inputs, states):
        W = ops.concatenate([self.W_hh, self.W_xh], axis=1)
        h = ops.tanh(ops.matmul(ops.concatenate([states[0], inputs], axis=1), T(W)) + self.b)
        return ops.matmul(h, T(self.W_hy)), [h]


class CellNoTanh(RightRNNCell):
    def call(self, inputs, states):
        h = self.state_update(inputs, states[0])
        return ops.matmul(h, T(self.W_hy)), [h]


class CellStateNotCarried(RightRNNCell):
    def call(self, inputs, states):
        return super().call(inputs, [ops.zeros_like(states[0])])


class CellTransposedRecurrence(RightRNNCell):
    def call(self, inputs, states):
        h = ops.tanh(ops.matmul(states[0], self.W_hh) + ops.matmul(inputs, T(self.W_xh)) + self.b)
        return ops.matmul(h, T(self.W_hy)), [h]


class CellElementwise(RightRNNCell):
    def call(self, inputs, states):
        h = ops.tanh(self.W_hh * states[0] + ops.matmul(inputs, T(self.W_xh)) + self.b)
        return ops.matmul(h, T(self.W_hy)), [h]


class CellOutputTanh(RightRNNCell):
    def call(self, inputs, states):
        y, new_states = super().call(inputs, states)
        return ops.tanh(y), new_states


class CellReturnsState(RightRNNCell):
    def call(self, inputs, states):
        _, [h] = super().call(inputs, states)
        return h, [h]


class CellAddWeightsTypo(RightRNNCell):
    def build(self, input_shape):
        self.W_xh = self.add_weights([self.rnn_units, input_shape[-1]])


class CellTransposedShapes(RightRNNCell):
    def build(self, input_shape):
        super().build(input_shape)
        self.W_xh = self.add_weight(shape=(input_shape[-1], self.rnn_units), name="W_xh_t")

    def call(self, inputs, states):
        h = ops.tanh(ops.matmul(states[0], T(self.W_hh)) + inputs @ self.W_xh + self.b)
        return ops.matmul(h, T(self.W_hy)), [h]


class CellNoStateSize(RightRNNCell):
    def __init__(self, rnn_units, output_dim):
        keras.layers.Layer.__init__(self)
        self.rnn_units, self.output_dim, self.init = rnn_units, output_dim, "glorot_uniform"


class CellBadlyNamed(RightRNNCell):
    def build(self, input_shape):
        super().build(input_shape)
        self.U = self.W_xh
        del self.W_xh

    def call(self, inputs, states):
        h = ops.tanh(ops.matmul(states[0], T(self.W_hh)) + ops.matmul(inputs, T(self.U)) + self.b)
        return ops.matmul(h, T(self.W_hy)), [h]


class CellZeroBiasUnused(RightRNNCell):
    """b is created (zeros, as the exercise suggests) but left out of the sum: invisible at initialisation."""

    def __init__(self, rnn_units, output_dim):
        super().__init__(rnn_units, output_dim, bias_init="zeros")

    def call(self, inputs, states):
        h = ops.tanh(ops.matmul(states[0], T(self.W_hh)) + ops.matmul(inputs, T(self.W_xh)))
        return ops.matmul(h, T(self.W_hy)), [h]


class CellReadBeforeTanh(RightRNNCell):
    def call(self, inputs, states):
        z = self.state_update(inputs, states[0])
        return ops.matmul(z, T(self.W_hy)), [ops.tanh(z)]


class CellOutputFromOldState(RightRNNCell):
    def call(self, inputs, states):
        _, [h] = super().call(inputs, states)
        return ops.matmul(states[0], T(self.W_hy)), [h]


class CellNumpyTanh(RightRNNCell):
    def call(self, inputs, states):
        h = np.tanh(self.state_update(inputs, states[0]))
        return ops.matmul(h, T(self.W_hy)), [h]


class CellSigmoid(RightRNNCell):
    def call(self, inputs, states):
        h = ops.sigmoid(self.state_update(inputs, states[0]))
        return ops.matmul(h, T(self.W_hy)), [h]


class CellOutputBias(RightRNNCell):
    """An extra output bias c (zeros at initialisation) that the formula does not have."""

    def build(self, input_shape):
        super().build(input_shape)
        self.c = self.add_weight(shape=(self.output_dim,), initializer="zeros", name="c")

    def call(self, inputs, states):
        y, new_states = super().call(inputs, states)
        return y + self.c, new_states


class CellStateDetached(RightRNNCell):
    def call(self, inputs, states):
        return super().call(inputs, [ops.stop_gradient(states[0])])


# ---------------------------------------------------------------- 1.4 unrolled_loss
def carried(h_new, h):
    return h_new


def not_carried(h_new, h):
    return h


def loss_loop(cell, inputs, targets, *, carry=carried, from_logits=True, score="y", batch=ops.mean,
              steps=None, total=sum, zeros=ops.zeros, softmax=ops.softmax):
    """A student's loop; the keyword arguments make the classic wrong versions (`carry(h_new, h)` is the
    state the next step gets)."""
    h = zeros((inputs.shape[0], cell.state_size))
    losses = []
    for t in range(inputs.shape[1] if steps is None else steps(inputs.shape[1])):
        y, (h_new,) = cell(inputs[:, t], [h])
        h = carry(h_new, h)
        scores = {"y": y, "h": h_new, "softmax": softmax(y)}[score]
        losses.append(batch(keras.losses.sparse_categorical_crossentropy(targets[:, t], scores, from_logits=from_logits)))
    return total(losses), losses


def carrying(carry):
    """Exercise 1.4's loop whose next state is `carry(h_new, h)`."""
    return args(lambda c, x, y: loss_loop(c, x, y, carry=carry))


def loss_stacked(cell, inputs, targets):
    return loss_loop(cell, inputs, targets, total=lambda losses: ops.sum(ops.stack(losses)))


def loss_tf_add_n(cell, inputs, targets):
    """TensorFlow's own ops, as the lab was first written."""
    return loss_loop(cell, inputs, targets, batch=tf.reduce_mean, total=tf.add_n, zeros=tf.zeros)


def loss_keras_object(cell, inputs, targets):
    score = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    h, losses = ops.zeros((inputs.shape[0], cell.state_size)), []
    for t in range(inputs.shape[1]):
        y, [h] = cell(inputs[:, t], [h])
        losses.append(score(targets[:, t], y))
    return sum(losses), losses


def loss_log_softmax(cell, inputs, targets):
    h, losses = ops.zeros((inputs.shape[0], cell.state_size)), []
    for t in range(inputs.shape[1]):
        y, [h] = cell(inputs[:, t], [h])
        picked = ops.sum(ops.one_hot(targets[:, t], y.shape[-1]) * ops.log_softmax(y), axis=-1)
        losses.append(-ops.mean(picked))
    return ops.sum(ops.stack(losses)), losses


def loss_np_mean(cell, inputs, targets):
    """np.mean over the batch: NumPy leaves TensorFlow's graph, and PyTorch's tensors refuse NumPy's arguments.
    (On JAX np.mean calls the array's own mean, a jax operation, so the gradient survives: not a row there.)"""
    return loss_loop(cell, inputs, targets, batch=np.mean)


def loss_float_total(cell, inputs, targets):
    _, losses = loss_loop(cell, inputs, targets)
    return sum(float(l) for l in losses), losses


def loss_last_only(cell, inputs, targets):
    h = ops.zeros((inputs.shape[0], cell.state_size))
    losses = []
    for t in range(inputs.shape[1]):
        y, [h] = cell(inputs[:, t], [h])
        loss = ops.mean(keras.losses.sparse_categorical_crossentropy(targets[:, t], y, from_logits=True))
        losses.append(loss)
    return loss, losses


def loss_h0_output_size(cell, inputs, targets):
    h = ops.zeros((inputs.shape[0], cell.output_size))
    losses = []
    for t in range(inputs.shape[1]):
        y, [h] = cell(inputs[:, t], [h])
        losses.append(ops.mean(keras.losses.sparse_categorical_crossentropy(targets[:, t], y, from_logits=True)))
    return sum(losses), losses


def loss_targets_shifted(cell, inputs, targets):
    h = ops.zeros((inputs.shape[0], cell.state_size))
    losses = []
    for t in range(inputs.shape[1]):
        y, [h] = cell(inputs[:, t], [h])
        target = targets[:, min(t + 1, inputs.shape[1] - 1)]
        losses.append(ops.mean(keras.losses.sparse_categorical_crossentropy(target, y, from_logits=True)))
    return sum(losses), losses


# ---------------------------------------------------------------- 1.5a build_vocabulary
def vocabulary_right(sentences):
    words = sorted({w for s in sentences for w in rnn.tokenize(s)})
    return {w: i for i, w in enumerate(words, start=1)}


def vocabulary_unique(sentences):
    words = np.unique([w for s in sentences for w in rnn.tokenize(s)])
    return dict(zip(words, np.arange(1, len(words) + 1)))


def vocabulary_loop(sentences):
    words = []
    for sentence in sentences:
        for word in rnn.tokenize(sentence):
            if word not in words:
                words.append(word)
    words.sort()
    return dict(zip(words, range(1, len(words) + 1)))


def vocabulary_from_zero(sentences):
    return {w: i - 1 for w, i in vocabulary_right(sentences).items()}


def vocabulary_in_order_seen(sentences):
    words = list(dict.fromkeys(w for s in sentences for w in rnn.tokenize(s)))
    return {w: i for i, w in enumerate(words, start=1)}


def vocabulary_raw_split(sentences):
    words = sorted({w for s in sentences for w in s.split()})
    return {w: i for i, w in enumerate(words, start=1)}


def vocabulary_not_lowered(sentences):
    words = sorted({w for s in sentences for w in re.findall(r"[A-Za-z']+", s)})
    return {w: i for i, w in enumerate(words, start=1)}


def vocabulary_reversed(sentences):
    words = sorted({w for s in sentences for w in rnn.tokenize(s)}, reverse=True)
    return {w: i for i, w in enumerate(words, start=1)}


def vocabulary_inverted(sentences):
    return {i: w for w, i in vocabulary_right(sentences).items()}


def vocabulary_with_duplicates(sentences):
    words = sorted(w for s in sentences for w in rnn.tokenize(s))
    return {w: i for i, w in enumerate(words, start=1)}


def vocabulary_string_indices(sentences):
    return {w: str(i) for w, i in vocabulary_right(sentences).items()}


def vocabulary_with_pad(sentences):
    return {"<pad>": 0, **vocabulary_right(sentences)}


def vocabulary_by_frequency(sentences):
    counts = collections.Counter(w for s in sentences for w in rnn.tokenize(s))
    return {w: i for i, (w, _) in enumerate(counts.most_common(), start=1)}


# ---------------------------------------------------------------- 1.5b one_hot
def one_hot_loop_1d(indices, vocab_size):
    out = np.zeros((len(indices), vocab_size))
    for i, k in enumerate(indices):
        out[i, k] = 1
    return out


def one_hot_put(indices, vocab_size):
    indices = np.asarray(indices)
    out = np.zeros(indices.shape + (vocab_size,), dtype="float32")
    np.put_along_axis(out, indices[..., None], 1.0, axis=-1)
    return out


# ---------------------------------------------------------------- 1.7 build_next_word_model
def model_right(vocab_size, embedding_dim, rnn_units):
    return keras.Sequential([keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True),
                             keras.layers.RNN(RightRNNCell(rnn_units, vocab_size))])


def model_functional(vocab_size, embedding_dim, rnn_units):
    ids = keras.Input((None,), dtype="int32")
    embedded = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True)(ids)
    return keras.Model(ids, keras.layers.RNN(CellEinsum(rnn_units, vocab_size))(embedded))


def model_added(vocab_size, embedding_dim, rnn_units):
    model = keras.Sequential()
    model.add(keras.layers.Embedding(input_dim=vocab_size, output_dim=embedding_dim, mask_zero=True))
    model.add(keras.layers.RNN(CellOtherInit(rnn_units=rnn_units, output_dim=vocab_size)))
    return model


def model_then(make_layer):
    """A model builder: Embedding with mask, RNN(RightRNNCell), then the layer `make_layer()`."""
    def build(vocab_size, embedding_dim, rnn_units):
        return keras.Sequential([keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True),
                                 keras.layers.RNN(RightRNNCell(rnn_units, vocab_size)), make_layer()])
    return build


def model_all_steps(vocab_size, embedding_dim, rnn_units):
    return keras.Sequential([keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True),
                             keras.layers.RNN(RightRNNCell(rnn_units, vocab_size), return_sequences=True)])


def model_last_word_only(vocab_size, embedding_dim, rnn_units):
    return keras.Sequential([keras.layers.Embedding(vocab_size, embedding_dim),
                             keras.layers.Lambda(lambda e: e[:, -1]), keras.layers.Dense(vocab_size)])


def model_without_embedding(vocab_size, embedding_dim, rnn_units):
    return keras.Sequential([keras.layers.Lambda(lambda ids: ops.one_hot(ids, vocab_size)),
                             keras.layers.RNN(RightRNNCell(rnn_units, vocab_size))])


def model_no_mask(vocab_size, embedding_dim, rnn_units):
    return keras.Sequential([keras.layers.Embedding(vocab_size, embedding_dim),
                             keras.layers.RNN(RightRNNCell(rnn_units, vocab_size))])


def model_cell_args_swapped(vocab_size, embedding_dim, rnn_units):
    return keras.Sequential([keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True),
                             keras.layers.RNN(RightRNNCell(vocab_size, rnn_units))])


def model_embedding_one_more(vocab_size, embedding_dim, rnn_units):
    return keras.Sequential([keras.layers.Embedding(vocab_size + 1, embedding_dim, mask_zero=True),
                             keras.layers.RNN(RightRNNCell(rnn_units, vocab_size))])


def model_keras_rnn(vocab_size, embedding_dim, rnn_units):
    return keras.Sequential([keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True),
                             keras.layers.SimpleRNN(rnn_units), keras.layers.Dense(vocab_size)])


def model_dense_head(vocab_size, embedding_dim, rnn_units):
    return keras.Sequential([keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True),
                             keras.layers.RNN(RightRNNCell(rnn_units, rnn_units)), keras.layers.Dense(vocab_size)])


def model_backwards(vocab_size, embedding_dim, rnn_units):
    return keras.Sequential([keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True),
                             keras.layers.RNN(RightRNNCell(rnn_units, vocab_size), go_backwards=True)])


def model_drops_last_word(vocab_size, embedding_dim, rnn_units):
    return keras.Sequential([keras.layers.Embedding(vocab_size, embedding_dim),
                             keras.layers.Lambda(lambda e: e[:, :-1]),
                             keras.layers.RNN(RightRNNCell(rnn_units, vocab_size))])


def model_wrong_cell(vocab_size, embedding_dim, rnn_units):
    return keras.Sequential([keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True),
                             keras.layers.RNN(CellNoTanh(rnn_units, vocab_size))])


WRONG = on_every_backend(
    Wrong("1.2", "elementwise * for the matrix products", args(step_elementwise),
          r"W_hh h_\{t-1\} and W_xh x_t are elementwise products \(`\*`\) where a matrix product is meant"),
    Wrong("1.2", "x * W_xh", args(step_elementwise_input),
          r"W_xh x_t is an elementwise product \(`\*`\) where a matrix product is meant"),
    Wrong("1.2", "h_prev as a column * W_hh", args(step_state_as_column),
          r"W_hh h_\{t-1\} is an elementwise product \(`\*`\), the vector taken as a column"),
    Wrong("1.2", "Keras' SimpleRNNCell does the step", args(step_by_keras), r"called `keras\.layers\.SimpleRNNCell"),
    Wrong("1.2", "tanh missing", args(step_no_tanh), r"tanh is missing"),
    Wrong("1.2", "bias left out", args(step_no_bias), r"bias b is missing"),
    Wrong("1.2", "previous state ignored", args(step_ignores_state), r"previous state is ignored"),
    Wrong("1.2", "y from h_{t-1}", args(step_y_from_old_state), r"ŷ_t is computed from h_\{t-1\}"),
    Wrong("1.2", "returns h only", args(step_returns_h_only), r"must return two things"),
    Wrong("1.2", "returns (h, y)", args(step_swapped), r"wrong order"),
    Wrong("1.2", "tanh on y", args(step_output_tanh), r"ŷ_t has a tanh"),
    Wrong("1.2", "y read before the tanh", args(step_y_before_tanh), r"read out before the tanh"),
    Wrong("1.2", "weights transposed", args(step_transposed), r"transposed"),
    Wrong("1.2", "sigmoid for tanh", args(step_sigmoid), r"sigmoid"),
    Wrong("1.2", "ReLU for tanh", args(step_relu), None),
    Wrong("1.3", "tanh missing", args(CellNoTanh), r"tanh is missing"),
    Wrong("1.3", "state not carried", args(CellStateNotCarried), r"state is not carried"),
    Wrong("1.3", "W_hh transposed", args(CellTransposedRecurrence), r"W_hh is transposed"),
    Wrong("1.3", "elementwise * with W_hh", args(CellElementwise), r"elementwise"),
    Wrong("1.3", "tanh on y", args(CellOutputTanh), r"ŷ_t has a tanh"),
    Wrong("1.3", "outputs the state", args(CellReturnsState), r"output_dim=\d+ numbers per step"),
    Wrong("1.3", "add_weights typo", args(CellAddWeightsTypo), r"add_weight` \(singular\)"),
    Wrong("1.3", "W_xh stored transposed", args(CellTransposedShapes), r"the transpose"),
    Wrong("1.3", "no state_size", args(CellNoStateSize), r"state_size"),
    Wrong("1.3", "W_xh named U", args(CellBadlyNamed), r"no attribute `W_xh`"),
    Wrong("1.3", "zero-initialised bias never used", args(CellZeroBiasUnused), r"bias b is missing"),
    Wrong("1.3", "y read before the tanh", args(CellReadBeforeTanh), r"read out before the tanh"),
    Wrong("1.3", "y from h_{t-1}", args(CellOutputFromOldState), r"ŷ_t is computed from h_\{t-1\}"),
    Wrong("1.3", "np.tanh in call", args(CellNumpyTanh), r"no gradient reaches|keras\.ops"),
    Wrong("1.3", "sigmoid for tanh", args(CellSigmoid), r"sigmoid"),
    Wrong("1.3", "extra output bias (zeros)", args(CellOutputBias), r"other weights"),
    Wrong("1.3", "state detached from the gradient", args(CellStateDetached), r"gradient for `W_\w+` differs"),
    Wrong("1.4", "state not carried", carrying(not_carried), r"state is not carried"),
    Wrong("1.4", "logits taken as probabilities", args(lambda c, x, y: loss_loop(c, x, y, from_logits=False)),
          r"treated as probabilities"),
    Wrong("1.4", "total is the mean over time",
          args(lambda c, x, y: loss_loop(c, x, y, total=lambda losses: ops.mean(ops.stack(losses)))),
          r"mean over time"),
    Wrong("1.4", "last step skipped", args(lambda c, x, y: loss_loop(c, x, y, steps=lambda T: T - 1)),
          r"one loss per time step"),
    Wrong("1.4", "returns the total only", args(lambda c, x, y: loss_loop(c, x, y)[0]), r"must return two things"),
    Wrong("1.4", "loss of the state h_t", args(lambda c, x, y: loss_loop(c, x, y, score="h")),
          r"state h_t instead of the output ŷ_t"),
    Wrong("1.4", "summed over the batch", args(lambda c, x, y: loss_loop(c, x, y, batch=ops.sum)),
          r"summed over the batch"),
    Wrong("1.4", "per-example losses kept", args(lambda c, x, y: loss_loop(c, x, y, batch=lambda v: v)),
          r"not averaged over the batch"),
    Wrong("1.4", "total as a Python float", args(loss_float_total), r"no gradient flows"),
    Wrong("1.4", "total is the last L_t", args(loss_last_only), r"last step only"),
    Wrong("1.4", "h_0 sized by output_size", args(loss_h0_output_size), r"raised"),
    Wrong("1.4", "targets one step ahead", args(loss_targets_shifted), None),
    Wrong("1.5a", "numbered from 0", args(vocabulary_from_zero), r"index 0 is kept for padding"),
    Wrong("1.5a", "order of first appearance", args(vocabulary_in_order_seen), r"first appear"),
    Wrong("1.5a", "str.split", args(vocabulary_raw_split), r"wrong words"),
    Wrong("1.5a", "returns a list", args(lambda s: sorted(vocabulary_right(s))), r"must return a dict"),
    Wrong("1.5a", "not lower-cased", args(vocabulary_not_lowered), r"wrong words"),
    Wrong("1.5a", "reverse sorted", args(vocabulary_reversed), r"reverse sorted"),
    Wrong("1.5a", "index -> word", args(vocabulary_inverted), r"maps indices to words"),
    Wrong("1.5a", "duplicates counted", args(vocabulary_with_duplicates), r"not 1, 2, \.\.\., n"),
    Wrong("1.5a", "indices as strings", args(vocabulary_string_indices), r"not all integers"),
    Wrong("1.5a", "<pad> in the vocabulary", args(vocabulary_with_pad), r"unexpected \['<pad>'\]"),
    Wrong("1.5a", "by frequency", args(vocabulary_by_frequency), r"not numbered in sorted order"),
    Wrong("1.5b", "shifted by one", args(lambda idx, v: np.eye(v)[np.asarray(idx) - 1]), r"one place to the left"),
    Wrong("1.5b", "flattened", args(lambda idx, v: np.eye(v)[np.ravel(idx)]), r"flattened"),
    Wrong("1.5b", "vocab_size + 1 positions", args(lambda idx, v: np.eye(v + 1)[idx]), r"one position too many"),
    Wrong("1.5b", "all ones", args(lambda idx, v: np.ones(np.shape(idx) + (v,))), r"every position is 1"),
    Wrong("1.5b", "integers", args(lambda idx, v: np.eye(v, dtype=int)[idx]), r"must return floats"),
    Wrong("1.5b", "vocabulary axis first", args(lambda idx, v: np.eye(v)[:, idx]), r"vocabulary axis comes first"),
    Wrong("1.5b", "a Python list", args(lambda idx, v: np.eye(v)[idx].tolist()), r"must return an array"),
    Wrong("1.5b", "loop for 1-D only", args(one_hot_loop_1d), r"wrong shape"),
    Wrong("1.5b", "never sets the 1", args(lambda idx, v: np.zeros(np.shape(idx) + (v,))), r"no position is set"),
    Wrong("1.5b", "booleans", args(lambda idx, v: np.arange(v) == np.asarray(idx)[..., None]), r"must return floats"),
    Wrong("1.5b", "sized from the data: np.eye(ids.max() + 1)",
          args(lambda idx, v: np.eye(np.max(idx) + 1)[idx]), r"largest index in the data"),
    Wrong("1.5b", "shifted right", args(lambda idx, v: np.roll(np.eye(v)[idx], 1, axis=-1)), r"one place to the right"),
    Wrong("1.7", "softmax at the end", args(model_then(keras.layers.Softmax)), r"outputs probabilities"),
    Wrong("1.7", "every step's output", args(model_all_steps), r"one output per time step"),
    Wrong("1.7", "last word only, no RNN", args(model_last_word_only), r"does not run your MyRNNCell"),
    Wrong("1.7", "one-hot instead of an Embedding", args(model_without_embedding), r"no Embedding"),
    Wrong("1.7", "padding not masked", args(model_no_mask), r"not masked"),
    Wrong("1.7", "MyRNNCell(vocab_size, rnn_units)", args(model_cell_args_swapped), r"output_dim must be vocab_size"),
    Wrong("1.7", "Embedding(vocab_size + 1, ...)", args(model_embedding_one_more), r"Embedding has the wrong size"),
    Wrong("1.7", "SimpleRNN + Dense", args(model_keras_rnn), r"does not run your MyRNNCell"),
    Wrong("1.7", "tanh on the logits", args(model_then(lambda: keras.layers.Activation("tanh"))), r"through a tanh"),
    Wrong("1.7", "Dense head after a square cell", args(model_dense_head), r"`W_hy` has shape"),
    Wrong("1.7", "reads backwards", args(model_backwards), None),
    Wrong("1.7", "drops the last word", args(model_drops_last_word), r"ignores the last word"),
    Wrong("1.7", "cell without tanh", args(model_wrong_cell), None),
)

RIGHT = on_every_backend(
    Right("1.2", "@ as in the formula", args(step_right)),
    Right("1.2", "float64 np.dot", args(step_float64)),
    Right("1.2", "einsum", args(step_einsum)),
    Right("1.2", "fused [W_hh W_xh] on [h; x]", args(step_fused)),
    Right("1.2", "Python loops over rows", args(step_rows)),
    Right("1.3", "keras.ops, glorot, random bias", args(RightRNNCell)),
    Right("1.3", "random_normal weights, zero bias", args(CellOtherInit)),
    Right("1.3", "@ and ops.transpose", args(CellAtOperator)),
    Right("1.3", "float64 weights", args(CellFloat64)),
    Right("1.3", "einsum", args(CellEinsum)),
    Right("1.3", "fused matrix on concat([h, x])", args(CellFused)),
    Right("1.4", "ops.mean, Python sum", args(loss_loop)),
    Right("1.4", "ops.sum of ops.stack", args(loss_stacked)),
    Right("1.4", "Keras loss object, Python sum", args(loss_keras_object)),
    Right("1.4", "log_softmax by hand", args(loss_log_softmax)),
    Right("1.5a", "set, sorted, enumerate", args(vocabulary_right)),
    Right("1.5a", "np.unique", args(vocabulary_unique)),
    Right("1.5a", "loop, sort, zip", args(vocabulary_loop)),
    Right("1.5b", "np.eye lookup", args(lambda idx, v: np.eye(v, dtype="float32")[idx])),
    Right("1.5b", "keras.ops.one_hot", args(lambda idx, v: ops.one_hot(idx, v))),
    Right("1.5b", "comparison with arange", args(lambda idx, v: (np.arange(v) == np.asarray(idx)[..., None]).astype(float))),
    Right("1.5b", "np.put_along_axis", args(one_hot_put)),
    Right("1.7", "Sequential of a list", args(model_right)),
    Right("1.7", "functional API, einsum cell", args(model_functional)),
    Right("1.7", "Sequential.add, keyword arguments", args(model_added)),
)


WRONG.append(Wrong("1.4", "np.mean over the batch", args(loss_np_mean), r"no gradient flows|keras\.ops",
                   backends=("tensorflow", "torch")))
# On TensorFlow, Keras' cross-entropy takes ops.softmax's output back to its logits (with a warning), which
# makes that slip right there; tf.nn.softmax it cannot see through.
WRONG += [
    Wrong("1.4", "softmax then from_logits", args(lambda c, x, y: loss_loop(c, x, y, score="softmax")),
          r"softmax is applied twice", backends=("jax", "torch")),
    Wrong("1.4", "tf.nn.softmax then from_logits",
          args(lambda c, x, y: loss_loop(c, x, y, score="softmax", softmax=tf.nn.softmax)), r"softmax is applied twice"),
]

# TensorFlow's own API, as the lab was first written: TensorFlow only.
class CellTensorFlowMatmul(RightRNNCell):
    def state_update(self, x, h_prev):
        return tf.matmul(h_prev, self.W_hh, transpose_b=True) + tf.matmul(x, self.W_xh, transpose_b=True) + self.b

    def call(self, inputs, states):
        h = tf.tanh(self.state_update(inputs, states[0]))
        return tf.matmul(h, self.W_hy, transpose_b=True), [h]


RIGHT += [
    Right("1.3", "tf.matmul with transpose_b, glorot, random bias", args(CellTensorFlowMatmul)),
    Right("1.4", "tf.add_n, tf.reduce_mean", args(loss_tf_add_n)),
    Right("1.5b", "tf.one_hot", args(lambda idx, v: tf.one_hot(idx, v))),
]


# ---------------------------------------------------------------- written after diagnosis.py: tests its generality
# Wrong answers written once labhelpers/judges/diagnosis.py was in place, as students write them, each with the
# name a good diagnosis gives (None where nothing can single it out); bench/check_mutations.py counts them apart.
def step_elementwise_recurrence(x, h_prev, W_xh, W_hh, W_hy, b):
    h = np.tanh(W_hh * h_prev + W_xh @ x + b)
    return W_hy @ h, h


def step_row_vector_habit(x, h_prev, W_xh, W_hh, W_hy, b):
    """Batch-code habit: h @ W."""
    h = np.tanh(h_prev @ W_hh + W_xh @ x + b)
    return W_hy @ h, h


def step_bias_after_tanh(x, h_prev, W_xh, W_hh, W_hy, b):
    h = np.tanh(W_hh @ h_prev + W_xh @ x) + b
    return W_hy @ h, h


def step_tanh_twice(x, h_prev, W_xh, W_hh, W_hy, b):
    h = np.tanh(W_hh @ h_prev + W_xh @ x + b)
    h = np.tanh(h)
    return W_hy @ h, h


def step_input_twice(x, h_prev, W_xh, W_hh, W_hy, b):
    h = np.tanh(W_xh @ x + W_hh @ h_prev + W_xh @ x + b)
    return W_hy @ h, h


def step_elementwise_readout(x, h_prev, W_xh, W_hh, W_hy, b):
    h = np.tanh(W_hh @ h_prev + W_xh @ x + b)
    return W_hy * h, h


WRONG += on_every_backend(*after_diagnosis(
    Wrong("1.2", "elementwise * in the recurrent term only", args(step_elementwise_recurrence), r"elementwise"),
    Wrong("1.2", "h_prev @ W_hh (row-vector habit)", args(step_row_vector_habit), r"transposed|other order"),
    Wrong("1.2", "bias added after the tanh", args(step_bias_after_tanh), r"bias .*(after|outside) the tanh"),
    Wrong("1.2", "tanh applied twice", args(step_tanh_twice), r"applied twice"),
    Wrong("1.2", "W_xh x_t added twice", args(step_input_twice), r"W_xh x_t is counted twice"),
    Wrong("1.2", "elementwise * in the readout", args(step_elementwise_readout), r"elementwise"),
))


# ---------------------------------------------------------------- JAX: what its trace lets a learner get wrong
# jax is imported inside the answers: this table is also read where only TensorFlow is installed.
class CellJaxStopGradient(RightRNNCell):
    """jax.lax.stop_gradient on h_{t-1}: right values, but training sees one step at a time."""

    def call(self, inputs, states):
        import jax

        return super().call(inputs, [jax.lax.stop_gradient(states[0])])


class CellJaxNumpyState(RightRNNCell):
    """np.asarray on h_{t-1}, as NumPy habit has it: it cannot run under JAX's trace (keras.layers.RNN's
    jax.lax.scan, jax.grad)."""

    def call(self, inputs, states):
        return super().call(inputs, [np.asarray(states[0])])


class CellJaxNumpyOps(RightRNNCell):
    """jax.numpy instead of keras.ops: JAX differentiates it."""

    def call(self, inputs, states):
        import jax.numpy as jnp

        h = jnp.tanh(jnp.matmul(states[0], jnp.transpose(self.W_hh.value)) + jnp.matmul(inputs, self.W_xh.value.T)
                     + self.b.value)
        return jnp.matmul(h, self.W_hy.value.T), [h]


def loss_jax_float_steps(cell, inputs, targets):
    """Each L_t through float() (to print it, say), then summed with jnp: constants to jax.grad's trace."""
    import jax.numpy as jnp

    _, losses = loss_loop(cell, inputs, targets)
    return jnp.sum(jnp.array([float(loss) for loss in losses])), losses


def loss_jax_item_assignment(cell, inputs, targets):
    """NumPy's habit of filling a preallocated array: JAX arrays are immutable."""
    import jax.numpy as jnp

    h, losses = ops.zeros((inputs.shape[0], cell.state_size)), jnp.zeros(inputs.shape[1])
    for t in range(inputs.shape[1]):
        y, [h] = cell(inputs[:, t], [h])
        losses[t] = ops.mean(keras.losses.sparse_categorical_crossentropy(targets[:, t], y, from_logits=True))
    return losses.sum(), list(losses)


def loss_jax_numpy(cell, inputs, targets):
    """jax.numpy and jax.nn: the cross-entropy by hand, which jax.grad differentiates."""
    import jax
    import jax.numpy as jnp

    h, losses = jnp.zeros((inputs.shape[0], cell.state_size)), []
    for t in range(inputs.shape[1]):
        y, [h] = cell(inputs[:, t], [h])
        picked = jnp.take_along_axis(jax.nn.log_softmax(y), targets[:, t, None], axis=-1)
        losses.append(-jnp.mean(picked))
    return jnp.sum(jnp.stack(losses)), losses


def stop_gradient_jax(h_new, h):
    import jax

    return jax.lax.stop_gradient(h_new)


def through_numpy(h_new, h):
    """The state through np.asarray between steps: fine eagerly, a TracerArrayConversionError under jax.grad."""
    return np.asarray(h_new)


JAX = ("jax",)
WRONG += [
    Wrong("1.3", "jax.lax.stop_gradient on h_{t-1}", args(CellJaxStopGradient), r"gradient for `W_\w+` differs",
          backends=JAX),
    Wrong("1.3", "np.asarray on h_{t-1} inside call", args(CellJaxNumpyState), r"keras\.ops", backends=JAX),
    Wrong("1.4", "float() of each L_t, summed with jnp", args(loss_jax_float_steps), r"no gradient flows",
          backends=JAX),
    Wrong("1.4", "jax.lax.stop_gradient on h each step", carrying(stop_gradient_jax), r"gradient of L differs",
          backends=JAX),
    Wrong("1.4", "losses[t] = L_t into a jnp array", args(loss_jax_item_assignment), r"in place", backends=JAX),
    Wrong("1.4", "np.asarray on the state between steps", carrying(through_numpy), r"no gradient flows",
          backends=JAX),
]
RIGHT += [
    Right("1.3", "jax.numpy in call", args(CellJaxNumpyOps), backends=JAX),
    Right("1.4", "jax.nn.log_softmax and jnp.take_along_axis", args(loss_jax_numpy), backends=JAX),
]


# ---------------------------------------------------------------- PyTorch: what autograd lets a learner get wrong
class CellTorchDetach(RightRNNCell):
    def call(self, inputs, states):
        return super().call(inputs, [states[0].detach()])


class CellTorchData(RightRNNCell):
    def call(self, inputs, states):
        return super().call(inputs, [states[0].data])


class CellTorchNoGrad(RightRNNCell):
    """The state update under torch.no_grad(), as in an inference snippet: only W_hy still learns."""

    def call(self, inputs, states):
        import torch

        with torch.no_grad():
            h = ops.tanh(self.state_update(inputs, states[0]))
        return ops.matmul(h, T(self.W_hy)), [h]


class CellTorchNumpy(RightRNNCell):
    """The state through .numpy() and back: refused once h carries a gradient."""

    def call(self, inputs, states):
        import torch

        return super().call(inputs, [torch.from_numpy(states[0].numpy())])


class CellTorchInPlaceState(RightRNNCell):
    """The new state written into the old one (`copy_`), which the backward pass still needs."""

    def call(self, inputs, states):
        y, [h] = super().call(inputs, states)
        states[0].copy_(h)
        return y, [states[0]]


class CellTorchOps(RightRNNCell):
    """torch.matmul and torch.tanh on the weights' tensors: autograd differentiates them."""

    def call(self, inputs, states):
        import torch

        W_xh, W_hh, b, W_hy = (w.value for w in (self.W_xh, self.W_hh, self.b, self.W_hy))
        h = torch.tanh(torch.matmul(states[0], W_hh.T) + torch.matmul(inputs, W_xh.T) + b)
        return torch.matmul(h, W_hy.T), [h]


class CellTorchInPlaceTanh(RightRNNCell):
    """tanh_ in place on the fresh pre-activation: allowed, nothing else needs it."""

    def call(self, inputs, states):
        h = self.state_update(inputs, states[0]).tanh_()
        return ops.matmul(h, T(self.W_hy)), [h]


def loss_torch_no_grad(cell, inputs, targets):
    """The unroll under torch.no_grad(), as in an evaluation loop: nothing for autograd to follow."""
    import torch

    with torch.no_grad():
        return loss_loop(cell, inputs, targets)


def loss_torch_item(cell, inputs, targets):
    _, losses = loss_loop(cell, inputs, targets)
    losses = [loss.item() for loss in losses]
    return sum(losses), losses


def loss_torch_tensor_of_losses(cell, inputs, targets):
    """torch.tensor(...) of the L_t: a new tensor of their values, without their graph."""
    import torch

    _, losses = loss_loop(cell, inputs, targets)
    return torch.tensor([loss.item() for loss in losses]).sum(), losses


def loss_torch_accumulated(cell, inputs, targets):
    """L accumulated in place (total += L_t): allowed, autograd needs no earlier value of the sum."""
    import torch

    h, losses, total = torch.zeros(inputs.shape[0], cell.state_size), [], torch.zeros(())
    for t in range(inputs.shape[1]):
        y, [h] = cell(inputs[:, t], [h])
        losses.append(ops.mean(keras.losses.sparse_categorical_crossentropy(targets[:, t], y, from_logits=True)))
        total += losses[-1]
    return total, losses


def loss_torch_functional(cell, inputs, targets):
    """torch.nn.functional.cross_entropy (the mean over the batch by default) and torch.stack."""
    import torch
    import torch.nn.functional as F

    h, losses = torch.zeros(inputs.shape[0], cell.state_size), []
    for t in range(inputs.shape[1]):
        y, [h] = cell(inputs[:, t], [h])
        losses.append(F.cross_entropy(y, targets[:, t].long()))
    return torch.stack(losses).sum(), losses


def detached(h_new, h):
    """h detached after every step ("to save memory"): backpropagation through one step only."""
    return h_new.detach()


def data_of(h_new, h):
    return h_new.data


def copied_into(h_new, h):
    """One state buffer overwritten each step (`copy_`): the backward pass needs every h_{t-1}."""
    return h.copy_(h_new)


TORCH = ("torch",)
WRONG += [
    Wrong("1.3", ".detach() on h_{t-1}", args(CellTorchDetach), r"gradient for `W_\w+` differs", backends=TORCH),
    Wrong("1.3", "h_{t-1}.data", args(CellTorchData), r"gradient for `W_\w+` differs", backends=TORCH),
    Wrong("1.3", "state update under torch.no_grad()", args(CellTorchNoGrad), r"no gradient reaches", backends=TORCH),
    Wrong("1.3", "h_{t-1} through .numpy() and back", args(CellTorchNumpy), r"keras\.ops", backends=TORCH),
    Wrong("1.3", "new state copied into the old one in place", args(CellTorchInPlaceState), r"in-place",
          backends=TORCH),
    Wrong("1.4", "h.detach() after every step", carrying(detached), r"gradient of L differs", backends=TORCH),
    Wrong("1.4", "h = h_new.data", carrying(data_of), r"gradient of L differs", backends=TORCH),
    Wrong("1.4", "unroll under torch.no_grad()", args(loss_torch_no_grad), r"no gradient flows", backends=TORCH),
    Wrong("1.4", ".item() of each L_t", args(loss_torch_item), r"no gradient flows", backends=TORCH),
    Wrong("1.4", "torch.tensor of the L_t", args(loss_torch_tensor_of_losses), r"no gradient flows", backends=TORCH),
    Wrong("1.4", "one state buffer, overwritten with copy_", carrying(copied_into), r"in-place",
          backends=TORCH),
]
RIGHT += [
    Right("1.3", "torch.matmul and torch.tanh", args(CellTorchOps), backends=TORCH),
    Right("1.3", "tanh_ in place on the pre-activation", args(CellTorchInPlaceTanh), backends=TORCH),
    Right("1.4", "total += L_t in place", args(loss_torch_accumulated), backends=TORCH),
    Right("1.4", "F.cross_entropy and torch.stack", args(loss_torch_functional), backends=TORCH),
]
