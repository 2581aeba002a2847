"""Lab 02's judges: the inputs each check draws, and the verdict on what its probe returned.

Math convention (as in the notebook): weight matrices as in the formulas (column vectors,
`W x`), code with the batch in rows (`x @ W^T`). The LSTM's four row blocks are in Keras' gate
order: input i, forget f, candidate c~, output o.
"""

from __future__ import annotations

import itertools

import keras
import numpy as np

from labhelpers.backends import BACKENDS, DEFAULT, unrolls_eager_loops
from labhelpers.grading import CheckFailed, found_as_array, shown
from labhelpers.judges import diagnosis
from labhelpers.probes.lstm import wide_float

GATES = "ifco"  # the row blocks of the LSTM's W_xh, W_hh and b, as in keras.layers.LSTM
GATE_NAMES = {"i": "input i", "f": "forget f", "c": "candidate c~", "o": "output o"}


def _close(a, b, tol=1e-4) -> bool:
    """Same shape and equal within `tol`, relative to the size of the expected values `b`."""
    a, b = np.asarray(a, "float64"), np.asarray(b, "float64")
    return a.shape == b.shape and np.allclose(a, b, rtol=tol, atol=tol * max(1.0, np.abs(b).max(initial=0)))


def _worst(found, expected) -> str:
    diff = np.abs(np.asarray(found, "float64") - np.asarray(expected, "float64"))
    return f"largest difference {diff.max():.3g} (expected values up to {np.abs(expected).max():.3g})"


def backend_of(data) -> str:
    """The Keras backend the probe ran on (it records it), to word a hint in the learner's framework."""
    recorded = data.get("backend") if isinstance(data, dict) else None
    return recorded if recorded in BACKENDS else DEFAULT


def _weights_present(found: dict, expected: dict, hint: str) -> None:
    """Every weight the exercise names exists with its shape (as the probe found it)."""
    for name, shape in expected.items():
        weight = found.get(name)
        if not isinstance(weight, dict):
            raise CheckFailed(f"the layer has no weight `self.{name}`",
                              expected=f"weights {', '.join('self.' + n for n in expected)} made with "
                              "self.add_weight", found="no such weight", hint=hint)
        if tuple(weight.get("shape", ())) != tuple(shape):
            raise CheckFailed(f"`self.{name}` has the wrong shape", expected=str(tuple(shape)),
                              found=str(tuple(weight.get("shape", ()))), hint=hint)


# ---------------------------------------------------------------- 2.1 hidden_state_gradients
BPTT_SIZES = [(6, 3, 2, 4, 9, 1.3), (4, 2, 3, 2, 5, 0.8), (5, 1, 1, 3, 6, 1.0)]
# (units, input_dim, output_dim, batch, T, spectral radius of W_hh): batch, T and units all differ
BPTT_HINTS = {  # how each framework gives dL/dh_t (the notebook's 2.1 explains it per backend)
    "tensorflow": "inside one `tf.GradientTape`, unroll the cell from h = 0, keep every new state h_t in a list, "
                  "take L = the sum of the last output ŷ_T, and ask the tape for the gradient of L with respect "
                  "to that list; stack it so entry t - 1 is dL/dh_t.",
    "jax": "write L = the sum of ŷ_T as a function of zero nudges, one added to each new state h_t as the cell "
           "returns it (ŷ_T computed from the nudged h_T, W_hy h_T), unroll from h = 0, and take jax.grad of that "
           "function at zero: entry t - 1 is dL/dh_t.",
    "torch": "unroll the cell from h = 0, keep every new state h_t in a list, take L = the sum of the last output "
             "ŷ_T, and ask torch.autograd.grad for the gradient of L with respect to that list; stack it so "
             "entry t - 1 is dL/dh_t.",
}
NO_PATH = {  # why a state got no gradient, per framework
    "tensorflow": "the tape finds no path from L to those states: compute every step, and L, inside the "
                  "`with tf.GradientTape()` block, each step from the state the previous one returned.",
    "jax": "L does not depend on those nudges: add each nudge to the state the next step starts from, and "
           "compute L from the nudged last state.",
    "torch": "autograd finds no path from L to those states: compute each step from the state the previous one "
             "returned, with no `.detach()` or `torch.no_grad()` in between, and L from the last output.",
}


def draw_bptt(rng):
    """Random inputs and weights (W_hh a scaled random rotation) for three sizes."""
    cases = []
    for units, input_dim, output_dim, batch, length, radius in BPTT_SIZES:
        q, _ = np.linalg.qr(rng.normal(size=(units, units)))
        case = {"x": rng.normal(0, 0.5, (batch, length, input_dim)), "W_xh": rng.normal(0, 0.5, (units, input_dim)),
                "W_hh": radius * q, "b": rng.normal(0, 0.3, units), "W_hy": rng.normal(0, 1, (output_dim, units))}
        cases.append({name: value.astype("float32") for name, value in case.items()})
    return {"cases": cases}


def keras_simple_rnn(case, **options):
    """keras.layers.SimpleRNN in float64 (float32 on JAX without x64), built for the case's inputs, holding its
    drawn W_xh, W_hh and b."""
    layer = keras.layers.SimpleRNN(case["W_hh"].shape[0], dtype=wide_float(), **options)
    layer.build(case["x"].shape)
    layer.set_weights([case["W_xh"].T, case["W_hh"].T, case["b"]])
    return layer


def _keras_states(case):
    """h_1..h_T, shape (T, batch, units), from keras.layers.SimpleRNN with the drawn weights."""
    layer = keras_simple_rnn(case, return_sequences=True)
    return np.swapaxes(keras.ops.convert_to_numpy(layer(case["x"].astype(wide_float()))), 0, 1).astype("float64")


def _sent_back(grad, state, W_hh):
    """dL/dh_{t-1} from dL/dh_t through h_t = tanh(W_hh h_{t-1} + ...): the chain rule of one step."""
    return (grad * (1 - state ** 2)) @ W_hh


def _backward(states, W_hh, injected):
    """Gradients at every state when step t's output injects `injected[t]` into dL/dh_t."""
    grads, upstream = [], 0.0
    for t in reversed(range(len(states))):
        grad = upstream + injected[t]
        grads.append(grad)
        upstream = _sent_back(grad, states[t], W_hh)
    return np.stack(grads[::-1])


def last_output_gradients(case, states):
    """For L = sum(ŷ_T): W_hh in float64, dL/dh_T = W_hy^T 1 (one row per example), and dL/dh_t for t = 1..T."""
    W_hh = case["W_hh"].astype("float64")
    from_y = np.ones((len(case["x"]), case["W_hy"].shape[0])) @ case["W_hy"].astype("float64")
    return W_hh, from_y, _backward(states, W_hh, [0 * from_y] * (len(states) - 1) + [from_y])


def traced_backward(k, states, W_hh, from_y):
    """dL/dh_t for t = 1..T, L = sum(ŷ_T), as `diagnosis` traces it (k: its Trace): the loss, the derivative of
    tanh and the step back through W_hh named where the backward pass uses them."""
    T = len(states)
    none = [0 * from_y] * (T - 1)
    injected = k.value("L = the sum of the last output ŷ_T", [*none, from_y], instead={
        "L = the sum of every output ŷ_1..ŷ_T": [from_y] * T,
        "L = the sum of the last state h_T (without the readout W_hy)": [*none, np.ones_like(from_y)]})
    grads, upstream = [], 0.0
    for t in reversed(range(T)):
        grad = upstream + injected[t]
        grads.append(grad)
        through = k.apply("the derivative of tanh in the backward pass", "tanh'", states[t])
        upstream = k.op("the step back through W_hh in the backward pass", "vecmat", grad * through, W_hh)
    return np.stack(grads[::-1])


def _first_break(found, states, W_hh, from_y):
    """The last t (1-based) at which the chain rule fails, going back from T; None if it holds everywhere."""
    if not _close(found[-1], from_y, 1e-3):
        return len(states)
    for t in range(len(states) - 1, 0, -1):
        if not _close(found[t - 1], _sent_back(found[t], states[t], W_hh), 1e-3):
            return t
    return None


def _bptt_variants(states, W_hh, from_y, expected):
    """What the common wrong answers return, for the message that names them."""
    before_last = [np.zeros_like(from_y)] * (len(states) - 1)
    return {
        "the entries are in reverse time order: entry t - 1 must be dL/dh_t, counting from the first step":
            expected[::-1],
        "the entries are shifted by one step: the list includes the initial state h_0 and drops h_T":
            np.concatenate([_sent_back(expected[:1], states[0], W_hh), expected[:-1]]),
        "the loss uses every output ŷ_1..ŷ_T; here L is the sum of the last output ŷ_T only":
            _backward(states, W_hh, [from_y] * len(states)),
        "only the last state gets a gradient: each step must start from the state the previous step "
        "returned, inside the tape":
            np.concatenate([np.zeros_like(expected[:-1]), expected[-1:]]),
        "the loss is the sum of the last state h_T; here L is the sum of the last output ŷ_T = W_hy h_T":
            _backward(states, W_hh, [*before_last, np.ones_like(from_y)]),
    }


def _bptt_scaled(found, expected, batch, output_dim, backend=DEFAULT) -> str | None:
    """The message for gradients that are the right ones times a constant, else None."""
    k = float((found * expected).sum() / (expected * expected).sum())
    if np.isclose(k, 1.0, rtol=1e-3) or not _close(found, k * expected, 1e-3):
        return None
    if any(np.isclose(k, 1 / n, rtol=1e-3) for n in (batch, output_dim, batch * output_dim)):
        return f"the gradients are the right ones divided by {1 / k:.3g}: L is a mean; it must be the sum of ŷ_T"
    accumulated = ""
    if backend == "torch" and round(k) >= 2 and np.isclose(k, round(k), rtol=1e-3):
        accumulated = (f"; or they were added up over {round(k)} calls of backward() (PyTorch adds each call's "
                       "gradients into .grad until they are cleared)")
    named = diagnosis.scale_words(k, {"T": len(found), "the batch size": batch, "the number of outputs": output_dim})
    if named:
        return f"the gradients are the right ones {named[0]}: check how L is formed from ŷ_T{accumulated}"
    return f"the gradients are the right ones times {k:.4g}: check how L is formed from ŷ_T{accumulated}"


def _bptt_shape_mistake(shape, T, batch, units, input_dim, output_dim) -> str:
    """The likely cause of a result of the wrong shape."""
    causes = {(batch, T, units): "the batch and time axes are swapped",
              (T + 1, batch, units): "there is one entry too many: the list includes the initial state h_0",
              (T - 1, batch, units): "there is one entry too few: a step is missing",
              (T, batch, input_dim): "these look like gradients with respect to the inputs x_t, not the states h_t",
              (T, batch, output_dim): "these look like gradients with respect to the outputs y_t, not the states h_t"}
    return causes.get(tuple(shape), "the result has the wrong shape")


def _bptt_result(case, result, backend=DEFAULT):
    """The returned gradients as an array of the right shape, or a CheckFailed saying why not."""
    batch, T, input_dim = case["x"].shape
    units, output_dim = case["W_hh"].shape[0], case["W_hy"].shape[0]
    expected = f"one tensor of shape {(T, batch, units)} = (T, batch, units)"
    returned = result["returned"]
    if isinstance(returned, list):
        nones = [t + 1 for t, g in enumerate(returned) if g is None]
        if nones:
            raise CheckFailed(f"the gradient is None for h_t at t = {nones[:5]}", expected=expected,
                              found=f"a {result['kind']} with None entries", hint=NO_PATH[backend])
        stack = {"tensorflow": "tf.stack", "jax": "jnp.stack", "torch": "torch.stack"}[backend]
        raise CheckFailed("the gradients are not stacked into one tensor", expected=expected,
                          found=f"a {result['kind']} of {len(returned)} entries",
                          hint=f"`{stack}` (or `keras.ops.stack`) turns the list of gradients into one tensor.")
    found = found_as_array(returned, "the result", expected, BPTT_HINTS[backend])
    if found.shape != (T, batch, units):
        raise CheckFailed(f"{_bptt_shape_mistake(found.shape, T, batch, units, input_dim, output_dim)} "
                          f"(T = {T}, batch = {batch}, units = {units})", expected=expected,
                          found=f"shape {found.shape}", hint=BPTT_HINTS[backend])
    return found


def checked_states(case, result):
    """h_1..h_T from Keras, once the learner's cell class is shown to compute the same (else CheckFailed)."""
    sizes = {"W_xh": case["W_xh"].shape, "W_hh": case["W_hh"].shape, "b": case["b"].shape,
             "W_hy": case["W_hy"].shape}
    _weights_present(result["weights"], sizes, "pass the notebook's MyRNNCell class as the second argument.")
    states = _keras_states(case)
    cell_states = found_as_array(result["states"], "the cell's states", "an array", "")
    if not _close(cell_states, states, 1e-3):
        raise CheckFailed("the cell class (second argument) does not compute Lab 01's recurrence",
                          expected="h_t = tanh(W_hh h_{t-1} + W_xh x_t + b), as keras SimpleRNN",
                          found=_worst(cell_states, states) if cell_states.shape == states.shape
                          else f"states of shape {cell_states.shape}",
                          hint="pass the notebook's MyRNNCell class unchanged.")
    return states


def bptt(inputs, data):
    """dL/dh_t must satisfy the chain rule step by step, starting from dL/dh_T = W_hy^T 1."""
    backend = backend_of(data)
    hint = BPTT_HINTS[backend]
    for case, result in zip(inputs["cases"], data["cases"]):
        states = checked_states(case, result)
        found = _bptt_result(case, result, backend)
        batch, T, _ = case["x"].shape
        W_hh, from_y, expected = last_output_gradients(case, states)
        wrong = _first_break(found, states, W_hh, from_y)
        if wrong is None:
            continue
        variants = _bptt_variants(states, W_hh, from_y, expected)
        named = next((name for name, values in variants.items() if _close(found, values, 1e-3)), None)
        named = named or _bptt_scaled(found, expected, batch, case["W_hy"].shape[0], backend)
        if named:
            raise CheckFailed(named, expected="entry t - 1 = dL/dh_t for t = 1..T, L = sum(ŷ_T)",
                              found="values equal to what that mistake computes", hint=hint)
        where = ("dL/dh_T (the last entry) is not W_hy^T 1" if wrong == T else
                 f"dL/dh_t at t = {wrong} is not the gradient at t = {wrong + 1} sent back one step "
                 f"(the entries after it are consistent)")
        diagnosed = diagnosis.diagnose(found, expected, reference=lambda k: traced_backward(k, states, W_hh, from_y),
                                       axes=("entry {}", "row {}", "unit {}"), rtol=1e-3, atol=1e-3,
                                       sizes={"T": T, "the batch size": batch,
                                              "the number of outputs": case["W_hy"].shape[0]})
        raise CheckFailed(f"{where} (T = {T}, batch = {batch})",
                          expected="dL/dh_T = W_hy^T 1 and dL/dh_{t-1} = W_hh^T diag(1 - h_t^2) dL/dh_t",
                          found=diagnosed.text or _worst(found, expected), hint=hint)
    lengths = ", ".join(str(case["x"].shape[1]) for case in inputs["cases"])
    return (f"dL/dh_t follows the chain rule back from dL/dh_T = W_hy^T 1 at every step, "
            f"for {len(inputs['cases'])} random cells (T = {lengths})")


# ---------------------------------------------------------------- 2.2 clip_gradients
CLIP_HINT = ("the global norm is sqrt(sum of every squared entry of every gradient); multiply every "
             "gradient by the same factor min(1, max_norm / norm), and return None where a gradient is None.")


def draw_clip(rng):
    """Gradient lists above and below the threshold, with None entries, in float32 and float64."""
    def grads(scales, shapes, dtype):
        return [None if s is None else (s * rng.normal(size=shape)).astype(dtype) for s, shape in zip(scales, shapes)]

    shapes = [(3, 4), None, (4,), (2, 3, 2)]
    return {"cases": [  # the first is under the threshold: a wrong factor shows there before the clip hides it
        {"gradients": grads([0.05, None, 0.1, 0.02], shapes, "float32"), "max_norm": 1.0},
        {"gradients": grads([3.0, None, 0.02, 2.0], shapes, "float32"), "max_norm": 1.0},  # global > 1 > one's own
        {"gradients": grads([4.0, 1.0], [(5, 2), (2,)], "float64"), "max_norm": 2.5},
        {"gradients": grads([0.8, 0.8, 1.0], [(6,), (2, 2), (3, 1)], "float32"), "max_norm": 3},
    ]}


def _norm(arrays) -> float:
    return float(np.sqrt(sum((a.astype("float64") ** 2).sum() for a in arrays)))


def _clip_entries(case, returned) -> list:
    """The returned list as arrays, None kept, checked against the inputs' count, None places, shapes, dtypes.
    A float64 gradient handed over as float32 (`given`: JAX without x64 has no float64) may come back float32."""
    given = case["gradients"]
    handed = returned.get("given") if isinstance(returned.get("given"), list) else []
    expected = f"a list of {len(given)} entries, None where a gradient is None, else a tensor of its shape"
    if "entries" not in returned:
        what = returned["value"]
        found = "a single number (the norm?)" if np.ndim(what) == 0 and not isinstance(what, dict) else shown(what)
        raise CheckFailed("clip_gradients must return the list of clipped gradients", expected=expected,
                          found=f"{returned['kind']}: {found}", hint=CLIP_HINT)
    entries = returned["entries"]
    if (len(entries) == 2 and all(isinstance(e, dict) for e in entries) and isinstance(entries[0]["value"], list)
            and np.ndim(entries[1]["value"]) == 0):
        raise CheckFailed("clip_gradients returned a pair (gradients, norm)", expected=expected,
                          found="a pair: a list and a number", hint="return only the list of clipped gradients.")
    present = [g for g in given if g is not None]
    if len(entries) != len(given):
        dropped = len(entries) == len(present) < len(given)
        raise CheckFailed("the None gradients were dropped" if dropped else "the list has the wrong length",
                          expected=expected, found=f"{len(entries)} entries", hint=CLIP_HINT)
    arrays = []
    for k, (g, entry) in enumerate(zip(given, entries)):
        if g is None:
            if entry is not None:
                raise CheckFailed(f"entry {k} should be None, like the gradient given there", expected="None",
                                  found=shown(entry["value"]), hint="pass None gradients through unchanged.")
            arrays.append(None)
            continue
        if entry is None:
            raise CheckFailed(f"entry {k} is None but its gradient is not", expected=f"a tensor of shape {g.shape}",
                              found="None", hint=CLIP_HINT)
        found = found_as_array(entry["value"], f"entry {k}", f"a tensor of shape {g.shape}", CLIP_HINT,
                               dtype=None)
        dtype = g.dtype
        if g.dtype == np.float64 and k < len(handed) and handed[k] == "float32":
            dtype = np.dtype("float32")
        if found.shape != g.shape or found.dtype != dtype:
            raise CheckFailed(f"entry {k} has the wrong shape or dtype", expected=f"{g.shape} {dtype}",
                              found=f"{found.shape} {found.dtype}",
                              hint="scale each gradient; keep its shape and dtype.")
        arrays.append(found)
    return arrays


def _clip_factor_mistake(factor, right, norm, max_norm, present) -> str:
    """The name of the mistake that gives one common `factor` instead of `right`."""
    per_norms = [_norm([g]) for g in present]
    named = {
        "the gradients came back unchanged although their global norm is above max_norm": 1.0,
        "gradients whose global norm is already under max_norm were rescaled; the factor is min(1, max_norm / norm)":
            max_norm / norm,
        "the norm misses its square root: it is sqrt(sum of squares)": min(1.0, max_norm / norm ** 2),
        "the norm is the sum of the per-tensor norms; the global norm is sqrt of the sum of all squares":
            min(1.0, max_norm / sum(per_norms)),
        "the factor is upside down: it is max_norm / norm, not norm / max_norm": min(1.0, norm / max_norm),
    }
    candidates = [name for name, value in named.items() if np.isclose(factor, value, rtol=1e-4)
                  and not np.isclose(value, right, rtol=1e-4)]
    return candidates[0] if candidates else f"every gradient was scaled by {factor:.4g}"


def _clip_case(case, arrays) -> None:
    """Every gradient scaled by the one factor min(1, max_norm / global norm)."""
    pairs = [(g.astype("float64"), f.astype("float64")) for g, f in zip(case["gradients"], arrays) if g is not None]
    present = [g for g, _ in pairs]
    norm, max_norm = _norm(present), case["max_norm"]
    right = min(1.0, max_norm / norm)
    where = f"(global norm {norm:.3g}, max_norm {max_norm})"
    factors = [float((g * f).sum() / (g * g).sum()) for g, f in pairs]
    for k, ((g, f), factor) in enumerate(zip(pairs, factors)):
        if not _close(f, factor * g, 1e-4):
            by_value = np.clip(g, -max_norm, max_norm)
            problem = ("each entry was clipped to [-max_norm, max_norm]; that changes the direction of the update"
                       if _close(f, by_value, 1e-4) else f"gradient {k} is not a multiple of the one given")
            raise CheckFailed(f"{problem} {where}", expected="each gradient times the same factor",
                              found=_worst(f, right * g), hint=CLIP_HINT)
    if all(np.isclose(factor, right, rtol=1e-4) for factor in factors):
        return
    if not np.allclose(factors, factors[0], rtol=1e-4):
        per_tensor = [min(1.0, max_norm / _norm([g])) for g in present]
        if np.allclose(factors, per_tensor, rtol=1e-4):
            problem = "each gradient was clipped by its own norm; all must share the factor of the global norm"
        elif all(np.isclose(f, right, rtol=1e-4) or np.isclose(f, 1.0, rtol=1e-4) for f in factors):
            unscaled = [k for k, f in enumerate(factors) if not np.isclose(f, right, rtol=1e-4)]
            problem = f"not every gradient was scaled: gradient(s) {unscaled} came back unchanged"
        else:
            problem = "the gradients were scaled by different factors"
        raise CheckFailed(f"{problem} {where}", expected=f"every factor {right:.4g}",
                          found="factors " + ", ".join(f"{f:.4g}" for f in factors), hint=CLIP_HINT)
    raise CheckFailed(f"{_clip_factor_mistake(factors[0], right, norm, max_norm, present)} {where}",
                      expected=f"the factor min(1, max_norm / norm) = {right:.4g}", found=f"factor {factors[0]:.4g}",
                      hint=CLIP_HINT)


COMPILED = {"tensorflow": "tf.function", "jax": "jax.jit"}  # where the notebook's training step calls it


def clip(inputs, data):
    backend = backend_of(data)
    for case, returned in zip(inputs["cases"], data["cases"]):
        _clip_case(case, _clip_entries(case, returned))
    verified = (f"clips by the global norm on {len(inputs['cases'])} gradient lists (above and under max_norm, "
                "float32 and float64, None entries kept), eagerly")
    in_graph = data.get("in_graph")
    if backend not in COMPILED:  # PyTorch: the training step runs eagerly, as the check did
        return verified + " (PyTorch runs the training step eagerly)"
    compiled = COMPILED[backend]
    if not isinstance(in_graph, dict):
        raise CheckFailed(f"clip_gradients was not run inside {compiled}", found=shown(in_graph),
                          hint="run the check again from the notebook.")
    if "error" in in_graph:
        record = in_graph["error"]
        last = record.get("message", "").rsplit("Error: ", 1)[-1]
        raise CheckFailed(f"clip_gradients works eagerly but raised {record.get('type')} inside {compiled}, "
                          "where the training loop calls it", found=last[:200],
                          hint="use keras.ops only (keras.ops.sqrt, keras.ops.sum, keras.ops.minimum), and no "
                          "Python `if` on a tensor: `.numpy()`, `float()`, NumPy and `if norm > max_norm` do not "
                          f"work on the traced tensors of {compiled}.")
    case = inputs["cases"][0]
    _clip_case(case, _clip_entries(case, {**in_graph, "given": data["cases"][0].get("given")}))
    return f"{verified} and inside {compiled}"


# ---------------------------------------------------------------- 2.4 MyLSTMCell
LSTM_SIZES = [(5, 4, 3, 7), (3, 6, 2, 4)]  # (units, input_dim, batch, T)
LSTM_HINT = ("compare your `call` with the formulas of section 2.4 line by line: one product "
             "u_t = x W_xh^T + h_{t-1} W_hh^T + b, split into the blocks i, f, c~, o in that order; "
             "sigmoid for the three gates, tanh for c~; then c_t and h_t; return (h_t, [h_t, c_t]).")


def draw_lstm(rng):
    """Random weights, inputs, non-zero initial states and loss weights, for two sizes."""
    cases = []
    for units, input_dim, batch, length in LSTM_SIZES:
        n = 4 * units
        weights = {"W_xh": rng.normal(0, 0.6, (n, input_dim)), "W_hh": rng.normal(0, 0.6, (n, units)),
                   "b": rng.normal(0, 0.5, n)}
        sequence = {"x": rng.normal(0, 1, (batch, length, input_dim)), "h0": rng.normal(0, 0.5, (batch, units)),
                    "c0": rng.normal(0, 1, (batch, units))}
        loss = {"output_weights": rng.normal(size=(batch, length, units)),
                "cell_weights": rng.normal(size=(batch, units))}
        cases.append({**weights, **{k: v.astype("float32") for k, v in sequence.items()}, **loss})
    return {"cases": cases}


def _keras_lstm(case):
    """keras.layers.LSTM with the drawn weights (float64; float32 on JAX without x64): outputs, h_T, c_T and
    the loss's gradients per weight, on whichever backend Keras runs here."""
    from labhelpers.autodiff import value_and_gradients
    from labhelpers.backends import to_numpy

    units, wide = case["W_hh"].shape[1], wide_float()
    layer = keras.layers.LSTM(units, return_sequences=True, return_state=True, dtype=wide,
                              unroll=unrolls_eager_loops())
    layer.build(case["x"].shape)
    layer.set_weights([case["W_xh"].T, case["W_hh"].T, case["b"]])
    output_weights, cell_weights = (case[k].astype(wide) for k in ("output_weights", "cell_weights"))

    def run(x, h0, c0):
        outputs, h, c = layer(x, initial_state=[h0, c0])
        loss = (keras.ops.sum(keras.ops.multiply(outputs, output_weights))
                + keras.ops.sum(keras.ops.multiply(c, cell_weights)))
        return loss, (outputs, h, c)

    (outputs, h, c), _, grads, _ = value_and_gradients(
        run, layer.trainable_weights, [case[k].astype(wide) for k in ("x", "h0", "c0")])
    kernel, recurrent, bias = grads
    return {"outputs": to_numpy(outputs), "h": to_numpy(h), "c": to_numpy(c),
            "gradients": {"W_xh": kernel.T, "W_hh": recurrent.T, "b": bias}}


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _lstm_step_variant(case, mistake: dict):
    """(h_1, c_1) of one step from (h0, c0) as a wrong cell computes it; `mistake` says how it errs."""
    x, h, c = (case[k].astype("float64") for k in ("x", "h0", "c0"))
    if mistake.get("states") == "ignored":
        h, c = 0 * h, 0 * c
    if mistake.get("states") == "read as [c, h]":
        h, c = c, h
    a = x[:, 0] @ case["W_xh"].T + (0 if mistake.get("no_W_hh") else h @ case["W_hh"].T)
    a = a + (0 if mistake.get("no_bias") else case["b"])
    blocks = dict(zip(mistake.get("order", GATES), np.split(a, 4, axis=-1)))
    gate = np.tanh if mistake.get("swap") else _sigmoid
    candidate = _sigmoid if mistake.get("swap") or mistake.get("sigmoid_candidate") else np.tanh
    i, f, o, c_tilde = gate(blocks["i"]), gate(blocks["f"]), gate(blocks["o"]), candidate(blocks["c"])
    kept = {"f*c": f * c, "none": 0.0, "c": c}[mistake.get("keep", "f*c")]
    written = (1 - f) * c_tilde if mistake.get("coupled") else i * c_tilde
    c_new = kept + written
    shown = {"tanh(c_t)": np.tanh(c_new), "tanh(o*c)": np.tanh(o * c_new) / o, "c_t": c_new,
             "tanh(c_{t-1})": np.tanh(c), "c~": c_tilde}[mistake.get("shown", "tanh(c_t)")]
    return o * shown, c_new


def _lstm_mistakes():
    """(message, mistake) for every wrong cell the check can name from one step."""
    orders = [(f"the gate blocks are read in the order {', '.join(GATE_NAMES[g] for g in order)}; the rows of "
               "W_xh, W_hh and b are, in order, input i, forget f, candidate c~, output o (Keras' order)",
               {"order": "".join(order)}) for order in itertools.permutations(GATES) if "".join(order) != GATES]
    return orders + [
        ("sigmoid and tanh are swapped: the gates i, f, o use sigmoid (values in 0..1), the candidate c~ tanh",
         {"swap": True}),
        ("the candidate c~ uses sigmoid; it uses tanh (values in -1..1)", {"sigmoid_candidate": True}),
        ("the old cell state is dropped: c_t must keep f_t * c_{t-1}", {"keep": "none"}),
        ("c_{t-1} is kept whole: it must be multiplied by the forget gate f_t", {"keep": "c"}),
        ("the store term uses (1 - f_t) (a GRU-style coupled gate); the LSTM writes i_t * c~_t", {"coupled": True}),
        ("the output gate is applied to the wrong tensor: h_t = o_t * tanh(c_t), not tanh(o_t * c_t)",
         {"shown": "tanh(o*c)"}),
        ("tanh is missing in h_t = o_t * tanh(c_t)", {"shown": "c_t"}),
        ("h_t uses the old cell state c_{t-1}; it uses the new c_t", {"shown": "tanh(c_{t-1})"}),
        ("h_t uses the candidate c~_t; it is o_t * tanh(c_t)", {"shown": "c~"}),
        ("the bias b is missing from u_t", {"no_bias": True}),
        ("h_{t-1} W_hh^T is missing from u_t: the gates must see the previous state", {"no_W_hh": True}),
        ("the states are ignored: the step starts from zeros instead of states = [h_prev, c_prev]",
         {"states": "ignored"}),
        ("the states are read in the order [c, h]; Keras passes [h_{t-1}, c_{t-1}]", {"states": "read as [c, h]"}),
    ]


def _lstm_structure(case, result) -> None:
    """state_size, output_size and one direct call returning (h_t, [h_t, c_t])."""
    units = case["W_hh"].shape[1]
    _weights_present(result["weights"], {"W_xh": case["W_xh"].shape, "W_hh": case["W_hh"].shape,
                                         "b": case["b"].shape}, "keep the `build` given in the notebook.")
    if result["state_size"] != [units, units] or result["output_size"] != units:
        raise CheckFailed("state_size or output_size is wrong", expected=f"state_size [{units}, {units}] "
                          f"(h and c) and output_size {units}",
                          found=f"{shown(result['state_size'])} and {shown(result['output_size'])}",
                          hint="keep the `__init__` given in the notebook.")
    value = result["step"]["value"]
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[1], list) and len(value[1]) == 2):
        raise CheckFailed("call must return the output and the list of the two new states",
                          expected="(h_t, [h_t, c_t])", found=f"{result['step']['kind']}: {shown(value)}",
                          hint="end `call` with `return h, [h, c]`.")


def _lstm_first_step(case, step) -> None:
    """One step from (h0, c0): h_1 and c_1 against Keras, a named mistake when one fits."""
    reference = _keras_lstm({**case, "x": case["x"][:, :1], "output_weights": case["output_weights"][:, :1]})
    h1, c1 = reference["h"], reference["c"]
    out, h, c = (found_as_array(v, name, f"an array of shape {h1.shape}", LSTM_HINT)
                 for v, name in ((step[0], "the output"), (step[1][0], "the new h_t"), (step[1][1], "the new c_t")))
    if _close(out, h1) and _close(h, h1) and _close(c, c1):
        return
    where = "one call of the cell from random states (h_{t-1}, c_{t-1})"
    if _close(h, c1) and _close(c, h1):
        raise CheckFailed(f"the new states come back as [c_t, h_t] ({where})", expected="(h_t, [h_t, c_t])",
                          found="[c_t, h_t]", hint="Keras passes and expects the states [h, c] in that order.")
    if _close(c, case["c0"]):
        raise CheckFailed(f"the returned cell state is the old c_{{t-1}} ({where})", expected="the new c_t",
                          found="c_{t-1} unchanged", hint="return the c_t you computed.")
    if _close(out, c1) or (_close(h, h1) and not _close(out, h1)):
        raise CheckFailed(f"the output of the step is not h_t ({where})", expected="(h_t, [h_t, c_t])",
                          found="another tensor as the output", hint="the output of an LSTM step is h_t.")
    for message, mistake in _lstm_mistakes():
        h_wrong, c_wrong = _lstm_step_variant(case, mistake)
        if _close(out, h_wrong) and (_close(c, c_wrong) or _close(h, c_wrong)):
            raise CheckFailed(f"{message} ({where})", expected="h_t and c_t as keras.layers.LSTM computes them",
                              found="values equal to what that mistake computes", hint=LSTM_HINT)
    wrong = "h_t and c_t differ" if not _close(c, c1) else "c_t is right but h_t differs"
    raise CheckFailed(f"{wrong} from keras.layers.LSTM with the same weights ({where})",
                      expected="h_t and c_t as keras.layers.LSTM computes them",
                      found=_worst(h, h1) if not _close(h, h1) else _worst(c, c1), hint=LSTM_HINT)


def _lstm_sequence(case, result, reference) -> None:
    """The unrolled outputs, final states and gradients against keras.layers.LSTM."""
    outputs = found_as_array(result["outputs"], "the outputs", str(reference["outputs"].shape), LSTM_HINT)
    if outputs.shape != reference["outputs"].shape:
        raise CheckFailed("the outputs of keras.layers.RNN(your cell) have the wrong shape",
                          expected=str(reference["outputs"].shape), found=str(outputs.shape), hint=LSTM_HINT)
    wrong = [t + 1 for t in range(outputs.shape[1]) if not _close(outputs[:, t], reference["outputs"][:, t])]
    if wrong:
        raise CheckFailed(f"unrolled in keras.layers.RNN, h_t is right up to step {wrong[0] - 1} and differs from "
                          f"step {wrong[0]} on", expected="the outputs of keras.layers.LSTM",
                          found=_worst(outputs[:, wrong[0] - 1], reference["outputs"][:, wrong[0] - 1]),
                          hint="each step must start from the states the previous step returned.")
    states = result["states"]
    if not (isinstance(states, list) and len(states) == 2
            and all(_close(s, reference[k]) for s, k in zip(states, "hc"))):
        raise CheckFailed("the final states h_T, c_T differ from keras.layers.LSTM",
                          expected="[h_T, c_T]", found=shown(states), hint=LSTM_HINT)
    for name, gradient in zip(("W_xh", "W_hh", "b"), result["gradients"]):
        if gradient is None:
            raise CheckFailed(f"no gradient reaches self.{name}", expected="a gradient for every weight",
                              found="None", hint="compute with keras.ops on the weights; no NumPy, `.numpy()`, "
                              "`.detach()`, `torch.no_grad()` or stop_gradient inside `call`.")
        if not _close(gradient, reference["gradients"][name], 1e-3):
            raise CheckFailed(f"the outputs are right but the gradient with respect to self.{name} is not",
                              expected="the gradients of keras.layers.LSTM", found=_worst(
                                  gradient, reference["gradients"][name]),
                              hint="something in `call` blocks or bends the gradient (a stop_gradient or `.detach()`, "
                              "a NumPy round trip, a custom gradient).")


def my_lstm_cell(inputs, data):
    for case, result in zip(inputs["cases"], data["cases"]):
        _lstm_structure(case, result)
        _lstm_first_step(case, result["step"]["value"])
        _lstm_sequence(case, result, _keras_lstm(case))
    lengths = " and ".join(str(case["x"].shape[1]) for case in inputs["cases"])
    return ("one step, the unrolled outputs, h_T, c_T and the gradients of every weight match "
            f"keras.layers.LSTM with the same weights ({lengths} steps, random initial states)")
