"""``keraslite.optimizers``: Keras 3's optimizers, their string names, ``get``/``serialize``/``deserialize``,
``schedules`` and tf.keras 2's ``legacy`` names.

Every optimizer keeps its state in Variables (``optimizer.variables``, in Keras 3's order) so saving a compiled
model keeps it and loading resumes training; each built-in update runs as one fused in-place kernel per variable.

Example::

    opt = keraslite.optimizers.get("adam")
    opt.apply_gradients(zip(grads, model.trainable_variables))
    keraslite.optimizers.serialize(opt)["class_name"]  # "Adam"
"""
from __future__ import annotations

from ...errors import KerasliteError
from . import compat, legacy, schedules
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .base import Optimizer
from .ftrl import Ftrl
from .lion import Lion
from .nadam import Nadam
from .rmsprop import RMSprop
from .sgd import SGD

CLASSES = {c.__name__: c for c in (SGD, RMSprop, Adam, AdamW, Adagrad, Adadelta, Adamax, Nadam, Ftrl, Lion)}
# Keras resolves names case-insensitively through the lower-cased class names ("sgd", "rmsprop", "adamw", ...)
NAMES = {name.lower(): cls for name, cls in CLASSES.items()}
# Keras optimizers keraslite does not implement (named in the error so nobody mistakes them for typos)
NOT_IMPLEMENTED = ("Adafactor", "Lamb", "LossScaleOptimizer", "Muon", "MultiOptimizer", "ScheduleFreeAdamW")


def _class_for(name: str, custom_objects=None):
    custom = custom_objects or {}
    if name in custom:
        return custom[name]
    bare = compat.class_name(name)
    cls = NAMES.get(bare.lower())
    if cls is not None:
        return cls
    known = ", ".join(sorted(NAMES))
    if bare in NOT_IMPLEMENTED or bare.lower() in {n.lower() for n in NOT_IMPLEMENTED}:
        raise KerasliteError(f"Optimizer {name!r} is a Keras optimizer keraslite does not implement. "
                             f"Known optimizers: {known}.")
    raise KerasliteError(f"Could not interpret optimizer identifier: {name!r}. Known optimizers: {known} (or pass "
                         "an optimizer object, or a custom class in `custom_objects`).")


def serialize(optimizer) -> dict:
    """Keras 3's form: ``{"module", "class_name", "config", "registered_name"}``.

    Args:
        optimizer: an ``Optimizer``.

    Returns:
        A JSON-ready dict; ``deserialize`` (or real Keras) rebuilds the optimizer from it, without its state.
    """
    if not isinstance(optimizer, Optimizer):
        raise KerasliteError(f"`serialize` expects an optimizer, got {optimizer!r:.200}")
    cls = type(optimizer)
    builtin = NAMES.get(cls.__name__.lower()) is not None and cls.__module__.startswith(__name__)
    return {"module": "keras.optimizers" if builtin else cls.__module__, "class_name": cls.__name__,
            "config": optimizer.get_config(), "registered_name": None if builtin else cls.__name__}


def deserialize(config, custom_objects=None) -> Optimizer:
    """An optimizer from ``serialize``'s dict, or Keras 2's ``{"class_name", "config"}`` (names case-insensitive).

    Args:
        config: the dict.
        custom_objects: ``{name: class}`` for user optimizers and schedules.

    Returns:
        A new, unbuilt optimizer.
    """
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise KerasliteError(f"Could not interpret optimizer config: {config!r:.200}; expected a dict with "
                             "'class_name' and 'config'.")
    cls = _class_for(config["class_name"], custom_objects)
    return cls.from_config(dict(config.get("config") or {}), custom_objects=custom_objects)


def get(identifier) -> Optimizer:
    """An optimizer from a name (``"adam"``), a config dict, an optimizer object or class; None stays None.

    Example::

        get("sgd").learning_rate.numpy()  # 0.01
    """
    if identifier is None or isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        return _class_for(identifier)()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    raise KerasliteError(f"Could not interpret optimizer identifier: {identifier!r:.200}. Expected an optimizer "
                         f"name ({', '.join(sorted(NAMES))}), a config dict or an Optimizer.")


__all__ = list(CLASSES) + ["Optimizer", "get", "serialize", "deserialize", "schedules", "legacy", "CLASSES",
                           "NAMES"]
