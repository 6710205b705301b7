"""Training's float32 convolutions on the runtime's compiled convolution (``runtime/csrc``, the inference kernel).

The compiled kernel gathers its windows from the input as it multiplies (no im2col copy) on packed weights, with
the bias and relu/relu6/tanh in its store, on the kernels' own thread pool. Training packs the weights on every
call (they change every step; packing is one pass over the kernel). For a stride-1 convolution the input gradient
is itself a stride-1 convolution: of the output gradient, padded by ``(k - 1) * d - pad`` before, with the kernel
flipped in both spatial axes and its channel axes swapped. So the backward pass of VGG-like networks needs neither
the 9x window matrix nor col2im. ``lib()`` is None when the kernels are not built or ``KERASLITE_NATIVE=0``; conv.py
then keeps its numpy path (also the path of every other dtype).
"""
from __future__ import annotations

import numpy as np

from . import parallel

# Smaller convolutions stay on numpy: the first compiled one imports keraslite.runtime (~0.3 s), which the few
# tenths of a millisecond a small call saves would take thousands of steps to repay (bench/train.py digits_cnn).
MIN_MACS = 1 << 24
# The input gradient's output channels are the layer's input channels, padded to whole NR-wide panels: an RGB
# input (3 of 32) still gains from skipping col2im, a single-channel one (1 of 32, 32x the work) does not.
MAX_PANEL_WASTE = 16
_state = {}


def lib():
    """The compiled kernel module, or None; imports keraslite.runtime only on a training convolution's first call."""
    if "lib" not in _state:
        from ...runtime import native

        _state["lib"] = native.lib()
    return _state["lib"]


def usable(macs, *arrays) -> bool:
    """Whether a convolution of ``macs`` multiply-adds on these arrays should run compiled (large enough, every
    array float32, the kernels built)."""
    return macs >= MIN_MACS and all(a is None or a.dtype == np.float32 for a in arrays) and lib() is not None


def input_grad_usable(g, kernel) -> bool:
    """Whether ``input_grad`` should compute this input gradient (see ``MAX_PANEL_WASTE``)."""
    kh, kw, cin, f = kernel.shape
    if not usable(g.size * kh * kw * cin, g, kernel):
        return False
    nr = lib().nr()
    return -(-cin // nr) * nr <= MAX_PANEL_WASTE * cin


def pack(w) -> np.ndarray:
    """``w`` (..., F), any strides, in the kernels' panel layout (``runtime.native.pack``, one group)."""
    from ...runtime import native

    return native.pack(w)


def conv(x, packed, out_shape, kh, kw, strides, dilation, top, left, bias=None, activation="linear"):
    """``activation(conv(x) + bias)`` of ``x`` (N, H, W, C) into a new (N, OH, OW, F) array; ``top``/``left``:
    the zero padding before the first row and column (the kernel treats every other out-of-range pixel as zero)."""
    x = x if x.flags.c_contiguous else np.ascontiguousarray(x)
    if bias is not None and not bias.flags.c_contiguous:
        bias = np.ascontiguousarray(bias)
    y = np.empty(out_shape, np.float32)
    if y.size == 0:
        return y
    from ...runtime import native

    module, wanted = lib(), parallel.policy_threads()
    previous = module.threads()
    if wanted is not None and wanted != previous:
        module.set_threads(wanted)
    try:
        module.conv(x, packed, y, bias, None, native.ACT[activation], kh, kw, strides[0], strides[1], dilation[0],
                    dilation[1], top, left, 1, None, None, -1)
    finally:
        if module.threads() != previous:
            module.set_threads(previous)
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


__all__ = ["lib", "usable", "input_grad_usable", "pack", "conv", "input_grad", "MIN_MACS"]
