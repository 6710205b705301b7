"""``LambdaCallback``: a callback whose hooks are plain functions."""
from __future__ import annotations

from ...errors import KerasliteError
from .base import HOOKS, Callback

LEGACY_HOOKS = ("on_batch_begin", "on_batch_end")


class LambdaCallback(Callback):
    """A callback made of functions: ``on_epoch_end=lambda epoch, logs: ...``, ``on_train_begin=lambda logs: ...``.

    Any hook may be given (``on_epoch_begin``, ``on_epoch_end``, ``on_train_begin``, ``on_train_end``,
    ``on_train_batch_begin``, ``on_train_batch_end``, and the test/predict ones); other keyword arguments become
    attributes, as in Keras.

    Example:
        >>> log = keraslite.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))
        >>> model.fit(x, y, epochs=3, callbacks=[log])
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_train_begin=on_train_begin,
                     on_train_end=on_train_end, on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end)
        for name in list(kwargs):
            if name in HOOKS or name in LEGACY_HOOKS:
                hooks[name] = kwargs.pop(name)
            elif name.startswith("on_"):
                raise KerasliteError(f"LambdaCallback got {name}=..., which is not a callback hook; hooks: "
                                     f"{', '.join(HOOKS + LEGACY_HOOKS)}")
        self.__dict__.update(kwargs)
        for name, fn in hooks.items():
            if fn is None:
                continue
            if not callable(fn):
                raise KerasliteError(f"LambdaCallback: {name} must be a function; received {fn!r}")
            setattr(self, name, fn)  # an instance attribute: CallbackList calls it like an overridden method


__all__ = ["LambdaCallback"]
