"""Lab 02's judges: how each exercise's inputs are drawn and its probe's data decided.

Imported by `grading.Exercise.judging` in a learner's kernel or in the grader's process; the
sandbox of `grade` hides this package from the kernel."""

from labhelpers.grading import judging
from labhelpers.judges.lstm import distance_judges, judges

_NO_PATH = ("the tape found no path from L to some of the states (their gradient is None): compute every "
            "step and L inside the `with tf.GradientTape()` block, each step from the state the previous "
            "one returned.")
_NO_TORCH_PATH = ("autograd found no path from L to some of the states: compute each step from the state the "
                  "previous one returned, with no `.detach()` or `torch.no_grad()` in between, and L from the last "
                  "output.")
_TRACED = ("JAX traced your function to differentiate or compile it: `float()`, `.item()`, NumPy and a Python "
           "`if` cannot read a traced value; keep every step in keras.ops or jax.numpy.")
# JAX's tracer errors, raised inside a Keras layer's call, reach the learner as Keras' attempt to re-raise them:
# AttributeError "'str' object has no attribute '_error_repr'".
_TRACER_ERRORS = {key: _TRACED for key in ("ConcretizationTypeError", "TracerArrayConversionError",
                                           "TracerBoolConversionError", "'_error_repr'")}
# Errors whose cause is known, keyed by a piece of the framework's message (TensorFlow, PyTorch, JAX).
_NO_PATH_HINTS = {
    "None values not supported": _NO_PATH, "Attempt to convert a value (None)": _NO_PATH,
    "appears to not have been used in the graph": _NO_TORCH_PATH,
    "does not require grad and does not have a grad_fn": _NO_TORCH_PATH,
    "only defined for scalar-output functions": "jax.grad differentiates a function that returns one number: "
                                                "sum ŷ_T into L before returning it.",
    **_TRACER_ERRORS,
    "but got NoneType": "a gradient is None: after `L.backward()` only the leaves of the graph (the weights) keep "
                        "their `.grad`, a state's stays None unless it called `retain_grad()`; "
                        "`torch.autograd.grad(L, states)` gives the states' gradients directly.",
}
_LSTM_HINTS = {
    "must match the size of tensor": "a shape mismatch inside a product often means `*` (elementwise) was used "
                                     "where a matrix product (`keras.ops.matmul` or `@`) was meant.",
    "modified inplace": "an in-place operation (a method ending in `_`, or `+=` on a tensor) changed a value that "
                        "autograd needs for the backward pass: write `c = c + ...` instead, or use keras.ops.",
    **_TRACER_ERRORS,
}

judging("2.1", draw=judges.draw_bptt, judge=judges.bptt, hints=_NO_PATH_HINTS)
judging("2.1b", draw=judges.draw_bptt, judge=distance_judges.weight_gradient_by_distance, hints=_NO_PATH_HINTS)
judging("2.2", draw=judges.draw_clip, judge=judges.clip, hints=_TRACER_ERRORS)
judging("2.4", draw=judges.draw_lstm, judge=judges.my_lstm_cell, hints=_LSTM_HINTS)
