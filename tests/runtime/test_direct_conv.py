"""The direct convolution kernel (runtime/csrc/direct.h) against the packed GEMM it replaces for small windows and
against the numpy fallback's im2col kernel (in float64 as the oracle), on odd shapes, for every ISA variant."""
import numpy as np
import pytest

from keraslite.runtime import native
from keraslite.runtime.kernels import conv as numpy_conv
from keraslite.runtime.ops.common import pad_amounts

LIB = native.lib()
assert LIB is not None, "the compiled kernels must be built in the test environment (pip install -e .)"


@pytest.fixture
def direct_off():
    """Runs a block with every convolution on the GEMM, then restores the direct kernel."""
    class Switch:
        def __enter__(self):
            LIB._set_direct(False)

        def __exit__(self, *exc):
            LIB._set_direct(True)
    yield Switch()
    LIB._set_direct(True)


CASES = [  # kernel, strides, dilation, padding, channels in, filters, batch, input (H, W)
    ((3, 3), (1, 1), (1, 1), "same", 3, 32, 1, (9, 8)),     # an RGB first layer
    ((3, 3), (2, 2), (1, 1), "valid", 1, 7, 2, (11, 10)),
    ((3, 3), (1, 1), (2, 2), "same", 2, 33, 3, (7, 9)),     # dilation; filters past one panel
    ((5, 5), (2, 2), (1, 1), "same", 4, 16, 2, (6, 5)),     # asymmetric 'same' padding with a stride
    ((2, 3), (1, 2), (1, 1), "valid", 5, 70, 1, (5, 9)),
    ((7, 7), (2, 2), (1, 1), "same", 3, 9, 3, (3, 4)),      # a kernel larger than the map
    ((3, 3), (1, 1), (3, 1), "same", 1, 1, 2, (8, 3)),      # one channel in and out
    ((1, 5), (1, 1), (1, 2), "causal", 4, 6, 3, (1, 17)),   # Conv1D, causal, dilated
    ((3, 3), (1, 1), (1, 1), "same", 96, 20, 2, (5, 6)),    # K = 864: more than one K block
]


def _pads(x, k, s, d, padding):
    return [pad_amounts(n, kk, ss, dd, padding) for n, kk, ss, dd in zip(x.shape[1:3], k, s, d)]


def _compiled(x, w, b, res, k, s, d, pads, act="relu", pre=(None, None, -1)):
    f = w.shape[-1]
    oh = (x.shape[1] + sum(pads[0]) - (k[0] - 1) * d[0] - 1) // s[0] + 1
    ow = (x.shape[2] + sum(pads[1]) - (k[1] - 1) * d[1] - 1) // s[1] + 1
    y = np.full((x.shape[0], oh, ow, f), np.nan, np.float32)
    LIB.conv(x, native.pack(w.reshape(-1, f)), y, b, res, native.ACT[act], *k, *s, *d, pads[0][0], pads[1][0], 1,
             *pre)
    return y


def _close(got, want):
    """float32 rounding of sums of up to a few hundred terms: 2e-5 of the magnitude."""
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-5 * max(1.0, float(np.abs(want).max())))


@pytest.mark.parametrize("k,s,d,padding,cin,f,n,hw", CASES)
def test_direct_matches_gemm_and_numpy(isa, direct_off, k, s, d, padding, cin, f, n, hw):
    rng = np.random.default_rng(cin * 100 + f)
    x = rng.standard_normal((n,) + hw + (cin,)).astype(np.float32)
    w = rng.standard_normal(k + (cin, f)).astype(np.float32)
    b = rng.standard_normal(f).astype(np.float32)
    pads = _pads(x, k, s, d, padding)
    pre = numpy_conv.conv2d(x.astype(np.float64), w.reshape(-1, f).astype(np.float64), *k, *s, *d, pads)
    res = rng.standard_normal(pre.shape).astype(np.float32)
    want = np.maximum(pre + b + res, 0)
    direct = _compiled(x, w, b, res, k, s, d, pads)
    with direct_off:
        gemm = _compiled(x, w, b, res, k, s, d, pads)
    in_f32 = np.maximum(numpy_conv.conv2d(x, w.reshape(-1, f), *k, *s, *d, pads) + b + res, 0)
    _close(direct, want)
    _close(gemm, want)
    _close(direct, gemm)
    _close(direct, in_f32)


def test_direct_applies_the_prologue_before_zero_padding(isa):
    """conv(relu6(x * scale + shift)), 'same': the border the direct kernel pads with stays zero."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 6, 7, 3)).astype(np.float32)
    w = rng.standard_normal((3, 3, 3, 10)).astype(np.float32)
    scale, shift = np.float32([0.5, -2.0, 1.5]), np.float32([1.0, 0.5, -0.25])
    pads = _pads(x, (3, 3), (1, 1), (1, 1), "same")
    ref_in = np.clip(x.astype(np.float64) * scale + shift, 0, 6)
    want = numpy_conv.conv2d(ref_in, w.reshape(-1, 10).astype(np.float64), 3, 3, 1, 1, 1, 1, pads)
    got = _compiled(x, w, None, None, (3, 3), (1, 1), (1, 1), pads, "linear", (scale, shift, native.ACT["relu6"]))
    _close(got, want)


def test_direct_leaves_the_input_alone(isa):
    """The padded copy is the kernel's own: x is read, never written (the prologue too)."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 5, 5, 2)).astype(np.float32)
    before = x.copy()
    w = rng.standard_normal((3, 3, 2, 4)).astype(np.float32)
    pads = _pads(x, (3, 3), (1, 1), (1, 1), "same")
    _compiled(x, w, None, None, (3, 3), (1, 1), (1, 1), pads, "linear",
              (np.float32([2.0, 3.0]), np.float32([1.0, 1.0]), native.ACT["relu"]))
    np.testing.assert_array_equal(x, before)


def test_models_predict_the_same_on_either_kernel(h, rng, direct_off):
    """A small CNN (RGB input, then 16 channels) through the plan: direct and GEMM agree within float32 rounding."""
    from keraslite import runtime

    def conv(cin, f, stride, padding):
        return ("Conv2D", {"filters": f, "kernel_size": [3, 3], "strides": [stride, stride], "padding": padding,
                           "dilation_rate": [1, 1], "activation": "relu", "use_bias": True},
                [("kernel", h.rand(rng, 3, 3, cin, f)), ("bias", h.rand(rng, f))])
    model = runtime.load_spec(h.chain((13, 11, 3), [conv(3, 16, 1, "same"), conv(16, 24, 2, "valid")]))
    for n in (1, 2, 3):
        x = h.rand(rng, n, 13, 11, 3)
        direct = model.predict(x)
        with direct_off:
            gemm = model.predict(x)
        _close(direct, gemm)
