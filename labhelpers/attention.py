"""Lab 05: translating human-written dates to ISO dates, with and without attention.

The data: `load_dates` writes one to three dates the way people do ("5/1/16", "sat 5 jan 16",
"samedi 5 janvier 2016", "tuesday, the fifth of january 2016"), joined in one sentence, and
pairs the sentence with the ISO dates ("2016-01-05,2017-03-12"). Everything is generated from a
seed: no download. `length_batches` feeds it to Keras in batches of similar length.

The pictures: accuracy against how many dates the input holds and, for single dates, against
its length; attention heatmaps. The timer: `milliseconds`.

The checks of exercises 5.2 to 5.5 live in `labhelpers.probes.attention` (probes) and
`labhelpers.judges.attention` (judges); they are re-exported here so that the notebook calls `attention.check_...`.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import keras
import numpy as np

from labhelpers.probes.attention import (  # noqa: F401 (the notebook calls attention.check_...)
    check_greedy_decode,
    check_luong_attention,
    check_make_decoder_inputs,
    check_scaled_dot_product_attention,
)

# ----------------------------------------------------------------------------- the date task

FIRST_DATE, LAST_DATE = datetime.date(1950, 1, 1), datetime.date(2049, 12, 31)
MONTHS = {
    "en": "january february march april may june july august september october november december",
    "fr": "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre",
    "de": "januar februar maerz april mai juni juli august september oktober november dezember",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
}
MONTH_ABBREVIATIONS = {lang: " ".join(name[:3] for name in names.split()) for lang, names in MONTHS.items()}
MONTH_ABBREVIATIONS["fr"] = "janv fevr mars avr mai juin juil aout sept oct nov dec"  # juin != juil
WEEKDAYS = {
    "en": "monday tuesday wednesday thursday friday saturday sunday",
    "fr": "lundi mardi mercredi jeudi vendredi samedi dimanche",
    "de": "montag dienstag mittwoch donnerstag freitag samstag sonntag",
    "es": "lunes martes miercoles jueves viernes sabado domingo",
}
ORDINAL_WORDS = (
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
    "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth"
).split()
ORDINAL_WORDS += [f"twenty-{w}" for w in ORDINAL_WORDS[:9]] + ["thirtieth", "thirty-first"]


def _month(date, lang, short=False):
    names = (MONTH_ABBREVIATIONS if short else MONTHS)[lang].split()
    return names[date.month - 1]


def _weekday(date, lang, short=False):
    name = WEEKDAYS[lang].split()[date.weekday()]
    return name[:3] if short else name


def _suffix(day):
    """English ordinal suffix: 1st, 2nd, 3rd, 4th, 11th, 21st."""
    if 10 <= day % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


# One function per way of writing a date: short numeric forms up to long sentences. Numeric
# forms are always day before month; two-digit years mean 1950-2049 (50-99 -> 19xx).
DATE_FORMATS = {
    "d/m/yy": lambda d, lang: f"{d.day}/{d.month}/{d.year % 100:02d}",
    "dd.mm.yyyy": lambda d, lang: f"{d.day:02d}.{d.month:02d}.{d.year}",
    "d mon yyyy": lambda d, lang: f"{d.day} {_month(d, lang, True)} {d.year}",
    "mon dth, yyyy": lambda d, lang: f"{_month(d, 'en', True)} {d.day}{_suffix(d.day)}, {d.year}",
    "d month yyyy": lambda d, lang: f"{d.day} {_month(d, lang)} {d.year}",
    "wkd d mon yy": lambda d, lang: f"{_weekday(d, lang, True)} {d.day} {_month(d, lang, True)} "
    f"{d.year % 100:02d}",
    "weekday, d month yyyy": lambda d, lang: f"{_weekday(d, lang)}, {d.day} {_month(d, lang)} {d.year}",
    "month dth, yyyy": lambda d, lang: f"{_month(d, 'en')} {d.day}{_suffix(d.day)}, {d.year}",
    "the nth of month, yyyy": lambda d, lang: f"the {ORDINAL_WORDS[d.day - 1]} of {_month(d, 'en')}, "
    f"{d.year}",
    "weekday, the nth of month yyyy": lambda d, lang: f"{_weekday(d, 'en')}, the "
    f"{ORDINAL_WORDS[d.day - 1]} of {_month(d, 'en')} {d.year}",
    "weekday, month dth of the year yyyy": lambda d, lang: f"{_weekday(d, 'en')}, {_month(d, 'en')} "
    f"{d.day}{_suffix(d.day)} of the year {d.year}",
}

PAD, START = "_", "^"
SOURCE_CHARS = " ,-./0123456789;abcdefghijklmnopqrstuvwxyz"
TARGET_CHARS = ",-0123456789"
MAX_DATES = 3                                   # dates in one source: 1 to MAX_DATES
MAX_SOURCE_LENGTH = 56                          # characters
SEPARATORS = (", ", " and ", "; ", " then ")
TARGET_LENGTH = MAX_DATES * len("2016-01-05,")  # ISO dates joined by commas, padded


def write_date(date: datetime.date, rng: np.random.Generator) -> str:
    """One human way of writing `date`: a random format, in a random language."""
    name = list(DATE_FORMATS)[rng.integers(len(DATE_FORMATS))]
    lang = list(MONTHS)[rng.integers(len(MONTHS))]
    return DATE_FORMATS[name](date, lang)


def write_dates(dates: list, rng: np.random.Generator) -> str:
    """The dates written one after the other, each its own way, joined by a separator."""
    separator = SEPARATORS[rng.integers(len(SEPARATORS))]
    return separator.join(write_date(date, rng) for date in dates)


def make_date_pairs(count: int, seed: int = 0) -> list[tuple[str, str]]:
    """`count` distinct (human-written, ISO) pairs of 1 to MAX_DATES dates, the same for the same seed.

    The more dates a source holds, the longer it is and the more the translation must carry.
    """
    rng = np.random.default_rng(seed)
    span = (LAST_DATE - FIRST_DATE).days + 1
    pairs: dict[str, str] = {}
    while len(pairs) < count:
        offsets = rng.integers(span, size=rng.integers(1, MAX_DATES + 1))
        dates = [FIRST_DATE + datetime.timedelta(days=int(offset)) for offset in offsets]
        source = write_dates(dates, rng)
        if len(source) <= MAX_SOURCE_LENGTH:
            pairs.setdefault(source, ",".join(date.isoformat() for date in dates))
    return list(pairs.items())


class Vocabulary:
    """Characters <-> integer ids; id 0 is padding."""

    def __init__(self, chars: str, extra: str = ""):
        self.tokens = [PAD, *extra, *chars]
        self.ids = {token: i for i, token in enumerate(self.tokens)}

    def __len__(self):
        return len(self.tokens)

    def encode(self, texts: list[str], length: int) -> np.ndarray:
        """Ids of each text, padded with 0 on the right to `length`: shape (len(texts), length)."""
        ids = np.zeros((len(texts), length), dtype="int32")
        for row, text in enumerate(texts):
            ids[row, : len(text)] = [self.ids[char] for char in text[:length]]
        return ids

    def decode(self, ids) -> str:
        """The text of one row of ids; padding is dropped."""
        return "".join(self.tokens[i] for i in np.asarray(ids) if i != 0)


SOURCE_VOCAB = Vocabulary(SOURCE_CHARS)
TARGET_VOCAB = Vocabulary(TARGET_CHARS, extra=START)
START_ID = TARGET_VOCAB.ids[START]  # the decoder's first input: "begin"


@dataclass
class DateData:
    """The date task as text and as padded id arrays, split into train and test."""

    train_sources: list[str]
    train_targets: list[str]
    test_sources: list[str]
    test_targets: list[str]
    source_length: int

    def arrays(self, split: str):
        """(source ids, target ids) for 'train' or 'test'."""
        sources, targets = getattr(self, f"{split}_sources"), getattr(self, f"{split}_targets")
        return (SOURCE_VOCAB.encode(sources, self.source_length),
                TARGET_VOCAB.encode(targets, TARGET_LENGTH))


def load_dates(train_size: int, test_size: int, seed: int = 0) -> DateData:
    """The date task: distinct sources, so no test sentence is seen in training."""
    pairs = make_date_pairs(train_size + test_size, seed)
    sources, targets = zip(*pairs)
    return DateData(list(sources[:train_size]), list(targets[:train_size]),
                    list(sources[train_size:]), list(targets[train_size:]),
                    source_length=MAX_SOURCE_LENGTH)


def length_batches(sources, previous, targets, batch_size: int, seed: int = 0):
    """((sources, previous), targets) batches of similar lengths with the padding trimmed, for model.fit.

    The examples are shuffled, then sorted by target length and source length within chunks of
    20 batches, and the batches are shuffled. Each batch is trimmed to its longest source, and the
    decoder inputs and targets to its longest target plus one padding character (the decoder
    learns to write it after the last date: "done"). The LSTMs then run about as many steps as
    there are characters, instead of the longest source's and target's lengths for every batch.

    On TensorFlow it is a tf.data.Dataset (tf.function traces the training step for batches of any
    width); elsewhere a keras.utils.PyDataset of the same batches in the same order, except that on
    JAX the sources keep their full width: jax.jit compiles the training step once per shape of batch,
    and each compilation (seconds) costs more than the padding steps trimming would save. The encoders
    mask the padding and attention gives it weight 0, so the model learns the same. (The targets are
    trimmed as elsewhere, to three widths: their padding would change the loss.)
    """
    sources, previous, targets = np.asarray(sources), np.asarray(previous), np.asarray(targets)
    source_lengths, target_lengths = (sources != 0).sum(axis=1), (targets != 0).sum(axis=1)
    rng, chunk, max_steps = np.random.default_rng(seed), 20 * batch_size, targets.shape[1]
    full_width = keras.backend.backend() == "jax"

    def plan():
        """The batches of one epoch in training order: (rows, source width, target steps) of each."""
        order = rng.permutation(len(source_lengths))
        chunks = [sorted(order[i : i + chunk], key=lambda n: (target_lengths[n], source_lengths[n]))
                  for i in range(0, len(order), chunk)]
        indices = [np.array(c[i : i + batch_size]) for c in chunks for i in range(0, len(c), batch_size)]
        return [(rows, sources.shape[1] if full_width else source_lengths[rows].max(),
                 min(target_lengths[rows].max() + 1, max_steps))
                for rows in (indices[k] for k in rng.permutation(len(indices)))]

    def batch(rows, width, steps):
        return (sources[rows, :width], previous[rows, :steps]), targets[rows, :steps]

    if keras.backend.backend() != "tensorflow":
        return LengthBatches(plan, batch)
    import tensorflow as tf

    count = sum(-(-min(chunk, len(source_lengths) - i) // batch_size) for i in range(0, len(source_lengths), chunk))
    spec = tf.TensorSpec((None, None), tf.int32)
    dataset = tf.data.Dataset.from_generator(lambda: (batch(*b) for b in plan()),
                                             output_signature=((spec, spec), spec))
    return dataset.apply(tf.data.experimental.assert_cardinality(count)).prefetch(2)


class LengthBatches(keras.utils.PyDataset):
    """length_batches' batches as a Keras PyDataset (JAX, PyTorch); a new order at each epoch."""

    def __init__(self, plan, batch):
        super().__init__()
        self._plan, self._batch = plan, batch
        self._batches = plan()

    def __len__(self):
        return len(self._batches)

    def __getitem__(self, index):
        return self._batch(*self._batches[index])

    def on_epoch_end(self):
        self._batches = self._plan()


def milliseconds(function, *args, repeats: int = 5) -> float:
    """Median wall time of one call of `function(*args)`, in milliseconds, compiled and warmed up.

    Compiled as each backend compiles: tf.function on TensorFlow; jax.jit on JAX (a Keras layer as a
    pure function of its weights, through stateless_call); PyTorch runs it eagerly, without recording
    gradients. The time waits for the result (JAX and GPUs run asynchronously)."""
    import time

    function, wait = _compiled_call(function, keras.backend.backend())
    wait(function(*args))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        wait(function(*args))
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def _compiled_call(function, backend: str):
    """(function compiled the backend's way, a function that waits until a result is computed)."""
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(function), lambda result: result
    if backend == "jax":
        import jax

        if isinstance(function, keras.layers.Layer):
            layer, pure = function, jax.jit(function.stateless_call)
            weights = ([v.value for v in layer.trainable_variables], [v.value for v in layer.non_trainable_variables])
            return (lambda *args: pure(*weights, *args)[0]), jax.block_until_ready
        return jax.jit(function), jax.block_until_ready
    if backend == "torch":
        import torch

        def eager(*args):
            with torch.no_grad():
                return function(*args)

        def wait(result):
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            return result

        return eager, wait
    return function, lambda result: result


# ----------------------------------------------------------------------------- pictures

LENGTH_EDGES = (0, 12, 20, 28, 36, 44, 100)
SINGLE_DATE_EDGES = (0, 10, 15, 20, 30, 100)  # a single date is 6 to 45 characters long


def date_counts(targets: list[str]) -> np.ndarray:
    """How many dates each ISO target holds (they are joined by commas)."""
    return np.array([target.count(",") + 1 for target in targets])


def _accuracy_by_bucket(buckets, correct, labels):
    """Labels, exact-match accuracy and example count of each non-empty bucket (bucket ids 0, 1, ...)."""
    correct = np.asarray(correct, dtype=bool)
    rows = [(label, float(correct[buckets == b].mean()), int((buckets == b).sum()))
            for b, label in enumerate(labels) if (buckets == b).any()]
    return tuple(map(list, zip(*rows))) if rows else ([], [], [])


def accuracy_by_length(sources: list[str], correct, edges=LENGTH_EDGES):
    """Bucket labels, exact-match accuracy and example count per bucket of source length."""
    lengths = np.array([len(s) for s in sources])
    labels = [f"{low}-{high - 1}" if high < edges[-1] else f"{low}+" for low, high in zip(edges[:-1], edges[1:])]
    return _accuracy_by_bucket(np.searchsorted(edges, lengths, side="right") - 1, correct, labels)


def accuracy_by_dates(targets: list[str], correct):
    """Labels ("1 date", ...), exact-match accuracy and example count per number of dates held."""
    labels = [f"{n} date{'s' if n > 1 else ''}" for n in range(1, MAX_DATES + 1)]
    return _accuracy_by_bucket(date_counts(targets) - 1, correct, labels)


def _plot_buckets(ax, buckets_by_model: dict, title: str, xlabel: str):
    """One curve per model of (labels, accuracies, counts); the counts go under the labels."""
    for name, (labels, accuracies, counts) in buckets_by_model.items():
        ax.plot(labels, [100 * a for a in accuracies], marker="o", label=name)
    ax.set_xticks(range(len(labels)), [f"{l}\n(n={n})" for l, n in zip(labels, counts)])
    ax.set(title=title, xlabel=xlabel, ylabel="exact match (%)", ylim=(0, 102))
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def plot_accuracy_by_length(sources: list[str], correct_by_model: dict, ax=None, edges=LENGTH_EDGES,
                            title="Exact-match accuracy on the test set, by input length"):
    """One curve per model: exact-match accuracy (%) against source length (characters)."""
    import matplotlib.pyplot as plt

    buckets = {name: accuracy_by_length(sources, correct, edges) for name, correct in correct_by_model.items()}
    return _plot_buckets(ax or plt.subplots(figsize=(7, 4))[1], buckets, title, "input length (characters)")


def plot_accuracy_by_content(sources: list[str], targets: list[str], correct_by_model: dict):
    """Two panels: exact match by how many dates the input holds, and for single dates by length."""
    import matplotlib.pyplot as plt

    fig, (by_dates, by_length) = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
    _plot_buckets(by_dates, {name: accuracy_by_dates(targets, correct) for name, correct in correct_by_model.items()},
                  "Exact match by what the input holds", "dates in the input")
    single = date_counts(targets) == 1
    plot_accuracy_by_length([s for s, one in zip(sources, single) if one],
                            {name: np.asarray(correct)[single] for name, correct in correct_by_model.items()},
                            by_length, SINGLE_DATE_EDGES, "Inputs holding one date, by length")
    fig.tight_layout()
    return fig


def plot_attention(weights, source: str, output: str, ax=None, title=None):
    """Heatmap of attention weights: one row per output character, one column per input one."""
    import matplotlib.pyplot as plt

    weights = np.asarray(weights)[: len(output), : len(source)]
    ax = ax or plt.subplots(figsize=(max(4.0, 0.25 * len(source)), max(3.0, 0.22 * len(output))))[1]
    top = float(weights.max()) if weights.size else 1.0  # the colours span the weights there are
    image = ax.imshow(weights, cmap="viridis", vmin=0, vmax=max(top, 1e-6), aspect="auto")
    ax.set_xticks(range(len(source)), list(source))
    ax.set_yticks(range(len(output)), list(output))
    ax.set(title=title or f"{source!r} -> {output!r}",
           xlabel="input character (position in source)", ylabel="output character (step)")
    plt.colorbar(image, ax=ax, label=f"attention weight (0 to {top:.2f}, the largest here)")
    return ax
