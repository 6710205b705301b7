"""Saving and resuming: model.save to .h5 and .keras, load_model gives a compiled model whose fit continues from
the saved optimizer state, to_json/to_yaml + load_weights, and load_weights of a full-model file.

    python examples/save_and_resume.py [--epochs 3] [--out DIR]
"""
import argparse
import os
import tempfile

import numpy as np

import keraslite as keras
from keraslite import layers

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--out", default=None)
args = parser.parse_args()
out = args.out or tempfile.mkdtemp()
keras.utils.set_random_seed(11)
rng = np.random.default_rng(11)
x = rng.normal(size=(256, 6)).astype("float32")
y = (x @ rng.normal(size=(6, 1))).astype("float32")


def make_model():
    model = keras.Sequential([layers.Dense(16, activation="relu", input_shape=(6,)), layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse", metrics=["mae"])
    return model


model = make_model()
model.fit(x, y, epochs=args.epochs, batch_size=32, verbose=0, shuffle=False)
for name in ("model.h5", "model.keras"):
    path = os.path.join(out, name)
    model.save(path)
    restored = keras.models.load_model(path)
    same = np.allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    print(f"{name}: predictions equal after load_model: {same}; optimizer {type(restored.optimizer).__name__} at "
          f"iteration {int(restored.optimizer.iterations.numpy())}")
    restored.fit(x, y, epochs=1, batch_size=32, verbose=0, shuffle=False)

continued = make_model()
continued.fit(x, y, epochs=args.epochs + 1, batch_size=32, verbose=0, shuffle=False)

resumed = keras.models.load_model(os.path.join(out, "model.keras"))
resumed.fit(x, y, epochs=1, batch_size=32, verbose=0, shuffle=False)
diff = max(np.abs(a - b).max() for a, b in zip(resumed.get_weights(), model.get_weights()))
print(f"resumed training moved the weights by {diff:.2e} from the saved ones")

arch_json, arch_yaml = model.to_json(), model.to_yaml()
from_json = keras.models.model_from_json(arch_json)
from_json.load_weights(os.path.join(out, "model.h5"))  # a full-model file works for load_weights too
from_yaml = keras.models.model_from_yaml(arch_yaml)
model.save_weights(os.path.join(out, "model.weights.h5"))
from_yaml.load_weights(os.path.join(out, "model.weights.h5"))
for label, m in (("json + load_weights(model.h5)", from_json), ("yaml + load_weights(.weights.h5)", from_yaml)):
    print(f"{label}: predictions equal: {np.allclose(m.predict(x, verbose=0), model.predict(x, verbose=0))}")
print("files:", sorted(os.listdir(out)))
