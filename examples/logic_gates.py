"""AND, OR and XOR learned by small sigmoid networks with SGD and binary cross-entropy.

    python examples/logic_gates.py [--epochs 2000]
"""
import argparse

import numpy as np

import keraslite as keras
from keraslite.layers import Dense

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=2000)
args = parser.parse_args()

keras.utils.set_random_seed(1)
x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")
targets = {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "XOR": [0, 1, 1, 0]}

for gate, y in targets.items():
    y = np.array(y, dtype="float32")
    if gate == "XOR":  # not linearly separable: one hidden layer
        model = keras.Sequential([Dense(8, activation="sigmoid", input_shape=(2,)), Dense(1, activation="sigmoid")])
        optimizer = keras.optimizers.SGD(learning_rate=0.5)
    else:
        model = keras.Sequential([Dense(1, activation="sigmoid", input_shape=(2,))])
        optimizer = keras.optimizers.SGD(learning_rate=0.1)
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=args.epochs, batch_size=4, verbose=0)
    predicted = np.round(model.predict(x, verbose=0)).ravel().astype(int)
    print(f"{gate}: predictions {predicted.tolist()} targets {y.astype(int).tolist()} "
          f"accuracy {history.history['accuracy'][-1]:.2f} loss {history.history['loss'][-1]:.4f}")
