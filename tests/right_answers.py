"""Right answers to exercises that more than one lab's tests build on."""

import keras
from keras import ops


class RightRNNCell(keras.layers.Layer):
    """Lab 01's MyRNNCell in keras.ops (every backend): h_t = tanh(W_hh h_{t-1} + W_xh x_t + b), y_t = W_hy h_t.

    `init` and `bias_init` (and Keras' `dtype`) vary the right answers.
    """

    def __init__(self, rnn_units, output_dim, init="glorot_uniform", bias_init="random_normal", **kwargs):
        super().__init__(**kwargs)
        self.rnn_units, self.output_dim, self.init, self.bias_init = rnn_units, output_dim, init, bias_init
        self.state_size, self.output_size = rnn_units, output_dim

    def build(self, input_shape):
        units, init = self.rnn_units, self.init
        self.W_xh = self.add_weight(shape=(units, input_shape[-1]), initializer=init, name="W_xh")
        self.W_hh = self.add_weight(shape=(units, units), initializer=init, name="W_hh")
        self.b = self.add_weight(shape=(units,), initializer=self.bias_init, name="b")
        self.W_hy = self.add_weight(shape=(self.output_dim, units), initializer=init, name="W_hy")

    def state_update(self, x, h_prev):
        """The pre-activation W_hh h_{t-1} + W_xh x_t + b."""
        return ops.matmul(h_prev, ops.transpose(self.W_hh)) + ops.matmul(x, ops.transpose(self.W_xh)) + self.b

    def call(self, inputs, states):
        h = ops.tanh(self.state_update(inputs, states[0]))
        return ops.matmul(h, ops.transpose(self.W_hy)), [h]
