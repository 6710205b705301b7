"""An MNIST-style MLP and a small CNN on the 8x8 digits that ship with keraslite.

    python examples/digits.py [--epochs 30] [--cnn-epochs 15]
"""
import argparse

import numpy as np

import keraslite as keras
from keraslite import layers

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=30)
parser.add_argument("--cnn-epochs", type=int, default=15)
args = parser.parse_args()

keras.utils.set_random_seed(0)
(x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()
x_train, x_test = x_train.astype("float32") / 16.0, x_test.astype("float32") / 16.0

mlp = keras.Sequential([
    layers.Flatten(input_shape=(8, 8)),
    layers.Dense(64, activation="relu"),
    layers.Dropout(0.1),
    layers.Dense(10, activation="softmax"),
])
mlp.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
mlp.summary()
history = mlp.fit(x_train, y_train, epochs=args.epochs, batch_size=32, validation_split=0.2, verbose=2)
loss, accuracy = mlp.evaluate(x_test, y_test, verbose=0)
print(f"MLP test accuracy: {accuracy:.4f} (val_accuracy {history.history['val_accuracy'][-1]:.4f})")

cnn = keras.Sequential([
    keras.Input(shape=(8, 8, 1)),
    layers.Conv2D(16, 3, padding="same", activation="relu"),
    layers.MaxPooling2D(),
    layers.Conv2D(32, 3, padding="same", activation="relu"),
    layers.Flatten(),
    layers.Dense(64, activation="relu"),
    layers.Dense(10),
])
cnn.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"])
cnn.fit(x_train[..., None], y_train, epochs=args.cnn_epochs, batch_size=32,
        validation_data=(x_test[..., None], y_test), verbose=2)
results = cnn.evaluate(x_test[..., None], y_test, verbose=0, return_dict=True)
print(f"CNN test accuracy: {results['accuracy']:.4f}")
probabilities = keras.ops.softmax(cnn.predict(x_test[:5, ..., None], verbose=0)).numpy()
print("CNN predicted classes:", np.argmax(probabilities, axis=1).tolist(), "true:", y_test[:5].tolist())
