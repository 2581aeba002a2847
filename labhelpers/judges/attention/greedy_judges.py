"""Lab 05's judge of 5.3 greedy_decode: a small translator with drawn weights (the learner's is built from
Keras layers, probes.DrawnTranslator; the judge's computes the same in NumPy, NumpyTranslator) decodes the
drawn sources here too, once the right way and, when the learner's ids differ, once per classic mistake,
to name the one that gives the same ids."""

from __future__ import annotations

import numpy as np

from labhelpers.judges import diagnosis
from labhelpers.judges.attention.judges import cases_of, numeric_array
from labhelpers.judges.attention.numpy_translator import NumpyTranslator
from labhelpers.grading import CheckFailed, shown

# (batch, source steps, max_length, attends, start_id); vocabularies and sizes of the drawn translator
GREEDY_SIZES = ((6, 7, 10, False, 2), (4, 5, 7, True, 5), (1, 6, 9, False, 1))
SOURCE_IDS, TARGET_IDS, DIM, UNITS = 11, 9, 4, 6
SCALES = {"embedding": 1.0, "kernel": 1.5, "recurrent": 1.5, "bias": 0.3, "readout": 4.0, "output bias": 0.2}
END_SHIFTS = (0.0, 1.0, -1.0, 2.0, 0.5, 1.5, -2.0, 3.0)  # tried on the logit of 0 (the end token), in turn
# Every argmax of the judge's decodings leads the runner-up by more than MARGIN, so that the learner's
# Keras model (float32) and the judge's NumPy one (float64) choose alike: their logits differ by at most
# 3.8e-5 (the drawn cases of seeds 0-99, four decodings each and one 7-10-step decoder call; logits of
# up to about 17), 26 times less than MARGIN. tests/test_greedy_translator.py holds both to MARGIN / 10.
MARGIN = 1e-3
GREEDY_HINT = ("encode once; start the decoder from the encoder's final [h, c] with start_id; at each step "
               "take the argmax over the last axis (the vocabulary), feed it back as the next input and carry "
               "the decoder's new state; after the first 0 (padding) a row holds only padding.")


def draw_greedy(rng):
    """Padded sources and the weights of a small encoder-decoder, three sizes, one with attention.

    In the first case one row writes its end token (0) before another, and a row would write more after
    its end token: the end token's bias is shifted by END_SHIFTS in turn until it does, and the decoder
    is drawn again if no shift does (about one draw in 5), so that every seed tells padding after the
    end, and a loop that stops when the first row ends, from the right decoding. In the attending case
    the last row is padded after two ids and the decoder drawn until the source mask changes a choice.
    In every case the decoder is drawn again until each argmax of the right decoding and of the classic
    mistakes leads by MARGIN (_clear)."""
    normal = lambda scale, *shape: rng.normal(0, scale, shape).astype("float32")  # noqa: E731
    lstm = lambda inputs: [normal(SCALES["kernel"], inputs, 4 * UNITS),  # noqa: E731
                           normal(SCALES["recurrent"], UNITS, 4 * UNITS), normal(SCALES["bias"], 4 * UNITS)]

    def decoder(readout):
        return [normal(SCALES["embedding"], TARGET_IDS, DIM), *lstm(DIM),
                normal(SCALES["readout"], readout, TARGET_IDS), normal(SCALES["output bias"], TARGET_IDS)]

    cases = []
    for batch, steps, max_length, attends, start in GREEDY_SIZES:
        lengths = rng.integers(2, steps + 1, size=batch)
        lengths[0] = steps
        sources = np.where(np.arange(steps) < lengths[:, None], rng.integers(1, SOURCE_IDS, (batch, steps)), 0)
        readout = (2 if attends else 1) * UNITS
        cases.append({"sources": sources.astype("int32"), "start_id": start, "max_length": max_length,
                      "attends": attends, "units": UNITS,
                      "encoder": [normal(SCALES["embedding"], SOURCE_IDS, DIM), *lstm(DIM)],
                      "decoder": decoder(readout)})
    attending = next(case for case in cases if case["attends"])
    attending["sources"][-1, 2:] = 0  # a row of padding, which only the source mask keeps out of attention
    for number, case in enumerate(cases):
        for _ in range(200):
            if (not case["attends"] or _mask_matters(case)) and (_let_rows_end(case) if number == 0 else _clear(case)):
                break
            case["decoder"] = decoder((2 if case["attends"] else 1) * UNITS)
        else:  # each condition fails about one draw in 5 or fewer: 200 failures in a row never happen
            raise RuntimeError(f"no decoder drawn in 200 tries suits case {number}")
    return {"cases": cases}


def _clear(case) -> bool:
    """Whether at every step of the right decoding and of each classic mistake (_variants), for every row
    (after its end token too), the argmax's logit exceeds the runner-up's by more than MARGIN: then the
    learner's Keras model writes the ids the judge's NumPy model writes, right or wrong."""
    model, gaps = NumpyTranslator(case), []
    for mistake in [{}, *_variants().values()]:
        decode(model, case["sources"], case["start_id"], case["max_length"], gaps=gaps, **mistake)
    return min(gaps) > MARGIN


def _mask_matters(case) -> bool:
    """Whether decoding without the source mask writes other ids: then every seed tells a loop that
    leaves the mask out from the right decoding."""
    model, args = NumpyTranslator(case), (case["sources"], case["start_id"], case["max_length"])
    return bool((decode(model, *args) != decode(model, *args, masked=False)).any())


def _let_rows_end(case) -> bool:
    """Shift the bias of the end token until a row would write an id (not 0) right after its end token (which
    padding must hide), and another row writes an id after the step where the first row to end wrote its 0
    (which a loop stopping the whole batch there loses); False (the bias as it was) if no shift of END_SHIFTS
    does."""
    bias = case["decoder"][-1].copy()
    for shift in END_SHIFTS:
        case["decoder"][-1] = bias + np.float32(shift) * (np.arange(TARGET_IDS) == 0)
        written = decode(NumpyTranslator(case), case["sources"], case["start_id"], case["max_length"], pad=False)
        ended = np.cumsum(written == 0, axis=1) > 0
        first = np.where(ended.any(axis=1), ended.argmax(axis=1), written.shape[1])  # where each row ends
        after = np.minimum(first + 1, written.shape[1] - 1)  # the step right after each row's end token
        goes_on = (first + 1 < written.shape[1]) & (written[np.arange(len(written)), after] != 0)
        if goes_on.any() and first.max() > first.min() + 1 and _clear(case):
            return True
    case["decoder"][-1] = bias
    return False


def decode(model, sources, start_id, max_length, first_state="handed", feed="argmax", carry=True,
           pad=True, keep_start=False, masked=True, first_id=None, gaps=None):
    """Greedy decoding with the drawn model, or one of the classic mistakes (the keyword arguments):
    `carry` True, False (each step starts from the first state) or "h" (c stays the first state's).
    With a list `gaps`, each step's smallest lead of the argmax's logit over the runner-up's is appended."""
    encoder_states, (h, c), source_mask = model.encoder(sources)
    source_mask = source_mask if masked else None
    zeros = np.zeros_like(h)
    initial = {"handed": [h, c], "zeros": [zeros, zeros], "h only": [h, zeros], "swapped": [c, h]}[first_state]
    first = start_id if first_id is None else first_id
    state, next_ids, written = initial, np.full((len(sources), 1), first, "int32"), []
    for _ in range(max_length):
        logits, new_state, _ = model.decoder(next_ids if feed == "argmax" else np.full_like(next_ids, start_id),
                                             state if carry else initial, encoder_states, source_mask)
        state = {True: new_state, False: initial, "h": [new_state[0], initial[1]]}[carry]
        logits = np.asarray(logits)
        next_ids = np.argmax(logits, axis=-1).astype("int32")
        if gaps is not None:
            top = np.partition(logits, -2, axis=-1)
            gaps.append(float((top[..., -1] - top[..., -2]).min()))
        written.append(next_ids)
    ids = np.concatenate(written, axis=1)
    if pad:
        ids[np.cumsum(ids == 0, axis=1) > 0] = 0
    if keep_start:
        ids = np.concatenate([np.full((len(ids), 1), start_id), ids[:, :-1]], axis=1)
    return ids


MISTAKES = {
    "the decoder starts from zeros: the encoder's final state [h, c] is not handed to it, so it translates "
    "without having read the source": {"first_state": "zeros"},
    "only h is handed over: the decoder's cell state c starts from zeros instead of the encoder's final c":
        {"first_state": "h only"},
    "h and c are swapped when handed to the decoder: Keras' LSTM takes initial_state=[h, c]":
        {"first_state": "swapped"},
    "the start token is fed at every step: each step's input must be the id written at the step before":
        {"feed": "start"},
    "the decoder state is not carried from step to step: each step starts again from the encoder's final "
    "state, so the decoder forgets what it has written": {"carry": False},
    "the ids after the end token are kept: once a row writes 0 (padding, the end token) the translation is "
    "over, and the rest of the row must be padding": {"pad": False},
    "off by one: the start token is included in the output (and the last id is dropped); the output holds "
    "only the ids the decoder wrote": {"keep_start": True},
    "only h is carried from step to step: the decoder's cell state c is not carried, it stays the encoder's "
    "final c": {"carry": "h"},
    "the source mask is not passed to the decoder (mask=None): its attention also reads the padded source "
    "positions": {"masked": False},
}
FIRST_INPUT = ("the first input is id {} in place of start_id: the decoder's first input must be the start token "
               "passed in, not a fixed id")


def _variants() -> dict:
    """The classic mistakes, and a first input fixed to each id (a start id written into the loop)."""
    return {**MISTAKES, **{FIRST_INPUT.format(k): {"first_id": k} for k in range(TARGET_IDS)}}


def _shape_problem(found, batch, max_length, vocabulary) -> str:
    if found.ndim == 2 and found.shape == (max_length, batch):
        return ("the axes are swapped: the ids are stacked step by step, (max_length, batch); concatenate the "
                "steps along axis 1, so that each row is one translation")
    if found.ndim == 2 and found.shape == (batch, max_length - 1):
        return ("off by one: one id too few per row (the last id is dropped, or the loop runs max_length - 1 "
                "steps)")
    if found.ndim == 2 and found.shape == (batch, max_length + 1):
        return "off by one: one id too many per row (is the start token included in the output?)"
    if found.ndim != 2 or vocabulary in found.shape or found.shape[1] == vocabulary * max_length:
        return ("the argmax is over the wrong axis (or over no axis): the logits are (batch, 1, vocabulary), "
                "and the next id is the argmax over the last axis, the vocabulary")
    if found.shape[0] == batch and found.shape[1] < max_length:
        return "the rows are shorter than max_length: pad each translation with 0 up to max_length ids"
    return "the ids have the wrong shape"


def _stopped_early(found, expected) -> str | None:
    """For rows shorter than expected that are the expected rows cut at one step: when that step is where a row
    wrote its end token, say so (the loop stopped when one row ended, and the rows were not padded)."""
    if not (found.ndim == 2 and found.shape[0] == expected.shape[0] and 0 < found.shape[1] < expected.shape[1] - 1
            and np.array_equal(found, expected[:, :found.shape[1]])):  # one id short: _shape_problem's off by one
        return None
    width = found.shape[1]
    ended = [r for r in range(len(expected)) if expected[r, width - 1] == 0 and (width < 2 or expected[r, width - 2])]
    unfinished = [r for r in range(len(expected)) if expected[r, width:].any()]
    steps = f"{width} step{'s' if width > 1 else ''}"
    if ended and unfinished:
        return (f"the ids stop after {steps}, where row {ended[0]} wrote its end token (0), but row {unfinished[0]} "
                "has more to write: the loop ends the whole batch when one row ends; each row goes on until its own "
                "end token, and the rows are padded with 0 up to max_length ids")
    return f"the ids are right but stop after {steps}: every row must be max_length ids long, padded with 0 after its end token"


def _ids(value, expected_shape, vocabulary, where, expected=None) -> np.ndarray:
    array = numeric_array(value)
    if array is None:
        raise CheckFailed(f"greedy_decode did not return an array of ids ({where})",
                          expected=f"an array of integer ids of shape {expected_shape}", found=shown(value),
                          hint="return the ids as one array (np.concatenate the steps along axis 1).")
    stopped = _stopped_early(array, expected) if expected is not None and array.shape != expected_shape else None
    if stopped:
        raise CheckFailed(f"{stopped} ({where})", expected=f"{expected_shape}: (batch, max_length)",
                          found=str(array.shape), hint=GREEDY_HINT)
    if array.shape != expected_shape:
        raise CheckFailed(f"{_shape_problem(array, *expected_shape, vocabulary)} ({where})",
                          expected=f"{expected_shape}: (batch, max_length)", found=str(array.shape), hint=GREEDY_HINT)
    if array.dtype.kind == "f" and not np.array_equal(array, np.round(array)):
        raise CheckFailed(f"the ids are not whole numbers ({where})", expected="integer ids",
                          found=f"dtype {array.dtype}, values such as {array.flat[0]:.3g}",
                          hint="the ids are the argmax of the logits, not probabilities or logits.")
    return array.astype("int64")


def _unfed_step(model, case, found):
    """(row, step, the most probable id) of the first id that is not the argmax given the ids before it."""
    sources, start_id = case["sources"], case["start_id"]
    encoder_states, state, source_mask = model.encoder(sources)
    previous = np.concatenate([np.full((len(found), 1), start_id), found[:, :-1]], axis=1).astype("int32")
    best = np.argmax(np.asarray(model.decoder(previous, state, encoder_states, source_mask)[0]), axis=-1)
    written = np.cumsum(found == 0, axis=1) - (found == 0) == 0  # up to and with the first 0
    wrong = np.argwhere(written & (found != best))
    return None if not len(wrong) else (*wrong[0], best[tuple(wrong[0])])


def _mistake(runs, number) -> str | None:
    """The first classic mistake that gives the learner's ids in run `number`, and in the others too."""
    variants = _variants()

    def same(mistake, run):
        model, case, _, found = run
        return np.array_equal(found, decode(model, case["sources"], case["start_id"], case["max_length"],
                                            **variants[mistake]))

    candidates = [mistake for mistake in variants if same(mistake, runs[number])]
    for other, run in enumerate(runs):
        if len(candidates) > 1 and other != number:
            candidates = [mistake for mistake in candidates if same(mistake, run)] or candidates[:1]
    return candidates[0] if candidates else None


def _where(case) -> str:
    return (f"sources {case['sources'].shape}, start_id={case['start_id']}, max_length={case['max_length']}"
            f"{', a decoder with attention' if case['attends'] else ''}")


def greedy(inputs, data):
    runs = []  # (model, case, expected ids, found ids)
    for number, (case, result) in enumerate(cases_of(inputs, data)):
        model = NumpyTranslator(case)
        expected = decode(model, case["sources"], case["start_id"], case["max_length"])
        found = _ids(result.get("returned"), expected.shape, TARGET_IDS, _where(case), expected)
        if number == 0 and not np.array_equal(_ids(result.get("again"), expected.shape, TARGET_IDS, _where(case)), found):
            raise CheckFailed(f"two calls on the same sources gave different ids ({_where(case)})",
                              expected="the same ids each time: greedy decoding takes the most probable id",
                              found="different ids: the ids are sampled (a categorical draw?) instead of "
                              "taken by argmax", hint=GREEDY_HINT)
        runs.append((model, case, expected, found))
    for number, (model, case, expected, found) in enumerate(runs):
        if np.array_equal(found, expected):
            continue
        where = _where(case)
        row = int(np.argwhere(found != expected)[0][0])
        shown_rows = {"expected": f"row {row} = {expected[row].tolist()}", "found": f"row {row} = {found[row].tolist()}"}
        mistake = _mistake(runs, number)
        if mistake:
            raise CheckFailed(f"{mistake} ({where})", **shown_rows, hint=GREEDY_HINT)
        pattern = diagnosis.sequences(found, expected, end=0)
        if pattern:
            row = int(pattern[0].value)
            raise CheckFailed(f"{pattern[0].text} ({where})", expected=f"row {row} = {expected[row].tolist()}",
                              found=f"row {row} = {found[row].tolist()}; {diagnosis.sequence_where(found, expected)}",
                              hint=GREEDY_HINT)
        unfed = _unfed_step(model, case, found)
        if unfed is not None:
            row, step, best = unfed
            raise CheckFailed(
                f"your ids are not the model's own greedy choices ({where}): at row {row}, step {step}, given the "
                f"encoder's final state and the ids you wrote before it, the most probable id is {best}, but you "
                f"wrote {found[row, step]}. Each step's input must be the id written at the step before: the "
                "targets (teacher forcing) are for training only, and sampling is not greedy",
                expected=f"row {row} = {expected[row].tolist()}", found=f"row {row} = {found[row].tolist()}",
                hint=GREEDY_HINT)
        raise CheckFailed(f"the ids differ from greedy decoding after the end token ({where})",
                          expected=shown_rows["expected"],
                          found=f"{shown_rows['found']}; {diagnosis.sequence_where(found, expected)}", hint=GREEDY_HINT)
    sizes = ", ".join(f"{len(case['sources'])}x{case['max_length']}" for case in inputs["cases"])
    return (f"the ids equal greedy decoding by a drawn LSTM encoder-decoder (its final [h, c] handed to the "
            f"decoder, each argmax fed back, the state carried, padding after the end token), for batches of "
            f"{sizes} ids, one decoder with attention; the same ids on a second call")
