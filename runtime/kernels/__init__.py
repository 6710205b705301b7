"""Array kernels of the runtime, one module per family.

numpy + BLAS where a vectorised expression is already the fast form (GEMM, im2col, elementwise), and
``numba.njit(cache=True)`` where a loop is needed (depthwise convolution, the recurrence of RNNs). Modules that use
Numba are imported only when a plan needs them, so a model without such layers never pays Numba's import time.
"""
