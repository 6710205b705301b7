"""keraslite.callbacks against real Keras 3 (tests/fixtures/callbacks, made by make_callback_fixtures.py) and on
real training runs of small models.

The Keras cases script the monitored value (a callback placed first overwrites ``logs[key]`` at each epoch end), so
every decision (when to stop, which epoch is restored, which file is saved, the learning rate) and every message is
compared exactly; the CSV numbers come from real training with the same initial weights and compare within
float32 tolerance.
"""
import contextlib
import io
import json
import math
import os
import warnings

import numpy as np
import pytest

import keraslite as keras
from keraslite.errors import KerasliteError

FIXTURE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "callbacks", "keras_callbacks.json")
with open(FIXTURE) as _fh:
    KERAS = json.load(_fh)
DATA = KERAS["data"]
ARRAYS = {k: np.asarray(DATA[k], "float32") for k in ("x", "y", "x_val", "y_val")}
CASES = {case["id"]: case for case in KERAS["cases"]}


def cases(kind):
    return [pytest.param(c, id=c["id"]) for c in KERAS["cases"] if c["kind"] == kind]


def fixture_model():
    """The fixtures' model: Dense(1, sigmoid) on 3 features with Keras' initial weights, SGD, accuracy."""
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.set_weights([np.asarray(DATA["kernel"], "float32"), np.asarray(DATA["bias"], "float32")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=DATA["learning_rate"]), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


class Script(keras.callbacks.Callback):
    """Overwrites ``logs[key]`` with ``values[epoch]`` at each epoch end (placed before the callback under test)."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values = key, values

    def on_epoch_end(self, epoch, logs=None):
        if self.key is not None:
            logs[self.key] = float(self.values[epoch])


class Weights(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.per_epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.per_epoch.append(self.model.get_weights())


def run_fit(model, callbacks, epochs, validation=True, tmp=None, **kwargs):
    """fit on the fixture data as the fixture script does; returns (history, printed text, callback warnings)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(ARRAYS["x"], ARRAYS["y"], batch_size=DATA["batch_size"], epochs=epochs, shuffle=False,
                            verbose=0, callbacks=callbacks,
                            validation_data=(ARRAYS["x_val"], ARRAYS["y_val"]) if validation else None, **kwargs)
    printed = out.getvalue()
    if tmp is not None:
        printed = printed.replace(str(tmp) + os.sep, "<dir>/")
    messages = [str(w.message) for w in caught if "not available" in str(w.message)
                or "Can save best" in str(w.message)]
    return history, printed, messages


def same_weights(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


# ------------------------------------------------------------------------------------------- the hooks
def test_hooks_are_called_in_keras_order_with_keras_logs():
    calls, legacy = [], []

    class Hooks(keras.callbacks.Callback):
        pass

    def recorder(name, indexed):
        def hook(self, *args):
            logs = args[1] if indexed else args[0]
            calls.append([name, args[0] if indexed else None, None if logs is None else sorted(logs)])
        return hook

    from keraslite.callbacks.base import HOOKS

    for name in HOOKS:
        setattr(Hooks, name, recorder(name, "batch" in name or "epoch" in name))

    class Legacy(keras.callbacks.Callback):
        def on_batch_begin(self, batch, logs=None):
            legacy.append(["on_batch_begin", batch])

        def on_batch_end(self, batch, logs=None):
            legacy.append(["on_batch_end", batch])

    expected = CASES["hooks"]["keras"]
    model, hooks = fixture_model(), Hooks()
    run_fit(model, [hooks, Legacy()], CASES["hooks"]["epochs"])
    assert calls == expected["fit"]
    calls.clear()
    model.evaluate(ARRAYS["x"], ARRAYS["y"], batch_size=4, verbose=0, callbacks=[hooks, Legacy()])
    assert calls == expected["evaluate"]
    calls.clear()
    model.predict(ARRAYS["x"], batch_size=4, verbose=0, callbacks=[hooks, Legacy()])
    assert calls == expected["predict"]
    assert legacy == expected["legacy"]
    assert hooks.params == expected["params"]


def test_lambda_callback_hooks_and_unknown_hook():
    seen = []
    cb = keras.callbacks.LambdaCallback(on_train_begin=lambda logs: seen.append("begin"),
                                        on_epoch_end=lambda epoch, logs: seen.append((epoch, sorted(logs))),
                                        on_batch_end=lambda batch, logs: seen.append(("batch", batch)),
                                        note="kept as an attribute")
    run_fit(fixture_model(), [cb], 2, validation=False)
    logs = ["accuracy", "loss"]
    assert seen == ["begin", ("batch", 0), ("batch", 1), (0, logs), ("batch", 0), ("batch", 1), (1, logs)]
    assert cb.note == "kept as an attribute"
    with pytest.raises(KerasliteError, match="on_epoch_ends.*not a callback hook"):
        keras.callbacks.LambdaCallback(on_epoch_ends=print)


# ------------------------------------------------------------------------------------------- EarlyStopping
@pytest.mark.parametrize("case", cases("early_stopping"))
def test_early_stopping_matches_keras(case):
    expected = case["keras"]
    model, weights = fixture_model(), Weights()
    cb = keras.callbacks.EarlyStopping(**case["kwargs"])
    history, printed, warned = run_fit(model, [Script(case["key"], case["values"]), weights, cb], case["epochs"])
    final = model.get_weights()
    restored = [i for i, w in enumerate(weights.per_epoch) if same_weights(w, final)]
    assert len(history.epoch) == expected["epochs_run"]
    assert (cb.stopped_epoch, cb.best_epoch, cb.best, cb.wait) == (
        expected["stopped_epoch"], expected["best_epoch"], expected["best"], expected["wait"])
    assert printed == expected["printed"]
    assert warned == expected["warnings"]
    assert restored[0] == expected["weights_of_epoch"]


def test_early_stopping_stops_a_long_fit_and_restores_the_best_weights():
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(24, 4)).astype("float32"), rng.normal(size=(24, 1)).astype("float32")
    xv, yv = rng.normal(size=(24, 4)).astype("float32"), rng.normal(size=(24, 1)).astype("float32")
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.03), loss="mse")  # noise: overfits at once
    weights = Weights()
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    history = model.fit(x, y, validation_data=(xv, yv), epochs=300, batch_size=8, verbose=0,
                        callbacks=[weights, stop])
    val = history.history["val_loss"]
    best = int(np.argmin(val))
    assert len(val) < 300 and len(val) == best + 4  # stopped after `patience` epochs without a new minimum
    assert stop.best_epoch == best and stop.stopped_epoch == len(val) - 1
    assert same_weights(model.get_weights(), weights.per_epoch[best])
    assert not same_weights(model.get_weights(), weights.per_epoch[-1])
    np.testing.assert_allclose(model.evaluate(xv, yv, verbose=0), val[best], rtol=1e-5)


def test_auto_mode_that_cannot_be_inferred_and_unknown_mode():
    cb = keras.callbacks.EarlyStopping(monitor="score")
    with pytest.raises(KerasliteError, match="monitor=score.*mode='max'"):
        run_fit(fixture_model(), [Script("score", [1.0, 2.0]), cb], 2)
    for make in (lambda: keras.callbacks.EarlyStopping(mode="minimum"),
                 lambda: keras.callbacks.ReduceLROnPlateau(mode="minimum"),
                 lambda: keras.callbacks.ModelCheckpoint("m.keras", mode="minimum")):
        with pytest.raises(KerasliteError, match=r"`mode` must be one of 'auto', 'min' or 'max'; received "
                                                 r"mode='minimum'"):
            make()


# ------------------------------------------------------------------------------------------- learning rate
@pytest.mark.parametrize("case", cases("reduce_lr"))
def test_reduce_lr_on_plateau_matches_keras(case):
    model = fixture_model()
    history, printed, _ = run_fit(model, [Script(case["key"], case["values"]),
                                          keras.callbacks.ReduceLROnPlateau(**case["kwargs"])], case["epochs"])
    np.testing.assert_allclose(history.history["learning_rate"], case["keras"]["learning_rate"], rtol=1e-7)
    assert printed == case["keras"]["printed"]
    np.testing.assert_allclose(float(np.float32(model.optimizer.learning_rate)), case["keras"]["final_lr"],
                               rtol=1e-7)


def schedule(name):
    if name == "halve":
        return lambda epoch, lr: lr * 0.5
    return lambda epoch: 0.1 if epoch < 2 else 0.01


@pytest.mark.parametrize("case", cases("lr_scheduler"))
def test_learning_rate_scheduler_matches_keras(case):
    cb = keras.callbacks.LearningRateScheduler(schedule(case["schedule"]), **case["kwargs"])
    history, printed, _ = run_fit(fixture_model(), [cb], case["epochs"])
    np.testing.assert_allclose(history.history["learning_rate"], case["keras"]["learning_rate"], rtol=1e-7)
    assert printed == case["keras"]["printed"]


def test_the_scheduled_learning_rate_is_the_one_training_uses():
    weights = Weights()
    cb = keras.callbacks.LearningRateScheduler(lambda epoch: 0.0 if epoch == 1 else 0.5)
    run_fit(fixture_model(), [cb, weights], 3, validation=False)
    first, frozen, moved = weights.per_epoch
    assert same_weights(first, frozen) and not same_weights(frozen, moved)
    with pytest.raises(KerasliteError, match="should be a float. Got: '0.1'"):
        run_fit(fixture_model(), [keras.callbacks.LearningRateScheduler(lambda epoch: "0.1")], 1)
    with pytest.raises(KerasliteError, match="factor >= 1.0. Received factor=2"):
        keras.callbacks.ReduceLROnPlateau(factor=2)


# ------------------------------------------------------------------------------------------- ModelCheckpoint
@pytest.mark.parametrize("case", cases("checkpoint"))
def test_model_checkpoint_matches_keras(case, tmp_path):
    folder = tmp_path / case["id"]
    folder.mkdir()
    cb = keras.callbacks.ModelCheckpoint(**dict(case["kwargs"], filepath=str(folder / case["kwargs"]["filepath"])))
    _, printed, warned = run_fit(fixture_model(), [Script(case["key"], case["values"]), cb], case["epochs"],
                                 tmp=folder)
    assert sorted(os.listdir(folder)) == case["keras"]["files"]
    assert printed == case["keras"]["printed"].replace(f"<dir>/{case['id']}/", "<dir>/")
    assert cb.best == case["keras"]["best"] and warned == case["keras"]["warnings"]


def test_checkpoints_of_real_training_load_and_predict_the_same(tmp_path):
    weights = Weights()
    every = keras.callbacks.ModelCheckpoint(str(tmp_path / "all" / "ckpt-{epoch:02d}-{val_loss:.2f}.keras"))
    best = keras.callbacks.ModelCheckpoint(str(tmp_path / "best.h5"), save_best_only=True)
    best_w = keras.callbacks.ModelCheckpoint(str(tmp_path / "best.weights.h5"), monitor="val_accuracy",
                                             save_best_only=True, save_weights_only=True)
    legacy = keras.callbacks.ModelCheckpoint(str(tmp_path / "last.h5"), save_weights_only=True)  # Keras 2 layout
    model = fixture_model()
    history, _, _ = run_fit(model, [weights, every, best, best_w, legacy], 6)
    val = history.history["val_loss"]
    assert sorted(os.listdir(tmp_path / "all")) == [f"ckpt-{e + 1:02d}-{v:.2f}.keras" for e, v in enumerate(val)]
    probe = fixture_model()
    for e, v in enumerate(val):
        loaded = keras.models.load_model(str(tmp_path / "all" / f"ckpt-{e + 1:02d}-{v:.2f}.keras"), compile=False)
        probe.set_weights(weights.per_epoch[e])
        np.testing.assert_allclose(loaded.predict(ARRAYS["x_val"], verbose=0),
                                   probe.predict(ARRAYS["x_val"], verbose=0), rtol=1e-6)
    loaded = keras.models.load_model(str(tmp_path / "best.h5"), compile=False)
    assert same_weights(loaded.get_weights(), weights.per_epoch[int(np.argmin(val))])
    acc = history.history["val_accuracy"]
    probe.load_weights(str(tmp_path / "best.weights.h5"))
    assert same_weights(probe.get_weights(), weights.per_epoch[int(np.argmax(acc))])
    probe.load_weights(str(tmp_path / "last.h5"))
    assert same_weights(probe.get_weights(), weights.per_epoch[-1])


def test_model_checkpoint_bad_input(tmp_path):
    with pytest.raises(KerasliteError, match=r"must end in `.keras`.*received filepath='model.ckpt'"):
        keras.callbacks.ModelCheckpoint("model.ckpt")
    with pytest.raises(KerasliteError, match=r"save_weights_only=True.*`.weights.h5`.*filepath='cp.ckpt'"):
        keras.callbacks.ModelCheckpoint("cp.ckpt", save_weights_only=True)
    with pytest.raises(KerasliteError, match=r"save_weights_only=True.*whole-model `.keras`"):
        keras.callbacks.ModelCheckpoint("m.keras", save_weights_only=True)
    with pytest.raises(KerasliteError, match="Unrecognized save_freq: 'batch'"):
        keras.callbacks.ModelCheckpoint("m.keras", save_freq="batch")
    cb = keras.callbacks.ModelCheckpoint(str(tmp_path / "m-{epoch:02d}-{val_acc:.2f}.keras"))
    with pytest.raises(KerasliteError, match=r"names \{val_acc\}, which is not in the logs at epoch 1; it can use: "
                                             r"accuracy, epoch, loss, val_accuracy, val_loss"):
        run_fit(fixture_model(), [cb], 1)
    cb = keras.callbacks.ModelCheckpoint(str(tmp_path / "m-{loss:02d}.keras"))
    with pytest.raises(KerasliteError, match=r"cannot be filled in from .*loss=.*Unknown format code 'd'"):
        run_fit(fixture_model(), [cb], 1)


def test_a_missing_monitor_warns_with_the_available_keys(tmp_path):
    keys = "accuracy,loss,val_accuracy,val_loss"
    reduce = keras.callbacks.ReduceLROnPlateau(monitor="val_auc", mode="max")
    _, _, warned = run_fit(fixture_model(), [reduce], 1)
    assert warned == ["Learning rate reduction is conditioned on metric `val_auc` which is not available. Available "
                      f"metrics are: {keys},learning_rate."]
    ckpt = keras.callbacks.ModelCheckpoint(str(tmp_path / "m.keras"), monitor="val_auc", mode="max",
                                           save_best_only=True)
    _, _, warned = run_fit(fixture_model(), [ckpt], 1)
    assert warned == [f"Can save best model only with val_auc available; saving anyway. Available metrics are: {keys}"]
    assert os.path.exists(tmp_path / "m.keras")


# ------------------------------------------------------------------------------------------- CSVLogger
def _check_csv(ours, theirs):
    """Same lines, cells and separators; numbers within float32 tolerance and written as Python floats."""
    assert ours.endswith("\r\n") and theirs.endswith("\r\n")
    ours_rows, theirs_rows = ours.split("\r\n"), theirs.split("\r\n")
    assert len(ours_rows) == len(theirs_rows) and ours_rows[0] == theirs_rows[0]
    sep = ";" if ";" in theirs_rows[0] else ","
    for mine, keras_row in zip(ours_rows[1:], theirs_rows[1:]):
        mine, keras_row = mine.split(sep), keras_row.split(sep)
        assert len(mine) == len(keras_row) and mine[0] == keras_row[0]
        for a, b in zip(mine[1:], keras_row[1:]):
            if b == "NA":
                assert a == "NA"
                continue
            assert a == repr(float(np.float32(a))) and b == repr(float(np.float32(b)))  # float32 values, repr'd
            assert math.isclose(float(a), float(b), rel_tol=1e-5, abs_tol=1e-7)


@pytest.mark.parametrize("case", cases("csv"))
def test_csv_logger_writes_what_keras_writes(case, tmp_path):
    path = tmp_path / f"{case['id']}.csv"
    for _ in range(case["runs"]):
        cbs = [keras.callbacks.LearningRateScheduler(schedule(case["schedule"]))] if case.get("schedule") else []
        run_fit(fixture_model(), cbs + [keras.callbacks.CSVLogger(str(path), **case["kwargs"])], case["epochs"],
                validation=case["validation"])
    with open(path, newline="") as fh:
        _check_csv(fh.read(), case["keras"]["text"])


# ------------------------------------------------------------------------------------------- TerminateOnNaN
def test_terminate_on_nan_matches_keras():
    case, seen = CASES["nan_stop"], []

    class NaN(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)
            if [self.epoch, batch] == case["nan_at"]:
                logs["loss"] = float("nan")

    history, printed, _ = run_fit(fixture_model(), [NaN(), keras.callbacks.TerminateOnNaN()], case["epochs"])
    assert (len(history.epoch), len(seen), printed) == (case["keras"]["epochs_run"], case["keras"]["batches_seen"],
                                                        case["keras"]["printed"])


def test_terminate_on_nan_stops_a_diverging_fit():
    x = np.linspace(-50, 50, 64, dtype="float32").reshape(-1, 1)
    model = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=10.0), loss="mse")  # diverges to inf, then NaN
    out = io.StringIO()
    with contextlib.redirect_stdout(out), np.errstate(all="ignore"):
        history = model.fit(x, x * 3, epochs=50, batch_size=8, verbose=0,
                            callbacks=[keras.callbacks.TerminateOnNaN()])
    assert len(history.epoch) < 50 and not np.isfinite(history.history["loss"][-1])
    assert out.getvalue().endswith(": Invalid loss, terminating training\n")
    model = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=10.0), loss="mse")
    with np.errstate(all="ignore"), pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch") as err:
        model.fit(x, x * 3, epochs=50, batch_size=8, verbose=0,
                  callbacks=[keras.callbacks.TerminateOnNaN(raise_error=True)])
    assert isinstance(err.value, KerasliteError)


# ------------------------------------------------------------------------------------------- BackupAndRestore
class Crash(keras.callbacks.Callback):
    def __init__(self, epoch, batch=None):
        super().__init__()
        self.epoch, self.batch, self.current = epoch, batch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch
        if epoch == self.epoch and self.batch is None:
            raise RuntimeError("simulated crash")

    def on_train_batch_begin(self, batch, logs=None):
        if self.current == self.epoch and batch == self.batch:
            raise RuntimeError("simulated crash")


def test_backup_and_restore_resumes_as_keras_does(tmp_path):
    case = CASES["backup_resume"]
    folder = str(tmp_path / "backup")
    model = fixture_model()
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_fit(model, [keras.callbacks.BackupAndRestore(folder), Crash(case["crash_at"])], case["epochs"])
    assert os.path.exists(os.path.join(folder, "training_metadata.json"))
    history, _, _ = run_fit(model, [keras.callbacks.BackupAndRestore(folder)], case["epochs"])
    assert history.epoch == case["keras"]["resumed_epochs"]
    for ours, theirs in zip(model.get_weights(), case["keras"]["final_weights"]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)
    assert int(np.asarray(model.optimizer.iterations.numpy())) == case["keras"]["iterations"]
    assert os.path.exists(folder) == case["keras"]["backup_dir_exists"]


def _digits_run(callbacks, epochs=6):
    keras.utils.set_random_seed(11)
    rng = np.random.default_rng(11)
    x = rng.normal(size=(48, 6)).astype("float32")
    y = (x[:, :3].sum(1) > x[:, 3:].sum(1)).astype("int64")
    model = keras.Sequential([keras.Input(shape=(6,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    history = model.fit(x, y, epochs=epochs, batch_size=16, shuffle=False, verbose=0, callbacks=callbacks)
    return model, history


@pytest.mark.parametrize("save_freq,crash", [("epoch", (3, None)), (2, (3, 2))], ids=["epoch", "batches"])
def test_backup_and_restore_ends_like_an_uninterrupted_run(tmp_path, save_freq, crash):
    reference, _ = _digits_run([])
    folder = str(tmp_path / "backup")
    with pytest.raises(RuntimeError):
        _digits_run([keras.callbacks.BackupAndRestore(folder, save_freq=save_freq), Crash(*crash)])
    with open(os.path.join(folder, "training_metadata.json")) as fh:
        assert json.load(fh)["epoch"] == 3  # the epoch in progress (mid-epoch backups redo it, as Keras does)
    model, history = _digits_run([keras.callbacks.BackupAndRestore(folder, save_freq=save_freq)])
    assert history.epoch == [3, 4, 5]
    if save_freq == "epoch":
        for ours, theirs in zip(model.get_weights(), reference.get_weights()):
            np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)
        assert int(model.optimizer.iterations.numpy()) == int(reference.optimizer.iterations.numpy())
    assert not os.path.exists(folder)


def test_backup_and_restore_falls_back_to_the_previous_checkpoint(tmp_path):
    folder = str(tmp_path / "backup")
    keep = keras.callbacks.BackupAndRestore(folder, double_checkpoint=True, delete_checkpoint=False)
    with pytest.raises(RuntimeError):
        _digits_run([keep, Crash(4)])
    with open(os.path.join(folder, "training_metadata.json")) as fh:
        meta = json.load(fh)
    assert (meta["epoch"], meta["previous"]["epoch"]) == (4, 3)
    assert sorted(os.listdir(folder)) == ["ckpt-3.optimizer.npz", "ckpt-3.weights.h5", "ckpt-4.optimizer.npz",
                                          "ckpt-4.weights.h5", "training_metadata.json"]
    with open(os.path.join(folder, "ckpt-4.weights.h5"), "wb") as fh:
        fh.write(b"not an HDF5 file")
    with pytest.warns(UserWarning, match="cannot be read.*resuming from the previous one"):
        _, history = _digits_run([keep])
    assert history.epoch == [3, 4, 5]
    assert os.path.exists(os.path.join(folder, "training_metadata.json"))  # delete_checkpoint=False


def test_backup_and_restore_bad_input(tmp_path):
    with pytest.raises(KerasliteError, match="`backup_dir` must name a folder"):
        keras.callbacks.BackupAndRestore("")
    with pytest.raises(KerasliteError, match="save_freq=0. Expected either 'epoch'"):
        keras.callbacks.BackupAndRestore(str(tmp_path), save_freq=0)
    (tmp_path / "training_metadata.json").write_text("{}")
    with pytest.raises(KerasliteError, match="is not a backup this callback wrote"):
        _digits_run([keras.callbacks.BackupAndRestore(str(tmp_path))], epochs=1)
