"""Every real-Keras fixture on the kernel paths test_fixtures.py does not take: the other compiled ISA variants this
CPU runs, and the Numba kernels a build without a C compiler uses (numpy alone: see test_isolation.py)."""
import numpy as np
import pytest

from keraslite import runtime
from keraslite.runtime import native

LIB = native.lib()
assert LIB is not None, "the compiled kernels must be built in the test environment (pip install -e .)"
BEST = LIB.isa()
PATHS = [name for name in ("avx2", "base") if name != BEST and LIB._select_isa(name)] + ["numba"]
LIB._select_isa(BEST)


@pytest.fixture(params=PATHS)
def kernel_path(request, monkeypatch):
    """Plans built inside the test use this path; the best compiled kernels are restored after it."""
    if request.param == "numba":
        monkeypatch.setitem(native._state, "lib", None)
    else:
        assert LIB._select_isa(request.param)
    yield request.param
    LIB._select_isa(BEST)


def test_fixture_on_other_kernel_paths(keras_case, kernel_path):
    xs, ys = keras_case.arrays()
    model = runtime.load(keras_case.path("h5") or keras_case.path("keras"))
    reps = -(-12 // xs[0].shape[0])  # a dozen rows: batch-dependent paths (BLAS LSTM steps, panel splits) too
    big = [np.concatenate([x] * reps) for x in xs]
    out = model.predict(big if len(big) > 1 else big[0])
    for ours, keras in zip(out if isinstance(out, list) else [out], ys):
        keras = np.concatenate([keras] * reps)
        tol = 1e-4 * max(1.0, float(np.abs(keras).max()))
        err = float(np.abs(ours.astype(np.float64) - keras).max())
        assert err <= tol, f"{kernel_path}: max |ours - keras| = {err:.3g} > {tol:.3g}"
