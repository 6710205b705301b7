"""BatchNormalization (batch statistics and moving averages in training) and LayerNormalization."""
from __future__ import annotations

import numpy as np

from ...errors import KerasliteError
from .. import constraints, initializers, regularizers
from ..autodiff import elementwise as E, nn as N, reduce as R
from ..autodiff.core import primitive
from .base import Layer
from .core import serialize_objects

NORM_OBJECTS = ("beta_initializer", "gamma_initializer", "beta_regularizer", "gamma_regularizer",
                "beta_constraint", "gamma_constraint")


class _Normalization(Layer):
    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True

    def _axes(self, ndim):
        axes = [self.axis] if isinstance(self.axis, int) else list(self.axis)
        out = sorted(a % ndim for a in axes)
        if any(a == 0 for a in out):
            raise KerasliteError(f"layer {self.name!r}: cannot normalize over the batch axis (axis={self.axis})")
        return out

    def _param_shape(self, input_shape):
        axes = self._axes(len(input_shape))
        shape = tuple(input_shape[a] for a in axes)
        if any(d is None for d in shape):
            raise KerasliteError(f"layer {self.name!r}: axis {self.axis} of input shape {tuple(input_shape)} must "
                                 "be defined")
        return axes, shape

    def _add_scale_center(self, shape):
        self.gamma = self.add_weight(shape=shape, name="gamma", initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer,
                                     constraint=self.gamma_constraint) if self.scale else None
        self.beta = self.add_weight(shape=shape, name="beta", initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer,
                                    constraint=self.beta_constraint) if self.center else None

    def _broadcast(self, ndim, axes):
        """Reshape target for per-feature arrays: the normalized axes keep their size, others are 1."""
        return lambda v: None if v is None else _reshaped(v, ndim, axes)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale, **serialize_objects(self, NORM_OBJECTS)}


def _reshaped(v, ndim, axes):
    from ..autodiff import shape as S

    if list(axes) == [ndim - 1]:
        return v  # a per-channel vector already broadcasts against the last axis
    shape = [1] * ndim
    for a, d in zip(axes, v.shape):
        shape[a] = d
    return S.reshape(v, tuple(shape))


class BatchNormalization(_Normalization):
    """Normalizes by batch statistics in training (updating moving averages with ``momentum``), by the moving
    averages in inference; a frozen layer (``trainable=False``) always runs in inference mode, as in Keras."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 moving_mean_initializer="zeros", moving_variance_initializer="ones", synchronized=False,
                 renorm=False, **kwargs):
        if renorm:
            raise KerasliteError("BatchNormalization(renorm=True) is not supported")
        super().__init__(axis=axis, epsilon=epsilon, center=center, scale=scale, **kwargs)
        self.momentum = float(momentum)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.synchronized = synchronized

    def build(self, input_shape):
        _, shape = self._param_shape(input_shape)
        self._add_scale_center(shape)
        self.moving_mean = self.add_weight(shape=shape, name="moving_mean", trainable=False,
                                           initializer=self.moving_mean_initializer)
        self.moving_variance = self.add_weight(shape=shape, name="moving_variance", trainable=False,
                                               initializer=self.moving_variance_initializer)

    def call(self, inputs, training=None, mask=None):
        axes = self._axes(inputs.ndim)
        reduce_axes = tuple(i for i in range(inputs.ndim) if i not in axes)
        fit = self._broadcast(inputs.ndim, axes)
        if training and self.trainable:
            batch_norm_train = N.batch_norm_train
            if self.synchronized:  # global batch statistics under a multi-replica fit (keraslite.distribute)
                from ..distribute.sync_batch_norm import batch_norm_train
            y, mean, var = batch_norm_train(inputs, fit(self.gamma), fit(self.beta), axes=reduce_axes,
                                            epsilon=self.epsilon)
            m = np.float32(self.momentum)
            for moving, batch in ((self.moving_mean, mean), (self.moving_variance, var)):
                stat = batch.numpy().reshape(moving.shape).astype(moving.dtype, copy=False)
                moving.assign(moving.numpy() * m + stat * (1 - m))
            return y
        inv = inverse_std(self.moving_variance, epsilon=self.epsilon)
        out = E.multiply(E.subtract(inputs, fit(self.moving_mean)), fit(inv))
        if self.gamma is not None:
            out = E.multiply(out, fit(self.gamma))
        if self.beta is not None:
            out = E.add(out, fit(self.beta))
        return out

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum,
                **serialize_objects(self, ("moving_mean_initializer", "moving_variance_initializer")),
                "synchronized": self.synchronized}


def _inverse_std(variance, epsilon):
    return (1.0 / np.sqrt(variance + np.float32(epsilon))).astype(variance.dtype, copy=False)


# a primitive without a gradient (Keras' inference form does not differentiate the moving variance); being one,
# a traced step reads the current moving variance at each replay
inverse_std = primitive("inverse_std", _inverse_std)


class LayerNormalization(_Normalization):
    """Normalizes each sample over ``axis`` (the last by default), then scales by gamma and shifts by beta."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False, **kwargs):
        if rms_scaling:
            raise KerasliteError("LayerNormalization(rms_scaling=True) is not supported")
        super().__init__(axis=axis, epsilon=epsilon, center=center, scale=scale, **kwargs)

    def build(self, input_shape):
        _, shape = self._param_shape(input_shape)
        self._add_scale_center(shape)

    def call(self, inputs):
        axes = tuple(self._axes(inputs.ndim))
        fit = self._broadcast(inputs.ndim, list(axes))
        mean = R.mean(inputs, axis=axes, keepdims=True)
        centered = E.subtract(inputs, mean)
        var = R.mean(E.square(centered), axis=axes, keepdims=True)
        out = E.multiply(centered, E.rsqrt(E.add(var, self.epsilon)))
        if self.gamma is not None:
            out = E.multiply(out, fit(self.gamma))
        if self.beta is not None:
            out = E.add(out, fit(self.beta))
        return out


__all__ = ["BatchNormalization", "LayerNormalization"]
