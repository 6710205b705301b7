"""What every ImageNet application shares: ``preprocess_input`` modes, ``decode_predictions`` and the input-shape
rules of Keras' ``imagenet_utils`` (checked once, when a model is built)."""
from __future__ import annotations

import json
import os
import warnings

import numpy as np

from ...errors import KerasliteError
from . import weights as W

CLASS_INDEX_FILE = "imagenet_class_index.json"
CLASS_INDEX_URL = "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json"
CAFFE_MEAN = (103.939, 116.779, 123.68)  # ImageNet's mean pixel in BGR order
TORCH_MEAN, TORCH_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
_class_index = {}


def preprocess_input(x, data_format=None, mode="caffe"):
    """Scale a batch of RGB images in [0, 255] the way an application's weights were trained.

    Args:
        x: a float numpy array (changed in place when it is float, as in Keras), a keraslite Tensor or a
            KerasTensor, 3-D or 4-D with 3 channels.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        mode: ``"caffe"`` (RGB to BGR, minus the ImageNet mean pixel), ``"tf"`` (to [-1, 1]) or ``"torch"``
            (to [0, 1], then normalized by ImageNet's mean and standard deviation).

    Returns:
        The preprocessed images (float32 for integer numpy input).

    Example::

        x = preprocess_input(np.array(images, "float32"), mode="tf")
    """
    if mode not in ("caffe", "tf", "torch"):
        raise KerasliteError(f"Expected mode to be one of `caffe`, `tf` or `torch`. Received: mode={mode}")
    data_format = data_format or "channels_last"
    if data_format not in ("channels_first", "channels_last"):
        raise KerasliteError("Expected data_format to be one of `channels_first` or `channels_last`. Received: "
                             f"data_format={data_format}")
    if isinstance(x, (list, tuple)):
        x = np.asarray(x)
    _check_images(x, data_format, mode)
    if isinstance(x, np.ndarray):
        return _preprocess_numpy(x, data_format, mode)
    return _preprocess_tensor(x, data_format, mode)


def _check_images(x, data_format, mode):
    """A batch (or one image) of numbers with 3 channels where the mode needs them, else a clear error."""
    shape = getattr(x, "shape", None)
    if shape is None:
        raise KerasliteError(f"preprocess_input expects images: a numpy array, a Tensor or a KerasTensor of shape "
                             f"(batch, height, width, 3); Received: {type(x).__name__}")
    if isinstance(x, np.ndarray) and not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise KerasliteError(f"preprocess_input expects numeric pixel values in [0, 255]; Received an array of "
                             f"dtype {x.dtype}")
    if mode == "tf":
        return  # a scale and a shift: any shape
    axis = -1 if data_format == "channels_last" else (0 if len(shape) == 3 else 1)
    if len(shape) < 3 or shape[axis] not in (3, None):
        like = "(batch, height, width, 3)" if data_format == "channels_last" else "(batch, 3, height, width)"
        raise KerasliteError(f"preprocess_input(mode={mode!r}) expects RGB images with 3 channels on axis {axis} "
                             f"({data_format}), a shape like {like}; Received: shape {tuple(shape)}")


def _channel_shape(ndim, data_format):
    """Broadcast shape of a per-channel constant."""
    if data_format == "channels_last":
        return (1,) * (ndim - 1) + (3,)
    return (3, 1, 1) if ndim == 3 else (1, 3) + (1,) * (ndim - 2)


def _reverse_channels(x, data_format):
    if data_format == "channels_last":
        return x[..., ::-1]
    return x[::-1] if x.ndim == 3 else x[:, ::-1]


def _preprocess_numpy(x, data_format, mode):
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype("float32")
    if mode == "tf":
        x /= 127.5
        x -= 1.0
        return x
    if mode == "torch":
        x /= 255.0
        x -= np.reshape(TORCH_MEAN, _channel_shape(x.ndim, data_format)).astype(x.dtype)
        x /= np.reshape(TORCH_STD, _channel_shape(x.ndim, data_format)).astype(x.dtype)
        return x
    x = _reverse_channels(x, data_format)
    x -= np.reshape(CAFFE_MEAN, _channel_shape(x.ndim, data_format)).astype(x.dtype)
    return x


def _preprocess_tensor(x, data_format, mode):
    """The same arithmetic on a Tensor or a KerasTensor (each step is a differentiable op or a graph node)."""
    ndim = len(x.shape)
    if mode == "tf":
        return x / 127.5 - 1.0
    if mode == "torch":
        mean = np.reshape(TORCH_MEAN, _channel_shape(ndim, data_format)).astype("float32")
        std = np.reshape(TORCH_STD, _channel_shape(ndim, data_format)).astype("float32")
        return (x / 255.0 - mean) / std
    every, reverse = slice(None), slice(None, None, -1)  # explicit slices: a KerasTensor takes no Ellipsis
    x = x[(every,) * (ndim - 1) + (reverse,)] if data_format == "channels_last" else (
        x[reverse] if ndim == 3 else x[every, reverse])
    return x - np.reshape(CAFFE_MEAN, _channel_shape(ndim, data_format)).astype("float32")


def class_index():
    """ImageNet's ``{"0": [wnid, name], ...}`` from Keras' cache folder; keraslite downloads nothing."""
    path = os.path.join(W.cache_dir(), CLASS_INDEX_FILE)
    found = W.find_cached(CLASS_INDEX_FILE)
    if found is None:
        raise KerasliteError(f"decode_predictions needs ImageNet's class index {CLASS_INDEX_FILE!r}, which is not in "
                             f"{W.search_dirs()}. keraslite downloads nothing: fetch {CLASS_INDEX_URL} on a machine "
                             f"with internet access and save it as {path} (where Keras caches it; set KERAS_HOME to "
                             "use another folder)")
    if found not in _class_index:
        try:
            with open(found, encoding="utf-8") as fh:
                index = json.load(fh)
            index = {int(k): (str(v[0]), str(v[1])) for k, v in index.items()}
        except (OSError, ValueError, TypeError, IndexError, KeyError) as exc:
            raise KerasliteError(f"{found}: not an ImageNet class index ({exc}); expected JSON like "
                                 '{"0": ["n01440764", "tench"], ...}') from None
        _class_index[found] = index
    return _class_index[found]


def decode_predictions(preds, top=5):
    """The ``top`` ImageNet classes of each prediction.

    Args:
        preds: an array (or Tensor) of shape ``(samples, 1000)``.
        top: how many classes to return per sample.

    Returns:
        One list per sample of ``(wnid, class name, score)`` tuples, best first.

    Example::

        decode_predictions(model.predict(x), top=3)[0]   # [("n02504458", "African_elephant", 0.91), ...]
    """
    preds = np.asarray(preds.numpy() if hasattr(preds, "numpy") else preds)
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise KerasliteError("`decode_predictions` expects a batch of predictions (i.e. a 2D array of shape "
                             f"(samples, 1000)). Received array with shape: {preds.shape}")
    index = class_index()
    missing = [i for i in range(1000) if i not in index]
    if missing:
        raise KerasliteError(f"the ImageNet class index lacks classes {missing[:5]}...; it must name all 1000")
    results = []
    for pred in preds:
        best = pred.argsort()[-top:][::-1]
        result = [index[int(i)] + (pred[i],) for i in best]
        result.sort(key=lambda r: r[2], reverse=True)
        results.append(result)
    return results


def obtain_input_shape(input_shape, default_size, min_size, require_flatten, weights=None):
    """The model's input shape (channels last) from the user's, checked as Keras checks it."""
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        if input_shape[-1] not in (1, 3):
            warnings.warn(f"This model usually expects 1 or 3 input channels. However, it was passed an "
                          f"input_shape with {input_shape[-1]} input channels.", stacklevel=3)
        default_shape = (default_size, default_size, input_shape[-1])
    else:
        default_shape = (default_size, default_size, 3)
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and tuple(input_shape) != default_shape:
            raise KerasliteError(f"When setting `include_top=True` and loading `imagenet` weights, `input_shape` "
                                 f"should be {default_shape}.  Received: input_shape={tuple(input_shape)}")
        return default_shape
    if input_shape:
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise KerasliteError(f"`input_shape` must be a tuple of three integers. Received: input_shape="
                                 f"{input_shape}")
        if input_shape[-1] != 3 and weights == "imagenet":
            raise KerasliteError(f"The input must have 3 channels; Received `input_shape={input_shape}`")
        if any(d is not None and d < min_size for d in input_shape[:2]):
            raise KerasliteError(f"Input size must be at least {min_size}x{min_size}; Received: input_shape="
                                 f"{input_shape}")
    else:
        input_shape = default_shape if require_flatten else (None, None, 3)
    if require_flatten and None in input_shape:
        raise KerasliteError(f"If `include_top` is True, you should specify a static `input_shape`. Received: "
                             f"input_shape={input_shape}")
    return input_shape


def correct_pad(inputs, kernel_size):
    """``((top, bottom), (left, right))`` zero padding before a strided ``valid`` convolution, as Keras pads."""
    size = inputs.shape[1:3]
    kernel_size = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    adjust = (1, 1) if size[0] is None else (1 - size[0] % 2, 1 - size[1] % 2)
    correct = (kernel_size[0] // 2, kernel_size[1] // 2)
    return (correct[0] - adjust[0], correct[0]), (correct[1] - adjust[1], correct[1])


def validate_activation(classifier_activation, weights):
    """Pretrained tops take only ``softmax`` or no activation (logits)."""
    if weights is None:
        return
    from .. import activations

    fn = activations.get(classifier_activation)
    if fn not in (activations.get("softmax"), activations.get(None)):
        raise KerasliteError("Only `None` and `softmax` activations are allowed for the `classifier_activation` "
                             "argument when using pretrained weights, with `include_top=True`; Received: "
                             f"classifier_activation={classifier_activation}")


def image_input(input_tensor, input_shape):
    """The model's image input: a new ``Input``, or the user's ``input_tensor`` (a KerasTensor or an array)."""
    from ..layers import Input
    from ..layers.keras_tensor import KerasTensor

    if input_tensor is None:
        return Input(shape=input_shape)
    if isinstance(input_tensor, KerasTensor):
        return input_tensor
    raise KerasliteError(f"`input_tensor` must be a KerasTensor (the output of keraslite.Input or of a layer called "
                         f"on one); Received: input_tensor of type {type(input_tensor).__name__}. To run the model "
                         "on arrays, build it and call model.predict(array)")


def pool_features(x, pooling, named=False):
    """The headless model's ``pooling`` ("avg", "max" or None) on feature map ``x``, as Keras' builder writes it
    (``named``: the layers are called ``avg_pool``/``max_pool``, as in ResNet and MobileNetV3)."""
    from .. import layers

    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name="avg_pool" if named else None)(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name="max_pool" if named else None)(x)
    return x


def model_inputs(input_tensor, img_input):
    """What the model is built from: the Inputs behind the user's ``input_tensor``, else ``img_input``."""
    return source_inputs(input_tensor) if input_tensor is not None else img_input


def source_inputs(tensor):
    """The ``Input`` tensors ``tensor`` was computed from (Keras' ``get_source_inputs``), in discovery order."""
    found, seen, stack = [], set(), [tensor]
    while stack:
        t = stack.pop()
        layer, index, _ = t._keras_history
        node = layer._inbound_nodes[index]
        if node.is_input:
            if id(t) not in seen:
                seen.add(id(t))
                found.append(t)
            continue
        stack.extend(reversed(node.input_tensors))
    return found[0] if len(found) == 1 else found


__all__ = ["preprocess_input", "decode_predictions", "obtain_input_shape", "correct_pad", "validate_activation",
           "image_input", "source_inputs", "pool_features", "model_inputs"]
