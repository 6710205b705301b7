"""callbacks.TensorBoard: the event files read back with the real tensorboard package's EventAccumulator."""
import json

import numpy as np
import pytest

import keraslite as keras
from keraslite.errors import KerasliteError

try:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
except ImportError as exc:  # a missing dev dependency fails, it does not skip
    EventAccumulator = None
    MISSING = str(exc)


def _read(folder):
    if EventAccumulator is None:
        pytest.fail(f"the tensorboard package is missing ({MISSING}); `pip install -e '.[dev]'` installs it")
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0, "images": 0, "tensors": 0})
    acc.Reload()
    return acc


def _series(acc, tag):
    return [(e.step, e.value) for e in acc.Scalars(tag)]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("logs")
    keras.utils.set_random_seed(0)
    L = keras.layers
    model = keras.Sequential([keras.Input((6, 6, 1)), L.Conv2D(2, 3, activation="relu"), L.Flatten(),
                              L.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x, y = rng.random((50, 6, 6, 1)).astype("float32"), rng.integers(0, 3, 50)
    tb = keras.callbacks.TensorBoard(log_dir, histogram_freq=2, write_images=True, update_freq=3)
    history = model.fit(x, y, epochs=3, batch_size=8, validation_split=0.2, callbacks=[tb], verbose=0).history
    evaluation = model.evaluate(x, y, callbacks=[tb], verbose=0, return_dict=True)
    return log_dir, model, history, evaluation


def test_epoch_scalars_have_keras_tags_and_the_logged_values(run):
    log_dir, model, history, _ = run
    train, validation = _read(log_dir / "train"), _read(log_dir / "validation")
    assert set(train.Tags()["scalars"]) == {"epoch_loss", "epoch_accuracy", "epoch_learning_rate", "batch_loss",
                                            "batch_accuracy"}
    for name in ("loss", "accuracy"):
        steps, values = zip(*_series(train, f"epoch_{name}"))
        assert steps == (0, 1, 2)
        np.testing.assert_allclose(values, history[name], rtol=1e-6)
        steps, values = zip(*_series(validation, f"epoch_{name}"))
        np.testing.assert_allclose(values, history[f"val_{name}"], rtol=1e-6)
    assert [round(v, 6) for _, v in _series(train, "epoch_learning_rate")] == [0.05] * 3


def test_batch_scalars_every_update_freq_batches(run):
    train = _read(run[0] / "train")
    # 40 training samples in batches of 8: 5 batches an epoch, 15 in all; every third is written
    assert [s for s, _ in _series(train, "batch_loss")] == [3, 6, 9, 12, 15]


def test_evaluation_vs_iterations_during_fit_and_evaluate(run):
    log_dir, model, history, evaluation = run
    validation = _read(log_dir / "validation")
    series = _series(validation, "evaluation_loss_vs_iterations")
    assert [s for s, _ in series] == [5, 10, 15, 15]  # optimizer.iterations after each epoch, then evaluate()
    np.testing.assert_allclose([v for _, v in series[:3]], history["val_loss"], rtol=1e-6)
    np.testing.assert_allclose(series[3][1], evaluation["loss"], rtol=1e-6)
    assert "evaluation_accuracy_vs_iterations" in validation.Tags()["scalars"]


def test_histograms_images_and_graph(run):
    log_dir, model, _, _ = run
    train = _read(log_dir / "train")
    tags = train.Tags()
    names = [w.path for layer in model.layers for w in layer.weights]
    assert sorted(tags["histograms"]) == sorted(f"{n}/histogram" for n in names)
    for layer in model.layers:
        for w in layer.weights:
            events = train.Histograms(f"{w.path}/histogram")
            assert [e.step for e in events] == [0, 2]  # histogram_freq=2
            assert events[-1].histogram_value.num == w.numpy().size
            np.testing.assert_allclose(events[-1].histogram_value.sum, w.numpy().astype(float).sum(), rtol=1e-5,
                                       atol=1e-6)
    conv = model.layers[0].name  # "conv2d" in a fresh process; other tests' layers may have taken that name
    assert f"{conv}/kernel/image" in tags["images"]
    assert train.Images(f"{conv}/kernel/image")[0].encoded_image_string.startswith(b"\x89PNG")
    graph = train.Tensors("keras")[0]
    assert graph.step == 0
    config = json.loads(graph.tensor_proto.string_val[0])
    assert config["class_name"] == "Sequential"
    assert [l["class_name"] for l in config["config"]["layers"]][-2:] == ["Flatten", "Dense"]


@pytest.mark.parametrize("kwargs, message", [
    ({"update_freq": "step"}, "update_freq must be 'epoch', 'batch' or a positive integer number of batches; "
                              "received update_freq='step'"),
    ({"profile_batch": 2}, "profiling is not available in keraslite; received profile_batch=2 (must be 0)"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(KerasliteError) as info:
        keras.callbacks.TensorBoard("logs", **kwargs)
    assert message in str(info.value)
