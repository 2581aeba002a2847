"""Lab 02's TruncatedLSTM (section 2.5), read from the solution notebook: no gradient term spans more
than its window, while the state still flows forward through the whole sequence. It runs on the Keras
backend KERAS_BACKEND names (the gradient through labhelpers.autodiff)."""

import importlib.util
from pathlib import Path

import keras
import numpy as np

from labhelpers.autodiff import value_and_gradients
from labhelpers.backends import to_numpy

BENCH = Path(__file__).resolve().parent.parent / "bench" / "truncated_bptt.py"
T, WINDOW, UNITS = 12, 4, 5


def _truncated_lstm():
    spec = importlib.util.spec_from_file_location("truncated_bptt", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    keras.utils.set_random_seed(0)
    return bench.notebook_classes("TruncatedLSTM")["TruncatedLSTM"](UNITS, WINDOW)


def test_the_gradient_stops_at_the_window_and_the_state_goes_on():
    model = _truncated_lstm()
    x = np.random.default_rng(0).normal(size=(3, T, 2)).astype("float32")
    model(x)
    _, _, _, (input_gradient,) = value_and_gradients(lambda x: (keras.ops.sum(model(x)), None), [], [x])
    by_step = np.abs(input_gradient).sum(axis=(0, 2))
    assert np.all(by_step[:T - WINDOW] == 0) and np.all(by_step[T - WINDOW:] > 0), by_step

    full = keras.layers.LSTM(UNITS)
    full(x)
    full.set_weights(model.lstm.get_weights())
    np.testing.assert_allclose(to_numpy(model(x)), to_numpy(model.head(full(x))), rtol=1e-5, atol=1e-6)
