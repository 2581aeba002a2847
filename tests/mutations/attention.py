"""Lab 05: wrong and right answers to 5.2 make_decoder_inputs, 5.3 greedy_decode,
5.4 scaled_dot_product_attention and 5.5 LuongAttention, written as students write them.

Answers in NumPy or keras.ops run on every backend (`on_every_backend`); a few keep TensorFlow's own API
(tf.concat, tf.where, tf.function, float64) and import TensorFlow only when they run. The
mistakes only one framework lets a learner make (JAX's trace, PyTorch's autograd graph and in-place
operations) are in the sections for that backend at the end."""

import math

import keras
import numpy as np
from keras import layers, ops

from mutations import Right, Wrong, after_diagnosis, on_every_backend

# ---------------------------------------------------------------- 5.2 make_decoder_inputs


def decoder_concatenate(targets, start_id):
    start = np.full((len(targets), 1), start_id, dtype=targets.dtype)
    return np.concatenate([start, targets[:, :-1]], axis=1)


def decoder_tf_concat(targets, start_id):
    import tensorflow as tf

    return tf.concat([tf.fill((len(targets), 1), tf.constant(start_id, targets.dtype)), targets[:, :-1]], axis=1)


def decoder_keras_ops(targets, start_id):
    start = ops.full((len(targets), 1), start_id, dtype=str(targets.dtype))
    return ops.concatenate([start, ops.convert_to_tensor(targets[:, :-1])], axis=1)


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
           choose=lambda logits: ops.cast(ops.argmax(logits, axis=-1), "int32"), pad=True, keep_start=False,
           decode=None):
    """A student's batched greedy loop in keras.ops; the keyword arguments make the wrong ones."""
    decode = decode(model.decoder) if decode else model.decoder
    encoder_states, (h, c), source_mask = model.encoder(sources)
    initial = state = first_state(h, c)
    next_ids = start = np.full((len(sources), 1), start_id, "int32")
    predicted = []
    for _ in range(max_length):
        logits, new_state, _ = decode(next_ids if feed_back else start, state, encoder_states, source_mask)
        state = new_state if carry else initial
        next_ids = choose(logits)
        predicted.append(next_ids)
    predicted = ops.convert_to_numpy(ops.concatenate(predicted, axis=1))
    if pad:
        predicted[np.cumsum(predicted == 0, axis=1) > 0] = 0
    if keep_start:
        predicted = np.concatenate([np.full((len(sources), 1), start_id), predicted[:, :-1]], axis=1)
    return predicted


def greedy_tf(model, sources, start_id, max_length):
    """TensorFlow's own API: a tf.function step, tf.fill and tf.argmax."""
    import tensorflow as tf

    decode = tf.function(model.decoder, reduce_retracing=True)
    encoder_states, state, source_mask = model.encoder(sources)
    next_ids = tf.fill((len(sources), 1), start_id)
    predicted = []
    for _ in range(max_length):
        logits, state, _ = decode(next_ids, state, encoder_states, source_mask)
        next_ids = tf.argmax(logits, axis=-1, output_type=tf.int32)
        predicted.append(next_ids)
    return greedy_pad(tf.concat(predicted, axis=1).numpy())


def greedy_rows(model, sources, start_id, max_length):
    """One sentence at a time, in NumPy, stopping at the end token and padding the rest."""
    rows = []
    for source in sources:
        encoder_states, state, source_mask = model.encoder(source[None])
        ids, next_id = [], start_id
        while len(ids) < max_length:
            logits, state, _ = model.decoder(np.array([[next_id]]), state, encoder_states, source_mask)
            next_id = int(np.argmax(ops.convert_to_numpy(logits)[0, -1]))
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
    return greedy_pad(np.argmax(ops.convert_to_numpy(logits), axis=-1))


def greedy_pad(predicted):
    predicted = np.array(ops.convert_to_numpy(predicted))
    predicted[np.cumsum(predicted == 0, axis=1) > 0] = 0
    return predicted


def greedy_one_short(model, sources, start_id, max_length):
    return greedy(model, sources, start_id, max_length)[:, : max_length - 1]


SAMPLING = keras.random.SeedGenerator(0)

GREEDY_WRONG = [
    ("decoder starts from zeros", lambda *a: greedy(*a, first_state=lambda h, c: None), r"starts from zeros"),
    ("zeros of the right shapes", lambda *a: greedy(*a, first_state=lambda h, c: [ops.zeros_like(h)] * 2),
     r"starts from zeros"),
    ("only h handed", lambda *a: greedy(*a, first_state=lambda h, c: [h, ops.zeros_like(c)]), r"only h"),
    ("h and c swapped", lambda *a: greedy(*a, first_state=lambda h, c: [c, h]), r"swapped"),
    ("teacher forcing at inference", greedy_teacher_forcing, r"teacher forcing"),
    ("start token fed every step", lambda *a: greedy(*a, feed_back=False), r"start token is fed at every step"),
    ("sampling instead of argmax", lambda *a: greedy(*a, choose=lambda z: ops.cast(keras.random.categorical(z[:, -1], 1, seed=SAMPLING), "int32")),
     r"sampled"),
    ("start token included in the output", lambda *a: greedy(*a, keep_start=True), r"off by one.*start token"),
    ("last id dropped", greedy_one_short, r"off by one.*dropped"),
    ("no padding after the end token", lambda *a: greedy(*a, pad=False), r"after the end token"),
    ("state not carried", lambda *a: greedy(*a, carry=False), r"not carried"),
    ("argmax over the step axis", lambda *a: greedy(*a, choose=lambda z: ops.cast(ops.argmax(z, axis=1), "int32")),
     r"wrong axis"),
]

# ---------------------------------------------------------------- 5.4 scaled_dot_product_attention


def attend(queries, keys, values, mask, scale="sqrt", axis=-1, masked="before"):
    """A student's answer in keras.ops; the keyword arguments make the wrong ones."""
    scores = ops.matmul(queries, ops.swapaxes(keys, -1, -2))
    depth = ops.cast(ops.shape(keys)[-1], scores.dtype)
    scores = scores / {"sqrt": ops.sqrt(depth), "none": 1.0, "d": depth, "8": np.sqrt(8.0),
                       "keys": ops.sqrt(ops.cast(ops.shape(keys)[1], scores.dtype))}[scale]
    if masked in ("before", "inverted", "zero"):
        keep = ops.expand_dims(mask, 1)
        keep = ops.logical_not(keep) if masked == "inverted" else keep
        scores = ops.where(keep, scores, 0.0 if masked == "zero" else -1e9)
    weights = ops.softmax(scores, axis=axis)
    if masked == "after":
        weights = weights * ops.cast(ops.expand_dims(mask, 1), weights.dtype)
    return ops.matmul(weights, values), weights


def attend_tf_where(queries, keys, values, mask):
    import tensorflow as tf

    """TensorFlow's own operations, as the notebook suggested before it taught keras.ops."""
    depth = tf.cast(tf.shape(keys)[-1], queries.dtype)
    scores = tf.matmul(queries, keys, transpose_b=True) / tf.sqrt(depth)
    weights = tf.nn.softmax(tf.where(mask[:, tf.newaxis, :], scores, -1e9), axis=-1)
    return tf.matmul(weights, values), weights


def attend_float64_additive(queries, keys, values, mask):
    import tensorflow as tf

    q, k, v = (tf.cast(x, tf.float64) for x in (queries, keys, values))
    scores = tf.matmul(q, k, transpose_b=True) / tf.sqrt(tf.cast(k.shape[-1], tf.float64))
    scores += (1.0 - tf.cast(mask, tf.float64))[:, None, :] * -1e9
    weights = tf.nn.softmax(scores)
    return weights @ v, weights


def attend_einsum_renormalised(queries, keys, values, mask):
    scores = ops.einsum("bqd,bkd->bqk", queries, keys) / ops.sqrt(float(keys.shape[-1]))
    exps = ops.exp(scores - ops.max(scores, axis=-1, keepdims=True)) * ops.cast(mask[:, None, :], scores.dtype)
    weights = exps / ops.sum(exps, axis=-1, keepdims=True)
    return ops.einsum("bqk,bkv->bqv", weights, values), weights


def attend_keras_ops(queries, keys, values, mask):
    scores = ops.matmul(queries, ops.swapaxes(keys, -1, -2)) * ops.rsqrt(ops.cast(ops.shape(keys)[-1], "float32"))
    weights = ops.softmax(ops.where(ops.expand_dims(mask, 1), scores, -np.inf), axis=-1)
    return ops.matmul(weights, values), weights


def attend_additive_mask(queries, keys, values, mask):
    """The mask added to the scores as a large negative bias, @ for the products."""
    scores = queries @ ops.transpose(keys, (0, 2, 1)) / math.sqrt(keys.shape[-1])
    scores = scores + (1.0 - ops.cast(mask, scores.dtype))[:, None, :] * -1e9
    weights = ops.softmax(scores)
    return weights @ values, weights


def attend_numpy(queries, keys, values, mask):
    q, k, v, m = (np.asarray(x) for x in (queries, keys, values, mask))
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(k.shape[-1]) - 1e9 * ~m[:, None, :]
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return ops.convert_to_tensor(weights @ v), ops.convert_to_tensor(weights)


def attend_star(queries, keys, values, mask):
    scores = queries * keys / np.sqrt(keys.shape[-1])
    weights = ops.softmax(scores)
    return ops.matmul(weights, values), weights


def attend_raw_scores(queries, keys, values, mask):
    scores = ops.matmul(queries, ops.swapaxes(keys, 1, 2)) / math.sqrt(keys.shape[-1])
    scores = ops.where(mask[:, None, :], scores, -1e9)
    return ops.matmul(scores, values), scores


def attend_unnormalised(queries, keys, values, mask):
    scores = ops.matmul(queries, ops.swapaxes(keys, 1, 2)) / math.sqrt(keys.shape[-1])
    weights = ops.exp(ops.where(mask[:, None, :], scores, -1e9))
    return ops.matmul(weights, values), weights


def attend_context_from_keys(queries, keys, values, mask):
    weights = attend(queries, keys, values, mask)[1]
    return ops.matmul(weights, keys), weights


def attend_stop_gradient(queries, keys, values, mask):
    context, weights = attend(queries, keys, values, mask)
    return ops.matmul(ops.stop_gradient(weights), values), weights


def attend_mask_on_queries(queries, keys, values, mask):
    scores = ops.matmul(queries, ops.swapaxes(keys, 1, 2)) / math.sqrt(keys.shape[-1])
    weights = ops.softmax(ops.where(mask[:, :, None], scores, -1e9))
    return ops.matmul(weights, values), weights


def attend_swapped(queries, keys, values, mask):
    scores = ops.matmul(keys, ops.swapaxes(queries, 1, 2)) / math.sqrt(keys.shape[-1])
    weights = ops.softmax(ops.where(mask[:, None, :], scores, -1e9))
    return ops.matmul(weights, values), weights


def attend_nan_mask(queries, keys, values, mask):
    scores = ops.matmul(queries, ops.swapaxes(keys, 1, 2)) / math.sqrt(keys.shape[-1])
    scores = scores + (1.0 - ops.cast(mask[:, None, :], scores.dtype)) * -np.inf
    weights = ops.softmax(scores)
    return ops.matmul(weights, values), weights


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
    ("queries and keys swapped", attend_swapped, r"swapped"),
    ("context from the keys", attend_context_from_keys, r"keys' depth"),
    ("NumPy inside", attend_numpy,
     r"fails when compiled by (tf\.function|jax\.jit)|no gradient flows back|computing gradients through your code failed"),
    ("gradient stopped", attend_stop_gradient, r"gradient with respect to the queries"),
    ("-inf times the mask gives NaN", attend_nan_mask, r"NaN"),
    ("only the context returned", lambda *a: attend(*a)[0], r"return two things"),
]

# ---------------------------------------------------------------- 5.5 LuongAttention


def concat_context_state(context, state):
    return ops.concatenate([context, state], axis=-1)


def make_luong(attention=attend, activation="tanh", mix=concat_context_state, mask_passed=True, use_bias=True):
    """A student's LuongAttention class; the arguments make the wrong ones."""

    class LuongAttention(layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.combine = layers.Dense(units, activation=activation, use_bias=use_bias)

        def call(self, decoder_states, encoder_states, source_mask):
            mask = source_mask if mask_passed else ops.ones_like(source_mask)
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
        mixed = ops.concatenate([context, decoder_states], -1)
        return ops.tanh(ops.einsum("btc,uc->btu", mixed, self.W_m) + self.b_m), weights


class LuongEinsumDense(layers.Layer):
    """keras EinsumDense and keras.ops, the state before the context."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.combine = layers.EinsumDense("btc,cu->btu", output_shape=(None, units), bias_axes="u",
                                          kernel_initializer="he_normal")

    def call(self, decoder_states, encoder_states, source_mask):
        context, weights = attend_keras_ops(decoder_states, encoder_states, encoder_states, source_mask)
        return keras.ops.tanh(self.combine(keras.ops.concatenate([decoder_states, context], -1))), weights


class LuongLinearThenTanh(make_luong(activation=None, mix=lambda c, s: ops.concatenate([s, c], -1))):
    def call(self, decoder_states, encoder_states, source_mask):
        states, weights = super().call(decoder_states, encoder_states, source_mask)
        return ops.tanh(states), weights


class LuongFloat64(make_luong(attention=attend_float64_additive)):
    def __init__(self, units, **kwargs):
        super().__init__(units, dtype="float64", **kwargs)


class LuongDenseInCall(layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def call(self, decoder_states, encoder_states, source_mask):
        context, weights = attend(decoder_states, encoder_states, encoder_states, source_mask)
        return layers.Dense(self.units, activation="tanh")(ops.concatenate([context, decoder_states], -1)), weights


class LuongFixedUnits(make_luong()):
    def __init__(self, units, **kwargs):
        super().__init__(96, **kwargs)  # the notebook's UNITS written in


def mix_with_all_states(context, state, encoder_states):
    return ops.concatenate([context, state + ops.mean(encoder_states, axis=1, keepdims=True)], -1)


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
    ("concatenated along time", make_luong(mix=lambda c, s: ops.concatenate([c, s], axis=1)), r"time axis"),
    ("unscaled attention", make_luong(attention=lambda *a: attend(*a, scale="none")), r"not scaled"),
    ("Dense created in call", LuongDenseInCall, r"no weights"),
    ("roles of decoder and encoder swapped", make_luong(attention=lambda s, h, _, mask: attend(h, s, s, mask)),
     r"swapped"),
    ("units written in", LuongFixedUnits, r"instead of units="),
    ("padding leaks into the output", LuongPaddingLeak, None),
    ("results in the wrong order", LuongWrongOrder, r"wrong order"),
]

WRONG = (
    [Wrong("5.4", "elementwise * for the matrix product", lambda: (attend_star,), r"matrix product",
           backends=("tensorflow", "jax"))]
    + on_every_backend(*[Wrong("5.2", mistake, lambda answer=answer: (answer,), names)
                       for mistake, answer, names in DECODER_WRONG])
    + on_every_backend(*[Wrong("5.3", mistake, lambda answer=answer: (answer,), names)
                         for mistake, answer, names in GREEDY_WRONG])
    + on_every_backend(*[Wrong("5.4", mistake, lambda answer=answer: (answer,), names)
                         for mistake, answer, names in ATTENTION_WRONG])
    + on_every_backend(*[Wrong("5.5", mistake, lambda answer=answer: (answer,), names)
                         for mistake, answer, names in LUONG_WRONG])
)

RIGHT = [
    *on_every_backend(Right("5.2", "np.concatenate", lambda: (decoder_concatenate,)),
                      Right("5.2", "keras.ops, returns a tensor", lambda: (decoder_keras_ops,)),
                      Right("5.2", "np.roll, then the first column set", lambda: (decoder_roll,)),
                      Right("5.2", "a Python loop over rows", lambda: (decoder_loop,))),
    Right("5.2", "tf.concat, returns a tensor", lambda: (decoder_tf_concat,)),
    Right("5.3", "tf.argmax in a tf.function step, padding afterwards", lambda: (greedy_tf,)),
    *on_every_backend(
        Right("5.3", "batched keras.ops.argmax, padding afterwards", lambda: (greedy,)),
        Right("5.3", "one sentence at a time in NumPy, stopping at the end token", lambda: (greedy_rows,)),
        Right("5.3", "keras.ops, stopping once every row has ended", lambda: (greedy_early_stop,))),
    *on_every_backend(Right("5.4", "keras.ops.where mask, as the notebook suggests", lambda: (attend,)),
                      Right("5.4", "einsum, masked after exp and renormalised", lambda: (attend_einsum_renormalised,)),
                      Right("5.4", "keras.ops with -inf", lambda: (attend_keras_ops,)),
                      Right("5.4", "@ and an additive mask", lambda: (attend_additive_mask,))),
    Right("5.4", "tf.where mask, as the notebook suggested before", lambda: (attend_tf_where,)),
    Right("5.4", "float64 with an additive mask", lambda: (attend_float64_additive,)),
    *on_every_backend(Right("5.5", "Dense on [a; s]", lambda: (make_luong(),)),
                      Right("5.5", "linear Dense on [s; a], then keras.ops.tanh", lambda: (LuongLinearThenTanh,)),
                      Right("5.5", "add_weight W_m (units, 2d), einsum", lambda: (LuongMatrix,)),
                      Right("5.5", "EinsumDense and keras.ops, [s; a]", lambda: (LuongEinsumDense,))),
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
        chosen = np.argmax(ops.convert_to_numpy(logits), axis=-1).astype("int32")
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

WRONG += on_every_backend(*after_diagnosis(*[Wrong("5.3", mistake, lambda answer=answer: (answer,), names)
                                            for mistake, answer, names in GREEDY_AFTER_DIAGNOSIS]))


# ---------------------------------------------------------------- JAX: what jax.jit's trace refuses
# The probes compile the answer with jax.jit, as model.fit does on JAX: a tensor is then a tracer with no value.
def attend_python_if(queries, keys, values, mask):
    """Masks only when there is padding, deciding with a Python `if` on a tensor's value."""
    scores = ops.matmul(queries, ops.swapaxes(keys, -1, -2)) / math.sqrt(keys.shape[-1])
    if not ops.all(mask):  # a value, eagerly; a tracer under jax.jit
        scores = ops.where(ops.expand_dims(mask, 1), scores, -1e9)
    weights = ops.softmax(scores, axis=-1)
    return ops.matmul(weights, values), weights


def attend_numpy_mask(queries, keys, values, mask):
    """The mask broadcast in NumPy: np.asarray of a tracer."""
    keep = np.asarray(mask)[:, None, :]
    scores = ops.matmul(queries, ops.swapaxes(keys, -1, -2)) / math.sqrt(keys.shape[-1])
    weights = ops.softmax(ops.where(keep, scores, -1e9), axis=-1)
    return ops.matmul(weights, values), weights


def attend_float_max(queries, keys, values, mask):
    """A softmax by hand, stabilised by the largest score read out as a Python float."""
    scores = ops.matmul(queries, ops.swapaxes(keys, -1, -2)) / math.sqrt(keys.shape[-1])
    exps = ops.exp(scores - float(ops.max(scores))) * ops.cast(ops.expand_dims(mask, 1), scores.dtype)
    weights = exps / ops.sum(exps, axis=-1, keepdims=True)
    return ops.matmul(weights, values), weights


def attend_item_assignment(queries, keys, values, mask):
    """Masks by assigning into the scores, as NumPy allows: JAX arrays are immutable."""
    scores = ops.matmul(queries, ops.swapaxes(keys, -1, -2)) / math.sqrt(keys.shape[-1])
    scores[~np.broadcast_to(np.asarray(mask)[:, None, :], scores.shape)] = -1e9
    weights = ops.softmax(scores, axis=-1)
    return ops.matmul(weights, values), weights


def attend_jax_numpy(queries, keys, values, mask):
    import jax
    import jax.numpy as jnp

    scores = jnp.einsum("bqd,bkd->bqk", queries, keys) / jnp.sqrt(keys.shape[-1])
    weights = jax.nn.softmax(jnp.where(mask[:, None, :], scores, -1e9), axis=-1)
    return weights @ values, weights


def attend_jax_lax_select(queries, keys, values, mask):
    """The mask as a functional update with .at[], indexed by the mask: jax.jit refuses boolean indices
    whose values it cannot know (NonConcreteBooleanIndexError); jnp.where is the way."""
    import jax
    import jax.numpy as jnp

    scores = queries @ jnp.swapaxes(keys, 1, 2) / jnp.sqrt(keys.shape[-1])
    scores = scores.at[jnp.broadcast_to(~mask[:, None, :], scores.shape)].set(-1e9)
    return jax.nn.softmax(scores) @ values, jax.nn.softmax(scores)


class LuongPythonIf(make_luong()):
    """A Python `if` on the mask decides whether to attend at all."""

    def call(self, decoder_states, encoder_states, source_mask):
        if bool(ops.any(source_mask)):
            return super().call(decoder_states, encoder_states, source_mask)
        return self.combine(ops.concatenate([decoder_states, decoder_states], -1)), None


class LuongJaxNumpy(layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.combine = layers.Dense(units)

    def call(self, decoder_states, encoder_states, source_mask):
        import jax.numpy as jnp

        context, weights = attend_jax_numpy(decoder_states, encoder_states, encoder_states, source_mask)
        return jnp.tanh(self.combine(jnp.concatenate([context, decoder_states], axis=-1))), weights


def greedy_numpy_in_jit(model, sources, start_id, max_length):
    """The argmax compiled with jax.jit, through NumPy: np.asarray needs a value the trace has not got."""
    import jax

    return greedy(model, sources, start_id, max_length, choose=jax.jit(lambda z: np.asarray(z).argmax(axis=-1)))


def greedy_jax_jit_step(model, sources, start_id, max_length):
    """A jax.jit step of its own: the weights are a pure function's arguments, through stateless_call."""
    import jax

    def compiled(decoder):
        step = jax.jit(decoder.stateless_call)
        weights = ([v.value for v in decoder.trainable_variables], [v.value for v in decoder.non_trainable_variables])
        return lambda *inputs: step(*weights, *inputs)[0]

    return greedy(model, sources, start_id, max_length, decode=compiled)


JAX = ("jax",)
WRONG += [
    Wrong("5.4", "the mask written with .at[mask].set(), a boolean index", lambda: (attend_jax_lax_select,),
          r"compiled by jax\.jit", backends=JAX),
    Wrong("5.3", "np.asarray inside a jax.jit-compiled function", lambda: (greedy_numpy_in_jit,),
          r"TracerArrayConversionError", backends=JAX),
    Wrong("5.4", "a Python if on the mask's value", lambda: (attend_python_if,), r"compiled by jax\.jit", backends=JAX),
    Wrong("5.4", "np.asarray of the mask", lambda: (attend_numpy_mask,), r"compiled by jax\.jit", backends=JAX),
    Wrong("5.4", "float() of the largest score", lambda: (attend_float_max,), r"compiled by jax\.jit", backends=JAX),
    Wrong("5.4", "item assignment into the scores", lambda: (attend_item_assignment,), r"raised TypeError",
          backends=JAX),
    Wrong("5.5", "a Python if on the mask in call", lambda: (LuongPythonIf,), r"compiled by jax\.jit",
          backends=JAX),
    Wrong("5.5", "np.asarray of the mask in the attention", lambda: (make_luong(attention=attend_numpy_mask),),
          r"compiled by jax\.jit", backends=JAX),
]
RIGHT += [
    Right("5.3", "its own jax.jit step through stateless_call", lambda: (greedy_jax_jit_step,), backends=JAX),
    Right("5.4", "jax.numpy and jax.nn.softmax", lambda: (attend_jax_numpy,), backends=JAX),
    Right("5.5", "jax.numpy inside the layer", lambda: (LuongJaxNumpy,), backends=JAX),
]


# ---------------------------------------------------------------- PyTorch: autograd's graph and in-place operations
# The gradient probe gives the answer leaf tensors that require grad, as training's weights do.
def attend_scaled_in_place(queries, keys, values, mask):
    """Scales the queries in place: an in-place change of an input (a leaf that requires grad in training)."""
    queries /= math.sqrt(queries.shape[-1])
    return attend(queries, keys, values, mask, scale="none")


def attend_masked_fill_values(queries, keys, values, mask):
    """Zeroes the padded values in place with masked_fill_, an input of the function."""
    values.masked_fill_(~mask[:, :, None], 0.0)
    return attend(queries, keys, values, mask)


def attend_detached(queries, keys, values, mask):
    """The weights detached before they weigh the values."""
    context, weights = attend(queries, keys, values, mask)
    return weights.detach() @ values, weights


def attend_no_grad(queries, keys, values, mask):
    import torch

    with torch.no_grad():
        return attend(queries, keys, values, mask)


def attend_through_numpy(queries, keys, values, mask):
    """The scores through .numpy() and back, to use NumPy's softmax: the graph ends there."""
    import torch

    scores = (queries @ keys.transpose(1, 2) / math.sqrt(keys.shape[-1])).detach().numpy()
    scores = np.where(mask.numpy()[:, None, :], scores, -1e9)
    weights = torch.from_numpy(np.exp(scores - scores.max(-1, keepdims=True)))
    weights = weights / weights.sum(-1, keepdim=True)
    return weights @ values, weights


def attend_torch(queries, keys, values, mask):
    import torch

    scores = torch.matmul(queries, keys.transpose(-2, -1)) / math.sqrt(keys.shape[-1])
    weights = torch.softmax(scores.masked_fill(~mask.unsqueeze(1), -1e9), dim=-1)
    return weights @ values, weights


def attend_torch_fill_scores_in_place(queries, keys, values, mask):
    """masked_fill_ in place on the scores, which the function made itself: autograd allows that."""
    import torch

    scores = torch.bmm(queries, keys.transpose(1, 2)) / math.sqrt(keys.shape[-1])
    scores.masked_fill_(~mask[:, None, :], float("-inf"))
    weights = scores.softmax(dim=-1)
    return torch.bmm(weights, values), weights


class LuongEncoderFilledInPlace(make_luong()):
    """Zeroes the padded encoder states in place before attending."""

    def call(self, decoder_states, encoder_states, source_mask):
        encoder_states.masked_fill_(~source_mask[:, :, None], 0.0)
        return super().call(decoder_states, encoder_states, source_mask)


class LuongNoGrad(make_luong()):
    """Runs the combining layer under torch.no_grad(), as when translating."""

    def call(self, decoder_states, encoder_states, source_mask):
        import torch

        context, weights = attend(decoder_states, encoder_states, encoder_states, source_mask)
        with torch.no_grad():
            return self.combine(ops.concatenate([context, decoder_states], -1)), weights


class LuongDetachedContext(make_luong()):
    def call(self, decoder_states, encoder_states, source_mask):
        context, weights = attend(decoder_states, encoder_states, encoder_states, source_mask)
        return self.combine(ops.concatenate([context.detach(), decoder_states], -1)), weights


class LuongTorch(layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.combine = layers.Dense(units)

    def call(self, decoder_states, encoder_states, source_mask):
        import torch

        context, weights = attend_torch(decoder_states, encoder_states, encoder_states, source_mask)
        return torch.tanh(self.combine(torch.cat([context, decoder_states], dim=-1))), weights


def greedy_numpy_with_grad(model, sources, start_id, max_length):
    """model.decoder called directly (not the torch.no_grad step), then np.argmax of logits that require grad."""
    return greedy(model, sources, start_id, max_length, choose=lambda z: np.argmax(z, axis=-1).astype("int32"))


def greedy_no_grad(model, sources, start_id, max_length):
    """The whole loop under torch.no_grad(), .argmax of the torch tensors."""
    import torch

    with torch.no_grad():
        return greedy(model, sources, start_id, max_length, choose=lambda z: z.argmax(dim=-1).int())


TORCH = ("torch",)
WRONG += [
    Wrong("5.3", "np.argmax of logits that still require grad", lambda: (greedy_numpy_with_grad,),
          r"RuntimeError", backends=TORCH),
    Wrong("5.4", "queries scaled in place (/=)", lambda: (attend_scaled_in_place,), r"computing gradients .* failed",
          backends=TORCH),
    Wrong("5.4", "masked_fill_ in place on the values", lambda: (attend_masked_fill_values,),
          r"computing gradients .* failed", backends=TORCH),
    Wrong("5.4", ".detach() on the weights", lambda: (attend_detached,), r"gradient with respect to the queries",
          backends=TORCH),
    Wrong("5.4", "torch.no_grad() around the computation", lambda: (attend_no_grad,), r"no gradient flows back",
          backends=TORCH),
    Wrong("5.4", "a softmax in NumPy through .numpy()", lambda: (attend_through_numpy,), r"no gradient flows back",
          backends=TORCH),
    Wrong("5.5", "masked_fill_ in place on the encoder states", lambda: (LuongEncoderFilledInPlace,),
          r"computing gradients .* failed", backends=TORCH),
    Wrong("5.5", "the combining layer under torch.no_grad()", lambda: (LuongNoGrad,),
          r"no gradient flows back to the W_m|gradient with respect to the decoder states differs", backends=TORCH),
    # torch.matmul's shape error ("Expected size for first two dimensions of batch2 tensor") is not among
    # grading's known messages yet, so on PyTorch the message names the shape error, not the matrix product.
    Wrong("5.4", "elementwise * for the matrix product", lambda: (attend_star,), r"raised RuntimeError: Expected size",
          backends=TORCH),
    Wrong("5.5", "the context detached", lambda: (LuongDetachedContext,), r"gradient with respect to the decoder states",
          backends=TORCH),
]
RIGHT += [
    Right("5.3", "the loop under torch.no_grad(), tensor.argmax", lambda: (greedy_no_grad,), backends=TORCH),
    Right("5.4", "torch.matmul, masked_fill and torch.softmax", lambda: (attend_torch,), backends=TORCH),
    Right("5.4", "masked_fill_ in place on its own scores", lambda: (attend_torch_fill_scores_in_place,),
          backends=TORCH),
    Right("5.5", "torch.cat and torch.tanh inside the layer", lambda: (LuongTorch,), backends=TORCH),
]
