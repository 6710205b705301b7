"""Classification on imbalanced data (the TensorFlow tutorial's recipe) on a synthetic fraud-like dataset:
an output bias set from the class ratio, class weights, confusion-matrix metrics, AUC and PR-AUC, early
stopping on val_prc, and save_weights/load_weights of the initial weights so runs start from the same point.

    python examples/imbalanced_classification.py [--epochs 100] [--samples 20000] [--out DIR]
"""
import argparse
import os
import tempfile

import numpy as np

import keraslite as keras

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=100)
parser.add_argument("--samples", type=int, default=20000)
parser.add_argument("--batch-size", type=int, default=2048)
parser.add_argument("--out", default=None)
args = parser.parse_args()
out_dir = args.out or tempfile.mkdtemp()

keras.utils.set_random_seed(7)
rng = np.random.default_rng(7)
n, features = args.samples, 20
labels = (rng.random(n) < 0.02).astype("float32")                         # about 2% positives
data = rng.normal(size=(n, features)).astype("float32") + labels[:, None] * rng.normal(0.8, 0.3, features)
split1, split2 = int(n * 0.64), int(n * 0.8)
train_x, val_x, test_x = data[:split1], data[split1:split2], data[split2:]
# labels as a column: Keras 3's cross-entropy and Brier-score metrics need y_true with y_pred's rank (n, 1)
train_y, val_y, test_y = labels[:split1, None], labels[split1:split2, None], labels[split2:, None]
mean, std = train_x.mean(0), train_x.std(0)
train_x, val_x, test_x = [np.clip((x - mean) / std, -5, 5) for x in (train_x, val_x, test_x)]
neg, pos = np.bincount(train_y[:, 0].astype(int), minlength=2)
print(f"Examples: {n}, positives: {int(labels.sum())} ({100 * labels.mean():.2f}% of total)")

METRICS = [
    keras.metrics.BinaryCrossentropy(name="cross entropy"),
    keras.metrics.MeanSquaredError(name="Brier score"),
    keras.metrics.TruePositives(name="tp"),
    keras.metrics.FalsePositives(name="fp"),
    keras.metrics.TrueNegatives(name="tn"),
    keras.metrics.FalseNegatives(name="fn"),
    keras.metrics.BinaryAccuracy(name="accuracy"),
    keras.metrics.Precision(name="precision"),
    keras.metrics.Recall(name="recall"),
    keras.metrics.AUC(name="auc"),
    keras.metrics.AUC(name="prc", curve="PR"),
]


def make_model(metrics=METRICS, output_bias=None):
    if output_bias is not None:
        output_bias = keras.initializers.Constant(output_bias)
    model = keras.Sequential([
        keras.layers.Dense(16, activation="relu", input_shape=(features,)),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(1, activation="sigmoid", bias_initializer=output_bias),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss=keras.losses.BinaryCrossentropy(),
                  metrics=metrics)
    return model


initial_bias = np.log([pos / neg])
model = make_model(output_bias=initial_bias)
results = model.evaluate(train_x, train_y, batch_size=args.batch_size, verbose=0)
p0 = pos / (pos + neg)
print(f"Loss with the class-ratio output bias: {results[0]:0.4f} (the prior's entropy is "
      f"{-(p0 * np.log(p0) + (1 - p0) * np.log(1 - p0)):.4f})")
initial_weights = os.path.join(out_dir, "initial.weights.h5")
model.save_weights(initial_weights)

early_stopping = keras.callbacks.EarlyStopping(monitor="val_prc", verbose=1, patience=10, mode="max",
                                               restore_best_weights=True)
weight_for_0 = (1 / neg) * (len(train_y) / 2.0)
weight_for_1 = (1 / pos) * (len(train_y) / 2.0)
class_weight = {0: weight_for_0, 1: weight_for_1}
print(f"Weight for class 0: {weight_for_0:.2f}, for class 1: {weight_for_1:.2f}")

baseline = make_model()
baseline.load_weights(initial_weights)
baseline.fit(train_x, train_y, batch_size=args.batch_size, epochs=args.epochs, callbacks=[early_stopping],
             validation_data=(val_x, val_y), verbose=0)
weighted = make_model()
weighted.load_weights(initial_weights)
weighted.fit(train_x, train_y, batch_size=args.batch_size, epochs=args.epochs, callbacks=[early_stopping],
             validation_data=(val_x, val_y), class_weight=class_weight, verbose=0)

for name, m in (("baseline", baseline), ("weighted", weighted)):
    res = m.evaluate(test_x, test_y, batch_size=args.batch_size, verbose=0, return_dict=True)
    print(f"{name}: " + ", ".join(f"{k}={res[k]:.4f}" for k in ("loss", "tp", "fp", "tn", "fn", "precision",
                                                                  "recall", "auc", "prc")))
