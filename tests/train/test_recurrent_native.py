"""The compiled recurrences of training (runtime/csrc/rnn_train.h via train/autodiff/recurrent_native.py) against
the numpy cells, forward and backward through time, on every ISA the machine has: masking, go_backwards,
return_sequences, zero outputs for masked steps, GRU reset_after both ways, sizes that are not multiples of a
vector; the buffer pool never hands out an array a caller still holds; the compiled row scatter of an Embedding's
gradient against numpy's add.at."""
import zlib

import numpy as np
import pytest

from keraslite.runtime import native
from keraslite.train.autodiff import GradientTape, Tensor, elementwise as E, recurrent as RC, reduce as R
from keraslite.train.autodiff import recurrent_native as RN
from keraslite.train.autodiff.sparse import IndexedSlices

LIB = native.lib()
assert LIB is not None and hasattr(LIB, "rnn_train"), "the compiled kernels must be built for these tests"
BEST = LIB.isa()
ISAS = [name for name in ("avx512", "avx2", "base") if LIB._select_isa(name)]
LIB._select_isa(BEST)
GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}


@pytest.fixture(params=ISAS)
def isa(request):
    assert LIB._select_isa(request.param)
    yield request.param
    LIB._select_isa(BEST)


def _arrays(rng, kind, params, n, t, f, units):
    g = GATES[kind] * units
    bias = (2, g) if kind == "gru" and params.get("reset_after", True) else (g,)
    arrays = [rng.normal(size=(n, t, f)), rng.normal(size=(f, g)) * 0.5, rng.normal(size=(units, g)) * 0.5,
              rng.normal(size=bias) * 0.3]
    arrays += [rng.normal(size=(n, units)) for _ in range(2 if kind == "lstm" else 1)]
    return [a.astype("float32") for a in arrays]


def _run(kind, arrays, cot_seed, **params):
    """Outputs and the gradients of every input for a random cotangent of every output."""
    tensors = [Tensor(a) for a in arrays]
    with GradientTape() as tape:
        tape.watch(tensors)
        outs = getattr(RC, kind)(*tensors, **params)
        crng = np.random.default_rng(cot_seed)
        loss = None
        for o in outs:
            term = R.sum_(E.multiply(o, crng.normal(size=o.shape).astype("float32")))
            loss = term if loss is None else E.add(loss, term)
    return [o.numpy().copy() for o in outs] + [g.numpy() for g in tape.gradient(loss, tensors)]


def _close(got, want):
    """Float32 agreement, the absolute part scaled by the array's size (linear activations let values grow)."""
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=5e-6 * (1 + np.abs(want).max()))


def _plain(monkeypatch):
    monkeypatch.setattr(RC, "native_cell", lambda *a: None)
    monkeypatch.setattr(RC, "cell_class", lambda *a: None)


CASES = [("lstm", {}), ("gru", {}), ("gru", {"reset_after": False}), ("simple_rnn", {}),
         ("lstm", {"recurrent_activation": "hard_sigmoid", "activation": "relu"}),
         ("gru", {"recurrent_activation": "hard_sigmoid_keras2", "activation": "linear"})]


@pytest.mark.parametrize("kind,params", CASES)
@pytest.mark.parametrize("layout", [
    # (batch, steps, units, masked, go_backwards, return_sequences, zero_output_for_mask)
    (6, 7, 4, False, False, True, False),
    (5, 4, 5, True, False, True, False),
    (7, 5, 33, True, True, False, False),
    (17, 3, 1, True, True, True, True),
    (33, 6, 9, False, True, False, False),
])
def test_compiled_recurrence_matches_the_numpy_cells(monkeypatch, isa, kind, params, layout):
    n, t, units, masked, backwards, sequences, zero = layout
    rng = np.random.default_rng(zlib.crc32(repr((kind, params, layout)).encode()))
    arrays = _arrays(rng, kind, params, n, t, 3, units)
    mask = rng.random((n, t)) < 0.6 if masked else None
    if mask is not None:
        mask[0] = False  # a row with no valid step at all
    call = dict(params, mask=mask, go_backwards=backwards, return_sequences=sequences, zero_output_for_mask=zero)
    compiled = _run(kind, arrays, 1, **call)
    _plain(monkeypatch)
    plain = _run(kind, arrays, 1, **call)
    for got, want in zip(compiled, plain):
        _close(got, want)


def test_the_compiled_cell_is_used_for_float32_and_not_otherwise():
    acts = ["tanh", "sigmoid"]
    assert RN.native_cell("lstm", "float32", acts, None) is RN.NativeLSTM
    assert RN.native_cell("lstm", "float64", acts, None) is None  # float64 gradient checks keep the numpy cells
    assert RN.native_cell("lstm", "float32", acts, np.ones((4, 2, 3), "float32")) is None  # recurrent dropout
    assert RN.native_cell("lstm", "float32", ["softsign", "sigmoid"], None) is None


def test_without_compiled_kernels_the_numba_cells_run(monkeypatch):
    from keraslite.train.autodiff import recurrent_kernels

    rng = np.random.default_rng(3)
    arrays = _arrays(rng, "gru", {}, 4, 5, 3, 6)
    compiled = _run("gru", arrays, 2, return_sequences=True)
    monkeypatch.setattr(RN, "_lib", lambda: None)  # what KERASLITE_NATIVE=0 gives
    assert RN.native_cell("gru", "float32", ["tanh", "sigmoid"], None) is None
    assert recurrent_kernels.cell_class("gru", "float32", ["tanh", "sigmoid"]) is not None
    jitted = _run("gru", arrays, 2, return_sequences=True)
    for got, want in zip(compiled, jitted):
        _close(got, want)


def test_pooled_buffers_never_alias_what_a_caller_holds():
    rng = np.random.default_rng(4)
    for sequences in (False, True):
        arrays = _arrays(rng, "lstm", {}, 8, 6, 3, 5)
        first = _run("lstm", arrays, 5, return_sequences=sequences)
        kept = [a.copy() for a in first]
        held = RC.lstm(*[Tensor(a) for a in arrays], return_sequences=sequences)  # no tape: nothing is released
        for _ in range(3):  # later calls of the same shapes reuse the released buffers
            again = _run("lstm", [a * 1.5 for a in arrays], 6, return_sequences=sequences)
        for a, b in zip(first, kept):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(held[0].numpy(), first[0])
        assert not np.allclose(again[0], first[0])


def test_a_persistent_tape_keeps_the_sequences_for_a_second_gradient():
    rng = np.random.default_rng(5)
    arrays = [Tensor(a) for a in _arrays(rng, "gru", {"reset_after": False}, 5, 4, 3, 3)]
    with GradientTape(persistent=True) as tape:
        tape.watch(arrays)
        out = RC.gru(*arrays, reset_after=False)[0]
        loss = R.sum_(E.multiply(out, out))
    one = [g.numpy() for g in tape.gradient(loss, arrays)]
    two = [g.numpy() for g in tape.gradient(loss, arrays)]
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


def test_bad_arguments_raise_instead_of_touching_memory():
    t, n, u = 3, 2, 4
    xw = np.ones((t, n, 4 * u), np.float32)
    h = np.zeros((t + 1, n, u), np.float32)
    c = np.zeros_like(h)
    gate = np.zeros((t, n, 4 * u), np.float32)
    aux = np.zeros((t, n, u), np.float32)
    kern = np.zeros((u, 4 * u), np.float32)
    ok = (1, 3, 4, 0, xw, kern, None, None, h, c, gate, aux, None, None)
    for k, bad in [(4, xw[:, :1]), (5, kern[:, :5]), (9, None), (10, gate[:2]), (11, None), (0, 7),
                   (7, np.ones((t, n + 1), np.uint8)), (8, h.astype(np.float64)), (13, np.ones(3, np.float32))]:
        job = list(ok)
        job[k] = bad
        with pytest.raises(ValueError, match="_ckernels"):
            LIB.rnn_train(0, [ok, tuple(job)])  # checked before either runs
        assert not gate.any()
    with pytest.raises(ValueError, match="1 to 8 jobs"):
        LIB.rnn_train(0, [])
    LIB.rnn_train(0, [ok])
    assert gate.any()
    dh, dc, dz = np.zeros((n, u), np.float32), np.zeros((n, u), np.float32), np.zeros_like(gate)
    with pytest.raises(ValueError, match="dm for a reset-after GRU"):
        LIB.rnn_train(1, [(1, 3, 4, 0, kern, None, h, c, gate, aux, None, None, dh, dc, dz, dz, None, None)])


# ------------------------------------------------------------------------------------------------ row scatter
@pytest.mark.parametrize("compiled", [True, False])
def test_lookup_gradient_rows_match_add_at(monkeypatch, compiled):
    from keraslite.train.autodiff import native

    if not compiled:
        monkeypatch.setitem(native._state, "lib", None)  # what KERASLITE_NATIVE=0 gives
    rng = np.random.default_rng(8)
    for width in ((7,), (1,), (2, 3)):
        idx = rng.integers(-20, 20, size=300)
        values = rng.normal(size=(300,) + width).astype("float32")
        slices = IndexedSlices(values, idx, (20,) + width)
        want = np.zeros((20,) + width, "float32")
        np.add.at(want, idx, values)
        np.testing.assert_allclose(slices.to_dense(), want, rtol=1e-5, atol=1e-5)
        want = np.zeros((20,) + width, "float32")
        np.add.at(want, idx, values * values)
        np.testing.assert_allclose(slices.squared_sum(), want, rtol=1e-5, atol=1e-5)
        assert slices.has_repeats()
    assert not IndexedSlices(np.ones((3, 2), "float32"), np.array([2, 0, -1]), (4, 2)).has_repeats()


def test_row_scatter_refuses_an_index_out_of_range():
    out = np.zeros((4, 2), np.float32)
    with pytest.raises(ValueError, match="index 4 is out of range for 4 rows"):
        LIB.rows_add(np.array([1, 4]), np.ones((2, 2), np.float32), out, 0)
    assert not out.any()


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_both_directions_in_one_compiled_call_match_the_numpy_cells(monkeypatch, kind):
    import keraslite as keras

    rng = np.random.default_rng(9)
    x = rng.normal(size=(6, 5, 3)).astype("float32")
    mask = rng.random((6, 5)) < 0.7

    def run():
        keras.utils.set_random_seed(2)
        inner = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[kind](4, return_sequences=True)
        layer = keras.layers.Bidirectional(inner, merge_mode="concat")
        xt = Tensor(x)
        with GradientTape() as tape:
            tape.watch(xt)
            out = layer(xt, mask=mask)
            loss = R.sum_(E.multiply(out, out))
        return [out.numpy()] + [g.numpy() for g in tape.gradient(loss, [xt] + layer.trainable_weights)]

    compiled = run()
    _plain(monkeypatch)
    for got, want in zip(compiled, run()):
        _close(got, want)
