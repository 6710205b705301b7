"""Linear-algebra primitives and their VJPs: matmul (batched, broadcasting), einsum, tensordot."""
from __future__ import annotations

import string

import numpy as np

from ...errors import KerasliteError
from . import native
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


def _pair_matmul(terms, output, x, y):
    """A two-operand einsum as one batched matmul (numpy's einsum loops in C without BLAS), or None when it is
    not a plain contraction (an index repeated in an operand, or summed in one operand only)."""
    a, b = terms
    if len(set(a)) != len(a) or len(set(b)) != len(b) or len(set(output)) != len(output):
        return None
    batch = [c for c in a if c in b and c in output]
    summed = [c for c in a if c in b and c not in output]
    free_a = [c for c in a if c not in b]
    free_b = [c for c in b if c not in a]
    if any(c not in output for c in free_a + free_b) or set(output) != set(batch + free_a + free_b):
        return None
    size = {**dict(zip(a, np.shape(x))), **dict(zip(b, np.shape(y)))}

    def prod(chars):
        return int(np.prod([size[c] for c in chars], dtype=np.int64))

    out = _compiled_pair(x, y, a, b, batch, summed, free_a, free_b, output, size, prod)
    if out is not None:
        return out
    xm = np.transpose(x, [a.index(c) for c in batch + free_a + summed]).reshape(
        prod(batch), prod(free_a), prod(summed))
    ym = np.transpose(y, [b.index(c) for c in batch + summed + free_b]).reshape(
        prod(batch), prod(summed), prod(free_b))
    out = np.matmul(xm, ym).reshape([size[c] for c in batch + free_a + free_b])
    order = batch + free_a + free_b
    return np.transpose(out, [order.index(c) for c in output])


# A read transposed is re-gathered by each of the kernel's panel tasks; beyond this many floats (the Gram matrix's
# C x HW activations) BLAS's transposed product is faster.
TRANSPOSED_A_MAX = 1 << 17


def _compiled_pair(x, y, a, b, batch, summed, free_a, free_b, output, size, prod):
    """A large float32 contraction on the compiled GEMM, per batch element, in the orientation whose operands are
    views (no transposed copy: ``A`` read as it lies or transposed, ``B`` with any strides) and, of those, the one
    whose result is already in the output's order: the gradient of style transfer's Gram matrix
    ``bijc,bijd->bcd`` (``bcd,bijd->bijc``) reads the activation in place and comes out as ``bijc``, no copy either
    way. None when no orientation fits (then numpy's batched matmul)."""
    nb, m, k, n = prod(batch), prod(free_a), prod(summed), prod(free_b)
    if x.dtype != np.float32 or y.dtype != np.float32 or not native.usable(nb * m * k * n, x, y):
        return None

    def matrices(arr, term, first, second):  # (nb, first, second) as a view of arr, or None
        view = np.transpose(arr, [term.index(c) for c in batch + first + second])
        flat = view.reshape(nb, prod(first), prod(second))
        return flat if np.may_share_memory(flat, arr) else None

    # (the left operand, its indices, the right one, its indices, the result's index order)
    orientations = [(x, a, free_a, y, b, free_b), (y, b, free_b, x, a, free_a)]
    orientations.sort(key=lambda o: batch + o[2] + o[5] != list(output))  # the one giving the output's order first
    for left, lterm, lfree, right, rterm, rfree in orientations:
        rows, cols = prod(lfree), prod(rfree)
        if not native.matmul_usable(rows, k, cols):
            continue
        bm = matrices(right, rterm, summed, rfree)
        if bm is None:
            continue
        am, trans = matrices(left, lterm, lfree, summed), 0
        if (am is None or not am[0].flags.c_contiguous) and rows * k <= TRANSPOSED_A_MAX:
            am, trans = matrices(left, lterm, summed, lfree), 1
        if am is None or not am[0].flags.c_contiguous:
            continue
        parts = [native.matmul_t(am[i], bm[i]) if trans else native.matmul(am[i], bm[i]) for i in range(nb)]
        out = parts[0][None] if nb == 1 else np.stack(parts)
        order = batch + lfree + rfree
        out = out.reshape([size[c] for c in order])
        return np.transpose(out, [order.index(c) for c in output])
    return None


def _einsum_fwd(*operands, subscripts):
    if len(operands) == 2:
        terms, output = _explicit(subscripts, [np.shape(o) for o in operands])
        out = _pair_matmul(terms, output, *operands)
        if out is not None:
            return out
    return np.einsum(subscripts, *operands, optimize=len(operands) > 2)


def _self_pair_swap(terms, output):
    """For an einsum of one array with itself whose second term is the first with some indices swapped (the Gram
    matrix ``bijc,bijd->bcd``: c and d), the output axes under that swap; else None. The second operand's gradient
    is then the first one's for the output gradient transposed so: one product instead of two and no sum."""
    if len(terms) != 2 or len(terms[0]) != len(terms[1]):
        return None
    swap = {}
    for p, q in zip(*terms):  # position by position; an index may only pair with one other, both ways
        if swap.setdefault(p, q) != q or swap.setdefault(q, p) != p:
            return None
    swapped = "".join(swap.get(c, c) for c in output)
    return [swapped.index(c) for c in output] if sorted(swapped) == sorted(output) else None


def _einsum_joint(g, a, needs, *operands, subscripts):
    terms, output = _explicit(subscripts, [np.shape(o) for o in operands])
    if len(operands) == 2 and operands[0] is operands[1] and all(needs):
        axes = _self_pair_swap(terms, output)
        if axes is not None:
            both = g + np.transpose(g, axes)
            return [_einsum_joint(both, a, [True, False], *operands, subscripts=subscripts)[0], None]
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
        rest = [o for i, o in enumerate(operands) if i != k]
        part = _pair_matmul([output] + others, present, g, *rest) if len(rest) == 1 else None
        if part is None:
            part = np.einsum(spec, g, *rest, optimize=True)
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
