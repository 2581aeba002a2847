"""Lab 04's probes: they call the learner's code on the given inputs and return plain data."""

import contextlib
import os

import numpy as np

from labhelpers.autodiff import value_and_gradients
from labhelpers.grading import Lab, LearnerError, attempt, plain


def make_vectorizer(make_vectorizer, inputs):
    """Per drawn corpus: the vocabulary the learner's layer learned and the ids it gives the texts."""
    cases = []
    for case in inputs["cases"]:
        vectorizer = attempt(make_vectorizer, np.array(case["corpus"]), case["vocab_size"], case["seq_len"])
        record = {"returned": type(vectorizer).__name__}
        if hasattr(vectorizer, "get_vocabulary") and callable(vectorizer):
            record["vocabulary"] = [str(word) for word in attempt(vectorizer.get_vocabulary)]
            try:  # an empty vocabulary fails here: the judge names that first
                record["ids"] = plain(attempt(vectorizer, np.array(case["texts"], dtype=object)))
            except LearnerError as error:
                record["ids_error"] = error.record
        cases.append(record)
    return {"cases": cases}


def unrolled(model):
    """The model, its recurrent layers unrolled on JAX: there an LSTM's loop (jax.lax.scan) is compiled anew for
    every call of every new layer, a second or more each time, and the checks' short reviews (at most 12 ids) run
    in a fraction of that unrolled, to the same values. On TensorFlow and PyTorch the model as it is."""
    import keras

    if keras.backend.backend() == "jax":
        for layer in model._flatten_layers(include_self=False):
            if isinstance(layer, keras.layers.RNN):
                layer.unroll = True
    return model


def _widest_float() -> str:
    """float64, but float32 on JAX unless its 64-bit mode is on (JAX would truncate, warning about it)."""
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return "float64" if jax.config.jax_enable_x64 else "float32"
    return "float64"


def weights_and_gradients(model, ids, coefficients):
    """The gradient of sum(coefficients * scores) for each of the model's weights (None: not trained),
    on whichever backend runs the model (labhelpers.autodiff)."""
    from keras import ops

    trainable = model.trainable_weights
    dtype = _widest_float()

    def run(ids):
        scores = ops.cast(attempt(model, ids, training=False), dtype)
        return ops.sum(ops.reshape(scores, (len(coefficients), -1)) * ops.convert_to_tensor(coefficients, dtype)), None

    _, _, found, _ = value_and_gradients(run, trainable, [ids])
    found = found or [None] * len(trainable)
    by_weight = dict(zip((id(w) for w in trainable), found))
    return [None if by_weight.get(id(w)) is None else plain(by_weight[id(w)]) for w in model.weights]


def classifier(build, inputs):
    """Per drawn size: the learner's model with the drawn weights set, scored on padded and trimmed ids."""
    cases = []
    for case in inputs["cases"]:
        model = attempt(build, case["vocab_size"], case["embed_dim"], case["units"])
        if not (callable(model) and hasattr(model, "weights")):
            cases.append({"returned": plain(model)})
            continue
        unrolled(model)
        padded = case["padded"]
        record = {"first": plain(attempt(model, padded, training=False)),
                  "first_again": plain(attempt(model, padded, training=False)),
                  "layers": [type(layer).__name__ for layer in model._flatten_layers(include_self=False)],
                  "shapes": [list(w.shape) for w in model.weights]}
        if record["shapes"] == [list(w.shape) for w in case["weights"]]:
            attempt(model.set_weights, case["weights"])
            record["padded"] = plain(attempt(model, padded, training=False))
            record["trimmed"] = plain(attempt(model, case["trimmed"], training=False))
            record["gradients"] = weights_and_gradients(model, padded, case["coefficients"])
        cases.append(record)
    return {"cases": cases}


def task_model(case):
    """The small model 4.4 is checked on: average of word vectors, then one sigmoid unit, drawn weights."""
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input(shape=(None,), dtype="int32"), layers.Embedding(*case["embeddings"].shape),
                              layers.GlobalAveragePooling1D(), layers.Dense(1, activation="sigmoid")])
    model.set_weights([case["embeddings"], case["kernel"], case["bias"]])
    return model


def dataset(ids, labels, batch_size):
    """A tf.data pipeline of (ids, label) batches, as the notebook's `sentiment.make_dataset` gives `fit` on every
    backend (Keras' `fit` takes tf.data whatever the backend)."""
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((ids, np.asarray(labels, "float32"))).batch(batch_size)


@contextlib.contextmanager
def unseen():
    """What runs inside prints and displays nothing in the check's cell: the learner's progress bars
    (a `TqdmCallback` per drawn task) and Keras' log stay out of the verdict; exceptions pass."""
    from IPython.utils.capture import capture_output

    with (open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink),
          capture_output(stdout=False, stderr=False)):
        yield


def train_with_early_stopping(train, inputs):
    """Per drawn task: history, the weights the model keeps, and what its compiled loss and metrics say."""
    cases = []
    for case in inputs["cases"]:
        model = task_model(case)
        train_data = dataset(case["train_ids"], case["train_labels"], case["batch_size"])
        val_data = dataset(case["val_ids"], case["val_labels"], case["batch_size"])
        with unseen():
            history = attempt(train, model, train_data, val_data, max_epochs=case["max_epochs"],
                              patience=case["patience"], learning_rate=case["learning_rate"])
        record = {"history": plain(getattr(history, "history", history)),
                  "weights": plain(model.get_weights()),
                  "optimizer": type(getattr(model, "optimizer", None)).__name__,
                  "loss_name": str(getattr(model, "loss", None))[:120]}
        if record["optimizer"] != "NoneType":
            record["learning_rate"] = plain(getattr(model.optimizer, "learning_rate", None))
            record["evaluated"] = plain(attempt(model.evaluate, val_data, verbose=0, return_dict=True))
        cases.append(record)
    return {"cases": cases}


def evaluate_predictions(evaluate_predictions, inputs):
    """What the learner's function returns for each drawn set of probabilities and labels."""
    return {"returned": [plain(attempt(evaluate_predictions, case["probabilities"], case["labels"]))
                         for case in inputs["cases"]]}


def log_count_ratios(log_count_ratios, inputs):
    """What the learner's function returns for each drawn count matrix, given as SciPy sparse as in the lab."""
    from scipy import sparse

    return {"returned": [plain(attempt(log_count_ratios, sparse.csr_matrix(case["counts"]), case["labels"],
                                       case["alpha"])) for case in inputs["cases"]]}


# ---------------------------------------------------------------- the checks the notebook calls
lab = Lab("04")

check_make_vectorizer = lab.exercise("4.1", probe=make_vectorizer)
check_build_lstm_classifier = lab.exercise("4.2", probe=classifier)
check_build_bidirectional_classifier = lab.exercise("4.3", probe=classifier)
check_train_with_early_stopping = lab.exercise("4.4", probe=train_with_early_stopping)
check_evaluate_predictions = lab.exercise("4.5", probe=evaluate_predictions)
check_log_count_ratios = lab.exercise("4.6", probe=log_count_ratios)
