"""A bag of n-grams with Naive Bayes weights, as a Keras model: the features of Wang & Manning's
NBSVM (2012), trained as a logistic regression (no hinge loss, no interpolation, no regulariser).

Each text becomes the set of its word n-grams (unigrams and bigrams: "not", "bad", "not bad").
Naive Bayes gives each n-gram a log-count ratio r: how much more often it appears in positive
than in negative training texts. The model is a logistic regression on those weighted features,
p = sigmoid(a * sum_i w_i r_i + b) over the n-grams i of the text. Every w_i starts at the same
value, so it starts as Naive Bayes up to a scale, and is then trained. Bigrams see two-word order
("not bad" vs "bad, not"), nothing longer.
"""

from __future__ import annotations

import numpy as np

from labhelpers.sentiment import Split, standardize


class NgramSets:
    """Texts -> the ids of their distinct n-grams, as ragged rows; id 0 is left for padding."""

    def __init__(self, train_texts, max_tokens: int, ngrams: int = 2):
        from keras import layers

        self.vectorizer = layers.TextVectorization(max_tokens=max_tokens, ngrams=ngrams, standardize=standardize,
                                                   output_mode="multi_hot", sparse=True)
        self.vectorizer.adapt(np.asarray(train_texts, dtype=object))
        self.size = self.vectorizer.vocabulary_size() + 1  # ids 1.. are the vocabulary ([UNK] first)

    def __call__(self, texts) -> list[np.ndarray]:
        """One array of distinct n-gram ids per text, in vocabulary order (frequent first)."""
        found = self.vectorizer(np.asarray(texts, dtype=object))
        rows, columns = np.asarray(found.indices).T
        return np.split(columns.astype("int32") + 1, np.searchsorted(rows, np.arange(1, len(texts))))


def log_count_ratios(id_sets: list[np.ndarray], labels, size: int, alpha: float = 1.0) -> np.ndarray:
    """r = log((p / |p|_1) / (q / |q|_1)): p, q = alpha + n-gram counts in positive, negative texts."""
    labels = np.asarray(labels)
    counts = {label: np.full(size, alpha) for label in (0, 1)}
    for ids, label in zip(id_sets, labels):
        counts[int(label)][ids] += 1
    ratios = np.log(counts[1] / counts[1].sum()) - np.log(counts[0] / counts[0].sum())
    ratios[0] = 0.0  # padding
    return ratios.astype("float32")


def dataset(id_sets: list[np.ndarray], labels, batch_size: int, shuffle: bool = False, seed: int = 0):
    """(padded n-gram ids, label) batches; each batch is padded only to its own longest text."""
    import tensorflow as tf

    ragged = tf.ragged.constant(id_sets, dtype=tf.int32)
    data = tf.data.Dataset.from_tensor_slices((ragged, np.asarray(labels, dtype="float32")))
    if shuffle:
        data = data.shuffle(len(id_sets), seed=seed, reshuffle_each_iteration=True)
    padded = data.ragged_batch(batch_size).map(lambda ids, labels: (ids.to_tensor(), labels))
    return padded.prefetch(tf.data.AUTOTUNE)


def build_nbsvm(ratios: np.ndarray, initial_weight: float = 0.2):
    """p = sigmoid(a * sum_i w_i r_i + b) over the text's n-grams i: r is fixed, w starts equal for all,
    the scale a starts at 1."""
    import keras
    from keras import layers, ops

    ids = keras.Input(shape=(None,), dtype="int32")
    weights = layers.Embedding(len(ratios), 1, embeddings_initializer=keras.initializers.Constant(initial_weight),
                               name="weights")(ids)
    fixed = layers.Embedding(len(ratios), 1, embeddings_initializer=keras.initializers.Constant(ratios[:, None]),
                             trainable=False, name="log_count_ratios")(ids)
    evidence = ops.sum(weights * fixed, axis=1)  # padding has r = 0, so it adds nothing
    probability = layers.Dense(1, activation="sigmoid", kernel_initializer="ones", name="scale_and_bias")(evidence)
    return keras.Model(ids, probability, name="nbsvm")


def train_nbsvm(splits: dict[str, Split], max_tokens: int, ngrams: int = 2, initial_weight: float = 0.2,
                max_epochs: int = 10, learning_rate: float = 1e-3, batch_size: int = 64, seed: int = 0):
    """Fit the n-gram sets and ratios on the training split, train with early stopping.

    Returns (model, ngram_sets, {split name: dataset}).
    """
    import keras
    from tqdm.keras import TqdmCallback

    ngram_sets = NgramSets(splits["train"].texts, max_tokens, ngrams)
    ids = {name: ngram_sets(split.texts) for name, split in splits.items()}
    ratios = log_count_ratios(ids["train"], splits["train"].labels, ngram_sets.size)
    data = {name: dataset(ids[name], split.labels, batch_size, shuffle=name == "train", seed=seed)
            for name, split in splits.items()}
    keras.utils.set_random_seed(seed)
    model = build_nbsvm(ratios, initial_weight)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy", metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
    model.fit(data["train"], validation_data=data["val"], epochs=max_epochs, shuffle=False,  # the data shuffles itself
              callbacks=[stop, TqdmCallback(verbose=0)], verbose=0)
    return model, ngram_sets, data


def score_texts(model, ngram_sets: NgramSets, texts) -> np.ndarray:
    """The model's probability of 'positive' for each of a few texts (a direct call, as `sentiment.score_texts`)."""
    import tensorflow as tf

    ids = tf.ragged.constant(ngram_sets(texts), dtype=tf.int32, ragged_rank=1).to_tensor()
    return np.ravel(np.asarray(model(ids, training=False)))


def show_strongest(ngram_sets: NgramSets, model, count: int = 10) -> None:
    """Print the n-grams that push hardest towards positive and towards negative (w_i * r_i)."""
    from labhelpers.grading import format_table

    vocabulary = np.array(["(padding)", *ngram_sets.vectorizer.get_vocabulary()])
    weights = np.ravel(model.get_layer("weights").embeddings.numpy())
    ratios = np.ravel(model.get_layer("log_count_ratios").embeddings.numpy())
    push = weights * ratios
    order = np.argsort(push)
    rows = [(vocabulary[p], f"{push[p]:+.2f}", vocabulary[n], f"{push[n]:+.2f}")
            for p, n in zip(order[::-1][:count], order[:count])]
    print(format_table(("towards positive", "w r", "towards negative", "w r"), rows))
