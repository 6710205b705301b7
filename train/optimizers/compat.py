"""Older spellings of optimizer arguments and configs: what Keras 3 refuses from users (``lr``) gets a message with
the fix, and what Keras 2 files contain (``Custom>Adam``, ``jit_compile``, ``is_legacy_optimizer``, ``lr``) is read
the way Keras 3 reads it."""
from __future__ import annotations

import warnings

from ...errors import KerasliteError
from . import schedules

TF_KERAS_ONLY = ("jit_compile", "is_legacy_optimizer")


def check_kwargs(cls_name, kwargs):
    """Keras 3's check of leftover constructor arguments (``decay`` warns and is ignored)."""
    decay = kwargs.pop("decay", None)
    if decay:
        warnings.warn("Argument `decay` is no longer supported and will be ignored.", stacklevel=4)
    if not kwargs:
        return
    message = f"Argument(s) not recognized: {kwargs}"
    if "lr" in kwargs:
        message += (f". `lr` was renamed to `learning_rate` (Keras 3 no longer accepts `lr`): use "
                    f"{cls_name}(learning_rate={kwargs['lr']!r}).")
    raise KerasliteError(message)


def read_config(config, custom_objects=None) -> dict:
    """Constructor arguments from a saved config: tf.keras 2's extra keys dropped, ``lr`` read as
    ``learning_rate``, a schedule dict deserialized."""
    config = dict(config)
    for key in TF_KERAS_ONLY:
        config.pop(key, None)
    if "lr" in config:
        lr = config.pop("lr")
        config.setdefault("learning_rate", lr)
    if isinstance(config.get("learning_rate"), dict):
        config["learning_rate"] = schedules.deserialize(config["learning_rate"], custom_objects)
    return config


def class_name(name: str) -> str:
    """``Custom>Adam`` (tf.keras 2.11+ files) -> ``Adam``."""
    return name.split(">")[-1]


__all__ = ["check_kwargs", "read_config", "class_name", "TF_KERAS_ONLY"]
