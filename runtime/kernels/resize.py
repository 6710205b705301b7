"""Image resizing with ``tf.image.resize`` semantics (no antialiasing), on numpy, channels_last.

Each method computes its sampling positions and weights in float32 exactly as TensorFlow's CPU kernels do
(``resize_bilinear``/``resize_nearest_neighbor``/``resize_bicubic`` with half-pixel centers, ``resize_area``), and
interpolates in the same order (bilinear: along x, then y; bicubic: along y, then x), so results agree with
TensorFlow to float32 rounding. Images are ``(N, H, W, C)``; the output is float32 ``(N, out_h, out_w, C)``, except
``nearest``, which keeps the input dtype (as ``tf.image.resize`` does).
"""
from __future__ import annotations

import functools

import numpy as np

METHODS = ("bilinear", "nearest", "bicubic", "area")
F32 = np.float32
TABLE_SIZE = 1024  # TF's bicubic coefficient table: weights are looked up at 1/1024 steps of the fraction


def _scale(in_size: int, out_size: int) -> np.float32:
    return F32(in_size) / F32(out_size)


def _half_pixel(out_size: int, scale) -> np.ndarray:
    """``(i + 0.5) * scale - 0.5`` in float32 for every output index."""
    return (np.arange(out_size, dtype=F32) + F32(0.5)) * F32(scale) - F32(0.5)


@functools.lru_cache(maxsize=256)
def linear_taps(in_size: int, out_size: int):
    """(lower, upper, lerp) per output index for bilinear sampling (cached: images of a data set share sizes)."""
    pos = _half_pixel(out_size, _scale(in_size, out_size))
    floor = np.floor(pos)
    lower = np.maximum(floor.astype(np.int64), 0)
    upper = np.minimum(np.ceil(pos).astype(np.int64), in_size - 1)
    return lower, upper, (pos - floor).astype(F32)


@functools.lru_cache(maxsize=256)
def nearest_index(in_size: int, out_size: int) -> np.ndarray:
    pos = (np.arange(out_size, dtype=F32) + F32(0.5)) * _scale(in_size, out_size)
    return np.clip(np.floor(pos).astype(np.int64), 0, in_size - 1)


def _keys_table() -> np.ndarray:
    """TF's coefficient table for Keys' cubic kernel (a = -0.5), (TABLE_SIZE + 1, 2)."""
    a = -0.5
    x = np.arange(TABLE_SIZE + 1, dtype=np.float64) / TABLE_SIZE
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    x1 = x + 1.0
    far = ((a * x1 - 5 * a) * x1 + 8 * a) * x1 - 4 * a
    return np.stack([near, far], axis=1).astype(F32)


_TABLE = _keys_table()


@functools.lru_cache(maxsize=256)
def cubic_taps(in_size: int, out_size: int):
    """(indices (out, 4), weights (out, 4)) for bicubic sampling; taps outside the image get weight 0 and the
    others are renormalized (TF's half-pixel bicubic)."""
    pos = _half_pixel(out_size, _scale(in_size, out_size))
    base = np.floor(pos).astype(np.int64)
    delta = (pos - base.astype(F32)).astype(F32)
    offset = np.rint(delta * F32(TABLE_SIZE)).astype(np.int64)  # lrintf: round half to even, as numpy's rint
    weights = np.stack([_TABLE[offset, 1], _TABLE[offset, 0], _TABLE[TABLE_SIZE - offset, 0],
                        _TABLE[TABLE_SIZE - offset, 1]], axis=1).astype(F32)
    wanted = base[:, None] + np.arange(-1, 3)[None, :]
    index = np.clip(wanted, 0, in_size - 1)
    weights = np.where(index == wanted, weights, F32(0))
    total = weights[:, 0] + weights[:, 1] + weights[:, 2] + weights[:, 3]
    ok = np.abs(total) >= F32(1000.0) * np.finfo(F32).tiny
    inverse = np.where(ok, F32(1) / np.where(ok, total, F32(1)), F32(1)).astype(F32)
    return index, (weights * inverse[:, None]).astype(F32)


def area_matrix(in_size: int, out_size: int) -> np.ndarray:
    """(out, in) float32 matrix of TF's resize_area coverage weights (before the 1 / (sy * sx) factor)."""
    scale = _scale(in_size, out_size)
    matrix = np.zeros((out_size, in_size), np.float64)
    for o in range(out_size):
        start, stop = F32(o) * scale, F32(o + 1) * scale
        for i in range(int(np.floor(start)), int(np.ceil(stop))):
            if i < start:
                w = scale if F32(i + 1) > stop else F32(i + 1) - start
            else:
                w = stop - F32(i) if F32(i + 1) > stop else F32(1)
            matrix[o, min(max(i, 0), in_size - 1)] += float(w)
    return matrix.astype(F32)


def interpolation_matrix(in_size: int, out_size: int, method: str) -> np.ndarray:
    """(out, in) float32 matrix whose product with an axis is that axis' resampling (the linear map behind each
    method; the training layers use its transpose for gradients)."""
    m = np.zeros((out_size, in_size), np.float64)
    rows = np.arange(out_size)
    if method == "nearest":
        m[rows, nearest_index(in_size, out_size)] = 1
    elif method == "bilinear":
        lower, upper, lerp = linear_taps(in_size, out_size)
        np.add.at(m, (rows, lower), 1 - lerp.astype(np.float64))
        np.add.at(m, (rows, upper), lerp.astype(np.float64))
    elif method == "bicubic":
        index, weight = cubic_taps(in_size, out_size)
        for k in range(4):
            np.add.at(m, (rows, index[:, k]), weight[:, k].astype(np.float64))
    else:
        m = area_matrix(in_size, out_size).astype(np.float64) / float(_scale(in_size, out_size))
    return m.astype(F32)


def resize(images: np.ndarray, height: int, width: int, method: str = "bilinear", out=None) -> np.ndarray:
    """``images`` (N, H, W, C) resized to (N, height, width, C) as ``tf.image.resize(..., antialias=False)``.

    ``out`` (a float32 C-contiguous array of the result's shape) receives the result when the compiled loops run (the
    folder loader writes straight into its batch); the returned array is the result either way.

    Example::

        small = resize(batch, 180, 180)            # float32, bilinear with half-pixel centers
    """
    if method not in METHODS:
        raise ValueError(f"interpolation must be one of {METHODS}, got {method!r}")
    n, h, w, c = images.shape
    if method == "nearest":
        return images[:, nearest_index(h, height)][:, :, nearest_index(w, width)]
    if images.dtype != np.float64:  # float64 (gradient checks) stays on numpy, in float64
        compiled = _compiled_resize(images, height, width, method, out)
        if compiled is not None:
            return compiled
    x = images if images.dtype in (F32, np.float64) else images.astype(F32)
    if method == "bilinear":
        ylo, yhi, ylerp = linear_taps(h, height)
        xlo, xhi, xlerp = linear_taps(w, width)
        xlerp = xlerp[None, None, :, None]
        top_rows, bottom_rows = x[:, ylo], x[:, yhi]
        top_left, top_right = top_rows[:, :, xlo], top_rows[:, :, xhi]
        bottom_left, bottom_right = bottom_rows[:, :, xlo], bottom_rows[:, :, xhi]
        top = top_left + (top_right - top_left) * xlerp
        bottom = bottom_left + (bottom_right - bottom_left) * xlerp
        return top + (bottom - top) * ylerp[None, :, None, None]
    if method == "bicubic":
        yi, yw = cubic_taps(h, height)
        xi, xw = cubic_taps(w, width)
        cols = x[:, yi[:, 0]] * yw[None, :, 0, None, None]
        for k in range(1, 4):
            cols = cols + x[:, yi[:, k]] * yw[None, :, k, None, None]
        out = cols[:, :, xi[:, 0]] * xw[None, None, :, 0, None]
        for k in range(1, 4):
            out = out + cols[:, :, xi[:, k]] * xw[None, None, :, k, None]
        return out
    my, mx = area_matrix(h, height), area_matrix(w, width)
    factor = F32(1.0 / (float(_scale(h, height)) * float(_scale(w, width))))
    rows = np.einsum("oh,nhwc->nowc", my, x, optimize=True)
    return (np.einsum("pw,nowc->nopc", mx, rows, optimize=True) * factor).astype(x.dtype, copy=False)


def _compiled_resize(images, height, width, method, out=None):
    """The compiled loop for ``method`` (same values as the numpy code above), or None without one. Bilinear, what
    the folder loaders use, runs in the C kernels when they are built (loading images then does not import Numba,
    ~0.6 s of a first epoch); the rest, and bilinear without them, in Numba."""
    n, h, w, c = images.shape
    native = None
    if method == "bilinear" and images.dtype in (np.uint8, F32) and (
            out is None or (out.dtype == F32 and out.flags.c_contiguous)):
        from ..native import lib

        native = lib()
    if native is None:
        from . import resize_jit as J

        if J.bilinear is None:
            return None
    x = np.ascontiguousarray(images)
    if out is None:
        out = np.empty((n, height, width, c), F32)
    if native is not None:
        native.resize_bilinear(x, *linear_taps(h, height), *linear_taps(w, width), out, n, h, w, c, height, width)
        return out
    if method == "bilinear":
        return J.bilinear(x, *linear_taps(h, height), *linear_taps(w, width), out)
    if method == "bicubic":
        yi, yw = cubic_taps(h, height)
        xi, xw = cubic_taps(w, width)
        return J.bicubic(x, yi, yw, xi, xw, out)
    sy, sx = _scale(h, height), _scale(w, width)
    start, end, first, last = J.area_taps(w, width, sx)
    factor = F32(1.0 / (float(sy) * float(sx)))
    return J.area(x, *J.area_rows(h, height, sy), start, end, first, last, factor, out)


def crop_box(height: int, width: int, target_h: int, target_w: int):
    """Keras' centered crop with the target aspect ratio: (top, left, crop_h, crop_w)."""
    crop_h = int(F32(width * target_h) / F32(target_w))
    crop_h = max(min(height, crop_h), 1)
    crop_w = int(F32(height * target_w) / F32(target_h))
    crop_w = max(min(width, crop_w), 1)
    return int(F32(height - crop_h) / F32(2)), int(F32(width - crop_w) / F32(2)), crop_h, crop_w


def pad_amounts(height: int, width: int, target_h: int, target_w: int):
    """Keras' padding to the target aspect ratio: rows and columns added on each side (the image is centered)."""
    pad_h = max(height, int(F32(width * target_h) / F32(target_w)))
    pad_w = max(width, int(F32(height * target_w) / F32(target_h)))
    return int(F32(pad_h - height) / F32(2)), int(F32(pad_w - width) / F32(2))


def resize_layer(images: np.ndarray, height: int, width: int, method: str = "bilinear",
                 crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False,
                 fill_value: float = 0.0) -> np.ndarray:
    """Keras 3's ``ops.image.resize`` (what the Resizing layer and the folder loaders do), channels_last."""
    n, h, w, c = images.shape
    if crop_to_aspect_ratio:
        top, left, ch, cw = crop_box(h, w, height, width)
        images = images[:, top:top + ch, left:left + cw]
    elif pad_to_aspect_ratio:
        rows, cols = pad_amounts(h, w, height, width)
        if rows or cols:
            padded = np.full((n, h + 2 * rows, w + 2 * cols, c), fill_value, dtype=images.dtype)
            padded[:, rows:rows + h, cols:cols + w] = images
            images = padded
    return resize(images, height, width, method)


def resize_with_pad(images: np.ndarray, height: int, width: int, method: str = "bilinear") -> np.ndarray:
    """``tf.image.resize_with_pad``: resize keeping the aspect ratio, then zero-pad to (height, width) (what the
    folder loaders do for ``pad_to_aspect_ratio``)."""
    n, h, w, c = images.shape
    ratio = max(F32(w) / F32(width), F32(h) / F32(height))
    rh, rw = F32(h) / ratio, F32(w) / ratio
    top = max(0, int(np.floor((F32(height) - rh) / F32(2))))
    left = max(0, int(np.floor((F32(width) - rw) / F32(2))))
    resized = resize(images, int(np.floor(rh)), int(np.floor(rw)), method)
    out = np.zeros((n, height, width, c), resized.dtype)
    out[:, top:top + resized.shape[1], left:left + resized.shape[2]] = resized[:, :height - top, :width - left]
    return out


def center_crop(images: np.ndarray, height: int, width: int) -> np.ndarray:
    """Keras' CenterCrop: a centered crop when the image is large enough, else crop to the aspect ratio and
    resize (bilinear)."""
    h, w = images.shape[1], images.shape[2]
    if h >= height and w >= width:
        top, left = (h - height) // 2, (w - width) // 2
        return images[:, top:top + height, left:left + width]
    return resize_layer(images, height, width, "bilinear", crop_to_aspect_ratio=True)


__all__ = ["METHODS", "interpolation_matrix", "resize", "resize_layer", "resize_with_pad", "center_crop", "crop_box", "pad_amounts"]
