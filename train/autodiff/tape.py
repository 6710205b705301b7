"""``GradientTape``: record ops on tracked tensors, then differentiate a target with respect to sources.

    with keraslite.GradientTape() as tape:
        loss = ops.mean(ops.square(x @ W + b - y))
    dW, db = tape.gradient(loss, [W, b])

Nodes are recorded in execution order, so walking them backwards visits every consumer of a tensor before its
producer: one pass accumulates each tensor's gradient, then hands it to its producer's VJP.
"""
from __future__ import annotations

import contextlib
from typing import Any, Dict

import numpy as np

from ...errors import KerasliteError
from . import parallel
from .core import Tensor, _wrap, recording_tapes
from .sparse import IndexedSlices


class GradientTape:
    """Records operations for automatic differentiation, as ``tf.GradientTape``.

    Args:
        persistent: allow several ``gradient`` calls (otherwise the tape is released after the first).
        watch_accessed_variables: track every trainable Variable read while recording (default True).
    """

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True):
        self._persistent = persistent
        self._auto = watch_accessed_variables
        self._watched: Dict[int, Tensor] = {}
        self._nodes: list = []
        self._recording = False
        self._used = False
        self._threads = parallel.policy()  # custom training loops get fit's thread policy while recording

    def __enter__(self):
        recording_tapes().append(self)
        self._recording = True
        self._threads.__enter__()
        return self

    def __exit__(self, *exc):
        tapes = recording_tapes()
        if self in tapes:
            tapes.remove(self)
        self._recording = False
        self._threads.__exit__(*exc)
        return False

    def _tracks(self, x: Tensor) -> bool:
        if id(x) in self._watched:
            return True
        return self._auto and getattr(x, "_is_variable", False) and x.trainable

    def watch(self, tensor) -> None:
        """Track ``tensor`` (or each tensor in a list/dict) so gradients with respect to it can be taken."""
        for t in _flatten(tensor):
            if not isinstance(t, Tensor):
                raise KerasliteError(f"GradientTape.watch expects tensors or variables, got {type(t).__name__}; "
                                     "convert arrays first with keraslite.ops.convert_to_tensor")
            self._watched[id(t)] = t

    def watched_variables(self):
        """The variables this tape has tracked, in the order they were first used."""
        seen: Dict[int, Any] = {}
        for node in self._nodes:
            for _, t in node.parents:
                if getattr(t, "_is_variable", False) and t._node is None:
                    seen.setdefault(id(t), t)
        return list(seen.values())

    @contextlib.contextmanager
    def stop_recording(self):
        """Temporarily stop recording (ops inside are not differentiated)."""
        self._recording = False
        try:
            yield
        finally:
            self._recording = True

    def reset(self) -> None:
        """Forget everything recorded so far."""
        self._nodes = []

    def gradient(self, target, sources, output_gradients=None, unconnected_gradients="none"):
        """Gradients of ``target`` (a tensor, or a list whose sum is meant) with respect to ``sources``.

        Args:
            target: a Tensor, or a list/tuple of Tensors.
            sources: a Variable/Tensor, or a list, tuple or dict of them (the result has the same structure).
            output_gradients: the gradient to start from (default ones, i.e. d sum(target)).
            unconnected_gradients: ``"none"`` (None for a source the target does not depend on) or ``"zero"``.
        Returns:
            Gradients as numpy-backed Tensors, in the structure of ``sources``.
        """
        if self._used and not self._persistent:
            raise KerasliteError("GradientTape.gradient can only be called once on a non-persistent tape; use "
                                 "GradientTape(persistent=True) to compute several gradients")
        if unconnected_gradients not in ("none", "zero"):
            raise KerasliteError(f"unconnected_gradients must be 'none' or 'zero', got {unconnected_gradients!r}")
        self._used = True
        targets = [target] if isinstance(target, Tensor) else _flatten(target)
        seeds = _flatten(output_gradients) if output_gradients is not None else [None] * len(targets)
        if len(seeds) != len(targets):
            raise KerasliteError(f"output_gradients has {len(seeds)} entries for {len(targets)} targets")
        flat = type(sources) is list and all(isinstance(s, Tensor) for s in sources)  # fit's call: no nesting
        flat_sources = sources if flat else _flatten(sources)
        for s in flat_sources:
            if not isinstance(s, Tensor):
                raise KerasliteError(f"gradient sources must be variables or tensors, got {type(s).__name__}")
        with parallel.policy():
            grads = backward(self._nodes, targets, seeds, {id(s) for s in flat_sources})
        out = []
        for s in flat_sources:
            g = grads.get(id(s))
            if g is None and unconnected_gradients == "zero":
                g = np.zeros(s.shape, s.dtype)
            if g is not None and not isinstance(g, IndexedSlices):
                g = _as_tensor(g, s._v.dtype)
            out.append(g)  # a lookup table's gradient stays IndexedSlices, as TensorFlow gives it
        if not self._persistent:
            self._nodes = []
        return out if flat else _unflatten(sources, out)


def backward(nodes, targets, seeds, keep) -> Dict[int, np.ndarray]:
    """Walk ``nodes`` backwards from ``targets``; gradients by ``id`` of every leaf and of the tensors in ``keep``."""
    grads: Dict[int, np.ndarray] = {}
    for t, seed in zip(targets, seeds):
        if not isinstance(t, Tensor):
            continue
        g = np.ones(t.shape, t.dtype) if seed is None else np.asarray(seed._v if isinstance(seed, Tensor)
                                                                      else seed, dtype=t.dtype)
        grads[id(t)] = grads[id(t)] + g if id(t) in grads else g
    kept: Dict[int, np.ndarray] = {}
    pop = grads.pop
    for node in reversed(nodes):
        outs = node.outs
        if type(outs) is tuple:
            g = tuple(_take(grads, o(), keep, kept) for o in outs)
            if all(x is None for x in g):
                continue
        else:
            out = outs()
            if out is None:  # nobody holds the output, so nothing used it: no gradient flows here
                continue
            key = id(out)
            g = pop(key, None)
            if g is None:
                continue
            if key in keep:
                kept[key] = g
        prim = node.prim
        if prim.joint is not None:
            needs = [False] * len(node.args)
            for pos, _ in node.parents:
                needs[pos] = True
            results = prim.joint(g, node.ans, needs, *node.args, **node.params)
            pairs = [(t, results[pos]) for pos, t in node.parents]
        else:
            pairs = []
            vjps = prim.vjps
            for pos, t in node.parents:
                fn = vjps[pos] if pos < len(vjps) else None
                if fn is not None:
                    pairs.append((t, fn(g, node.ans, *node.args, **node.params)))
        for t, gi in pairs:
            if gi is None:
                continue
            key = id(t)
            prev = grads.get(key)
            grads[key] = gi if prev is None else prev + gi
    grads.update(kept)
    return grads


def _as_tensor(g, dtype) -> Tensor:
    """A gradient as a Tensor of the source's dtype (no copy when it already has it)."""
    if type(g) is np.ndarray and g.dtype == dtype:
        return _wrap(g)
    return Tensor(np.asarray(g, dtype=dtype))


def _take(grads, t, keep, kept):
    if t is None:
        return None
    g = grads.pop(id(t), None)
    if g is not None and id(t) in keep:
        kept[id(t)] = g
    return g


def _flatten(obj):
    if isinstance(obj, dict):
        return [v for k in obj for v in _flatten(obj[k])]
    if isinstance(obj, (list, tuple)):
        return [v for item in obj for v in _flatten(item)]
    return [obj]


def _unflatten(structure, flat):
    it = iter(flat)

    def build(s):
        if isinstance(s, dict):
            return {k: build(s[k]) for k in s}
        if isinstance(s, (list, tuple)):
            return type(s)(build(v) for v in s) if not hasattr(s, "_fields") else type(s)(*[build(v) for v in s])
        return next(it)

    return build(structure)


__all__ = ["GradientTape", "backward"]
