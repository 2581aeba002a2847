"""Lab 02's probes: they call the learner's code on the given inputs and return plain data."""

from __future__ import annotations

import contextlib

from labhelpers.grading import Lab, LearnerError, attempt, plain


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
    import tensorflow as tf

    cases = []
    for case in inputs["cases"]:
        x = case["x"]
        units, output_dim = case["W_hh"].shape[0], case["W_hy"].shape[0]
        cell = attempt(cell_class, units, output_dim)
        h = tf.zeros((x.shape[0], units))
        attempt(cell, tf.constant(x[:, 0]), [h])  # builds the weights
        weights = _set_weights(cell, {n: case[n] for n in ("W_xh", "W_hh", "b", "W_hy")})
        states = []
        for t in range(x.shape[1]):
            _, new_states = attempt(cell, tf.constant(x[:, t]), [h])
            h = new_states[0]
            states.append(h)
        returned = attempt(answer, cell, x)
        cases.append({"weights": weights, "states": plain(tf.stack(states)), "kind": _kind(returned),
                      "returned": plain(returned)})
    return {"cases": cases}


# ---------------------------------------------------------------- 2.2
def _clip_returned(returned) -> dict:
    """What clip_gradients returned: its type and, per entry, None or the values."""
    if isinstance(returned, (list, tuple)):
        entries = [None if g is None else {"kind": _kind(g), "value": plain(g)} for g in returned]
        return {"kind": _kind(returned), "entries": entries}
    return {"kind": _kind(returned), "value": plain(returned)}


def clip_gradients(clip_gradients, inputs):
    """clip_gradients on each case, eagerly, and once inside tf.function as the training loop calls it."""
    import tensorflow as tf

    def tensors(case):
        return [None if g is None else tf.constant(g) for g in case["gradients"]]

    cases = [_clip_returned(attempt(clip_gradients, tensors(case), case["max_norm"])) for case in inputs["cases"]]
    case = inputs["cases"][0]
    compiled = tf.function(lambda *grads: clip_gradients(list(grads), case["max_norm"]))
    try:
        with _no_retracing_warning():  # each check compiles anew: tracing again is expected here
            in_graph = _clip_returned(attempt(compiled, *tensors(case)))
    except LearnerError as error:
        in_graph = {"error": error.record}
    return {"cases": cases, "in_graph": in_graph}


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
    import tensorflow as tf

    returned = attempt(cell, tf.constant(x), [tf.constant(h), tf.constant(c)])
    return {"kind": _kind(returned), "value": plain(returned)}


def my_lstm_cell(cell_class, inputs):
    """Per case: the cell's sizes, one direct step, the unrolled run in keras.layers.RNN, gradients."""
    import keras
    import tensorflow as tf

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
            layer = keras.layers.RNN(cell, return_sequences=True, return_state=True)
            variables = [getattr(cell, n) for n in ("W_xh", "W_hh", "b")]
            with tf.GradientTape() as tape:
                outputs, *states = attempt(layer, tf.constant(x), initial_state=[tf.constant(h0), tf.constant(c0)])
                loss = tf.reduce_sum(tf.cast(outputs, "float64") * case["output_weights"])
                if len(states) == 2:
                    loss += tf.reduce_sum(tf.cast(states[1], "float64") * case["cell_weights"])
            gradients = tape.gradient(loss, variables)
            record.update(outputs=plain(outputs), states=plain(states),
                          gradients=[None if g is None else plain(g) for g in gradients])
        cases.append(record)
    return {"cases": cases}


# ---------------------------------------------------------------- the checks the notebook calls
lab = Lab("02")

check_hidden_state_gradients = lab.exercise("2.1", probe=unrolled_answer)
check_weight_gradient_by_distance = lab.exercise("2.1b", probe=unrolled_answer)
check_clip_gradients = lab.exercise("2.2", probe=clip_gradients, own_work=("tensorflow.clip_by_global_norm",))
check_my_lstm_cell = lab.exercise("2.4", probe=my_lstm_cell,
                                  own_work=("keras.layers.LSTMCell.call", "keras.layers.LSTM.call"))
