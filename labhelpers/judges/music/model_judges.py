"""Lab 03's judges for the model exercises: 3.3 build_model and 3.5 train_step.

The reference is Keras' Embedding -> LSTM -> Dense computed in NumPy with the drawn weights (reference.py,
checked against Keras' own layers in tests/test_music.py), forward and backward.
"""

from __future__ import annotations

import numpy as np

from labhelpers import backends
from labhelpers.grading import CheckFailed, found_as_array, matching_mistake
from labhelpers.judges.music import reference
from labhelpers.judges.music.judges import backend_of, first_difference, found_kind, log_softmax, records

WEIGHT_NAMES = ["Embedding", "LSTM kernel", "LSTM recurrent kernel", "LSTM bias", "Dense kernel", "Dense bias"]


def draw_weights(rng, vocab, embedding, units) -> dict:
    """Random weights, none zero, for Embedding(vocab, embedding) -> LSTM(units) -> Dense(vocab)."""

    def normal(shape, fan_in=1):
        return (rng.normal(size=shape) / np.sqrt(fan_in)).astype("float32")

    return {"embedding": [normal((vocab, embedding))],
            "lstm": [normal((embedding, 4 * units), embedding), normal((units, 4 * units), units),
                     normal((4 * units,)) / 2],
            "dense": [normal((units, vocab), units), normal((vocab,)) / 2]}


# ---------------------------------------------------------------- 3.3 build_model
MODEL_SIZES = [(31, 5, 9, 3, 11), (24, 11, 7, 2, 8), (40, 7, 13, 2, 6)]  # vocab, embedding, units, batch, steps


OUTSIDE_THE_TABLE = ("a character index falls outside the Embedding's table: its first argument is the number of "
                     "rows, vocab_size, one per character.")
MODEL_HINTS = {
    "is not in [0": OUTSIDE_THE_TABLE,  # TensorFlow
    "index out of range in self": OUTSIDE_THE_TABLE,  # PyTorch (JAX clamps the index: the layers' shapes tell)
    "positional argument": "build_model takes four arguments: vocab_size, embedding_dim, rnn_units and "
    "dropout=0.0, the share of the LSTM's outputs its Dropout layer drops.",
}


def draw_model(rng):
    """Three sizes: the default dropout, a low and a high dropout rate; random weights and tokens."""
    rates = [None, float(rng.uniform(0.2, 0.35)), float(rng.uniform(0.55, 0.7))]
    return {"cases": [{"vocab_size": v, "embedding_dim": e, "rnn_units": u, "dropout": rate, "training_calls": 3,
                       "tokens": rng.integers(0, v, size=(b, t)), "weights": draw_weights(rng, v, e, u)}
                      for (v, e, u, b, t), rate in zip(MODEL_SIZES, rates)]}


def _call(case) -> str:
    rate = "" if case["dropout"] is None else f", {case['dropout']:.2f}"
    return f"build_model({case['vocab_size']}, {case['embedding_dim']}, {case['rnn_units']}{rate})"


def _layer_diagnosis(case, layers) -> str | None:
    v, e, u = case["vocab_size"], case["embedding_dim"], case["rnn_units"]
    shapes = {layer["type"]: layer["shapes"] for layer in layers if layer["shapes"]}
    recurrent = [t for t in shapes if t in ("SimpleRNN", "GRU", "RNN", "Bidirectional")]
    if recurrent and "LSTM" not in shapes:
        return f"the recurrent layer is a {recurrent[0]}, not an LSTM"
    if shapes.get("Embedding") == [[e, v]]:
        return "the Embedding's arguments are swapped: its table must have one row per character"
    if shapes.get("Embedding") == [[v, u]] and (shapes.get("LSTM") or [[0]])[0] == [u, 4 * e]:
        return "embedding_dim and rnn_units are swapped"
    if "Dense" in shapes and shapes["Dense"][0][-1] != v:
        return f"the Dense layer has {shapes['Dense'][0][-1]} units, not vocab_size = {v}"
    if "LSTM" in shapes and shapes["LSTM"][0][-1] != 4 * u:
        return f"the LSTM has {shapes['LSTM'][0][-1] // 4} units, not rnn_units = {u}"
    return None


def _judge_layers(case, found) -> None:
    layers = found["layers"]
    placed = {layer["placed"] for layer in layers}
    extra = [layer["type"] for layer in layers if layer["shapes"] and not layer["placed"]]
    if placed >= {"embedding", "lstm", "dense"} and not extra:
        return
    v, e, u = case["vocab_size"], case["embedding_dim"], case["rnn_units"]
    described = "; ".join(f"{layer['type']} {[tuple(s) for s in layer['shapes']]}"
                          for layer in layers if layer["shapes"])
    diagnosis = _layer_diagnosis(case, layers)
    if diagnosis is None and extra and placed >= {"embedding", "lstm", "dense"}:
        diagnosis = f"an extra layer with weights: {', '.join(extra)}"
    raise CheckFailed(f"{_call(case)} does not have the layers of Embedding -> LSTM -> Dropout -> Dense",
                      expected=f"weights Embedding ({v}, {e}); LSTM ({e}, {4 * u}), ({u}, {4 * u}), ({4 * u},); "
                      f"Dense ({u}, {v}), ({v},)",
                      found=(f"{diagnosis}. Layers with weights: " if diagnosis else "") + (described or "none"),
                      hint="Embedding(vocab_size, embedding_dim), LSTM(rnn_units, return_sequences=True), "
                      "Dropout(dropout), Dense(vocab_size).")


def _outputs(case, values, what) -> list[np.ndarray]:
    shape = case["tokens"].shape + (case["vocab_size"],)
    hint = "the LSTM needs return_sequences=True, and the Dense layer has vocab_size units."
    arrays = []
    for value in values:
        found = found_as_array(value, f"the output of {what}", f"logits of shape {shape}", hint)
        if found.shape != shape:
            single = found.shape == (shape[0], shape[2])
            raise CheckFailed(f"the output of {what} has the wrong shape",
                              expected=f"{shape}: logits for every character at every step",
                              found=f"{found.shape}" + (": one output per sequence" if single else ""), hint=hint)
        arrays.append(found)
    return arrays


def _judge_inference(case, found, logits) -> None:
    model = _call(case)
    default, *inference = _outputs(case, [found["default"], *found["inference"]], f"{model} called on tokens")
    if not np.allclose(inference[0], inference[1], atol=1e-5):
        raise CheckFailed(f"{model} gives different outputs for the same input when not training",
                          expected="dropout only while training (training=True)", found="random outputs at inference",
                          hint="use keras.layers.Dropout, which acts only when the model is called with training=True.")
    if not np.allclose(inference[0], logits, atol=1e-4):
        mistakes = {"the Dense layer has a softmax: the model returns probabilities, not logits":
                    np.exp(log_softmax(logits)),
                    "the Dense layer has a ReLU activation: logits can be negative": np.maximum(logits, 0),
                    "the Dense layer has a sigmoid activation": 1 / (1 + np.exp(-logits)),
                    "the Dense layer has a tanh activation": np.tanh(logits)}
        diagnosis = matching_mistake(inference[0], mistakes)
        b, t, _ = first_difference(inference[0], logits)
        raise CheckFailed(f"{model} with the check's weights differs from Keras' Embedding -> LSTM -> Dense",
                          expected="logits: the Dense layer's output with no activation",
                          found=diagnosis or f"other values from time step {t} of sequence {b} on "
                          f"(max |diff| {np.abs(inference[0] - logits).max():.3g})",
                          hint="three layers with weights, in this order, and a Dropout layer with no weights; "
                          "the last Dense layer has no activation.")
    if not np.allclose(default, inference[0], atol=1e-5):
        raise CheckFailed(f"{model} gives other outputs when not training if called as model(tokens), without "
                          "`training`", expected="the logits of training=False", found="other values, as if a layer "
                          "forced training=True", hint="let Keras decide the mode: do not pass training=True inside "
                          "the model.")


def _dense_inputs(z, h, dense) -> np.ndarray:
    """What the Dense layer received, as a multiple of the LSTM's outputs h (where h is clear of 0)."""
    kernel, bias = dense
    received = (z - bias) @ np.linalg.pinv(kernel)
    clear = np.abs(h) > 0.05
    return received[clear] / h[clear]


def _dropout_pattern(z, h, dense) -> tuple[int, int, float | None] | None:
    """(LSTM outputs dropped, outputs looked at, scale of the others or None if all were dropped) if
    z = Dense(mask * h * scale), else None."""
    ratio = _dense_inputs(z, h, dense)
    dropped = np.abs(ratio) < 0.02
    scale = float(np.median(ratio[~dropped])) if (~dropped).any() else None
    if (dropped | (np.abs(ratio / (scale or 1.0) - 1) < 0.02)).mean() < 0.99:
        return None
    return int(dropped.sum()), int(dropped.size), scale


SHARE_ALPHA = 4e-7  # a right answer's count of dropped outputs is rejected with at most this probability per case


def share_rejected(dropped: int, outputs: int, rate: float) -> bool:
    """Whether `dropped` of `outputs` is too few or too many for Binomial(outputs, rate): either exact tail at
    most SHARE_ALPHA / 2. So a right Dropout(rate), which drops each output independently with probability
    `rate`, is rejected with probability at most SHARE_ALPHA, whatever the number of outputs."""
    from scipy import stats

    low, high = stats.binom.cdf(dropped, outputs, rate), stats.binom.sf(dropped - 1, outputs, rate)
    return bool(min(low, high) <= SHARE_ALPHA / 2)


def _judge_training(case, found, h, logits) -> None:
    """Dropout of the case's rate on the LSTM's outputs, while training only.

    False-reject probability <= 8e-7 for the whole check (3.3), from exact binomial tails: in each of the 2
    cases with a dropout rate, the outputs dropped in the 3 training calls are Binomial(outputs, rate) for a
    right answer, and `share_rejected` rejects a count with probability <= SHARE_ALPHA = 4e-7; everything
    else judged here is exact (tests/test_check_error_rates.py recomputes it).
    """
    model, rate = _call(case), case["dropout"] or 0.0
    outputs = _outputs(case, found["training"], f"{model}(tokens, training=True)")
    dense = [np.asarray(w, "float64") for w in case["weights"]["dense"]]
    hint = "put keras.layers.Dropout(dropout) between the LSTM and the Dense layer, with build_model's `dropout`."
    if all(np.allclose(z, logits, atol=1e-4) for z in outputs):
        if rate == 0:
            return
        raise CheckFailed(f"dropout={rate:.2f} changed nothing while training", expected="a random share of the "
                          "LSTM's outputs dropped at each call with training=True", found="the outputs of inference",
                          hint=hint)
    patterns = [_dropout_pattern(z, h, dense) for z in outputs]
    expected = (f"each LSTM output zeroed with probability {rate:.2f}, the others scaled by 1 / (1 - {rate:.2f}), "
                "before the Dense layer")
    if None in patterns:
        on_logits = all(_ratio_mask(z, logits) for z in outputs)
        raise CheckFailed(f"while training, {model} does not drop the LSTM's outputs as dropout={rate:.2f} asks",
                          expected=expected, found="the logits themselves are dropped (Dropout after the Dense layer)"
                          if on_logits else "outputs that are not the LSTM's outputs with some of them dropped "
                          "(is the dropout inside the LSTM or before it?)", hint=hint)
    dropped, looked = sum(p[0] for p in patterns), sum(p[1] for p in patterns)
    scales = [p[2] for p in patterns if p[2] is not None]
    share = dropped / max(looked, 1)
    scale = float(np.mean(scales)) if scales else None
    implied = None if scale is None else 1 - 1 / scale
    if (implied is None or abs(implied - rate) < 0.02) and not share_rejected(dropped, looked, rate):
        return
    keep = abs(implied - (1 - rate)) < 0.02 if rate and implied is not None else share > 0.99
    found = (f"about {share:.0%} of the LSTM's outputs dropped" + ("" if share > 0.99 or scale is None else
             f" and the others scaled by {scale:.2f}, a rate of {implied:.2f}") +
             (": the rate is 1 - dropout (a keep probability), but Keras' Dropout takes the share dropped"
              if keep else ""))
    if rate == 0:
        raise CheckFailed(f"{model}, with dropout left at its default 0.0, drops outputs while training",
                          expected="no dropout when dropout=0.0", found=found, hint=hint)
    raise CheckFailed(f"while training, {model} drops the wrong share of the LSTM's outputs", expected=expected,
                      found=found, hint=hint)


def _ratio_mask(z, logits) -> bool:
    """Whether z is the logits with some of them zeroed and the others scaled by one factor."""
    clear = np.abs(logits) > 0.05
    ratio = z[clear] / logits[clear]
    dropped = np.abs(ratio) < 0.02
    if dropped.all():
        return False
    scale = np.median(ratio[~dropped])
    return bool((dropped | (np.abs(ratio / scale - 1) < 0.02)).mean() > 0.99)


def build_model(inputs, data):
    """Layers, logits and dropout of each case. False-reject probability <= 8e-7, from exact binomial tails
    (see `_judge_training`; tests/test_check_error_rates.py recomputes it)."""
    for case, found in zip(inputs["cases"], records(data, "cases", len(inputs["cases"]))):
        found = found if isinstance(found, dict) else {}
        if "not_a_model" in found:
            raise CheckFailed(f"{_call(case)} must return a Keras model", expected="a keras.Sequential",
                              found=found["not_a_model"], hint="return keras.Sequential([...]).")
        layers = found.get("layers")
        records(found, "layers", len(layers) if isinstance(layers, list) else -1, ("type", "shapes", "placed"))
        records(found, "inference", 2)
        records(found, "training", case["training_calls"])
        _judge_layers(case, found)
        h, _, _, _ = reference.lstm(case["weights"], case["tokens"])
        logits = reference.dense(case["weights"], h)
        _judge_inference(case, found, logits)
        _judge_training(case, found, h, logits)
    sizes = ", ".join(f"({c['vocab_size']}, {c['embedding_dim']}, {c['rnn_units']})" for c in inputs["cases"])
    return (f"equals Keras' Embedding -> LSTM -> Dense with the same weights for sizes {sizes}; logits, no "
            "activation; dropout of the given share on the LSTM's outputs only while training, none by default")


# ---------------------------------------------------------------- 3.5 train_step
STEP_SIZES = [(17, 5, 8, 3, 9), (12, 7, 6, 2, 6)]  # vocab, embedding, units, batch, steps


def draw_train_step(rng):
    """Two small models with random weights, random batches, an SGD learning rate and mode scales."""
    cases = []
    for v, e, u, b, t in STEP_SIZES:
        weights = draw_weights(rng, v, e, u)
        cases.append({"sizes": [v, e, u], "weights": [*weights["embedding"], *weights["lstm"], *weights["dense"]],
                      "x": rng.integers(0, v, size=(b, t)), "y": rng.integers(0, v, size=(b, t)),
                      "learning_rate": float(rng.uniform(0.3, 0.8)),
                      "training_scale": float(rng.uniform(1.5, 2.5)), "inference_scale": 1.0})
    return {"cases": cases}


def _loss_and_gradients(case, weights, scale, labels) -> tuple[float, list[np.ndarray]]:
    """Mean cross-entropy of `labels` under the model (LSTM outputs times `scale`), and its gradients."""
    grouped = {"embedding": weights[:1], "lstm": weights[1:4], "dense": weights[4:]}
    return reference.loss_and_gradients(grouped, case["x"], labels, scale)


# How the step is written on each backend, for the hints: differentiating, applying, compiling.
STEP_IDIOMS = {
    "tensorflow": ("under a tf.GradientTape, call the model with training=True, compute the loss from the labels y, "
                   "take its gradient with respect to model.trainable_variables and let the optimizer apply it; "
                   "return that loss."),
    "jax": ("in pure_train_step, take jax.value_and_grad of a function that runs model.stateless_call(trainable, "
            "non_trainable, x, training=True) and returns (the loss of the labels y, the new non_trainable); apply "
            "the gradients with optimizer.stateless_apply and return the loss and the new state."),
    "torch": ("call model.zero_grad(), compute the loss of model(x, training=True) from the labels y, call "
              "loss.backward(), and apply [w.value.grad for w in model.trainable_weights] with "
              "optimizer.apply(grads, model.trainable_weights) under torch.no_grad(); return that loss."),
}
NOT_COMPILED = {
    "tensorflow": ("a function decorated with @tf.function", "a plain Python function, run eagerly",
                   "put @tf.function on the line above `def train_step`."),
    "jax": ("a step compiled once by jax.jit and reused", "a step that runs the model again at every call: not "
            "compiled by jax.jit, or compiled anew at each call",
            "keep @partial(jax.jit, static_argnums=(0, 1)) on the line above `def pure_train_step`, and call that "
            "function itself from train_step."),
}


APPLY_HINTS = {
    "tensorflow": "let the optimizer apply the gradients to model.trainable_variables.",
    "jax": ("return the new state from pure_train_step, with the trainable values that optimizer.stateless_apply "
            "returned: a variable assigned inside jax.jit keeps its old value outside it."),
    "torch": ("after loss.backward(), apply [w.value.grad for w in model.trainable_weights] with "
              "optimizer.apply(grads, model.trainable_weights)."),
}


TRACED = ("inside jax.jit the values are tracers, not numbers: no float(), int(), .item(), np.asarray or NumPy "
          "functions on them; compute with keras.ops and return the loss array itself.")
# Errors of a wrong train_step, by what their message says (check 3.5's hints; describe_error puts them first).
TRAIN_STEP_HINTS = {
    "does not require grad and does not have a grad_fn": "the loss has no graph back to the weights: the forward pass "
    "ran under torch.no_grad(), or a tensor on the way was .detach()ed. Run model(x, training=True) and compute_loss "
    "with gradients recorded; only the optimizer's update goes under torch.no_grad().",
    "backward through the graph a second time": "call loss.backward() once per step, on the loss of this step's "
    "forward pass.",
    "Gradient only defined for scalar-output functions": "jax.grad and jax.value_and_grad differentiate a function "
    "that returns one number (with has_aux=True, the pair (number, extra)): return compute_loss's mean, not the "
    "per-character losses.",
    "Abstract tracer value encountered": TRACED,
    "was called on traced array": TRACED,
    "Encountered an unexpected tracer": "a value traced by jax.jit escaped it (assigned to a Keras variable inside "
    "pure_train_step?): return the new state instead; train_step writes it into the variables.",
    "is not a valid JAX type": "the model and the optimizer cannot be traced: compile pure_train_step with "
    "static_argnums=(0, 1), which keeps them as Python objects.",
}


def _step_variants(case, backend=backends.DEFAULT) -> dict:
    """name: (loss returned, weights after, hint) for the right step and for the common wrong ones."""
    w = [np.asarray(v, "float64") for v in case["weights"]]
    lr, train, infer = case["learning_rate"], case["training_scale"], case["inference_scale"]
    step = lambda grads, k=1.0: [v - k * lr * g for v, g in zip(w, grads)]  # noqa: E731
    loss, grads = _loss_and_gradients(case, w, train, case["y"])
    loss_inference, grads_inference = _loss_and_gradients(case, w, infer, case["y"])
    loss_x, grads_x = _loss_and_gradients(case, w, train, case["x"])
    after = step(grads)
    n = np.size(case["y"])
    before = "return the loss computed in the step, before the optimizer changes the weights."
    return {
        "right": (loss, after, ""),
        "the model is called in inference mode: without training=True, Keras turns dropout off during the step":
            (loss_inference, step(grads_inference), "call the model with training=True in the step."),
        "the loss compares the predictions with the inputs x instead of the labels y":
            (loss_x, step(grads_x), "the labels are y: the next character at every position."),
        "the weights move up the gradient (gradient ascent): the step must subtract it":
            (loss, step(grads, -1.0), "hand the optimizer the gradients themselves: it subtracts them."),
        "the gradient is applied twice": (loss, step(grads, 2.0), "apply the gradients once per step."),
        "the loss is summed over the characters, not averaged":
            (loss * n, step(grads, n), "compute_loss must average over the characters: run check 3.4."),
        "the loss returned is computed after the update, not before it":
            (_loss_and_gradients(case, after, train, case["y"])[0], after, before),
        "the loss returned is computed after the update, in inference mode":
            (_loss_and_gradients(case, after, infer, case["y"])[0], after, before),
        "the weights did not change: the optimizer never applied the gradients":
            (loss, w, APPLY_HINTS[backend]),
    }


def _same(found, expected) -> bool:
    return len(found) == len(expected) and all(
        f.shape == e.shape and np.allclose(f, e, atol=2e-5, rtol=1e-4) for f, e in zip(found, expected))


def _judge_step_case(case, result, backend) -> None:
    hint = STEP_IDIOMS[backend]
    value = found_as_array(result["returned"], "the value train_step returned", "the loss, one number", hint)
    if value.size != 1:
        raise CheckFailed("train_step must return the batch's loss", expected="one number",
                          found=f"{found_kind(result['returned'], result['kind'])} of shape {value.shape}", hint=hint)
    weights = [found_as_array(w, "a weight", "an array", hint) for w in result["weights"]]
    variants = _step_variants(case, backend)
    loss, after, _ = variants.pop("right")
    found_loss = float(value.reshape(()))
    loss_ok, weights_ok = np.isclose(found_loss, loss, rtol=1e-4, atol=1e-5), _same(weights, after)
    if loss_ok and weights_ok:
        return
    named = next(((name, tip) for name, (v, w, tip) in variants.items()
                  if np.isclose(found_loss, v, rtol=1e-4, atol=1e-5) and _same(weights, w)), None)
    stuck = [n for n, f, a, w0 in zip(WEIGHT_NAMES, weights, after, case["weights"])
             if not np.allclose(f, a, atol=2e-5) and np.allclose(f, w0, atol=1e-7)]
    if named is None and loss_ok and stuck:
        named = (f"these weights were not updated: {', '.join(stuck)}",
                 "take the gradient with respect to all of model.trainable_variables and apply it to all of them.")
    problem = ("the weights after one step differ from one SGD step on the gradient of the loss" if loss_ok
               else "the returned loss is not the loss of the batch before the step" if weights_ok
               else "the returned loss and the weights after the step both differ from one training step")
    diagnosis, tip = named or (f"loss {found_loss:.4f}" + ("" if weights_ok else ", and other weights"), hint)
    raise CheckFailed(problem, expected=f"loss {loss:.4f}, and each weight moved by -learning_rate * gradient",
                      found=diagnosis, hint=tip)


def _judge_second_step(case, result, backend) -> None:
    """The second step on the same model and batch (JAX, PyTorch): one SGD step from the weights after the first."""
    found = result.get("then")
    if not isinstance(found, dict) or not {"returned", "kind", "weights"} <= set(found):
        raise CheckFailed("the check did not get a result of your code for each of its test cases",
                          expected="two steps on each model", found="one", hint="run your answer's cell, then the "
                          "check cell as it is in the notebook.")
    hint = STEP_IDIOMS[backend]
    value = found_as_array(found["returned"], "the value the second train_step returned", "the loss, one number", hint)
    weights = [found_as_array(w, "a weight", "an array", hint) for w in found["weights"]]
    lr, train = case["learning_rate"], case["training_scale"]
    w0 = [np.asarray(v, "float64") for v in case["weights"]]
    _, first = _loss_and_gradients(case, w0, train, case["y"])
    after = [v - lr * g for v, g in zip(w0, first)]
    loss, grads = _loss_and_gradients(case, after, train, case["y"])
    expected = [v - lr * g for v, g in zip(after, grads)]
    loss_ok = value.size == 1 and np.isclose(float(value.reshape(())), loss, rtol=1e-4, atol=1e-5)
    if loss_ok and _same(weights, expected):
        return
    accumulated = [v - lr * (g1 + g2) for v, g1, g2 in zip(after, first, grads)]
    if _same(weights, accumulated):
        raise CheckFailed("the first step is right, but the second step on the same model is not",
                          expected="each step moved by the gradient of its own loss",
                          found="the gradients accumulate: the second step applied its gradient plus the first "
                          "step's, left in each weight's .grad" + (" (model.zero_grad() is missing)"
                                                                   if backend == "torch" else ""),
                          hint="clear the gradients at the start of every step: model.zero_grad()."
                          if backend == "torch" else hint)
    raise CheckFailed("the first step is right, but a second step on the same model is not",
                      expected=f"loss {loss:.4f}, and each weight moved by -learning_rate * its new gradient",
                      found=f"loss {float(value.reshape(-1)[0]) if value.size else float('nan'):.4f}"
                      + ("" if _same(weights, expected) else ", and other weights"),
                      hint="each step starts from the weights (and, on JAX, the state) the step before left.")


def train_step(inputs, data):
    backend = backend_of(data)
    results = records(data, "cases", len(inputs["cases"]), ("returned", "kind", "weights", "eager_calls"))
    eager = backend == "tensorflow" and any(result["eager_calls"] for result in results)
    if backend in NOT_COMPILED and (data.get("compiled") is not True or eager):
        expected, found, hint = NOT_COMPILED[backend]
        raise CheckFailed("train_step is not compiled", expected=expected, found=found, hint=hint)
    for case, result in zip(inputs["cases"], results):
        _judge_step_case(case, result, backend)
        if backend != "tensorflow":
            _judge_second_step(case, result, backend)
    compiled = {"tensorflow": "compiled", "jax": "compiled by jax.jit", "torch": "run eagerly"}[backend]
    again = "" if backend == "tensorflow" else ", and so does a second step on the same model"
    return (f"{compiled}; calls the model in training mode; returns the loss before the step and moves every weight "
            f"as one SGD step on the gradient of the mean cross-entropy{again} ({len(inputs['cases'])} models)")
