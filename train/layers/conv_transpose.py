"""Conv2DTranspose: the transposed 2-D convolution, sized as Keras 3 sizes it (``output_padding``,
``dilation_rate``, ``same``/``valid``); the kernel is (kh, kw, filters, in_channels)."""
from __future__ import annotations

from ...errors import KerasliteError
from .. import activations, regularizers
from ..autodiff import conv_transpose as CT
from ..autodiff.conv_transpose import transpose_geometry
from .base import Layer
from .conv import (add_bias, as_tuple, channels_last_call, input_channels, positive, set_bias_activation,
                   set_spatial_arguments, set_weight_objects, window_config)
from .core import serialize_objects


class Conv2DTranspose(Layer):
    """Transposed convolution (sometimes called deconvolution), channels last or first."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.filters = positive(filters, "filters")
        set_spatial_arguments(self, self.rank, kernel_size, strides, padding, data_format, dilation_rate)
        self.output_padding = None
        if output_padding is not None:
            self.output_padding = as_tuple(output_padding, self.rank, "output_padding")
            for i, (op, s) in enumerate(zip(self.output_padding, self.strides)):
                if op >= s or op < 0:
                    raise KerasliteError(f"`output_padding` must be strictly less than `strides` for all "
                                         f"dimensions. At dimension {i}, `output_padding` is {op} but `strides` is "
                                         f"{s}. Received: output_padding={self.output_padding}, "
                                         f"strides={self.strides}")
        set_bias_activation(self, activation, use_bias, bias_initializer, bias_regularizer, bias_constraint)
        set_weight_objects(self, "kernel", kernel_initializer, kernel_regularizer, kernel_constraint)

    def build(self, input_shape):
        channels = input_channels(self, input_shape)
        self.kernel = self.add_weight(shape=self.kernel_size + (self.filters, channels), name="kernel",
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = add_bias(self, self.filters)

    def call(self, inputs):
        return channels_last_call(self, inputs, lambda x: CT.conv2d_transpose(
            x, self.kernel, self.bias, strides=self.strides, padding=self.padding,
            output_padding=self.output_padding, dilation=self.dilation_rate))

    def compute_output_shape(self, input_shape):
        first = self.data_format == "channels_first"
        spatial = input_shape[2:] if first else input_shape[1:-1]
        pads = self.output_padding or (None,) * self.rank
        out = [None if n is None else transpose_geometry(n, k, s, d, self.padding, p)[0]
               for n, k, s, d, p in zip(spatial, self.kernel_size, self.strides, self.dilation_rate, pads)]
        return (input_shape[0], self.filters, *out) if first else (input_shape[0], *out, self.filters)

    def get_config(self):
        window = window_config(self)
        return {**super().get_config(), "filters": self.filters, "kernel_size": window["kernel_size"],
                "strides": window["strides"], "padding": self.padding,
                "output_padding": None if self.output_padding is None else list(self.output_padding),
                "data_format": self.data_format, "dilation_rate": window["dilation_rate"],
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **serialize_objects(self, ("kernel_initializer", "bias_initializer", "kernel_regularizer",
                                           "bias_regularizer")),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                **serialize_objects(self, ("kernel_constraint", "bias_constraint"))}


__all__ = ["Conv2DTranspose"]
