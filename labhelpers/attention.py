"""Lab 05: translating human-written dates to ISO dates, with and without attention.

The data: `load_dates` writes one to three dates the way people do ("5/1/16", "sat 5 jan 16",
"samedi 5 janvier 2016", "tuesday, the fifth of january 2016"), joined in one sentence, and
pairs the sentence with the ISO dates ("2016-01-05,2017-03-12"). Everything is generated from a
seed: no download. `length_batches` feeds it to Keras in batches of similar length.

The pictures: accuracy against input length, attention heatmaps.

The checks: one per exercise, each against an independent reference (NumPy math, properties).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy as np

from labhelpers.grading import CheckFailed, Lab, matching_mistake

lab = Lab("05", "Attention")

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
    """A tf.data.Dataset of ((sources, previous), targets) batches of similar lengths, padding trimmed.

    The examples are shuffled, then sorted by target length and source length within chunks of
    20 batches, and the batches are shuffled. Each batch is trimmed to its longest source, and the
    decoder inputs and targets to its longest target plus one padding character (the decoder
    learns to write it after the last date: "done"). The LSTMs then run about as many steps as
    there are characters, instead of the longest source's and target's lengths for every batch.
    """
    import tensorflow as tf

    source_lengths = (np.asarray(sources) != 0).sum(axis=1)
    target_lengths = (np.asarray(targets) != 0).sum(axis=1)
    rng = np.random.default_rng(seed)
    chunk = 20 * batch_size

    def batches():
        order = rng.permutation(len(source_lengths))
        chunks = [sorted(order[i : i + chunk], key=lambda n: (target_lengths[n], source_lengths[n]))
                  for i in range(0, len(order), chunk)]
        indices = [np.array(c[i : i + batch_size]) for c in chunks for i in range(0, len(c), batch_size)]
        for batch in (indices[k] for k in rng.permutation(len(indices))):
            width = source_lengths[batch].max()
            steps = min(target_lengths[batch].max() + 1, targets.shape[1])
            yield (sources[batch, :width], previous[batch, :steps]), targets[batch, :steps]

    spec = tf.TensorSpec((None, None), tf.int32)
    count = sum(-(-min(chunk, len(source_lengths) - i) // batch_size) for i in range(0, len(source_lengths), chunk))
    dataset = tf.data.Dataset.from_generator(batches, output_signature=((spec, spec), spec))
    return dataset.apply(tf.data.experimental.assert_cardinality(count)).prefetch(2)


# ----------------------------------------------------------------------------- pictures

LENGTH_EDGES = (0, 12, 20, 28, 36, 44, 100)


def accuracy_by_length(sources: list[str], correct, edges=LENGTH_EDGES):
    """Bucket labels, exact-match accuracy and example count per bucket of source length."""
    lengths, correct = np.array([len(s) for s in sources]), np.asarray(correct, dtype=bool)
    labels, accuracies, counts = [], [], []
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (lengths >= low) & (lengths < high)
        if inside.any():
            labels.append(f"{low}-{high - 1}" if high < edges[-1] else f"{low}+")
            accuracies.append(float(correct[inside].mean()))
            counts.append(int(inside.sum()))
    return labels, accuracies, counts


def plot_accuracy_by_length(sources: list[str], correct_by_model: dict, ax=None):
    """One curve per model: exact-match accuracy (%) against source length (characters)."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(7, 4))[1]
    for name, correct in correct_by_model.items():
        labels, accuracies, counts = accuracy_by_length(sources, correct)
        ax.plot(labels, [100 * a for a in accuracies], marker="o", label=name)
    ax.set_xticks(range(len(labels)), [f"{l}\n(n={n})" for l, n in zip(labels, counts)])
    ax.set(title="Exact-match accuracy on the test set, by input length",
           xlabel="input length (characters)", ylabel="exact match (%)", ylim=(0, 102))
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def plot_attention(weights, source: str, output: str, ax=None, title=None):
    """Heatmap of attention weights: one row per output character, one column per input one."""
    import matplotlib.pyplot as plt

    weights = np.asarray(weights)[: len(output), : len(source)]
    ax = ax or plt.subplots(figsize=(max(4.0, 0.25 * len(source)), max(3.0, 0.22 * len(output))))[1]
    image = ax.imshow(weights, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(source)), list(source))
    ax.set_yticks(range(len(output)), list(output))
    ax.set(title=title or f"{source!r} -> {output!r}",
           xlabel="input character (position in source)", ylabel="output character (step)")
    plt.colorbar(image, ax=ax, label="attention weight (0-1)")
    return ax


# ----------------------------------------------------------------------------- checks

def _rng(seed=5):
    return np.random.default_rng(seed)


def _as_array(value, what: str) -> np.ndarray:
    try:
        return np.asarray(value)
    except Exception as error:  # noqa: BLE001 (any unconvertible object is a wrong answer)
        raise CheckFailed(f"{what} could not be turned into an array ({type(error).__name__}).",
                          hint="return a NumPy array or a tensor.") from None


def _expect_shape(array: np.ndarray, shape: tuple, what: str, hint: str):
    if array.shape != tuple(shape):
        raise CheckFailed(f"{what}: wrong shape.", expected=str(tuple(shape)),
                          found=str(array.shape), hint=hint)


@lab.check("5.2", "make_decoder_inputs")
def check_make_decoder_inputs(make_decoder_inputs):
    """Teacher forcing: START, then the targets shifted right by one, same length."""
    targets = _rng().integers(START_ID + 1, len(TARGET_VOCAB), size=(4, TARGET_LENGTH)).astype("int32")
    original = targets.copy()
    found = _as_array(make_decoder_inputs(targets, START_ID), "Your decoder inputs")
    if not np.array_equal(targets, original):
        raise CheckFailed("your function changed the targets array it was given.",
                          hint="build a new array instead of writing into `targets`.")
    expected = np.concatenate([np.full((4, 1), START_ID), targets[:, :-1]], axis=1)
    _expect_shape(found, expected.shape, "The decoder inputs",
                  "the decoder reads one input per output step: prepend START and drop the last target.")
    if np.array_equal(found, expected):
        return "START, then the targets shifted right by one step, same length, targets untouched"
    diagnoses = [
        (np.array_equal(found, targets), "the decoder inputs equal the targets, so at each step the "
         "decoder would be given the very character it must predict (no shift)"),
        (np.array_equal(found[:, :-1], targets[:, 1:]), "the targets are shifted left (towards the "
         "past), so the decoder is given the next character instead of the previous one"),
        (np.array_equal(found[:, 1:], targets[:, :-1]), "the shift is right but the first column is "
         f"not START (id {START_ID}), so the decoder has no signal to begin"),
    ]
    problem = next((text for matched, text in diagnoses if matched), "the decoder inputs are not the "
                   "targets delayed by one step behind START")
    raise CheckFailed(problem + ".", expected=f"first row {expected[0].tolist()}",
                      found=f"first row {found[0].tolist()}",
                      hint="input at step t is the target at step t-1; at step 0 it is START.")


def reference_attention(queries, keys, values, mask, *, scale=True, softmax_axis=-1,
                        normalise=True, mask_before_softmax=True):
    """Scaled dot-product attention in NumPy; the keyword arguments build the usual mistakes.

    `mask_before_softmax=False` zeroes the padded weights after the softmax without
    renormalising; `mask_before_softmax=None` ignores the mask.
    """
    scores = queries @ np.swapaxes(keys, -1, -2)
    if scale:
        scores = scores / np.sqrt(keys.shape[-1])
    if mask_before_softmax:
        scores = np.where(mask[:, None, :], scores, -1e9)
    exps = np.exp(scores - scores.max(axis=softmax_axis, keepdims=True))
    weights = exps / exps.sum(axis=softmax_axis, keepdims=True) if normalise else np.exp(scores)
    if mask_before_softmax is False:
        weights = np.where(mask[:, None, :], weights, 0.0)
    return weights @ values, weights


def _attention_inputs(batch=2, query_steps=3, key_steps=6, depth=8, value_depth=5, seed=5):
    """Fixed queries, keys, values and a mask with padding at the end of the second example."""
    rng = _rng(seed)
    queries = rng.normal(size=(batch, query_steps, depth)).astype("float32")
    keys = rng.normal(size=(batch, key_steps, depth)).astype("float32")
    values = rng.normal(size=(batch, key_steps, value_depth)).astype("float32")
    mask = np.ones((batch, key_steps), dtype=bool)
    mask[-1, key_steps - 2:] = False
    return queries, keys, values, mask


ATTENTION_MISTAKES = {
    "the softmax runs over the queries axis; each query's weights must sum to 1 over the keys "
    "(the last axis)": dict(softmax_axis=1),
    "the weights are not normalised: they are exp(scores) without dividing by their sum "
    "(use a softmax over the keys)": dict(normalise=False),
    "the scores are not scaled by 1/sqrt(d), so the softmax is too peaked": dict(scale=False),
    "padded positions receive attention: the mask is not applied": dict(mask_before_softmax=None),
    "the padded weights are zeroed after the softmax, so the rows no longer sum to 1 (mask the "
    "scores before the softmax instead)": dict(mask_before_softmax=False),
}


def _diagnose_weights(found, inputs) -> str:
    """Name the mistake whose NumPy weights match `found`, if any."""
    queries, keys, values, mask = inputs
    wrong = {problem: reference_attention(queries, keys, values, mask, **mistake)[1]
             for problem, mistake in ATTENTION_MISTAKES.items()}
    problem = matching_mistake(found, wrong)
    if problem:
        return problem
    scores = queries @ np.swapaxes(keys, -1, -2) / np.sqrt(keys.shape[-1])
    if any(np.allclose(found, raw, atol=1e-3) for raw in (scores, np.where(mask[:, None, :], scores, -1e9))):
        return "the weights are the raw scores: no softmax turns them into positive weights summing to 1"
    scaled_by_d = reference_attention(queries / np.sqrt(keys.shape[-1]), keys, values, mask)[1]
    if np.allclose(found, scaled_by_d, atol=1e-4):
        return "the scores are divided by d instead of sqrt(d)"
    return "the weights do not match softmax(Q K^T / sqrt(d)) over the keys, with padding masked"


@lab.check("5.4", "scaled_dot_product_attention")
def check_scaled_dot_product_attention(attention_fn):
    """Against NumPy on fixed tensors; wrong axis, unnormalised, unscaled, unmasked named."""
    import tensorflow as tf

    inputs = _attention_inputs()
    queries, keys, values, mask = inputs
    returned = attention_fn(*(tf.constant(x) for x in inputs))
    if not (isinstance(returned, (tuple, list)) and len(returned) == 2):
        raise CheckFailed("the function must return two things.", expected="(context, weights)",
                          found=type(returned).__name__)
    context, weights = (_as_array(x, what) for x, what in zip(returned, ("context", "weights")))
    expected_context, expected_weights = reference_attention(*inputs)
    _expect_shape(weights, expected_weights.shape, "The attention weights",
                  "one weight per (query, key) pair: shape (batch, query steps, key steps).")
    if not np.allclose(weights, expected_weights, atol=1e-4):
        problem = _diagnose_weights(weights, inputs)
        row_sums = weights.sum(axis=-1)
        raise CheckFailed(problem + ".", expected="each row of weights sums to 1 and is 0 on padding",
                          found=f"row sums between {row_sums.min():.3g} and {row_sums.max():.3g}, "
                          f"weight on padding {weights[-1, :, ~mask[-1]].sum():.3g}",
                          hint="scores = Q K^T / sqrt(d); padded keys get a very negative score; "
                          "softmax over the last axis.")
    _expect_shape(context, expected_context.shape, "The context",
                  "the context is a weighted average of the values, so its last axis is the values' depth.")
    if not np.allclose(context, expected_context, atol=1e-4):
        hint = "the context is the weights (batch, Tq, Tk) times the values (batch, Tk, dv), a matrix product."
        raise CheckFailed("the weights are right but the context is not their weighted sum of the values.",
                          expected=f"context[0, 0, :3] = {np.round(expected_context[0, 0, :3], 3).tolist()}",
                          found=f"{np.round(context[0, 0, :3], 3).tolist()}", hint=hint)
    return ("context and weights match NumPy on fixed tensors (weights over keys sum to 1, "
            "scaled by 1/sqrt(d), padding gets 0)")


def _call_attention_layer(layer, decoder_states, encoder_states, mask):
    """Run the learner's layer; return (attentional states, weights) as arrays."""
    import tensorflow as tf

    returned = layer(tf.constant(decoder_states), tf.constant(encoder_states), tf.constant(mask))
    if not (isinstance(returned, (tuple, list)) and len(returned) == 2):
        raise CheckFailed("the layer must return two things.", expected="(attentional states, weights)",
                          found=type(returned).__name__)
    return tuple(_as_array(x, what) for x, what in zip(returned, ("the attentional states", "the weights")))


@lab.check("5.5", "LuongAttention")
def check_luong_attention(layer_class, units=8):
    """Properties of the attention layer: weights, masking, use of context and state, tanh."""
    decoder_states, encoder_states, _, mask = _attention_inputs(batch=2, query_steps=4, key_steps=6,
                                                                depth=units, seed=7)
    decoder_states, encoder_states = 3 * decoder_states, 3 * encoder_states
    layer = layer_class(units)
    states, weights = _call_attention_layer(layer, decoder_states, encoder_states, mask)
    _expect_shape(states, decoder_states.shape, "The attentional states",
                  "one vector of `units` numbers per decoder step: (batch, decoder steps, units).")
    _, expected_weights = reference_attention(decoder_states, encoder_states, encoder_states, mask)
    _expect_shape(weights, expected_weights.shape, "The attention weights",
                  "the decoder states are the queries; the encoder states are the keys and the values.")
    if not np.allclose(weights, expected_weights, atol=1e-4):
        unmasked = reference_attention(decoder_states, encoder_states, encoder_states, mask, mask_before_softmax=None)[1]
        problem = ("padded source positions receive attention: pass `source_mask` on"
                   if np.allclose(weights, unmasked, atol=1e-4) else
                   "the weights are not your scaled_dot_product_attention of the decoder states (queries) "
                   "over the encoder states (keys and values)")
        raise CheckFailed(problem + ".", hint="call scaled_dot_product_attention(decoder_states, "
                          "encoder_states, encoder_states, source_mask).")
    if np.abs(states).max() > 1 + 1e-5:
        raise CheckFailed("the attentional states are not squashed into (-1, 1).",
                          found=f"values up to {np.abs(states).max():.3g}",
                          hint="the combining Dense layer needs its tanh nonlinearity.")
    _check_padding_ignored(layer, decoder_states, encoder_states, mask, states)
    _check_uses_context_and_state(layer, decoder_states, encoder_states, mask)
    return ("weights are scaled dot-product attention of decoder over encoder states, padding "
            "changes nothing, output mixes context and decoder state through tanh")


def _check_padding_ignored(layer, decoder_states, encoder_states, mask, states):
    """Extra padded source positions, whatever they hold, must not change the output."""
    padding = 5 * _rng(11).normal(size=(encoder_states.shape[0], 3, encoder_states.shape[2]))
    longer = np.concatenate([encoder_states, padding.astype("float32")], axis=1)
    longer_mask = np.concatenate([mask, np.zeros((mask.shape[0], 3), dtype=bool)], axis=1)
    padded_states, _ = _call_attention_layer(layer, decoder_states, longer, longer_mask)
    if not np.allclose(padded_states, states, atol=1e-4):
        raise CheckFailed("adding padded positions to the source changes the output.",
                          hint="every use of the encoder states must go through the masked attention.")


def _check_uses_context_and_state(layer, decoder_states, encoder_states, mask):
    """The output must change with the encoder states and, with a fixed context, with the state."""
    states, _ = _call_attention_layer(layer, decoder_states, encoder_states, mask)
    moved, _ = _call_attention_layer(layer, decoder_states, encoder_states + 1.0, mask)
    if np.allclose(moved, states, atol=1e-5):
        raise CheckFailed("the output does not change when the encoder states do: the context is not used.",
                          hint="combine the context vector with the decoder state.")
    # With every encoder state equal, the context is that state whatever the weights.
    same = np.repeat(encoder_states[:, :1], encoder_states.shape[1], axis=1)
    first, _ = _call_attention_layer(layer, decoder_states, same, mask)
    second, _ = _call_attention_layer(layer, -decoder_states, same, mask)
    if np.allclose(first, second, atol=1e-5):
        raise CheckFailed("with the context held fixed, the output ignores the decoder state.",
                          hint="concatenate the context and the decoder state before the Dense layer.")
