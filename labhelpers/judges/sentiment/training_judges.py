"""Lab 04's judge of 4.4: the learner's training function run on small random tasks, against Keras'
own `fit` with Adam, binary cross-entropy and EarlyStopping, and the NumPy formulas of the loss and
the accuracy."""

from __future__ import annotations

import numpy as np

from labhelpers.probes import sentiment as probes
from labhelpers.judges.sentiment.judges import close, described, paired
from labhelpers.grading import CheckFailed, found_as_array, matching_mistake


def _draw_task(rng, improving: bool, patience: int) -> dict:
    """64 reviews of 6 ids and a tiny model with random weights (`probes.task_model`).

    improving: every label is 1 and the model starts above 0.5, so the validation loss falls every
    epoch while the validation accuracy stays at 1 (monitoring it would stop at once).
    Otherwise the validation labels are the training labels flipped, so the validation loss is lowest
    after the first epoch and rises after it: training stops `patience` epochs later.
    """
    vocab_size = int(rng.integers(15, 25))
    ids = rng.integers(1, vocab_size, size=(64, 6)).astype("int32")
    labels = np.ones(64) if improving else ((ids < vocab_size // 2).mean(axis=1) > 0.5).astype(float)
    val_ids = rng.integers(1, vocab_size, size=(32, 6)).astype("int32") if improving else ids
    return {"train_ids": ids, "train_labels": labels, "val_ids": val_ids,
            "val_labels": np.ones(32) if improving else 1 - labels,
            "embeddings": rng.normal(0, 0.3, (vocab_size, 4)).astype("float32"),
            "kernel": rng.normal(0, 0.5, (4, 1)).astype("float32"),
            "bias": np.array([1.5 if improving else rng.normal(0, 0.3)], "float32"),
            "max_epochs": int(rng.integers(3, 5)) if improving else 3 + patience,
            "patience": patience, "learning_rate": float(np.round(10 ** rng.uniform(-2, -1.4), 4)),
            "batch_size": 16, "improving": improving}


def draw_training(rng):
    patiences = rng.permutation([1, 2, 3])[:2]
    return {"cases": [_draw_task(rng, True, 1), *(_draw_task(rng, False, int(p)) for p in patiences)]}


def _keras_training(case):
    """Keras' own fit with Adam, binary cross-entropy and EarlyStopping: history, kept weights, per-epoch weights.

    Fitted once per drawn task (keyed on its contents), not once per answer judged on it: the reference
    does not depend on the answer, and a grader or a test judges many answers on the same tasks."""
    key = tuple((name, (value.dtype.str, value.shape, value.tobytes()) if isinstance(value, np.ndarray) else value)
                for name, value in sorted(case.items()))
    if key not in _REFERENCE_FITS:
        if len(_REFERENCE_FITS) >= 16:
            _REFERENCE_FITS.pop(next(iter(_REFERENCE_FITS)))
        _REFERENCE_FITS[key] = _fit_reference(case)
    return _REFERENCE_FITS[key]


_REFERENCE_FITS: dict = {}


def _fit_reference(case):
    import keras

    model = probes.task_model(case)
    model.compile(optimizer=keras.optimizers.Adam(case["learning_rate"]), loss="binary_crossentropy",
                  metrics=["accuracy"])
    epochs = []
    snapshot = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: epochs.append(model.get_weights()))
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=case["patience"], restore_best_weights=True)
    history = model.fit(probes.dataset(case["train_ids"], case["train_labels"], case["batch_size"]),
                        validation_data=probes.dataset(case["val_ids"], case["val_labels"], case["batch_size"]),
                        epochs=case["max_epochs"], callbacks=[snapshot, stop], verbose=0, shuffle=False)
    return history.history, model.get_weights(), epochs


def _found_history(found: dict) -> dict:
    history = found["history"]
    if not (isinstance(history, dict) and "__object__" not in history):
        raise CheckFailed("the function must return what `model.fit` returns", expected="a History",
                          found=described(history), hint="end with `return model.fit(...)`.")
    if "val_loss" not in history:
        raise CheckFailed("there is no validation loss, so nothing to stop on", expected="'val_loss' in the history",
                          found=f"history keys {sorted(history)}", hint="pass `validation_data=val_data` to `fit`.")
    return {key: found_as_array(values, f"history[{key!r}]", "a list of numbers, one per epoch", "")
            for key, values in history.items()}


def _final_probabilities(case, weights) -> np.ndarray:
    """The task model's probabilities on the validation reviews, from the weights it kept."""
    embeddings, kernel, bias = (found_as_array(w, "a weight of the model", "an array", "") for w in weights)
    logits = embeddings[case["val_ids"]].mean(axis=1) @ kernel + bias
    return 1 / (1 + np.exp(-np.ravel(logits)))


def _judge_loss_and_metric(case, found: dict) -> None:
    p, y = _final_probabilities(case, found["weights"]), case["val_labels"]
    clipped = np.clip(p, 1e-7, 1 - 1e-7)
    expected = float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)))
    evaluated = found["evaluated"]
    loss = float(found_as_array(evaluated.get("loss"), "the compiled loss", "a number", ""))
    if not np.isclose(loss, expected, rtol=1e-3, atol=1e-5):
        mistake = matching_mistake(loss, {
            "mean squared error": np.mean((p - y) ** 2), "mean absolute error": np.mean(np.abs(p - y)),
            "binary cross-entropy on logits (from_logits=True), while the model outputs probabilities":
                np.mean(np.maximum(p, 0) - p * y + np.log1p(np.exp(-np.abs(p)))),
            "categorical cross-entropy, which is 0 for a single output": 0.0,
        }, atol=1e-5)
        raise CheckFailed("the compiled loss is not the binary cross-entropy of the labels under the probabilities",
                          expected=f"{expected:.5f} on the validation reviews with the weights your model kept",
                          found=f"{loss:.5f}: " + (f"it looks like {mistake}" if mistake else found["loss_name"]),
                          hint="compile with `loss='binary_crossentropy'`: the sigmoid output is a probability.")
    accuracy = float(np.mean((p > 0.5) == y))
    metrics = {k: v for k, v in evaluated.items() if k != "loss"}
    if not any(np.isclose(float(np.ravel(v)[0]), accuracy, atol=1e-6) for v in metrics.values() if np.size(v) == 1):
        raise CheckFailed("the accuracy metric is missing", expected=f"a metric equal to the share of validation "
                          f"reviews on the right side of 0.5 ({accuracy:.4f})", found=f"metrics {sorted(metrics)}",
                          hint="compile with `metrics=['accuracy']`.")


def _judge_first_epoch(case, found: dict, history: dict, expected: dict) -> None:
    first = [history[k][:1] for k in ("loss", "val_loss")]
    want = [expected[k][:1] for k in ("loss", "val_loss")]
    if all(close(f, w, atol=1e-4) for f, w in zip(first, want)):
        return
    rate = found.get("learning_rate")
    rate = float(np.ravel(rate)[0]) if isinstance(rate, (int, float, np.ndarray)) else np.nan
    if found["optimizer"] != "Adam":
        problem, hint = f"the optimizer is {found['optimizer']}, not Adam", "compile with `keras.optimizers.Adam(...)`."
    elif not np.isclose(rate, case["learning_rate"], rtol=1e-4):
        problem, hint = (f"Adam's learning rate is {rate:g}, not the learning_rate={case['learning_rate']:g} given",
                         "pass `learning_rate` to `keras.optimizers.Adam(learning_rate)`.")
    else:
        problem, hint = ("training differs from Adam with binary cross-entropy on these batches",
                         "fit `train_data` as it is given: no reshuffling, rebatching or extra training.")
    raise CheckFailed(f"after the first epoch, the (training, validation) losses differ: {problem}",
                      expected=f"{np.round(np.ravel(want), 5).tolist()}",
                      found=f"{np.round(np.ravel(first), 5).tolist()}",
                      hint=hint)


def _judge_epochs(case, history: dict, expected: dict) -> None:
    ran, wanted, limit = len(history["loss"]), len(expected["loss"]), case["max_epochs"]
    if ran == wanted:
        return
    if ran > limit:
        raise CheckFailed(f"training ran {ran} epochs with max_epochs={limit}", expected=f"at most {limit}",
                          found=f"{ran}", hint="pass `epochs=max_epochs` to `fit`.")
    if case["improving"]:
        raise CheckFailed(f"training stopped after {ran} of max_epochs={limit} epochs although the validation loss "
                          "fell every epoch (while the validation accuracy stayed the same)",
                          expected=f"{wanted} epochs", found=f"{ran}",
                          hint="monitor `'val_loss'`, and train for `epochs=max_epochs`.")
    best, patience = int(np.argmin(expected["val_loss"])) + 1, case["patience"]
    if ran == limit:
        raise CheckFailed(f"training ran all {limit} epochs although the validation loss was lowest after epoch "
                          f"{best} and rose after it", expected=f"a stop after {wanted} epochs (patience={patience})",
                          found=f"{ran} epochs",
                          hint="add `keras.callbacks.EarlyStopping(monitor='val_loss', ...)` to fit's callbacks.")
    raise CheckFailed(f"training stopped at the wrong epoch for patience={patience}",
                      expected=f"{wanted} epochs (best epoch {best}, then {patience} without improvement)",
                      found=f"{ran} epochs", hint="pass the `patience` argument to EarlyStopping.")


def _judge_kept_weights(found: dict, expected, epochs: list) -> None:
    kept = [found_as_array(w, "a weight of the model", "an array", "") for w in found["weights"]]
    same = lambda weights: len(kept) == len(weights) and all(  # noqa: E731
        close(k, w, atol=1e-4) for k, w in zip(kept, weights))
    if same(expected):
        return
    best = next(i for i, weights in enumerate(epochs) if all(np.allclose(a, b) for a, b in zip(weights, expected)))
    kept_epoch = next((i for i, weights in enumerate(epochs) if same(weights)), None)
    found_epoch = "the last epoch's" if kept_epoch == len(epochs) - 1 else (
        f"those of epoch {kept_epoch + 1}" if kept_epoch is not None else "weights of no epoch")
    raise CheckFailed("after training, the model does not keep the weights of its best epoch",
                      expected=f"those of epoch {best + 1} (lowest validation loss)", found=found_epoch,
                      hint="ask EarlyStopping to `restore_best_weights=True`.")


def training(inputs, data):
    for case, found in paired(inputs, data):
        history = _found_history(found)
        if found["optimizer"] == "NoneType":
            raise CheckFailed("the model was not compiled", hint="call `model.compile(...)` before `model.fit(...)`.")
        _judge_loss_and_metric(case, found)
        expected, kept, epochs = _keras_training(case)
        _judge_first_epoch(case, found, history, expected)
        _judge_epochs(case, history, expected)
        for key in ("loss", "val_loss"):
            if not close(history[key], expected[key], atol=1e-4):
                raise CheckFailed(f"the {key.replace('_', ' ')} per epoch differs from Keras' fit with the same "
                                  "settings", expected=f"{np.round(expected[key], 5).tolist()}",
                                  found=f"{np.round(history[key], 5).tolist()}",
                                  hint="compile once, then one call to `fit` with EarlyStopping in its callbacks.")
        _judge_kept_weights(found, kept, epochs)
    return ("Adam at the given learning rate, binary cross-entropy and accuracy; on 3 random tasks it trained "
            "max_epochs while the validation loss fell, stopped `patience` epochs after the best one (patience "
            f"{inputs['cases'][1]['patience']} and {inputs['cases'][2]['patience']}) and kept the best weights, "
            "as Keras' fit with EarlyStopping does")
