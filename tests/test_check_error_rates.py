"""The false-reject probability of every check that judges something random, recomputed from the
judge's own constants: at most 1e-6 per graded exercise (all its tests together, union bound), and
at most the figure its docstring states ("False-reject probability <= X").

3.2 get_batch: the starts a right get_batch draws (NumPy's generator, seeded per grading seed).
3.3 build_model: the outputs Keras' Dropout drops while training.
3.6 generate_text: the characters a right generate_text samples.
Every other check is deterministic given its drawn inputs (3.6a sampling_step computes logits and
samples nothing; 4.4 fits unshuffled datasets).
"""

import re

import numpy as np
import pytest
from scipy import stats

from labhelpers.judges.music import judges as batch_judges
from labhelpers.judges.music import model_judges, sampling_judges

LIMIT = 1e-6


def stated(function) -> float:
    """The figure a judge's docstring states."""
    found = re.search(r"False-reject probability <= ([0-9.e-]+)", " ".join(function.__doc__.split()))
    assert found, f"{function.__qualname__} states no false-reject probability"
    return float(found.group(1))


# ---------------------------------------------------------------- 3.2 get_batch
def get_batch_false_reject() -> float:
    """Coverage of the tight run (exact binomial tails, both ways a right answer may draw a batch's starts:
    independently, or distinct within a batch), plus the two randomness tests of the other runs."""
    j = batch_judges
    low, high = j.TIGHT_COUNTS
    laws = [stats.binom(j.TIGHT_BATCH * j.TIGHT_CALLS, 1 / j.TIGHT_STARTS),  # independent starts
            stats.binom(j.TIGHT_CALLS, j.TIGHT_BATCH / j.TIGHT_STARTS)]  # distinct starts within a call
    coverage = j.TIGHT_STARTS * max(law.cdf(low - 1) + law.sf(high) for law in laws)
    randomness = 0.0
    for (length, _), (_, seq_high), (batch_low, batch_high), calls in j.BATCH_RUNS:
        starts = length - (seq_high - 1)  # the fewest starts a text of this run has room for
        for batch in range(batch_low, batch_high):
            # every call the same batch: independent starts n^-b per call, distinct ones 1/(n (n-1) ...)
            same_batch = float(starts - batch + 1) ** (-batch * (calls - 1))
            same_rows = float(starts) ** (-(batch - 1) * calls)  # every row of every call one start
            randomness = max(randomness, same_batch + same_rows)
    return coverage + len(j.BATCH_RUNS) * randomness


def test_get_batch_false_reject():
    figure = get_batch_false_reject()
    assert figure <= stated(batch_judges._judge_coverage) <= LIMIT
    assert stated(batch_judges.get_batch) <= LIMIT


def test_get_batch_tight_run_has_the_constants_drawn():
    inputs = batch_judges.draw_batches(np.random.default_rng(3))
    tight = inputs["runs"][-1]
    assert len(tight["text"]) - tight["seq_length"] == batch_judges.TIGHT_STARTS
    assert (tight["batch_size"], tight["calls"]) == (batch_judges.TIGHT_BATCH, batch_judges.TIGHT_CALLS)
    assert [r["calls"] for r in inputs["runs"][:-1]] == [run[-1] for run in batch_judges.BATCH_RUNS]


# ---------------------------------------------------------------- 3.3 build_model
def share_test_false_reject(outputs: int, rate: float) -> float:
    """The exact probability that `share_rejected` rejects Binomial(outputs, rate) dropped outputs.

    The rejected counts are those up to some a and from some b on (each tail's probability is monotone in
    the count); a and b are found by bisection on `share_rejected` itself."""
    rejected = lambda d: model_judges.share_rejected(int(d), outputs, rate)  # noqa: E731
    mode = int(np.floor((outputs + 1) * rate))
    assert not rejected(mode)
    low, high = -1, mode  # the last rejected count below the mode lies in [low, high)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if rejected(middle) else (low, middle)
    below = low
    low, high = mode, outputs + 1  # the first rejected count above the mode lies in (low, high]
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if rejected(middle) else (middle, high)
    above = high
    return float(stats.binom.cdf(below, outputs, rate) + stats.binom.sf(above - 1, outputs, rate))


def test_build_model_false_reject():
    inputs = model_judges.draw_model(np.random.default_rng(0))
    rated = [case for case in inputs["cases"] if case["dropout"]]
    most = 3 * max(b * t * u for _, _, u, b, t in model_judges.MODEL_SIZES)  # outputs of 3 training calls
    worst = 0.0
    for rate in (0.2, 0.275, 0.35, 0.55, 0.625, 0.7):  # the ranges draw_model draws rates from
        for outputs in [*range(1, 30), *range(30, most + 1, 23), most]:
            worst = max(worst, share_test_false_reject(outputs, rate))
    assert worst <= model_judges.SHARE_ALPHA
    assert len(rated) * model_judges.SHARE_ALPHA <= stated(model_judges._judge_training) <= LIMIT
    assert stated(model_judges.build_model) <= LIMIT


def test_build_model_share_test_rejects_tails_only():
    """On small counts, every count checked: the rejected ones are the two tails, as the bisection assumes."""
    for outputs in (5, 17, 40):
        flags = [model_judges.share_rejected(d, outputs, 0.3) for d in range(outputs + 1)]
        inside = [d for d, flag in enumerate(flags) if not flag]
        assert inside == list(range(inside[0], inside[-1] + 1))


def test_build_model_share_test_still_rejects_a_wrong_share():
    assert model_judges.share_rejected(150, 300, 0.3)
    assert model_judges.share_rejected(40, 300, 0.3)
    assert not model_judges.share_rejected(90, 300, 0.3)
    assert model_judges.share_rejected(1, 300, 0.0) and not model_judges.share_rejected(0, 300, 0.0)


# ---------------------------------------------------------------- 3.6 generate_text
def test_generate_text_false_reject():
    s = sampling_judges
    assert s.TESTS == len(s.RUNS) * (len(s.TOO_UNLIKELY) + len(s.TOO_LIKELY))
    assert all(0 < lam <= 1 for lam in s.TOO_UNLIKELY) and all(lam > 0 for lam in s.TOO_LIKELY)
    figure = s.TESTS * np.exp(-s.THRESHOLD)  # Ville's inequality for each test, union bound over all
    assert figure <= s.ALPHA * (1 + 1e-9)
    assert s.ALPHA <= stated(s.generate_text) <= LIMIT


@pytest.mark.parametrize("temperature", [0.01, 0.5, 1.0, 2.5])
def test_generate_text_statistics_have_mean_one(temperature):
    """Each test's statistic, for one character drawn from its row, has expectation exactly 1: what makes
    it a martingale over a run, and Ville's inequality apply (near-one-hot rows at T = 0.01 included)."""
    rng = np.random.default_rng(7)
    z = 1.2 * rng.normal(size=(5, 8))
    z[0, 1] = z[0, 0] + 0.003  # a near tie, which the old normal approximation mishandled at T = 0.01
    for row in z:
        logp = sampling_judges.log_softmax(row / temperature)
        values = np.array([sampling_judges.log_evidence(logp[None], [j]) for j in range(len(row))])
        expectation = (np.exp(logp)[:, None] * np.exp(values)).sum(axis=0)
        assert np.allclose(expectation, 1.0, rtol=1e-9), expectation
