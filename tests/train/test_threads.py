"""Threads in training: large products split over keraslite's threads give numpy's product, fit picks the thread
count as documented and restores BLAS afterwards, and a forked child can still multiply."""
import os
import subprocess
import sys

import numpy as np
import pytest
import threadpoolctl

import keraslite as keras
from keraslite.errors import KerasliteError
from keraslite.train.autodiff import native, parallel
from keraslite.train.models import threads

rng = np.random.default_rng(0)


@pytest.fixture
def two_threads():
    previous = parallel.set_threads(2)
    yield
    parallel.set_threads(previous)


@pytest.mark.parametrize("m,k,n", [(256, 300, 200), (130, 500, 129), (64, 4000, 300), (1000, 50, 128)])
def test_split_products_equal_numpy(two_threads, m, k, n):
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    assert m * k * n >= parallel.MIN_SPLIT_MACS
    for left, right in ((a, b), (np.asfortranarray(a), b), (a, np.asfortranarray(b))):
        got = parallel.matmul(left, right)
        want = left.astype(np.float64) @ right.astype(np.float64)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3 * np.sqrt(left.shape[1]))
        assert got.dtype == np.float32 and got.shape == want.shape


def test_transposed_views_split_along_rows_and_columns(two_threads):
    x = rng.standard_normal((512, 784), dtype=np.float32)  # (batch, features): the kernel gradient is x.T @ dz
    dz = rng.standard_normal((512, 300), dtype=np.float32)
    np.testing.assert_allclose(parallel.matmul(x.T, dz), x.T @ dz, rtol=1e-4, atol=1e-3)
    wide = rng.standard_normal((784, 2048), dtype=np.float32)  # fewer rows than columns: blocks of columns
    np.testing.assert_allclose(parallel.matmul(x[:100], wide), x[:100] @ wide, rtol=1e-4, atol=1e-3)


def test_small_products_and_one_thread_are_plain_numpy():
    a, b = rng.standard_normal((8, 8), dtype=np.float32), rng.standard_normal((8, 8), dtype=np.float32)
    np.testing.assert_array_equal(parallel.matmul(a, b), a @ b)
    assert parallel.threads() == 1  # nothing is split outside fit


def _wide(seed=1):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((300,)), keras.layers.Dense(256, activation="relu"),
                              keras.layers.Dense(4, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def test_fit_on_split_threads_follows_fit_on_one(monkeypatch):
    x = rng.standard_normal((512, 300), dtype=np.float32)
    y = rng.integers(0, 4, 512)
    for var in parallel.USER_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    results, pools = [], []
    real_pool, real_call = parallel._executor, native._call

    def compiled_call(*args):  # the large Dense products run on the compiled kernels' threads, when built
        if (parallel.policy_threads() or 1) > 1:
            pools.append(parallel.policy_threads())
        return real_call(*args)

    monkeypatch.setattr(parallel, "_executor", lambda n: pools.append(n) or real_pool(n))  # products split here
    monkeypatch.setattr(native, "_call", compiled_call)
    for n in ("1", "2"):
        monkeypatch.setenv("KERASLITE_TRAIN_THREADS", n)
        model = _wide()
        assert threads.fit_threads(model, 256) == int(n)
        model.fit(x, y, batch_size=256, epochs=2, shuffle=False, verbose=0)
        results.append(model.get_weights())
        assert bool(pools) == (n == "2")
    for one, two in zip(*results):
        np.testing.assert_allclose(one, two, rtol=1e-4, atol=1e-5)
    assert parallel.threads() == 1  # restored after fit


def test_blas_runs_on_one_thread_during_fit_and_is_restored(monkeypatch):
    for var in parallel.USER_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    before = [p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
    seen = []

    class Look(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append([p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"])

    model = _wide()
    model.fit(rng.standard_normal((64, 300), dtype=np.float32), rng.integers(0, 4, 64), epochs=1, verbose=0,
              callbacks=[Look()])
    assert seen and all(all(n == 1 for n in s) for s in seen)
    assert [p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"] == before


def test_thread_choice(monkeypatch):
    for var in parallel.USER_VARIABLES + parallel.LOCAL_RANKS_VARIABLES + ("KERASLITE_TRAIN_THREADS",):
        monkeypatch.delenv(var, raising=False)
    small = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    assert threads.fit_threads(small, 32) == 1
    big = keras.Sequential([keras.Input((784,)), keras.layers.Dense(512), keras.layers.Dense(512)])
    cores = len(os.sched_getaffinity(0))
    assert threads.fit_threads(big, 128) == cores
    # a recurrent layer's weights count once per step: a BiLSTM(32) over 50 steps at batch 64 is a large model, and
    # the LSTMs inside the wrapper take its input's length; a sequence of unknown length counts one step
    for length, want in ((50, cores), (None, 1)):
        text = keras.Sequential([keras.Input((length,)), keras.layers.Embedding(1000, 32),
                                 keras.layers.Bidirectional(keras.layers.LSTM(32)), keras.layers.Dense(1)])
        assert threads.fit_threads(text, 64) == want
    monkeypatch.setenv("MPI_LOCALNRANKS", str(cores))  # as many replicas on this host as cores: one each
    assert threads.fit_threads(big, 128) == 1
    monkeypatch.setenv("KERASLITE_TRAIN_THREADS", "lots")
    with pytest.raises(KerasliteError, match="KERASLITE_TRAIN_THREADS must be a whole number"):
        threads.fit_threads(big, 128)


def test_a_forked_child_multiplies_after_the_pool_ran():
    code = """
import os, numpy as np
from keraslite.train.autodiff import native, parallel
parallel.set_threads(2)
a = np.ones((512, 512), np.float32)
parallel.matmul(a, a)  # the pool exists now
pid = os.fork()
if pid == 0:
    ok = np.allclose(parallel.matmul(a, a), 512.0)
    os._exit(0 if ok else 3)
_, status = os.waitpid(pid, 0)
raise SystemExit(os.waitstatus_to_exitcode(status))
"""
    done = subprocess.run([sys.executable, "-c", code], timeout=120, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_custom_training_loop_gets_the_same_policy(monkeypatch):
    for var in parallel.USER_VARIABLES + ("KERASLITE_TRAIN_THREADS",):
        monkeypatch.delenv(var, raising=False)

    def blas():
        return [p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]

    before = blas()
    w = keras.Variable(rng.standard_normal((300, 200), dtype=np.float32))
    x = rng.standard_normal((256, 300), dtype=np.float32)
    with keras.GradientTape() as tape:
        assert all(n == 1 for n in blas()) and parallel.threads() == parallel.default_threads()
        with keras.GradientTape() as inner:  # nested: nothing changes, nothing is restored early
            loss = keras.ops.mean(keras.ops.square(keras.ops.matmul(x, w)))
        assert all(n == 1 for n in blas())
    assert blas() == before and parallel.threads() == 1
    grad = tape.gradient(loss, [w])[0]
    assert blas() == before
    np.testing.assert_allclose(grad.numpy(), 2 * x.T @ (x @ w.numpy()) / (256 * 200), rtol=1e-3, atol=1e-6)
    del inner


def test_run_all_runs_here_what_no_pool_thread_started(two_threads):
    import threading

    pool = parallel._executor(2)
    release, busy = threading.Event(), [threading.Event() for _ in range(parallel._pool_size)]
    blockers = [pool.submit(lambda e=e: (e.set(), release.wait(60))) for e in busy]  # every pool thread is taken
    assert all(e.wait(60) for e in busy)
    try:
        ran_on = []
        results = parallel.run_all([lambda: ran_on.append(threading.get_ident()) or "a",
                                    lambda: ran_on.append(threading.get_ident()) or "b"])
        assert results == ["a", "b"]
        assert ran_on == [threading.get_ident()] * 2  # never waited for the busy thread
    finally:
        release.set()
        for b in blockers:
            b.result()
    # with the pool free again the results still come back in order, whoever ran them
    assert parallel.run_all([lambda i=i: i * i for i in range(5)]) == [0, 1, 4, 9, 16]


def test_run_all_raises_the_first_error_and_leaves_no_task_running(two_threads):
    import threading

    started, finished = threading.Event(), threading.Event()

    def slow():
        started.set()
        a = np.ones((512, 512), np.float32)
        for _ in range(20):
            a = parallel.matmul(a, a) / 512.0  # inside a pool task: not split again
        finished.set()
        return a

    def bad():
        raise KerasliteError("boom")

    with pytest.raises(KerasliteError, match="boom"):
        parallel.run_all([bad, slow])
    assert finished.is_set() or not started.is_set()  # cancelled, or waited for: nothing runs on behind our back
    np.testing.assert_allclose(parallel.run_all([slow, slow])[1], 1.0)


def test_dense_backward_side_by_side_equals_one_thread():
    from keraslite.train.autodiff import nn

    x = rng.standard_normal((128, 512), dtype=np.float32)
    kernel = rng.standard_normal((512, 512), dtype=np.float32) * 0.05
    bias = rng.standard_normal(512, dtype=np.float32)
    y = nn._dense_fwd(x, kernel, bias, activation="relu")
    g = rng.standard_normal(y.shape, dtype=np.float32)
    assert y.size * x.shape[1] >= nn.PAIR_MACS
    one = nn._dense_joint(g, y, [True, True, True], x, kernel, bias, activation="relu")
    previous = parallel.set_threads(2)
    try:
        two = nn._dense_joint(g, y, [True, True, True], x, kernel, bias, activation="relu")
    finally:
        parallel.set_threads(previous)
    dz = (g * (y > 0)).astype(np.float64)
    want = (dz @ kernel.T.astype(np.float64), x.T.astype(np.float64) @ dz, dz.sum(axis=0))
    for a, b, w in zip(one, two, want):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(b, w, rtol=1e-4, atol=1e-3)
