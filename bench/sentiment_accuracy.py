"""Lab 04 bench: test accuracy and wall time of the full-mode recipe, next to its baselines.

For each source (IMDB, Rotten Tomatoes) it trains, from scratch and on the same hashed split:
  * the order-blind average-embedding baseline of the notebook,
  * the notebook's n-gram NBSVM (unigrams + bigrams with Naive Bayes weights, `labhelpers.ngrams`),
  * the notebook's bidirectional LSTM with early stopping (`--models` can leave it out: on IMDB it
    takes much longer than the rest),
  * the ensemble of the last two (mean probability; its wall time is the sum of both),
and prints accuracy and wall time against the bars (IMDB >= 88.9%, Rotten Tomatoes >= 77%,
each in <= 10 minutes on a 2-core CPU). With `--folds K` it also cross-validates the NBSVM over K
hashed folds of all the source's texts, the protocol of the published Rotten Tomatoes figures.
`--quick` shrinks everything to check the script runs.
"""

import argparse
import hashlib
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

from labhelpers import ngrams, sentiment  # noqa: E402
from labhelpers.grading import format_table  # noqa: E402

BARS = {"imdb": 0.889, "rotten_tomatoes": 0.77}
TIME_BAR_S = 600
FULL = {
    "imdb": dict(vocab_size=20_000, seq_len=256, embed_dim=64, units=32, max_epochs=6, lr=2e-3,
                 ngram_tokens=300_000),
    "rotten_tomatoes": dict(vocab_size=10_000, seq_len=40, embed_dim=64, units=32, max_epochs=10,
                            lr=2e-3, ngram_tokens=300_000),
}
QUICK = dict(train_count=2_000, seq_len=64, max_epochs=2)
MODELS = ("average", "nbsvm", "lstm")


def make_vectorizer(texts, vocab_size, seq_len):
    """The notebook's exercise 4.1."""
    vectorizer = layers.TextVectorization(max_tokens=vocab_size, output_sequence_length=seq_len,
                                          standardize=sentiment.standardize)
    vectorizer.adapt(texts)
    return vectorizer


def build_bidirectional_classifier(vocab_size, embed_dim, units):
    """The notebook's exercise 4.3."""
    return keras.Sequential([
        keras.Input(shape=(None,), dtype="int64"),
        layers.Embedding(vocab_size, embed_dim, mask_zero=True),
        layers.Bidirectional(layers.LSTM(units)),
        layers.Dense(1, activation="sigmoid"),
    ])


def fit_sequence_model(model, data, settings):
    """The notebook's training recipe on id sequences; returns test probabilities."""
    vectorizer = make_vectorizer(data["train"].texts, settings["vocab_size"], settings["seq_len"])
    splits = {name: sentiment.make_dataset(vectorizer, split, 64, shuffle=name == "train")
              for name, split in data.items()}
    model.compile(optimizer=keras.optimizers.Adam(settings["lr"]), loss="binary_crossentropy", metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
    model.fit(splits["train"], validation_data=splits["val"], epochs=settings["max_epochs"], callbacks=[stop],
              shuffle=False, verbose=2)  # the training split shuffles itself each epoch
    return np.ravel(model.predict(splits["test"], verbose=0))


def nbsvm_probabilities(data, settings):
    model, _, batches = ngrams.train_nbsvm(data, settings["ngram_tokens"], learning_rate=settings["lr"])
    return np.ravel(model.predict(batches["test"], verbose=0))


CANDIDATES = {
    "average": ("average embeddings (order-blind)", lambda data, s: fit_sequence_model(
        sentiment.build_average_baseline(s["vocab_size"], s["embed_dim"]), data, s)),
    "nbsvm": ("n-gram NBSVM (unigrams + bigrams)", nbsvm_probabilities),
    "lstm": ("bidirectional LSTM", lambda data, s: fit_sequence_model(
        build_bidirectional_classifier(s["vocab_size"], s["embed_dim"], s["units"]), data, s)),
}


def accuracy(probabilities, labels) -> float:
    """Share of texts whose probability of 'positive' falls on the side of 0.5 of their label."""
    return float(np.mean((probabilities > 0.5) == labels))


def row(source, name, test_accuracy, seconds):
    meets = test_accuracy >= BARS[source] and seconds <= TIME_BAR_S
    return (source, name, f"{100 * test_accuracy:.2f}", f"{seconds:.0f}",
            f">= {100 * BARS[source]:.1f}% in {TIME_BAR_S} s: {'yes' if meets else 'no'}")


def run_split(source, data, settings, models):
    """Each model on the hashed split, then the NBSVM + LSTM ensemble when both ran."""
    rows, results = [], {}
    for key in models:
        name, train_and_predict = CANDIDATES[key]
        keras.utils.set_random_seed(0)
        print(f"== {source}: {name}", flush=True)
        start = time.perf_counter()
        probabilities = train_and_predict(data, settings)
        results[key] = (probabilities, time.perf_counter() - start)
        rows.append(row(source, name, accuracy(probabilities, data["test"].labels), results[key][1]))
    if {"nbsvm", "lstm"} <= set(results):
        mean = (results["nbsvm"][0] + results["lstm"][0]) / 2
        rows.append(row(source, "ensemble: NBSVM + LSTM", accuracy(mean, data["test"].labels),
                        results["nbsvm"][1] + results["lstm"][1]))
    return rows


def fold_of(text: str, folds: int) -> int:
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest(), 16) % folds


def cross_validate_nbsvm(source, data, settings, folds):
    """K-fold accuracy of the NBSVM on all texts; one training fold serves for early stopping."""
    texts = np.concatenate([split.texts for split in data.values()])
    labels = np.concatenate([split.labels for split in data.values()])
    fold = np.array([fold_of(text, folds) for text in texts])
    accuracies = []
    for k in range(folds):
        parts = {"train": (fold != k) & (fold != (k + 1) % folds), "val": fold == (k + 1) % folds, "test": fold == k}
        splits = {name: sentiment.Split(texts[inside], labels[inside]) for name, inside in parts.items()}
        keras.utils.set_random_seed(0)
        probabilities = nbsvm_probabilities(splits, settings)
        accuracies.append(accuracy(probabilities, splits["test"].labels))
        print(f"   fold {k + 1}/{folds}: {100 * accuracies[-1]:.2f}%", flush=True)
    mean, spread = np.mean(accuracies), np.std(accuracies) / np.sqrt(folds)
    print(f"{source}: NBSVM {folds}-fold cross-validated accuracy {100 * mean:.2f}% +- {100 * spread:.2f} "
          f"(bar {100 * BARS[source]:.1f}%)")


def run(quick: bool, sources, models, folds):
    rows = []
    for source in sources:
        settings = FULL[source] | (QUICK if quick else {})
        data = sentiment.load_reviews(source)
        data["train"] = data["train"].sample(settings.get("train_count"))
        rows += run_split(source, data, settings, models)
        if folds:
            cross_validate_nbsvm(source, sentiment.load_reviews(source), settings, folds)
    print(format_table(("data", "model", "test acc %", "wall s", "bar"), rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny run: does the script work?")
    parser.add_argument("--sources", nargs="+", choices=sorted(FULL), default=list(FULL))
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--folds", type=int, default=0, help="also cross-validate the NBSVM over this many folds")
    args = parser.parse_args()
    if args.folds and args.folds < 3:
        parser.error(f"--folds {args.folds}: each round needs a test fold, a validation fold and at least one "
                     "fold to train on, so use 3 or more (10 is the published protocol), or 0 to skip")
    run(args.quick, args.sources, args.models, args.folds)
