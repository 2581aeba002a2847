"""Lab 02's mutation table: wrong and right answers to 2.1, 2.1b, 2.2 and 2.4, written as students write them.

Answers in keras.ops run on every backend (`on_every_backend`). Where an answer takes a gradient it does so
as a learner of the running framework does (`state_gradients`, `weight_gradient`: a tape on TensorFlow,
zero nudges and jax.grad on JAX, torch.autograd on PyTorch), so the mistake it carries is the same on the
three. Answers written with one framework's own API (the tape variants of 2.1, tf.function's limits,
tf.clip_by_global_norm) run on that backend only; the mistakes only one framework lets a learner make
(JAX's trace, PyTorch's autograd graph, .grad that accumulates) are in a section per backend at the end.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from mutations import Right, Wrong, after_diagnosis, on_every_backend
from right_answers import RightRNNCell

BACKEND = keras.backend.backend()
if BACKEND == "tensorflow":
    import tensorflow as tf
elif BACKEND == "jax":
    import jax
    import jax.numpy as jnp
elif BACKEND == "torch":
    import torch

JAX, TORCH = ("jax",), ("torch",)
WIDE = "float32" if BACKEND == "jax" else "float64"  # JAX has no float64 unless jax_enable_x64 is set


class LinearRNNCell(RightRNNCell):
    """Lab 01's cell with its tanh lost."""

    def call(self, inputs, states):
        h = self.state_update(inputs, states[0])
        return ops.matmul(h, ops.transpose(self.W_hy)), [h]


def _rnn_cell(**options):
    return lambda units, output_dim: RightRNNCell(units, output_dim, **options)


def _bptt(answer, **options):
    return lambda: (lambda cell, x: answer(cell, x, **options), _rnn_cell())


def _readout(cell, h):
    return ops.matmul(h, ops.transpose(cell.W_hy))


# ---------------------------------------------------------------- 2.1 on TensorFlow: the tape
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


# ---------------------------------------------------------------- 2.1 on JAX: zero nudges and jax.grad
def gradients_by_nudges(cell, x, *, loss="last y", stack_axis=0, short=False, carried=True, nudge_y=True,
                        scalar=True, concrete=False):
    """The notebook's JAX answer; the keyword arguments make the classic wrong versions (carried=False: the
    nudged state is not the one the next step starts from; nudge_y=False: y_T taken from the cell, before the
    last nudge; scalar=False: jax.grad of ŷ_T itself; concrete=True: float() on the traced loss)."""
    batch, length = x.shape[0], x.shape[1] - 1 if short else x.shape[1]

    def objective(nudges):
        h, total = ops.zeros((batch, cell.state_size)), 0.0
        for t in range(length):
            y, [h_new] = cell(x[:, t], [h])
            nudged = h_new + (nudges[:, t] if stack_axis == 1 else nudges[t])
            h = nudged if carried else h_new
            total += ops.sum(_readout(cell, nudged))
        y_T = _readout(cell, nudged) if nudge_y else y
        if not scalar:
            return y_T
        value = {"last y": ops.sum(y_T), "every y": total, "mean y": ops.mean(y_T), "last h": ops.sum(nudged)}[loss]
        return float(value) if concrete else value

    shape = (batch, length, cell.state_size) if stack_axis == 1 else (length, batch, cell.state_size)
    return jax.grad(objective)(jnp.zeros(shape))


def gradients_by_nudge_list(cell, x):
    """One nudge array per step, in a list (a pytree: jax.grad returns a list), stacked at the end."""
    def objective(nudges):
        h = jnp.zeros((x.shape[0], cell.state_size))
        for x_t, nudge in zip(jnp.unstack(jnp.asarray(x), axis=1), nudges):
            h = cell(x_t, [h])[1][0] + nudge
        return jnp.sum(h @ cell.W_hy.value.T)

    return jnp.stack(jax.grad(objective)([jnp.zeros((x.shape[0], cell.state_size))] * x.shape[1]))


def gradients_by_pullbacks(cell, x):
    """Backpropagation through time with jax.vjp: each step's pullback sends dL/dh_t back to dL/dh_{t-1}."""
    h, pullbacks = ops.zeros((x.shape[0], cell.state_size)), []
    for t in range(x.shape[1]):
        h, pullback = jax.vjp(lambda h_prev, x_t=x[:, t]: cell(x_t, [h_prev])[1][0], h)
        pullbacks.append(pullback)
    grad = jax.grad(lambda h_T: ops.sum(_readout(cell, h_T)))(h)
    grads = [grad]
    for pullback in reversed(pullbacks[1:]):
        (grad,) = pullback(grad)
        grads.append(grad)
    return jnp.stack(grads[::-1])


# ---------------------------------------------------------------- 2.1 on PyTorch: autograd
def gradients_by_autograd(cell, x, *, loss="last y", stack_axis=0, short=False, stack=True, wrt="h",
                          detach=False, allow_unused=False, no_grad=False):
    """The notebook's PyTorch answer; detach=True: `.detach()` between steps; no_grad=True: the forward pass
    under torch.no_grad(); wrt="x": the gradients of the inputs."""
    batch, length = x.shape[0], x.shape[1] - 1 if short else x.shape[1]
    h, states, inputs, total = ops.zeros((batch, cell.state_size)), [], [], 0.0
    with torch.no_grad() if no_grad else torch.enable_grad():
        for t in range(length):
            x_t = torch.tensor(x[:, t], requires_grad=True)
            y, [h] = cell(x_t, [h])
            states.append(h)
            inputs.append(x_t)
            total = total + y.sum()
            h = h.detach() if detach else h
    objective = {"last y": y.sum(), "every y": total, "mean y": y.mean(), "last h": states[-1].sum()}[loss]
    grads = torch.autograd.grad(objective, inputs if wrt == "x" else states, allow_unused=allow_unused)
    return torch.stack(grads, dim=stack_axis) if stack else list(grads)


def gradients_by_retain_grad(cell, x, *, retain=True, backward_calls=1):
    """loss.backward() fills .grad of the states that called retain_grad() (else it stays None)."""
    h, states = ops.zeros((x.shape[0], cell.state_size)), []
    for t in range(x.shape[1]):
        y, [h] = cell(x[:, t], [h])
        if retain:
            h.retain_grad()
        states.append(h)
    loss = y.sum()
    for _ in range(backward_calls):  # a second call adds its gradients to .grad: they accumulate
        loss.backward(retain_graph=True)
    return torch.stack([s.grad for s in states])


def gradients_float64_one_by_one(cell, x):
    """One torch.autograd.grad call per state, the graph kept between calls, in float64."""
    h, states = torch.zeros((x.shape[0], cell.state_size), dtype=torch.float64), []
    for t in range(x.shape[1]):
        y, [h] = cell(torch.tensor(x[:, t], dtype=torch.float64), [h])
        states.append(h)
    loss = y.sum()
    return torch.stack([torch.autograd.grad(loss, s, retain_graph=True)[0] for s in states])


# ---------------------------------------------------------------- gradients as each framework takes them
def state_gradients(cell, x, loss="last y"):
    """dL/dh_t, t = 1..T, stacked, the way a learner of the running framework writes 2.1."""
    if BACKEND == "jax":
        return gradients_by_nudges(cell, x, loss=loss)
    if BACKEND == "torch":
        return gradients_by_autograd(cell, x, loss=loss)
    return gradients_by_tape(cell, x, loss=loss)


def weight_gradient(loss_of, variable):
    """d loss_of() / d variable as the notebook's weight_gradient takes it on the running backend."""
    if BACKEND == "jax":
        def loss_at(value):
            with keras.StatelessScope(state_mapping=[(variable, value)]):
                return loss_of()

        return jax.grad(loss_at)(variable.value)
    if BACKEND == "torch":
        return torch.autograd.grad(loss_of(), [variable.value])[0]
    with tf.GradientTape() as tape:
        loss = loss_of()
    return tape.gradient(loss, variable)


def _run_cell(cell, x):
    """h_1..h_T and y_T of the cell from h_0 = 0."""
    h, states = ops.zeros((x.shape[0], cell.state_size)), []
    for t in range(x.shape[1]):
        y, [h] = cell(x[:, t], [h])
        states.append(h)
    return ops.stack(states), y


def _previous_states(h):
    return ops.concatenate([ops.zeros_like(h[:1]), h[:-1]], axis=0)


def _backward(cell, x, through_tanh=True, transpose=False):
    """The states h and the gradients dL/dh_k, k = 1..T, by hand: dL/dh_T = W_hy^T 1, then
    g_{k-1} = (g_k * tanh'(h_k)) W_hh, one step back at a time (no autodiff)."""
    h, y = _run_cell(cell, x)
    W_hh = ops.transpose(cell.W_hh) if transpose else ops.convert_to_tensor(cell.W_hh)
    g = ops.matmul(ops.ones_like(y), cell.W_hy)
    grads = [g]
    for k in range(x.shape[1] - 1, 0, -1):
        g = ops.matmul((g * (1 - h[k] ** 2)) if through_tanh else g, W_hh)
        grads.append(g)
    return h, ops.stack(grads[::-1])


def gradients_by_hand(cell, x, *, through_tanh=True, transpose=False):
    """2.1 by hand, no autodiff: dL/dh_T = W_hy^T 1, then back one step at a time."""
    return _backward(cell, x, through_tanh, transpose)[1]


# ---------------------------------------------------------------- 2.1b weight_gradient_by_distance
def terms_by_formula(cell, x, *, loss="last y", previous=True, tanh_grad=True, batch_sum=True):
    """dL/dh_k from the framework (as in 2.1), then each step's term sum_b (g_k (1 - h_k^2)) h_{k-1}^T,
    last step first."""
    grads, (h_k, _) = state_gradients(cell, x, loss), _run_cell(cell, x)
    h_prev = _previous_states(h_k) if previous else h_k
    delta = grads * (1 - h_k ** 2) if tanh_grad else grads
    terms = ops.einsum("tbi,tbj->tbij", delta, h_prev)
    return ops.flip(ops.sum(terms, axis=1) if batch_sum else terms, axis=0)


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


def _unrolled_with_copies(cell, x, copies):
    """L = sum(y_T) with W_hh + E_k at step k (keras.ops)."""
    h = ops.zeros((x.shape[0], cell.state_size))
    for t, E in enumerate(copies):
        h = ops.tanh(ops.matmul(h, ops.transpose(cell.W_hh + E)) + ops.matmul(x[:, t], ops.transpose(cell.W_xh))
                     + cell.b)
    return ops.sum(_readout(cell, h))


def terms_by_copies_jax(cell, x):
    """The zero copies E_k as the argument of the loss: jax.grad returns one matrix per step."""
    copies = [jnp.zeros(cell.W_hh.shape) for _ in range(x.shape[1])]
    return jnp.stack(jax.grad(lambda E: _unrolled_with_copies(cell, x, E))(copies)[::-1])


def terms_by_copies_torch(cell, x):
    """The zero copies E_k as tensors that require grad: torch.autograd.grad gives one matrix per step."""
    copies = [torch.zeros(tuple(cell.W_hh.shape), requires_grad=True) for _ in range(x.shape[1])]
    return torch.stack(torch.autograd.grad(_unrolled_with_copies(cell, x, copies), copies)[::-1])


def _truncated_loss(cell, x, k):
    """L = sum(y_T) with the gradient stopped k steps before the end."""
    h = ops.zeros((x.shape[0], cell.state_size), cell.compute_dtype)
    for t in range(x.shape[1]):
        if t == x.shape[1] - k:
            h = ops.stop_gradient(h)
        y, [h] = cell(ops.cast(x[:, t], cell.compute_dtype), [h])
    return ops.sum(y)


def terms_by_truncation(cell, x):
    """Term d = gradient truncated at d + 1 steps minus gradient truncated at d steps."""
    truncated = [np.zeros(tuple(cell.W_hh.shape))] + [weight_gradient(lambda: _truncated_loss(cell, x, k), cell.W_hh)
                                               for k in range(1, x.shape[1] + 1)]
    return np.diff(np.stack([ops.convert_to_numpy(g) for g in truncated]), axis=0)


def terms_by_truncation_backward(cell, x, *, zero_grad=True):
    """PyTorch: each truncated gradient by loss.backward() into W_hh's .grad; zero_grad=False forgets to clear
    it between calls, so each reading is the sum of all before it."""
    weight, truncated = cell.W_hh.value, [np.zeros(tuple(cell.W_hh.shape))]
    for k in range(1, x.shape[1] + 1):
        if zero_grad:
            cell.zero_grad()
        _truncated_loss(cell, x, k).backward()
        truncated.append(weight.grad.detach().cpu().numpy().copy())
    return np.diff(np.stack(truncated), axis=0)


def _by_distance(answer, then=lambda terms: terms, **options):
    return lambda: (lambda cell, x: then(answer(cell, x, **options)), _rnn_cell())


def terms_by_hand(cell, x, *, through_tanh=True, transpose=False, derivative=lambda h: 1 - h ** 2,
                  at_previous=False, grad_shift=False):
    """Backpropagation written out: g_T = W_hy^T 1, g_{k-1} = (g_k * tanh'(h_k)) W_hh; term k from g_k."""
    h, grads = _backward(cell, x, through_tanh, transpose)
    if grad_shift:  # the term of step k takes the gradient at index k - 1
        grads = ops.concatenate([grads[:1], grads[:-1]], axis=0)
    h_prev = _previous_states(h)
    delta = grads * derivative(h_prev if at_previous else h)
    return ops.flip(ops.einsum("tbi,tbj->tij", delta, h_prev), axis=0)


def terms_total_over_T(cell, x):
    """Splits the whole dL/dW_hh evenly over the T distances."""
    def loss_of():
        _, y = _run_cell(cell, x)
        return ops.sum(y)

    total = ops.convert_to_numpy(weight_gradient(loss_of, cell.W_hh))
    return np.stack([total / x.shape[1]] * x.shape[1])


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


# ---------------------------------------------------------------- 2.2 clip_gradients
def clip_by_hand(gradients, max_norm):
    norm = ops.sqrt(sum(ops.sum(g ** 2) for g in gradients if g is not None))
    scale = ops.minimum(1.0, max_norm / norm)
    return [None if g is None else g * ops.cast(scale, g.dtype) for g in gradients]


def clip_vectorised_wide(gradients, max_norm):
    present = [ops.reshape(ops.cast(g, WIDE), [-1]) for g in gradients if g is not None]
    norm = ops.norm(ops.concatenate(present, axis=0))
    scale = max_norm / ops.maximum(norm, max_norm)
    return [g if g is None else ops.cast(ops.cast(g, WIDE) * scale, g.dtype) for g in gradients]


def clip_with_loop(gradients, max_norm):
    total = 0.0
    for g in gradients:
        if g is not None:
            total += ops.sum(ops.cast(g, "float32") * ops.cast(g, "float32"))
    scale = max_norm / ops.maximum(ops.sqrt(total), max_norm)
    clipped = []
    for g in gradients:
        clipped.append(None if g is None else g * ops.cast(scale, g.dtype))
    return clipped


def clip_with_tf_ops(gradients, max_norm):
    """TensorFlow's own operations, as the lab asked before it ran on three backends."""
    norm = tf.sqrt(tf.add_n([tf.reduce_sum(tf.square(g)) for g in gradients if g is not None]))
    scale = tf.minimum(1.0, max_norm / norm)
    return [None if g is None else g * tf.cast(scale, g.dtype) for g in gradients]


def clip_with_if(gradients, max_norm):
    """Python `if` on a tensor: fine eagerly, but not where the tensor is traced (tf.function, jax.jit)."""
    norm = ops.sqrt(sum(ops.sum(ops.square(g)) for g in gradients if g is not None))
    clipped = []
    for g in gradients:
        if g is None:
            clipped.append(None)
        elif norm > max_norm:
            clipped.append(g * ops.cast(max_norm / norm, g.dtype))
        else:
            clipped.append(g)
    return clipped


def clip_with_numpy(gradients, max_norm):
    """The norm through float() and NumPy: fine eagerly, not on traced tensors."""
    norm = np.sqrt(sum(float(ops.sum(g ** 2)) for g in gradients if g is not None))
    return [None if g is None else g * min(1.0, max_norm / norm) for g in gradients]


def _clip_with(norm_of, scale_of):
    """A clip written with a wrong norm or a wrong factor."""
    def clip(gradients, max_norm):
        norm = norm_of([g for g in gradients if g is not None])
        return [None if g is None else g * ops.cast(scale_of(norm, max_norm), g.dtype) for g in gradients]
    return clip


def _global_norm(gradients):
    return ops.sqrt(sum(ops.sum(ops.cast(g, WIDE) ** 2) for g in gradients))


def _right_scale(norm, max_norm):
    return ops.minimum(ops.cast(1.0, norm.dtype), max_norm / norm)


def clip_first_only(gradients, max_norm):
    scale = _right_scale(_global_norm([g for g in gradients if g is not None]), max_norm)
    return [gradients[0] * ops.cast(scale, gradients[0].dtype)] + gradients[1:]


def clip_per_tensor(gradients, max_norm):
    return [None if g is None else g * ops.cast(ops.minimum(1.0, max_norm / ops.sqrt(ops.sum(ops.square(g)))),
                                                g.dtype) for g in gradients]


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


def clip_with_keras_internal(gradients, max_norm):
    """Keras' optimizers clip with this function (global_clipnorm): still the library's work, not the learner's."""
    from keras.src.optimizers.base_optimizer import clip_by_global_norm

    present = [g for g in gradients if g is not None]
    clipped = iter(clip_by_global_norm(present, max_norm))
    return [None if g is None else next(clipped) for g in gradients]


def clip_with_jnp(gradients, max_norm):
    norm = jnp.sqrt(sum(jnp.vdot(g, g) for g in gradients if g is not None))
    scale = jnp.minimum(1.0, max_norm / norm)
    return [None if g is None else (g * scale).astype(g.dtype) for g in gradients]


def clip_with_torch_ops(gradients, max_norm):
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in gradients if g is not None]))
    scale = torch.clamp(max_norm / norm, max=1.0)
    return [None if g is None else g * scale.to(g.dtype) for g in gradients]


def clip_grad_norm_on_the_list(gradients, max_norm):
    """PyTorch's one call: it clips the .grad of parameters, which plain gradient tensors do not have."""
    torch.nn.utils.clip_grad_norm_([g for g in gradients if g is not None], max_norm)
    return gradients


def clip_in_place_returning_norm(gradients, max_norm):
    """Scales the given tensors in place and returns the norm, as torch.nn.utils.clip_grad_norm_ does."""
    norm = torch.sqrt(sum((g ** 2).sum() for g in gradients if g is not None))
    for g in gradients:
        if g is not None:
            g.mul_(torch.clamp(max_norm / norm, max=1.0).to(g.dtype))
    return norm


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
        return ops.matmul(x, ops.transpose(self.W_xh)) + ops.matmul(h_prev, ops.transpose(self.W_hh)) + self.b

    def gates(self, z):
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        return ops.sigmoid(z_i), ops.sigmoid(z_f), ops.tanh(z_c), ops.sigmoid(z_o)

    def new_cell(self, i, f, c_tilde, c_prev):
        return f * c_prev + i * c_tilde

    def new_hidden(self, o, c):
        return o * ops.tanh(c)

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
            return (ops.einsum("bd,gd->bg", inputs, self.W_xh[rows]) + ops.einsum("bu,gu->bg", h_prev, self.W_hh[rows])
                    + self.b[rows])

        i, f, c_tilde, o = ops.sigmoid(z(0)), ops.sigmoid(z(1)), ops.tanh(z(2)), ops.sigmoid(z(3))
        c = f * c_prev + i * c_tilde
        h = o * ops.tanh(c)
        return h, [h, c]


class LSTMCellConcat(LSTMCell):
    """One product with [x, h] against the stacked weights."""

    def pre_activations(self, x, h_prev):
        W = ops.concatenate([self.W_xh, self.W_hh], axis=1)
        return ops.matmul(ops.concatenate([x, h_prev], axis=-1), ops.transpose(W)) + self.b


class OldGateOrder(LSTMCell):
    def gates(self, z):
        z_f, z_i, z_c, z_o = ops.split(z, 4, axis=-1)
        return ops.sigmoid(z_i), ops.sigmoid(z_f), ops.tanh(z_c), ops.sigmoid(z_o)


class SwappedActivations(LSTMCell):
    def gates(self, z):
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        return ops.tanh(z_i), ops.tanh(z_f), ops.sigmoid(z_c), ops.tanh(z_o)


class ForgetsCellState(LSTMCell):
    def new_cell(self, i, f, c_tilde, c_prev):
        return i * c_tilde


class CoupledGates(LSTMCell):
    def new_cell(self, i, f, c_tilde, c_prev):
        return f * c_prev + (1 - f) * c_tilde


class OutputGateInsideTanh(LSTMCell):
    def new_hidden(self, o, c):
        return ops.tanh(o * c)


class NoTanhOnCell(LSTMCell):
    def new_hidden(self, o, c):
        return o * c


class NoBias(LSTMCell):
    def pre_activations(self, x, h_prev):
        return ops.matmul(x, ops.transpose(self.W_xh)) + ops.matmul(h_prev, ops.transpose(self.W_hh))


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
        return f * ops.stop_gradient(c_prev) + i * c_tilde


class IgnoresPreviousH(LSTMCell):
    def pre_activations(self, x, h_prev):
        return ops.matmul(x, ops.transpose(self.W_xh)) + self.b


class DetachesCell(LSTMCell):
    """PyTorch: `.detach()` on c_{t-1}, to 'save memory'."""

    def new_cell(self, i, f, c_tilde, c_prev):
        return f * c_prev.detach() + i * c_tilde


class InPlaceGates(LSTMCell):
    """PyTorch: the sigmoids applied in place on the views torch.split returns."""

    def gates(self, z):
        z_i, z_f, z_c, z_o = torch.split(z, z.shape[-1] // 4, dim=-1)
        return z_i.sigmoid_(), z_f.sigmoid_(), z_c.tanh_(), z_o.sigmoid_()


class NoGradInCall(LSTMCell):
    """PyTorch: the step under torch.no_grad(), as in an evaluation loop."""

    def call(self, inputs, states):
        with torch.no_grad():
            return super().call(inputs, states)


class NumPyGates(LSTMCell):
    """JAX: the gates computed in NumPy: fine on concrete arrays, not on the traced ones of RNN's scan or jax.grad."""

    def gates(self, z):
        z_i, z_f, z_c, z_o = np.split(np.asarray(z), 4, axis=-1)
        sigmoid = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
        return sigmoid(z_i), sigmoid(z_f), np.tanh(z_c), sigmoid(z_o)


def _cell(cls):
    return lambda: (cls,)


# ---------------------------------------------------------------- the table
WRONG = [
    # 2.1 on TensorFlow: the tape
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
    *on_every_backend(
        Wrong("2.1b", "distances reversed (indexed by step)", _by_distance(terms_by_formula, lambda g: ops.flip(g, 0)),
              r"reverse order"),
        Wrong("2.1b", "off by one: k = T term dropped", _by_distance(
            terms_by_formula, lambda g: ops.concatenate([g[1:], ops.zeros_like(g[:1])], 0)),
              r"shifted by one.*missing"),
        Wrong("2.1b", "off by one: a zero term in front", _by_distance(
            terms_by_formula, lambda g: ops.concatenate([ops.zeros_like(g[:1]), g[:-1]], 0)), r"shifted by one.*d - 1"),
        Wrong("2.1b", "k = 0 term included", _by_distance(
            terms_by_formula, lambda g: ops.concatenate([g, ops.zeros_like(g[:1])], 0)), r"one term too many"),
        Wrong("2.1b", "gradient of h, not of W_hh", _bptt(state_gradients), r"dL/dh_t of exercise 2.1"),
        Wrong("2.1b", "the total gradient for every distance", _by_distance(
            terms_by_formula, lambda g: ops.broadcast_to(ops.sum(g, 0), g.shape)), r"whole gradient"),
        Wrong("2.1b", "cumulative sum (truncated gradients)", _by_distance(
            terms_by_formula, lambda g: ops.cumsum(g, axis=0)), r"truncated at d \+ 1"),
        Wrong("2.1b", "norms instead of terms", _by_distance(
            terms_by_formula, lambda g: ops.sqrt(ops.sum(g ** 2, axis=(1, 2)))), r"norms"),
        Wrong("2.1b", "loss over every step", _by_distance(terms_by_formula, loss="every y"), r"every output"),
        Wrong("2.1b", "loss on h_T, readout forgotten", _by_distance(terms_by_formula, loss="last h"),
              r"sum of the last state h_T"),
        Wrong("2.1b", "h_k instead of h_{k-1}", _by_distance(terms_by_formula, previous=False), r"previous state"),
        Wrong("2.1b", "tanh derivative forgotten", _by_distance(terms_by_formula, tanh_grad=False), r"1 - h_k\^2"),
        Wrong("2.1b", "terms transposed", _by_distance(terms_by_formula, lambda g: ops.transpose(g, (0, 2, 1))),
              r"transposed"),
        Wrong("2.1b", "not summed over the batch", _by_distance(terms_by_formula, batch_sum=False),
              r"summed over the batch"),
        Wrong("2.1b", "mean over the batch", _by_distance(terms_by_formula, lambda g: g / 4),
              r"divided by the batch size"),
    ),
    Wrong("2.1b", "stop_gradient between steps", _by_distance(terms_by_copies, carry=False), r"only distance 0"),
    *on_every_backend(
        Wrong("2.2", "returned unchanged", _clip(lambda gradients, max_norm: gradients), r"unchanged"),
        Wrong("2.2", "clipped per tensor", _clip(clip_per_tensor), r"its own norm"),
        Wrong("2.2", "clipped by value", _clip(lambda gradients, max_norm: [
            None if g is None else ops.clip(g, -max_norm, max_norm) for g in gradients]), r"clipped to \[-max_norm"),
        Wrong("2.2", "rescaled under the threshold", _clip(_clip_with(_global_norm, lambda n, m: m / n)),
              r"under max_norm were rescaled"),
        Wrong("2.2", "norm without square root", _clip(_clip_with(
            lambda gs: _global_norm(gs) ** 2, _right_scale)), r"square root"),
        Wrong("2.2", "sum of per-tensor norms", _clip(_clip_with(
            lambda gs: sum(ops.norm(ops.reshape(ops.cast(g, WIDE), [-1])) for g in gs), _right_scale)),
              r"sum of the per-tensor norms"),
        Wrong("2.2", "factor upside down", _clip(_clip_with(
            _global_norm, lambda n, m: ops.minimum(ops.cast(1.0, n.dtype), n / m))), r"upside down"),
        Wrong("2.2", "only the first tensor scaled", _clip(clip_first_only), r"not every gradient was scaled"),
        Wrong("2.2", "None gradients dropped", _clip(lambda gradients, max_norm: [
            g for g in clip_by_hand(gradients, max_norm) if g is not None]), r"None gradients were dropped"),
        Wrong("2.2", "None replaced by zeros", _clip(lambda gradients, max_norm: [
            ops.zeros(1) if g is None else g for g in clip_by_hand(gradients, max_norm)]), r"should be None"),
        Wrong("2.2", "returns (gradients, norm)", _clip(lambda gradients, max_norm: (
            clip_by_hand(gradients, max_norm), _global_norm([g for g in gradients if g is not None]))), r"pair"),
        Wrong("2.2", "returns the norm", _clip(lambda gradients, max_norm: _global_norm(
            [g for g in gradients if g is not None])), r"single number"),
        Wrong("2.2", "Keras' internal clip_by_global_norm called", _clip(clip_with_keras_internal),
              r"called `keras\.src\.optimizers\.base_optimizer\.clip_by_global_norm`"),
    ),
    Wrong("2.2", "NumPy inside (fails in tf.function)", _clip(clip_with_numpy), r"inside tf\.function"),
    Wrong("2.2", "Python if on a tensor (fails in tf.function)", _clip(clip_with_if), r"inside tf\.function"),
    Wrong("2.2", "tf.clip_by_global_norm called", _clip(clip_with_library), r"called `tf\.clip_by_global_norm`"),
    Wrong("2.2", "tf.compat.v1.clip_by_global_norm under an alias", _clip(clip_with_compat_alias),
          r"called `tf\.clip_by_global_norm`"),
    Wrong("2.2", "clip_by_global_norm reached by a getattr string", _clip(clip_with_getattr),
          r"called `tf\.clip_by_global_norm`"),
    *on_every_backend(
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
    ),
]

RIGHT = [
    Right("2.1", "tape over the list, float32", lambda: (gradients_by_tape, _rnn_cell())),
    Right("2.1", "float64 cell, one gradient per state", lambda: (gradients_one_by_one, _rnn_cell(dtype="float64"))),
    Right("2.1", "h_0 watched then dropped, orthogonal init", lambda: (gradients_with_h0_dropped,
                                                                       _rnn_cell(init="orthogonal"))),
    *on_every_backend(
        Right("2.1", "backward pass by hand in keras.ops, no autodiff", lambda: (gradients_by_hand, _rnn_cell())),
        Right("2.1b", "formula from the framework's dL/dh_k", _by_distance(terms_by_formula)),
        Right("2.2", "by hand with a list comprehension", _clip(clip_by_hand)),
        Right("2.2", "vectorised in float64 (float32 on JAX)", _clip(clip_vectorised_wide)),
        Right("2.2", "loops, scale max_norm / max(norm, max_norm)", _clip(clip_with_loop)),
        Right("2.4", "split and matmul", _cell(LSTMCell)),
        Right("2.4", "per-gate slices with einsum", _cell(LSTMCellEinsum)),
        Right("2.4", "one product with [x, h]", _cell(LSTMCellConcat)),
    ),
    Right("2.1b", "a zero copy of W_hh per step", _by_distance(terms_by_copies)),
    Right("2.1b", "differences of truncated gradients, float64 cell", lambda: (
        terms_by_truncation, _rnn_cell(dtype="float64", init="orthogonal"))),
    Right("2.2", "TensorFlow operations", _clip(clip_with_tf_ops)),
    Right("2.4", "float64", _cell(LSTMCellFloat64), backends=("tensorflow", "torch")),
]


# ---------------------------------------------------------------- JAX: jax.grad of a function, traced values
WRONG += [
    Wrong("2.1", "jax.grad of a non-scalar (ŷ_T not summed)", _bptt(gradients_by_nudges, scalar=False), r"scalar",
          backends=JAX),
    Wrong("2.1", "float() on the traced loss", _bptt(gradients_by_nudges, concrete=True),
          r"ConcretizationTypeError", backends=JAX),
    Wrong("2.1", "ŷ_T taken from the cell, before the last nudge", _bptt(gradients_by_nudges, nudge_y=False),
          r"dL/dh_T \(the last entry\)", backends=JAX),
    Wrong("2.1", "nudged state not carried to the next step", _bptt(gradients_by_nudges, carried=False),
          r"only the last state", backends=JAX),
    Wrong("2.1", "nudges in reverse time order", lambda: (
        lambda cell, x: gradients_by_nudges(cell, x)[::-1], _rnn_cell()), r"reverse time order", backends=JAX),
    Wrong("2.1", "loss sums every output", _bptt(gradients_by_nudges, loss="every y"), r"every output", backends=JAX),
    Wrong("2.1", "loss is a mean", _bptt(gradients_by_nudges, loss="mean y"), r"L is a mean", backends=JAX),
    Wrong("2.1", "loss on h_T, readout forgotten", _bptt(gradients_by_nudges, loss="last h"),
          r"sum of the last state h_T", backends=JAX),
    Wrong("2.1", "nudges shaped (batch, T, units)", _bptt(gradients_by_nudges, stack_axis=1), r"batch and time axes",
          backends=JAX),
    Wrong("2.1", "one nudge too few", _bptt(gradients_by_nudges, short=True), r"one entry too few", backends=JAX),
    Wrong("2.2", "NumPy and float() inside (fails in jax.jit)", _clip(clip_with_numpy), r"inside jax\.jit",
          backends=JAX),
    Wrong("2.2", "Python if on a tensor (fails in jax.jit)", _clip(clip_with_if), r"inside jax\.jit", backends=JAX),
    Wrong("2.4", "gates computed in NumPy", _cell(NumPyGates), r"Tracer|traced", backends=JAX),
]
RIGHT += [
    Right("2.1", "zero nudges, jax.grad", lambda: (gradients_by_nudges, _rnn_cell()), backends=JAX),
    Right("2.1", "a list of nudges, jnp", lambda: (gradients_by_nudge_list, _rnn_cell(init="orthogonal")),
          backends=JAX),
    Right("2.1", "jax.vjp step by step", lambda: (gradients_by_pullbacks, _rnn_cell()), backends=JAX),
    Right("2.1b", "the zero copies of W_hh as jax.grad's argument", _by_distance(terms_by_copies_jax), backends=JAX),
    Right("2.1b", "differences of truncated gradients", lambda: (terms_by_truncation, _rnn_cell(init="orthogonal")),
          backends=JAX),
    Right("2.2", "jax.numpy", _clip(clip_with_jnp), backends=JAX),
]


# ---------------------------------------------------------------- PyTorch: the autograd graph, .grad that accumulates
WRONG += [
    Wrong("2.1", ".detach() between steps", _bptt(gradients_by_autograd, detach=True), r"detach", backends=TORCH),
    Wrong("2.1", ".detach() between steps, allow_unused=True", _bptt(
        gradients_by_autograd, detach=True, allow_unused=True, stack=False), r"is None", backends=TORCH),
    Wrong("2.1", "forward pass under torch.no_grad()", _bptt(gradients_by_autograd, no_grad=True), r"no_grad",
          backends=TORCH),
    Wrong("2.1", "backward() without retain_grad(): .grad is None", _bptt(gradients_by_retain_grad, retain=False),
          r"retain_grad", backends=TORCH),
    Wrong("2.1", "backward() run twice: .grad accumulates", _bptt(gradients_by_retain_grad, backward_calls=2),
          r"added up over 2 calls of backward\(\)", backends=TORCH),
    Wrong("2.1", "time order reversed", lambda: (lambda cell, x: torch.flip(gradients_by_autograd(cell, x), [0]),
                                                 _rnn_cell()), r"reverse time order", backends=TORCH),
    Wrong("2.1", "loss sums every output", _bptt(gradients_by_autograd, loss="every y"), r"every output",
          backends=TORCH),
    Wrong("2.1", "loss is a mean", _bptt(gradients_by_autograd, loss="mean y"), r"L is a mean", backends=TORCH),
    Wrong("2.1", "loss on h_T, readout forgotten", _bptt(gradients_by_autograd, loss="last h"),
          r"sum of the last state h_T", backends=TORCH),
    Wrong("2.1", "list not stacked", _bptt(gradients_by_autograd, stack=False), r"not stacked", backends=TORCH),
    Wrong("2.1", "stacked along the batch axis", _bptt(gradients_by_autograd, stack_axis=1), r"batch and time axes",
          backends=TORCH),
    Wrong("2.1", "gradients with respect to x_t", _bptt(gradients_by_autograd, wrt="x"), r"inputs x_t",
          backends=TORCH),
    Wrong("2.1b", "truncated gradients by backward() without zero_grad(): .grad accumulates", lambda: (
        lambda cell, x: terms_by_truncation_backward(cell, x, zero_grad=False), _rnn_cell()),
          r"truncated at d \+ 1", backends=TORCH),
    Wrong("2.2", "torch.nn.utils.clip_grad_norm_ on the gradient list", _clip(clip_grad_norm_on_the_list),
          r"called `torch\.nn\.utils\.clip_grad_norm_`", backends=TORCH),
    Wrong("2.2", "scaled in place, the norm returned (as clip_grad_norm_ does)", _clip(clip_in_place_returning_norm),
          r"single number", backends=TORCH),
    Wrong("2.4", ".detach() on c_{t-1}", _cell(DetachesCell), r"gradient with respect to self\.W", backends=TORCH),
    Wrong("2.4", "sigmoid_ in place on split views", _cell(InPlaceGates), r"in-place", backends=TORCH),
    Wrong("2.4", "the step under torch.no_grad()", _cell(NoGradInCall), r"no gradient reaches", backends=TORCH),
]
RIGHT += [
    Right("2.1", "torch.autograd.grad over the list", lambda: (gradients_by_autograd, _rnn_cell()), backends=TORCH),
    Right("2.1", "retain_grad() and loss.backward()", lambda: (gradients_by_retain_grad, _rnn_cell(init="orthogonal")),
          backends=TORCH),
    Right("2.1", "float64 cell, one torch.autograd.grad per state", lambda: (
        gradients_float64_one_by_one, _rnn_cell(dtype="float64")), backends=TORCH),
    Right("2.1b", "zero copies of W_hh that require grad", _by_distance(terms_by_copies_torch), backends=TORCH),
    Right("2.1b", "truncated gradients by backward(), zero_grad() between", lambda: (
        terms_by_truncation_backward, _rnn_cell(init="orthogonal")), backends=TORCH),
    Right("2.2", "torch operations", _clip(clip_with_torch_ops), backends=TORCH),
    Right("2.2", "NumPy and float() for the norm (the step runs eagerly)", _clip(clip_with_numpy), backends=TORCH),
    Right("2.2", "Python if on the norm (the step runs eagerly)", _clip(clip_with_if), backends=TORCH),
]


# ---------------------------------------------------------------- written after diagnosis.py: tests its generality
# Wrong answers written once labhelpers/judges/diagnosis.py was in place, as students write them, each with the
# name a good diagnosis gives (None where nothing can single it out); bench/check_mutations.py counts them apart.
def terms_mean_loss(cell, x):
    """The loss as a mean where L is the sum of y_T."""
    grads, (h_k, _) = state_gradients(cell, x, "mean y"), _run_cell(cell, x)
    return ops.flip(ops.einsum("tbi,tbj->tij", grads * (1 - h_k ** 2), _previous_states(h_k)), axis=0)


WRONG += after_diagnosis(*on_every_backend(
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
    Wrong("2.1b", "mean for the loss", _by_distance(terms_mean_loss), r"divided by the batch size"),
    Wrong("2.1b", "the total gradient split evenly over T", _by_distance(terms_total_over_T),
          r"mean over all distance|divided by T"),
    Wrong("2.1b", "term k uses the gradient one index early", _by_distance(terms_by_hand, grad_shift=True),
          r"dL/dh_\{k-1\} in place of dL/dh_k"),
    Wrong("2.1", "minus sign", lambda: (lambda cell, x: -state_gradients(cell, x), _rnn_cell()),
          r"negated|sign is flipped"),
    Wrong("2.1", "by hand, without the tanh factors", lambda: (
        lambda cell, x: gradients_by_hand(cell, x, through_tanh=False), _rnn_cell()),
          r"derivative of tanh in the backward pass is missing"),
    Wrong("2.1", "by hand, W_hh transposed", lambda: (
        lambda cell, x: gradients_by_hand(cell, x, transpose=True), _rnn_cell()), r"transposed"),
), Wrong("2.1b", "h_{k-1} not held fixed", _by_distance(terms_not_held_fixed), r"not held fixed|through h_\{k-1\}"))
