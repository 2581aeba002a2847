"""Lab 03: the tunes, the checks on right, wrong, forged and stale answers, training, sampling, media.

Runs on the Keras backend of its process (KERAS_BACKEND), with the mutation table's rows written for it."""

import re

import keras
import numpy as np
import pytest

from labhelpers import music, tunes
from labhelpers.autodiff import value_and_gradients
from labhelpers.grading import NotAttempted, find_exercise, learner_seed, pack
from labhelpers.judges.music import reference
from labhelpers.judges.music.model_judges import draw_weights
from labhelpers.probes.music import reference_layers
from mutations import Right
from mutations import music as table

BACKEND = keras.backend.backend()

TUNE = "X:1\nT:Test Reel\nM:C\nL:1/8\nK:D Major\n|:dAFA DFAd|fdcd FAdf|gfge fefd|edcB A4:|"


# ---------------------------------------------------------------- data
def test_songs_are_whole_tunes_with_the_two_flaws_mended():
    text = music.mitdl.data_file("irish.abc").read_text()
    snippets = music.split_snippets(text)
    songs = music.load_songs()
    assert len(snippets) == 817
    assert len(songs) == 804 and len(set(songs)) == 804 and all(s.startswith("X:") for s in songs)
    assert songs[-1] in text and songs[-1].endswith(text.rstrip("\n")[-20:])  # the last tune is kept
    headerless = [s for s in snippets if not s.lstrip("\n").startswith("X:")]
    assert len(headerless) == 2 and all(any(s.endswith(h) for s in songs) for h in headerless)


def test_split_is_fixed_and_disjoint():
    songs = music.load_songs()
    train, val = music.split_songs(songs)
    assert music.split_songs(list(reversed(songs)))[1] == list(reversed(val))
    assert 50 < len(val) < 110 and not set(train) & set(val)


def test_load_songs_handles_crafted_text():
    text = "X:1\nK:D\nabc\n\n\nX:2\nK:G\n\nGAB\n\nX:3\nK:A\nA"
    assert music.load_songs(text) == ["X:1\nK:D\nabc", "X:2\nK:G\nGAB", "X:3\nK:A\nA"]


# ---------------------------------------------------------------- the checks
CHECKS = {"3.1": music.check_vectorize_string, "3.2": music.check_get_batch, "3.3": music.check_build_model,
          "3.4": music.check_compute_loss, "3.5": music.check_train_step, "3.6a": music.check_sampling_step,
          "3.6": music.check_generate_text}


def first(rows, exercise, count=1):
    """The first rows of an exercise written for this process's backend."""
    return [row for row in rows if row.exercise == exercise and BACKEND in row.backends][:count]


def row_id(row) -> str:
    return f"{row.exercise} {row.style if isinstance(row, Right) else row.mistake}"


def test_mits_get_batch_is_told_which_starts_it_never_draws(rejected):
    message = rejected(music.check_get_batch, table.batch_mit, "3.2")
    assert "never drawn" in message and "RandomState" not in message and "line" not in message


@pytest.mark.parametrize("row", first(table.RIGHT, "3.2", 9), ids=row_id)
def test_right_batches_pass_mitdeeplearnings_own_batch_tests(row):
    lab1, args = music.mitdl.lab1(), (np.arange(2000) % 50, 100, 8)
    for test in (lab1.test_batch_func_types, lab1.test_batch_func_shapes, lab1.test_batch_func_next_step):
        assert test(*row.answer(), args)


def test_get_batch_check_leaves_numpys_generator_as_it_was():
    np.random.seed(5)
    expected = np.random.rand()
    np.random.seed(5)
    music.check_get_batch(table.batch_right)
    assert np.random.rand() == expected


def stub(*args):
    raise NotImplementedError("Exercise 3.x: replace this line with your code")


def compiled(function):
    """The function compiled as the notebook's train_step is on this backend (PyTorch's runs eagerly)."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return tf.function(function)
    if BACKEND == "jax":
        import jax

        return jax.jit(function, static_argnums=(0, 1))
    return function


@pytest.mark.parametrize("exercise, answer", [("3.1", (stub, table.C2I)), ("3.2", (stub,)), ("3.3", (stub,)),
                                              ("3.4", (stub,)), ("3.5", (compiled(stub),)), ("3.6a", (stub,)),
                                              ("3.6", (stub,))])
def test_stubs_are_reported_as_not_attempted(exercise, answer):
    with pytest.raises(NotAttempted, match="not done yet"):
        CHECKS[exercise](*answer)


@pytest.mark.parametrize("exercise", sorted(CHECKS))
def test_a_grader_seed_draws_other_inputs_and_judges_alike(exercise):
    """What `grade` does with a student's hidden seed: new inputs, the same verdicts."""
    check = find_exercise(exercise)
    inputs = check.inputs(4321)
    assert pack(inputs) != pack(check.inputs(learner_seed(exercise)))
    right = first(table.RIGHT, exercise)[0]
    assert check.decide(inputs, check.collect(right.answer(), inputs)).status == "passed"
    for wrong in first(table.WRONG, exercise, 3):
        result = check.decide(inputs, check.collect(wrong.answer(), inputs))
        assert result.status == "failed" and re.search(wrong.names, result.message, re.IGNORECASE | re.DOTALL)


@pytest.mark.parametrize("exercise", sorted(CHECKS))
def test_right_answers_data_from_other_inputs_fails(exercise):
    """The judge passes only what was computed on its own inputs: a replayed right answer fails."""
    check = find_exercise(exercise)
    mine, theirs = check.inputs(1), check.inputs(2)
    right = first(table.RIGHT, exercise)[0]
    assert check.decide(theirs, check.collect(right.answer(), mine)).status == "failed"


@pytest.mark.parametrize("exercise", sorted(CHECKS))
@pytest.mark.parametrize("record", [{}, {"cases": "all passed", "runs": None, "returned": []},
                                    {"cases": [{}] * 3, "runs": [{}] * 3, "returned": [{}] * 4, "kinds": ["str"] * 4},
                                    {"compiled": True, "cases": [{"returned": 1.0, "kind": "float", "weights": [],
                                                                  "eager_calls": 0, "gradient": None}] * 2}])
def test_judges_fail_forged_records_with_a_message(exercise, record):
    check = find_exercise(exercise)
    result = check.decide(check.inputs(0), pack(record))
    assert result.status == "failed" and "could not make sense" not in result.message, result.message


# ---------------------------------------------------------------- training and sampling
VOCAB = sorted(set(TUNE + "|: 0123456789"))
C2I = {c: i for i, c in enumerate(VOCAB)}


@pytest.fixture
def tiny_model():
    keras.utils.set_random_seed(1)
    model = table.model_right(len(VOCAB), 4, 8)
    model.build((None, None))
    return model


def test_sampler_generates_many_songs_with_the_start(tiny_model):
    texts = music.Sampler(tiny_model, table.step_right, C2I, VOCAB).sample("X:", 5, 30, 1.0)
    assert len(texts) == 5 and all(t.startswith("X:") and len(t) == 32 for t in texts)
    assert all(set(t) <= set(VOCAB) for t in texts)


@pytest.mark.parametrize("row", first(table.RIGHT, "3.6a", 3), ids=row_id)
def test_model_step_with_a_right_sampling_step_agrees_with_the_model(tiny_model, row):
    ids = np.array([[C2I[c] for c in TUNE[:12]]])
    full = keras.ops.convert_to_numpy(tiny_model(ids))[0, -1]
    step = music.ModelStep(tiny_model, *row.answer())
    state = step.initial_state(1)
    for i in ids[0]:
        logits, state = step(np.array([i]), state)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(logits)[0], full, atol=1e-5)
    assert isinstance(state, list)  # as initial_state gives it, whatever the step returns


def test_sampler_runs_the_sampling_step_it_is_given(tiny_model):
    traced = []

    def spy(*args):
        traced.append(args[-2])
        return table.step_right(*args)

    music.Sampler(tiny_model, spy, C2I, VOCAB).sample("X:", 2, 5)
    assert traced  # the learner's step is traced into the sampler's graph: it has no step of its own


TRAIN_STEPS = {"tensorflow": table.make_step, "jax": table.make_jax_step, "torch": table.make_torch_step}


def run_training(model, optimizer, data, checkpoint, steps):
    """The notebook's training loop, on a tiny model."""
    log, batches = music.TrainingLog(model, checkpoint, live_plot=False), music.validation_batches(data, 20, 8)
    train_step = TRAIN_STEPS[BACKEND]()
    for step in log.steps(steps):
        x, y = table.batch_right(data, 20, 4)
        log.add(train_step(model, optimizer, x, y))
        if step % 3 == 0 or step == steps:
            log.evaluate(step, music.evaluate(model, batches))
    return log.history


def test_training_resumes_from_checkpoint(tiny_model, tmp_path, capsys):
    data = np.array([C2I[c] for c in TUNE * 20])
    optimizer = keras.optimizers.Adam(0.01)
    optimizer.build(tiny_model.trainable_variables)
    checkpoint = music.Checkpoint(tmp_path / "music")
    history = run_training(tiny_model, optimizer, data, checkpoint, steps=6)
    assert history["step"] == [3, 6] and checkpoint.weights.name == "music.weights.h5"
    again = run_training(tiny_model, optimizer, data, checkpoint, steps=9)
    assert again["step"] == [3, 6, 9] and "Resumed" in capsys.readouterr().out
    assert again["seconds"][2] >= again["seconds"][1]  # the clock runs on from the checkpoint
    other = table.model_right(len(VOCAB), 4, 16)
    other.build((None, None))
    assert checkpoint.restore(other) is None


def test_training_moves_the_loss_down_and_the_model_evaluates_alike_compiled_or_not(tiny_model):
    data = np.array([C2I[c] for c in TUNE * 20])
    optimizer = keras.optimizers.Adam(0.01)
    optimizer.build(tiny_model.trainable_variables)
    batches = music.validation_batches(data, 20, 8)
    before = music.evaluate(tiny_model, batches)
    train_step = TRAIN_STEPS[BACKEND]()
    for _ in range(5):
        train_step(tiny_model, optimizer, *table.batch_right(data, 20, 4))
    after = music.evaluate(tiny_model, batches)
    eager = np.mean([keras.ops.convert_to_numpy(table.per_char(y, tiny_model(x))).mean() for x, y in batches[:1]])
    assert after < before and np.isclose(music.evaluate(tiny_model, batches[:1]), eager, atol=1e-5)


# ---------------------------------------------------------------- the judges' NumPy reference
def test_the_judges_numpy_model_equals_keras_layers_and_their_gradients():
    """reference.py, which the judges of 3.3, 3.5 and 3.6a use, against Keras' layers on this backend: logits from
    a given state, and the gradient of the loss (through labhelpers.autodiff) with the LSTM's outputs scaled."""
    rng = np.random.default_rng(3)
    weights = draw_weights(rng, 11, 5, 7)
    ids, labels = rng.integers(0, 11, (3, 6)), rng.integers(0, 11, (3, 6))
    h, c = rng.uniform(-0.9, 0.9, (3, 7)), 1.5 * rng.normal(size=(3, 7))
    embedding, lstm, dense = reference_layers(weights)
    cell = keras.layers.RNN(lstm.cell, return_sequences=True, return_state=True)
    outputs, h_keras, c_keras = cell(embedding(ids), initial_state=[h.astype("float32"), c.astype("float32")])
    logits, h_numpy, c_numpy = reference.logits(weights, ids, h, c)
    for mine, keras_value in ((logits, dense(outputs)), (h_numpy, h_keras), (c_numpy, c_keras)):
        np.testing.assert_allclose(mine, keras.ops.convert_to_numpy(keras_value), atol=2e-5)
    scale = 1.7
    variables = [*embedding.trainable_variables, *lstm.trainable_variables, *dense.trainable_variables]

    def run(x):  # the embedding as a product with one-hot rows: a dense gradient on TensorFlow too
        embedded = keras.ops.matmul(keras.ops.one_hot(x, 11), embedding.embeddings)
        return keras.ops.mean(table.per_char(labels, dense(lstm(embedded) * scale))), None

    _, loss, gradients, _ = value_and_gradients(run, variables, [ids])
    mine, my_gradients = reference.loss_and_gradients(weights, ids, labels, scale)
    assert np.isclose(mine, float(keras.ops.convert_to_numpy(loss)), atol=1e-5)
    for g, expected in zip(my_gradients, gradients):
        np.testing.assert_allclose(g, expected, atol=2e-6)


# ---------------------------------------------------------------- tunes: validity, novelty, sound
def test_check_abc_accepts_real_tunes_and_names_problems():
    assert tunes.check_abc(TUNE).valid
    assert tunes.check_abc(music.load_songs()[5]).valid
    assert "header field(s) M:, L: missing" in tunes.check_abc("X:1\nT:t\nK:D\nabcdefgabc").reason
    assert "only 3 notes" in tunes.check_abc("X:1\nM:C\nL:1/8\nK:D\nabc").reason
    assert "music21 cannot read it" in tunes.check_abc("X:1\nM:C\nL:1/8\nK:D\n[[[[(((1|T:x").reason


def test_play_explains_invalid_abc(capsys):
    assert tunes.play("X:1\nK:D\nzz((((|||]]]") is None
    assert "cannot be played" in capsys.readouterr().out


def test_play_valid_tune_returns_audio():
    audio = tunes.play(TUNE)
    assert audio is not None and len(audio.data) > 1000


def test_synthesizer_renders_notes():
    events = tunes.notes_of(TUNE)
    assert len(events) == 29 and events[0][2] == 74  # d above middle C
    audio = tunes.synthesize(events)
    assert audio.dtype == np.float32 and np.abs(audio).max() == pytest.approx(1.0)


def test_novelty_flags_a_copy_and_not_a_new_tune():
    songs = music.load_songs()[:50]
    index = tunes.NoveltyIndex(songs)
    copy = index.report(songs[7])
    assert copy["nearest"] == 7 and copy["seen_ngrams"] == 1.0 and copy["longest_common"] == len(tunes.body(songs[7]))
    fresh = index.report("X:1\nM:C\nL:1/8\nK:C\n" + "C,D,E,F, G,A,B,C " * 4)
    assert fresh["seen_ngrams"] < 0.2
