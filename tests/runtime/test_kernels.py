"""Kernels against plain numpy reference implementations written as loops (the oracle)."""
import numpy as np
import pytest

from keraslite.runtime.kernels import conv as C
from keraslite.runtime.kernels import depthwise as D
from keraslite.runtime.kernels import pool as P
from keraslite.runtime.kernels import recurrent as R
from keraslite.runtime.ops.common import pad_amounts


def _pads(x, k, s, d, padding):
    return [pad_amounts(n, kk, ss, dd, padding) for n, kk, ss, dd in zip(x.shape[1:3], k, s, d)]


def ref_conv(x, w, s, d, pads, groups=1):
    """Direct convolution by loops over output pixels (w: kh, kw, cin/groups, f)."""
    xp = np.pad(x, [(0, 0), pads[0], pads[1], (0, 0)]).astype(np.float64)
    kh, kw, cg, f = w.shape
    oh = (xp.shape[1] - (kh - 1) * d[0] - 1) // s[0] + 1
    ow = (xp.shape[2] - (kw - 1) * d[1] - 1) // s[1] + 1
    fg = f // groups
    out = np.zeros((x.shape[0], oh, ow, f))
    for y in range(oh):
        for z in range(ow):
            patch = xp[:, y * s[0]:y * s[0] + (kh - 1) * d[0] + 1:d[0], z * s[1]:z * s[1] + (kw - 1) * d[1] + 1:d[1]]
            for g in range(groups):
                out[:, y, z, g * fg:(g + 1) * fg] = np.einsum(
                    "nijc,ijcf->nf", patch[..., g * cg:(g + 1) * cg], w[..., g * fg:(g + 1) * fg])
    return out


@pytest.mark.parametrize("k,s,d,padding,groups", [
    ((3, 3), (1, 1), (1, 1), "same", 1), ((3, 2), (2, 1), (1, 1), "valid", 1), ((3, 3), (1, 1), (2, 2), "same", 1),
    ((1, 1), (1, 1), (1, 1), "valid", 1), ((3, 3), (2, 2), (1, 1), "same", 2), ((5, 5), (3, 3), (1, 1), "same", 1)])
def test_conv2d_matches_direct_loops(rng, k, s, d, padding, groups):
    x = rng.standard_normal((2, 9, 8, 4)).astype(np.float32)
    w = rng.standard_normal(k + (4 // groups, 6)).astype(np.float32)
    pads = _pads(x, k, s, d, padding)
    got = C.conv2d(x, w.reshape(-1, 6), *k, *s, *d, pads, groups)
    np.testing.assert_allclose(got, ref_conv(x, w, s, d, pads, groups), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("mult,s,padding", [(1, (1, 1), "same"), (2, (2, 2), "same"), (1, (2, 1), "valid")])
def test_depthwise_numba_and_numpy_match_direct_loops(rng, mult, s, padding):
    x = rng.standard_normal((2, 7, 6, 3)).astype(np.float32)
    w = rng.standard_normal((3, 3, 3, mult)).astype(np.float32)
    pads = _pads(x, (3, 3), s, (1, 1), padding)
    # A depthwise conv is a grouped conv with groups = channels.
    ref = ref_conv(x, w.reshape(3, 3, 1, 3 * mult), s, (1, 1), pads, groups=3)
    k3 = np.ascontiguousarray(w.reshape(3, 3, 3 * mult))
    assert D._depthwise_jit is not None, "numba must be importable in the test environment"
    np.testing.assert_allclose(D.depthwise2d(x, k3, *s, 1, 1, pads), ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(C.depthwise2d_numpy(x, k3, *s, 1, 1, pads), ref, rtol=1e-4, atol=1e-4)


def test_conv_transpose_matches_scatter_loops(rng):
    x = rng.standard_normal((2, 4, 5, 3)).astype(np.float32)
    w = rng.standard_normal((3, 3, 6, 3)).astype(np.float32)  # kh, kw, filters, in
    full = np.zeros((2, 3 * 2 + 3, 4 * 2 + 3, 6))
    for i in range(4):
        for j in range(5):
            full[:, i * 2:i * 2 + 3, j * 2:j * 2 + 3] += np.einsum("nc,ijfc->nijf", x[:, i, j], w)
    k2 = np.ascontiguousarray(w.transpose(3, 0, 1, 2).reshape(3, -1))
    got = C.conv2d_transpose(x, k2, 3, 3, 2, 2, (0, 0), (9, 11))
    np.testing.assert_allclose(got, full, rtol=1e-4, atol=1e-4)


def test_pooling_matches_loops(rng):
    x = rng.standard_normal((2, 7, 7, 3)).astype(np.float32)
    pads = _pads(x, (3, 3), (2, 2), (1, 1), "same")
    got_max = P.max_pool2d(x, 3, 3, 2, 2, pads)
    got_avg = P.avg_pool2d(x, 3, 3, 2, 2, pads)
    (t, _), (l, _) = pads
    for y in range(got_max.shape[1]):
        for z in range(got_max.shape[2]):
            win = x[:, max(y * 2 - t, 0):y * 2 - t + 3, max(z * 2 - l, 0):z * 2 - l + 3]
            np.testing.assert_allclose(got_max[:, y, z], win.max(axis=(1, 2)), rtol=1e-6)
            np.testing.assert_allclose(got_avg[:, y, z], win.mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)


def _sig(v):
    return 1 / (1 + np.exp(-v))


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_numba_and_numpy_match_formula(rng, reset_after):
    n, t, u = 3, 5, 4
    xw = rng.standard_normal((n, t, 3 * u)).astype(np.float32)
    U = rng.standard_normal((u, 3 * u)).astype(np.float32) * 0.5
    rb = rng.standard_normal(3 * u).astype(np.float32) if reset_after else np.zeros(3 * u, np.float32)
    h = np.zeros((n, u))
    ref = np.zeros((n, t, u))
    for k in range(t):
        x = xw[:, k]
        hz = h @ U + rb
        z, r = _sig(x[:, :u] + hz[:, :u]), _sig(x[:, u:2 * u] + hz[:, u:2 * u])
        cand = np.tanh(x[:, 2 * u:] + (r * hz[:, 2 * u:] if reset_after else (r * h) @ U[:, 2 * u:]))
        h = z * h + (1 - z) * cand
        ref[:, k] = h
    for fn, args in ((R.gru_jit, (1, 2)), (R.gru_numpy, ("tanh", "sigmoid"))):
        hh, seq = np.zeros((n, u), np.float32), np.empty((n, t, u), np.float32)
        fn(xw, U, rb, *args, reset_after, hh, seq)
        np.testing.assert_allclose(seq, ref, rtol=1e-4, atol=1e-5)


def test_lstm_numba_and_numpy_match_formula(rng):
    n, t, u = 5, 6, 3
    xw = rng.standard_normal((n, t, 4 * u)).astype(np.float32)
    U = rng.standard_normal((u, 4 * u)).astype(np.float32) * 0.5
    h, c, ref = np.zeros((n, u)), np.zeros((n, u)), np.zeros((n, t, u))
    for k in range(t):
        z = xw[:, k] + h @ U
        c = _sig(z[:, u:2 * u]) * c + _sig(z[:, :u]) * np.tanh(z[:, 2 * u:3 * u])
        h = _sig(z[:, 3 * u:]) * np.tanh(c)
        ref[:, k] = h
    for fn, args in ((R.lstm_jit, (1, 2)), (R.lstm_blas, (1, 2)), (R.lstm_numpy, ("tanh", "sigmoid"))):
        hh, cc, seq = np.zeros((n, u), np.float32), np.zeros((n, u), np.float32), np.empty((n, t, u), np.float32)
        fn(xw, U, *args, hh, cc, seq)
        np.testing.assert_allclose(seq, ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(R.CODES))
def test_jitted_activations_match_numpy(name):
    """The vectorised activations of the recurrent kernels (rational tanh, tanh-based sigmoid) vs numpy formulas."""
    v = np.linspace(-30, 30, 6001, dtype=np.float32).reshape(1, -1, 1)
    ref = {"linear": v, "tanh": np.tanh(v.astype(np.float64)), "sigmoid": 1 / (1 + np.exp(-v.astype(np.float64))),
           "hard_sigmoid": np.clip(v + 3, 0, 6) / 6, "hard_sigmoid_keras2": np.clip(0.2 * v + 0.5, 0, 1),
           "relu": np.maximum(v, 0)}[name]
    h, seq = np.zeros((1, 1), np.float32), np.empty_like(v)
    R.simple_jit(v, np.zeros((1, 1), np.float32), R.CODES[name], h, seq)  # zero recurrent kernel: seq = act(x)
    np.testing.assert_allclose(seq, ref, rtol=0, atol=1e-6)


@pytest.mark.parametrize("size", [(2, 2), (3, 3), (1, 2), (2, 1)])
def test_tiled_max_pooling_matches_loops(rng, size):
    """The slab path (stride = pool size, dims divisible) against a direct window loop."""
    ph, pw = size
    x = rng.standard_normal((2, 6, 6, 5)).astype(np.float32)
    got = P.max_pool2d(x, ph, pw, ph, pw, ((0, 0), (0, 0)))
    assert got.shape == (2, 6 // ph, 6 // pw, 5)
    for y in range(got.shape[1]):
        for z in range(got.shape[2]):
            np.testing.assert_array_equal(got[:, y, z], x[:, y * ph:(y + 1) * ph, z * pw:(z + 1) * pw].max(axis=(1, 2)))


@pytest.mark.parametrize("name", ["linear", "relu", "relu6"])
def test_epilogue_numba_and_numpy_match_formula(rng, name):
    from keraslite.runtime.kernels import activations as A
    from keraslite.runtime.kernels import epilogue as E

    y = (rng.standard_normal((300, 24)) * 8).astype(np.float32)
    bias = rng.standard_normal(24).astype(np.float32)
    want = {"linear": lambda v: v, "relu": lambda v: np.maximum(v, 0),
            "relu6": lambda v: np.clip(v, 0, 6)}[name](y + bias)
    got = y.copy()
    E.bias_act(got, bias, E.CODES[name])
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    flat = y.copy()
    for i in range(0, 300, 7):  # the numpy chunked path (small arrays never take the jitted one)
        part = np.ascontiguousarray(flat[i:i + 7])
        np.testing.assert_allclose(A.epilogue(bias, name)(part), want[i:i + 7], rtol=1e-6, atol=1e-6)
