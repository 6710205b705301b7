"""Shape primitives and their VJPs: reshape, transpose, slicing and gathering, joining and splitting, padding."""
from __future__ import annotations

import numpy as np

from .core import primitive, shape_of, unbroadcast


def _inverse(perm):
    return tuple(np.argsort(perm))


def _getitem_vjp(g, a, x, index):
    out = np.zeros(np.shape(x), g.dtype)
    np.add.at(out, index, g) if _has_array_index(index) else out.__setitem__(index, g)
    return out


def _has_array_index(index):
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, (np.ndarray, list)) for i in items)


def _take_vjp(g, a, x, indices, axis=None):
    out = np.zeros(np.shape(x), g.dtype)
    if axis is None:
        np.add.at(out.reshape(-1), np.asarray(indices).reshape(-1), g.reshape(-1))
        return out
    axis = axis % np.ndim(x)
    idx = np.asarray(indices)
    if axis == 0 and out.ndim > 1:
        # rows gathered (Embedding): scatter-add every element by its flat position, numpy's fast 1-D path
        # (several times faster than np.add.at over rows, and the same sums in the same order)
        width = int(np.prod(out.shape[1:]))
        flat = (idx.reshape(-1, 1).astype(np.intp) * width + np.arange(width)).reshape(-1)
        np.add.at(out.reshape(-1), flat, g.reshape(-1))
        return out
    moved = np.moveaxis(out, axis, 0)  # a view: adding into it fills out
    gm = np.moveaxis(g, list(range(axis, axis + idx.ndim)), list(range(idx.ndim)))
    np.add.at(moved, idx.reshape(-1), gm.reshape((-1,) + moved.shape[1:]))
    return out


def _take_along_vjp(g, a, x, indices, axis):
    out = np.zeros(np.shape(x), g.dtype)
    full = np.indices(np.shape(indices), sparse=True)
    full = list(full)
    full[axis % np.ndim(x)] = indices
    np.add.at(out, tuple(full), g)
    return out


def _concat_joint(g, a, needs, *xs, axis=0):
    splits = np.cumsum([np.shape(x)[axis] for x in xs])[:-1]
    parts = np.split(g, splits, axis=axis)
    return [p if n else None for p, n in zip(parts, needs)]


def _stack_joint(g, a, needs, *xs, axis=0):
    parts = np.moveaxis(g, axis, 0)
    return [parts[i] if n else None for i, n in enumerate(needs)]


def _split_fwd(x, indices_or_sections, axis=0):
    return tuple(np.split(x, indices_or_sections, axis=axis))


def _split_vjp(g, a, x, indices_or_sections, axis=0):
    parts = [np.zeros(o.shape, x.dtype) if gi is None else gi for gi, o in zip(g, a)]
    return np.concatenate(parts, axis=axis)


def _pad_vjp(g, a, x, pad_width, mode="constant", constant_values=0):
    index = tuple(slice(lo, g.shape[i] - hi) for i, (lo, hi) in enumerate(pad_width))
    return g[index]


def _tile_vjp(g, a, x, reps):
    shape = np.shape(x)
    reps = (1,) * (len(shape) - len(reps)) + tuple(reps)
    shape = (1,) * (len(reps) - len(shape)) + tuple(shape)
    split = [d for pair in zip(reps, shape) for d in pair]
    summed = g.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
    return summed.reshape(np.shape(x))


def _repeat_vjp(g, a, x, repeats, axis=None):
    if axis is None:
        return g.reshape(-1, repeats).sum(axis=1).reshape(np.shape(x)) if np.isscalar(repeats) else None
    axis = axis % np.ndim(x)
    shape = list(np.shape(x))
    if np.isscalar(repeats):
        return g.reshape(shape[:axis] + [shape[axis], repeats] + shape[axis + 1:]).sum(axis=axis + 1)
    bounds = np.cumsum(repeats)[:-1]
    return np.stack([p.sum(axis=axis) for p in np.split(g, bounds, axis=axis)], axis=axis)


reshape = primitive("reshape", lambda x, shape: np.reshape(x, shape), lambda g, a, x, shape: g.reshape(np.shape(x)))
transpose = primitive("transpose", lambda x, axes=None: np.transpose(x, axes),
                      lambda g, a, x, axes=None: np.transpose(g, None if axes is None else _inverse(axes)))
expand_dims = primitive("expand_dims", lambda x, axis: np.expand_dims(x, axis),
                        lambda g, a, x, axis: g.reshape(np.shape(x)))
squeeze = primitive("squeeze", lambda x, axis=None: np.squeeze(x, axis),
                    lambda g, a, x, axis=None: g.reshape(np.shape(x)))
broadcast_to = primitive("broadcast_to", lambda x, shape: np.broadcast_to(x, shape),
                         lambda g, a, x, shape: unbroadcast(g, np.shape(x)))
getitem = primitive("getitem", lambda x, index: x[index], _getitem_vjp)
take = primitive("take", lambda x, indices, axis=None: np.take(x, indices, axis=axis), _take_vjp)
take_along_axis = primitive("take_along_axis", lambda x, indices, axis: np.take_along_axis(x, indices, axis),
                            _take_along_vjp)
concatenate = primitive("concatenate", lambda *xs, axis=0: np.concatenate(xs, axis=axis), joint=_concat_joint)
stack = primitive("stack", lambda *xs, axis=0: np.stack(xs, axis=axis), joint=_stack_joint)
split = primitive("split", _split_fwd, _split_vjp, n_out=-1)
pad = primitive("pad", lambda x, pad_width, mode="constant", constant_values=0: np.pad(
    x, pad_width, mode=mode, **({"constant_values": constant_values} if mode == "constant" else {})), _pad_vjp)
tile = primitive("tile", lambda x, reps: np.tile(x, reps), _tile_vjp)
repeat = primitive("repeat", lambda x, repeats, axis=None: np.repeat(x, repeats, axis=axis), _repeat_vjp)
flip = primitive("flip", lambda x, axis=None: np.flip(x, axis), lambda g, a, x, axis=None: np.flip(g, axis))


def num_outputs(x, indices_or_sections, axis=0) -> int:
    """How many arrays ``split`` returns."""
    return indices_or_sections if np.isscalar(indices_or_sections) else len(indices_or_sections) + 1


__all__ = ["reshape", "transpose", "expand_dims", "squeeze", "broadcast_to", "getitem", "take", "take_along_axis",
           "concatenate", "stack", "split", "pad", "tile", "repeat", "flip", "shape_of"]
