"""Lab 02 bench: the adding problem learned by a Keras LSTM trained with truncated BPTT.

The gradient is stopped `w` steps before the end of each sequence (the notebook's `TruncatedLSTM`,
taken from the solution notebook itself), so no gradient term spans more than w steps. With
w < T/2 the first mark always lies outside the window: a model that ignores it cannot beat a
relative error of 0.5 (the variance of the first value over that of the sum). The script prints the
relative test error of every (T, w, seed) and of full BPTT (w = T) for comparison.

    .venv/bin/python bench/truncated_bptt.py --length 50 --windows 10 20 50 --steps 2000 --seeds 0 1

On Keras' JAX or PyTorch backend (`KERAS_BACKEND=jax ...`) it trains the same model the way the notebook
does there (jax.jit, eager PyTorch; bench/lstm_speed.py's train_step).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from labhelpers import lstm  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lstm_speed import BACKEND, notebook_classes, train_step  # noqa: E402

UNITS, BATCH, LEARNING_RATE, CLIP_NORM, TEST_SEQUENCES = 32, 64, 0.01, 1.0, 2000


def relative_error(length: int, window: int, steps: int, seed: int) -> float:
    """Train TruncatedLSTM(UNITS, window) for `steps` Adam steps (clipped at 1); its test MSE / baseline MSE."""
    keras.utils.set_random_seed(seed)
    model = notebook_classes("TruncatedLSTM")["TruncatedLSTM"](UNITS, window)
    model(np.zeros((1, length, 2), "float32"))
    step = train_step(model, keras.optimizers.Adam(LEARNING_RATE), clip_norm=CLIP_NORM)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        step(*(keras.ops.convert_to_tensor(a) for a in lstm.adding_problem(BATCH, length, rng)))
    step.write_back()
    x, y = lstm.adding_problem(TEST_SEQUENCES, length, np.random.default_rng(seed + 1))
    return float(np.mean((keras.ops.convert_to_numpy(model(x)) - y) ** 2) / np.mean((y - 1.0) ** 2))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=50)
    parser.add_argument("--windows", type=int, nargs="+", default=[10, 20])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    print(f"Keras' {BACKEND} backend, T = {args.length}, {args.steps} steps of Adam, {UNITS} units; relative test "
          "error (0.5: first mark ignored)")
    for window in args.windows:
        for seed in args.seeds:
            start = time.perf_counter()
            error = relative_error(args.length, window, args.steps, seed)
            print(f"w = {window:>3}, seed {seed}: {error:.3f}  ({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
