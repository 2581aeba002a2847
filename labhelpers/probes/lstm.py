"""Lab 02's probes: they call the learner's code on the given inputs and return plain data.

They run on whichever Keras backend the kernel runs (TensorFlow, JAX or PyTorch), hand back NumPy, and
record that backend (`"backend"`) so that a judge words its hints in the learner's framework. Gradients
of the learner's cell go through labhelpers.autodiff; clip_gradients also runs compiled where the
notebook's training step is compiled (tf.function on TensorFlow, jax.jit on JAX; PyTorch's runs eagerly).
"""

from __future__ import annotations

import contextlib

from labhelpers.backends import unrolls_eager_loops
from labhelpers.grading import Lab, LearnerError, attempt, plain

# Library functions that clip by the global norm in one call: the learner's clip_gradients must not call one.
# Resolved only on their own backend, so that a check never imports another framework.
CLIP_LIBRARIES = {"tensorflow": ("tensorflow.clip_by_global_norm",), "torch": ("torch.nn.utils.clip_grad_norm_",),
                  "jax": ("optax.clip_by_global_norm",)}
KERAS_CLIP = ("keras.src.optimizers.base_optimizer.clip_by_global_norm",)


def backend() -> str:
    import keras

    return keras.backend.backend()


def wide_float() -> str:
    """float64 where the backend has it; float32 on JAX unless jax_enable_x64 is set (JAX would truncate
    float64 and warn on stderr)."""
    if backend() == "jax":
        import jax

        return "float64" if jax.config.jax_enable_x64 else "float32"
    return "float64"


def _tensor(value):
    """A NumPy array as the backend's tensor, its dtype kept where the backend has it (never a warning)."""
    import keras

    if backend() == "jax":
        import jax.numpy as jnp

        return jnp.asarray(value)  # float64 becomes float32 silently without jax_enable_x64
    return keras.ops.convert_to_tensor(value)


def _set_weights(layer, values: dict) -> dict:
    """Give the layer's weights named in `values` their drawn values; report what each was.

    Returns {name: {"shape": [...], "dtype": "..."}} or {name: None} for a missing weight;
    only weights of the drawn shape are set.
    """
    found = {}
    for name, value in values.items():
        weight = getattr(layer, name, None)
        if weight is None or not hasattr(weight, "assign"):
            found[name] = None
            continue
        shape, dtype = tuple(weight.shape), getattr(weight.dtype, "name", str(weight.dtype))
        found[name] = {"shape": list(shape), "dtype": dtype}
        if shape == value.shape:
            weight.assign(value.astype(dtype))
    return found


def _kind(value) -> str:
    """The type name of what the learner's code returned (for diagnosis only)."""
    return type(value).__name__


# ---------------------------------------------------------------- 2.1 and 2.1b
def unrolled_answer(answer, cell_class, inputs):
    """Per case: the cell's own states h_1..h_T, then what answer(cell, x) returned."""
    import keras

    cases = []
    for case in inputs["cases"]:
        x = case["x"]
        units, output_dim = case["W_hh"].shape[0], case["W_hy"].shape[0]
        cell = attempt(cell_class, units, output_dim)
        h = keras.ops.zeros((x.shape[0], units))
        attempt(cell, _tensor(x[:, 0]), [h])  # builds the weights
        weights = _set_weights(cell, {n: case[n] for n in ("W_xh", "W_hh", "b", "W_hy")})
        states = []
        for t in range(x.shape[1]):
            _, new_states = attempt(cell, _tensor(x[:, t]), [h])
            h = new_states[0]
            states.append(plain(h))
        returned = attempt(answer, cell, x)
        cases.append({"weights": weights, "states": states, "kind": _kind(returned), "returned": plain(returned)})
    return {"cases": cases, "backend": backend()}


# ---------------------------------------------------------------- 2.2
def _clip_returned(returned) -> dict:
    """What clip_gradients returned: its type and, per entry, None or the values."""
    if isinstance(returned, (list, tuple)):
        entries = [None if g is None else {"kind": _kind(g), "value": plain(g)} for g in returned]
        return {"kind": _kind(returned), "entries": entries}
    return {"kind": _kind(returned), "value": plain(returned)}


def clip_gradients(clip_gradients, inputs):
    """clip_gradients on each case, eagerly, and once compiled as the notebook's training step calls it
    (tf.function, jax.jit; PyTorch's step is eager: `in_graph` None). `given` is the dtype of each tensor
    handed over (JAX without jax_enable_x64 has no float64)."""
    def tensors(case):
        return [None if g is None else _tensor(g) for g in case["gradients"]]

    cases = []
    for case in inputs["cases"]:
        given = tensors(case)
        cases.append({**_clip_returned(attempt(clip_gradients, given, case["max_norm"])),
                      "given": [None if g is None else plain(g).dtype.name for g in given]})
    case, compiled = inputs["cases"][0], _compiled(clip_gradients, inputs["cases"][0]["max_norm"])
    if compiled is None:
        return {"cases": cases, "in_graph": None, "backend": backend()}
    try:
        with _no_retracing_warning():  # each check compiles anew: tracing again is expected here
            in_graph = _clip_returned(attempt(compiled, *tensors(case)))
    except LearnerError as error:
        in_graph = {"error": error.record}
    return {"cases": cases, "in_graph": in_graph, "backend": backend()}


def _compiled(clip_gradients, max_norm):
    """clip_gradients compiled as the backend's training step compiles it, or None where it runs eagerly."""
    if backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(lambda *grads: clip_gradients(list(grads), max_norm))
    if backend() == "jax":
        import jax

        return jax.jit(lambda *grads: clip_gradients(list(grads), max_norm))
    return None


@contextlib.contextmanager
def _no_retracing_warning():
    """TensorFlow's logger at ERROR for a moment: its 'triggered tf.function retracing' is a warning."""
    import logging

    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


# ---------------------------------------------------------------- 2.4
def _step(cell, x, h, c):
    """One direct call of the cell: what it returned, as plain data."""
    returned = attempt(cell, _tensor(x), [_tensor(h), _tensor(c)])
    return {"kind": _kind(returned), "value": plain(returned)}


def my_lstm_cell(cell_class, inputs):
    """Per case: the cell's sizes, one direct step, the unrolled run in keras.layers.RNN, gradients."""
    import keras

    from labhelpers.autodiff import value_and_gradients

    wide = wide_float()
    cases = []
    for case in inputs["cases"]:
        x, h0, c0 = case["x"], case["h0"], case["c0"]
        units = case["W_hh"].shape[1]
        cell = attempt(cell_class, units)
        if not cell.built:
            attempt(cell.build, (x.shape[0], x.shape[2]))
        weights = _set_weights(cell, {n: case[n] for n in ("W_xh", "W_hh", "b")})
        record = {"weights": weights, "state_size": plain(getattr(cell, "state_size", None)),
                  "output_size": plain(getattr(cell, "output_size", None))}
        if all(weights.values()):
            record["step"] = _step(cell, x[:, 0], h0, c0)
            layer = keras.layers.RNN(cell, return_sequences=True, return_state=True, unroll=unrolls_eager_loops())
            output_weights, cell_weights = (case[k].astype(wide) for k in ("output_weights", "cell_weights"))

            def run(x, h0, c0):
                outputs, *states = attempt(layer, x, initial_state=[h0, c0])
                loss = keras.ops.sum(keras.ops.multiply(keras.ops.cast(outputs, wide), output_weights))
                if len(states) == 2:
                    loss = loss + keras.ops.sum(keras.ops.multiply(keras.ops.cast(states[1], wide), cell_weights))
                return loss, (outputs, states)

            (outputs, states), _, gradients, _ = value_and_gradients(
                run, [getattr(cell, n) for n in ("W_xh", "W_hh", "b")], [x, h0, c0])
            record.update(outputs=plain(outputs), states=plain(states),
                          gradients=[None if g is None else plain(g) for g in gradients or [None] * 3])
        cases.append(record)
    return {"cases": cases, "backend": backend()}


# ---------------------------------------------------------------- the checks the notebook calls
lab = Lab("02")

check_hidden_state_gradients = lab.exercise("2.1", probe=unrolled_answer)
check_weight_gradient_by_distance = lab.exercise("2.1b", probe=unrolled_answer)
check_clip_gradients = lab.exercise("2.2", probe=clip_gradients,
                                    own_work=CLIP_LIBRARIES.get(backend(), ()) + KERAS_CLIP)
check_my_lstm_cell = lab.exercise("2.4", probe=my_lstm_cell,
                                  own_work=("keras.layers.LSTMCell.call", "keras.layers.LSTM.call"))
