"""Where an application's weights come from: ``None`` (random), a path to a Keras weight file, or ``"imagenet"``,
which means the file Keras caches in ``~/.keras/models/`` under its published name. keraslite downloads nothing:
a missing file is an error that says which file to put where."""
from __future__ import annotations

import os

from ...errors import KerasliteError


def cache_dir() -> str:
    """Keras' download folder: ``$KERAS_HOME/models``, else ``~/.keras/models``."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "models")


def search_dirs():
    """Every folder Keras may have cached into (it falls back to /tmp/.keras when the home one is read-only)."""
    dirs = [cache_dir()]
    if not os.environ.get("KERAS_HOME"):
        dirs.append(os.path.join("/tmp", ".keras", "models"))
    return dirs


def find_cached(file_name):
    """The path of ``file_name`` in Keras' cache folders, or None."""
    for folder in search_dirs():
        path = os.path.join(folder, file_name)
        if os.path.isfile(path):
            return path
    return None


def check_argument(weights, include_top, classes, pooling=None):
    """Keras' checks of ``weights`` and ``classes`` before anything is built, and of ``pooling`` (which Keras
    ignores when it is neither "avg" nor "max": a typo would silently keep the 4-D feature map)."""
    if pooling not in (None, "avg", "max"):
        raise KerasliteError(f"`pooling` should be None (the 4-D output of the last block), 'avg' or 'max'. "
                             f"Received: pooling={pooling!r}")
    if not (weights is None or weights == "imagenet" or isinstance(weights, (str, os.PathLike))):
        raise KerasliteError("The `weights` argument should be either `None` (random initialization), 'imagenet' "
                             f"(pre-training on ImageNet), or the path to the weights file to be loaded.  Received: "
                             f"weights={weights!r}")
    if weights is not None and weights != "imagenet" and not os.path.isfile(os.fspath(weights)):
        raise KerasliteError(f"The `weights` argument should be either `None` (random initialization), 'imagenet' "
                             f"(pre-training on ImageNet), or the path to the weights file to be loaded. Received: "
                             f"weights={os.fspath(weights)!r}, which is not a file")
    if weights == "imagenet" and include_top and classes != 1000:
        raise KerasliteError("If using `weights='imagenet'` with `include_top=True`, `classes` should be 1000.  "
                             f"Received classes={classes}")


def imagenet_file(file_name, url):
    """The cached path of Keras' published weight file ``file_name``, or an error saying where to put it."""
    found = find_cached(file_name)
    if found is None:
        raise KerasliteError(f"weights='imagenet' needs Keras' weight file {file_name!r}, which is not in "
                             f"{search_dirs()}. keraslite downloads nothing: fetch {url} on a machine with internet "
                             f"access (or copy it from a Keras cache, ~/.keras/models/) and save it as "
                             f"{os.path.join(cache_dir(), file_name)}, or pass weights='path/to/{file_name}'")
    return found


def load(model, weights, file_name, url):
    """Load ``weights`` (None, ``"imagenet"`` or a path) into ``model``; returns the model."""
    if weights is None:
        return model
    path = imagenet_file(file_name, url) if weights == "imagenet" else os.fspath(weights)
    model.load_weights(path)
    return model


__all__ = ["cache_dir", "search_dirs", "find_cached", "check_argument", "imagenet_file", "load"]
