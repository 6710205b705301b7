"""Which distribution strategy is in scope (``with strategy.scope():``); tiny, so the trainer imports it freely."""
from __future__ import annotations

import threading

_local = threading.local()


def current_strategy():
    """The innermost strategy whose ``scope()`` is open on this thread, or None."""
    stack = getattr(_local, "stack", None)
    return stack[-1] if stack else None


def push(strategy) -> None:
    if not hasattr(_local, "stack"):
        _local.stack = []
    _local.stack.append(strategy)


def pop(strategy) -> None:
    stack = getattr(_local, "stack", [])
    if stack and stack[-1] is strategy:
        stack.pop()


_active = {"engine": None}


def current_engine():
    """The multi-replica engine whose fit/evaluate/predict is running (synchronized BatchNormalization uses it)."""
    return _active["engine"]


def set_engine(engine) -> None:
    _active["engine"] = engine
