"""Lab 01's judges for words: the vocabulary (1.5a), one-hot vectors (1.5b), the next-word model (1.7).

Same contract as judges.py: draws, and verdicts on the probes' data that trust only values the
learner's code computed on the drawn inputs.
"""

from __future__ import annotations

import keras
import numpy as np

from labhelpers.backends import unrolls_eager_loops
from labhelpers.judges.rnn.judges import (
    CELL_HINTS, case_records, close, max_diff, only_variant, raise_learner_error, random_weights)
from labhelpers.grading import CheckFailed, found_as_array, shown

# ---------------------------------------------------------------- 1.5a build_vocabulary
WORDS = ("the cat dog sat on a mat park walk run my her his took for we it's don't zebra apple "
         "barks likes slow fast sleeps every morning evening yesterday vet beach").split()
PUNCTUATION = ["", "", "", ",", ".", "!", "?", ";"]


def _sentence(rng) -> str:
    words = []
    for word in rng.choice(WORDS, size=rng.integers(3, 8)):
        style = rng.integers(5)
        word = word.upper() if style == 0 else word.capitalize() if style == 1 else str(word)
        words.append(word + rng.choice(PUNCTUATION))
    return " ".join(words)


def draw_vocabulary(rng):
    """Three lists of sentences with random capitals and punctuation. Each list also holds one sentence that
    writes a word twice, once capitalised, and another shouted, both with punctuation: so every seed has a word
    seen twice, capitals and punctuation (what tells counting duplicates, not lower-casing and str.split apart)."""
    cases = []
    for _ in range(3):
        sentences = [_sentence(rng) for _ in range(rng.integers(3, 6))]
        twice, shouted = rng.choice(WORDS, 2, replace=False)
        sentences.insert(int(rng.integers(len(sentences) + 1)), f"{twice.capitalize()}, {shouted.upper()}! {twice}.")
        cases.append(sentences)
    return {"cases": cases}


def _sorted_words(sentences) -> list[str]:
    from labhelpers.rnn import tokenize  # the learner's tool; imported late (labhelpers.rnn imports these checks)

    return sorted({word for sentence in sentences for word in tokenize(sentence)})


def _first_seen(sentences) -> list[str]:
    from labhelpers.rnn import tokenize

    return list(dict.fromkeys(word for sentence in sentences for word in tokenize(sentence)))


def _vocabulary_pairs(record) -> dict:
    """The returned dict as {word: index}, with the types of its keys and values checked."""
    if not record.get("is_dict"):
        raise CheckFailed("build_vocabulary must return a dict", expected="{word: index}",
                          found=shown(record.get("returned")), hint="e.g. {'a': 1, 'cat': 2, ...}.")
    pairs = record.get("pairs") or []
    keys, values = [p[0] for p in pairs], [p[1] for p in pairs]
    if keys and all(isinstance(k, int) for k in keys) and all(isinstance(v, str) for v in values):
        raise CheckFailed("the dict maps indices to words", expected="{word: index}",
                          found=f"{{{keys[0]!r}: {values[0]!r}, ...}}", hint="make the words the keys.")
    if not all(isinstance(k, str) for k in keys):
        raise CheckFailed("the keys are not all words", expected="str keys", found=shown(keys[:5]),
                          hint="the keys are the words that `rnn.tokenize` returns.")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        bad = next(v for v in values if not isinstance(v, int) or isinstance(v, bool))
        raise CheckFailed("the indices are not all integers", expected="int values 1, 2, 3, ...",
                          found=f"{type(bad).__name__} {bad!r}", hint="number the words with ints.")
    return dict(zip(keys, values))


def _vocabulary_words(vocab, words) -> None:
    if sorted(vocab) == words:
        return
    missing, extra = sorted(set(words) - set(vocab)), sorted(set(vocab) - set(words))
    raise CheckFailed("the vocabulary has the wrong words", expected=f"the {len(words)} distinct words of `rnn.tokenize`",
                      found=f"missing {missing[:6]}, unexpected {extra[:6]}",
                      hint="split every sentence with `rnn.tokenize`, which lower-cases and drops punctuation.")


def _vocabulary_indices(vocab, words) -> None:
    indices = sorted(vocab.values())
    if indices == list(range(1, len(words) + 1)):
        return
    if indices == list(range(len(words))):
        raise CheckFailed("the indices are not 1, 2, ..., n for the n distinct words", expected=f"each of 1..{len(words)} once",
                          found="0, 1, ..., n-1", hint="index 0 is kept for padding; number the words from 1.")
    shared = len(set(indices)) < len(indices)
    raise CheckFailed("the indices are not 1, 2, ..., n for the n distinct words", expected=f"each of 1..{len(words)} once",
                      found="some words share an index" if shared else f"{indices[:8]}{' ...' if len(indices) > 8 else ''}",
                      hint="number each distinct word once, 1, 2, ..., n, with no gap.")


def build_vocabulary(inputs, data):
    cases, records = case_records(inputs, data, "build_vocabulary")
    found, orders = [], []
    for sentences, record in zip(cases, records):
        raise_learner_error(record)
        words = _sorted_words(sentences)
        vocab = _vocabulary_pairs(record)
        _vocabulary_words(vocab, words)
        _vocabulary_indices(vocab, words)
        found.append(np.array([vocab[w] for w in words]))
        rank = {w: i for i, w in enumerate(_first_seen(sentences), start=1)}
        orders.append({"in the order the words first appear": np.array([rank[w] for w in words]),
                       "in reverse sorted order": np.arange(len(words), 0, -1)})
    for sentences, indices in zip(cases, found):
        if not np.array_equal(indices, np.arange(1, len(indices) + 1)):
            words = _sorted_words(sentences)
            diagnosis = only_variant(found, orders)
            first = words[int(np.argmax(indices != np.arange(1, len(indices) + 1)))]
            raise CheckFailed("the words are not numbered in sorted order",
                              expected=f"1 for {words[0]!r}, 2 for {words[1]!r}, and so on alphabetically",
                              found=f"{first!r} numbered {indices[words.index(first)]}"
                              + (f": it looks numbered {diagnosis}" if diagnosis else ""),
                              hint="sort the distinct words before numbering them.")
    sizes = ", ".join(str(len(f)) for f in found)
    return f"{sizes} words from 3 random texts: lower-cased, punctuation dropped, numbered 1..n in sorted order"


# ---------------------------------------------------------------- 1.5b one_hot
ONE_HOT_SHAPES = [((7,), 6), ((3, 4), 9), ((2, 3, 2), 4), ((), 5)]  # (indices shape, vocab_size)


def draw_one_hot(rng):
    """Index arrays of 1, 2, 3 and 0 dimensions. The first holds both 0 and vocab_size - 1 (the ends, where an
    off-by-one shows); the second holds vocab_size - 2 but never vocab_size - 1, so that a one-hot axis sized
    from the data (ids.max() + 1) is one position short on every seed."""
    cases = []
    for number, (shape, vocab_size) in enumerate(ONE_HOT_SHAPES):
        if number == 1:
            indices = rng.integers(0, vocab_size - 1, size=shape)
            indices.flat[rng.integers(indices.size)] = vocab_size - 2
        else:
            indices = rng.integers(0, vocab_size, size=shape)
        if number == 0:
            indices[rng.permutation(indices.size)[:2]] = [0, vocab_size - 1]
        cases.append({"indices": indices.astype("int64"), "vocab_size": vocab_size})
    return {"cases": cases}


def _one_hot_shape(value, indices, vocab_size) -> None:
    expected = indices.shape + (vocab_size,)
    if value.shape == expected:
        return
    named = {(vocab_size,) + indices.shape: "the vocabulary axis comes first; it must be the last",
             (indices.size, vocab_size): "the indices were flattened; keep their shape",
             indices.shape + (vocab_size + 1,): "one position too many: positions run 0..vocab_size-1",
             indices.shape + (vocab_size - 1,): "one position too few: positions run 0..vocab_size-1",
             indices.shape + (int(np.max(indices, initial=0)) + 1,): "the length of the last axis is taken from the "
             "largest index in the data (ids.max() + 1), which need not be vocab_size - 1"}
    raise CheckFailed(f"one_hot(indices of shape {indices.shape}, {vocab_size}) has the wrong shape",
                      expected=str(expected), found=str(value.shape) + (f": {named[value.shape]}" if value.shape in named
                                                                        else ""),
                      hint="add one axis of length vocab_size at the end, whatever the shape of indices.")


def one_hot(inputs, data):
    cases, records = case_records(inputs, data, "one_hot")
    found = []
    for case, record in zip(cases, records):
        raise_learner_error(record)
        indices, vocab_size = case["indices"], case["vocab_size"]
        value = record.get("returned")
        if not isinstance(value, np.ndarray):
            raise CheckFailed("one_hot must return an array", expected="a float NumPy array (or tensor)",
                              found=shown(value) if record.get("kind") in (None, "dict") else record["kind"],
                              hint="build it with NumPy, e.g. from np.zeros or np.eye.")
        _one_hot_shape(value, indices, vocab_size)
        if value.dtype.kind != "f":
            raise CheckFailed("one_hot must return floats", expected="a float array (float32 or float64)",
                              found=f"dtype {value.dtype}", hint="give np.zeros or np.eye a float dtype.")
        found.append(value)
    eye = [np.eye(c["vocab_size"]) for c in cases]
    for case, value in zip(cases, found):
        indices = case["indices"]
        right = keras.ops.convert_to_numpy(keras.ops.one_hot(indices, case["vocab_size"]))
        if np.array_equal(value, right):
            continue
        diagnosis = only_variant(found, [{
            "the ones are one place to the left (index - 1)": e[c["indices"] - 1],
            "the ones are one place to the right (index + 1)": e[(c["indices"] + 1) % len(e)],
            "every position is 1": np.ones_like(e[c["indices"]]),
            "no position is set to 1": np.zeros_like(e[c["indices"]]),
        } for c, e in zip(cases, eye)])
        where = np.argwhere(np.any(value != right, axis=-1))[0]
        index = int(indices[tuple(where)])
        raise CheckFailed(f"one_hot(indices of shape {indices.shape}, {case['vocab_size']}) has its values in the wrong "
                          "places", expected=f"for index {index}: a single 1 at position {index}, 0 elsewhere",
                          found=diagnosis or f"{np.round(value[tuple(where)], 3).tolist()}",
                          hint="index i puts its 1 at position i, counting from 0.")
    return "matches the one-hot definition (float, a 1 at each index) for index arrays of 0, 1, 2 and 3 dimensions"


# ---------------------------------------------------------------- 1.7 next-word model
MODEL_SIZES = [(11, 6, 8, 4, 6), (7, 4, 10, 5, 4)]  # vocab_size, embedding_dim, rnn_units, batch, T


def _tokens(rng, vocab_size, batch, steps) -> np.ndarray:
    """Word ids 1..vocab_size-1; row 1 padded in front with two 0s, row 2 one word, row 3 padded behind (batch >= 4)."""
    tokens = rng.integers(1, vocab_size, size=(batch, steps))
    tokens[1, :2] = 0
    tokens[2, :-1] = 0
    tokens[3, -1] = 0
    return tokens.astype("int32")


def _change(tokens, vocab_size, first: bool) -> np.ndarray:
    """The same ids with the first (or last) word of each row replaced by another word."""
    changed = tokens.copy()
    for row in changed:
        words = np.flatnonzero(row)
        position = words[0] if first else words[-1]
        row[position] = row[position] % (vocab_size - 1) + 1
    return changed


def draw_model(rng):
    """Two model sizes, each with random embeddings and cell weights and padded batches of word ids."""
    cases = []
    for vocab_size, embedding_dim, units, batch, steps in MODEL_SIZES:
        case = random_weights(rng, embedding_dim, units, vocab_size, readout_scale=2.0)
        tokens = _tokens(rng, vocab_size, batch, steps)
        case.update(E=rng.normal(size=(vocab_size, embedding_dim)).astype("float32"), tokens=tokens,
                    first_changed=_change(tokens, vocab_size, True), last_changed=_change(tokens, vocab_size, False))
        cases.append(case)
    return {"cases": cases}


def keras_next_word(case, tokens, mask=True) -> np.ndarray:
    """Keras' Embedding and SimpleRNN with the case's weights, read out at the last step: ŷ_T = W_hy h_T."""
    vocab_size, embedding_dim = case["E"].shape
    units = case["W_hh"].shape[0]
    embedding = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=mask)
    embedding.build((None, None))
    embedding.set_weights([case["E"]])
    layer = keras.layers.SimpleRNN(units, unroll=unrolls_eager_loops())
    layer.build((None, None, embedding_dim))
    layer.set_weights([case["W_xh"].T, case["W_hh"].T, case["b"]])
    return keras.ops.convert_to_numpy(layer(embedding(tokens))) @ case["W_hy"].T.astype("float64")


def _model_structure(record, case) -> None:
    vocab_size, embedding_dim = case["E"].shape
    units = case["W_hh"].shape[0]
    layers = record.get("layers", [])
    names = " -> ".join(layer["class"] for layer in layers)
    embeddings = [layer for layer in layers if "input_dim" in layer]
    if not embeddings:
        raise CheckFailed("the model has no Embedding", expected=f"keras.layers.Embedding({vocab_size}, {embedding_dim}, "
                          "mask_zero=True) as its first layer", found=names or "no layers",
                          hint="words enter as indices; the Embedding turns them into learned vectors.")
    first = embeddings[0]
    if (first["input_dim"], first["output_dim"]) != (vocab_size, embedding_dim):
        raise CheckFailed("the Embedding has the wrong size", expected=f"Embedding({vocab_size}, {embedding_dim}): "
                          "vocab_size rows of embedding_dim numbers", found=f"Embedding({first['input_dim']}, "
                          f"{first['output_dim']})", hint="pass vocab_size and embedding_dim in that order.")
    rnns = [layer for layer in layers if "cell" in layer]
    attributes = rnns[0]["attributes"] if rnns else {}
    if not rnns or any(attributes.get(name) is None for name in ("W_xh", "W_hh", "b", "W_hy")):
        raise CheckFailed("the model does not run your MyRNNCell", expected=f"keras.layers.RNN(MyRNNCell({units}, "
                          f"{vocab_size})) after the Embedding", found=names + (f" (the RNN's cell is {rnns[0]['cell']})"
                                                                               if rnns else ""),
                          hint="the exercise's model runs your MyRNNCell inside keras.layers.RNN.")
    for name, attribute in attributes.items():
        if tuple(attribute["shape"]) != case[name].shape:
            raise CheckFailed(f"the cell's `{name}` has shape {tuple(attribute['shape'])}",
                              expected=f"{case[name].shape}: MyRNNCell(rnn_units={units}, output_dim=vocab_size="
                              f"{vocab_size}) on embeddings of size {embedding_dim}", found=str(tuple(attribute["shape"])),
                              hint="the cell's output is one score per word: MyRNNCell(rnn_units, vocab_size).")


def _model_output(record, case) -> np.ndarray:
    raise_learner_error(record, CELL_HINTS)
    vocab_size = case["E"].shape[0]
    batch, steps = case["tokens"].shape
    if "tokens" not in record:
        raise CheckFailed("build_next_word_model must return a Keras model", expected="a keras.Sequential",
                          found=record.get("model", "nothing"), hint="return keras.Sequential([...]).")
    value = found_as_array(record["tokens"], "the model's output", f"an array of shape ({batch}, {vocab_size})",
                           "the model returns one score per word of the vocabulary.")
    named = {(batch, steps, vocab_size): "one output per time step: keep only the last (no return_sequences=True)",
             (batch, case["W_hh"].shape[0]): "(batch, rnn_units): the cell's output_dim must be vocab_size"}
    if value.shape != (batch, vocab_size):
        raise CheckFailed("the model's output has the wrong shape", expected=f"({batch}, {vocab_size}): one score per "
                          "word of the vocabulary, for the last step only",
                          found=str(value.shape) + (f", {named[value.shape]}" if value.shape in named else ""),
                          hint="keras.layers.RNN returns only the last output unless return_sequences=True.")
    return value


def _model_mistake(records, cases, found, refs) -> str | None:
    """What the values single out: a named variant, or the first or last word ignored."""
    variants = []
    for case, ref in zip(cases, refs):
        probabilities = np.exp(ref - ref.max(axis=-1, keepdims=True))
        variants.append({
            "the padding (index 0) is not masked: the Embedding needs mask_zero=True":
                keras_next_word(case, case["tokens"], mask=False),
            "the model outputs probabilities (a softmax); the exercise asks for logits":
                probabilities / probabilities.sum(axis=-1, keepdims=True),
            "the outputs go through a tanh; the readout ŷ_T = W_hy h_T is linear": np.tanh(ref),
            "the outputs go through a sigmoid; the readout ŷ_T = W_hy h_T is linear": 1 / (1 + np.exp(-ref)),
        })
    diagnosis = only_variant(found, variants)
    if diagnosis:
        return diagnosis
    for name, word in (("last_changed", "last"), ("first_changed", "first")):
        unchanged = sum(close(row, other) for r, f in zip(records, found)
                        for row, other in zip(f, found_as_array(r.get(name), "output", "an array", "")))
        if unchanged:
            return (f"the prediction ignores the {word} word: changing it leaves the logits of {unchanged} "
                    f"of {sum(len(f) for f in found)} sequences unchanged")
    return None


def next_word_model(inputs, data):
    cases, records = case_records(inputs, data, "build_next_word_model")
    found = [_model_output(record, case) for record, case in zip(records, cases)]
    for record, case in zip(records, cases):
        _model_structure(record, case)
    refs = [keras_next_word(case, case["tokens"]) for case in cases]
    for i, (value, ref) in enumerate(zip(found, refs)):
        if not close(value, ref):
            diagnosis = _model_mistake(records, cases, found, refs)
            layers = " -> ".join(layer["class"] for layer in records[i].get("layers", []))
            raise CheckFailed(
                f"with the same weights, the model's logits differ from Embedding(mask_zero=True) -> SimpleRNN -> "
                f"W_hy h_T, for vocab_size={cases[i]['E'].shape[0]} (max |diff| {max_diff(value, ref):.3g})",
                expected="ŷ_T = W_hy h_T of the cell after the last real word (padding skipped), no activation",
                found=f"it looks like {diagnosis}" if diagnosis else f"other values from the layers {layers}",
                hint="compare your layers with the exercise: an Embedding that masks index 0, then your cell "
                "inside keras.layers.RNN, nothing after it; if check 1.3 fails, fix MyRNNCell first.")
    return ("with random weights set, its logits equal Embedding(mask_zero=True) -> SimpleRNN -> W_hy h_T for 2 "
            "model sizes on padded batches: linear, masked, and depending on the first and the last word")
