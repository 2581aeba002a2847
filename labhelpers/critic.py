"""A corpus critic: how generated tunes differ from the training tunes, feature by feature.

For each feature (meter, key, mode, unit length, bars, repeat structure, pitch range, and the
pitch classes, melodic intervals and note durations of all notes) it compares the two
distributions by their total variation distance, TV(p, q) = 1/2 sum |p - q|: 0 for the same
distribution, 1 for distributions with nothing in common. It reads every tune, valid or not
(labhelpers/abctext.py never raises), and counts the invalid ones by the lab's one rule,
`tunes.check_abc`. A distance between samples is never 0, even when they come from one corpus: the
bootstrap `floor` measures how far `n` tunes drawn at random from the corpus are from it, the
yardstick for `n` generated tunes.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property, lru_cache
from statistics import mean, stdev

from labhelpers import abctext
from labhelpers.tunes import check_abc

UNREADABLE = "other/unreadable"  # a field value that is not a meter (or a unit length)
METER = re.compile(r"[1-9][0-9]?/[1-9][0-9]?")

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


def fraction_field(value: str | None) -> str:
    """A meter or unit length as written ("6/8"; C and C| as 4/4 and 2/2), "none" when missing, and
    UNREADABLE when it is neither: one bar for all garbage instead of a label each."""
    if value is None:
        return "none"
    value = METER_ALIASES.get(value.replace(" ", ""), value.replace(" ", ""))
    return value if METER.fullmatch(value) else UNREADABLE


@lru_cache(maxsize=8192)  # the corpus is read again by every comparison and bootstrap draw
def features(abc: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    """One tune's per-tune values and its pooled note values (do not change them: they are cached)."""
    tune = abctext.read(abc)
    per_tune = {
        "meter": fraction_field(tune.fields.get("M")),
        "key": tune.key.name if tune.key else "none",
        "mode": tune.key.mode if tune.key else "none",
        "unit": fraction_field(tune.fields.get("L")),
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
    return per_tune, pooled


@dataclass
class Profile:
    """The feature distributions of a set of tunes."""

    counts: dict[str, Counter]
    songs: list[str]

    @classmethod
    def of(cls, songs: list[str]) -> Profile:
        counts = {name: Counter() for name in FEATURES}
        for song in songs:
            per_tune, pooled = features(song)
            for name, value in per_tune.items():
                counts[name][value] += 1
            for name, values in pooled.items():
                counts[name].update(values)
        return cls(counts, list(songs))

    @property
    def tunes(self) -> int:
        return len(self.songs)

    @cached_property
    def invalid(self) -> int:
        """Tunes that are not valid ABC by tunes.check_abc (asked only when needed: music21 is slow)."""
        return sum(not check_abc(song).valid for song in self.songs)

    def shares(self, name: str) -> dict[str, float]:
        total = sum(self.counts[name].values())
        return {value: n / total for value, n in self.counts[name].items()} if total else {}


def total_variation(p: dict[str, float], q: dict[str, float]) -> float:
    """1/2 sum |p - q| over the union of values; 1.0 when either side is empty."""
    if not p or not q:
        return 1.0
    return 0.5 * sum(abs(p.get(v, 0.0) - q.get(v, 0.0)) for v in set(p) | set(q))


@dataclass(frozen=True)
class Floor:
    """The distances of `tunes` tunes drawn at random from the corpus to the corpus, over `draws` draws."""

    mean: float
    sd: float
    tunes: int
    draws: int

    @property
    def high(self) -> float:
        """Where the floor ends: a distance above it is more than sampling noise."""
        return self.mean + 2 * self.sd

    def __str__(self) -> str:
        return f"{self.mean:.3f} ± {self.sd:.3f}"


def floor(corpus: list[str], size: int, draws: int = 30, seed: int = 0) -> dict[str, Floor]:
    """Bootstrap floor of each feature's distance: `size` tunes drawn with replacement from `corpus`
    against the whole `corpus`, as `size` generated tunes are compared with it."""
    rng, whole = random.Random(seed), Profile.of(corpus)
    samples = [Profile.of(rng.choices(corpus, k=size)) for _ in range(draws)]
    result = {}
    for name in FEATURES:
        distances = [total_variation(sample.shares(name), whole.shares(name)) for sample in samples]
        result[name] = Floor(mean(distances), stdev(distances), size, draws)
    return result


@dataclass
class Report:
    """Generated tunes against a corpus: a distance per feature, its floor, and a verdict in words."""

    generated: Profile
    corpus: Profile
    floor: dict[str, Floor]

    @property
    def distances(self) -> dict[str, float]:
        return {name: total_variation(self.generated.shares(name), self.corpus.shares(name)) for name in FEATURES}

    def beyond_floor(self) -> dict[str, bool]:
        """Per feature: is the distance more than `floor` tunes of the corpus would show by chance?"""
        return {name: d > self.floor[name].high for name, d in self.distances.items()}

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
                         f"floor ({self.generated.tunes} tunes)": str(self.floor[name]),
                         "largest gap": value, "generated": f"{mine:.0%}", "corpus": f"{theirs:.0%}"})
        return pd.DataFrame(rows).set_index("feature")

    def summary(self) -> str:
        """Validity, and what the model got right and wrong against the floor, in a few sentences."""
        n, invalid = self.generated.tunes, self.generated.invalid
        lines = [f"{invalid} of {n} tunes {'is' if invalid == 1 else 'are'} not valid ABC." if invalid
                 else f"All {n} tunes are valid ABC."]
        beyond = self.beyond_floor()
        within = [FEATURES[name][0] for name in FEATURES if not beyond[name]]
        lines.append(f"As close to the corpus as {n} of its own tunes drawn at random (within the floor) in "
                     f"{', '.join(within)}." if within else "Beyond the floor in every feature.")
        wrong = sorted((d - self.floor[name].high, name, d) for name, d in self.distances.items() if beyond[name])
        for _, name, d in reversed(wrong[-2:]):
            value, mine, theirs = self.biggest_gap(name)
            lines.append(f"Off in {FEATURES[name][0]} (TV {d:.2f}, floor {self.floor[name]}): {value} in "
                         f"{mine:.0%} of its {FEATURES[name][1]}, the corpus {theirs:.0%}.")
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


def compare(generated: list[str], corpus: list[str], draws: int = 30) -> Report:
    """The critic's report on `generated` tunes against `corpus` tunes, with the floor for as many tunes."""
    return Report(Profile.of(generated), Profile.of(corpus), floor(corpus, len(generated), draws))


def side_by_side(reports: dict[str, Report]):
    """One row per feature: each report's distance, and the floor (mean ± sd) for each sample size."""
    import pandas as pd

    columns = {}
    for name, report in reports.items():
        columns[name] = {FEATURES[f][0]: round(d, 3) for f, d in report.distances.items()}
        floor_column = f"floor, {report.generated.tunes} tunes"
        if floor_column not in columns:  # after the first report of each size
            columns[floor_column] = {FEATURES[f][0]: str(report.floor[f]) for f in FEATURES}
    return pd.DataFrame(columns)
