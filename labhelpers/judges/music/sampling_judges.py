"""Lab 03's judge for 3.6 generate_text: replay the probe's stand-in step and test the samples.

The probe runs the learner's generate_text on a `ToyStep` whose logits are row `char_id` of a
table rolled by the number of calls its state has seen. Replaying the returned text gives the
distribution p_t every character x_t was drawn from, given the characters before it. Each run is
tested for characters less likely and more likely than sampling from softmax(logits / T) gives,
with the surprisal s_t = -log p_t(x_t): for each lambda of TOO_UNLIKELY, exp(lambda sum s_t -
sum log E_{p_t}[exp(lambda s)]), and for each lambda of TOO_LIKELY the same with -lambda, is a
non-negative martingale of mean 1 under the right sampler (whatever the temperature, also near 0,
where p_t is nearly one-hot), so by Ville's inequality it exceeds TESTS / ALPHA with probability at
most ALPHA / TESTS. A wrong answer is named when one wrong way of sampling explains the text and
the right one does not.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from labhelpers.judges.music.judges import found_kind, log_softmax, records
from labhelpers.grading import CheckFailed

SAMPLE_CHARS = list("abcdefgABCDEFG|:/ \n")
RUNS = [(3, 60), (2, 300), (1, 300), (4, 300)]  # (start length, characters generated)


def draw_generate(rng):
    """A vocabulary, a logit table, and runs at temperatures near 0, below 1, 1 and above 1."""
    vocab = int(rng.integers(6, 10))
    idx2char = [str(c) for c in rng.choice(SAMPLE_CHARS, vocab, replace=False)]
    temperatures = [0.01, float(rng.uniform(0.4, 0.7)), 1.0, float(rng.uniform(1.7, 2.6))]
    runs = [{"start": "".join(rng.choice(idx2char, size)), "length": length, "temperature": t}
            for (size, length), t in zip(RUNS, temperatures)]
    return {"idx2char": idx2char, "table": (1.2 * rng.normal(size=(vocab, vocab))).astype("float32"), "runs": runs}


def _greedy(z, t):
    return np.log(np.where(z == z.max(-1, keepdims=True), 1 - 1e-6, 1e-6 / z.shape[-1]))


# How each way of sampling turns the logits z at temperature t into log-probabilities.
RIGHT = lambda z, t: log_softmax(z / t)  # noqa: E731
TRANSFORMS = {
    "the logits are multiplied by the temperature instead of divided by it": lambda z, t: log_softmax(z * t),
    "the temperature is ignored": lambda z, t: log_softmax(z),
    "the most likely character is always taken (greedy), not sampled": _greedy,
    "probabilities (after a softmax) are passed to a sampler that expects logits (keras.random.categorical, "
    "tf.random.categorical)":
        lambda z, t: log_softmax(np.exp(log_softmax(z / t))),
}

# How each way of calling `step` sets (calls counted by the state, character fed) for the i-th
# generated character of a run whose start has s characters; ids holds start and generated ids.
RIGHT_FEED = lambda i, s, ids: (s + i, ids[s + i - 1])  # noqa: E731
FEEDS = {
    "the state is not carried: `step` is called with the initial state each time":
        lambda i, s, ids: (1, ids[s + i - 1]),
    "the state returned while generating is not passed to the next call":
        lambda i, s, ids: (s if i == 0 else s + 1, ids[s + i - 1]),
    "the state is reset after reading the start string": lambda i, s, ids: (s if i == 0 else i, ids[s + i - 1]),
    "only the last character of the start string is fed through `step`": lambda i, s, ids: (i + 1, ids[s + i - 1]),
    "the sampled character is not fed back: `step` gets the last start character each time":
        lambda i, s, ids: (s + i, ids[s - 1]),
}

STEP_HINTS = {"step takes char_ids": "call step with one id per row: `step(np.array([char_id]), state)`."}
HINTS = {
    "state": "pass the state that `step` returned into the next call: `logits, state = step(ids, state)`, "
    "for the start string and while generating.",
    "fed": "feed each sampled character back into `step`, one call per character.",
    "start": "feed every character of the start string through `step`, one call each, carrying the state.",
    "sample": "draw each character from softmax(logits / temperature): np.random.choice(len(p), p=p) with those "
    "probabilities p, or keras.random.categorical(logits / temperature, num_samples=1), which takes the logits.",
}


def _log_probabilities(table, run, ids, feed, transform) -> np.ndarray:
    s = len(run["start"])
    rows = []
    for i in range(run["length"]):
        calls, fed = feed(i, s, ids)
        rows.append(np.roll(table[fed], calls))
    return transform(np.array(rows, dtype="float64"), run["temperature"])


ALPHA = 1e-6  # the most a right answer may be rejected with, all runs and tests together
TOO_UNLIKELY = (0.25, 0.5, 1.0)  # the lambdas of the tests against characters too unlikely (from 0 to 1)
TOO_LIKELY = (0.5, 1.0, 2.0)  # the lambdas of the tests against characters too likely (greedy, too cold)
TESTS = len(RUNS) * (len(TOO_UNLIKELY) + len(TOO_LIKELY))
THRESHOLD = float(np.log(TESTS / ALPHA))  # a test rejects when its log-statistic reaches this


def log_evidence(logp, drawn) -> np.ndarray:
    """The log-statistic of each test (TOO_UNLIKELY, then TOO_LIKELY) for characters `drawn` from exp(logp).

    Row t of logp holds log p_t, the log-probabilities character t was drawn from; each statistic's
    exponential has mean 1 for each row when the character is drawn from exp(logp[t]).
    """
    surprisal = -logp[np.arange(len(drawn)), drawn].sum()
    return np.array([lam * surprisal - logsumexp((1 - lam) * logp, axis=1).sum() for lam in TOO_UNLIKELY]
                    + [-lam * surprisal - logsumexp((1 + lam) * logp, axis=1).sum() for lam in TOO_LIKELY])


def _fits(logp, drawn) -> tuple[bool, float, float, float]:
    """Whether the drawn ids fit the log-probabilities; (fits, log-likelihood, its mean, its sd)."""
    p = np.exp(logp)
    chosen = logp[np.arange(len(drawn)), drawn]
    mean = (p * logp).sum(1)
    sd = np.sqrt(max(((p * logp ** 2).sum(1) - mean ** 2).sum(), 0))
    fits = bool(log_evidence(logp, drawn).max() < THRESHOLD)
    return fits, float(chosen.sum()), float(mean.sum()), float(sd)


def _named(table, failing) -> str | None:
    """The wrong way of sampling that explains every failing run best, if one does.

    `failing` holds (run, ids, drawn) for each run the right way of sampling does not explain.
    """
    candidates = [(name, feed, RIGHT) for name, feed in FEEDS.items()]
    candidates += [(name, RIGHT_FEED, transform) for name, transform in TRANSFORMS.items()]
    fitting = []
    for name, feed, transform in candidates:
        fits = [_fits(_log_probabilities(table, run, ids, feed, transform), drawn) for run, ids, drawn in failing]
        if all(fit[0] for fit in fits):
            fitting.append((sum(fit[1] for fit in fits), name))
    return max(fitting)[1] if fitting else None


def _judge_format(run, text, kind, vocab) -> None:
    start, length = run["start"], run["length"]
    what = f"generate_text(step, {start!r}, {length}, {run['temperature']:.2g}, ...)"
    expected = f"a str: {start!r} followed by {length} generated characters ({len(start) + length} in all)"
    hint = "return start_string + ''.join(the generated characters)."
    if not isinstance(text, str):
        raise CheckFailed(f"{what} must return a string", expected=expected, found=found_kind(text, kind), hint=hint)
    if not text.startswith(start) or len(text) != len(start) + length:
        missing = len(text) == length and not text.startswith(start)
        raise CheckFailed(f"{what} returned {len(text)} characters" + (" without the start string" if missing else ""),
                          expected=expected, found=f"{text[:12]!r}... ({len(text)} characters)", hint=hint)
    strange = sorted(set(text) - set(vocab))
    if strange:
        raise CheckFailed(f"{what} returned characters that are not in idx2char", expected=f"characters of {vocab}",
                          found=repr("".join(strange)), hint="turn each sampled id into idx2char[id].")


def _judge_runs(inputs, texts) -> None:
    table = np.asarray(inputs["table"], "float64")
    failing = []
    for run, text in zip(inputs["runs"], texts):
        ids = np.array([inputs["idx2char"].index(c) for c in text])
        drawn = ids[len(run["start"]):]
        fit = _fits(_log_probabilities(table, run, ids, RIGHT_FEED, RIGHT), drawn)
        if not fit[0]:
            failing.append((run, ids, drawn, fit))
    if not failing:
        return
    name = _named(table, [(run, ids, drawn) for run, ids, drawn, _ in failing])
    run, ids, drawn, (_, likelihood, mean, sd) = failing[0]
    t = run["temperature"]
    greedy = _log_probabilities(table, run, ids, RIGHT_FEED, _greedy).argmax(1)
    off = np.flatnonzero(greedy != drawn)
    where = f"; the first character off the most likely path is number {off[0] + 1}" if t < 0.1 and off.size else ""
    topic = next((k for k, words in (("state", "state"), ("fed", "fed back"), ("start", "start"))
                  if name and words in name), "sample")
    raise CheckFailed(f"at temperature {t:.2g} the generated characters are not samples of softmax(logits / {t:.2g})",
                      expected="each character drawn from softmax(logits / temperature), with the logits of `step` "
                      "fed the previous character and the state returned by the call before",
                      found=name or f"a log-likelihood of {likelihood:.0f} where {mean:.0f} ± {sd:.0f} was "
                      f"expected{where}", hint=HINTS[topic])


def generate_text(inputs, data):
    """The text's form, then its characters as samples of softmax(logits / T) fed back through `step`.

    False-reject probability <= 1e-6 (ALPHA), from Ville's inequality for the TESTS = 24 martingale tests
    (4 runs, 6 lambdas) and a union bound; exact for any table and temperature, up to the float32 rounding
    of the learner's softmax (tests/test_check_error_rates.py recomputes it).
    """
    vocab, runs = inputs["idx2char"], inputs["runs"]
    returned, kinds = records(data, "returned", len(runs)), records(data, "kinds", len(runs))
    for run, text, kind in zip(runs, returned, map(str, kinds)):
        _judge_format(run, text, kind, vocab)
    _judge_runs(inputs, returned)
    temperatures = ", ".join(f"{run['temperature']:.2g}" for run in inputs["runs"])
    total = sum(run["length"] for run in inputs["runs"])
    return (f"reads the start through `step` carrying its state, feeds each sample back, and samples "
            f"softmax(logits / T) at T = {temperatures} ({total} characters)")
