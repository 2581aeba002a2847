"""ABC tunes as music: validity, novelty against the training tunes, sound, and piano rolls.

`check_abc` is the lab's one rule of validity: 3.7's count, the panel of 3.8, the tune view and the
critic of 3.9 all call it. Sound takes the best path this machine has: abc2midi + timidity or
fluidsynth when installed, otherwise music21 reads the ABC and a small NumPy synthesiser plays the
notes. Invalid ABC gets a clear message, never an exception.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import tempfile
import warnings
import wave
from collections import Counter
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path

import numpy as np

from labhelpers import abctext

MIN_NOTES = 8
SAMPLE_RATE = 22050
SECONDS_PER_QUARTER = 0.5  # 120 quarter notes a minute
NOTE_GAP = 0.15  # share of a note's length left blank at its end in a piano roll


@dataclass(frozen=True)
class Verdict:
    """Whether a tune is valid ABC, and why not."""

    valid: bool
    reason: str
    notes: int = 0


@lru_cache(maxsize=32)
def parse(abc: str):
    """The tune as a music21 score (raises on ABC that music21 cannot read). Cached: judging, playing
    and drawing one tune read it once; callers must not change the score."""
    import music21

    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):  # music21 warns on stderr: red text
        warnings.simplefilter("ignore")
        return music21.converter.parse(abc, format="abc")


RULE = ("a tune is valid when its header has the fields X:, M:, L: and K:, its K: names a key, "
        f"music21 reads at least {MIN_NOTES} notes from it, and abc2midi, when installed, converts it "
        "without an error")


def check_abc(abc: str) -> Verdict:
    """The lab's one validity rule (RULE): whether a tune is valid, and why not."""
    return _verdict(abc, shutil.which("abc2midi") is not None)


@lru_cache(maxsize=4096)  # 3.7, the panel and the critic judge the same tunes
def _verdict(abc: str, with_abc2midi: bool) -> Verdict:
    fields = abctext.header(abc)
    missing = [f"{name}:" for name in "XMLK" if name not in fields]
    if missing:
        return Verdict(False, f"header field(s) {', '.join(missing)} missing")
    if abctext.parse_key(fields["K"]) is None:
        return Verdict(False, f"K:{fields['K'][:40]} names no key")
    try:
        notes = len(parse(abc).flatten().notes)
    except Exception as error:  # music21 raises many kinds on bad ABC
        return Verdict(False, f"music21 cannot read it ({type(error).__name__}: {str(error)[:80]})")
    if notes < MIN_NOTES:
        return Verdict(False, f"only {notes} notes", notes)
    if with_abc2midi:
        problem = _abc2midi_problem(abc)
        if problem:
            return Verdict(False, f"abc2midi: {problem}", notes)
    return Verdict(True, "ok", notes)


def _abc2midi_problem(abc: str) -> str | None:
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "tune.abc"
        source.write_text(abc + "\n")
        run = subprocess.run(["abc2midi", str(source), "-o", str(Path(folder) / "tune.mid")],
                             capture_output=True, text=True, timeout=30)
        errors = [line for line in run.stdout.splitlines() if line.lower().startswith("error")]
        return errors[0][:100] if errors or run.returncode else None


# ---------------------------------------------------------------- novelty
def ngrams(text: str, n: int) -> set[str]:
    return {text[i:i + n] for i in range(len(text) - n + 1)}


def body(abc: str) -> str:
    """The notes of a tune, without its header lines."""
    return "\n".join(line for line in abc.splitlines() if not abctext.is_field(line))


class NoveltyIndex:
    """Answers "does a generated tune just copy the data?" against the training tunes."""

    def __init__(self, training_songs: list[str], n: int = 8):
        self.songs, self.n = training_songs, n
        self.owners: dict[str, set[int]] = {}
        for index, song in enumerate(training_songs):
            for gram in ngrams(body(song), n):
                self.owners.setdefault(gram, set()).add(index)

    def report(self, song: str) -> dict:
        """Nearest training tune, the share of n-grams seen in training, and the longest common run."""
        grams = ngrams(body(song), self.n)
        shared = Counter(i for gram in grams for i in self.owners.get(gram, ()))
        seen = sum(gram in self.owners for gram in grams) / max(len(grams), 1)
        if not shared:
            return {"nearest": None, "seen_ngrams": seen, "longest_common": 0, "nearest_title": None}
        nearest = shared.most_common(1)[0][0]
        a, b = body(song), body(self.songs[nearest])
        match = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
        return {"nearest": nearest, "seen_ngrams": seen, "longest_common": match.size,
                "nearest_title": title(self.songs[nearest])}


def title(abc: str) -> str:
    return next((line[2:].strip() for line in abc.splitlines() if line.startswith("T:")), "(untitled)")


# ---------------------------------------------------------------- sound
def notes_of(abc: str) -> list[tuple[float, float, int]]:
    """(start, duration, MIDI pitch) of every note, in seconds."""
    events = []
    for note in parse(abc).flatten().notes:
        start, duration = float(note.offset) * SECONDS_PER_QUARTER, float(note.quarterLength) * SECONDS_PER_QUARTER
        events.extend((start, duration, pitch.midi) for pitch in note.pitches)
    return events


RELEASE_SECONDS = 0.06  # each note fades to silence over its last 60 ms, so it ends without a click
RING_SECONDS = 0.15     # how long a note rings on after its written length


def envelope(length: int, rate: int = SAMPLE_RATE) -> np.ndarray:
    """A plucked note's loudness over `length` samples: 5 ms attack, decay, then a cosine release to 0."""
    t = np.arange(length) / rate
    release = np.clip((length / rate - t) / RELEASE_SECONDS, 0.0, 1.0)
    return np.exp(-3.0 * t) * np.minimum(1.0, t * 200) * np.sin(0.5 * np.pi * release) ** 2


def note_onsets(abc: str) -> list[tuple[float, float]]:
    """(start, duration) in seconds of each note or chord, in the order of the ABC, grace notes left
    out: one per note head that the notation highlights while the tune plays."""
    return [(float(note.offset) * SECONDS_PER_QUARTER, float(note.quarterLength) * SECONDS_PER_QUARTER)
            for note in parse(abc).flatten().notes if note.quarterLength > 0]


def synthesize(events, rate: int = SAMPLE_RATE) -> np.ndarray:
    """A plucked-string-like rendering of (start, duration, pitch) events, in [-1, 1]."""
    if not events:
        return np.zeros(rate // 2, "float32")
    total = max(start + duration for start, duration, _ in events) + 0.5
    audio = np.zeros(int(total * rate) + 1, "float32")
    for start, duration, pitch in events:
        frequency = 440.0 * 2 ** ((pitch - 69) / 12)
        t = np.arange(int((duration + RING_SECONDS) * rate)) / rate
        tone = sum(np.sin(2 * np.pi * k * frequency * t) / k ** 1.5 for k in (1, 2, 3))
        begin = int(start * rate)
        audio[begin:begin + len(t)] += (tone * envelope(len(t), rate)).astype("float32")[: len(audio) - begin]
    return audio / max(np.abs(audio).max(), 1e-9)


def wav_bytes(audio: np.ndarray, rate: int = SAMPLE_RATE) -> bytes:
    """A mono 16-bit WAV file of samples in [-1, 1], as bytes (for a browser's audio element)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


def sound_tools() -> str:
    """The sound path this machine takes."""
    if shutil.which("abc2midi") and (shutil.which("timidity") or shutil.which("fluidsynth")):
        return "abc2midi + " + ("timidity" if shutil.which("timidity") else "fluidsynth")
    return "music21 + NumPy synthesiser (install abcmidi and timidity for richer sound)"


def _render_with_tools(abc: str) -> str | None:
    """A WAV file made by abc2midi + timidity/fluidsynth, or None if they are missing or fail."""
    if not (shutil.which("abc2midi") and (shutil.which("timidity") or shutil.which("fluidsynth"))):
        return None
    folder = Path(tempfile.mkdtemp(prefix="seqlab-tune-"))
    (folder / "tune.abc").write_text(abc + "\n")
    midi, wav = folder / "tune.mid", folder / "tune.wav"
    subprocess.run(["abc2midi", str(folder / "tune.abc"), "-o", str(midi)], capture_output=True, timeout=30)
    if shutil.which("timidity"):
        command = ["timidity", str(midi), "-Ow", "-o", str(wav)]
    else:
        command = ["fluidsynth", "-ni", "-F", str(wav), "-r", str(SAMPLE_RATE), str(midi)]
    if midi.exists():
        subprocess.run(command, capture_output=True, timeout=60)
    return str(wav) if wav.exists() else None


def play(abc: str):
    """An audio player for a tune, or a clear message (and None) when the ABC is not playable."""
    from IPython.display import Audio

    verdict = check_abc(abc)
    if not verdict.valid:
        print(f"This tune cannot be played: {verdict.reason}. Generated tunes are sometimes broken; "
              "sample another one, or train longer for fewer broken tunes.")
        return None
    wav = _render_with_tools(abc)
    if wav:
        return Audio(filename=wav)
    return Audio(synthesize(notes_of(abc)), rate=SAMPLE_RATE)


# ---------------------------------------------------------------- pictures
def piano_roll(tunes: dict[str, str], seconds: float = 12.0):
    """Piano rolls (time vs pitch) of a few tunes, one panel each, on a shared pitch axis."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(tunes), 1, figsize=(10, 2.4 * len(tunes)), sharex=True, sharey=True, squeeze=False)
    for ax, (label, abc) in zip(axes[:, 0], tunes.items()):
        verdict = check_abc(abc)
        if not verdict.valid:
            ax.text(0.5, 0.5, f"not valid ABC: {verdict.reason}", ha="center", transform=ax.transAxes)
        else:
            for start, duration, pitch in notes_of(abc):
                if start < seconds:  # shortened by a gap, so repeated notes stay apart
                    ax.add_patch(plt.Rectangle((start, pitch - 0.4), duration * (1 - NOTE_GAP), 0.8, color="#1e40af"))
        ax.set_title(f"{label}: {title(abc)}")
        ax.set_ylabel("MIDI pitch")
    axes[-1, 0].set_xlabel("time (seconds, at 120 quarter notes a minute)")
    axes[-1, 0].set_xlim(0, seconds)
    axes[-1, 0].set_ylim(55, 90)
    fig.tight_layout()
    return fig
