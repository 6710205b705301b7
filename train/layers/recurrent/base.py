"""``Recurrent``: what SimpleRNN, LSTM and GRU share, Keras 3's RNN contract on one fused primitive per call.

A subclass names its primitive and gate count and lists its own constructor arguments; this class validates and
stores the common ones, builds ``kernel``, ``recurrent_kernel`` and ``bias`` (Keras' names, shapes and order),
resolves the initial state (``initial_state=`` or a list input ``[sequences, *states]``), draws the dropout masks
in training as Keras' cells do (one mask for every step of a call; one per gate when ``recurrent_dropout`` is
set), and turns the primitive's outputs into ``output`` or ``[output, *states]``.
"""
from __future__ import annotations

import numpy as np

from ....errors import KerasliteError
from ... import activations, constraints, initializers, random, regularizers
from ...autodiff import Tensor, elementwise as E
from ...autodiff.core import primitive
from ...autodiff.recurrent_parts import SUPPORTED
from ..base import Layer
from ..core import serialize_objects

OBJECT_KEYS = ("kernel_initializer", "recurrent_initializer", "bias_initializer", "kernel_regularizer",
               "recurrent_regularizer", "bias_regularizer", "kernel_constraint", "recurrent_constraint",
               "bias_constraint")


def activation_name(identifier, key, layer):
    """The built-in name of an activation argument (the fused kernels take activations by name)."""
    fn = activations.get(identifier)
    for name, known in activations.ACTIVATIONS.items():
        if known is fn and name in SUPPORTED:
            return fn, name
    raise KerasliteError(f"{layer}: {key}={identifier!r} is not supported; recurrent layers take a built-in "
                         f"activation by name: {', '.join(SUPPORTED)}")


def _rate(value, key, layer):
    if not isinstance(value, (int, float, np.floating, np.integer)) or isinstance(value, bool):
        raise KerasliteError(f"{layer}: {key} must be a float between 0 and 1, got {value!r}")
    return min(1.0, max(0.0, float(value)))


# a primitive (no gradient), so a traced step (autodiff/trace.py) makes the zero states again at each replay
zero_state = primitive("zero_state", lambda shape, dtype: np.zeros(shape, dtype))


class Recurrent(Layer):
    """Shared base of the recurrent layers (not a layer class of its own)."""

    primitive = None
    gates = 1
    n_states = 1
    cell_keys = ()  # the subclass's own config keys, in Keras' order

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False, unroll=False,
                 zero_output_for_mask=False, **kwargs):
        kwargs.pop("use_cudnn", None)  # a device choice; the numbers are the same
        implementation = kwargs.pop("implementation", 2)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        label = f"{type(self).__name__} {self.name!r}"
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units <= 0:
            raise KerasliteError(f"Received an invalid value for argument `units`, expected a positive integer, "
                                 f"got {units!r}.")
        if stateful:
            raise KerasliteError(f"{label}: stateful=True is not supported by keraslite (the state would live "
                                 "between batches). Carry the state yourself: call the layer with "
                                 "return_state=True and pass the states back as initial_state=")
        self.units = int(units)
        self.activation, self._act_name = activation_name(activation, "activation", label)
        self.use_bias = bool(use_bias)
        for key, value in zip(OBJECT_KEYS, (kernel_initializer, recurrent_initializer, bias_initializer,
                                            kernel_regularizer, recurrent_regularizer, bias_regularizer,
                                            kernel_constraint, recurrent_constraint, bias_constraint)):
            family = initializers if key.endswith("initializer") else (
                regularizers if key.endswith("regularizer") else constraints)
            setattr(self, key, family.get(value))
        self.dropout = _rate(dropout, "dropout", label)
        self.recurrent_dropout = _rate(recurrent_dropout, "recurrent_dropout", label)
        self.seed = seed
        self._seed = random.SeedGenerator(seed) if seed is not None else None
        # Keras' cells draw one dropout mask per gate in implementation 1, which recurrent dropout forces
        self._per_gate_masks = self.gates > 1 and (implementation == 1 or self.recurrent_dropout > 0)
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful, self.unroll = bool(go_backwards), False, bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True

    # ------------------------------------------------------------------------------------------ weights
    def _bias_shape(self):
        return (self.gates * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def build(self, sequences_shape, initial_state_shape=None):
        shape = _first_shape(sequences_shape)
        if len(shape) != 3 or shape[-1] is None:
            raise KerasliteError(f"Input 0 of layer {self.name!r} is incompatible with the layer: expected "
                                 f"ndim=3 (batch, timesteps, features) with known features, found shape {shape}")
        width = self.gates * self.units
        self.kernel = self.add_weight(shape=(shape[-1], width), name="kernel", initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(shape=(self.units, width), name="recurrent_kernel",
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = self.add_weight(shape=self._bias_shape(), name="bias", initializer=self._bias_initializer(),
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None
        self.built = True

    # ------------------------------------------------------------------------------------------ calling
    def call(self, sequences, initial_state=None, mask=None, training=False):
        x, states, params = self.primitive_arguments(sequences, initial_state, mask, training)
        outs = self.primitive(x, self.kernel, self.recurrent_kernel, self.bias, *states, **params)
        return self.outputs(outs)

    def primitive_arguments(self, sequences, initial_state=None, mask=None, training=False):
        """``(x, initial states, parameters)`` of this layer's primitive for one call."""
        if isinstance(sequences, (list, tuple)):  # Keras 2's form: [sequences, *initial_states]
            if len(sequences) > 1:
                initial_state = list(sequences[1:])
            sequences = sequences[0]
        x = sequences if isinstance(sequences, Tensor) else Tensor(np.asarray(sequences, self.dtype))
        if x.ndim != 3 or x.shape[-1] != self.kernel.shape[0]:
            raise KerasliteError(f"Input 0 of layer {self.name!r} is incompatible with the layer: expected shape "
                                 f"(batch, timesteps, {self.kernel.shape[0]}), found {tuple(x.shape)}")
        if x.shape[1] == 0:
            raise KerasliteError(f"layer {self.name!r}: the input sequences have no time steps "
                                 f"(shape {tuple(x.shape)})")
        params = dict(mask=_mask_array(mask, x, self.name), **self._dropout_masks(x, training),
                      go_backwards=self.go_backwards, return_sequences=self.return_sequences,
                      zero_output_for_mask=self.zero_output_for_mask, **self._cell_params())
        return x, self._initial_states(initial_state, x), params

    def outputs(self, outs):
        """The layer's outputs from the primitive's: the output, with the final states on ``return_state``."""
        return list(outs) if self.return_state else outs[0]

    def _cell_params(self):
        return {"activation": self._act_name}

    def _initial_states(self, initial_state, x):
        n = x.shape[0]
        if initial_state is None:
            return [zero_state(shape=(n, self.units), dtype=x.dtype) for _ in range(self.n_states)]
        given = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(given) != self.n_states:
            raise KerasliteError(f"layer {self.name!r} ({type(self).__name__}) expects {self.n_states} initial "
                                 f"state(s) of shape (batch, {self.units}), got {len(given)}")
        out = []
        for i, s in enumerate(given):
            s = s if isinstance(s, Tensor) else Tensor(np.asarray(s))
            if tuple(s.shape) != (n, self.units):
                raise KerasliteError(f"layer {self.name!r}: initial state {i} must have shape ({n}, {self.units}) "
                                     f"(batch, units), got {tuple(s.shape)}")
            out.append(s if s.dtype == x.dtype else E.cast(s, x.dtype))
        return out

    def _dropout_masks(self, x, training):
        """Keras' dropout masks for this call (training only): fixed over the steps, scaled by 1 / (1 - rate)."""
        if not training:
            return {}
        n, features = x.shape[0], x.shape[-1]
        count = self.gates if self._per_gate_masks else 1
        rng = random.generator(self._seed)
        masks = {}
        for key, rate, width in (("dropout", self.dropout, features), ("recurrent_dropout", self.recurrent_dropout,
                                                                        self.units)):
            if 0.0 < rate < 1.0:
                keep = rng.random((count, n, width)) >= rate
                masks[key] = keep.astype(x.dtype) / x.dtype.type(1.0 - rate)
        return masks

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        shape = _first_shape(sequences_shape)
        out = (shape[0], shape[1], self.units) if self.return_sequences else (shape[0], self.units)
        if self.return_state:
            return [out] + [(shape[0], self.units)] * self.n_states
        return out

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        out = mask if self.return_sequences else None
        if self.return_state:
            return [out] + [None] * self.n_states
        return out

    def get_config(self):
        config = {**super().get_config(), "return_sequences": self.return_sequences,
                  "return_state": self.return_state, "go_backwards": self.go_backwards, "stateful": False,
                  "unroll": self.unroll, "zero_output_for_mask": self.zero_output_for_mask,
                  "units": self.units, "activation": self._act_name}
        for key in self.cell_keys:
            config[key] = self._config_value(key)
        return config

    def _config_value(self, key):
        if key in OBJECT_KEYS:
            return serialize_objects(self, (key,))[key]
        if key == "activity_regularizer":
            return regularizers.serialize(self.activity_regularizer)
        if key == "recurrent_activation":
            return self._ract_name
        return getattr(self, key)


def _first_shape(shape):
    """The sequences' shape when the layer is given ``[sequences, *states]``."""
    if isinstance(shape, list) and shape and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(shape)


def _mask_array(mask, x, name):
    if isinstance(mask, (list, tuple)):
        mask = mask[0] if mask else None
    if mask is None:
        return None
    m = np.asarray(mask._v if isinstance(mask, Tensor) else mask).astype(bool)
    if m.shape != tuple(x.shape[:2]):
        raise KerasliteError(f"layer {name!r}: the mask must have shape (batch, timesteps) = {tuple(x.shape[:2])}, "
                             f"got {m.shape}")
    return m


__all__ = ["Recurrent", "activation_name"]
