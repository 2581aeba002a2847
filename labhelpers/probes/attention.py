"""Lab 05's probes: they call the learner's code on the given inputs and return plain data.

Each learner call is recorded as {"value": ...} or {"error": record}, so that a failure on one
size, or only when compiled, is judged in its place rather than hiding the other results. The probes
run on whichever Keras backend runs the notebook: they compile the learner's code as that backend's
model.fit does (tf.function, jax.jit; PyTorch runs it eagerly), take gradients through
labhelpers.autodiff, and record the backend's name, which only words the judges' hints.
"""

import keras
import numpy as np
from keras import ops

from labhelpers.autodiff import value_and_gradients
from labhelpers.backends import unrolls_eager_loops
from labhelpers.grading import Lab, attempt, error_record


def _run(function, *args):
    """function(*args) as {"value": what it returned}, or {"error": its error record}."""
    try:
        return {"value": function(*args)}
    except Exception as error:  # the learner's code raised: judged as such
        return {"error": error_record(error)}


def _compiled(function, tensors):
    """function (a learner's function or layer) compiled as model.fit compiles it on this backend, run
    on `tensors`; None on PyTorch, where model.fit and the notebook run the learner's code eagerly
    (PyTorch compiles nothing unless asked, with torch.compile): there eager is all there is to check."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        def unknown_sizes(tensor):  # every axis unknown but the depth (the last axis of a 3-axis tensor)
            shape = [None] * tensor.shape.rank
            if tensor.shape.rank == 3:
                shape[-1] = tensor.shape[-1]
            return tf.TensorSpec(shape, tensor.dtype)

        specs = [unknown_sizes(tensor) for tensor in tensors]  # batch and lengths unknown, as in model.fit
        return _run(lambda: tf.function(function).get_concrete_function(*specs)(*tensors))
    if backend == "jax":
        import jax

        if isinstance(function, keras.layers.Layer):  # a pure function of the weights, as model.fit runs it
            weights = ([v.value for v in function.trainable_variables],
                       [v.value for v in function.non_trainable_variables])
            return _run(lambda: jax.jit(function.stateless_call)(*weights, *tensors)[0])
        return _run(lambda: jax.jit(function)(*tensors))
    return None


def gradients(function, arrays, cotangents, variables=()):
    """Gradients of sum(output * cotangent) over both outputs: for the floating-point inputs among
    `arrays` (NumPy), then for `variables`; None for each where no gradient flows or the loss could
    not be differentiated. The judges compute their references with it too, through Keras' layers."""
    def run(*tensors):
        outputs = function(*tensors)
        loss = sum(ops.sum(ops.multiply(ops.cast(output, "float32"), np.asarray(cotangent, "float32")))
                   for output, cotangent in zip(outputs, cotangents))
        return loss, None

    floating = [np.issubdtype(np.asarray(a).dtype, np.floating) for a in arrays]
    _, _, weight_grads, input_grads = value_and_gradients(run, variables, arrays)
    input_grads = input_grads or [None] * len(arrays)
    return ([g for g, f in zip(input_grads, floating) if f]
            + (list(weight_grads) if weight_grads is not None else [None] * len(variables)))


def _tensors(case, names):
    """The drawn arrays as the backend's tensors, copied: a PyTorch tensor made from an array shares its
    memory, and an in-place operation in the learner's code must not change the inputs the judge reads."""
    return [ops.convert_to_tensor(np.array(case[name])) for name in names]


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
        names = ("queries", "keys", "values", "mask")
        tensors, arrays = _tensors(case, names), [case[name] for name in names]
        cases.append({"returned": _run(scaled_dot_product_attention, *tensors),
                      "compiled": _compiled(scaled_dot_product_attention, tensors),
                      "gradients": _run(gradients, scaled_dot_product_attention, arrays, case["cotangents"])})
    return {"cases": cases, "backend": keras.backend.backend()}


def luong(layer_class, inputs):
    """A layer per drawn case, its weights set from the drawn values by shape, then called."""
    return {"cases": [_luong_case(layer_class, case) for case in inputs["cases"]], "backend": keras.backend.backend()}


def _luong_case(layer_class, case):
    names = ("decoder_states", "encoder_states", "source_mask")
    tensors, arrays = _tensors(case, names), [case[name] for name in names]
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
            "gradients": _run(gradients, layer, arrays, case["cotangents"], trainable)}


# ---------------------------------------------------------------- 5.3 greedy decoding


class DrawnEncoder(keras.layers.Layer):
    """The notebook's Encoder, small: source ids -> (encoder states, [h, c], source mask)."""

    def __init__(self, case, **kwargs):
        super().__init__(**kwargs)
        self.embedding = keras.layers.Embedding(*case["encoder"][0].shape)
        self.lstm = keras.layers.LSTM(case["units"], return_sequences=True, return_state=True,
                                      unroll=unrolls_eager_loops())
        self.embedding.build((None, None))
        self.lstm.build((None, None, case["encoder"][0].shape[1]))
        self.built = True

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
        self.lstm = keras.layers.LSTM(case["units"], return_sequences=True, return_state=True,
                                      unroll=unrolls_eager_loops())
        self.attention = keras.layers.Attention() if case["attends"] else None
        self.output_layer = keras.layers.Dense(case["decoder"][-1].shape[0])
        units = case["units"]
        self.embedding.build((None, None))
        self.lstm.build((None, None, case["decoder"][0].shape[1]))
        if self.attention is not None:
            self.attention.build([(None, None, units), (None, None, units)])
        self.output_layer.build((None, None, 2 * units if self.attention is not None else units))
        self.built = True

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
        self.encoder, self.decoder = DrawnEncoder(case), DrawnDecoder(case)  # built from the case's shapes
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
