"""Lab 01's probes: they call the learner's code on the given inputs and return plain data.

A probe decides nothing: it sets the drawn weights into the learner's layers, runs them, and
records what came back (values, shapes, gradients) as NumPy, on whichever Keras backend runs them
(gradients through labhelpers.autodiff), with the backend's name for the judges' wording. Its judge
lives in labhelpers/judges/rnn/.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from labhelpers.autodiff import value_and_gradients
from labhelpers.backends import unrolls_eager_loops
from labhelpers.grading import Lab, LearnerError, attempt

CELL_WEIGHTS = ("W_xh", "W_hh", "b", "W_hy")


def _carry_masked_outputs_on_jax() -> None:
    """Make keras.layers.RNN hold a masked step's output right on JAX, for a cell whose output is not its state.

    Keras 3's JAX loop (keras/src/backend/jax/rnn.py: jax.lax.scan, with a mask and unroll=False) repeats at a
    masked step the first state, `states[0]`, as the output: right for Keras' own cells, whose output is h_t,
    not for MyRNNCell, whose output is ŷ_t = W_hy h_t (a shape error where output_dim differs from rnn_units,
    wrong outputs where they agree). TensorFlow's and PyTorch's loops hold the previous output. Here, on JAX,
    the masked loop of a cell of one's own carries its previous output as an extra first state, which is what
    Keras' loop takes it to be. (The same bug once was TensorFlow's: keras-team/keras#11472.)"""
    if keras.backend.backend() != "jax" or getattr(keras.layers.RNN.inner_loop, "carries_outputs", False):
        return
    from keras.src import backend, tree

    original = keras.layers.RNN.inner_loop

    def inner_loop(self, sequences, initial_state, mask, training=False):
        size = getattr(self.cell, "output_size", None)
        if (mask is None or self.unroll or self.zero_output_for_mask or not isinstance(size, int)
                or type(self.cell).__module__.startswith("keras.")):  # Keras' own cells output their state
            return original(self, sequences, initial_state, mask, training=training)
        options = {"training": training} if getattr(self.cell, "_call_has_training_arg", False) else {}

        def step(inputs, carried):
            output, new_states = self.cell(inputs, carried[1:], **options)
            return output, [output, *(new_states if tree.is_nested(new_states) else [new_states])]

        states = list(initial_state) if tree.is_nested(initial_state) else [initial_state]
        before = ops.zeros((sequences.shape[0], size), dtype=self.cell.compute_dtype)
        last, outputs, carried = backend.rnn(step, sequences, [before, *states], go_backwards=self.go_backwards,
                                             mask=mask, input_length=sequences.shape[1],
                                             return_all_outputs=self.return_sequences)
        return last, outputs, carried[1:]

    inner_loop.carries_outputs = True
    keras.layers.RNN.inner_loop = inner_loop


_carry_masked_outputs_on_jax()

def each_case(run, inputs) -> dict:
    """{"cases": [run(case) for each drawn case], "backend": Keras' backend}, a case whose learner code
    failed holding its error. The backend only words the judges' hints (autodiff differs by backend)."""
    records = []
    for case in inputs["cases"]:
        try:
            records.append(run(case))
        except LearnerError as error:
            records.append({"__error__": error.record})
    return {"cases": records, "backend": keras.backend.backend()}


def first_run_attempted(function):
    """`function` for a run that value_and_gradients may repeat: its first call through `attempt` (an
    error there is the learner's), a later one (JAX's traced run) direct, so that leaving JAX's trace
    (np.asarray, float()) reaches labhelpers.autodiff, which reads it as no gradient."""
    calls = []

    def call(*args):
        calls.append(None)
        return attempt(function, *args) if len(calls) == 1 else function(*args)

    return call


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
    layer = attempt(keras.layers.RNN, cell, return_sequences=True, return_state=True,
                    unroll=unrolls_eager_loops())
    attempt(layer, case["x"])  # builds the cell's weights
    record = {"attributes": _attributes(cell),
              "weights": [[w.path.split("/")[-1], list(w.shape)] for w in cell.weights]}
    if not _set_weights(cell, case):
        return record
    run_layer = first_run_attempted(layer)

    def run():
        outputs, state = run_layer(case["x"])[:2]
        if tuple(outputs.shape) != case["dy"].shape or tuple(state.shape) != case["dh"].shape:
            return None, (outputs, state)  # the judge names the wrong shape; no gradient to take
        loss = (ops.sum(ops.multiply(ops.cast(outputs, "float32"), case["dy"]))
                + ops.sum(ops.multiply(ops.cast(state, "float32"), case["dh"])))
        return loss, (outputs, state)

    (outputs, state), loss, gradients, _ = value_and_gradients(run, [getattr(cell, n) for n in CELL_WEIGHTS])
    record.update(outputs=outputs, state=state)
    if loss is not None:
        record["gradients"] = dict(zip(CELL_WEIGHTS, gradients or [None] * len(CELL_WEIGHTS)))
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


def unrolled_loss(unrolled_loss, inputs):
    """unrolled_loss(cell, x, targets) on each drawn case: what it returned, and d L / d weights (None
    where L is not a floating-point tensor the backend could differentiate)."""
    def run_case(case):
        cell = readout_cell(case)
        learner = first_run_attempted(unrolled_loss)

        def run(x, targets):
            returned = learner(cell, x, targets)
            return (returned[0] if isinstance(returned, (list, tuple)) and returned else None), returned

        returned, _, gradients, _ = value_and_gradients(run, cell.trainable_weights, [case["x"], case["targets"]])
        return {"returned": returned, "gradients": gradients}

    return each_case(run_case, inputs)


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
        for layer in layers:
            if isinstance(layer, keras.layers.RNN) and unrolls_eager_loops():
                layer.unroll = True  # the same values, faster (see backends.unrolls_eager_loops)
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
