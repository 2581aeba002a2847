"""Lab 05: wrong and right answers to 5.2 make_decoder_inputs, 5.3 greedy_decode,
5.4 scaled_dot_product_attention and 5.5 LuongAttention, written as students write them."""

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from mutations import Right, Wrong, after_diagnosis

# ---------------------------------------------------------------- 5.2 make_decoder_inputs


def decoder_concatenate(targets, start_id):
    start = np.full((len(targets), 1), start_id, dtype=targets.dtype)
    return np.concatenate([start, targets[:, :-1]], axis=1)


def decoder_tf_concat(targets, start_id):
    return tf.concat([tf.fill((len(targets), 1), tf.constant(start_id, targets.dtype)), targets[:, :-1]], axis=1)


def decoder_roll(targets, start_id):
    previous = np.roll(targets, 1, axis=1)
    previous[:, 0] = start_id
    return previous


def decoder_loop(targets, start_id):
    return np.array([[start_id] + list(row[:-1]) for row in targets], dtype=targets.dtype)


def decoder_in_place(targets, start_id):
    targets[:, 1:] = targets[:, :-1].copy()
    targets[:, 0] = start_id
    return targets


def decoder_no_drop(targets, start_id):
    return np.concatenate([np.full((len(targets), 1), start_id), targets], axis=1)


def decoder_floats(targets, start_id):
    return np.concatenate([np.ones((len(targets), 1)) * start_id, targets[:, :-1]], axis=1)


def decoder_lab_start(targets, start_id):
    return decoder_concatenate(targets, 1)  # attention.START_ID written in, not the argument


def decoder_batch_axis(targets, start_id):
    previous = np.roll(targets, 1, axis=0)
    previous[0] = start_id
    return previous


DECODER_WRONG = [
    ("no shift", lambda t, s: t, r"no shift"),
    ("shifted left", lambda t, s: np.concatenate([t[:, 1:], np.full((len(t), 1), s)], 1), r"shifted left"),
    ("padding instead of start", lambda t, s: decoder_concatenate(t, 0), r"is 0 \(padding\)"),
    ("np.roll without setting the start", lambda t, s: np.roll(t, 1, axis=1), r"rolled round"),
    ("last target not dropped", decoder_no_drop, r"last target is not dropped"),
    ("targets modified in place", decoder_in_place, r"changed the `targets`"),
    ("floats from np.ones * start_id", decoder_floats, r"not integers"),
    ("the lab's START written in", decoder_lab_start, r"start_id passed in"),
    ("shifted by two", lambda t, s: np.concatenate([np.full((len(t), 2), s), t[:, :-2]], 1), r"two steps"),
    ("shifted along the batch axis", decoder_batch_axis, r"batch axis"),
    ("start appended at the end", lambda t, s: np.concatenate([t[:, :-1], np.full((len(t), 1), s)], 1),
     r"at the end"),
    ("np.insert without an axis", lambda t, s: np.insert(t, 0, s)[:-1], r"flat"),
]

# ---------------------------------------------------------------- 5.3 greedy_decode


def greedy(model, sources, start_id, max_length, first_state=lambda h, c: [h, c], feed_back=True, carry=True,
           choose=lambda logits: tf.argmax(logits, axis=-1, output_type=tf.int32), pad=True, keep_start=False):
    """A student's batched greedy loop; the keyword arguments make the wrong ones."""
    decode = tf.function(model.decoder, reduce_retracing=True)
    encoder_states, (h, c), source_mask = model.encoder(sources)
    initial = state = first_state(h, c)
    next_ids = start = tf.fill((len(sources), 1), start_id)
    predicted = []
    for _ in range(max_length):
        logits, new_state, _ = decode(next_ids if feed_back else start, state, encoder_states, source_mask)
        state = new_state if carry else initial
        next_ids = choose(logits)
        predicted.append(next_ids)
    predicted = np.concatenate(predicted, axis=1)
    if pad:
        predicted[np.cumsum(predicted == 0, axis=1) > 0] = 0
    if keep_start:
        predicted = np.concatenate([np.full((len(sources), 1), start_id), predicted[:, :-1]], axis=1)
    return predicted


def greedy_rows(model, sources, start_id, max_length):
    """One sentence at a time, in NumPy, stopping at the end token and padding the rest."""
    rows = []
    for source in sources:
        encoder_states, state, source_mask = model.encoder(source[None])
        ids, next_id = [], start_id
        while len(ids) < max_length:
            logits, state, _ = model.decoder(np.array([[next_id]]), state, encoder_states, source_mask)
            next_id = int(np.argmax(logits[0, -1]))
            ids.append(next_id)
            if next_id == 0:
                break
        rows.append(ids + [0] * (max_length - len(ids)))
    return np.array(rows)


def greedy_early_stop(model, sources, start_id, max_length):
    """keras.ops, stops once every row has written the end token, feeds padding after it."""
    encoder_states, state, source_mask = model.encoder(sources)
    next_ids = keras.ops.full((len(sources), 1), start_id, dtype="int32")
    done = keras.ops.zeros((len(sources), 1), dtype="bool")
    predicted = []
    for _ in range(max_length):
        logits, state, _ = model.decoder(next_ids, state, encoder_states, source_mask)
        next_ids = keras.ops.cast(keras.ops.where(done, 0, keras.ops.argmax(logits, axis=-1)), "int32")
        done = keras.ops.logical_or(done, keras.ops.equal(next_ids, 0))
        predicted.append(next_ids)
        if bool(keras.ops.all(done)):
            break
    predicted = keras.ops.concatenate(predicted, axis=1)
    return keras.ops.pad(predicted, [[0, 0], [0, max_length - predicted.shape[1]]])


TARGETS = np.random.default_rng(5).integers(1, 9, size=(64, 64)).astype("int32")


def greedy_teacher_forcing(model, sources, start_id, max_length):
    """Decodes all steps at once from known targets, as in training."""
    encoder_states, state, source_mask = model.encoder(sources)
    targets = TARGETS[: len(sources), :max_length]
    previous = np.concatenate([np.full((len(sources), 1), start_id), targets[:, :-1]], axis=1)
    logits = model.decoder(previous, state, encoder_states, source_mask)[0]
    return greedy_pad(np.argmax(logits, axis=-1))


def greedy_pad(predicted):
    predicted = np.array(predicted)
    predicted[np.cumsum(predicted == 0, axis=1) > 0] = 0
    return predicted


def greedy_one_short(model, sources, start_id, max_length):
    return greedy(model, sources, start_id, max_length)[:, : max_length - 1]


GREEDY_WRONG = [
    ("decoder starts from zeros", lambda *a: greedy(*a, first_state=lambda h, c: None), r"starts from zeros"),
    ("zeros of the right shapes", lambda *a: greedy(*a, first_state=lambda h, c: [tf.zeros_like(h)] * 2),
     r"starts from zeros"),
    ("only h handed", lambda *a: greedy(*a, first_state=lambda h, c: [h, tf.zeros_like(c)]), r"only h"),
    ("h and c swapped", lambda *a: greedy(*a, first_state=lambda h, c: [c, h]), r"swapped"),
    ("teacher forcing at inference", greedy_teacher_forcing, r"teacher forcing"),
    ("start token fed every step", lambda *a: greedy(*a, feed_back=False), r"start token is fed at every step"),
    ("sampling instead of argmax", lambda *a: greedy(*a, choose=lambda z: tf.random.categorical(z[:, -1], 1, tf.int32)),
     r"sampled"),
    ("start token included in the output", lambda *a: greedy(*a, keep_start=True), r"off by one.*start token"),
    ("last id dropped", greedy_one_short, r"off by one.*dropped"),
    ("no padding after the end token", lambda *a: greedy(*a, pad=False), r"after the end token"),
    ("state not carried", lambda *a: greedy(*a, carry=False), r"not carried"),
    ("argmax over the step axis", lambda *a: greedy(*a, choose=lambda z: tf.argmax(z, axis=1, output_type=tf.int32)),
     r"wrong axis"),
]

# ---------------------------------------------------------------- 5.4 scaled_dot_product_attention


def attend(queries, keys, values, mask, scale="sqrt", axis=-1, masked="before"):
    """A student's answer in TensorFlow; the keyword arguments make the wrong ones."""
    scores = tf.matmul(queries, keys, transpose_b=True)
    depth = tf.cast(tf.shape(keys)[-1], scores.dtype)
    scores = scores / {"sqrt": tf.sqrt(depth), "none": 1.0, "d": depth, "8": np.sqrt(8.0),
                       "keys": tf.sqrt(tf.cast(tf.shape(keys)[1], scores.dtype))}[scale]
    if masked in ("before", "inverted", "zero"):
        keep = ~mask[:, tf.newaxis, :] if masked == "inverted" else mask[:, tf.newaxis, :]
        scores = tf.where(keep, scores, 0.0 if masked == "zero" else -1e9)
    weights = tf.nn.softmax(scores, axis=axis)
    if masked == "after":
        weights = weights * tf.cast(mask[:, tf.newaxis, :], weights.dtype)
    return tf.matmul(weights, values), weights


def attend_float64_additive(queries, keys, values, mask):
    q, k, v = (tf.cast(x, tf.float64) for x in (queries, keys, values))
    scores = tf.matmul(q, k, transpose_b=True) / tf.sqrt(tf.cast(k.shape[-1], tf.float64))
    scores += (1.0 - tf.cast(mask, tf.float64))[:, None, :] * -1e9
    weights = tf.nn.softmax(scores)
    return weights @ v, weights


def attend_einsum_renormalised(queries, keys, values, mask):
    scores = tf.einsum("bqd,bkd->bqk", queries, keys) / keras.ops.sqrt(float(keys.shape[-1]))
    exps = tf.exp(scores - tf.reduce_max(scores, axis=-1, keepdims=True)) * tf.cast(mask[:, None, :], scores.dtype)
    weights = exps / tf.reduce_sum(exps, axis=-1, keepdims=True)
    return tf.einsum("bqk,bkv->bqv", weights, values), weights


def attend_keras_ops(queries, keys, values, mask):
    ops = keras.ops
    scores = ops.matmul(queries, ops.swapaxes(keys, -1, -2)) * ops.rsqrt(ops.cast(ops.shape(keys)[-1], "float32"))
    weights = ops.softmax(ops.where(ops.expand_dims(mask, 1), scores, -np.inf), axis=-1)
    return ops.matmul(weights, values), weights


def attend_numpy(queries, keys, values, mask):
    q, k, v, m = (np.asarray(x) for x in (queries, keys, values, mask))
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(k.shape[-1]) - 1e9 * ~m[:, None, :]
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return tf.constant(weights @ v), tf.constant(weights)


def attend_star(queries, keys, values, mask):
    scores = queries * keys / np.sqrt(keys.shape[-1])
    weights = tf.nn.softmax(scores)
    return tf.matmul(weights, values), weights


def attend_raw_scores(queries, keys, values, mask):
    scores = tf.matmul(queries, keys, transpose_b=True) / tf.sqrt(float(keys.shape[-1]))
    scores = tf.where(mask[:, None, :], scores, -1e9)
    return tf.matmul(scores, values), scores


def attend_unnormalised(queries, keys, values, mask):
    scores = tf.matmul(queries, keys, transpose_b=True) / tf.sqrt(float(keys.shape[-1]))
    weights = tf.exp(tf.where(mask[:, None, :], scores, -1e9))
    return tf.matmul(weights, values), weights


def attend_context_from_keys(queries, keys, values, mask):
    weights = attend(queries, keys, values, mask)[1]
    return tf.matmul(weights, keys), weights


def attend_stop_gradient(queries, keys, values, mask):
    context, weights = attend(queries, keys, values, mask)
    return tf.matmul(tf.stop_gradient(weights), values), weights


def attend_mask_on_queries(queries, keys, values, mask):
    scores = tf.matmul(queries, keys, transpose_b=True) / tf.sqrt(float(keys.shape[-1]))
    weights = tf.nn.softmax(tf.where(mask[:, :, tf.newaxis], scores, -1e9))
    return tf.matmul(weights, values), weights


def attend_swapped(queries, keys, values, mask):
    scores = tf.matmul(keys, queries, transpose_b=True) / tf.sqrt(float(keys.shape[-1]))
    weights = tf.nn.softmax(tf.where(mask[:, tf.newaxis, :], scores, -1e9))
    return tf.matmul(weights, values), weights


def attend_nan_mask(queries, keys, values, mask):
    scores = tf.matmul(queries, keys, transpose_b=True) / tf.sqrt(float(keys.shape[-1]))
    scores += (1.0 - tf.cast(mask[:, None, :], scores.dtype)) * -np.inf
    weights = tf.nn.softmax(scores)
    return tf.matmul(weights, values), weights


ATTENTION_WRONG = [
    ("softmax over the queries axis", lambda *a: attend(*a, axis=1), r"queries axis"),
    ("not normalised", attend_unnormalised, r"not normalised"),
    ("not scaled", lambda *a: attend(*a, scale="none"), r"not scaled"),
    ("divided by d", lambda *a: attend(*a, scale="d"), r"divided by d_k instead of sqrt\(d_k\)"),
    ("scaled by sqrt(8), written in", lambda *a: attend(*a, scale="8"), r"c = 2\.828.*sqrt\(d_k\)"),
    ("scaled by the number of keys", lambda *a: attend(*a, scale="keys"), r"number of keys"),
    ("mask not applied", lambda *a: attend(*a, masked="no"), r"mask is not applied"),
    ("mask inverted", lambda *a: attend(*a, masked="inverted"), r"mask is inverted"),
    ("padded scores set to 0", lambda *a: attend(*a, masked="zero"), r"set to 0 rather than"),
    ("masked after the softmax", lambda *a: attend(*a, masked="after"), r"zeroed after the softmax"),
    ("mask broadcast over the queries", attend_mask_on_queries, r"mask is applied along the queries axis"),
    ("raw scores as weights", attend_raw_scores, r"raw scores"),
    ("elementwise * for the matrix product", attend_star, r"matrix product"),
    ("queries and keys swapped", attend_swapped, r"swapped"),
    ("context from the keys", attend_context_from_keys, r"keys' depth"),
    ("NumPy inside", attend_numpy, r"compiled by tf\.function"),
    ("gradient stopped", attend_stop_gradient, r"gradient with respect to the queries"),
    ("-inf times the mask gives NaN", attend_nan_mask, r"NaN"),
    ("only the context returned", lambda *a: attend(*a)[0], r"return two things"),
]

# ---------------------------------------------------------------- 5.5 LuongAttention


def concat_context_state(context, state):
    return tf.concat([context, state], axis=-1)


def make_luong(attention=attend, activation="tanh", mix=concat_context_state, mask_passed=True, use_bias=True):
    """A student's LuongAttention class; the arguments make the wrong ones."""

    class LuongAttention(layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.combine = layers.Dense(units, activation=activation, use_bias=use_bias)

        def call(self, decoder_states, encoder_states, source_mask):
            mask = source_mask if mask_passed else tf.ones_like(source_mask)
            context, weights = attention(decoder_states, encoder_states, encoder_states, mask)
            return self.combine(mix(context, decoder_states)), weights

    return LuongAttention


class LuongMatrix(layers.Layer):
    """W_m as the formula writes it, (units, 2d), with an explicit tanh."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, decoder_states_shape, encoder_states_shape, source_mask_shape):
        self.W_m = self.add_weight(shape=(self.units, 2 * decoder_states_shape[-1]), initializer="orthogonal")
        self.b_m = self.add_weight(shape=(self.units,), initializer="zeros")

    def call(self, decoder_states, encoder_states, source_mask):
        context, weights = attend_einsum_renormalised(decoder_states, encoder_states, encoder_states, source_mask)
        mixed = tf.concat([context, decoder_states], -1)
        return tf.tanh(tf.einsum("btc,uc->btu", mixed, self.W_m) + self.b_m), weights


class LuongEinsumDense(layers.Layer):
    """keras EinsumDense and keras.ops, the state before the context."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.combine = layers.EinsumDense("btc,cu->btu", output_shape=(None, units), bias_axes="u",
                                          kernel_initializer="he_normal")

    def call(self, decoder_states, encoder_states, source_mask):
        context, weights = attend_keras_ops(decoder_states, encoder_states, encoder_states, source_mask)
        return keras.ops.tanh(self.combine(keras.ops.concatenate([decoder_states, context], -1))), weights


class LuongLinearThenTanh(make_luong(activation=None, mix=lambda c, s: tf.concat([s, c], -1))):
    def call(self, decoder_states, encoder_states, source_mask):
        states, weights = super().call(decoder_states, encoder_states, source_mask)
        return tf.tanh(states), weights


class LuongFloat64(make_luong(attention=attend_float64_additive)):
    def __init__(self, units, **kwargs):
        super().__init__(units, dtype="float64", **kwargs)


class LuongDenseInCall(layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def call(self, decoder_states, encoder_states, source_mask):
        context, weights = attend(decoder_states, encoder_states, encoder_states, source_mask)
        return layers.Dense(self.units, activation="tanh")(tf.concat([context, decoder_states], -1)), weights


class LuongFixedUnits(make_luong()):
    def __init__(self, units, **kwargs):
        super().__init__(96, **kwargs)  # the notebook's UNITS written in


def mix_with_all_states(context, state, encoder_states):
    return tf.concat([context, state + tf.reduce_mean(encoder_states, axis=1, keepdims=True)], -1)


class LuongPaddingLeak(layers.Layer):
    """Masked attention, but the state also reads the mean of all encoder states, padding included."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.combine = layers.Dense(units, activation="tanh")

    def call(self, decoder_states, encoder_states, source_mask):
        context, weights = attend(decoder_states, encoder_states, encoder_states, source_mask)
        return self.combine(mix_with_all_states(context, decoder_states, encoder_states)), weights


class LuongWrongOrder(make_luong()):
    def call(self, decoder_states, encoder_states, source_mask):
        states, weights = super().call(decoder_states, encoder_states, source_mask)
        return weights, states


LUONG_WRONG = [
    ("mask not passed on", make_luong(mask_passed=False), r"mask is not applied"),
    ("no tanh", make_luong(activation=None), r"tanh is missing"),
    ("sigmoid instead of tanh", make_luong(activation="sigmoid"), r"sigmoid"),
    ("relu instead of tanh", make_luong(activation="relu"), r"ReLU"),
    ("no bias", make_luong(use_bias=False), r"b_m is missing"),
    ("context not used", make_luong(mix=lambda c, s: s), r"context is not used"),
    ("decoder state not used", make_luong(mix=lambda c, s: c), r"decoder state is not used"),
    ("context and state added", make_luong(mix=lambda c, s: c + s), r"added instead of concatenated"),
    ("concatenated along time", make_luong(mix=lambda c, s: tf.concat([c, s], axis=1)), r"time axis"),
    ("unscaled attention", make_luong(attention=lambda *a: attend(*a, scale="none")), r"not scaled"),
    ("Dense created in call", LuongDenseInCall, r"no weights"),
    ("roles of decoder and encoder swapped", make_luong(attention=lambda s, h, _, mask: attend(h, s, s, mask)),
     r"swapped"),
    ("units written in", LuongFixedUnits, r"instead of units="),
    ("padding leaks into the output", LuongPaddingLeak, None),
    ("results in the wrong order", LuongWrongOrder, r"wrong order"),
]

WRONG = (
    [Wrong("5.2", mistake, lambda answer=answer: (answer,), names) for mistake, answer, names in DECODER_WRONG]
    + [Wrong("5.3", mistake, lambda answer=answer: (answer,), names) for mistake, answer, names in GREEDY_WRONG]
    + [Wrong("5.4", mistake, lambda answer=answer: (answer,), names) for mistake, answer, names in ATTENTION_WRONG]
    + [Wrong("5.5", mistake, lambda answer=answer: (answer,), names) for mistake, answer, names in LUONG_WRONG]
)

RIGHT = [
    Right("5.2", "np.concatenate", lambda: (decoder_concatenate,)),
    Right("5.2", "tf.concat, returns a tensor", lambda: (decoder_tf_concat,)),
    Right("5.2", "np.roll, then the first column set", lambda: (decoder_roll,)),
    Right("5.2", "a Python loop over rows", lambda: (decoder_loop,)),
    Right("5.3", "batched tf.argmax in a compiled step, padding afterwards", lambda: (greedy,)),
    Right("5.3", "one sentence at a time in NumPy, stopping at the end token", lambda: (greedy_rows,)),
    Right("5.3", "keras.ops, stopping once every row has ended", lambda: (greedy_early_stop,)),
    Right("5.4", "tf.where mask, as the notebook suggests", lambda: (attend,)),
    Right("5.4", "float64 with an additive mask", lambda: (attend_float64_additive,)),
    Right("5.4", "einsum, masked after exp and renormalised", lambda: (attend_einsum_renormalised,)),
    Right("5.4", "keras.ops with -inf", lambda: (attend_keras_ops,)),
    Right("5.5", "Dense on [a; s]", lambda: (make_luong(),)),
    Right("5.5", "linear Dense on [s; a], then tf.tanh", lambda: (LuongLinearThenTanh,)),
    Right("5.5", "add_weight W_m (units, 2d), einsum", lambda: (LuongMatrix,)),
    Right("5.5", "EinsumDense and keras.ops, [s; a]", lambda: (LuongEinsumDense,)),
    Right("5.5", "a float64 layer", lambda: (LuongFloat64,)),
]


# ---------------------------------------------------------------- written after diagnosis.py: tests its generality
# Wrong answers written once labhelpers/judges/diagnosis.py was in place, as students write them, each with the
# name a good diagnosis gives (None where nothing can single it out); bench/check_mutations.py counts them apart.
def greedy_loop(model, sources, start_id, max_length, stop=None, stop_before=False, pad="full", keep_after_end=0,
                first_ids=None, carry_c=True, lag=False, pad_value=0, one_row=False, no_mask=False):
    """A student's NumPy greedy loop with one thing changed (the keyword arguments)."""
    if one_row:  # decodes the first sentence and copies it to every row
        ids = greedy_loop(model, sources[:1], start_id, max_length)
        return np.repeat(ids, len(sources), axis=0)
    encoder_states, state, source_mask = model.encoder(sources)
    source_mask = None if no_mask else source_mask
    start = np.full((len(sources), 1), start_id, "int32")
    next_ids = start if first_ids is None else first_ids(sources)
    before, written, done = start, [], np.zeros(len(sources), bool)
    for _ in range(max_length):
        logits, new_state, _ = model.decoder(next_ids, state, encoder_states, source_mask)
        state = new_state if carry_c else [new_state[0], state[1]]
        chosen = np.argmax(np.asarray(logits), axis=-1).astype("int32")
        if stop and stop_before and stop(chosen, done):
            break
        written.append(chosen)
        done |= chosen[:, 0] == 0
        before, next_ids = next_ids, (before if lag else chosen)
        if stop and stop(chosen, done):
            break
    ids = np.concatenate(written, axis=1)
    for row in ids:  # padding after the end token (0)
        ends = np.flatnonzero(row == 0)
        if ends.size:
            row[ends[0] + 1 + keep_after_end:] = 0
            row[ends[0] + 1:] = np.where(row[ends[0] + 1:] == 0, pad_value, row[ends[0] + 1:])
    if pad == "full":
        ids = np.pad(ids, [(0, 0), (0, max_length - ids.shape[1])], constant_values=pad_value)
    return ids


GREEDY_AFTER_DIAGNOSIS = [
    ("the loop stops the whole batch when one row ends",
     lambda *a: greedy_loop(*a, stop=lambda ids, done: (ids == 0).any()), r"ends the whole batch when one row ends"),
    ("ids stacked step-major, (max_length, batch)", lambda *a: greedy_loop(*a).T, r"transposed|axes are swapped"),
    ("breaks before writing the end token of the first row to end",
     lambda *a: greedy_loop(*a, stop=lambda ids, done: (ids == 0).any(), stop_before=True), r"when one row ends"),
    ("the source mask left out (None)", lambda *a: greedy_loop(*a, no_mask=True), r"mask"),
    ("padding mask off by one: the id after the end kept", lambda *a: greedy_loop(*a, keep_after_end=1),
     r"after (its|the) end token"),
    ("start id hard-coded as 1", lambda *a: greedy_loop(
        *a, first_ids=lambda sources: np.ones((len(sources), 1), "int32")), r"in place of start_id|first input"),
    ("only h carried, c stays the encoder's", lambda *a: greedy_loop(*a, carry_c=False), r"cell state c .*not carried"),
    ("feeds the id from two steps back", lambda *a: greedy_loop(*a, lag=True), None),
    ("pads with -1 after the end token", lambda *a: greedy_loop(*a, pad_value=-1), r"-1"),
    ("decodes the first sentence for every row", lambda *a: greedy_loop(*a, one_row=True), r"expected in row 0"),
]

WRONG += after_diagnosis(*[Wrong("5.3", mistake, lambda answer=answer: (answer,), names)
                           for mistake, answer, names in GREEDY_AFTER_DIAGNOSIS])
