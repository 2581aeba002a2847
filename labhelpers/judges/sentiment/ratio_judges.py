"""Lab 04's judge of 4.6: Naive Bayes log-count ratios r = log((ν⁺ / |ν⁺|_1) / (ν⁻ / |ν⁻|_1)), with
ν⁺ = alpha + sum of the binarised counts of the positive reviews and ν⁻ the same for the negative ones
(the notebook's nu+ and nu-; the code below calls them p and q).

The reference is the NumPy formula on the drawn counts; each classic mistake is the same formula
with one thing changed, so a wrong answer is named when it matches one of them.
"""

from __future__ import annotations

import numpy as np

from labhelpers.judges import diagnosis
from labhelpers.judges.sentiment.judges import close, described, max_diff, paired
from labhelpers.grading import CheckFailed, found_as_array, matching_mistake

RATIO_SIZES = [(14, 9, 0.5, "int32"), (19, 12, 1.0, "int64")]  # (reviews, n-grams, alpha, labels' dtype)
_HINT = ("for each n-gram, ν⁺ counts the positive reviews (label 1) that contain it, each review once, plus alpha; "
         "ν⁻ the same for the negative ones; divide each by its own sum, then take the natural log of the ratio.")


def _log_ratio(p, q) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(p / p.sum()) - np.log(q / q.sum())


def _binarised_sums(counts, labels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(which reviews contain each n-gram, as 0/1; how many positive reviews do; how many negative)."""
    present = (counts > 0).astype("float64")
    return present, present[labels == 1].sum(axis=0), present[labels == 0].sum(axis=0)


def _reference_and_mistakes(counts, labels, alpha) -> tuple[np.ndarray, dict]:
    """r by the formula, and what each classic mistake computes instead."""
    positive, negative = labels == 1, labels == 0
    present, in_positive, in_negative = _binarised_sums(counts, labels)
    p, q = alpha + in_positive, alpha + in_negative
    r = _log_ratio(p, q)
    return r, {
        "the counts are not binarised: a review that uses an n-gram 3 times should count it once":
            _log_ratio(alpha + counts[positive].sum(axis=0), alpha + counts[negative].sum(axis=0)),
        "the L1 normalisation is missing: log(ν⁺ / ν⁻) instead of log((ν⁺ / |ν⁺|_1) / (ν⁻ / |ν⁻|_1))":
            np.log(p / q),
        "the sign is flipped (classes swapped, or the ratio upside down): r must be positive for n-grams "
        "more frequent in the positive reviews, label 1": -r,
        "log10 instead of the natural log": r / np.log(10),
        "log2 instead of the natural log": r / np.log(2),
        "alpha added after normalising (ν⁺ / |ν⁺|_1 + alpha): the smoothing goes on the counts":
            np.log(in_positive / in_positive.sum() + alpha) - np.log(in_negative / in_negative.sum() + alpha),
        "normalised by the number of positive and negative reviews instead of |ν⁺|_1 and |ν⁻|_1":
            np.log(p / positive.sum()) - np.log(q / negative.sum()),
        "means over the reviews instead of sums": _log_ratio(alpha + in_positive / positive.sum(),
                                                             alpha + in_negative / negative.sum()),
        "|ν⁺|_1 and |ν⁻|_1 taken without the alphas (the sums of the raw counts)":
            np.log(p / in_positive.sum()) - np.log(q / in_negative.sum()),
        "the alpha argument is ignored (alpha = 1 always)": _log_ratio(1 + in_positive, 1 + in_negative),
        "ν⁻ counts every review, not only the negative ones (label 0)": _log_ratio(p, alpha + present.sum(axis=0)),
    }


def _traced_ratios(counts, labels, alpha):
    """r as `diagnosis` traces it: each part of the formula named where it is computed."""
    positive, negative, every = labels == 1, labels == 0, np.ones(len(labels), bool)

    def reference(k):
        present = k.value("the binarised counts (each review counted once)", (counts > 0).astype("float64"),
                          instead={"the raw counts": counts.astype("float64")})
        rows_p = k.value("the positive reviews (label 1)", positive,
                         instead={"every review": every, "the negative reviews (label 0)": negative})
        rows_q = k.value("the negative reviews (label 0)", negative,
                         instead={"every review": every, "the positive reviews (label 1)": positive})
        a = k.scalar("alpha", alpha, low=0.0)
        p = k.sum({"alpha in ν⁺": a, "the counts in ν⁺": k.reduce("the sum over the positive reviews", "sum",
                                                                  present[rows_p], 0)})
        q = k.sum({"alpha in ν⁻": a, "the counts in ν⁻": k.reduce("the sum over the negative reviews", "sum",
                                                                  present[rows_q], 0)})
        q = k.value("ν⁻", q, instead={"ν⁺": p})
        normalised = [k.apply("the normalisation of ν⁺ and ν⁻ (each divided by its sum)", "normalise", v)
                      for v in (p, q)]
        logs = [k.apply("the natural log", "log", v) for v in normalised]
        return k.op("r, the difference of the two logs,", "difference", *logs)

    return reference


def _diagnosed(r, expected, counts, labels, alpha) -> str:
    """What r is, as far as the traced formula and the generic relations can tell."""
    positive, negative = int((labels == 1).sum()), int((labels == 0).sum())
    constants = {f"log({positive} / {negative}), the log of the ratio of positive to negative reviews (a class prior)":
                 np.log(positive / negative)}
    diagnosed = diagnosis.diagnose(r, expected, reference=_traced_ratios(counts, labels, alpha), axes=("n-gram {}",),
                                   constants=constants, rtol=1e-4, atol=1e-5)
    return diagnosed.text


def _one_class_slip(r, counts, labels, alpha) -> str | None:
    """A slip in ν⁻ alone: its raw counts summed, or its alpha left out (r then matches wherever ν⁻ has no
    zero, whatever was done there to avoid log 0). Kept out of the draw's mistakes, so draws stay as they were."""
    _, in_positive, in_negative = _binarised_sums(counts, labels)
    raw_negative = alpha + counts[labels == 0].sum(axis=0)
    if np.allclose(r, _log_ratio(alpha + in_positive, raw_negative), atol=1e-5, rtol=1e-3):
        return "ν⁻ is summed from the raw counts while ν⁺ is binarised: each review counts an n-gram once in both"
    seen = in_negative > 0
    if seen.sum() > 1 and not seen.all():
        unsmoothed = _log_ratio(alpha + in_positive, in_negative)
        if np.allclose(r[seen], unsmoothed[seen], atol=1e-2, rtol=1e-2):
            return "alpha in ν⁻ is missing: alpha is added to ν⁺ only, and both need it"
    return None


def draw_log_count_ratios(rng):
    """Count matrices with counts above 1, n-grams seen in one class only and one never seen, more negative
    than positive reviews, at 2 sizes and 2 alphas; redrawn until every mistake gives another r."""
    cases = []
    for reviews, size, alpha, dtype in RATIO_SIZES:
        while True:
            labels = rng.permutation(np.arange(reviews) < reviews // 2 - 2).astype(dtype)
            counts = rng.choice([0, 0, 0, 0, 1, 1, 1, 2, 3], size=(reviews, size))
            only_positive, only_negative, never = rng.permutation(size)[:3]
            counts[labels == 0, only_positive] = 0
            counts[labels == 1, only_negative] = 0
            counts[:, never] = 0
            r, mistakes = _reference_and_mistakes(counts, labels, alpha)
            if (counts[labels == 1, only_positive].any() and counts[labels == 0, only_negative].any()
                    and all(not np.all(np.isfinite(m)) or max_diff(m, r) > 0.05
                            for name, m in mistakes.items() if "alpha = 1" not in name or alpha != 1)):
                break
        cases.append({"counts": counts, "labels": labels, "alpha": alpha})
    return {"cases": cases}


def _judge_ratios(case, returned) -> None:
    counts, labels, alpha = np.asarray(case["counts"]), np.asarray(case["labels"]), case["alpha"]
    reviews, size = counts.shape
    expected, mistakes = _reference_and_mistakes(counts, labels, alpha)
    shown = f"{np.round(expected, 4).tolist()}"
    r = found_as_array(returned, "r", f"a NumPy array of {size} numbers, one per n-gram", _HINT)
    if r.shape == (1, size):
        raise CheckFailed(f"r is a 1 x {size} matrix, not a vector (summing a SciPy sparse matrix over axis 0 "
                          "gives a 1 x |V| np.matrix)", expected=f"shape ({size},)", found=f"shape {r.shape}",
                          hint="`np.ravel(...)` or `np.asarray(...).ravel()` turns it into a vector.")
    if r.shape == (reviews,):
        raise CheckFailed("r has one number per review, not one per n-gram: the sums ran over the wrong axis",
                          expected=f"shape ({size},) for {reviews} reviews and {size} n-grams",
                          found=f"shape {r.shape}", hint="sum over the reviews (the rows of `counts`).")
    if r.shape != (size,):
        raise CheckFailed("r does not have one number per n-gram", expected=f"shape ({size},)",
                          found=f"shape {r.shape}", hint=_HINT)
    if not np.all(np.isfinite(r)):
        unseen = np.flatnonzero(~np.isfinite(r)).tolist()
        raise CheckFailed(f"r is infinite or NaN at n-grams {unseen}, which one class never contains: no smoothing, "
                          "so log 0", expected=shown, found=f"{np.round(r, 4).tolist()}",
                          hint=f"add alpha (here {alpha}) to both ν⁺ and ν⁻ before dividing by their sums.")
    if close(r, expected):
        return
    mistake = (matching_mistake(r, mistakes, atol=1e-5) or _one_class_slip(r, counts, labels, alpha)
               or _diagnosed(r, expected, counts, labels, alpha))
    raise CheckFailed(f"r is wrong for {reviews} reviews, {size} n-grams and alpha = {alpha}",
                      expected=shown, found=f"{np.round(r, 4).tolist()}" + (f": {mistake}" if mistake else ""),
                      hint=_HINT)


def log_count_ratios(inputs, data):
    for case, returned in paired(inputs, data, "returned"):
        if isinstance(returned, list) and len(returned) == 2 and np.ndim(returned[0]) >= 1:
            raise CheckFailed("log_count_ratios must return r alone", expected="one array, r",
                              found=f"two things ({described(returned[0])[:40]}, ...)",
                              hint="end with `return` of the log-count ratios, not ν⁺ and ν⁻.")
        _judge_ratios(case, returned)
    sizes = " and ".join(f"{c['counts'].shape[0]} x {c['counts'].shape[1]}" for c in inputs["cases"])
    return ("r = log((ν⁺ / |ν⁺|_1) / (ν⁻ / |ν⁻|_1)) on binarised counts, smoothed by the given alpha, "
            f"positive for n-grams of positive reviews, matches NumPy on 2 random sparse count matrices ({sizes})")
