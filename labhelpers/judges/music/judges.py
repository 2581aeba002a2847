"""Lab 03's judges for the data exercises: 3.1 vectorize_string, 3.2 get_batch, 3.4 compute_loss.

Each `draw_*` picks the inputs; each judge decides from the probe's data alone.
"""

from __future__ import annotations

from functools import lru_cache

import keras
import numpy as np

from labhelpers import backends, mitdl
from labhelpers.grading import CheckFailed, describe_error, found_as_array, matching_mistake, shown


def found_kind(value, kind: str) -> str:
    """What the learner returned, in words: the probe's type name, or the object it described."""
    if isinstance(value, dict) and "__object__" in value:
        return value["__object__"]
    return kind


def backend_of(data) -> str:
    """The backend the probe ran on (it records it), TensorFlow if the record names none of the course's."""
    found = data.get("backend") if isinstance(data, dict) else None
    return found if found in backends.BACKENDS else backends.DEFAULT


def records(data, key: str, count: int, fields: tuple = ()) -> list:
    """data[key]: `count` results (dicts holding `fields`, if given), or a CheckFailed if the data is not that."""
    found = data.get(key) if isinstance(data, dict) else None
    if not (isinstance(found, list) and len(found) == count
            and all(isinstance(r, dict) and set(fields) <= set(r) for r in found if fields)):
        raise CheckFailed("the check did not get a result of your code for each of its test cases",
                          expected=f"{count} results", found=shown(found),
                          hint="run your answer's cell, then the check cell as it is in the notebook.")
    return found


def first_difference(found: np.ndarray, expected: np.ndarray) -> tuple:
    """The index of the first element where two arrays of one shape differ."""
    return tuple(int(i) for i in np.argwhere(~np.isclose(found, expected, atol=1e-4))[0])


# ---------------------------------------------------------------- 3.1 vectorize_string
@lru_cache(maxsize=1)
def tunes_text() -> str:
    return mitdl.data_file("irish.abc").read_text()


def draw_vectorize(rng):
    """Excerpts of the tunes: short, padded with whitespace (spaces in front, a newline behind, so that every
    seed tells stripping, dropping spaces and dropping newlines apart), a lone blank character, long."""
    text = tunes_text()

    def excerpt(low, high):
        length = int(rng.integers(low, high))
        start = int(rng.integers(0, len(text) - length))
        return text[start:start + length]

    front, behind = [" ", "  ", "\n "], ["\n", "\n\n", " \n"]
    pad = lambda blanks: blanks[int(rng.integers(len(blanks)))]  # noqa: E731
    return {"texts": [excerpt(3, 7), pad(front) + excerpt(20, 60) + pad(behind), str(rng.choice([" ", "\n"])),
                      excerpt(150, 300)]}


def _index(char2idx) -> dict:
    """The char2idx the check was given, if it is an index: characters to distinct integers."""
    if not (isinstance(char2idx, dict) and all(len(k) == 1 and isinstance(v, int) and v >= 0
                                                for k, v in char2idx.items())):
        raise CheckFailed("the check's second argument is not a character index",
                          expected="char2idx, a dict from each character to its index 0, 1, 2, ...",
                          found=found_kind(char2idx, type(char2idx).__name__),
                          hint="call the check as in the notebook: check_vectorize_string(vectorize_string, char2idx).")
    if len(set(char2idx.values())) != len(char2idx):
        raise CheckFailed("char2idx gives two characters the same index", expected="one index per character",
                          found="repeated indices", hint="build char2idx with enumerate over the vocabulary.")
    return char2idx


def _text_mistakes(text: str, index: dict) -> dict:
    """What the common wrong answers return for `text`."""
    look = lambda chars: np.array([index[c] for c in chars])  # noqa: E731
    right = look(text)
    return {
        "the string is stripped: leading and trailing spaces and newlines are dropped": look(text.strip()),
        "whitespace is dropped: spaces and newlines are characters of the tunes too": look("".join(text.split())),
        "newlines are dropped: they are characters of the tunes too": look(text.replace("\n", "")),
        "every index is one too high": right + 1,
        "every index is one too low": right - 1,
        "the indices are Unicode code points (ord), not char2idx's indices": np.array([ord(c) for c in text]),
        "the indices are sorted: they must follow the string's order": np.sort(right),
        "the indices are in reverse order": right[::-1],
    }


def _mistake(texts, returned, index) -> str | None:
    """The common mistake whose result equals what came back for every text, if any."""
    variants = [_text_mistakes(text, index) for text in texts]
    for name in variants[0]:
        if all(isinstance(value, np.ndarray) and value.dtype.kind in "iuf" and value.shape == v[name].shape
               and np.array_equal(value, v[name]) for value, v in zip(returned, variants)):
            return name
    return None


def _judge_indices(text: str, value, kind: str, index: dict, mistake) -> None:
    missing = sorted(set(text) - set(index))
    if missing:
        raise CheckFailed(f"char2idx has no index for {missing[0]!r}, a character of the tunes",
                          expected="char2idx built from every character of the tunes", found=f"{len(index)} characters",
                          hint="pass the notebook's char2idx to the check.")
    expected = np.array([index[c] for c in text])
    what = f"vectorize_string({text[:20]!r}{'...' if len(text) > 20 else ''})"
    hint = "look every character of the string up in char2idx, in order, and return a NumPy array."
    if not (kind.startswith("ndarray") and isinstance(value, np.ndarray)):
        raise CheckFailed(f"{what} must return a NumPy array", expected=f"np.ndarray of {len(text)} integers",
                          found=found_kind(value, kind), hint="wrap your indices in np.array(...).")
    if value.dtype.kind not in "iufb":
        raise CheckFailed(f"{what} returned an array of {value.dtype}, not of indices",
                          expected="integer indices from char2idx", found=f"dtype {value.dtype}", hint=hint)
    found = np.asarray(value, dtype="float64")
    if found.shape != expected.shape:
        one_hot = found.shape == (len(text), len(index)) and np.array_equal(found.argmax(-1), expected)
        diagnosis = "one-hot rows instead of one index per character" if one_hot else mistake()
        raise CheckFailed(f"{what} has the wrong shape", expected=f"{expected.shape}: one index per character",
                          found=f"{found.shape}" + (f": {diagnosis}" if diagnosis else ""), hint=hint)
    if not np.array_equal(found, expected):
        at = first_difference(found, expected)[0]
        raise CheckFailed(f"{what} maps characters to the wrong indices",
                          expected=f"char2idx[{text[at]!r}] = {expected[at]} at position {at}",
                          found=mistake() or f"{found[at]:g} at position {at}", hint=hint)
    if value.dtype.kind not in "iu":
        raise CheckFailed(f"{what} returned the right numbers as {value.dtype}", expected="an integer dtype: "
                          "the Embedding layer takes integer indices", found=str(value.dtype), hint=hint)


def vectorize_string(inputs, data):
    texts = inputs["texts"]
    returned, kinds = records(data, "returned", len(texts)), records(data, "kinds", len(texts))
    index = _index(data.get("char2idx"))
    mistake = lambda: _mistake(texts, returned, index)  # noqa: E731 (named only when something is wrong)
    for text, value, kind in zip(texts, returned, map(str, kinds)):
        _judge_indices(text, value, kind, index, mistake)
    lengths = ", ".join(str(len(t)) for t in texts)
    return f"maps tune excerpts of {lengths} characters, spaces and newlines included, to their char2idx indices"


# ---------------------------------------------------------------- 3.2 get_batch
# The runs of 3.2: ranges [low, high) of the text's length, seq_length and batch_size, and the calls made.
BATCH_RUNS = [((200, 400), (12, 25), (4, 9), 4), ((60, 120), (3, 7), (10, 16), 4)]
TIGHT_STARTS = 5  # the last run's text has room for exactly this many windows
TIGHT_BATCH, TIGHT_CALLS = 3, 150  # its batch size and its number of calls
# A right get_batch draws each start of the last run between these counts (inclusive), or is rejected:
# see tests/test_check_error_rates.py for the false-reject probability.
TIGHT_COUNTS = (49, 137)


def draw_batches(rng):
    """Texts of distinct values (so each window's start can be read off); the last one tight, so that the
    last start, whose labels end at the text's last character, is one of only TIGHT_STARTS."""

    def run(length, seq_length, batch_size, calls):
        text = rng.permutation(length) + int(rng.integers(3, 40))
        return {"text": text, "seq_length": seq_length, "batch_size": batch_size, "calls": calls}

    runs = [run(int(rng.integers(*length)), int(rng.integers(*seq)), int(rng.integers(*batch)), calls)
            for length, seq, batch, calls in BATCH_RUNS]
    tight = int(rng.integers(6, 12))
    tight_run = run(tight + TIGHT_STARTS, tight, TIGHT_BATCH, TIGHT_CALLS)
    return {"seed": int(rng.integers(2**31)), "runs": [*runs, tight_run]}


def _call_errors(run, calls) -> None:
    errors = [call["error"] for call in calls if isinstance(call, dict) and "error" in call]
    if not errors:
        return
    if len(errors) == len(calls):
        raise describe_error(errors[0], BATCH_HINTS)
    first = errors[0]
    raise CheckFailed(
        f"get_batch raised {first['type']} in {len(errors)} of {len(calls)} calls on a text of "
        f"{len(run['text'])} characters with seq_length={run['seq_length']}: {first['message'][:160]}",
        expected="every call to work: a window and its labels need seq_length + 1 characters of the text",
        found="some random start positions leave too few characters before the end of the text",
        hint="the last start s that still fits satisfies s + seq_length + 1 == len(text).")


def _batch_arrays(run, call, kinds) -> tuple[np.ndarray, np.ndarray]:
    returned = call.get("returned") if isinstance(call, dict) else call
    shape = (run["batch_size"], run["seq_length"])
    if not (isinstance(returned, list) and len(returned) == 2):
        raise CheckFailed("get_batch must return two arrays", expected="x, y",
                          found=found_kind(returned, str(kinds["kind"])),
                          hint="end with `return x, y`.")
    arrays = []
    for name, value, kind in zip("xy", returned, map(str, kinds["parts"])):
        if not (kind.startswith("ndarray") and isinstance(value, np.ndarray)):
            raise CheckFailed(f"{name} is not a NumPy array", expected="np.ndarray", found=found_kind(value, kind),
                              hint="build the batch with np.array(...) or np.stack(...).")
        found = found_as_array(value, name, f"an array of shape {shape}", "build it from slices of the text.")
        if found.shape != shape:
            flipped = " (transposed: one column per sequence)" if found.shape == shape[::-1] else ""
            raise CheckFailed(f"{name} has the wrong shape for seq_length={shape[1]}, batch_size={shape[0]}",
                              expected=f"(batch_size, seq_length) = {shape}", found=f"{found.shape}{flipped}",
                              hint="one row per window, seq_length characters each.")
        arrays.append(found)
    return arrays[0], arrays[1]


def _window_start(row, text, position) -> int | None:
    start = position.get(row[0])
    if start is None or start + len(row) > len(text) or not np.array_equal(text[start:start + len(row)], row):
        return None
    return start


def _judge_labels(y_row, x_row, start, text, position) -> None:
    n = len(x_row)
    if np.array_equal(y_row, text[start + 1:start + n + 1]):
        return
    variants = {"the labels are the inputs: y must be x shifted by one character": x_row,
                "the labels are shifted by two characters": text[start + 2:start + n + 2],
                "the labels are shifted the wrong way: y_t = x_{t-1}": text[max(start - 1, 0):start + n - 1]}
    diagnosis = matching_mistake(y_row, variants, atol=0)
    if diagnosis is None and _window_start(y_row, text, position) is not None:
        diagnosis = "y is a window from another start position than x: draw the starts once, for both"
    raise CheckFailed("the labels are not the inputs shifted by one character",
                      expected="y[i] = text[s + 1 : s + seq_length + 1] where x[i] = text[s : s + seq_length]",
                      found=diagnosis or "another sequence", hint="y_t is the character that follows x_t.")


def _starts(run, result) -> list[np.ndarray]:
    """The start position of every window of every call, after checking x and y."""
    records(result, "calls", run["calls"])
    _call_errors(run, result["calls"])
    text = np.asarray(run["text"], dtype="float64")
    position = {value: i for i, value in enumerate(text)}
    starts = []
    for call in result["calls"]:
        x, y = _batch_arrays(run, call, result)
        found = []
        for x_row, y_row in zip(x, y):
            start = _window_start(x_row, text, position)
            if start is None:
                scattered = all(v in position for v in x_row)
                raise CheckFailed("a row of x is not a window of consecutive characters of the text",
                                  expected=f"x[i] = text[s : s + {run['seq_length']}] for a random start s",
                                  found="characters picked one by one" if scattered else "values not in the text",
                                  hint="slice the text: one random start per row.")
            _judge_labels(y_row, x_row, start, text, position)
            found.append(start)
        starts.append(np.array(found))
    return starts


def _judge_randomness(run, starts: list[np.ndarray]) -> None:
    where = f"(a text of {len(run['text'])} characters, seq_length={run['seq_length']})"
    if all(np.array_equal(s, starts[0]) for s in starts):
        raise CheckFailed(f"every call returns the same batch {where}", expected="new random windows at each call",
                          found=f"the starts {starts[0].tolist()} {len(starts)} times",
                          hint="draw the starts with NumPy's global generator (np.random...) and do not seed it "
                          "inside get_batch.")
    if all(len(set(s.tolist())) == 1 for s in starts):
        raise CheckFailed(f"every row of a batch is the same window {where}", expected="batch_size windows, "
                          "each with its own random start", found="one start repeated in each batch",
                          hint="draw batch_size starts, one per row.")


def _judge_coverage(run, starts: list[np.ndarray]) -> None:
    """Every start drawn, each between TIGHT_COUNTS times (about equally often).

    False-reject probability <= 6.7e-7 for the whole check (3.2), from exact binomial tails: a start's
    count is Binomial(3 * 150, 1/5) when the starts are drawn independently, Binomial(150, 3/5) when a
    batch's 3 starts are distinct; a union bound over the 5 starts and both tails, plus < 1e-20 for
    `_judge_randomness` (tests/test_check_error_rates.py recomputes it).
    """
    last = len(run["text"]) - run["seq_length"] - 1
    counts = np.bincount(np.concatenate(starts), minlength=last + 1)
    missing = [s for s in range(last + 1) if counts[s] == 0]
    seen = ", ".join(f"{s}: {c}" for s, c in enumerate(counts))
    expected = (f"every start from 0 to len(text) - seq_length - 1 = {last}, about equally often "
                f"({len(run['text'])} characters, seq_length={run['seq_length']})")
    if missing:
        never = ("the last start, whose labels end at the text's last character, is never drawn"
                 if missing == [last] else f"starts {missing} are never drawn")
        raise CheckFailed(f"some windows can never be drawn: {never}", expected=expected,
                          found=f"how often each start was drawn in {len(starts)} calls: {seen}",
                          hint="count how many windows of seq_length + 1 characters fit in the text, and remember "
                          "that np.random.choice(n) and np.random.randint(0, n) never draw n itself.")
    low, high = TIGHT_COUNTS
    if counts.min() < low or counts.max() > high:
        raise CheckFailed("the start positions are not drawn uniformly",
                          expected=expected + f": each between {low} and {high} times in {counts.sum()} draws",
                          found=f"how often each start was drawn: {seen}",
                          hint="draw each start uniformly from all the positions that fit.")


def get_batch(inputs, data):
    """Windows, shifted labels, new starts at each call, and every start of the tight run about equally often.

    False-reject probability <= 6.7e-7 (see `_judge_coverage`; tests/test_check_error_rates.py recomputes it).
    """
    runs = list(zip(inputs["runs"], records(data, "runs", len(inputs["runs"]), ("calls", "kind", "parts"))))
    starts = [_starts(run, result) for run, result in runs]
    for (run, _), found in zip(runs[:-1], starts[:-1]):
        _judge_randomness(run, found)
    _judge_coverage(inputs["runs"][-1], starts[-1])
    return ("NumPy arrays of random (batch_size, seq_length) windows, labels shifted by one (what mitdeeplearning's "
            "3 batch tests ask), every start from 0 to len(text) - seq_length - 1 drawn "
            f"({sum(r['calls'] for r in inputs['runs'])} calls on {len(inputs['runs'])} texts)")


PAST_THE_END = ("a window that runs past the end of the text is shorter than seq_length: the last start s must "
                "leave s + seq_length + 1 <= len(text).")
BATCH_HINTS = {"inhomogeneous": PAST_THE_END, "same shape": PAST_THE_END}


# ---------------------------------------------------------------- 3.4 compute_loss
LOSS_CASES = [(4, 10, 83, 3.0, False), (2, 7, 19, 1.5, True), (3, 5, 11, 0.0, False)]  # B, T, V, scale, NumPy labels


def draw_loss(rng):
    """Random labels and logits at two sizes, and all-zero logits (a uniform guess)."""
    return {"cases": [{"labels": rng.integers(0, v, size=(b, t)), "numpy_labels": numpy,
                       "logits": (scale * rng.normal(size=(b, t, v))).astype("float32")}
                      for b, t, v, scale, numpy in LOSS_CASES]}


def log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def _per_char(labels, logits):
    return -np.take_along_axis(log_softmax(logits), labels[..., None], -1)[..., 0]


def _loss_mistakes(labels, logits) -> dict:
    ce = _per_char(labels, logits)
    as_probabilities = keras.losses.sparse_categorical_crossentropy(labels, logits.astype("float32"))
    return {
        "the logits are treated as probabilities (from_logits=True is missing)":
            float(np.mean(keras.ops.convert_to_numpy(as_probabilities))),
        "the loss is summed, not averaged over the characters": ce.sum(),
        "the loss is summed over time steps and averaged over the batch only": ce.sum(1).mean(),
        "a softmax is applied before a loss that expects logits (softmax twice)":
            _per_char(labels, np.exp(log_softmax(logits))).mean(),
        "the sign is flipped (the mean log-probability, not its negative)": -ce.mean(),
        "the loss is in bits (log base 2), not nats": ce.mean() / np.log(2),
        "the log-softmax is missing: the mean of minus the label's logit":
            -np.take_along_axis(logits, labels[..., None], -1).mean(),
    }


# How each backend's own API cuts a gradient (keras.ops.stop_gradient does on every backend).
STOPPED = {"tensorflow": "tf.stop_gradient", "jax": "jax.lax.stop_gradient", "torch": ".detach()"}
# Where the differentiable scalar comes from on each backend.
SCALAR = {"tensorflow": "a TensorFlow tensor", "jax": "a JAX array", "torch": "a PyTorch tensor"}
NUMPY_CUTS = ("return the tensor itself: .numpy(), float(), .item() or NumPy functions cut the gradient that "
              "train_step needs; average with keras.ops.mean.")
# Errors a compute_loss that leaves the backend's graph raises (check 3.4's hints).
LOSS_HINTS = {"Can't call numpy() on Tensor that requires grad": "the loss cannot be differentiated through NumPy: "
              + NUMPY_CUTS,
              "got an unexpected keyword argument 'axis'": "a NumPy function (np.mean?) was given a PyTorch tensor, "
              "which it cannot average: use keras.ops.mean, which keeps the tensor and its gradient."}


def _judge_loss_case(case, result, backend) -> float:
    labels, logits = np.asarray(case["labels"]), np.asarray(case["logits"], "float64")
    value, kind = result["returned"], result["kind"]
    expected = _per_char(labels, logits).mean()
    hint = "average keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True) over all characters."
    found = found_as_array(value, "the loss", "one number", hint)
    if found.size != 1:
        per_char = " (the per-character losses, not their mean)" if found.shape == labels.shape else ""
        raise CheckFailed("compute_loss must return one number", expected="a scalar: the mean over batch and time",
                          found=f"shape {found.shape}{per_char}", hint=hint)
    found = float(found.reshape(()))
    if not np.isclose(found, expected, rtol=1e-4, atol=1e-5):
        mistakes = {name: np.array(value) for name, value in _loss_mistakes(labels, logits).items()}
        diagnosis = matching_mistake(np.array(found), mistakes)
        uniform = not np.any(logits)
        raise CheckFailed("the loss differs from the mean cross-entropy of the labels under the logits" +
                          (" for all-zero logits (a uniform guess, whose loss is ln(vocab))" if uniform else ""),
                          expected=f"{expected:.4f}" + (f" = ln({logits.shape[-1]})" if uniform else ""),
                          found=f"{found:.4f}" + (f": {diagnosis}" if diagnosis else ""), hint=hint)
    if result["gradient"] is None:
        tensor = isinstance(kind, str) and kind.startswith(("EagerTensor", "Tensor", "ArrayImpl", "Array "))
        raise CheckFailed("the loss cannot be differentiated: no gradient flows back to the logits",
                          expected=f"{SCALAR[backend]} computed from the logits by Keras ops (keras.ops)",
                          found=f"a {kind} with no path back to the logits (is {STOPPED[backend]} or "
                          "keras.ops.stop_gradient used, or NumPy inside?)" if tensor else found_kind(value, kind),
                          hint=NUMPY_CUTS)
    gradient = found_as_array(result["gradient"], "the loss's gradient", "an array like the logits", hint)
    reference = (np.exp(log_softmax(logits)) - np.eye(logits.shape[-1])[labels]) / labels.size
    if gradient.shape != logits.shape or not np.allclose(gradient, reference, atol=1e-5):
        raise CheckFailed("the loss has the right value but not the gradient of the mean cross-entropy",
                          expected="d loss / d logits = (softmax(logits) - one_hot(labels)) / (batch * time)",
                          found=f"another gradient (is part of the computation wrapped in {STOPPED[backend]} or "
                          "keras.ops.stop_gradient?)", hint=hint)
    return expected


def compute_loss(inputs, data):
    results = records(data, "cases", len(inputs["cases"]), ("returned", "kind", "gradient"))
    backend = backend_of(data)
    losses = [_judge_loss_case(case, result, backend) for case, result in zip(inputs["cases"], results)]
    vocab = LOSS_CASES[-1][2]
    return (f"matches the mean cross-entropy from logits on {len(losses)} batches, gradient included; a uniform "
            f"guess scores ln({vocab}) = {losses[-1]:.3f}")
