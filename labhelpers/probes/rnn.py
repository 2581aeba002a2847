"""Lab 01's probes: they call the learner's code on the given inputs and return plain data.

A probe decides nothing: it sets the drawn weights into the learner's layers, runs them, and
records what came back (values, shapes, gradients). Its judge lives in judges.py.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from labhelpers.grading import Lab, LearnerError, attempt

CELL_WEIGHTS = ("W_xh", "W_hh", "b", "W_hy")


def each_case(run, inputs) -> dict:
    """{"cases": [run(case) for each drawn case]}, a case whose learner code failed holding its error."""
    records = []
    for case in inputs["cases"]:
        try:
            records.append(run(case))
        except LearnerError as error:
            records.append({"__error__": error.record})
    return {"cases": records}


def rnn_step(rnn_step, inputs):
    """rnn_step(x, h_prev, W_xh, W_hh, W_hy, b) on each drawn case: what it returned."""
    names = ("x", "h_prev", "W_xh", "W_hh", "W_hy", "b")
    return each_case(lambda case: {"returned": attempt(rnn_step, *(case[n] for n in names))}, inputs)


# ---------------------------------------------------------------- 1.3 MyRNNCell
def _attributes(cell) -> dict:
    """Shape and kind of each of the cell's four weight attributes (None where it is missing)."""
    found = {}
    for name in CELL_WEIGHTS:
        value = getattr(cell, name, None)
        found[name] = None if value is None else {
            "kind": type(value).__name__, "shape": list(getattr(value, "shape", ())),
            "assignable": hasattr(value, "assign")}
    return found


def _assign(variable, value) -> None:
    variable.assign(value.astype(keras.backend.standardize_dtype(variable.dtype)))


def _set_weights(cell, weights: dict) -> bool:
    """Set the drawn values into the cell's four weights; False where one does not fit."""
    attributes = _attributes(cell)
    if any(a is None or not a["assignable"] or tuple(a["shape"]) != weights[n].shape for n, a in attributes.items()):
        return False
    for name in CELL_WEIGHTS:
        _assign(getattr(cell, name), weights[name])
    return True


def _cell_case(cell_class, case) -> dict:
    units, output_dim = case["W_hh"].shape[0], case["W_hy"].shape[0]
    cell = attempt(cell_class, units, output_dim)
    layer = attempt(keras.layers.RNN, cell, return_sequences=True, return_state=True)
    x = tf.constant(case["x"])
    attempt(layer, x)  # builds the cell's weights
    record = {"attributes": _attributes(cell),
              "weights": [[w.path.split("/")[-1], list(w.shape)] for w in cell.weights]}
    if not _set_weights(cell, case):
        return record
    with tf.GradientTape() as tape:
        outputs, state = attempt(layer, x)[:2]
    record.update(outputs=outputs, state=state)
    if tuple(outputs.shape) == case["dy"].shape and tuple(state.shape) == case["dh"].shape:
        with tape:
            loss = (tf.reduce_sum(tf.cast(outputs, "float32") * case["dy"])
                    + tf.reduce_sum(tf.cast(state, "float32") * case["dh"]))
        record["gradients"] = dict(zip(CELL_WEIGHTS, tape.gradient(loss, [getattr(cell, n) for n in CELL_WEIGHTS])))
    return record


def my_rnn_cell(cell_class, inputs):
    """keras.layers.RNN(cell_class(units, output_dim)) with the drawn weights set into the cell:
    its outputs, final state and the gradients of a drawn linear function of both."""
    return each_case(lambda case: _cell_case(cell_class, case), inputs)


# ---------------------------------------------------------------- 1.4 unrolled loss
class ReadoutCell(keras.layers.Layer):
    """Keras' SimpleRNNCell with a Dense readout: an RNN cell whose output ŷ_t is not its state h_t."""

    def __init__(self, units, classes, **kwargs):
        super().__init__(**kwargs)
        self.rnn, self.readout = keras.layers.SimpleRNNCell(units), keras.layers.Dense(classes)
        self.state_size, self.output_size = units, classes

    def build(self, input_shape):
        self.rnn.build(input_shape)
        self.readout.build((None, self.state_size))

    def call(self, inputs, states):
        _, new = self.rnn(inputs, states)
        h = new[0] if isinstance(new, (list, tuple)) else new
        return self.readout(h), [h]


def readout_cell(weights: dict) -> ReadoutCell:
    """A ReadoutCell holding the drawn W_xh, W_hh, b (state) and W_hy, c (readout y = W_hy h + c)."""
    units, input_dim = weights["W_xh"].shape
    cell = ReadoutCell(units, weights["W_hy"].shape[0])
    cell.build((None, input_dim))
    cell.rnn.set_weights([weights["W_xh"].T, weights["W_hh"].T, weights["b"]])
    cell.readout.set_weights([weights["W_hy"].T, weights["c"]])
    return cell


def _gradients(tape, total, variables):
    """d total / d variables, or None where total is not a float tensor the tape followed."""
    if not (tf.is_tensor(total) and total.dtype.is_floating):
        return None
    return tape.gradient(total, variables)


def unrolled_loss(unrolled_loss, inputs):
    """unrolled_loss(cell, x, targets) on each drawn case: what it returned, and d L / d weights."""
    def run(case):
        cell = readout_cell(case)
        with tf.GradientTape() as tape:
            returned = attempt(unrolled_loss, cell, tf.constant(case["x"]), tf.constant(case["targets"]))
        total = returned[0] if isinstance(returned, (list, tuple)) and returned else None
        return {"returned": returned, "gradients": _gradients(tape, total, cell.trainable_weights)}

    return each_case(run, inputs)


# ---------------------------------------------------------------- 1.5 encodings
def build_vocabulary(build_vocabulary, inputs):
    """build_vocabulary(sentences) on each drawn list: its type and its (key, value) pairs."""
    def run(sentences):
        vocab = attempt(build_vocabulary, list(sentences))
        pairs = [[key, value] for key, value in vocab.items()] if isinstance(vocab, dict) else None
        return {"is_dict": isinstance(vocab, dict), "pairs": pairs, "returned": None if pairs is not None else vocab}

    return each_case(run, inputs)


def one_hot(one_hot, inputs):
    """one_hot(indices, vocab_size) on each drawn case: what it returned and its Python type."""
    def run(case):
        found = attempt(one_hot, np.asarray(case["indices"]), int(case["vocab_size"]))
        return {"returned": found, "kind": type(found).__name__}

    return each_case(run, inputs)


# ---------------------------------------------------------------- 1.7 next-word model
def _layer_record(layer) -> dict:
    record = {"class": type(layer).__name__}
    if isinstance(layer, keras.layers.Embedding):
        record.update(input_dim=layer.input_dim, output_dim=layer.output_dim)
    if isinstance(layer, keras.layers.RNN):
        record.update(cell=type(layer.cell).__name__, attributes=_attributes(layer.cell))
    return record


def _flat_layers(model) -> list:
    """The model's layers, those of nested models in their place, without InputLayers."""
    layers = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            layers += _flat_layers(layer)
        elif not isinstance(layer, keras.layers.InputLayer):
            layers.append(layer)
    return layers


def _set_model_weights(layers, case) -> None:
    """Set the drawn embedding and cell weights into the first Embedding and RNN layers, where they fit."""
    embeddings = [layer for layer in layers if isinstance(layer, keras.layers.Embedding)]
    rnns = [layer for layer in layers if isinstance(layer, keras.layers.RNN)]
    if embeddings and tuple(embeddings[0].embeddings.shape) == case["E"].shape:
        _assign(embeddings[0].embeddings, case["E"])
    if rnns:
        _set_weights(rnns[0].cell, case)


def next_word_model(build_next_word_model, inputs):
    """build_next_word_model(V, d, units) with the drawn weights set: its outputs on drawn word ids,
    on the same ids with their first word changed, and with their last word changed."""
    def run(case):
        vocab_size, embedding_dim = case["E"].shape
        model = attempt(build_next_word_model, vocab_size, embedding_dim, case["W_hh"].shape[0])
        if not isinstance(model, keras.Model):
            return {"model": type(model).__name__}
        attempt(model, case["tokens"])  # builds the weights
        layers = _flat_layers(model)
        _set_model_weights(layers, case)
        record = {"model": type(model).__name__, "layers": [_layer_record(layer) for layer in layers]}
        for name in ("tokens", "first_changed", "last_changed"):
            record[name] = attempt(model, case[name])
        return record

    return each_case(run, inputs)


# ---------------------------------------------------------------- the checks the notebook calls
lab = Lab("01")
SIMPLE_RNN = ("keras.layers.SimpleRNNCell.call", "keras.layers.SimpleRNN.call")  # the recurrence, done for you

check_rnn_step = lab.exercise("1.2", probe=rnn_step, own_work=SIMPLE_RNN)
check_my_rnn_cell = lab.exercise("1.3", probe=my_rnn_cell, own_work=SIMPLE_RNN)
check_unrolled_loss = lab.exercise("1.4", probe=unrolled_loss,
                                   own_work=("keras.layers.RNN.call", "keras.layers.SimpleRNN.call"))
check_build_vocabulary = lab.exercise("1.5a", probe=build_vocabulary)
check_one_hot = lab.exercise("1.5b", probe=one_hot)
check_next_word_model = lab.exercise("1.7", probe=next_word_model)
