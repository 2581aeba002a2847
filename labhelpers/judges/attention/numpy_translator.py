"""Lab 05's drawn translator in NumPy, for 5.3's judge: what probes.DrawnEncoder and DrawnDecoder compute
with Keras' layers (Embedding, LSTM, Attention, Dense), from the same drawn weights, without a backend and
about 200 times faster than eager Keras calls. tests/test_greedy_translator.py holds it to the Keras
layers: the logits agree to within 4e-5, and draw_greedy keeps every argmax further ahead (MARGIN)."""

from __future__ import annotations

import numpy as np


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lstm(inputs, state, kernel, recurrent, bias, mask=None):
    """Keras' LSTM with return_sequences and return_state: (outputs, h, c) for inputs (batch, steps, in).

    Gates i, f, c, o; on a masked step the state is carried unchanged and the output is the previous
    step's output (zeros before the first), as Keras does without zero_output_for_mask."""
    h, c = state
    outputs, output = [], np.zeros_like(h)
    for step in range(inputs.shape[1]):
        z = inputs[:, step] @ kernel + h @ recurrent + bias
        i, f, g, o = np.split(z, 4, axis=-1)
        new_c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        new_h = _sigmoid(o) * np.tanh(new_c)
        if mask is not None:
            kept = mask[:, step, None]
            new_h, new_c, new_output = np.where(kept, new_h, h), np.where(kept, new_c, c), np.where(kept, new_h, output)
        else:
            new_output = new_h
        h, c, output = new_h, new_c, new_output
        outputs.append(output)
    return np.stack(outputs, axis=1), h, c


def attention(queries, values, mask=None):
    """keras.layers.Attention() on [queries, values] with mask=[None, mask]: (context, weights).

    Dot-product scores, unscaled; masked positions get 1e9 subtracted before the softmax, as in Keras."""
    scores = queries @ np.swapaxes(values, -2, -1)
    if mask is not None:
        scores = np.where(mask[:, None, :], scores, scores - 1e9)
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights = scores / scores.sum(axis=-1, keepdims=True)
    return weights @ values, weights


class NumpyTranslator:
    """The drawn translator of a 5.3 case, with the interface greedy decoding uses:
    `encoder(sources) -> (encoder states, [h, c], source mask)` and
    `decoder(previous, [h, c], encoder states, source mask) -> (logits, [h, c], attention weights or None)`."""

    def __init__(self, case, dtype="float64"):
        self.dtype, self.units, self.attends = np.dtype(dtype), case["units"], case["attends"]
        self.encoder_weights = [np.asarray(w, self.dtype) for w in case["encoder"]]
        self.decoder_weights = [np.asarray(w, self.dtype) for w in case["decoder"]]

    def encoder(self, sources):
        sources = np.asarray(sources)
        embedding, *weights = self.encoder_weights
        source_mask = sources != 0
        zeros = np.zeros((len(sources), self.units), self.dtype)
        encoder_states, h, c = lstm(embedding[sources], (zeros, zeros), *weights, mask=source_mask)
        return encoder_states, [h, c], source_mask

    def decoder(self, previous, state, encoder_states, source_mask):
        embedding, kernel, recurrent, bias, readout, output_bias = self.decoder_weights
        state = [np.asarray(s, self.dtype) for s in state]
        decoder_states, h, c = lstm(embedding[np.asarray(previous)], state, kernel, recurrent, bias)
        weights = None
        if self.attends:
            context, weights = attention(decoder_states, np.asarray(encoder_states, self.dtype), source_mask)
            decoder_states = np.concatenate([context, decoder_states], axis=-1)
        return decoder_states @ readout + output_bias, [h, c], weights
