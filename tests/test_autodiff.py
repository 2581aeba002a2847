"""labhelpers.autodiff on each backend (a subprocess per backend: Keras reads KERAS_BACKEND once):
the gradients of a Dense layer's squared output equal the formula, and code that leaves the
backend's graph (float(), an integer loss) gets None, which the judges report as no gradient."""

import json

import numpy as np
import pytest

from backend_report import report_on
from labhelpers import backends

W, X = np.arange(6, dtype="float32").reshape(2, 3) / 4, np.array([[1.0, -2.0], [0.5, 3.0]], "float32")


def on_this_backend() -> dict:
    import keras

    from labhelpers.autodiff import value_and_gradients

    layer = keras.layers.Dense(3)
    layer.build((None, 2))
    layer.set_weights([W, np.zeros(3, "float32")])

    def squared(x):
        y = layer(x)
        return keras.ops.sum(y * y), y

    aux, loss, weights, inputs = value_and_gradients(squared, layer.trainable_weights, [X])
    left = value_and_gradients(lambda x: (float(keras.ops.sum(layer(x))), None), layer.trainable_weights, [X])
    whole = value_and_gradients(lambda x: (keras.ops.sum(keras.ops.cast(layer(x), "int32")), None),
                                layer.trainable_weights, [X])
    return {"backend": keras.backend.backend(), "loss": float(loss), "aux": backends.to_numpy(aux).tolist(),
            "weights": [g.tolist() for g in weights], "inputs": inputs[0].tolist(),
            "left": [left[2], left[3]], "integer": [whole[2], whole[3]]}


@pytest.fixture(scope="module", params=backends.BACKENDS)
def measured(request):
    return report_on(request.param, __file__, timeout=600)


def test_gradients_equal_the_formula_on_each_backend(measured):
    y = X @ W  # L = sum(y^2): dL/dW = X^T 2y, dL/db = sum 2y, dL/dx = 2y W^T
    assert np.isclose(measured["loss"], (y ** 2).sum())
    np.testing.assert_allclose(measured["aux"], y, rtol=1e-6)
    np.testing.assert_allclose(measured["weights"][0], X.T @ (2 * y), rtol=1e-5)
    np.testing.assert_allclose(measured["weights"][1], (2 * y).sum(0), rtol=1e-5)
    np.testing.assert_allclose(measured["inputs"], 2 * y @ W.T, rtol=1e-5)


def test_code_that_leaves_the_graph_has_no_gradient(measured):
    assert measured["left"] == [None, None] and measured["integer"] == [None, None]


if __name__ == "__main__":
    print(json.dumps(on_this_backend()))
