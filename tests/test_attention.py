"""Lab 05: the date task, the pictures, and every check against right and wrong answers."""

import datetime
import os
import re

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib

matplotlib.use("Agg")

import keras
import numpy as np
import pytest
from keras import layers

from labhelpers import attention
from labhelpers.grading import CheckFailed, NotAttempted, find_exercise, pack
from labhelpers.judges.attention import judges
from mutations import attention as table

BACKEND = keras.backend.backend()


# ----------------------------------------------------------------------------- the date task

def test_pairs_are_reproducible_distinct_and_correct():
    pairs = attention.make_date_pairs(3000, seed=3)
    assert pairs == attention.make_date_pairs(3000, seed=3)
    assert pairs != attention.make_date_pairs(3000, seed=4)
    assert len({source for source, _ in pairs}) == 3000
    counts = set()
    for source, iso in pairs:
        dates = [datetime.date.fromisoformat(text) for text in iso.split(",")]
        assert all(attention.FIRST_DATE <= date <= attention.LAST_DATE for date in dates)
        assert len(source) <= attention.MAX_SOURCE_LENGTH and len(iso) <= attention.TARGET_LENGTH
        counts.add(len(dates))
    assert counts == set(range(1, attention.MAX_DATES + 1))


def test_write_dates_joins_each_date():
    dates = [datetime.date(2016, 1, 5), datetime.date(1987, 9, 25)]
    text = attention.write_dates(dates, np.random.default_rng(0))
    assert any(separator in text for separator in attention.SEPARATORS)


def test_every_format_writes_the_date_it_is_given():
    date = datetime.date(2016, 1, 5)  # a Tuesday
    written = {name: fmt(date, "en") for name, fmt in attention.DATE_FORMATS.items()}
    assert written["d/m/yy"] == "5/1/16"
    assert written["dd.mm.yyyy"] == "05.01.2016"
    assert written["weekday, the nth of month yyyy"] == "tuesday, the fifth of january 2016"
    assert written["month dth, yyyy"] == "january 5th, 2016"
    assert attention.DATE_FORMATS["d month yyyy"](date, "fr") == "5 janvier 2016"


def test_ordinals_and_abbreviations_are_unambiguous():
    assert attention.ORDINAL_WORDS[0] == "first" and attention.ORDINAL_WORDS[30] == "thirty-first"
    assert len(attention.ORDINAL_WORDS) == 31
    assert [attention._suffix(d) for d in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31)] == \
        ["st", "nd", "rd", "th", "th", "th", "th", "st", "nd", "rd", "st"]
    month_of = {}
    for names in list(attention.MONTHS.values()) + list(attention.MONTH_ABBREVIATIONS.values()):
        for month, name in enumerate(names.split()):
            assert month_of.setdefault(name, month) == month, f"{name} names two months"


def test_lengths_are_spread_and_characters_known():
    sources = [source for source, _ in attention.make_date_pairs(2000)]
    lengths = np.array([len(s) for s in sources])
    assert lengths.min() <= 8 and lengths.max() >= 40
    assert (lengths >= attention.LENGTH_EDGES[-2]).mean() > 0.05
    assert set("".join(sources)) <= set(attention.SOURCE_CHARS)


def test_vocabulary_round_trip_and_padding():
    vocab = attention.SOURCE_VOCAB
    ids = vocab.encode(["5 jan 2016", "5/1/16"], length=12)
    assert ids.shape == (2, 12) and ids.dtype == np.int32
    assert (ids[1, 6:] == 0).all() and (ids[0, :10] > 0).all()
    assert vocab.decode(ids[0]) == "5 jan 2016" and vocab.decode(ids[1]) == "5/1/16"
    assert attention.TARGET_VOCAB.tokens[attention.START_ID] == attention.START


def test_load_dates_splits_without_overlap():
    data = attention.load_dates(500, 100, seed=1)
    assert len(data.train_sources) == 500 and len(data.test_sources) == 100
    assert not set(data.train_sources) & set(data.test_sources)
    x, y = data.arrays("test")
    assert x.shape == (100, data.source_length) and y.shape == (100, attention.TARGET_LENGTH)
    assert attention.TARGET_VOCAB.decode(y[0]) == data.test_targets[0]


def test_accuracy_by_length_buckets():
    sources = ["a" * 5, "a" * 6, "a" * 40]
    labels, accuracies, counts = attention.accuracy_by_length(sources, [True, False, True])
    assert labels == ["0-11", "36-43"] and accuracies == [0.5, 1.0] and counts == [2, 1]


def batches_of(dataset):
    """length_batches' batches as NumPy, whichever backend made them (tf.data, or a Keras PyDataset)."""
    if hasattr(dataset, "as_numpy_iterator"):
        return list(dataset.as_numpy_iterator()), int(dataset.cardinality().numpy())
    return [dataset[i] for i in range(len(dataset))], len(dataset)


def test_length_batches_cover_every_example_once_with_trimmed_padding():
    data = attention.load_dates(300, 10, seed=2)
    sources, targets = data.arrays("train")
    previous = np.arange(len(targets))[:, None] * np.ones((1, targets.shape[1]), dtype="int32")  # row ids
    batches, count = batches_of(attention.length_batches(sources, previous, targets, batch_size=32, seed=0))
    seen, steps_seen = [], set()
    for (source_batch, previous_batch), target_batch in batches:
        rows = previous_batch[:, 0]
        width = (sources[rows] != 0).sum(axis=1).max()
        if BACKEND == "jax":  # one width, so that jax.jit compiles the training step for few shapes
            assert not sources[rows, width:].any()
            width = sources.shape[1]
        steps = (targets[rows] != 0).sum(axis=1).max() + 1  # the longest target and one padding
        assert source_batch.shape == (len(rows), width)
        assert np.array_equal(source_batch, sources[rows, :width])
        assert np.array_equal(target_batch, targets[rows, :steps])
        assert np.array_equal(previous_batch, previous[rows, :steps])
        assert not targets[rows, steps:].any()  # only padding was trimmed
        seen += rows.tolist()
        steps_seen.add(steps)
    assert sorted(seen) == list(range(300)) and count == 10 == len(batches)
    assert steps_seen == {11, 22, 33}  # one, two or three dates, sorted apart


def test_length_batches_are_the_same_on_every_backend():
    """The rows of each batch, and their order, do not depend on the backend (only JAX's widths do)."""
    data = attention.load_dates(300, 10, seed=2)
    sources, targets = data.arrays("train")
    previous = np.arange(len(targets))[:, None] * np.ones((1, targets.shape[1]), dtype="int32")
    batches, _ = batches_of(attention.length_batches(sources, previous, targets, batch_size=32, seed=0))
    first_rows = [int(previous_batch[0, 0]) for (_, previous_batch), _ in batches]
    assert first_rows == [59, 69, 289, 216, 173, 16, 136, 257, 157, 149]  # NumPy's generator alone decides


def test_milliseconds_times_a_compiled_call():
    assert attention.milliseconds(lambda x: keras.ops.matmul(x, x), np.ones((8, 8), "float32"), repeats=2) > 0
    layer = layers.Dense(3)
    layer.build((None, 8))
    assert attention.milliseconds(layer, np.ones((4, 8), "float32"), repeats=2) > 0


# ----------------------------------------------------------------------------- Keras' masks on this backend
# The lab's models rely on them: the LSTM's mask keeps padding out of the encoder's final state (and, on JAX,
# lets every batch keep the full width), and keras.layers.Attention is 5.4's and 5.5's reference.

def test_the_lstm_mask_skips_padding_on_this_backend():
    rng = np.random.default_rng(0)
    lstm = layers.LSTM(5, return_sequences=True, return_state=True)
    x = rng.normal(size=(3, 7, 4)).astype("float32")
    lengths = np.array([7, 4, 2])
    mask = np.arange(7) < lengths[:, None]
    padded = np.where(mask[..., None], x, rng.normal(size=x.shape).astype("float32"))  # garbage in the padding
    states, h, c = (keras.ops.convert_to_numpy(t) for t in lstm(padded, mask=mask))
    for row, length in enumerate(lengths):
        alone_states, alone_h, alone_c = (keras.ops.convert_to_numpy(t) for t in lstm(x[row : row + 1, :length]))
        np.testing.assert_allclose(h[row], alone_h[0], atol=1e-6)
        np.testing.assert_allclose(c[row], alone_c[0], atol=1e-6)
        np.testing.assert_allclose(states[row, :length], alone_states[0], atol=1e-6)
    wider = np.concatenate([padded, np.zeros((3, 5, 4), "float32")], axis=1)  # the full width JAX trains on
    wide_mask = np.concatenate([mask, np.zeros((3, 5), bool)], axis=1)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(lstm(wider, mask=wide_mask)[1]), h, atol=1e-6)


def test_keras_attention_with_a_mask_on_this_backend():
    rng = np.random.default_rng(1)
    queries, keys, values = (rng.normal(size=shape).astype("float32") for shape in ((2, 3, 4), (2, 5, 4), (2, 5, 6)))
    mask = np.array([[True] * 5, [True, False, True, True, False]])
    context, weights = (keras.ops.convert_to_numpy(t) for t in judges.keras_attention(queries, keys, values, mask))
    scores = np.where(mask[:, None, :], queries @ keys.transpose(0, 2, 1) / 2.0, -np.inf)
    expected = np.exp(scores - scores.max(-1, keepdims=True))
    expected /= expected.sum(-1, keepdims=True)
    np.testing.assert_allclose(weights, expected, atol=1e-6)
    np.testing.assert_allclose(context, expected @ values, atol=1e-5)
    assert (weights[1][:, ~mask[1]] == 0).all()


def test_plots_have_titles_and_labels():
    sources = ["5/1/16", "tuesday, the fifth of january 2016"]
    ax = attention.plot_accuracy_by_length(sources, {"a": [True, False], "b": [True, True]})
    assert ax.get_title() and "length" in ax.get_xlabel() and "%" in ax.get_ylabel()
    ax = attention.plot_attention(np.full((10, 6), 1 / 6), "5/1/16", "2016-01-05")
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


# ----------------------------------------------------------------------------- the checks
# Every row of tests/mutations/attention.py runs in tests/test_mutations.py; here, what it does not cover.

CHECKS = {"5.2": attention.check_make_decoder_inputs, "5.3": attention.check_greedy_decode,
          "5.4": attention.check_scaled_dot_product_attention, "5.5": attention.check_luong_attention}


def stub(*args):
    raise NotImplementedError("Exercise 5.x: replace this line with your code")


class StubLayer(layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        stub()


@pytest.mark.parametrize("exercise, answer", [("5.2", stub), ("5.3", stub), ("5.4", stub), ("5.5", StubLayer)])
def test_stubs_are_reported_as_not_attempted(exercise, answer):
    with pytest.raises(NotAttempted, match="not done yet"):
        CHECKS[exercise](answer)


@pytest.mark.parametrize("exercise", ["5.2", "5.3", "5.4", "5.5"])
def test_another_seed_draws_other_inputs_and_judges_alike(exercise):
    """What `grade` does with a student's hidden seed: new inputs, the same verdicts."""
    check = find_exercise(exercise)
    inputs = check.inputs(1)
    assert pack(inputs) != pack(check.inputs(2))
    right = next((row for row in table.RIGHT if row.exercise == exercise and BACKEND in row.backends), None)
    if right is None:
        pytest.skip(f"no answer to {exercise} is written for {BACKEND} in the mutation table")
    assert check.decide(inputs, check.collect(right.answer(), inputs)).status == "passed"
    for wrong in (row for row in table.WRONG if row.exercise == exercise and BACKEND in row.backends):
        result = check.decide(inputs, check.collect(wrong.answer(), inputs))
        assert result.status == "failed", (wrong.mistake, result.message)
        if not wrong.after_diagnosis:  # those measure the generic diagnosis' reach; test_mutations xfails them
            assert re.search(wrong.names or "differ", result.message, re.IGNORECASE), (wrong.mistake, result.message)


@pytest.mark.parametrize("exercise", ["5.2", "5.3", "5.4", "5.5"])
@pytest.mark.parametrize("record", [{"cases": []}, {"cases": "everything passed"}, {"cases": [{}] * 3}])
def test_judges_fail_forged_records(exercise, record):
    check = find_exercise(exercise)
    assert check.decide(check.inputs(0), pack(record)).status == "failed"


def junk_layer(returned):
    class Junk(layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)

        def call(self, decoder_states, encoder_states, source_mask):
            return returned(decoder_states, encoder_states)

    return Junk


@pytest.mark.parametrize("exercise, answer", [
    ("5.2", lambda targets, start_id: "targets"),
    ("5.2", lambda targets, start_id: None),
    ("5.2", lambda targets, start_id: [[start_id], list(targets[0])]),
    ("5.3", lambda model, sources, start_id, max_length: "ids"),
    ("5.3", lambda model, sources, start_id, max_length: None),
    ("5.3", lambda model, sources, start_id, max_length: [[start_id], [1, 2]]),
    ("5.3", lambda model, sources, start_id, max_length: model.decoder(
        np.full((len(sources), max_length), start_id), model.encoder(sources)[1], *model.encoder(sources)[::2])[0]),
    ("5.4", lambda q, k, v, mask: ("context", "weights")),
    ("5.4", lambda q, k, v, mask: (q, None)),
    ("5.4", lambda q, k, v, mask: {"context": q, "weights": k}),
    ("5.5", junk_layer(lambda s, h: (None, s))),
    ("5.5", junk_layer(lambda s, h: s)),
    ("5.5", junk_layer(lambda s, h: (s, "weights"))),
])
def test_checks_say_what_they_expected_of_answers_of_the_wrong_type(exercise, answer, rejected):
    message = rejected(CHECKS[exercise], answer, exercise)
    assert "Expected:" in message and "Found:" in message and "could not make sense" not in message, message



# ----------------------------------------------------------------------------- the backend in the judges' words

def test_the_judges_name_the_backend_the_probe_recorded():
    assert judges.backend_of({"cases": [], "backend": "jax"}) == "jax"
    assert judges.backend_of({"cases": [], "backend": "numpy; rm -rf"}) == "tensorflow"  # from the kernel: checked
    assert judges.backend_of({"cases": []}) == "tensorflow"  # a record from before the backends
    failed = {"error": {"type": "TracerArrayConversionError", "message": "The numpy.ndarray conversion method"}}
    for backend, idiom in (("tensorflow", "tf.function"), ("jax", "jax.jit")):
        with pytest.raises(CheckFailed, match=rf"compiled by {re.escape(idiom)}"):
            judges.check_compiled(failed, [np.zeros(2)] * 2, ("context", "weights"), "here", backend)
    judges.check_compiled(None, [np.zeros(2)] * 2, ("context", "weights"), "here", "torch")  # eager: nothing to check
    with pytest.raises(CheckFailed, match="missing"):  # elsewhere a missing record fails
        judges.check_compiled(None, [np.zeros(2)] * 2, ("context", "weights"), "here", "jax")
    for backend, idiom in (("tensorflow", "tf.GradientTape"), ("jax", "jax.grad"), ("torch", "torch.autograd.grad")):
        with pytest.raises(CheckFailed, match=re.escape(idiom)):
            judges.check_gradients({"value": [None]}, [np.zeros(2)], ("queries",), "here", backend)
    with pytest.raises(CheckFailed, match=r"\.detach\(\)"):
        judges.check_gradients({"value": [np.ones(2)]}, [np.zeros(2)], ("queries",), "here", "torch")
