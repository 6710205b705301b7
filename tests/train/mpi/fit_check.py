"""A small Dense + Conv2D + BatchNormalization fit, run under ``mpiexec -n P`` or as one process; each rank
saves what it ended with (weights, history, evaluate, predict) in ``OUT/rank<r>.npz`` for the tests to compare.

    python fit_check.py OUT --bn synchronized          # the one-process reference of a synchronized-BN model
    mpiexec -n 2 python fit_check.py OUT --bn synchronized --strategy
    python fit_check.py OUT --bn per-replica --emulate 2   # one process computing the 2-replica expectation
    mpiexec -n 2 python fit_check.py OUT --bn per-replica --strategy

``--emulate P`` is the reference for Keras' default per-replica BatchNormalization: for each global batch it
runs the P slices one after the other with a GradientTape (each normalized by its own statistics), averages the
gradients weighted by slice size, applies them once, and gives the moving statistics the mean of the slices'
updates. It uses only the public API, not keraslite.distribute.
"""
import argparse
import os
import sys

import numpy as np

# 197 = 3 * 64 + 5: a last batch split 2 + 3; with --small-last-batch 193 = 3 * 64 + 1, a last batch of one sample,
# so replica 0 runs a stand-in of weight 0; evaluate and predict in batches of 20 of the 41 validation samples end
# with one sample too
N_VAL, GLOBAL_BATCH, EPOCHS = 41, 64, 2
N_TRAIN = 197


def data():
    rng = np.random.default_rng(123)
    x = rng.normal(size=(N_TRAIN + N_VAL, 8, 8, 1)).astype("float32")
    y = (x[:, :4, :4, 0].sum(axis=(1, 2)) > 0).astype("int64") + 2 * (x[:, 4:, 4:, 0].sum(axis=(1, 2)) > 0)
    return (x[:N_TRAIN], y[:N_TRAIN]), (x[N_TRAIN:], y[N_TRAIN:])


def make_model(keras, synchronized):
    L = keras.layers
    model = keras.Sequential([keras.Input(shape=(8, 8, 1)), L.Conv2D(4, 3, activation="relu"),
                              L.BatchNormalization(synchronized=synchronized, momentum=0.9), L.Flatten(),
                              L.Dense(16, activation="relu"), L.Dense(4, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1, momentum=0.9),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def emulate_fit(keras, model, x, y, replicas):
    """The per-replica BatchNormalization expectation on one process (see the module docstring)."""
    moving = [w for w in model.weights if "moving" in w.path]
    history = {"loss": [], "accuracy": []}
    for _ in range(EPOCHS):
        total_loss, correct, seen = 0.0, 0.0, 0
        for start in range(0, len(x), GLOBAL_BATCH):
            xb, yb = x[start:start + GLOBAL_BATCH], y[start:start + GLOBAL_BATCH]
            n = len(xb)
            grads, deltas = None, []
            before = [m.numpy() for m in moving]
            for r in range(replicas):
                lo, hi = n * r // replicas, n * (r + 1) // replicas
                if hi == lo:
                    continue  # an empty slice: that replica's stand-in has weight 0
                with keras.GradientTape() as tape:
                    pred = model(xb[lo:hi], training=True)
                    loss = keras.losses.sparse_categorical_crossentropy(yb[lo:hi], pred)
                    loss = keras.ops.mean(loss)
                g = tape.gradient(loss, model.trainable_weights)
                g = [np.asarray(t) * (hi - lo) / n for t in g]
                grads = g if grads is None else [a + b for a, b in zip(grads, g)]
                deltas.append([m.numpy() - b for m, b in zip(moving, before)])
                for m, b in zip(moving, before):
                    m.assign(b)
                total_loss += float(loss) * (hi - lo)
                correct += float(np.sum(np.argmax(np.asarray(pred), -1) == yb[lo:hi]))
            seen += n
            for i, (m, b) in enumerate(zip(moving, before)):
                m.assign(b + np.mean([d[i] for d in deltas], axis=0))
            model.optimizer.apply(grads, model.trainable_weights)
        history["loss"].append(total_loss / seen)
        history["accuracy"].append(correct / seen)
    return history


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--bn", choices=("synchronized", "per-replica"), required=True)
    parser.add_argument("--strategy", action="store_true", help="train under MirroredStrategy")
    parser.add_argument("--emulate", type=int, default=0, help="one process computing P replicas' expectation")
    parser.add_argument("--small-last-batch", action="store_true", help="193 training samples (see N_TRAIN)")
    args = parser.parse_args()
    global N_TRAIN
    if args.small_last_batch:
        N_TRAIN = 193
    import keraslite as keras

    keras.utils.set_random_seed(7)
    (x, y), (xv, yv) = data()
    synchronized = args.bn == "synchronized"
    strategy = keras.distribute.MirroredStrategy() if args.strategy else None
    rank = strategy.cluster_resolver.task_id if strategy else 0
    if strategy:
        with strategy.scope():
            model = make_model(keras, synchronized)
    else:
        model = make_model(keras, synchronized)
    arrays_extra = {}
    shuffle = args.bn == "synchronized"  # the emulation walks the batches in order
    if args.emulate:
        history = emulate_fit(keras, model, x, y, args.emulate)
    else:
        calls = strategy._engine.collective.calls if strategy and strategy._engine else 0
        fitted = model.fit(x, y, batch_size=GLOBAL_BATCH, epochs=EPOCHS, shuffle=shuffle, verbose=0,
                           validation_data=(xv, yv) if synchronized else None)
        history = fitted.history
        if strategy and strategy._engine:  # all-reduces per training step, for the one-fused-buffer check
            steps = EPOCHS * -(-N_TRAIN // GLOBAL_BATCH)
            arrays_extra["allreduces_per_step"] = np.asarray((strategy._engine.collective.calls - calls) / steps)
    evaluation = model.evaluate(xv, yv, batch_size=20, verbose=0, return_dict=True)
    predictions = model.predict(xv, batch_size=20, verbose=0)
    os.makedirs(args.out, exist_ok=True)
    arrays = {f"weight_{i}": w.numpy() for i, w in enumerate(model.weights)}
    arrays.update({f"history_{k}": np.asarray(v) for k, v in history.items()})
    arrays.update({f"evaluate_{k}": np.asarray(v) for k, v in evaluation.items()})
    arrays["predictions"] = predictions
    arrays.update(arrays_extra)
    arrays["replicas"] = np.asarray(strategy.num_replicas_in_sync if strategy else 1)
    np.savez(os.path.join(args.out, f"rank{rank}.npz"), **arrays)
    return 0


if __name__ == "__main__":
    sys.exit(main())
