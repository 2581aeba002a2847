"""Lab 01's judges: the inputs each check draws, and the verdict on what its probe returned.

Math convention (as in the notebook): vectors are columns, so one step of the cell is
h_t = tanh(W_hh h_{t-1} + W_xh x_t + b) and y_t = W_hy h_t, with W_xh of shape
(units, input_dim), W_hh (units, units), W_hy (output_dim, units).
"""

from __future__ import annotations

import keras
import numpy as np

from labhelpers.grading import CheckFailed, found_as_array, matching_mistake


def _max_diff(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, "float64") - np.asarray(b, "float64"))))


# ---------------------------------------------------------------- 1.2 one step in NumPy
STEP_SHAPES = [(3, 4, 5), (4, 4, 4), (6, 2, 3)]  # (input_dim, units, output_dim)


def draw_step(rng):
    """Random vectors and weights (every one non-zero) for three sizes of the step."""
    cases = []
    for input_dim, units, output_dim in STEP_SHAPES:
        shapes = {"x": (input_dim,), "h_prev": (units,), "W_xh": (units, input_dim), "W_hh": (units, units),
                  "W_hy": (output_dim, units), "b": (units,)}
        cases.append({name: rng.normal(size=shape).astype("float32") for name, shape in shapes.items()})
    return {"cases": cases}


def keras_step(x, h_prev, W_xh, W_hh, W_hy, b):
    """One step computed by Keras' own SimpleRNNCell (weights copied in) and a Dense readout."""
    units, input_dim = W_xh.shape
    cell = keras.layers.SimpleRNNCell(units)
    cell.build((1, input_dim))
    cell.set_weights([W_xh.T, W_hh.T, b])
    _, [h] = cell(x[None, :].astype("float32"), [h_prev[None, :].astype("float32")])
    readout = keras.layers.Dense(W_hy.shape[0], use_bias=False)
    readout.build((1, units))
    readout.set_weights([W_hy.T])
    return keras.ops.convert_to_numpy(readout(h))[0], keras.ops.convert_to_numpy(h)[0]


def _step_mistakes(x, h_prev, W_xh, W_hh, W_hy, b):
    """What the common wrong answers compute for h_t and y_t (those that fit these shapes)."""
    h_linear = W_hh @ h_prev + W_xh @ x + b
    wrong = {
        "h": {
            "tanh is missing: h_t = W_hh h_{t-1} + W_xh x_t + b has no nonlinearity": lambda: h_linear,
            "the bias b is missing": lambda: np.tanh(W_hh @ h_prev + W_xh @ x),
            "the previous state is ignored (W_hh h_{t-1} is missing)": lambda: np.tanh(W_xh @ x + b),
            "the weight matrices are transposed (W^T x instead of W x)": lambda: np.tanh(W_hh.T @ h_prev + W_xh.T @ x + b),
        },
        "y": {
            "y_t is computed from h_{t-1} instead of the new h_t": lambda: W_hy @ h_prev,
            "y_t has a tanh; the readout y_t = W_hy h_t is linear": lambda: np.tanh(W_hy @ np.tanh(h_linear)),
            "y_t is read out before the tanh (from W_hh h_{t-1} + W_xh x_t + b)": lambda: W_hy @ h_linear,
            "W_hy is transposed": lambda: W_hy.T @ np.tanh(h_linear),
        },
    }
    return {part: _computable(variants) for part, variants in wrong.items()}


def _computable(variants: dict) -> dict:
    """Evaluate each wrong variant, dropping those whose shapes do not fit."""
    values = {}
    for name, compute in variants.items():
        try:
            values[name] = compute()
        except ValueError:
            pass
    return values


def rnn_step(inputs, data):
    worst = 0.0
    for case, result in zip(inputs["cases"], data["returned"]):
        args = [case[n] for n in ("x", "h_prev", "W_xh", "W_hh", "W_hy", "b")]
        units, input_dim = case["W_xh"].shape
        output_dim = case["W_hy"].shape[0]
        if not (isinstance(result, list) and len(result) == 2):
            found = result.get("__object__", "") if isinstance(result, dict) else type(result).__name__
            raise CheckFailed("rnn_step must return two things", expected="a tuple (y_t, h_t)",
                              found=found or "one value", hint="end with `return y, h`.")
        y_ref, h_ref = keras_step(*args)
        mistakes = _step_mistakes(*args)
        for index, name, ref, formula in ((1, "h_t", h_ref, "tanh(W_hh h_{t-1} + W_xh x_t + b)"),
                                          (0, "y_t", y_ref, "W_hy h_t")):
            found = found_as_array(result[index], name, f"a vector of shape {ref.shape}",
                                   f"compute {name} = {formula} with NumPy.")
            if found.shape != ref.shape:
                raise CheckFailed(
                    f"{name} has the wrong shape for input_dim={input_dim}, units={units}, output_dim={output_dim}",
                    expected=str(ref.shape), found=str(found.shape),
                    hint=f"{name} = {formula}; W x is a matrix product (`@`), and each W's shape "
                    "says which vector it multiplies.",
                )
            if not np.allclose(found, ref, atol=1e-5):
                diagnosis = matching_mistake(found, mistakes[name[0]])
                raise CheckFailed(
                    f"{name} differs from keras SimpleRNNCell with the same weights "
                    f"(max |diff| {_max_diff(found, ref):.3g})",
                    expected=f"{name} = {formula}",
                    found=f"it looks like {diagnosis}" if diagnosis else "a different formula",
                    hint="compare your line with the formula term by term.",
                )
            worst = max(worst, _max_diff(found, ref))
    return f"matches keras SimpleRNNCell + Dense readout on 3 weight shapes (max |diff| {worst:.1e})"
