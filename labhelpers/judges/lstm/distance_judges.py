"""Lab 02's judge of 2.1b weight_gradient_by_distance: dL/dW_hh split into one term per time distance.

With L = sum(ŷ_T) and g_k = dL/dh_k, the term of step k is sum over the batch of
(g_k * (1 - h_k^2)) h_{k-1}^T (formula convention: W_hh[i, j] feeds h_{k-1}[j] into unit i);
entry d of the answer is the term of step k = T - d. The terms are computed here with NumPy from
Keras' SimpleRNN states, and their sum is compared with the gradient Keras' SimpleRNN itself gives.
"""

from __future__ import annotations

import numpy as np

from labhelpers.judges import diagnosis
from labhelpers.judges.lstm.judges import (NO_PATH, _backward, _close, _worst, backend_of, checked_states,
                                          keras_simple_rnn, last_output_gradients, traced_backward)
from labhelpers.grading import CheckFailed, found_as_array

HINT = ("unroll from h_0 = 0 with L = sum(ŷ_T); the term of step k is the gradient that W_hh receives "
        "where step k uses it, with h_{k-1} held fixed: put the immediate derivative of section 2.1 into the "
        "definition of G_{T-k}, keep the entries of the sum over m that are not zero, and sum over the batch. "
        "Entry d is the term of step k = T - d, so entry 0 is the last step's; the T terms add up to "
        "dL/dW_hh, the gradient of L with respect to cell.W_hh (the notebook's weight_gradient).")


def _previous(states):
    """h_0 = 0, h_1, ..., h_{T-1}: the state each step multiplies by W_hh."""
    return np.concatenate([np.zeros_like(states[:1]), states[:-1]])


def _by_distance(backward, forward):
    """Entry d: the batch sum of outer products backward_k forward_k^T of step k = T - d."""
    return np.einsum("tbi,tbj->tij", backward, forward)[::-1]


def _terms(states, grads):
    """Entry d: the term of dL/dW_hh of step k = T - d, from the states h_1..h_T and g_k = dL/dh_k."""
    return _by_distance(grads * (1 - states ** 2), _previous(states))


def _traced_terms(states, W_hh, from_y):
    """The terms by distance as `diagnosis` traces them: the backward pass and each term, their parts named."""
    def reference(k):
        grads = traced_backward(k, states, W_hh, from_y)
        at = k.value("h_k in the derivative of tanh of each term", states, instead={"h_{k-1}": _previous(states)})
        delta = k.product({"dL/dh_k": grads,
                           "the derivative of tanh of each term": k.apply("the derivative of tanh of each term",
                                                                          "tanh'", at)})
        previous = k.value("the state h_{k-1} that W_hh multiplies", _previous(states), instead={"h_k": states})
        outer = k.op("the outer product of each term", lambda a, b: np.einsum("tbi,tbj->tbij", a, b), delta, previous)
        return k.reduce("the sum over the batch", "sum", outer, axis=1)[::-1]

    return reference


def _diagnosed(found, states, W_hh, from_y, expected, sizes) -> str:
    """What the terms found are, as far as the traced computation and the generic relations can tell."""
    diagnosed = diagnosis.diagnose(found, expected, reference=_traced_terms(states, W_hh, from_y),
                                   axes=("distance d = {}", "row {}", "column {}"), sizes=sizes, rtol=1e-3, atol=1e-3)
    return diagnosed.text or _worst(found, expected)


def _keras_weight_gradient(case):
    """dL/dW_hh, L = sum(ŷ_T), from keras.layers.SimpleRNN with the drawn weights (float64; float32 on JAX
    without x64), on whichever backend Keras runs here."""
    import keras

    from labhelpers.autodiff import value_and_gradients
    from labhelpers.probes.lstm import wide_float

    layer, wide = keras_simple_rnn(case), wide_float()
    readout = case["W_hy"].T.astype(wide)

    def run(x):
        return keras.ops.sum(keras.ops.matmul(layer(x), readout)), None

    _, _, (gradient,), _ = value_and_gradients(run, [layer.cell.recurrent_kernel], [case["x"].astype(wide)])
    return gradient.astype("float64").T


def _mistakes(states, W_hh, from_y, grads, expected):
    """What the classic wrong answers return, by name (grads: the right dL/dh_k)."""
    T = len(states)
    none = [0 * from_y] * (T - 1)
    zero = np.zeros_like(expected[:1])
    return {
        "the entries are in reverse order: entry d must be the term of distance d = T - k (entry 0 is the "
        "last step's), not the term of step d + 1": expected[::-1],
        "the entries are shifted by one: entry d holds the term of distance d - 1, and entry 0 must be the "
        "term of the last step k = T": np.concatenate([zero, expected[:-1]]),
        "the entries are shifted by one: entry d holds the term of distance d + 1 (the last step's term is "
        "missing), and entry 0 must be the term of the last step k = T": np.concatenate([expected[1:], zero]),
        "every entry is the whole gradient dL/dW_hh: entry d must hold only the term of distance d":
            np.broadcast_to(expected.sum(0), expected.shape),
        "entry d is the sum of the terms up to distance d (the gradient truncated at d + 1 steps), not the "
        "term of distance d alone": np.cumsum(expected, axis=0),
        "only distance 0 has a term: the gradient does not flow back through the states (a stop_gradient "
        "between steps, or a step that does not start from the state the previous one returned)":
            np.concatenate([expected[:1], np.zeros_like(expected[1:])]),
        "each term is transposed: entry [i, j] belongs to W_hh[i, j], which carries h_{k-1}[j] into unit i "
        "of h_k": np.swapaxes(expected, 1, 2),
        "each term pairs the gradient with the new state h_k; the weight multiplies the previous state h_{k-1}":
            _by_distance(grads * (1 - states ** 2), states),
        "the derivative of tanh, 1 - h_k^2, is missing from each term": _by_distance(grads, _previous(states)),
        "the loss uses every output ŷ_1..ŷ_T; here L is the sum of the last output ŷ_T only":
            _terms(states, _backward(states, W_hh, [from_y] * T)),
        "the loss is the sum of the last state h_T; here L is the sum of the last output ŷ_T = W_hy h_T":
            _terms(states, _backward(states, W_hh, [*none, np.ones_like(from_y)])),
        f"the terms are the right ones divided by the batch size {states.shape[1]}: L is the sum of ŷ_T, "
        "not a mean": expected / states.shape[1],
    }


def _shape_mistake(shape, T, batch, units) -> str:
    """The likely cause of a result of the wrong shape."""
    causes = {(T, batch, units): "these look like the gradients dL/dh_t of exercise 2.1, not terms of dL/dW_hh",
              (T, batch, units, units): "the terms are not summed over the batch",
              (T,): "one number per distance (norms?): return the terms themselves, one matrix per distance",
              (units, units): "one matrix: that is the whole gradient, not split by distance",
              (T + 1, units, units): "one term too many: steps run from k = 1 to T (h_0 is given, not computed)",
              (T - 1, units, units): "one term too few: every step k = 1..T uses W_hh"}
    return causes.get(tuple(shape), "the result has the wrong shape")


def _found(case, result, backend):
    """The returned terms as an array of the right shape, or a CheckFailed saying why not."""
    batch, T, _ = case["x"].shape
    units = case["W_hh"].shape[0]
    expected = f"one tensor of shape {(T, units, units)} = (T, units, units)"
    returned = result["returned"]
    if isinstance(returned, list) and any(g is None for g in returned):
        raise CheckFailed("some terms are None", expected=expected, found=f"a {result['kind']} with None entries",
                          hint=NO_PATH[backend])
    found = found_as_array(returned, "the result", expected, HINT)
    if found.shape != (T, units, units):
        raise CheckFailed(f"{_shape_mistake(found.shape, T, batch, units)} (T = {T}, batch = {batch}, "
                          f"units = {units})", expected=expected, found=f"shape {found.shape}", hint=HINT)
    return found


def weight_gradient_by_distance(inputs, data):
    """Entry d must be the term of step T - d, and the terms must add up to Keras' dL/dW_hh."""
    for case, result in zip(inputs["cases"], data["cases"]):
        states = checked_states(case, result)
        found = _found(case, result, backend_of(data))
        batch, T, _ = case["x"].shape
        W_hh, from_y, grads = last_output_gradients(case, states)
        expected = _terms(states, grads)
        total = _keras_weight_gradient(case)
        if _close(found, expected, 1e-3) and _close(found.sum(0), total, 1e-3):
            continue
        named = next((name for name, wrong in _mistakes(states, W_hh, from_y, grads, expected).items()
                      if _close(found, wrong, 1e-3)), None)
        if named:
            raise CheckFailed(named, expected="entry d = the term of dL/dW_hh of step k = T - d, L = sum(ŷ_T)",
                              found="values equal to what that mistake computes", hint=HINT)
        sizes = {"T": T, "the batch size": batch, "the number of outputs": case["W_hy"].shape[0]}
        if _close(found.sum(0), total, 1e-3):
            wrong = [d for d in range(T) if not _close(found[d], expected[d], 1e-3)]
            raise CheckFailed(f"the terms add up to dL/dW_hh but are split wrongly by distance: the entries at "
                              f"d = {wrong[:5]} differ (T = {T})", expected="entry d = the term of step k = T - d",
                              found=_diagnosed(found, states, W_hh, from_y, expected, sizes), hint=HINT)
        raise CheckFailed(f"the terms are not those of dL/dW_hh by distance (T = {T}, batch = {batch}), and they do "
                          "not add up to Keras SimpleRNN's gradient of L = sum(ŷ_T)",
                          expected="entry d = the term of dL/dW_hh of step k = T - d, L = sum(ŷ_T)",
                          found=_diagnosed(found, states, W_hh, from_y, expected, sizes), hint=HINT)
    lengths = ", ".join(str(case["x"].shape[1]) for case in inputs["cases"])
    return (f"entry d is the term of dL/dW_hh from step T - d, and the terms add up to Keras SimpleRNN's "
            f"gradient, for {len(inputs['cases'])} random cells (T = {lengths})")
