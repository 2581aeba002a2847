"""Gradients of a learner's code on whichever Keras backend runs it, handed back as NumPy.

The probes call the learner's code and differentiate what it computed; how a gradient is taken is
the one thing that differs by backend (a tf.GradientTape; jax.grad, with Keras variables read through
a StatelessScope; torch.autograd.grad after an eager run). `value_and_gradients` hides that:

    aux, loss, weight_grads, input_grads = value_and_gradients(run, cell.trainable_weights, [x])

where `run(*inputs)` gets the inputs as the backend's tensors and returns (a scalar loss, anything
else to keep). A gradient is None where the loss is not a floating-point scalar the backend could
differentiate (an integer, a NumPy value, code that left the backend's graph); on TensorFlow and
PyTorch it is also None for a weight or input the loss does not depend on (JAX gives zeros there).
On JAX the function runs twice: once as written (aux and loss are those values), once traced.
"""

from __future__ import annotations

import keras
import numpy as np

from labhelpers.backends import to_numpy


def _floating_scalar(value) -> bool:
    dtype = getattr(value, "dtype", None)
    return (dtype is not None and "float" in keras.backend.standardize_dtype(dtype)
            and tuple(getattr(value, "shape", (0,))) == ())


def value_and_gradients(run, variables=(), inputs=()):
    """(aux, loss, d loss / d variables, d loss / d inputs) of `run(*inputs) -> (loss, aux)`, see above."""
    variables, inputs = list(variables), [np.asarray(i) for i in inputs]
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _tensorflow(run, variables, inputs)
    if backend == "jax":
        return _jax(run, variables, inputs)
    if backend == "torch":
        return _torch(run, variables, inputs)
    raise NotImplementedError(f"no gradients on Keras' {backend} backend")


def _numpy(grads):
    return None if grads is None else [None if g is None else to_numpy(g) for g in grads]


def _tensorflow(run, variables, inputs):
    import tensorflow as tf

    tensors = [tf.constant(i) for i in inputs]
    with tf.GradientTape(persistent=False) as tape:
        tape.watch([t for t in tensors if t.dtype.is_floating])
        loss, aux = run(*tensors)
    if not (tf.is_tensor(loss) and _floating_scalar(loss)):
        return aux, loss, None, None
    grads = tape.gradient(loss, [variables, tensors])
    return aux, loss, _numpy(grads[0]), _numpy(grads[1])


def _jax(run, variables, inputs):
    import jax

    loss, aux = run(*[jax.numpy.asarray(i) for i in inputs])
    if not (isinstance(loss, jax.Array) and _floating_scalar(loss)):
        return aux, loss, None, None
    floating = [np.issubdtype(i.dtype, np.floating) for i in inputs]

    def traced(values, float_inputs):
        given = iter(float_inputs)
        arguments = [next(given) if f else jax.numpy.asarray(i) for f, i in zip(floating, inputs)]
        with keras.StatelessScope(state_mapping=list(zip(variables, values))):
            return run(*arguments)[0]

    try:
        weight_grads, input_grads = jax.grad(traced, argnums=(0, 1))(
            [v.value for v in variables], [jax.numpy.asarray(i) for i, f in zip(inputs, floating) if f])
    except (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError, TypeError):
        return aux, loss, None, None  # the code left JAX's trace (float(), np.asarray, .item())
    given = iter(input_grads)
    return aux, loss, _numpy(weight_grads), [to_numpy(next(given)) if f else None for f in floating]


def _torch(run, variables, inputs):
    import torch

    tensors = [torch.tensor(i, requires_grad=bool(np.issubdtype(i.dtype, np.floating))) for i in inputs]
    loss, aux = run(*tensors)
    if not (isinstance(loss, torch.Tensor) and _floating_scalar(loss) and loss.requires_grad):
        return aux, loss, None, None
    sources = [v.value for v in variables] + [t for t in tensors if t.requires_grad]
    grads = list(torch.autograd.grad(loss, sources, allow_unused=True))
    weight_grads, float_grads = grads[:len(variables)], iter(grads[len(variables):])
    return aux, loss, _numpy(weight_grads), [_numpy([next(float_grads)])[0] if t.requires_grad else None
                                            for t in tensors]
