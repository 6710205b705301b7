"""Core layers: Dense, Activation, Dropout, Flatten, Reshape, Embedding."""
from __future__ import annotations

import numpy as np

from ...errors import KerasliteError
from .. import activations, constraints, initializers, random, regularizers
from ..autodiff import nn as N, shape as S
from .base import Layer


def serialize_objects(layer, keys):
    """``{key: {"class_name", "config"}}`` for the initializer/regularizer/constraint attributes ``keys``."""
    out = {}
    for key in keys:
        obj = getattr(layer, key)
        family = initializers if key.endswith("initializer") else (
            regularizers if key.endswith("regularizer") else constraints)
        out[key] = family.serialize(obj)
    return out


class Dense(Layer):
    """``activation(inputs @ kernel + bias)`` on the last axis."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units <= 0:
            raise KerasliteError(f"Received an invalid value for `units`, expected a positive integer. "
                                 f"Received: units={units!r}")
        if lora_rank:
            raise KerasliteError("Dense: lora_rank is not supported by keraslite")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.supports_masking = True
        self._fused = _fused_name(self.activation)

    def build(self, input_shape):
        if input_shape[-1] is None:
            raise KerasliteError(f"layer {self.name!r}: the last dimension of the inputs to a Dense layer should "
                                 f"be defined. Found None. Full input shape received: {tuple(input_shape)}")
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                    name="bias") if self.use_bias else None

    def call(self, inputs):
        if inputs.shape[-1] != self.kernel.shape[0]:
            raise KerasliteError(f"Input 0 of layer {self.name!r} is incompatible with the layer: expected axis -1 "
                                 f"of input shape to have value {self.kernel.shape[0]}, but received input with "
                                 f"shape {tuple(inputs.shape)}")
        if self._fused is not None:
            return N.dense(inputs, self.kernel, self.bias, activation=self._fused)
        return self.activation(N.dense(inputs, self.kernel, self.bias, activation="linear"))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                **serialize_objects(self, ("kernel_initializer", "bias_initializer", "kernel_regularizer",
                                           "bias_regularizer", "kernel_constraint", "bias_constraint")),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer)}


def _fused_name(fn):
    for name in ("linear", "relu", "relu6", "tanh"):
        if fn is activations.ACTIVATIONS[name]:
            return name
    return None


class Activation(Layer):
    """Applies an activation function by name (``Activation("relu")``)."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.supports_masking = True

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Dropout(Layer):
    """Zeroes a fraction ``rate`` of the inputs and scales the rest by 1 / (1 - rate), in training only."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise KerasliteError(f"Invalid value received for argument `rate`. Expected a float value between 0 "
                                 f"and 1. Received: rate={rate}")
        self.rate = float(rate)
        self.noise_shape = noise_shape
        self.seed = seed
        self._seed = random.SeedGenerator(seed) if seed is not None else None
        self.supports_masking = True

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        shape = None
        if self.noise_shape is not None:
            shape = tuple(s if n is None else n for s, n in zip(inputs.shape, self.noise_shape))
        return random.dropout(inputs, self.rate, noise_shape=shape, seed=self._seed)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed}


class Flatten(Layer):
    """Flattens every axis but the batch axis (channels moved last first for ``channels_first``)."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format or "channels_last"

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.ndim > 2:
            inputs = S.transpose(inputs, (0, *range(2, inputs.ndim), 1))
        return S.reshape(inputs, (inputs.shape[0], -1))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if any(d is None for d in rest) else int(np.prod(rest)))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshapes every sample to ``target_shape`` (one dimension may be -1)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(target_shape)
        if sum(d == -1 for d in self.target_shape) > 1:
            raise KerasliteError(f"Reshape: at most one dimension of target_shape may be -1, got {self.target_shape}")

    def call(self, inputs):
        return S.reshape(inputs, (inputs.shape[0],) + self.target_shape)

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        if -1 not in self.target_shape:
            return (input_shape[0],) + self.target_shape
        if any(d is None for d in rest):
            return (input_shape[0],) + tuple(None if d == -1 else d for d in self.target_shape)
        known = int(np.prod([d for d in self.target_shape if d != -1]))
        total = int(np.prod(rest))
        if known == 0 or total % known:
            raise KerasliteError(f"layer {self.name!r}: cannot reshape input of shape {tuple(input_shape)} to "
                                 f"{self.target_shape}: {total} values do not divide into {known}")
        return (input_shape[0],) + tuple(total // known if d == -1 else d for d in self.target_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Embedding(Layer):
    """Looks up rows of ``embeddings`` for integer inputs; ``mask_zero`` masks index 0."""

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, lora_rank=None, lora_alpha=None,
                 input_length=None, **kwargs):
        super().__init__(input_length=input_length, **kwargs)
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        self.autocast = False
        self._initial_weights = weights

    def build(self, input_shape=None):
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim), name="embeddings",
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)

    def call(self, inputs):
        ids = np.asarray(inputs._v if hasattr(inputs, "_v") else inputs)
        if ids.dtype.kind not in "iu":
            ids = ids.astype(np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.input_dim):
            bad = ids[(ids < 0) | (ids >= self.input_dim)].ravel()[0]
            raise KerasliteError(f"layer {self.name!r}: index {int(bad)} is out of range for an Embedding with "
                                 f"input_dim={self.input_dim} (valid indices are 0..{self.input_dim - 1})")
        return N.embedding_lookup(self.embeddings, ids)  # the gradient is sparse: IndexedSlices, as in Keras

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        from ..autodiff import Tensor

        return Tensor(np.asarray(inputs._v if hasattr(inputs, "_v") else inputs) != 0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                **serialize_objects(self, ("embeddings_initializer", "embeddings_regularizer",
                                           "embeddings_constraint")),
                "mask_zero": self.mask_zero}


__all__ = ["Dense", "Activation", "Dropout", "Flatten", "Reshape", "Embedding", "serialize_objects"]
