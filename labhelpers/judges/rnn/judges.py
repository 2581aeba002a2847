"""Lab 01's judges: the inputs each check draws, and the verdict on what its probe returned.

Math convention (as in the notebook): vectors are columns, so one step of the cell is
h_t = tanh(W_hh h_{t-1} + W_xh x_t + b) and ŷ_t = W_hy h_t, with W_xh of shape
(units, input_dim), W_hh (units, units), W_hy (output_dim, units). References are Keras' own
layers with the drawn weights copied in; NumPy only computes what common wrong answers compute.
"""

from __future__ import annotations

import re

import keras
import numpy as np
from keras import ops

from labhelpers.autodiff import value_and_gradients
from labhelpers.backends import BACKENDS, DEFAULT, to_numpy, unrolls_eager_loops
from labhelpers.judges.diagnosis import diagnose, diagnose_all
from labhelpers.probes.rnn import CELL_WEIGHTS, readout_cell
from labhelpers.grading import CheckFailed, describe_error, errors_in, found_as_array, shown

ATOL = 1e-4
STEP_HINTS = {
    "mismatch in its core dimension": "the two sides of a matrix product do not fit: W x multiplies W of shape "
    "(rows, columns) by a vector of length columns; check whether a W is transposed.",
}
CELL_HINTS = {
    "state_size": "a Keras RNN cell sets `self.state_size = rnn_units` in `__init__` so that "
    "keras.layers.RNN knows the size of h.",
    "object is not iterable": "`call` returns two things: the output ŷ_t and the list of new states `[h_t]`.",
    # PyTorch's and JAX's words for shapes that do not broadcast (TensorFlow's are in grading's common mistakes)
    "must match the size of tensor": "a shape mismatch inside an elementwise operation often means `*` "
    "(elementwise) was used where a matrix product (`ops.matmul` or `@`) was meant.",
    "incompatible shapes for broadcasting": "a shape mismatch inside an elementwise operation often means `*` "
    "(elementwise) was used where a matrix product (`ops.matmul` or `@`) was meant.",
    # NumPy inside `call`: JAX traces keras.layers.RNN's loop (jax.lax.scan), PyTorch's tensors carry autograd
    "__array__() was called on traced array": "keras.layers.RNN runs `call` inside JAX's trace (jax.lax.scan), "
    "where NumPy functions and np.asarray cannot run: write `call` with keras.ops (ops.tanh, ops.matmul).",
    "'_error_repr'": "keras.layers.RNN runs `call` inside JAX's trace (jax.lax.scan), where NumPy functions, "
    "np.asarray and float() cannot run: write `call` with keras.ops (ops.tanh, ops.matmul).",
    "Can't call numpy() on Tensor that requires grad": "a NumPy function or `.numpy()` was given a tensor that "
    "autograd follows (and `.detach()` would cut the gradient): write `call` with keras.ops (ops.tanh, ops.matmul).",
    "modified by an inplace operation": "an in-place operation (`.copy_()`, `h[:] = ...`, `+=` on a tensor autograd "
    "still needs) overwrote a value that the backward pass needs: return a new tensor, `h = ...`, never write into "
    "the state you were given.",
}
LOSS_HINTS = {
    "modified by an inplace operation": "an in-place operation (`h[:] = ...`, `.copy_()`, `+=` on a tensor "
    "autograd still needs) overwrote a value that loss.backward() needs: make a new tensor each step "
    "(`h = ...`) and collect the L_t in a Python list.",
    "Can't call numpy() on Tensor that requires grad": "a NumPy function or `.numpy()` was given a tensor that "
    "autograd follows, and NumPy would cut the gradient anyway: keep every step in keras.ops (ops.mean).",
    "unexpected keyword argument 'axis'": "a NumPy function (np.mean, np.sum) was given a PyTorch tensor, which "
    "does not take NumPy's arguments, and NumPy would cut the gradient anyway: keep every step in keras.ops "
    "(ops.mean).",
    "immutable": "JAX arrays cannot be changed in place: collect the L_t in a Python list and make a new h each "
    "step (`h = ...`).",
    "does not support item assignment": "JAX arrays cannot be changed in place: collect the L_t in a Python list "
    "and make a new h each step (`h = ...`).",
}
# What each backend differentiates with, and what cuts its gradient, for the hints of 1.3 and 1.4. The
# backend is the probe's record of where the learner's code ran (a forged name falls back to TensorFlow's).
DIFFERENTIATES = {"tensorflow": "tf.GradientTape's tape.gradient", "jax": "jax.grad", "torch": "loss.backward()"}
CUTS = {
    "tensorflow": "float(), .numpy(), NumPy functions or ops.stop_gradient",
    "jax": "float(), .item(), np.asarray, NumPy functions or jax.lax.stop_gradient (ops.stop_gradient)",
    "torch": "float(), .item(), .numpy(), .detach(), .data, torch.tensor(...) of a result, torch.no_grad() or "
    "ops.stop_gradient",
}


def backend_of(data) -> str:
    """The backend the probe ran on, as it recorded it; TensorFlow where it recorded none it could have."""
    backend = data.get("backend") if isinstance(data, dict) else None
    return backend if backend in BACKENDS else DEFAULT


def max_diff(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, "float64") - np.asarray(b, "float64")), initial=0.0))


def close(a, b, atol=ATOL) -> bool:
    a, b = np.asarray(a, "float64"), np.asarray(b, "float64")
    return a.shape == b.shape and bool(np.allclose(a, b, atol=atol, rtol=1e-3))


def only_variant(found: list, variants: list[dict]) -> str | None:
    """The one wrong variant that `found` equals in every case (one dict of name -> value per case).

    None when no variant, or more than one, fits all the evidence: then nothing is diagnosed.
    """
    names = None
    for value, case in zip(found, variants):
        fits = {name for name, wrong in case.items() if close(value, wrong)}
        names = fits if names is None else names & fits
    return next(iter(names)) if names and len(names) == 1 else None


def case_records(inputs, data, what: str) -> tuple[list, list]:
    """(the drawn cases, the probe's record of each); refuses data that does not cover every case."""
    cases, records = inputs["cases"], data.get("cases")
    if not (isinstance(records, list) and len(records) == len(cases) and all(isinstance(r, dict) for r in records)):
        raise CheckFailed(f"{what} was not run on every drawn case", expected=f"{len(cases)} runs",
                          found=shown(records), hint="run the check on your code as it is.")
    return cases, records


def raise_learner_error(record, hints=None) -> None:
    """The CheckFailed of the exception the learner's code raised on this case, if it did."""
    error = errors_in(record)
    if error:
        raise describe_error(error, hints)


def random_weights(rng, input_dim, units, output_dim, readout_scale=1.0) -> dict:
    """Random non-zero weights for every term of the cell (so that no dropped term can hide)."""
    def normal(shape, scale):
        return (scale * rng.normal(size=shape)).astype("float32")
    return {"W_xh": normal((units, input_dim), 0.6), "W_hh": normal((units, units), 0.6),
            "b": normal((units,), 0.5), "W_hy": normal((output_dim, units), readout_scale)}


def _first_step_differing(found, ref) -> int:
    """The first time step (counting from 1) where the (batch, T, ...) arrays differ."""
    steps = [t for t in range(ref.shape[1]) if not close(found[:, t], ref[:, t])]
    return steps[0] + 1 if steps else 0


# ---------------------------------------------------------------- 1.2 one step in NumPy
STEP_SHAPES = [(3, 4, 5), (4, 4, 4), (6, 2, 3)]  # (input_dim, units, output_dim)
STEP_ARGS = ("x", "h_prev", "W_xh", "W_hh", "W_hy", "b")
STEP_FORMULAS = {"h_t": "tanh(W_hh h_{t-1} + W_xh x_t + b)", "ŷ_t": "W_hy h_t"}


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


def _step_mistakes(x, h_prev, W_xh, W_hh, W_hy, b, h_ref):
    """What the common wrong answers compute for h_t and ŷ_t."""
    z = W_hh @ h_prev + W_xh @ x + b
    return {
        "h_t": {
            "tanh is missing: h_t = W_hh h_{t-1} + W_xh x_t + b has no nonlinearity": z,
            "the bias b is missing": np.tanh(z - b),
            "the previous state is ignored (W_hh h_{t-1} is missing)": np.tanh(W_xh @ x + b),
            "a sigmoid is used where the formula has tanh": 1 / (1 + np.exp(-z)),
        },
        "ŷ_t": {
            "ŷ_t is computed from h_{t-1} instead of the new h_t": W_hy @ h_prev,
            "ŷ_t has a tanh; the readout ŷ_t = W_hy h_t is linear": np.tanh(W_hy @ h_ref),
            "ŷ_t is read out before the tanh (from W_hh h_{t-1} + W_xh x_t + b)": W_hy @ z,
        },
    }


# `W * v[:, None]`: the vector broadcast down the columns, where plain `W * v` broadcasts it along the rows
AS_COLUMN = {"{name} is an elementwise product (`*`), the vector taken as a column, where a matrix product is meant":
             lambda W, v: W * v[:, None]}


def _traced_step(x, h_prev, W_xh, W_hh, W_hy, b):
    """One step as `diagnosis` traces it: the terms, products, tanh and readout named where they are computed."""
    args = [np.asarray(a, "float64") for a in (x, h_prev, W_xh, W_hh, W_hy, b)]
    x, h_prev, W_xh, W_hh, W_hy, b = args

    def reference(k):
        z = k.sum({"W_hh h_{t-1}": k.op("W_hh h_{t-1}", "matmul", W_hh, h_prev, also=AS_COLUMN),
                   "W_xh x_t": k.op("W_xh x_t", "matmul", W_xh, x, also=AS_COLUMN), "the bias b": b})
        h = k.apply("tanh", "tanh", z)
        read = k.value("h_t in the readout", h, instead={"h_{t-1}": h_prev,
                                                        "the value before the tanh": z})
        return {"h_t": h, "ŷ_t": k.op("W_hy h_t", "matmul", W_hy, read, also=AS_COLUMN)}

    return reference


PRODUCTS = {"W_hh": "W_hh h_{t-1}", "W_xh": "W_xh x_t", "W_hy": "W_hy h_t"}


def _elementwise_products(error: dict, case) -> str | None:
    """For an error about shapes that do not broadcast: the products whose weight's own shape it shows
    (only `*` keeps a weight's shape), or None."""
    message = error.get("message", "")
    if "could not be broadcast" not in message:
        return None
    shapes = {tuple(int(n) for n in re.findall(r"\d+", found)) for found in re.findall(r"\(([\d,\s]*)\)", message)}
    named = [(product, tuple(case[weight].shape)) for weight, product in PRODUCTS.items()
             if tuple(case[weight].shape) in shapes]
    if not named:
        return None
    what = " and ".join(product for product, _ in named)
    verb = "is an elementwise product" if len(named) == 1 else "are elementwise products"
    shown_shapes = ", ".join(f"{product.split()[0]}'s own shape {shape}" for product, shape in named)
    return (f"{what} {verb} (`*`) where a matrix product is meant: the error shows {shown_shapes}, "
            "which an elementwise product keeps and a matrix product does not")


def _step_diagnosis(case, value, name, ref) -> str:
    """What a wrong h_t or ŷ_t of one case is, by the traced step and the generic relations ('' when nothing fits)."""
    reference = _traced_step(*(case[n] for n in STEP_ARGS))
    return diagnose(value, ref, reference=reference, output=name, axes=("entry {}",), rtol=1e-3, atol=1e-5).text


def _steps_diagnosis(cases, values, name, refs) -> str:
    """What wrong h_t or ŷ_t values are, as every case that differs agrees ('' when nothing fits them all)."""
    return diagnose_all([{"found": value, "expected": ref, "reference": _traced_step(*(case[n] for n in STEP_ARGS)),
                          "output": name, "axes": ("entry {}",), "rtol": 1e-3, "atol": 1e-5}
                         for case, value, ref in zip(cases, values, refs)]).text


def _returned_pair(result) -> None:
    if not (isinstance(result, list) and len(result) == 2):
        raise CheckFailed("rnn_step must return two things", expected="a tuple (ŷ_t, h_t)",
                          found=shown(result), hint="end with `return y_hat, h`.")


def rnn_step(inputs, data):
    cases, records = case_records(inputs, data, "rnn_step")
    found = {"h_t": [], "ŷ_t": []}
    refs = {"h_t": [], "ŷ_t": []}
    for case, record in zip(cases, records):
        error = errors_in(record)
        if error:
            failure = describe_error(error, STEP_HINTS)
            failure.found = _elementwise_products(error, case)
            raise failure
        result = record.get("returned")
        args = [case[n] for n in STEP_ARGS]
        units, input_dim = case["W_xh"].shape
        _returned_pair(result)
        y_ref, h_ref = keras_step(*args)
        for index, name, ref in ((1, "h_t", h_ref), (0, "ŷ_t", y_ref)):
            value = found_as_array(result[index], name, f"a vector of shape {ref.shape}",
                                   f"compute {name} = {STEP_FORMULAS[name]} with NumPy.")
            if value.shape != ref.shape:
                swapped = getattr(result[1 - index], "shape", None) == ref.shape
                why = "" if swapped else _step_diagnosis(case, value, name, ref)
                raise CheckFailed(
                    f"{name} has the wrong shape for input_dim={input_dim}, units={units}, "
                    f"output_dim={case['W_hy'].shape[0]}",
                    expected=str(ref.shape), found=str(value.shape) + (
                        ": (h_t, ŷ_t) came back in the wrong order" if swapped else f": {why}" if why else ""),
                    hint="return (y_hat, h) in that order." if swapped else f"{name} = {STEP_FORMULAS[name]}; W x is a "
                    "matrix product (`@`), and each W's shape says which vector it multiplies.")
            found[name].append(value)
            refs[name].append(ref)
    for name in ("h_t", "ŷ_t"):
        bad = [i for i, (f, r) in enumerate(zip(found[name], refs[name])) if not close(f, r, 1e-5)]
        if bad:
            mistakes = [_step_mistakes(*(c[n] for n in STEP_ARGS), h_ref)[name] for c, h_ref in zip(cases, refs["h_t"])]
            diagnosis = only_variant(found[name], mistakes)
            i = bad[0]
            raise CheckFailed(
                f"{name} differs from keras SimpleRNNCell with the same weights, for W_xh of shape "
                f"{cases[i]['W_xh'].shape} (max |diff| {max_diff(found[name][i], refs[name][i]):.3g})",
                expected=f"{name} = {STEP_FORMULAS[name]}",
                found=f"it looks like {diagnosis}" if diagnosis else (
                    _steps_diagnosis(cases, found[name], name, refs[name]) or "a different formula"),
                hint="compare your line with the formula term by term.")
    worst = max(max_diff(f, r) for name in found for f, r in zip(found[name], refs[name]))
    return f"matches keras SimpleRNNCell + Dense readout on 3 weight shapes (max |diff| {worst:.1e})"


# ---------------------------------------------------------------- 1.3 MyRNNCell
CELL_SIZES = [(5, 4, 3, 3, 6), (3, 6, 2, 2, 4), (4, 4, 4, 1, 9)]  # input_dim, units, output_dim, batch, T


def draw_cell(rng):
    """Three cell sizes, each with random weights, a random batch, and cotangents for the gradients."""
    cases = []
    for input_dim, units, output_dim, batch, steps in CELL_SIZES:
        case = random_weights(rng, input_dim, units, output_dim)
        case.update(x=rng.normal(size=(batch, steps, input_dim)).astype("float32"),
                    dy=rng.normal(size=(batch, steps, output_dim)).astype("float32"),
                    dh=rng.normal(size=(batch, units)).astype("float32"))
        cases.append(case)
    return {"cases": cases}


def keras_rnn(case) -> dict:
    """Keras' SimpleRNN with the case's weights, read out by ŷ_t = W_hy h_t: outputs, states, gradients."""
    units, input_dim = case["W_xh"].shape
    layer = keras.layers.SimpleRNN(units, return_sequences=True, return_state=True,
                                   unroll=unrolls_eager_loops())
    layer.build((None, None, input_dim))
    layer.set_weights([case["W_xh"].T, case["W_hh"].T, case["b"]])
    W_hy = keras.Variable(case["W_hy"])

    def run():
        hs, h = layer(case["x"])
        ys = ops.einsum("btu,ku->btk", hs, W_hy)
        return ops.sum(ops.multiply(ys, case["dy"])) + ops.sum(ops.multiply(h, case["dh"])), (ys, h, hs)

    (ys, h, hs), _, g, _ = value_and_gradients(run, [layer.cell.kernel, layer.cell.recurrent_kernel,
                                                     layer.cell.bias, W_hy])
    gradients = dict(zip(CELL_WEIGHTS, (g[0].T, g[1].T, g[2], g[3])))
    return {"outputs": to_numpy(ys), "state": to_numpy(h), "states": to_numpy(hs), "gradients": gradients}


def _unroll(x, units, update):
    """(outputs, final state) of a wrong state update h_t = update(x_t, h_{t-1}), read out by W_hy."""
    h, hs = np.zeros((x.shape[0], units)), []
    for t in range(x.shape[1]):
        h = update(x[:, t], h)
        hs.append(h)
    return np.stack(hs, axis=1), h


def _cell_mistakes(case, ref) -> dict:
    """outputs and final state of the common wrong cells, keyed by what each got wrong."""
    W_xh, W_hh, b, W_hy = (case[n].astype("float64") for n in CELL_WEIGHTS)
    x, units = case["x"].astype("float64"), W_hh.shape[0]

    def z(x_t, h):
        return h @ W_hh.T + x_t @ W_xh.T + b

    updates = {
        "tanh is missing from the state update": z,
        "the state is not carried: every step starts again from h = 0": lambda x_t, h: np.tanh(z(x_t, 0 * h)),
        "W_hh is transposed (h_{t-1} @ W_hh instead of h_{t-1} @ W_hh^T)":
            lambda x_t, h: np.tanh(h @ W_hh + x_t @ W_xh.T + b),
        "the bias b is missing from the state update": lambda x_t, h: np.tanh(z(x_t, h) - b),
        "a sigmoid is used where the formula has tanh": lambda x_t, h: 1 / (1 + np.exp(-z(x_t, h))),
        "a ReLU is used where the formula has tanh": lambda x_t, h: np.maximum(z(x_t, h), 0),
    }
    wrong = {}
    for name, update in updates.items():
        hs, h = _unroll(x, units, update)
        wrong[name] = {"outputs": hs @ W_hy.T, "state": h}
    hs = ref["states"].astype("float64")
    previous = np.concatenate([np.zeros_like(hs[:, :1]), hs[:, :-1]], axis=1)
    for name, ys in {
        "ŷ_t has a tanh; the readout ŷ_t = W_hy h_t is linear": np.tanh(hs @ W_hy.T),
        "ŷ_t is read out before the tanh (from W_hh h_{t-1} + W_xh x_t + b)": z(x, previous) @ W_hy.T,
        "ŷ_t is computed from h_{t-1} instead of the new h_t": previous @ W_hy.T,
    }.items():
        wrong[name] = {"outputs": ys, "state": ref["state"]}
    return wrong


def _cell_structure(record, case) -> None:
    """The cell's four weights exist, are weights, and have the shapes of the formula."""
    units, input_dim = case["W_xh"].shape
    output_dim = case["W_hy"].shape[0]
    sizes = f"rnn_units={units}, input_dim={input_dim}, output_dim={output_dim}"
    attributes, weights = record.get("attributes"), record.get("weights")
    if not (isinstance(attributes, dict) and isinstance(weights, list)):
        raise CheckFailed("the check found no weights on the cell", expected="W_xh, W_hh, b and W_hy",
                          found=shown(attributes), hint="create them with `self.add_weight` in `build`.")
    for name in CELL_WEIGHTS:
        attribute, shape = attributes.get(name), tuple(case[name].shape)
        if attribute is None:
            raise CheckFailed(
                f"the cell has no attribute `{name}`",
                expected="attributes W_xh, W_hh, b and W_hy created with `self.add_weight` in `build`",
                found=f"the weights {[w[0] for w in weights]}",
                hint="name the weights exactly as in the formula: `self.W_xh = self.add_weight(...)`.")
        if not attribute["assignable"]:
            raise CheckFailed(f"`{name}` is not a weight of the layer", expected="a variable made by `self.add_weight`",
                              found=attribute["kind"], hint="create every weight with `self.add_weight(shape=..., "
                              "initializer=...)` so that Keras can train it.")
        if tuple(attribute["shape"]) != shape:
            transposed = tuple(attribute["shape"]) == shape[::-1]
            raise CheckFailed(
                f"`{name}` has shape {tuple(attribute['shape'])}",
                expected=f"{shape} (as in the formula, with {sizes})",
                found=f"{tuple(attribute['shape'])}" + (", the transpose" if transposed else ""),
                hint="W_xh maps x_t (input_dim) to h_t (rnn_units), so its shape is (rnn_units, input_dim); "
                "in code a batch of rows is multiplied as x @ transpose(W_xh).")
    if len(weights) != len(CELL_WEIGHTS):
        raise CheckFailed("the cell has other weights than W_xh, W_hh, b and W_hy",
                          expected="exactly those 4 weights", found=f"{len(weights)}: {weights}",
                          hint="the formula has no other parameter; remove the extra `add_weight` calls.")


def _cell_shapes(record, case, ref) -> dict:
    """The outputs and the final state as arrays of the reference's shapes."""
    units, output_dim = case["W_hh"].shape[0], case["W_hy"].shape[0]
    values = {}
    for name, what, hint in (
            ("outputs", f"the outputs ŷ_t of keras.layers.RNN(MyRNNCell({units}, {output_dim}))",
             "`call` returns (ŷ_t, [h_t]) with ŷ_t = W_hy h_t, and `output_size` is output_dim."),
            ("state", "the final state h_T",
             "`call` returns the new state as a list, [h_t], of shape (batch, rnn_units).")):
        expected = ref[name].shape
        value = found_as_array(record.get(name), what, f"an array of shape {expected}", hint)
        if value.shape != expected:
            per_step = f": ŷ_t = W_hy h_t has output_dim={output_dim} numbers per step" if name == "outputs" else ""
            raise CheckFailed(f"{what} have the wrong shape", expected=f"{expected}{per_step}",
                              found=str(value.shape), hint=hint)
        values[name] = value
    return values


def _cell_values(found, refs, cases) -> None:
    """Final states, then outputs, compared with SimpleRNN in every case; a mistake named when it fits."""
    mistakes = [_cell_mistakes(case, ref) for case, ref in zip(cases, refs)]
    for name, what in (("state", "final state h_T differs"), ("outputs", "outputs ŷ_t differ")):
        bad = [i for i, (f, r) in enumerate(zip(found, refs)) if not close(f[name], r[name])]
        if not bad:
            continue
        diagnosis = only_variant([f[name] for f in found], [{k: v[name] for k, v in m.items()} for m in mistakes])
        i = bad[0]
        batch, steps, _ = cases[i]["x"].shape
        where = ""
        if name == "outputs":
            t = _first_step_differing(found[i][name], refs[i][name])
            where = (" already at step 1, where h_0 = 0" if t == 1 else
                     f" from step {t} on (steps 1 to {t - 1} match), so h_{{t-1}} enters wrongly")
        raise CheckFailed(
            f"the {what} from keras SimpleRNN with the same weights, on a batch of {batch} sequences "
            f"of length {steps}{where} (max |diff| {max_diff(found[i][name], refs[i][name]):.3g})",
            expected="h_t = tanh(W_hh h_{t-1} + W_xh x_t + b), ŷ_t = W_hy h_t",
            found=f"it looks like {diagnosis}" if diagnosis else "a different computation",
            hint="write each term of the formula as its own line and compare.")


def _cell_gradients(record, ref, backend) -> None:
    for name in CELL_WEIGHTS:
        gradient = (record.get("gradients") or {}).get(name)
        if gradient is None:
            raise CheckFailed(
                f"no gradient reaches `{name}` from the cell's outputs", expected="tensor operations (keras.ops) "
                "from the weights to ŷ_t and h_t, so that training can change them", found="no gradient (None)",
                hint=f"{CUTS[backend]} inside `call` cut the gradient that {DIFFERENTIATES[backend]} follows: "
                "use keras.ops (ops.tanh, ops.matmul) and keep tensors.")
        gradient = found_as_array(gradient, f"the gradient for `{name}`", "an array", "use keras.ops operations.")
        if not close(gradient, ref["gradients"][name], 1e-3):
            raise CheckFailed(
                f"the gradient for `{name}` differs from keras SimpleRNN's (max |diff| "
                f"{max_diff(gradient, ref['gradients'][name]):.3g}) although the outputs match",
                expected="the gradient of the same computation", found="another gradient",
                hint=f"part of `call` is hidden from {DIFFERENTIATES[backend]} ({CUTS[backend]}) or held "
                "constant; remove that, so that training sees the whole computation.")


def my_rnn_cell(inputs, data):
    cases, records = case_records(inputs, data, "MyRNNCell")
    refs = [keras_rnn(case) for case in cases]
    for record, case in zip(records, cases):
        raise_learner_error(record, CELL_HINTS)
        _cell_structure(record, case)
    found = [_cell_shapes(record, case, ref) for record, case, ref in zip(records, cases, refs)]
    _cell_values(found, refs, cases)
    for record, ref in zip(records, refs):
        _cell_gradients(record, ref, backend_of(data))
    worst = max(max_diff(f[n], r[n]) for f, r in zip(found, refs) for n in ("outputs", "state"))
    lengths = ", ".join(str(case["x"].shape[1]) for case in cases)
    return (f"with random weights set into W_xh, W_hh, b and W_hy, matches keras SimpleRNN (outputs, final state "
            f"and gradients) for 3 cell sizes on sequences of lengths {lengths} (max |diff| {worst:.1e})")


# ---------------------------------------------------------------- 1.4 unrolled loss
LOSS_SIZES = [(3, 5, 4, 7, 5), (2, 1, 3, 6, 4), (4, 7, 2, 5, 3)]  # batch, T, input_dim, units, classes


def draw_loss(rng):
    """Cells with random weights whose output ŷ_t = W_hy h_t + c is not their state h_t, and targets."""
    cases = []
    for batch, steps, input_dim, units, classes in LOSS_SIZES:
        case = random_weights(rng, input_dim, units, classes)
        case.update(c=rng.normal(size=classes).astype("float32"),
                    x=rng.normal(size=(batch, steps, input_dim)).astype("float32"),
                    targets=rng.integers(0, classes, size=(batch, steps)).astype("int32"))
        cases.append(case)
    return {"cases": cases}


def _step_losses(targets, scores, from_logits=True):
    return np.array([float(np.mean(to_numpy(keras.losses.sparse_categorical_crossentropy(
        targets[:, t], scores[:, t], from_logits=from_logits)))) for t in range(scores.shape[1])])


def keras_loss(case) -> dict:
    """keras.layers.RNN over the case's cell, scored by Keras' cross-entropy: L_t, L and dL/dweights."""
    cell, unroll = readout_cell(case), unrolls_eager_loops()

    def run():
        logits = keras.layers.RNN(cell, return_sequences=True, unroll=unroll)(case["x"])
        losses = [ops.mean(keras.losses.sparse_categorical_crossentropy(case["targets"][:, t], logits[:, t],
                                                                        from_logits=True))
                  for t in range(logits.shape[1])]
        return ops.sum(ops.stack(losses)), (logits, losses)

    (logits, losses), total, gradients, _ = value_and_gradients(run, cell.trainable_weights)
    states = to_numpy(keras.layers.RNN(cell.rnn, return_sequences=True, unroll=unroll)(case["x"]))
    one_step = np.concatenate([to_numpy(keras.layers.RNN(cell, return_sequences=True, unroll=unroll)(
        case["x"][:, t:t + 1])) for t in range(logits.shape[1])], axis=1)
    return {"steps": np.array([float(to_numpy(v)) for v in losses]), "total": float(to_numpy(total)),
            "gradients": gradients, "logits": to_numpy(logits), "states": states, "one_step": one_step}


def _loss_mistakes(case, ref) -> dict:
    targets, logits = case["targets"], ref["logits"]
    return {
        "the state is not carried from one step to the next": _step_losses(targets, ref["one_step"]),
        "the outputs are treated as probabilities; they are logits (from_logits=True)":
            _step_losses(targets, logits, from_logits=False),
        "the loss is computed from the state h_t instead of the output ŷ_t": _step_losses(targets, ref["states"]),
        "the softmax is applied twice (softmax of the logits, then from_logits=True)":
            _step_losses(targets, keras.ops.convert_to_numpy(keras.ops.softmax(logits))),
        "L_t is summed over the batch instead of averaged": ref["steps"] * len(targets),
    }


def _loss_record(record, case) -> tuple[np.ndarray, float]:
    """(L_1..L_T, L) from one returned value, with its structure checked."""
    steps, batch = case["x"].shape[1], case["x"].shape[0]
    raise_learner_error(record, LOSS_HINTS)
    returned = record.get("returned")
    if not (isinstance(returned, list) and len(returned) == 2):
        raise CheckFailed("unrolled_loss must return two things", expected="(total_loss, step_losses)",
                          found=shown(returned), hint="end with `return total, step_losses`.")
    total, step_losses = returned
    if not isinstance(step_losses, (list, np.ndarray)) or getattr(step_losses, "ndim", 1) == 0:
        raise CheckFailed("the second value returned is not a list of per-step losses",
                          expected=f"[L_1, ..., L_{steps}]", found=shown(step_losses),
                          hint="append L_t to a list inside the loop over t.")
    if len(step_losses) != steps:
        raise CheckFailed("one loss per time step is expected", expected=f"{steps} losses for {steps} steps",
                          found=f"{len(step_losses)}" + (": one step is missing" if len(step_losses) == steps - 1 else ""),
                          hint="loop over every t in range(T) and append L_t each time.")
    values = found_as_array(step_losses, "the per-step losses", f"{steps} numbers", "each L_t is one number.")
    if values.shape != (steps,):
        per_example = values.shape == (steps, batch)
        raise CheckFailed("each L_t must be one number", expected=f"{steps} numbers", found=f"an array of shape "
                          f"{values.shape}" + (": one loss per example, not averaged over the batch"
                                               if per_example else ""),
                          hint="average the per-example cross-entropies over the batch (ops.mean).")
    total = found_as_array(total, "the total loss L", "one number", "L is the sum of the L_t.")
    if total.shape != ():
        raise CheckFailed("the total loss L must be one number", expected="a scalar",
                          found=f"an array of shape {total.shape}", hint="add up the L_t into one number.")
    return values, float(total)


def _loss_gradients(record, ref, batch, steps, backend) -> None:
    gradients = record.get("gradients")
    if gradients is None or any(g is None for g in gradients):
        raise CheckFailed(
            "no gradient flows from the total loss L back to the cell's weights",
            expected=f"L as a tensor computed from the cell's outputs with keras.ops, which {DIFFERENTIATES[backend]} "
            "can differentiate",
            found=f"L returned as {shown(record['returned'][0])}" if gradients is None else "no gradient (None)",
            hint=f"keep every step in keras.ops (ops.mean, a sum of the L_t); {CUTS[backend]} cut the gradient "
            "that training needs.")
    worst = max(max_diff(g, r) if np.shape(g) == np.shape(r) else np.inf for g, r in zip(gradients, ref["gradients"]))
    if len(gradients) != len(ref["gradients"]) or worst > 1e-3:
        raise CheckFailed(f"the gradient of L differs from that of keras RNN + cross-entropy, on a batch of {batch} "
                          f"sequences of length {steps} (max |diff| {worst:.3g}) although the values match",
                          expected="the gradient of the same computation", found="another gradient",
                          hint=f"part of the loop is hidden from {DIFFERENTIATES[backend]} ({CUTS[backend]}) or held "
                          "constant, the state h_t above all: the gradient must flow through every step.")


def unrolled_loss(inputs, data):
    cases, records = case_records(inputs, data, "unrolled_loss")
    found = [_loss_record(record, case) for record, case in zip(records, cases)]
    refs = [keras_loss(case) for case in cases]
    bad = [i for i, ((steps, _), ref) in enumerate(zip(found, refs)) if not close(steps, ref["steps"])]
    if bad:
        i = bad[0]
        diagnosis = only_variant([f[0] for f in found], [_loss_mistakes(c, r) for c, r in zip(cases, refs)])
        t = int(np.argmax(~np.isclose(found[i][0], refs[i]["steps"], atol=ATOL, rtol=1e-3))) + 1
        raise CheckFailed(
            f"the per-step losses L_t differ from keras RNN + cross-entropy, first at step {t} of a batch of "
            f"{cases[i]['x'].shape[0]} sequences of length {cases[i]['x'].shape[1]} "
            f"(max |diff| {max_diff(found[i][0], refs[i]['steps']):.3g})",
            expected="L_t = mean over the batch of the cross-entropy of the logits ŷ_t against the targets at step t",
            found=f"it looks like {diagnosis}" if diagnosis else "different values",
            hint="feed h_t back into the next call of the cell, score its output ŷ_t, and compute the loss from logits.")
    for (steps, total), ref in zip(found, refs):
        if not np.isclose(total, ref["total"], atol=ATOL, rtol=1e-4):
            named = {"the mean over time": np.mean(steps), "the loss of the last step only": steps[-1]}
            what = next((name for name, value in named.items() if np.isclose(total, value, atol=ATOL)), None)
            raise CheckFailed("the total loss is not the sum of the per-step losses",
                              expected=f"L = sum over t of L_t = {ref['total']:.4f}",
                              found=f"{total:.4f}" + (f" ({what})" if what else ""),
                              hint="the unrolled network's loss adds up the losses of every time step.")
    for record, case, ref in zip(records, cases, refs):
        _loss_gradients(record, ref, *case["x"].shape[:2], backend_of(data))
    return (f"per-step losses, total and its gradient match keras RNN + cross-entropy for 3 cells whose output "
            f"is not their state, over {', '.join(str(c['x'].shape[1]) for c in cases)} steps")
