"""Array kernels of the runtime, one module per family.

numpy + BLAS where a vectorised expression is already the fast form (GEMM, im2col, pooling on contiguous slabs),
and ``numba.njit(cache=True)`` where a loop is needed (depthwise convolution, the recurrence of RNNs, the one-pass
bias + relu/relu6 epilogue). Modules that use Numba are imported only when a plan needs them, so a model without
such layers (an MLP, a plain CNN) never pays Numba's ~0.5 s import and ~100 MiB; the epilogue switches to its
jitted form only in processes where a plan has already loaded Numba.
"""
