"""Lab 05's judge of 5.5 LuongAttention: drawn W_m and b_m set into the learner's layer, its output
against keras.layers.Attention followed by a keras Dense layer with the same weights."""

from __future__ import annotations

import keras
import numpy as np

from labhelpers.backends import to_numpy
from labhelpers.judges.attention.judges import (
    as_numpy,
    backend_of,
    cases_of,
    check_compiled,
    check_gradients,
    check_weights,
    close,
    compiled_phrase,
    constants,
    draw_mask,
    keras_attention,
    largest_difference,
    max_diff,
    pair,
    returned_array,
    tape,
    value_of,
)
from labhelpers.grading import CheckFailed, describe_error, matching_mistake

LUONG_SIZES = ((2, 4, 4, 6, 5), (3, 1, 6, 4, 7), (1, 3, 5, 8, 3))  # (batch, Tq, Tk, d, units)
LUONG_HINT = ("call scaled_dot_product_attention(decoder_states, encoder_states, encoder_states, "
              "source_mask): the decoder states are the queries, the encoder states the keys and values.")
COMBINE_HINT = "s~_t = tanh(W_m [a_t; s_t] + b_m): one Dense layer of `units` outputs, with its bias and a tanh."


def draw_luong(rng):
    """Three sizes of states and units; W_m and b_m drawn, indexed by the shapes a layer may give them."""
    cases = []
    for batch, query_steps, key_steps, depth, units in LUONG_SIZES:
        kernel, bias = rng.normal(0, 0.5, (2 * depth, units)), rng.normal(0, 1, units)
        cases.append({
            "decoder_states": rng.normal(size=(batch, query_steps, depth)).astype("float32"),
            "encoder_states": rng.normal(size=(batch, key_steps, depth)).astype("float32"),
            "source_mask": draw_mask(rng, batch, key_steps), "units": units, "kernel": kernel, "bias": bias,
            # W_m as a Dense kernel, as a matrix W_m [a; s] of the formula, or with d rows (for diagnosis)
            "weights_by_shape": {f"{2 * depth}x{units}": kernel, f"{units}x{2 * depth}": kernel.T,
                                 f"{depth}x{units}": kernel[:depth], f"{units}": bias},
            "cotangents": [rng.normal(size=(batch, query_steps, units)), rng.normal(size=(batch, query_steps, key_steps))],
        })
    return {"cases": cases}


def keras_combine(kernel, bias):
    """keras Dense(units, tanh) with W_m = kernel (2d, units) and b_m = bias."""
    combine = keras.layers.Dense(kernel.shape[1], activation="tanh")
    combine.build((None, kernel.shape[0]))
    combine.set_weights([kernel.astype("float32"), bias.astype("float32")])
    return combine


def keras_luong(decoder_states, encoder_states, mask, combine, state_first=False):
    """(tanh(W_m [a; s] + b_m), weights) from Keras' Attention and a Dense layer `combine`."""
    context, weights = keras_attention(decoder_states, encoder_states, encoder_states, mask)
    parts = [decoder_states, context] if state_first else [context, decoder_states]
    return combine(keras.ops.concatenate([keras.ops.cast(p, "float32") for p in parts], axis=-1)), weights


def _combine_mistakes(case, context) -> dict:
    """What a combining layer whose kernel has d rows computes when it leaves out or adds a part."""
    state, bias, kernel = case["decoder_states"], case["bias"], case["kernel"][: context.shape[-1]]
    return {"the context is not used: the layer reads only the decoder state": np.tanh(state @ kernel + bias),
            "the decoder state is not used: the layer reads only the context": np.tanh(context @ kernel + bias),
            "the context and the decoder state are added instead of concatenated":
                np.tanh((context + state) @ kernel + bias)}


def _activation_mistakes(case, context) -> dict:
    """What a layer with the right W_m and b_m but another activation, or none, computes (both orders)."""
    mistakes = {}
    for parts, order in (((context, case["decoder_states"]), "[a_t; s_t]"), ((case["decoder_states"], context), "[s_t; a_t]")):
        z = np.concatenate(parts, axis=-1) @ case["kernel"] + case["bias"]
        mistakes[f"the tanh is missing: the output is W_m {order} + b_m"] = z
        mistakes[f"the activation is a sigmoid: sigmoid(W_m {order} + b_m); the formula's is tanh"] = 1 / (1 + np.exp(-z))
        mistakes[f"the activation is a ReLU: relu(W_m {order} + b_m); the formula's is tanh"] = np.maximum(z, 0)
        mistakes[f"the bias is counted twice: tanh(W_m {order} + 2 b_m)"] = np.tanh(z + case["bias"])
    return mistakes


def _check_combine_weights(shapes, case, states, context, where):
    """The layer's weights must be W_m and b_m: name what is missing or extra."""
    depth, units = case["decoder_states"].shape[-1], case["units"]
    shapes = sorted(tuple(shape) for shape in shapes)
    if shapes in (sorted([(2 * depth, units), (units,)]), sorted([(units, 2 * depth), (units,)])):
        return
    expected = f"weights of shapes {(2 * depth, units)} (W_m) and {(units,)} (b_m)"
    if not shapes:
        problem = ("your layer has no weights after it is called: create the Dense layer once, in "
                   "__init__ (one made inside call starts from new random weights at every call and never learns)")
    elif shapes == [(2 * depth, units)] or shapes == [(units, 2 * depth)]:
        problem = "b_m is missing: the combining layer has no bias"
    elif any(len(s) == 2 and 2 * depth in s and units not in s for s in shapes):
        outputs = next(s[1] if s[0] == 2 * depth else s[0] for s in shapes if len(s) == 2 and 2 * depth in s)
        problem = f"the combining layer has {outputs} outputs instead of units={units}: use the `units` argument"
    elif sorted([(depth, units), (units,)]) == shapes:
        mistake = matching_mistake(states, _combine_mistakes(case, context))
        problem = mistake or (f"the combining layer reads {depth} numbers per step instead of the {2 * depth} "
                              f"of [a_t; s_t]")
    else:
        problem = "your layer's weights are not just W_m and b_m"
    raise CheckFailed(f"{problem} ({where})", expected=expected, found=f"weights of shapes {shapes}", hint=COMBINE_HINT)


def _check_states_shape(states, case, where):
    batch, query_steps, _ = case["decoder_states"].shape
    expected = (batch, query_steps, case["units"])
    if states.shape == expected:
        return
    if states.shape[:2] == (batch, 2 * query_steps):
        problem = "the output has twice the decoder steps: the context and state are concatenated along the time axis"
    elif states.shape[:2] == (batch, query_steps):
        problem = f"the output has {states.shape[-1]} numbers per step instead of units={case['units']}"
    else:
        problem = "the attentional states have the wrong shape"
    raise CheckFailed(f"{problem} ({where})", expected=f"{expected}: (batch, decoder steps, units)",
                      found=str(states.shape), hint=COMBINE_HINT)


def _check_states(states, case, combine, context, where):
    """The output against Keras' Dense with the drawn W_m, b_m, reading [a_t; s_t] or [s_t; a_t].

    Returns whether the state came first, and Keras' (attentional states, weights) in that order.
    """
    outputs = [as_numpy(keras_luong(*_luong_inputs(case), combine, first)) for first in (False, True)]
    for state_first, references in enumerate(outputs):
        if close(states, references[0]):
            return bool(state_first), references
    mistake = matching_mistake(states, _activation_mistakes(case, context))
    raise CheckFailed(
        f"{mistake} ({where})" if mistake else f"with the drawn W_m and b_m set into your layer, the attentional "
        f"states differ from tanh(W_m [a_t; s_t] + b_m) ({where})",
        expected="s~_t = tanh(W_m [a_t; s_t] + b_m), as keras Dense computes it",
        found=largest_difference(states, outputs[0][0], ("batch", "step", "unit")), hint=COMBINE_HINT)


def _luong_inputs(case):
    return [case[n] for n in ("decoder_states", "encoder_states", "source_mask")]


def _check_order(states, weights, case, where):
    """(weights, states) returned the wrong way round."""
    batch, query_steps, _ = case["decoder_states"].shape
    if (getattr(states, "shape", None) == (batch, query_steps, case["encoder_states"].shape[1])
            and getattr(weights, "shape", None) == (batch, query_steps, case["units"])):
        raise CheckFailed(f"the two results are in the wrong order ({where})",
                          expected="(attentional states, attention weights)", found="(weights, states)",
                          hint="end with `return attentional_states, weights`.")


def luong(inputs, data):
    worst, backend = 0.0, backend_of(data)
    for case, result in cases_of(inputs, data):
        decoder_states, encoder_states, mask = _luong_inputs(case)
        where = f"decoder states {decoder_states.shape}, encoder states {encoder_states.shape}, units={case['units']}"
        if "error" in result:
            raise describe_error(result["error"])
        states, weights = pair(value_of(result["returned"]), ("attentional_states", "weights"))
        _check_order(states, weights, case, where)
        states = returned_array(states, "the first value returned (the attentional states)",
                        "(batch, decoder steps, units)", COMBINE_HINT)
        _check_states_shape(states, case, where)
        check_weights(weights, decoder_states, encoder_states, mask, where, LUONG_HINT)
        context = np.asarray(to_numpy(keras_attention(decoder_states, encoder_states, encoder_states, mask)[0]), "float64")
        _check_combine_weights(result["weight_shapes"], case, states, context, where)
        combine = keras_combine(case["kernel"], case["bias"])
        state_first, references = _check_states(states, case, combine, context, where)
        check_compiled(result.get("compiled"), references, ("attentional states", "weights"), where, backend)
        _check_layer_gradients(result, case, combine, state_first, where, backend)
        worst = max(worst, max_diff(states, references[0]))
    units = ", ".join(str(case["units"]) for case in inputs["cases"])
    return (f"with drawn W_m and b_m set into your layer, for 3 sizes (units {units}): the weights are scaled "
            f"dot-product attention of the decoder over the encoder states with the source mask, the output "
            f"is tanh(W_m [a_t; s_t] + b_m) as keras Dense computes it (max |diff| {worst:.1e}); "
            f"{'also compiled' if backend == 'tensorflow' else compiled_phrase(backend)}, and the gradients to W_m, "
            f"b_m and both inputs match")


def _check_layer_gradients(result, case, combine, state_first, where, backend):
    """Gradients to both inputs, W_m and b_m; the learner's weights are matched to W_m and b_m by shape."""
    references = tape(lambda s, h, m: keras_luong(s, h, m, combine, state_first),
                       constants(case, ("decoder_states", "encoder_states", "source_mask")),
                       case["cotangents"], [combine.kernel, combine.bias])
    outcome, kernel, bias = result["gradients"], references[2], references[3]
    if "value" in outcome and isinstance(outcome["value"], list):
        shapes = [tuple(shape) for shape in result["trainable_shapes"]]
        if not ((kernel.shape in shapes or kernel.T.shape in shapes) and bias.shape in shapes):
            raise CheckFailed(f"W_m or b_m is not trainable ({where})", expected="W_m and b_m among the layer's "
                              "trainable weights", found=f"trainable weights of shapes {shapes}",
                              hint="training must be able to change W_m and b_m.")
        by_shape = dict(zip(shapes, outcome["value"][2:]))
        transposed = by_shape.get(kernel.T.shape)
        kernel_gradient = by_shape.get(kernel.shape, np.transpose(transposed) if transposed is not None else None)
        outcome = {"value": [*outcome["value"][:2], kernel_gradient, by_shape[bias.shape]]}
    check_gradients(outcome, references, ("decoder states", "encoder states", "W_m", "b_m"), where, backend)
