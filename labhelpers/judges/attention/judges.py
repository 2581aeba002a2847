"""Lab 05's judges of 5.2 and 5.4, and the helpers 5.5's (luong_judges.py) shares: the inputs each
check draws, and the verdict on what its probe returned.

The reference is Keras' own `keras.layers.Attention` (dot-product scores of the queries, scaled by
1/sqrt(d_k), over the keys where the mask is True). The NumPy here computes only what the common
wrong answers compute. The probes record the Keras backend the learner's code ran on (`backend_of`):
only the wording of hints about compiling and gradients depends on it.
"""

from __future__ import annotations

import keras
import numpy as np

from labhelpers.backends import BACKENDS, DEFAULT, to_numpy
from labhelpers.judges import diagnosis
from labhelpers.probes.attention import gradients
from labhelpers.grading import CheckFailed, describe_error, found_as_array, matching_mistake, shown

ATOL, RTOL = 1e-4, 1e-3


def backend_of(data) -> str:
    """The backend the probe says the learner's code ran on (from the kernel: one of BACKENDS or the default)."""
    backend = data.get("backend") if isinstance(data, dict) else None
    return backend if backend in BACKENDS else DEFAULT


# How each backend compiles the code model.fit runs (PyTorch runs it eagerly), and how it takes gradients.
COMPILERS = {"tensorflow": "tf.function", "jax": "jax.jit"}
COMPILE_HINTS = {
    "tensorflow": "use keras.ops (or TensorFlow operations) throughout (no NumPy on tensors, no .numpy()); take "
                  "sizes from the last axis or from keras.ops.shape(...).",
    "jax": "use keras.ops throughout: under jax.jit a tensor is a tracer with no value yet, so NumPy on it "
           "(np.asarray, np.sqrt of a tensor), float(), .item() and a Python `if` on its value fail; choose "
           "with keras.ops.where.",
}
NO_GRADIENT = {"tensorflow": "None from tf.GradientTape", "jax": "no gradient: jax.grad could not trace your code",
               "torch": "None from torch.autograd.grad"}
# What cuts a gradient on each backend, and what else does
GRAPH_LEAVERS = {"tensorflow": "no NumPy, no .numpy(), no stop_gradient",
                 "jax": "no NumPy (np.asarray), no float() or .item(), no stop_gradient",
                 "torch": "no NumPy, no .detach(), .numpy() or .item(), no stop_gradient"}
GRADIENT_CUTTERS = {"tensorflow": "a stop_gradient, or a value computed outside TensorFlow,",
                    "jax": "a stop_gradient, or a value computed outside JAX (in NumPy),",
                    "torch": "a .detach() or stop_gradient, or a value computed outside PyTorch (in NumPy),"}


def compiled_phrase(backend: str) -> str:
    """How a passing check says what it compiled."""
    return f"also compiled by {COMPILERS[backend]}" if backend in COMPILERS else "run eagerly, as PyTorch trains it"


def _lab():
    """The lab's module (imported late: it imports these checks)."""
    from labhelpers import attention

    return attention


def max_diff(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, "float64") - np.asarray(b, "float64")), initial=0.0))


def close(found, reference) -> bool:
    return found.shape == reference.shape and np.allclose(found, reference, atol=ATOL, rtol=RTOL)


def _difference(found, reference) -> str:
    """What kind of difference it is (diagnosis' relations: transposed, scaled, shifted...) and where it starts."""
    seen = diagnosis.diagnose(found, reference, rtol=RTOL, atol=ATOL)
    if found.shape != reference.shape:
        return f"shape {found.shape} instead of {reference.shape}" + (f": {seen.named.text}" if seen else "")
    return seen.text or f"max |diff| {max_diff(found, reference):.3g}"


def largest_difference(found, reference, axes) -> str:
    difference = np.abs(found - reference)
    index = np.unravel_index(np.argmax(difference), difference.shape)
    place = ", ".join(f"{axis} {i}" for axis, i in zip(axes, index))
    return f"a difference of {difference[index]:.3g} at {place}"


def returned_array(value, what: str, expected: str, hint: str) -> np.ndarray:
    """A returned value as an array of numbers, or a CheckFailed saying what came back instead."""
    if value is None or isinstance(value, (bool, int, float)):
        raise CheckFailed(f"{what} is not an array", expected=expected, found=repr(value), hint=hint)
    return found_as_array(value, what, expected, hint)


def _error_text(record) -> str:
    """The type and message of a learner's exception, without the traceback TensorFlow puts before it."""
    return f"{record['type']}: {record['message'].split(record['type'] + ': ')[-1]}"


def value_of(outcome):
    """What one learner call returned, or its exception as a CheckFailed."""
    if "error" in outcome:
        raise describe_error(outcome["error"])
    return outcome["value"]


def cases_of(inputs, data):
    """(drawn case, probe result) pairs; a record with missing cases is refused, never passed."""
    cases = data.get("cases") if isinstance(data, dict) else None
    if not (isinstance(cases, list) and len(cases) == len(inputs["cases"]) and all(isinstance(c, dict) for c in cases)):
        raise CheckFailed("the record of what your code returned is incomplete",
                          expected=f"{len(inputs['cases'])} results", found=shown(cases),
                          hint="run the check cell as it is given, after the cell that defines your answer.")
    return zip(inputs["cases"], cases)


def pair(value, names: tuple[str, str]):
    if isinstance(value, list) and len(value) == 2:
        return value
    raise CheckFailed("your code must return two things", expected=f"a tuple ({names[0]}, {names[1]})",
                      found=f"{len(value)} values" if isinstance(value, list) else shown(value),
                      hint=f"end with `return {names[0]}, {names[1]}`.")


def draw_mask(rng, batch, steps, holes=False):
    """True at real positions. Row 0 is unpadded and the others end with padding, or (holes) a
    random pattern with at least one real and one padded position."""
    if holes:
        mask = rng.random((batch, steps)) < 0.6
        real, padded = rng.permutation(steps)[:2]
        mask[:, real], mask[:, padded] = True, False
        return mask
    lengths = rng.integers(1, steps, size=batch)
    lengths[0] = steps
    return np.arange(steps) < lengths[:, None]


# ---------------------------------------------------------------- 5.2 decoder inputs
DECODER_BATCHES = ((4, "int32"), (1, "int32"), (7, "int64"))


def draw_decoder_inputs(rng):
    """Padded target ids in three batch sizes; the first with the lab's START, the others another start id."""
    lab, cases = _lab(), []
    for number, (batch, dtype) in enumerate(DECODER_BATCHES):
        steps = lab.TARGET_LENGTH
        lengths = rng.integers(1, steps + 1, size=batch)
        lengths[0] = steps  # a full row: its last target must be dropped
        ids = rng.integers(lab.START_ID + 1, len(lab.TARGET_VOCAB), size=(batch, steps))
        start = lab.START_ID if number == 0 else int(rng.integers(len(lab.TARGET_VOCAB), 100))
        targets = np.where(np.arange(steps) < lengths[:, None], ids, 0).astype(dtype)
        cases.append({"targets": targets, "start_id": start})
    return {"cases": cases}


def _decoder_mistakes(targets, start, lab_start) -> dict:
    """What the common wrong answers return for these targets."""
    join = lambda *parts, axis=1: np.concatenate(parts, axis=axis)  # noqa: E731
    column = lambda value, width=1: np.full((len(targets), width), value)  # noqa: E731
    mistakes = {
        "there is no shift: the decoder inputs equal the targets, so at each step the decoder would be "
        "given the very character it must predict": targets,
        "the targets are shifted left (towards the past), so the decoder would be given the next "
        "character instead of the previous one": join(targets[:, 1:], column(start)),
        "the first column is 0 (padding) instead of start_id, so the decoder has no signal to begin":
            join(column(0), targets[:, :-1]),
        "the targets are rolled round: the first column holds the last target instead of start_id":
            np.roll(targets, 1, axis=1),
        "the targets are delayed by two steps instead of one": join(column(start, 2), targets[:, :-2]),
        "start_id is put at the end instead of the beginning": join(targets[:, :-1], column(start)),
        "the shift is along the batch axis (rows) instead of the time axis (columns)":
            join(np.full((1, targets.shape[1]), start), targets[:-1], axis=0),
    }
    if start != lab_start:
        mistakes[f"the first column is the lab's START ({lab_start}), not the start_id passed in "
                 f"({start}): use the argument"] = join(column(lab_start), targets[:, :-1])
    return mistakes


def numeric_array(value) -> np.ndarray | None:
    """What the probe brought back as a numeric array (a list of equal rows counts), else None."""
    array = value if isinstance(value, np.ndarray) else None
    if isinstance(value, list):
        try:
            array = np.asarray(value)
        except ValueError:  # ragged rows
            array = None
    return array if array is not None and array.dtype.kind in "iufb" else None


def _ids(value, expected: str) -> np.ndarray:
    array = numeric_array(value)
    if array is None:
        raise CheckFailed("the decoder inputs are not an array of ids", expected=expected,
                          found=shown(value), hint="return a NumPy array (or a tensor) of integer ids.")
    return array


def decoder_inputs(inputs, data):
    lab = _lab()
    for case, result in cases_of(inputs, data):
        targets, start = case["targets"], case["start_id"]
        expected = np.concatenate([np.full((len(targets), 1), start), targets[:, :-1]], axis=1)
        if not np.array_equal(result["targets_after"], targets):
            raise CheckFailed("your function changed the `targets` array it was given",
                              expected="targets left as they were", found="targets changed after the call",
                              hint="build a new array (with np.concatenate, for instance) instead of "
                              "writing into `targets`.")
        where = f"for targets of shape {targets.shape} and start_id={start}"
        found = _ids(result["returned"], f"an array of shape {expected.shape}")
        if found.shape != expected.shape:
            diagnoses = {(len(targets), targets.shape[1] + 1): ": start_id is prepended but the last target is not dropped",
                         (targets.size,): ": the result is flat (np.insert and np.append flatten unless given an axis)"}
            raise CheckFailed(
                f"the decoder inputs have the wrong shape {where}{diagnoses.get(found.shape, '')}",
                expected=f"{expected.shape}, the shape of the targets", found=str(found.shape),
                hint="the decoder reads one input per output step: start_id, then every target but the last.")
        if not np.array_equal(found, expected):
            mistake = matching_mistake(found, _decoder_mistakes(targets, start, lab.START_ID), atol=0)
            row, step = np.argwhere(found != expected)[0]
            raise CheckFailed(
                f"{mistake} ({where})" if mistake else
                f"the decoder inputs are not start_id followed by the targets delayed one step {where}: "
                f"the first difference is at row {row}, column {step}",
                expected=f"row {row} = {expected[row].tolist()}", found=f"row {row} = {found[row].tolist()}",
                hint="the decoder's input at step t is y_{t-1}, the target one step before; the first "
                "column is y_0 = start_id.")
        if found.dtype.kind not in "iu":
            raise CheckFailed("the decoder inputs are not integers", expected="integer ids, like the targets",
                              found=f"dtype {found.dtype}",
                              hint="ids index an embedding table: keep the targets' dtype (multiplying by "
                              "np.ones(...) makes floats).")
    sizes = ", ".join(str(len(case["targets"])) for case in inputs["cases"])
    return (f"start_id (as passed in), then the targets delayed one step: same shape, integer ids, "
            f"targets untouched, on batches of {sizes} rows")


# ---------------------------------------------------------------- 5.4 scaled dot-product attention
ATTENTION_SIZES = ((2, 5, 5, 8, 3), (3, 2, 7, 16, 5), (1, 4, 6, 4, 9))  # (batch, Tq, Tk, d, dv)
ATTENTION_HINT = ("scores = Q K^T / sqrt(d_k) (a matrix product), padded keys set to -1e9 before a "
                  "softmax over the last axis (the keys).")


def draw_attention(rng):
    """Three sizes (Tq = Tk in the first); padding at the end, or in holes in the last."""
    cases = []
    for number, (batch, tq, tk, depth, value_depth) in enumerate(ATTENTION_SIZES):
        normal = lambda *shape: rng.normal(size=shape).astype("float32")  # noqa: E731
        cases.append({"queries": normal(batch, tq, depth), "keys": normal(batch, tk, depth),
                      "values": normal(batch, tk, value_depth),
                      "mask": draw_mask(rng, batch, tk, holes=number == 2),
                      "cotangents": [rng.normal(size=(batch, tq, value_depth)), rng.normal(size=(batch, tq, tk))]})
    return {"cases": cases}


def keras_attention(queries, keys, values, mask, scale=None):
    """keras.layers.Attention: softmax(Q K^T / scale) V over the keys where mask is True, as tensors.

    `scale` is sqrt(d_k) unless given; `mask=None` attends to every key.
    """
    scale = np.sqrt(keys.shape[-1]) if scale is None else scale
    return keras.layers.Attention()([queries / np.float32(scale), values, keys],
                                    mask=None if mask is None else [None, mask], return_attention_scores=True)


def as_numpy(tensors):
    return [np.asarray(None if t is None else to_numpy(t), "float64") for t in tensors]


def _softmax(scores, axis):
    exps = np.exp(scores - scores.max(axis=axis, keepdims=True))
    return exps / exps.sum(axis=axis, keepdims=True)


def _weight_mistakes(queries, keys, mask) -> dict:
    """The weights that the common wrong answers compute."""
    depth, query_steps, key_steps = keys.shape[-1], queries.shape[1], keys.shape[1]
    weights = lambda scale=None, mask=mask, q=queries, k=keys: to_numpy(keras_attention(q, k, k, mask, scale)[1])  # noqa: E731
    scores = np.asarray(queries, "float64") @ np.swapaxes(keys, 1, 2)
    masked = np.where(mask[:, None, :], scores / np.sqrt(depth), -1e9)
    mistakes = {
        "the softmax runs over the queries axis (axis 1); each query's weights must sum to 1 over the "
        "keys, the last axis": _softmax(masked, 1),
        "the weights are not normalised: exp(scores) is not divided by its sum over the keys": np.exp(masked),
        "the scores are not scaled by 1/sqrt(d_k)": weights(scale=1.0),
        "the scores are divided by d_k instead of sqrt(d_k)": weights(scale=depth),
        "the scores are multiplied by sqrt(d_k) instead of divided by it": weights(scale=1 / np.sqrt(depth)),
        "the scores are scaled by the square root of the number of keys; d is the depth of the queries "
        "and keys": weights(scale=np.sqrt(key_steps)),
        "the mask is not applied: padded keys receive weight": weights(mask=None),
        "the padded scores are set to 0 rather than a very negative number, and exp(0) = 1 still gives "
        "them weight": _softmax(np.where(mask[:, None, :], scores / np.sqrt(depth), 0.0), -1),
        "the mask is inverted: the padded keys get the weight and the real ones none": weights(mask=~mask),
        "the padded weights are zeroed after the softmax, so the rows no longer sum to 1 (mask the "
        "scores before the softmax instead)": weights(mask=None) * mask[:, None, :],
        "the weights are the raw scores: no softmax turns them into positive weights that sum to 1": masked,
        "the weights are the raw scores, unmasked: no softmax": scores / np.sqrt(depth),
    }
    if query_steps == key_steps:
        mistakes["the queries and keys are swapped (K Q^T instead of Q K^T)"] = weights(q=keys, k=queries)
        mistakes["the mask is applied along the queries axis instead of the keys axis"] = _softmax(
            np.where(mask[:, :, None], scores / np.sqrt(depth), -1e9), -1)
    return mistakes


def _softmax_scale(found, scores, mask):
    """c when `found` is softmax(scores / c) over the real keys with zeros on padding, else None."""
    real = np.broadcast_to(mask[:, None, :], found.shape)
    if not (np.allclose(found.sum(-1), 1, atol=1e-3) and np.allclose(found[~real], 0, atol=1e-6)
            and (found[real] > 0).all()):
        return None

    def centred(x):  # each row minus its mean over the real keys, 0 on padding
        x = np.where(real, x, 0.0)
        return np.where(real, x - x.sum(-1, keepdims=True) / real.sum(-1, keepdims=True), 0.0)

    logs, xs = centred(np.log(np.where(real, found, 1.0))), centred(scores)
    slope = (logs * xs).sum() / max((xs * xs).sum(), 1e-12)
    if slope <= 0 or np.abs(logs - slope * xs).max() > 1e-3:
        return None
    return 1 / slope


def _wrong_weights_shape(found, queries, keys, expected) -> str:
    batch, query_steps, depth = queries.shape
    if found.shape == (batch, keys.shape[1], query_steps):
        return "the weights are (keys, queries): the queries and keys are swapped (K Q^T instead of Q K^T)"
    if found.shape in ((batch, query_steps, depth), (batch, depth, depth)):
        return ("the scores are not Q K^T: `*` multiplies elementwise, and transposing the queries instead of "
                "the keys gives Q^T K; Q K^T is keras.ops.matmul(queries, keras.ops.swapaxes(keys, -1, -2))")
    if found.shape == expected[1:]:
        return "the batch axis is missing: compute the whole batch at once"
    return "the attention weights have the wrong shape"


def check_weights(found, queries, keys, mask, where: str, hint: str) -> np.ndarray:
    """The learner's weights against Keras' Attention; names the mistake the evidence singles out."""
    reference = np.asarray(to_numpy(keras_attention(queries, keys, keys, mask)[1]), "float64")
    found = returned_array(found, "the second value returned (the attention weights)", f"an array of shape {reference.shape}", hint)
    if found.shape != reference.shape:
        raise CheckFailed(f"{_wrong_weights_shape(found, queries, keys, reference.shape)} ({where})",
                          expected=f"{reference.shape}: (batch, query steps, key steps)",
                          found=str(found.shape), hint=hint)
    if not np.isfinite(found).all():
        raise CheckFailed(f"the attention weights contain NaN or infinity ({where})",
                          expected="finite weights between 0 and 1", found="NaN or inf",
                          hint="0 * inf is NaN: mask with keras.ops.where and a large negative number such as -1e9.")
    if close(found, reference):
        return found
    mistake = matching_mistake(found, _weight_mistakes(queries, keys, mask))
    depth = keys.shape[-1]
    if mistake is None:
        scale = _softmax_scale(found, np.asarray(queries, "float64") @ np.swapaxes(keys, 1, 2), mask)
        if scale is not None:
            mistake = (f"the weights are softmax(Q K^T / c) with c = {scale:.4g}; c must be sqrt(d_k) = "
                       f"{np.sqrt(depth):.4g}, d = {depth} being the depth of the queries and keys")
    padding = found[np.broadcast_to(~mask[:, None, :], found.shape)]
    raise CheckFailed(
        f"{mistake} ({where})" if mistake else f"the attention weights differ from softmax(Q K^T / sqrt(d_k)) "
        f"over the real keys ({where})",
        expected="weights that sum to 1 over the keys of each query, 0 on padded keys, scores scaled by "
        f"1/sqrt({depth})",
        found=f"{largest_difference(found, reference, ('batch', 'query', 'key'))}; row sums from "
        f"{found.sum(-1).min():.3g} to {found.sum(-1).max():.3g}, weight on padded keys up to "
        f"{np.abs(padding).max(initial=0):.3g}",
        hint=hint)


def check_compiled(outcome, references, names, where: str, backend: str = DEFAULT):
    """The learner's code compiled as model.fit compiles it on the backend (tf.function with batch and lengths
    unknown, jax.jit) must give the same values. PyTorch runs it eagerly: there the probe compiles nothing."""
    if outcome is None and backend not in COMPILERS:
        return
    compiler = COMPILERS.get(backend, "the backend")
    if not isinstance(outcome, dict) or not ({"error", "value"} & set(outcome)):
        raise CheckFailed("the record of your code compiled is missing", expected=f"its results under {compiler}",
                          found=shown(outcome), hint="run the check cell as it is given.")
    if "error" in outcome:
        unknown = ", with batch and lengths unknown until run time" if backend == "tensorflow" else ""
        raise CheckFailed(f"your code fails when compiled by {compiler}, as model.fit and the notebook's "
                          f"decoding run it{unknown} ({where})", found=_error_text(outcome["error"]),
                          hint=COMPILE_HINTS.get(backend, COMPILE_HINTS[DEFAULT]))
    for value, reference, name in zip(pair(outcome["value"], names), references, names):
        value = returned_array(value, f"the compiled {name}", str(reference.shape), "return tensors.")
        if not close(value, reference):
            raise CheckFailed(f"compiled by {compiler}, your code returns other {name} than when run "
                              f"eagerly ({where})", expected="the same values",
                              found=_difference(value, reference),
                              hint="Python-level logic on tensor values (if, .numpy()) behaves differently "
                              "when compiled: use keras.ops.")


def check_gradients(outcome, references, names, where: str, backend: str = DEFAULT):
    """Gradients through the learner's code, compared with those through Keras' layers."""
    leavers = GRAPH_LEAVERS.get(backend, GRAPH_LEAVERS[DEFAULT])
    if not isinstance(outcome, dict) or not ({"error", "value"} & set(outcome)):
        raise CheckFailed("the gradients could not be read", expected=f"{len(references)} gradients",
                          found=shown(outcome), hint="run the check cell as it is given.")
    if "error" in outcome:
        raise CheckFailed(f"computing gradients through your code failed ({where})", found=_error_text(outcome["error"]),
                          hint=f"keep the whole computation in keras.ops so that it can be trained: {leavers}.")
    gradients = outcome["value"]
    if not isinstance(gradients, list) or len(gradients) != len(references):
        raise CheckFailed("the gradients could not be read", expected=f"{len(references)} gradients",
                          found=shown(gradients), hint="return tensors computed with keras.ops.")
    for gradient, reference, name in zip(gradients, references, names):
        if gradient is None:
            raise CheckFailed(f"no gradient flows back to the {name} ({where})",
                              expected="a gradient, as training needs", found=NO_GRADIENT.get(backend, "None"),
                              hint=f"keep the computation in keras.ops: {leavers}.")
        gradient = returned_array(gradient, f"the gradient for the {name}", str(reference.shape), "return tensors.")
        if not close(gradient, reference):
            raise CheckFailed(f"the gradient with respect to the {name} differs from the one through "
                              f"Keras' layers ({where})", expected="the same gradient",
                              found=_difference(gradient, reference),
                              hint=f"{GRADIENT_CUTTERS.get(backend, GRADIENT_CUTTERS[DEFAULT])} cuts the gradient.")


def tape(forward, arrays, cotangents, variables=()):
    """The gradients `gradients` computes, through Keras' layers, as arrays."""
    return as_numpy(gradients(forward, arrays, cotangents, variables))


def constants(case, names):
    return [case[name] for name in names]


def attention(inputs, data):
    worst, backend = 0.0, backend_of(data)
    for case, result in cases_of(inputs, data):
        names = ("queries", "keys", "values", "mask")
        queries, keys, values, mask = (case[n] for n in names)
        where = f"queries {queries.shape}, keys {keys.shape}, values {values.shape}"
        context, weights = pair(value_of(result["returned"]), ("context", "weights"))
        weights = check_weights(weights, queries, keys, mask, where, ATTENTION_HINT)
        references = as_numpy(keras_attention(queries, keys, values, mask))
        context = returned_array(context, "the first value returned (the context)", f"an array of shape "
                         f"{references[0].shape}", ATTENTION_HINT)
        _check_context(context, references[0], case, where)
        check_compiled(result.get("compiled"), references, ("context", "weights"), where, backend)
        gradients = tape(keras_attention, constants(case, names), case["cotangents"])
        check_gradients(result.get("gradients"), gradients, names[:3], where, backend)
        worst = max(worst, max_diff(context, references[0]), max_diff(weights, references[1]))
    return (f"context and weights equal keras.layers.Attention's on queries scaled by 1/sqrt(d_k), for 3 "
            f"sizes with padding (max |diff| {worst:.1e}); {compiled_phrase(backend)}, and the gradients "
            f"to queries, keys and values match")


def _check_context(found, reference, case, where: str):
    queries, keys, values, mask = (case[n] for n in ("queries", "keys", "values", "mask"))
    if found.shape != reference.shape:
        from_keys = found.shape[-1] == keys.shape[-1] != values.shape[-1]
        raise CheckFailed(
            ("the context has the keys' depth: it must be the weighted sum of the values, not the keys"
             if from_keys else "the context has the wrong shape") + f" ({where})",
            expected=f"{reference.shape}: (batch, query steps, depth of the values)", found=str(found.shape),
            hint="the context is the weights (batch, Tq, Tk) times the values (batch, Tk, dv), a matrix product.")
    if close(found, reference):
        return
    unmasked = to_numpy(keras_attention(queries, keys, values, None)[0])
    mistake = matching_mistake(found, {"the context is computed from unmasked weights: padded values leak "
                                       "into it": unmasked})
    raise CheckFailed(
        f"{mistake} ({where})" if mistake else
        f"the weights are right but the context is not their weighted sum of the values ({where})",
        expected="context = weights @ values", found=largest_difference(found, reference, ("batch", "query", "depth")),
        hint="the context is the weights (batch, Tq, Tk) times the values (batch, Tk, dv), a matrix product.")
