"""Lab 02: backpropagation through time, vanishing and exploding gradients, and an LSTM.

The lab's data (the adding problem), its pictures (the LSTM cell diagram, gate traces)
and its checks. Math convention, as in the notebook: weight matrices are written as in
the formulas (column vectors, `W x`), while code keeps the batch in rows, `x @ W^T`.
An LSTM's four row blocks of `W_xh`, `W_hh` and `b` are, in order, the forget gate f,
the store (input) gate i, the update (candidate) c~ and the output gate o.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from labhelpers.grading import CheckFailed, Lab

lab = Lab("02", "BPTT and LSTM")

GATES = "fico"  # the learner's row blocks: forget, store (input), update (candidate), output
KERAS_GATES = "ifco"  # keras.layers.LSTM's kernel columns: input, forget, candidate, output
GATE_NAMES = {"f": "forget", "i": "store (input)", "c": "update (candidate)", "o": "output"}
ADDING_BASELINE_MSE = 1 / 6  # always answering 1, the mean of a sum of two U(0, 1) values
DIAGRAM = Path(__file__).with_name("lstm_cell.svg")


# ----------------------------------------------------------------------------- data
def adding_problem(num_sequences: int, length: int, rng: np.random.Generator):
    """Sequences of the adding problem and their targets.

    Each step carries two features: a value drawn from U(0, 1) and a marker that is 1 at
    exactly two steps, one in each half of the sequence. The target is the sum of the two
    marked values, so the answer depends on an input up to `length` steps back.
    Returns x of shape (num_sequences, length, 2) and y of shape (num_sequences, 1), float32.
    """
    values = rng.uniform(0.0, 1.0, size=(num_sequences, length))
    markers = np.zeros((num_sequences, length))
    rows = np.arange(num_sequences)
    markers[rows, rng.integers(0, length // 2, num_sequences)] = 1.0
    markers[rows, rng.integers(length // 2, length, num_sequences)] = 1.0
    x = np.stack([values, markers], axis=-1).astype("float32")
    y = (values * markers).sum(axis=1, keepdims=True).astype("float32")
    return x, y


# ----------------------------------------------------------------------------- numpy references
def sigmoid(z):
    """The logistic function, 1 / (1 + exp(-z))."""
    return 1.0 / (1.0 + np.exp(-z))


def rnn_state_gradients(x, W_xh, W_hh, b, W_hy, *, loss_on_every_step=False):
    """dL/dh_t for t = 1..T of a tanh RNN, by hand: shape (T, batch, units).

    The loss is L = sum(y_T), the sum of the last outputs (or of every output with
    `loss_on_every_step`, a common wrong reading of the exercise).
    """
    batch, length, _ = x.shape
    h = np.zeros((batch, W_hh.shape[0]))
    states = []
    for t in range(length):
        h = np.tanh(h @ W_hh.T + x[:, t] @ W_xh.T + b)
        states.append(h)
    from_output = np.ones((batch, W_hy.shape[0])) @ W_hy  # dL/dh_t through y_t = W_hy h_t
    grads, upstream = [], np.zeros_like(h)
    for t in reversed(range(length)):
        grad = upstream + (from_output if loss_on_every_step or t == length - 1 else 0)
        grads.append(grad)
        upstream = (grad * (1 - states[t] ** 2)) @ W_hh
    return np.stack(grads[::-1])


_HIDDEN_RULES = {
    "o*tanh(c)": lambda o, c, c_prev, c_tilde: o * np.tanh(c),
    "tanh(o*c)": lambda o, c, c_prev, c_tilde: np.tanh(o * c),
    "o*c": lambda o, c, c_prev, c_tilde: o * c,
    "o*tanh(c_prev)": lambda o, c, c_prev, c_tilde: o * np.tanh(c_prev),
    "o*c_tilde": lambda o, c, c_prev, c_tilde: o * c_tilde,
}


def lstm_numpy(x, h, c, W_xh, W_hh, b, *, order=GATES, swap_activations=False,
               carry_cell=True, hidden="o*tanh(c)"):
    """Run an LSTM over x (batch, T, input_dim) in NumPy; return a list of per-step dicts.

    `order` names the gate each row block of the weights feeds (the keras kernel is
    `KERAS_GATES`). The other arguments build the common wrong cells the check diagnoses.
    """
    gate_fn, candidate_fn = (np.tanh, sigmoid) if swap_activations else (sigmoid, np.tanh)
    trace = []
    for t in range(x.shape[1]):
        z = x[:, t] @ W_xh.T + h @ W_hh.T + b
        block = dict(zip(order, np.split(z, 4, axis=-1)))
        f, i, o = gate_fn(block["f"]), gate_fn(block["i"]), gate_fn(block["o"])
        c_tilde = candidate_fn(block["c"])
        c_prev = c
        c = (f * c_prev if carry_cell else 0.0) + i * c_tilde
        h = _HIDDEN_RULES[hidden](o, c, c_prev, c_tilde)
        trace.append({"f": f, "i": i, "c_tilde": c_tilde, "o": o, "c": c, "h": h})
    return trace


def reorder_gate_blocks(matrix, source: str, target: str, axis: int):
    """Reorder the four gate blocks of `matrix` along `axis` from `source` to `target` order."""
    blocks = dict(zip(source, np.split(np.asarray(matrix), 4, axis=axis)))
    return np.concatenate([blocks[g] for g in target], axis=axis)


def lstm_gate_trace(lstm_layer, x):
    """Gates, cell states and outputs of a trained keras.layers.LSTM over x, step by step.

    Returns a dict of arrays of shape (batch, T, units) for f, i, c_tilde, o, c and h.
    """
    kernel, recurrent_kernel, bias = (np.asarray(w) for w in lstm_layer.get_weights())
    units = recurrent_kernel.shape[0]
    zeros = np.zeros((x.shape[0], units))
    trace = lstm_numpy(np.asarray(x, "float64"), zeros, zeros, kernel.T, recurrent_kernel.T,
                       bias, order=KERAS_GATES)
    return {name: np.stack([step[name] for step in trace], axis=1) for name in trace[0]}


# ----------------------------------------------------------------------------- pictures
def cell_diagram():
    """The LSTM cell diagram (an SVG kept beside this module), for display in a notebook."""
    from IPython.display import SVG

    return SVG(filename=str(DIAGRAM))


# ----------------------------------------------------------------------------- check helpers
def _variables(layer, shapes: dict, exercise_hint: str):
    """The layer's weights named in `shapes`, checked for presence and shape."""
    found = {}
    for name, shape in shapes.items():
        weight = getattr(layer, name, None)
        if weight is None or not hasattr(weight, "assign"):
            raise CheckFailed(
                f"the layer has no weight `self.{name}`.",
                expected=f"weights {', '.join('self.' + n for n in shapes)} made with self.add_weight",
                hint=exercise_hint,
            )
        if tuple(weight.shape) != tuple(shape):
            raise CheckFailed(
                f"`self.{name}` has the wrong shape.", expected=str(tuple(shape)),
                found=str(tuple(weight.shape)), hint=exercise_hint,
            )
        found[name] = weight
    return found


def _assign(weights: dict, values: dict):
    """Give each weight its value from `values`, in the weight's own dtype."""
    for name, weight in weights.items():
        weight.assign(values[name].astype(np.dtype(getattr(weight.dtype, "name", weight.dtype))))


def _numpy(value):
    """A tensor or array as float64 NumPy, for comparisons."""
    return np.asarray(value, dtype="float64")


def _close(a, b, tol=1e-4):
    """Same shape and equal within `tol`, relative to the size of the expected values `b`."""
    a, b = np.asarray(a, "float64"), np.asarray(b, "float64")
    return a.shape == b.shape and np.allclose(a, b, rtol=tol, atol=tol * max(1.0, np.abs(b).max()))


def _worst(found, expected) -> str:
    """How far `found` is from `expected`, in words."""
    diff = np.abs(np.asarray(found, "float64") - np.asarray(expected, "float64"))
    return f"largest difference {diff.max():.3g} (expected values up to {np.abs(expected).max():.3g})"


# ----------------------------------------------------------------------------- 2.1 BPTT
_BPTT_HINT = (
    "inside one `tf.GradientTape`, unroll the cell step by step from h = 0, keep every "
    "h_t in a list, take L = the sum of the last output y_T, then ask the tape for the "
    "gradient of L with respect to that whole list."
)


def _bptt_case(cell_class, rng, units=6, input_dim=3, output_dim=2, batch=4, length=9, radius=1.3):
    """A MyRNNCell with fresh random weights, an input, and the exact gradients."""
    import tensorflow as tf

    cell = cell_class(units, output_dim)
    x = rng.normal(0, 0.5, size=(batch, length, input_dim))
    cell(tf.constant(x[:, 0], tf.float32), [tf.zeros((batch, units))])  # builds the weights
    shapes = {"W_xh": (units, input_dim), "W_hh": (units, units), "b": (units,), "W_hy": (output_dim, units)}
    weights = _variables(cell, shapes, "use the MyRNNCell given in the notebook.")
    q, _ = np.linalg.qr(rng.normal(size=(units, units)))
    values = {"W_xh": rng.normal(0, 0.5, (units, input_dim)), "W_hh": radius * q,
              "b": rng.normal(0, 0.1, units), "W_hy": rng.normal(0, 1, (output_dim, units))}
    _assign(weights, values)
    return cell, x, values


_BPTT_MISTAKES = {
    "order": "your gradients come in reverse time order: entry t must be dL/dh_t, "
             "with t counted from the first step.",
    "shift": "your gradients are shifted by one step: entry 0 must be dL/dh_1, the "
             "state after the first input (not the initial state h_0).",
    "carry": "only the last state gets a gradient: the state is not carried from one step "
             "to the next (each step must start from the h it just produced).",
    "every": "the loss uses every output; here L is the sum of the last output y_T only.",
}


def _h0_grad(x, values):
    """dL/dh_0: the gradient one step further back than h_1."""
    h1 = np.tanh(x[:, 0] @ values["W_xh"].T + values["b"])
    grad_h1 = rnn_state_gradients(x, **values)[0]
    return (grad_h1 * (1 - h1 ** 2)) @ values["W_hh"]


def _bptt_mistake(found, x, values, expected):
    """The name (a key of _BPTT_MISTAKES) of the wrong answer that `found` matches, if any."""
    if np.abs(found[:-1]).max() < 1e-6:
        return "carry"
    variants = {
        "order": expected[::-1],
        "shift": np.concatenate([_h0_grad(x, values)[None], expected[:-1]]),
        "every": rnn_state_gradients(x, **values, loss_on_every_step=True),
    }
    return next((name for name, variant in variants.items() if _close(found, variant, 1e-3)), None)


@lab.check("2.1", "hidden_state_gradients")
def check_hidden_state_gradients(hidden_state_gradients, cell_class):
    """Compare dL/dh_t from the learner's tape with backpropagation by hand in NumPy."""
    rng = np.random.default_rng(2)
    for length in (9, 4):
        cell, x, values = _bptt_case(cell_class, rng, length=length)
        expected = rnn_state_gradients(x, **values)
        found = _numpy(hidden_state_gradients(cell, x.astype("float32")))
        if found.shape != expected.shape:
            raise CheckFailed(
                "the result has the wrong shape.",
                expected=f"{expected.shape} = (time steps, batch, units), one dL/dh_t per step",
                found=str(found.shape), hint=_BPTT_HINT,
            )
        if not _close(found, expected, tol=1e-3):
            mistake = _bptt_mistake(found, x, values, expected)
            if mistake:
                raise CheckFailed(_BPTT_MISTAKES[mistake], hint=_BPTT_HINT)
            raise CheckFailed(
                "dL/dh_t does not match backpropagation through time done by hand.",
                found=_worst(found, expected), hint=_BPTT_HINT,
            )
    return "dL/dh_t for every step matches backpropagation by hand (NumPy), for two sequence lengths"


# ----------------------------------------------------------------------------- 2.2 clipping
_CLIP_HINT = (
    "compute one norm over all the gradients together, sqrt(sum of every squared entry), and "
    "when it exceeds max_norm scale every gradient by the same factor max_norm / norm; "
    "`tf.clip_by_global_norm` does this (mind what it returns)."
)


def clip_reference(gradients, max_norm, how="global"):
    """Clipped gradients in NumPy: `global` is right; the others are common wrong answers."""
    gradients = [np.asarray(g, "float64") for g in gradients]
    global_norm = np.sqrt(sum((g ** 2).sum() for g in gradients))
    if how == "global":
        return [g * min(1.0, max_norm / global_norm) for g in gradients]
    if how == "per_tensor":
        return [g * min(1.0, max_norm / np.sqrt((g ** 2).sum())) for g in gradients]
    if how == "by_value":
        return [np.clip(g, -max_norm, max_norm) for g in gradients]
    if how == "always_rescale":
        return [g * max_norm / global_norm for g in gradients]
    if how == "none":
        return gradients
    raise ValueError(how)


_CLIP_MISTAKES = (
    ("none", "the gradients came back unchanged although their global norm is above max_norm."),
    ("per_tensor", "each gradient was clipped by its own norm; clipping by the global norm "
                   "scales all of them by one common factor, so the update keeps its direction."),
    ("by_value", "each entry was clipped to [-max_norm, max_norm]; that changes the direction "
                 "of the update. Rescale by the global norm instead."),
    ("always_rescale", "gradients whose global norm is already below max_norm were rescaled too; "
                       "they must be left as they are."),
)


def _clip_cases(rng):
    """(gradients, max_norm) pairs: far above the threshold, below it, in float32 and float64."""
    shapes = [(3, 4), (4,), (2, 3, 2)]
    big = [rng.normal(0, 3, s) for s in shapes]
    small = [rng.normal(0, 0.01, s) for s in shapes]
    return [(big, 1.0, "float32"), (small, 1.0, "float32"), (big, 2.5, "float64")]


@lab.check("2.2", "clip_gradients")
def check_clip_gradients(clip_gradients):
    """Compare with clipping by the global norm in NumPy, on large and small gradients."""
    import tensorflow as tf

    rng = np.random.default_rng(22)
    for gradients, max_norm, dtype in _clip_cases(rng):
        result = clip_gradients([tf.constant(g, dtype) for g in gradients], max_norm)
        if isinstance(result, tuple) and len(result) == 2 and np.ndim(result[1]) == 0:
            raise CheckFailed(
                "the function returned a pair (gradients, norm).",
                expected="a list with one clipped gradient per variable",
                hint="`tf.clip_by_global_norm` returns two things; keep only the clipped list.",
            )
        found = [_numpy(g) for g in result]
        expected = clip_reference(gradients, max_norm)
        if len(found) != len(expected) or any(f.shape != e.shape for f, e in zip(found, expected)):
            raise CheckFailed(
                "the result does not have one gradient per variable, each of its shape.",
                expected=str([e.shape for e in expected]), found=str([f.shape for f in found]),
                hint=_CLIP_HINT,
            )
        if not all(_close(f, e, 1e-5) for f, e in zip(found, expected)):
            for name, message in _CLIP_MISTAKES:
                variant = clip_reference(gradients, max_norm, name)
                if all(_close(f, v, 1e-5) for f, v in zip(found, variant)):
                    raise CheckFailed(message, hint=_CLIP_HINT)
            raise CheckFailed("the clipped gradients do not match clipping by the global norm.",
                              hint=_CLIP_HINT)
    return "clips by the global norm, keeps the direction, leaves small gradients alone (float32, float64)"


# ----------------------------------------------------------------------------- 2.4 LSTM cell
_LSTM_HINT = (
    "compare your `call` with the formulas of section 2.4 line by line: one product "
    "z = x W_xh^T + h W_hh^T + b, split into f, i, c~, o in that order; sigmoid for the "
    "three gates, tanh for c~; c_t = f*c_{t-1} + i*c~; h_t = o*tanh(c_t); return (h_t, [h_t, c_t])."
)


def _lstm_mistakes():
    """(description, numpy options) for every wrong cell the check can name."""
    mistakes = [(f"the gate blocks are read in the order {', '.join(GATE_NAMES[g] for g in order)}; "
                 f"the rows of W_xh, W_hh and b are, in order, forget f, store i, update c~, output o",
                 {"order": "".join(order)})
                for order in itertools.permutations(GATES) if "".join(order) != GATES]
    return mistakes + [
        ("sigmoid and tanh are swapped: the gates f, i, o use sigmoid (values in 0..1) and the "
         "candidate c~ uses tanh", {"swap_activations": True}),
        ("the cell state is not carried: c_t must add f * c_{t-1} to i * c~", {"carry_cell": False}),
        ("the output gate is applied to the wrong tensor: h_t = o * tanh(c_t), not tanh(o * c_t)",
         {"hidden": "tanh(o*c)"}),
        ("the output gate is applied to the wrong tensor: h_t = o * tanh(c_t), not o * c_t "
         "(tanh missing)", {"hidden": "o*c"}),
        ("the output gate is applied to the wrong tensor: h_t uses the new cell state c_t, "
         "not c_{t-1}", {"hidden": "o*tanh(c_prev)"}),
        ("the output gate is applied to the wrong tensor: h_t = o * tanh(c_t), not o * c~",
         {"hidden": "o*c_tilde"}),
    ]


def _keras_lstm_reference(values, x, h0, c0):
    """keras.layers.LSTM with the learner's weights copied in (keras' gate order i, f, c, o)."""
    import keras

    units = values["W_hh"].shape[1]
    layer = keras.layers.LSTM(units, return_sequences=True, return_state=True, dtype="float64")
    layer.build(x.shape)
    layer.set_weights([
        reorder_gate_blocks(values["W_xh"], GATES, KERAS_GATES, axis=0).T,
        reorder_gate_blocks(values["W_hh"], GATES, KERAS_GATES, axis=0).T,
        reorder_gate_blocks(values["b"], GATES, KERAS_GATES, axis=0),
    ])
    return [_numpy(v) for v in layer(x, initial_state=[h0, c0])]


def _run_learner_lstm(cell_class, units, x, h0, c0, rng):
    """Build the learner's cell in keras.layers.RNN, give it random weights, run it."""
    import keras
    import tensorflow as tf

    cell = cell_class(units)
    batch, _, input_dim = x.shape
    if not cell.built:
        cell.build((batch, input_dim))
    shapes = {"W_xh": (4 * units, input_dim), "W_hh": (4 * units, units), "b": (4 * units,)}
    weights = _variables(cell, shapes, "create the three weights in `build` with self.add_weight.")
    values = {"W_xh": rng.normal(0, 0.6, shapes["W_xh"]), "W_hh": rng.normal(0, 0.6, shapes["W_hh"]),
              "b": rng.normal(0, 0.5, shapes["b"])}
    _assign(weights, values)
    layer = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    as_tensor = lambda a: tf.constant(a, "float32")  # noqa: E731
    outputs, *states = layer(as_tensor(x), initial_state=[as_tensor(h0), as_tensor(c0)])
    return values, _numpy(outputs), [_numpy(s) for s in states]


def _diagnose_lstm(values, x, h0, c0, outputs, h, c, expected):
    """Name the wrong cell whose numbers the learner's output matches, if any."""
    read_swapped = _keras_lstm_reference(values, x, c0, h0)  # states read as [c, h]
    if any(_close(h, ref[2]) and _close(c, ref[1]) for ref in (expected, read_swapped)):
        return "the states are in the order [c_t, h_t]; keras passes and expects [h_t, c_t]."
    if _close(outputs, expected[0]) and _close(h, expected[1]) and not _close(c, expected[2]):
        return "outputs and h_t are right but the returned cell state c_t is not the new one."
    for description, options in _lstm_mistakes():
        trace = lstm_numpy(x, h0, c0, values["W_xh"], values["W_hh"], values["b"], **options)
        if _close(outputs[:, -1], trace[-1]["h"]) or _close(c, trace[-1]["c"]):
            return description + "."
    return None


@lab.check("2.4", "MyLSTMCell")
def check_my_lstm_cell(cell_class):
    """Copy the cell's weights into keras.layers.LSTM and compare outputs and both states."""
    rng = np.random.default_rng(24)
    units, batch, length, input_dim = 5, 3, 7, 4
    x = rng.normal(0, 1, (batch, length, input_dim))
    h0, c0 = rng.normal(0, 0.5, (batch, units)), rng.normal(0, 1, (batch, units))
    values, outputs, states = _run_learner_lstm(cell_class, units, x, h0, c0, rng)
    if len(states) != 2:
        raise CheckFailed("the cell does not have two states.", expected="state_size = [units, units] "
                          "and call returning (h_t, [h_t, c_t])", found=f"{len(states)} state(s)",
                          hint=_LSTM_HINT)
    expected = _keras_lstm_reference(values, x, h0, c0)
    h, c = states
    if outputs.shape != expected[0].shape:
        raise CheckFailed("the outputs have the wrong shape.", expected=str(expected[0].shape),
                          found=str(outputs.shape), hint="the output of each step is h_t.")
    if not (_close(outputs, expected[0]) and _close(h, expected[1]) and _close(c, expected[2])):
        diagnosis = _diagnose_lstm(values, x, h0, c0, outputs, h, c, expected)
        raise CheckFailed(
            diagnosis or "the outputs or states differ from keras.layers.LSTM with the same weights.",
            found=None if diagnosis else _worst(outputs, expected[0]), hint=_LSTM_HINT,
        )
    return (f"outputs, h_T and c_T match keras.layers.LSTM with the same weights "
            f"({length} steps, nonzero initial state)")
