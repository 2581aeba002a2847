"""Lab 05's claims that are not exercises: accuracy by content, and the teacher-forced replay of 5.6."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib

matplotlib.use("Agg")

import numpy as np
from keras import ops

from labhelpers import attention
from labhelpers.probes.attention import DrawnTranslator


def test_date_counts_and_accuracy_by_dates():
    targets = ["2016-01-05", "2016-01-05,1987-09-25", "2016-01-05", "2016-01-05,1987-09-25,2001-12-31"]
    assert attention.date_counts(targets).tolist() == [1, 2, 1, 3]
    labels, accuracies, counts = attention.accuracy_by_dates(targets, [True, False, False, True])
    assert labels == ["1 date", "2 dates", "3 dates"] and accuracies == [0.5, 0.0, 1.0] and counts == [2, 1, 1]


def test_the_generated_data_holds_one_date_as_long_as_two():
    """What 5.1 says, so that 5.3 can tell content from length: single dates span 6 to 45 characters."""
    data = attention.load_dates(150_000, 2000)
    lengths, dates = np.array([len(s) for s in data.test_sources]), attention.date_counts(data.test_targets)
    assert lengths[dates == 1].min() == 6 and lengths[dates == 1].max() == 45
    assert lengths[dates == 1].max() > np.median(lengths[dates == 2])
    assert data.test_sources[int(np.argmax(np.where(dates == 1, lengths, 0)))] == \
        "wednesday, the twenty-second of november 1950"  # 5.1's example


def test_accuracy_by_content_plots_dates_and_single_dates_by_length():
    sources = ["5/1/16", "tuesday, the fifth of january 2016", "5/1/16 then 6/1/16", "1/1/01; 2/2/02; 3/3/03"]
    targets = ["2016-01-05", "2016-01-05", "2016-01-05,2016-01-06", "2001-01-01,2002-02-02,2003-03-03"]
    figure = attention.plot_accuracy_by_content(sources, targets, {"a": [True, False, True, False]})
    by_dates, by_length = figure.axes
    assert "dates" in by_dates.get_xlabel() and "length" in by_length.get_xlabel()
    assert by_dates.get_title() and "one date" in by_length.get_title() and "%" in by_dates.get_ylabel()
    assert [t.get_text() for t in by_dates.get_xticklabels()] == ["1 date\n(n=2)", "2 dates\n(n=1)", "3 dates\n(n=1)"]
    assert [t.get_text() for t in by_length.get_xticklabels()] == ["0-9\n(n=1)", "30+\n(n=1)"]  # single dates only
    assert by_dates.lines[0].get_ydata().tolist() == [50.0, 100.0, 0.0]
    assert by_length.lines[0].get_ydata().tolist() == [100.0, 0.0]


def _greedy_with_weights(model, case):
    """Greedy decoding one step at a time, keeping every written id and each step's attention weights."""
    sources = case["sources"]
    encoder_states, state, source_mask = model.encoder(sources)
    next_ids = np.full((len(sources), 1), case["start_id"], dtype="int32")
    written, weights = [], []
    for _ in range(case["max_length"]):
        logits, state, step_weights = model.decoder(next_ids, state, encoder_states, source_mask)
        next_ids = np.argmax(ops.convert_to_numpy(logits), axis=-1).astype("int32")
        written.append(next_ids)
        weights.append(ops.convert_to_numpy(step_weights))
    return np.concatenate(written, axis=1), np.concatenate(weights, axis=1)


def _replayed_weights(model, case, translations):
    """5.6's attention_maps: one teacher-forced pass on the translations (START, then them, delayed)."""
    encoder_states, state, source_mask = model.encoder(case["sources"])
    previous = np.concatenate([np.full((len(translations), 1), case["start_id"], "int32"), translations[:, :-1]], 1)
    return ops.convert_to_numpy(model.decoder(previous, state, encoder_states, source_mask)[2])


def _drawn_case(seed, batch=32, source_length=9, max_length=12, units=6, embedding=4, vocabulary=3):
    """An attending translator's weights and sources, drawn, with the interface 5.3's check builds on.

    The output layer is large and unbiased, so that what the decoder writes depends on its state."""
    rng = np.random.default_rng(seed)

    def lstm(inputs):
        return [rng.normal(size=(inputs, 4 * units)), rng.normal(size=(units, 4 * units)), np.zeros(4 * units)]

    return {"sources": rng.integers(1, 11, size=(batch, source_length)).astype("int32"), "start_id": 1,
            "max_length": max_length, "attends": True, "units": units,
            "encoder": [rng.normal(size=(11, embedding)), *lstm(embedding)],
            "decoder": [rng.normal(size=(vocabulary, embedding)), *lstm(embedding),
                        5 * rng.normal(size=(2 * units, vocabulary)), np.zeros(vocabulary)]}


def test_the_replay_of_5_6_goes_through_greedy_states_up_to_the_first_padding_only():
    case = _drawn_case(seed=0)
    model = DrawnTranslator(case)
    written, greedy_weights = _greedy_with_weights(model, case)
    translations = np.where(np.cumsum(written == 0, axis=1) > 0, 0, written)  # 5.3: padding after "done"
    replayed = _replayed_weights(model, case, translations)
    parted = 0
    for row in range(len(written)):
        padded = np.flatnonzero(written[row] == 0)
        same_until = padded[0] + 2 if padded.size else written.shape[1]  # the step after "done" reads 0 too
        np.testing.assert_allclose(replayed[row, :same_until], greedy_weights[row, :same_until], atol=1e-5)
        parted += not np.allclose(replayed[row, same_until:], greedy_weights[row, same_until:], atol=1e-5)
    assert parted, "no row wrote anything after its padding: the claim was not put to the test"
