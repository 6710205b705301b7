"""Model: a loaded, compiled model with a thread-safe ``predict``."""
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

from ..errors import InputError
from . import _alloc, plan as plan_mod


@dataclass(frozen=True)
class TensorSpec:
    """A model input or output: ``name``, ``shape`` (None for the batch and variable dims) and ``dtype``."""

    name: str
    shape: Tuple[Optional[int], ...]
    dtype: str


STRING = object()  # the cast marker of string inputs (TensorSpec dtype "string")


def _check_strings(spec, item):
    """A string input as an object array of UTF-8 bytes (str, bytes and numpy string arrays are accepted)."""
    from .kernels.text import TextError, as_strings

    try:
        a = as_strings(item if isinstance(item, np.ndarray) else np.asarray(item, dtype=object))
    except TextError as exc:
        raise InputError(f"input {spec.name!r}: expected strings (dtype string), {exc}") from None
    _check_shape(spec, a)
    return a


def _check_shape(spec, a):
    """InputError unless ``a`` has the input's rank and every fixed axis of its shape."""
    if a.ndim != len(spec.shape):
        raise InputError(f"input {spec.name!r}: expected rank {len(spec.shape)} (shape {spec.shape}, batch first), "
                         f"got rank {a.ndim} (shape {a.shape})")
    for axis, (want, got) in enumerate(zip(spec.shape, a.shape)):
        if want is not None and want != got:
            raise InputError(f"input {spec.name!r}: axis {axis} expected size {want}, got {got} (expected shape "
                             f"{spec.shape}, got {a.shape})")


CACHE_BUDGET = 2 << 20  # bytes of the largest intermediate per internal pass (about one core's L2)


def _sample_bytes(shape):
    """Bytes of one batch row of a tensor of ``shape`` (None for an unknown dimension)."""
    size = 4
    for d in shape[1:]:
        if d is None:
            return None
        size *= d
    return size


def _auto_chunk(shapes):
    """Rows per internal pass so the largest intermediate of one pass fits ``CACHE_BUDGET`` (no limit if unknown)."""
    largest = 0
    for shape in shapes:
        if any(d is None for d in shape[1:]):
            return 1 << 62
        size = 4
        for d in shape[1:]:
            size *= d
        largest = max(largest, size)
    return max(1, CACHE_BUDGET // max(largest, 1))


class Model:
    """A model ready to predict. Build it with ``keraslite.runtime.load`` or ``load_spec``.

    ``predict`` may be called from several threads at once: the plan is read-only and every call uses its own
    intermediate arrays.
    """

    def __init__(self, spec):
        self.spec = spec
        self.name = spec.name
        _alloc.tune()
        self.plan = plan_mod.build(spec)
        p = self.plan
        in_layers = spec.input_layers
        self.inputs: List[TensorSpec] = [
            TensorSpec(layer.name, p.shapes[s], str(layer.config.get("dtype") or "float32"))
            for layer, s in zip(in_layers, p.input_slots)]
        self.outputs: List[TensorSpec] = [TensorSpec(ref.layer, p.shapes[s], "float32")
                                          for ref, s in zip(spec.outputs, p.output_slots)]
        self._chunk = _auto_chunk(p.shapes)
        # Largest per-row intermediate of each step onwards: from the first step whose suffix fits the cache budget
        # at the whole batch, the rest runs once on the whole batch (weights read once, not once per pass).
        self._tail_rows = []
        worst = 0
        for fn, ins, outs in reversed(p.steps):
            sizes = [_sample_bytes(p.shapes[s]) for s in ins + outs]
            worst = None if worst is None or None in sizes else max([worst] + sizes)
            self._tail_rows.append(1 << 62 if worst is None else CACHE_BUDGET // max(worst, 1))
        self._tail_rows.reverse()  # _tail_rows[k]: the batch size steps[k:] can take in one pass
        self._splits = {}  # batch size -> (first whole-batch step, slots carried across)
        self._valid = set()  # input shapes that passed _check (single-input models); sets are safe to share
        self._casts = [STRING if spec.dtype == "string" else np.int64 if spec.dtype.startswith(("int", "uint"))
                       else np.float32 for spec in self.inputs]
        # Steps specialised once so the predict loop does no per-call inspection.
        # Each step also names the slots it reads for the last time: dropping them right away lets the allocator
        # hand the same (cache-warm) memory to the next steps instead of touching fresh memory at every layer.
        last = {}
        for i, (_, ins, _) in enumerate(p.steps):
            for slot in ins:
                last[slot] = i
        keep = set(p.output_slots)
        done = [tuple(s for s in dict.fromkeys(ins) if last[s] == i and s not in keep)
                for i, (_, ins, _) in enumerate(p.steps)]
        self._steps = [(fn, ins[0] if len(ins) == 1 else ins, outs[0] if len(outs) == 1 else outs,
                        len(ins) == 1, len(outs) == 1, done[i]) for i, (fn, ins, outs) in enumerate(p.steps)]

    def __repr__(self):
        return f"<keraslite.runtime.Model {self.name!r}: {len(self.inputs)} input(s), {len(self.outputs)} output(s)>"

    def predict(self, x, batch_size=None):
        """Run the model.

        Args:
            x: an array (one input), a list of arrays in model input order, or a dict ``{input name: array}``.
            batch_size: rows per internal pass; None picks a pass size that keeps intermediates cache-sized.
        Returns:
            An array for a one-output model, else a list of arrays in model output order.
        Raises:
            InputError: a missing input, or a wrong rank, shape or dtype (the message names input and axis).

        Example::

            m = keraslite.runtime.load("model.h5")
            y = m.predict(np.zeros((1, 28, 28), np.float32))
        """
        if type(x) is np.ndarray and len(self.inputs) == 1:  # the common case, without the list/dict handling
            if x.shape in self._valid and x.dtype == self._casts[0] and x.flags.c_contiguous:
                arrays = [x]  # a shape already checked once, in the dtype and layout the plan runs on
            else:
                arrays = [self._check(self.inputs[0], x, self._casts[0])]
                if len(self._valid) < 64:
                    self._valid.add(arrays[0].shape)
        else:
            arrays = self._arrange(x)
        n = arrays[0].shape[0] if arrays[0].ndim else 1
        if batch_size is None and n > self._chunk:
            return self._run_split(arrays, n)  # cache-sized passes where intermediates are large
        if batch_size is None or batch_size >= n:
            outs = self._run(arrays)
        else:
            if int(batch_size) < 1:
                raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
            parts = [self._run([a[i:i + batch_size] for a in arrays]) for i in range(0, n, int(batch_size))]
            outs = [np.concatenate(chunk, axis=0) for chunk in zip(*parts)]
        return outs[0] if len(outs) == 1 else outs

    def __call__(self, x):
        return self.predict(x)

    def _split(self, n):
        """(k, slots): steps[:k] run in passes of ``_chunk`` rows, steps[k:] once on all ``n`` rows, reading
        ``slots`` (the carried tensors, concatenated) from the passes."""
        got = self._splits.get(n)
        if got is None:
            k = next((i for i, rows in enumerate(self._tail_rows) if rows >= n), len(self._tail_rows))
            made = {s for _, _, outs in self.plan.steps[k:] for s in outs}
            read = {s for _, ins, _ in self.plan.steps[k:] for s in ins} | set(self.plan.output_slots)
            got = (k, sorted(read - made))
            if len(self._splits) < 64:
                self._splits[n] = got
        return got

    def _run_split(self, arrays, n):
        """The batch in cache-sized passes through the steps with large intermediates, then at once."""
        k, carried = self._split(n)
        step = self._chunk
        parts = [self._run([a[i:i + step] for a in arrays], stop=k, keep=carried) for i in range(0, n, step)]
        vals = [None] * self.plan.n_slots
        for j, s in enumerate(carried):
            vals[s] = np.concatenate([part[j] for part in parts], axis=0)
        outs = self._run(None, start=k, vals=vals)
        return outs[0] if len(outs) == 1 else outs

    def _run(self, arrays, start=0, stop=None, keep=None, vals=None):
        """Steps ``[start, stop)`` on ``arrays`` (or on ``vals``, the slots so far); returns the model's outputs,
        or the slots in ``keep`` when given."""
        if vals is None:
            vals = [None] * self.plan.n_slots
            for s, a in zip(self.plan.input_slots, arrays):
                vals[s] = a
        steps = self._steps if start == 0 and stop is None else self._steps[start:stop]
        for fn, ins, outs, one_in, one_out, done in steps:
            if one_in:
                result = fn(vals[ins])
            else:
                result = fn(*[vals[i] for i in ins])
            for s in done:
                vals[s] = None
            if one_out:
                vals[outs] = result
            else:
                for s, v in zip(outs, result):
                    vals[s] = v
        return [vals[s] for s in (self.plan.output_slots if keep is None else keep)]

    def _arrange(self, x):
        """The inputs as a validated list of arrays in model order."""
        names = [spec.name for spec in self.inputs]
        if isinstance(x, dict):
            missing = [n for n in names if n not in x]
            extra = [k for k in x if k not in names]
            if missing or extra:
                raise InputError(f"model {self.name!r}: inputs by name: missing {missing}, unexpected {extra}; "
                                 f"expected names {names}")
            items = [x[n] for n in names]
        elif isinstance(x, (list, tuple)) and len(names) > 1:
            if len(x) != len(names):
                raise InputError(f"model {self.name!r}: got {len(x)} inputs, expected {len(names)} ({names})")
            items = list(x)
        elif isinstance(x, (list, tuple)) and len(x) == 1 and not np.isscalar(x[0]) and np.ndim(x[0]) == len(
                self.inputs[0].shape):
            items = [x[0]]
        else:
            if len(names) > 1:
                raise InputError(f"model {self.name!r} has {len(names)} inputs {names}: pass a list or a dict, "
                                 f"got one array")
            items = [x]
        out = [self._check(spec, item, cast) for spec, item, cast in zip(self.inputs, items, self._casts)]
        if len({a.shape[0] for a in out}) > 1:
            raise InputError(f"model {self.name!r}: inputs have different batch sizes "
                             f"{[a.shape[0] for a in out]}, expected one batch size")
        return out

    @staticmethod
    def _check(spec, item, cast):
        """``item`` as a C-contiguous array of the input's dtype, after rank, shape and dtype checks."""
        if cast is STRING:
            return _check_strings(spec, item)
        fast = type(item) is np.ndarray and item.flags.c_contiguous and (
            item.dtype == cast or (cast is np.int64 and item.dtype == np.int32))
        if fast:
            a = item  # no copy: shape checks below still run
        else:
            try:
                a = np.asarray(item)
            except (ValueError, TypeError) as exc:
                raise InputError(f"input {spec.name!r}: cannot be read as an array ({exc})") from None
            if a.dtype.kind not in "biuf":
                raise InputError(f"input {spec.name!r}: expected a numeric array ({spec.dtype}), got dtype {a.dtype}")
        _check_shape(spec, a)
        return a if fast else np.ascontiguousarray(a, dtype=cast)

    def summary(self) -> str:
        """A Keras-like table: layer name, class, output shape, params; then the totals."""
        rows = [(name, cls, ", ".join(str(tuple(s)) for s in shapes) or "-", f"{params:,}")
                for name, cls, shapes, params in self.plan.layer_rows]
        head = ("Layer", "Class", "Output shape", "Params")
        widths = [max(len(r[i]) for r in rows + [head]) for i in range(4)]
        line = "  ".join("{:<%d}" % w for w in widths[:3]) + "  {:>%d}" % widths[3]
        total = sum(int(w.size) for _, _, w in self.spec.iter_weights())
        out = [f'Model: "{self.name}"', line.format(*head), "-" * (sum(widths) + 6)]
        out += [line.format(*r) for r in rows]
        out += ["-" * (sum(widths) + 6), f"Total params: {total:,}"]
        return "\n".join(out)
