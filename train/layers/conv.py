"""Convolution layers: Conv1D, Conv2D (channels last; ``channels_first`` inputs are transposed around the op)."""
from __future__ import annotations

import numpy as np

from ...errors import KerasliteError
from .. import activations, constraints, initializers, regularizers
from ..autodiff import conv as C, shape as S
from ..autodiff.conv import out_size
from .base import Layer
from .core import _fused_name, serialize_objects


def as_tuple(value, rank, name):
    """An int or a sequence of ``rank`` ints as a tuple (Keras' ``standardize_tuple``)."""
    if isinstance(value, (int, np.integer)):
        return (int(value),) * rank
    value = tuple(int(v) for v in value)
    if len(value) != rank:
        raise KerasliteError(f"The `{name}` argument must be a tuple of {rank} integers. Received {name}={value}")
    return value


class Conv(Layer):
    """Shared N-D convolution (rank 1 or 2) over the spatial axes of channels-last inputs."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise KerasliteError(f"Invalid value for argument `filters`. Expected a strictly positive value. "
                                 f"Received filters={filters}.")
        self.filters = int(filters)
        self.kernel_size = as_tuple(kernel_size, self.rank, "kernel_size")
        self.strides = as_tuple(strides, self.rank, "strides")
        self.dilation_rate = as_tuple(dilation_rate, self.rank, "dilation_rate")
        self.padding = str(padding).lower()
        allowed = ("valid", "same", "causal") if self.rank == 1 else ("valid", "same")
        if self.padding not in allowed:
            raise KerasliteError(f"The `padding` argument must be one of {allowed}. Received: padding={padding}")
        self.data_format = data_format or "channels_last"
        self.groups = int(groups)
        if self.groups != 1:
            raise KerasliteError(f"layer {self.name!r}: grouped convolutions (groups={groups}) are not trainable "
                                 "in keraslite yet")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def build(self, input_shape):
        channels = input_shape[1] if self.data_format == "channels_first" else input_shape[-1]
        if channels is None:
            raise KerasliteError(f"layer {self.name!r}: the channel dimension of the inputs should be defined, "
                                 f"got input shape {tuple(input_shape)}")
        self.kernel = self.add_weight(shape=self.kernel_size + (channels, self.filters), name="kernel",
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = self.add_weight(shape=(self.filters,), name="bias", initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None

    def call(self, inputs):
        x = inputs
        if self.data_format == "channels_first":
            x = S.transpose(x, (0, *range(2, x.ndim), 1))
        if self.rank == 1:
            x = S.expand_dims(x, 1)
            kernel = S.expand_dims(self.kernel, 0)
            padding = self.padding
            if padding == "causal":
                left = self.dilation_rate[0] * (self.kernel_size[0] - 1)
                x = S.pad(x, ((0, 0), (0, 0), (left, 0), (0, 0)))
                padding = "valid"
            y = C.conv2d(x, kernel, self.bias, strides=(1,) + self.strides, padding=padding,
                         dilation=(1,) + self.dilation_rate)
            y = S.squeeze(y, 1)
        else:
            fused = _fused_name(self.activation)
            y = C.conv2d(x, self.kernel, self.bias, strides=self.strides, padding=self.padding,
                         dilation=self.dilation_rate, activation=fused or "linear")
            if fused is None:
                y = self.activation(y)
            if self.data_format == "channels_first":
                y = S.transpose(y, (0, y.ndim - 1, *range(1, y.ndim - 1)))
            return y
        y = self.activation(y)
        if self.data_format == "channels_first":
            y = S.transpose(y, (0, y.ndim - 1, *range(1, y.ndim - 1)))
        return y

    def compute_output_shape(self, input_shape):
        first = self.data_format == "channels_first"
        spatial = input_shape[2:] if first else input_shape[1:-1]
        padding = "valid" if self.padding == "causal" else self.padding
        out = []
        for size, k, s, d in zip(spatial, self.kernel_size, self.strides, self.dilation_rate):
            if size is None:
                out.append(None)
            elif self.padding == "causal":
                out.append(out_size(size + d * (k - 1), k, s, d, "valid"))
            else:
                out.append(out_size(size, k, s, d, padding))
        if first:
            return (input_shape[0], self.filters, *out)
        return (input_shape[0], *out, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": list(self.dilation_rate), "groups": self.groups,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **serialize_objects(self, ("kernel_initializer", "bias_initializer", "kernel_regularizer",
                                           "bias_regularizer", "kernel_constraint", "bias_constraint")),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer)}


class Conv1D(Conv):
    rank = 1


class Conv2D(Conv):
    rank = 2


__all__ = ["Conv1D", "Conv2D", "as_tuple"]
