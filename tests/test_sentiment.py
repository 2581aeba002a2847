"""Lab 04: the data, the helpers, and what the checks promise beyond the mutation table."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from labhelpers import sentiment  # noqa: E402
from labhelpers.grading import FAILED, PASSED, PROBE_DIR_ENV, find_exercise, pack, unpack  # noqa: E402
from mutations import sentiment as table  # noqa: E402


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
    """4.8 prints these figures: 18.9 words on average, 51 at most, 1.1% cut at RT_SEQ_LEN = 40."""
    data = sentiment.load_reviews("rotten_tomatoes")
    assert sum(len(s) for s in data.values()) == 8530
    lengths = sentiment.review_lengths(data["train"].texts)
    assert round(lengths.mean(), 1) == 18.9 and lengths.max() == 51
    assert 0.01 < np.mean(lengths > 40) < 0.012


def test_unknown_source_or_loader_is_refused():
    with pytest.raises(ValueError, match="source"):
        sentiment.load_reviews("yelp")
    with pytest.raises(ValueError, match="loader"):
        sentiment.load_reviews("imdb", loader="web")


def test_standardize_drops_html_punctuation_and_emoji():
    out = sentiment.standardize(np.array(["Not BAD,<br />good! 😀 it's"], dtype=object))
    assert out.numpy()[0].decode().split() == ["not", "bad", "good", "it's"]


# --- the checks (every row of tests/mutations/sentiment.py runs in tests/test_mutations.py) -------
# Here: what the probe/judge split promises.

ANSWERS = {"4.1": table.vectorizer_with(), "4.2": table.classifier(), "4.3": table.classifier(bidirectional=True),
           "4.4": table.trainer(), "4.5": table.evaluation(), "4.6": table.ratios()}


@pytest.mark.parametrize("exercise", sorted(ANSWERS))
def test_a_judge_passes_only_what_was_computed_on_its_own_inputs(exercise):
    """Right answers' data, collected on one draw and judged against another, is refused."""
    check = find_exercise(exercise)
    data = check.collect((ANSWERS[exercise],), check.inputs(1))
    assert check.decide(check.inputs(1), data).status == PASSED
    refused = check.decide(check.inputs(2), data)
    assert refused.status == FAILED and refused.message


@pytest.mark.parametrize("exercise, key, forged, expected", [
    ("4.2", "cases", {"returned": "a model"}, "must return a Keras model"),
    ("4.2", "cases", {"first": [[0.5]] * 4, "first_again": [[0.5]] * 4, "layers": [], "shapes": [],
                      "padded": [[0.5]] * 4}, "differ from Keras"),
    ("4.5", "returned", [[0.5, 0.5], [[1, 2], [3, 4]]], "accuracy is not one number"),
    ("4.5", "returned", [0.5, {"__object__": "str: 'counts'"}], "confusion matrix is not an array"),
    ("4.4", "cases", {"history": {"loss": [1.0], "val_loss": "low"}, "weights": [], "optimizer": "Adam"},
     "history['val_loss'] is not an array"),
    ("4.6", "returned", {"__object__": "csr_matrix: <sparse>"}, "r is not an array"),
    ("4.6", "returned", "ratios", "r is not an array of numbers"),
])
def test_data_of_the_wrong_kind_is_reported_not_crashed_on(exercise, key, forged, expected):
    check = find_exercise(exercise)
    inputs = check.inputs(0)
    result = check.decide(inputs, pack({key: [forged] * len(inputs["cases"])}))
    assert result.status == FAILED and expected in result.message, result.message
    short = check.decide(inputs, pack({key: [forged]}))
    assert short.status == FAILED and "one result per drawn case" in short.message


def _numpy_lstm(vectors, kernel, recurrent_kernel, bias):
    """The last h of Keras' LSTM (gates i, f, c~, o; sigmoid and tanh) over the rows of `vectors`, from zeros."""
    sigmoid = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    units = recurrent_kernel.shape[0]
    h, c = np.zeros(units), np.zeros(units)
    for x in vectors:
        i, f, candidate, o = np.split(x @ kernel + h @ recurrent_kernel + bias, 4)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(candidate)
        h = sigmoid(o) * np.tanh(c)
    return h


@pytest.mark.parametrize("bidirectional", [False, True])
def test_masked_padding_is_skipped_as_in_numpys_lstm_on_the_real_words(bidirectional):
    """The lesson of 4.2's Masking paragraph on the running backend: padded reviews score as NumPy's LSTM
    (and Bidirectional's backward one) over their real words alone, however much padding follows."""
    rng = np.random.default_rng(4)
    vocab_size, embed_dim, units = 17, 5, 3
    model = table.classifier(bidirectional=bidirectional)(vocab_size, embed_dim, units)
    weights = [rng.normal(0, 0.5, w.shape).astype("float32") for w in model.get_weights()]
    model.set_weights(weights)
    lengths = [1, 4, 9]
    ids = np.zeros((3, 40), dtype="int64")
    for row, length in enumerate(lengths):
        ids[row, :length] = rng.integers(1, vocab_size, length)
    scores = keras.ops.convert_to_numpy(model(ids, training=False))
    embeddings, *lstm, kernel, bias = [w.astype("float64") for w in weights]
    for row, length in enumerate(lengths):
        vectors = embeddings[ids[row, :length]]
        h = _numpy_lstm(vectors, *lstm[:3])
        if bidirectional:
            h = np.concatenate([h, _numpy_lstm(vectors[::-1], *lstm[3:])])
        expected = 1 / (1 + np.exp(-(h @ kernel + bias)))
        np.testing.assert_allclose(scores[row], expected, atol=1e-5)


def test_a_stub_is_not_done_yet(rejected):
    def stub(vocab_size, embed_dim, units):
        raise NotImplementedError("Exercise 4.3")
    assert "not done yet" in rejected(sentiment.check_build_bidirectional_classifier, stub, "4.3")


def test_the_training_check_shows_its_verdict_and_nothing_of_the_training(capsys):
    """4.4's probe fits three drawn tasks with the learner's function: its progress bars and prints stay out."""
    def chatty(model, train_data, val_data, max_epochs, patience, learning_rate=1e-3):
        print("chatty trainer:", model.name)
        return table.trainer_with_progress_bar(model, train_data, val_data, max_epochs, patience, learning_rate)

    sentiment.check_train_with_early_stopping(chatty)
    out, err = capsys.readouterr()
    assert out.startswith("PASS 4.4") and "chatty" not in out and err == "", (out, err)


def test_checks_run_in_grade_mode_without_judging(tmp_path, monkeypatch, capsys):
    check = find_exercise("4.5")
    (tmp_path / "4.5.in").write_bytes(pack(check.judging().draw(np.random.default_rng(7))))
    (tmp_path / "out").mkdir()
    monkeypatch.setenv(PROBE_DIR_ENV, str(tmp_path))
    sentiment.check_evaluate_predictions(table.evaluation(transpose=True))
    assert "PASS" not in capsys.readouterr().out
    result = check.decide(unpack((tmp_path / "4.5.in").read_bytes()), (tmp_path / "out" / "4.5.out").read_bytes())
    assert result.status == FAILED and "transposed" in result.message


# --- helpers: predict, order test, evaluation pictures ------------------------------------

@pytest.fixture(scope="module")
def tiny_model():
    texts = np.array(["good fun film", "bad dull film", "great fun", "awful bad plot"] * 4)
    vectorizer = table.vectorizer_with()(texts, vocab_size=12, seq_len=20)
    return vectorizer, sentiment.build_average_baseline(12, 4)


@pytest.mark.parametrize("text, scored, note", [
    ("good fun", True, ""),
    ("", False, "no words"),
    ("😍🍿 !!!", False, "no words"),
    ("zorblax quintavious", False, "none of its 2 words"),
    ("good " * 50, True, "only the first 20 of its 50 words"),
    ("ce film est une perte de temps", True, "another language"),
    ("très bien, génial 😍", False, "none of its 3 words"),
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


def test_scoring_with_one_model_after_another_makes_tensorflow_warn_of_nothing(tiny_model):
    """Each `model.predict` compiles a function; several in a row made TensorFlow warn of retracing."""
    import logging

    vectorizer, _ = tiny_model
    messages = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    logging.getLogger("tensorflow").addHandler(handler)
    try:
        for _ in range(6):
            sentiment.score_texts(sentiment.build_average_baseline(12, 4), vectorizer, ["good fun", "bad plot"])
    finally:
        logging.getLogger("tensorflow").removeHandler(handler)
    assert messages == []


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


# --- the bench's copies of the notebook's answers -------------------------------------------

def test_the_bench_computes_r_as_exercise_4_6_asks_and_its_svm_separates(capsys):
    import importlib.util
    from pathlib import Path

    from scipy import sparse

    path = Path(__file__).resolve().parent.parent / "bench" / "sentiment_accuracy.py"
    spec = importlib.util.spec_from_file_location("sentiment_accuracy", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    sentiment.check_log_count_ratios(bench.log_count_ratios)
    assert capsys.readouterr().out.startswith("PASS 4.6")
    features = sparse.csr_matrix(np.array([[1.0, 0, 2], [0, 1, 0], [2, 0, 1], [0, 2, 0]]))
    signs = np.array([1.0, -1, 1, -1])
    w, b = bench.squared_hinge_svm(features, signs, epochs=50)
    assert np.all(signs * (features @ w + b) > 0)
