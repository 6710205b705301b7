"""Models built from the conv, reshaping, regularization and augmentation layers train, save to .h5 and .keras,
load back with the same predictions, and predict the same in keraslite.runtime. The same models, written from the
repository root by ``python -m tests.train.test_layers_saving OUT_DIR``, are checked in real Keras with
``/work/venvs/tf/bin/python tests/fixtures/make_keras_fixtures.py --check OUT_DIR``."""
import sys

import numpy as np
import pytest

import keraslite as keras
from keraslite import layers as L
from keraslite import runtime

from .test_saving import _predict


def models():
    """``(name, model, x, y)``: every layer family of this area inside a compiled model."""
    rng = np.random.default_rng(5)
    out = []
    img = rng.uniform(0, 1, (24, 8, 8, 3)).astype("float32")
    conv = keras.Sequential([
        keras.Input(shape=(8, 8, 3)), L.Conv2D(6, 3, padding="same", groups=3, activation="relu"),
        L.DepthwiseConv2D(3, depth_multiplier=2, padding="same"), L.SeparableConv2D(4, 3, strides=2, padding="same"),
        L.Conv2DTranspose(3, 3, strides=2, padding="same", output_padding=1, activation="relu"),
        L.Conv2DTranspose(2, 2, dilation_rate=2), L.ZeroPadding2D(((1, 0), (0, 2))), L.Cropping2D(((0, 1), (1, 1))),
        L.UpSampling2D(interpolation="bilinear"), L.UpSampling2D((1, 2)), L.SpatialDropout2D(0.2),
        L.Flatten(), L.Dense(3)], name="conv_family")
    conv.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    out.append(("conv_family", conv, img, rng.integers(0, 3, 24)))

    seq = rng.normal(size=(24, 10, 3)).astype("float32")
    inp = keras.Input(shape=(10, 3), name="seq")
    h = L.Conv1D(4, 3, padding="causal", dilation_rate=2, groups=1)(inp)
    h = L.SeparableConv1D(4, 3, padding="same", depth_multiplier=2)(h)
    h = L.ZeroPadding1D((1, 2))(h)
    h = L.Cropping1D((2, 1))(h)
    h = L.UpSampling1D(2)(h)
    h = L.SpatialDropout1D(0.3)(h)
    h = L.Permute((2, 1))(h)
    v = L.Dense(5, activation="tanh")(L.Flatten()(h))
    r = L.RepeatVector(3)(L.GaussianNoise(0.1)(v))
    o = L.Dense(2)(L.Flatten()(L.GaussianDropout(0.2)(r)))
    functional = keras.Model(inp, o, name="seq_family")
    functional.compile(optimizer="rmsprop", loss="mse")
    out.append(("seq_family", functional, seq, rng.normal(size=(24, 2)).astype("float32")))

    pixels = rng.uniform(0, 255, (24, 8, 8, 3)).astype("float32")
    augment = keras.Sequential([L.RandomFlip("horizontal"), L.RandomRotation(0.1), L.RandomZoom(0.1),
                                L.RandomTranslation(0.1, 0.1, fill_mode="nearest"), L.RandomContrast(0.2)],
                               name="data_augmentation")
    aug = keras.Sequential([keras.Input(shape=(8, 8, 3)), augment, L.Rescaling(1.0 / 255),
                            L.Conv2D(4, 3, activation="relu"), L.MaxPooling2D(), L.Flatten(), L.Dense(2)],
                           name="augmented")
    aug.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy"])
    out.append(("augmented", aug, pixels, rng.integers(0, 2, 24)))
    return out


CASES = {name: (model, x, y) for name, model, x, y in models()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_trained_model_saves_and_serves(name, tmp_path):
    model, x, y = CASES[name]
    keras.utils.set_random_seed(0)
    before = model.get_weights()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()) if a.size > 1)
    want = _predict(model, x)
    for ext in ("h5", "keras"):
        path = str(tmp_path / f"m.{ext}")
        model.save(path)
        loaded = keras.models.load_model(path)
        assert [type(la).__name__ for la in loaded.layers] == [type(la).__name__ for la in model.layers]
        for a, b in zip(_predict(loaded, x), want):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(runtime.load(path).predict([x]), want[0], rtol=1e-4, atol=1e-5)
    rebuilt = keras.models.model_from_json(model.to_json())
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_allclose(_predict(rebuilt, x)[0], want[0], rtol=1e-6, atol=1e-7)


def test_augmentation_block_is_active_in_fit_only():
    model, x, y = CASES["augmented"]
    augment = model.layers[0]
    np.testing.assert_array_equal(augment(x, training=False).numpy(), x)
    keras.utils.set_random_seed(1)
    assert not np.allclose(augment(x, training=True).numpy(), x)
    np.testing.assert_allclose(model.predict(x, verbose=0), model(x, training=False).numpy(), rtol=1e-6)


def test_noise_layers_in_training():
    rng = np.random.default_rng(2)
    x = rng.uniform(1, 2, (64, 6, 5, 8)).astype("float32")
    y = L.SpatialDropout2D(0.5, seed=4)(x, training=True).numpy()
    kept = (y != 0).all(axis=(1, 2))  # a channel is kept or dropped as a whole
    assert ((y == 0).all(axis=(1, 2)) | kept).all() and 0.3 < kept.mean() < 0.7
    np.testing.assert_allclose(y[kept[:, None, None, :].repeat(6, 1).repeat(5, 2)],
                               2 * x[kept[:, None, None, :].repeat(6, 1).repeat(5, 2)], rtol=1e-6)
    seq = rng.uniform(1, 2, (64, 7, 4)).astype("float32")
    z = L.SpatialDropout1D(0.25, seed=4)(seq, training=True).numpy()
    assert ((z == 0).all(axis=1) | (z != 0).all(axis=1)).all()
    big = np.ones((200, 500), "float32")
    noise = L.GaussianNoise(0.3, seed=1)(big, training=True).numpy() - 1
    assert abs(noise.mean()) < 0.01 and abs(noise.std() - 0.3) < 0.01
    factor = L.GaussianDropout(0.2, seed=1)(big, training=True).numpy()
    assert abs(factor.mean() - 1) < 0.01 and abs(factor.std() - 0.5) < 0.01
    for layer in (L.SpatialDropout2D(0.5), L.GaussianNoise(0.3), L.GaussianDropout(0.4)):
        np.testing.assert_array_equal(layer(x, training=False).numpy(), x)


if __name__ == "__main__":
    from .write_train_check_dir import main

    main(sys.argv[1], models)
