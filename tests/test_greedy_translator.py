"""5.3's judge decodes with NumpyTranslator, the learner's greedy_decode with the Keras DrawnTranslator:
both compute the same logits (to float32 rounding), and draw_greedy keeps every argmax clear of it."""

import numpy as np
import pytest
from keras import ops

from labhelpers.judges.attention import greedy_judges
from labhelpers.judges.attention.numpy_translator import NumpyTranslator
from labhelpers.probes.attention import DrawnTranslator

SEEDS = (0, 1, 2)


def drawn(seed):
    return greedy_judges.draw_greedy(np.random.default_rng(seed))["cases"]


def numpy(value):
    """A NumPy array of a backend's tensor (a PyTorch one may require grad), a list of them, or None."""
    if value is None or isinstance(value, np.ndarray):
        return value
    if isinstance(value, list):
        return [numpy(v) for v in value]
    return ops.convert_to_numpy(value)


class Recorded:
    """A translator that keeps the logits of each decoder call, and hands back NumPy whatever the backend."""

    def __init__(self, model):
        self.model, self.logits = model, []

    def encoder(self, sources):
        return tuple(numpy(v) for v in self.model.encoder(sources))

    def decoder(self, *args):
        logits, state, weights = (numpy(v) for v in self.model.decoder(*args))
        self.logits.append(np.asarray(logits, "float64"))
        return logits, state, weights


def decoded(model, case, **mistake):
    recorded = Recorded(model)
    ids = greedy_judges.decode(recorded, case["sources"], case["start_id"], case["max_length"], **mistake)
    return ids, np.stack(recorded.logits)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_numpy_translator_computes_what_the_keras_layers_compute(seed):
    for case in drawn(seed):
        keras_model, numpy_model = DrawnTranslator(case), NumpyTranslator(case)
        keras_encoded, numpy_encoded = Recorded(keras_model).encoder(case["sources"]), numpy_model.encoder(case["sources"])
        np.testing.assert_allclose(numpy_encoded[0], keras_encoded[0], atol=1e-5)  # masked steps too
        for mine, theirs in zip(numpy_encoded[1], keras_encoded[1]):
            np.testing.assert_allclose(mine, theirs, atol=1e-5)
        assert np.array_equal(numpy_encoded[2], keras_encoded[2])
        previous = np.random.default_rng(seed).integers(0, 9, (len(case["sources"]), 3)).astype("int32")
        keras_step = Recorded(keras_model).decoder(previous, *keras_encoded[1:2], keras_encoded[0], keras_encoded[2])
        numpy_step = numpy_model.decoder(previous, *numpy_encoded[1:2], numpy_encoded[0], numpy_encoded[2])
        np.testing.assert_allclose(numpy_step[0], keras_step[0], atol=1e-4)  # three steps at once
        if case["attends"]:
            np.testing.assert_allclose(numpy_step[2], keras_step[2], atol=1e-5)
        for mistake in ({}, {"masked": False}, {"first_state": "zeros"}, {"carry": False}):
            keras_ids, keras_logits = decoded(keras_model, case, **mistake)
            numpy_ids, numpy_logits = decoded(numpy_model, case, **mistake)
            assert np.array_equal(keras_ids, numpy_ids), mistake
            assert np.abs(keras_logits - numpy_logits).max() < greedy_judges.MARGIN / 10, mistake


@pytest.mark.parametrize("seed", range(8))
def test_every_argmax_of_the_judges_decodings_leads_by_the_margin(seed):
    for case in drawn(seed):
        assert greedy_judges._clear(case)
        for mistake in [{}, *greedy_judges._variants().values()]:
            _, logits = decoded(NumpyTranslator(case), case, **mistake)
            top = np.sort(logits, axis=-1)
            assert (top[..., -1] - top[..., -2]).min() > greedy_judges.MARGIN, mistake


def test_the_draw_is_the_same_for_the_same_seed_and_keeps_its_guarantees():
    first, again = drawn(5), drawn(5)
    for case, same in zip(first, again):
        weights, again_weights = case["encoder"] + case["decoder"], same["encoder"] + same["decoder"]
        assert all(np.array_equal(a, b) for a, b in zip(weights, again_weights))
        assert np.array_equal(case["sources"], same["sources"])
    attending = next(case for case in first if case["attends"])
    assert greedy_judges._mask_matters(attending)
    written = greedy_judges.decode(NumpyTranslator(first[0]), first[0]["sources"], first[0]["start_id"],
                                   first[0]["max_length"], pad=False)
    ends = [list(row).index(0) if 0 in row else len(row) for row in written]
    assert max(ends) > min(ends) + 1
