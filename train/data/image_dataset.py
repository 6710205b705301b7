"""``image_dataset_from_directory``: Keras' arguments, file order, seeded split and pixels (TensorFlow's decoding
and ``tf.image.resize``), as a keraslite Dataset of ``(images, labels)`` batches."""
from __future__ import annotations

import numpy as np

from ...errors import KerasliteError
from ...runtime._alloc import tune as tune_allocator
from ...runtime.kernels import resize as R
from . import directory as D
from .dataset import AUTOTUNE, Dataset
from .images import read_image

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian", "mitchellcubic")


def load_image(path, image_size, num_channels, interpolation, crop_to_aspect_ratio=False,
               pad_to_aspect_ratio=False) -> np.ndarray:
    """One file decoded and resized as Keras' loader does it (float32; uint8 with ``nearest``, as tf.image)."""
    img = read_image(path, num_channels)[None]
    height, width = image_size
    if crop_to_aspect_ratio:
        out = R.resize_layer(img, height, width, interpolation, crop_to_aspect_ratio=True)
    elif pad_to_aspect_ratio:
        out = R.resize_with_pad(img, height, width, interpolation)
    else:
        out = R.resize(img, height, width, interpolation)
    return out[0]


def load_batch(paths, args) -> np.ndarray:
    """A batch of files loaded straight into one array: each image is resized into its slot (no per-image copy,
    no stacking afterwards)."""
    names = [p.decode() for p in paths.tolist()]
    (height, width), channels, method, crop, pad = args
    out = np.empty((len(names), height, width, channels), np.uint8 if method == "nearest" else np.float32)
    for i, name in enumerate(names):
        if crop or pad or method == "nearest":
            out[i] = load_image(name, *args)
        else:
            result = R.resize(read_image(name, channels)[None], height, width, method, out=out[i:i + 1])
            if result.base is not out and result is not out[i:i + 1]:  # the numpy fallback returns a new array
                out[i] = result[0]
    return out


def _dataset(paths, labels, label_mode, num_classes, args, shuffle, buffer, seed, batch_size):
    ds = D.path_dataset(paths, labels, label_mode, num_classes, shuffle, buffer, seed)
    # Keras maps the loader over files, then batches; loading a whole batch of files per call gives the same
    # elements while each worker writes into one array (the batching copy and per-file overhead disappear).
    if batch_size is not None:
        ds = ds.batch(batch_size)
        load = load_batch
    else:
        def load(p, a):
            return load_image(p.item().decode(), *a)
    if label_mode:
        ds = ds.map(lambda p, y: (load(p, args), y), num_parallel_calls=AUTOTUNE)
    else:
        ds = ds.map(lambda p: load(p, args), num_parallel_calls=AUTOTUNE)
    return ds.prefetch(AUTOTUNE)


def image_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, color_mode="rgb",
                                 batch_size=32, image_size=(256, 256), shuffle=True, seed=None, validation_split=None,
                                 subset=None, interpolation="bilinear", follow_links=False,
                                 crop_to_aspect_ratio=False, pad_to_aspect_ratio=False, data_format=None,
                                 format="tf", verbose=True):
    """A Dataset of image batches (and labels) from a folder of class sub-folders, as Keras' function.

    Returns:
        A Dataset yielding ``(images, labels)`` (``images`` float32 ``(batch, height, width, channels)``), or a list
        ``[train, validation]`` with ``subset="both"``; ``.class_names`` and ``.file_paths`` are set.

    Example::

        train_ds = image_dataset_from_directory("flowers", validation_split=0.2, subset="training", seed=123,
                                                image_size=(180, 180), batch_size=32)
    """
    D.check_labels_arg(labels, class_names, label_mode, "image")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    num_channels = {"rgb": 3, "rgba": 4, "grayscale": 1}.get(color_mode)
    if num_channels is None:
        raise KerasliteError(f'`color_mode` must be one of {{"rgb", "rgba", "grayscale"}}. Received: '
                             f"color_mode={color_mode}")
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    elif not isinstance(image_size, (list, tuple)) or len(image_size) != 2:
        raise KerasliteError(f"Invalid `image_size` value. Expected a tuple of 2 integers. Received: "
                             f"image_size={image_size}")
    interpolation = interpolation.lower()
    if interpolation not in INTERPOLATIONS:
        raise KerasliteError(f"Argument `interpolation` should be one of {INTERPOLATIONS}. Received: "
                             f"interpolation={interpolation}")
    if interpolation not in R.METHODS:
        raise KerasliteError(f"interpolation={interpolation!r} is not implemented by keraslite; use one of "
                             f"{R.METHODS}")
    if data_format not in (None, "channels_last"):
        raise KerasliteError(f"data_format={data_format!r}: keraslite's loaders produce channels_last images")
    if pad_to_aspect_ratio and crop_to_aspect_ratio:
        raise KerasliteError("Only one of `pad_to_aspect_ratio`, `crop_to_aspect_ratio` can be set to `True`.")
    if format not in ("tf", "grain"):
        raise KerasliteError(f'`format` should be either "tf" or "grain". Received: format={format}')
    D.check_validation_split_arg(validation_split, subset, shuffle, seed)
    tune_allocator()  # batch arrays are recycled instead of page-faulting fresh memory each time
    if seed is None:
        seed = np.random.randint(1e6)
    paths, labels, class_names = D.index_directory(directory, labels, formats=ALLOWLIST_FORMATS,
                                                   class_names=class_names, shuffle=shuffle, seed=seed,
                                                   follow_links=follow_links, verbose=verbose)
    if label_mode == "binary" and len(class_names) != 2:
        raise KerasliteError(f'When passing `label_mode="binary"`, there must be exactly 2 class_names. Received: '
                             f"class_names={class_names}")
    buffer = batch_size * 8 if batch_size is not None else 1024
    num_classes = len(class_names) if class_names else 0
    args = (tuple(int(s) for s in image_size), num_channels, interpolation, crop_to_aspect_ratio,
            pad_to_aspect_ratio)
    hint = "" if labels is None or class_names else (" (with labels='inferred' the images must sit in class "
                                                     "sub-folders, e.g. DIR/cats/1.jpg; none were found)")
    parts = []
    for name in ("training", "validation") if subset == "both" else (None,):
        part = name or subset
        part_paths, part_labels = D.training_or_validation_split(paths, labels, validation_split, part)
        if not part_paths:
            which = f"No {name} images" if name else "No images"
            raise KerasliteError(f"{which} found in directory {directory}. Allowed formats: {ALLOWLIST_FORMATS}"
                                 f"{hint}")
        ds = _dataset(part_paths, part_labels, label_mode, num_classes, args,
                      shuffle and not (subset == "both" and part == "validation"), buffer, seed, batch_size)
        ds.class_names, ds.file_paths = class_names, list(part_paths)
        parts.append(ds)
    return parts if subset == "both" else parts[0]


__all__ = ["image_dataset_from_directory", "load_image", "ALLOWLIST_FORMATS"]
