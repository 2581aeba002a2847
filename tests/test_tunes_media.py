"""Lab 03 media: the synthesiser's notes end without a click, piano rolls keep repeated notes apart."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from labhelpers import tunes  # noqa: E402

RATE = tunes.SAMPLE_RATE


def tail_share(audio) -> float:
    """The loudness of a lone quarter note's last 5 ms, as a share of its peak."""
    sounding = int((0.25 + tunes.RING_SECONDS) * RATE)
    return np.abs(audio[sounding - int(0.005 * RATE):sounding]).max() / np.abs(audio[:sounding]).max()


def test_a_note_fades_to_silence_before_it_stops():
    audio = tunes.synthesize([(0.0, 0.25, 69)])
    assert tail_share(audio) < 0.02, f"the note ends at {tail_share(audio):.0%} of its peak: a click"
    assert np.abs(audio[int((0.25 + tunes.RING_SECONDS) * RATE):]).max() == 0


def test_a_cut_note_is_caught(monkeypatch):
    """The envelope the synthesiser had before (no release) fails the measure."""
    monkeypatch.setattr(tunes, "envelope", lambda n, rate=RATE: np.exp(-3.0 * np.arange(n) / rate)
                        * np.minimum(1.0, np.arange(n) / rate * 200))
    assert tail_share(tunes.synthesize([(0.0, 0.25, 69)])) > 0.2


def test_envelope_starts_and_ends_at_zero():
    envelope = tunes.envelope(int(0.5 * RATE))
    assert envelope[0] == 0 and envelope[-1] < 1e-6 and envelope.max() > 0.9


def roll_gaps(abc: str) -> list[float]:
    """Seconds between consecutive bars of a one-voice piano roll."""
    fig = tunes.piano_roll({"tune": abc})
    bars = sorted((patch.get_x(), patch.get_x() + patch.get_width()) for patch in fig.axes[0].patches)
    plt.close(fig)
    return [b[0] - a[1] for a, b in zip(bars, bars[1:])]


FOUR_CS = "X:1\nT:Four\nM:4/4\nL:1/4\nK:C\nCCCC|CCCC|"


def test_piano_roll_keeps_repeated_notes_apart():
    gaps = roll_gaps(FOUR_CS)
    assert len(gaps) == 7, "one bar per note"
    assert min(gaps) > 0.02, f"repeated notes touch: gaps {gaps}"


def test_piano_roll_without_gaps_is_caught(monkeypatch):
    monkeypatch.setattr(tunes, "NOTE_GAP", 0.0)
    assert max(roll_gaps(FOUR_CS)) < 1e-9


def test_wav_bytes_is_a_16_bit_wav():
    data = tunes.wav_bytes(np.array([0.0, 0.5, -1.0]))
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE" and len(data) == 44 + 6
    assert np.frombuffer(data[44:], "<i2").tolist() == [0, 16383, -32767]


def test_note_onsets_follow_the_abc_and_skip_grace_notes():
    onsets = tunes.note_onsets("X:1\nT:t\nM:4/4\nL:1/8\nK:D\n{g}A2 Bc d4|")
    assert onsets == [(0.0, 0.5), (0.5, 0.25), (0.75, 0.25), (1.0, 1.0)]


def test_reading_broken_notes_prints_nothing(capfd):
    """music21 writes its warnings to stderr, which a notebook shows in red; judging a tune stays quiet."""
    verdict = tunes.check_abc("X:1\nT:t\nM:C\nL:1/8\nK:D\nABcd p efga|ABcd efga|")  # music21: "no pitch in p"
    captured = capfd.readouterr()
    assert verdict.notes > 0 and captured.err == "" and captured.out == ""
