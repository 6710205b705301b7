"""Building blocks of the fused recurrent primitives: activations with their derivatives, and the two matrix
products of a recurrent layer (the input projection for every step at once, the per-step recurrent product), each
with the dropout masks Keras applies to them.

Arrays are time-major inside the primitives: ``(T, N, ...)``, so every step reads and writes contiguous rows.
"""
from __future__ import annotations

import numpy as np

from ...errors import KerasliteError
from . import elementwise as E
from .native import product


# ------------------------------------------------------------------------------------------------ activations
def _linear(z, out):
    np.copyto(out, z)


def _tanh(z, out):
    np.tanh(z, out=out)


def _sigmoid(z, out):
    # 0.5 * tanh(z / 2) + 0.5: one transcendental pass and no overflow for very negative z
    np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5


def _relu(z, out):
    np.maximum(z, 0, out=out)


def _from_primitive(prim, **params):
    def fwd(z, out):
        np.copyto(out, prim.fwd(z, **params))
    return fwd


# name -> (forward into ``out``, derivative from the output y alone, or None when it needs the input z)
_ACTIVATIONS = {
    "linear": (_linear, lambda y: np.ones_like(y)),
    "tanh": (_tanh, lambda y: 1 - y * y),
    "sigmoid": (_sigmoid, lambda y: y * (1 - y)),
    "relu": (_relu, lambda y: (y > 0).astype(y.dtype)),
    "relu6": (_from_primitive(E.relu6), lambda y: ((y > 0) & (y < 6)).astype(y.dtype)),
    "hard_sigmoid": (_from_primitive(E.hard_sigmoid), lambda y: ((y > 0) & (y < 1)) * y.dtype.type(1 / 6)),
    "hard_sigmoid_keras2": (_from_primitive(E.hard_sigmoid_keras2), lambda y: ((y > 0) & (y < 1)) * y.dtype.type(0.2)),
    "exponential": (_from_primitive(E.exp), lambda y: y),
    "elu": (_from_primitive(E.elu, alpha=1.0), lambda y: np.where(y > 0, 1, y + 1).astype(y.dtype)),
    "softplus": (_from_primitive(E.softplus), lambda y: -np.expm1(-y)),
    "softsign": (_from_primitive(E.softsign), lambda y: np.square(1 - np.abs(y))),
}
# Activations whose derivative needs the pre-activation: the elementwise primitive and its VJP.
_BY_INPUT = {"selu": (E.selu, {}), "swish": (E.silu, {}), "silu": (E.silu, {}),
             "gelu": (E.gelu, {"approximate": False}), "mish": (E.mish, {}), "hard_silu": (E.hard_silu, {}),
             "hard_swish": (E.hard_silu, {}), "leaky_relu": (E.leaky_relu, {"negative_slope": 0.2})}
SUPPORTED = tuple(sorted(set(_ACTIVATIONS) | set(_BY_INPUT)))


class Activation:
    """One activation by name: ``act(z, out)`` writes it, ``deriv(y, z)`` gives dy/dz (z only when needed)."""

    __slots__ = ("name", "forward", "_from_y", "_prim", "_params", "needs_input")

    def __init__(self, name: str):
        self.name = name
        if name in _ACTIVATIONS:
            self.forward, self._from_y = _ACTIVATIONS[name]
            self._prim, self._params, self.needs_input = None, {}, False
        elif name in _BY_INPUT:
            self._prim, self._params = _BY_INPUT[name]
            self.forward, self._from_y = _from_primitive(self._prim, **self._params), None
            self.needs_input = True
        else:
            raise KerasliteError(f"recurrent layers cannot use activation {name!r}; supported: "
                                 f"{', '.join(SUPPORTED)}")

    def __call__(self, z, out):
        self.forward(z, out)

    def deriv(self, y, z=None):
        if self._from_y is not None:
            return self._from_y(y)
        return self._prim.vjps[0](np.ones_like(y), y, z, **self._params)


_cache = {}


def activation(name: str) -> Activation:
    """The (shared) ``Activation`` for ``name``."""
    act = _cache.get(name)
    if act is None:
        act = _cache[name] = Activation(name)
    return act


# ------------------------------------------------------------------------------------------------ products
def per_gate(mask, gates):
    """A dropout mask as (count, N, d): one mask shared by every gate (count 1) or one per gate."""
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.ndim == 2:
        mask = mask[None]
    if mask.shape[0] not in (1, gates):
        raise KerasliteError(f"a recurrent dropout mask needs 1 or {gates} gate masks, got {mask.shape[0]}")
    return mask


class Projection:
    """``x @ kernel`` for every step at once (one GEMM), with Keras' input dropout masks."""

    def __init__(self, x, kernel, dropout, gates):
        self.x, self.kernel, self.gates = x, kernel, gates
        self.dp = per_gate(dropout, gates)
        self.units = kernel.shape[1] // gates

    def _inputs(self, k=0):
        """The (dropped-out) inputs gate ``k`` sees, flattened to (T*N, F)."""
        x = self.x if self.dp is None else self.x * self.dp[k]
        return x.reshape(-1, x.shape[-1])

    def forward(self, out=None):
        """(T, N, G), into ``out`` (T*N, G) when given."""
        t, n = self.x.shape[:2]
        if self.dp is None or self.dp.shape[0] == 1:
            return product(self._inputs(), self.kernel, out=out).reshape(t, n, -1)
        out = np.empty((t * n, self.kernel.shape[1]), self.x.dtype) if out is None else out
        u = self.units
        for k in range(self.gates):
            np.matmul(self._inputs(k), self.kernel[:, k * u:(k + 1) * u], out=out[:, k * u:(k + 1) * u])
        return out.reshape(t, n, -1)

    def kernel_grad(self, dz):
        d2 = dz.reshape(-1, dz.shape[-1])
        if self.dp is None or self.dp.shape[0] == 1:
            return product(self._inputs().T, d2)
        u = self.units
        return np.concatenate([np.matmul(self._inputs(k).T, d2[:, k * u:(k + 1) * u]) for k in range(self.gates)],
                              axis=1)

    def input_grad(self, dz):
        d2 = dz.reshape(-1, dz.shape[-1])
        shape = self.x.shape
        if self.dp is None or self.dp.shape[0] == 1:
            gx = product(d2, self.kernel.T).reshape(shape)
            return gx if self.dp is None else gx * self.dp[0]
        u = self.units
        gx = np.zeros(shape, self.x.dtype)
        for k in range(self.gates):
            gx += np.matmul(d2[:, k * u:(k + 1) * u], self.kernel[:, k * u:(k + 1) * u].T).reshape(shape) * \
                self.dp[k]
        return gx


class Recurrence:
    """``h @ recurrent_kernel`` one step at a time, with Keras' recurrent dropout masks (one, or one per gate).

    ``kernel`` may be a column block of the recurrent kernel (``gates`` gate blocks of ``units`` columns).
    """

    def __init__(self, kernel, dropout, gates):
        self.kernel, self.gates = kernel, gates
        self.units = kernel.shape[1] // gates
        self.rdp = per_gate(dropout, gates)
        self.kernel_t = np.ascontiguousarray(kernel.T)
        if self.rdp is not None and self.rdp.shape[0] > 1:
            u = self.units
            self._blocks = np.stack([kernel[:, k * u:(k + 1) * u] for k in range(gates)])      # (G, u_in, u)
            self._blocks_t = np.ascontiguousarray(self._blocks.transpose(0, 2, 1))

    def forward(self, h, out):
        """``out = (h * mask) @ kernel``."""
        if self.rdp is None:
            np.matmul(h, self.kernel, out=out)
        elif self.rdp.shape[0] == 1:
            np.matmul(h * self.rdp[0], self.kernel, out=out)
        else:
            per = np.matmul(h[None] * self.rdp, self._blocks)                                  # (G, N, u)
            out.reshape(out.shape[0], self.gates, self.units)[...] = per.transpose(1, 0, 2)

    def backward(self, dm):
        """Gradient with respect to ``h`` of ``forward``, given the gradient ``dm`` of its output."""
        if self.rdp is None:
            return np.matmul(dm, self.kernel_t)
        if self.rdp.shape[0] == 1:
            return np.matmul(dm, self.kernel_t) * self.rdp[0]
        n = dm.shape[0]
        per = np.matmul(dm.reshape(n, self.gates, self.units).transpose(1, 0, 2), self._blocks_t)
        return np.einsum("gnu,gnu->nu", per, self.rdp)

    def kernel_grad(self, hs, dm):
        """Gradient of the kernel, from the inputs ``hs`` (T, N, u_in) of every step and output gradients ``dm``."""
        d2 = dm.reshape(-1, dm.shape[-1])
        if self.rdp is None or self.rdp.shape[0] == 1:
            h = hs if self.rdp is None else hs * self.rdp[0]
            return product(h.reshape(-1, h.shape[-1]).T, d2)
        u = self.units
        return np.concatenate([np.matmul((hs * self.rdp[k]).reshape(-1, hs.shape[-1]).T, d2[:, k * u:(k + 1) * u])
                               for k in range(self.gates)], axis=1)


__all__ = ["Activation", "activation", "Projection", "Recurrence", "SUPPORTED", "per_gate"]
