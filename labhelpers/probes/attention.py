"""Lab 05's probes: they call the learner's code on the given inputs and return plain data.

Each learner call is recorded as {"value": ...} or {"error": record}, so that a failure on one
size, or only when compiled, is judged in its place rather than hiding the other results.
"""

import keras
import numpy as np
import tensorflow as tf

from labhelpers.grading import Lab, attempt, error_record


def _run(function, *args):
    """function(*args) as {"value": what it returned}, or {"error": its error record}."""
    try:
        return {"value": function(*args)}
    except Exception as error:  # the learner's code raised: judged as such
        return {"error": error_record(error)}


def _unknown_sizes(tensor):
    """A TensorSpec with every axis unknown but the depth (the last axis of a 3-axis tensor)."""
    shape = [None] * tensor.shape.rank
    if tensor.shape.rank == 3:
        shape[-1] = tensor.shape[-1]
    return tf.TensorSpec(shape, tensor.dtype)


def _compiled(function, tensors):
    """function traced by tf.function with batch and lengths unknown, as model.fit runs it."""
    specs = [_unknown_sizes(tensor) for tensor in tensors]
    return _run(lambda: tf.function(function).get_concrete_function(*specs)(*tensors))


def gradients(function, tensors, cotangents, variables=()):
    """Gradients of sum(output * cotangent) over both outputs, for the float tensors and `variables`.

    The judges compute their references with it too, through Keras' layers.
    """
    watched = [t for t in tensors if t.dtype.is_floating]
    with tf.GradientTape() as tape:
        tape.watch(watched)
        outputs = function(*tensors)
        loss = sum(tf.reduce_sum(tf.cast(output, tf.float64) * cotangent)
                   for output, cotangent in zip(outputs, cotangents))
    return tape.gradient(loss, [*watched, *variables])


def _tensors(case, names):
    return [tf.constant(case[name]) for name in names]


def decoder_inputs(make_decoder_inputs, inputs):
    """make_decoder_inputs(targets, start_id) on each drawn batch: what it returned, and the targets after."""
    cases = []
    for case in inputs["cases"]:
        targets = case["targets"].copy()
        returned = attempt(make_decoder_inputs, targets, case["start_id"])
        cases.append({"returned": returned, "targets_after": targets})
    return {"cases": cases}


def attention(scaled_dot_product_attention, inputs):
    """The function on each drawn case: eagerly, compiled, and its gradients."""
    cases = []
    for case in inputs["cases"]:
        tensors = _tensors(case, ("queries", "keys", "values", "mask"))
        cases.append({"returned": _run(scaled_dot_product_attention, *tensors),
                      "compiled": _compiled(scaled_dot_product_attention, tensors),
                      "gradients": _run(gradients, scaled_dot_product_attention, tensors, case["cotangents"])})
    return {"cases": cases}


def luong(layer_class, inputs):
    """A layer per drawn case, its weights set from the drawn values by shape, then called."""
    return {"cases": [_luong_case(layer_class, case) for case in inputs["cases"]]}


def _luong_case(layer_class, case):
    tensors = _tensors(case, ("decoder_states", "encoder_states", "source_mask"))
    layer = attempt(layer_class, case["units"])
    built = _run(layer, *tensors)
    if "error" in built:
        return built
    for weight in layer.weights:
        value = case["weights_by_shape"].get("x".join(str(n) for n in weight.shape))
        if value is not None:
            weight.assign(value.astype(weight.dtype))
    trainable = list(layer.trainable_weights)
    return {"weight_shapes": [list(w.shape) for w in layer.weights],
            "trainable_shapes": [list(w.shape) for w in trainable],
            "returned": _run(layer, *tensors),
            "compiled": _compiled(layer, tensors),
            "gradients": _run(gradients, layer, tensors, case["cotangents"], trainable)}


# ---------------------------------------------------------------- 5.3 greedy decoding


class DrawnEncoder(keras.layers.Layer):
    """The notebook's Encoder, small: source ids -> (encoder states, [h, c], source mask)."""

    def __init__(self, case, **kwargs):
        super().__init__(**kwargs)
        self.embedding = keras.layers.Embedding(*case["encoder"][0].shape)
        self.lstm = keras.layers.LSTM(case["units"], return_sequences=True, return_state=True)

    def call(self, source):
        source_mask = keras.ops.not_equal(source, 0)
        encoder_states, h, c = self.lstm(self.embedding(source), mask=source_mask)
        return encoder_states, [h, c], source_mask


class DrawnDecoder(keras.layers.Layer):
    """The notebook's Decoder, small: (previous ids, [h, c], encoder states, mask) -> (logits, [h, c], weights).

    With `attends`, the output layer reads [context; state], the context from dot-product attention.
    """

    def __init__(self, case, **kwargs):
        super().__init__(**kwargs)
        self.embedding = keras.layers.Embedding(*case["decoder"][0].shape)
        self.lstm = keras.layers.LSTM(case["units"], return_sequences=True, return_state=True)
        self.attention = keras.layers.Attention() if case["attends"] else None
        self.output_layer = keras.layers.Dense(case["decoder"][-1].shape[0])

    def call(self, previous, state, encoder_states, source_mask):
        decoder_states, h, c = self.lstm(self.embedding(previous), initial_state=state)
        weights = None
        if self.attention is not None:
            context, weights = self.attention([decoder_states, encoder_states], mask=[None, source_mask],
                                              return_attention_scores=True)
            decoder_states = keras.ops.concatenate([context, decoder_states], axis=-1)
        return self.output_layer(decoder_states), [h, c], weights


class DrawnTranslator:
    """A translator with the notebook's interface (`encoder`, `decoder`) and the drawn weights."""

    def __init__(self, case):
        self.encoder, self.decoder = DrawnEncoder(case), DrawnDecoder(case)
        sources = case["sources"]
        encoder_states, state, source_mask = self.encoder(sources)
        self.decoder(np.zeros((len(sources), 1), "int32"), state, encoder_states, source_mask)
        self.encoder.embedding.set_weights(case["encoder"][:1])
        self.encoder.lstm.set_weights(case["encoder"][1:])
        self.decoder.embedding.set_weights(case["decoder"][:1])
        self.decoder.lstm.set_weights(case["decoder"][1:4])
        self.decoder.output_layer.set_weights(case["decoder"][4:])


def greedy(greedy_decode, inputs):
    """greedy_decode on a drawn translator per case; the first case twice (greedy is deterministic)."""
    cases = []
    for number, case in enumerate(inputs["cases"]):
        model = DrawnTranslator(case)
        run = lambda: attempt(greedy_decode, model, case["sources"].copy(), case["start_id"],  # noqa: E731
                              case["max_length"])
        cases.append({"returned": run(), **({"again": run()} if number == 0 else {})})
    return {"cases": cases}


# ---------------------------------------------------------------- the checks the notebook calls
lab = Lab("05")
ATTENTION_LAYERS = ("keras.layers.Attention.call", "keras.layers.MultiHeadAttention.call",
                    "keras.ops.dot_product_attention")  # attention, done for you

check_make_decoder_inputs = lab.exercise("5.2", probe=decoder_inputs)
check_greedy_decode = lab.exercise("5.3", probe=greedy)
check_scaled_dot_product_attention = lab.exercise("5.4", probe=attention, own_work=ATTENTION_LAYERS)
check_luong_attention = lab.exercise("5.5", probe=luong, own_work=ATTENTION_LAYERS)
