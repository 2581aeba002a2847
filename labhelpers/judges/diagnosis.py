"""Diagnosis from properties: what kind of difference separates a found value from the reference.

A judge knows the right value. When a learner's value differs, this module says what the difference
*is*, computed for any answer rather than looked up in a list of wrong variants written in advance:

- `where(found, expected, axes)`: which entry first differs, by how much, how many entries differ.
- `relations(found, expected, ...)`: found is the expected value transposed, negated, scaled (by a
  named size such as T or the batch size, or by a reported factor), offset by a constant (in log
  space: a prior; the constant reported and named when the judge knows it), shifted by one or
  reversed along an axis, cumulated, totalled, permuted along an axis, reduced over an axis (sum,
  mean, last entry), cut or padded by one entry, or a function of it (softmax, log, tanh...).
- `explain(found, reference)`: the judge writes its reference computation once as a function of a
  `Trace` `k`, naming its parts where they are computed: `k.sum({"W x": ..., "b": ...})` (terms),
  `k.product(...)` (factors), `k.apply("tanh", "tanh", z)` (a nonlinearity, a derivative, a log, a
  normalisation), `k.op("W h", "matmul", W, h)`, `k.value("h_{k-1}", h_prev, instead={"h_k": h})`,
  `k.reduce(...)`, `k.split(...)`, `k.scalar("alpha", alpha)`. The module re-runs the reference with
  each part altered the ways learners alter it (a term missing, doubled or negated; a factor missing,
  squared or inverted; a nonlinearity missing, replaced or applied twice; a derivative written
  another way; log1p for log; L2 for L1 normalisation; an elementwise for a matrix product; a value
  swapped for a sibling; a scalar fitted to the answer), alone, in pairs, or with a named scale, and
  names the alteration whose result equals the learner's value.
- `sequences(found, expected, end=...)`: for rows of token ids: which rows differ, where, and
  whether a row stops where another row ended, goes on after its end, or is shifted by one.
- `diagnose(found, expected, reference=..., axes=..., sizes=..., constants=...)`: all of it, in the order
  relations that keep the values (sign, axes, order, totals), single alterations of the traced
  reference, functions of the expected values, a fitted scalar, scales and offsets, an alteration
  with a named scale, pairs of alterations; a `Diagnosis` whose `text` (the best finding, then
  `where`) goes into a CheckFailed's `found`. `diagnose_all` keeps what every case of an answer agrees
  on (small vectors can match an explanation by chance; every case cannot).

A finding must explain the difference, not just fit within tolerance: the residual must be under a
tenth of the difference (`explains`), so a value that is off by noise is never given a cause.

Findings describe what the learner's value does, never the code that would be right. Nothing here
knows any lab: the words come from the judge's names for its parts and axes.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

RTOL, ATOL = 1e-3, 1e-4  # relative tolerance; absolute, relative to the largest expected value


# ---------------------------------------------------------------- closeness and wording


def close(found, expected, rtol: float = RTOL, atol: float = ATOL) -> bool:
    """Same shape, finite, and equal within `rtol` (and `atol` times the largest expected magnitude, or 1)."""
    try:
        f, e = np.asarray(found, "float64"), np.asarray(expected, "float64")
    except (TypeError, ValueError):
        return False
    if f.shape != e.shape or not np.all(np.isfinite(f)) or not np.all(np.isfinite(e)):
        return False
    scale = max(1.0, float(np.abs(e).max(initial=0.0)))
    return bool(np.allclose(f, e, rtol=rtol, atol=atol * scale))


def explains(found, expected, value, rtol: float = RTOL, atol: float = ATOL) -> bool:
    """found equals `value` (within tolerance), and much more closely than it equals `expected`: the residual
    is under a tenth of the difference, so a difference near the tolerance is never explained by chance."""
    if not close(found, value, rtol, atol):
        return False
    f, v, e = (np.asarray(a, "float64") for a in (found, value, expected))
    if f.shape != e.shape:
        return True
    return float(np.abs(f - v).max(initial=0)) <= 0.1 * float(np.abs(f - e).max(initial=0))


def number(x: float) -> str:
    """A number in few characters: 4 significant digits, whole numbers without decimals."""
    x = float(x)
    if abs(x - round(x)) < 1e-9 * max(1.0, abs(x)):
        return str(int(round(x)))
    return f"{x:.4g}"


def _axis_names(ndim: int, axes) -> list[str]:
    names = list(axes or [])[:ndim]
    return names + [f"axis {a}" for a in range(len(names), ndim)]


def _noun(axis_name: str) -> str:
    """"step" for "step {}" or "step"."""
    return axis_name.replace("{}", "").replace("=", "").strip()


def _at(axis_name: str, index) -> str:
    """"step 3" for "step" and 3; "distance d = 3" for "distance d = {}"."""
    return axis_name.format(index) if "{}" in axis_name else f"{axis_name} {index}"


def _list(indices, limit: int = 6) -> str:
    items = [str(int(i)) for i in indices]
    return "[" + ", ".join(items[:limit]) + (", ..." if len(items) > limit else "") + "]"


@dataclass
class Finding:
    """One explanation of the difference: `text` for a learner; `key` the same across cases."""

    kind: str  # "relation", "altered", "scalar", "sequence"
    text: str
    key: str = ""
    value: float | None = None  # a reported factor, constant or fitted value

    def __post_init__(self):
        self.key = self.key or self.text


# ---------------------------------------------------------------- where they differ


def where(found, expected, axes=None, rtol: float = RTOL, atol: float = ATOL) -> str:
    """Which entry first differs (by its axes' names), the two values there, how many entries differ and by how much."""
    f, e = np.asarray(found, "float64"), np.asarray(expected, "float64")
    if f.shape != e.shape:
        return f"shape {f.shape} where {e.shape} is expected"
    bad = ~np.isfinite(f)
    scale = max(1.0, float(np.abs(e).max(initial=0.0)))
    differs = bad | ~np.isclose(f, e, rtol=rtol, atol=atol * scale)
    if not differs.any():
        return "no entry differs"
    first = tuple(int(i) for i in np.argwhere(differs)[0])
    names = _axis_names(e.ndim, axes)
    if not first:
        place = "the value"
    elif axes:
        place = ", ".join(_at(n, i) for n, i in zip(names, first))
    else:
        place = f"index {list(first)}"
    if e.ndim and axes:
        lead = sorted({int(i) for i in np.argwhere(differs)[:, 0]})
        if 1 < e.shape[0] and len(lead) < e.shape[0]:
            place += f" ({_noun(names[0])} {_list(lead)} differ, the others match)"
    text = f"first differs at {place}: {number(f[first]) if np.isfinite(f[first]) else f[first]} where " \
           f"{number(e[first])} is expected"
    if bad.any():
        return text + f"; {int(bad.sum())} of {f.size} entries are NaN or infinite"
    diff = np.abs(f - e)
    return (text + f"; {int(differs.sum())} of {f.size} entries differ, by up to {number(diff.max())} "
            f"(expected values up to {number(np.abs(e).max())})")


# ---------------------------------------------------------------- relations of found to expected


def _softmax(x, axis=-1):
    z = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return z / z.sum(axis=axis, keepdims=True)


def _log_softmax(x, axis=-1):
    z = x - np.max(x, axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# found = f(expected): what the learner's value is, as a function of the right one
_FUNCTIONS_OF_EXPECTED = [
    ("probabilities (a softmax over the last axis) where the raw scores are expected", _softmax),
    ("log-probabilities (a log-softmax over the last axis) where the raw scores are expected", _log_softmax),
    ("the expected values passed through a sigmoid", _sigmoid),
    ("the expected values passed through a tanh", np.tanh),
    ("the expected values with negatives cut to 0 (a ReLU)", lambda x: np.maximum(x, 0)),
    ("the exponential of the expected values", np.exp),
    ("the log of the expected values", np.log),
    ("the absolute values of the expected values", np.abs),
    ("the squares of the expected values", np.square),
    ("the square roots of the expected values", np.sqrt),
]
# expected = g(found): the learner's value is what comes before a step that is missing
_FUNCTIONS_OF_FOUND = [
    ("raw scores (logits) where probabilities are expected: their softmax is the expected value", _softmax),
    ("the values before a tanh: the expected value is their tanh, so a tanh is missing", np.tanh),
    ("the values before a sigmoid: the expected value is their sigmoid, so a sigmoid is missing", _sigmoid),
]
_KNOWN_FACTORS = [(1 / math.log(10), "1 / ln 10: a log in base 10 where the natural log is meant"),
                  (1 / math.log(2), "1 / ln 2: a log in base 2 where the natural log is meant"),
                  (math.log(10), "ln 10: a natural log where a log in base 10 is meant"),
                  (math.log(2), "ln 2: a natural log where a log in base 2 is meant")]


def scale_words(k: float, sizes: dict | None = None) -> tuple[str, str] | None:
    """(words, key) naming the factor k after a size (k = n, 1/n, n*m, 1/(n*m), with either sign), or None."""
    sign, size = ("", k) if k > 0 else ("negated and ", -k)
    named = []
    for name, n in (sizes or {}).items():
        if n and n != 1:
            named.append((float(n), name))
    pairs = [(a * b, f"{na} x {nb} ({number(a)} x {number(b)})") for (a, na), (b, nb) in
             itertools.combinations(named, 2)]
    for n, name in [(n, f"{name} ({number(n)})") for n, name in named] + pairs:
        if np.isclose(size, n, rtol=1e-3):
            return f"{sign}multiplied by {name}", f"{sign}times {name.split(' (')[0]}"
        if np.isclose(size, 1 / n, rtol=1e-3):
            return f"{sign}divided by {name}", f"{sign}divided by {name.split(' (')[0]}"
    for n, words in _KNOWN_FACTORS:
        if np.isclose(size, n, rtol=1e-3):
            return f"{sign}multiplied by {words}", f"{sign}times {words}"
    if sign and np.isclose(size, 1, rtol=1e-3):
        return "negated (the sign is flipped)", "negated"
    return None


def _fit_scale(f, e) -> float | None:
    denominator = float((e * e).sum())
    return None if denominator < 1e-300 else float((f * e).sum()) / denominator


def _slices(x, axis):
    return [np.take(x, i, axis=axis) for i in range(x.shape[axis])]


def _distinct(slices, rtol, atol) -> bool:
    """True when consecutive slices differ (a shift or a reversal would be visible)."""
    return not all(close(a, b, rtol, atol) for a, b in zip(slices, slices[1:]))


def _exact_relations(f, e, names, rtol, atol, constants) -> list[Finding]:
    """Relations that leave every value as it is: order, sign, axes, totals, zeros."""
    out = []

    def same(x):
        return explains(f, e, x, rtol, atol) and not close(e, x, rtol, atol)

    if np.abs(e).max(initial=0) > 0 and explains(f, e, -e, rtol, atol):
        out.append(Finding("relation", "the expected values negated (the sign is flipped)", "negated"))
    for a, b in itertools.combinations(range(e.ndim), 2):
        if e.shape[a] == e.shape[b] > 1 and same(np.swapaxes(e, a, b)):
            if (a, b) == (e.ndim - 2, e.ndim - 1) and e.ndim > 2:
                words = f"each ({_noun(names[a])}, {_noun(names[b])}) block is transposed"
            else:
                words = f"transposed: the axes {_noun(names[a])} and {_noun(names[b])} are swapped"
            out.append(Finding("relation", words, f"transposed {a} {b}"))
    for a in range(e.ndim):
        n, noun = e.shape[a], _noun(names[a])
        if n < 2:
            continue
        slices = _slices(e, a)
        if not _distinct(slices, rtol, atol):
            continue
        fs = _slices(f, a)
        if same(np.flip(e, a)):
            out.append(Finding("relation", f"the expected entries in reverse {noun} order", f"reversed {a}"))
        if n >= 3 and all(close(x, y, rtol, atol) for x, y in zip(fs[1:], slices[:-1])):
            front = " (with zeros in front)" if not np.any(fs[0]) else ""
            out.append(Finding("relation", f"shifted by one {noun}: {_at(names[a], 'n')} holds the expected "
                               f"{_at(names[a], 'n - 1')}{front}", f"shifted later {a}"))
        if n >= 3 and all(close(x, y, rtol, atol) for x, y in zip(fs[:-1], slices[1:])):
            end = " (with zeros at the end)" if not np.any(fs[-1]) else ""
            out.append(Finding("relation", f"shifted by one {noun}: {_at(names[a], 'n')} holds the expected "
                               f"{_at(names[a], 'n + 1')}{end}", f"shifted earlier {a}"))
        if same(np.cumsum(e, axis=a)):
            out.append(Finding("relation", f"running totals along {noun}: {_at(names[a], 'n')} holds the sum of the "
                               f"expected entries up to {_at(names[a], 'n')}", f"cumsum {a}"))
        if same(np.flip(np.cumsum(np.flip(e, a), axis=a), a)):
            out.append(Finding("relation", f"running totals along {noun}: {_at(names[a], 'n')} holds the sum of the "
                               f"expected entries from {_at(names[a], 'n')} on", f"reverse cumsum {a}"))
        if same(np.diff(e, axis=a, prepend=0)):
            out.append(Finding("relation", f"differences of consecutive {noun} entries where the entries themselves "
                               "are expected", f"diff {a}"))
        total = e.sum(axis=a, keepdims=True)
        if same(np.broadcast_to(total, e.shape)):
            out.append(Finding("relation", f"every {noun} holds the total over all {noun}s, not its own part",
                               f"total {a}"))
        elif same(np.broadcast_to(total / n, e.shape)):
            out.append(Finding("relation", f"every {noun} holds the mean over all {noun}s, not its own value",
                               f"mean {a}"))
        if np.size(slices[0]) < 2:  # single numbers coincide too easily to say where they came from
            continue
        matches = [[j for j in range(n) if close(fs[i], slices[j], rtol, atol)] for i in range(n)]
        right = [i for i in range(n) if i in matches[i]]
        zero = [i for i in range(n) if not np.any(fs[i]) and i not in right]
        if right and zero and len(right) + len(zero) == n:
            out.append(Finding("relation", f"only {noun} {_list(right)} are right; {noun} {_list(zero)} are all "
                               "zero", f"zero beyond {a}"))
        elif all(matches) and len(right) < n:
            source = [m[0] if i not in m else i for i, m in enumerate(matches)]
            i = next(i for i in range(n) if source[i] != i)
            if len(set(source)) == 1:
                words = f"every {noun} holds the values expected at {_at(names[a], source[0])}"
            else:
                words = (f"the {noun}s are mixed up: {_at(names[a], i)} holds the values expected at "
                         f"{_at(names[a], source[i])}")
            out.append(Finding("relation", words, f"permuted {a}"))
    return out


def _function_relations(f, e, rtol, atol) -> list[Finding]:
    """found is a known function of expected (softmax, log, tanh...), or expected a known function of found."""
    out = []
    with np.errstate(all="ignore"):
        for words, function in _FUNCTIONS_OF_EXPECTED:
            value = function(e)
            if explains(f, e, value, rtol, atol) and not close(e, value, rtol, atol):
                out.append(Finding("relation", words, words))
        for words, function in _FUNCTIONS_OF_FOUND:
            if np.all(np.isfinite(f)) and close(function(f), e, rtol, atol) and not close(f, e, rtol, atol):
                out.append(Finding("relation", words, words))
    return out


def _linear_relations(f, e, names, rtol, atol, sizes, constants) -> list[Finding]:
    """found = k * expected, expected + c, k * expected + c, or expected plus a vector constant along an axis."""
    out = []
    k = _fit_scale(f, e)
    if k is not None and not np.isclose(k, 1, rtol=rtol) and explains(f, e, k * e, rtol, atol):
        named = scale_words(k, sizes)
        if named:
            out.append(Finding("relation", f"the expected values {named[0]}", named[1], k))
        else:
            out.append(Finding("relation", f"the expected values times {number(k)}", "scaled", k))
    d = f - e
    c = float(d.mean()) if d.size else 0.0
    scale = max(1.0, float(np.abs(e).max(initial=0)))
    if abs(c) > atol * scale and explains(f, e, e + c, rtol, atol):
        name = next((n for n, v in (constants or {}).items() if np.isclose(c, v, rtol=1e-3, atol=1e-6)), None)
        minus = next((n for n, v in (constants or {}).items() if np.isclose(c, -v, rtol=1e-3, atol=1e-6)), None)
        words = f"the expected values plus the constant {number(c)} everywhere"
        if name:
            words += f", which is {name}: it is added"
        elif minus:
            words += f", which is minus {minus}: it is subtracted"
        out.append(Finding("relation", words, f"offset {name or minus or ''}", c))
    elif e.ndim >= 2 and not close(d, 0 * d, rtol, atol):
        along = [a for a in range(e.ndim) if e.shape[a] > 1 and explains(f, e, e + d.mean(axis=a, keepdims=True),
                                                                          rtol, atol)]
        if along:
            nouns = [_noun(names[a]) for a in along]
            out.append(Finding("relation", "the difference from the expected values is the same for every "
                               f"{' and every '.join(nouns)}: a part that does not depend on the "
                               f"{' or the '.join(nouns)} is added or left out", f"offset along {along}"))
    if not out and d.size > 2:
        A = np.stack([e.ravel(), np.ones(e.size)], axis=1)
        (k2, c2), *_ = np.linalg.lstsq(A, f.ravel(), rcond=None)
        if (not np.isclose(k2, 1, rtol=rtol) and abs(c2) > atol * scale and abs(k2) > 1e-6
                and explains(f, e, k2 * e + c2, rtol, atol)):
            out.append(Finding("relation", f"the expected values times {number(k2)} plus {number(c2)}", "affine", k2))
    return out


def _shape_relations(f, e, names, rtol, atol) -> list[Finding]:
    """Relations that change the shape: axes reordered, an axis reduced or not, one entry too many or too few."""
    out = []
    if f.ndim == e.ndim and sorted(f.shape) == sorted(e.shape) and f.shape != e.shape:
        for order in itertools.permutations(range(e.ndim)):
            if close(f, np.transpose(e, order), rtol, atol):
                out.append(Finding("relation", "the axes are in another order: found has them as (" + ", ".join(
                    _noun(names[a]) for a in order) + ")", f"axes {order}"))
                break
    if f.ndim == e.ndim - 1:
        for a in range(e.ndim):
            if np.delete(np.array(e.shape), a).tolist() != list(f.shape):
                continue
            noun = _noun(names[a])
            for words, value in ((f"summed over the {noun} axis, which must be kept", e.sum(axis=a)),
                                 (f"averaged over the {noun} axis, which must be kept", e.mean(axis=a)),
                                 (f"only the last {noun} is kept; every {noun} is expected", np.take(e, -1, axis=a)),
                                 (f"only the first {noun} is kept; every {noun} is expected", np.take(e, 0, axis=a))):
                if close(f, value, rtol, atol):
                    out.append(Finding("relation", words, f"reduced {a} {words[:12]}"))
                    break
    if f.ndim == e.ndim + 1:
        for a in range(f.ndim):
            if np.delete(np.array(f.shape), a).tolist() != list(e.shape):
                continue
            for how, value in (("summed", f.sum(axis=a)), ("averaged", f.mean(axis=a))):
                if close(value, e, rtol, atol):
                    out.append(Finding("relation", f"an extra axis (axis {a}, of length {f.shape[a]}) that is not "
                                       f"reduced: {how} over it, it gives the expected value", f"unreduced {a} {how}"))
                    break
    if f.ndim == e.ndim:
        for a in range(e.ndim):
            rest = [s for i, s in enumerate(f.shape) if i != a] == [s for i, s in enumerate(e.shape) if i != a]
            if not rest:
                continue
            noun = _noun(names[a])
            if f.shape[a] == e.shape[a] + 1:
                if close(np.take(f, range(1, f.shape[a]), axis=a), e, rtol, atol):
                    out.append(Finding("relation", f"one {noun} too many, in front: the rest is right",
                                       f"extra first {a}"))
                elif close(np.take(f, range(e.shape[a]), axis=a), e, rtol, atol):
                    out.append(Finding("relation", f"one {noun} too many, at the end: the rest is right",
                                       f"extra last {a}"))
            if f.shape[a] == e.shape[a] - 1 and f.shape[a] > 0:
                if close(f, np.take(e, range(1, e.shape[a]), axis=a), rtol, atol):
                    out.append(Finding("relation", f"the first {noun} is missing: the rest is right", f"no first {a}"))
                elif close(f, np.take(e, range(f.shape[a]), axis=a), rtol, atol):
                    out.append(Finding("relation", f"the last {noun} is missing: the rest is right", f"no last {a}"))
    return out


def relations(found, expected, *, axes=None, sizes=None, constants=None, rtol: float = RTOL,
              atol: float = ATOL) -> list[Finding]:
    """Every simple transformation that turns `expected` into `found`, most specific first.

    axes: names of expected's axes ("step", "row", or "distance d = {}" with a slot for the index);
    sizes: named sizes a factor may be (e.g. {"T": 9, "the batch size": 4});
    constants: named values an additive constant may be (e.g. {"the log prior ratio": 0.4}).
    """
    try:
        f, e = np.asarray(found, "float64"), np.asarray(expected, "float64")
    except (TypeError, ValueError):
        return []
    if not (np.all(np.isfinite(e)) and np.all(np.isfinite(f))) or not e.size:
        return []
    names = _axis_names(e.ndim, axes)
    if f.shape != e.shape:
        return _shape_relations(f, e, names, rtol, atol)
    if close(f, e, rtol, atol):
        return []
    return (_exact_relations(f, e, names, rtol, atol, constants) or _function_relations(f, e, rtol, atol)
            or _linear_relations(f, e, names, rtol, atol, sizes, constants))


# ---------------------------------------------------------------- the reference computation, traced

# One-argument families: (the right function, {confusion: function}); a confusion's words take {name}.
FAMILIES: dict[str, tuple[Callable, dict[str, Callable]]] = {
    "tanh": (np.tanh, {"{name} is missing": lambda x, axis: x,
                       "a sigmoid is used where {name} belongs": lambda x, axis: _sigmoid(x),
                       "a ReLU is used where {name} belongs": lambda x, axis: np.maximum(x, 0),
                       "{name} is applied twice": lambda x, axis: np.tanh(np.tanh(x))}),
    "sigmoid": (_sigmoid, {"{name} is missing": lambda x, axis: x,
                           "a tanh is used where {name} belongs": lambda x, axis: np.tanh(x),
                           "a ReLU is used where {name} belongs": lambda x, axis: np.maximum(x, 0),
                           "{name} is applied twice": lambda x, axis: _sigmoid(_sigmoid(x))}),
    "relu": (lambda x: np.maximum(x, 0), {"{name} is missing": lambda x, axis: x,
                                          "a tanh is used where {name} belongs": lambda x, axis: np.tanh(x),
                                          "a sigmoid is used where {name} belongs": lambda x, axis: _sigmoid(x)}),
    # the derivative of tanh written from its output y = tanh(z): 1 - y^2
    "tanh'": (lambda y: 1 - y ** 2, {
        "{name} is missing": lambda y, axis: np.ones_like(y),
        "{name} is written as 1 - h (the square is missing)": lambda y, axis: 1 - y,
        "{name} is written as (1 - h)^2 (the square on the wrong side)": lambda y, axis: (1 - y) ** 2,
        "{name} applies tanh to h again (tanh of an output that is already tanh'd)":
            lambda y, axis: 1 - np.tanh(y) ** 2,
        "{name} is the sigmoid's derivative h (1 - h), not tanh's": lambda y, axis: y * (1 - y),
        "{name} has its sign flipped (h^2 - 1)": lambda y, axis: y ** 2 - 1,
        "{name} is squared": lambda y, axis: (1 - y ** 2) ** 2,
        "{name} is written as h^2": lambda y, axis: y ** 2}),
    # the derivative of the sigmoid written from its output s: s (1 - s)
    "sigmoid'": (lambda s: s * (1 - s), {
        "{name} is missing": lambda s, axis: np.ones_like(s),
        "{name} is tanh's derivative 1 - s^2, not the sigmoid's": lambda s, axis: 1 - s ** 2,
        "{name} is written as 1 - s": lambda s, axis: 1 - s,
        "{name} is written as s alone": lambda s, axis: s}),
    "log": (np.log, {"a log in base 10 is used where {name}, the natural log, belongs": lambda x, axis: np.log10(x),
                     "a log in base 2 is used where {name}, the natural log, belongs": lambda x, axis: np.log2(x),
                     "log1p, log(1 + x), is used where {name}, log(x), belongs": lambda x, axis: np.log1p(x),
                     "{name} is missing": lambda x, axis: x,
                     "exp is used where {name} belongs": lambda x, axis: np.exp(x)}),
    "exp": (np.exp, {"{name} is missing": lambda x, axis: x,
                     "log is used where {name} belongs": lambda x, axis: np.log(x)}),
    # dividing by the sum, so that the values add up to 1 along `axis`
    "normalise": (lambda x, axis=-1: x / np.sum(x, axis=axis, keepdims=True), {
        "{name} is missing (the values are not divided by their sum)": lambda x, axis: x,
        "{name} divides by the L2 norm (the root of the sum of squares), not the L1 norm (the sum)":
            lambda x, axis: x / np.sqrt(np.sum(x ** 2, axis=axis, keepdims=True)),
        "{name} divides by the largest value, not the sum": lambda x, axis: x / np.max(x, axis=axis, keepdims=True),
        "{name} divides by the number of entries (a mean), not their sum":
            lambda x, axis: x / np.shape(x)[axis],
        "{name} is a softmax, not a division by the sum": lambda x, axis: _softmax(x, axis),
        "{name} runs over the other axis": lambda x, axis: x / np.sum(x, axis=0 if axis in (-1, np.ndim(x) - 1)
                                                                        else -1, keepdims=True)}),
    "softmax": (_softmax, {"{name} is missing": lambda x, axis: x,
                           "{name} runs over the wrong axis":
                               lambda x, axis: _softmax(x, 0 if axis in (-1, np.ndim(x) - 1) else -1),
                           "a log-softmax is used where {name} belongs": lambda x, axis: _log_softmax(x, axis),
                           "a sigmoid is used where {name} belongs": lambda x, axis: _sigmoid(x)}),
}

# Two-argument families: (the right function, {confusion: function of both}).
PAIR_FAMILIES: dict[str, tuple[Callable, dict[str, Callable]]] = {
    "matmul": (lambda a, b: a @ b, {
        "{name} is an elementwise product (`*`) where a matrix product is meant": lambda a, b: a * b,
        "{name} uses the transposed matrix": lambda a, b: np.swapaxes(a, -1, -2) @ b if np.ndim(a) >= 2
        else a @ np.swapaxes(b, -1, -2),
        "{name} multiplies in the other order": lambda a, b: b @ a}),
    # row vectors times a matrix, as batched code writes W x: x @ W (or x @ W^T)
    "vecmat": (lambda v, m: v @ m, {
        "{name} is an elementwise product (`*`) where a matrix product is meant": lambda v, m: v * m,
        "{name} uses the transposed matrix": lambda v, m: v @ np.swapaxes(m, -1, -2),
        "{name} multiplies in the other order": lambda v, m: m @ v}),
    "difference": (lambda a, b: a - b, {"{name} is a ratio where a difference is meant": lambda a, b: a / b,
                                        "{name} is a sum where a difference is meant": lambda a, b: a + b,
                                        "{name} is taken the other way round": lambda a, b: b - a}),
    "ratio": (lambda a, b: a / b, {"{name} is a difference where a ratio is meant": lambda a, b: a - b,
                                   "{name} is upside down": lambda a, b: b / a,
                                   "{name} is a product where a ratio is meant": lambda a, b: a * b}),
}


class Trace:
    """The parts of a reference computation, named where they are computed.

    A judge writes its reference as `reference(k)` and calls `k`'s methods at the places a learner
    can go wrong; each returns the right value, except in the re-runs of `explain`, where the part
    under test returns its altered value. The same name used twice (e.g. inside a loop over steps)
    is one part, altered everywhere it is used.
    """

    def __init__(self, alter: dict | None = None):
        self.alter = dict(alter or {})  # part -> the alteration's words, or ("=", value) for a scalar
        self.parts: dict[str, list[str]] = {}  # part -> the alterations tried, in order
        self.scalars: dict[str, tuple] = {}  # name -> (value, low, high)

    def _choose(self, part: str, right, options: dict):
        labels = self.parts.setdefault(part, [])
        labels += [label for label in options if label not in labels]
        label = self.alter.get(part)
        if label is not None and label in options:
            return options[label]()
        return right

    def sum(self, terms: dict, name: str | None = None):
        """The sum of named terms; each may be missing, counted twice or have its sign flipped."""
        of, total = (f" in {name}" if name else ""), None
        for term, value in terms.items():
            value = self._choose(term, value, {f"{term} is missing{of}": lambda v=value: 0 * np.asarray(v, float),
                                               f"{term} is counted twice{of}": lambda v=value: 2 * v,
                                               f"{term} has its sign flipped{of}": lambda v=value: -v})
            total = value if total is None else total + value
        return total

    def product(self, factors: dict, name: str | None = None):
        """The elementwise product of named factors; each may be missing, squared, inverted or negated."""
        of, total = (f" in {name}" if name else ""), None
        for factor, value in factors.items():
            value = self._choose(factor, value, {
                f"{factor} is missing{of}": lambda v=value: np.ones_like(np.asarray(v, float)),
                f"{factor} is applied twice{of}": lambda v=value: v * v,
                f"{factor} divides where it should multiply{of}": lambda v=value: 1 / v,
                f"{factor} has its sign flipped{of}": lambda v=value: -v})
            total = value if total is None else total * value
        return total

    def apply(self, name: str, family: str, x, axis: int = -1, also: dict | None = None):
        """A nonlinearity, derivative, log or normalisation of the family `family` (see FAMILIES), applied to x."""
        right, confusions = FAMILIES[family]
        value = right(x, axis) if family in ("normalise", "softmax") else right(x)
        options = {words.format(name=name): (lambda fn=fn: fn(x, axis)) for words, fn in confusions.items()}
        options.update({words.format(name=name): (lambda fn=fn: fn(x)) for words, fn in (also or {}).items()})
        return self._choose(name, value, options)

    def op(self, name: str, family: str | Callable, a, b, also: dict | None = None):
        """A two-argument operation: a family of PAIR_FAMILIES, or a function whose arguments may come swapped."""
        if callable(family):
            right, confusions = family, {"the two sides of {name} are in the other order": lambda a, b: family(b, a)}
        else:
            right, confusions = PAIR_FAMILIES[family]
        options = {words.format(name=name): (lambda fn=fn: fn(a, b)) for words, fn in confusions.items()}
        options.update({words.format(name=name): (lambda fn=fn: fn(a, b)) for words, fn in (also or {}).items()})
        return self._choose(name, right(a, b), options)

    def value(self, name: str, right, instead: dict):
        """A value that a learner may take from elsewhere: `instead` maps what is used instead to its value."""
        return self._choose(name, right, {f"{other} in place of {name}": (lambda v=v: v)
                                          for other, v in instead.items()})

    def reduce(self, name: str, how: str, x, axis):
        """A sum or mean over `axis`: the other one may be taken, or none."""
        right = np.sum(x, axis=axis) if how == "sum" else np.mean(x, axis=axis)
        other = "mean" if how == "sum" else "sum"
        return self._choose(name, right, {
            f"{name} is a {other}, not a {how}":
                lambda: np.sum(x, axis=axis) if other == "sum" else np.mean(x, axis=axis),
            f"{name} is not taken (nothing is reduced)": lambda: x})

    def split(self, name: str, x, parts: tuple, axis: int = -1):
        """x split into equal blocks named `parts`; the blocks may be taken in another order."""
        blocks = np.split(x, len(parts), axis=axis)
        options = {}
        if len(parts) <= 4:
            for order in itertools.permutations(range(len(parts))):
                if order != tuple(range(len(parts))):
                    words = f"the blocks of {name} are read in the order {', '.join(parts[i] for i in order)}"
                    options[words] = lambda order=order: [blocks[order.index(i)] for i in range(len(parts))]
        return self._choose(name, blocks, options)

    def scalar(self, name: str, value: float, low: float | None = None, high: float | None = None):
        """A number that `explain` fits to the answer (e.g. a smoothing constant), to report the value in effect."""
        self.scalars.setdefault(name, (float(value), low, high))
        alteration = self.alter.get(name)
        if isinstance(alteration, tuple) and alteration[0] == "=":
            return alteration[1]
        return value


def _pick(result, output):
    return result[output] if output is not None else result


def _run(reference, alter, output):
    try:
        with np.errstate(all="ignore"):
            return np.asarray(_pick(reference(Trace(alter)), output), "float64")
    except Exception:  # an alteration that does not compute (shapes that do not fit): not a candidate
        return None


def _fit_scalar(found, reference, name, value, low, high, output, rtol, atol):
    """The value of scalar `name` for which the reference equals found, or None."""
    def error(s):
        result = _run(reference, {name: ("=", s)}, output)
        if result is None or result.shape != found.shape or not np.all(np.isfinite(result)):
            return np.inf
        return float(np.abs(result - found).max())

    grid = value * np.geomspace(1e-3, 1e3, 121) if value > 0 else np.linspace(-10, 10, 121)
    grid = np.concatenate([grid, [0.0]])
    if low is not None:
        grid = grid[grid >= low]
    if high is not None:
        grid = grid[grid <= high]
    if not grid.size:
        return None
    grid = np.sort(grid)
    errors = [error(s) for s in grid]
    best = int(np.argmin(errors))
    if not np.isfinite(errors[best]):
        return None
    a, b = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(80):  # golden section on the bracket around the best grid point
        c, d = b - ratio * (b - a), a + ratio * (b - a)
        if error(c) < error(d):
            b = d
        else:
            a = c
    s = (a + b) / 2
    for rounded in (round(s), round(s * 2) / 2, round(s, 1), round(s, 2), round(s, 3)):
        if error(rounded) <= error(s) * 1.01 + 1e-12:
            s = float(rounded)
            break
    fitted = _run(reference, {name: ("=", s)}, output)
    expected = _run(reference, {}, output)
    if fitted is None or not explains(found, expected, fitted, rtol, atol) or np.isclose(s, value, rtol=1e-3):
        return None
    return s


class Alterations:
    """The reference re-run with each of its parts altered; the values are computed once and compared
    with any number of found values, stage by stage (see `explain`)."""

    def __init__(self, reference: Callable[[Trace], object], output=None, rtol: float = RTOL, atol: float = ATOL):
        self.reference, self.output, self.rtol, self.atol = reference, output, rtol, atol
        base = Trace()
        self.expected = np.asarray(_pick(reference(base), output), "float64")
        self.scalars, self._parts, self._values = base.scalars, base.parts, None

    @property
    def values(self) -> dict:
        """(part, words) -> the reference's value with that part altered, for the alterations that change it;
        computed on first use."""
        if self._values is None:
            self._values = {}
            for part, labels in self._parts.items():
                for label in labels:
                    value = _run(self.reference, {part: label}, self.output)
                    if (value is not None and np.all(np.isfinite(value))
                            and not close(value, self.expected, self.rtol, self.atol)):
                        self._values[(part, label)] = value
        return self._values

    def _explains(self, found, value):
        return explains(found, self.expected, value, self.rtol, self.atol)

    def singles(self, found) -> list[Finding]:
        return [Finding("altered", label) for (_, label), value in self.values.items() if self._explains(found, value)]

    def fitted(self, found) -> list[Finding]:
        findings = []
        for name, (value, low, high) in self.scalars.items():
            s = _fit_scalar(found, self.reference, name, value, low, high, self.output, self.rtol, self.atol)
            if s is not None:
                findings.append(Finding("scalar", f"the values are those of {name} = {number(s)}, not {number(value)}",
                                        f"scalar {name}", s))
        return findings

    def scaled(self, found, sizes) -> list[Finding]:
        findings = []
        for (_, label), value in self.values.items():
            k = _fit_scale(found, value) if value.shape == found.shape else None
            if k is not None and self._explains(found, k * value):
                named = scale_words(k, sizes)
                if named:
                    findings.append(Finding("altered", f"{label}, and the values are {named[0]}",
                                            f"{label}; {named[1]}", k))
        return findings

    def pairs(self, found, limit: int = 3) -> list[Finding]:
        findings = []
        for (p1, l1), (p2, l2) in itertools.combinations(list(self.values), 2):
            if p1 == p2:
                continue
            value = _run(self.reference, {p1: l1, p2: l2}, self.output)
            if value is not None and self._explains(found, value):
                findings.append(Finding("altered", f"{l1}, and {l2}"))
                if len(findings) >= limit:
                    break
        return findings


def explain(found, reference: Callable[[Trace], object], *, output=None, sizes=None, pairs: bool = True,
            rtol: float = RTOL, atol: float = ATOL) -> list[Finding]:
    """The alterations of the reference's parts that give `found`: single ones first, then a fitted scalar,
    then a single one with a named scale, then pairs. Empty when found is right or nothing explains it."""
    found = np.asarray(found, "float64")
    alterations = Alterations(reference, output, rtol, atol)
    if close(found, alterations.expected, rtol, atol):
        return []
    return (alterations.singles(found) or alterations.fitted(found) or alterations.scaled(found, sizes)
            or (alterations.pairs(found) if pairs else []))


# ---------------------------------------------------------------- rows of token ids


def _end_at(row, end) -> int | None:
    hits = np.flatnonzero(row == end)
    return int(hits[0]) if hits.size else None


def sequences(found, expected, *, end=0, axes=("row", "step")) -> list[Finding]:
    """What separates rows of ids from the expected rows: rows cut where another row ended, going on
    after their end, ending one step early or late, shifted by one step, or swapped with another row."""
    f, e = np.asarray(found), np.asarray(expected)
    if f.shape != e.shape or f.ndim != 2 or np.array_equal(f, e):
        return []
    row_name, step_name = axes
    rows = [r for r in range(len(e)) if not np.array_equal(f[r], e[r])]
    ends = {r: _end_at(e[r], end) for r in range(len(e))}
    cut = {}
    for r in rows:
        p = int(np.flatnonzero(f[r] != e[r])[0])
        if np.all(f[r, p:] == end) and (ends[r] is None or p < ends[r]):
            # the other row that wrote its end token right before step p, if one did
            cut[r] = next((s for s in range(len(e)) if s != r and ends[s] is not None and p in (ends[s], ends[s] + 1)),
                          None)
    if cut and len(cut) == len(rows) and None not in cut.values():
        r, s = next(iter(cut.items()))
        p = int(np.flatnonzero(f[r] != e[r])[0])
        first = min(x for x in ends.values() if x is not None)
        steps = {int(np.flatnonzero(f[x] != e[x])[0]) for x in cut}
        words = (f"{_at(row_name, r)} is all end tokens from {_at(step_name, p)} on, but its own translation goes on: "
                 f"{_at(row_name, s)} wrote its end token at {_at(step_name, ends[s])}. ")
        words += ("Every unfinished row stops where the first row ends: the loop ends the whole batch when one "
                  "row ends; each row must go on until it writes its own end token"
                  if len(steps) == 1 and all(ends[x] == first for x in cut.values()) else
                  "A row stops when another row ends; each row must go on until it writes its own end token")
        return [Finding("sequence", words, "cut where another row ended", r)]
    def pattern(r) -> Finding | None:
        fe, ee = _end_at(f[r], end), ends[r]
        p = int(np.flatnonzero(f[r] != e[r])[0])
        if ee is not None and p > ee and np.all(e[r, ee:] == end):
            return Finding("sequence", f"{_at(row_name, r)} goes on after its end token at {_at(step_name, ee)}: the "
                           "ids written after the end are kept, where only end tokens are expected",
                           "goes on after the end", r)
        if ee is not None and fe == ee + 1 and np.array_equal(f[r, :ee], e[r, :ee]) and np.all(f[r, fe:] == end):
            return Finding("sequence", f"{_at(row_name, r)} ends one step late: the id at {_at(step_name, ee)}, where "
                           "the end token is expected, is kept", "ends late", r)
        if ee is not None and fe == ee - 1 and np.array_equal(f[r, :fe], e[r, :fe]) and np.all(f[r, fe:] == end):
            return Finding("sequence", f"{_at(row_name, r)} ends one step early: its last id before the end token, "
                           f"at {_at(step_name, fe)}, is dropped", "ends early", r)
        if np.array_equal(f[r, 1:], e[r, :-1]):
            return Finding("sequence", f"{_at(row_name, r)} is shifted by one {_noun(step_name)}: each id is at the "
                           f"place of the next (an extra id, {f[r, 0]}, in front)", "shifted later", r)
        if np.array_equal(f[r, :-1], e[r, 1:]):
            return Finding("sequence", f"{_at(row_name, r)} is shifted by one {_noun(step_name)}: the first expected "
                           "id is missing", "shifted earlier", r)
        others = [s for s in range(len(e)) if s != r and np.array_equal(f[r], e[s])]
        if others:
            return Finding("sequence", f"{_at(row_name, r)} holds the ids expected in {_at(row_name, others[0])}",
                           "rows mixed up", r)
        if r in cut:
            return Finding("sequence", f"{_at(row_name, r)} is all end tokens from {_at(step_name, p)} on, where the "
                           "expected row still has ids", "cut early", r)
        return None

    # a pattern is reported only when every row that differs shows one: a partial account would mislead
    patterns = [pattern(r) for r in rows]
    return [patterns[0]] if all(patterns) else []


def sequence_where(found, expected, *, axes=("row", "step")) -> str:
    """Which rows differ and where the first of them first differs."""
    f, e = np.asarray(found), np.asarray(expected)
    rows = [r for r in range(len(e)) if not np.array_equal(f[r], e[r])]
    if not rows:
        return "no row differs"
    r = rows[0]
    p = int(np.flatnonzero(f[r] != e[r])[0])
    others = f"{_noun(axes[0])}s {_list(rows)} differ" + (", the others match" if len(rows) < len(e) else "")
    return f"{others}; {_at(axes[0], r)} first differs at {_at(axes[1], p)}: {f[r, p]} where {e[r, p]} is expected"


# ---------------------------------------------------------------- all of it


@dataclass
class Diagnosis:
    """What is known about a wrong value: the explanations found (best first) and where it differs."""

    findings: list[Finding] = field(default_factory=list)
    location: str = ""

    @property
    def named(self) -> Finding | None:
        return self.findings[0] if self.findings else None

    @property
    def text(self) -> str:
        """For a CheckFailed's `found`: the best explanation (and a second one that gives the same values), then
        where the values differ."""
        parts = [self.findings[0].text] if self.findings else []
        if len(self.findings) > 1 and self.findings[1].kind == "altered" == self.findings[0].kind:
            parts[0] += f" (or, the same values: {self.findings[1].text})"
        if self.location:
            parts.append(self.location)
        return "; ".join(parts)

    def __bool__(self):
        return bool(self.findings)


def diagnose(found, expected=None, *, reference: Callable[[Trace], object] | None = None, output=None, axes=None,
             sizes=None, constants=None, pairs: bool = True, rtol: float = RTOL, atol: float = ATOL) -> Diagnosis:
    """What found is, in this order: a relation that keeps the values (order, sign, axes, a function of them);
    a single alteration of the traced reference; a fitted scalar; a scale or offset; an alteration with a named
    scale; a pair of alterations. With where the values differ. `expected` defaults to the reference's value."""
    alterations = Alterations(reference, output, rtol, atol) if reference is not None else None
    if expected is None:
        expected = alterations.expected
    f, e = np.asarray(found, "float64"), np.asarray(expected, "float64")
    if f.shape == e.shape and close(f, e, rtol, atol):
        return Diagnosis([], "")
    location = where(f, e, axes, rtol, atol) if f.shape == e.shape else ""
    names = _axis_names(e.ndim, axes)
    finite = bool(np.all(np.isfinite(f)) and np.all(np.isfinite(e)))
    if f.shape == e.shape:
        stages = [lambda: _exact_relations(f, e, names, rtol, atol, constants) if finite else []]
        if alterations is not None:
            stages.append(lambda: alterations.singles(f))
    else:  # an altered part that explains the shape says more than the shape alone
        stages = [lambda: alterations.singles(f)] if alterations is not None else []
        stages.append(lambda: _shape_relations(f, e, names, rtol, atol) if finite else [])
    if f.shape == e.shape:
        stages.append(lambda: _function_relations(f, e, rtol, atol) if finite else [])
    if alterations is not None:
        stages.append(lambda: alterations.fitted(f))
    if f.shape == e.shape:
        stages.append(lambda: _linear_relations(f, e, names, rtol, atol, sizes, constants) if finite else [])
    if alterations is not None:
        stages.append(lambda: alterations.scaled(f, sizes))
        if pairs:
            stages.append(lambda: alterations.pairs(f))
    for stage in stages:
        findings = stage()
        if findings:
            return Diagnosis(findings, location)
    return Diagnosis([], location)


def diagnose_all(cases: list[dict]) -> Diagnosis:
    """One diagnosis for several cases of one answer (each a dict of `diagnose`'s arguments): the findings that
    every case which differs shares, in the first such case's order, with its location. Small cases can match
    an explanation by chance; the same explanation in every case cannot."""
    diagnoses = [diagnose(**case) for case in cases]
    differing = [d for d in diagnoses if d.location]
    if not differing:
        return Diagnosis()
    shared = [f for f in differing[0].findings if all(any(g.key == f.key for g in d.findings) for d in differing[1:])]
    return Diagnosis(shared, differing[0].location)


def agree(diagnoses: list[Diagnosis]) -> Finding | None:
    """The first finding of the first diagnosis whose key every diagnosis with findings shares, else the first one."""
    found = [d for d in diagnoses if d.findings]
    if not found:
        return None
    for finding in found[0].findings:
        if all(any(other.key == finding.key for other in d.findings) for d in found[1:]):
            return finding
    return found[0].findings[0]
