"""labhelpers/judges/diagnosis.py: each kind of difference is named on synthetic arrays, and nothing is
named when the difference is random."""

import numpy as np
import pytest

from labhelpers.judges import diagnosis as dx

RNG = np.random.default_rng(0)
E3 = RNG.normal(size=(5, 4, 3))  # (step, row, column)
AXES = ("step", "row", "column")


def texts(found, expected=E3, **options):
    return " | ".join(f.text for f in dx.relations(found, expected, axes=AXES, **options))


# ---------------------------------------------------------------- where


def test_where_names_the_first_entry_and_counts():
    found = E3.copy()
    found[2, 1, 0] += 0.5
    found[4, 0, 2] -= 1.0
    text = dx.where(found, E3, AXES)
    assert "first differs at step 2, row 1, column 0" in text
    assert "step [2, 4] differ, the others match" in text
    assert "2 of 60 entries differ, by up to 1" in text


def test_where_with_a_slot_for_the_index_and_nan():
    found = E3.copy()
    found[0, 0, 0] = np.nan
    text = dx.where(found, E3, ("distance d = {}", "row", "column"))
    assert "distance d = 0" in text and "NaN or infinite" in text


# ---------------------------------------------------------------- relations that keep the values


def test_negated():
    assert "negated" in texts(-E3)


def test_transposed_blocks_and_matrix():
    square = RNG.normal(size=(4, 3, 3))
    assert "each (row, column) block is transposed" in texts(np.swapaxes(square, 1, 2), square)
    matrix = RNG.normal(size=(4, 4))
    assert "axes step and row are swapped" in texts(matrix.T, matrix)


def test_reversed_and_shifted_along_an_axis():
    assert "reverse step order" in texts(E3[::-1])
    later = np.concatenate([np.zeros_like(E3[:1]), E3[:-1]])
    assert "step n holds the expected step n - 1 (with zeros in front)" in texts(later)
    earlier = np.concatenate([E3[1:], np.zeros_like(E3[:1])])
    assert "step n holds the expected step n + 1 (with zeros at the end)" in texts(earlier)
    rows = np.concatenate([E3[:, 1:], E3[:, :1]], axis=1)
    assert "shifted by one row" in texts(rows)


def test_running_totals_totals_and_partial():
    assert "running totals along step" in texts(np.cumsum(E3, 0))
    assert "from step n on" in texts(np.cumsum(E3[::-1], 0)[::-1])
    assert "every step holds the total" in texts(np.broadcast_to(E3.sum(0), E3.shape))
    assert "every step holds the mean" in texts(np.broadcast_to(E3.mean(0), E3.shape))
    only_first = np.concatenate([E3[:1], np.zeros_like(E3[1:])])
    assert "only step [0] are right; step [1, 2, 3, 4] are all zero" in texts(only_first)


def test_rows_mixed_up_or_all_from_one_row():
    assert "row 0 holds the values expected at row 2" in texts(E3[:, [2, 1, 0, 3]])
    assert "every row holds the values expected at row 0" in texts(np.repeat(E3[:, :1], 4, axis=1))


def test_functions_of_the_expected_values():
    logits = RNG.normal(size=(4, 6))
    assert "probabilities (a softmax" in texts(dx._softmax(logits), logits)
    assert "log-probabilities" in texts(dx._log_softmax(logits), logits)
    assert "a tanh is missing" in texts(np.arctanh(np.tanh(logits)) * 1, np.tanh(logits))
    probabilities = dx._softmax(logits)
    assert "raw scores (logits) where probabilities are expected" in texts(logits, probabilities)


# ---------------------------------------------------------------- scales and offsets


def test_scaled_by_a_named_size_or_a_reported_factor():
    sizes = {"T": 5, "the batch size": 4}
    assert "divided by the batch size (4)" in texts(E3 / 4, sizes=sizes)
    assert "multiplied by T (5)" in texts(E3 * 5, sizes=sizes)
    assert "divided by T x the batch size" in texts(E3 / 20, sizes=sizes)
    assert "negated and divided by the batch size" in texts(-E3 / 4, sizes=sizes)
    assert "base 10" in texts(E3 / np.log(10))
    relation = dx.relations(E3 * 0.8, E3)[0]
    assert "times 0.8" in relation.text and relation.value == pytest.approx(0.8)


def test_offset_by_a_constant_named_or_reported():
    prior = np.log(7 / 5)
    assert "plus the constant 0.3365" in texts(E3 + prior)
    named = texts(E3 + prior, constants={"the log of the class ratio": prior})
    assert "which is the log of the class ratio: it is added" in named
    assert "minus the log of the class ratio" in texts(E3 - prior, constants={"the log of the class ratio": prior})


def test_offset_the_same_along_an_axis_and_affine():
    bias = RNG.normal(size=3)
    assert "the same for every step and every row" in texts(E3 + bias)
    assert "times 2 plus 0.5" in texts(2 * E3 + 0.5)


# ---------------------------------------------------------------- relations that change the shape


def test_reduced_or_not_reduced_axes():
    assert "summed over the row axis" in texts(E3.sum(1))
    assert "averaged over the step axis" in texts(E3.mean(0))
    assert "only the last step is kept" in texts(E3[-1])
    extra = RNG.normal(size=(5, 4, 2, 3))
    assert "an extra axis (axis 2, of length 2) that is not reduced: summed" in texts(extra, extra.sum(2))
    assert "found has them as (row, step, column)" in texts(np.transpose(E3, (1, 0, 2)))


def test_one_entry_too_many_or_too_few():
    assert "one step too many, in front" in texts(np.concatenate([np.zeros_like(E3[:1]), E3]))
    assert "one step too many, at the end" in texts(np.concatenate([E3, E3[:1]]))
    assert "the first step is missing" in texts(E3[1:])
    assert "the last row is missing" in texts(E3[:, :-1])


# ---------------------------------------------------------------- explain: the traced reference


W, U, b = RNG.normal(size=(4, 4)), RNG.normal(size=(4, 3)), RNG.normal(size=4)
h_prev, x = RNG.normal(size=4), RNG.normal(size=3)


def step(k):
    z = k.sum({"W h_{t-1}": k.op("W h_{t-1}", "matmul", W, h_prev), "U x_t": k.op("U x_t", "matmul", U, x),
               "the bias b": b})
    return k.apply("the tanh", "tanh", z)


def named(found, reference=step, **options):
    diagnosis = dx.diagnose(found, reference=reference, **options)
    return diagnosis.text


def test_explain_a_term_missing_doubled_or_negated():
    assert named(np.tanh(W @ h_prev + U @ x)).startswith("the bias b is missing")
    assert named(np.tanh(W @ h_prev + U @ x + 2 * b)).startswith("the bias b is counted twice")
    assert named(np.tanh(-(W @ h_prev) + U @ x + b)).startswith("W h_{t-1} has its sign flipped")


def test_explain_a_nonlinearity_missing_or_replaced():
    z = W @ h_prev + U @ x + b
    assert "a tanh is missing" in named(z) or "the tanh is missing" in named(z)
    assert named(1 / (1 + np.exp(-z))).startswith("a sigmoid is used where the tanh belongs")
    assert named(np.tanh(np.tanh(z))).startswith("the tanh is applied twice")


def test_explain_an_elementwise_product_by_its_shape():
    found = np.tanh(W * h_prev + U @ x + b)  # (4, 4): broadcast
    text = named(found)
    assert text.startswith("W h_{t-1} is an elementwise product (`*`) where a matrix product is meant"), text
    assert named(np.tanh(W.T @ h_prev + U @ x + b)).startswith("W h_{t-1} uses the transposed matrix")


def test_explain_a_pair_of_alterations():
    found = W @ h_prev + U @ x  # tanh and bias missing
    assert "the tanh is missing" in named(found) and "the bias b is missing" in named(found)


def test_explain_a_value_swapped_and_a_factor():
    g, h, h0 = RNG.normal(size=(3, 5)), np.tanh(RNG.normal(size=(3, 5))), np.tanh(RNG.normal(size=(3, 5)))

    def term(k):
        at = k.value("h_k", h, instead={"h_{k-1}": h0})
        return k.product({"g": g, "the derivative 1 - h_k^2": k.apply("the derivative 1 - h_k^2", "tanh'", at)})

    assert named(g * (1 - h0 ** 2), term).startswith("h_{k-1} in place of h_k")
    assert named(g * (1 - h) ** 2, term).startswith("the derivative 1 - h_k^2 is written as (1 - h)^2")
    assert named(g, term).startswith("the derivative 1 - h_k^2 is missing")
    assert named(g * (1 - h ** 2) / 3, term, sizes={"the batch size": 3}).startswith(
        "the expected values divided by the batch size (3)")


def test_explain_a_normalisation_a_log_and_a_fitted_scalar():
    a, c = RNG.integers(0, 4, 9).astype(float), RNG.integers(0, 4, 9).astype(float)

    def ratio(k):
        alpha = k.scalar("alpha", 1.0, low=0)
        p = k.sum({"alpha in p": alpha, "the counts of p": a})
        q = k.sum({"alpha in q": alpha, "the counts of q": c})
        log_p = k.apply("the log", "log", k.apply("the normalisation", "normalise", p))
        log_q = k.apply("the log", "log", k.apply("the normalisation", "normalise", q))
        return k.op("the difference of the logs", "difference", log_p, log_q)

    p, q = 1 + a, 1 + c
    l2 = np.log(p / np.linalg.norm(p)) - np.log(q / np.linalg.norm(q))
    assert "divides by the L2 norm" in named(l2, ratio)
    assert "log1p" in named(np.log1p(p / p.sum()) - np.log1p(q / q.sum()), ratio)
    assert "is a ratio where a difference is meant" in named(np.log(p / p.sum()) / np.log(q / q.sum()), ratio)
    assert "alpha = 0.5, not 1" in named(np.log((0.5 + a) / (0.5 + a).sum()) - np.log((0.5 + c) / (0.5 + c).sum()),
                                         ratio)
    unsmoothed_q = np.log(p / p.sum()) - np.log((c + 1e-3) / (c + 1e-3).sum())
    assert "the values are those of" not in named(unsmoothed_q, ratio)


def test_split_blocks_in_another_order():
    z = RNG.normal(size=(2, 8))

    def gates(k):
        i, f = k.split("z", z, ("i", "f"))
        return np.tanh(i) * (1 / (1 + np.exp(-f)))

    i, f = np.split(z, 2, axis=-1)
    assert "the blocks of z are read in the order f, i" in named(np.tanh(f) / (1 + np.exp(-i)), gates)


# ---------------------------------------------------------------- nothing named on random differences


@pytest.mark.parametrize("seed", range(20))
def test_random_differences_are_not_explained(seed):
    rng = np.random.default_rng(seed)
    expected = rng.normal(size=(5, 4, 3))
    for found in (rng.normal(size=expected.shape), expected + rng.normal(0, 0.05, expected.shape),
                  expected * (1 + rng.normal(0, 0.05, expected.shape))):
        assert dx.relations(found, expected, sizes={"T": 5, "the batch size": 4}) == []
    z = W @ h_prev + U @ x + b
    for found in (rng.normal(size=4), np.tanh(z + rng.normal(0, 0.1, 4)), np.tanh(z) * 1.05 + 0.01 * rng.normal(size=4)):
        diagnosis = dx.diagnose(found, reference=step, sizes={"T": 5})
        assert not diagnosis, diagnosis.text
        assert "first differs" in diagnosis.text


def test_right_values_give_nothing():
    assert dx.relations(E3 + 1e-7, E3) == []
    assert not dx.diagnose(np.tanh(W @ h_prev + U @ x + b), reference=step)


# ---------------------------------------------------------------- rows of ids


EXPECTED_IDS = np.array([[5, 3, 0, 0, 0, 0],
                         [4, 4, 6, 2, 7, 0],
                         [1, 2, 3, 4, 5, 6]])


def sequence_text(found):
    return " | ".join(f.text for f in dx.sequences(found, EXPECTED_IDS, end=0))


def test_rows_cut_where_another_row_ended():
    found = EXPECTED_IDS.copy()
    found[:, 3:] = 0
    text = sequence_text(found)
    assert "row 1 is all end tokens from step 3 on" in text and "row 0 wrote its end token at step 2" in text
    assert "ends the whole batch when one row ends" in text


def test_rows_going_on_ending_late_or_early_shifted_or_swapped():
    on = EXPECTED_IDS.copy()
    on[0, 3:] = [8, 1, 2]
    assert "row 0 goes on after its end token at step 2" in sequence_text(on)
    late = EXPECTED_IDS.copy()
    late[0, 2] = 7
    assert "row 0 ends one step late" in sequence_text(late)
    early = EXPECTED_IDS.copy()
    early[1, 4] = 0
    assert "row 1 ends one step early" in sequence_text(early)
    shifted = EXPECTED_IDS.copy()
    shifted[2] = [9, 1, 2, 3, 4, 5]
    assert "row 2 is shifted by one step" in sequence_text(shifted)
    swapped = EXPECTED_IDS[[0, 2, 1]]
    assert "row 1 holds the ids expected in row 2" in sequence_text(swapped)
    assert "rows [1, 2] differ, the others match" in dx.sequence_where(swapped, EXPECTED_IDS)


def test_random_ids_are_not_explained():
    rng = np.random.default_rng(3)
    for _ in range(20):
        found = rng.integers(1, 9, EXPECTED_IDS.shape)
        assert dx.sequences(found, EXPECTED_IDS) == []


def test_agree_prefers_what_every_case_shares():
    first = dx.Diagnosis([dx.Finding("relation", "A"), dx.Finding("relation", "B")])
    second = dx.Diagnosis([dx.Finding("relation", "B")])
    assert dx.agree([first, second]).text == "B"
    assert dx.agree([first, dx.Diagnosis([dx.Finding("relation", "C")])]).text == "A"
    assert dx.agree([dx.Diagnosis()]) is None
