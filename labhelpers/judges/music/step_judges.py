"""Lab 03's judge for 3.6a sampling_step: one character through the model, carrying the LSTM's state.

The probe hands the learner Keras' Embedding, LSTM and Dense layers with drawn weights, calls the
step once from a drawn state [h, c] (eagerly and compiled, as the lab compiles it on the backend it
runs on) and then carries the state it returns from zeros over a prefix. The reference is Keras'
LSTM run over a whole sequence (in NumPy, reference.py): a one-character sequence from the drawn
state, and the whole prefix from zeros.
"""

from __future__ import annotations

import numpy as np

from labhelpers.grading import CheckFailed, describe_error, found_as_array, matching_mistake, shorten, shown
from labhelpers.judges import diagnosis
from labhelpers.judges.music import reference
from labhelpers.judges.music.judges import backend_of, log_softmax
from labhelpers.judges.music.model_judges import draw_weights

STEP_SIZES = (23, 6, 9, 4, 7)  # vocab, embedding, units, batch, prefix length

HINT = ("embed char_ids (shape (batch,), no time axis), take one step of the LSTM's cell from `state` "
        "(`lstm.cell(inputs, states)` returns the output h and the new [h, c]), apply the Dense layer to h, "
        "and return (logits, new state).")
# Hints for errors a wrong step raises; describe_error puts them ahead of the general ones (a shape mismatch
# is not a `*` for `@` here).
STEP_HINTS = {
    "Exception encountered when calling LSTMCell": "lstm.cell takes inputs of shape (batch, embedding_dim) and the "
    "states [h, c]: embed char_ids as they are, without adding a time axis.",
    "expected ndim=3, found ndim=2": "the LSTM layer reads whole sequences (batch, time, features) and starts from "
    "zeros; one step from `state` is a call of its cell: lstm.cell(inputs, states).",
}


def draw_sampling_step(rng):
    """Weights, one character per row with a state [h, c] (h inside (-1, 1), c larger), and a prefix."""
    vocab, embedding, units, batch, length = STEP_SIZES
    return {"weights": draw_weights(rng, vocab, embedding, units), "ids": rng.integers(0, vocab, batch),
            "h": rng.uniform(-0.9, 0.9, (batch, units)).astype("float32"),
            "c": (1.5 * rng.normal(size=(batch, units))).astype("float32"),
            "prefix": rng.integers(0, vocab, (batch, length))}


class Reference:
    """The model with the drawn weights; `run` gives logits and final [h, c] of a sequence."""

    def __init__(self, weights):
        self.weights = weights

    def run(self, ids, h=None, c=None):
        """(logits at every position, h, c) of the whole sequences `ids` (batch, T) from [h, c] (or zeros)."""
        return reference.logits(self.weights, ids, h, c)

    def one_step(self, ids, h=None, c=None):
        logits, h, c = self.run(np.asarray(ids)[:, None], h, c)
        return logits[:, 0], h, c

    def logits_of(self, h):
        return reference.dense(self.weights, h)


def _traced_step(weights, ids, h, c):
    """One step of Embedding -> LSTM -> Dense in NumPy, as `diagnosis` traces it: every part named where it is
    computed (Keras' gate order i, f, c~, o; sigmoid gates, tanh candidate and tanh of c_t)."""
    E = np.asarray(weights["embedding"][0], "float64")
    kernel, recurrent, bias = (np.asarray(w, "float64") for w in weights["lstm"])
    W, b = (np.asarray(w, "float64") for w in weights["dense"])
    h, c = np.asarray(h, "float64"), np.asarray(c, "float64")
    zeros = np.zeros_like(h)

    def reference(k):
        x = E[np.asarray(ids)]
        h_in = k.value("the h passed in", h, instead={"the c passed in": c, "zeros": zeros})
        c_in = k.value("the c passed in", c, instead={"the h passed in": h, "zeros": zeros})
        z = k.sum({"the input's part x W": k.op("the input's part x W", "vecmat", x, kernel),
                   "the state's part h U": k.op("the state's part h U", "vecmat", h_in, recurrent),
                   "the LSTM's bias": bias}, name="the gates' pre-activations")
        i, f, g, o = k.split("the gates' pre-activations", z, ("i", "f", "c~", "o"))
        i = k.apply("the input gate's sigmoid", "sigmoid", i)
        f = k.apply("the forget gate's sigmoid", "sigmoid", f)
        g = k.apply("the candidate's tanh", "tanh", g)
        o = k.apply("the output gate's sigmoid", "sigmoid", o)
        c_new = k.sum({"f c_{t-1}": k.product({"the forget gate f": f, "c_{t-1}": c_in}),
                       "i c~": k.product({"the input gate i": i, "the candidate c~": g})}, name="c_t")
        h_new = k.product({"the output gate o": o, "tanh(c_t)": k.apply("the tanh of c_t", "tanh", c_new)})
        out = k.value("the LSTM's output h_t", h_new, instead={"the new cell state c_t": c_new, "the h passed in": h})
        logits = k.sum({"the Dense layer's product": k.op("the Dense layer's product", "vecmat", out, W),
                        "the Dense layer's bias": b})
        return {"logits": logits, "h": h_new, "c": c_new}

    return reference


def _diagnosed(inputs, found, output, expected) -> str:
    """What the logits (or the new h or c) are, as far as the traced step and the generic relations can tell."""
    reference = _traced_step(inputs["weights"], inputs["ids"], inputs["h"], inputs["c"])
    axes = ("row {}", "logit {}") if output == "logits" else ("row {}", "unit {}")
    return diagnosis.diagnose(found, expected, reference=reference, output=output, axes=axes).text


def _outcome(data, key):
    """data[key]: what one call returned, or a CheckFailed for the error it raised or a forged record."""
    found = data.get(key) if isinstance(data, dict) else None
    if isinstance(found, dict) and isinstance(found.get("error"), dict):
        raise describe_error(found["error"], STEP_HINTS)
    if not (isinstance(found, dict) and "returned" in found):
        raise CheckFailed("the check did not get a result of your sampling_step", expected="one result per call",
                          found=shown(found), hint="run your answer's cell, then the check cell as it is.")
    return found["returned"]


def _parts(returned, what, shapes) -> tuple[np.ndarray, list[np.ndarray]]:
    """(logits, [h, c]) from what a call returned, or a CheckFailed naming what is off in its form."""
    batch, vocab, units = shapes
    if not (isinstance(returned, list) and len(returned) == 2):
        alone = isinstance(returned, np.ndarray) and returned.shape == (batch, vocab)
        raise CheckFailed(f"{what} must return two things", expected="(logits, [h, c])",
                          found="the logits alone, without the new state" if alone else shown(returned), hint=HINT)
    logits = found_as_array(returned[0], "the logits", f"an array of shape {(batch, vocab)}", HINT)
    if logits.shape != (batch, vocab):
        cause = {(batch, 1, vocab): ": a time axis of length 1 is left in; the step takes and returns one "
                     "character per row, (batch,) in and (batch, vocab_size) out",
                     (vocab,): ": one row only (is the batch dimension dropped?)",
                     (1, vocab): ": one row only, not one per row of char_ids",
                     (batch, units): ": the LSTM's output h, not the Dense layer's logits"}.get(logits.shape, "")
        raise CheckFailed(f"the logits {what} returned have the wrong shape",
                          expected=f"{(batch, vocab)}: one row of vocab_size logits per row of char_ids",
                          found=f"{logits.shape}{cause}", hint=HINT)
    state = returned[1]
    if isinstance(state, np.ndarray) and state.shape == (2, batch, units):
        state = list(state)  # h and c stacked in one tensor: the cell reads it as [h, c]
    if not (isinstance(state, list) and len(state) == 2):
        only_h = isinstance(state, np.ndarray) and state.shape == (batch, units)
        raise CheckFailed(f"the state {what} returned is not [h, c]",
                          expected=f"a list of two arrays of shape {(batch, units)}: the LSTM's h and its cell state c",
                          found="one array: only h is returned, and without c the next step forgets the cell state, "
                          "the LSTM's long-term memory" if only_h else shown(state), hint=HINT)
    arrays = [found_as_array(s, "a state", f"an array of shape {(batch, units)}", HINT) for s in state]
    if any(a.shape != (batch, units) for a in arrays):
        raise CheckFailed(f"the state {what} returned has the wrong shapes",
                          expected=f"[h, c], each {(batch, units)}",
                          found=", ".join(str(a.shape) for a in arrays), hint=HINT)
    return logits, arrays


def _logit_mistake(reference, inputs, logits, z, h1, c1) -> str | None:
    """The common wrong answer that explains the logits of the call from the drawn state, if one does."""
    ids, h, c = inputs["ids"], inputs["h"], inputs["c"]
    mistakes = {
        "probabilities: a softmax is applied, but the step returns the model's logits (generate_text divides "
        "them by the temperature)": np.exp(log_softmax(z)),
        "log-probabilities: a log-softmax is applied, but the step returns the Dense layer's logits as they are":
            log_softmax(z),
        "the state passed in is ignored: the LSTM starts from zeros at every call, so nothing of the earlier "
        "characters reaches the logits": reference.one_step(ids)[0],
        "h and c are swapped when passed to the LSTM: the state is [h, c], in that order":
            reference.one_step(ids, c, h)[0],
        "only h of the state is used: the LSTM is given [h, h], not [h, c]": reference.one_step(ids, h, h)[0],
        "only h of the state is used: the LSTM is given [h, 0], not [h, c]":
            reference.one_step(ids, h, np.zeros_like(c))[0],
        "the logits come from the new cell state c, not from the LSTM's output h": reference.logits_of(c1),
        "the logits come from the h passed in, before the LSTM's step: they predict the character fed, "
        "not the next one": reference.logits_of(h),
    }
    found = matching_mistake(logits, mistakes)
    if found:
        return found
    scale = float((logits * z).sum() / (z * z).sum())
    if abs(scale - 1) > 0.01 and np.allclose(logits, scale * z, atol=1e-4, rtol=1e-3):
        return (f"the logits are multiplied by {scale:.3g} (a temperature inside the step?): the step returns the "
                "model's logits; generate_text divides them by the temperature")
    rows = len(ids)
    crossed = [[np.allclose(logits[i], reference.one_step(ids[i:i + 1], h[j:j + 1], c[j:j + 1])[0][0], atol=1e-4)
                for j in range(rows)] for i in range(rows)]
    sources = [next((j for j in range(rows) if crossed[i][j]), None) for i in range(rows)]
    wrong = [(i, j) for i, j in enumerate(sources) if j is not None and j != i]
    if None not in sources and wrong:
        i, j = wrong[0]
        return (f"the rows' states are mixed up: row {i}'s logits come from the state of row {j}; each row's state "
                "goes with that row's character")
    return None


def _judge_given(reference, inputs, logits, state) -> None:
    z, h1, c1 = reference.one_step(inputs["ids"], inputs["h"], inputs["c"])
    if not np.allclose(logits, z, atol=1e-4):
        raise CheckFailed("from a given state [h, c], the logits differ from one step of the model",
                          expected="the Dense layer's logits of the LSTM's output after reading char_ids from `state`",
                          found=_logit_mistake(reference, inputs, logits, z, h1, c1)
                          or _diagnosed(inputs, logits, "logits", z), hint=HINT)
    h, c = inputs["h"], inputs["c"]
    mistakes = {"h and c are swapped in the returned state: return [h, c], in that order": [c1, h1],
                "the state returned is the one passed in: return the new state of the LSTM's step": [h, c],
                "the returned state is [h, h]: the cell state c is lost": [h1, h1],
                "only h is updated: the returned c is the one passed in": [h1, c],
                "the returned state is [h, 0]: the cell state c is lost": [h1, np.zeros_like(c)]}
    if not np.allclose(np.stack(state), np.stack([h1, c1]), atol=1e-4):
        name = matching_mistake(np.stack(state), {k: np.stack(v) for k, v in mistakes.items()})
        index = 0 if not np.allclose(state[0], h1, atol=1e-4) else 1
        which = "hc"[index]
        raise CheckFailed("the logits are right, but the new state is not the LSTM's state after the step",
                          expected="[h, c]: the output h and the cell state c after reading char_ids",
                          found=name or f"another {which}: " + _diagnosed(inputs, state[index], which, [h1, c1][index]),
                          hint=HINT)


# Where music.ModelStep and music.Sampler run the step on each backend, and what works there.
COMPILED = {"tensorflow": ("inside tf.function", "a step built of TensorFlow, Keras and keras.ops operations"),
            "jax": ("inside jax.jit", "a step built of Keras layers and keras.ops (or jax.numpy) operations on the "
                    "traced arrays"),
            "torch": ("under torch.no_grad()", "a step built of Keras layers and keras.ops operations")}


def _judge_compiled(data, logits, state, shapes) -> None:
    found = data.get("compiled") if isinstance(data, dict) else None
    where, expected = COMPILED[backend_of(data)]
    if isinstance(found, dict) and isinstance(found.get("error"), dict):
        error = found["error"]
        raise CheckFailed(f"sampling_step works when called directly but fails {where}, where music.ModelStep and "
                          "music.Sampler run it", expected=expected, found=shorten(str(error.get("message", "")), 200),
                          hint="keep the values tensors: no .numpy(), int(...), float(...), np.asarray or NumPy "
                          "functions on them.")
    compiled_logits, compiled_state = _parts(_outcome(data, "compiled"), "sampling_step (compiled)", shapes)
    if not (np.allclose(compiled_logits, logits, atol=1e-4)
            and np.allclose(np.stack(compiled_state), np.stack(state), atol=1e-4)):
        raise CheckFailed(f"sampling_step gives other values {where} than when called directly",
                          expected="the same logits and state", found="other values",
                          hint="compute only from the layers, char_ids and state: no Python-side state between calls.")


def _judge_sequence(reference, inputs, data, shapes) -> None:
    prefix = np.asarray(inputs["prefix"])
    sequence = data.get("sequence") if isinstance(data, dict) else None
    if not (isinstance(sequence, list) and 0 < len(sequence) <= prefix.shape[1]):
        raise CheckFailed("the check did not get a result of your sampling_step for each character of its prefix",
                          expected=f"{prefix.shape[1]} results", found=shown(sequence),
                          hint="run your answer's cell, then the check cell as it is.")
    z, h, c = reference.run(prefix)
    calls = []
    for t, call in enumerate(sequence):
        what = f"the call for character {t + 1} of the prefix"
        logits, state = _parts(_outcome({"call": call}, "call"), what, shapes)
        calls.append(logits)
        if not np.allclose(logits, z[:, t], atol=1e-4):
            found = np.stack(calls + [_parts(_outcome({"call": later}, "call"), what, shapes)[0]
                                      for later in sequence[t + 1:]])
            seen = diagnosis.diagnose(found, np.swapaxes(z, 0, 1)[:len(found)],
                                      axes=("call {}", "row {}", "logit {}"))
            raise CheckFailed(f"carried from the zero state over a prefix, the logits of {what} differ from the "
                              "model run on the whole prefix",
                              expected="the same logits as the model on the prefix read so far",
                              found=seen.text or f"max |diff| {np.abs(logits - z[:, t]).max():.3g}",
                              hint="compute only from char_ids and the state passed in; keep nothing between calls.")
    if len(sequence) < prefix.shape[1]:
        raise CheckFailed("the state your step returned could not be passed back into it",
                          expected=f"{prefix.shape[1]} calls, each fed the state of the call before",
                          found=f"{len(sequence)} calls", hint=HINT)
    if not np.allclose(np.stack(state), np.stack([h, c]), atol=1e-4):
        raise CheckFailed("carried over a prefix, the final state differs from the LSTM's after the whole prefix",
                          expected="[h, c] of the LSTM after the prefix", found="another state", hint=HINT)


def sampling_step(inputs, data):
    vocab, _, units, batch, length = STEP_SIZES
    shapes = (batch, vocab, units)
    reference = Reference(inputs["weights"])
    logits, state = _parts(_outcome(data, "given"), "sampling_step", shapes)
    _judge_given(reference, inputs, logits, state)
    _judge_compiled(data, logits, state, shapes)
    _judge_sequence(reference, inputs, data, shapes)
    return (f"from a given state [h, c], returns the model's logits and the LSTM's new [h, c] (batch {batch}); runs "
            f"compiled; carried from zeros over a {length}-character prefix, one call per character, it gives the "
            "logits of the model run on the whole prefix")
