"""A small, forgiving reader of ABC tunes: header fields, key signature, notes and bar lines.

It reads the single-voice folk tunes of Lab 03 in microseconds and never raises: what it cannot
read it skips and counts. The lab's validity rule (tunes.check_abc) takes its header and key from
here and its notes from music21; this reader serves statistics over many tunes (labhelpers/critic.py)
and the notation's caption.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

LETTERS = "CDEFGAB"
NATURAL = dict(zip(LETTERS, (0, 2, 4, 5, 7, 9, 11)))
MAJOR_FIFTHS = {"C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5, "F#": 6, "C#": 7,
                "F": -1, "Bb": -2, "Eb": -3, "Ab": -4, "Db": -5, "Gb": -6, "Cb": -7}
MODE_SHIFT = {"major": 0, "minor": -3, "dorian": -2, "mixolydian": -1, "lydian": 1, "phrygian": -4, "locrian": -5}
MODE_NAMES = {"maj": "major", "ion": "major", "min": "minor", "m": "minor", "aeo": "minor", "dor": "dorian",
              "mix": "mixolydian", "lyd": "lydian", "phr": "phrygian", "loc": "locrian"}
SHARP_ORDER, FLAT_ORDER = "FCGDAEB", "BEADGCF"

TOKEN = re.compile(r"""
    (?P<skip>"[^"]*"|![^!\n]*!|\+[^+\n]*\+|\{[^}]*\}|\[[A-Za-z]:[^\]]*\]|%[^\n]*)  # chord names, decorations,
                                                                          # graces, inline fields, comments
  | (?P<bar>:*\[?\|+[\]:]*|::+)(?:\[?[0-9](?:[,-][0-9])*)?  # a bar line, maybe opening an ending (|1, :|2)
  | (?P<ending>\[[0-9](?:[,-][0-9])*)                      # an ending on its own: [1, [2
  | (?P<tuplet>\([2-9](?::[0-9]*){0,2})
  | (?P<note>(?P<acc>\^\^|\^|__|_|=)?(?P<letter>[A-Ga-g])(?P<octave>[',]*)|(?P<rest>[zx]))(?P<length>[0-9]*/*[0-9]*)
  | (?P<broken>[<>]+)
  | (?P<chord>[\[\]])
  | (?P<ignore>[\s\-().~\\!HLMOPSTuvZ])
""", re.VERBOSE)


@dataclass
class Key:
    """A key: tonic (e.g. "F#"), mode, and its signature as fifths (+ sharps, - flats)."""

    tonic: str
    mode: str
    fifths: int

    @property
    def name(self) -> str:
        return f"{self.tonic} {self.mode}"

    def signature(self) -> dict[str, int]:
        """Letter -> semitone shift that the key signature applies."""
        order, sign = (SHARP_ORDER, 1) if self.fifths > 0 else (FLAT_ORDER, -1)
        return {letter: sign for letter in order[:abs(self.fifths)]}


def parse_key(value: str) -> Key | None:
    """K: field value -> Key, or None when it names no key (e.g. "none", "HP", garbage)."""
    match = re.match(r"\s*([A-G])([#b]?)\s*([A-Za-z]*)", value)
    if not match:
        return None
    tonic, word = match[1] + match[2], match[3].lower()
    mode = "major" if not word else next((name for prefix, name in MODE_NAMES.items()
                                          if word == prefix or (len(prefix) == 3 and word.startswith(prefix))), None)
    if mode is None:
        return None
    fifths = MAJOR_FIFTHS.get(tonic)
    if fifths is None:  # a spelling outside the table: count fifths around the circle
        semitone = (NATURAL[tonic[0]] + (tonic[1:] == "#") - (tonic[1:] == "b")) % 12
        fifths = (semitone * 7) % 12 - (12 if (semitone * 7) % 12 > 6 else 0)
    return Key(tonic, mode, fifths + MODE_SHIFT[mode])


def parse_fraction(value: str | None) -> Fraction | None:
    try:
        return Fraction(value.strip()) if value else None
    except (ValueError, ZeroDivisionError):
        return None


@dataclass
class Tune:
    """What the reader found in one tune."""

    fields: dict[str, str]
    key: Key | None
    unit: Fraction
    pitches: list[int] = field(default_factory=list)            # MIDI numbers, in order (a chord: its first note)
    durations: list[Fraction] = field(default_factory=list)     # of the same notes, in whole notes
    bar_lines: list[str] = field(default_factory=list)          # every bar line symbol, in order
    measures: int = 0                                           # bars that hold at least one note or rest
    skipped: int = 0                                            # characters the reader did not understand

    @property
    def readable(self) -> bool:
        """A key to read the notes in, and at least one note."""
        return self.key is not None and bool(self.pitches)


def is_field(line: str) -> bool:
    """A field line such as "T:Title" or "K:D" (and not music starting with "|:")."""
    return len(line) > 1 and line[1] == ":" and line[0].isalpha()


def header(abc: str) -> dict[str, str]:
    """The first value of each header field (X, T, M, L, K, ...)."""
    fields = {}
    for line in abc.splitlines():
        if is_field(line):
            fields.setdefault(line[0], line[2:].strip())
    return fields


def body_lines(abc: str) -> str:
    """The music: every line after the first K: that is not a field or a comment."""
    lines = abc.splitlines()
    start = next((i + 1 for i, line in enumerate(lines) if line.startswith("K:")), len(lines))
    return "\n".join(line for line in lines[start:] if not is_field(line) and not line.startswith("%"))


def length_of(text: str) -> Fraction:
    """An ABC length suffix ("", "2", "/", "3/2", "//") as a multiple of the unit length."""
    if not text:
        return Fraction(1)
    number, _, rest = text.partition("/")
    numerator = int(number) if number else 1
    if "/" not in text:
        return Fraction(numerator)
    slashes = text.count("/")
    denominator = int(rest.strip("/")) if rest.strip("/") else 2 ** slashes
    return Fraction(numerator, max(denominator, 1))


def read(abc: str) -> Tune:
    """Read a tune; never raises."""
    fields = header(abc)
    key = parse_key(fields["K"]) if "K" in fields else None
    unit = parse_fraction(fields.get("L")) or Fraction(1, 8)
    tune = Tune(fields, key, unit)
    if key is not None:
        _read_body(body_lines(abc), tune)
    return tune


def _read_body(text: str, tune: Tune) -> None:
    signature, accidentals = tune.key.signature(), {}
    in_chord, tuplet, pending, notes_in_bar, position = False, [], Fraction(1), False, 0
    while position < len(text):
        match = TOKEN.match(text, position)
        if not match:
            tune.skipped += 1
            position += 1
            continue
        position = match.end()
        if match["bar"] is not None:
            tune.bar_lines.append(match["bar"])
            tune.measures += notes_in_bar
            accidentals, notes_in_bar = {}, False
        elif match["tuplet"] is not None:
            p = int(match["tuplet"][1])
            tuplet = [Fraction(3 if p in (2, 4, 8) else 2, p)] * p
        elif match["broken"] is not None:
            dots = len(match["broken"])
            factor = 1 - Fraction(1, 2 ** dots)
            if tune.durations:
                last = tune.durations[-1]
                tune.durations[-1] = last * (1 + factor) if match["broken"][0] == ">" else last * (1 - factor)
                pending = 1 - factor if match["broken"][0] == ">" else 1 + factor
        elif match["chord"] is not None:
            in_chord = match["chord"] == "["
        elif match["note"] is not None:
            notes_in_bar = True
            if in_chord and text[match.start() - 1] != "[":
                continue  # a chord's other notes: the melody takes its first
            duration = tune.unit * length_of(match["length"]) * pending * (tuplet.pop() if tuplet else 1)
            pending = Fraction(1)
            if match["rest"]:
                continue
            tune.pitches.append(_pitch(match, signature, accidentals))
            tune.durations.append(duration)
    tune.measures += notes_in_bar


def _pitch(match, signature: dict[str, int], accidentals: dict[tuple[str, str], int]) -> int:
    letter, octave = match["letter"], match["octave"]
    base = 60 + NATURAL[letter.upper()] + (12 if letter.islower() else 0)
    base += 12 * octave.count("'") - 12 * octave.count(",")
    slot = (letter.upper(), str(base))
    if match["acc"]:
        accidentals[slot] = {"^^": 2, "^": 1, "=": 0, "_": -1, "__": -2}[match["acc"]]
    return base + accidentals.get(slot, signature.get(letter.upper(), 0))
