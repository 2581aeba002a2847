"""Lab 03, music generation: the Irish tunes, training and fast sampling.

Media (validity, audio, piano rolls) live in labhelpers/tunes.py; the exercise checks in
labhelpers/probes/music.py and labhelpers/judges/music/.

Written with Keras and keras.ops for Keras' three backends. Where compiling differs (the sampling
step and the batch sampler, a forward pass for evaluation), each backend gets its own: a tf.function
on TensorFlow, jax.jit of a pure function of the variables' values on JAX (an eager Keras LSTM
recompiles its loop at every call there), and eager PyTorch under torch.no_grad().
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import weakref
from pathlib import Path

import keras
import numpy as np
import regex

from labhelpers import mitdl
from labhelpers.backends import to_numpy
from labhelpers.probes.music import (  # noqa: F401 (the notebook calls music.check_...)
    check_build_model,
    check_compute_loss,
    check_generate_text,
    check_get_batch,
    check_sampling_step,
    check_train_step,
    check_vectorize_string,
)

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


# ---------------------------------------------------------------- training
def validation_batches(vectorized, seq_length: int, batch_size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The whole validation text as consecutive windows: the same batches at every evaluation."""
    count = (len(vectorized) - 1) // seq_length
    x = np.stack([vectorized[i * seq_length:(i + 1) * seq_length] for i in range(count)])
    y = np.stack([vectorized[i * seq_length + 1:(i + 1) * seq_length + 1] for i in range(count)])
    return [(x[i:i + batch_size], y[i:i + batch_size]) for i in range(0, count, batch_size)]


def no_grad():
    """torch.no_grad() on PyTorch (no graph is kept for gradients nobody takes); elsewhere nothing."""
    if keras.backend.backend() == "torch":
        import torch

        return torch.no_grad()
    return contextlib.nullcontext()


_FORWARD = weakref.WeakKeyDictionary()  # model -> its compiled inference pass (JAX)


def _inference(model):
    """model(x, training=False), compiled on JAX once per model (an eager call there recompiles the LSTM's
    loop each time); as it is elsewhere."""
    if keras.backend.backend() != "jax":
        return lambda x: model(x, training=False)
    if model not in _FORWARD:
        import jax

        def forward(trainable, non_trainable, x):
            return model.stateless_call(trainable, non_trainable, x, training=False)[0]

        _FORWARD[model] = jax.jit(forward)
    jitted = _FORWARD[model]
    return lambda x: jitted([v.value for v in model.trainable_variables],
                            [v.value for v in model.non_trainable_variables], x)


def evaluate(model, batches) -> float:
    """Mean cross-entropy per character (nats) over fixed batches."""
    total, chars, forward = 0.0, 0, _inference(model)
    with no_grad():
        for x, y in batches:
            logits = forward(x)
            total += float(to_numpy(keras.ops.sum(
                keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True))))
            chars += y.size
    return total / chars


def training_state(model, optimizer) -> tuple[list, list, list]:
    """(trainable, non_trainable, optimizer_variables): the values of the model's and the optimizer's
    variables, the state a pure JAX training step takes in and hands back."""
    return ([v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables],
            [v.value for v in optimizer.variables])


def assign_training_state(model, optimizer, state) -> None:
    """Write a state from `training_state` (new values) back into the model's and the optimizer's variables."""
    trainable, non_trainable, optimizer_variables = state
    for variables, values in ((model.trainable_variables, trainable), (model.non_trainable_variables, non_trainable),
                              (optimizer.variables, optimizer_variables)):
        for variable, value in zip(variables, values):
            variable.assign(value)


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


class TrainingLog:
    """The bookkeeping around the notebook's training loop: resuming, a progress bar, a live plot, checkpoints.

    `steps(total)` gives the step numbers still to run (after the last checkpointed step);
    `add(loss)` keeps a step's training loss; `evaluate(step, val_loss)` records the mean training
    loss since the last evaluation beside the validation loss, redraws the plot and saves the checkpoint.
    """

    def __init__(self, model, checkpoint: Checkpoint | None = None, live_plot: bool = True):
        self.model, self.checkpoint = model, checkpoint
        self.history = (checkpoint.restore(model) if checkpoint else None) or {
            "step": [], "train_loss": [], "val_loss": [], "seconds": []}
        self.done = self.history["step"][-1] if self.history["step"] else 0
        if self.done:
            print(f"Resumed from {checkpoint.weights} at step {self.done} "
                  f"(validation loss {self.history['val_loss'][-1]:.3f}).")
        self.plot = LossPlot() if live_plot else None
        self.running, self.bar = [], None
        self.started = time.perf_counter() - (self.history["seconds"][-1] if self.done else 0.0)

    def steps(self, total: int):
        from tqdm.auto import tqdm

        self.bar = tqdm(range(self.done + 1, total + 1), desc="training", initial=self.done, total=total)
        return self.bar

    def add(self, loss) -> None:
        self.running.append(float(to_numpy(loss)))

    def evaluate(self, step: int, val_loss: float) -> None:
        history = self.history
        history["step"].append(step)
        history["train_loss"].append(float(np.mean(self.running)))
        history["val_loss"].append(float(val_loss))
        history["seconds"].append(time.perf_counter() - self.started)
        self.running = []
        if self.bar is not None:
            self.bar.set_postfix(train=f"{history['train_loss'][-1]:.3f}", val=f"{history['val_loss'][-1]:.3f}")
        if self.checkpoint:
            self.checkpoint.save(self.model, history)
        if self.plot:
            self.plot.update(history)


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
    """Your `sampling_step` bound to a trained model's layers and compiled: (char_ids, state) -> (logits, state).

    `sampling_step(embedding, lstm, dense, char_ids, state)` is exercise 3.6a. Compiled means a
    tf.function on TensorFlow, jax.jit on JAX (the layers' weights passed in as values), and on
    PyTorch an eager call under torch.no_grad().
    """

    def __init__(self, model, sampling_step, compiled: bool = True):
        self.embedding, self.lstm, self.dense = model_layers(model)
        self.sampling_step = sampling_step
        self.variables = [*self.embedding.variables, *self.lstm.variables, *self.dense.variables]
        self._step = self._compiled() if compiled else self._one_step

    def _compiled(self):
        backend = keras.backend.backend()
        if backend == "tensorflow":
            import tensorflow as tf

            return tf.function(self._one_step)
        if backend == "jax":
            import jax

            def pure(values, char_ids, state):
                with keras.StatelessScope(state_mapping=list(zip(self.variables, values))):
                    return self._one_step(char_ids, state)

            jitted = jax.jit(pure)
            return lambda char_ids, state: jitted([v.value for v in self.variables], char_ids, state)

        def without_graph(char_ids, state):
            with no_grad():
                return self._one_step(char_ids, state)

        return without_graph

    def initial_state(self, batch_size: int):
        zeros = keras.ops.zeros((batch_size, self.lstm.units))
        return [zeros, zeros]

    def _one_step(self, char_ids, state):
        logits, state = self.sampling_step(self.embedding, self.lstm, self.dense, char_ids, state)
        return logits, list(state)  # a list, as initial_state gives, whether the step returns a list or a tuple

    def __call__(self, char_ids, state):
        return self._step(keras.ops.convert_to_tensor(char_ids), state)


class Sampler:
    """Samples many songs at once with your `sampling_step`, the whole loop compiled: one TensorFlow graph,
    one jax.jit (a lax.scan over the characters), or on PyTorch a loop under torch.no_grad()."""

    def __init__(self, model, sampling_step, char2idx: dict, idx2char):
        self.step = ModelStep(model, sampling_step, compiled=False)
        self.char2idx, self.idx2char = char2idx, np.asarray(idx2char)
        self._sample = {"tensorflow": self._tensorflow, "jax": self._jax}.get(keras.backend.backend(), self._eager)()

    def _tensorflow(self):
        import tensorflow as tf

        step = self.step

        def sample_graph(start_ids, length, temperature):
            batch = tf.shape(start_ids)[0]
            state = step.initial_state(batch)
            logits = tf.zeros((batch, step.dense.units))
            for t in tf.range(tf.shape(start_ids)[1]):
                logits, state = step(start_ids[:, t], state)
            out = tf.TensorArray(tf.int32, size=length)
            for i in tf.range(length):
                next_ids = tf.random.categorical(logits / temperature, 1, dtype=tf.int32)[:, 0]
                out = out.write(i, next_ids)
                logits, state = step(next_ids, state)
            return tf.transpose(out.stack())

        graph = tf.function(sample_graph)
        return lambda start, length, temperature: graph(tf.constant(start), tf.constant(length),
                                                        tf.constant(temperature, tf.float32)).numpy()

    def _jax(self):
        import jax

        step, seeds = self.step, keras.random.SeedGenerator()

        def sample(values, start_ids, key, temperature, length):
            with keras.StatelessScope(state_mapping=list(zip(step.variables, values))):
                def read(carry, ids):
                    return step(ids, carry[1]), None

                def write(carry, key):
                    logits, state = carry
                    next_ids = jax.random.categorical(key, logits / temperature, axis=-1).astype("int32")
                    return step(next_ids, state), next_ids

                batch = start_ids.shape[0]
                logits = keras.ops.zeros((batch, step.dense.units))
                carry, _ = jax.lax.scan(read, (logits, step.initial_state(batch)), start_ids.T)
                _, out = jax.lax.scan(write, carry, jax.random.split(key, length))
            return out.T

        jitted = jax.jit(sample, static_argnums=4)
        return lambda start, length, temperature: np.asarray(jitted(
            [v.value for v in step.variables], start, seeds.next(), np.float32(temperature), int(length)))

    def _eager(self):
        step, seeds = self.step, keras.random.SeedGenerator()

        def sample(start, length, temperature):
            with no_grad():
                state = step.initial_state(start.shape[0])
                for t in range(start.shape[1]):
                    logits, state = step(start[:, t], state)
                out = []
                for _ in range(length):
                    next_ids = keras.random.categorical(logits / temperature, 1, dtype="int32", seed=seeds)[:, 0]
                    out.append(to_numpy(next_ids))
                    logits, state = step(next_ids, state)
            return np.stack(out, axis=1)

        return sample

    def sample(self, start_string: str, count: int, length: int, temperature: float = 1.0) -> list[str]:
        """`count` texts of `length` characters after `start_string`, each starting with it."""
        start = np.array([[self.char2idx[c] for c in start_string]] * count, dtype="int32")
        ids = self._sample(start, length, temperature)
        return [start_string + "".join(self.idx2char[row]) for row in ids]


def first_song(text: str) -> tuple[str, bool]:
    """The song a generated text starts with, and whether it ended (a blank line) before the text did."""
    song, blank, _ = text.partition("\n\n")
    return song.strip("\n"), bool(blank)
