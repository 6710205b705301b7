"""Recurrent layers: finite-difference gradient checks (float64, every layer, masks, states, both directions,
dropout), the Numba kernels against the numpy cells, Keras' masking and dropout semantics, errors, and saving
through keraslite.format into keraslite.runtime."""
import numpy as np
import pytest

import keraslite as keras
import keraslite.runtime
from keraslite.errors import KerasliteError
from keraslite.train import random as krandom
from keraslite.train.autodiff import GradientTape, Tensor, elementwise as E, recurrent as RC, reduce as R

from .gradcheck import check_gradients

L = keras.layers
rng = np.random.default_rng(7)
N, T, F = 3, 5, 2
MASK = np.array([[1, 1, 1, 0, 0], [0, 1, 1, 1, 1], [1, 0, 1, 0, 1]], bool)


def _built(layer, features=F):
    layer.build((N, T, features))
    for w in layer.weights:  # moderate weights keep tanh/sigmoid away from saturation (better differences)
        w.assign(rng.uniform(-0.6, 0.6, w.shape))
    return layer


def _states(n):
    return [rng.normal(size=(N, 3)) for _ in range(n)]


D = {"dtype": "float64"}
GRAD_CASES = {
    "simple_rnn_masked_state_sequences": (lambda: L.SimpleRNN(3, return_sequences=True, return_state=True, **D), 1),
    "lstm_masked_backwards_state": (lambda: L.LSTM(3, go_backwards=True, return_state=True, **D), 2),
    "lstm_sequences_hard_sigmoid": (lambda: L.LSTM(3, return_sequences=True, recurrent_activation="hard_sigmoid",
                                                   activation="softsign", **D), 2),
    "gru_masked_sequences": (lambda: L.GRU(3, return_sequences=True, return_state=True, **D), 1),
    "gru_reset_before_backwards": (lambda: L.GRU(3, reset_after=False, go_backwards=True, return_sequences=True,
                                                 **D), 1),
    "gru_reset_before_nobias_swish": (lambda: L.GRU(3, reset_after=False, use_bias=False, activation="swish",
                                                    **D), 1),
    "bidirectional_lstm_concat_state": (lambda: L.Bidirectional(L.LSTM(3, return_sequences=True, return_state=True,
                                                                        **D), **D), 4),
    "bidirectional_gru_none_state": (lambda: L.Bidirectional(L.GRU(3, return_state=True, **D), merge_mode=None,
                                                             **D), 2),
    "bidirectional_simple_rnn_mul": (lambda: L.Bidirectional(L.SimpleRNN(3, return_sequences=True, **D),
                                                             merge_mode="mul", **D), 2),
    "bidirectional_lstm_gru_backward_ave": (lambda: L.Bidirectional(
        L.LSTM(3, return_sequences=True, **D), backward_layer=L.GRU(3, go_backwards=True, return_sequences=True, **D),
        merge_mode="ave", **D), 0),  # Keras halves initial_state between the sides: none for LSTM + GRU
}


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_layer_gradients_by_finite_differences(name):
    make, n_states = GRAD_CASES[name]
    layer = _built(make())
    masked = "masked" in name or "bidirectional" in name

    def fn(x, *states):
        out = layer(x, initial_state=list(states) or None, mask=MASK if masked else None)
        return out if isinstance(out, list) else [out]

    check_gradients(fn, [rng.normal(size=(N, T, F))] + _states(n_states), variables=layer.trainable_weights)


def test_dropout_gradients_with_fixed_masks():
    for layer in (L.LSTM(3, dropout=0.3, recurrent_dropout=0.4, return_sequences=True, seed=1, **D),
                  L.GRU(3, dropout=0.3, seed=2, **D), L.GRU(3, reset_after=False, recurrent_dropout=0.3, seed=3, **D),
                  L.SimpleRNN(3, dropout=0.2, recurrent_dropout=0.2, seed=4, **D)):
        _built(layer)

        def fn(x, layer=layer):
            layer._seed = krandom.SeedGenerator(layer.seed)  # the same masks at every evaluation
            return layer(x, mask=MASK, training=True)

        check_gradients(fn, [rng.normal(size=(N, T, F))], variables=layer.trainable_weights)


def test_masking_layer_gradient_reaches_the_unmasked_inputs():
    x = rng.normal(size=(N, T, F))
    x[0, 3:] = 0.0
    x[2, 1] = 0.0
    keep = np.any(x != 0, axis=-1, keepdims=True).astype("float64")
    lstm = _built(L.LSTM(3, **D))
    masking = L.Masking(0.0, **D)
    # x * keep holds the padded steps at the mask value, so a probe there changes nothing (as the mask promises)
    check_gradients(lambda t: lstm(masking(E.multiply(t, keep))), [x], variables=lstm.trainable_weights)


@pytest.mark.parametrize("kind,params", [("lstm", {}), ("gru", {}), ("gru", {"reset_after": False}),
                                         ("simple_rnn", {}), ("lstm", {"recurrent_activation": "hard_sigmoid",
                                                                       "activation": "relu"})])
@pytest.mark.parametrize("masked", [False, True])
def test_numba_kernels_agree_with_the_numpy_cells(monkeypatch, kind, params, masked):
    from keraslite.train.autodiff import recurrent_kernels

    gates = {"lstm": 4, "gru": 3, "simple_rnn": 1}[kind]
    units = 4
    bias_shape = (2, gates * units) if kind == "gru" and params.get("reset_after", True) else (gates * units,)
    arrays = [rng.normal(size=(6, 7, 3)), rng.normal(size=(3, gates * units)) * 0.5,
              rng.normal(size=(units, gates * units)) * 0.5, rng.normal(size=bias_shape) * 0.3]
    arrays += [rng.normal(size=(6, units)) for _ in range(2 if kind == "lstm" else 1)]
    arrays = [a.astype("float32") for a in arrays]
    mask = rng.random((6, 7)) < 0.7 if masked else None
    cot = None

    def run():
        nonlocal cot
        tensors = [Tensor(a) for a in arrays]
        with GradientTape() as tape:
            tape.watch(tensors)
            outs = getattr(RC, kind)(*tensors, mask=mask, return_sequences=True, **params)
            cot = cot or [rng.normal(size=o.shape).astype("float32") for o in outs]
            loss = E.add(R.sum_(E.multiply(outs[0], cot[0])), R.sum_(E.multiply(outs[1], cot[1])))
        return [o.numpy() for o in outs] + [g.numpy() for g in tape.gradient(loss, tensors)]

    from keraslite.runtime.kernels.recurrent import CODES as SERVING_CODES

    assert recurrent_kernels.cell_class(kind, "float32", ["tanh", "sigmoid"]) is not None  # Numba is installed
    assert recurrent_kernels.CODES == SERVING_CODES  # the runtime's activation kernel is reused by code
    monkeypatch.setattr(RC, "native_cell", lambda *a: None)  # the compiled cells: test_recurrent_native.py
    jitted = run()
    monkeypatch.setattr(RC, "cell_class", lambda *a: None)
    plain = run()
    for got, want in zip(jitted, plain):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)


# ------------------------------------------------------------------------------------------------ semantics
def test_dropout_is_training_only_with_one_mask_for_every_step():
    x = np.ones((4, 6, 3), "float32")
    layer = L.SimpleRNN(5, dropout=0.5, return_sequences=True, seed=3, activation="linear",
                        recurrent_initializer="zeros", use_bias=False)
    plain = L.SimpleRNN(5, return_sequences=True, activation="linear", recurrent_initializer="zeros",
                        use_bias=False)
    layer.build(x.shape)
    plain.build(x.shape)
    plain.set_weights(layer.get_weights())
    np.testing.assert_allclose(layer(x).numpy(), plain(x).numpy())  # inference: no dropout
    dropped = layer(x, training=True).numpy()
    # constant inputs and no recurrence: every step sees the same dropped input, so the same output
    np.testing.assert_allclose(dropped, np.repeat(dropped[:, :1], 6, axis=1), rtol=1e-6)
    assert not np.allclose(dropped, plain(x).numpy())


def test_masks_propagate_as_keras_does():
    ids = np.array([[3, 4, 0, 0], [5, 0, 0, 0]])
    emb = L.Embedding(10, 2, mask_zero=True)
    seq = L.LSTM(3, return_sequences=True, return_state=True)(emb(ids))
    np.testing.assert_array_equal(seq[0]._keras_mask.numpy(), ids != 0)
    assert seq[1]._keras_mask is None and seq[2]._keras_mask is None
    assert getattr(L.GRU(3)(emb(ids)), "_keras_mask", None) is None
    bi = L.Bidirectional(L.GRU(2, return_sequences=True, return_state=True))(emb(ids))
    np.testing.assert_array_equal(bi[0]._keras_mask.numpy(), ids != 0)
    assert all(s._keras_mask is None for s in bi[1:])
    masked = L.Masking(-1.0)(np.array([[[1.0], [-1.0], [2.0]]], "float32"))
    np.testing.assert_array_equal(masked._keras_mask.numpy(), [[True, False, True]])
    np.testing.assert_array_equal(masked.numpy()[0, :, 0], [1.0, 0.0, 2.0])


def test_functional_initial_state_and_symbolic_shapes():
    x = keras.Input((5, 2))
    out, h, c = L.LSTM(3, return_sequences=True, return_state=True)(x)
    assert out.shape == (None, 5, 3) and h.shape == (None, 3) and c.shape == (None, 3)
    y = L.GRU(3)(out, initial_state=h)
    bi = L.Bidirectional(L.GRU(3, return_state=True), merge_mode=None)(x)
    assert [t.shape for t in bi] == [(None, 3)] * 4
    model = keras.Model(x, L.Dense(1)(L.Concatenate()([y, bi[0]])))
    model.compile("sgd", "mse")
    data = rng.normal(size=(8, 5, 2)).astype("float32")
    before = model.predict(data, verbose=0)
    model.fit(data, rng.normal(size=(8, 1)), epochs=2, verbose=0)
    assert not np.allclose(model.predict(data, verbose=0), before)


def test_unroll_changes_nothing_and_configs_round_trip():
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    a, b = L.GRU(2, unroll=True), L.GRU(2)
    a.build(x.shape), b.build(x.shape)
    b.set_weights(a.get_weights())
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
    for layer in (L.LSTM(3, unit_forget_bias=False, dropout=0.2, go_backwards=True, seed=5),
                  L.GRU(2, reset_after=False, recurrent_activation="hard_sigmoid"),
                  L.Bidirectional(L.SimpleRNN(2, return_sequences=True), merge_mode="sum"), L.Masking(2.5)):
        config = layer.get_config()
        assert type(layer).from_config(config).get_config() == config


def test_lstm_unit_forget_bias_and_gru_bias_shapes():
    lstm = L.LSTM(2)
    lstm.build((1, 3, 4))
    np.testing.assert_array_equal(lstm.bias.numpy(), [0, 0, 1, 1, 0, 0, 0, 0])
    assert [tuple(w.shape) for w in lstm.weights] == [(4, 8), (2, 8), (8,)]
    gru = L.GRU(2)
    gru.build((1, 3, 4))
    assert [w.name for w in gru.weights] == ["kernel", "recurrent_kernel", "bias"]
    assert tuple(gru.bias.shape) == (2, 6)


def test_errors_name_the_problem():
    with pytest.raises(KerasliteError, match="stateful=True is not supported"):
        L.LSTM(2, stateful=True)
    with pytest.raises(KerasliteError, match="activation='softmax' is not supported"):
        L.GRU(2, activation="softmax")
    with pytest.raises(KerasliteError, match="expects 2 initial state"):
        L.LSTM(2)(np.zeros((1, 3, 2), "float32"), initial_state=[np.zeros((1, 2), "float32")])
    with pytest.raises(KerasliteError, match=r"initial state 0 must have shape \(1, 2\)"):
        L.GRU(2)(np.zeros((1, 3, 2), "float32"), initial_state=np.zeros((1, 3), "float32"))
    with pytest.raises(KerasliteError, match="expected ndim=3"):
        L.SimpleRNN(2)(np.zeros((3, 2), "float32"))
    with pytest.raises(KerasliteError, match="must be a SimpleRNN, LSTM or GRU layer"):
        L.Bidirectional(L.Dense(2))
    with pytest.raises(KerasliteError, match="Invalid merge mode"):
        L.Bidirectional(L.LSTM(2), merge_mode="max")
    with pytest.raises(KerasliteError, match="different `go_backwards`"):
        L.Bidirectional(L.LSTM(2), backward_layer=L.LSTM(2))


# ------------------------------------------------------------------------------------------------ saving
@pytest.mark.parametrize("ext", [".keras", ".h5"])
def test_trained_text_models_predict_the_same_in_the_runtime(tmp_path, ext):
    ids = rng.integers(1, 30, size=(16, 6))
    targets = rng.normal(size=(16, 2)).astype("float32")
    for i, rnn in enumerate((L.LSTM(4), L.GRU(3, reset_after=False, go_backwards=True),
                             L.Bidirectional(L.LSTM(3, return_sequences=True), merge_mode="ave"),
                             L.Bidirectional(L.SimpleRNN(3), backward_layer=L.GRU(3, go_backwards=True)))):
        layers = [keras.Input((6,)), L.Embedding(30, 4), rnn]
        if rnn.return_sequences:
            layers.append(L.GlobalMaxPooling1D())
        model = keras.Sequential(layers + [L.Dense(2)])
        model.compile("adam", "mse")
        model.fit(ids, targets, epochs=3, batch_size=8, verbose=0)
        path = str(tmp_path / f"m{i}{ext}")
        model.save(path)
        want = model.predict(ids, verbose=0)
        np.testing.assert_allclose(keraslite.runtime.load(path).predict(ids), want, rtol=1e-5, atol=1e-6)
        reloaded = keras.models.load_model(path)
        np.testing.assert_array_equal(reloaded.predict(ids, verbose=0), want)
        reloaded.fit(ids, targets, epochs=1, batch_size=8, verbose=0)  # and it trains on


def test_saved_sequences_serve_every_tape_that_recorded_the_call():
    layer = L.LSTM(3)
    x = Tensor(rng.normal(size=(2, 4, 2)).astype("float32"))
    with GradientTape() as outer:
        with GradientTape() as inner:
            loss = R.sum_(layer(x))
        first = inner.gradient(loss, layer.kernel).numpy()
    np.testing.assert_allclose(outer.gradient(loss, layer.kernel).numpy(), first)  # released only after both
    with GradientTape(persistent=True) as tape:
        loss = R.sum_(layer(x))
    for _ in range(2):
        np.testing.assert_allclose(tape.gradient(loss, layer.kernel).numpy(), first)


def test_positional_arguments_follow_keras_order():
    lstm = L.LSTM(4, "relu", "hard_sigmoid", False)
    assert (lstm.get_config()["activation"], lstm.get_config()["recurrent_activation"], lstm.use_bias) == (
        "relu", "hard_sigmoid", False)
    gru = L.GRU(3, "softsign", "sigmoid", True, "zeros")
    assert gru.get_config()["kernel_initializer"]["class_name"] == "Zeros"
    assert L.SimpleRNN(2, "relu", False).get_config()["use_bias"] is False
