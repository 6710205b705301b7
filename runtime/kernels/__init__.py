"""Array kernels of the runtime, one module per family, on three paths chosen at plan time.

1. The compiled kernels (``runtime/csrc``, a C extension built at install when a compiler is present; see
   ``runtime.native``): packed-weight GEMM for Dense and every convolution, depthwise, pooling, recurrences, with
   bias, residual, prologue and activation fused. ``native_ops.py`` wraps them for the op builders.
2. Without them: numpy + BLAS where a vectorised expression is already the fast form (GEMM, im2col, pooling on
   contiguous slabs), and ``numba.njit(cache=True)`` where a loop is needed (depthwise convolution, the recurrence
   of RNNs, the one-pass bias + relu/relu6 epilogue). Modules that use Numba are imported only when a plan needs
   them, so a model without such layers never pays Numba's ~0.5 s import and ~100 MiB.
3. Without Numba either: the same plans on numpy alone (slower, one warning).
"""
