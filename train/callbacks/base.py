"""``Callback``, ``CallbackList`` and ``History``: the hooks the fit/evaluate/predict loops call, as in Keras."""
from __future__ import annotations

from typing import List, Optional


class Callback:
    """Base class: override any ``on_*`` hook; ``self.model`` and ``self.params`` are set before training."""

    def __init__(self):
        self.model = None
        self.params = {}
        self.validation_data = None

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): pass
    def on_train_batch_end(self, batch, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass

    # Keras 2 spellings, still overridden by older code
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass


HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
         "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
         "on_predict_begin", "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end")


class History(Callback):
    """Records the epoch logs: ``history.history["loss"]``, ``history.epoch``, ``history.params``."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        self.model.history = self


class CallbackList(Callback):
    """Calls each hook on every callback, skipping hooks a callback does not override (cheap per batch)."""

    def __init__(self, callbacks: Optional[List[Callback]] = None, add_history=False, add_progbar=False,
                 model=None, **params):
        super().__init__()
        self.callbacks = list(callbacks or [])
        if add_progbar and not any(type(c).__name__ == "ProgbarLogger" for c in self.callbacks):
            from .progbar import ProgbarLogger

            self.callbacks.append(ProgbarLogger())
        if add_history:
            history = next((c for c in self.callbacks if isinstance(c, History)), None)
            if history is None:
                history = History()
                self.callbacks.append(history)
            self.history = history
        if model is not None:
            self.set_model(model)
        self.set_params(params)
        self._by_hook = {}
        self._refresh()

    def _refresh(self):
        for hook in HOOKS:
            self._by_hook[hook] = [getattr(c, hook) for c in self.callbacks if _overrides(c, hook)]
        # Keras 2's on_batch_* still fire for training batches: as in Keras 3, a callback's on_train_batch_* runs
        # when it has one, else its on_batch_*, each in the callback's place in the list
        for suffix in ("begin", "end"):
            hook, legacy = f"on_train_batch_{suffix}", f"on_batch_{suffix}"
            self._by_hook[hook] = [getattr(c, hook) if _overrides(c, hook) else getattr(c, legacy)
                                   for c in self.callbacks if _overrides(c, hook) or _overrides(c, legacy)]

    def append(self, callback):
        self.callbacks.append(callback)
        callback.set_model(self.model)
        callback.set_params(self.params)
        self._refresh()

    def set_model(self, model):
        self.model = model
        for c in self.callbacks:
            c.set_model(model)

    def set_params(self, params):
        self.params = params
        for c in self.callbacks:
            c.set_params(params)

    def wants(self, hook) -> bool:
        """Whether any callback overrides ``hook`` (the loops skip building batch logs otherwise)."""
        return bool(self._by_hook[hook])

    def _call(self, hook, *args):
        for fn in self._by_hook[hook]:
            fn(*args)


def _overrides(callback, hook) -> bool:
    if hook in vars(callback):
        return True  # a function set on the instance (LambdaCallback, ``cb.on_epoch_end = fn``)
    impl = getattr(type(callback), hook, None)
    return impl is not None and impl is not getattr(Callback, hook, None)


def _hook(name, with_index):
    # Keras hands every callback a dict (``{}`` when the loop has no logs), the same object to each of them
    if with_index:
        def method(self, index, logs=None):
            self._call(name, index, {} if logs is None else logs)
    else:
        def method(self, logs=None):
            self._call(name, {} if logs is None else logs)
    method.__name__ = name
    return method


for _name in HOOKS:
    setattr(CallbackList, _name, _hook(_name, "batch" in _name or "epoch" in _name))

__all__ = ["Callback", "CallbackList", "History"]
