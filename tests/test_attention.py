"""Lab 05: the date task, the pictures, and every check against right and wrong answers."""

import datetime
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from labhelpers import attention
from labhelpers.grading import NotAttempted


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


def test_length_batches_cover_every_example_once_with_trimmed_padding():
    data = attention.load_dates(300, 10, seed=2)
    sources, targets = data.arrays("train")
    previous = np.arange(len(targets))[:, None] * np.ones((1, targets.shape[1]), dtype="int32")  # row ids
    batches = attention.length_batches(sources, previous, targets, batch_size=32, seed=0)
    seen, steps_seen = [], set()
    for (source_batch, previous_batch), target_batch in batches:
        rows = previous_batch.numpy()[:, 0]
        width = (sources[rows] != 0).sum(axis=1).max()
        steps = (targets[rows] != 0).sum(axis=1).max() + 1  # the longest target and one padding
        assert source_batch.shape == (len(rows), width)
        assert np.array_equal(source_batch.numpy(), sources[rows, :width])
        assert np.array_equal(target_batch.numpy(), targets[rows, :steps])
        assert np.array_equal(previous_batch.numpy(), previous[rows, :steps])
        assert not targets[rows, steps:].any()  # only padding was trimmed
        seen += rows.tolist()
        steps_seen.add(steps)
    assert sorted(seen) == list(range(300)) and batches.cardinality().numpy() == 10
    assert steps_seen == {11, 22, 33}  # one, two or three dates, sorted apart


def test_plots_have_titles_and_labels():
    sources = ["5/1/16", "tuesday, the fifth of january 2016"]
    ax = attention.plot_accuracy_by_length(sources, {"a": [True, False], "b": [True, True]})
    assert ax.get_title() and "length" in ax.get_xlabel() and "%" in ax.get_ylabel()
    ax = attention.plot_attention(np.full((10, 6), 1 / 6), "5/1/16", "2016-01-05")
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


# ----------------------------------------------------------------------------- 5.2 decoder inputs

def right_decoder_inputs(targets, start_id):
    return np.concatenate([np.full((len(targets), 1), start_id), targets[:, :-1]], axis=1)


def test_decoder_inputs_accepts_right_answers(capsys):
    attention.check_make_decoder_inputs(right_decoder_inputs)
    attention.check_make_decoder_inputs(lambda t, s: tf.concat([tf.fill((len(t), 1), s), t[:, :-1]], 1))
    assert "PASS 5.2" in capsys.readouterr().out


def in_place(targets, start_id):
    targets[:, 1:] = targets[:, :-1].copy()
    targets[:, 0] = start_id
    return targets


@pytest.mark.parametrize("answer, diagnosis", [
    (lambda t, s: t, "no shift"),
    (lambda t, s: np.concatenate([t[:, 1:], np.full((len(t), 1), s)], 1), "shifted left"),
    (lambda t, s: np.concatenate([np.zeros((len(t), 1), int), t[:, :-1]], 1), "not START"),
    (lambda t, s: np.concatenate([np.full((len(t), 1), s), t], 1), "wrong shape"),
    (in_place, "changed the targets"),
])
def test_decoder_inputs_names_wrong_answers(answer, diagnosis, rejected):
    assert diagnosis in rejected(attention.check_make_decoder_inputs, answer, "5.2")


# ----------------------------------------------------------------------------- 5.4 attention

def tf_attention(queries, keys, values, mask, *, scale=True, axis=-1, masked=True):
    """A right answer in TensorFlow; the keyword arguments make wrong ones."""
    scores = tf.matmul(queries, keys, transpose_b=True)
    if scale:
        scores /= tf.sqrt(tf.cast(tf.shape(keys)[-1], scores.dtype))
    if masked:
        scores = tf.where(mask[:, tf.newaxis, :], scores, -1e9)
    weights = tf.nn.softmax(scores, axis=axis)
    return tf.matmul(weights, values), weights


def numpy_attention(queries, keys, values, mask):
    """A right answer in NumPy, with an additive mask."""
    q, k, v, m = (np.asarray(x) for x in (queries, keys, values, mask))
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(k.shape[-1]) - 1e9 * ~m[:, None, :]
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return weights @ v, weights


def test_attention_accepts_right_answers(capsys):
    attention.check_scaled_dot_product_attention(tf_attention)
    attention.check_scaled_dot_product_attention(numpy_attention)
    assert capsys.readouterr().out.count("PASS 5.4") == 2


def unnormalised(queries, keys, values, mask):
    scores = tf.matmul(queries, keys, transpose_b=True) / np.sqrt(8)
    weights = tf.exp(tf.where(mask[:, tf.newaxis, :], scores, -1e9))
    return tf.matmul(weights, values), weights


def masked_after_softmax(queries, keys, values, mask):
    _, weights = tf_attention(queries, keys, values, mask, masked=False)
    weights = weights * tf.cast(mask[:, None, :], weights.dtype)
    return tf.matmul(weights, values), weights


def raw_scores(queries, keys, values, mask):
    scores = tf.matmul(queries, keys, transpose_b=True) / np.sqrt(8)
    return tf.matmul(scores, values), scores


def scaled_by_d(queries, keys, values, mask):
    return tf_attention(queries / np.sqrt(8), keys, values, mask)


def context_from_keys(queries, keys, values, mask):
    context, weights = tf_attention(queries, keys, values, mask)
    return tf.matmul(weights, keys), weights


def transposed_context(queries, keys, values, mask):
    context, weights = tf_attention(queries, keys, values, mask)
    return context[:, ::-1], weights


def elementwise(queries, keys, values, mask):
    scores = queries * keys
    return scores, scores


def not_done(queries, keys, values, mask):
    raise NotImplementedError("Exercise 5.4: replace this line with your code")


@pytest.mark.parametrize("answer, diagnosis", [
    (lambda *a: tf_attention(*a, axis=1), "queries axis"),
    (unnormalised, "not normalised"),
    (lambda *a: tf_attention(*a, scale=False), "not scaled by 1/sqrt(d)"),
    (scaled_by_d, "divided by d instead of sqrt(d)"),
    (lambda *a: tf_attention(*a, masked=False), "mask is not applied"),
    (masked_after_softmax, "zeroed after the softmax"),
    (raw_scores, "raw scores"),
    (context_from_keys, "The context: wrong shape"),
    (transposed_context, "context is not their weighted sum"),
    (elementwise, "matrix product"),
    (lambda *a: tf_attention(*a)[0], "return two things"),
])
def test_attention_names_wrong_answers(answer, diagnosis, rejected):
    assert diagnosis in rejected(attention.check_scaled_dot_product_attention, answer, "5.4")


def test_attention_not_attempted_is_reported_as_such():
    with pytest.raises(NotAttempted, match="not done yet"):
        attention.check_scaled_dot_product_attention(not_done)


def test_reference_attention_properties():
    queries, keys, values, mask = attention._attention_inputs()
    context, weights = attention.reference_attention(queries, keys, values, mask)
    assert np.allclose(weights.sum(-1), 1) and np.allclose(weights[-1][:, ~mask[-1]], 0)
    assert np.allclose(context, weights @ values)


# ----------------------------------------------------------------------------- 5.5 Luong layer

def make_luong(attend=tf_attention, activation="tanh", mix=lambda context, state: tf.concat([context, state], -1),
               pass_mask=True):
    """A Luong attention layer class; the arguments make wrong ones."""

    class Luong(layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.combine = layers.Dense(units, activation=activation)

        def call(self, decoder_states, encoder_states, source_mask):
            mask = source_mask if pass_mask else tf.ones_like(source_mask)
            context, weights = attend(decoder_states, encoder_states, encoder_states, mask)
            return self.combine(mix(context, decoder_states)), weights

    return Luong


class SwappedLuong(make_luong()):
    def call(self, decoder_states, encoder_states, source_mask):
        return super().call(decoder_states, encoder_states, source_mask)[0], tf.zeros((2, 6, 4))


def test_luong_accepts_right_answers(capsys):
    attention.check_luong_attention(make_luong())
    attention.check_luong_attention(make_luong(mix=lambda c, s: tf.concat([s, c], -1)))
    assert capsys.readouterr().out.count("PASS 5.5") == 2


@pytest.mark.parametrize("answer, diagnosis", [
    (make_luong(pass_mask=False), "pass `source_mask` on"),
    (make_luong(activation=None), "tanh"),
    (make_luong(mix=lambda c, s: s), "context is not used"),
    (make_luong(mix=lambda c, s: c), "ignores the decoder state"),
    (make_luong(attend=lambda *a: tf_attention(*a, scale=False)), "not your scaled_dot_product_attention"),
    (SwappedLuong, "decoder states are the queries"),
])
def test_luong_names_wrong_answers(answer, diagnosis, rejected):
    assert diagnosis in rejected(attention.check_luong_attention, answer, "5.5")


class PaddingLeak(make_luong()):
    """Right weights, but the output also reads the mean of all encoder states, padding included."""

    def call(self, decoder_states, encoder_states, source_mask):
        states, weights = super().call(decoder_states, encoder_states, source_mask)
        return tf.tanh(states + tf.reduce_mean(encoder_states, axis=1, keepdims=True)), weights


def test_luong_rejects_output_that_reads_padding(rejected):
    assert "padded positions" in rejected(attention.check_luong_attention, PaddingLeak, "5.5")
