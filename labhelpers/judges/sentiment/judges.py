"""Lab 04's judges of 4.1 (the vectorizer) and 4.5 (accuracy and confusion), and what all judges share.

Each judge draws its inputs and decides on what its probe returned. References are Keras' own
pieces given the drawn data (TextVectorization here) and NumPy formulas of properties (accuracy,
confusion counts). The classifiers (4.2, 4.3) are judged in model_judges.py, training (4.4) in
training_judges.py, the log-count ratios (4.6) in ratio_judges.py.
"""

from __future__ import annotations

import re

import numpy as np

from labhelpers.grading import CheckFailed, credit_parts, describe_error, found_as_array, matching_mistake


def max_diff(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, "float64") - np.asarray(b, "float64"))))


def close(found, expected, atol=1e-5) -> bool:
    return np.shape(found) == np.shape(expected) and np.allclose(found, expected, atol=atol, rtol=1e-4)


def paired(inputs: dict, data: dict, key: str = "cases") -> list:
    """(drawn case, probe's record) pairs; data for fewer or more cases than were drawn is refused."""
    records = data.get(key) if isinstance(data, dict) else None
    if not isinstance(records, list) or len(records) != len(inputs["cases"]):
        raise CheckFailed("the check did not get one result per drawn case", expected=f"{len(inputs['cases'])}",
                          found=described(records) if not isinstance(records, list) else f"{len(records)}",
                          hint="run the check cell as it is given.")
    return list(zip(inputs["cases"], records))


def described(value) -> str:
    if isinstance(value, dict) and "__object__" in value:
        return value["__object__"]
    return "nothing (None)" if value is None else f"{type(value).__name__} {str(value)[:80]}"


# ---------------------------------------------------------------- 4.1 make_vectorizer
VECTORIZER_SIZES = [(12, 8, 5), (16, 11, 7)]  # (distinct words in the corpus, vocab_size, seq_len)
_LETTERS = ("bdfgklmnprstvz", "aeiou")


def _pseudo_words(rng, count: int) -> list[str]:
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(rng.choice(list(_LETTERS[i % 2])) for i in range(rng.integers(4, 7))))
    return sorted(words)


def _written(word: str, rng) -> str:
    """A word as a review writes it: sometimes capitalised or shouted, sometimes with punctuation."""
    shape = rng.random()
    word = word.capitalize() if shape < 0.3 else word.upper() if shape < 0.4 else word
    return word + (rng.choice([".", ",", "!", "...", "?"]) if rng.random() < 0.3 else "")


def _written_text(words, rng, between=" ") -> str:
    return between.join(_written(word, rng) for word in words)


def draw_vectorizer(rng):
    """Two corpora of pseudo-words with distinct counts (so the vocabulary order is defined),
    written with capitals, punctuation, an apostrophe and IMDB's `<br />` tags; texts to encode."""
    cases = []
    for count, vocab_size, seq_len in VECTORIZER_SIZES:
        words = _pseudo_words(rng, count)
        words[rng.integers(count)] += "'s"
        tokens = rng.permutation(np.repeat(words, rng.permutation(np.arange(2, count + 2))))
        cuts = np.cumsum(rng.integers(3, 9, size=len(tokens)))
        chunks = [c for c in np.split(tokens, cuts[cuts < len(tokens)]) if len(c)]
        corpus = [_written_text(c[:2], rng) + " <br /><br />" + _written_text(c[2:], rng) for c in chunks]
        texts = [_written_text(rng.choice(words, 2), rng), _written_text(rng.choice(words, seq_len + 3), rng),
                 "zorblax " + _written_text(rng.choice(words, seq_len - 2), rng, between=" <br />")]
        cases.append({"corpus": corpus, "vocab_size": vocab_size, "seq_len": seq_len, "texts": texts})
    return {"cases": cases}


def _keras_vectorizer(case):
    from keras import layers

    from labhelpers.sentiment import standardize

    vectorizer = layers.TextVectorization(max_tokens=case["vocab_size"], output_sequence_length=case["seq_len"],
                                          standardize=standardize)
    vectorizer.adapt(np.array(case["corpus"]))
    return vectorizer


def _judge_vocabulary(case, found: dict, expected: list[str]) -> None:
    if "vocabulary" not in found:
        raise CheckFailed("make_vectorizer must return the TextVectorization layer",
                          expected="a keras.layers.TextVectorization (it has get_vocabulary())",
                          found=found.get("returned"), hint="end the function with `return vectorizer`.")
    vocabulary, size = found["vocabulary"], case["vocab_size"]
    if len(vocabulary) <= 2:
        raise CheckFailed("the vocabulary is empty", expected=f"{size} entries", found=f"{vocabulary}",
                          hint="a TextVectorization learns its words with `.adapt(train_texts)`.")
    if vocabulary[:2] != ["", "[UNK]"]:
        ids = np.shape(found["ids"]) if isinstance(found.get("ids"), np.ndarray) else ()
        if ids[1:] == (len(vocabulary),):
            raise CheckFailed("the output is a bag of words (one column per vocabulary word, no padding token): "
                              "the order of the words is lost",
                              expected=f"{case['seq_len']} ids per text, in reading order",
                              found=f"{ids[1]} columns", hint="keep the default `output_mode='int'`.")
        raise CheckFailed("the vocabulary should start with the padding token '' and the unknown-word token",
                          expected="['', '[UNK]', ...]", found=f"{vocabulary[:3]}...",
                          hint="keep TextVectorization's default mask and OOV tokens.")
    if "br" in vocabulary:
        raise CheckFailed("IMDB's `<br />` line breaks became the word 'br'", found=f"vocabulary {vocabulary}",
                          hint="pass `standardize=sentiment.standardize`, which drops the tags.")
    if any(re.search(r"[^a-z' ]", word) for word in vocabulary[2:]):
        raise CheckFailed("capitals or punctuation make different words of 'Good', 'good' and 'good.'",
                          found=f"vocabulary {vocabulary}", hint="pass `standardize=sentiment.standardize`.")
    if all(len(word) <= 1 for word in vocabulary[2:]):
        raise CheckFailed("the vocabulary holds single characters, not words", found=f"vocabulary {vocabulary}",
                          hint="keep the default `split='whitespace'`: the model reads words.")
    if any(re.search(r"\S \S", word) for word in vocabulary):
        raise CheckFailed("the vocabulary holds word pairs (n-grams)", found=f"vocabulary {vocabulary}",
                          hint="the LSTM reads single words in order: keep the default `ngrams=None`.")
    if len(vocabulary) != size:
        counted = " (`max_tokens` counts '' and [UNK] too)" if len(vocabulary) == size + 2 else ""
        raise CheckFailed(f"the vocabulary has the wrong size for vocab_size={size}{counted}",
                          expected=f"{size} entries", found=f"{len(vocabulary)} entries",
                          hint="set `max_tokens=vocab_size`.")
    if vocabulary != expected:
        same_words = sorted(vocabulary) == sorted(expected)
        raise CheckFailed("the vocabulary is not the most frequent words of the training texts, most frequent first"
                          if same_words else "the vocabulary is not the most frequent words of the training texts",
                          expected=f"{expected}", found=f"{vocabulary}",
                          hint="adapt on `train_texts` with `standardize=sentiment.standardize`; "
                          "TextVectorization orders its words by frequency.")


def _judge_ids(case, found: dict, expected: np.ndarray) -> None:
    if "ids_error" in found:
        raise describe_error(found["ids_error"])
    shape = expected.shape
    ids = found_as_array(found["ids"], "the output of your vectorizer", f"an array of shape {shape}",
                         "call the layer on a list of texts and look at what comes back.")
    if ids.ndim != 2 or ids.shape[0] != shape[0]:
        raise CheckFailed("the output is not one row of ids per text", expected=f"shape {shape}",
                          found=f"shape {ids.shape}")
    if ids.shape[1] != case["seq_len"]:
        raise CheckFailed(f"the texts are not cut or padded to seq_len={case['seq_len']}",
                          expected=f"{case['seq_len']} ids per text", found=f"{ids.shape[1]}",
                          hint="set `output_sequence_length=seq_len`.")
    for row, (text, want, got) in enumerate(zip(case["texts"], expected, ids)):
        if not np.array_equal(want, got):
            if np.count_nonzero(got) > np.count_nonzero(want) and np.count_nonzero(want) < len(want):
                raise CheckFailed(f"text {row + 1} gets more ids than it has words: the layer adds word pairs "
                                  "(n-grams)",
                                  expected=f"{want.tolist()} for {text!r}", found=f"{got.astype(int).tolist()}",
                                  hint="the LSTM reads single words in order: keep the default `ngrams=None`.")
            raise CheckFailed(f"the ids of text {row + 1} differ from Keras' TextVectorization with the same settings",
                              expected=f"{want.tolist()} for {text!r}", found=f"{got.astype(int).tolist()}",
                              hint="zeros go after the words of a short text; a long text keeps its first words.")


def make_vectorizer(inputs, data):
    for case, found in paired(inputs, data):
        reference = _keras_vectorizer(case)
        _judge_vocabulary(case, found, [str(word) for word in reference.get_vocabulary()])
        _judge_ids(case, found, np.asarray(reference(np.array(case["texts"], dtype=object))))
    return ("vocabulary ('' for padding, [UNK], then by frequency, no capitals, punctuation or <br />) and "
            "fixed-length ids, padded and truncated, match Keras' TextVectorization on 2 random corpora")


# ---------------------------------------------------------------- 4.5 evaluate_predictions
def draw_evaluation(rng):
    """Probabilities of shape (N, 1) as model.predict gives them, labels (N,), at 2 sizes; a few
    probabilities are exactly 0.5 (negative, since positive means p > 0.5: two negative reviews are
    always there to hold them); the counts are not symmetric."""
    cases = []
    for size, dtype in ((37, "int32"), (64, "int64")):
        while True:
            labels = rng.permutation(np.concatenate([[0, 0], rng.integers(0, 2, size - 2)]))
            probabilities = np.clip(0.35 * labels + rng.uniform(0, 0.75, size), 0, 1).astype("float32")
            half = np.flatnonzero(labels == 0)[:2]
            probabilities[half] = 0.5
            predicted = probabilities > 0.5
            if np.sum(predicted & (labels == 0)) != np.sum(~predicted & (labels == 1)):
                break
        cases.append({"probabilities": probabilities.reshape(-1, 1), "labels": labels.astype(dtype)})
    return {"cases": cases}


def _confusion_counts(predicted, labels) -> np.ndarray:
    """C[i, j] = number of reviews with true label i and predicted label j."""
    return np.array([[np.sum((labels == i) & (predicted == j)) for j in (0, 1)] for i in (0, 1)])


def _judge_accuracy(value, p, labels) -> float:
    hint = "the share of reviews whose prediction [p > 0.5] equals their label: `np.mean(...)` of one comparison."
    accuracy = found_as_array(value, "the accuracy", "one number between 0 and 1", hint)
    if accuracy.size != 1:
        raise CheckFailed("the accuracy is not one number", expected="a number between 0 and 1",
                          found=f"an array of shape {accuracy.shape}", hint=hint)
    accuracy, expected = float(accuracy.ravel()[0]), float(np.mean((p > 0.5) == labels))
    if not np.isclose(accuracy, expected, atol=1e-6):
        mistake = matching_mistake(accuracy, {
            "every prediction was compared with every label: (N, 1) against (N,) broadcasts to (N, N)":
                np.mean((p[:, None] > 0.5) == labels),
            "a percentage, not a share between 0 and 1": 100 * expected, "the error rate (1 - accuracy)": 1 - expected,
            "p = 0.5 counted as positive (the prediction is [p > 0.5])": np.mean((p >= 0.5) == labels),
            "positive predicted for p < 0.5": np.mean((p < 0.5) == labels),
        }, atol=1e-6)
        raise CheckFailed("the accuracy is wrong", expected=f"{expected:.4f}",
                          found=f"{accuracy:.4f}" + (f": it looks like {mistake}" if mistake else ""), hint=hint)
    return accuracy


_CONFUSION_HINT = "rows are the true labels, columns the predicted ones: C[i, j] counts reviews with y = i and ŷ = j."


def _confusion_array(value) -> np.ndarray:
    return found_as_array(value, "the confusion matrix", "a 2 x 2 array of counts", _CONFUSION_HINT)


def _judge_confusion(confusion: np.ndarray, p, labels) -> None:
    expected, hint = _confusion_counts(p > 0.5, labels), _CONFUSION_HINT
    if confusion.shape != (2, 2):
        raise CheckFailed("the confusion matrix is not 2 x 2", expected=f"{expected.tolist()}",
                          found=f"shape {confusion.shape}", hint=hint)
    if np.array_equal(confusion, expected):
        return
    mistake = matching_mistake(confusion, {
        "it is transposed (rows predicted, columns true)": expected.T,
        "it holds fractions of all reviews, not counts": expected / len(labels),
        "each row holds fractions of its true class, not counts": expected / expected.sum(axis=1, keepdims=True),
        "p = 0.5 counted as positive (the prediction is [p > 0.5])": _confusion_counts(p >= 0.5, labels),
        "positive predicted for p < 0.5": _confusion_counts(p < 0.5, labels),
        "each (true, predicted) pair is marked once, not counted: an assignment through index arrays writes each "
        "cell once however often its pair occurs (NumPy's `C[labels, predicted] += 1`, JAX's `.at[...].set(1)`); "
        "count with np.add.at, JAX's `.at[...].add(1)` or a loop": (expected > 0).astype(float),
    }, atol=1e-6)
    raise CheckFailed("the confusion matrix is wrong", expected=f"{expected.tolist()}",
                      found=f"{np.round(confusion, 4).tolist()}" + (f": {mistake}" if mistake else ""), hint=hint)


def evaluation(inputs, data):
    try:
        return _evaluation(inputs, data)
    except CheckFailed as failure:  # the accuracy and the confusion counts are computed independently
        raise credit_parts(failure, {"the accuracy": lambda: _each_returned(inputs, data, _accuracy_part),
                                     "the confusion matrix": lambda: _each_returned(inputs, data, _confusion_part)})


def _accuracy_part(returned, p, labels) -> None:
    _judge_accuracy(returned[0], p, labels)


def _confusion_part(returned, p, labels) -> None:
    _judge_confusion(_confusion_array(returned[1]), p, labels)


def _each_returned(inputs, data, part) -> None:
    """One part of 4.5 judged on every case (for partial credit): raises CheckFailed where it is wrong."""
    for case, returned in paired(inputs, data, "returned"):
        if not (isinstance(returned, list) and len(returned) == 2):
            raise CheckFailed("evaluate_predictions must return two things")
        part(returned, np.ravel(case["probabilities"]).astype("float64"), np.asarray(case["labels"]))


def _evaluation(inputs, data):
    for case, returned in paired(inputs, data, "returned"):
        if not (isinstance(returned, list) and len(returned) == 2):
            raise CheckFailed("evaluate_predictions must return two things", expected="(accuracy, confusion)",
                              found=described(returned), hint="end with `return accuracy, confusion`.")
        p, labels = np.ravel(case["probabilities"]).astype("float64"), np.asarray(case["labels"])
        if np.size(returned[0]) == 4 and np.size(returned[1]) == 1:
            raise CheckFailed("the two results come in the wrong order", expected="(accuracy, confusion)",
                              found="(confusion, accuracy)", hint="return the accuracy first.")
        confusion = _confusion_array(returned[1])
        _judge_accuracy(returned[0], p, labels)
        _judge_confusion(confusion, p, labels)
    return ("accuracy and confusion counts (rows true, columns predicted, p > 0.5 is positive) match NumPy on "
            f"{' and '.join(str(len(c['labels'])) for c in inputs['cases'])} reviews given as (N, 1) probabilities")
