"""Lab 02 bench: training-step time of the lab's cells in keras.layers.RNN vs Keras' own layers.

MyLSTMCell is timed against keras.layers.LSTM and MyRNNCell against keras.layers.SimpleRNN, same
sizes, same data, same train step, compiled the same way: on TensorFlow with tf.function, then XLA;
on JAX with jax.jit (XLA); on PyTorch eagerly, as the notebook trains (KERAS_BACKEND picks). The timings
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

from labhelpers import lstm  # noqa: E402

BACKEND = keras.backend.backend()
COMPILE_MODES = {"tensorflow": ("tf.function", "XLA"), "jax": ("jax.jit",), "torch": ("eager",)}[BACKEND]

NOTEBOOK = Path(__file__).resolve().parent.parent / "solutions" / "02_bptt_and_lstm.ipynb"
LENGTH, BATCH = 100, 64
SIZES = (32, 128)
ROUNDS, STEPS_PER_ROUND, WARMUP_STEPS = 7, 10, 3
BAR = 1.5


def notebook_classes(*names: str) -> dict:
    """The classes `names` as defined in the solution notebook's code cells (written in keras.ops)."""
    namespace = {"keras": keras, "np": np}
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        if cell.cell_type == "code" and any(cell.source.startswith(f"class {n}(") for n in names):
            exec(cell.source, namespace)  # noqa: S102 (our own solution notebook)
    return {name: namespace[name] for name in names}


def train_step(model, optimizer, mode: str = COMPILE_MODES[0], clip_norm=None):
    """`step(x, y) -> loss`: one training step of `model` (mean squared error), its gradients clipped by the
    global norm when `clip_norm` is given, compiled as `mode` says (one of COMPILE_MODES). On JAX the step
    carries the weights' values itself; `step.write_back()` puts them into the model (a no-op elsewhere)."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        @tf.function(jit_compile=mode == "XLA")
        def step(x, y):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean((model(x, training=True) - y) ** 2)
            grads = tape.gradient(loss, model.trainable_variables)
            if clip_norm is not None:
                grads, _ = tf.clip_by_global_norm(grads, clip_norm)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        step.write_back = lambda: None
        return step
    if BACKEND == "jax":
        return _jax_step(model, optimizer, clip_norm)
    return _torch_step(model, optimizer, clip_norm)


def _clipped(grads, clip_norm):
    if clip_norm is None:
        return grads
    norm = keras.ops.sqrt(sum(keras.ops.sum(keras.ops.square(g)) for g in grads))
    return [g * keras.ops.minimum(1.0, clip_norm / norm) for g in grads]


def _jax_step(model, optimizer, clip_norm):
    import jax

    optimizer.build(model.trainable_variables)
    groups = (model.trainable_variables, model.non_trainable_variables, optimizer.variables)
    state = tuple([v.value for v in group] for group in groups)  # the structure pure_step returns: one compile

    def loss_fn(trainable, non_trainable, x, y):
        y_hat, non_trainable = model.stateless_call(trainable, non_trainable, x, training=True)
        return keras.ops.mean((y_hat - y) ** 2), non_trainable

    @jax.jit
    def pure_step(state, x, y):
        trainable, non_trainable, optimizer_state = state
        (loss, non_trainable), grads = jax.value_and_grad(loss_fn, has_aux=True)(trainable, non_trainable, x, y)
        trainable, optimizer_state = optimizer.stateless_apply(optimizer_state, _clipped(grads, clip_norm), trainable)
        return (trainable, non_trainable, optimizer_state), loss

    def step(x, y):
        nonlocal state
        state, loss = pure_step(state, x, y)
        return loss

    def write_back():
        for group, values in zip(groups, state):
            for variable, value in zip(group, values):
                variable.assign(value)

    step.write_back = write_back
    return step


def _torch_step(model, optimizer, clip_norm):
    import torch

    variables = model.trainable_variables

    def step(x, y):
        loss = keras.ops.mean((model(x, training=True) - y) ** 2)
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            optimizer.apply(_clipped([v.value.grad for v in variables], clip_norm), variables)
        return loss.detach()

    step.write_back = lambda: None
    return step


def make_step(recurrent_layer, mode: str):
    """A compiled Adam training step of `recurrent_layer` + Dense(1) on the adding problem."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((LENGTH, 2)), recurrent_layer, keras.layers.Dense(1)])
    return train_step(model, keras.optimizers.Adam(1e-3), mode)


def time_side_by_side(steps: dict, batch) -> dict:
    """Median seconds per step of each compiled step, timed in alternating rounds."""
    for step in steps.values():
        for _ in range(WARMUP_STEPS):
            keras.ops.convert_to_numpy(step(*batch))
    samples = {name: [] for name in steps}
    for _ in range(ROUNDS):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(STEPS_PER_ROUND):
                loss = step(*batch)
            keras.ops.convert_to_numpy(loss)
            samples[name].append((time.perf_counter() - start) / STEPS_PER_ROUND)
    return {name: float(np.median(s)) for name, s in samples.items()}


def main() -> None:
    cells = notebook_classes("MyRNNCell", "MyLSTMCell")
    batch = tuple(keras.ops.convert_to_tensor(a) for a in lstm.adding_problem(BATCH, LENGTH, np.random.default_rng(0)))
    pairs = {  # name: (the lab's layer, keras' layer, whether the bar applies)
        "MyLSTMCell vs LSTM": (lambda n: keras.layers.RNN(cells["MyLSTMCell"](n)), keras.layers.LSTM, True),
        "MyRNNCell vs SimpleRNN": (lambda n: keras.layers.RNN(cells["MyRNNCell"](n, n)), keras.layers.SimpleRNN, False),
    }
    print(f"training step on Keras' {BACKEND} backend, T = {LENGTH}, batch {BATCH}, median of {ROUNDS} alternating "
          f"rounds of {STEPS_PER_ROUND} steps; CPU threads: {os.cpu_count()}")
    print(f"{'pair':<24}{'units':>6}{'compile':>13}{'lab cell ms':>13}{'keras ms':>10}{'ratio':>8}  bar <= {BAR}")
    for mode in COMPILE_MODES:
        for units in SIZES:
            for pair, (mine, theirs, has_bar) in pairs.items():
                steps = {"mine": make_step(mine(units), mode), "keras": make_step(theirs(units), mode)}
                ms = {name: 1000 * s for name, s in time_side_by_side(steps, batch).items()}
                ratio = ms["mine"] / ms["keras"]
                print(f"{pair:<24}{units:>6}{mode:>13}{ms['mine']:>13.2f}{ms['keras']:>10.2f}{ratio:>8.2f}  "
                      f"{('ok' if ratio <= BAR else 'OVER') if has_bar else 'info (+ W_hy product)'}", flush=True)


if __name__ == "__main__":
    main()
