"""Convolution layers: Conv1D, Conv2D (``groups`` too), and the argument checks and channels-last plumbing the
other convolution families (conv_depthwise.py, conv_transpose.py) share. ``channels_first`` inputs are transposed
around the op."""
from __future__ import annotations

import numpy as np

from ...errors import KerasliteError
from .. import activations, constraints, initializers, regularizers
from ..autodiff import conv as C, depthwise as D, shape as S
from ..autodiff.conv import out_size
from .base import Layer
from .core import _fused_name as fused_activation, serialize_objects


def as_tuple(value, rank, name):
    """An int or a sequence of ``rank`` ints as a tuple (Keras' ``standardize_tuple``)."""
    if isinstance(value, (int, np.integer)):
        return (int(value),) * rank
    value = tuple(int(v) for v in value)
    if len(value) != rank:
        raise KerasliteError(f"The `{name}` argument must be a tuple of {rank} integers. Received {name}={value}")
    return value


def set_spatial_arguments(layer, rank, kernel_size, strides, padding, data_format, dilation_rate, causal=False):
    """Validate and store ``kernel_size``, ``strides``, ``dilation_rate``, ``padding``, ``data_format``."""
    layer.kernel_size = as_tuple(kernel_size, rank, "kernel_size")
    layer.strides = as_tuple(strides, rank, "strides")
    layer.dilation_rate = as_tuple(dilation_rate, rank, "dilation_rate")
    layer.padding = str(padding).lower()
    allowed = ("valid", "same", "causal") if causal else ("valid", "same")
    if layer.padding not in allowed:
        raise KerasliteError(f"The `padding` argument must be one of {allowed}. Received: padding={padding}")
    layer.data_format = data_format or "channels_last"
    if layer.data_format not in ("channels_last", "channels_first"):
        raise KerasliteError(f"The `data_format` argument must be one of 'channels_first', 'channels_last'. "
                             f"Received: data_format={data_format}")
    if not all(layer.kernel_size):
        raise KerasliteError(f"The argument `kernel_size` cannot contain 0. Received kernel_size={layer.kernel_size}.")
    if not all(layer.strides):
        raise KerasliteError(f"The argument `strides` cannot contains 0. Received strides={layer.strides}")
    if max(layer.strides) > 1 and max(layer.dilation_rate) > 1:
        raise KerasliteError(f"`strides > 1` not supported in conjunction with `dilation_rate > 1`. Received: "
                             f"strides={layer.strides} and dilation_rate={layer.dilation_rate}")


def set_weight_objects(layer, prefix, initializer, regularizer, constraint):
    """Resolve and store ``<prefix>_initializer``, ``<prefix>_regularizer`` and ``<prefix>_constraint``."""
    setattr(layer, f"{prefix}_initializer", initializers.get(initializer))
    setattr(layer, f"{prefix}_regularizer", regularizers.get(regularizer))
    setattr(layer, f"{prefix}_constraint", constraints.get(constraint))


def set_bias_activation(layer, activation, use_bias, bias_initializer, bias_regularizer, bias_constraint):
    """Store the activation and the bias arguments every convolution has."""
    layer.activation = activations.get(activation)
    layer.use_bias = bool(use_bias)
    set_weight_objects(layer, "bias", bias_initializer, bias_regularizer, bias_constraint)


def positive(value, name):
    """``value`` as an int, refused unless strictly positive (Keras' message)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise KerasliteError(f"Invalid value for argument `{name}`. Expected a strictly positive value. "
                             f"Received {name}={value}.")
    return int(value)


def input_channels(layer, input_shape):
    """The channel count of ``input_shape`` (refused when undefined)."""
    channels = input_shape[1] if layer.data_format == "channels_first" else input_shape[-1]
    if channels is None:
        raise KerasliteError(f"layer {layer.name!r}: the channel dimension of the inputs should be defined, "
                             f"got input shape {tuple(input_shape)}")
    return int(channels)


def add_bias(layer, size):
    """The ``bias`` weight of ``size`` (None without ``use_bias``)."""
    if not layer.use_bias:
        return None
    return layer.add_weight(shape=(size,), name="bias", initializer=layer.bias_initializer,
                            regularizer=layer.bias_regularizer, constraint=layer.bias_constraint)


def channels_last_call(layer, inputs, op, activate=True):
    """``activation(op(x))`` with ``x`` channels last, 1-D inputs as height-1 images; back to the input layout
    (``activate=False``: ``op`` applied the activation itself)."""
    x = inputs
    first = layer.data_format == "channels_first"
    if first:
        x = S.transpose(x, (0, *range(2, x.ndim), 1))
    if layer.rank == 1:
        x = S.expand_dims(x, 1)
    y = op(x)
    if layer.rank == 1:
        y = S.squeeze(y, 1)
    if activate:
        y = layer.activation(y)
    if first:
        y = S.transpose(y, (0, y.ndim - 1, *range(1, y.ndim - 1)))
    return y


def spatial_2d(layer):
    """``(strides, dilation)`` as 2-D tuples (1-D layers run with a height of 1)."""
    if layer.rank == 1:
        return (1,) + layer.strides, (1,) + layer.dilation_rate
    return layer.strides, layer.dilation_rate


def conv_output_shape(layer, input_shape, channels):
    """Keras' ``compute_conv_output_shape`` for this layer's window arguments."""
    first = layer.data_format == "channels_first"
    spatial = input_shape[2:] if first else input_shape[1:-1]
    out = []
    for size, k, s, d in zip(spatial, layer.kernel_size, layer.strides, layer.dilation_rate):
        if size is None:
            out.append(None)
        elif layer.padding == "causal":
            out.append(out_size(size + d * (k - 1), k, s, d, "valid"))
        else:
            out.append(out_size(size, k, s, d, layer.padding))
    if any(o is not None and o <= 0 for o in out):
        raise KerasliteError(f"Computed output size would be negative. Received `inputs shape={tuple(input_shape)}`, "
                             f"`kernel shape={layer.kernel_size}`, `dilation_rate={layer.dilation_rate}`.")
    return (input_shape[0], channels, *out) if first else (input_shape[0], *out, channels)


def window_config(layer):
    """The config keys every convolution shares (Keras' order)."""
    return {"kernel_size": list(layer.kernel_size), "strides": list(layer.strides), "padding": layer.padding,
            "data_format": layer.data_format, "dilation_rate": list(layer.dilation_rate)}


class Conv(Layer):
    """Shared N-D convolution (rank 1 or 2) over the spatial axes of channels-last inputs."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if lora_rank:
            raise KerasliteError(f"{type(self).__name__}: lora_rank is not supported by keraslite")
        self.filters = positive(filters, "filters")
        set_spatial_arguments(self, self.rank, kernel_size, strides, padding, data_format, dilation_rate,
                              causal=self.rank == 1)
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups <= 0:
            raise KerasliteError(f"The number of groups must be a positive integer. Received: groups={groups}.")
        self.groups = int(groups)
        if self.filters % self.groups:
            raise KerasliteError(f"The number of filters must be evenly divisible by the number of groups. "
                                 f"Received: groups={self.groups}, filters={self.filters}.")
        set_bias_activation(self, activation, use_bias, bias_initializer, bias_regularizer, bias_constraint)
        set_weight_objects(self, "kernel", kernel_initializer, kernel_regularizer, kernel_constraint)

    def build(self, input_shape):
        channels = input_channels(self, input_shape)
        if channels % self.groups:
            raise KerasliteError(f"The number of input channels must be evenly divisible by the number of groups. "
                                 f"Received groups={self.groups}, but the input has {channels} channels (full input "
                                 f"shape is {tuple(input_shape)}).")
        self.compute_output_shape(input_shape)
        self.kernel = self.add_weight(shape=self.kernel_size + (channels // self.groups, self.filters),
                                      name="kernel", initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = add_bias(self, self.filters)

    def call(self, inputs):
        strides, dilation = spatial_2d(self)
        kernel = S.expand_dims(self.kernel, 0) if self.rank == 1 else self.kernel

        def op(x):
            padding = self.padding
            if padding == "causal":
                x = S.pad(x, ((0, 0), (0, 0), (dilation[1] * (self.kernel_size[0] - 1), 0), (0, 0)))
                padding = "valid"
            if self.groups == 1:
                return C.conv2d(x, kernel, self.bias, strides=strides, padding=padding, dilation=dilation,
                                activation=fused or "linear")
            return D.grouped_conv2d(x, kernel, self.bias, strides=strides, padding=padding, dilation=dilation,
                                    groups=self.groups)
        fused = fused_activation(self.activation) if self.groups == 1 else None
        return channels_last_call(self, inputs, op, activate=fused is None)

    def compute_output_shape(self, input_shape):
        return conv_output_shape(self, input_shape, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, **window_config(self), "groups": self.groups,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **serialize_objects(self, ("kernel_initializer", "bias_initializer", "kernel_regularizer",
                                           "bias_regularizer", "kernel_constraint", "bias_constraint")),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer)}


class Conv1D(Conv):
    """1-D convolution over (batch, steps, channels); ``padding="causal"`` pads the start only."""

    rank = 1


class Conv2D(Conv):
    """2-D convolution over (batch, height, width, channels)."""

    rank = 2


__all__ = ["Conv1D", "Conv2D", "as_tuple", "set_spatial_arguments", "set_weight_objects", "set_bias_activation",
           "positive",
           "input_channels", "add_bias", "channels_last_call", "spatial_2d", "conv_output_shape", "window_config"]
