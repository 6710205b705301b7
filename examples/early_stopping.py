"""EarlyStopping ends a long fit once val_loss stops improving and restores the best weights.

    python examples/early_stopping.py [--epochs 1000]
"""
import argparse

import numpy as np

import keraslite as keras
from keraslite import layers

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=1000)
args = parser.parse_args()

keras.utils.set_random_seed(3)
rng = np.random.default_rng(3)
x = rng.normal(size=(300, 10)).astype("float32")
y = (x[:, :3].sum(axis=1) + 0.5 * rng.normal(size=300)).astype("float32")
model = keras.Sequential([layers.Dense(64, activation="relu", input_shape=(10,)), layers.Dense(64, activation="relu"),
                          layers.Dense(1)])
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=10, restore_best_weights=True, verbose=1)
history = model.fit(x, y, epochs=args.epochs, validation_split=0.25, callbacks=[stop], verbose=0)
best = int(np.argmin(history.history["val_loss"]))
print(f"ran {len(history.epoch)} of {args.epochs} epochs; best epoch {best + 1} with val_loss "
      f"{history.history['val_loss'][best]:.4f}")
print(f"val_loss of the restored weights: {model.evaluate(x[225:], y[225:], verbose=0):.4f}")
