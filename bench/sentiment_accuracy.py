"""Lab 04 bench: test accuracy and wall time of the full-mode recipe, next to its baselines.

For each source (IMDB, Rotten Tomatoes) it trains, from scratch and on the same hashed split:
  * the order-blind average-embedding baseline of the notebook,
  * a bag of unigrams + bigrams (tf-idf) with logistic regression (NBSVM's features),
  * the notebook's bidirectional LSTM with early stopping,
and prints accuracy and wall time against the bars (IMDB >= 88.9%, Rotten Tomatoes >= 77%,
each in <= 10 minutes on a 2-core CPU). `--quick` shrinks everything to check the script runs.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

from labhelpers import sentiment  # noqa: E402
from labhelpers.grading import format_table  # noqa: E402

BARS = {"imdb": 0.889, "rotten_tomatoes": 0.77}
TIME_BAR_S = 600
FULL = {
    "imdb": dict(vocab_size=20_000, seq_len=256, embed_dim=64, units=32, max_epochs=6, lr=2e-3,
                 bigram_tokens=50_000),
    "rotten_tomatoes": dict(vocab_size=10_000, seq_len=40, embed_dim=64, units=32, max_epochs=10,
                            lr=2e-3, bigram_tokens=20_000),
}
QUICK = dict(train_count=2_000, seq_len=64, max_epochs=2)


def compile_and_fit(model, train_data, val_data, max_epochs, lr):
    """The notebook's training recipe: Adam, binary cross-entropy, early stopping on val_loss."""
    model.compile(optimizer=keras.optimizers.Adam(lr), loss="binary_crossentropy", metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
    model.fit(train_data, validation_data=val_data, epochs=max_epochs, callbacks=[stop], verbose=2)
    return model


def sequence_models(data, settings):
    """Average-embedding baseline and bidirectional LSTM on id sequences."""
    vectorizer = sentiment.reference_vectorizer(data["train"].texts, settings["vocab_size"], settings["seq_len"])
    splits = {name: sentiment.make_dataset(vectorizer, split, 64, shuffle=name == "train")
              for name, split in data.items()}
    builders = {
        "average embeddings (order-blind)": lambda: sentiment.build_average_baseline(
            settings["vocab_size"], settings["embed_dim"]),
        "bidirectional LSTM": lambda: sentiment.reference_classifier(
            settings["vocab_size"], settings["embed_dim"], settings["units"], bidirectional=True),
    }
    for name, build in builders.items():
        yield name, lambda build=build: compile_and_fit(
            build(), splits["train"], splits["val"], settings["max_epochs"], settings["lr"]).evaluate(
            splits["test"], verbose=0, return_dict=True)["accuracy"]


def bigram_model(data, settings):
    """Logistic regression (with dropout) on tf-idf of unigrams and bigrams.

    Features are computed batch by batch: a dense (reviews x 50,000) matrix would not fit.
    """
    vectorizer = layers.TextVectorization(max_tokens=settings["bigram_tokens"], ngrams=2,
                                          output_mode="tf_idf", standardize=sentiment.standardize)
    vectorizer.adapt(data["train"].texts)

    def batches(split, shuffle=False):
        pairs = tf.data.Dataset.from_tensor_slices((split.texts, split.labels.astype("float32")))
        pairs = pairs.shuffle(len(split), seed=0) if shuffle else pairs
        return pairs.batch(64).map(lambda texts, labels: (vectorizer(texts), labels)).prefetch(4)

    model = keras.Sequential([keras.Input(shape=(settings["bigram_tokens"],)), layers.Dropout(0.5),
                              layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    model.fit(batches(data["train"], shuffle=True), validation_data=batches(data["val"]), epochs=20,
              callbacks=[stop], verbose=2)
    return model.evaluate(batches(data["test"]), verbose=0, return_dict=True)["accuracy"]


def run(quick: bool, sources):
    rows = []
    for source in sources:
        settings = FULL[source] | (QUICK if quick else {})
        data = sentiment.load_reviews(source)
        data["train"] = data["train"].sample(settings.get("train_count"))
        candidates = [("tf-idf unigrams + bigrams, logistic", lambda: bigram_model(data, settings)),
                      *sequence_models(data, settings)]
        for name, train_and_test in candidates:
            keras.utils.set_random_seed(0)
            print(f"== {source}: {name}", flush=True)
            start = time.perf_counter()
            accuracy = train_and_test()
            seconds = time.perf_counter() - start
            meets = accuracy >= BARS[source] and seconds <= TIME_BAR_S
            rows.append((source, name, f"{100 * accuracy:.2f}", f"{seconds:.0f}",
                         f">= {100 * BARS[source]:.1f}% in {TIME_BAR_S} s: {'yes' if meets else 'no'}"))
    print(format_table(("data", "model", "test acc %", "wall s", "bar"), rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny run: does the script work?")
    parser.add_argument("--sources", nargs="+", choices=sorted(FULL), default=list(FULL))
    args = parser.parse_args()
    run(args.quick, args.sources)
