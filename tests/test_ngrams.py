"""The n-gram NBSVM of Lab 04: n-gram sets and counts, the Keras model on given log-count ratios."""

import keras
import numpy as np
import pytest

from labhelpers import ngrams
from labhelpers.sentiment import Split

TEXTS = ["not bad, good", "good film", "bad film", "not good, bad", "good good"]
LABELS = np.array([1, 1, 0, 0, 1])


@pytest.fixture(scope="module")
def sets():
    return ngrams.NgramSets(TEXTS, max_tokens=100)


def vocabulary(sets):
    return ["(padding)", *sets.vocabulary]


def ratios_by_hand(sets, texts=TEXTS, labels=LABELS, alpha=1.0):
    """Exercise 4.6's r, counted one text at a time (each n-gram once per text), one per column."""
    positive, negative = np.full(sets.size, alpha), np.full(sets.size, alpha)
    for row, label in zip(sets(texts), labels):
        (positive if label else negative)[row] += 1
    return (np.log(positive / positive[1:].sum()) - np.log(negative / negative[1:].sum()))[1:]


def test_ngram_sets_hold_each_distinct_unigram_and_bigram_once(sets):
    words = vocabulary(sets)
    found = [sorted(words[i] for i in ids) for ids in sets(TEXTS)]
    assert found[0] == sorted(["not", "bad", "good", "not bad", "bad good"])
    assert found[4] == sorted(["good", "good good"])  # "good" twice, counted once
    assert all(len(set(ids)) == len(ids) and 0 not in ids for ids in sets(TEXTS))


def test_counts_are_a_sparse_matrix_of_occurrences_by_column(sets):
    counts = sets.counts(TEXTS)
    assert counts.shape == (len(TEXTS), len(sets.vocabulary))
    row = dict(zip(sets.vocabulary, counts.toarray()[4]))
    assert row["good"] == 2 and row["good good"] == 1 and row["bad"] == 0
    assert [list(np.flatnonzero(r) + 1) for r in counts.toarray()] == [sorted(ids) for ids in sets(TEXTS)]


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="sparse TextVectorization output is TensorFlow's")
def test_counts_are_those_of_tensorflows_sparse_count_output():
    """NgramSets counts the ids of TextVectorization's int output (every backend); TensorFlow's own
    output_mode="count", sparse=True (the one backend that has it) gives the same vocabulary and counts."""
    from keras import layers

    from labhelpers import sentiment

    texts = sentiment.load_reviews("rotten_tomatoes")["train"].texts[:3000]
    sets = ngrams.NgramSets(texts, max_tokens=20_000)
    counting = layers.TextVectorization(max_tokens=20_000, ngrams=2, standardize=sentiment.standardize,
                                        output_mode="count", sparse=True)
    counting.adapt(np.asarray(texts, dtype=object))
    assert list(sets.vocabulary) == counting.get_vocabulary()
    found = counting(np.asarray(texts[:1500], dtype=object))
    ours = sets.counts(texts[:1500])
    assert ours.has_canonical_format and ours.dtype == np.asarray(found.values).dtype
    assert np.array_equal(np.column_stack(ours.nonzero()), np.asarray(found.indices))
    assert np.array_equal(ours.data, np.asarray(found.values))


def test_unknown_words_map_to_unk_and_empty_text_to_nothing(sets):
    words = vocabulary(sets)
    unknown, empty = sets(["zorblax quintavious", ""])
    assert [words[i] for i in unknown] == ["[UNK]"]
    assert len(empty) == 0


def test_untrained_model_with_unit_weights_is_naive_bayes(sets):
    ids = sets(TEXTS)
    ratios = ratios_by_hand(sets)
    model = ngrams.build_nbsvm(ratios, initial_weight=1.0)
    batch = next(iter(ngrams.dataset(ids, LABELS, batch_size=len(TEXTS))))[0]
    logits = np.log(np.ravel(model.predict(batch, verbose=0)))
    logits -= np.log1p(-np.exp(logits))  # back from probabilities to log-odds
    np.testing.assert_allclose(logits, [ratios[row - 1].sum() for row in ids], atol=1e-4)
    assert keras.ops.convert_to_numpy(model.get_layer("log_count_ratios").embeddings)[0, 0] == 0.0  # padding


def test_batches_are_padded_with_zeros_to_their_longest_text(sets):
    """On JAX up to a multiple of LENGTH_STEP_ON_JAX, so that fit compiles its step for a few lengths only."""
    ids = sets(TEXTS)
    padded, labels = next(iter(ngrams.dataset(ids, LABELS, batch_size=2)))
    longest = max(len(ids[0]), len(ids[1]))
    step = ngrams.LENGTH_STEP_ON_JAX if keras.backend.backend() == "jax" else 1
    assert padded.shape == (2, -(-longest // step) * step)
    assert list(np.asarray(padded)[1][len(ids[1]):]) == [0] * (padded.shape[1] - len(ids[1]))
    assert list(np.asarray(labels)) == [1.0, 1.0]


def test_ratios_of_the_wrong_size_or_infinite_are_refused(sets):
    splits = {name: Split(np.array(TEXTS), LABELS) for name in ("train", "val", "test")}
    for wrong in (ratios_by_hand(sets)[1:], np.full(len(sets.vocabulary), np.inf)):
        with pytest.raises(ValueError, match="exercise 4.6"):
            ngrams.train_nbsvm(splits, sets, wrong)


def test_training_learns_the_toy_task_and_scores_any_text(capsys, recwarn):
    splits = {name: Split(np.array(TEXTS * 4), np.tile(LABELS, 4)) for name in ("train", "val", "test")}
    sets = ngrams.NgramSets(splits["train"].texts, max_tokens=100)
    ratios = ratios_by_hand(sets, splits["train"].texts, splits["train"].labels)
    model, _ = ngrams.train_nbsvm(splits, sets, ratios, max_epochs=3, learning_rate=0.05)
    assert not [w for w in recwarn if "shuffle" in str(w.message)], "fit warned that it ignores shuffle=True"
    scores = ngrams.score_texts(model, sets, ["good film", "bad film", "", "zorblax"])
    assert scores[0] > 0.5 > scores[1]
    assert scores.shape == (4,) and np.all((scores >= 0) & (scores <= 1))
    ngrams.show_ratios(sets, ratios, ["good film", "zorblax"])
    ngrams.show_strongest(sets, model, count=2)
    table = capsys.readouterr().out
    assert "not in the vocabulary" in table and "towards positive" in table and "good" in table
