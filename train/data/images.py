"""Decoding image files into the pixels TensorFlow's ``tf.io.decode_image`` gives (what Keras' folder loader feeds
its resize), and Keras' Pillow-based ``load_img``/``img_to_array``/``array_to_img``/``save_img``.

JPEGs go through ``simplejpeg`` (libjpeg-turbo) with TensorFlow's settings, the fast integer DCT and fancy
upsampling: the decoded pixels are identical to TensorFlow's. Other formats (PNG, GIF, BMP) go through Pillow, with
the color conversions TensorFlow applies (libpng's RGB-to-gray weights, alpha dropped or added). Both come with
``pip install 'keraslite[data]'``; without simplejpeg, JPEGs are decoded by Pillow (its accurate DCT differs from
TensorFlow's by a few levels per pixel) after one warning.
"""
from __future__ import annotations

import io
import os
import pathlib
import warnings

import numpy as np

from ...errors import KerasliteError

EXTRA_HINT = "install the image extra: pip install 'keraslite[data]'"
_state = {"warned": False}


def pil_image():
    """Pillow's Image module, or ImportError naming the extra to install."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(f"keraslite needs Pillow to read and write images; {EXTRA_HINT}") from None
    return Image


def _simplejpeg():
    try:
        import simplejpeg
    except ImportError:
        if not _state["warned"]:
            _state["warned"] = True
            warnings.warn("simplejpeg is not installed: JPEGs are decoded with Pillow, whose pixels differ from "
                          f"TensorFlow's by a few levels; {EXTRA_HINT}", RuntimeWarning, stacklevel=4)
        return None
    return simplejpeg


def image_format(data: bytes) -> str:
    """``jpeg``, ``png``, ``gif``, ``bmp`` or ``other`` from the file's first bytes (as decode_image decides)."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] in (b"GIF8",):
        return "gif"
    if data[:2] == b"BM":
        return "bmp"
    return "other"


def rgb_to_gray(rgb: np.ndarray) -> np.ndarray:
    """libpng's ``png_set_rgb_to_gray`` with TensorFlow's coefficients (0.299, 0.587): truncated fixed point."""
    r, g, b = (rgb[..., i].astype(np.uint32) for i in range(3))
    return ((9797 * r + 19234 * g + 3737 * b) >> 15).astype(np.uint8)[..., None]


def _channels(arr: np.ndarray, alpha, channels: int) -> np.ndarray:
    """(H, W, 1|3) uint8 ``arr`` with optional alpha (H, W) to ``channels`` the way decode_image converts."""
    gray = arr.shape[-1] == 1
    if channels == 1:
        return arr if gray else rgb_to_gray(arr)
    rgb = np.repeat(arr, 3, axis=-1) if gray else arr
    if channels == 3:
        return rgb
    a = np.full(rgb.shape[:2], 255, np.uint8) if alpha is None else alpha
    return np.concatenate([rgb, a[..., None]], axis=-1)


def _pil_pixels(img):
    """(H, W, 1|3) uint8 pixels and the alpha plane (or None) of a Pillow image."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit gray: libpng keeps the high byte
        return (np.asarray(img, np.uint32) >> 8).astype(np.uint8)[..., None], None
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        mode = img.mode
    if mode == "L":
        return np.asarray(img)[..., None], None
    if mode == "LA":
        arr = np.asarray(img)
        return arr[..., :1], arr[..., 1]
    if mode == "RGBA":
        arr = np.asarray(img)
        return arr[..., :3], arr[..., 3]
    return np.asarray(img.convert("RGB")), None


def decode_image(data: bytes, channels: int = 3, path: str = "<bytes>") -> np.ndarray:
    """(H, W, channels) uint8 pixels of an image file's bytes, as ``tf.io.decode_image(data, channels)``.

    Raises:
        KerasliteError naming ``path`` for a corrupt, truncated or unknown image.
    """
    fmt = image_format(data)
    if fmt == "jpeg":
        sj = _simplejpeg()
        if sj is not None:
            try:
                colorspace = {1: "GRAY", 3: "RGB", 4: "RGBA"}[channels]
                arr = sj.decode_jpeg(data, colorspace=colorspace, fastdct=True, fastupsample=False)
                return arr[..., None] if arr.ndim == 2 else arr
            except ValueError as exc:
                if "Unsupported color conversion" not in str(exc) and "CMYK" not in str(exc):
                    raise KerasliteError(f"Failed to decode image file {path!r}: invalid or truncated JPEG data "
                                         f"({exc})") from None
    Image = pil_image()
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, ... for bad files
        kind = "unknown image format" if fmt == "other" else f"invalid or truncated {fmt.upper()} data"
        raise KerasliteError(f"Failed to decode image file {path!r}: {kind} ({exc})") from None
    if getattr(img, "n_frames", 1) > 1:
        img.seek(0)  # animations are cut to the first frame, as Keras' loader does
    arr, alpha = _pil_pixels(img)
    return np.ascontiguousarray(_channels(arr, alpha, channels))


def read_image(path: str, channels: int = 3) -> np.ndarray:
    """Decoded pixels of the image file at ``path`` (see ``decode_image``)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise KerasliteError(f"Cannot read image file {path!r}: {exc.strerror or exc}") from None
    return decode_image(data, channels, path)


# ------------------------------------------------------------------------------ Keras' PIL utilities
def _resampling(name):
    Image = pil_image()
    res = getattr(Image, "Resampling", Image)
    methods = {"nearest": res.NEAREST, "bilinear": res.BILINEAR, "bicubic": res.BICUBIC, "hamming": res.HAMMING,
               "box": res.BOX, "lanczos": res.LANCZOS}
    if name not in methods:
        raise KerasliteError(f"Invalid interpolation method {name} specified. Supported methods are "
                             f"{', '.join(methods)}")
    return methods[name]


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest", keep_aspect_ratio=False):
    """Load an image file as a PIL image, as ``keras.utils.load_img``.

    Args:
        path: a file path (str, bytes, pathlib.Path) or an ``io.BytesIO``.
        color_mode: ``"rgb"``, ``"rgba"`` or ``"grayscale"``.
        target_size: None or ``(height, width)`` to resize to (Pillow's ``interpolation``).
        keep_aspect_ratio: crop the center to the target's aspect ratio before resizing.
    Returns:
        A PIL Image.

    Example::

        img = keraslite.utils.load_img("rose.jpg", target_size=(180, 180))
        x = keraslite.utils.img_to_array(img)[None]     # a batch of one
    """
    Image = pil_image()
    if isinstance(path, io.BytesIO):
        source = path
    elif isinstance(path, (pathlib.Path, bytes, str, os.PathLike)):
        path = os.fsdecode(path) if isinstance(path, bytes) else str(pathlib.Path(path).resolve())
        try:
            with open(path, "rb") as fh:
                source = io.BytesIO(fh.read())
        except OSError as exc:
            raise KerasliteError(f"Cannot read image file {path!r}: {exc.strerror or exc}") from None
    else:
        raise TypeError(f"path should be path-like or io.BytesIO, not {type(path)}")
    try:
        img = Image.open(source)
        img.load()
    except Exception as exc:
        raise KerasliteError(f"Failed to decode image file {path!r}: {exc}") from None
    if color_mode == "grayscale":
        if img.mode not in ("L", "I;16", "I"):
            img = img.convert("L")
    elif color_mode == "rgba":
        if img.mode != "RGBA":
            img = img.convert("RGBA")
    elif color_mode == "rgb":
        if img.mode != "RGB":
            img = img.convert("RGB")
    else:
        raise KerasliteError('color_mode must be "grayscale", "rgb", or "rgba"')
    if target_size is not None:
        size = (target_size[1], target_size[0])
        if img.size != size:
            resample = _resampling(interpolation)
            if keep_aspect_ratio:
                width, height = img.size
                crop_h = min(height, (width * size[1]) // size[0])
                crop_w = min(width, (height * size[0]) // size[1])
                top, left = (height - crop_h) // 2, (width - crop_w) // 2
                img = img.resize(size, resample, box=[left, top, left + crop_w, top + crop_h])
            else:
                img = img.resize(size, resample)
    return img


def img_to_array(img, data_format=None, dtype=None) -> np.ndarray:
    """A PIL image as a (H, W, C) float32 array (``channels_first``: (C, H, W))."""
    x = np.asarray(img, dtype=dtype or "float32")
    if x.ndim == 2:
        x = x.reshape(x.shape + (1,))
    elif x.ndim != 3:
        raise KerasliteError(f"Unsupported image shape: {x.shape}")
    return x.transpose(2, 0, 1) if data_format == "channels_first" else x


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A (H, W, C) array as a PIL image; ``scale`` stretches values to 0..255 first."""
    Image = pil_image()
    x = np.asarray(x, dtype=dtype or "float32")
    if x.ndim != 3:
        raise KerasliteError(f"Expected image array to have rank 3 (single image). Got array with shape: {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        top = np.max(x)
        if top != 0:
            x /= top
        x *= 255
    if x.shape[2] == 4:
        return Image.fromarray(x.astype("uint8"), "RGBA")
    if x.shape[2] == 3:
        return Image.fromarray(x.astype("uint8"), "RGB")
    if x.shape[2] == 1:
        if np.max(x) > 255:
            return Image.fromarray(x[:, :, 0].astype("int32"), "I")
        return Image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise KerasliteError(f"Unsupported channel number: {x.shape[2]}")


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Save a (H, W, C) array as an image file (format from the extension unless ``file_format``)."""
    if file_format is None and isinstance(path, (str, pathlib.Path)):
        file_format = pathlib.Path(path).suffix[1:].lower()
    if file_format and file_format.lower() == "jpg":
        file_format = "jpeg"
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format == "jpeg":
        warnings.warn("The JPEG format does not support RGBA images, converting to RGB.", stacklevel=2)
        img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)


__all__ = ["decode_image", "read_image", "load_img", "img_to_array", "array_to_img", "save_img", "rgb_to_gray",
           "pil_image"]
