"""Every differentiable primitive against central finite differences, plus GradientTape's contract."""
import numpy as np
import pytest

from keraslite.errors import KerasliteError
from keraslite.train.autodiff import PRIMITIVES, GradientTape, Tensor, Variable
from keraslite.train.autodiff import conv as C, elementwise as E, linalg as L, nn as N, reduce as R, shape as S
from keraslite.train.autodiff import conv_transpose as CT, depthwise as D, image as I, recurrent as RC

from .gradcheck import check_gradients

rng = np.random.default_rng(1)


def r(*shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, shape)


def away(*shape, gap=0.1):
    """Values kept away from kinks at 0 (relu, abs, ...)."""
    x = r(*shape)
    return np.where(np.abs(x) < gap, x + np.sign(x + 1e-9) * 2 * gap, x)


POS = lambda *s: r(*s, low=0.3, high=2.0)  # noqa: E731
LABELS = np.array([0, 2, 1, 2])
# a rotation by 0.3 rad about the centre plus a shift, and a zoom: points land between pixels and off the image
AFFINE = np.array([[np.cos(0.3), -np.sin(0.3), 0.9, np.sin(0.3), np.cos(0.3), -0.4, 0.0, 0.0],
                   [0.8, 0.0, 0.37, 0.0, 1.3, -0.61, 0.0, 0.0]])

CASES = {
    "add": (E.add, [r(3, 4), r(4)]),
    "subtract": (E.subtract, [r(3, 1), r(1, 4)]),
    "multiply": (E.multiply, [r(2, 3), r(2, 3)]),
    "divide": (E.divide, [r(2, 3), POS(3)]),
    "negative": (E.negative, [r(3)]),
    "square": (E.square, [r(3)]),
    "sqrt": (E.sqrt, [POS(3)]),
    "rsqrt": (E.rsqrt, [POS(3)]),
    "exp": (E.exp, [r(3)]),
    "expm1": (E.expm1, [r(3)]),
    "log": (E.log, [POS(3)]),
    "log1p": (E.log1p, [POS(3)]),
    "abs": (E.absolute, [away(5)]),
    "reciprocal": (E.reciprocal, [POS(3)]),
    "power": (E.power, [POS(3), r(3)]),
    "maximum": (E.maximum, [r(4), r(4) + 5]),
    "minimum": (E.minimum, [r(2, 4), r(4)]),
    "clip": (lambda x: E.clip(x, -1.0, 1.0), [away(6) * 1.3]),
    "where": (lambda x, y: E.where(np.array([True, False, True]), x, y), [r(3), r(3)]),
    "cast": (lambda x: E.cast(x, "float64"), [r(3)]),
    "sin": (E.sin, [r(3)]),
    "cos": (E.cos, [r(3)]),
    "arctan": (E.arctan, [r(3)]),
    "erf": (E.erf, [r(4)]),
    "mod": (E.mod, [POS(4) * 3, POS(4) + 0.5]),
    "relu": (E.relu, [away(6)]),
    "relu6": (E.relu6, [away(6) * 4]),
    "leaky_relu": (lambda x: E.leaky_relu(x, negative_slope=0.2), [away(6)]),
    "sigmoid": (E.sigmoid, [r(5)]),
    "tanh": (E.tanh, [r(5)]),
    "softplus": (E.softplus, [r(5)]),
    "softsign": (E.softsign, [away(5)]),
    "elu": (lambda x: E.elu(x, alpha=1.0), [away(5)]),
    "selu": (E.selu, [away(5)]),
    "silu": (E.silu, [r(5)]),
    "gelu": (lambda x: E.gelu(x, approximate=False), [r(5)]),
    "hard_sigmoid": (E.hard_sigmoid, [away(6) * 3]),
    "hard_sigmoid_keras2": (E.hard_sigmoid_keras2, [away(6) * 2]),
    "hard_silu": (E.hard_silu, [away(6) * 3]),
    "mish": (E.mish, [r(5)]),
    "softmax": (lambda x: E.softmax(x, axis=-1), [r(3, 4)]),
    "log_softmax": (lambda x: E.log_softmax(x, axis=0), [r(3, 4)]),
    "sum": (lambda x: R.sum_(x, axis=1), [r(3, 4)]),
    "mean": (lambda x: R.mean(x, axis=(0, 2), keepdims=True), [r(2, 3, 4)]),
    "max": (lambda x: R.max_(x, axis=0), [r(3, 4)]),
    "min": (lambda x: R.min_(x), [r(3, 4)]),
    "prod": (lambda x: R.prod(x, axis=1), [r(3, 4)]),
    "logsumexp": (lambda x: R.logsumexp(x, axis=-1), [r(3, 4)]),
    "var": (lambda x: R.var(x, axis=0), [r(5, 2)]),
    "cumsum": (lambda x: R.cumsum(x, axis=1), [r(2, 4)]),
    "reshape": (lambda x: S.reshape(x, (4, 3)), [r(3, 4)]),
    "transpose": (lambda x: S.transpose(x, (2, 0, 1)), [r(2, 3, 4)]),
    "expand_dims": (lambda x: S.expand_dims(x, 1), [r(3)]),
    "squeeze": (lambda x: S.squeeze(x, 1), [r(3, 1)]),
    "broadcast_to": (lambda x: S.broadcast_to(x, (2, 3)), [r(3)]),
    "getitem": (lambda x: S.getitem(x, (slice(None), [0, 2, 2])), [r(2, 3)]),
    "take": (lambda x: S.take(x, np.array([[0, 1], [1, 1]]), axis=1), [r(2, 3)]),
    "take_along_axis": (lambda x: S.take_along_axis(x, np.array([[0], [2]]), axis=1), [r(2, 3)]),
    "concatenate": (lambda x, y: S.concatenate(x, y, axis=1), [r(2, 3), r(2, 1)]),
    "stack": (lambda x, y: S.stack(x, y, axis=1), [r(2, 3), r(2, 3)]),
    "split": (lambda x: list(S.split(x, [1, 3], axis=1)), [r(2, 4)]),
    "pad": (lambda x: S.pad(x, ((1, 0), (0, 2))), [r(2, 3)]),
    "tile": (lambda x: S.tile(x, (2, 3)), [r(2, 3)]),
    "repeat": (lambda x: S.repeat(x, 2, axis=0), [r(2, 3)]),
    "flip": (lambda x: S.flip(x, 1), [r(2, 3)]),
    "matmul": (L.matmul, [r(2, 3, 4), r(4, 5)]),
    "einsum": (lambda x, y: L.einsum(x, y, subscripts="bijc,bijd->bcd"), [r(2, 3, 3, 2), r(2, 3, 3, 4)]),
    "tensordot": (lambda x, y: L.tensordot(x, y, axes=([0, 2], [1, 0])), [r(3, 2, 4), r(4, 3, 5)]),
    "dense": (lambda x, k, b: N.dense(x, k, b, activation="tanh"), [r(4, 3), r(3, 2), r(2)]),
    "embedding_lookup": (lambda t: N.embedding_lookup(t, np.array([[0, 2], [2, 2]])), [r(3, 4)]),
    "sparse_softmax_cross_entropy": (lambda x: N.sparse_softmax_cross_entropy(x, LABELS), [r(4, 3)]),
    "softmax_cross_entropy": (N.softmax_cross_entropy, [r(4, 3), rng.dirichlet(np.ones(3), 4)]),
    "sigmoid_cross_entropy": (N.sigmoid_cross_entropy, [r(4, 3), rng.uniform(0, 1, (4, 3))]),
    "batch_norm_train": (lambda x, g, b: N.batch_norm_train(x, g, b, axes=(0, 1), epsilon=1e-3)[0],
                         [r(3, 2, 4), r(4), r(4)]),
    "conv2d": (lambda x, k, b: C.conv2d(x, k, b, strides=(2, 1), padding="same", dilation=(1, 1)),
               [r(2, 5, 4, 3), r(3, 2, 3, 2), r(2)]),
    "max_pool2d": (lambda x: C.max_pool2d(x, pool=(2, 2), strides=(1, 2), padding="same"),
                   [rng.permutation(2 * 5 * 4 * 3).reshape(2, 5, 4, 3) * 0.1]),
    "avg_pool2d": (lambda x: C.avg_pool2d(x, pool=(3, 2), strides=(2, 2), padding="same"), [r(2, 5, 4, 3)]),
    "conv2d_transpose": (lambda x, k, b: CT.conv2d_transpose(x, k, b, strides=(2, 3), padding="same",
                                                             output_padding=(1, 0), dilation=(1, 1)),
                         [r(2, 3, 2, 3), r(3, 2, 2, 3), r(2)]),
    "depthwise_conv2d": (lambda x, k, b: D.depthwise_conv2d(x, k, b, strides=(2, 1), padding="same",
                                                            dilation=(1, 1)), [r(2, 5, 4, 3), r(3, 2, 3, 2), r(6)]),
    "grouped_conv2d": (lambda x, k, b: D.grouped_conv2d(x, k, b, strides=(1, 2), padding="same", dilation=(1, 1),
                                                        groups=2), [r(2, 4, 5, 4), r(2, 3, 2, 6), r(6)]),
    "resample": (lambda x: I.resample(x, matrix=I.bilinear_matrix(3, 7), axis=1), [r(2, 3, 2)]),
    "affine_transform": (lambda x: I.affine_transform(x, transform=AFFINE, interpolation="bilinear",
                                                      fill_mode="constant", fill_value=0.5), [r(2, 5, 4, 2)]),
    # whole-sequence RNNs (inputs, kernel, recurrent kernel, bias, initial states); more in test_recurrent.py
    "simple_rnn": (lambda *a: list(RC.simple_rnn(*a, return_sequences=True)),
                   [r(2, 3, 2), r(2, 3) / 2, r(3, 3) / 2, r(3), r(2, 3)]),
    "lstm": (lambda *a: list(RC.lstm(*a)), [r(2, 3, 2), r(2, 8) / 2, r(2, 8) / 2, r(8), r(2, 2), r(2, 2)]),
    "gru": (lambda *a: list(RC.gru(*a, return_sequences=True)), [r(2, 3, 2), r(2, 6) / 2, r(2, 6) / 2, r(2, 6),
                                                                 r(2, 2)]),
    "bidirectional_simple_rnn": (lambda *a: list(RC.bidirectional_simple_rnn(*a, forward={}, backward={
        "go_backwards": True})), [r(2, 3, 2), r(2, 2), r(2, 2), r(2), r(2, 2), r(2, 2), r(2), r(2, 2), r(2, 2)]),
    "bidirectional_lstm": (lambda *a: list(RC.bidirectional_lstm(*a, forward={"return_sequences": True}, backward={
        "go_backwards": True, "return_sequences": True})), [r(2, 3, 2), r(2, 4), r(1, 4), r(4), r(2, 4), r(1, 4),
                                                            r(4), r(2, 1), r(2, 1), r(2, 1), r(2, 1)]),
    "bidirectional_gru": (lambda *a: list(RC.bidirectional_gru(*a, forward={"reset_after": False}, backward={
        "go_backwards": True, "reset_after": False})), [r(2, 3, 2), r(2, 3), r(1, 3), r(3), r(2, 3), r(1, 3), r(3),
                                                        r(2, 1), r(2, 1)]),
}
NOT_DIFFERENTIABLE = {"equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and",
                      "logical_or", "logical_not", "sign", "floor", "ceil", "round", "floor_divide", "isnan",
                      "isfinite", "argmax", "argmin"}


def test_every_primitive_has_a_gradient_check():
    assert set(PRIMITIVES) - set(CASES) - NOT_DIFFERENTIABLE == set()
    assert set(CASES) - set(PRIMITIVES) == set()


@pytest.mark.parametrize("name", sorted(CASES))
def test_primitive_gradient(name):
    fn, inputs = CASES[name]
    check_gradients(fn, inputs)


def test_dense_activations_and_dilated_conv():
    for act in ("linear", "relu", "relu6"):
        check_gradients(lambda x, k, b: N.dense(x, k, b, activation=act), [away(4, 3) * 2, r(3, 2), r(2)])
    check_gradients(lambda x, k: C.conv2d(x, k, None, strides=(1, 1), padding="valid", dilation=(2, 2)),
                    [r(1, 6, 6, 2), r(2, 2, 2, 3)])
    for act in ("relu", "tanh"):
        check_gradients(lambda x, k, b: C.conv2d(x, k, b, padding="same", activation=act),
                        [away(1, 4, 4, 2), r(3, 3, 2, 2), away(2)])


def test_conv_variants_and_image_modes():
    for act in ("relu", "relu6", "tanh"):
        check_gradients(lambda x, k, b: C.conv2d(x, k, b, strides=(1, 2), padding="same", dilation=(1, 1),
                                                 activation=act), [away(2, 4, 5, 2) * 3, r(2, 3, 2, 3), r(3)])
    check_gradients(lambda x, k: CT.conv2d_transpose(x, k, None, strides=(1, 1), padding="valid",
                                                     output_padding=None, dilation=(2, 1)),
                    [r(1, 3, 3, 2), r(2, 3, 2, 2)])
    check_gradients(lambda x, k: CT.conv2d_transpose(x, k, None, strides=(2, 2), padding="valid",
                                                     output_padding=(1, 1), dilation=(1, 1)),
                    [r(1, 2, 3, 2), r(3, 3, 1, 2)])
    check_gradients(lambda x, k: D.depthwise_conv2d(x, k, None, strides=(1, 1), padding="valid", dilation=(2, 1)),
                    [r(2, 6, 4, 3), r(2, 2, 3, 1)])
    for interpolation in ("nearest", "bilinear"):
        for fill_mode in ("reflect", "wrap", "nearest", "constant"):
            check_gradients(lambda x: I.affine_transform(x, transform=AFFINE[:1] * 1.7, interpolation=interpolation,
                                                         fill_mode=fill_mode, fill_value=0.0), [r(2, 4, 5, 2)])


def test_affine_transform_numba_and_numpy_paths_agree(monkeypatch):
    from keraslite.train.autodiff import kernels

    x = r(3, 6, 7, 2).astype("float32")
    g = r(3, 6, 7, 2).astype("float32")
    transform = np.concatenate([AFFINE, AFFINE[:1] * 1.9]).astype("float32")
    runs = {}
    for path in ("numba", "numpy"):
        if path == "numpy":
            monkeypatch.setitem(kernels._compiled, "warp", None)
        else:
            assert kernels.get("warp") is not None
        runs[path] = [(I._affine_fwd(x, transform, interp, mode, 0.25), I._affine_vjp(g, None, x, transform, interp,
                                                                                      mode, 0.25))
                      for interp in ("nearest", "bilinear") for mode in ("reflect", "wrap", "nearest", "constant")]
    for (fa, ga), (fb, gb) in zip(runs["numba"], runs["numpy"]):
        np.testing.assert_allclose(fa, fb, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(ga, gb, rtol=1e-5, atol=1e-5)


def test_tape_variables_watch_persistent_and_unconnected():
    w = Variable(np.array([1.0, 2.0]))
    frozen = Variable(np.array([3.0]), trainable=False)
    x = Tensor(np.array([0.5, -1.0]))
    with GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = R.sum_(E.multiply(E.multiply(w, x), frozen))
        z = E.square(y)
    gw, gx, gf = tape.gradient(y, [w, x, frozen])
    np.testing.assert_allclose(gw.numpy(), [1.5, -3.0])
    np.testing.assert_allclose(gx.numpy(), [3.0, 6.0])
    assert gf is None  # not trainable and not watched
    grads = tape.gradient(z, {"w": w, "y": y})
    np.testing.assert_allclose(grads["y"].numpy(), 2 * y.numpy())
    np.testing.assert_allclose(grads["w"].numpy(), 2 * y.numpy() * np.array([1.5, -3.0]))
    other = Variable(np.array(1.0))
    assert tape.gradient(y, other) is None
    assert tape.gradient(y, other, unconnected_gradients="zero").numpy() == 0.0


def test_non_persistent_tape_refuses_a_second_gradient():
    w = Variable(np.array(2.0))
    with GradientTape() as tape:
        y = E.square(w)
    assert float(tape.gradient(y, w)) == 4.0
    with pytest.raises(KerasliteError, match="persistent=True"):
        tape.gradient(y, w)


def test_operators_record_and_stop_recording():
    w = Variable(np.array([[1.0, 2.0], [3.0, 4.0]]))
    with GradientTape() as tape:
        y = (w * 2.0 + 1.0) @ w
        with tape.stop_recording():
            ignored = w * 100.0
        loss = R.sum_(y - ignored)
    g = tape.gradient(loss, w).numpy()
    wv = w.numpy()
    expected = 2.0 * np.ones((2, 2)) @ wv.T + (2 * wv + 1).T @ np.ones((2, 2))
    np.testing.assert_allclose(g, expected)


def test_slice_assign_and_shape_error():
    v = Variable(np.zeros((2, 3), np.float32))
    v[0, 1].assign(3.0)
    v[1].assign_add(np.ones(3))
    np.testing.assert_array_equal(v.numpy(), [[0, 3, 0], [1, 1, 1]])
    with pytest.raises(KerasliteError, match=r"must match. variable.shape=\(2, 3\), Received: value.shape=\(3,\)"):
        v.assign(np.ones(3))


def test_gradient_flows_through_a_variable_slice():
    # tf.Variable and keras.Variable slices are differentiable: d/dv sum(v[1] * w) puts w into row 1.
    v = Variable(np.arange(6.0, dtype=np.float32).reshape(3, 2))
    w = np.array([2.0, -3.0], np.float32)
    with GradientTape() as tape:
        y = R.sum_(E.multiply(v[1], w)) + R.sum_(E.multiply(v[:, 0], v[:, 0]))
    expected = np.zeros((3, 2), np.float32)
    expected[1] += w
    expected[:, 0] += 2 * v.numpy()[:, 0]
    np.testing.assert_allclose(tape.gradient(y, v).numpy(), expected)
