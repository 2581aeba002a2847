"""Lab 05's probes: they call the learner's code on the given inputs and return plain data.

Each learner call is recorded as {"value": ...} or {"error": record}, so that a failure on one
size, or only when compiled, is judged in its place rather than hiding the other results.
"""

import tensorflow as tf

from labhelpers.grading import attempt, error_record


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
