"""A 4-epoch fit under ``mpiexec -n 2`` with BackupAndRestore, CSVLogger and ModelCheckpoint whose file names
carry the rank, so the tests can see that only the chief writes and that a killed job resumes.

    mpiexec -n 2 python resume_check.py OUT BACKUP_DIR [--die-at-epoch K]

With ``--die-at-epoch K`` rank 1 raises at the start of epoch K (the job is aborted); running the same command
again without it resumes from the chief's backup. Each rank saves its final weights in ``OUT/rank<r>.npz``.
"""
import argparse
import os
import sys

import numpy as np


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("backup_dir")
    parser.add_argument("--die-at-epoch", type=int)
    args = parser.parse_args()
    import keraslite as keras

    keras.utils.set_random_seed(3)
    strategy = keras.distribute.MirroredStrategy()
    rank = strategy.cluster_resolver.task_id
    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 6)).astype("float32")
    y = (x @ rng.normal(size=(6, 1))).astype("float32")

    class Die(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if rank == 1 and epoch == args.die_at_epoch:
                raise RuntimeError(f"rank 1 dies at the start of epoch {epoch} on purpose")

    with strategy.scope():
        model = keras.Sequential([keras.Input(shape=(6,)), keras.layers.Dense(8, activation="tanh"),
                                  keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    os.makedirs(args.out, exist_ok=True)
    callbacks = [keras.callbacks.BackupAndRestore(args.backup_dir), Die(),
                 keras.callbacks.CSVLogger(os.path.join(args.out, f"log{rank}.csv"), append=True),
                 keras.callbacks.ModelCheckpoint(os.path.join(args.out, f"ckpt{rank}.keras"))]
    model.fit(x, y, batch_size=32, epochs=4, shuffle=False, verbose=0, callbacks=callbacks)
    np.savez(os.path.join(args.out, f"rank{rank}.npz"), *[w.numpy() for w in model.weights])
    return 0


if __name__ == "__main__":
    sys.exit(main())
