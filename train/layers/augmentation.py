"""Image augmentation layers, active only in training: RandomFlip, RandomRotation, RandomZoom, RandomTranslation,
RandomContrast, with Keras 3's factor semantics and geometry.

Each layer splits a call as Keras does: ``get_random_transformation(images)`` draws the per-image parameters
(from the layer's own stream when it has a ``seed``, else from the global one that ``utils.set_random_seed``
seeds) and ``transform_images(images, transformation)`` applies them, so a test can fix the parameters. The
geometric layers build Keras' projective matrices and warp with ``autodiff.image.affine_transform``
(TensorFlow's kernel: fill modes, interpolation, fill value), differentiable with respect to the images. In
inference every layer returns its input (as floats).
"""
from __future__ import annotations

import math

import numpy as np

from ...errors import KerasliteError
from .. import random
from ..autodiff import Tensor, elementwise as E, image as I, reduce as R, shape as S
from .base import Layer

F32 = np.float32
FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("nearest", "bilinear")
FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")


def _range_factor(factor, bounds, name="factor"):
    """Keras' base ``_set_factor``: a number f gives (max(-f, low), f), a pair is sorted; both within ``bounds``."""
    low, high = bounds
    message = (f"The `{name}` argument should be a number (or a list of two numbers) in the range [{low}, {high}]. "
               f"Received: {name}={factor}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or factor[0] > high or factor[1] < low:
            raise KerasliteError(message)
        return tuple(float(f) for f in sorted(factor))
    if isinstance(factor, bool) or not isinstance(factor, (int, float, np.number)) or not low <= factor <= high:
        raise KerasliteError(message)
    return max(-abs(float(factor)), low), abs(float(factor))


def _symmetric_factor(factor, name, open_low):
    """RandomZoom/RandomTranslation factors: a number f gives (-f, f), a pair is sorted; each in (-1, 1] or
    [-1, 1] (``open_low`` for zoom)."""
    ok = (lambda v: -1.0 < v <= 1.0) if open_low else (lambda v: -1.0 <= v <= 1.0)
    interval = "(-1.0, 1.0]" if open_low else "[-1.0, 1.0]"
    message = (f"The `{name}` argument should be a number (or a list of two numbers) in the range {interval}. "
               f"Received: {name}={factor}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(isinstance(v, (int, float, np.number)) and ok(v) for v in factor):
            raise KerasliteError(message)
        return tuple(float(f) for f in sorted(factor))
    if isinstance(factor, bool) or not isinstance(factor, (int, float, np.number)) or not ok(factor):
        raise KerasliteError(message)
    return -abs(float(factor)), abs(float(factor))


def _choice(value, allowed, name):
    if value not in allowed:
        raise KerasliteError(f"Unknown `{name}` {value!r}. Expected one of {allowed}.")
    return value


class ImageAugmentation(Layer):
    """Shared call: draw a transformation in training, apply it to channels-last batches."""

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self._seed = random.SeedGenerator(seed) if seed is not None else None
        self.data_format = _choice(data_format or "channels_last", ("channels_last", "channels_first"),
                                   "data_format")

    def _rng(self):
        return random.generator(self._seed)

    def _float(self, images):
        dtype = self.dtype if "float" in self.dtype else "float32"
        if images.dtype != np.dtype(dtype):
            return E.cast(images, dtype)
        return images

    def _sizes(self, images):
        """``(batch, height, width)`` of a batched or single image in this layer's data format."""
        shape = tuple(images.shape)
        if len(shape) not in (3, 4):
            raise KerasliteError(f"Expected image tensor to have rank 3 (single image) or 4 (batch of images). "
                                 f"Received: data.shape={shape}")
        batch = shape[0] if len(shape) == 4 else 1
        spatial = shape[-3:-1] if self.data_format == "channels_last" else shape[-2:]
        return batch, spatial[0], spatial[1]

    def call(self, inputs, training=True):
        images = self._float(inputs)
        if not training:
            return images
        return self.transform_images(images, self.get_random_transformation(images, training=True), training=True)

    def transform_images(self, images, transformation, training=True):
        """``images`` with ``transformation`` (from ``get_random_transformation``) applied (in training)."""
        images = self._float(images if isinstance(images, Tensor) else Tensor(np.asarray(images)))
        if not training or transformation is None:
            return images
        x = images if images.ndim == 4 else S.expand_dims(images, 0)
        if self.data_format == "channels_first":
            x = S.transpose(x, (0, 2, 3, 1))
        y = self._apply(x, transformation)
        if self.data_format == "channels_first":
            y = S.transpose(y, (0, 3, 1, 2))
        return y if images.ndim == 4 else S.squeeze(y, 0)

    def compute_output_shape(self, input_shape):
        return input_shape


class RandomFlip(ImageAugmentation):
    """Flips each image left-right and/or up-down with probability 1/2 (``horizontal_and_vertical`` flips both
    axes of a chosen image, as Keras 3 does)."""

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.mode = _choice(mode, FLIP_MODES, "mode")

    def get_random_transformation(self, images, training=True, seed=None):
        """``{"flips": bool (N, 1, 1, 1)}``."""
        if not training:
            return None
        batch, _, _ = self._sizes(images)
        draw = random.generator(seed if seed is not None else self._seed).random((batch, 1, 1, 1), dtype=F32)
        return {"flips": draw <= 0.5}

    def _apply(self, x, transformation):
        flips = np.asarray(transformation["flips"], bool).reshape(-1, 1, 1, 1)
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            x = E.where(flips, S.flip(x, 2), x)
        if self.mode in ("vertical", "horizontal_and_vertical"):
            x = E.where(flips, S.flip(x, 1), x)
        return x

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "seed": self.seed, "mode": self.mode}


class Warp(ImageAugmentation):
    """Shared fill and interpolation arguments of the geometric layers."""

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.fill_mode = _choice(fill_mode, FILL_MODES, "fill_mode")
        self.interpolation = _choice(interpolation, INTERPOLATIONS, "interpolation")
        self.fill_value = float(fill_value)

    def _apply(self, x, transformation):
        matrix = self._matrix(transformation, x.shape[1], x.shape[2])
        return I.affine_transform(x, transform=matrix, interpolation=self.interpolation, fill_mode=self.fill_mode,
                                  fill_value=self.fill_value)

    def _warp_config(self):
        return {"fill_mode": self.fill_mode, "interpolation": self.interpolation, "seed": self.seed,
                "fill_value": self.fill_value, "data_format": self.data_format}


class RandomRotation(Warp):
    """Rotates each image about its centre by ``factor`` turns drawn from [lower, upper] (positive: counter
    clockwise); ``factor=0.1`` means up to 36 degrees either way."""

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = _range_factor(factor, (-1, 1))

    def get_random_transformation(self, images, training=True, seed=None):
        """``{"angle": degrees (N,)}``."""
        if not training:
            return None
        batch, _, _ = self._sizes(images)
        rng = random.generator(seed if seed is not None else self._seed)
        low, high = self.factor[0] * 360.0, self.factor[1] * 360.0
        return {"angle": rng.uniform(low, high, batch).astype(F32)}

    def _matrix(self, transformation, height, width):
        if "rotation_matrix" in transformation:
            return np.asarray(transformation["rotation_matrix"], F32).reshape(-1, 8)
        return rotation_matrix(transformation["angle"], height, width)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "factor": list(self.factor),
                "fill_mode": self.fill_mode, "fill_value": self.fill_value, "interpolation": self.interpolation,
                "seed": self.seed}


def rotation_matrix(angle, height, width):
    """Keras' ``_compute_affine_matrix`` for a rotation by ``angle`` degrees about the image centre, float32."""
    angle = np.asarray(angle, F32).reshape(-1) * F32(math.pi / 180.0)
    cx, cy = F32(0.5) * (F32(width) - F32(1)), F32(0.5) * (F32(height) - F32(1))
    cos, sin = np.cos(angle), np.sin(angle)
    zero = np.zeros_like(angle)
    a0, a1 = cos + zero * sin, -sin + zero * cos
    b0, b1 = zero * cos + sin, zero * -sin + cos
    a2 = zero + cx - cx * a0 - cy * a1
    b2 = zero + cy - cx * b0 - cy * b1
    return np.stack([a0, a1, a2, b0, b1, b2, zero, zero], axis=1).astype(F32)


class RandomZoom(Warp):
    """Zooms each image about its centre by 1 + a factor drawn from ``height_factor`` (and ``width_factor``, else
    the same draw): a positive factor zooms out, a negative one in."""

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self.height_lower, self.height_upper = _symmetric_factor(height_factor, "height_factor", open_low=True)
        if width_factor is not None:
            self.width_lower, self.width_upper = _symmetric_factor(width_factor, "width_factor", open_low=True)

    def get_random_transformation(self, images, training=True, seed=None):
        """``{"height_zoom": (N, 1), "width_zoom": (N, 1)}``."""
        if not training:
            return None
        batch, _, _ = self._sizes(images)
        rng = random.generator(seed if seed is not None else self._seed)
        height = rng.uniform(1.0 + self.height_lower, 1.0 + self.height_upper, (batch, 1)).astype(F32)
        width = height
        if self.width_factor is not None:
            width = rng.uniform(1.0 + self.width_lower, 1.0 + self.width_upper, (batch, 1)).astype(F32)
        return {"height_zoom": height, "width_zoom": width}

    def _matrix(self, transformation, height, width):
        zx = np.asarray(transformation["width_zoom"], F32).reshape(-1, 1)
        zy = np.asarray(transformation["height_zoom"], F32).reshape(-1, 1)
        dx = (F32(width) - F32(1)) / F32(2) * (F32(1) - zx)
        dy = (F32(height) - F32(1)) / F32(2) * (F32(1) - zy)
        zero = np.zeros_like(zx)
        return np.concatenate([zx, zero, dx, zero, zy, dy, zero, zero], axis=1)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor,
                **self._warp_config()}


class RandomTranslation(Warp):
    """Shifts each image by fractions of its height and width drawn from ``height_factor`` and ``width_factor``."""

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self.height_lower, self.height_upper = _symmetric_factor(height_factor, "height_factor", open_low=False)
        self.width_lower, self.width_upper = _symmetric_factor(width_factor, "width_factor", open_low=False)

    def get_random_transformation(self, images, training=True, seed=None):
        """``{"translations": pixels (N, 2) as (dx, dy)}``."""
        if not training:
            return None
        batch, height, width = self._sizes(images)
        rng = random.generator(seed if seed is not None else self._seed)
        dy = rng.uniform(self.height_lower, self.height_upper, (batch, 1)).astype(F32) * F32(height)
        dx = rng.uniform(self.width_lower, self.width_upper, (batch, 1)).astype(F32) * F32(width)
        return {"translations": np.concatenate([dx, dy], axis=1)}

    def _matrix(self, transformation, height, width):
        shift = np.asarray(transformation["translations"], F32).reshape(-1, 2)
        one, zero = np.ones((len(shift), 1), F32), np.zeros((len(shift), 1), F32)
        return np.concatenate([one, zero, -shift[:, :1], zero, one, -shift[:, 1:], zero, zero], axis=1)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor,
                **self._warp_config()}


class RandomContrast(ImageAugmentation):
    """Scales each image's deviation from its per-channel mean by a factor drawn from [1 - lower, 1 + upper] of
    ``factor`` (a number f gives [1, 1 + f], as in Keras 3.15), then clips to ``value_range``."""

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = _range_factor(factor, (0, 1))
        if not isinstance(value_range, (list, tuple)) or len(value_range) != 2:
            raise KerasliteError(f"The `value_range` argument should be a list of two numbers. "
                                 f"Received: value_range={value_range}")
        self.value_range = tuple(value_range)

    def get_random_transformation(self, images, training=True, seed=None):
        """``{"contrast_factor": (N, 1, 1, 1)}``."""
        batch, _, _ = self._sizes(images)
        if not training:
            return {"contrast_factor": np.zeros((batch, 1, 1, 1), F32)}
        rng = random.generator(seed if seed is not None else self._seed)
        return {"contrast_factor": rng.uniform(1.0 - self.factor[0], 1.0 + self.factor[1],
                                               (batch, 1, 1, 1)).astype(F32)}

    def _apply(self, x, transformation):
        factor = np.asarray(transformation["contrast_factor"]).reshape(-1, 1, 1, 1).astype(x.dtype)
        mean = R.mean(R.mean(x, axis=1, keepdims=True), axis=2, keepdims=True)
        y = E.add(E.multiply(E.subtract(x, mean), factor), mean)
        return E.clip(y, float(self.value_range[0]), float(self.value_range[1]))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "factor": list(self.factor),
                "value_range": list(self.value_range), "seed": self.seed}


__all__ = ["RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast", "rotation_matrix"]
