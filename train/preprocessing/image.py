"""``keraslite.preprocessing.image``: Keras' image utilities (Pillow-based, as in Keras) and ``smart_resize``."""
import numpy as np

from ...errors import KerasliteError
from ...runtime.kernels import resize as R
from ..data.images import array_to_img, img_to_array, load_img, save_img


def smart_resize(x, size, interpolation="bilinear", data_format="channels_last", **kwargs):
    """Resize an image (or a batch) to ``size`` without distorting it: the largest centered crop with the target
    aspect ratio, then ``tf.image.resize``; returns float32 numpy."""
    if len(size) != 2:
        raise KerasliteError(f"Expected `size` to be a tuple of 2 integers, but got: {size}.")
    if data_format != "channels_last":
        raise KerasliteError("smart_resize: keraslite resizes channels_last images")
    img = np.asarray(x)
    if img.ndim not in (3, 4):
        raise KerasliteError(f"Expected an image array with shape `(height, width, channels)`, or `(batch_size, "
                             f"height, width, channels)`, but got input with incorrect rank, of shape {img.shape}.")
    batch = img if img.ndim == 4 else img[None]
    out = R.resize_layer(batch, int(size[0]), int(size[1]), interpolation, crop_to_aspect_ratio=True)
    return out if img.ndim == 4 else out[0]


__all__ = ["load_img", "img_to_array", "array_to_img", "save_img", "smart_resize"]
