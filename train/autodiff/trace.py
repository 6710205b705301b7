"""Tracing a step into a straight-line program of primitives, and replaying it on new arrays.

While a ``Recorder`` is active (``with recorder:``), ``apply`` (core.py) reports every primitive call, recorded on a
tape or not. Each argument must be one of: an input array (by identity), a Variable (its value is read again at
every replay), the output of an earlier recorded call, or a plain constant (numbers, strings, shapes, dtypes, a
random generator). Anything else, such as an array computed with numpy outside the primitives, a Variable
assigned during the step, or a branch taken on the data's values (``not_replayable``), makes the trace
unusable: the caller then stays eager.
``Recorder.finish`` turns the calls and the tape's nodes into a ``Program`` whose ``run`` repeats the forward
functions in order and then the VJPs of the tape's nodes in reverse, summing gradients in the same order as
``tape.backward``, so a replay computes what the eager step would.
"""
from __future__ import annotations

from typing import Dict, List, Optional

import numpy as np

from .core import Tensor, _local, _wrap
from .sparse import IndexedSlices
from .tape import _as_tensor

_PLAIN = (type(None), bool, int, float, str, complex, slice, np.generic, np.dtype)


def _const_key(value):
    """A comparable key of a plain constant; None when the value is not plain (an array, a Tensor, an object)."""
    if isinstance(value, _PLAIN):
        return (type(value).__name__, value)
    if isinstance(value, (tuple, list)):
        keys = tuple(_const_key(v) for v in value)
        return None if any(k is None for k in keys) else (type(value).__name__, keys)
    if isinstance(value, np.random.Generator) or type(value).__name__ == "SeedGenerator":
        return ("object", id(value))  # a stream of draws: the same object must be drawn from at each replay
    return None


class TraceError(Exception):
    """Internal: the step cannot be replayed (the reason is kept for debugging, never shown to users)."""


class Recorder:
    """Collects the primitive calls of one step; see the module docstring."""

    def __init__(self, inputs: List[np.ndarray]):
        self.failure: Optional[str] = None
        self.slots: Dict[int, int] = {}      # id(Tensor or input array) -> slot
        self.keep: List = []                 # keeps recorded objects alive so their ids stay unique
        self.variables: List = []            # (slot, Variable)
        self.input_slots: List[int] = []
        self.ops: List[tuple] = []
        self.n = 0
        for a in inputs:
            self.input_slots.append(self._slot(a))

    def _slot(self, obj) -> int:
        slot = self.n
        self.n += 1
        self.slots[id(obj)] = slot
        self.keep.append(obj)
        return slot

    def alias(self, new, old) -> None:
        """``new`` stands for ``old`` (a Tensor that took over another's value and node) from now on."""
        slot = self.slots.get(id(old))
        if slot is not None:
            self.slots[id(new)] = slot
            self.keep.append(new)

    def fail(self, reason: str) -> None:
        if self.failure is None:
            self.failure = reason

    def __enter__(self):
        self._previous = getattr(_local, "recorder", None)
        _local.recorder = self
        return self

    def __exit__(self, *exc):
        _local.recorder = self._previous
        return False

    def _ref(self, a):
        """(slot, None) for a traced value, (None, constant) for a plain one; fails the trace otherwise."""
        if isinstance(a, Tensor):
            slot = self.slots.get(id(a))
            if slot is not None:
                return slot, None
            if getattr(a, "_is_variable", False):
                slot = self._slot(a)
                self.variables.append((slot, a))
                return slot, None
            slot = self.slots.get(id(a._v))
            if slot is not None and slot in self.input_slots:
                return slot, None  # a Tensor made around an input array (a layer's input conversion)
            self.fail(f"a Tensor not made by a primitive: {a.shape}")
            return None, None
        if isinstance(a, np.ndarray):
            slot = self.slots.get(id(a))
            if slot is not None and slot in self.input_slots:
                return slot, None
            self.fail(f"an array computed outside the primitives: {a.shape}")
            return None, None
        if _const_key(a) is None:
            self.fail(f"an argument that is not a plain constant: {type(a).__name__}")
        return None, a

    def record(self, prim, args, params, outs) -> None:
        """Called by ``apply`` after the forward ran."""
        if self.failure is not None:
            return
        fill, template = [], []
        for pos, a in enumerate(args):
            slot, const = self._ref(a)
            template.append(const)
            if slot is not None:
                fill.append((pos, slot))
        for value in params.values():
            if _const_key(value) is None:
                self.fail(f"a parameter of {prim.name} that is not a plain constant")
        if self.failure is not None:
            return
        out_slots = [self._slot(o) for o in outs] if prim.n_out != 1 else self._slot(outs)
        self.ops.append((prim, template, fill, params, out_slots))

    def slot_of(self, tensor) -> int:
        slot = self.slots.get(id(tensor)) if isinstance(tensor, Tensor) else None
        if slot is None:
            raise TraceError("an output that no recorded primitive made")
        return slot

    def finish(self, outputs, tape=None, sources=()) -> "Program":
        """The replayable program giving ``outputs`` (Tensors) and, with a tape, the gradients of ``outputs[0]``
        with respect to ``sources``. Raises TraceError when the step cannot be replayed."""
        if self.failure is not None:
            raise TraceError(self.failure)
        out_slots = [self.slot_of(t) for t in outputs]
        backward = []
        if tape is not None:
            op_of = {}
            for i, (_, _, _, _, slots) in enumerate(self.ops):
                for slot in ([slots] if isinstance(slots, int) else slots):
                    op_of[slot] = i
            for node in tape._nodes:
                live = [o() for o in (node.outs if isinstance(node.outs, tuple) else (node.outs,))]
                live = [o for o in live if o is not None]
                if not live:  # no output is held, so none was used: the tape's backward skips the node too
                    continue
                i = op_of.get(self.slots.get(id(live[0])))
                if i is None or self.ops[i][0] is not node.prim:
                    raise TraceError("a tape node that was not recorded")
                parents = [(pos, self.slot_of(t)) for pos, t in node.parents]
                backward.append((i, parents, len(node.args)))
        source_slots = []
        for s in sources:
            slot = self.slots.get(id(s))
            if slot is None:  # a variable the step never read: no gradient, as on the tape
                slot = -1
            source_slots.append((slot, s._v.dtype))
        return Program(self, out_slots, backward, source_slots)


class Program:
    """A recorded step: ``run(inputs)`` gives the output arrays and the gradients (see the module docstring)."""

    def __init__(self, rec: Recorder, out_slots, backward, source_slots):
        self.n = rec.n
        self.input_slots = rec.input_slots
        self.variables = rec.variables
        self.ops = [(p.fwd, p.n_out, p.saves, template, fill, params, slots)
                    for p, template, fill, params, slots in rec.ops]
        self.backward = []  # in the order the VJPs run: (op, primitive, parents, needs, params, out slots)
        for i, parents, n_args in reversed(backward):
            needs = [False] * n_args
            for pos, _ in parents:
                needs[pos] = True
            self.backward.append((i, rec.ops[i][0], parents, needs, rec.ops[i][3], rec.ops[i][4]))
        self.out_slots = out_slots
        self.source_slots = source_slots
        self.key = (tuple((p.name, tuple(_const_key(c) for c in t), tuple(f), _const_key(tuple(sorted(
            params.items()))), repr(s)) for p, t, f, params, s in rec.ops),
            tuple(self.input_slots), tuple(s for s, _ in self.variables), tuple(out_slots),
            tuple((b[0], tuple(b[2])) for b in self.backward), tuple(s for s, _ in source_slots))

    def run(self, inputs, differentiate=False):
        """``(outputs as arrays, gradients as Tensors or None)`` for this step's input arrays."""
        env = [None] * self.n
        for slot, a in zip(self.input_slots, inputs):
            env[slot] = a
        for slot, v in self.variables:
            env[slot] = v._v
        records = [None] * len(self.ops)
        for k, (fwd, n_out, saves, template, fill, params, slots) in enumerate(self.ops):
            vals = list(template)
            for pos, slot in fill:
                vals[pos] = env[slot]
            ans = fwd(*vals, **params)
            records[k] = (vals, ans)
            out = ans[0] if saves else ans
            if n_out == 1:
                env[slots] = out if type(out) is np.ndarray else np.asarray(out)
            else:
                for slot, o in zip(slots, out):
                    env[slot] = o if type(o) is np.ndarray else np.asarray(o)
        outputs = [env[s] for s in self.out_slots]
        if not differentiate:
            return outputs, None
        return outputs, self._gradients(env, records)

    def _gradients(self, env, records):
        target = env[self.out_slots[0]]
        grads = {self.out_slots[0]: np.ones(target.shape, target.dtype)}
        pop = grads.pop
        for i, prim, parents, needs, params, slots in self.backward:
            if type(slots) is int:
                g = pop(slots, None)
                if g is None:
                    continue
            else:
                g = tuple(pop(s, None) for s in slots)
                if all(x is None for x in g):
                    continue
            vals, ans = records[i]
            if prim.joint is not None:
                results = prim.joint(g, ans, list(needs), *vals, **params)
                pairs = [(slot, results[pos]) for pos, slot in parents]
            else:
                pairs = []
                vjps = prim.vjps
                for pos, slot in parents:
                    fn = vjps[pos] if pos < len(vjps) else None
                    if fn is not None:
                        pairs.append((slot, fn(g, ans, *vals, **params)))
            for slot, gi in pairs:
                if gi is None:
                    continue
                prev = grads.get(slot)
                grads[slot] = gi if prev is None else prev + gi
        out = []
        for slot, dtype in self.source_slots:
            g = grads.get(slot) if slot >= 0 else None
            out.append(g if g is None or isinstance(g, IndexedSlices) else _as_tensor(g, dtype))
        return out


def not_replayable(reason: str) -> None:
    """Mark the step being traced, if any, as one a replay cannot reproduce: call it where a Python decision
    depends on the data's values (a replay would repeat the traced branch)."""
    recorder = getattr(_local, "recorder", None)
    if recorder is not None:
        recorder.fail(reason)


def wrap(array) -> Tensor:
    """A replayed output as a Tensor."""
    return _wrap(array)


__all__ = ["Recorder", "Program", "TraceError", "not_replayable", "wrap"]
