"""Lab 04's judges of 4.2 and 4.3: the classifier built by the learner, with random weights set in it,
against Keras' Embedding -> [Bidirectional] LSTM -> Dense with the same weights (V = vocab_size,
d = embed_dim, u = units)."""

from __future__ import annotations

import numpy as np

from labhelpers.probes import sentiment as probes
from labhelpers.judges.sentiment.judges import close, described, max_diff, paired
from labhelpers.grading import CheckFailed, found_as_array, matching_mistake


CLASSIFIER_SIZES = [(23, 5, 3), (31, 4, 6)]  # (vocab_size, embed_dim, units)
_REVIEWS = 4


def _lstm_weights(rng, embed_dim, units) -> list:
    return [rng.normal(0, 0.5, size) for size in ((embed_dim, 4 * units), (units, 4 * units), (4 * units,))]


def _draw_classifier(rng, bidirectional: bool) -> dict:
    """Random weights for every layer and 4 reviews of different lengths, padded with zeros to 3 ids past
    the longest and trimmed to the longest, at 2 sizes."""
    cases = []
    for vocab_size, embed_dim, units in CLASSIFIER_SIZES:
        directions = 2 if bidirectional else 1
        weights = [rng.normal(0, 1, (vocab_size, embed_dim))]
        for _ in range(directions):
            weights += _lstm_weights(rng, embed_dim, units)
        weights += [rng.normal(0, 1, (directions * units, 1)), rng.normal(0, 0.5, (1,))]
        lengths = rng.permutation([rng.integers(7, 10), 5, 3, 1])
        padded = np.zeros((_REVIEWS, max(lengths) + 3), dtype="int64")
        for row, length in enumerate(lengths):
            padded[row, :length] = rng.integers(1, vocab_size, length)
        padded[np.argmax(lengths), 0] = vocab_size - 1  # the last id of the vocabulary
        cases.append({"vocab_size": vocab_size, "embed_dim": embed_dim, "units": units,
                      "weights": [w.astype("float32") for w in weights], "padded": padded,
                      "trimmed": padded[:, :max(lengths)], "coefficients": rng.normal(size=(_REVIEWS, 1))})
    return {"cases": cases}


def draw_lstm_classifier(rng):
    return _draw_classifier(rng, bidirectional=False)


def draw_bidirectional_classifier(rng):
    return _draw_classifier(rng, bidirectional=True)


def _keras_classifier(case, bidirectional: bool, mask=True, activation="sigmoid", go_backwards=False):
    """Keras' Embedding -> [Bidirectional] LSTM -> Dense with the drawn weights (or a mistake's settings)."""
    import keras
    from keras import layers

    recurrent = layers.LSTM(case["units"], go_backwards=go_backwards)
    model = keras.Sequential([
        keras.Input(shape=(None,), dtype="int32"),
        layers.Embedding(case["vocab_size"], case["embed_dim"], mask_zero=mask),
        layers.Bidirectional(recurrent) if bidirectional else recurrent,
        layers.Dense(1, activation=activation),
    ])
    model.set_weights(case["weights"])
    return probes.unrolled(model)


def _weight_names(bidirectional: bool) -> list[str]:
    lstm = ["kernel", "recurrent kernel", "bias"]
    recurrent = ([f"forward LSTM {w}" for w in lstm] + [f"backward LSTM {w}" for w in lstm]
                 if bidirectional else [f"LSTM {w}" for w in lstm])
    return ["Embedding matrix", *recurrent, "Dense kernel", "Dense bias"]


def _judge_output_shape(first: np.ndarray) -> None:
    expected = f"({_REVIEWS}, 1): one probability per review"
    if first.ndim == 3:
        raise CheckFailed("the model gives one score per word, not one per review", expected=expected,
                          found=f"shape {first.shape}",
                          hint="a many-to-one LSTM returns only its last output: leave `return_sequences` off.")
    if first.shape != (_REVIEWS, 1):
        raise CheckFailed("the model does not give one probability per review", expected=expected,
                          found=f"shape {first.shape}", hint="end with `Dense(1, activation='sigmoid')`.")


def _shape_mismatch(case, found: dict, bidirectional: bool) -> CheckFailed:
    """Which layer has weights of the wrong shape, and why (a GRU, swapped sizes, a missing wrapper...)."""
    V, d, u = case["vocab_size"], case["embed_dim"], case["units"]
    expected = [list(w.shape) for w in case["weights"]]
    shapes, layers_found = found["shapes"], found["layers"]
    summary = dict(expected=f"{[tuple(s) for s in expected]}", found=f"{[tuple(s) for s in shapes]}")
    if "Bidirectional" in layers_found and not bidirectional:
        return CheckFailed("this model reads in both directions; this exercise is the one-directional model "
                           "(the next one adds `Bidirectional`)", **summary)
    if bidirectional and "Bidirectional" not in layers_found:
        return CheckFailed("no `Bidirectional` layer: this model reads the review in one direction only",
                           **summary, hint="wrap the LSTM: `layers.Bidirectional(layers.LSTM(units))`.")
    if not shapes or shapes[0] != [V, d]:
        found_embedding = tuple(shapes[0]) if shapes else "no weights"
        cause = {(V + 1, d): "one row too many: the ids run from 0 to vocab_size - 1",
                 (V, u): "embed_dim and units are swapped"}.get(found_embedding, "")
        return CheckFailed(f"the Embedding has the wrong shape for vocab_size={V}, embed_dim={d}"
                           + (f": {cause}" if cause else ""), expected=f"({V}, {d})", found=f"{found_embedding}",
                           hint="`layers.Embedding(vocab_size, embed_dim, mask_zero=True)`.")
    if len(shapes) > 1 and shapes[1] != [d, 4 * u]:
        columns = shapes[1][-1]
        cell = {3 * u: "a GRU (3 gates)", u: "a SimpleRNN (no gates)"}.get(columns)
        return CheckFailed(f"the recurrent layer is {cell}, not an LSTM (4 gates)" if cell else
                           f"the LSTM has {columns // 4} units, expected units={u}", **summary,
                           hint="`layers.LSTM(units)`, with the `units` argument, after an Embedding of embed_dim.")
    if len(shapes) < len(expected) and shapes == expected[:len(shapes)]:
        return CheckFailed("the model's weights do not include the last Dense layer's kernel and bias", **summary,
                           hint="create the Dense layer once, in the layer list (a layer created inside `call` gets "
                           "new weights on every call); keep its bias.")
    if shapes[-2] != expected[-2]:
        merged = " (Bidirectional joins the two directions by concatenation, its default merge_mode)" \
            if bidirectional and shapes[-2][0] == u else ""
        return CheckFailed(f"the Dense layer has the wrong shape{merged}", expected=f"{tuple(expected[-2])}",
                           found=f"{tuple(shapes[-2])}", hint="end with `Dense(1, activation='sigmoid')`.")
    return CheckFailed("the model has other layers than Embedding -> LSTM -> Dense", **summary,
                       hint=f"the layers found: {', '.join(layers_found)}; use the plain layers of the exercise.")


def _score_mistakes(case, expected, bidirectional: bool) -> dict:
    import keras

    scores = lambda model: keras.ops.convert_to_numpy(model(case["padded"], training=False))  # noqa: E731
    mistakes = {
        "padding is read as words: the Embedding does not mask id 0 (mask_zero)":
            scores(_keras_classifier(case, bidirectional, mask=False)),
        "the last layer outputs logits (any real number), not probabilities: the sigmoid is missing":
            np.log(expected / (1 - expected)),
    }
    if not bidirectional:
        mistakes["the LSTM reads each review from its last word back to its first (go_backwards)"] = scores(
            _keras_classifier(case, False, go_backwards=True))
    return mistakes


def _judge_scores(case, found: dict, bidirectional: bool, kind: str):
    """The largest difference from Keras' model with the drawn weights, and that model."""
    import keras

    reference = _keras_classifier(case, bidirectional)
    expected = keras.ops.convert_to_numpy(reference(case["padded"], training=False)).astype("float64")
    for name in ("padded", "trimmed"):
        scores = found_as_array(found[name], "the model's output", f"shape {expected.shape}", "")
        if close(scores, expected):
            continue
        if scores.shape == expected.shape and np.all(scores == 1):
            raise CheckFailed("every review gets the probability 1", expected=f"{expected.ravel().round(4)}",
                              found=f"{scores.ravel()}", hint="a softmax over one unit is always 1: use "
                              "`activation='sigmoid'` for a yes/no probability.")
        mistake = matching_mistake(scores, _score_mistakes(case, expected, bidirectional))
        lengths = (case["padded"] > 0).sum(axis=1)
        wrong = [int(i) for i in np.flatnonzero(np.abs(np.ravel(scores) - np.ravel(expected)) > 1e-5)]
        raise CheckFailed(
            f"with random weights set in your model, the scores differ from Keras' Embedding -> {kind} -> Dense "
            f"with the same weights ({name} batch, vocab_size={case['vocab_size']}, units={case['units']})",
            expected=f"{expected.ravel().round(4)}",
            found=f"{np.ravel(scores).round(4)}: it looks like {mistake}" if mistake else
            f"{np.ravel(scores).round(4)} (reviews {wrong} differ; their lengths {lengths[wrong].tolist()} of "
            f"{case[name].shape[1]} ids)",
            hint=f"use the plain layers: Embedding(mask_zero=True), {kind.replace('LSTM', 'LSTM(units)')}, "
            "Dense(1, activation='sigmoid').")
    return max_diff(found["padded"], expected), reference


def _judge_gradients(case, found: dict, reference, bidirectional: bool) -> None:
    expected = probes.weights_and_gradients(reference, case["padded"], case["coefficients"])
    if not isinstance(found["gradients"], list) or len(found["gradients"]) != len(expected):
        raise CheckFailed("the check did not get one gradient per weight", expected=f"{len(expected)}",
                          found=described(found["gradients"]), hint="run the check cell as it is given.")
    for name, want, got in zip(_weight_names(bidirectional), expected, found["gradients"]):
        if got is None:
            raise CheckFailed(f"the {name} gets no gradient, so training would leave it as it is",
                              expected="a gradient for every weight", found="none for this one",
                              hint="leave `trainable=True` (the default) on every layer.")
        got = found_as_array(got, f"the gradient of the {name}", f"shape {np.shape(want)}", "")
        if not close(got, want, atol=1e-4):
            raise CheckFailed(f"the gradient of the scores with respect to the {name} differs from Keras' layers",
                              expected=f"max |gradient| {np.max(np.abs(want)):.3g}", found=f"max |diff| "
                              f"{max_diff(got, want) if got.shape == np.shape(want) else got.shape}",
                              hint="the scores must come from the layers' own weights, with nothing detached.")


def _judge_classifier(inputs, data, bidirectional: bool) -> str:
    kind = "Bidirectional(LSTM)" if bidirectional else "LSTM"
    worst = 0.0
    for case, found in paired(inputs, data):
        if "returned" in found:
            raise CheckFailed("the function must return a Keras model", expected="a keras.Sequential",
                              found=described(found["returned"]), hint="end with `return keras.Sequential([...])`.")
        hint = "end with `Dense(1, activation='sigmoid')`."
        first = found_as_array(found["first"], "the model's output", f"shape ({_REVIEWS}, 1)", hint)
        _judge_output_shape(first)
        again = found_as_array(found["first_again"], "the model's output", f"shape ({_REVIEWS}, 1)", hint)
        if not close(again, first):
            raise CheckFailed("two calls on the same reviews give different scores",
                              expected="the same scores each time (training=False)",
                              found=f"max |diff| {max_diff(again, first):.3g}",
                              hint="create every layer once (in the layer list), never inside `call`: a layer made "
                              "there gets new random weights on each call.")
        if "padded" not in found:
            raise _shape_mismatch(case, found, bidirectional)
        diff, reference = _judge_scores(case, found, bidirectional, kind)
        _judge_gradients(case, found, reference, bidirectional)
        worst = max(worst, diff)
    return (f"one probability per review, equal to Keras' Embedding (masked) -> {kind} -> Dense(sigmoid) with the "
            f"same random weights on padded and unpadded reviews at 2 sizes (max |diff| {worst:.1e}), "
            "and every weight gets Keras' gradient")


def lstm_classifier(inputs, data):
    return _judge_classifier(inputs, data, bidirectional=False)


def bidirectional_classifier(inputs, data):
    return _judge_classifier(inputs, data, bidirectional=True)
