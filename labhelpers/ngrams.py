"""A bag of n-grams with Naive Bayes weights, as a Keras model: the features of Wang & Manning's
NBSVM (2012), trained as a logistic regression (NB-LR): no squared-hinge SVM, no interpolation, and
no regulariser in the loss, where early stopping does the regulariser's work.

Each text becomes the set of its word n-grams (unigrams and bigrams: "not", "bad", "not bad").
Naive Bayes gives each n-gram a log-count ratio r: how much more often it appears in positive
than in negative training texts (the learner computes r from `NgramSets.counts`, exercise 4.6,
and hands it to `train_nbsvm`). The model is a logistic regression on those weighted features,
p = sigmoid(W_hy * sum_i omega_i r_i + b_y) over the n-grams i of the text, with W_hy one number.
Every omega_i starts at the same value, so it starts as Naive Bayes up to a scale, and is then
trained; stopping early limits how far the omega_i move from it. The trained-weights-times-fixed-ratios
embeddings are Jeremy Howard's NBSVM++ (fast.ai, `DotProdNB` in fastai 0.7); the trained scale
W_hy is ours. Bigrams see two-word order ("not bad" vs "bad, not"), nothing longer.
"""

from __future__ import annotations

import numpy as np

from labhelpers.sentiment import Split, as_str, standardize


class NgramSets:
    """Texts -> their word n-grams: counts per text (for the ratios r), distinct ids (for the model).

    Column j of `counts` is n-gram j of `vocabulary` ([UNK] first, then by frequency); the model
    reads it as id j + 1, since id 0 is left for padding. The `TextVectorization` gives each text the ids
    of its n-grams in that numbering (0 padding, 1 [UNK]), which are counted here: its own counts come as
    a sparse tensor only on TensorFlow, and the dense one, texts x 300,000, would not fit in memory.
    """

    CHUNK = 1_000  # texts vectorized at once: a chunk of IMDB reviews is 1,000 x about 5,000 ids

    def __init__(self, train_texts, max_tokens: int, ngrams: int = 2):
        from keras import layers

        # max_tokens + 1: the int output adds the padding id 0 to the max_tokens n-grams ([UNK] one of them)
        self.vectorizer = layers.TextVectorization(max_tokens=max_tokens + 1, ngrams=ngrams, standardize=standardize,
                                                   output_mode="int")
        self.vectorizer.adapt(np.asarray(train_texts, dtype=object))
        self.vocabulary = np.array(self.vectorizer.get_vocabulary()[1:])  # without the padding ''
        self.size = len(self.vocabulary) + 1  # the model's ids: padding and the vocabulary

    def counts(self, texts):
        """A SciPy sparse matrix (texts x n-grams): how often each n-gram occurs in each text."""
        import keras
        from scipy import sparse

        texts = np.asarray(texts, dtype=object)
        chunks = []
        for start in range(0, len(texts), self.CHUNK):
            ids = keras.ops.convert_to_numpy(self.vectorizer(as_str(texts[start:start + self.CHUNK])))
            rows = np.broadcast_to(np.arange(len(ids))[:, None], ids.shape)[ids > 0]
            # duplicates of a (text, n-gram) pair are summed into its count, columns sorted in each row
            chunks.append(sparse.csr_matrix((np.ones(len(rows), dtype="int64"), (rows, ids[ids > 0] - 1)),
                                            shape=(len(ids), len(self.vocabulary))))
        counts = sparse.vstack(chunks, format="csr") if chunks else sparse.csr_matrix(
            (0, len(self.vocabulary)), dtype="int64")
        counts.sum_duplicates()
        return counts

    def __call__(self, texts) -> list[np.ndarray]:
        """One array of distinct n-gram ids per text (column + 1)."""
        counts = self.counts(texts)
        return np.split(counts.indices.astype("int32") + 1, counts.indptr[1:-1])


LENGTH_STEP_ON_JAX = 256  # JAX pads each batch up to a multiple of this many ids


def dataset(id_sets: list[np.ndarray], labels, batch_size: int, shuffle: bool = False, seed: int = 0):
    """(padded n-gram ids, label) batches; each batch is padded only to its own longest text.

    On JAX, up to the next multiple of LENGTH_STEP_ON_JAX: JAX compiles `fit`'s step once per input shape,
    and batches of as many lengths as batches would compile it at almost every step (on TensorFlow and
    PyTorch one step serves every length). Padding adds nothing: its r is 0.
    """
    import keras
    import tensorflow as tf

    step = LENGTH_STEP_ON_JAX if keras.backend.backend() == "jax" else 1

    def pad(ids, labels):
        dense = ids.to_tensor()
        if step > 1:
            length = tf.shape(dense)[1]
            dense = tf.pad(dense, [[0, 0], [0, -length % step]])
        return dense, labels

    ragged = tf.ragged.constant(id_sets, dtype=tf.int32)
    data = tf.data.Dataset.from_tensor_slices((ragged, np.asarray(labels, dtype="float32")))
    if shuffle:
        data = data.shuffle(len(id_sets), seed=seed, reshuffle_each_iteration=True)
    return data.ragged_batch(batch_size).map(pad).prefetch(tf.data.AUTOTUNE)


def build_nbsvm(ratios: np.ndarray, initial_weight: float = 0.2):
    """p = sigmoid(W_hy * sum_i omega_i r_i + b_y) over the text's n-grams i: r is fixed (one number per column
    of `NgramSets.counts`; padding, id 0, gets r = 0), omega starts equal for all, the scale W_hy at 1."""
    import keras
    from keras import layers, ops

    ratios = np.concatenate([[0.0], np.ravel(ratios)]).astype("float32")
    ids = keras.Input(shape=(None,), dtype="int32")
    weights = layers.Embedding(len(ratios), 1, embeddings_initializer=keras.initializers.Constant(initial_weight),
                               name="weights")(ids)
    fixed = layers.Embedding(len(ratios), 1, embeddings_initializer=keras.initializers.Constant(ratios[:, None]),
                             trainable=False, name="log_count_ratios")(ids)
    evidence = ops.sum(weights * fixed, axis=1)  # padding has r = 0, so it adds nothing
    probability = layers.Dense(1, activation="sigmoid", kernel_initializer="ones", name="scale_and_bias")(evidence)
    return keras.Model(ids, probability, name="nbsvm")


def train_nbsvm(splits: dict[str, Split], ngram_sets: NgramSets, ratios, initial_weight: float = 0.2,
                max_epochs: int = 10, learning_rate: float = 1e-3, batch_size: int = 64, seed: int = 0):
    """Train the model on the n-gram ids of the splits with early stopping; `ratios`: r for each n-gram.

    Returns (model, {split name: dataset}).
    """
    import keras
    from tqdm.keras import TqdmCallback

    if np.shape(np.ravel(ratios)) != (len(ngram_sets.vocabulary),) or not np.all(np.isfinite(ratios)):
        raise ValueError(f"ratios must be {len(ngram_sets.vocabulary):,} finite numbers, one per n-gram: run the "
                         "check of exercise 4.6")
    data = {name: dataset(ngram_sets(split.texts), split.labels, batch_size, shuffle=name == "train", seed=seed)
            for name, split in splits.items()}
    keras.utils.set_random_seed(seed)
    model = build_nbsvm(ratios, initial_weight)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy", metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
    model.fit(data["train"], validation_data=data["val"], epochs=max_epochs, shuffle=False,  # the data shuffles itself
              callbacks=[stop, TqdmCallback(verbose=0)], verbose=0)
    return model, data


def padded(id_sets: list[np.ndarray]) -> np.ndarray:
    """The id sets as one int32 array, each row padded with zeros to the longest."""
    ids = np.zeros((len(id_sets), max((len(row) for row in id_sets), default=0)), dtype="int32")
    for row, found in zip(ids, id_sets):
        row[:len(found)] = found
    return ids


def score_texts(model, ngram_sets: NgramSets, texts) -> np.ndarray:
    """The model's probability of 'positive' for each of a few texts (a direct call, as `sentiment.score_texts`)."""
    import keras

    return np.ravel(keras.ops.convert_to_numpy(model(padded(ngram_sets(texts)), training=False)))


def show_ratios(ngram_sets: NgramSets, ratios, chosen) -> None:
    """Print r for a few chosen n-grams (r > 0: more frequent in positive texts)."""
    from labhelpers.grading import format_table

    column = {ngram: j for j, ngram in enumerate(ngram_sets.vocabulary)}
    print(format_table(("n-gram", "r"), [(ngram, f"{np.ravel(ratios)[column[ngram]]:+.2f}" if ngram in column
                                          else "not in the vocabulary") for ngram in chosen]))


def show_strongest(ngram_sets: NgramSets, model, count: int = 10) -> None:
    """Print the n-grams that push hardest towards positive and towards negative (omega_i * r_i)."""
    import keras

    from labhelpers.grading import format_table

    vocabulary = np.array(["(padding)", *ngram_sets.vocabulary])
    weights = np.ravel(keras.ops.convert_to_numpy(model.get_layer("weights").embeddings))
    ratios = np.ravel(keras.ops.convert_to_numpy(model.get_layer("log_count_ratios").embeddings))
    push = weights * ratios
    order = np.argsort(push)
    rows = [(vocabulary[p], f"{push[p]:+.2f}", vocabulary[n], f"{push[n]:+.2f}")
            for p, n in zip(order[::-1][:count], order[:count])]
    print(format_table(("towards positive", "ω r", "towards negative", "ω r"), rows))
