"""The compiled float32 convolution (forward and stride-1 input gradient) against the numpy im2col/col2im path in
float64, which the finite-difference checks in test_autodiff.py cover."""
import itertools

import numpy as np
import pytest

from keraslite.train.autodiff import GradientTape, Variable
from keraslite.train.autodiff import conv as C, native, depthwise as D, reduce as R

rng = np.random.default_rng(3)


@pytest.fixture(autouse=True)
def compiled_for_every_size(monkeypatch):
    """Some of these shapes are below the sizes from which training uses the compiled kernels: lower them to 0, and
    let the input gradient of inputs with few channels (3 of 32 panel columns) run compiled too, so both paths are
    checked."""
    for threshold in ("MIN_MACS", "CONV_MIN_MACS", "INPUT_GRAD_MIN_MACS"):
        monkeypatch.setattr(native, threshold, 0)
    monkeypatch.setattr(native, "MAX_PANEL_WASTE", 16)

GEOMETRIES = [  # (x shape, kernel shape, strides, dilation)
    ((2, 7, 5, 3), (3, 3, 3, 4), (1, 1), (1, 1)),
    ((1, 6, 9, 2), (3, 2, 2, 5), (1, 1), (2, 1)),
    ((2, 9, 8, 4), (2, 3, 4, 3), (1, 1), (1, 3)),
    ((1, 8, 7, 3), (3, 3, 3, 33), (2, 2), (1, 1)),  # 33 filters: a partial panel of the packed weights
    ((2, 5, 6, 3), (1, 1, 3, 2), (2, 1), (1, 1)),
    ((1, 11, 10, 2), (5, 4, 2, 3), (3, 2), (1, 1)),
    ((1, 4, 4, 40), (3, 3, 40, 8), (1, 1), (1, 1)),  # more input channels than one panel: the flipped kernel's F
    ((2, 6, 5, 1), (3, 3, 1, 4), (1, 1), (1, 1)),  # one input channel: the input gradient takes col2im
]


def _run(x, k, b, needs, g_seed, **params):
    y, res = C._conv_fwd(x, k, b, **params)
    g = np.random.default_rng(g_seed).standard_normal(y.shape).astype(x.dtype)
    return y, C._conv_joint(g, (y, res), needs, x, k, b, **params)


@pytest.mark.parametrize("geometry,padding,activation", [
    (geo, pad, act) for geo, pad, act in itertools.product(GEOMETRIES, ("same", "valid"), ("linear", "relu"))
] + [(GEOMETRIES[0], "same", "relu6"), (GEOMETRIES[2], "valid", "tanh")])
def test_compiled_path_matches_numpy_float64(geometry, padding, activation, monkeypatch):
    assert native.lib() is not None, "the compiled kernels are not built: this test checks them"
    xs, ks, strides, dilation = geometry
    x, k, b = rng.standard_normal(xs), rng.standard_normal(ks) * 0.3, rng.standard_normal(ks[-1])
    params = dict(strides=strides, padding=padding, dilation=dilation, activation=activation)
    needs = [True, True, True]
    want_y, want = _run(x, k, b, needs, 0, **params)  # float64: the numpy path
    f32 = [a.astype(np.float32) for a in (x, k, b)]
    got_y, got = _run(*f32, needs, 0, **params)
    assert got_y.dtype == np.float32 and got[0].dtype == np.float32
    np.testing.assert_allclose(got_y, want_y, rtol=1e-4, atol=1e-4)
    for a, w in zip(got, want):
        np.testing.assert_allclose(a, w, rtol=1e-4, atol=2e-4)
    monkeypatch.setitem(native._state, "lib", None)  # the numpy float32 path agrees too
    np_y, np_grads = _run(*f32, needs, 0, **params)
    np.testing.assert_allclose(got_y, np_y, rtol=1e-4, atol=1e-4)
    for a, w in zip(got, np_grads):
        np.testing.assert_allclose(a, w, rtol=1e-4, atol=2e-4)


def test_only_the_requested_gradients_are_computed():
    x, k = rng.standard_normal((1, 6, 6, 3)).astype("f4"), rng.standard_normal((3, 3, 3, 4)).astype("f4")
    y, res = C._conv_fwd(x, k, None, padding="same")
    gx, gk, gb = C._conv_joint(np.ones_like(y), (y, res), [True, False, False], x, k, None, padding="same")
    assert gx.shape == x.shape and gk is None and gb is None


def test_grouped_and_empty_and_tape_paths_match_float64(monkeypatch):
    x = rng.standard_normal((2, 5, 7, 4))
    k = rng.standard_normal((3, 3, 2, 6)) * 0.3
    want = D._grouped_joint(np.ones((2, 5, 7, 6)), D._grouped_fwd(x, k, None, padding="same", groups=2),
                            [True, True, False], x, k, None, padding="same", groups=2)
    xf, kf = x.astype("f4"), k.astype("f4")
    got = D._grouped_joint(np.ones((2, 5, 7, 6), "f4"), D._grouped_fwd(xf, kf, None, padding="same", groups=2),
                           [True, True, False], xf, kf, None, padding="same", groups=2)
    for a, w in zip(got[:2], want[:2]):
        np.testing.assert_allclose(a, w, rtol=1e-4, atol=2e-4)
    # a 'valid' kernel larger than the input: an empty output, a zero input gradient
    k4 = rng.standard_normal((3, 3, 4, 6)).astype("f4")
    y, res = C._conv_fwd(xf[:, :2], k4, None, padding="valid")
    assert y.shape == (2, 0, 5, 6)
    for waste in (2, 1 << 10):  # col2im (4 channels: 32 panel columns) and the compiled input gradient
        monkeypatch.setattr(native, "MAX_PANEL_WASTE", waste)
        gx = C._conv_joint(np.zeros(y.shape, "f4"), (y, res), [True, False, False], xf[:, :2], k4, None)[0]
        np.testing.assert_array_equal(gx, np.zeros((2, 2, 7, 4), "f4"))
    # through the tape: the image gradient of a frozen kernel, as in style transfer
    image = Variable(xf)
    frozen = Variable(rng.standard_normal((3, 3, 4, 3)).astype("f4"), trainable=False)
    with GradientTape() as tape:
        loss = R.sum_(C.conv2d(image, frozen, None, padding="same", activation="relu") ** 2)
    g_img, g_k = tape.gradient(loss, [image, frozen])
    assert g_k is None
    y64 = C._conv_fwd(x, frozen.numpy().astype("f8"), None, padding="same", activation="relu")
    want_img = C._conv_joint(2 * y64[0], y64, [True, False, False], x, frozen.numpy().astype("f8"), None,
                             padding="same", activation="relu")[0]
    np.testing.assert_allclose(g_img.numpy(), want_img, rtol=1e-4, atol=1e-3)


def test_the_training_thread_policy_bounds_the_kernels_and_is_restored(monkeypatch):
    from keraslite.train.autodiff import parallel

    for var in ("KERASLITE_TRAIN_THREADS",) + parallel.USER_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    lib = native.lib()
    x = rng.standard_normal((2, 9, 9, 8)).astype("f4")
    k = rng.standard_normal((3, 3, 8, 16)).astype("f4")
    before = lib.threads()
    want = C._conv_fwd(x, k, None, padding="same")[0]
    with parallel.policy(1):
        assert parallel.policy_threads() == 1
        got = C._conv_fwd(x, k, None, padding="same")[0]
    assert parallel.policy_threads() is None and lib.threads() == before
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


POOLS = [  # (x shape, pool, strides, padding)
    ((2, 6, 6, 3), (2, 2), (2, 2), "valid"),
    ((2, 7, 5, 70), (3, 3), (2, 2), "same"),   # overlapping windows; more channels than one run of the kernel
    ((1, 5, 4, 3), (2, 2), (1, 2), "same"),
    ((3, 8, 7, 5), (3, 2), (2, 1), "valid"),
    ((2, 1, 9, 4), (1, 3), (1, 2), "same"),    # MaxPooling1D's height of 1
]


@pytest.mark.parametrize("shape,pool,strides,padding", POOLS)
@pytest.mark.parametrize("ties", [False, True])
def test_compiled_max_pool_routes_as_the_numpy_path(shape, pool, strides, padding, ties, monkeypatch):
    """The compiled max pooling and its gradient against the numpy path in float64: the same maxima, each window's
    gradient to its first maximum in row-major order (ties: integer inputs with many repeats), overlapping windows'
    gradients added up."""
    monkeypatch.setattr(native, "ELEMENTWISE_MIN", 0)
    r = np.random.default_rng(5)
    x = (r.integers(0, 3, shape) if ties else r.standard_normal(shape)).astype(np.float32)
    g = r.standard_normal(C._max_pool_fwd(x.astype(np.float64), pool, strides, padding)[0].shape)
    params = dict(pool=pool, strides=strides, padding=padding)
    y, res = C._max_pool_fwd(x, **params)
    assert res[0] == "compiled"
    want_y, want_res = C._max_pool_fwd(x.astype(np.float64), **params)
    assert want_res[0] != "compiled"
    np.testing.assert_array_equal(y, want_y.astype(np.float32))
    gx = C._max_pool_vjp(g.astype(np.float32), (y, res), x, **params)
    want = C._max_pool_vjp(g, (want_y, want_res), x.astype(np.float64), **params)
    assert gx.dtype == np.float32 and gx.shape == x.shape
    np.testing.assert_allclose(gx, want, rtol=1e-6, atol=1e-6)


def test_compiled_max_pool_propagates_nan_and_routes_its_gradient_there(monkeypatch):
    monkeypatch.setattr(native, "ELEMENTWISE_MIN", 0)
    x = np.arange(2 * 4 * 4 * 2, dtype=np.float32).reshape(2, 4, 4, 2)
    x[0, 1, 0, 1] = np.nan  # in the first window of channel 1, not its maximum
    y, res = C._max_pool_fwd(x, (2, 2), (2, 2), "valid")
    assert res[0] == "compiled" and np.isnan(y[0, 0, 0, 1]) and np.isnan(y).sum() == 1
    gx = C._max_pool_vjp(np.ones(y.shape, np.float32), (y, res), x, (2, 2), (2, 2), "valid")
    assert gx[0, 1, 0, 1] == 1 and gx[0, :2, :2, 1].sum() == 1  # the NaN took its window's gradient
    assert gx.sum() == y.size
