"""``Resizing`` and ``CenterCrop``: image resizing with ``tf.image.resize`` semantics (Keras 3's layers on the
TensorFlow backend: bilinear/nearest/bicubic/area without antialiasing, crop or pad to the aspect ratio).

The forward pass is the exact kernel of ``keraslite.runtime.kernels.resize``; gradients flow back through the
transposed interpolation matrices, so a Resizing layer may sit anywhere in a trainable model.
"""
from __future__ import annotations

import numpy as np

from ...errors import KerasliteError
from ...runtime.kernels import resize as R
from ..autodiff import Tensor, primitive, shape as S
from .base import Layer


def _resize_fwd(x, height, width, method):
    return R.resize(x, height, width, method)


def _resize_vjp(g, ans, x, height, width, method):
    wy = R.interpolation_matrix(x.shape[1], height, method)
    wx = R.interpolation_matrix(x.shape[2], width, method)
    return np.einsum("oh,nopc,pw->nhwc", wy, g.astype(np.float32), wx, optimize=True).astype(x.dtype)


resize_op = primitive("resize", _resize_fwd, _resize_vjp)


def _batched(inputs):
    """(tensor as 4-D, whether a batch axis was added)."""
    if inputs.ndim == 3:
        return S.expand_dims(inputs, 0), True
    if inputs.ndim != 4:
        raise KerasliteError(f"Invalid images rank: expected rank 3 (single image) or rank 4 (batch of images). "
                             f"Received input with shape: images.shape={tuple(inputs.shape)}")
    return inputs, False


def resize_images(x, height, width, method="bilinear", crop_to_aspect_ratio=False, pad_to_aspect_ratio=False,
                  fill_value=0.0):
    """Keras 3's ``ops.image.resize`` on a 4-D tensor (channels_last), differentiable."""
    n, h, w, c = x.shape
    if crop_to_aspect_ratio:
        top, left, ch, cw = R.crop_box(h, w, height, width)
        x = S.getitem(x, (slice(None), slice(top, top + ch), slice(left, left + cw)))
    elif pad_to_aspect_ratio:
        rows, cols = R.pad_amounts(h, w, height, width)
        if rows or cols:
            x = S.pad(x, ((0, 0), (rows, rows), (cols, cols), (0, 0)), constant_values=fill_value)
    return resize_op(x, height=int(height), width=int(width), method=method)


def _check_format(data_format):
    if data_format not in (None, "channels_last"):
        raise KerasliteError(f"data_format={data_format!r} is not supported by keraslite's image layers; "
                             "use channels_last images (height, width, channels)")


class _ImageSizeLayer(Layer):
    """A layer whose images come out ``(self.height, self.width)``."""

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        shape[-3], shape[-2] = self.height, self.width
        return tuple(shape)


class Resizing(_ImageSizeLayer):
    """Resize images to ``(height, width)``, as Keras' Resizing layer with the TensorFlow backend."""

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False, pad_to_aspect_ratio=False,
                 fill_mode="constant", fill_value=0.0, antialias=False, data_format=None, **kwargs):
        super().__init__(**kwargs)
        _check_format(data_format)
        if interpolation not in R.METHODS:
            raise KerasliteError(f"Invalid value for argument `interpolation`. Expected of one {R.METHODS} (keraslite "
                                 f"implements these TensorFlow methods). Received: interpolation={interpolation}")
        if fill_mode != "constant":
            raise KerasliteError(f"Invalid value for argument `fill_mode`. Only `'constant'` is supported. "
                                 f"Received: fill_mode={fill_mode}")
        if pad_to_aspect_ratio and crop_to_aspect_ratio:
            raise KerasliteError("Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can be `True`.")
        if antialias:
            raise KerasliteError("Resizing(antialias=True) is not supported by keraslite; use antialias=False")
        self.height, self.width, self.interpolation = int(height), int(width), interpolation
        self.crop_to_aspect_ratio, self.pad_to_aspect_ratio = bool(crop_to_aspect_ratio), bool(pad_to_aspect_ratio)
        self.fill_mode, self.fill_value, self.antialias = fill_mode, fill_value, bool(antialias)
        self.data_format = "channels_last"
        self.supports_masking = False

    def call(self, inputs):
        x, added = _batched(inputs)
        out = resize_images(x, self.height, self.width, self.interpolation, self.crop_to_aspect_ratio,
                            self.pad_to_aspect_ratio, self.fill_value)
        if x.dtype.kind in "iu":  # Keras rounds back to an integer input's dtype
            info = np.iinfo(x.dtype)
            out = Tensor(np.clip(np.round(np.asarray(out._v)), info.min, info.max).astype(x.dtype))
        return S.squeeze(out, 0) if added else out

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation, "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias, "data_format": self.data_format}


class CenterCrop(_ImageSizeLayer):
    """The centered ``(height, width)`` crop of images; smaller images are cropped to the aspect ratio and
    resized (bilinear), as Keras does."""

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(**kwargs)
        _check_format(data_format)
        self.height, self.width, self.data_format = int(height), int(width), "channels_last"

    def call(self, inputs):
        x, added = _batched(inputs)
        h, w = x.shape[1], x.shape[2]
        if h >= self.height and w >= self.width:
            top, left = (h - self.height) // 2, (w - self.width) // 2
            out = S.getitem(x, (slice(None), slice(top, top + self.height), slice(left, left + self.width)))
        else:
            out = resize_images(x, self.height, self.width, "bilinear", crop_to_aspect_ratio=True)
        return S.squeeze(out, 0) if added else out

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width, "data_format": self.data_format}


__all__ = ["Resizing", "CenterCrop", "resize_images"]
