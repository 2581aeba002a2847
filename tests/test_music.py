"""Lab 03: the tunes, the exercise checks (right answers pass, wrong ones are named), media."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from labhelpers import music, tunes
from labhelpers.grading import CheckFailed

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


# ---------------------------------------------------------------- 3.1 vectorize_string
VOCAB = sorted(set(TUNE + "|: 0123456789"))
C2I = {c: i for i, c in enumerate(VOCAB)}


def test_vectorize_string_accepts(capsys):
    music.check_vectorize_string(lambda s: np.array([C2I[c] for c in s]), C2I)
    assert "PASS 3.1" in capsys.readouterr().out


@pytest.mark.parametrize("answer, diagnosis", [
    (lambda s: [C2I[c] for c in s], "must return a NumPy array"),
    (lambda s: np.array([C2I[c] for c in s if c != "\n"]), "wrong length"),
    (lambda s: np.array([C2I[c] for c in s], dtype="float32"), "not integers"),
    (lambda s: np.array([C2I[c] + 1 for c in s]), "wrong index"),
])
def test_vectorize_string_rejects(answer, diagnosis, rejected):
    assert diagnosis in rejected(lambda a: music.check_vectorize_string(a, C2I), answer, "3.1")


# ---------------------------------------------------------------- 3.2 get_batch
def batch_unshifted(data, n, b):
    x, _ = music.reference_get_batch(data, n, b)
    return x, x.copy()


def batch_shift_two(data, n, b):
    s = np.random.randint(0, len(data) - n - 2, b)
    return np.stack([data[i:i + n] for i in s]), np.stack([data[i + 2:i + n + 2] for i in s])


def batch_not_random(data, n, b):
    return np.stack([data[:n]] * b), np.stack([data[1:n + 1]] * b)


def batch_tensors(data, n, b):
    return tuple(tf.constant(v) for v in music.reference_get_batch(data, n, b))


def batch_off_the_end(data, n, b):
    s = np.random.randint(1, len(data) - n + 1, b)
    return np.stack([data[i:i + n] for i in s]), np.stack([np.resize(data[i + 1:i + n + 1], n) for i in s])


def batch_scattered(data, n, b):
    chars = np.random.choice(data, (b, n + 1))
    return chars[:, :-1], chars[:, 1:]


def batch_transposed(data, n, b):
    x, y = music.reference_get_batch(data, n, b)
    return x.T, y.T


def test_get_batch_accepts(capsys):
    music.check_get_batch(music.reference_get_batch)
    assert "mitdeeplearning's 3 batch tests pass" in capsys.readouterr().out


@pytest.mark.parametrize("answer, diagnosis", [
    (batch_unshifted, "the labels are the inputs"),
    (batch_shift_two, "not the inputs shifted by one"),
    (batch_not_random, "not random"),
    (batch_tensors, "not a NumPy array"),
    (batch_transposed, "wrong shape"),
    (batch_scattered, "not consecutive characters"),
    (batch_off_the_end, "one character longer"),
])
def test_get_batch_rejects(answer, diagnosis, rejected):
    assert diagnosis in rejected(music.check_get_batch, answer, "3.2")


# ---------------------------------------------------------------- 3.3 build_model
def model_right(v, e, u, dropout=0.0):
    return keras.Sequential([keras.layers.Embedding(v, e), keras.layers.LSTM(u, return_sequences=True),
                             keras.layers.Dropout(dropout), keras.layers.Dense(v)])


def model_no_dropout_argument(v, e, u):
    return keras.Sequential([keras.layers.Embedding(v, e), keras.layers.LSTM(u, return_sequences=True),
                             keras.layers.Dense(v)])


def model_dropout_ignored(v, e, u, dropout=0.0):
    return model_no_dropout_argument(v, e, u)


class AlwaysDropout(keras.layers.Layer):
    """A wrong dropout: active at inference too."""

    def call(self, inputs):
        return keras.random.dropout(inputs, 0.5)


def model_dropout_always(v, e, u, dropout=0.0):
    return keras.Sequential([keras.layers.Embedding(v, e), keras.layers.LSTM(u, return_sequences=True),
                             AlwaysDropout(), keras.layers.Dense(v)])


def test_build_model_accepts(capsys):
    music.check_build_model(model_right)
    assert "PASS 3.3" in capsys.readouterr().out


@pytest.mark.parametrize("answer, diagnosis", [
    (lambda v, e, u: keras.Sequential([keras.layers.Embedding(v, e), keras.layers.LSTM(u), keras.layers.Dense(v)]),
     "return_sequences=True"),
    (lambda v, e, u: keras.Sequential([model_right(v, e, u), keras.layers.Softmax()]), "outputs probabilities"),
    (lambda v, e, u: keras.Sequential([keras.layers.Embedding(v, e), keras.layers.LSTM(u, return_sequences=True),
                                       keras.layers.Dense(v, activation="softmax")]), "outputs probabilities"),
    (lambda v, e, u: keras.Sequential([keras.layers.Embedding(v, e), keras.layers.SimpleRNN(u, return_sequences=True),
                                       keras.layers.Dense(v)]), "not Embedding -> LSTM -> Dense"),
    (lambda v, e, u: keras.Sequential([keras.layers.Embedding(v, e), keras.layers.Dense(u), keras.layers.Dense(v)]),
     "ignores the first character"),
    (model_no_dropout_argument, "does not take a `dropout` argument"),
    (model_dropout_ignored, "changed nothing while training"),
    (model_dropout_always, "different outputs for the same input when not training"),
])
def test_build_model_rejects(answer, diagnosis, rejected):
    assert diagnosis in rejected(music.check_build_model, answer, "3.3")


# ---------------------------------------------------------------- 3.4 compute_loss
def test_compute_loss_accepts(capsys):
    music.check_compute_loss(lambda y, z: tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, z, from_logits=True)))
    assert "PASS 3.4" in capsys.readouterr().out


@pytest.mark.parametrize("answer, diagnosis", [
    (lambda y, z: tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, z)), "treated as probabilities"),
    (lambda y, z: tf.reduce_sum(keras.losses.sparse_categorical_crossentropy(y, z, from_logits=True)), "summed"),
    (lambda y, z: tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, z, from_logits=True)) / 2, "differs"),
])
def test_compute_loss_rejects(answer, diagnosis, rejected):
    assert diagnosis in rejected(music.check_compute_loss, answer, "3.4")


def test_compute_loss_names_the_untrained_loss():
    def off_for_uniform(y, z):
        loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, z, from_logits=True))
        return tf.where(tf.reduce_all(z == 0), loss + 1.0, loss)

    with pytest.raises(CheckFailed, match=r"ln\(vocab\)"):
        music.check_compute_loss(off_for_uniform)


# ---------------------------------------------------------------- 3.5 train_step
def make_step(sign=1.0, apply=True, compiled=True, return_after=False, training=True):
    def step(model, optimizer, x, y):
        with tf.GradientTape() as tape:
            loss = music._mean_loss(y, model(x, training=training))
        grads = tape.gradient(loss, model.trainable_variables)
        if apply:
            optimizer.apply_gradients([(sign * tf.convert_to_tensor(g), v) for g, v in zip(grads, model.trainable_variables)])
        return music._mean_loss(y, model(x)) if return_after else loss
    return tf.function(step) if compiled else step


def test_train_step_accepts(capsys):
    music.check_train_step(make_step())
    assert "PASS 3.5" in capsys.readouterr().out


@pytest.mark.parametrize("answer, diagnosis", [
    (make_step(compiled=False), "@tf.function"),
    (make_step(apply=False), "did not change"),
    (make_step(sign=-1.0), "went up"),
    (make_step(sign=0.5), "off by up to"),
    (make_step(return_after=True), "before the step"),
    (make_step(training=False), "not called in training mode"),
    (make_step(training=None), "not called in training mode"),
])
def test_train_step_rejects(answer, diagnosis, rejected):
    assert diagnosis in rejected(music.check_train_step, answer, "3.5")


# ---------------------------------------------------------------- 3.6 generate_text
def make_generate(carry=True, divide=True, greedy=False, probabilities=False):
    def generate(step, start, length, temperature, char2idx, idx2char):
        state = step.initial_state(1)
        first = state
        for char in start:
            logits, state = step(tf.constant([char2idx[char]]), state if carry else first)
        out = []
        for _ in range(length):
            scaled = logits / temperature if divide else logits * temperature
            if probabilities:
                scaled = tf.nn.softmax(scaled)
            next_id = int(tf.argmax(scaled[0])) if greedy else int(tf.random.categorical(scaled, 1)[0, 0])
            out.append(idx2char[next_id])
            logits, state = step(tf.constant([next_id]), state if carry else first)
        return start + "".join(out)
    return generate


def test_generate_text_accepts(capsys):
    music.check_generate_text(make_generate())
    assert "PASS 3.6" in capsys.readouterr().out


@pytest.mark.parametrize("answer, diagnosis", [
    (make_generate(carry=False), "the state is not carried"),
    (make_generate(divide=False), "does not sharpen"),
    (make_generate(greedy=True), "always the most likely"),
    (make_generate(probabilities=True), "does not sharpen"),
    (lambda step, start, *args: make_generate()(step, start, *args)[len(start):], "start string followed"),
])
def test_generate_text_rejects(answer, diagnosis, rejected):
    assert diagnosis in rejected(music.check_generate_text, answer, "3.6")


# ---------------------------------------------------------------- training and sampling
@pytest.fixture
def tiny_model():
    keras.utils.set_random_seed(1)
    model = model_right(len(VOCAB), 4, 8)
    model.build((None, None))
    return model


def test_sampler_generates_many_songs_with_the_start(tiny_model):
    texts = music.Sampler(tiny_model, C2I, VOCAB).sample("X:", 5, 30, 1.0)
    assert len(texts) == 5 and all(t.startswith("X:") and len(t) == 32 for t in texts)
    assert all(set(t) <= set(VOCAB) for t in texts)


def test_sampler_and_step_agree_with_the_model(tiny_model):
    ids = np.array([[C2I[c] for c in TUNE[:12]]])
    full = tiny_model(ids).numpy()[0, -1]
    step = music.ModelStep(tiny_model)
    state = step.initial_state(1)
    for i in ids[0]:
        logits, state = step(tf.constant([i]), state)
    np.testing.assert_allclose(logits.numpy()[0], full, atol=1e-5)


def test_training_resumes_from_checkpoint(tiny_model, tmp_path, capsys):
    data = np.array([C2I[c] for c in TUNE * 20])
    optimizer = keras.optimizers.Adam(0.01)
    optimizer.build(tiny_model.trainable_variables)
    checkpoint = music.Checkpoint(tmp_path / "music")
    batches = music.validation_batches(data, 20, 8)
    history = music.train(tiny_model, optimizer, make_step(), lambda: music.reference_get_batch(data, 20, 4),
                          batches, steps=6, eval_every=3, checkpoint=checkpoint, live_plot=False)
    assert history["step"] == [3, 6] and checkpoint.weights.name == "music.weights.h5"
    again = music.train(tiny_model, optimizer, make_step(), lambda: music.reference_get_batch(data, 20, 4),
                        batches, steps=9, eval_every=3, checkpoint=checkpoint, live_plot=False)
    assert again["step"] == [3, 6, 9] and "Resumed" in capsys.readouterr().out
    other = model_right(len(VOCAB), 4, 16)
    other.build((None, None))
    assert checkpoint.restore(other) is None


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
