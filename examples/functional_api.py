"""The functional API: two inputs and two outputs, merge layers, a shared layer, a model used as a layer, and
compile(loss=..., loss_weights=..., metrics=...) keyed by output name.

    python examples/functional_api.py [--epochs 10]
"""
import argparse

import numpy as np

import keraslite as keras
from keraslite import layers

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=10)
args = parser.parse_args()
keras.utils.set_random_seed(5)
rng = np.random.default_rng(5)

# A shared encoder (a model used as a layer) applied to two inputs.
encoder_in = keras.Input(shape=(12,), name="encoder_in")
encoder = keras.Model(encoder_in, layers.Dense(8, activation="relu", name="encode")(encoder_in), name="encoder")
title = keras.Input(shape=(12,), name="title")
body = keras.Input(shape=(12,), name="body")
shared = layers.Dense(8, activation="tanh", name="shared")
features = layers.concatenate([encoder(title), encoder(body), shared(title), shared(body)], name="features")
mixed = layers.Add(name="mix")([shared(title), layers.Subtract()([encoder(title), encoder(body)])])
priority = layers.Dense(1, activation="sigmoid", name="priority")(layers.Dense(16, activation="relu")(features))
department = layers.Dense(4, name="department")(layers.Multiply()([mixed, mixed]))
model = keras.Model(inputs=[title, body], outputs=[priority, department])

model.compile(optimizer="adam",
              loss={"priority": "binary_crossentropy",
                    "department": keras.losses.SparseCategoricalCrossentropy(from_logits=True)},
              loss_weights={"priority": 1.0, "department": 0.2},
              metrics={"priority": ["accuracy"], "department": ["accuracy"]})
model.summary()

n = 512
title_data, body_data = rng.normal(size=(n, 12)).astype("float32"), rng.normal(size=(n, 12)).astype("float32")
priority_targets = (title_data[:, 0] > 0).astype("float32")
department_targets = rng.integers(0, 4, size=n)
history = model.fit({"title": title_data, "body": body_data},
                    {"priority": priority_targets, "department": department_targets},
                    epochs=args.epochs, batch_size=32, verbose=0)
print("logged:", sorted(history.history))
results = model.evaluate([title_data, body_data], [priority_targets, department_targets], verbose=0,
                         return_dict=True)
print("evaluate:", {k: round(v, 4) for k, v in sorted(results.items())})
p, d = model.predict([title_data[:3], body_data[:3]], verbose=0)
print("predict shapes:", p.shape, d.shape)
