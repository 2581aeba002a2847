"""Lab 04 bench: test accuracy and wall time of the full-mode recipe, next to its baselines.

For each source (IMDB, Rotten Tomatoes) it trains, from scratch and on the same hashed split:
  * the order-blind average-embedding baseline of the notebook,
  * the notebook's n-gram NB-LR, Naive-Bayes-weighted logistic regression (unigrams + bigrams with Naive Bayes weights, `labhelpers.ngrams`),
  * Wang & Manning's NBSVM as published (an L2-regularised squared-hinge SVM, C = 1, on the same
    features, interpolated with beta = 0.25), to set next to their 91.22% (IMDB) and 79.4% (Rotten Tomatoes),
  * the notebook's bidirectional LSTM with early stopping (`--models` can leave it out: on IMDB it
    takes much longer than the rest),
  * the ensemble of the notebook's NBSVM and LSTM (mean probability; its wall time is the sum of both),
and prints accuracy and wall time against the bars (IMDB >= 88.9%, Rotten Tomatoes >= 77%,
each in <= 10 minutes on a 2-core CPU), then the notebook's order test (4.7) for every model.
With `--folds K` it also cross-validates both NBSVMs over K hashed folds of all the source's
texts, the protocol of the published Rotten Tomatoes figures. `--quick` shrinks everything to
check the script runs.

Keras runs on the backend KERAS_BACKEND names (TensorFlow when unset), and the table has a backend column:
`KERAS_BACKEND=jax python bench/sentiment_accuracy.py` measures the same recipe on JAX. Every backend reads
the same batches in the same order (the tf.data pipelines of `sentiment.make_dataset`, `ngrams.dataset`);
the initial weights are drawn by each backend's own random generator, so accuracies agree within noise.
"""

import argparse
import hashlib
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

from labhelpers import backends, ngrams, sentiment  # noqa: E402
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
MODELS = ("average", "nbsvm", "nbsvm-published", "lstm")


def make_vectorizer(texts, vocab_size, seq_len):
    """The notebook's exercise 4.1."""
    vectorizer = layers.TextVectorization(max_tokens=vocab_size, output_sequence_length=seq_len,
                                          standardize=sentiment.standardize)
    vectorizer.adapt(texts)
    return vectorizer


def build_bidirectional_classifier(vocab_size, embed_dim, units):
    """The notebook's exercise 4.3."""
    return keras.Sequential([
        keras.Input(shape=(None,), dtype="int32"),
        layers.Embedding(vocab_size, embed_dim, mask_zero=True),
        layers.Bidirectional(layers.LSTM(units)),
        layers.Dense(1, activation="sigmoid"),
    ])


def fit_sequence_model(model, data, settings):
    """The notebook's training recipe on id sequences; returns test probabilities and a scorer of any texts."""
    vectorizer = make_vectorizer(data["train"].texts, settings["vocab_size"], settings["seq_len"])
    splits = {name: sentiment.make_dataset(vectorizer, split, 64, shuffle=name == "train")
              for name, split in data.items()}
    model.compile(optimizer=keras.optimizers.Adam(settings["lr"]), loss="binary_crossentropy", metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
    model.fit(splits["train"], validation_data=splits["val"], epochs=settings["max_epochs"], callbacks=[stop],
              shuffle=False, verbose=2)  # the training split shuffles itself each epoch
    return (np.ravel(model.predict(splits["test"], verbose=0)),
            lambda texts: sentiment.score_texts(model, vectorizer, texts))


def log_count_ratios(counts, labels, alpha=1.0):
    """The notebook's exercise 4.6."""
    x = (counts > 0).astype("float64")
    nu_positive = alpha + x.T @ (labels == 1)
    nu_negative = alpha + x.T @ (labels == 0)
    return np.log(nu_positive / nu_positive.sum()) - np.log(nu_negative / nu_negative.sum())


def fit_nbsvm(data, settings):
    """The notebook's n-gram model; returns test probabilities and a scorer of any texts."""
    ngram_sets = ngrams.NgramSets(data["train"].texts, settings["ngram_tokens"])
    ratios = log_count_ratios(ngram_sets.counts(data["train"].texts), data["train"].labels)
    model, batches = ngrams.train_nbsvm(data, ngram_sets, ratios, learning_rate=settings["lr"])
    return (np.ravel(model.predict(batches["test"], verbose=0)),
            lambda texts: ngrams.score_texts(model, ngram_sets, texts))


def squared_hinge_svm(features, signs, c=1.0, epochs=10, seed=0):
    """min_w 1/2 |w|^2 + C sum_n max(0, 1 - s_n (w.x_n + b))^2, the bias b as a constant feature, by dual
    coordinate descent (Hsieh et al. 2008; LIBLINEAR's solver for this loss, which Wang & Manning used)."""
    from scipy import sparse

    x = sparse.hstack([features, np.ones((features.shape[0], 1))]).tocsr()
    w, dual, diagonal = np.zeros(x.shape[1]), np.zeros(x.shape[0]), 1 / (2 * c)
    squares = np.asarray(x.multiply(x).sum(axis=1)).ravel() + diagonal
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        for n in rng.permutation(x.shape[0]):
            columns, values = x.indices[x.indptr[n]:x.indptr[n + 1]], x.data[x.indptr[n]:x.indptr[n + 1]]
            gradient = signs[n] * (w[columns] @ values) - 1 + diagonal * dual[n]
            new = max(dual[n] - gradient / squares[n], 0.0)
            w[columns] += (new - dual[n]) * signs[n] * values
            dual[n] = new
    return w[:-1], w[-1]


def fit_published_nbsvm(data, settings, beta=0.25):
    """Wang & Manning's NBSVM: an SVM (C = 1) on the features r * x, its weights interpolated with their mean
    magnitude, w' = (1 - beta) mean|w| + beta w; returns sigmoid(margin) on the test texts, and a scorer."""
    ngram_sets = ngrams.NgramSets(data["train"].texts, settings["ngram_tokens"])
    ratios = log_count_ratios(ngram_sets.counts(data["train"].texts), data["train"].labels)
    features = lambda texts: (ngram_sets.counts(texts) > 0).astype("float64").multiply(ratios).tocsr()  # noqa: E731
    w, b = squared_hinge_svm(features(data["train"].texts), 2.0 * data["train"].labels - 1)
    interpolated = (1 - beta) * np.mean(np.abs(w)) + beta * w
    score = lambda texts: 1 / (1 + np.exp(-(features(texts) @ interpolated + b)))  # noqa: E731
    return score(data["test"].texts), score


CANDIDATES = {
    "average": ("average embeddings (order-blind)", lambda data, s: fit_sequence_model(
        sentiment.build_average_baseline(s["vocab_size"], s["embed_dim"]), data, s)),
    "nbsvm": ("n-gram NB-LR (unigrams + bigrams)", fit_nbsvm),
    "nbsvm-published": ("NBSVM as published (SVM, beta = 0.25)", fit_published_nbsvm),
    "lstm": ("bidirectional LSTM", lambda data, s: fit_sequence_model(
        build_bidirectional_classifier(s["vocab_size"], s["embed_dim"], s["units"]), data, s)),
}


def accuracy(probabilities, labels) -> float:
    """Share of texts whose probability of 'positive' falls on the side of 0.5 of their label."""
    return float(np.mean((probabilities > 0.5) == labels))


def row(source, name, test_accuracy, seconds):
    meets = test_accuracy >= BARS[source] and seconds <= TIME_BAR_S
    return (keras.backend.backend(), source, name, f"{100 * test_accuracy:.2f}", f"{seconds:.0f}",
            f">= {100 * BARS[source]:.1f}% in {TIME_BAR_S} s: {'yes' if meets else 'no'}")


def run_split(source, data, settings, models):
    """Each model on the hashed split, then the NB-LR + LSTM ensemble when both ran."""
    rows, results, scorers = [], {}, {}
    for key in models:
        name, train_and_predict = CANDIDATES[key]
        keras.utils.set_random_seed(0)
        print(f"== {source}: {name}", flush=True)
        start = time.perf_counter()
        probabilities, scorers[name] = train_and_predict(data, settings)
        results[key] = (probabilities, time.perf_counter() - start)
        rows.append(row(source, name, accuracy(probabilities, data["test"].labels), results[key][1]))
    if {"nbsvm", "lstm"} <= set(results):
        mean = (results["nbsvm"][0] + results["lstm"][0]) / 2
        rows.append(row(source, "ensemble: NB-LR + LSTM", accuracy(mean, data["test"].labels),
                        results["nbsvm"][1] + results["lstm"][1]))
    print(f"\n{source}: the notebook's order test (4.7)")
    for name, scores in sentiment.order_test(scorers).items():
        gaps = scores[:, 0] - scores[:, 1]  # the first sentence of each pair ends on the positive
        print(f"{name}: largest gap within a pair {np.max(np.abs(gaps)):.3f}; the sentence that ends on the "
              f"positive scored higher in {np.sum(gaps > 1e-3)} of {len(gaps)} pairs, lower in {np.sum(gaps < -1e-3)}")
    return rows


def fold_of(text: str, folds: int) -> int:
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest(), 16) % folds


def cross_validate_nbsvm(source, data, settings, folds, key="nbsvm"):
    """K-fold accuracy of an n-gram model on all texts; one training fold serves for early stopping."""
    texts = np.concatenate([split.texts for split in data.values()])
    labels = np.concatenate([split.labels for split in data.values()])
    fold = np.array([fold_of(text, folds) for text in texts])
    accuracies = []
    for k in range(folds):
        parts = {"train": (fold != k) & (fold != (k + 1) % folds), "val": fold == (k + 1) % folds, "test": fold == k}
        splits = {name: sentiment.Split(texts[inside], labels[inside]) for name, inside in parts.items()}
        keras.utils.set_random_seed(0)
        probabilities, _ = CANDIDATES[key][1](splits, settings)
        accuracies.append(accuracy(probabilities, splits["test"].labels))
        print(f"   fold {k + 1}/{folds}: {100 * accuracies[-1]:.2f}%", flush=True)
    mean, spread = np.mean(accuracies), np.std(accuracies) / np.sqrt(folds)
    print(f"{source} on {keras.backend.backend()}: {CANDIDATES[key][0]} {folds}-fold cross-validated accuracy "
          f"{100 * mean:.2f}% +- {100 * spread:.2f} (bar {100 * BARS[source]:.1f}%)")


def run(quick: bool, sources, models, folds):
    print(backends.banner(), flush=True)  # the backend KERAS_BACKEND picked (TensorFlow when unset)
    rows = []
    for source in sources:
        settings = FULL[source] | (QUICK if quick else {})
        data = sentiment.load_reviews(source)
        data["train"] = data["train"].sample(settings.get("train_count"))
        rows += run_split(source, data, settings, models)
        for key in ("nbsvm", "nbsvm-published") if folds else ():
            if key in models:
                cross_validate_nbsvm(source, sentiment.load_reviews(source), settings, folds, key)
    print(format_table(("backend", "data", "model", "test acc %", "wall s", "bar"), rows))


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
