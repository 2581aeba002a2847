"""The sampling panel's Python side: each click says it is working before it samples, then shows the
tune, its verdict (the lab's one rule), its nearest training tune and the time taken; errors stay in
the panel."""

import keras
import pytest

from labhelpers import music, steer
from mutations.music import step_right

TRAINING = music.load_songs()[:30]
VOCAB = sorted(set(music.join_songs(TRAINING)))
CHAR2IDX = {c: i for i, c in enumerate(VOCAB)}


@pytest.fixture(scope="module")
def sampler():
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((None,)), keras.layers.Embedding(len(VOCAB), 4),
                              keras.layers.LSTM(8, return_sequences=True), keras.layers.Dense(len(VOCAB))])
    return music.Sampler(model, step_right, CHAR2IDX, VOCAB)


def test_a_click_samples_with_the_panel_settings(sampler):
    calls = []

    def generate(start, length, temperature):
        calls.append((start, length, temperature))
        return sampler.sample(start, 1, length, temperature)[0]

    panel = steer.SamplerPanel(generate, TRAINING, start="X:1\nT:", length=200, temperature=1.3)
    result = panel.click()
    assert calls == [("X:1\nT:", 200, 1.3)]
    assert result["song"].startswith("X:1\nT:") and panel.view.abc == result["song"]
    assert result["valid"] is False and panel.view.problem, "an untrained model writes no valid tune"
    assert 0 < result["sample_seconds"] <= result["seconds"] < 30
    assert "temperature 1.30: <b>not valid ABC</b>" in panel.status.value


def test_a_training_tune_is_valid_and_its_own_nearest():
    song = TRAINING[7]
    panel = steer.SamplerPanel(lambda start, length, temperature: song + "\n\nX:2\nT:next", TRAINING)
    result = panel.click()
    assert result["song"] == song and result["valid"] and panel.view.wav[:4] == b"RIFF"
    assert result["nearest"]["nearest"] == 7 and result["nearest"]["seen_ngrams"] == 1.0
    assert f"nearest training tune <i>{result['nearest']['nearest_title']}</i>: 100%" in panel.status.value


def test_an_unknown_seed_character_is_reported_in_the_panel(sampler):
    panel = steer.SamplerPanel(lambda s, n, t: sampler.sample(s, 1, n, t)[0], TRAINING, start="X:€")
    result = panel.click()
    assert result == {"error": "KeyError: '€'"}
    assert panel.status.value.startswith("<b>Could not sample:</b> KeyError") and not panel.button.disabled
    assert panel.view.busy == ""


def test_a_click_says_it_is_working_before_the_work_and_replaces_it_after():
    seen = []

    def generate(start, length, temperature):
        seen.append((panel.status.value, panel.view.busy, panel.button.disabled))
        return TRAINING[3]

    panel = steer.SamplerPanel(generate, TRAINING, length=300, temperature=0.7)
    panel.click()
    assert seen == [("<i>sampling 300 characters at temperature 0.70...</i>", "sampling a new tune...", True)]
    assert panel.status.value.startswith("temperature 0.70: <b>valid ABC</b>") and panel.view.busy == ""


def test_the_button_calls_click(monkeypatch):
    panel = steer.SamplerPanel(lambda s, n, t: TRAINING[0], TRAINING)
    clicked = []
    monkeypatch.setattr(panel, "click", lambda: clicked.append(True))
    panel.button.click()
    assert clicked == [True]
