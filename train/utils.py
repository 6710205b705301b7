"""``keraslite.utils``: to_categorical, normalize, set_random_seed, Progbar, PyDataset, the folder loaders
(image_dataset_from_directory, text_dataset_from_directory), the image helpers, plot_model, model_to_dot (Keras'
names)."""
from __future__ import annotations

import random as _py_random

import numpy as np

from ..errors import KerasliteError
from . import random as krandom
from .callbacks.progbar import Progbar  # noqa: F401
from .data.image_dataset import image_dataset_from_directory  # noqa: F401
from .data.images import array_to_img, img_to_array, load_img, save_img  # noqa: F401
from .data.py_dataset import PyDataset  # noqa: F401
from .data.text_dataset import text_dataset_from_directory  # noqa: F401


def to_categorical(x, num_classes=None):
    """Integer class labels as one-hot float32 rows (``num_classes`` defaults to ``max(x) + 1``)."""
    x = np.asarray(x)
    if x.ndim > 1 and x.shape[-1] == 1:
        x = x.reshape(x.shape[:-1])
    labels = x.astype(np.int64)
    if x.size and not np.array_equal(labels, x):
        raise KerasliteError("to_categorical expects integer class labels; got non-integer values")
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise KerasliteError(f"to_categorical: labels must be in 0..{num_classes - 1}, got values from "
                             f"{int(labels.min())} to {int(labels.max())}")
    out = np.zeros(labels.shape + (num_classes,), "float32")
    np.put_along_axis(out, labels[..., None], 1.0, axis=-1)
    return out


def normalize(x, axis=-1, order=2):
    """``x`` divided by its ``order``-norm along ``axis`` (zero rows stay zero)."""
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)


def set_random_seed(seed):
    """Seed Python's, numpy's and keraslite's generators (weights, shuffles, dropout) for reproducible runs."""
    if not isinstance(seed, (int, np.integer)):
        raise KerasliteError(f"Expected `seed` argument to be an integer. Received: seed={seed!r}")
    _py_random.seed(seed)
    np.random.seed(seed)
    krandom.set_seed(seed)


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB",
                 expand_nested=False, dpi=200, subgraph=False, show_layer_activations=False, show_trainable=False,
                 **kwargs):
    """The model as a pydot graph (see ``keraslite.train.model_plot.model_to_dot``; needs ``keraslite[plot]``)."""
    from .model_plot import model_to_dot as build

    return build(model, show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                 rankdir=rankdir, expand_nested=expand_nested, dpi=dpi, subgraph=subgraph,
                 show_layer_activations=show_layer_activations, show_trainable=show_trainable, **kwargs)


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=True,
               rankdir="TB", expand_nested=False, dpi=200, show_layer_activations=False, show_trainable=False,
               **kwargs):
    """Draw the model to ``to_file`` (see ``keraslite.train.model_plot.plot_model``; needs Graphviz's ``dot``)."""
    from .model_plot import plot_model as draw

    return draw(model, to_file=to_file, show_shapes=show_shapes, show_dtype=show_dtype,
                show_layer_names=show_layer_names, rankdir=rankdir, expand_nested=expand_nested, dpi=dpi,
                show_layer_activations=show_layer_activations, show_trainable=show_trainable, **kwargs)


def plot_history(history, to_file, title=None, dpi=100, separator=","):
    """Draw a CSVLogger log (or a History) per epoch (see ``keraslite.train.history_plot``; needs matplotlib)."""
    from .history_plot import plot_history as draw

    return draw(history, to_file, title=title, dpi=dpi, separator=separator)


Sequence = PyDataset  # Keras 2's name for it

__all__ = ["to_categorical", "normalize", "set_random_seed", "Progbar", "PyDataset", "Sequence",
           "image_dataset_from_directory", "text_dataset_from_directory", "load_img", "img_to_array",
           "array_to_img", "save_img", "plot_model", "model_to_dot", "plot_history"]
