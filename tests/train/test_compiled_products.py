"""Training's compiled float32 products (Dense: forward with bias and activation, the input and kernel gradients;
two-operand einsums) against the numpy path in float64, which the finite-difference checks in test_autodiff.py
cover."""
import os

import numpy as np
import pytest

from keraslite.train.autodiff import linalg, native, nn, parallel


@pytest.fixture(autouse=True)
def compiled_for_every_size(monkeypatch):
    """These shapes are below the size from which training uses the compiled kernel: lower it to 0."""
    assert native.lib() is not None, "the compiled kernels are not built: this test checks them"
    monkeypatch.setattr(native, "MIN_MACS", 0)


def _step(x, kernel, bias, needs, activation, g_seed=0):
    y = nn._dense_fwd(x, kernel, bias, activation)
    g = np.random.default_rng(g_seed).standard_normal(y.shape).astype(x.dtype)
    return y, nn._dense_joint(g, y, needs, x, kernel, bias, activation)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("m,k,n,activation,use_bias,needs", [
    (32, 64, 64, "relu", True, (True, True, True)),
    (130, 300, 96, "linear", False, (True, True, False)),  # more rows than one block of the kernel
    (128, 784, 90, "tanh", True, (False, True, True)),     # the first layer: no input gradient
    (5, 60, 62, "relu6", True, (True, False, True)),        # a frozen kernel: no kernel gradient
])
def test_compiled_dense_matches_numpy_float64(m, k, n, activation, use_bias, needs, threads):
    rng = np.random.default_rng(4)
    x, kernel = rng.standard_normal((m, k)), rng.standard_normal((k, n)) / np.sqrt(k)
    bias = rng.standard_normal(n) if use_bias else None
    want_y, want = _step(x, kernel, bias, list(needs), activation)  # float64: the numpy path
    f32 = [None if a is None else a.astype(np.float32) for a in (x, kernel, bias)]
    calls = []
    real = native.lib()

    class Spy:  # counts the compiled products, so the test knows it checked them
        def __getattr__(self, name):
            if name == "matmul":
                return lambda *a: (calls.append(a[5]), real.matmul(*a))
            return getattr(real, name)

    native._state["lib"] = Spy()
    try:
        with parallel.policy(threads):
            got_y, got = _step(*f32, list(needs), activation)
    finally:
        native._state["lib"] = real
    assert len(calls) == 1 + needs[0] + needs[1] and calls.count(1) == needs[1]  # forward, dz @ W.T, x.T @ dz
    assert got_y.dtype == np.float32
    np.testing.assert_allclose(got_y, want_y, rtol=1e-4, atol=1e-4)
    for a, w, need in zip(got, want, needs):
        assert (a is None) == (not need)
        if need:
            assert a.dtype == np.float32
            np.testing.assert_allclose(a, w, rtol=1e-4, atol=2e-4)


def test_small_or_other_dtype_products_keep_numpy(monkeypatch):
    monkeypatch.setattr(native, "MIN_MACS", 1 << 24)
    assert not native.matmul_usable(32, 64, 64, np.ones(1, np.float32))
    assert native.matmul_usable(128, 784, 512, np.ones(1, np.float32))
    assert not native.matmul_usable(128, 784, 512, np.ones(1, np.float64))
    assert not native.matmul_usable(20000, 784, 10)  # 10 of 32 panel columns: BLAS


def test_nan_in_the_input_reaches_the_output_and_the_gradients():
    """The compiled relu keeps NaN as numpy's maximum does, so TerminateOnNaN still sees a diverged step."""
    x = np.ones((8, 40), np.float32)
    x[3, 5] = np.nan
    kernel = np.full((40, 48), 0.1, np.float32)
    y, (gx, gk, gb) = _step(x, kernel, np.zeros(48, np.float32), [True, True, True], "relu")
    assert np.isnan(y[3]).all() and np.isfinite(np.delete(y, 3, axis=0)).all()
    assert np.isnan(gk[5]).all()


@pytest.mark.parametrize("spec,shapes,compiled", [
    ("bcd,bijd->bijc", [(1, 60, 62), (1, 9, 7, 62)], True),  # the Gram matrix's gradient: out^T = Y^T X^T, in order
    ("bij,bjk->bik", [(3, 40, 50), (3, 50, 62)], True),
    ("ij,kj->ik", [(40, 50), (62, 50)], True),                # B a transposed view
    ("jc,jd->cd", [(200, 40), (200, 62)], True),              # A read transposed (small enough)
    ("bijc,bijd->bcd", [(1, 64, 64, 40), (1, 64, 64, 62)], False),  # A too large to read transposed: numpy
    ("bijc,bijd->bdc", [(1, 8, 8, 40), (1, 8, 8, 62)], True),  # the result in the other order: a transposed view
    ("ij,jk->ik", [(40, 50), (50, 10)], False),               # 10 of 32 panel columns: numpy
])
def test_compiled_einsum_matches_numpy_float64(spec, shapes, compiled, monkeypatch):
    rng = np.random.default_rng(6)
    ops = [rng.standard_normal(s) for s in shapes]
    want = np.einsum(spec, *ops)
    calls = []
    real = native.matmul, native.matmul_t
    monkeypatch.setattr(native, "matmul", lambda *a: calls.append("n") or real[0](*a))
    monkeypatch.setattr(native, "matmul_t", lambda *a: calls.append("t") or real[1](*a))
    with parallel.policy(2):
        got = linalg._einsum_fwd(*[o.astype(np.float32) for o in ops], subscripts=spec)
    assert bool(calls) == compiled
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.sqrt(ops[0].size / want.size))


@pytest.mark.parametrize("activation", ["relu", "relu6", "tanh"])
def test_compiled_activation_gradient_is_numpys_formula(activation, monkeypatch):
    monkeypatch.setattr(native, "ELEMENTWISE_MIN", 0)
    rng = np.random.default_rng(8)
    y = nn.DENSE_ACTIVATIONS[activation][0](rng.standard_normal(200_003).astype(np.float32) * 4)  # 7 chunks
    g = rng.standard_normal(y.shape).astype(np.float32)
    g[:3] = [np.nan, np.inf, -np.inf]  # times a zero mask: NaN, as numpy gives
    y[:3] = -1 if activation != "tanh" else 0.5
    want = g * nn.DENSE_ACTIVATIONS[activation][1](y)
    for threads in (1, 2):
        with parallel.policy(threads):
            got = native.activation_grad(g, y, activation)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=0)
        assert np.isnan(got[:3]).all() == np.isnan(want[:3]).all()
    assert native.activation_grad(g.astype(np.float64), y, activation) is None  # other dtypes: numpy


@pytest.mark.parametrize("shape", [(300, 512), (2, 3, 700), (1, 40_000), (5, 1), (0, 8)])
def test_compiled_activation_gradient_sums_its_columns(shape, monkeypatch):
    """The bias gradient taken in the activation-gradient pass: numpy's column sums of the same output (blocks
    of 64 rows at 512 columns, of 1 row beyond 32,768 columns), the same floats on any number of threads."""
    monkeypatch.setattr(native, "ELEMENTWISE_MIN", 0)
    rng = np.random.default_rng(9)
    y = np.maximum(rng.standard_normal(shape).astype(np.float32), 0)
    g = rng.standard_normal(shape).astype(np.float32)
    want = (g * (y > 0)).reshape(-1, shape[-1]).astype(np.float64).sum(axis=0)
    results = []
    for threads in (1, 2, 3):
        with parallel.policy(threads):
            out, sums = native.activation_grad(g, y, "relu", sums=True)
        np.testing.assert_array_equal(out, g * (y > 0))
        assert sums.shape == (shape[-1],) and sums.dtype == np.float32
        np.testing.assert_allclose(sums, want, rtol=1e-5, atol=1e-5 * np.sqrt(max(1, out.size // shape[-1])))
        results.append(sums)
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])


def test_dense_bias_gradient_from_the_fused_pass_matches_numpy(monkeypatch):
    """The Dense VJP's bias gradient with the fused sums against the unfused numpy path, float32."""
    rng = np.random.default_rng(10)
    x = rng.standard_normal((200, 96)).astype(np.float32)
    kernel = rng.standard_normal((96, 384)).astype(np.float32) * 0.1
    bias = rng.standard_normal(384).astype(np.float32)
    y = nn._dense_fwd(x, kernel, bias, "relu")
    g = rng.standard_normal(y.shape).astype(np.float32)
    monkeypatch.setattr(native, "ELEMENTWISE_MIN", 0)
    with parallel.policy(2):
        fused = nn._dense_joint(g, y, [True, True, True], x, kernel, bias, "relu")
    monkeypatch.setattr(native, "ELEMENTWISE_MIN", 1 << 40)  # numpy: g * (y > 0), then .sum(axis=0)
    plain = nn._dense_joint(g, y, [True, True, True], x, kernel, bias, "relu")
    for a, b in zip(fused, plain):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(fused[2], (g * (y > 0)).astype(np.float64).sum(axis=0), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("spec,shape", [("bijc,bijd->bcd", (1, 5, 6, 7)), ("ij,ik->jk", (9, 4)),
                                        ("ij,kj->ik", (5, 8)), ("bij,bkj->bik", (2, 3, 4))])
def test_einsum_of_an_array_with_itself_differentiates_both_operands(spec, shape):
    """The Gram-matrix shortcut (one product for both operands) against the two separate products, float64."""
    import keraslite as keras
    from keraslite import ops

    x = np.random.default_rng(9).standard_normal(shape)
    v = keras.Variable(x)
    with keras.GradientTape() as tape:
        y = ops.einsum(spec, v, v)
        loss = ops.sum(y * np.arange(y.shape[-1]))  # not symmetric in the output
    got = tape.gradient(loss, v).numpy()
    terms, output = linalg._explicit(spec, [shape, shape])
    g = np.broadcast_to(np.arange(float(y.shape[-1])), y.shape)
    want = sum(np.einsum(",".join([output, terms[1 - k]]) + "->" + terms[k], g, x) for k in (0, 1))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert linalg._self_pair_swap(terms, output) is not None  # the shortcut was taken
    assert linalg._self_pair_swap(["ij", "jk"], "ik") is None  # x @ x is not a swap: two products


def test_repeated_products_reuse_their_scratch_without_page_faults():
    """The kernels keep their scratch between calls (runtime/csrc/scratch.c). Freed and malloc'd again, a
    transposed product's ~0.5 MiB of per-call scratch came back from the kernel as fresh pages, faulted in and
    zeroed at every call (177 minor faults a call for x.T @ dz of 128 x 256 x 512 on one thread, at 0.4x the
    speed of the same product read in place); kept, a call faults none."""
    import subprocess
    import sys

    code = """
import resource, numpy as np
from keraslite.train.autodiff import native, parallel
assert native.lib() is not None, "the compiled kernels are not built"
rng = np.random.default_rng(0)
worst = 0.0
for threads in (1, 2):
    with parallel.policy(threads):
        for m in (256, 512, 784):
            a = rng.standard_normal((128, m), np.float32); g = rng.standard_normal((128, 512), np.float32)
            for _ in range(5):
                native.matmul_t(a, g)
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            for _ in range(50):
                native.matmul_t(a, g)
            worst = max(worst, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 50)
print(worst)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    assert float(out.stdout) < 10, out.stdout
