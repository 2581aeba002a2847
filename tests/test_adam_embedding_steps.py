"""Why Labs 03 and 05 train faster in quick mode on TensorFlow than on JAX and PyTorch, as the labs say.

An Embedding's gradient on TensorFlow is an IndexedSlices holding one row per occurrence of an index,
duplicates not yet summed. Keras' Adam squares that gradient for its second moment occurrence by
occurrence, so a row that occurs n times in a batch gets sum_i g_i^2 (about n g^2) where the summed
gradient would give (n g)^2: its first step is sqrt(n) times Adam's usual one. On JAX and PyTorch the
gradient is dense and every row takes Adam's usual first step, lr * sign(g). If Keras changes this,
this test fails and the labs' prose must change with it.

Run per backend as a script in a subprocess (Keras reads the backend once per process).
"""

import json

import pytest

from backend_report import report_on

OCCURRENCES = (1, 4, 16)  # how often each row's index occurs in the batch
LEARNING_RATE = 0.1


@pytest.mark.parametrize("backend, larger_steps", [("tensorflow", True), ("jax", False), ("torch", False)])
def test_adams_first_step_on_an_embedding_row(backend, larger_steps):
    steps = report_on(backend, __file__, timeout=300)["steps"]
    for occurrences, step in zip(OCCURRENCES, steps):
        expected = LEARNING_RATE * (occurrences ** 0.5 if larger_steps else 1)
        assert step == pytest.approx(expected, rel=1e-4), (backend, occurrences, steps)


def first_steps() -> list[float]:
    """Adam's first step on each row of an Embedding whose loss is the sum of its looked-up vectors."""
    import labhelpers  # noqa: F401  (quiet TensorFlow start)
    import keras
    import numpy as np

    from labhelpers import backends

    ids = np.concatenate([np.full(n, row) for row, n in enumerate(OCCURRENCES)])[None, :]
    embedding = keras.layers.Embedding(len(OCCURRENCES), 2, embeddings_initializer="zeros")
    embedding.build((None, None))
    optimizer = keras.optimizers.Adam(LEARNING_RATE)
    optimizer.build(embedding.trainable_variables)
    optimizer.apply_gradients([(native_gradient(embedding, ids), embedding.embeddings)])
    return [float(-step) for step in backends.to_numpy(embedding.embeddings)[:, 0]]


def native_gradient(embedding, ids):
    """d sum(embedding(ids)) / d embeddings as the backend hands it to the optimizer (not made dense)."""
    import keras

    loss = lambda: keras.ops.sum(embedding(ids))  # noqa: E731
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            value = loss()
        return tape.gradient(value, embedding.embeddings)
    if keras.backend.backend() == "jax":
        import jax

        def pure(table):
            with keras.StatelessScope(state_mapping=[(embedding.embeddings, table)]):
                return loss()

        return jax.grad(pure)(embedding.embeddings.value)
    loss().backward()
    return embedding.embeddings.value.grad


if __name__ == "__main__":
    print(json.dumps({"steps": first_steps()}))
