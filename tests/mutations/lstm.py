"""Lab 02's mutation table: wrong and right answers to 2.1, 2.1b, 2.2 and 2.4, written as students write them."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from mutations import Right, Wrong, after_diagnosis
from right_answers import RightRNNCell


# ---------------------------------------------------------------- 2.1 hidden_state_gradients
def gradients_by_tape(cell, x, *, loss="last y", stack_axis=0, keep_h0=False, carry=True, short=False,
                      stack=True, wrt="h"):
    """A student's tape loop; the keyword arguments make the classic wrong versions
    (carry=False: tf.stop_gradient between steps; carry="never": every step starts from h_0)."""
    batch, length = x.shape[0], x.shape[1]
    h = tf.zeros((batch, cell.state_size))
    states, inputs, total = ([h] if keep_h0 else []), [], 0.0
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(h)
        for t in range(length - 1 if short else length):
            x_t = tf.constant(x[:, t])
            tape.watch(x_t)
            y, [h_new] = cell(x_t, [h])
            states.append(h_new if carry else tf.stop_gradient(h_new))
            h = {True: h_new, False: states[-1], "never": h}[carry]
            inputs.append(x_t)
            total += tf.reduce_sum(y)
        objective = {"last y": tf.reduce_sum(y), "every y": total, "mean y": tf.reduce_mean(y),
                     "last h": tf.reduce_sum(h)}[loss]
    grads = tape.gradient(objective, inputs if wrt == "x" else states)
    if not stack:
        return grads
    return tf.stack(grads, axis=stack_axis)


def gradients_from_h0(cell, x):
    """The list starts at h_0 and stops one step before the end (an off-by-one in the bookkeeping)."""
    return gradients_by_tape(cell, x, keep_h0=True)[:-1]


def gradients_reversed(cell, x):
    return gradients_by_tape(cell, x)[::-1]


def gradients_loss_outside_tape(cell, x):
    h, states = tf.zeros((x.shape[0], cell.state_size)), []
    with tf.GradientTape() as tape:
        for t in range(x.shape[1]):
            y, [h] = cell(x[:, t], [h])
            states.append(h)
    loss = tf.reduce_sum(y)
    return tf.stack(tape.gradient(loss, states))


def gradients_one_by_one(cell, x):
    """A persistent tape asked once per state, in float64, over tf.unstack'ed steps."""
    h, states = tf.zeros((x.shape[0], cell.state_size), cell.compute_dtype), []
    with tf.GradientTape(persistent=True) as tape:
        for x_t in tf.unstack(tf.cast(x, cell.compute_dtype), axis=1):
            y, [h] = cell(x_t, [h])
            states.append(h)
        loss = tf.reduce_sum(y)
    return tf.convert_to_tensor([tape.gradient(loss, s) for s in states])


def gradients_with_h0_dropped(cell, x):
    """Watches h_0 too, then drops its gradient."""
    return gradients_by_tape(cell, x, keep_h0=True)[1:]


class LinearRNNCell(RightRNNCell):
    """Lab 01's cell with its tanh lost."""

    def call(self, inputs, states):
        h = self.state_update(inputs, states[0])
        return tf.matmul(h, self.W_hy, transpose_b=True), [h]


def _rnn_cell(**options):
    return lambda units, output_dim: RightRNNCell(units, output_dim, **options)


def _bptt(answer, **options):
    return lambda: (lambda cell, x: answer(cell, x, **options), _rnn_cell())


# ---------------------------------------------------------------- 2.1b weight_gradient_by_distance
def terms_by_formula(cell, x, *, loss="last y", previous=True, tanh_grad=True, batch_sum=True):
    """dL/dh_k from a tape, then each step's term sum_b (g_k (1 - h_k^2)) h_{k-1}^T, last step first."""
    h, states = tf.zeros((x.shape[0], cell.state_size)), []
    with tf.GradientTape() as tape:
        total = 0.0
        for t in range(x.shape[1]):
            y, [h] = cell(x[:, t], [h])
            states.append(h)
            total += tf.reduce_sum(y)
        objective = {"last y": tf.reduce_sum(y), "every y": total, "last h": tf.reduce_sum(h)}[loss]
    grads, h_k = tf.stack(tape.gradient(objective, states)), tf.stack(states)
    h_prev = tf.concat([tf.zeros_like(h_k[:1]), h_k[:-1]], axis=0) if previous else h_k
    delta = grads * (1 - h_k ** 2) if tanh_grad else grads
    terms = tf.einsum("tbi,tbj->tbij", delta, h_prev)
    return tf.reduce_sum(terms, axis=1)[::-1] if batch_sum else terms[::-1]


def terms_by_copies(cell, x, *, carry=True):
    """A zero matrix E_k added to W_hh at each step k: dL/dE_k is step k's term (the recurrence by hand)."""
    h = tf.zeros((x.shape[0], cell.state_size))
    copies = [tf.zeros_like(cell.W_hh) for _ in range(x.shape[1])]
    with tf.GradientTape() as tape:
        tape.watch(copies)
        for t, E in enumerate(copies):
            h = h if carry else tf.stop_gradient(h)
            h = tf.tanh(h @ tf.transpose(cell.W_hh + E) + x[:, t] @ tf.transpose(cell.W_xh) + cell.b)
        loss = tf.reduce_sum(h @ tf.transpose(cell.W_hy))
    return tf.stack(tape.gradient(loss, copies, unconnected_gradients="zero")[::-1])


def truncated_gradient(cell, x, k):
    """dL/dW_hh with the gradient stopped k steps before the end."""
    h = tf.zeros((x.shape[0], cell.state_size), cell.compute_dtype)
    with tf.GradientTape() as tape:
        for t in range(x.shape[1]):
            if t == x.shape[1] - k:
                h = tf.stop_gradient(h)
            y, [h] = cell(tf.cast(x[:, t], cell.compute_dtype), [h])
        loss = tf.reduce_sum(y)
    return tape.gradient(loss, cell.W_hh)


def terms_by_truncation(cell, x):
    """Term d = gradient truncated at d + 1 steps minus gradient truncated at d steps, in float64."""
    truncated = [tf.zeros_like(cell.W_hh)] + [truncated_gradient(cell, x, k) for k in range(1, x.shape[1] + 1)]
    return np.diff(np.stack([np.asarray(g) for g in truncated]), axis=0)


def _by_distance(answer, then=lambda terms: terms, **options):
    return lambda: (lambda cell, x: then(answer(cell, x, **options)), _rnn_cell())


# ---------------------------------------------------------------- 2.2 clip_gradients
def clip_by_hand(gradients, max_norm):
    norm = tf.sqrt(sum(tf.reduce_sum(g ** 2) for g in gradients if g is not None))
    scale = tf.minimum(1.0, max_norm / norm)
    return [None if g is None else g * tf.cast(scale, g.dtype) for g in gradients]


def clip_vectorised_float64(gradients, max_norm):
    present = [tf.reshape(tf.cast(g, tf.float64), [-1]) for g in gradients if g is not None]
    norm = tf.norm(tf.concat(present, axis=0))
    scale = max_norm / tf.maximum(norm, max_norm)
    return [g if g is None else tf.cast(tf.cast(g, tf.float64) * scale, g.dtype) for g in gradients]


def clip_with_if(gradients, max_norm):
    """Python `if` on a tensor: fine eagerly, but autograph cannot append to a list inside tf.cond."""
    norm = tf.sqrt(tf.add_n([tf.reduce_sum(tf.square(g)) for g in gradients if g is not None]))
    clipped = []
    for g in gradients:
        if g is None:
            clipped.append(None)
        elif norm > max_norm:
            clipped.append(g * tf.cast(max_norm / norm, g.dtype))
        else:
            clipped.append(g)
    return clipped


def clip_with_loop(gradients, max_norm):
    total = 0.0
    for g in gradients:
        if g is not None:
            total += tf.reduce_sum(tf.cast(g, tf.float32) * tf.cast(g, tf.float32))
    scale = max_norm / tf.maximum(tf.sqrt(total), max_norm)
    clipped = []
    for g in gradients:
        clipped.append(None if g is None else g * tf.cast(scale, g.dtype))
    return clipped


def _clip_with(norm_of, scale_of):
    """A clip written with a wrong norm or a wrong factor."""
    def clip(gradients, max_norm):
        norm = norm_of([g for g in gradients if g is not None])
        return [None if g is None else g * tf.cast(scale_of(norm, max_norm), g.dtype) for g in gradients]
    return clip


def _global_norm(gradients):
    return tf.sqrt(sum(tf.reduce_sum(tf.cast(g, tf.float64) ** 2) for g in gradients))


def _right_scale(norm, max_norm):
    return tf.minimum(tf.constant(1.0, norm.dtype), max_norm / norm)


def clip_first_only(gradients, max_norm):
    scale = _right_scale(_global_norm([g for g in gradients if g is not None]), max_norm)
    return [gradients[0] * tf.cast(scale, gradients[0].dtype)] + gradients[1:]


def clip_with_numpy(gradients, max_norm):
    norm = np.sqrt(sum(float(tf.reduce_sum(g ** 2).numpy()) for g in gradients if g is not None))
    return [None if g is None else g * min(1.0, max_norm / norm) for g in gradients]


def clip_with_library(gradients, max_norm):
    present = [g for g in gradients if g is not None]
    clipped = iter(tf.clip_by_global_norm(present, max_norm)[0])
    return [None if g is None else next(clipped) for g in gradients]


def clip_with_compat_alias(gradients, max_norm):
    from tensorflow.compat.v1 import clip_by_global_norm as shortcut

    present = [g for g in gradients if g is not None]
    clipped = iter(shortcut(present, max_norm)[0])
    return [None if g is None else next(clipped) for g in gradients]


def clip_with_getattr(gradients, max_norm):
    present = [g for g in gradients if g is not None]
    clipped = iter(getattr(tf, "clip_" + "by_global_norm")(present, max_norm)[0])
    return [None if g is None else next(clipped) for g in gradients]


def _clip(function):
    return lambda: (function,)


# ---------------------------------------------------------------- 2.4 MyLSTMCell
class LSTMCell(keras.layers.Layer):
    """The notebook's MyLSTMCell (gate blocks i, f, c~, o), its call split in small steps that the
    wrong cells below change one at a time."""

    initializer = "glorot_uniform"

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units, self.state_size, self.output_size = units, [units, units], units

    def build(self, input_shape):
        n = self.units
        self.W_xh = self.add_weight(shape=(4 * n, input_shape[-1]), initializer=self.initializer, name="W_xh")
        self.W_hh = self.add_weight(shape=(4 * n, n), initializer="orthogonal", name="W_hh")
        self.b = self.add_weight(shape=(4 * n,), initializer="zeros", name="b")

    def pre_activations(self, x, h_prev):
        return tf.matmul(x, self.W_xh, transpose_b=True) + tf.matmul(h_prev, self.W_hh, transpose_b=True) + self.b

    def gates(self, z):
        z_i, z_f, z_c, z_o = tf.split(z, 4, axis=-1)
        return tf.sigmoid(z_i), tf.sigmoid(z_f), tf.tanh(z_c), tf.sigmoid(z_o)

    def new_cell(self, i, f, c_tilde, c_prev):
        return f * c_prev + i * c_tilde

    def new_hidden(self, o, c):
        return o * tf.tanh(c)

    def call(self, inputs, states):
        h_prev, c_prev = states
        i, f, c_tilde, o = self.gates(self.pre_activations(inputs, h_prev))
        c = self.new_cell(i, f, c_tilde, c_prev)
        h = self.new_hidden(o, c)
        return h, [h, c]


class LSTMCellFloat64(LSTMCell):
    def __init__(self, units, **kwargs):
        super().__init__(units, dtype="float64", **kwargs)


class LSTMCellEinsum(LSTMCell):
    """Slices the weights per gate and uses einsum; random-normal input weights."""

    initializer = "random_normal"

    def call(self, inputs, states):
        h_prev, c_prev = states
        n = self.units

        def z(k):
            rows = slice(k * n, (k + 1) * n)
            return (tf.einsum("bd,gd->bg", inputs, self.W_xh[rows]) + tf.einsum("bu,gu->bg", h_prev, self.W_hh[rows])
                    + self.b[rows])

        i, f, c_tilde, o = tf.sigmoid(z(0)), tf.sigmoid(z(1)), tf.tanh(z(2)), tf.sigmoid(z(3))
        c = f * c_prev + i * c_tilde
        h = o * tf.tanh(c)
        return h, [h, c]


class LSTMCellConcat(LSTMCell):
    """One product with [x, h] against the stacked weights, written with @ and transpose."""

    def pre_activations(self, x, h_prev):
        W = tf.concat([self.W_xh, self.W_hh], axis=1)
        return tf.concat([x, h_prev], axis=-1) @ tf.transpose(W) + self.b


class OldGateOrder(LSTMCell):
    def gates(self, z):
        z_f, z_i, z_c, z_o = tf.split(z, 4, axis=-1)
        return tf.sigmoid(z_i), tf.sigmoid(z_f), tf.tanh(z_c), tf.sigmoid(z_o)


class SwappedActivations(LSTMCell):
    def gates(self, z):
        z_i, z_f, z_c, z_o = tf.split(z, 4, axis=-1)
        return tf.tanh(z_i), tf.tanh(z_f), tf.sigmoid(z_c), tf.tanh(z_o)


class ForgetsCellState(LSTMCell):
    def new_cell(self, i, f, c_tilde, c_prev):
        return i * c_tilde


class CoupledGates(LSTMCell):
    def new_cell(self, i, f, c_tilde, c_prev):
        return f * c_prev + (1 - f) * c_tilde


class OutputGateInsideTanh(LSTMCell):
    def new_hidden(self, o, c):
        return tf.tanh(o * c)


class NoTanhOnCell(LSTMCell):
    def new_hidden(self, o, c):
        return o * c


class NoBias(LSTMCell):
    def pre_activations(self, x, h_prev):
        return tf.matmul(x, self.W_xh, transpose_b=True) + tf.matmul(h_prev, self.W_hh, transpose_b=True)


class Elementwise(LSTMCell):
    def pre_activations(self, x, h_prev):
        return x * self.W_xh + h_prev * self.W_hh + self.b


class StatesReturnedAsCH(LSTMCell):
    def call(self, inputs, states):
        h, [h, c] = super().call(inputs, states)
        return h, [c, h]


class StatesReadAsCH(LSTMCell):
    def call(self, inputs, states):
        c_prev, h_prev = states
        return super().call(inputs, [h_prev, c_prev])


class ReturnsOldCell(LSTMCell):
    def call(self, inputs, states):
        h, [h, c] = super().call(inputs, states)
        return h, [h, states[1]]


class OutputsCellState(LSTMCell):
    def call(self, inputs, states):
        h, [h, c] = super().call(inputs, states)
        return c, [h, c]


class StopsGradient(LSTMCell):
    def new_cell(self, i, f, c_tilde, c_prev):
        return f * tf.stop_gradient(c_prev) + i * c_tilde


class IgnoresPreviousH(LSTMCell):
    def pre_activations(self, x, h_prev):
        return tf.matmul(x, self.W_xh, transpose_b=True) + self.b


def _cell(cls):
    return lambda: (cls,)


WRONG = [
    Wrong("2.1", "time order reversed", lambda: (gradients_reversed, _rnn_cell()), r"reverse time order"),
    Wrong("2.1", "list starts at h_0, drops h_T", lambda: (gradients_from_h0, _rnn_cell()), r"shifted by one"),
    Wrong("2.1", "h_0 kept in the list", _bptt(gradients_by_tape, keep_h0=True), r"one entry too many.*h_0"),
    Wrong("2.1", "loss sums every output", _bptt(gradients_by_tape, loss="every y"), r"every output"),
    Wrong("2.1", "loss is a mean", _bptt(gradients_by_tape, loss="mean y"), r"L is a mean"),
    Wrong("2.1", "loss on h_T, readout forgotten", _bptt(gradients_by_tape, loss="last h"), r"sum of the last state h_T"),
    Wrong("2.1", "stop_gradient between steps", _bptt(gradients_by_tape, carry=False), r"no path"),
    Wrong("2.1", "state never updated", _bptt(gradients_by_tape, carry="never"), r"no path"),
    Wrong("2.1", "loss computed after the tape", lambda: (gradients_loss_outside_tape, _rnn_cell()), r"no path"),
    Wrong("2.1", "list not stacked", _bptt(gradients_by_tape, stack=False), r"not stacked"),
    Wrong("2.1", "stacked along the batch axis", _bptt(gradients_by_tape, stack_axis=1), r"batch and time axes"),
    Wrong("2.1", "loop stops one step early", _bptt(gradients_by_tape, short=True), r"one entry too few"),
    Wrong("2.1", "gradients with respect to x_t", _bptt(gradients_by_tape, wrt="x"), r"inputs x_t"),
    Wrong("2.1", "a cell without tanh passed", lambda: (gradients_by_tape, LinearRNNCell), r"cell class"),
    Wrong("2.1b", "distances reversed (indexed by step)", _by_distance(terms_by_formula, lambda g: g[::-1]),
          r"reverse order"),
    Wrong("2.1b", "off by one: k = T term dropped", _by_distance(
        terms_by_formula, lambda g: tf.concat([g[1:], tf.zeros_like(g[:1])], 0)), r"shifted by one.*missing"),
    Wrong("2.1b", "off by one: a zero term in front", _by_distance(
        terms_by_formula, lambda g: tf.concat([tf.zeros_like(g[:1]), g[:-1]], 0)), r"shifted by one.*d - 1"),
    Wrong("2.1b", "k = 0 term included", _by_distance(
        terms_by_formula, lambda g: tf.concat([g, tf.zeros_like(g[:1])], 0)), r"one term too many"),
    Wrong("2.1b", "gradient of h, not of W_hh", _bptt(gradients_by_tape), r"dL/dh_t of exercise 2.1"),
    Wrong("2.1b", "stop_gradient between steps", _by_distance(terms_by_copies, carry=False), r"only distance 0"),
    Wrong("2.1b", "the total gradient for every distance", _by_distance(
        terms_by_formula, lambda g: tf.broadcast_to(tf.reduce_sum(g, 0), g.shape)), r"whole gradient"),
    Wrong("2.1b", "cumulative sum (truncated gradients)", _by_distance(
        terms_by_formula, lambda g: tf.cumsum(g, axis=0)), r"truncated at d \+ 1"),
    Wrong("2.1b", "norms instead of terms", _by_distance(terms_by_formula, lambda g: tf.norm(g, axis=(1, 2))),
          r"norms"),
    Wrong("2.1b", "loss over every step", _by_distance(terms_by_formula, loss="every y"), r"every output"),
    Wrong("2.1b", "loss on h_T, readout forgotten", _by_distance(terms_by_formula, loss="last h"),
          r"sum of the last state h_T"),
    Wrong("2.1b", "h_k instead of h_{k-1}", _by_distance(terms_by_formula, previous=False), r"previous state"),
    Wrong("2.1b", "tanh derivative forgotten", _by_distance(terms_by_formula, tanh_grad=False), r"1 - h_k\^2"),
    Wrong("2.1b", "terms transposed", _by_distance(terms_by_formula, lambda g: tf.transpose(g, (0, 2, 1))),
          r"transposed"),
    Wrong("2.1b", "not summed over the batch", _by_distance(terms_by_formula, batch_sum=False),
          r"summed over the batch"),
    Wrong("2.1b", "mean over the batch", _by_distance(terms_by_formula, lambda g: g / 4),
          r"divided by the batch size"),
    Wrong("2.2", "returned unchanged", _clip(lambda gradients, max_norm: gradients), r"unchanged"),
    Wrong("2.2", "clipped per tensor", _clip(lambda gradients, max_norm: [
        None if g is None else tf.clip_by_norm(g, max_norm) for g in gradients]), r"its own norm"),
    Wrong("2.2", "clipped by value", _clip(lambda gradients, max_norm: [
        None if g is None else tf.clip_by_value(g, -max_norm, max_norm) for g in gradients]), r"clipped to \[-max_norm"),
    Wrong("2.2", "rescaled under the threshold", _clip(_clip_with(_global_norm, lambda n, m: m / n)),
          r"under max_norm were rescaled"),
    Wrong("2.2", "norm without square root", _clip(_clip_with(
        lambda gs: _global_norm(gs) ** 2, _right_scale)), r"square root"),
    Wrong("2.2", "sum of per-tensor norms", _clip(_clip_with(
        lambda gs: sum(tf.norm(tf.cast(g, tf.float64)) for g in gs), _right_scale)), r"sum of the per-tensor norms"),
    Wrong("2.2", "factor upside down", _clip(_clip_with(
        _global_norm, lambda n, m: tf.minimum(tf.constant(1.0, n.dtype), n / m))), r"upside down"),
    Wrong("2.2", "only the first tensor scaled", _clip(clip_first_only), r"not every gradient was scaled"),
    Wrong("2.2", "None gradients dropped", _clip(lambda gradients, max_norm: [
        g for g in clip_by_hand(gradients, max_norm) if g is not None]), r"None gradients were dropped"),
    Wrong("2.2", "None replaced by zeros", _clip(lambda gradients, max_norm: [
        tf.zeros(1) if g is None else g for g in clip_by_hand(gradients, max_norm)]), r"should be None"),
    Wrong("2.2", "returns (gradients, norm)", _clip(lambda gradients, max_norm: (
        clip_by_hand(gradients, max_norm), _global_norm([g for g in gradients if g is not None]))), r"pair"),
    Wrong("2.2", "returns the norm", _clip(lambda gradients, max_norm: _global_norm(
        [g for g in gradients if g is not None])), r"single number"),
    Wrong("2.2", "NumPy inside (fails in tf.function)", _clip(clip_with_numpy), r"inside tf\.function"),
    Wrong("2.2", "Python if on a tensor (fails in tf.function)", _clip(clip_with_if), r"inside tf\.function"),
    Wrong("2.2", "tf.clip_by_global_norm called", _clip(clip_with_library), r"called `tf\.clip_by_global_norm`"),
    Wrong("2.2", "tf.compat.v1.clip_by_global_norm under an alias", _clip(clip_with_compat_alias),
          r"called `tf\.clip_by_global_norm`"),
    Wrong("2.2", "clip_by_global_norm reached by a getattr string", _clip(clip_with_getattr),
          r"called `tf\.clip_by_global_norm`"),
    Wrong("2.4", "the old gate order f, i, c~, o", _cell(OldGateOrder), r"order forget f, input i"),
    Wrong("2.4", "sigmoid and tanh swapped", _cell(SwappedActivations), r"sigmoid and tanh are swapped"),
    Wrong("2.4", "c_{t-1} dropped", _cell(ForgetsCellState), r"old cell state is dropped"),
    Wrong("2.4", "(1 - f) instead of i", _cell(CoupledGates), r"\(1 - f_t\)"),
    Wrong("2.4", "tanh(o * c)", _cell(OutputGateInsideTanh), r"not tanh\(o_t \* c_t\)"),
    Wrong("2.4", "tanh on c_t missing", _cell(NoTanhOnCell), r"tanh is missing"),
    Wrong("2.4", "bias missing", _cell(NoBias), r"bias b is missing"),
    Wrong("2.4", "elementwise * for matmul", _cell(Elementwise), r"elementwise"),
    Wrong("2.4", "states returned as [c, h]", _cell(StatesReturnedAsCH), r"\[c_t, h_t\]"),
    Wrong("2.4", "states read as [c, h]", _cell(StatesReadAsCH), r"read in the order \[c, h\]"),
    Wrong("2.4", "old c returned", _cell(ReturnsOldCell), r"old c_\{t-1\}"),
    Wrong("2.4", "c_t as the output", _cell(OutputsCellState), r"output of the step is not h_t"),
    Wrong("2.4", "stop_gradient on c_{t-1}", _cell(StopsGradient), r"gradient with respect to self\.W"),
    Wrong("2.4", "h_{t-1} ignored", _cell(IgnoresPreviousH), r"h_\{t-1\} W_hh\^T is missing"),
]

RIGHT = [
    Right("2.1", "tape over the list, float32", lambda: (gradients_by_tape, _rnn_cell())),
    Right("2.1", "float64 cell, one gradient per state", lambda: (gradients_one_by_one, _rnn_cell(dtype="float64"))),
    Right("2.1", "h_0 watched then dropped, orthogonal init", lambda: (gradients_with_h0_dropped,
                                                                       _rnn_cell(init="orthogonal"))),
    Right("2.1b", "formula from the tape's dL/dh_k", _by_distance(terms_by_formula)),
    Right("2.1b", "a zero copy of W_hh per step", _by_distance(terms_by_copies)),
    Right("2.1b", "differences of truncated gradients, float64 cell", lambda: (
        terms_by_truncation, _rnn_cell(dtype="float64", init="orthogonal"))),
    Right("2.2", "by hand with a list comprehension", _clip(clip_by_hand)),
    Right("2.2", "vectorised in float64", _clip(clip_vectorised_float64)),
    Right("2.2", "loops, scale max_norm / max(norm, max_norm)", _clip(clip_with_loop)),
    Right("2.4", "split and matmul", _cell(LSTMCell)),
    Right("2.4", "float64", _cell(LSTMCellFloat64)),
    Right("2.4", "per-gate slices with einsum", _cell(LSTMCellEinsum)),
    Right("2.4", "one product with [x, h]", _cell(LSTMCellConcat)),
]


# ---------------------------------------------------------------- written after diagnosis.py: tests its generality
# Wrong answers written once labhelpers/judges/diagnosis.py was in place, as students write them, each with the
# name a good diagnosis gives (None where nothing can single it out); bench/check_mutations.py counts them apart.
def _run_cell(cell, x):
    """h_1..h_T and y_T of the cell from h_0 = 0, outside any tape."""
    h, states = tf.zeros((x.shape[0], cell.state_size)), []
    for t in range(x.shape[1]):
        y, [h] = cell(x[:, t], [h])
        states.append(h)
    return tf.stack(states), y


def _previous_states(h):
    return tf.concat([tf.zeros_like(h[:1]), h[:-1]], axis=0)


def terms_by_hand(cell, x, *, through_tanh=True, transpose=False, derivative=lambda h: 1 - h ** 2,
                  at_previous=False, grad_shift=False):
    """Backpropagation written out: g_T = W_hy^T 1, g_{k-1} = (g_k * tanh'(h_k)) W_hh; term k from g_k."""
    h, y = _run_cell(cell, x)
    W_hh = tf.transpose(cell.W_hh) if transpose else cell.W_hh
    g = tf.ones_like(y) @ cell.W_hy
    grads = [g]
    for k in range(x.shape[1] - 1, 0, -1):
        g = ((g * (1 - h[k] ** 2)) if through_tanh else g) @ W_hh
        grads.append(g)
    grads = tf.stack(grads[::-1])
    if grad_shift:  # the term of step k takes the gradient at index k - 1
        grads = tf.concat([grads[:1], grads[:-1]], axis=0)
    h_prev = _previous_states(h)
    delta = grads * derivative(h_prev if at_previous else h)
    return tf.einsum("tbi,tbj->tij", delta, h_prev)[::-1]


def terms_mean_loss(cell, x):
    """The loss as a mean: `tf.reduce_mean(y)` where L is the sum of y_T."""
    h, states = tf.zeros((x.shape[0], cell.state_size)), []
    with tf.GradientTape() as tape:
        for t in range(x.shape[1]):
            y, [h] = cell(x[:, t], [h])
            states.append(h)
        loss = tf.reduce_mean(y)
    grads, h_k = tf.stack(tape.gradient(loss, states)), tf.stack(states)
    return tf.einsum("tbi,tbj->tij", grads * (1 - h_k ** 2), _previous_states(h_k))[::-1]


def terms_total_over_T(cell, x):
    """Splits the whole dL/dW_hh evenly over the T distances."""
    h = tf.zeros((x.shape[0], cell.state_size))
    with tf.GradientTape() as tape:
        for t in range(x.shape[1]):
            y, [h] = cell(x[:, t], [h])
        loss = tf.reduce_sum(y)
    total = tape.gradient(loss, cell.W_hh)
    return tf.stack([total / x.shape[1]] * x.shape[1])


def terms_not_held_fixed(cell, x):
    """Term k as the whole derivative of h_k with respect to W_hh (through h_{k-1} too), weighted by dL/dh_k."""
    h, states = tf.zeros((x.shape[0], cell.state_size)), []
    with tf.GradientTape(persistent=True) as tape:
        for t in range(x.shape[1]):
            y, [h] = cell(x[:, t], [h])
            states.append(h)
        loss = tf.reduce_sum(y)
    grads = tape.gradient(loss, states)
    terms = [tape.gradient(states[k], cell.W_hh, output_gradients=grads[k]) for k in range(x.shape[1])]
    return tf.stack(terms[::-1])


def gradients_by_hand(cell, x, *, through_tanh=True, transpose=False):
    """2.1 by hand: dL/dh_T = W_hy^T 1, then back one step at a time."""
    h, y = _run_cell(cell, x)
    W_hh = tf.transpose(cell.W_hh) if transpose else cell.W_hh
    g = tf.ones_like(y) @ cell.W_hy
    grads = [g]
    for k in range(x.shape[1] - 1, 0, -1):
        g = ((g * (1 - h[k] ** 2)) if through_tanh else g) @ W_hh
        grads.append(g)
    return tf.stack(grads[::-1])


WRONG += after_diagnosis(
    Wrong("2.1b", "minus sign (the descent direction)", _by_distance(terms_by_formula, lambda g: -g),
          r"negated|sign is flipped"),
    Wrong("2.1b", "tanh derivative taken at h_{k-1}", _by_distance(terms_by_hand, at_previous=True),
          r"h_\{k-1\} in place of h_k"),
    Wrong("2.1b", "derivative written (1 - h)**2", _by_distance(terms_by_hand, derivative=lambda h: (1 - h) ** 2),
          r"\(1 - h\)\^2"),
    Wrong("2.1b", "backward pass without the tanh factors", _by_distance(terms_by_hand, through_tanh=False),
          r"derivative of tanh in the backward pass is missing"),
    Wrong("2.1b", "backward pass through W_hh transposed", _by_distance(terms_by_hand, transpose=True),
          r"transposed matrix.*backward|backward.*transposed"),
    Wrong("2.1b", "sigmoid's derivative h (1 - h)", _by_distance(terms_by_hand, derivative=lambda h: h * (1 - h)),
          r"sigmoid's derivative"),
    Wrong("2.1b", "reduce_mean for the loss", _by_distance(terms_mean_loss), r"divided by the batch size"),
    Wrong("2.1b", "the total gradient split evenly over T", _by_distance(terms_total_over_T),
          r"mean over all distance|divided by T"),
    Wrong("2.1b", "term k uses the gradient one index early", _by_distance(terms_by_hand, grad_shift=True),
          r"dL/dh_\{k-1\} in place of dL/dh_k"),
    Wrong("2.1b", "h_{k-1} not held fixed", _by_distance(terms_not_held_fixed), r"not held fixed|through h_\{k-1\}"),
    Wrong("2.1", "minus sign", lambda: (lambda cell, x: -gradients_by_tape(cell, x), _rnn_cell()),
          r"negated|sign is flipped"),
    Wrong("2.1", "by hand, without the tanh factors", lambda: (
        lambda cell, x: gradients_by_hand(cell, x, through_tanh=False), _rnn_cell()),
          r"derivative of tanh in the backward pass is missing"),
    Wrong("2.1", "by hand, W_hh transposed", lambda: (
        lambda cell, x: gradients_by_hand(cell, x, transpose=True), _rnn_cell()), r"transposed"),
)
