"""Train small models with keraslite and save them the ways users do, for the real-Keras check (a tool, not a
test; the runtime half of the same check is in test_saving.py).

    /work/venvs/dev/bin/python tests/train/write_train_check_dir.py OUT_DIR
    /work/venvs/tf/bin/python tests/fixtures/make_keras_fixtures.py --check OUT_DIR

Each model is compiled and trained a few steps, then written with ``model.save`` (``.h5``, expected in tf_keras
and Keras 3, compiled; ``.keras``, expected in Keras 3), ``to_json`` + ``save_weights`` (legacy ``_weights.h5``,
both versions) and ``save_weights`` to ``.weights.h5`` with the Keras 3 JSON (Keras 3); the npz holds inputs and
keraslite's own predictions, which real Keras must reproduce.
"""
import json
import os
import sys

import numpy as np

import keraslite as keras
from keraslite import layers as L

BOTH = ["keras2", "keras3"]


def models():
    """``(name, model, x, y)`` for a spread of layer families and both model kinds."""
    rng = np.random.default_rng(0)
    out = []
    x = rng.normal(size=(64, 8)).astype("float32")
    m = keras.Sequential([L.Dense(16, activation="relu", input_shape=(8,)), L.BatchNormalization(), L.Dropout(0.2),
                          L.Dense(8, activation="tanh", kernel_regularizer="l2"), L.Dense(3, activation="softmax")],
                         name="mlp")
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    out.append(("mlp", m, x, rng.integers(0, 3, 64)))

    img = rng.normal(size=(32, 8, 8, 2)).astype("float32")
    c = keras.Sequential([keras.Input(shape=(8, 8, 2)), L.Conv2D(4, 3, padding="same", activation="relu"),
                          L.MaxPooling2D(), L.Conv2D(6, 2, strides=2), L.BatchNormalization(), L.ReLU(max_value=6.0),
                          L.AveragePooling2D(pool_size=1), L.GlobalAveragePooling2D(), L.Dense(2)], name="cnn")
    c.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    out.append(("cnn", c, img, rng.integers(0, 2, 32)))

    a, b = keras.Input(shape=(5,), name="a"), keras.Input(shape=(5,), name="b")
    shared = L.Dense(4, activation="elu", name="shared")
    merged = L.Concatenate(name="cat")([shared(a), shared(b), L.Multiply()([a, b])])
    p = L.Dense(1, activation="sigmoid", name="p")(L.LeakyReLU()(merged))
    q = L.Dense(2, name="q")(L.Add()([shared(a), L.Subtract()([shared(b), shared(a)])]))
    f = keras.Model([a, b], [p, q], name="functional_two")
    f.compile(optimizer="rmsprop", loss={"p": "binary_crossentropy", "q": "mse"}, loss_weights={"p": 1.0, "q": 0.5})
    xa, xb = rng.normal(size=(40, 5)).astype("float32"), rng.normal(size=(40, 5)).astype("float32")
    out.append(("functional_two", f, [xa, xb], [rng.integers(0, 2, 40).astype("float32"),
                                              rng.normal(size=(40, 2)).astype("float32")]))

    tokens = rng.integers(0, 50, size=(30, 7))
    t = keras.Sequential([keras.Input(shape=(7,)), L.Embedding(50, 6), L.Conv1D(4, 3, padding="causal"),
                          L.MaxPooling1D(), L.Flatten(), L.Dense(3), L.Softmax()], name="text_conv")
    t.compile(optimizer="adam", loss="categorical_crossentropy")
    out.append(("text_conv", t, tokens, keras.utils.to_categorical(rng.integers(0, 3, 30), 3)))
    return out


def main(out, make_models=models):
    os.makedirs(out, exist_ok=True)
    keras.utils.set_random_seed(0)
    entries = []
    for name, model, x, y in make_models():
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        xs = x if isinstance(x, list) else [x]
        ys = model.predict(x, verbose=0)
        ys = ys if isinstance(ys, list) else [ys]
        np.savez(os.path.join(out, f"{name}.npz"), **{f"x{i}": v for i, v in enumerate(xs)},
                 **{f"y{i}": v for i, v in enumerate(ys)})
        data = f"{name}.npz"
        model.save(os.path.join(out, f"{name}.h5"))
        model.save(os.path.join(out, f"{name}.keras"))
        with open(os.path.join(out, f"{name}.json"), "w") as fh:
            fh.write(model.to_json())
        model.save_weights(os.path.join(out, f"{name}_weights.h5"))
        model.save_weights(os.path.join(out, f"{name}.k3.weights.h5"))
        entries += [{"file": f"{name}.h5", "weights": None, "data": data, "expect": BOTH, "compiled": True},
                    {"file": f"{name}.keras", "weights": None, "data": data, "expect": ["keras3"], "compiled": True},
                    {"file": f"{name}.json", "weights": f"{name}_weights.h5", "data": data, "expect": BOTH,
                     "compiled": False},
                    {"file": f"{name}.json", "weights": f"{name}.k3.weights.h5", "data": data,
                     "expect": ["keras3"], "compiled": False}]
    with open(os.path.join(out, "check.json"), "w") as fh:
        json.dump(entries, fh, indent=1)
    print(f"wrote {len(entries)} check entries to {out}")


if __name__ == "__main__":
    main(sys.argv[1])
