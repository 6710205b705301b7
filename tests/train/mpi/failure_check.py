"""A fit under ``mpiexec -n 2`` in which rank 1 fails on purpose at its third training batch, so the tests can
check that rank 0 stops with a clear message instead of waiting forever.

    mpiexec -n 2 python failure_check.py raise|exit|freeze
"""
import os
import signal
import sys

import numpy as np


def main():
    mode = sys.argv[1]
    import keraslite as keras

    strategy = keras.distribute.MultiWorkerMirroredStrategy()
    rank = strategy.cluster_resolver.task_id

    class Misbehave(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if rank != 1 or batch != 2:
                return
            if mode == "raise":
                raise RuntimeError("rank 1 fails on purpose")
            if mode == "exit":
                sys.exit(0)  # a script that ends early, cleanly: MPI alone would leave rank 0 waiting
            if mode == "freeze":
                os.kill(os.getpid(), signal.SIGSTOP)  # alive but silent, like a hung host

    with strategy.scope():
        model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(2)])
        model.compile(optimizer="sgd", loss="mse")
    x = np.zeros((640, 4), "float32")
    model.fit(x, np.zeros((640, 2), "float32"), batch_size=8, epochs=1000, verbose=0, callbacks=[Misbehave()])
    print("rank", rank, "finished the fit, which it should not have", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
