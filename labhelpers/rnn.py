"""Lab 01, RNN from scratch: the checks of its exercises, its corpus and its pictures.

Math convention (as in the notebook): vectors are columns, so one step of the cell is
h_t = tanh(W_hh h_{t-1} + W_xh x_t + b) and y_t = W_hy h_t, with W_xh of shape
(units, input_dim), W_hh (units, units), W_hy (output_dim, units). A batch stores vectors
as rows, so in code W x becomes x @ W^T.
"""

from __future__ import annotations

import inspect
import re

import keras
import numpy as np
import tensorflow as tf

from labhelpers.grading import CheckFailed, Lab, matching_mistake

lab = Lab("01", "RNN from scratch")

TOKEN = re.compile(r"[a-z']+")
ELEMENTWISE = re.compile(r"W_\w+\s*\*(?!\*)|(?<!\*)\*\s*(self\.)?W_\w+")
ELEMENTWISE_HINT = (
    "your code multiplies a weight matrix with `*`, which is elementwise; W x is a matrix "
    "product (`tf.matmul`, or `@`)."
)
CELL_HINTS = {
    "state_size": "a Keras RNN cell sets `self.state_size = rnn_units` in `__init__` so that "
    "keras.layers.RNN knows the size of h.",
    "object is not iterable": "`call` returns two things: the output y_t and the list of new "
    "states `[h_t]`.",
}

# A small corpus for next-word prediction: the pet decides how the sentence ends, so the
# model has to remember a word three steps back ("cat ... for a" -> "walk").
CORPUS = [
    "this morning i took my cat for a walk",
    "this evening i took my dog for a run",
    "yesterday she took her cat for a walk",
    "yesterday he took his dog for a run",
    "every day we take our cat for a walk",
    "every day they take their dog for a run",
    "this morning i fed my cat and my dog",
    "the cat likes a slow walk in the park",
    "the dog likes a fast run in the park",
    "my cat sleeps all afternoon",
    "my dog barks at the mailman",
    "i took my cat to the vet this morning",
    "she took her dog to the beach this evening",
]


def tokenize(sentence: str) -> list[str]:
    """Lower-case words of a sentence, punctuation dropped."""
    return TOKEN.findall(sentence.lower())


def _rng(seed: int = 0):
    return np.random.default_rng(seed)


def _max_diff(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, "float64") - np.asarray(b, "float64"))))


def _elementwise_hint(code) -> str | None:
    """The elementwise-product hint when the learner's source multiplies a W with `*`."""
    try:
        source = inspect.getsource(code)
    except (OSError, TypeError):
        return None
    return ELEMENTWISE_HINT if ELEMENTWISE.search(source) else None


# ---------------------------------------------------------------- 1.2 one step in NumPy
def reference_step(x, h_prev, W_xh, W_hh, W_hy, b):
    """One step computed by Keras' own SimpleRNNCell (weights copied in) and a Dense layer."""
    units, input_dim = W_xh.shape
    cell = keras.layers.SimpleRNNCell(units)
    cell.build((1, input_dim))
    cell.set_weights([W_xh.T, W_hh.T, b])
    _, [h] = cell(x[None, :].astype("float32"), [h_prev[None, :].astype("float32")])
    readout = keras.layers.Dense(W_hy.shape[0], use_bias=False)
    readout.build((1, units))
    readout.set_weights([W_hy.T])
    return readout(h).numpy()[0], h.numpy()[0]


def _step_mistakes(x, h_prev, W_xh, W_hh, W_hy, b):
    """What the common wrong answers compute for h_t and y_t (those that fit these shapes)."""
    h_linear = W_hh @ h_prev + W_xh @ x + b
    wrong = {
        "h": {
            "tanh is missing: h_t = W_hh h_{t-1} + W_xh x_t + b has no nonlinearity": lambda: h_linear,
            "the bias b is missing": lambda: np.tanh(W_hh @ h_prev + W_xh @ x),
            "the previous state is ignored (W_hh h_{t-1} is missing)": lambda: np.tanh(W_xh @ x + b),
            "the weight matrices are transposed (W^T x instead of W x)": lambda: np.tanh(W_hh.T @ h_prev + W_xh.T @ x + b),
        },
        "y": {
            "y_t is computed from h_{t-1} instead of the new h_t": lambda: W_hy @ h_prev,
            "y_t has a tanh; the readout y_t = W_hy h_t is linear": lambda: np.tanh(W_hy @ np.tanh(h_linear)),
            "y_t is read out before the tanh (from W_hh h_{t-1} + W_xh x_t + b)": lambda: W_hy @ h_linear,
            "W_hy is transposed": lambda: W_hy.T @ np.tanh(h_linear),
        },
    }
    return {part: _computable(variants) for part, variants in wrong.items()}


def _computable(variants: dict) -> dict:
    """Evaluate each wrong variant, dropping those whose shapes do not fit."""
    values = {}
    for name, compute in variants.items():
        try:
            values[name] = compute()
        except ValueError:
            pass
    return values


def _random_step_inputs(rng, input_dim, units, output_dim):
    shapes = [(input_dim,), (units,), (units, input_dim), (units, units), (output_dim, units), (units,)]
    return [rng.normal(size=s).astype("float32") for s in shapes]


@lab.check("1.2", "rnn_step")
def check_rnn_step(rnn_step):
    """rnn_step(x, h_prev, W_xh, W_hh, W_hy, b) -> (y, h) for one time step, NumPy vectors."""
    rng, worst = _rng(12), 0.0
    for input_dim, units, output_dim in [(3, 4, 5), (4, 4, 4), (6, 2, 3)]:
        args = _random_step_inputs(rng, input_dim, units, output_dim)
        result = rnn_step(*args)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise CheckFailed("rnn_step must return two things", expected="a tuple (y_t, h_t)",
                              found=type(result).__name__, hint="end with `return y, h`.")
        y, h = (np.asarray(v) for v in result)
        y_ref, h_ref = reference_step(*args)
        mistakes = _step_mistakes(*args)
        for name, found, ref, formula in (("h_t", h, h_ref, "tanh(W_hh h_{t-1} + W_xh x_t + b)"),
                                          ("y_t", y, y_ref, "W_hy h_t")):
            if found.shape != ref.shape:
                raise CheckFailed(
                    f"{name} has the wrong shape for input_dim={input_dim}, units={units}, output_dim={output_dim}",
                    expected=str(ref.shape), found=str(found.shape),
                    hint=_elementwise_hint(rnn_step) or f"{name} = {formula}; check which matrix multiplies which vector.",
                )
            if not np.allclose(found, ref, atol=1e-5):
                diagnosis = matching_mistake(found, mistakes[name[0]])
                raise CheckFailed(
                    f"{name} differs from keras SimpleRNNCell with the same weights "
                    f"(max |diff| {_max_diff(found, ref):.3g})",
                    expected=f"{name} = {formula}",
                    found=f"it looks like {diagnosis}" if diagnosis else "a different formula",
                    hint=_elementwise_hint(rnn_step) or "compare your line with the formula term by term.",
                )
            worst = max(worst, _max_diff(found, ref))
    return f"matches keras SimpleRNNCell + Dense readout on 3 weight shapes (max |diff| {worst:.1e})"


# ---------------------------------------------------------------- 1.3 MyRNNCell
def _cell_weights(cell, units, input_dim, output_dim):
    """The learner's W_xh, W_hh, b, W_hy as NumPy arrays, with their shapes checked."""
    expected = {"W_xh": (units, input_dim), "W_hh": (units, units), "b": (units,), "W_hy": (output_dim, units)}
    weights = {}
    for name, shape in expected.items():
        if not hasattr(cell, name):
            raise CheckFailed(
                f"the cell has no attribute `{name}`",
                expected="attributes W_xh, W_hh, b and W_hy created with `self.add_weight` in `build`",
                found=f"attributes {sorted(v.path.split('/')[-1] for v in cell.weights)}",
                hint="name the weights exactly as in the formula: `self.W_xh = self.add_weight(...)`.",
            )
        value = keras.ops.convert_to_numpy(getattr(cell, name))
        if value.shape != shape:
            transposed = value.shape == shape[::-1]
            raise CheckFailed(
                f"`{name}` has shape {value.shape}",
                expected=f"{shape} (as in the formula, with rnn_units={units}, input_dim={input_dim}, output_dim={output_dim})",
                found=f"{value.shape}" + (", the transpose" if transposed else ""),
                hint="W_xh maps x_t (input_dim) to h_t (rnn_units), so its shape is (rnn_units, input_dim); "
                "in code a batch of rows is multiplied as x @ transpose(W_xh).",
            )
        weights[name] = value.astype("float64")
    return weights


def _numpy_unroll(x, w, *, tanh=True, carry=True, transpose_hh=False, output_tanh=False):
    """The cell unrolled in NumPy, with switches for the common mistakes."""
    act = np.tanh if tanh else (lambda v: v)
    W_hh = w["W_hh"] if transpose_hh else w["W_hh"].T
    h = np.zeros((x.shape[0], w["W_hh"].shape[0]))
    ys = []
    for t in range(x.shape[1]):
        h = act((h if carry else 0 * h) @ W_hh + x[:, t] @ w["W_xh"].T + w["b"])
        y = h @ w["W_hy"].T
        ys.append(np.tanh(y) if output_tanh else y)
    return np.stack(ys, axis=1), h


def _cell_mistakes(x, w):
    return {
        "tanh is missing from the state update": _numpy_unroll(x, w, tanh=False),
        "the state is not carried: every step starts again from h = 0": _numpy_unroll(x, w, carry=False),
        "W_hh is transposed (h_{t-1} @ W_hh instead of h_{t-1} @ W_hh^T)": _numpy_unroll(x, w, transpose_hh=True),
        "y_t has a tanh; the readout y_t = W_hy h_t is linear": _numpy_unroll(x, w, output_tanh=True),
    }


def _reference_rnn(x, w):
    """Keras' SimpleRNN with the learner's weights copied in, and the readout W_hy h_t."""
    units, input_dim = w["W_xh"].shape
    layer = keras.layers.SimpleRNN(units, return_sequences=True, return_state=True)
    layer.build((None, None, input_dim))
    layer.set_weights([w["W_xh"].T, w["W_hh"].T, w["b"]])
    hs, h_last = layer(x.astype("float32"))
    return hs.numpy() @ w["W_hy"].T, h_last.numpy()


@lab.check("1.3", "MyRNNCell", hints=CELL_HINTS)
def check_my_rnn_cell(cell_class):
    """MyRNNCell(rnn_units, output_dim) inside keras.layers.RNN against keras SimpleRNN."""
    rng, units, output_dim, input_dim = _rng(13), 4, 3, 5
    cell = cell_class(units, output_dim)
    layer = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    worst = 0.0
    for batch, steps in [(2, 1), (3, 4), (1, 9)]:
        x = rng.normal(size=(batch, steps, input_dim)).astype("float32")
        ys, h_last = (keras.ops.convert_to_numpy(v) for v in layer(x))
        w = _cell_weights(cell, units, input_dim, output_dim)
        y_ref, h_ref = _reference_rnn(x, w)
        if ys.shape != y_ref.shape:
            raise CheckFailed(
                f"the outputs of keras.layers.RNN(MyRNNCell({units}, {output_dim})) have the wrong shape",
                expected=f"{y_ref.shape}: y_t = W_hy h_t has output_dim={output_dim} numbers per step",
                found=str(ys.shape),
                hint="`call` returns (y_t, [h_t]) with y_t = W_hy h_t, and `output_size` is output_dim.",
            )
        for what, found, ref in (("outputs y_t", ys, y_ref), ("final state h_T", h_last, h_ref)):
            if not np.allclose(found, ref, atol=1e-5):
                mistakes = {k: v[0] if what.startswith("outputs") else v[1] for k, v in _cell_mistakes(x, w).items()}
                diagnosis = matching_mistake(found, mistakes)
                raise CheckFailed(
                    f"the {what} differ from keras SimpleRNN with your weights copied in, on a batch of "
                    f"{batch} sequences of length {steps} (max |diff| {_max_diff(found, ref):.3g})",
                    expected="h_t = tanh(W_hh h_{t-1} + W_xh x_t + b), y_t = W_hy h_t",
                    found=f"it looks like {diagnosis}" if diagnosis else "a different computation",
                    hint=_elementwise_hint(cell_class) or "write each term of the formula as its own line and compare.",
                )
            worst = max(worst, _max_diff(found, ref))
    return (f"matches keras SimpleRNN (outputs and final state) on 3 random batches of lengths 1, 4, 9 "
            f"(max |diff| {worst:.1e})")


# ---------------------------------------------------------------- 1.4 unrolled loss
def _per_step_losses(logits, targets, from_logits=True):
    return [float(np.mean(keras.losses.sparse_categorical_crossentropy(targets[:, t], logits[:, t], from_logits=from_logits)))
            for t in range(logits.shape[1])]


def _unroll_cell(cell, x, carry=True):
    h = tf.zeros((x.shape[0], cell.state_size))
    outputs = []
    for t in range(x.shape[1]):
        y, (h_new,) = cell(x[:, t], [h])
        h = h_new if carry else h
        outputs.append(y.numpy())
    return np.stack(outputs, axis=1)


@lab.check("1.4", "unrolled_loss")
def check_unrolled_loss(unrolled_loss):
    """unrolled_loss(cell, inputs, targets) -> (total loss, list of per-step losses)."""
    rng, vocab, steps = _rng(14), 6, 5
    cell = keras.layers.SimpleRNNCell(vocab)  # its outputs serve as logits over 6 classes
    x = rng.normal(size=(3, steps, 4)).astype("float32")
    targets = rng.integers(0, vocab, size=(3, steps))
    logits = keras.layers.RNN(cell, return_sequences=True)(x).numpy()
    expected_steps = _per_step_losses(logits, targets)
    result = unrolled_loss(cell, tf.constant(x), tf.constant(targets))
    if not (isinstance(result, tuple) and len(result) == 2):
        raise CheckFailed("unrolled_loss must return two things", expected="(total_loss, step_losses)",
                          found=type(result).__name__, hint="end with `return total, step_losses`.")
    total, step_losses = float(result[0]), [float(v) for v in result[1]]
    if len(step_losses) != steps:
        raise CheckFailed("one loss per time step is expected", expected=f"{steps} losses for {steps} steps",
                          found=f"{len(step_losses)}", hint="append L_t inside the loop over t.")
    mistakes = {
        "the state is not carried from one step to the next": _per_step_losses(_unroll_cell(cell, x, carry=False), targets),
        "the outputs are treated as probabilities; they are logits (from_logits=True)": _per_step_losses(logits, targets, from_logits=False),
    }
    if not np.allclose(step_losses, expected_steps, atol=1e-4):
        diagnosis = matching_mistake(step_losses, mistakes)
        raise CheckFailed(
            f"the per-step losses L_t differ from keras RNN + cross-entropy (max |diff| {_max_diff(step_losses, expected_steps):.3g})",
            expected="L_t = mean over the batch of the cross-entropy of y_t against the target at step t",
            found=f"it looks like {diagnosis}" if diagnosis else "different values",
            hint="feed h_t back into the next call of the cell, and compute the loss from logits.",
        )
    if not np.isclose(total, sum(expected_steps), atol=1e-4):
        mean = np.isclose(total, np.mean(expected_steps), atol=1e-4)
        raise CheckFailed(
            "the total loss is not the sum of the per-step losses",
            expected=f"L = sum over t of L_t = {sum(expected_steps):.4f}", found=f"{total:.4f}"
            + (" (the mean over time)" if mean else ""),
            hint="the unrolled network's loss adds up the losses of every time step.",
        )
    return f"per-step and total loss match keras RNN + cross-entropy over {steps} steps"


# ---------------------------------------------------------------- 1.5 encodings
@lab.check("1.5a", "build_vocabulary")
def check_build_vocabulary(build_vocabulary):
    """build_vocabulary(sentences) -> {word: index}, indices 1..V, 0 kept for padding."""
    sentences = ["The cat sat.", "the dog sat on the cat", "A dog!"]
    words = sorted({w for s in sentences for w in tokenize(s)})
    vocab = build_vocabulary(sentences)
    if not isinstance(vocab, dict):
        raise CheckFailed("build_vocabulary must return a dict", expected="{word: index}",
                          found=type(vocab).__name__, hint="e.g. {'a': 1, 'cat': 2, ...}.")
    if sorted(vocab) != words:
        missing, extra = sorted(set(words) - set(vocab)), sorted(set(vocab) - set(words))
        raise CheckFailed("the vocabulary has the wrong words", expected=f"the {len(words)} distinct words of `tokenize`",
                          found=f"missing {missing}, unexpected {extra}",
                          hint="split every sentence with `rnn.tokenize`, which lower-cases and drops punctuation.")
    indices = sorted(vocab.values())
    if indices != list(range(1, len(words) + 1)):
        raise CheckFailed("the indices are not 1, 2, ..., V", expected=f"each of 1..{len(words)} once",
                          found=str(indices), hint="index 0 is kept for padding; number the words from 1.")
    if build_vocabulary(list(reversed(sentences))) != vocab:
        raise CheckFailed("the vocabulary depends on the order of the sentences", expected="the same index for "
                          "a word whatever the order", found="different indices", hint="sort the words.")
    return f"{len(words)} words, indices 1..{len(words)}, 0 free for padding, independent of sentence order"


@lab.check("1.5b", "one_hot")
def check_one_hot(one_hot):
    """one_hot(indices, vocab_size) -> float array with a trailing axis of size vocab_size."""
    cases = [np.array([3, 0, 5]), np.array([[1, 2], [4, 4]])]
    for indices in cases:
        found = np.asarray(one_hot(indices, 6))
        expected = tf.one_hot(indices, 6).numpy()
        if found.shape != expected.shape:
            raise CheckFailed(f"one_hot({indices.tolist()}, 6) has the wrong shape", expected=str(expected.shape),
                              found=str(found.shape),
                              hint="add one axis of length vocab_size at the end; indices run from 0 to vocab_size - 1.")
        if not np.array_equal(found, expected):
            shifted = np.array_equal(found, np.eye(6)[indices - 1])
            raise CheckFailed(f"one_hot({indices.tolist()}, 6) has its ones in the wrong places",
                              expected="a single 1 at position `index` in each vector", found=(
                                  "the ones one place to the left (index - 1)" if shifted else "other positions"),
                              hint="index i puts its 1 at position i, counting from 0.")
    return "matches tf.one_hot for 1-D and 2-D index arrays"


# ---------------------------------------------------------------- 1.7 next-word model
@lab.check("1.7", "build_next_word_model", hints=CELL_HINTS)
def check_next_word_model(build_next_word_model):
    """build_next_word_model(vocab_size, embedding_dim, rnn_units) -> logits for the next word."""
    vocab, batch, steps = 11, 4, 6
    model = build_next_word_model(vocab, 8, 16)
    tokens = _rng(17).integers(1, vocab, size=(batch, steps))
    out = keras.ops.convert_to_numpy(model(tokens))
    if out.shape != (batch, vocab):
        raise CheckFailed("the model's output has the wrong shape", expected=f"({batch}, {vocab}): one score per word "
                          "of the vocabulary, for the last step only", found=str(out.shape),
                          hint="keras.layers.RNN returns only the last output unless return_sequences=True.")
    if np.all(out >= 0) and np.allclose(out.sum(axis=-1), 1, atol=1e-4):
        raise CheckFailed("the model outputs probabilities", expected="logits (any real numbers); the loss applies "
                          "the softmax itself", found="rows that are >= 0 and sum to 1",
                          hint="leave out the softmax and train with from_logits=True.")
    changed_first = tokens.copy()
    changed_first[:, 0] = (changed_first[:, 0] % (vocab - 1)) + 1
    if np.allclose(keras.ops.convert_to_numpy(model(changed_first)), out, atol=1e-6):
        raise CheckFailed("the prediction ignores the first word", expected="the last output depends on every "
                          "earlier word through h_t", found="the same output after changing word 1",
                          hint="feed the embedded sequence through keras.layers.RNN(MyRNNCell(...)).")
    if not any(isinstance(layer, keras.layers.Embedding) and layer.input_dim == vocab for layer in model.layers):
        raise CheckFailed("the model has no Embedding over the vocabulary",
                          expected=f"keras.layers.Embedding({vocab}, embedding_dim) as its first layer",
                          found=[type(layer).__name__ for layer in model.layers],
                          hint="words enter as indices; the Embedding turns them into learned vectors.")
    return f"maps ({batch}, {steps}) word indices to ({batch}, {vocab}) logits that depend on the first word"


# ---------------------------------------------------------------- pictures
def draw_unrolled(ax=None, steps: int = 4):
    """The RNN unrolled through time, with the symbols of the code: x_t, h_t, y_t, L_t, W's."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(2.3 * steps + 1.5, 4.6))[1]
    box = dict(boxstyle="round,pad=0.35", fc="#dbeafe", ec="#1e40af")
    arrow = dict(arrowstyle="->", color="#334155", lw=1.3)
    for t in range(steps):
        x0, name = 2.2 * t, f"{t + 1}" if t < steps - 1 else "T"
        ax.annotate("", (x0, 1.55), (x0, 0.55), arrowprops=arrow)
        ax.annotate("", (x0, 3.0), (x0, 2.15), arrowprops=arrow)
        ax.annotate("", (x0, 4.0), (x0, 3.4), arrowprops=arrow)
        ax.text(x0, 0.35, f"$x_{{{name}}}$", ha="center", fontsize=13)
        ax.text(x0, 1.85, f"$h_{{{name}}}$", ha="center", va="center", fontsize=13, bbox=box)
        ax.text(x0, 3.2, f"$y_{{{name}}}$", ha="center", va="center", fontsize=13)
        ax.text(x0, 4.2, f"$L_{{{name}}}$", ha="center", fontsize=12, color="#b91c1c")
        ax.text(x0 + 0.1, 1.0, "$W_{xh}$", fontsize=10, color="#1e40af")
        ax.text(x0 + 0.1, 2.5, "$W_{hy}$", fontsize=10, color="#1e40af")
        if t < steps - 1:
            ax.annotate("", (x0 + 1.75, 1.85), (x0 + 0.45, 1.85), arrowprops=arrow)
            ax.text(x0 + 1.1, 2.0, "$W_{hh}$", ha="center", fontsize=10, color="#1e40af")
    ax.text(-1.4, 1.85, "$h_0 = 0$", va="center", fontsize=11)
    ax.annotate("", (-0.45, 1.85), (-0.6, 1.85), arrowprops=arrow)
    ax.text(1.1 * (steps - 1), 4.9, r"$L = \sum_t L_t$" + "  (the same $W_{xh}, W_{hh}, W_{hy}$ at every step)",
            ha="center", fontsize=12, color="#b91c1c")
    ax.set_xlim(-1.6, 2.2 * steps - 1.2)
    ax.set_ylim(0, 5.3)
    ax.set_title("An RNN unrolled through time: one cell, applied at every step")
    ax.axis("off")
    return ax


def draw_sequence_problems():
    """Many-to-one, one-to-many and many-to-many, drawn as unrolled chains."""
    import matplotlib.pyplot as plt

    patterns = {
        "many-to-one\n(review -> sentiment)": ([1, 1, 1, 1], [0, 0, 0, 1]),
        "one-to-many\n(image -> caption)": ([1, 0, 0, 0], [1, 1, 1, 1]),
        "many-to-many\n(sentence -> translation)": ([1, 1, 1, 0, 0], [0, 0, 0, 1, 1]),
    }
    fig, axes = plt.subplots(1, 3, figsize=(13, 3))
    for ax, (title, (inputs, outputs)) in zip(axes, patterns.items()):
        for t, (has_in, has_out) in enumerate(zip(inputs, outputs)):
            ax.add_patch(plt.Rectangle((t - 0.3, 0.8), 0.6, 0.6, fc="#dbeafe", ec="#1e40af"))
            if t:
                ax.annotate("", (t - 0.3, 1.1), (t - 0.7, 1.1), arrowprops=dict(arrowstyle="->"))
            if has_in:
                ax.add_patch(plt.Rectangle((t - 0.2, 0.0), 0.4, 0.4, fc="#fde68a", ec="#92400e"))
                ax.annotate("", (t, 0.8), (t, 0.4), arrowprops=dict(arrowstyle="->"))
            if has_out:
                ax.add_patch(plt.Rectangle((t - 0.2, 1.8), 0.4, 0.4, fc="#bbf7d0", ec="#166534"))
                ax.annotate("", (t, 1.8), (t, 1.4), arrowprops=dict(arrowstyle="->"))
        ax.set_xlim(-0.6, len(inputs) - 0.4)
        ax.set_ylim(-0.1, 2.3)
        ax.set_title(title)
        ax.axis("off")
    fig.suptitle("Sequence problems: inputs (yellow) -> RNN steps (blue) -> outputs (green)")
    fig.tight_layout()
    return fig
