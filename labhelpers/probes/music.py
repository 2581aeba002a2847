"""Lab 03's probes: they call the learner's code on the given inputs and return plain data.

The models and the sampling step that the learner's code is run on (`training_model`, Keras' layers
for 3.6a, `ToyStep`) are built here from the drawn weights; what they compute is decided by the
judges' references. They run on any Keras backend and record which (`backend`), for the judges'
wording: gradients through labhelpers.autodiff, a step compiled as the lab compiles it there
(tf.function, jax.jit; PyTorch runs it eagerly, under torch.no_grad() where the lab samples).
"""

from __future__ import annotations

import contextlib

import keras
import numpy as np

from labhelpers.autodiff import value_and_gradients
from labhelpers.backends import unrolls_eager_loops
from labhelpers.grading import Lab, LearnerError, attempt, error_record, shorten


@contextlib.contextmanager
def _unrolled(model):
    """The learner's recurrent layers unrolled while the probe calls the model (see
    backends.unrolls_eager_loops), as they were after."""
    layers = [layer for layer in model._flatten_layers(include_self=True, recursive=True)
              if isinstance(layer, keras.layers.RNN)] if unrolls_eager_loops() else []
    saved = [layer.unroll for layer in layers]
    for layer in layers:
        layer.unroll = True
    try:
        yield
    finally:
        for layer, unroll in zip(layers, saved):
            layer.unroll = unroll


def reference_layers(weights: dict):
    """Keras' Embedding, LSTM (return_sequences) and Dense, built with the given weights."""
    vocab, embedding = np.shape(weights["embedding"][0])
    units = np.shape(weights["lstm"][1])[0]
    layers = (keras.layers.Embedding(vocab, embedding),
              keras.layers.LSTM(units, return_sequences=True, unroll=unrolls_eager_loops()),
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


def _tensor(values, dtype):
    return keras.ops.convert_to_tensor(np.asarray(values), dtype)


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
        with _unrolled(model):
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
    """compute_loss(labels, logits) on each case, and the gradient of what it returned (None where the backend
    cannot differentiate it: not a floating-point scalar, or computed outside the backend's graph)."""
    results = []
    for case in inputs["cases"]:
        labels = np.asarray(case["labels"]) if case["numpy_labels"] else _tensor(case["labels"], "int32")

        def run(logits):
            loss = compute_loss(labels, logits)
            return loss, loss

        _, loss, _, gradients = attempt(value_and_gradients, run, (), [np.asarray(case["logits"], "float32")])
        results.append({"returned": loss, "kind": _kind(loss), "gradient": gradients and gradients[0]})
    return {"backend": keras.backend.backend(), "cases": results}


# ---------------------------------------------------------------- 3.5 train_step
def _executing_eagerly() -> bool:
    """Whether TensorFlow runs op by op here (not inside a tf.function); elsewhere True (see train_step)."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.executing_eagerly()
    return True


class ModeScale(keras.layers.Layer):
    """Multiplies by one factor in training mode and by another otherwise; counts its calls (a compiled step
    calls it once, when it is traced) and those run eagerly on TensorFlow."""

    def __init__(self, training_scale, inference_scale, **kwargs):
        super().__init__(**kwargs)
        self.training_scale, self.inference_scale = training_scale, inference_scale
        self.calls = self.eager_calls = 0

    def call(self, inputs, training=False):
        self.calls += 1
        self.eager_calls += int(_executing_eagerly())
        return inputs * (self.training_scale if training else self.inference_scale)


def training_model(case) -> tuple[keras.Model, ModeScale]:
    """Embedding -> LSTM -> ModeScale -> Dense with the drawn weights."""
    scale = ModeScale(case["training_scale"], case["inference_scale"])
    vocab, embedding, units = case["sizes"]
    model = keras.Sequential([keras.Input((None,), dtype="int32"), keras.layers.Embedding(vocab, embedding),
                              keras.layers.LSTM(units, return_sequences=True), scale, keras.layers.Dense(vocab)])
    model.set_weights([np.asarray(w) for w in case["weights"]])
    scale.calls = scale.eager_calls = 0
    return model, scale


def _weights(model) -> list[np.ndarray]:
    return [np.asarray(w) for w in model.get_weights()]


def train_step(train_step, inputs):
    """train_step on a fresh model and SGD optimizer per case: the loss returned and the weights after it.

    On TensorFlow one call, and whether it is a tf.function that never ran the model eagerly. On JAX and
    PyTorch a second call on the same model and batch too (`then`): PyTorch adds each step's gradient to
    the .grad left by the step before unless they are cleared, and a step compiled with jax.jit traces the
    model once, at the first call, so a second call that runs the model again was not compiled."""
    backend = keras.backend.backend()
    results, traced_once = [], []
    for case in inputs["cases"]:
        model, scale = training_model(case)
        optimizer = keras.optimizers.SGD(case["learning_rate"])
        optimizer.build(model.trainable_variables)
        x, y = (_tensor(case[k], "int32") for k in ("x", "y"))
        loss = attempt(train_step, model, optimizer, x, y)
        result = {"returned": loss, "kind": _kind(loss), "weights": _weights(model), "eager_calls": scale.eager_calls}
        if backend != "tensorflow":
            first = scale.calls
            again = attempt(train_step, model, optimizer, x, y)
            result["then"] = {"returned": again, "kind": _kind(again), "weights": _weights(model)}
            traced_once.append(0 < first == scale.calls)
        results.append(result)
    compiled = {"tensorflow": hasattr(train_step, "get_concrete_function"), "jax": all(traced_once)}.get(backend, True)
    return {"backend": backend, "compiled": compiled, "cases": results}


# ---------------------------------------------------------------- 3.6a sampling_step
def _compiled_call(sampling_step, layers, ids, state):
    """The step called once compiled as music.ModelStep and music.Sampler run it: traced into a tf.function's
    graph, jitted by jax.jit with the layers' weights passed in, or on PyTorch under torch.no_grad().

    A concrete function traced anew at each check does not trip TensorFlow's retracing warning.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        graph = tf.function(lambda i, s: sampling_step(*layers, i, s))
        return graph.get_concrete_function(ids, state)(ids, state)
    if backend == "jax":
        import jax

        variables = [v for layer in layers for v in layer.variables]

        def pure(values, i, s):
            with keras.StatelessScope(state_mapping=list(zip(variables, values))):
                return sampling_step(*layers, i, s)

        return jax.jit(pure)([v.value for v in variables], ids, state)
    import torch

    with torch.no_grad():
        return sampling_step(*layers, ids, state)


def _compiled(sampling_step, layers, ids, state):
    """{"returned": ...} or {"error": ...} of `_compiled_call`. An error keeps its last line: the learner's own
    error, below TensorFlow's "in user code" trace or JAX's notes on tracing."""
    try:
        return {"returned": _compiled_call(sampling_step, layers, ids, state)}
    except Exception as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip() and not line.startswith("---")]
        last = lines[-1] if keras.backend.backend() == "tensorflow" else next(
            (line for line in lines if not line.lower().startswith(("see ", "the error occurred", "this "))), "")
        return {"error": {**error_record(error), "message": shorten(last if lines else "", 300)}}


def sampling_step(sampling_step, inputs):
    """sampling_step from the drawn state (eagerly and compiled), then carried from zeros over the prefix."""
    layers = reference_layers(inputs["weights"])  # Keras' own layers with the drawn weights
    ids, state = _tensor(inputs["ids"], "int32"), [_tensor(inputs[k], "float32") for k in "hc"]
    given = _outcome(sampling_step, *layers, ids, state)
    if "error" in given:
        return {"backend": keras.backend.backend(), "given": given}
    compiled = _compiled(sampling_step, layers, ids, state)
    prefix = np.asarray(inputs["prefix"])
    state, sequence = [keras.ops.zeros(np.shape(inputs["h"]))] * 2, []
    for t in range(prefix.shape[1]):
        sequence.append(_outcome(sampling_step, *layers, _tensor(prefix[:, t], "int32"), state))
        returned = sequence[-1].get("returned")
        if not (isinstance(returned, (tuple, list)) and len(returned) == 2):
            break
        state = returned[1]
    return {"backend": keras.backend.backend(), "given": given, "compiled": compiled, "sequence": sequence}


# ---------------------------------------------------------------- 3.6 generate_text
class ToyStep:
    """A stand-in for `music.ModelStep`: (char_ids, state) -> (logits, state), state = [calls, last id].

    The logits are row `char_id` of a fixed table, rolled by the number of calls the state has
    seen, so they depend both on the character fed and on the state carried.
    """

    def __init__(self, table):
        self.table = np.asarray(table, "float32")

    def initial_state(self, batch_size):
        zeros = keras.ops.zeros((batch_size, 1))
        return [zeros, zeros]

    def __call__(self, char_ids, state):
        ids = keras.ops.convert_to_numpy(char_ids)
        if ids.ndim != 1:
            raise ValueError(f"step takes char_ids of shape (batch,), one id per row; found shape {ids.shape}")
        calls = keras.ops.convert_to_numpy(state[0]) + 1
        logits = np.roll(self.table[ids.astype("int64")], shift=int(calls[0, 0]), axis=1)
        return keras.ops.convert_to_tensor(logits), [keras.ops.convert_to_tensor(calls),
                                                     keras.ops.convert_to_tensor(ids[:, None].astype("float32"))]


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
