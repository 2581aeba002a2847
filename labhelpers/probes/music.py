"""Lab 03's probes: they call the learner's code on the given inputs and return plain data.

The models and the sampling step that the learner's code is run on (`training_model`, Keras' layers
for 3.6a, `ToyStep`) are built here from the drawn weights; what they compute is decided by the
judges' references.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from labhelpers.grading import Lab, LearnerError, attempt, error_record, shorten


def reference_layers(weights: dict):
    """Keras' Embedding, LSTM (return_sequences) and Dense, built with the given weights."""
    vocab, embedding = np.shape(weights["embedding"][0])
    units = np.shape(weights["lstm"][1])[0]
    layers = (keras.layers.Embedding(vocab, embedding), keras.layers.LSTM(units, return_sequences=True),
              keras.layers.Dense(vocab))
    for layer, shape, name in zip(layers, [(None, None), (None, None, embedding), (None, None, units)],
                                  ["embedding", "lstm", "dense"]):
        layer.build(shape)
        layer.set_weights([np.asarray(w, "float32") for w in weights[name]])
    return layers


def _outcome(function, *args):
    """{"returned": what the learner's call returned} or {"error": its error record}."""
    try:
        return {"returned": attempt(function, *args)}
    except LearnerError as error:
        return {"error": error.record}


def _kind(value) -> str:
    """The type of a returned value, with the dtype of an array (metadata for diagnosis only)."""
    name, dtype = type(value).__name__, getattr(value, "dtype", None)
    dtype = str(getattr(dtype, "name", dtype))
    return name if dtype in ("None", name) else f"{name} of {dtype}"


# ---------------------------------------------------------------- 3.1 vectorize_string
def vectorize_string(vectorize_string, char2idx, inputs):
    """vectorize_string(text) for each drawn text, and the char2idx it was checked with."""
    returned = [attempt(vectorize_string, text) for text in inputs["texts"]]
    return {"char2idx": char2idx, "returned": returned, "kinds": [_kind(r) for r in returned]}


# ---------------------------------------------------------------- 3.2 get_batch
def get_batch(get_batch, inputs):
    """get_batch(text, seq_length, batch_size) called repeatedly on each drawn text.

    NumPy's global generator is seeded from the inputs (so a learner sees the same verdict on each
    run) and restored afterwards (so the notebook's own randomness is left as it was).
    """
    saved = np.random.get_state()
    np.random.seed(inputs["seed"])
    try:
        runs = []
        for run in inputs["runs"]:
            args = (np.asarray(run["text"]), run["seq_length"], run["batch_size"])
            calls = [_outcome(get_batch, *args) for _ in range(run["calls"])]
            first = calls[0].get("returned")
            parts = [_kind(v) for v in first] if isinstance(first, (tuple, list)) else []
            runs.append({"calls": calls, "kind": _kind(first), "parts": parts})
    finally:
        np.random.set_state(saved)
    return {"runs": runs}


# ---------------------------------------------------------------- 3.3 build_model
def _units(model) -> list:
    """The model's layers, nested models opened; an RNN's cell counted with its RNN, and a wrapper's layer
    (TimeDistributed(Dense(...)), Bidirectional(LSTM(...))) with its wrapper, whose weights are its layer's."""
    found, wrapped = [], set()
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, (keras.Model, keras.layers.InputLayer)) or id(layer) in wrapped:
            continue
        if isinstance(layer, (keras.layers.RNN, keras.layers.Wrapper, keras.layers.Bidirectional)):
            wrapped.update(id(sub) for sub in layer._flatten_layers(include_self=False, recursive=True))
        found.append(layer)
    return found


def _describe(layer, placed) -> dict:
    config = layer.get_config()
    keys = ("units", "activation", "return_sequences", "rate", "input_dim", "output_dim", "dropout",
            "recurrent_dropout")
    return {"type": type(layer).__name__, "shapes": [list(w.shape) for w in layer.weights], "placed": placed,
            "config": {k: config[k] for k in keys if k in config and isinstance(config[k], (int, float, str))}}


def _place_weights(model, groups: dict) -> list:
    """Set each drawn group of weights into the layer whose weights have exactly its shapes."""
    free, layers = dict(groups), []
    for layer in _units(model):
        shapes = [tuple(w.shape) for w in layer.weights]
        placed = next((name for name, ws in free.items() if [w.shape for w in ws] == shapes), None) if shapes else None
        if placed:
            layer.set_weights(free.pop(placed))
        layers.append(_describe(layer, placed))
    return layers


def build_model(build_model, inputs):
    """Each drawn case: the model's layers, then its outputs with the drawn weights set in."""
    cases = []
    for case in inputs["cases"]:
        sizes = (case["vocab_size"], case["embedding_dim"], case["rnn_units"])
        args = sizes if case["dropout"] is None else (*sizes, case["dropout"])
        model = attempt(build_model, *args)
        if not isinstance(model, keras.layers.Layer):
            cases.append({"not_a_model": _kind(model)})
            continue
        tokens = case["tokens"]
        attempt(model, tokens)  # builds it
        groups = {name: [np.asarray(w) for w in ws] for name, ws in case["weights"].items()}
        layers = _place_weights(model, groups)
        cases.append({
            "layers": layers,
            "default": attempt(model, tokens),
            "inference": [attempt(model, tokens, training=False) for _ in range(2)],
            "training": [attempt(model, tokens, training=True) for _ in range(case["training_calls"])],
        })
    return {"cases": cases}


# ---------------------------------------------------------------- 3.4 compute_loss
def compute_loss(compute_loss, inputs):
    """compute_loss(labels, logits) on each case, and the gradient of what it returned."""
    results = []
    for case in inputs["cases"]:
        labels = np.asarray(case["labels"]) if case["numpy_labels"] else tf.constant(case["labels"])
        logits = tf.constant(case["logits"], tf.float32)
        with tf.GradientTape() as tape:
            tape.watch(logits)
            loss = attempt(compute_loss, labels, logits)
        gradient = None
        if tf.is_tensor(loss) and loss.dtype.is_floating:
            gradient = tape.gradient(loss, logits)
        results.append({"returned": loss, "kind": _kind(loss), "gradient": gradient})
    return {"cases": results}


# ---------------------------------------------------------------- 3.5 train_step
class ModeScale(keras.layers.Layer):
    """Multiplies by one factor in training mode and by another otherwise; notes if it ran eagerly."""

    def __init__(self, training_scale, inference_scale, **kwargs):
        super().__init__(**kwargs)
        self.training_scale, self.inference_scale = training_scale, inference_scale
        self.eager_calls = 0

    def call(self, inputs, training=False):
        self.eager_calls += int(tf.executing_eagerly())
        return inputs * (self.training_scale if training else self.inference_scale)


def training_model(case) -> tuple[keras.Model, ModeScale]:
    """Embedding -> LSTM -> ModeScale -> Dense with the drawn weights."""
    scale = ModeScale(case["training_scale"], case["inference_scale"])
    vocab, embedding, units = case["sizes"]
    model = keras.Sequential([keras.Input((None,), dtype="int32"), keras.layers.Embedding(vocab, embedding),
                              keras.layers.LSTM(units, return_sequences=True), scale, keras.layers.Dense(vocab)])
    model.set_weights([np.asarray(w) for w in case["weights"]])
    scale.eager_calls = 0
    return model, scale


def train_step(train_step, inputs):
    """One call of train_step per case on a fresh model and SGD optimizer: loss and weights after."""
    results = []
    for case in inputs["cases"]:
        model, scale = training_model(case)
        optimizer = keras.optimizers.SGD(case["learning_rate"])
        optimizer.build(model.trainable_variables)
        x, y = (tf.constant(case[k], tf.int32) for k in ("x", "y"))
        loss = attempt(train_step, model, optimizer, x, y)
        results.append({"returned": loss, "kind": _kind(loss), "weights": model.get_weights(),
                        "eager_calls": scale.eager_calls})
    return {"compiled": hasattr(train_step, "get_concrete_function"), "cases": results}


# ---------------------------------------------------------------- 3.6a sampling_step
def _traced(sampling_step, layers, ids, state):
    """The step traced into a graph, as music.ModelStep and music.Sampler run it, and called once.

    A concrete function traced anew at each check does not trip TensorFlow's retracing warning. An
    error keeps its last line, the learner's own error below TensorFlow's "in user code" trace.
    """
    graph = tf.function(lambda i, s: sampling_step(*layers, i, s))
    try:
        return {"returned": graph.get_concrete_function(ids, state)(ids, state)}
    except Exception as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        return {"error": {**error_record(error), "message": shorten(lines[-1] if lines else "", 300)}}


def sampling_step(sampling_step, inputs):
    """sampling_step from the drawn state (eagerly and compiled), then carried from zeros over the prefix."""
    layers = reference_layers(inputs["weights"])  # Keras' own layers with the drawn weights
    ids, state = tf.constant(inputs["ids"], tf.int32), [tf.constant(inputs[k], tf.float32) for k in "hc"]
    given = _outcome(sampling_step, *layers, ids, state)
    if "error" in given:
        return {"given": given}
    compiled = _traced(sampling_step, layers, ids, state)
    prefix = np.asarray(inputs["prefix"])
    state, sequence = [tf.zeros(np.shape(inputs["h"]))] * 2, []
    for t in range(prefix.shape[1]):
        sequence.append(_outcome(sampling_step, *layers, tf.constant(prefix[:, t], tf.int32), state))
        returned = sequence[-1].get("returned")
        if not (isinstance(returned, (tuple, list)) and len(returned) == 2):
            break
        state = returned[1]
    return {"given": given, "compiled": compiled, "sequence": sequence}


# ---------------------------------------------------------------- 3.6 generate_text
class ToyStep:
    """A stand-in for `music.ModelStep`: (char_ids, state) -> (logits, state), state = [calls, last id].

    The logits are row `char_id` of a fixed table, rolled by the number of calls the state has
    seen, so they depend both on the character fed and on the state carried.
    """

    def __init__(self, table):
        self.table = tf.constant(table, tf.float32)

    def initial_state(self, batch_size):
        zeros = tf.zeros((batch_size, 1))
        return [zeros, zeros]

    def __call__(self, char_ids, state):
        ids = tf.convert_to_tensor(char_ids)
        if ids.shape.rank != 1:
            raise ValueError(f"step takes char_ids of shape (batch,), one id per row; found shape {ids.shape}")
        calls = state[0] + 1
        logits = tf.roll(tf.gather(self.table, ids), shift=tf.cast(calls[0, 0], tf.int32), axis=1)
        return logits, [calls, tf.cast(ids[:, None], tf.float32)]


def generate_text(generate_text, inputs):
    """generate_text on a ToyStep for each drawn (start, length, temperature)."""
    idx2char = np.array(inputs["idx2char"])
    char2idx = {char: index for index, char in enumerate(inputs["idx2char"])}
    returned = [attempt(generate_text, ToyStep(inputs["table"]), run["start"], run["length"], run["temperature"],
                        char2idx, idx2char) for run in inputs["runs"]]
    return {"returned": returned, "kinds": [_kind(r) for r in returned]}


# ---------------------------------------------------------------- the checks the notebook calls
lab = Lab("03")

check_vectorize_string = lab.exercise("3.1", probe=vectorize_string)
check_get_batch = lab.exercise("3.2", probe=get_batch)
check_build_model = lab.exercise("3.3", probe=build_model)
check_compute_loss = lab.exercise("3.4", probe=compute_loss)
check_train_step = lab.exercise("3.5", probe=train_step)
check_sampling_step = lab.exercise("3.6a", probe=sampling_step)
check_generate_text = lab.exercise("3.6", probe=generate_text)
