"""Lab 04: wrong and right answers to exercises 4.1 to 4.6, written as students write them.

The answers are Keras layers, `fit` and NumPy, so almost every row runs on every backend (`on_every_backend`);
those written with TensorFlow's own ops stay TensorFlow's, each beside a keras.ops (or NumPy) row of the same
style. `TextVectorization` is written in TensorFlow on every backend: its `standardize` callable gets a string
tensor on TensorFlow and (Keras 3.15) a NumPy array of str on JAX and PyTorch, so a tf.strings standardize runs
everywhere and a NumPy one on JAX and PyTorch only. No exercise has a hand-written training step (4.4 is `fit`),
so no autodiff mistakes; the rows of one backend alone are 4.5 written with that framework's arrays, as its
learners write it, and that NumPy standardize.
"""

from __future__ import annotations

import collections

import keras
import numpy as np
from keras import layers, ops

from labhelpers import sentiment

from . import Right, Wrong, after_diagnosis, on_every_backend


# ---------------------------------------------------------------- 4.1 make_vectorizer
def vectorizer_with(adapt=True, size=0, length=0, **settings):
    """The notebook's answer with some settings changed (size, length: added to max_tokens, seq_len)."""
    def make_vectorizer(train_texts, vocab_size, seq_len):
        options = dict(max_tokens=vocab_size + size, output_sequence_length=seq_len + length,
                       standardize=sentiment.standardize)
        vectorizer = layers.TextVectorization(**(options | settings))
        if adapt:
            vectorizer.adapt(train_texts)
        return vectorizer
    return make_vectorizer


def vectorizer_counted_by_hand(train_texts, vocab_size, seq_len):
    words = sentiment.standardize(np.asarray(train_texts, dtype=object)).numpy()
    counts = collections.Counter(w for text in words for w in text.decode().split())
    vocabulary = [w for w, _ in counts.most_common(vocab_size - 2)]
    return layers.TextVectorization(output_sequence_length=seq_len, standardize=sentiment.standardize,
                                    vocabulary=vocabulary)


def vectorizer_adapted_on_batches(train_texts, vocab_size, seq_len):
    import tensorflow as tf

    vectorizer = layers.TextVectorization(vocab_size, standardize=sentiment.standardize,
                                          output_mode="int", output_sequence_length=seq_len)
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(train_texts).batch(3))
    return vectorizer


def vectorizer_adapted_in_batches(train_texts, vocab_size, seq_len):
    """adapt's own batching, on a list of str (no tf.data)."""
    vectorizer = layers.TextVectorization(vocab_size, standardize=sentiment.standardize,
                                          output_mode="int", output_sequence_length=seq_len)
    vectorizer.adapt([str(text) for text in train_texts], batch_size=3)
    return vectorizer


def clean(texts):
    """A standardize function of one's own in tf.strings: TextVectorization gives it a string tensor on TensorFlow
    and (Keras 3.15) a NumPy array of str on JAX and PyTorch, which tf.strings takes as well."""
    import tensorflow as tf

    texts = tf.strings.regex_replace(tf.strings.lower(texts), "<br />", " ")
    return tf.strings.regex_replace(texts, "[^a-z0-9']", " ")


def clean_with_numpy(texts):
    """A standardize function in NumPy, as JAX and PyTorch learners may write it: there (Keras 3.15)
    TextVectorization hands it a NumPy array of str (on TensorFlow a string tensor, which NumPy cannot read)."""
    import re

    def clean_one(text):
        return re.sub(r"[^a-z0-9']+", " ", re.sub(r"<br\s*/?>", " ", text))

    # any shape: adapt hands it a column of texts, (N, 1)
    return np.vectorize(clean_one, otypes=[object])(np.char.lower(np.asarray(texts, dtype=str))).astype(str)


def vectorizer_alphabetical(train_texts, vocab_size, seq_len):
    words = sentiment.standardize(np.asarray(train_texts, dtype=object)).numpy()
    vocabulary = sorted({w for text in words for w in text.decode().split()})[:vocab_size - 2]
    return layers.TextVectorization(output_sequence_length=seq_len, standardize=sentiment.standardize,
                                    vocabulary=vocabulary)


def vectorized_texts(train_texts, vocab_size, seq_len):
    return vectorizer_with()(train_texts, vocab_size, seq_len)(train_texts)


# ---------------------------------------------------------------- 4.2 and 4.3 classifiers
def classifier(bidirectional=False, mask=True, activation="sigmoid", cell=layers.LSTM, fixed_units=None,
               vocab_extra=0, swap=False, trainable=True, dense_units=1, **recurrent_options):
    """The notebook's Sequential model with one thing changed."""
    def build(vocab_size, embed_dim, units):
        if swap:
            embed_dim, units = units, embed_dim
        recurrent = cell(fixed_units or units, **recurrent_options)
        if bidirectional:
            recurrent = layers.Bidirectional(recurrent, **({} if bidirectional is True else bidirectional))
        return keras.Sequential([
            keras.Input(shape=(None,), dtype="int32"),
            layers.Embedding(vocab_size + vocab_extra, embed_dim, mask_zero=mask, trainable=trainable),
            recurrent,
            layers.Dense(dense_units, activation=activation),
        ])
    return build


def functional_with_dropout(vocab_size, embed_dim, units):
    ids = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(vocab_size, embed_dim, mask_zero=True)(ids)
    x = layers.Dropout(0.3)(layers.LSTM(units, dropout=0.2)(x))
    return keras.Model(ids, layers.Dense(1, activation="sigmoid")(x))


def added_without_input(vocab_size, embed_dim, units):
    model = keras.Sequential(name="lstm")
    model.add(layers.Embedding(input_dim=vocab_size, output_dim=embed_dim, mask_zero=True))
    model.add(layers.RNN(layers.LSTMCell(units)))
    model.add(layers.Dense(1, activation="sigmoid"))
    return model


class Subclassed(keras.Model):
    def __init__(self, vocab_size, embed_dim, units, bidirectional=False):
        super().__init__()
        self.embedding = layers.Embedding(vocab_size, embed_dim, mask_zero=True, dtype="float64")
        self.lstm = layers.LSTM(units, dtype="float64")
        if bidirectional:
            self.lstm = layers.Bidirectional(self.lstm, dtype="float64")
        self.out = layers.Dense(1, activation="sigmoid", dtype="float64")

    def call(self, ids):
        return self.out(self.lstm(self.embedding(ids)))


class DenseMadeInCall(keras.Model):
    def __init__(self, vocab_size, embed_dim, units):
        super().__init__()
        self.embedding = layers.Embedding(vocab_size, embed_dim, mask_zero=True)
        self.lstm = layers.LSTM(units)

    def call(self, ids):
        return layers.Dense(1, activation="sigmoid")(self.lstm(self.embedding(ids)))


def masking_layer(vocab_size, embed_dim, units):
    return keras.Sequential([keras.Input(shape=(None,), dtype="int64"), layers.Embedding(vocab_size, embed_dim),
                             layers.Masking(mask_value=0.0), layers.LSTM(units), layers.Dense(1, activation="sigmoid")])


def two_directions_by_hand(vocab_size, embed_dim, units):
    ids = keras.Input(shape=(None,), dtype="int64")
    x = layers.Embedding(vocab_size, embed_dim, mask_zero=True)(ids)
    both = layers.Concatenate()([layers.LSTM(units)(x), layers.LSTM(units, go_backwards=True)(x)])
    return keras.Model(ids, layers.Dense(1, activation="sigmoid")(both))


def explicit_backward_layer(vocab_size, embed_dim, units):
    both = layers.Bidirectional(layers.LSTM(units), backward_layer=layers.LSTM(units, go_backwards=True))
    return keras.Sequential([keras.Input(shape=(None,), dtype="int64"),
                             layers.Embedding(vocab_size, embed_dim, mask_zero=True), both,
                             layers.Dense(1, activation="sigmoid")])


def stacked_instead_of_bidirectional(vocab_size, embed_dim, units):
    return keras.Sequential([keras.Input(shape=(None,), dtype="int64"),
                             layers.Embedding(vocab_size, embed_dim, mask_zero=True),
                             layers.LSTM(units, return_sequences=True), layers.LSTM(units),
                             layers.Dense(1, activation="sigmoid")])


# ---------------------------------------------------------------- 4.4 train_with_early_stopping
def trainer(optimizer=lambda lr: keras.optimizers.Adam(lr), loss="binary_crossentropy", metrics=("accuracy",),
            epochs=lambda max_epochs: max_epochs, validation=True, stop=True, give_back=True, **stop_options):
    """The notebook's answer with one thing changed."""
    def train_with_early_stopping(model, train_data, val_data, max_epochs, patience, learning_rate=1e-3):
        model.compile(optimizer=optimizer(learning_rate), loss=loss, metrics=list(metrics))
        options = dict(monitor="val_loss", patience=patience, restore_best_weights=True) | stop_options
        callbacks = [keras.callbacks.EarlyStopping(**options)] if stop else []
        history = model.fit(train_data, validation_data=val_data if validation else None, epochs=epochs(max_epochs),
                            shuffle=False, callbacks=callbacks, verbose=0)
        return history if give_back else None
    return train_with_early_stopping


def trainer_with_progress_bar(model, train_data, val_data, max_epochs, patience, learning_rate=1e-3):
    from tqdm.keras import TqdmCallback

    model.compile(keras.optimizers.Adam(learning_rate=learning_rate), keras.losses.BinaryCrossentropy(),
                  metrics=[keras.metrics.BinaryAccuracy()])
    early = keras.callbacks.EarlyStopping("val_loss", patience=patience, restore_best_weights=True)
    return model.fit(train_data, epochs=max_epochs, validation_data=val_data, shuffle=False, verbose=0,
                     callbacks=[TqdmCallback(verbose=0), early])


# ---------------------------------------------------------------- 4.5 evaluate_predictions
def evaluation(flatten=True, threshold=lambda p: p > 0.5, scale=1, transpose=False, normalise=None,
               flat_confusion=False, swap=False, error_rate=False):
    """The notebook's answer (a counting loop) with one thing changed."""
    def evaluate_predictions(probabilities, labels):
        predicted = threshold(np.ravel(probabilities) if flatten else probabilities).astype(int)
        accuracy = np.mean(predicted == labels)
        confusion = np.zeros((2, 2), dtype=int)
        for truth, guess in zip(labels, np.ravel(predicted)):
            confusion[(guess, truth) if transpose else (truth, guess)] += 1
        if normalise == "all":
            confusion = confusion / len(labels)
        elif normalise == "rows":
            confusion = confusion / confusion.sum(axis=1, keepdims=True)
        accuracy = scale * ((1 - accuracy) if error_rate else accuracy)
        confusion = confusion.ravel() if flat_confusion else confusion
        return (confusion, accuracy) if swap else (accuracy, confusion)
    return evaluate_predictions


def evaluation_by_bincount(probabilities, labels):
    predicted = (probabilities[:, 0] > 0.5).astype(np.int64)
    confusion = np.bincount(2 * labels.astype(np.int64) + predicted, minlength=4).reshape(2, 2)
    return np.trace(confusion) / confusion.sum(), confusion


def evaluation_with_tensorflow(probabilities, labels):
    import tensorflow as tf

    predicted = tf.cast(tf.reshape(probabilities, [-1]) > 0.5, tf.int64)
    confusion = tf.math.confusion_matrix(labels, predicted, num_classes=2)
    accuracy = tf.reduce_mean(tf.cast(tf.equal(predicted, tf.cast(labels, tf.int64)), tf.float64))
    return float(accuracy), confusion


def evaluation_with_keras_ops(probabilities, labels):
    """keras.ops on any backend: the confusion as a one-hot product, the accuracy a tensor."""
    predicted = ops.cast(ops.reshape(probabilities, (-1,)) > 0.5, "int32")
    truth = ops.one_hot(ops.convert_to_tensor(labels, "int32"), 2)
    confusion = ops.matmul(ops.transpose(truth), ops.one_hot(predicted, 2))
    accuracy = ops.mean(ops.cast(ops.equal(predicted, ops.convert_to_tensor(labels, "int32")), "float32"))
    return ops.convert_to_numpy(accuracy), ops.convert_to_numpy(confusion).astype(int)


def evaluation_with_torch(probabilities, labels):
    """As a PyTorch learner writes it: torch tensors, bincount, .item()."""
    import torch

    predicted = (torch.from_numpy(probabilities).squeeze(1) > 0.5).long()
    truth = torch.from_numpy(np.asarray(labels)).long()
    confusion = torch.bincount(2 * truth + predicted, minlength=4).reshape(2, 2)
    return (predicted == truth).float().mean().item(), confusion.numpy()


def evaluation_with_torch_broadcasting(probabilities, labels):
    """(N, 1) against (N,) in PyTorch broadcasts to (N, N), as in NumPy."""
    import torch

    predicted = (torch.from_numpy(probabilities) > 0.5).long()
    truth = torch.from_numpy(np.asarray(labels)).long()
    accuracy = (predicted == truth).float().mean().item()
    confusion = torch.bincount(2 * truth + predicted.squeeze(1), minlength=4).reshape(2, 2)
    return accuracy, confusion.numpy()


def evaluation_with_jax(probabilities, labels):
    """As a JAX learner writes it: jax.numpy, the counts added at the pairs with .at[].add."""
    import jax.numpy as jnp

    predicted = (jnp.ravel(probabilities) > 0.5).astype(int)
    confusion = jnp.zeros((2, 2), dtype=int).at[labels, predicted].add(1)
    return jnp.mean(predicted == labels), confusion


def evaluation_with_jax_set(probabilities, labels):
    """.at[].set(1) where .add(1) was meant: each (true, predicted) pair is marked, not counted."""
    import jax.numpy as jnp

    predicted = (jnp.ravel(probabilities) > 0.5).astype(int)
    confusion = jnp.zeros((2, 2), dtype=int).at[labels, predicted].set(1)
    return jnp.mean(predicted == labels), confusion


def evaluation_with_jax_in_place(probabilities, labels):
    """NumPy's counting loop on a JAX array, which cannot be changed in place."""
    import jax.numpy as jnp

    predicted = (jnp.ravel(probabilities) > 0.5).astype(int)
    confusion = jnp.zeros((2, 2), dtype=int)
    for truth, guess in zip(labels, predicted):
        confusion[truth, guess] += 1
    return jnp.mean(predicted == labels), confusion


def evaluation_index_arrays(probabilities, labels):
    """`+= 1` through index arrays: NumPy writes each (true, predicted) cell once."""
    predicted = (np.ravel(probabilities) > 0.5).astype(int)
    confusion = np.zeros((2, 2), dtype=int)
    confusion[labels, predicted] += 1
    return np.mean(predicted == labels), confusion


def evaluation_add_at(probabilities, labels):
    predicted = np.where(probabilities.squeeze(-1) > 0.5, 1, 0)
    confusion = np.zeros((2, 2), dtype=np.float64)
    np.add.at(confusion, (labels, predicted), 1.0)
    return (confusion[0, 0] + confusion[1, 1]) / len(labels), confusion


def evaluation_only_accuracy(probabilities, labels):
    return np.mean((np.ravel(probabilities) > 0.5) == labels)


# ---------------------------------------------------------------- 4.6 log_count_ratios
def ratios(alpha_fixed=None, binarise=True, normalise="l1", log=np.log, flip=False, smoothing="counts",
           mean=False, q_from_all=False, norm_without_alpha=False, flatten=True):
    """The notebook's answer (sparse matrix products) with one thing changed."""
    def log_count_ratios(counts, labels, alpha=1.0):
        alpha = alpha if alpha_fixed is None else alpha_fixed
        x = (counts > 0).astype("float64") if binarise else counts.astype("float64")
        positive, negative = (labels == 0, labels == 1) if flip else (labels == 1, labels == 0)
        if q_from_all:
            negative = np.ones_like(negative)
        if flatten:
            sums = [x.T @ positive, x.T @ negative]
        else:
            sums = [x[positive].sum(axis=0), x[negative].sum(axis=0)]
        if mean:
            sums = [sums[0] / positive.sum(), sums[1] / negative.sum()]
        if smoothing == "after":
            return log(sums[0] / sums[0].sum() + alpha) - log(sums[1] / sums[1].sum() + alpha)
        p, q = alpha + sums[0], alpha + sums[1]
        if normalise == "none":
            return log(p / q)
        if normalise == "reviews":
            return log(p / positive.sum()) - log(q / negative.sum())
        if norm_without_alpha:
            return log(p / sums[0].sum()) - log(q / sums[1].sum())
        return log(p / p.sum()) - log(q / q.sum())
    return log_count_ratios


def ratios_upside_down(counts, labels, alpha=1.0):
    x = (counts > 0).astype(float)
    p = alpha + np.asarray(x[labels == 1].sum(axis=0)).ravel()
    q = alpha + np.asarray(x[labels == 0].sum(axis=0)).ravel()
    return np.log((q / q.sum()) / (p / p.sum()))


def ratios_by_rows(counts, labels, alpha=1.0):
    """Sums of row slices, binarised with .sign(), flattened from np.matrix."""
    x = counts.sign()
    p = alpha + np.asarray(x[labels == 1].sum(axis=0)).ravel()
    q = alpha + np.asarray(x[labels == 0].sum(axis=0)).ravel()
    return np.log(p / np.abs(p).sum() / (q / np.abs(q).sum()))


def ratios_in_a_loop(counts, labels, alpha=1.0):
    """One review at a time over the CSR rows; each n-gram of a review counted once."""
    p = np.full(counts.shape[1], alpha)
    q = np.full(counts.shape[1], alpha)
    for row, label in enumerate(labels):
        present = counts[row].indices[counts[row].data > 0]
        (p if label == 1 else q)[np.unique(present)] += 1
    return np.log(p / p.sum()) - np.log(q / q.sum())


def ratios_with_tensorflow(counts, labels, alpha=1.0):
    """Dense (the drawn matrices are small) TensorFlow ops, float32."""
    import tensorflow as tf

    x = tf.cast(tf.constant(counts.toarray()) > 0, tf.float32)
    y = tf.cast(tf.constant(labels), tf.float32)[:, None]
    p = alpha + tf.reduce_sum(x * y, axis=0)
    q = alpha + tf.reduce_sum(x * (1 - y), axis=0)
    return tf.math.log(p / tf.reduce_sum(p)) - tf.math.log(q / tf.reduce_sum(q))


def ratios_with_keras_ops(counts, labels, alpha=1.0, log=ops.log):
    """Dense (the drawn matrices are small) keras.ops, float32, on any backend."""
    x = ops.cast(ops.convert_to_tensor(counts.toarray()) > 0, "float32")
    y = ops.cast(ops.convert_to_tensor(labels), "float32")[:, None]
    p = alpha + ops.sum(x * y, axis=0)
    q = alpha + ops.sum(x * (1 - y), axis=0)
    return ops.convert_to_numpy(log(p / ops.sum(p)) - log(q / ops.sum(q)))


def ratios_with_keras_ops_log2(counts, labels, alpha=1.0):
    """The keras.ops answer with log2 (ops.log2) for the natural log."""
    return ratios_with_keras_ops(counts, labels, alpha, log=ops.log2)


def ratios_per_review(counts, labels, alpha=1.0):
    x = (counts > 0).astype(float)
    p = alpha + np.asarray(x.multiply(labels[:, None] == 1).sum(axis=1)).ravel()
    q = alpha + np.asarray(x.multiply(labels[:, None] == 0).sum(axis=1)).ravel()
    return np.log(p / p.sum()) - np.log(q / q.sum())


def ratios_and_counts(counts, labels, alpha=1.0):
    x = (counts > 0).astype(float)
    p, q = alpha + x.T @ (labels == 1), alpha + x.T @ (labels == 0)
    return p, q


WRONG = on_every_backend(
    Wrong("4.1", "never adapted", lambda: (vectorizer_with(adapt=False),), r"empty.*adapt"),
    Wrong("4.1", "Keras' default standardization keeps <br /> as 'br'",
          lambda: (vectorizer_with(standardize="lower_and_strip_punctuation"),), r"<br />"),
    Wrong("4.1", "no standardization", lambda: (vectorizer_with(standardize=None),), r"capitals or punctuation"),
    Wrong("4.1", "lowercase only", lambda: (vectorizer_with(standardize="lower"),), r"punctuation"),
    Wrong("4.1", "max_tokens = vocab_size + 2", lambda: (vectorizer_with(size=2),), r"max_tokens. counts"),
    Wrong("4.1", "no output_sequence_length", lambda: (vectorizer_with(output_sequence_length=None),),
          r"not cut or padded to seq_len"),
    Wrong("4.1", "seq_len off by one", lambda: (vectorizer_with(length=1),), r"seq_len"),
    Wrong("4.1", "bag of words", lambda: (vectorizer_with(output_mode="multi_hot", output_sequence_length=None),),
          r"bag of words"),
    Wrong("4.1", "bigrams", lambda: (vectorizer_with(ngrams=2),), r"word pairs"),
    Wrong("4.1", "word counts", lambda: (vectorizer_with(output_mode="count", output_sequence_length=None),),
          r"bag of words"),
    Wrong("4.1", "characters, not words", lambda: (vectorizer_with(split="character"),), r"single characters"),
    Wrong("4.1", "vocabulary in alphabetical order", lambda: (vectorizer_alphabetical,), r"most frequent"),
    Wrong("4.1", "returns the ids, not the layer", lambda: (vectorized_texts,), r"return the TextVectorization"),
    Wrong("4.2", "padding not masked", lambda: (classifier(mask=False),), r"padding .*mask_zero"),
    Wrong("4.2", "Masking layer on embeddings", lambda: (masking_layer,), r"padding .*mask_zero"),
    Wrong("4.2", "no sigmoid", lambda: (classifier(activation=None),), r"logits"),
    Wrong("4.2", "softmax over one unit", lambda: (classifier(activation="softmax"),), r"softmax"),
    Wrong("4.2", "two softmax outputs", lambda: (classifier(activation="softmax", dense_units=2),),
          r"one probability per review"),
    Wrong("4.2", "return_sequences", lambda: (classifier(return_sequences=True),), r"one score per word"),
    Wrong("4.2", "GRU", lambda: (classifier(cell=layers.GRU),), r"GRU"),
    Wrong("4.2", "SimpleRNN", lambda: (classifier(cell=layers.SimpleRNN),), r"SimpleRNN"),
    Wrong("4.2", "units fixed at 32", lambda: (classifier(fixed_units=32),), r"units"),
    Wrong("4.2", "Embedding one row too many", lambda: (classifier(vocab_extra=1),), r"one row too many"),
    Wrong("4.2", "embed_dim and units swapped", lambda: (classifier(swap=True),), r"swapped"),
    Wrong("4.2", "bidirectional", lambda: (classifier(bidirectional=True),), r"one-directional"),
    Wrong("4.2", "Dense created inside call", lambda: (DenseMadeInCall,), r"inside `call`"),
    Wrong("4.2", "frozen embedding", lambda: (classifier(trainable=False),), r"Embedding matrix gets no gradient"),
    Wrong("4.2", "reads backwards", lambda: (classifier(go_backwards=True),), r"go_backwards"),
    Wrong("4.2", "LSTM with relu", lambda: (classifier(cell=lambda units: layers.LSTM(units, activation="relu")),),
          None),
    Wrong("4.3", "one direction", lambda: (classifier(),), r"no `Bidirectional`"),
    Wrong("4.3", "stacked LSTMs, not bidirectional", lambda: (stacked_instead_of_bidirectional,),
          r"no `Bidirectional`"),
    Wrong("4.3", "padding not masked", lambda: (classifier(bidirectional=True, mask=False),), r"padding .*mask_zero"),
    Wrong("4.3", "no sigmoid", lambda: (classifier(bidirectional=True, activation=None),), r"logits"),
    Wrong("4.3", "merge_mode sum", lambda: (classifier(bidirectional={"merge_mode": "sum"}),), r"concatenation"),
    Wrong("4.3", "merge_mode ave", lambda: (classifier(bidirectional={"merge_mode": "ave"}),), r"concatenation"),
    Wrong("4.3", "return_sequences", lambda: (classifier(bidirectional=True, return_sequences=True),),
          r"one score per word"),
    Wrong("4.3", "bidirectional GRU", lambda: (classifier(bidirectional=True, cell=layers.GRU),), r"GRU"),
    Wrong("4.3", "units fixed at 32", lambda: (classifier(bidirectional=True, fixed_units=32),), r"units"),
    Wrong("4.3", "Embedding one row too many", lambda: (classifier(bidirectional=True, vocab_extra=1),),
          r"one row too many"),
    Wrong("4.3", "softmax over one unit", lambda: (classifier(bidirectional=True, activation="softmax"),), r"softmax"),
    Wrong("4.4", "no early stopping", lambda: (trainer(stop=False),), r"ran all .*EarlyStopping"),
    Wrong("4.4", "monitors the training loss", lambda: (trainer(monitor="loss"),), r"ran all"),
    Wrong("4.4", "monitors the validation accuracy", lambda: (trainer(monitor="val_accuracy"),),
          r"validation loss fell every epoch.*val_loss"),
    Wrong("4.4", "best weights not restored", lambda: (trainer(restore_best_weights=False),), r"restore_best_weights"),
    Wrong("4.4", "patience fixed at 2", lambda: (trainer(patience=2),), r"patience"),
    Wrong("4.4", "no validation data", lambda: (trainer(validation=False),), r"no validation loss"),
    Wrong("4.4", "mean squared error", lambda: (trainer(loss="mse"),), r"mean squared error"),
    Wrong("4.4", "binary focal cross-entropy", lambda: (trainer(loss="binary_focal_crossentropy"),),
          r"not the binary cross-entropy"),
    Wrong("4.4", "SGD", lambda: (trainer(optimizer=lambda lr: keras.optimizers.SGD(lr)),), r"optimizer is SGD"),
    Wrong("4.4", "RMSprop", lambda: (trainer(optimizer=lambda lr: keras.optimizers.RMSprop(lr)),), r"RMSprop"),
    Wrong("4.4", "learning rate ignored", lambda: (trainer(optimizer=lambda lr: keras.optimizers.Adam()),),
          r"learning rate"),
    Wrong("4.4", "'adam' by name", lambda: (trainer(optimizer=lambda lr: "adam"),), r"learning rate"),
    Wrong("4.4", "no accuracy metric", lambda: (trainer(metrics=()),), r"accuracy metric"),
    Wrong("4.4", "AUC instead of accuracy", lambda: (trainer(metrics=("AUC",)),), r"accuracy metric"),
    Wrong("4.4", "epochs fixed at 10", lambda: (trainer(epochs=lambda m: 10),), r"max_epochs"),
    Wrong("4.4", "one epoch short", lambda: (trainer(epochs=lambda m: m - 1),), r"max_epochs"),
    Wrong("4.4", "returns nothing", lambda: (trainer(give_back=False),), r"return what `model.fit` returns"),
    Wrong("4.5", "(N, 1) against (N,) broadcasts", lambda: (evaluation(flatten=False),), r"broadcasts"),
    Wrong("4.5", "transposed", lambda: (evaluation(transpose=True),), r"transposed"),
    Wrong("4.5", "fractions of all", lambda: (evaluation(normalise="all"),), r"fractions of all"),
    Wrong("4.5", "row fractions", lambda: (evaluation(normalise="rows"),), r"fractions of its true class"),
    Wrong("4.5", "p >= 0.5", lambda: (evaluation(threshold=lambda p: p >= 0.5),), r"p = 0.5 counted as positive"),
    Wrong("4.5", "threshold reversed", lambda: (evaluation(threshold=lambda p: p < 0.5),),
          r"positive predicted for p < 0.5"),
    Wrong("4.5", "percentage", lambda: (evaluation(scale=100),), r"percentage"),
    Wrong("4.5", "error rate", lambda: (evaluation(error_rate=True),), r"error rate"),
    Wrong("4.5", "flat confusion", lambda: (evaluation(flat_confusion=True),), r"not 2 x 2"),
    Wrong("4.5", "results swapped", lambda: (evaluation(swap=True),), r"wrong order"),
    Wrong("4.5", "only the accuracy", lambda: (evaluation_only_accuracy,), r"return two things"),
    Wrong("4.5", "C[labels, predicted] += 1 marks each pair once", lambda: (evaluation_index_arrays,), r"marked once"),
    Wrong("4.6", "no smoothing (alpha = 0)", lambda: (ratios(alpha_fixed=0.0),), r"no smoothing.*log 0"),
    Wrong("4.6", "raw counts, not binarised", lambda: (ratios(binarise=False),), r"not binarised"),
    Wrong("4.6", "no L1 normalisation", lambda: (ratios(normalise="none"),), r"L1 normalisation is missing"),
    Wrong("4.6", "classes swapped", lambda: (ratios(flip=True),), r"sign is flipped"),
    Wrong("4.6", "ratio upside down", lambda: (ratios_upside_down,), r"sign is flipped"),
    Wrong("4.6", "log10", lambda: (ratios(log=np.log10),), r"log10"),
    Wrong("4.6", "log2", lambda: (ratios(log=np.log2),), r"log2"),
    Wrong("4.6", "alpha added after normalising", lambda: (ratios(smoothing="after"),), r"after normalising"),
    Wrong("4.6", "normalised by the number of reviews", lambda: (ratios(normalise="reviews"),),
          r"number of positive and negative reviews"),
    Wrong("4.6", "mean instead of sum", lambda: (ratios(mean=True),), r"means over the reviews"),
    Wrong("4.6", "L1 norm without the alphas", lambda: (ratios(norm_without_alpha=True),), r"without the alphas"),
    Wrong("4.6", "alpha hard-coded to 1", lambda: (ratios(alpha_fixed=1.0),), r"alpha argument is ignored"),
    Wrong("4.6", "q over every review", lambda: (ratios(q_from_all=True),), r"ν⁻ counts every review"),
    Wrong("4.6", "1 x V np.matrix", lambda: (ratios(flatten=False),), r"1 x \d+ matrix"),
    Wrong("4.6", "sums over the wrong axis", lambda: (ratios_per_review,), r"one number per review"),
    Wrong("4.6", "returns p and q", lambda: (ratios_and_counts,), r"return r alone"),
    Wrong("4.6", "keras.ops with log2", lambda: (ratios_with_keras_ops_log2,), r"log2"),
)
WRONG += [  # 4.5 in the arrays of one framework, as its learners write it
    Wrong("4.5", "PyTorch: (N, 1) against (N,) broadcasts", lambda: (evaluation_with_torch_broadcasting,),
          r"broadcasts", backends=("torch",)),
    Wrong("4.5", "JAX: .at[].set(1) marks pairs, does not count them", lambda: (evaluation_with_jax_set,),
          r"marked once", backends=("jax",)),
    Wrong("4.5", "JAX: counting in place in an immutable array", lambda: (evaluation_with_jax_in_place,),
          r"TypeError", backends=("jax",)),
]

RIGHT = on_every_backend(
    Right("4.1", "notebook", lambda: (vectorizer_with(),)),
    Right("4.1", "vocabulary counted by hand", lambda: (vectorizer_counted_by_hand,)),
    Right("4.1", "adapted in batches of a list (adapt's batch_size)", lambda: (vectorizer_adapted_in_batches,)),
    Right("4.1", "own standardize function (tf.strings on every backend)",
          lambda: (vectorizer_with(standardize=clean),)),
    Right("4.2", "notebook", lambda: (classifier(),)),
    Right("4.2", "functional with dropout", lambda: (functional_with_dropout,)),
    Right("4.2", "add() without Input, RNN(LSTMCell)", lambda: (added_without_input,)),
    Right("4.2", "subclassed, float64", lambda: (Subclassed,)),
    Right("4.3", "notebook", lambda: (classifier(bidirectional=True),)),
    Right("4.3", "two directions by hand", lambda: (two_directions_by_hand,)),
    Right("4.3", "explicit backward layer", lambda: (explicit_backward_layer,)),
    Right("4.3", "subclassed, float64", lambda: (lambda v, d, u: Subclassed(v, d, u, bidirectional=True),)),
    Right("4.4", "notebook", lambda: (trainer(),)),
    Right("4.4", "progress bar, loss and metric objects", lambda: (trainer_with_progress_bar,)),
    Right("4.4", "'acc' and Adam(learning_rate=...)",
          lambda: (trainer(optimizer=lambda lr: keras.optimizers.Adam(learning_rate=lr), metrics=("acc",)),)),
    Right("4.5", "counting loop", lambda: (evaluation(),)),
    Right("4.5", "bincount", lambda: (evaluation_by_bincount,)),
    Right("4.5", "keras.ops: one-hot product", lambda: (evaluation_with_keras_ops,)),
    Right("4.5", "np.add.at, float counts", lambda: (evaluation_add_at,)),
    Right("4.6", "notebook: sparse matrix products", lambda: (ratios(),)),
    Right("4.6", "row slices, .sign(), np.matrix flattened", lambda: (ratios_by_rows,)),
    Right("4.6", "loop over CSR rows", lambda: (ratios_in_a_loop,)),
    Right("4.6", "keras.ops, dense, float32", lambda: (ratios_with_keras_ops,)),
)
RIGHT += [  # TensorFlow's own ops: TensorFlow's rows (keras.ops rows of the same style run everywhere)
    Right("4.1", "adapted on a tf.data batches", lambda: (vectorizer_adapted_on_batches,)),
    Right("4.5", "TensorFlow's confusion_matrix", lambda: (evaluation_with_tensorflow,)),
    Right("4.6", "TensorFlow, dense, float32", lambda: (ratios_with_tensorflow,)),
]
RIGHT += [  # 4.5 in the arrays of one framework; 4.1 with NumPy where Keras hands NumPy to standardize
    Right("4.1", "standardize in NumPy (np.char, re)", lambda: (vectorizer_with(standardize=clean_with_numpy),),
          backends=("jax", "torch")),
    Right("4.5", "PyTorch: bincount, .item()", lambda: (evaluation_with_torch,), backends=("torch",)),
    Right("4.5", "JAX: jax.numpy, .at[].add", lambda: (evaluation_with_jax,), backends=("jax",)),
]


# ---------------------------------------------------------------- written after diagnosis.py: tests its generality
# Wrong answers written once labhelpers/judges/diagnosis.py was in place, as students write them, each with the
# name a good diagnosis gives (None where nothing can single it out); bench/check_mutations.py counts them apart.
def _class_sums(counts, labels, binarise_q=True):
    x = (counts > 0).astype("float64")
    p = np.asarray(x[labels == 1].sum(axis=0)).ravel()
    q = np.asarray((x if binarise_q else counts.astype("float64"))[labels == 0].sum(axis=0)).ravel()
    return p, q


def ratios_l2(counts, labels, alpha=1.0):
    p, q = (alpha + s for s in _class_sums(counts, labels))
    return np.log((p / np.linalg.norm(p)) / (q / np.linalg.norm(q)))


def ratios_log1p(counts, labels, alpha=1.0):
    p, q = (alpha + s for s in _class_sums(counts, labels))
    return np.log1p(p / p.sum()) - np.log1p(q / q.sum())


def ratios_of_logs(counts, labels, alpha=1.0):
    p, q = (alpha + s for s in _class_sums(counts, labels))
    return np.log(p / p.sum()) / np.log(q / q.sum())


def ratios_with_prior(counts, labels, alpha=1.0):
    """Adds the log prior ratio, as in the Naive Bayes classifier's bias."""
    p, q = (alpha + s for s in _class_sums(counts, labels))
    prior = np.log((labels == 1).mean() / (labels == 0).mean())
    return np.log(p / p.sum()) - np.log(q / q.sum()) + prior


def ratios_q_copied(counts, labels, alpha=1.0):
    """A copy-paste slip: q is built from p's line."""
    p_counts, q_counts = _class_sums(counts, labels)
    p = alpha + p_counts
    q = alpha + p_counts
    return np.log(p / p.sum()) - np.log(q / q.sum())


def ratios_alpha_on_p_only(counts, labels, alpha=1.0):
    p_counts, q = _class_sums(counts, labels)
    p = alpha + p_counts
    q = q + (q == 0) * 1e-3  # "avoid log 0" where the smoothing was forgotten
    return np.log(p / p.sum()) - np.log(q / q.sum())


def ratios_alpha_plus_one(counts, labels, alpha=1.0):
    """Laplace's +1 on top of the alpha."""
    p, q = (alpha + 1 + s for s in _class_sums(counts, labels))
    return np.log(p / p.sum()) - np.log(q / q.sum())


def ratios_max_normalised(counts, labels, alpha=1.0):
    p, q = (alpha + s for s in _class_sums(counts, labels))
    return np.log(p / p.max()) - np.log(q / q.max())


def ratios_q_mean(counts, labels, alpha=1.0):
    x = (counts > 0).astype("float64")
    p = alpha + np.asarray(x[labels == 1].sum(axis=0)).ravel()
    q = alpha + np.asarray(x[labels == 0].mean(axis=0)).ravel()
    return np.log(p / p.sum()) - np.log(q / q.sum())


def ratios_q_raw_counts(counts, labels, alpha=1.0):
    p, q = (alpha + s for s in _class_sums(counts, labels, binarise_q=False))
    return np.log(p / p.sum()) - np.log(q / q.sum())


WRONG += on_every_backend(*after_diagnosis(
    Wrong("4.6", "L2 norm instead of L1", lambda: (ratios_l2,), r"L2"),
    Wrong("4.6", "log1p instead of log", lambda: (ratios_log1p,), r"log1p"),
    Wrong("4.6", "ratio of the logs", lambda: (ratios_of_logs,), r"ratio where a difference is meant"),
    Wrong("4.6", "class prior added", lambda: (ratios_with_prior,), r"prior"),
    Wrong("4.6", "q copied from p", lambda: (ratios_q_copied,), r"ν⁺ in place of ν⁻"),
    Wrong("4.6", "alpha only on p", lambda: (ratios_alpha_on_p_only,), r"alpha in ν⁻ is missing"),
    Wrong("4.6", "alpha + 1", lambda: (ratios_alpha_plus_one,), r"alpha = \d"),
    Wrong("4.6", "normalised by the largest count", lambda: (ratios_max_normalised,), r"largest value"),
    Wrong("4.6", "q a mean over the negative reviews", lambda: (ratios_q_mean,),
          r"sum over the negative reviews is a mean"),
    Wrong("4.6", "q from the raw counts", lambda: (ratios_q_raw_counts,), r"raw counts"),
))
