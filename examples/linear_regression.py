"""Linear regression, as the first chapter of every Keras tutorial: one Dense unit learns y = 2x + 1.

    python examples/linear_regression.py [--epochs 300]
"""
import argparse

import numpy as np

import keraslite as keras

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=300)
args = parser.parse_args()

keras.utils.set_random_seed(42)
x = np.linspace(-1, 1, 100)
y = 2 * x + 1 + np.random.normal(0, 0.05, x.shape)

model = keras.Sequential()
model.add(keras.layers.Dense(units=1, input_dim=1))
model.compile(optimizer="sgd", loss="mse")
history = model.fit(x, y, epochs=args.epochs, verbose=0)

print("first loss:", round(history.history["loss"][0], 4))
print("last loss:", round(history.history["loss"][-1], 4))
weights, bias = model.layers[0].get_weights()
print(f"learned: y = {weights[0][0]:.3f} x + {bias[0]:.3f}")
print("prediction for x=0.5:", model.predict(np.array([0.5]), verbose=0)[0][0])
