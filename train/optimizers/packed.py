"""Small models on the numpy forms: one rule call over all variables at once instead of one per variable.

A numpy rule costs about a dozen ufunc calls whatever the size, so for a model of a few thousand parameters the
calls, not the arithmetic, are the step. Packing keeps every slot of one kind in one block (the slot Variables
become views into it), copies the gradients and the weights into two more blocks, runs the rule once and copies
the weights back: about three copies per variable instead of a dozen ufuncs. The rules are elementwise, so the
numbers are the ones the per-variable calls give. Only for the numpy forms and small models (a compiled rule is
cheaper per variable than the copies, and for big models the copies cost memory traffic).
"""
from __future__ import annotations

import numpy as np

# rules of two to four ufuncs: three copies per variable cost more than they save
FEW_UFUNCS = ("sgd", "momentum")


class Packed:
    """The blocks of one optimizer: gradients, weights, and one per slot kind."""

    def __init__(self, opt, slot_lists):
        variables = opt._trainable_variables
        dtype = variables[0]._v.dtype
        sizes = [v._v.size for v in variables]
        ends = np.cumsum(sizes).tolist()
        bounds = list(zip([0] + ends[:-1], ends))
        total = ends[-1]
        self.g, self.w = np.empty(total, dtype), np.empty(total, dtype)
        self.g_views = [self.g[a:b] for a, b in bounds]
        self.w_views = [self.w[a:b] for a, b in bounds]
        self.blocks = []
        for slots in slot_lists:
            if not slots:
                self.blocks.append(np.empty(0, dtype))
                continue
            block = np.empty(total, dtype)
            for slot, (a, b) in zip(slots, bounds):
                block[a:b] = slot._v.reshape(-1)
                slot._v = block[a:b].reshape(slot._v.shape)  # the optimizer's own state: it lives in the block now
            self.blocks.append(block)
        self.count = len(variables)

    def run(self, opt, rule, pairs, c):
        """Update every variable with one ``rule`` call; False (nothing done) unless all have a gradient."""
        if len(pairs) != self.count:
            return False
        flats, g_views, w_views = opt._flats, self.g_views, self.w_views
        for i, g in pairs:
            np.copyto(g_views[i], g)
            np.copyto(w_views[i], flats[i])
        rule(self.g, c, self.w, *self.blocks)
        for i in range(self.count):
            np.copyto(flats[i], w_views[i])
        return True


def make(opt, slot_lists, parameters):
    """A ``Packed`` for ``opt`` when it pays (numpy forms, one dtype, several small variables), else None."""
    from .kernels import NUMBA_MIN_PARAMETERS

    variables = opt._trainable_variables
    if (not opt._fused or opt._numba or opt._kernel in FEW_UFUNCS or opt._dtype is None or len(variables) < 2
            or parameters > NUMBA_MIN_PARAMETERS):
        return None
    if any(slots and any(s is None for s in slots) for slots in slot_lists):
        return None  # a variable without slots (overwrite_with_gradient): keep the per-variable calls
    return Packed(opt, slot_lists)


__all__ = ["Packed", "make"]
