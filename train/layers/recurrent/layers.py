"""SimpleRNN, LSTM and GRU: Keras 3's constructor arguments, defaults, config keys and weights.

Gate order in the kernels is Keras': LSTM (i, f, c, o), GRU (z, r, h). GRU's bias is (2, 3 * units) with
``reset_after=True`` (input and recurrent biases), (3 * units,) otherwise.
"""
from __future__ import annotations

import numpy as np

from ... import initializers
from ...autodiff import recurrent as R
from .base import Recurrent, activation_name

_COMMON_KEYS = ("use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer")
_TAIL_KEYS = ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer",
              "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout")


def _args(local_vars):
    """A constructor's own arguments (its ``locals()`` at the top), to hand to ``Recurrent.__init__``."""
    args = {k: v for k, v in local_vars.items() if k not in ("self", "kwargs", "__class__")}
    return {**args, **local_vars["kwargs"]}


class SimpleRNN(Recurrent):
    """Fully-connected RNN: ``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``."""

    primitive = R.simple_rnn
    gates, n_states = 1, 1
    cell_keys = _COMMON_KEYS + _TAIL_KEYS  # Keras' SimpleRNN config has no "seed"

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False, unroll=False,
                 seed=None, **kwargs):
        super().__init__(**_args(locals()))


class _Gated(Recurrent):
    """LSTM and GRU: a ``recurrent_activation`` for the gates."""

    def __init__(self, recurrent_activation="sigmoid", **kwargs):
        super().__init__(**kwargs)
        self.recurrent_activation, self._ract_name = activation_name(
            recurrent_activation, "recurrent_activation", f"{type(self).__name__} {self.name!r}")

    def _cell_params(self):
        return {"activation": self._act_name, "recurrent_activation": self._ract_name}


class LSTM(_Gated):
    """Long Short-Term Memory (Hochreiter 1997), gates (i, f, c, o); ``unit_forget_bias`` starts f's bias at 1."""

    primitive = R.lstm
    gates, n_states = 4, 2
    cell_keys = ("recurrent_activation",) + _COMMON_KEYS + ("unit_forget_bias",) + _TAIL_KEYS + ("seed",)

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, use_cudnn="auto", **kwargs):
        args = _args(locals())
        forget_bias = bool(args.pop("unit_forget_bias"))
        super().__init__(**args)
        self.unit_forget_bias = forget_bias

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, u = self.bias_initializer, self.units

        def forget_ones(shape, dtype=None):
            parts = [base((u,), dtype=dtype), initializers.get("ones")((u,), dtype=dtype), base((2 * u,), dtype=dtype)]
            return np.concatenate([np.asarray(p) for p in parts])
        return forget_ones


class GRU(_Gated):
    """Gated Recurrent Unit (Cho et al. 2014), gates (z, r, h); ``reset_after`` applies the reset gate after the
    recurrent product (Keras 3's default, with separate input and recurrent biases)."""

    primitive = R.gru
    gates, n_states = 3, 1
    cell_keys = ("recurrent_activation",) + _COMMON_KEYS + _TAIL_KEYS + ("reset_after", "seed")

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, reset_after=True, use_cudnn="auto", **kwargs):
        args = _args(locals())
        reset = bool(args.pop("reset_after"))
        super().__init__(**args)
        self.reset_after = reset

    def _bias_shape(self):
        width = 3 * self.units
        return (2, width) if self.reset_after else (width,)

    def _cell_params(self):
        return {**super()._cell_params(), "reset_after": self.reset_after}


__all__ = ["SimpleRNN", "LSTM", "GRU"]
