"""Lab 02: backpropagation through time, vanishing and exploding gradients, and an LSTM.

The lab's data (the adding problem) and pictures (the LSTM cell diagram, gate traces); the
checks live in labhelpers/probes/lstm.py and labhelpers/judges/lstm/. Math convention, as in the
notebook: weight matrices are written as in the formulas (column vectors, `W x`), while code keeps the batch in rows,
`x @ W^T`. An LSTM's four row blocks of `W_xh`, `W_hh` and `b` are in Keras' order: the input
gate i, the forget gate f, the candidate c~ and the output gate o.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from labhelpers.probes.lstm import (  # noqa: F401
    check_clip_gradients, check_hidden_state_gradients, check_my_lstm_cell, check_weight_gradient_by_distance)

ADDING_BASELINE_MSE = 1 / 6  # always answering 1, the mean of a sum of two U(0, 1) values
DIAGRAM = Path(__file__).with_name("lstm_cell.svg")


# ----------------------------------------------------------------------------- data
def adding_problem(num_sequences: int, length: int, rng: np.random.Generator):
    """Sequences of the adding problem (Le, Jaitly & Hinton, 2015) and their targets.

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


# ----------------------------------------------------------------------------- pictures
def lstm_gate_trace(lstm_layer, x):
    """States and gates of a trained keras.layers.LSTM over x, step by step.

    Keras' own LSTMCell (the layer's cell) makes every step; its input and forget gates are
    read from the layer's weights. Returns arrays of shape (batch, T, units): "i", "f", "c", "h".
    """
    import keras

    cell = lstm_layer.cell
    kernel, recurrent_kernel, bias = (keras.ops.convert_to_numpy(w)
                                      for w in (cell.kernel, cell.recurrent_kernel, cell.bias))
    h = c = np.zeros((x.shape[0], cell.units), "float32")
    trace = {"i": [], "f": [], "c": [], "h": []}
    for t in range(x.shape[1]):
        a = x[:, t] @ kernel + h @ recurrent_kernel + bias
        gates = 1 / (1 + np.exp(-a[:, : 2 * cell.units]))
        _, (h, c) = cell(x[:, t], [h, c])
        h, c = keras.ops.convert_to_numpy(h), keras.ops.convert_to_numpy(c)
        for name, value in (("i", gates[:, : cell.units]), ("f", gates[:, cell.units:]), ("c", c), ("h", h)):
            trace[name].append(value)
    return {name: np.stack(values, axis=1) for name, values in trace.items()}


def cell_diagram():
    """The LSTM cell diagram (an SVG kept beside this module), for display in a notebook."""
    from IPython.display import SVG

    return SVG(filename=str(DIAGRAM))


def plot_gate_trace(trace, x, target):
    """One sequence and its forget gates, input gates and cell states over time, marks dashed in red.

    `trace` is lstm_gate_trace's result for x of shape (1, T, 2); `target` is that sequence's sum.
    """
    import matplotlib.pyplot as plt

    T, units = trace["c"].shape[1:]
    fig, axes = plt.subplots(4, 2, figsize=(9, 9), gridspec_kw={"height_ratios": [1, 2, 2, 2], "width_ratios": [40, 1]})
    plots, colorbar_slots = axes[:, 0], axes[:, 1]
    colorbar_slots[0].axis("off")
    plots[0].bar(np.arange(1, T + 1), x[0, :, 0], color=np.where(x[0, :, 1] > 0, "C3", "C7"))
    plots[0].set(title=f"One test sequence (red: marked values, target {target:.2f})", ylabel="value")
    panels = (("f", "forget gate $f_t$", "viridis", (0, 1)), ("i", "input gate $i_t$ (store)", "viridis", (0, 1)),
              ("c", "cell state $c_t$", "coolwarm", None))
    for ax, slot, (key, label, cmap, limits) in zip(plots[1:], colorbar_slots[1:], panels):
        values = trace[key][0].T
        vmin, vmax = limits or (-np.abs(values).max(), np.abs(values).max())
        image = ax.imshow(values, aspect="auto", cmap=cmap, interpolation="nearest", vmin=vmin, vmax=vmax,
                          extent=(0.5, T + 0.5, units - 0.5, -0.5))
        fig.colorbar(image, cax=slot, label="0 closed, 1 open" if limits else "value (no unit)")
        ax.set(title=label, ylabel="unit")
    for ax in plots:
        ax.set_xlim(0.5, T + 0.5)
        for mark in np.flatnonzero(x[0, :, 1]):
            ax.axvline(mark + 1, color="C3", lw=1, ls="--")
    plots[-1].set_xlabel("time step t")
    plt.tight_layout()
    plt.show()
