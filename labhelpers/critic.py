"""A corpus critic: how generated tunes differ from the training tunes, feature by feature.

For each feature (meter, key, mode, unit length, bars, repeat structure, pitch range, and the
pitch classes, melodic intervals and note durations of all notes) it compares the two
distributions by their total variation distance, TV(p, q) = 1/2 sum |p - q|: 0 for the same
distribution, 1 for distributions with nothing in common. It reads every tune, valid or not
(labhelpers/abctext.py never raises); tunes it cannot read (no key or no notes) are counted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from fractions import Fraction

from labhelpers import abctext

PITCH_CLASSES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
METER_ALIASES = {"C": "4/4", "C|": "2/2"}
SECTION_ENDS = ("||", "|]")
# feature -> (label, what a share counts: "tunes" for one value per tune, "notes" for pooled values)
FEATURES = {
    "meter": ("meter (M:)", "tunes"), "key": ("key (K:)", "tunes"), "mode": ("mode", "tunes"),
    "unit": ("unit length (L:)", "tunes"), "bars": ("length in bars", "tunes"),
    "structure": ("parts and repeats", "tunes"), "range": ("pitch range (semitones)", "tunes"),
    "pitch_class": ("pitch classes", "notes"), "interval": ("melodic intervals (semitones)", "notes"),
    "duration": ("note durations (whole notes)", "notes"),
}


def structure(bar_lines: list[str]) -> str:
    """Repeat structure, e.g. "AABB": each section is a letter, written twice when repeated."""
    sections = []
    for bar in bar_lines:
        if bar.startswith(":"):
            sections.append("repeated")
        elif bar in SECTION_ENDS:
            sections.append("once")
    if not sections:
        return "one part, no repeats"
    if len(sections) > 4:
        return f"{len(sections)} parts"
    return "".join(chr(65 + i) * (2 if kind == "repeated" else 1) for i, kind in enumerate(sections))


def _binned(value: int, width: int) -> str:
    low = value // width * width
    return f"{low}-{low + width - 1}"


def features(abc: str) -> tuple[dict[str, str], dict[str, list[str]], bool]:
    """One tune's per-tune values, its pooled note values, and whether it could be read."""
    tune = abctext.read(abc)
    meter = tune.fields.get("M", "none").replace(" ", "")
    per_tune = {
        "meter": METER_ALIASES.get(meter, meter),
        "key": tune.key.name if tune.key else "none",
        "mode": tune.key.mode if tune.key else "none",
        "unit": tune.fields.get("L", "none").replace(" ", ""),
        "bars": _binned(tune.measures, 8) if tune.readable else "none",
        "structure": structure(tune.bar_lines) if tune.readable else "none",
        "range": _binned(max(tune.pitches) - min(tune.pitches), 4) if tune.readable else "none",
    }
    steps = [b - a for a, b in zip(tune.pitches, tune.pitches[1:])]
    pooled = {
        "pitch_class": [PITCH_CLASSES[p % 12] for p in tune.pitches],
        "interval": [f"{max(-12, min(12, s)):+d}" for s in steps],
        "duration": [str(Fraction(d)) for d in tune.durations],
    }
    return per_tune, pooled, tune.readable


@dataclass
class Profile:
    """The feature distributions of a set of tunes."""

    counts: dict[str, Counter]
    tunes: int
    unreadable: int

    @classmethod
    def of(cls, songs: list[str]) -> Profile:
        counts = {name: Counter() for name in FEATURES}
        unreadable = 0
        for song in songs:
            per_tune, pooled, readable = features(song)
            unreadable += not readable
            for name, value in per_tune.items():
                counts[name][value] += 1
            for name, values in pooled.items():
                counts[name].update(values)
        return cls(counts, len(songs), unreadable)

    def shares(self, name: str) -> dict[str, float]:
        total = sum(self.counts[name].values())
        return {value: n / total for value, n in self.counts[name].items()} if total else {}


def total_variation(p: dict[str, float], q: dict[str, float]) -> float:
    """1/2 sum |p - q| over the union of values; 1.0 when either side is empty."""
    if not p or not q:
        return 1.0
    return 0.5 * sum(abs(p.get(v, 0.0) - q.get(v, 0.0)) for v in set(p) | set(q))


@dataclass
class Report:
    """Generated tunes against a corpus: a distance per feature and a verdict in words."""

    generated: Profile
    corpus: Profile

    @property
    def distances(self) -> dict[str, float]:
        return {name: total_variation(self.generated.shares(name), self.corpus.shares(name)) for name in FEATURES}

    def biggest_gap(self, name: str) -> tuple[str, float, float]:
        """The value whose share differs most: (value, generated share, corpus share)."""
        p, q = self.generated.shares(name), self.corpus.shares(name)
        value = max(set(p) | set(q), key=lambda v: (abs(p.get(v, 0) - q.get(v, 0)), v))
        return value, p.get(value, 0.0), q.get(value, 0.0)

    def table(self):
        """One row per feature: the distance, and the value whose share differs most."""
        import pandas as pd

        rows = []
        for name, distance in self.distances.items():
            value, mine, theirs = self.biggest_gap(name)
            rows.append({"feature": FEATURES[name][0], "distance (TV)": round(distance, 3),
                         "largest gap": value, "generated": f"{mine:.0%}", "corpus": f"{theirs:.0%}"})
        return pd.DataFrame(rows).set_index("feature")

    def summary(self) -> str:
        """What the model got right and wrong, in two or three sentences."""
        ranked = sorted(self.distances.items(), key=lambda item: item[1])
        right = [FEATURES[name][0] for name, d in ranked if d < 0.1][:3]
        wrong = [(name, d) for name, d in reversed(ranked) if d >= 0.1][:2]
        unread = self.generated.unreadable
        lines = [f"{unread} of {self.generated.tunes} tunes could not be read (no key or no notes)."
                 if unread else f"All {self.generated.tunes} tunes could be read."]
        lines.append(f"Close to the corpus in {', '.join(right)}." if right
                     else "Far from the corpus in every feature.")
        for name, d in wrong:
            value, mine, theirs = self.biggest_gap(name)
            unit = FEATURES[name][1]
            lines.append(f"Off in {FEATURES[name][0]} (TV {d:.2f}): {value} in {mine:.0%} of its {unit}, "
                         f"the corpus {theirs:.0%}.")
        return " ".join(lines)

    def plot(self, names=("meter", "structure", "pitch_class", "interval", "duration"), top: int = 10):
        """Small side-by-side bar charts of a few features."""
        import matplotlib.pyplot as plt
        import numpy as np

        fig, axes = plt.subplots(1, len(names), figsize=(3.3 * len(names), 3.0))
        for ax, name in zip(axes, names):
            p, q = self.generated.shares(name), self.corpus.shares(name)
            values = sorted(set(p) | set(q), key=lambda v: -(q.get(v, 0) + p.get(v, 0)))[:top]
            x = np.arange(len(values))
            ax.bar(x - 0.2, [q.get(v, 0) for v in values], 0.4, label="corpus", color="#9ca3af")
            ax.bar(x + 0.2, [p.get(v, 0) for v in values], 0.4, label="generated", color="#1e40af")
            ax.set_xticks(x, values, rotation=60, fontsize=7)
            ax.set_title(f"{FEATURES[name][0]}\nTV {self.distances[name]:.2f}", fontsize=9)
            ax.set_ylabel(f"share of {FEATURES[name][1]}")
        axes[0].legend(fontsize=7)
        fig.tight_layout()
        return fig


def compare(generated: list[str], corpus: list[str]) -> Report:
    """The critic's report on `generated` tunes against `corpus` tunes."""
    return Report(Profile.of(generated), Profile.of(corpus))
