"""Training's float32 products on the runtime's compiled kernels (``runtime/csrc``, the inference GEMM): the
convolutions and the large Dense layers.

The compiled kernel multiplies packed weights (``runtime.native.pack``: one compiled pass, done on every call
because the weights change every step) with the bias and relu/relu6/tanh in its store, on the kernels' own thread
pool, whose caller never waits for a worker that has not started (``runtime/csrc/threads.c``). Convolutions gather
their windows from the input as they multiply (no im2col copy). For a stride-1 convolution the input gradient is
itself a stride-1 convolution: of the output gradient, padded by ``(k - 1) * d - pad`` before, with the kernel
flipped in both spatial axes and its channel axes swapped. So the backward pass of VGG-like networks needs neither
the 9x window matrix nor col2im. A Dense layer's three products are ``x @ W`` (with bias and activation),
``dz @ W.T`` and ``x.T @ dz``: the kernel packs each slab of the weights (``W``, the view ``W.T``, ``dz``) as it
reaches it and reads ``x`` transposed block by block, so no operand is copied whole; two-operand einsums take the
same route when their operands are views (linalg.py), and so does the gradient through relu/relu6/tanh
(``activation_grad``, which also sums the bias gradient as it writes). ``lib()`` is None when the kernels are not
built or ``KERASLITE_NATIVE=0``; the callers then keep their numpy/BLAS paths (also the path of every other dtype).
"""
from __future__ import annotations

import numpy as np

from . import parallel

# Below these sizes a call stays on numpy, where the compiled form gains nothing (and the first compiled call
# imports keraslite.runtime, 0.05-0.06 s). Each from timings of both paths in one process, two threads:
# - products: the compiled GEMM wins from about 1M multiply-adds (32x512 @ 512x64: 14.8 against 29.7 us forward,
#   36 against 51 backward; a 784-128-10 MLP at batch 32: epoch 0.93x) and ties below (32x64 @ 64x64: 5.2 / 14.6
#   against 5.8 / 13.0 us);
# - forward convolutions: the kernel reads the windows as it multiplies where numpy copies them out (im2col) and
#   calls BLAS, faster at every size measured (9K multiply-adds: 6.1 against 8.8 us; the digits CNN's two layers:
#   16 against 72 us and 37 against 70; a 28x28 MNIST layer at batch 32: 182 against 1147);
# - activation gradients: one pass that also sums the bias gradient, where numpy makes two and a slow sum over
#   three axes (2048 floats: 2.6 against 3.8 us; the digits CNN's first layer: 10.7 against 55.5);
# - a convolution's input gradient stays at 16M: at the digits CNN's 2.4M it gains nothing (161 against 154 us a
#   layer's backward pass), nor on the MNIST convnet's epoch.
# Together, the digits CNN's epoch (bench/train.py): 0.82x.
MIN_MACS = 1 << 20
CONV_MIN_MACS = 1 << 13
INPUT_GRAD_MIN_MACS = 1 << 24
ELEMENTWISE_MIN = 1 << 11  # floats
# The input gradient's output channels are the layer's input channels, padded to whole NR-wide panels: 16 of 32
# gains from skipping col2im (3.7 against 4.2 ms at 128x128x16 -> 64), 8 breaks even, an RGB image (3 of 32: style
# transfer's first layer, 13.7 against 8.6 ms at 256x256) loses.
MAX_PANEL_WASTE = 4
_state = {}


def lib():
    """The compiled kernel module, or None; imports keraslite.runtime only on the first compiled product."""
    if "lib" not in _state:
        from ...runtime import native

        _state["lib"] = native.lib()
    return _state["lib"]


def usable(macs, *arrays, min_macs=None) -> bool:
    """Whether a product of ``macs`` multiply-adds on these arrays should run compiled (at least ``min_macs``,
    default ``MIN_MACS``; every array float32; the kernels built)."""
    return (macs >= (MIN_MACS if min_macs is None else min_macs)
            and all(a is None or a.dtype == np.float32 for a in arrays) and lib() is not None)


def input_grad_usable(g, kernel) -> bool:
    """Whether ``input_grad`` should compute this input gradient (see ``MAX_PANEL_WASTE``)."""
    kh, kw, cin, f = kernel.shape
    if not usable(g.size * kh * kw * cin, g, kernel, min_macs=INPUT_GRAD_MIN_MACS):
        return False
    nr = lib().nr()
    return -(-cin // nr) * nr <= MAX_PANEL_WASTE * cin


def pack(w) -> np.ndarray:
    """``w`` (..., F), any strides, in the kernels' panel layout (``runtime.native.pack``, one group)."""
    from ...runtime import native

    return native.pack(w)


def elementwise_usable(x, *others) -> bool:
    """Whether a pass over ``x`` (an activation gradient, a max pooling) should run compiled: ``ELEMENTWISE_MIN``
    floats or more, every array float32, the kernels built."""
    return (x.size >= ELEMENTWISE_MIN and all(a.dtype == np.float32 for a in (x, *others))
            and lib() is not None)


def activation_grad(g, y, activation, sums=False):
    """``g * activation'(y)`` for the activations read from their output (relu, relu6, tanh) in one compiled pass
    on the kernels' threads; None when it should stay on numpy (small, not float32, or not built). With ``sums``:
    ``(out, column sums of out over every axis but the last)``, the sums taken block by block as the pass writes
    them (a layer's bias gradient without a second pass)."""
    if g.shape != y.shape or not elementwise_usable(g, y):
        return None
    out = np.empty(y.shape, np.float32)
    col_sums = (np.empty(y.shape[-1], np.float32),) if sums else ()
    _call(lib().act_grad, _c(g), _c(y), out, act_code(activation), *col_sums)
    return (out, *col_sums) if sums else out




def max_pool(x, out_shape, pool, strides, top, left):
    """Max pooling of ``x`` (N, H, W, C) into a new ``out_shape`` array (the runtime's pooling kernel); ``top`` /
    ``left``: the padding before the first row and column (out-of-range pixels never win)."""
    y = np.empty(out_shape, np.float32)
    if y.size:
        _call(lib().pool, _c(x), y, 0, pool[0], pool[1], strides[0], strides[1], top, left, 0)
    return y


def max_pool_grad(x, y, g, pool, strides, top, left):
    """The input gradient of ``max_pool``: each output's gradient added to the first input of its window (in
    row-major window order) that equals its maximum ``y``, as the numpy and Numba paths route it."""
    gx = np.empty(x.shape, np.float32)
    if gx.size:
        _call(lib().max_pool_grad, _c(x), _c(y), _c(g), gx, pool[0], pool[1], strides[0], strides[1], top, left)
    return gx


def _call(kernel, *args):
    """``kernel(*args)`` on as many threads as the active ``parallel.policy`` gives products."""
    module, wanted = lib(), parallel.policy_threads()
    previous = module.threads()
    if wanted is not None and wanted != previous:
        module.set_threads(wanted)
    try:
        kernel(*args)
    finally:
        if module.threads() != previous:
            module.set_threads(previous)


def _c(a):
    return a if a is None or a.flags.c_contiguous else np.ascontiguousarray(a)


def act_code(activation):
    """The kernels' activation code (``runtime.native.ACT``, read once)."""
    table = _state.get("act")
    if table is None:
        from ...runtime import native as runtime_native

        table = _state["act"] = runtime_native.ACT
    return table[activation]


def conv(x, packed, out_shape, kh, kw, strides, dilation, top, left, bias=None, activation="linear"):
    """``activation(conv(x) + bias)`` of ``x`` (N, H, W, C) into a new (N, OH, OW, F) array; ``top``/``left``:
    the zero padding before the first row and column (the kernel treats every other out-of-range pixel as zero)."""
    y = np.empty(out_shape, np.float32)
    if y.size == 0:
        return y
    _call(lib().conv, _c(x), packed, y, _c(bias), None, act_code(activation), kh, kw, strides[0], strides[1],
          dilation[0], dilation[1], top, left, 1, None, None, -1)
    return y


def matmul_usable(m, k, n, *arrays) -> bool:
    """Whether an (m, k) @ (k, n) product of these arrays should run compiled: large enough, every array float32,
    the kernels built, and ``n`` not much below a whole number of panels (the kernel pads its columns to them)."""
    if not usable(m * k * n, *arrays):
        return False
    nr = lib().nr()
    return -(-n // nr) * nr * 4 <= 5 * n


def matmul(a, b, bias=None, activation="linear", out=None):
    """``activation(a @ b + bias)`` for 2-D ``a`` and ``b`` into a new array (or ``out``, C-contiguous float32);
    ``b`` with any strides (``kernel.T`` is read from the view, each slab of its panels packed as the kernel
    reaches it)."""
    return _product(a, b, bias, activation, 0, out)


def matmul_t(a, b, out=None):
    """``a.T @ b`` for 2-D ``a`` (K, M) and ``b`` (K, N) into a new (M, N) array (or ``out``), without transposing
    ``a`` first."""
    return _product(a, b, None, "linear", 1, out)


def product(a, b, out=None):
    """``a @ b`` for 2-D float arrays (into ``out`` when given): compiled when ``matmul_usable`` (``a`` read in
    place when it is the transpose of a C-contiguous array, as ``x.T`` in ``x.T @ dz``), else ``parallel.matmul``
    (BLAS). A Dense layer's and the recurrent layers' products (3200 x 32 x 128 for an LSTM(32) over 64 x 50
    steps: 85-176 us against 279-362 on BLAS, two threads)."""
    m, k = a.shape
    if matmul_usable(m, k, b.shape[1], a, b, out) and (out is None or out.flags.c_contiguous):
        if not a.flags.c_contiguous and a.T.flags.c_contiguous:
            return matmul_t(a.T, b, out=out)
        return matmul(a, b, out=out)
    return parallel.matmul(a, b, out=out)


def _product(a, b, bias, activation, trans, out=None):
    rows, k = (a.shape[1], a.shape[0]) if trans else a.shape
    y = np.empty((rows, b.shape[1]), np.float32) if out is None else out
    if y.size and k:
        _call(lib().matmul, _c(a), b, y, _c(bias), act_code(activation), trans)
    else:
        y[...] = 0 if bias is None else bias
    return y


def input_grad(g, kernel, x_shape, dilation, pads):
    """The input gradient of a stride-1 convolution of ``kernel`` (KH, KW, C, F) padded by ``pads``, given the
    output gradient ``g`` (N, OH, OW, F): the correlation of ``g`` with the flipped, transposed kernel."""
    kh, kw = kernel.shape[:2]
    (t, _), (l, _) = pads
    if g.size == 0:
        return np.zeros(x_shape, np.float32)
    flipped = pack(kernel[::-1, ::-1].transpose(0, 1, 3, 2))
    return conv(g, flipped, x_shape, kh, kw, (1, 1), dilation, (kh - 1) * dilation[0] - t,
                (kw - 1) * dilation[1] - l)


__all__ = ["lib", "usable", "input_grad_usable", "matmul_usable", "pack", "conv", "input_grad", "matmul",
           "matmul_t", "product", "activation_grad", "act_code", "elementwise_usable", "max_pool", "max_pool_grad",
           "MIN_MACS", "CONV_MIN_MACS", "INPUT_GRAD_MIN_MACS", "ELEMENTWISE_MIN"]
