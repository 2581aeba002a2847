"""Lab 04: the data, the helpers, and every check on right and wrong answers."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402

from labhelpers import sentiment  # noqa: E402


def names_all(message, *words):
    """Assert that a check's failure message names every word of the diagnosis."""
    for word in words:
        assert word in message, message


# --- data ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def imdb():
    return sentiment.load_reviews("imdb")


def test_splits_are_fixed_disjoint_and_balanced(imdb):
    sizes = {name: len(split) for name, split in imdb.items()}
    assert sum(sizes.values()) == 25_000
    assert 0.07 < sizes["test"] / 25_000 < 0.13 and 0.07 < sizes["val"] / 25_000 < 0.13
    train, test = set(imdb["train"].texts), set(imdb["test"].texts)
    assert not train & test
    assert 0.45 < imdb["test"].labels.mean() < 0.55
    again = sentiment.load_reviews("imdb")
    assert np.array_equal(again["test"].texts, imdb["test"].texts)


def test_split_of_depends_only_on_the_text():
    assert sentiment.split_of("a review") == sentiment.split_of("a review")
    names = [sentiment.split_of(f"review {i}") for i in range(2000)]
    assert 0.75 < names.count("train") / 2000 < 0.85


def test_rotten_tomatoes_is_short_sentences():
    data = sentiment.load_reviews("rotten_tomatoes")
    assert sum(len(s) for s in data.values()) == 8530
    assert np.median(sentiment.review_lengths(data["train"].texts[:500])) < 40


def test_unknown_source_or_loader_is_refused():
    with pytest.raises(ValueError, match="source"):
        sentiment.load_reviews("yelp")
    with pytest.raises(ValueError, match="loader"):
        sentiment.load_reviews("imdb", loader="web")


def test_standardize_drops_html_punctuation_and_emoji():
    out = sentiment.standardize(np.array(["Not BAD,<br />good! 😀 it's"], dtype=object))
    assert out.numpy()[0].decode().split() == ["not", "bad", "good", "it's"]


# --- 4.1 make_vectorizer -----------------------------------------------------------------

def vectorizer_with(**settings):
    def make_vectorizer(texts, vocab_size, seq_len):
        options = dict(max_tokens=vocab_size, output_sequence_length=seq_len,
                       standardize=sentiment.standardize)
        options.update(settings)
        vectorizer = layers.TextVectorization(**options)
        if settings.pop("adapt", True):
            vectorizer.adapt(texts)
        return vectorizer
    return make_vectorizer


def test_make_vectorizer_accepts_right_answers(capsys):
    sentiment.check_make_vectorizer(vectorizer_with())
    sentiment.check_make_vectorizer(vectorizer_with(standardize="lower_and_strip_punctuation"))
    assert "PASS 4.1" in capsys.readouterr().out


def test_make_vectorizer_rejects_no_adapt(rejected):
    def no_adapt(texts, vocab_size, seq_len):
        return layers.TextVectorization(max_tokens=vocab_size, output_sequence_length=seq_len)
    names_all(rejected(sentiment.check_make_vectorizer, no_adapt, "4.1"), "vocabulary is empty", "adapt")


@pytest.mark.parametrize("settings, words", [
    (dict(output_mode="multi_hot", output_sequence_length=None), ["bag of words"]),
    (dict(output_sequence_length=None), ["fixed length", "output_sequence_length"]),
    (dict(standardize=None), ["capitals or punctuation"]),
])
def test_make_vectorizer_rejects_wrong_settings(settings, words, rejected):
    names_all(rejected(sentiment.check_make_vectorizer, vectorizer_with(**settings), "4.1"), *words)


def test_make_vectorizer_rejects_wrong_vocabulary_size(rejected):
    def too_big(texts, vocab_size, seq_len):
        return vectorizer_with()(texts, vocab_size + 2, seq_len)
    names_all(rejected(sentiment.check_make_vectorizer, too_big, "4.1"), "wrong size", "max_tokens")


# --- 4.2 / 4.3 classifiers -----------------------------------------------------------------

def classifier(bidirectional=False, mask=True, activation="sigmoid", return_sequences=False,
               cell=layers.LSTM):
    def build(vocab_size, embed_dim, units):
        recurrent = cell(units, return_sequences=return_sequences)
        if bidirectional:
            recurrent = layers.Bidirectional(recurrent)
        return keras.Sequential([
            keras.Input(shape=(None,), dtype="int64"),
            layers.Embedding(vocab_size, embed_dim, mask_zero=mask),
            recurrent,
            layers.Dense(1, activation=activation),
        ])
    return build


def test_lstm_classifier_accepts_right_answers(capsys):
    sentiment.check_build_lstm_classifier(classifier())

    def functional(vocab_size, embed_dim, units):
        inputs = keras.Input(shape=(None,), dtype="int32")
        x = layers.Embedding(vocab_size, embed_dim, mask_zero=True)(inputs)
        x = layers.Dropout(0.3)(layers.LSTM(units)(x))
        return keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x))
    sentiment.check_build_lstm_classifier(functional)
    assert capsys.readouterr().out.count("PASS 4.2") == 2


@pytest.mark.parametrize("wrong, words", [
    (classifier(mask=False), ["padding changes the prediction", "mask_zero"]),
    (classifier(activation=None), ["logit"]),
    (classifier(return_sequences=True), ["one score per review", "return_sequences"]),
    (classifier(cell=layers.GRU), ["no LSTM"]),
    (classifier(bidirectional=True), ["one-directional"]),
])
def test_lstm_classifier_rejects_wrong_answers(wrong, words, rejected):
    names_all(rejected(sentiment.check_build_lstm_classifier, wrong, "4.2"), *words)


def test_lstm_classifier_rejects_ignored_arguments(rejected):
    def fixed_units(vocab_size, embed_dim, units):
        return classifier()(vocab_size, embed_dim, 32)
    names_all(rejected(sentiment.check_build_lstm_classifier, fixed_units, "4.2"), "wrong shape", "units")


def test_bidirectional_classifier_accepts_right_answers(capsys):
    sentiment.check_build_bidirectional_classifier(classifier(bidirectional=True))
    assert "PASS 4.3" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, words", [
    (classifier(), ["no `Bidirectional`"]),
    (classifier(bidirectional=True, mask=False), ["padding changes the prediction"]),
    (classifier(bidirectional=True, activation=None), ["logit"]),
])
def test_bidirectional_classifier_rejects_wrong_answers(wrong, words, rejected):
    names_all(rejected(sentiment.check_build_bidirectional_classifier, wrong, "4.3"), *words)


def test_not_done_yet_is_reported(rejected):
    def stub(vocab_size, embed_dim, units):
        raise NotImplementedError("Exercise 4.3")
    names_all(rejected(sentiment.check_build_bidirectional_classifier, stub, "4.3"), "not done yet")


# --- 4.4 early stopping ------------------------------------------------------------------

def trainer(loss="binary_crossentropy", monitor="val_loss", restore=True, patience=None,
            validation=True, stop=True):
    def train_with_early_stopping(model, train_data, val_data, max_epochs, patience_=None, **kw):
        wait = kw.get("patience", patience_) if patience is None else patience
        model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
        callbacks = [keras.callbacks.EarlyStopping(
            monitor=monitor, patience=wait, restore_best_weights=restore)] if stop else []
        return model.fit(train_data, validation_data=val_data if validation else None,
                         epochs=max_epochs, callbacks=callbacks, verbose=0)
    return train_with_early_stopping


def test_early_stopping_accepts_right_answer(capsys):
    sentiment.check_train_with_early_stopping(trainer())
    assert "PASS 4.4" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, words", [
    (trainer(stop=False), ["ran all epochs", "EarlyStopping"]),
    (trainer(monitor="loss"), ["ran all epochs"]),
    (trainer(restore=False), ["last epoch's weights", "restore_best_weights"]),
    (trainer(patience=4), ["wrong epoch", "patience"]),
    (trainer(validation=False), ["no validation loss", "validation_data"]),
    (trainer(loss="mse"), ["binary cross-entropy"]),
    (trainer(loss=keras.losses.BinaryCrossentropy(from_logits=True)), ["logits"]),
])
def test_early_stopping_rejects_wrong_answers(wrong, words, rejected):
    names_all(rejected(sentiment.check_train_with_early_stopping, wrong, "4.4"), *words)


# --- 4.5 evaluation ----------------------------------------------------------------------

def evaluation(flatten=True, transpose=False, normalise=False, threshold_below=False):
    def evaluate_predictions(probabilities, labels):
        probabilities = np.ravel(probabilities) if flatten else probabilities
        predicted = (probabilities < 0.5) if threshold_below else (probabilities > 0.5)
        predicted = predicted.astype(int)
        accuracy = np.mean(predicted == labels)
        confusion = np.zeros((2, 2))
        for truth, guess in zip(labels, np.ravel(predicted)):
            confusion[(guess, truth) if transpose else (truth, guess)] += 1
        return accuracy, confusion / len(labels) if normalise else confusion
    return evaluate_predictions


def test_evaluation_accepts_right_answer(capsys):
    sentiment.check_evaluate_predictions(evaluation())
    assert "PASS 4.5" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, words", [
    (evaluation(flatten=False), ["every prediction with every label", "Flatten"]),
    (evaluation(transpose=True), ["transposed"]),
    (evaluation(normalise=True), ["fractions"]),
    (evaluation(threshold_below=True), ["confusion matrix is wrong", "above 0.5"]),
])
def test_evaluation_rejects_wrong_answers(wrong, words, rejected):
    names_all(rejected(sentiment.check_evaluate_predictions, wrong, "4.5"), *words)


# --- helpers: predict, order test, evaluation pictures ------------------------------------

@pytest.fixture(scope="module")
def tiny_model():
    texts = np.array(["good fun film", "bad dull film", "great fun", "awful bad plot"] * 4)
    vectorizer = sentiment.reference_vectorizer(texts, vocab_size=12, seq_len=20)
    return vectorizer, sentiment.build_average_baseline(12, 4)


@pytest.mark.parametrize("text, scored, note", [
    ("good fun", True, ""),
    ("", False, "no words"),
    ("😍🍿 !!!", False, "no words"),
    ("zorblax quintavious", False, "none of its 2 words"),
    ("good " * 50, True, "only the first 20 of its 50 words"),
    ("ce film est une perte de temps", True, "another language"),
])
def test_predict_gives_a_defined_answer_for_every_text(tiny_model, text, scored, note):
    vectorizer, model = tiny_model
    prediction = sentiment.predict(text, vectorizer, model)
    assert (prediction.probability is not None) == scored
    assert note in prediction.note
    assert prediction.label in ("positive", "negative") if scored else prediction.label == "no prediction"
    assert prediction.label in str(prediction)


def test_predict_refuses_a_list(tiny_model):
    with pytest.raises(TypeError, match="one string"):
        sentiment.predict(["good", "bad"], *tiny_model)


def test_order_test_shows_the_average_baseline_is_order_blind(tiny_model, capsys):
    vectorizer, model = tiny_model
    scores = sentiment.order_test({"baseline": lambda t: sentiment.score_texts(model, vectorizer, t)})
    assert scores["baseline"].shape == (len(sentiment.ORDER_PAIRS), 2)
    assert np.allclose(scores["baseline"][:, 0], scores["baseline"][:, 1], atol=1e-5)
    assert "not bad at all" in capsys.readouterr().out


def test_every_pair_of_the_order_test_has_the_same_words():
    for first, second in sentiment.ORDER_PAIRS:
        words = lambda text: sorted(sentiment.standardize(np.array([text], dtype=object)).numpy()[0].split())  # noqa: E731
        assert words(first) == words(second) and first != second


def test_results_table_prints_published_numbers_and_split_notes(capsys):
    sentiment.results_table({("imdb", "mine"): 0.85})
    out = capsys.readouterr().out
    assert "88.89" in out and "91.22" in out and "85.0" in out and "official" in out
    assert "76.1" not in out


def test_pictures_have_titles_and_labels():
    figures = [sentiment.plot_lengths([10, 20, 300], 100, "lengths"),
               sentiment.plot_confusion([[5, 1], [2, 7]], "confusion")]
    for figure in figures:
        ax = figure.axes[0]
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
