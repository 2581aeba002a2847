"""Lab 03's mutation table: wrong and right answers to 3.1 to 3.6 (and 3.6a), written as students write them.

Answers in NumPy, Keras and keras.ops run on every backend; those in TensorFlow's own API on TensorFlow only.
3.5's train_step is written in each framework's idiom (labhelpers' solution notebook has one per backend), so
its rows are per backend: TensorFlow's GradientTape steps, JAX's jitted pure steps (`make_jax_step`), PyTorch's
backward() steps (`make_torch_step`). Answers that need JAX or PyTorch build their functions only when run.
"""

from __future__ import annotations

import contextlib
from functools import partial

import keras
import numpy as np
import tensorflow as tf

from labhelpers import mitdl, music
from mutations import Right, Wrong, after_diagnosis, args, on_every_backend

VOCAB = sorted(set(mitdl.data_file("irish.abc").read_text()))  # as the notebook builds it
C2I = {char: index for index, char in enumerate(VOCAB)}
I2C = np.array(VOCAB)


# ---------------------------------------------------------------- 3.1 vectorize_string
def vectorize_right(string):
    return np.array([C2I[char] for char in string])


def vectorize_fromiter(string):
    return np.fromiter(map(C2I.get, string), dtype=np.int32, count=len(string))


def vectorize_searchsorted(string):
    return np.searchsorted(I2C, list(string))


def vectorize_loop(string):
    out = np.zeros(len(string), dtype=np.int64)
    for i, char in enumerate(string):
        out[i] = C2I[char]
    return out


def vectorize_list(string):
    return [C2I[char] for char in string]


def vectorize_stripped(string):
    return np.array([C2I[char] for char in string.strip()])


def vectorize_words(string):
    return np.array([C2I[char] for char in "".join(string.split())])


def vectorize_no_newlines(string):
    return np.array([C2I[char] for char in string.replace("\n", "")])


def vectorize_from_one(string):
    index = {char: i + 1 for i, char in enumerate(VOCAB)}
    return np.array([index[char] for char in string])


def vectorize_ord(string):
    return np.array([ord(char) for char in string])


def vectorize_floats(string):
    return np.array([C2I[char] for char in string], dtype="float32")


def vectorize_one_hot(string):
    return np.eye(len(VOCAB), dtype=int)[[C2I[char] for char in string]]


def vectorize_tensor(string):
    return tf.constant([C2I[char] for char in string])


def vectorize_keras_tensor(string):
    return keras.ops.convert_to_tensor([C2I[char] for char in string])


def vectorize_chars(string):
    return np.array(list(string))


def vectorize_sorted(string):
    return np.sort([C2I[char] for char in string])


# ---------------------------------------------------------------- 3.2 get_batch
def batch_right(vectorized_songs, seq_length, batch_size):
    starts = np.random.choice(len(vectorized_songs) - seq_length, batch_size)
    x = np.array([vectorized_songs[s:s + seq_length] for s in starts])
    y = np.array([vectorized_songs[s + 1:s + seq_length + 1] for s in starts])
    return x, y


def batch_chunks(vectorized_songs, seq_length, batch_size):
    chunks = [vectorized_songs[s:s + seq_length + 1]
              for s in np.random.randint(0, len(vectorized_songs) - seq_length, size=batch_size)]
    return np.stack([c[:-1] for c in chunks]), np.stack([c[1:] for c in chunks])


def batch_fancy_index(vectorized_songs, seq_length, batch_size):
    idx = np.random.randint(len(vectorized_songs) - seq_length, size=(batch_size, 1)) + np.arange(seq_length)
    return vectorized_songs[idx], vectorized_songs[idx + 1]


def batch_distinct_starts(vectorized_songs, seq_length, batch_size):
    starts = np.random.choice(len(vectorized_songs) - seq_length, batch_size, replace=False)
    return np.stack([vectorized_songs[s:s + seq_length] for s in starts]), np.stack(
        [vectorized_songs[s + 1:s + seq_length + 1] for s in starts])


RNG = np.random.default_rng(1)


def batch_generator(vectorized_songs, seq_length, batch_size):
    starts = RNG.integers(0, len(vectorized_songs) - seq_length, batch_size)
    return (np.array([vectorized_songs[s:s + seq_length] for s in starts]),
            np.array([vectorized_songs[s + 1:s + 1 + seq_length] for s in starts]))


def batch_mit(vectorized_songs, seq_length, batch_size):
    n = vectorized_songs.shape[0] - 1
    idx = np.random.choice(n - seq_length, batch_size)
    input_batch = [vectorized_songs[i:i + seq_length] for i in idx]
    output_batch = [vectorized_songs[i + 1:i + seq_length + 1] for i in idx]
    return np.reshape(input_batch, [batch_size, seq_length]), np.reshape(output_batch, [batch_size, seq_length])


def batch_unshifted(vectorized_songs, seq_length, batch_size):
    x, _ = batch_right(vectorized_songs, seq_length, batch_size)
    return x, x.copy()


def batch_shift_two(vectorized_songs, seq_length, batch_size):
    starts = np.random.choice(len(vectorized_songs) - seq_length - 1, batch_size)
    return (np.array([vectorized_songs[s:s + seq_length] for s in starts]),
            np.array([vectorized_songs[s + 2:s + seq_length + 2] for s in starts]))


def batch_one_window(vectorized_songs, seq_length, batch_size):
    s = np.random.randint(len(vectorized_songs) - seq_length)
    x, y = vectorized_songs[s:s + seq_length], vectorized_songs[s + 1:s + seq_length + 1]
    return np.array([x] * batch_size), np.array([y] * batch_size)


def batch_seeded(vectorized_songs, seq_length, batch_size):
    np.random.seed(42)
    return batch_right(vectorized_songs, seq_length, batch_size)


def batch_tensors(vectorized_songs, seq_length, batch_size):
    return tuple(tf.constant(v) for v in batch_right(vectorized_songs, seq_length, batch_size))


def batch_keras_tensors(vectorized_songs, seq_length, batch_size):
    return tuple(keras.ops.convert_to_tensor(v) for v in batch_right(vectorized_songs, seq_length, batch_size))


def batch_transposed(vectorized_songs, seq_length, batch_size):
    x, y = batch_right(vectorized_songs, seq_length, batch_size)
    return x.T, y.T


def batch_scattered(vectorized_songs, seq_length, batch_size):
    chars = np.random.choice(vectorized_songs, (batch_size, seq_length + 1))
    return chars[:, :-1], chars[:, 1:]


def batch_off_the_end(vectorized_songs, seq_length, batch_size):
    starts = np.random.randint(0, len(vectorized_songs) - seq_length + 1, batch_size)
    return (np.array([vectorized_songs[s:s + seq_length] for s in starts]),
            np.array([vectorized_songs[s + 1:s + seq_length + 1] for s in starts]))


def batch_two_draws(vectorized_songs, seq_length, batch_size):
    x, _ = batch_right(vectorized_songs, seq_length, batch_size)
    _, y = batch_right(vectorized_songs, seq_length, batch_size)
    return x, y


def batch_backwards(vectorized_songs, seq_length, batch_size):
    starts = np.random.choice(len(vectorized_songs) - seq_length, batch_size) + 1
    return (np.array([vectorized_songs[s:s + seq_length] for s in starts]),
            np.array([vectorized_songs[s - 1:s + seq_length - 1] for s in starts]))


def batch_no_overlap(vectorized_songs, seq_length, batch_size):
    starts = np.random.choice(range(0, len(vectorized_songs) - seq_length, seq_length), batch_size)
    return (np.array([vectorized_songs[s:s + seq_length] for s in starts]),
            np.array([vectorized_songs[s + 1:s + seq_length + 1] for s in starts]))


# ---------------------------------------------------------------- 3.3 build_model
def layers(v, e, u, dropout, activation=None, recurrent=keras.layers.LSTM):
    return [keras.layers.Embedding(v, e), recurrent(u, return_sequences=True), keras.layers.Dropout(dropout),
            keras.layers.Dense(v, activation=activation)]


def model_right(vocab_size, embedding_dim, rnn_units, dropout=0.0):
    return keras.Sequential(layers(vocab_size, embedding_dim, rnn_units, dropout))


def model_added(vocab_size, embedding_dim, rnn_units, dropout=0.0):
    model = keras.Sequential()
    model.add(keras.Input(shape=(None,)))
    model.add(keras.layers.Embedding(vocab_size, embedding_dim, embeddings_initializer="uniform"))
    model.add(keras.layers.LSTM(rnn_units, return_sequences=True, recurrent_initializer="glorot_uniform"))
    model.add(keras.layers.Dropout(rate=dropout))
    model.add(keras.layers.Dense(vocab_size, activation=None))
    return model


def model_functional(vocab_size, embedding_dim, rnn_units, dropout=0.0):
    tokens = keras.Input(shape=(None,), dtype="int32")
    h = keras.layers.LSTM(rnn_units, return_sequences=True)(keras.layers.Embedding(vocab_size, embedding_dim)(tokens))
    return keras.Model(tokens, keras.layers.Dense(vocab_size)(keras.layers.Dropout(dropout)(h)))


class CharModel(keras.Model):
    def __init__(self, vocab_size, embedding_dim, rnn_units, dropout=0.0):
        super().__init__()
        self.embedding = keras.layers.Embedding(vocab_size, embedding_dim)
        self.lstm = keras.layers.LSTM(rnn_units, return_sequences=True)
        self.dropout = keras.layers.Dropout(dropout)
        self.dense = keras.layers.Dense(vocab_size)

    def call(self, tokens, training=False):
        return self.dense(self.dropout(self.lstm(self.embedding(tokens)), training=training))


def model_time_distributed(vocab_size, embedding_dim, rnn_units, dropout=0.0):
    return keras.Sequential([*layers(vocab_size, embedding_dim, rnn_units, dropout)[:3],
                             keras.layers.TimeDistributed(keras.layers.Dense(vocab_size))])


def model_last_only(vocab_size, embedding_dim, rnn_units, dropout=0.0):
    return keras.Sequential([keras.layers.Embedding(vocab_size, embedding_dim), keras.layers.LSTM(rnn_units),
                             keras.layers.Dropout(dropout), keras.layers.Dense(vocab_size)])


def model_softmax(vocab_size, embedding_dim, rnn_units, dropout=0.0):
    return keras.Sequential(layers(vocab_size, embedding_dim, rnn_units, dropout, activation="softmax"))


def model_softmax_layer(vocab_size, embedding_dim, rnn_units, dropout=0.0):
    return keras.Sequential([*layers(vocab_size, embedding_dim, rnn_units, dropout), keras.layers.Softmax()])


def model_relu(vocab_size, embedding_dim, rnn_units, dropout=0.0):
    return keras.Sequential(layers(vocab_size, embedding_dim, rnn_units, dropout, activation="relu"))


def model_simple_rnn(vocab_size, embedding_dim, rnn_units, dropout=0.0):
    return keras.Sequential(layers(vocab_size, embedding_dim, rnn_units, dropout, recurrent=keras.layers.SimpleRNN))


def model_gru(vocab_size, embedding_dim, rnn_units, dropout=0.0):
    return keras.Sequential(layers(vocab_size, embedding_dim, rnn_units, dropout, recurrent=keras.layers.GRU))


def model_sizes_swapped(vocab_size, embedding_dim, rnn_units, dropout=0.0):
    return keras.Sequential(layers(vocab_size, rnn_units, embedding_dim, dropout))


def model_embedding_swapped(vocab_size, embedding_dim, rnn_units, dropout=0.0):
    return keras.Sequential([keras.layers.Embedding(embedding_dim, vocab_size), *layers(vocab_size, embedding_dim,
                                                                                        rnn_units, dropout)[1:]])


def model_no_dropout_argument(vocab_size, embedding_dim, rnn_units):
    return keras.Sequential(layers(vocab_size, embedding_dim, rnn_units, 0.0))


def model_dropout_ignored(vocab_size, embedding_dim, rnn_units, dropout=0.0):
    return keras.Sequential(layers(vocab_size, embedding_dim, rnn_units, 0.0))


def model_dropout_fixed(vocab_size, embedding_dim, rnn_units, dropout=0.0):
    return keras.Sequential(layers(vocab_size, embedding_dim, rnn_units, 0.5))


def model_keep_probability(vocab_size, embedding_dim, rnn_units, dropout=0.0):
    return keras.Sequential(layers(vocab_size, embedding_dim, rnn_units, 1 - dropout))


def model_dropout_always(vocab_size, embedding_dim, rnn_units, dropout=0.0):
    tokens = keras.Input(shape=(None,))
    h = keras.layers.LSTM(rnn_units, return_sequences=True)(keras.layers.Embedding(vocab_size, embedding_dim)(tokens))
    return keras.Model(tokens, keras.layers.Dense(vocab_size)(keras.layers.Dropout(0.5)(h, training=True)))


def model_dropout_first(vocab_size, embedding_dim, rnn_units, dropout=0.0):
    return keras.Sequential([keras.layers.Embedding(vocab_size, embedding_dim), keras.layers.Dropout(dropout),
                             keras.layers.LSTM(rnn_units, return_sequences=True), keras.layers.Dense(vocab_size)])


def model_lstm_dropout(vocab_size, embedding_dim, rnn_units, dropout=0.0):
    return keras.Sequential([keras.layers.Embedding(vocab_size, embedding_dim),
                             keras.layers.LSTM(rnn_units, return_sequences=True, dropout=dropout),
                             keras.layers.Dense(vocab_size)])


def model_dropout_last(vocab_size, embedding_dim, rnn_units, dropout=0.0):
    return keras.Sequential([keras.layers.Embedding(vocab_size, embedding_dim),
                             keras.layers.LSTM(rnn_units, return_sequences=True), keras.layers.Dense(vocab_size),
                             keras.layers.Dropout(dropout)])


def model_hidden_dense(vocab_size, embedding_dim, rnn_units, dropout=0.0):
    return keras.Sequential([*layers(vocab_size, embedding_dim, rnn_units, dropout)[:3],
                             keras.layers.Dense(rnn_units, activation="relu"), keras.layers.Dense(vocab_size)])


# ---------------------------------------------------------------- 3.4 compute_loss
def per_char(labels, logits):
    return keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)


def loss_right(labels, logits):
    return keras.ops.mean(per_char(labels, logits))


def loss_object(labels, logits):
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits)


def loss_tf_reduce_mean(labels, logits):
    return tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True))


def loss_tf_nn(labels, logits):
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


def loss_one_hot_float64(labels, logits):
    one_hot = tf.one_hot(labels, tf.shape(logits)[-1], dtype=tf.float64)
    return tf.reduce_mean(keras.losses.categorical_crossentropy(one_hot, tf.cast(logits, tf.float64), from_logits=True))


def loss_one_hot(labels, logits):
    one_hot = keras.ops.one_hot(labels, keras.ops.shape(logits)[-1])
    return keras.ops.mean(keras.losses.categorical_crossentropy(one_hot, logits, from_logits=True))


def loss_gather(labels, logits):
    log_probs = keras.ops.log_softmax(logits)
    return -keras.ops.mean(keras.ops.take_along_axis(log_probs, keras.ops.expand_dims(labels, -1), axis=-1))


def loss_probabilities(labels, logits):
    return keras.ops.mean(keras.losses.sparse_categorical_crossentropy(labels, logits))


def loss_summed(labels, logits):
    return keras.ops.sum(per_char(labels, logits))


def loss_sum_over_time(labels, logits):
    return keras.ops.mean(keras.ops.sum(per_char(labels, logits), axis=1))


def loss_softmax_twice(labels, logits):
    return loss_right(labels, keras.ops.softmax(logits))


def loss_tf_softmax_twice(labels, logits):
    """On TensorFlow keras.ops.softmax marks its output with the logits, and Keras' loss takes those: no mistake
    there (it warns). tf.nn.softmax's output carries no such mark."""
    return loss_right(labels, tf.nn.softmax(logits))


def picked(values, labels):
    return keras.ops.take_along_axis(values, keras.ops.expand_dims(labels, -1), axis=-1)


def loss_negative(labels, logits):
    return keras.ops.mean(picked(keras.ops.log_softmax(logits), labels))


def loss_bits(labels, logits):
    return loss_right(labels, logits) / np.log(2.0)


def loss_no_log_softmax(labels, logits):
    return -keras.ops.mean(picked(logits, labels))


def loss_numpy(labels, logits):
    return loss_right(labels, logits).numpy()


def loss_to_numpy(labels, logits):
    return keras.ops.convert_to_numpy(loss_right(labels, logits))


def loss_np_mean(labels, logits):
    return np.mean(keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True))


def loss_per_char(labels, logits):
    return per_char(labels, logits)


def loss_stopped(labels, logits):
    return loss_right(labels, keras.ops.stop_gradient(logits))


def loss_detached(labels, logits):
    return loss_right(labels, logits).detach()


def loss_item(labels, logits):
    return loss_right(labels, logits).item()


def loss_jax_stopped(labels, logits):
    import jax

    return loss_right(labels, jax.lax.stop_gradient(logits))


def loss_float(labels, logits):
    return float(loss_right(labels, logits))


# ---------------------------------------------------------------- 3.5 train_step
def make_step(loss=loss_right, training=True, sign=1, times=1, apply=True, after=False, labels="y",
              compiled=True, variables=lambda model: model.trainable_variables):
    """A train_step with one mistake (or none), written as a student would."""

    def train_step(model, optimizer, x, y):
        target = y if labels == "y" else x
        with tf.GradientTape() as tape:
            logits = model(x) if training is None else model(x, training=training)
            value = loss(target, logits)
        grads = tape.gradient(value, variables(model))
        if sign < 0:
            grads = [-tf.convert_to_tensor(g) for g in grads]
        for _ in range(times if apply else 0):
            optimizer.apply_gradients(zip(grads, variables(model)))
        return loss(target, model(x)) if after else value

    return tf.function(train_step) if compiled else train_step


@tf.function
def step_keras3(model, optimizer, x, y):
    with tf.GradientTape() as tape:
        value = loss_object(y, model(x, training=True))
    optimizer.apply(tape.gradient(value, model.trainable_weights), model.trainable_weights)
    return value


@tf.function(reduce_retracing=True)
def step_clipped(model, optimizer, x, y):
    with tf.GradientTape() as tape:
        value = loss_tf_nn(y, model(x, training=True))
    grads, _ = tf.clip_by_global_norm(tape.gradient(value, model.trainable_variables), 1e3)
    optimizer.apply_gradients(list(zip(grads, model.trainable_variables)))
    return value


def make_jax_step(loss=loss_right, training=True, sign=1, times=1, apply=True, after=False, labels="y",
                  compiled=True, only_dense=False, per_example=False, to_float=False, assign_inside=False):
    """A JAX train_step as the notebook writes it (a jitted pure step, and train_step reading the state from the
    variables and writing the new one back), with one mistake (or none)."""
    import jax

    def pure_train_step(model, optimizer, state, x, y):
        trainable, non_trainable, optimizer_variables = state
        target = y if labels == "y" else x

        def loss_and_updates(trainable):
            kwargs = {} if training is None else {"training": training}
            logits, new_non_trainable = model.stateless_call(trainable, non_trainable, x, **kwargs)
            return (per_char if per_example else loss)(target, logits), new_non_trainable

        (value, non_trainable), grads = jax.value_and_grad(loss_and_updates, has_aux=True)(trainable)
        if only_dense:
            grads = [g if i >= len(grads) - 2 else keras.ops.zeros_like(g) for i, g in enumerate(grads)]
        grads = [sign * g for g in grads]
        new_trainable, new_optimizer_variables = trainable, optimizer_variables
        for _ in range(times if apply else 0):
            new_trainable, new_optimizer_variables = optimizer.stateless_apply(new_optimizer_variables, grads,
                                                                               new_trainable)
        if after:
            value = loss(target, model.stateless_call(new_trainable, non_trainable, x)[0])
        if assign_inside:  # the model's variables assigned inside jit, and the old state returned
            for variable, new in zip(model.trainable_variables, new_trainable):
                variable.assign(new)
            new_trainable = trainable
        return (float(value) if to_float else value), (new_trainable, non_trainable, new_optimizer_variables)

    step = partial(jax.jit, static_argnums=(0, 1))(pure_train_step) if compiled else pure_train_step

    def train_step(model, optimizer, x, y):
        loss, state = step(model, optimizer, music.training_state(model, optimizer), x, y)
        music.assign_training_state(model, optimizer, state)
        return loss

    return train_step


def make_jax_step_grad_then_loss():
    """jax.grad for the gradients and a second forward pass for the loss; jitted with static_argnames."""
    import jax

    @partial(jax.jit, static_argnames=("model", "optimizer"))
    def pure_train_step(model, optimizer, state, x, y):
        trainable, non_trainable, optimizer_variables = state

        def loss_of(trainable):
            return loss_object(y, model.stateless_call(trainable, non_trainable, x, training=True)[0])

        value = loss_of(trainable)
        grads = jax.grad(loss_of)(trainable)
        trainable, optimizer_variables = optimizer.stateless_apply(optimizer_variables, grads, trainable)
        return value, (trainable, non_trainable, optimizer_variables)

    def train_step(model, optimizer, x, y):
        value, state = pure_train_step(model=model, optimizer=optimizer, state=music.training_state(model, optimizer),
                                       x=x, y=y)
        music.assign_training_state(model, optimizer, state)
        return value

    return train_step


def make_jax_step_stateless_scope():
    """The model called as usual inside keras.StatelessScope, which maps its variables to the traced values."""
    import jax

    @partial(jax.jit, static_argnums=(0, 1))
    def pure_train_step(model, optimizer, state, x, y):
        trainable, non_trainable, optimizer_variables = state

        def loss_and_updates(trainable):
            mapping = [*zip(model.trainable_variables, trainable), *zip(model.non_trainable_variables, non_trainable)]
            with keras.StatelessScope(state_mapping=mapping) as scope:
                value = loss_gather(y, model(x, training=True))
            return value, [scope.get_current_value(v) for v in model.non_trainable_variables]

        (value, non_trainable), grads = jax.value_and_grad(loss_and_updates, has_aux=True)(trainable)
        trainable, optimizer_variables = optimizer.stateless_apply(optimizer_variables, grads, trainable)
        return value, (trainable, non_trainable, optimizer_variables)

    def train_step(model, optimizer, x, y):
        value, state = pure_train_step(model, optimizer, music.training_state(model, optimizer), x, y)
        music.assign_training_state(model, optimizer, state)
        return value

    return train_step


def make_torch_step(loss=loss_right, training=True, sign=1, times=1, apply=True, after=False, labels="y",
                    zero_grad=True, only_dense=False, no_grad_forward=False, detach=False, backward_twice=False):
    """A PyTorch train_step as the notebook writes it (zero_grad, backward, optimizer.apply), with one mistake
    (or none)."""

    def train_step(model, optimizer, x, y):
        import torch

        target = y if labels == "y" else x
        if zero_grad:
            model.zero_grad()
        with torch.no_grad() if no_grad_forward else contextlib.nullcontext():
            logits = model(x) if training is None else model(x, training=training)
        value = loss(target, logits.detach() if detach else logits)
        value.backward(retain_graph=backward_twice)
        if backward_twice:
            value.backward()
        weights = model.layers[-1].trainable_weights if only_dense else model.trainable_weights
        grads = [sign * w.value.grad for w in weights]
        with torch.no_grad():
            for _ in range(times if apply else 0):
                optimizer.apply(grads, weights)
        return loss(target, model(x)) if after else value

    return train_step


def torch_step_autograd_grad(model, optimizer, x, y):
    import torch

    value = loss_gather(y, model(x, training=True))
    grads = torch.autograd.grad(value, [w.value for w in model.trainable_weights])
    with torch.no_grad():
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
    return value


def torch_step_cleared_after(model, optimizer, x, y):
    """zero_grad at the end of the step instead of the start, and the update without torch.no_grad()."""
    value = loss_object(y, model(x, training=True))
    value.backward()
    optimizer.apply([w.value.grad for w in model.trainable_weights], model.trainable_weights)
    for w in model.trainable_weights:
        w.value.grad = None
    return value


# ---------------------------------------------------------------- 3.6a sampling_step
def step_right(embedding, lstm, dense, char_ids, state):
    h, state = lstm.cell(embedding(char_ids), state)
    return dense(h), state


def step_rnn_layer(embedding, lstm, dense, char_ids, state):
    one_step = keras.layers.RNN(lstm.cell, return_state=True)
    h, h_new, c_new = one_step(embedding(char_ids[:, None]), initial_state=state)
    return dense(h), (h_new, c_new)


def step_gates(embedding, lstm, dense, char_ids, state):
    h, c = state
    cell = lstm.cell
    z = keras.ops.matmul(embedding(char_ids), cell.kernel) + keras.ops.matmul(h, cell.recurrent_kernel) + cell.bias
    i, f, g, o = keras.ops.split(z, 4, axis=-1)
    c = keras.ops.sigmoid(f) * c + keras.ops.sigmoid(i) * keras.ops.tanh(g)
    h = keras.ops.sigmoid(o) * keras.ops.tanh(c)
    return keras.ops.matmul(h, dense.kernel) + dense.bias, [h, c]


def make_sampling_step(reset=False, swap_in=False, swap_out=False, keep_h_only=False, softmax=False, scale=1.0,
                       from_c=False, old_state=False, first_row_state=False):
    """A sampling_step with one mistake (or none), written as a student would."""

    def sampling_step(embedding, lstm, dense, char_ids, state):
        h, c = state
        if reset:
            h, c = keras.ops.zeros_like(h), keras.ops.zeros_like(c)
        if first_row_state:
            h, c = keras.ops.repeat(h[:1], h.shape[0], axis=0), keras.ops.repeat(c[:1], c.shape[0], axis=0)
        output, (h_new, c_new) = lstm.cell(embedding(char_ids), [c, h] if swap_in else [h, c])
        logits = dense(c_new if from_c else output) * scale
        if softmax:
            logits = keras.ops.softmax(logits)
        new_state = state if old_state else [c_new, h_new] if swap_out else h_new if keep_h_only else [h_new, c_new]
        return logits, new_state

    return sampling_step


def step_time_axis(embedding, lstm, dense, char_ids, state):
    return dense(lstm(embedding(char_ids[:, None]), initial_state=state)), state


def step_cell_time_axis(embedding, lstm, dense, char_ids, state):
    h, state = lstm.cell(embedding(char_ids[:, None]), state)
    return dense(h), state


def step_layer_not_cell(embedding, lstm, dense, char_ids, state):
    h = lstm(embedding(char_ids))
    return dense(h), state


def step_numpy(embedding, lstm, dense, char_ids, state):
    h, state = lstm.cell(embedding(char_ids.numpy()), state)
    return dense(h), state


def step_np_asarray(embedding, lstm, dense, char_ids, state):
    h, state = lstm.cell(embedding(np.asarray(char_ids)), state)
    return dense(h), state


def step_detached_state(embedding, lstm, dense, char_ids, state):
    """PyTorch: the state detached from the graph on its way out (harmless: nothing differentiates it)."""
    h, (h_new, c_new) = lstm.cell(embedding(char_ids), state)
    return dense(h), [h_new.detach(), c_new.detach()]


def step_first_row_only(embedding, lstm, dense, char_ids, state):
    h, state = lstm.cell(embedding(char_ids[:1]), [s[:1] for s in state])
    return dense(h)[0], state


def make_prefix_rerun():
    """A step that keeps every character it was fed and runs the whole LSTM layer over them each call."""
    history = []

    def sampling_step(embedding, lstm, dense, char_ids, state):
        history.append(char_ids)
        outputs = lstm(embedding(keras.ops.stack(history, axis=1)))
        return dense(outputs[:, -1]), [outputs[:, -1], state[1]]

    return sampling_step


# ---------------------------------------------------------------- 3.6 generate_text
def make_generate(carry=True, update_state=True, reset_after_start=False, last_start_only=False, feed_back=True,
                  transform=lambda logits, t: logits / t, pick=None, new_only=False, extra=0):
    """A generate_text with one mistake (or none), written as a student would."""

    def generate_text(step, start_string, length, temperature, char2idx, idx2char):
        state = step.initial_state(1)
        for char in start_string[-1:] if last_start_only else start_string:
            logits, state = step(np.array([char2idx[char]]), state if carry else step.initial_state(1))
        if reset_after_start:
            state = step.initial_state(1)
        generated = []
        for _ in range(length + extra):
            scaled = transform(logits, temperature)
            next_id = pick(scaled, temperature) if pick else int(keras.random.categorical(scaled, 1)[0, 0])
            generated.append(idx2char[next_id])
            fed = next_id if feed_back else char2idx[start_string[-1]]
            logits, new_state = step(np.array([fed]), state if carry else step.initial_state(1))
            state = new_state if update_state else state
        return "".join(generated) if new_only else start_string + "".join(generated)

    return generate_text


def generate_numpy(step, start_string, length, temperature, char2idx, idx2char):
    state = step.initial_state(1)
    for char in start_string:
        logits, state = step(np.array([char2idx[char]]), state)
    ids = []
    for _ in range(length):
        z = np.asarray(logits)[0] / temperature
        p = np.exp(z - z.max())
        ids.append(np.random.choice(len(p), p=p / p.sum()))
        logits, state = step(np.array(ids[-1:]), state)
    return start_string + "".join(idx2char[np.array(ids)])


def generate_softmax_choice(step, start_string, length, temperature, char2idx, idx2char):
    state = step.initial_state(1)
    for char in start_string:
        logits, state = step(np.array([char2idx[char]]), state)
    generated = []
    for _ in range(length):
        p = keras.ops.convert_to_numpy(keras.ops.softmax(logits / temperature))[0]
        generated.append(idx2char[np.random.choice(len(p), p=p)])
        logits, state = step(np.array([char2idx[generated[-1]]]), state)
    return start_string + "".join(generated)


def generate_gumbel(step, start_string, length, temperature, char2idx, idx2char):
    state = step.initial_state(1)
    for char in start_string:
        logits, state = step([char2idx[char]], state)
    text = start_string
    for _ in range(length):
        noise = -np.log(-np.log(np.random.uniform(size=logits.shape[-1])))
        next_id = int(np.argmax(keras.ops.convert_to_numpy(logits)[0] / temperature + noise))
        text += idx2char[next_id]
        logits, state = step([next_id], state)
    return text


def generate_log_probs(step, start_string, length, temperature, char2idx, idx2char):
    return make_generate(transform=lambda z, t: keras.ops.log(keras.ops.softmax(z / t)))(
        step, start_string, length, temperature, char2idx, idx2char)


def generate_tf(step, start_string, length, temperature, char2idx, idx2char):
    """TensorFlow's own sampler, as the lab wrote it before Keras 3's keras.random."""
    state = step.initial_state(1)
    for char in start_string:
        logits, state = step(tf.constant([char2idx[char]]), state)
    generated = []
    for _ in range(length):
        next_id = int(tf.random.categorical(logits / temperature, num_samples=1)[0, 0])
        generated.append(idx2char[next_id])
        logits, state = step(tf.constant([next_id]), state)
    return start_string + "".join(generated)


def generate_torch_multinomial(step, start_string, length, temperature, char2idx, idx2char):
    import torch

    state = step.initial_state(1)
    for char in start_string:
        logits, state = step(torch.tensor([char2idx[char]]), state)
    ids = []
    for _ in range(length):
        ids.append(int(torch.multinomial(torch.softmax(logits / temperature, dim=-1), 1)[0, 0]))
        logits, state = step(torch.tensor(ids[-1:]), state)
    return start_string + "".join(idx2char[i] for i in ids)


def generate_jax_categorical(step, start_string, length, temperature, char2idx, idx2char):
    import jax

    key = jax.random.key(int(np.random.randint(2**31 - 1)))
    state = step.initial_state(1)
    for char in start_string:
        logits, state = step(np.array([char2idx[char]]), state)
    text = start_string
    for _ in range(length):
        key, draw = jax.random.split(key)
        next_id = int(jax.random.categorical(draw, logits[0] / temperature))
        text += idx2char[next_id]
        logits, state = step(np.array([next_id]), state)
    return text


def greedy_pick(scaled, temperature):
    return int(keras.ops.argmax(scaled[0]))


def greedy_below_one(scaled, temperature):
    return int(keras.ops.argmax(scaled[0])) if temperature < 1 else int(keras.random.categorical(scaled, 1)[0, 0])


def generate_list(step, start_string, length, temperature, char2idx, idx2char):
    return list(make_generate()(step, start_string, length, temperature, char2idx, idx2char))


def c2i(vectorize):
    return args(vectorize, C2I)


def jax_step(**mistake):
    return lambda: (make_jax_step(**mistake),)


def torch_step(**mistake):
    return lambda: (make_torch_step(**mistake),)


JAX, TORCH = ("jax",), ("torch",)

WRONG = [
    *on_every_backend(
        Wrong("3.1", "returns a list", c2i(vectorize_list), r"must return a NumPy array"),
        Wrong("3.1", "strips the string", c2i(vectorize_stripped), r"stripped"),
        Wrong("3.1", "drops all whitespace", c2i(vectorize_words), r"whitespace is dropped"),
        Wrong("3.1", "drops newlines", c2i(vectorize_no_newlines), r"newlines are dropped"),
        Wrong("3.1", "indices from 1", c2i(vectorize_from_one), r"one too high"),
        Wrong("3.1", "ord instead of char2idx", c2i(vectorize_ord), r"code points"),
        Wrong("3.1", "float indices", c2i(vectorize_floats), r"integer dtype"),
        Wrong("3.1", "one-hot rows", c2i(vectorize_one_hot), r"one-hot"),
        Wrong("3.1", "a backend tensor (keras.ops)", c2i(vectorize_keras_tensor), r"must return a NumPy array"),
        Wrong("3.1", "characters, not indices", c2i(vectorize_chars), r"not of indices"),
        Wrong("3.1", "sorted indices", c2i(vectorize_sorted), r"sorted"),
        Wrong("3.2", "MIT's get_batch: the last start never drawn", args(batch_mit), r"last start.*never drawn"),
        Wrong("3.2", "labels not shifted", args(batch_unshifted), r"labels are the inputs"),
        Wrong("3.2", "labels shifted by two", args(batch_shift_two), r"shifted by two"),
        Wrong("3.2", "one window per batch", args(batch_one_window), r"every row of a batch is the same window"),
        Wrong("3.2", "seeded inside", args(batch_seeded), r"every call returns the same batch"),
        Wrong("3.2", "backend tensors (keras.ops)", args(batch_keras_tensors), r"not a NumPy array"),
        Wrong("3.2", "transposed", args(batch_transposed), r"transposed"),
        Wrong("3.2", "characters drawn one by one", args(batch_scattered), r"picked one by one"),
        Wrong("3.2", "windows off the end", args(batch_off_the_end), r"too few characters"),
        Wrong("3.2", "x and y from different starts", args(batch_two_draws), r"another start position"),
        Wrong("3.2", "shifted the wrong way", args(batch_backwards), r"wrong way"),
        Wrong("3.2", "non-overlapping chunks only", args(batch_no_overlap), r"never drawn"),
        Wrong("3.3", "return_sequences missing", args(model_last_only), r"one output per sequence"),
        Wrong("3.3", "softmax on the Dense layer", args(model_softmax), r"probabilities, not logits"),
        Wrong("3.3", "a Softmax layer at the end", args(model_softmax_layer), r"probabilities, not logits"),
        Wrong("3.3", "ReLU on the Dense layer", args(model_relu), r"ReLU"),
        Wrong("3.3", "SimpleRNN", args(model_simple_rnn), r"SimpleRNN, not an LSTM"),
        Wrong("3.3", "GRU", args(model_gru), r"GRU, not an LSTM"),
        Wrong("3.3", "embedding_dim and rnn_units swapped", args(model_sizes_swapped), r"embedding_dim and rnn_units"),
        Wrong("3.3", "Embedding's arguments swapped", args(model_embedding_swapped),
              r"outside the Embedding's table|Embedding's arguments are swapped"),
        Wrong("3.3", "no dropout argument", args(model_no_dropout_argument), r"TypeError.*takes four arguments"),
        Wrong("3.3", "dropout argument ignored", args(model_dropout_ignored), r"changed nothing while training"),
        Wrong("3.3", "dropout fixed at 0.5", args(model_dropout_fixed), r"default 0\.0.*about [45]\d% of the LSTM"),
        Wrong("3.3", "Dropout(1 - dropout)", args(model_keep_probability), r"100%|keep probability"),
        Wrong("3.3", "dropout also at inference", args(model_dropout_always), r"when not training"),
        Wrong("3.3", "dropout before the LSTM", args(model_dropout_first), r"dropout inside the LSTM or before it"),
        Wrong("3.3", "LSTM(dropout=...)", args(model_lstm_dropout), r"dropout inside the LSTM or before it"),
        Wrong("3.3", "dropout on the logits", args(model_dropout_last), r"logits themselves are dropped"),
        Wrong("3.3", "an extra hidden Dense layer", args(model_hidden_dense), r"extra layer with weights"),
        Wrong("3.4", "from_logits missing", args(loss_probabilities), r"treated as probabilities"),
        Wrong("3.4", "summed", args(loss_summed), r"summed, not averaged"),
        Wrong("3.4", "summed over time", args(loss_sum_over_time), r"summed over time"),
        Wrong("3.4", "sign flipped", args(loss_negative), r"sign is flipped"),
        Wrong("3.4", "bits", args(loss_bits), r"bits"),
        Wrong("3.4", "log-softmax missing", args(loss_no_log_softmax), r"log-softmax is missing"),
        Wrong("3.4", "keras.ops.convert_to_numpy returned", args(loss_to_numpy), r"cannot be differentiated"),
        Wrong("3.4", "not reduced", args(loss_per_char), r"per-character losses"),
        Wrong("3.4", "gradient stopped (keras.ops.stop_gradient)", args(loss_stopped),
              r"cannot be differentiated|stop_gradient"),
        Wrong("3.4", "float(...) returned", args(loss_float), r"cannot be differentiated"),
    ),
    Wrong("3.1", "a tf tensor", c2i(vectorize_tensor), r"must return a NumPy array.*Tensor"),
    Wrong("3.2", "tensors", args(batch_tensors), r"not a NumPy array"),
    Wrong("3.4", ".numpy() returned", args(loss_numpy), r"cannot be differentiated"),
    Wrong("3.4", "tf.nn.softmax before the loss", args(loss_tf_softmax_twice), r"softmax twice"),
    Wrong("3.4", "keras.ops.softmax before the loss", args(loss_softmax_twice), r"softmax twice",
          backends=JAX + TORCH),
    Wrong("3.4", "np.mean", args(loss_np_mean), r"cannot be differentiated"),
    Wrong("3.4", "np.mean of a PyTorch tensor", args(loss_np_mean), r"NumPy function.*keras\.ops\.mean",
          backends=TORCH),
    Wrong("3.4", ".detach() returned", args(loss_detached), r"cannot be differentiated", backends=TORCH),
    Wrong("3.4", ".item() returned", args(loss_item), r"cannot be differentiated", backends=TORCH),
    Wrong("3.4", "gradient stopped (jax.lax.stop_gradient)", args(loss_jax_stopped), r"stop_gradient",
          backends=JAX),
    Wrong("3.5", "not compiled", args(make_step(compiled=False)), r"not compiled"),
    Wrong("3.5", "model(x) without training", args(make_step(training=None)), r"inference mode"),
    Wrong("3.5", "training=False", args(make_step(training=False)), r"inference mode"),
    Wrong("3.5", "gradient ascent", args(make_step(sign=-1)), r"gradient ascent"),
    Wrong("3.5", "gradients applied twice", args(make_step(times=2)), r"applied twice"),
    Wrong("3.5", "gradients never applied", args(make_step(apply=False)), r"did not change"),
    Wrong("3.5", "loss after the step", args(make_step(after=True)), r"after the update"),
    Wrong("3.5", "labels are x", args(make_step(labels="x")), r"inputs x instead of the labels y"),
    Wrong("3.5", "only the Dense layer trained", args(make_step(variables=lambda m: m.layers[-1].trainable_variables)),
          r"not updated: Embedding, LSTM kernel"),
    Wrong("3.5", "summed loss", args(make_step(loss=loss_summed)), r"summed over the characters"),
    # JAX: a jitted pure step
    Wrong("3.5", "JAX: not jitted", jax_step(compiled=False), r"not compiled.*jax\.jit", backends=JAX),
    Wrong("3.5", "JAX: jax.grad of the per-character losses (not a scalar)", jax_step(per_example=True),
          r"returns one number", backends=JAX),
    Wrong("3.5", "JAX: float(loss) inside jit", jax_step(to_float=True), r"tracers, not numbers", backends=JAX),
    Wrong("3.5", "JAX: weights assigned inside jit, the old state returned", jax_step(assign_inside=True),
          r"did not change.*return the new state", backends=JAX),
    Wrong("3.5", "JAX: model called without training", jax_step(training=None), r"inference mode", backends=JAX),
    Wrong("3.5", "JAX: training=False", jax_step(training=False), r"inference mode", backends=JAX),
    Wrong("3.5", "JAX: gradient ascent", jax_step(sign=-1), r"gradient ascent", backends=JAX),
    Wrong("3.5", "JAX: stateless_apply twice", jax_step(times=2), r"applied twice", backends=JAX),
    Wrong("3.5", "JAX: the old trainable values returned", jax_step(apply=False), r"did not change", backends=JAX),
    Wrong("3.5", "JAX: loss after the step", jax_step(after=True), r"after the update", backends=JAX),
    Wrong("3.5", "JAX: labels are x", jax_step(labels="x"), r"inputs x instead of the labels y", backends=JAX),
    Wrong("3.5", "JAX: only the Dense layer's gradients kept", jax_step(only_dense=True),
          r"not updated: Embedding, LSTM kernel", backends=JAX),
    Wrong("3.5", "JAX: summed loss", jax_step(loss=loss_summed), r"summed over the characters", backends=JAX),
    # PyTorch: backward() and the optimizer
    Wrong("3.5", "PyTorch: no zero_grad, gradients accumulate", torch_step(zero_grad=False),
          r"accumulate.*zero_grad", backends=TORCH),
    Wrong("3.5", "PyTorch: the forward pass under torch.no_grad()", torch_step(no_grad_forward=True),
          r"no graph back to the weights.*torch\.no_grad", backends=TORCH),
    Wrong("3.5", "PyTorch: the logits .detach()ed", torch_step(detach=True), r"no graph back to the weights.*detach",
          backends=TORCH),
    Wrong("3.5", "PyTorch: loss.backward() twice", torch_step(backward_twice=True), r"applied twice", backends=TORCH),
    Wrong("3.5", "PyTorch: model called without training", torch_step(training=None), r"inference mode",
          backends=TORCH),
    Wrong("3.5", "PyTorch: training=False", torch_step(training=False), r"inference mode", backends=TORCH),
    Wrong("3.5", "PyTorch: gradient ascent", torch_step(sign=-1), r"gradient ascent", backends=TORCH),
    Wrong("3.5", "PyTorch: optimizer.apply twice", torch_step(times=2), r"applied twice", backends=TORCH),
    Wrong("3.5", "PyTorch: gradients never applied", torch_step(apply=False), r"did not change", backends=TORCH),
    Wrong("3.5", "PyTorch: loss after the step", torch_step(after=True), r"after the update", backends=TORCH),
    Wrong("3.5", "PyTorch: labels are x", torch_step(labels="x"), r"inputs x instead of the labels y", backends=TORCH),
    Wrong("3.5", "PyTorch: only the Dense layer updated", torch_step(only_dense=True),
          r"not updated: Embedding, LSTM kernel", backends=TORCH),
    Wrong("3.5", "PyTorch: summed loss", torch_step(loss=loss_summed), r"summed over the characters", backends=TORCH),
    *on_every_backend(
        Wrong("3.6a", "state reset at every call", args(make_sampling_step(reset=True)), r"state passed in is ignored"),
        Wrong("3.6a", "h and c swapped in the returned state", args(make_sampling_step(swap_out=True)),
              r"swapped in the returned state"),
        Wrong("3.6a", "h and c swapped when passed to the cell", args(make_sampling_step(swap_in=True)),
              r"swapped when passed"),
        Wrong("3.6a", "only h returned as the state", args(make_sampling_step(keep_h_only=True)),
              r"only h is returned"),
        Wrong("3.6a", "softmax applied: probabilities returned", args(make_sampling_step(softmax=True)),
              r"probabilities"),
        Wrong("3.6a", "temperature applied inside the step", args(make_sampling_step(scale=1 / 0.8)),
              r"multiplied by 1\.25.*temperature"),
        Wrong("3.6a", "the state passed in returned", args(make_sampling_step(old_state=True)),
              r"state returned is the one passed in"),
        Wrong("3.6a", "logits from the cell state c", args(make_sampling_step(from_c=True)), r"new cell state c"),
        Wrong("3.6a", "every row uses row 0's state", args(make_sampling_step(first_row_state=True)),
              r"row \d's logits come from the state of row 0"),
        Wrong("3.6a", "the LSTM layer on a time axis of 1", args(step_time_axis), r"time axis of length 1"),
        Wrong("3.6a", "a time axis added before the cell", args(step_cell_time_axis), r"without adding a time axis"),
        Wrong("3.6a", "the LSTM layer called instead of its cell", args(step_layer_not_cell), r"call of its cell"),
        Wrong("3.6a", "first row only", args(step_first_row_only), r"one row only"),
        Wrong("3.6a", "keeps the prefix and re-runs it", lambda: (make_prefix_rerun(),), r"state passed in is ignored"),
    ),
    Wrong("3.6a", ".numpy() inside the step", args(step_numpy), r"fails inside tf.function"),
    Wrong("3.6a", "np.asarray inside the step", args(step_np_asarray), r"fails inside jax\.jit", backends=JAX),
    *on_every_backend(
        Wrong("3.6", "initial state at each call", args(make_generate(carry=False)), r"state is not carried"),
        Wrong("3.6", "state not updated while generating", args(make_generate(update_state=False)),
              r"state returned while generating"),
        Wrong("3.6", "state reset after the start", args(make_generate(reset_after_start=True)), r"reset after"),
        Wrong("3.6", "only the last start character read", args(make_generate(last_start_only=True)),
              r"last character of the start"),
        Wrong("3.6", "sample not fed back", args(make_generate(feed_back=False)), r"not fed back"),
        Wrong("3.6", "temperature multiplies", args(make_generate(transform=lambda z, t: z * t)), r"multiplied"),
        Wrong("3.6", "temperature ignored", args(make_generate(transform=lambda z, t: z)), r"temperature is ignored"),
        Wrong("3.6", "greedy", args(make_generate(pick=greedy_pick)), r"greedy"),
        Wrong("3.6", "greedy below temperature 1", args(make_generate(pick=greedy_below_one)), r"greedy"),
        Wrong("3.6", "probabilities as logits",
              args(make_generate(transform=lambda z, t: keras.ops.softmax(z / t))), r"expects logits"),
        Wrong("3.6", "start string left out", args(make_generate(new_only=True)), r"without the start string"),
        Wrong("3.6", "one character too many", args(make_generate(extra=1)), r"returned \d+ characters"),
        Wrong("3.6", "a list of characters", args(generate_list), r"must return a string"),
    ),
]

RIGHT = [
    *on_every_backend(
        Right("3.1", "list comprehension", c2i(vectorize_right)),
        Right("3.1", "np.fromiter, int32", c2i(vectorize_fromiter)),
        Right("3.1", "np.searchsorted in the sorted vocabulary", c2i(vectorize_searchsorted)),
        Right("3.1", "loop filling an array", c2i(vectorize_loop)),
        Right("3.2", "np.random.choice of starts", args(batch_right)),
        Right("3.2", "one chunk of seq_length + 1, split", args(batch_chunks)),
        Right("3.2", "fancy indexing", args(batch_fancy_index)),
        Right("3.2", "a Generator's integers", args(batch_generator)),
        Right("3.2", "distinct starts in a batch (replace=False)", args(batch_distinct_starts)),
        Right("3.3", "Sequential from a list", args(model_right)),
        Right("3.3", "Sequential.add, other initialisers", args(model_added)),
        Right("3.3", "functional API", args(model_functional)),
        Right("3.3", "subclassed Model", args(CharModel)),
        Right("3.3", "TimeDistributed(Dense(vocab_size)): the same weights and outputs", args(model_time_distributed)),
        Right("3.4", "keras.ops.mean of sparse cross-entropy", args(loss_right)),
        Right("3.4", "loss object", args(loss_object)),
        Right("3.4", "one-hot categorical cross-entropy", args(loss_one_hot)),
        Right("3.4", "log_softmax and take_along_axis", args(loss_gather)),
    ),
    Right("3.4", "tf.reduce_mean of sparse cross-entropy", args(loss_tf_reduce_mean)),
    Right("3.4", "tf.nn sparse softmax cross-entropy", args(loss_tf_nn)),
    Right("3.4", "one-hot categorical cross-entropy in float64", args(loss_one_hot_float64)),
    Right("3.5", "GradientTape and apply_gradients", args(make_step())),
    Right("3.5", "Keras 3 optimizer.apply and trainable_weights", args(step_keras3)),
    Right("3.5", "clipped by a large global norm, reduce_retracing", args(step_clipped)),
    Right("3.5", "JAX: value_and_grad with has_aux, stateless_apply", jax_step(), backends=JAX),
    Right("3.5", "JAX: jax.grad and a second forward pass for the loss, static_argnames",
          lambda: (make_jax_step_grad_then_loss(),), backends=JAX),
    Right("3.5", "JAX: the model called inside keras.StatelessScope", lambda: (make_jax_step_stateless_scope(),),
          backends=JAX),
    Right("3.5", "PyTorch: zero_grad, backward, optimizer.apply", torch_step(), backends=TORCH),
    Right("3.5", "PyTorch: torch.autograd.grad and apply_gradients", args(torch_step_autograd_grad), backends=TORCH),
    Right("3.5", "PyTorch: .grad cleared after the update, no torch.no_grad()", args(torch_step_cleared_after),
          backends=TORCH),
    *on_every_backend(
        Right("3.6a", "lstm.cell, one step", args(step_right)),
        Right("3.6a", "keras.layers.RNN over a one-character sequence, tuple state", args(step_rnn_layer)),
        Right("3.6a", "the LSTM's gate equations from its weights", args(step_gates)),
        Right("3.6a", "unpacks h, c first (the wrong rows' factory, no mistake)", args(make_sampling_step())),
        Right("3.6", "keras.ops.softmax and np.random.choice, as the solution", args(generate_softmax_choice)),
        Right("3.6", "keras.random.categorical", args(make_generate())),
        Right("3.6", "NumPy softmax and np.random.choice", args(generate_numpy)),
        Right("3.6", "Gumbel-max trick", args(generate_gumbel)),
        Right("3.6", "log-probabilities to keras.random.categorical", args(generate_log_probs)),
    ),
    Right("3.6a", "the new state .detach()ed", args(step_detached_state), backends=TORCH),
    Right("3.6", "tf.random.categorical", args(generate_tf)),
    Right("3.6", "torch.multinomial", args(generate_torch_multinomial), backends=TORCH),
    Right("3.6", "jax.random.categorical with split keys", args(generate_jax_categorical), backends=JAX),
]


# ---------------------------------------------------------------- written after diagnosis.py: tests its generality
# Wrong answers written once labhelpers/judges/diagnosis.py was in place, as students write them, each with the
# name a good diagnosis gives (None where nothing can single it out); bench/check_mutations.py counts them apart.
def make_step_by_gates(order="ifco", gate=keras.ops.sigmoid, candidate=keras.ops.tanh, output_gate=keras.ops.sigmoid,
                       squash_c=True, lstm_bias=True, forget=True, recurrent_from="h"):
    """sampling_step with the LSTM's equations written out from lstm.cell's weights, one thing changed."""

    def sampling_step(embedding, lstm, dense, char_ids, state):
        h, c = state
        cell = lstm.cell
        z = keras.ops.matmul(embedding(char_ids), cell.kernel) + keras.ops.matmul(h if recurrent_from == "h" else c,
                                                                                  cell.recurrent_kernel)
        if lstm_bias:
            z += cell.bias
        blocks = dict(zip(order, keras.ops.split(z, 4, axis=-1)))
        i, f, g, o = gate(blocks["i"]), gate(blocks["f"]), candidate(blocks["c"]), output_gate(blocks["o"])
        c = (f * c if forget else 0.0) + i * g
        h = o * (keras.ops.tanh(c) if squash_c else c)
        return keras.ops.matmul(h, dense.kernel) + dense.bias, [h, c]

    return sampling_step


def step_bias_twice(embedding, lstm, dense, char_ids, state):
    h, state = lstm.cell(embedding(char_ids), state)
    return dense(h) + dense.bias, state


def step_relu_logits(embedding, lstm, dense, char_ids, state):
    h, state = lstm.cell(embedding(char_ids), state)
    return keras.ops.relu(dense(h)), state


def step_stable_logits(embedding, lstm, dense, char_ids, state):
    """Subtracts each row's largest logit 'for numerical stability'."""
    h, state = lstm.cell(embedding(char_ids), state)
    logits = dense(h)
    return logits - keras.ops.max(logits, axis=-1, keepdims=True), state


WRONG += after_diagnosis(*on_every_backend(
    Wrong("3.6a", "gates by hand in the order i, f, o, c", args(make_step_by_gates(order="ifoc")),
          r"order i, f, o, c~"),
    Wrong("3.6a", "gates by hand, tanh on the output gate", args(make_step_by_gates(output_gate=keras.ops.tanh)),
          r"tanh is used where the output gate's sigmoid"),
    Wrong("3.6a", "gates by hand, no tanh on c_t", args(make_step_by_gates(squash_c=False)),
          r"tanh of c_t is missing"),
    Wrong("3.6a", "gates by hand, the recurrent part from c", args(make_step_by_gates(recurrent_from="c")),
          r"the c passed in in place of the h passed in"),
    Wrong("3.6a", "gates by hand, the LSTM's bias left out", args(make_step_by_gates(lstm_bias=False)),
          r"LSTM's bias is missing"),
    Wrong("3.6a", "gates by hand, c_t without f c_{t-1}", args(make_step_by_gates(forget=False)),
          r"f c_\{t-1\} is missing"),
    Wrong("3.6a", "gates by hand, sigmoid for the candidate", args(make_step_by_gates(candidate=keras.ops.sigmoid)),
          r"sigmoid is used where the candidate's tanh"),
    Wrong("3.6a", "the Dense bias added twice", args(step_bias_twice), r"bias is counted twice"),
    Wrong("3.6a", "ReLU on the logits", args(step_relu_logits), r"ReLU"),
    Wrong("3.6a", "each row's largest logit subtracted", args(step_stable_logits),
          r"same for every logit"),
))
