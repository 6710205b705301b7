"""Linear-algebra primitives and their VJPs: matmul (batched, broadcasting), einsum, tensordot."""
from __future__ import annotations

import string

import numpy as np

from ...errors import KerasliteError
from .core import primitive, unbroadcast


def _swap(x):
    return np.swapaxes(x, -1, -2)


matmul = primitive("matmul", np.matmul,
                   lambda g, a, x, y: unbroadcast(np.matmul(g, _swap(y)), np.shape(x)),
                   lambda g, a, x, y: unbroadcast(np.matmul(_swap(x), g), np.shape(y)))


def _explicit(subscripts: str, shapes):
    """``subscripts`` with ``...`` spelled out and the output written: ``(["ij", "jk"], "ik")``."""
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        inputs, output = subscripts.split("->")
    else:
        inputs, output = subscripts, None
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise KerasliteError(f"einsum {subscripts!r} names {len(terms)} operands, got {len(shapes)}")
    used = set(subscripts) - set(".,->")
    spare = [c for c in string.ascii_letters if c not in used]
    ell_rank = max((len(s) - len(t.replace("...", "")) for t, s in zip(terms, shapes) if "..." in t), default=0)
    ell = "".join(spare[:ell_rank])
    out_terms = []
    for term, shape in zip(terms, shapes):
        if "..." in term:
            n = len(shape) - len(term.replace("...", ""))
            term = term.replace("...", ell[ell_rank - n:])
        out_terms.append(term)
    if output is None:
        counts = {c: "".join(out_terms).count(c) for c in set("".join(out_terms))}
        output = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    else:
        output = output.replace("...", ell)
    return out_terms, output


def _einsum_fwd(*operands, subscripts):
    return np.einsum(subscripts, *operands, optimize=len(operands) > 2)


def _einsum_joint(g, a, needs, *operands, subscripts):
    terms, output = _explicit(subscripts, [np.shape(o) for o in operands])
    grads = []
    for k, need in enumerate(needs):
        if not need:
            grads.append(None)
            continue
        term = terms[k]
        if len(set(term)) != len(term):
            raise KerasliteError(f"einsum {subscripts!r}: gradients through repeated indices in one operand "
                                 "(diagonals) are not supported")
        others = [t for i, t in enumerate(terms) if i != k]
        available = set(output) | set("".join(others))
        present = "".join(c for c in term if c in available)
        spec = ",".join([output] + others) + "->" + present
        part = np.einsum(spec, g, *[o for i, o in enumerate(operands) if i != k], optimize=True)
        if present != term:  # indices only this operand has were summed out: the gradient is constant along them
            shape = [np.shape(operands[k])[term.index(c)] if c in present else 1 for c in term]
            order = [present.index(c) for c in term if c in present]
            part = np.transpose(part, order).reshape(shape)
            part = np.broadcast_to(part, np.shape(operands[k]))
        grads.append(part)
    return grads


einsum = primitive("einsum", _einsum_fwd, joint=_einsum_joint)


def _tensordot_fwd(x, y, axes=2):
    return np.tensordot(x, y, axes)


def _tensordot_axes(x, y, axes):
    if isinstance(axes, int):
        return list(range(np.ndim(x) - axes, np.ndim(x))), list(range(axes))
    ax, ay = axes
    ax = [ax] if isinstance(ax, int) else list(ax)
    ay = [ay] if isinstance(ay, int) else list(ay)
    return [a % np.ndim(x) for a in ax], [a % np.ndim(y) for a in ay]


def _tensordot_joint(g, a, needs, x, y, axes=2):
    ax, ay = _tensordot_axes(x, y, axes)
    fx = [i for i in range(np.ndim(x)) if i not in ax]
    fy = [i for i in range(np.ndim(y)) if i not in ay]
    gx = gy = None
    if needs[0]:
        gx = np.tensordot(g, y, axes=(list(range(len(fx), len(fx) + len(fy))), fy))
        gx = np.transpose(gx, np.argsort(fx + [ax[ay.index(j)] for j in sorted(ay)]))
    if needs[1]:
        gy = np.tensordot(x, g, axes=(fx, list(range(len(fx)))))
        gy = np.transpose(gy, np.argsort([ay[ax.index(i)] for i in sorted(ax)] + fy))
    return gx, gy


tensordot = primitive("tensordot", _tensordot_fwd, joint=_tensordot_joint)

__all__ = ["matmul", "einsum", "tensordot"]
