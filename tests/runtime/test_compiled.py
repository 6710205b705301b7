"""The compiled kernels (runtime/csrc) against numpy formulas written as loops, for every ISA variant this CPU runs,
and their argument checks."""
import numpy as np
import pytest

from keraslite.runtime import native
from keraslite.runtime.ops.common import pad_amounts

LIB = native.lib()
assert LIB is not None, "the compiled kernels must be built in the test environment (pip install -e .)"


def ref_conv(x, w, s, d, pads, groups=1):
    """Direct convolution by loops over output pixels, in float64 (w: kh, kw, cin/groups, f)."""
    xp = np.pad(x.astype(np.float64), [(0, 0), pads[0], pads[1], (0, 0)])
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


def _sig(v):
    return 1 / (1 + np.exp(-v))


ACTS = {"linear": lambda v: v, "relu": lambda v: np.maximum(v, 0), "relu6": lambda v: np.clip(v, 0, 6),
        "tanh": np.tanh, "sigmoid": _sig, "hard_sigmoid": lambda v: np.clip(v + 3, 0, 6) / 6,
        "hard_sigmoid_keras2": lambda v: np.clip(0.2 * v + 0.5, 0, 1), "swish": lambda v: v * _sig(v),
        "hard_silu": lambda v: v * np.clip(v + 3, 0, 6) / 6, "softsign": lambda v: v / (1 + np.abs(v))}


def _close(got, want, scale=None):
    """float32 rounding of sums of a few hundred terms: 1e-5 of the pre-activation magnitude."""
    scale = np.abs(want).max() if scale is None else scale
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-5 * max(1.0, float(scale)))


@pytest.mark.parametrize("name", sorted(ACTS))
def test_activations_match_formulas(isa, name):
    v = np.linspace(-30, 30, 6007, dtype=np.float32)
    y = v.copy()
    LIB.bias_act(y, None, native.ACT[name])
    # tanh (and the sigmoid made from it) is a rational approximation, |error| < 4e-7: absolute, so x * sigmoid(x)
    # is off by up to |x| times that
    err = np.abs(y - ACTS[name](v.astype(np.float64)))
    assert (err <= 1e-6 * (1 + np.abs(v))).all(), float(err.max())


@pytest.mark.parametrize("n", [1, 3, 10, 16, 17, 1000])
def test_softmax_matches_formula(isa, rng, n):
    x = (rng.standard_normal((4, n)) * 20).astype(np.float32)
    x[3, 0] = np.nan  # a NaN makes its row NaN, as numpy's formula does
    y = x.copy()
    LIB.softmax(y)
    e = np.exp(x[:3].astype(np.float64) - x[:3].max(axis=-1, keepdims=True))
    # float32 rounding of x - max (|x - max| up to ~150 here) moves exp by up to ~1e-5 relative
    np.testing.assert_allclose(y[:3], e / e.sum(axis=-1, keepdims=True), rtol=2e-5, atol=1e-7)
    assert np.isnan(y[3]).all()


@pytest.mark.parametrize("m,k,n", [(1, 5, 3), (1, 700, 90), (9, 960, 70), (13, 17, 33), (130, 300, 16)])
def test_gemm_with_bias_residual_and_activation(isa, rng, m, k, n):
    a, w = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)
    b, r = rng.standard_normal(n).astype(np.float32), rng.standard_normal((m, n)).astype(np.float32)
    pre = a.astype(np.float64) @ w + b + r
    for name in ("linear", "relu6", "sigmoid"):
        y = np.empty((m, n), np.float32)
        LIB.gemm(a, native.pack(w), y, b, r, native.ACT[name])
        _close(y, ACTS[name](pre), np.abs(pre).max())
    y = np.empty((m, n), np.float32)
    LIB.gemm(a, native.pack(w), y, None, None, 0)
    _close(y, a.astype(np.float64) @ w)


PACK_VIEWS = [  # (shape made, view taken, groups): contiguous, transposed, flipped and swapped, partial panels
    ((70, 96), lambda w: w, 1), ((96, 70), lambda w: w.T, 1),
    ((3, 3, 5, 40), lambda w: w[::-1, ::-1].transpose(0, 1, 3, 2), 1),
    ((3, 3, 8, 24), lambda w: w.reshape(-1, 24), 3), ((7,), lambda w: w, 1), ((0, 5), lambda w: w, 1),
    ((9, 40), lambda w: w[:, ::2], 1),
    ((45, 37), lambda w: w.T, 1), ((40, 37), lambda w: w.T[:, ::-1], 1)]  # transposed tiles: partial rows, panels


@pytest.mark.parametrize("shape,view,groups", PACK_VIEWS)
def test_compiled_pack_writes_the_numpy_layout(isa, rng, shape, view, groups):
    w = view(rng.standard_normal(shape).astype(np.float32))
    got, want = native.pack(w, groups), native.pack_numpy(w, groups)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)  # a copy: the same floats in the same places


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("m,k,n,trans_a,view_b", [
    (128, 784, 70, False, False),  # one row block: each task packs its weight slabs (K > KL_KC: several)
    (128, 300, 33, True, True),    # A transposed, B a transposed view, a partial panel
    (300, 200, 96, False, True),   # several row blocks: the weights are packed once first
    (300, 1024, 300, True, False),  # > 1 MiB of weights over > 128 rows: the weights-outer order
    (1, 3, 1, True, False), (7, 1, 5, False, True)])
def test_matmul_on_unpacked_weights(isa, rng, threads, m, k, n, trans_a, view_b):
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(np.float32)
    b = (rng.standard_normal((n, k)).astype(np.float32).T if view_b else rng.standard_normal((k, n)).astype(np.float32))
    bias = rng.standard_normal(n).astype(np.float32)
    pre = (a.T if trans_a else a).astype(np.float64) @ b + bias
    try:
        native.set_num_threads(threads)
        for name in ("linear", "relu", "tanh"):
            y = np.empty((m, n), np.float32)
            LIB.matmul(a, b, y, bias, native.ACT[name], int(trans_a))
            _close(y, ACTS[name](pre), np.abs(pre).max())
        y = np.empty((m, n), np.float32)
        LIB.matmul(a, b, y, None, 0, int(trans_a))
        _close(y, pre - bias, np.abs(pre).max())
    finally:
        native.set_num_threads(native._env_threads())


def test_matmul_and_pack_refuse_bad_arguments(rng):
    a, b, y = np.ones((4, 8), np.float32), np.ones((8, 5), np.float32), np.empty((4, 5), np.float32)
    with pytest.raises(ValueError, match="shapes do not match"):
        LIB.matmul(a, b[:7], y, None, 0, 0)
    with pytest.raises(ValueError, match="shapes do not match"):
        LIB.matmul(a, b, y, None, 0, 1)  # transposed, a is (K=4, M=8)
    with pytest.raises(ValueError, match="2-D float32 b"):
        LIB.matmul(a, b.astype(np.float64), y, None, 0, 0)
    with pytest.raises(ValueError, match="2-D float32 b"):
        LIB.matmul(a, b[None], y, None, 0, 0)
    with pytest.raises(ValueError, match="bias is shorter"):
        LIB.matmul(a, b, y, np.ones(3, np.float32), 0, 0)
    with pytest.raises(ValueError, match="float32"):
        LIB.pack(b.astype(np.float64), np.empty(native.pack(b).size, np.float32), 1)
    with pytest.raises(ValueError, match="wrong size"):
        LIB.pack(b, np.empty(3, np.float32), 1)
    with pytest.raises(ValueError, match="whole number of groups"):
        LIB.pack(b, np.empty(native.pack(b).size, np.float32), 2)



@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("lead,widths", [((2, 5, 5), (64, 32)), ((8, 24, 24), (96, 32)), ((3,), (1, 7, 2)),
                                         ((4, 3), (5,)), ((0, 4), (3, 2)), ((6, 2, 2), (1,) * 64)])
def test_concat_matches_numpy_on_the_last_axis(rng, threads, lead, widths):
    xs = tuple(rng.standard_normal(lead + (w,)).astype(np.float32) for w in widths)
    y = np.full(lead + (sum(widths),), np.nan, np.float32)
    try:
        native.set_num_threads(threads)
        LIB.concat(xs, y)
    finally:
        native.set_num_threads(native._env_threads())
    np.testing.assert_array_equal(y, np.concatenate(xs, axis=-1))  # copies: the same floats


def test_concat_refuses_bad_arguments():
    a, b = np.ones((2, 3, 4), np.float32), np.ones((2, 3, 5), np.float32)
    with pytest.raises(ValueError, match="differ before the last axis"):
        LIB.concat((a, np.ones((2, 4, 5), np.float32)), np.empty((2, 3, 9), np.float32))
    with pytest.raises(ValueError, match="do not add up"):
        LIB.concat((a, b), np.empty((2, 3, 8), np.float32))
    with pytest.raises(ValueError, match="float32"):
        LIB.concat((a, b.astype(np.float64)), np.empty((2, 3, 9), np.float32))
    with pytest.raises(ValueError, match="concat of 65 arrays"):
        LIB.concat((a,) * 65, np.empty((2, 3, 4 * 65), np.float32))
    with pytest.raises(TypeError, match="tuple of arrays"):
        LIB.concat([a, b], np.empty((2, 3, 9), np.float32))


@pytest.mark.parametrize("axis", [-1, 1])
def test_concatenate_step_takes_any_arrays(rng, axis):
    """The runtime's Concatenate: compiled for contiguous float32 on the last axis, numpy for anything else (a
    strided view, float64, another axis), the same values either way."""
    import types

    from keraslite.runtime.ops.merge import OPS

    layer = types.SimpleNamespace(name="cat", class_name="Concatenate", config={"axis": axis})
    fn, _ = OPS["Concatenate"](layer, [(None, 4, 6, 3), (None, 4, 6, 5 if axis == -1 else 3)])
    a = rng.standard_normal((2, 4, 6, 3)).astype(np.float32)
    b = rng.standard_normal((2, 4, 6, 5)).astype(np.float32)
    strided = rng.standard_normal((2, 8, 6, 5)).astype(np.float32)[:, ::2]
    for xs in ((a, b), (a, strided), (a.astype(np.float64), b)):
        if axis == 1:
            xs = (xs[0], xs[1][..., :3])
        np.testing.assert_array_equal(fn(*xs), np.concatenate(xs, axis=axis))


@pytest.mark.parametrize("gate_first", [False, True])
def test_multiply_by_a_channel_gate_is_numpys_product(rng, gate_first):
    """Multiply with a squeeze-and-excite gate (N, 1, 1, C): compiled per sample, numpy's products exactly; other
    operands (a strided view, float64, two full tensors) take numpy's broadcasting."""
    import types

    from keraslite.runtime.ops.merge import OPS

    layer = types.SimpleNamespace(name="mul", class_name="Multiply", config={})
    shapes = [(None, 5, 6, 7), (None, 1, 1, 7)]
    fn, _ = OPS["Multiply"](layer, shapes[::-1] if gate_first else shapes)
    x = rng.standard_normal((3, 5, 6, 7)).astype(np.float32)
    g = rng.standard_normal((3, 1, 1, 7)).astype(np.float32)
    strided = rng.standard_normal((3, 10, 6, 7)).astype(np.float32)[:, ::2]
    for a, b in ((x, g), (strided, g), (x.astype(np.float64), g), (x, x)):
        args = (b, a) if gate_first else (a, b)
        np.testing.assert_array_equal(fn(*args), np.multiply(*args))

CONVS = [  # kernel, strides, dilation, padding, groups, channels in, filters, input (H, W)
    ((3, 3), (1, 1), (1, 1), "same", 1, 4, 6, (9, 8)), ((3, 2), (2, 1), (1, 1), "valid", 1, 3, 40, (9, 8)),
    ((3, 3), (1, 1), (2, 2), "same", 1, 5, 7, (9, 8)), ((1, 1), (1, 1), (1, 1), "valid", 2, 4, 6, (9, 8)),
    ((3, 3), (2, 2), (1, 1), "same", 2, 8, 70, (9, 8)), ((5, 5), (3, 3), (1, 1), "same", 1, 300, 9, (9, 8)),
    ((1, 1), (2, 2), (1, 1), "valid", 1, 16, 33, (9, 8)), ((7, 7), (2, 2), (1, 1), "same", 1, 3, 64, (9, 8)),
    ((3, 3), (1, 1), (1, 1), "same", 1, 256, 130, (9, 8)),  # > 1 MiB of weights over > 128 rows: K blocks outermost
    ((5, 5), (1, 1), (2, 2), "same", 1, 300, 7, (3, 2)),  # most taps of the rows near the border read only padding
    # edge shapes: a 1x1 map, odd sizes, a kernel wider than the input, groups with dilation, one channel in/out
    ((3, 3), (1, 1), (1, 1), "same", 1, 17, 19, (1, 1)), ((3, 3), (2, 2), (1, 1), "valid", 1, 5, 3, (7, 11)),
    ((5, 5), (2, 2), (1, 1), "same", 1, 6, 10, (2, 3)), ((3, 3), (1, 1), (2, 2), "same", 3, 6, 9, (5, 7)),
    ((1, 1), (2, 2), (1, 1), "same", 1, 1, 1, (5, 5)), ((2, 2), (1, 1), (1, 1), "same", 1, 7, 5, (4, 5)),
    ((1, 3), (1, 1), (1, 3), "causal", 1, 4, 4, (1, 13))]  # Conv1D: the width axis


@pytest.mark.parametrize("k,s,d,padding,groups,cin,f,hw", CONVS)
def test_conv_matches_direct_loops(isa, rng, k, s, d, padding, groups, cin, f, hw):
    x = rng.standard_normal((2,) + hw + (cin,)).astype(np.float32)
    w = rng.standard_normal(k + (cin // groups, f)).astype(np.float32)
    pads = [pad_amounts(n, kk, ss, dd, padding) for n, kk, ss, dd in zip(x.shape[1:3], k, s, d)]
    want = ref_conv(x, w, s, d, pads, groups)
    b = rng.standard_normal(f).astype(np.float32)
    res = rng.standard_normal(want.shape).astype(np.float32)
    y = np.empty(want.shape, np.float32)
    LIB.conv(x, native.pack(w.reshape(-1, f), groups), y, b, res, native.ACT["relu"], *k, *s, *d, pads[0][0],
             pads[1][0], groups, None, None, -1)
    _close(y, np.maximum(want + b + res, 0), np.abs(want).max())


def test_nan_propagates_through_activations_and_pooling(isa):
    """numpy and Keras keep a NaN through relu, relu6, the hard activations and max pooling."""
    for name in ("relu", "relu6", "hard_sigmoid", "hard_silu", "tanh"):
        y = np.array([np.nan] * 19 + [1.0], np.float32)
        LIB.bias_act(y, None, native.ACT[name])
        assert np.isnan(y[:19]).all() and not np.isnan(y[19]), name
    x = np.zeros((1, 2, 2, 19), np.float32)
    x[0, 1, 1] = np.nan
    y = np.empty((1, 1, 1, 19), np.float32)
    LIB.pool(x, y, 0, 2, 2, 2, 2, 0, 0, 0)
    assert np.isnan(y).all()


def test_conv_prologue_is_applied_before_zero_padding(isa, rng):
    """conv(relu(x * scale + shift)) with 'same' padding: the padded border is zero after the prologue."""
    x = rng.standard_normal((2, 6, 7, 20)).astype(np.float32)
    w = rng.standard_normal((3, 3, 20, 5)).astype(np.float32)
    scale, shift = rng.random(20).astype(np.float32) + 0.5, rng.standard_normal(20).astype(np.float32)
    want = ref_conv(np.maximum(x * scale + shift, 0), w, (1, 1), (1, 1), [(1, 1), (1, 1)])
    for s_, t_ in ((scale, shift), (None, None)):
        y = np.empty(want.shape, np.float32)
        LIB.conv(x, native.pack(w.reshape(-1, 5)), y, None, None, 0, 3, 3, 1, 1, 1, 1, 1, 1, 1, s_, t_,
                 native.ACT["relu"])
        ref = want if s_ is not None else ref_conv(np.maximum(x, 0), w, (1, 1), (1, 1), [(1, 1), (1, 1)])
        _close(y, ref)


@pytest.mark.parametrize("mult,s,padding,c,k", [(1, (1, 1), "same", 35, 3), (2, (2, 2), "same", 3, 3),
                                                (1, (2, 1), "valid", 16, 3), (1, (2, 2), "same", 11, 5)])
def test_depthwise_matches_direct_loops(isa, rng, mult, s, padding, c, k):
    x = rng.standard_normal((2, 9, 8, c)).astype(np.float32)
    w = rng.standard_normal((k, k, c, mult)).astype(np.float32)
    pads = [pad_amounts(n, k, ss, 1, padding) for n, ss in zip(x.shape[1:3], s)]
    scale, shift = rng.random(c).astype(np.float32) + 0.5, rng.standard_normal(c).astype(np.float32)
    want = ref_conv(np.clip(x * scale + shift, 0, 6), w.reshape(k, k, 1, c * mult), s, (1, 1), pads, groups=c)
    b = rng.standard_normal(c * mult).astype(np.float32)
    y = np.empty(want.shape, np.float32)
    LIB.depthwise(x, np.ascontiguousarray(w.reshape(k, k, c * mult)), y, b, native.ACT["relu"], *s, 1, 1,
                  pads[0][0], pads[1][0], scale, shift, native.ACT["relu6"])
    _close(y, np.maximum(want + b, 0))


@pytest.mark.parametrize("avg", [0, 1])
@pytest.mark.parametrize("size,s,pads,zeros", [
    ((3, 3), (2, 2), ((1, 1), (1, 1)), 0), ((2, 2), (2, 2), ((0, 0), (0, 0)), 0), ((3, 3), (1, 1), ((1, 1), (0, 2)), 1),
    ((2, 3), (1, 2), ((0, 0), (1, 1)), 0), ((4, 1), (3, 1), ((0, 0), (0, 0)), 0)])  # the last two: windows inside
def test_pooling_matches_loops(isa, rng, avg, size, s, pads, zeros):
    """Padding either excluded (Keras 'same') or zeros that take part (an absorbed ZeroPadding2D)."""
    x = rng.standard_normal((2, 7, 6, 19)).astype(np.float32)
    oh = (7 + sum(pads[0]) - size[0]) // s[0] + 1
    ow = (6 + sum(pads[1]) - size[1]) // s[1] + 1
    fill = 0.0 if zeros else np.nan
    xp = np.pad(x.astype(np.float64), [(0, 0), pads[0], pads[1], (0, 0)], constant_values=fill)
    want = np.empty((2, oh, ow, 19))
    for i in range(oh):
        for j in range(ow):
            win = xp[:, i * s[0]:i * s[0] + size[0], j * s[1]:j * s[1] + size[1]]
            want[:, i, j] = np.nanmean(win, axis=(1, 2)) if avg else np.nanmax(win, axis=(1, 2))
    y = np.empty(want.shape, np.float32)
    LIB.pool(x, y, avg, *size, *s, pads[0][0], pads[1][0], zeros)
    np.testing.assert_allclose(y, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU", "GRU_reset_before"])
@pytest.mark.parametrize("n,t,threads,u", [(1, 6, 1, 19), (5, 6, 1, 19), (37, 40, 1, 19), (37, 40, 3, 19),
                                           (9, 40, 2, 19), (9, 12, 2, 64), (3, 4, 1, 300)])
def test_recurrences_match_formulas(isa, rng, kind, n, t, threads, u):
    """On more threads than one, the batch rows are split into parts that each run every step (37 rows: 3 parts);
    300 units: the step's product in two K blocks."""
    gates = {"SimpleRNN": 1, "LSTM": 4}.get(kind, 3)
    xw = rng.standard_normal((n, t, gates * u)).astype(np.float32)
    U = (rng.standard_normal((u, gates * u)) * 0.3).astype(np.float32)
    rb = rng.standard_normal(gates * u).astype(np.float32)
    h, c, want = np.zeros((n, u)), np.zeros((n, u)), np.zeros((n, t, u))
    for k in range(t):
        x = xw[:, k].astype(np.float64)
        if kind == "SimpleRNN":
            h = np.tanh(x + h @ U)
        elif kind == "LSTM":
            z = x + h @ U
            c = _sig(z[:, u:2 * u]) * c + _sig(z[:, :u]) * np.tanh(z[:, 2 * u:3 * u])
            h = _sig(z[:, 3 * u:]) * np.tanh(c)
        elif kind == "GRU":
            hz = h @ U + rb
            zg, r = _sig(x[:, :u] + hz[:, :u]), _sig(x[:, u:2 * u] + hz[:, u:2 * u])
            h = zg * h + (1 - zg) * np.tanh(x[:, 2 * u:] + r * hz[:, 2 * u:])
        else:
            hz = h @ U[:, :2 * u]
            zg, r = _sig(x[:, :u] + hz[:, :u]), _sig(x[:, u:2 * u] + hz[:, u:])
            h = zg * h + (1 - zg) * np.tanh(x[:, 2 * u:] + (r * h) @ U[:, 2 * u:])
        want[:, k] = h
    code = {"SimpleRNN": 0, "LSTM": 1, "GRU": 2, "GRU_reset_before": 3}[kind]
    if code == 3:
        up, up2 = native.pack(np.ascontiguousarray(U[:, :2 * u])), native.pack(np.ascontiguousarray(U[:, 2 * u:]))
    else:
        up, up2 = native.pack(U), None
    hh, cc = np.zeros((n, u), np.float32), (np.zeros((n, u), np.float32) if code == 1 else None)
    seq, serial = np.empty((n, t, u), np.float32), np.empty((n, t, u), np.float32)
    try:
        for count, out in ((1, serial), (threads, seq)):
            native.set_num_threads(count)
            hh[...] = 0
            if cc is not None:
                cc[...] = 0
            LIB.rnn(code, xw, up, up2, rb if code == 2 else None, hh, cc, out, native.ACT["tanh"],
                    native.ACT["sigmoid"])
    finally:
        native.set_num_threads(native._env_threads())
    # parts of whole micro-tiles: every row meets the tile shape it meets on one thread (9 rows: 8 | 1, not 4 | 5)
    np.testing.assert_array_equal(seq, serial)
    np.testing.assert_allclose(seq, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(hh, want[:, -1], rtol=1e-4, atol=1e-5)
    if code == 1:
        np.testing.assert_allclose(cc, c, rtol=1e-4, atol=1e-5)


def test_affine_is_one_batchnorm_pass(isa, rng):
    x = rng.standard_normal((3, 5, 37)).astype(np.float32)
    scale, shift = rng.standard_normal(37).astype(np.float32), rng.standard_normal(37).astype(np.float32)
    y = np.empty_like(x)
    LIB.affine(x, scale, shift, y, native.ACT["relu"])
    np.testing.assert_allclose(y, np.maximum(x * scale + shift, 0), rtol=1e-6, atol=1e-6)


def test_bad_arguments_raise_instead_of_touching_memory(rng):
    a = rng.standard_normal((4, 8)).astype(np.float32)
    packed = native.pack(rng.standard_normal((8, 5)).astype(np.float32))
    y = np.empty((4, 5), np.float32)
    with pytest.raises(ValueError, match="float32"):
        LIB.gemm(a.astype(np.float64), packed, y, None, None, 0)
    with pytest.raises(ValueError, match="packed weights too small"):
        LIB.gemm(a, packed[:10], y, None, None, 0)
    with pytest.raises(ValueError, match="row counts"):
        LIB.gemm(a, packed, np.empty((3, 5), np.float32), None, None, 0)
    with pytest.raises(ValueError, match="writable"):
        ro = np.empty((4, 5), np.float32)
        ro.flags.writeable = False
        LIB.gemm(a, packed, ro, None, None, 0)
    with pytest.raises(ValueError, match="activation"):
        LIB.gemm(a, packed, y, None, None, 99)
    with pytest.raises(ValueError, match="C-contiguous"):
        LIB.conv(np.zeros((1, 4, 4, 8), np.float32)[:, ::2], packed, np.empty((1, 2, 4, 5), np.float32), None, None,
                 0, 1, 1, 1, 1, 1, 1, 0, 0, 1, None, None, -1)
    with pytest.raises(ValueError, match="prologue"):
        LIB.conv(np.zeros((1, 4, 4, 8), np.float32), packed, np.empty((1, 4, 4, 5), np.float32), None, None,
                 0, 1, 1, 1, 1, 1, 1, 0, 0, 1, np.ones(3, np.float32), None, 1)
    with pytest.raises(ValueError, match="pool geometry"):
        LIB.pool(np.zeros((1, 4, 4, 2), np.float32), np.empty((1, 2, 2, 2), np.float32), 0, 2, 2, 2, 2, 2, 0, 0)
    x4, y2 = np.zeros((1, 4, 4, 2), np.float32), np.zeros((1, 2, 2, 2), np.float32)
    with pytest.raises(ValueError, match="max_pool_grad shapes"):  # gx not x's shape
        LIB.max_pool_grad(x4, y2, y2, np.empty((1, 4, 3, 2), np.float32), 2, 2, 2, 2, 0, 0)
    with pytest.raises(ValueError, match="max_pool_grad shapes"):  # g not y's shape
        LIB.max_pool_grad(x4, y2, np.zeros((1, 2, 1, 2), np.float32), np.empty_like(x4), 2, 2, 2, 2, 0, 0)
    with pytest.raises(ValueError, match="geometry"):  # padding as large as the window
        LIB.max_pool_grad(x4, y2, y2, np.empty_like(x4), 2, 2, 2, 2, 2, 0)
    with pytest.raises(ValueError, match="writable"):
        LIB.max_pool_grad(x4, y2, y2, np.broadcast_to(np.float32(0), x4.shape), 2, 2, 2, 2, 0, 0)
    with pytest.raises(TypeError, match="10 arguments"):
        LIB.max_pool_grad(x4, y2, y2, np.empty_like(x4), 2, 2, 2, 2)


def _conv_model(h, rng):
    layers = [("Conv2D", {"filters": 48, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
                          "dilation_rate": [1, 1], "activation": "relu", "use_bias": True},
               [("kernel", h.rand(rng, 3, 3, 16, 48)), ("bias", h.rand(rng, 48))]),
              ("DepthwiseConv2D", {"kernel_size": [3, 3], "strides": [1, 1], "padding": "same", "depth_multiplier": 1,
                                   "activation": "relu6", "use_bias": True},
               [("depthwise_kernel", h.rand(rng, 3, 3, 48, 1)), ("bias", h.rand(rng, 48))]),
              ("MaxPooling2D", {"pool_size": [2, 2], "strides": [2, 2], "padding": "valid"}, [])]
    from keraslite import runtime

    return runtime.load_spec(h.chain((24, 24, 16), layers))


def test_thread_pool_gives_the_serial_numbers(h, rng):
    model = _conv_model(h, rng)
    x = h.rand(rng, 8, 24, 24, 16)
    try:
        native.set_num_threads(1)
        serial = model.predict(x)
        native.set_num_threads(3)
        pooled = [model.predict(x) for _ in range(5)]
    finally:
        native.set_num_threads(native._env_threads())
    for y in pooled:
        np.testing.assert_allclose(y, serial, rtol=1e-6, atol=1e-6)


def test_threads_predicting_at_once_share_the_pool(h, rng):
    """Server threads call predict concurrently: one of them runs on the pool, the others serially, same numbers."""
    import threading

    model = _conv_model(h, rng)
    xs = [h.rand(rng, n, 24, 24, 16) for n in (1, 3, 8)] * 2
    try:
        native.set_num_threads(1)
        want = [model.predict(x) for x in xs]
        native.set_num_threads(2)
        errors = []

        def work(i):
            try:
                for _ in range(6):
                    np.testing.assert_allclose(model.predict(xs[i]), want[i], rtol=1e-6, atol=1e-6)
            except Exception as exc:  # collected and reported below
                errors.append(exc)
        threads = [threading.Thread(target=work, args=(i,)) for i in range(len(xs))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        native.set_num_threads(native._env_threads())
    assert not errors, errors[:3]


def test_idle_pool_workers_go_to_sleep():
    """A worker polls for the next job for a millisecond after one ends, then sleeps: an idle process (a server
    between requests) costs no CPU. Measured in a fresh process, whose only other threads are idle."""
    import subprocess
    import sys

    script = """if True:
        import time
        import numpy as np
        from keraslite.runtime import native
        native.set_num_threads(2)
        lib = native.lib()
        a, b = np.ones((256, 256), np.float32), np.ones((256, 256), np.float32)
        for _ in range(20):
            lib.matmul(a, b, np.empty((256, 256), np.float32), None, 0, 0)
        time.sleep(0.05)
        before = time.process_time()
        time.sleep(0.5)
        print(time.process_time() - before)
    """
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert float(run.stdout) < 0.1, f"{run.stdout.strip()} s of CPU time in 0.5 s asleep"


def test_thread_pool_survives_fork(h, rng):
    """gunicorn forks workers after the app loaded (and warmed) its models: the child starts its own pool."""
    import os

    model = _conv_model(h, rng)
    x = h.rand(rng, 8, 24, 24, 16)
    native.set_num_threads(2)
    try:
        want = model.predict(x)
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: predict with the pool, report, leave without running pytest's exit handlers
            import signal

            signal.alarm(60)  # a deadlocked pool kills the child instead of hanging the suite
            ok = False
            try:
                ok = all(np.allclose(model.predict(x), want, rtol=1e-6, atol=1e-6) for _ in range(3))
            finally:
                os.write(write, b"1" if ok else b"0")
                os._exit(0)
        os.close(write)
        _, status = os.waitpid(pid, 0)
        assert os.read(read, 1) == b"1" and status == 0
        os.close(read)
    finally:
        native.set_num_threads(native._env_threads())


@pytest.mark.parametrize("threads", [1, 2])
def test_weights_outer_order_and_row_blocks_agree(rng, threads):
    """A convolution with > 1 MiB of weights over > 128 rows: K blocks outermost (one thread) or row blocks."""
    x = rng.standard_normal((2, 10, 9, 256)).astype(np.float32)
    w = (rng.standard_normal((3, 3, 256, 150)) * 0.05).astype(np.float32)
    packed, want = native.pack(w.reshape(-1, 150)), ref_conv(x, w, (1, 1), (1, 1), ((1, 1), (1, 1)))
    got = {}
    try:
        native.set_num_threads(threads)
        for wide in (True, False):
            LIB._set_wide(wide)
            y = np.empty((2, 10, 9, 150), np.float32)
            LIB.conv(x, packed, y, None, None, 0, 3, 3, 1, 1, 1, 1, 1, 1, 1, None, None, -1)
            got[wide] = y
    finally:
        LIB._set_wide(True)
        native.set_num_threads(native._env_threads())
    for y in got.values():
        _close(y, want)


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("batch,hw,cin,k,cout,direct", [
    (1, 12, 16, 3, 40, True),    # 144 rows: two row blocks of 72, not 128 + 16
    (1, 17, 8, 3, 33, True),     # 289 rows, a partial panel: 3 blocks rounded up to a multiple of the threads
    (8, 12, 24, 1, 64, False),   # 1152 rows of a 1x1 convolution read in place: 9 blocks rounded up
    (2, 11, 300, 3, 20, False),  # the GEMM's gathered windows, K in several blocks
    (1, 12, 256, 3, 512, False),  # 144 rows, > 1 MiB of weights: the im2col gathered once, the panels split
    (1, 9, 64, 3, 600, False),   # 81 rows, 19 panels: the same, one row block
])
def test_row_blocks_shared_over_threads_give_the_serial_numbers(rng, threads, batch, hw, cin, k, cout, direct):
    """The pool shares a call's rows out as evenly as the micro-tiles allow; each row's sums are those of one
    thread, whichever block holds it."""
    x = rng.standard_normal((batch, hw, hw, cin)).astype(np.float32)
    w = (rng.standard_normal((k, k, cin, cout)) * 0.1).astype(np.float32)
    packed, p = native.pack(w.reshape(-1, cout)), k // 2
    want = ref_conv(x, w, (1, 1), (1, 1), ((p, p), (p, p)))
    got = {}
    was = LIB._set_direct(direct)
    try:
        for n in (1, threads):
            native.set_num_threads(n)
            y = np.empty((batch, hw, hw, cout), np.float32)
            LIB.conv(x, packed, y, None, None, 0, k, k, 1, 1, 1, 1, p, p, 1, None, None, -1)
            got[n] = y
    finally:
        LIB._set_direct(was)
        native.set_num_threads(native._env_threads())
    _close(got[1], want)
    np.testing.assert_allclose(got[threads], got[1], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("threads", [2, 3])
def test_weight_gradient_rows_shared_over_threads(rng, threads):
    """Training's x.T @ dz of a 784-input Dense: 784 rows in 8 (or 9) even blocks, as on one thread."""
    x, dz = rng.standard_normal((128, 784)).astype(np.float32), rng.standard_normal((128, 96)).astype(np.float32)
    got = {}
    try:
        for n in (1, threads):
            native.set_num_threads(n)
            y = np.empty((784, 96), np.float32)
            LIB.matmul(x, dz, y, None, 0, 1)
            got[n] = y
    finally:
        native.set_num_threads(native._env_threads())
    want = x.T.astype(np.float64) @ dz
    _close(got[1], want, np.abs(want).max())
    np.testing.assert_allclose(got[threads], got[1], rtol=1e-6, atol=1e-6)


def test_a_job_of_more_tasks_than_a_claim_numbers_runs_each_once(rng):
    """A grouped 1x1 convolution of 512 groups over 16,640 rows is 66,560 tasks on 2 threads, more than the pool's
    16-bit claim numbers: tasks are claimed in runs, and every one runs exactly once (a task run twice or not at all
    would leave a wrong or an unwritten channel)."""
    groups, rows = 512, 128 * 130
    x = rng.standard_normal((1, 128, 130, groups)).astype(np.float32)
    w = rng.standard_normal((1, 1, 1, groups)).astype(np.float32)
    packed = native.pack(w.reshape(1, groups), groups)
    y = np.full((1, 128, 130, groups), np.nan, np.float32)
    try:
        native.set_num_threads(2)
        LIB.conv(x, packed, y, None, x, 0, 1, 1, 1, 1, 1, 1, 0, 0, groups, None, None, -1)  # x * w + x
    finally:
        native.set_num_threads(native._env_threads())
    assert rows * groups // 128 > 65535
    np.testing.assert_allclose(y, x * w.reshape(groups) + x, rtol=1e-6, atol=1e-6)
