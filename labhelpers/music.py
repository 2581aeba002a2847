"""Lab 03, music generation: the Irish tunes, the exercise checks, training and fast sampling.

Media (validity, audio, piano rolls) live in labhelpers/tunes.py.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import keras
import numpy as np
import regex
import tensorflow as tf

from labhelpers import mitdl
from labhelpers.grading import CheckFailed, Lab, matching_mistake

lab = Lab("03", "Music generation")

SNIPPET = "(^|\n\n)(.*?)\n\n"  # mitdeeplearning.lab1.extract_song_snippet's pattern


# ---------------------------------------------------------------- data
def split_snippets(text: str) -> list[str]:
    """The snippets mitdeeplearning's extract_song_snippet finds (without its print)."""
    return [match[1] for match in regex.findall(SNIPPET, text, overlapped=True, flags=regex.DOTALL)]


def load_songs(text: str | None = None) -> list[str]:
    """Every tune of mitdeeplearning's irish.abc, whole, one string each.

    Its snippet split (817 snippets) has three flaws we mend on purpose: where tunes are
    separated by two blank lines, its overlapping search finds the tune twice (once with a
    leading newline), and we keep one; a header separated from its body by a blank line comes
    out as two snippets (the second without `X:`), which we join again; and the last tune is
    lost because the file does not end with a blank line, which we add back.
    """
    text = mitdl.data_file("irish.abc").read_text() if text is None else text
    songs = []
    for snippet in split_snippets(text.rstrip("\n") + "\n\n"):
        snippet = snippet.strip("\n")
        if songs and snippet == songs[-1]:
            continue
        if snippet.startswith("X:") or not songs:
            songs.append(snippet)
        else:
            songs[-1] += "\n" + snippet
    return songs


def is_validation_song(song: str, fraction: float = 0.1) -> bool:
    """A fixed held-out set: a song's hash decides, so the split never depends on a seed."""
    digest = hashlib.sha256(song.encode()).digest()
    return int.from_bytes(digest[:4], "big") < fraction * 2**32


def split_songs(songs: list[str], fraction: float = 0.1) -> tuple[list[str], list[str]]:
    """(training songs, validation songs)."""
    train = [s for s in songs if not is_validation_song(s, fraction)]
    return train, [s for s in songs if is_validation_song(s, fraction)]


def join_songs(songs: list[str]) -> str:
    """One training text: songs separated by a blank line, as in the file."""
    return "\n\n".join(songs) + "\n\n"


def reference_get_batch(vectorized, seq_length, batch_size, rng=np.random):
    """Random windows of the text and the same windows shifted by one character."""
    starts = rng.randint(0, len(vectorized) - seq_length, batch_size)
    x = np.stack([vectorized[s:s + seq_length] for s in starts])
    y = np.stack([vectorized[s + 1:s + seq_length + 1] for s in starts])
    return x, y


# ---------------------------------------------------------------- 3.1 vectorize_string
@lab.check("3.1", "vectorize_string")
def check_vectorize_string(vectorize_string, char2idx):
    """vectorize_string(text) -> NumPy int array of character indices."""
    text = "X:1\nT:Test\nK:D\n|:ABc d2:|"
    found = vectorize_string(text)
    expected = np.array([char2idx[c] for c in text])
    if not isinstance(found, np.ndarray):
        raise CheckFailed("vectorize_string must return a NumPy array", expected="np.ndarray of ints",
                          found=type(found).__name__, hint="wrap your list in np.array(...).")
    if found.shape != expected.shape:
        raise CheckFailed("the vector has the wrong length", expected=f"{expected.shape} (one index per character)",
                          found=str(found.shape), hint="map every character, newlines included.")
    if not np.issubdtype(found.dtype, np.integer):
        raise CheckFailed("the indices are not integers", expected="an integer dtype", found=str(found.dtype),
                          hint="the Embedding layer takes integer indices.")
    if not np.array_equal(found, expected):
        first = int(np.argmax(found != expected))
        raise CheckFailed("some characters map to the wrong index",
                          expected=f"char2idx[{text[first]!r}] = {expected[first]} at position {first}",
                          found=str(found[first]), hint="look each character up in char2idx.")
    return f"maps a {len(text)}-character tune to its {len(text)} indices"


# ---------------------------------------------------------------- 3.2 get_batch
@lab.check("3.2", "get_batch")
def check_get_batch(get_batch):
    """get_batch(vectorized, seq_length, batch_size) -> (x, y) windows shifted by one."""
    data = np.arange(500) % 97
    np.random.seed(3)
    x, y = get_batch(data, 20, 6)
    for name, value in (("x", x), ("y", y)):
        if not isinstance(value, np.ndarray):
            raise CheckFailed(f"{name} is not a NumPy array", expected="np.ndarray", found=type(value).__name__,
                              hint="build the batch with np.array(...) or np.stack(...).")
        if value.shape != (6, 20):
            raise CheckFailed(f"{name} has the wrong shape", expected="(batch_size, seq_length) = (6, 20)",
                              found=str(value.shape), hint="one row per sequence in the batch.")
    if np.array_equal(x, y):
        raise CheckFailed("the labels are the inputs", expected="y[:, t] = x[:, t + 1]: the next character",
                          found="y == x", hint="the labels are the same window shifted one step to the right.")
    if not np.array_equal(x[:, 1:], y[:, :-1]):
        raise CheckFailed("the labels are not the inputs shifted by one", expected="x[:, 1:] == y[:, :-1]",
                          found="another shift", hint="take y from start + 1 to start + seq_length + 1.")
    if not np.all(np.diff(x, axis=1) % 97 == 1):  # the text counts up by one, modulo 97
        raise CheckFailed("the windows are not consecutive characters of the text",
                          expected="x[i] = vectorized[s : s + seq_length] for a random start s",
                          found="rows that are not slices", hint="slice the text, do not sample characters one by one.")
    starts = set()
    for _ in range(40):
        xs, _ = get_batch(data, 20, 6)
        starts |= {int(row[0]) for row in xs}
    if len(starts) < 20:
        raise CheckFailed("the batches are not random", expected="random start positions", found=f"{len(starts)} distinct "
                          "starts in 240 windows", hint="draw the starts with np.random.choice or np.random.randint.")
    tight = np.arange(21)
    xt, yt = get_batch(tight, 20, 4)
    if not (np.array_equal(xt[0], tight[:20]) and np.array_equal(yt[0], tight[1:])):
        raise CheckFailed("a text one character longer than the window fails", expected="the only window: start 0",
                          found=f"x[0] starts at {xt[0][0]}", hint="a start s needs s + seq_length + 1 <= len(text).")
    lab1, args = mitdl.lab1(), (data, 20, 6)
    for test in (lab1.test_batch_func_types, lab1.test_batch_func_shapes, lab1.test_batch_func_next_step):
        test(get_batch, args)
    return "random (batch, seq_length) windows with labels shifted by one; mitdeeplearning's 3 batch tests pass"


# ---------------------------------------------------------------- 3.3 build_model
@lab.check("3.3", "build_model")
def check_build_model(build_model):
    """build_model(vocab_size, embedding_dim, rnn_units, dropout) -> Embedding -> LSTM -> Dropout -> Dense logits."""
    vocab, batch, steps = 30, 3, 12
    model = build_model(vocab, 8, 16)
    tokens = np.random.default_rng(33).integers(0, vocab, size=(batch, steps))
    out = keras.ops.convert_to_numpy(model(tokens))
    if out.shape != (batch, steps, vocab):
        raise CheckFailed("the model's output has the wrong shape", expected=f"({batch}, {steps}, {vocab}): a score "
                          "for every character at every step", found=str(out.shape),
                          hint="the LSTM needs return_sequences=True, and the Dense layer has vocab_size units.")
    if np.all(out >= 0) and np.allclose(out.sum(axis=-1), 1, atol=1e-4):
        raise CheckFailed("the model outputs probabilities", expected="logits; the loss applies the softmax",
                          found="rows >= 0 that sum to 1", hint="leave the activation of the last Dense layer out.")
    changed = tokens.copy()
    changed[:, 0] = (changed[:, 0] + 1) % vocab
    later = keras.ops.convert_to_numpy(model(changed))[:, -1]
    if np.allclose(later, out[:, -1], atol=1e-7):
        raise CheckFailed("the last prediction ignores the first character", expected="an LSTM that carries its "
                          "state along the sequence", found="no change after changing character 1",
                          hint="feed the embedded characters through the LSTM.")
    kinds = [type(layer).__name__ for layer in model.layers]
    if "LSTM" not in kinds or "Embedding" not in kinds:
        raise CheckFailed("the model is not Embedding -> LSTM -> Dense", expected="Embedding, LSTM, Dense",
                          found=", ".join(kinds), hint="use keras.layers.Embedding, keras.layers.LSTM and keras.layers.Dense.")
    _check_dropout(build_model, vocab, tokens)
    return (f"({batch}, {steps}) characters -> ({batch}, {steps}, {vocab}) logits through Embedding, LSTM, Dense; "
            "dropout only while training")


def _check_dropout(build_model, vocab, tokens):
    """With dropout=0.5 the outputs vary while training and are fixed otherwise."""
    try:
        model = build_model(vocab, 8, 16, dropout=0.5)
    except TypeError as error:
        raise CheckFailed("build_model does not take a `dropout` argument", expected="build_model(vocab_size, "
                          "embedding_dim, rnn_units, dropout=0.0)", found=str(error),
                          hint="add the parameter `dropout=0.0` and pass it to a keras.layers.Dropout layer.") from None
    outputs = {mode: [keras.ops.convert_to_numpy(model(tokens, training=mode)) for _ in range(2)]
               for mode in (True, False)}
    if not np.allclose(*outputs[False], atol=1e-6):
        raise CheckFailed("the model gives different outputs for the same input when not training",
                          expected="dropout only while training", found="random outputs at inference",
                          hint="use keras.layers.Dropout, which is active only when training=True.")
    if np.allclose(*outputs[True], atol=1e-6):
        raise CheckFailed("dropout=0.5 changed nothing while training", expected="random units dropped at "
                          "each training call", found="the same outputs twice with training=True",
                          hint="put keras.layers.Dropout(dropout) between the LSTM and the Dense layer.")


# ---------------------------------------------------------------- 3.4 compute_loss
@lab.check("3.4", "compute_loss")
def check_compute_loss(compute_loss):
    """compute_loss(labels, logits) -> mean sparse categorical cross-entropy from logits."""
    rng, vocab = np.random.default_rng(34), 83
    labels = rng.integers(0, vocab, size=(4, 10))
    logits = rng.normal(0, 3, size=(4, 10, vocab)).astype("float32")
    per_char = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True).numpy()
    found = float(compute_loss(tf.constant(labels), tf.constant(logits)))
    if not np.isclose(found, per_char.mean(), rtol=1e-4):
        mistakes = {
            "the logits are treated as probabilities (from_logits=True is missing)": keras.losses.sparse_categorical_crossentropy(labels, logits).numpy().mean(),
            "the loss is summed, not averaged over characters": per_char.sum(),
        }
        diagnosis = matching_mistake(np.array(found), {k: np.array(v) for k, v in mistakes.items()}, atol=1e-3)
        raise CheckFailed("the loss differs from keras' sparse categorical cross-entropy",
                          expected=f"{per_char.mean():.4f}", found=f"{found:.4f}" + (f": {diagnosis}" if diagnosis else ""),
                          hint="keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True), then the mean.")
    uniform = float(compute_loss(tf.constant(labels), tf.zeros((4, 10, vocab))))
    if not np.isclose(uniform, np.log(vocab), rtol=1e-3):
        raise CheckFailed("an untrained model's loss is off", expected=f"ln(vocab) = ln({vocab}) = {np.log(vocab):.3f} "
                          "for all-zero logits (a uniform guess)", found=f"{uniform:.3f}",
                          hint="the loss of a uniform guess over V characters is ln V.")
    return f"matches keras' cross-entropy from logits; a uniform guess scores ln({vocab}) = {np.log(vocab):.2f}"


# ---------------------------------------------------------------- 3.5 train_step
class TrainingProbe(keras.layers.Layer):
    """Passes its input through and records the `training` flag it was called with."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def call(self, inputs, training=None):
        self.seen.append(training)
        return inputs


def _tiny_model(vocab=20, seed=5, probe=None):
    keras.utils.set_random_seed(seed)
    middle = [probe] if probe is not None else []
    model = keras.Sequential([keras.Input((None,)), keras.layers.Embedding(vocab, 8),
                              keras.layers.LSTM(16, return_sequences=True), *middle, keras.layers.Dense(vocab)])
    return model


def _mean_loss(labels, logits):
    return tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True))


@lab.check("3.5", "train_step")
def check_train_step(train_step):
    """train_step(model, optimizer, x, y) -> loss, one compiled gradient step."""
    if not hasattr(train_step, "get_concrete_function"):
        raise CheckFailed("train_step is not compiled", expected="a function decorated with @tf.function",
                          found="a plain Python function", hint="put @tf.function on the line above `def train_step`.")
    rng = np.random.default_rng(35)
    x = rng.integers(0, 20, size=(4, 10))
    y = np.roll(x, -1, axis=1)
    model, reference = _tiny_model(), _tiny_model()
    before = _mean_loss(y, model(x)).numpy()
    loss = float(train_step(model, keras.optimizers.SGD(0.5), tf.constant(x), tf.constant(y)))
    if not np.isclose(loss, before, rtol=1e-4):
        raise CheckFailed("the returned loss is not the loss of the batch before the step",
                          expected=f"{before:.4f}", found=f"{loss:.4f}", hint="return the loss computed inside the tape.")
    with tf.GradientTape() as tape:
        ref_loss = _mean_loss(y, reference(x))
    grads = tape.gradient(ref_loss, reference.trainable_variables)
    keras.optimizers.SGD(0.5).apply_gradients(zip(grads, reference.trainable_variables))
    moved = [np.abs(a.numpy() - b.numpy()).max() for a, b in zip(model.trainable_variables, _tiny_model().trainable_variables)]
    if max(moved) == 0:
        raise CheckFailed("the weights did not change", expected="one optimizer step", found="the same weights",
                          hint="optimizer.apply_gradients(zip(grads, model.trainable_variables)).")
    diffs = [np.abs(a.numpy() - b.numpy()).max() for a, b in zip(model.trainable_variables, reference.trainable_variables)]
    if max(diffs) > 1e-4:
        after = float(_mean_loss(y, model(x)))
        raise CheckFailed("the step differs from a reference gradient step with the same optimizer",
                          expected="the weights after one SGD step on the gradient of the loss",
                          found="a loss that went up" if after > before else f"weights off by up to {max(diffs):.2g}",
                          hint="take the gradient of the loss (not its negative) with respect to model.trainable_variables.")
    probe = TrainingProbe()
    train_step(_tiny_model(probe=probe), keras.optimizers.SGD(0.5), tf.constant(x), tf.constant(y))
    if True not in probe.seen:
        raise CheckFailed("the model is not called in training mode inside the step",
                          expected="model(x, training=True)", found=f"training={probe.seen[-1] if probe.seen else None}",
                          hint="without training=True, Keras calls the model in inference mode and dropout never acts.")
    return "compiled, in training mode; one step equals a reference GradientTape + SGD step on the same weights"


# ---------------------------------------------------------------- 3.6 generate_text
class ToyStep:
    """A stand-in for a trained model's step: fixed next-character logits, state = count of steps."""

    def __init__(self, logits):
        self.logits = tf.constant(logits, "float32")

    def initial_state(self, batch_size):
        return tf.zeros((batch_size, 1))

    def __call__(self, char_ids, state):
        batch = tf.shape(char_ids)[0]
        rolled = tf.roll(self.logits, shift=tf.cast(state[0, 0], tf.int32), axis=0)
        return tf.tile(rolled[None], [batch, 1]), state + 1


class _ConstantStep(ToyStep):
    """A step whose logits never change: its samples show the temperature's effect."""

    def __call__(self, char_ids, state):
        return tf.tile(self.logits[None], [tf.shape(char_ids)[0], 1]), state


@lab.check("3.6", "generate_text")
def check_generate_text(generate_text):
    """generate_text(step, start_string, length, temperature, char2idx, idx2char) -> text."""
    idx2char = np.array(list("abcd"))
    char2idx = {c: i for i, c in enumerate(idx2char)}
    logits = np.log([0.1, 0.2, 0.3, 0.4])
    text = generate_text(ToyStep(logits), "ab", 400, 1.0, char2idx, idx2char)
    if not isinstance(text, str) or not text.startswith("ab") or len(text) != 402:
        raise CheckFailed("generate_text must return the start string followed by `length` new characters",
                          expected="a str of length 2 + 400 starting with 'ab'",
                          found=f"{type(text).__name__} of length {len(text)}" if hasattr(text, "__len__") else type(text).__name__,
                          hint="append idx2char[next_id] to a list and return start_string + ''.join(...).")
    greedy = generate_text(ToyStep(logits), "ab", 8, 1e-4, char2idx, idx2char)[2:]
    expected_greedy = "".join(idx2char[np.argmax(np.roll(logits, 1 + i))] for i in range(8))
    if greedy != expected_greedy:
        stuck = len(set(greedy)) == 1
        raise CheckFailed(
            "at a temperature near 0 the text is not the most likely path", expected=expected_greedy,
            found=greedy + (" (the state is not carried)" if stuck else ": random characters, so the temperature "
                            "does not sharpen the distribution (multiplied instead of divided, or probabilities "
                            "passed where tf.random.categorical expects logits)"),
            hint="feed the state returned by `step` into the next call; sample with "
            "tf.random.categorical(logits / temperature, 1).")
    counts = {}
    for temperature in (1.0, 3.0):
        text = generate_text(_ConstantStep(logits), "a", 1500, temperature, char2idx, idx2char)[1:]
        counts[temperature] = np.array([text.count(c) for c in idx2char]) / len(text)
    expected = {t: tf.nn.softmax(logits / t).numpy() for t in (1.0, 3.0)}
    for t in (1.0, 3.0):
        if np.abs(counts[t] - expected[t]).max() > 0.06:
            sharper = counts[3.0][3] > counts[1.0][3] + 0.05
            found = ("temperature 3 made the text less varied: multiply-by-temperature instead of divide" if sharper
                     else "always the most likely character" if counts[t].max() > 0.97
                     else f"frequencies {np.round(counts[t], 2).tolist()}")
            raise CheckFailed(f"at temperature {t} the characters do not follow softmax(logits / {t})",
                              expected=f"frequencies near {np.round(expected[t], 2).tolist()}", found=found,
                              hint="tf.random.categorical(logits / temperature, num_samples=1) samples from logits.")
    return "keeps the state, is greedy near temperature 0, and samples softmax(logits / T) at T = 1 and 3"


# ---------------------------------------------------------------- training
def validation_batches(vectorized, seq_length: int, batch_size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The whole validation text as consecutive windows: the same batches at every evaluation."""
    count = (len(vectorized) - 1) // seq_length
    x = np.stack([vectorized[i * seq_length:(i + 1) * seq_length] for i in range(count)])
    y = np.stack([vectorized[i * seq_length + 1:(i + 1) * seq_length + 1] for i in range(count)])
    return [(x[i:i + batch_size], y[i:i + batch_size]) for i in range(0, count, batch_size)]


def evaluate(model, batches) -> float:
    """Mean cross-entropy per character (nats) over fixed batches."""
    total, chars = 0.0, 0
    for x, y in batches:
        total += float(_mean_loss(y, model(x, training=False))) * y.size
        chars += y.size
    return total / chars


class Checkpoint:
    """Model weights (`.weights.h5`) and the training history beside them, for resuming."""

    def __init__(self, path):
        self.weights = Path(path).with_suffix("").with_suffix(".weights.h5")
        self.history_file = self.weights.with_name(self.weights.name.replace(".weights.h5", ".history.json"))

    def save(self, model, history: dict) -> None:
        self.weights.parent.mkdir(parents=True, exist_ok=True)
        model.save_weights(self.weights)
        self.history_file.write_text(json.dumps(history))

    def restore(self, model) -> dict | None:
        """Load the saved weights into `model` and return the history, or None if there is nothing."""
        if not (self.weights.exists() and self.history_file.exists()):
            return None
        try:
            model.load_weights(self.weights)
        except ValueError as error:
            print(f"Not resuming from {self.weights}: it was saved from another model ({str(error)[:120]}).")
            return None
        return json.loads(self.history_file.read_text())


def train(model, optimizer, train_step, next_batch, val_batches, steps: int, eval_every: int,
          checkpoint: Checkpoint | None = None, live_plot: bool = True) -> dict:
    """Run `train_step` for `steps` steps with a progress bar and a live train/validation plot.

    Resumes from `checkpoint` when it holds weights of this model, and saves to it at every
    evaluation. Returns the history: steps, train and validation losses, seconds.
    """
    from tqdm.auto import tqdm

    history = (checkpoint.restore(model) if checkpoint else None) or {
        "step": [], "train_loss": [], "val_loss": [], "seconds": []}
    done = history["step"][-1] if history["step"] else 0
    if done:
        print(f"Resumed from {checkpoint.weights} at step {done} (validation loss {history['val_loss'][-1]:.3f}).")
    plot = LossPlot() if live_plot else None
    start, elapsed0, running = time.perf_counter(), (history["seconds"][-1] if done else 0.0), []
    bar = tqdm(range(done + 1, steps + 1), desc="training", initial=done, total=steps)
    for step in bar:
        x, y = next_batch()
        running.append(float(train_step(model, optimizer, tf.constant(x), tf.constant(y))))
        if step % eval_every == 0 or step == steps:
            history["step"].append(step)
            history["train_loss"].append(float(np.mean(running)))
            history["val_loss"].append(evaluate(model, val_batches))
            history["seconds"].append(elapsed0 + time.perf_counter() - start)
            running = []
            bar.set_postfix(train=f"{history['train_loss'][-1]:.3f}", val=f"{history['val_loss'][-1]:.3f}")
            if checkpoint:
                checkpoint.save(model, history)
            if plot:
                plot.update(history)
    return history


class LossPlot:
    """A training/validation loss plot that redraws in place in a notebook."""

    def __init__(self):
        from IPython.display import display

        self.handle = display(display_id=True)

    def update(self, history: dict) -> None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 3.5))
        ax.plot(history["step"], history["train_loss"], label="training")
        ax.plot(history["step"], history["val_loss"], label="validation (held-out songs)")
        ax.set_title("Character model: loss while training")
        ax.set_xlabel("training step")
        ax.set_ylabel("cross-entropy (nats per character)")
        ax.legend()
        self.handle.update(fig)
        plt.close(fig)


# ---------------------------------------------------------------- sampling
def model_layers(model):
    """The Embedding, LSTM and Dense layers of a character model."""
    kinds = {type(layer).__name__: layer for layer in model.layers}
    missing = {"Embedding", "LSTM", "Dense"} - set(kinds)
    if missing:
        raise ValueError(f"expected an Embedding -> LSTM -> Dense model; missing {sorted(missing)}")
    return kinds["Embedding"], kinds["LSTM"], kinds["Dense"]


class ModelStep:
    """One character at a time through a trained model, compiled: (char_ids, state) -> (logits, state)."""

    def __init__(self, model, compiled: bool = True):
        self.embedding, self.lstm, self.dense = model_layers(model)
        self._step = tf.function(self._one_step) if compiled else self._one_step

    def initial_state(self, batch_size: int):
        zeros = tf.zeros((batch_size, self.lstm.units))
        return [zeros, zeros]

    def _one_step(self, char_ids, state):
        h, state = self.lstm.cell(self.embedding(char_ids), state)
        return self.dense(h), state

    def __call__(self, char_ids, state):
        return self._step(char_ids, state)


class Sampler:
    """Samples many songs at once, the whole loop compiled into one TensorFlow graph."""

    def __init__(self, model, char2idx: dict, idx2char):
        self.step = ModelStep(model, compiled=False)
        self.char2idx, self.idx2char = char2idx, np.asarray(idx2char)
        self._sample = tf.function(self._sample_graph)

    def _sample_graph(self, start_ids, length, temperature):
        batch = tf.shape(start_ids)[0]
        state = self.step.initial_state(batch)
        logits = tf.zeros((batch, self.step.dense.units))
        for t in tf.range(tf.shape(start_ids)[1]):
            logits, state = self.step(start_ids[:, t], state)
        out = tf.TensorArray(tf.int32, size=length)
        for i in tf.range(length):
            next_ids = tf.random.categorical(logits / temperature, 1, dtype=tf.int32)[:, 0]
            out = out.write(i, next_ids)
            logits, state = self.step(next_ids, state)
        return tf.transpose(out.stack())

    def sample(self, start_string: str, count: int, length: int, temperature: float = 1.0) -> list[str]:
        """`count` texts of `length` characters after `start_string`, each starting with it."""
        start = np.array([[self.char2idx[c] for c in start_string]] * count, dtype="int32")
        ids = self._sample(tf.constant(start), tf.constant(length), tf.constant(temperature, tf.float32)).numpy()
        return [start_string + "".join(self.idx2char[row]) for row in ids]


def first_song(text: str) -> tuple[str, bool]:
    """The song a generated text starts with, and whether it ended (a blank line) before the text did."""
    song, blank, _ = text.partition("\n\n")
    return song.strip("\n"), bool(blank)
