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
        self._casts = [STRING if spec.dtype == "string" else np.int64 if spec.dtype.startswith(("int", "uint"))
                       else np.float32 for spec in self.inputs]
        # Steps specialised once so the predict loop does no per-call inspection.
        self._steps = [(fn, ins[0] if len(ins) == 1 else ins, outs[0] if len(outs) == 1 else outs,
                        len(ins) == 1, len(outs) == 1) for fn, ins, outs in p.steps]

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
            arrays = [self._check(self.inputs[0], x, self._casts[0])]
        else:
            arrays = self._arrange(x)
        n = arrays[0].shape[0] if arrays[0].ndim else 1
        if batch_size is None and n > self._chunk:
            batch_size = self._chunk  # cache-sized passes: intermediates stay in L2 between layers
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

    def _run(self, arrays):
        vals = [None] * self.plan.n_slots
        for s, a in zip(self.plan.input_slots, arrays):
            vals[s] = a
        for fn, ins, outs, one_in, one_out in self._steps:
            if one_in:
                result = fn(vals[ins])
            else:
                result = fn(*[vals[i] for i in ins])
            if one_out:
                vals[outs] = result
            else:
                for s, v in zip(outs, result):
                    vals[s] = v
        return [vals[s] for s in self.plan.output_slots]

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
