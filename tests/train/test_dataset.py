"""keraslite's Dataset: tf.data's documented semantics for each transformation, and fit/evaluate/predict fed by a
Dataset, a PyDataset or a generator (oracle: the same fit on the same arrays)."""
import os
import threading
import time

import numpy as np
import pytest

import keraslite as keras
from keraslite.errors import KerasliteError
from keraslite.train.data import AUTOTUNE, Dataset, PyDataset
from keraslite.train.data.dataset import INFINITE, UNKNOWN


def values(ds):
    return [v.tolist() if isinstance(v, np.ndarray) else v for v in ds.as_numpy_iterator()]


def test_slices_batches_and_cardinality():
    x, y = np.arange(10, dtype="float32").reshape(5, 2), np.arange(5)
    ds = Dataset.from_tensor_slices((x, y))
    assert ds.cardinality() == 5 and len(ds) == 5
    batches = list(ds.batch(2).as_numpy_iterator())
    assert [b[0].shape for b in batches] == [(2, 2), (2, 2), (1, 2)]
    assert ds.batch(2).cardinality() == 3 and ds.batch(2, drop_remainder=True).cardinality() == 2
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)
    assert values(ds.batch(2).unbatch().map(lambda a, b: b)) == [0, 1, 2, 3, 4]
    # batching element by element (after a map) gives the same as the sliced fast path
    slow = list(ds.map(lambda a, b: (a, b)).batch(2).as_numpy_iterator())
    assert all(np.array_equal(s[0], f[0]) for s, f in zip(slow, batches))


def test_take_skip_repeat_zip_concatenate():
    r = Dataset.range(5)
    assert values(r.take(3)) == [0, 1, 2] and values(r.skip(3)) == [3, 4] and values(r.take(-1)) == [0, 1, 2, 3, 4]
    assert values(r.repeat(2).skip(4).take(3)) == [4, 0, 1]
    assert r.repeat().cardinality() == INFINITE and r.repeat().take(7).cardinality() == 7
    assert r.filter(lambda v: v > 2).cardinality() == UNKNOWN
    with pytest.raises(TypeError, match="The dataset length is unknown."):
        len(r.filter(lambda v: v > 2))
    with pytest.raises(TypeError, match="The dataset is infinite."):
        len(r.repeat())
    assert values(Dataset.zip((r, r.skip(1))).map(lambda a, b: a * 10 + b)) == [1, 12, 23, 34]
    assert values(r.take(2).concatenate(r.skip(4))) == [0, 1, 4]
    assert values(r.enumerate(start=5).map(lambda i, v: i + v)) == [5, 7, 9, 11, 13]
    assert values(r.shard(2, 1)) == [1, 3] and r.shard(2, 0).cardinality() == 3
    assert r.cardinality().numpy() == 5


def test_shuffle_is_seeded_reshuffled_and_a_permutation():
    ds = Dataset.range(50).shuffle(50, seed=7)
    first, second = values(ds), values(ds)
    assert sorted(first) == list(range(50)) and first != second  # reshuffled each pass
    assert values(Dataset.range(50).shuffle(50, seed=7)) == first  # the same seed, the same orders
    fixed = Dataset.range(50).shuffle(50, seed=7, reshuffle_each_iteration=False)
    assert values(fixed) == values(fixed)
    # a small buffer only moves elements forward by less than the buffer size
    small = values(Dataset.range(200).shuffle(4, seed=1))
    assert sorted(small) == list(range(200)) and all(v - i < 4 for i, v in enumerate(small))


def test_map_on_threads_keeps_order_and_runs_in_parallel():
    seen = set()

    def slow(v):
        seen.add(threading.get_ident())
        time.sleep(0.002 * (int(v) % 3))
        return v * 2

    assert values(Dataset.range(40).map(slow, num_parallel_calls=4)) == [2 * i for i in range(40)]
    assert len(seen) > 1
    assert values(Dataset.range(6).map(lambda v: (v, str(int(v))))) == [(i, str(i).encode()) for i in range(6)]


def test_prefetch_hands_on_errors_and_stops_its_thread():
    def broken(v):
        if v == 3:
            raise ValueError("element 3 is broken")
        return v

    with pytest.raises(ValueError, match="element 3 is broken"):
        list(Dataset.range(10).map(broken).prefetch(AUTOTUNE))
    before = threading.active_count()
    it = iter(Dataset.range(1000).prefetch(4))
    next(it)
    it.close()
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() <= before


def test_cache_in_memory_and_in_a_file(tmp_path):
    calls = []
    ds = Dataset.range(4).map(lambda v: (calls.append(int(v)), v)[1])
    cached = ds.cache()
    assert values(cached.take(2)) == [0, 1]  # a partial pass caches nothing
    assert values(cached) == [0, 1, 2, 3] and values(cached) == [0, 1, 2, 3]
    assert calls == [0, 1, 0, 1, 2, 3]
    path = str(tmp_path / "cache")
    texts = Dataset.from_tensor_slices((np.array(["a", "bb", "ccc"]), np.arange(3.0)))
    on_disk = texts.cache(path)
    first = values(on_disk)
    assert sorted(os.listdir(tmp_path)) == ["cache.data", "cache.index"]
    assert values(Dataset.from_tensor_slices(np.zeros(1)).cache(path)) == first  # later runs read the file
    assert first == [(b"a", 0.0), (b"bb", 1.0), (b"ccc", 2.0)]


def test_iteration_gives_arrays_that_answer_numpy():
    for images, labels in Dataset.from_tensor_slices((np.ones((3, 2, 2)), np.array([1, 0, 1]))).batch(3):
        assert images[0].numpy().shape == (2, 2) and labels.numpy().tolist() == [1, 0, 1]
    assert values(Dataset.from_tensor_slices(np.array(["x", "y"]))) == [b"x", b"y"]
    with pytest.raises(KerasliteError, match="Cannot batch tensors with different shapes in component 0"):
        list(Dataset.from_generator(lambda: iter([np.zeros(2), np.zeros(3)])).batch(2))


def _model():
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    return model


X = np.random.RandomState(0).rand(40, 3).astype("float32")
Y = X.sum(axis=1, keepdims=True)


def test_fit_on_a_dataset_equals_fit_on_the_arrays():
    on_arrays, on_dataset = _model(), _model()
    h1 = on_arrays.fit(X, Y, batch_size=8, epochs=3, shuffle=False, verbose=0, validation_data=(X, Y))
    ds = Dataset.from_tensor_slices((X, Y)).batch(8).prefetch(AUTOTUNE)
    h2 = on_dataset.fit(ds, epochs=3, verbose=0, validation_data=Dataset.from_tensor_slices((X, Y)).batch(16))
    for a, b in zip(on_arrays.get_weights(), on_dataset.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-6)
    np.testing.assert_allclose(h1.history["val_loss"], h2.history["val_loss"], rtol=1e-6)
    assert on_dataset.evaluate(ds, verbose=0)[0] == pytest.approx(on_arrays.evaluate(X, Y, verbose=0)[0])
    assert on_dataset.predict(Dataset.from_tensor_slices(X).batch(7), verbose=0).shape == (40, 1)


def test_progress_bar_counts_the_dataset_steps(capsys):
    _model().fit(Dataset.from_tensor_slices((X, Y)).batch(8), epochs=1, verbose=1)
    assert "5/5" in capsys.readouterr().out


class Batches(PyDataset):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen, self.epochs_ended = [], 0

    def __len__(self):
        return 5

    def __getitem__(self, i):
        self.seen.append(i)
        return X[i * 8:(i + 1) * 8], Y[i * 8:(i + 1) * 8]

    def on_epoch_end(self):
        self.epochs_ended += 1


def test_py_dataset_is_reshuffled_each_epoch_and_equals_the_arrays():
    data = Batches(workers=2)
    model = _model()
    model.fit(data, epochs=2, verbose=0)
    assert sorted(data.seen[:5]) == list(range(5)) and sorted(data.seen[5:]) == list(range(5))
    assert data.epochs_ended == 2
    ordered, on_arrays = Batches(), _model()
    fitted = _model()
    fitted.fit(ordered, epochs=2, shuffle=False, verbose=0)
    on_arrays.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(on_arrays.get_weights(), fitted.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert keras.utils.PyDataset is PyDataset


def test_text_arrays_feed_fit():
    texts = np.array(["good film", "bad film", "good", "bad"] * 4)
    labels = np.array([1, 0, 1, 0] * 4, "float32")
    vectorize = keras.layers.TextVectorization(output_mode="multi_hot")
    vectorize.adapt(texts)
    model = keras.Sequential([keras.Input(shape=(), dtype="string"), vectorize, keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(texts, labels, epochs=1, batch_size=4, verbose=0)
    model.fit(Dataset.from_tensor_slices((texts, labels)).batch(4), epochs=1, verbose=0)
    assert model.predict(np.array(["good"]), verbose=0).shape == (1, 1)


def test_fit_on_a_generator_equals_fit_on_the_arrays():
    def batches():
        for i in range(0, len(X), 8):
            yield X[i:i + 8], Y[i:i + 8]

    on_arrays, on_generator = _model(), _model()
    on_arrays.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    on_generator.fit(batches(), epochs=1, verbose=0)
    for a, b in zip(on_arrays.get_weights(), on_generator.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert on_generator.evaluate(batches(), verbose=0)[0] == pytest.approx(on_arrays.evaluate(X, Y, verbose=0)[0])
    assert on_generator.predict((x for x, _ in batches()), verbose=0).shape == (40, 1)
