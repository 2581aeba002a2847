"""Lab 02 bench: training-step time of the lab's cells in keras.layers.RNN vs Keras' own layers.

MyLSTMCell is timed against keras.layers.LSTM and MyRNNCell against keras.layers.SimpleRNN, same
sizes, same data, same train step, compiled the same way (tf.function, then XLA). The timings
alternate between the two models round after round, so machine noise hits both alike. The cells
are the ones in solutions/02_bptt_and_lstm.ipynb, taken from the notebook itself. The bar: the
lab's MyLSTMCell at most 1.5x slower per step than keras.layers.LSTM. MyRNNCell's ratio is
printed for information: it also computes y_t = W_hy h_t every step, a product SimpleRNN skips.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from labhelpers import lstm  # noqa: E402

NOTEBOOK = Path(__file__).resolve().parent.parent / "solutions" / "02_bptt_and_lstm.ipynb"
LENGTH, BATCH = 100, 64
SIZES = (32, 128)
ROUNDS, STEPS_PER_ROUND, WARMUP_STEPS = 7, 10, 3
BAR = 1.5


def notebook_classes(*names: str) -> dict:
    """The classes `names` as defined in the solution notebook's code cells."""
    namespace = {"tf": tf, "keras": keras}
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        if cell.cell_type == "code" and any(cell.source.startswith(f"class {n}(") for n in names):
            exec(cell.source, namespace)  # noqa: S102 (our own solution notebook)
    return {name: namespace[name] for name in names}


def make_step(recurrent_layer, jit_compile: bool):
    """A compiled Adam training step of `recurrent_layer` + Dense(1) on the adding problem."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((LENGTH, 2)), recurrent_layer, keras.layers.Dense(1)])
    optimizer = keras.optimizers.Adam(1e-3)

    @tf.function(jit_compile=jit_compile)
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(x, training=True) - y) ** 2)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return train_step


def time_side_by_side(steps: dict, batch) -> dict:
    """Median seconds per step of each compiled step, timed in alternating rounds."""
    for step in steps.values():
        for _ in range(WARMUP_STEPS):
            step(*batch).numpy()
    samples = {name: [] for name in steps}
    for _ in range(ROUNDS):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(STEPS_PER_ROUND):
                loss = step(*batch)
            loss.numpy()
            samples[name].append((time.perf_counter() - start) / STEPS_PER_ROUND)
    return {name: float(np.median(s)) for name, s in samples.items()}


def main() -> None:
    cells = notebook_classes("MyRNNCell", "MyLSTMCell")
    batch = tuple(tf.constant(a) for a in lstm.adding_problem(BATCH, LENGTH, np.random.default_rng(0)))
    pairs = {  # name: (the lab's layer, keras' layer, whether the bar applies)
        "MyLSTMCell vs LSTM": (lambda n: keras.layers.RNN(cells["MyLSTMCell"](n)), keras.layers.LSTM, True),
        "MyRNNCell vs SimpleRNN": (lambda n: keras.layers.RNN(cells["MyRNNCell"](n, n)), keras.layers.SimpleRNN, False),
    }
    print(f"training step, T = {LENGTH}, batch {BATCH}, median of {ROUNDS} alternating rounds of "
          f"{STEPS_PER_ROUND} steps; CPU threads: {os.cpu_count()}")
    print(f"{'pair':<24}{'units':>6}{'compile':>13}{'lab cell ms':>13}{'keras ms':>10}{'ratio':>8}  bar <= {BAR}")
    for jit_compile in (False, True):
        for units in SIZES:
            for pair, (mine, theirs, has_bar) in pairs.items():
                steps = {"mine": make_step(mine(units), jit_compile), "keras": make_step(theirs(units), jit_compile)}
                ms = {name: 1000 * s for name, s in time_side_by_side(steps, batch).items()}
                ratio = ms["mine"] / ms["keras"]
                mode = "XLA" if jit_compile else "tf.function"
                print(f"{pair:<24}{units:>6}{mode:>13}{ms['mine']:>13.2f}{ms['keras']:>10.2f}{ratio:>8.2f}  "
                      f"{('ok' if ratio <= BAR else 'OVER') if has_bar else 'info (+ W_hy product)'}", flush=True)


if __name__ == "__main__":
    main()
