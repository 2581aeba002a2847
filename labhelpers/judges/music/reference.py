"""Lab 03's reference model in NumPy (float64): Embedding -> LSTM -> (a scale) -> Dense, forward and backward.

The judges compare the learner's results with these, whatever Keras backend (or none) the judging
process runs: a Keras LSTM called eagerly on JAX compiles its loop anew at every call, which made
a judge take seconds per reference. The LSTM is Keras' (gates in the order i, f, c~, o, sigmoid
gates, tanh candidate and tanh of c_t); tests/test_music.py checks the outputs and the gradients
against Keras' own layers.

`weights` are grouped as the judges draw them: {"embedding": [E], "lstm": [kernel, recurrent kernel,
bias], "dense": [W_hy, b_y]}, each an array of Keras' shape.
"""

from __future__ import annotations

import numpy as np


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + exp(-z)), without overflow


def _float(*arrays):
    return [np.asarray(a, "float64") for a in arrays]


def lstm(weights, ids, h=None, c=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """(h_t at every step (batch, T, units), final h, final c, the steps' values for `gradients`) of the
    LSTM reading the embedded `ids` (batch, T) from [h, c] (zeros when not given)."""
    (E,), (kernel, recurrent, bias) = _float(*weights["embedding"]), _float(*weights["lstm"])
    ids = np.asarray(ids)
    units = recurrent.shape[0]
    h = np.zeros((ids.shape[0], units)) if h is None else np.asarray(h, "float64")
    c = np.zeros((ids.shape[0], units)) if c is None else np.asarray(c, "float64")
    outputs, steps = [], []
    for t in range(ids.shape[1]):
        x = E[ids[:, t]]
        z = x @ kernel + h @ recurrent + bias
        i, f, g, o = (_sigmoid(z[:, :units]), _sigmoid(z[:, units:2 * units]), np.tanh(z[:, 2 * units:3 * units]),
                      _sigmoid(z[:, 3 * units:]))
        c_new = f * c + i * g
        h_new = o * np.tanh(c_new)
        steps.append((x, h, c, i, f, g, o, c_new))
        h, c = h_new, c_new
        outputs.append(h)
    return np.stack(outputs, axis=1), h, c, steps


def dense(weights, h) -> np.ndarray:
    W, b = _float(*weights["dense"])
    return np.asarray(h, "float64") @ W + b


def logits(weights, ids, h=None, c=None, scale=1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(logits at every step, final h, final c) of the model on `ids`, the LSTM's outputs times `scale`."""
    outputs, h, c, _ = lstm(weights, ids, h, c)
    return dense(weights, scale * outputs), h, c


def log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def loss_and_gradients(weights, ids, labels, scale=1.0) -> tuple[float, list[np.ndarray]]:
    """The mean cross-entropy of `labels` under the model's logits on `ids`, and its gradients with respect
    to [E, kernel, recurrent kernel, bias, W_hy, b_y] (backpropagation through time)."""
    (E,), (kernel, recurrent, bias), (W, b) = (_float(*weights[k]) for k in ("embedding", "lstm", "dense"))
    ids, labels = np.asarray(ids), np.asarray(labels)
    outputs, _, _, steps = lstm(weights, ids)
    z = dense(weights, scale * outputs)
    logp = log_softmax(z)
    count = labels.size
    loss = -np.take_along_axis(logp, labels[..., None], -1).sum() / count
    dz = np.exp(logp)
    np.put_along_axis(dz, labels[..., None], np.take_along_axis(dz, labels[..., None], -1) - 1, -1)
    dz /= count
    dW = np.einsum("btu,btv->uv", scale * outputs, dz)
    db = dz.sum((0, 1))
    d_outputs = scale * dz @ W.T
    dE, dkernel, drecurrent, dbias = (np.zeros_like(a) for a in (E, kernel, recurrent, bias))
    dh_next, dc_next = np.zeros_like(outputs[:, 0]), np.zeros_like(outputs[:, 0])
    for t in reversed(range(ids.shape[1])):
        x, h_prev, c_prev, i, f, g, o, c = steps[t]
        dh = d_outputs[:, t] + dh_next
        tanh_c = np.tanh(c)
        dc = dh * o * (1 - tanh_c ** 2) + dc_next
        dpre = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g ** 2),
                               dh * tanh_c * o * (1 - o)], axis=1)
        dkernel += x.T @ dpre
        drecurrent += h_prev.T @ dpre
        dbias += dpre.sum(0)
        np.add.at(dE, ids[:, t], dpre @ kernel.T)
        dh_next, dc_next = dpre @ recurrent.T, dc * f
    return float(loss), [dE, dkernel, drecurrent, dbias, dW, db]
