"""Depthwise and separable convolutions: DepthwiseConv2D, SeparableConv1D, SeparableConv2D.

A depthwise kernel is (kh, kw, in_channels, depth_multiplier); a separable convolution is that depthwise step
(with the strides and dilation) followed by a 1x1 pointwise convolution and the bias, as in Keras.
"""
from __future__ import annotations

from ...errors import KerasliteError
from .. import activations, regularizers
from ..autodiff import conv as C, depthwise as D, shape as S
from .base import Layer
from .conv import (add_bias, channels_last_call, conv_output_shape, input_channels, positive, set_bias_activation,
                   set_spatial_arguments, set_weight_objects, spatial_2d, window_config)
from .core import serialize_objects


class DepthwiseBase(Layer):
    """The depthwise half shared by DepthwiseConv2D and the separable convolutions."""

    rank = 2

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.depth_multiplier = positive(depth_multiplier, "depth_multiplier")
        set_spatial_arguments(self, self.rank, kernel_size, strides, padding, data_format, dilation_rate)
        set_bias_activation(self, activation, use_bias, bias_initializer, bias_regularizer, bias_constraint)
        set_weight_objects(self, "depthwise", depthwise_initializer, depthwise_regularizer, depthwise_constraint)

    def _add_depthwise(self, input_shape):
        channels = input_channels(self, input_shape)
        self.compute_output_shape(input_shape)
        # Keras 3 calls this weight "kernel"; keraslite.format (and tf_keras) name it "depthwise_kernel"
        self.depthwise_kernel = self.add_weight(shape=self.kernel_size + (channels, self.depth_multiplier),
                                                name="depthwise_kernel", initializer=self.depthwise_initializer,
                                                regularizer=self.depthwise_regularizer,
                                                constraint=self.depthwise_constraint)
        return channels

    def _depthwise(self, x, bias=None):
        strides, dilation = spatial_2d(self)
        kernel = S.expand_dims(self.depthwise_kernel, 0) if self.rank == 1 else self.depthwise_kernel
        return D.depthwise_conv2d(x, kernel, bias, strides=strides, padding=self.padding, dilation=dilation)

    def _config(self, **extra):
        return {**super().get_config(), "depth_multiplier": self.depth_multiplier, **extra, **window_config(self),
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias}


class DepthwiseConv2D(DepthwiseBase):
    """Convolves every input channel with its own ``depth_multiplier`` filters (no sum over channels)."""

    def build(self, input_shape):
        channels = self._add_depthwise(input_shape)
        self.bias = add_bias(self, channels * self.depth_multiplier)

    @property
    def kernel(self):
        """Keras 3's name for the depthwise kernel."""
        return self.depthwise_kernel

    def call(self, inputs):
        return channels_last_call(self, inputs, lambda x: self._depthwise(x, self.bias))

    def compute_output_shape(self, input_shape):
        return conv_output_shape(self, input_shape, input_channels(self, input_shape) * self.depth_multiplier)

    def get_config(self):
        return {**self._config(),
                **serialize_objects(self, ("depthwise_initializer", "bias_initializer", "depthwise_regularizer",
                                           "bias_regularizer")),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                **serialize_objects(self, ("depthwise_constraint", "bias_constraint"))}


class SeparableConv(DepthwiseBase):
    """Depthwise convolution, then a pointwise (1x1) convolution to ``filters`` channels, then the bias."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides=strides, padding=padding, depth_multiplier=depth_multiplier,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer, depthwise_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint, bias_constraint=bias_constraint, **kwargs)
        self.filters = positive(filters, "filters")
        if self.padding == "causal":
            raise KerasliteError("SeparableConv does not support padding='causal'")
        set_weight_objects(self, "pointwise", pointwise_initializer, pointwise_regularizer, pointwise_constraint)

    def build(self, input_shape):
        channels = self._add_depthwise(input_shape)
        self.pointwise_kernel = self.add_weight(shape=(1,) * self.rank + (channels * self.depth_multiplier,
                                                                          self.filters),
                                                name="pointwise_kernel", initializer=self.pointwise_initializer,
                                                regularizer=self.pointwise_regularizer,
                                                constraint=self.pointwise_constraint)
        self.bias = add_bias(self, self.filters)

    def call(self, inputs):
        point = self.pointwise_kernel
        if self.rank == 1:
            point = S.expand_dims(point, 0)

        def op(x):
            return C.conv2d(self._depthwise(x), point, self.bias, strides=(1, 1), padding="valid", dilation=(1, 1))
        return channels_last_call(self, inputs, op)

    def compute_output_shape(self, input_shape):
        return conv_output_shape(self, input_shape, self.filters)

    def get_config(self):
        return {**self._config(filters=self.filters),
                **serialize_objects(self, ("depthwise_initializer", "pointwise_initializer", "bias_initializer",
                                           "depthwise_regularizer", "pointwise_regularizer", "bias_regularizer")),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                **serialize_objects(self, ("depthwise_constraint", "pointwise_constraint", "bias_constraint"))}


class SeparableConv1D(SeparableConv):
    """Separable convolution over (batch, steps, channels)."""

    rank = 1


class SeparableConv2D(SeparableConv):
    """Separable convolution over (batch, height, width, channels)."""

    rank = 2


__all__ = ["DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D"]
