"""The training API every Model has: ``compile``, ``fit``, ``evaluate``, ``predict`` and the ``*_on_batch`` forms.

``fit`` is an epoch loop over a data adapter calling ``train_step`` (forward under a GradientTape, loss,
gradients, metrics, ``optimizer.apply``), replayed from a trace where that is safe (traced.py, unless
``run_eagerly=True``); callbacks plug in through ``CallbackList`` hooks, and a distribution
strategy (``keraslite.distribute``) through the small ``_shard`` / ``_reduce_*`` / ``_on_fit_*`` hooks, each the
identity on one process.
Logs are dicts sorted by name, as Keras gives them to callbacks.
"""
from __future__ import annotations

import warnings
from typing import Dict, List

import numpy as np

from ...errors import KerasliteError
from .. import metrics as metrics_module
from .. import optimizers as optimizers_module
from ..autodiff import GradientTape, Tensor, elementwise as E
from ..callbacks.base import CallbackList
from ..data import adapters
from ..distribute import context as distribute_context
from ..layers.keras_tensor import flatten, map_structure
from .compile_utils import CompiledLoss, CompiledMetrics, as_list
from .threads import blas_threads

FIT_ARGUMENTS = ("x", "y", "batch_size", "epochs", "verbose", "callbacks", "validation_split", "validation_data",
                 "shuffle", "class_weight", "sample_weight", "initial_epoch", "steps_per_epoch",
                 "validation_steps", "validation_batch_size", "validation_freq")
KERAS2_FIT = {"nb_epoch": "epochs", "nb_val_samples": "validation_steps", "samples_per_epoch": "steps_per_epoch",
              "max_queue_size": None, "workers": None, "use_multiprocessing": None}


class Trainer:
    """Mixin of Model: compile / fit / evaluate / predict (Keras 3 semantics, keraslite autodiff)."""

    def __init__(self):
        self.compiled = False
        self.optimizer = None
        self.loss = None
        self._compiled_loss = None
        self._compiled_metrics = None
        self._loss_tracker = None
        self._output_loss_trackers: List = []
        self._compile_args: Dict = {}
        self.stop_training = False
        self.history = None
        self._distribution = distribute_context.current_strategy()  # a model made in ``strategy.scope()``
        self._initial_epoch = None  # set by a callback's on_train_begin (BackupAndRestore) to resume a fit
        self.run_eagerly = False  # True: every step runs eagerly instead of replaying a traced one (traced.py)

    # ------------------------------------------------------------------------------------------- compile
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True, **kwargs):
        """Configure training: optimizer, loss(es), loss_weights, metrics and weighted_metrics."""
        for legacy in ("sample_weight_mode", "target_tensors", "distribute"):
            kwargs.pop(legacy, None)
        if kwargs:
            raise KerasliteError(f"compile() got unexpected argument(s) {sorted(kwargs)}; it takes optimizer, loss, "
                                 "loss_weights, metrics, weighted_metrics, run_eagerly, steps_per_execution, "
                                 "jit_compile")
        if self._distribution is None:
            self._distribution = distribute_context.current_strategy()
        self.optimizer = optimizers_module.get(optimizer)
        self.loss = loss
        names = self._output_names_for_compile()
        self._compile_args = {"loss": loss, "loss_weights": loss_weights, "metrics": metrics,
                              "weighted_metrics": weighted_metrics}
        self._compiled_loss = CompiledLoss(loss, loss_weights, names) if loss is not None else None
        self._compiled_metrics = CompiledMetrics(metrics, weighted_metrics, names)
        self._loss_tracker = metrics_module.Mean(name="loss")
        self._output_loss_trackers = []
        self.compiled = True
        self._train_variables = None
        self.run_eagerly = bool(run_eagerly)

    def _output_names_for_compile(self) -> List[str]:
        names = getattr(self, "output_names", None)
        if names:
            return list(names)
        return ["output"]

    def _assert_compiled(self, method):
        if not self.compiled:
            raise KerasliteError(f"You must call `compile()` before using the model ({method}). For example: "
                                 "model.compile(optimizer='adam', loss='mse')")

    @property
    def metrics(self):
        """The loss tracker(s), then every compiled metric (what the logs report)."""
        out = []
        if self._loss_tracker is not None:
            out.append(self._loss_tracker)
        out.extend(self._output_loss_trackers)
        if self._compiled_metrics is not None:
            out.extend(self._compiled_metrics.metrics)
        return out

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    def get_metrics_result(self) -> Dict[str, float]:
        """``{name: value}`` of every metric, sorted by name (Keras' log order)."""
        out = {}
        for m in self.metrics:
            result = m.result()
            if isinstance(result, dict):
                out.update({k: _python_value(v) for k, v in result.items()})
            else:
                out[m.name] = _python_value(result)
        return dict(sorted(out.items()))

    # ------------------------------------------------------------------------------------------- steps
    def _flat_outputs(self, y_pred) -> List:
        return flatten(y_pred)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled losses (weighted, summed over outputs) plus the model's ``losses`` (regularization)."""
        flat_pred = self._flat_outputs(y_pred)
        names = self._compiled_loss.output_names if self._compiled_loss else ["output"]
        if len(names) != len(flat_pred):
            names = [f"output_{i + 1}" for i in range(len(flat_pred))] if len(flat_pred) > 1 else ["output"]
            if self._compiled_loss is not None:
                self._rebuild_for(names)
        total = None
        if self._compiled_loss is not None:
            y_true = as_list(y, names)
            weights = as_list(sample_weight, names, "sample_weight")
            total, parts = self._compiled_loss(y_true, flat_pred, weights)
            self._last_output_losses = parts
        for extra in self._extra_losses():
            total = extra if total is None else E.add(total, extra)
        if total is None:
            raise KerasliteError("No loss to compute. Provide a `loss` argument in `compile()`.")
        return total

    def _rebuild_for(self, names):
        args = self._compile_args
        self._compiled_loss = CompiledLoss(args["loss"], args["loss_weights"], names)
        self._compiled_metrics = CompiledMetrics(args["metrics"], args["weighted_metrics"], names)

    def _update_loss_trackers(self, loss, batch_size):
        self._loss_tracker.update_state(float(loss._v), sample_weight=batch_size)
        names = self._compiled_loss.log_names if self._compiled_loss is not None else []
        if names:
            if not self._output_loss_trackers:
                self._output_loss_trackers = [metrics_module.Mean(name=n) for n in names]
            for tracker, part in zip(self._output_loss_trackers, self._last_output_losses):
                tracker.update_state(float(part._v), sample_weight=batch_size)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Update the compiled metrics with one batch; returns the current logs."""
        if self._compiled_metrics is not None and y is not None:
            names = self._compiled_metrics.output_names
            self._compiled_metrics.update_state(as_list(y, names), self._flat_outputs(y_pred),
                                                as_list(sample_weight, names, "sample_weight"))
        return LazyLogs(self.get_metrics_result)

    def _variables_to_train(self):
        cache = getattr(self, "_fit_cache", None)
        if cache is None:
            return self.trainable_weights
        if cache.get("variables") is None:
            self._start_fit_cache()
            cache = self._fit_cache
        return cache["variables"]

    def _extra_losses(self):
        """The model's ``losses`` (regularization, ``add_loss``), from only the layers that can have any."""
        cache = getattr(self, "_fit_cache", None)
        if not cache:
            return self.losses
        out = []
        for layer in cache["loss_layers"]:
            out.extend(layer._call_losses)
            for v in layer._trainable_variables + layer._non_trainable_variables:
                if v.regularizer is not None:
                    out.append(v.regularizer(v))
        return out

    def _start_fit_cache(self):
        """Per-fit constants: the variables to train and the layers that can add losses (Keras also fixes these
        when it builds its train function; change ``trainable`` between fits, not during one)."""
        from ..layers import LAYERS

        layers, stack = [], [self]
        while stack:
            layer = stack.pop()
            layers.append(layer)
            stack.extend(reversed(layer._sublayers()))
        loss_layers = [l for l in layers if type(l).__name__ not in LAYERS or l.activity_regularizer is not None
                       or any(v.regularizer is not None for v in l._trainable_variables)]
        self._fit_cache = {"variables": self.trainable_weights if self.built else None, "loss_layers": loss_layers}

    def _step_runner(self, kind):
        """The step function of ``kind`` ("train", "test" or "predict"): traced and replayed where it can be (one
        runner per fit, so validation keeps its traces from epoch to epoch)."""
        from .traced import StepRunner

        cache = getattr(self, "_fit_cache", None)
        if cache is None:
            return StepRunner(self, kind)
        runner = cache.get(kind)
        if runner is None:
            runner = cache[kind] = StepRunner(self, kind)
        return runner

    def _end_fit_cache(self):
        self._fit_cache = None

    def train_step(self, data):
        """One optimization step on a batch ``(x, y, sample_weight)``; returns the logs."""
        x, y, sample_weight = adapters.unpack(data)
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            variables = self._variables_to_train()  # after the forward pass, which builds a lazy model
            loss = self.compute_loss(x, y, y_pred, sample_weight, training=True)
        return self._finish_train_step(x, y, sample_weight, y_pred, loss, variables,
                                       lambda: tape.gradient(loss, variables))

    def _finish_train_step(self, x, y, sample_weight, y_pred, loss, variables, gradients):
        """The rest of a train step once ``loss`` is known; ``gradients()`` gives the gradients of ``variables``."""
        self._update_loss_trackers(loss, _batch_size(x))
        # metrics before the update (they read y_pred only), so a strategy reduces them with the gradients
        logs = self.compute_metrics(x, y, y_pred, sample_weight)
        if variables:
            grads = self._reduce_gradients(gradients())
            self.optimizer.apply(grads, variables)
        else:
            warnings.warn("The model does not have any trainable weights.", stacklevel=3)
        return logs

    def test_step(self, data):
        """Loss and metrics on a batch without training."""
        x, y, sample_weight = adapters.unpack(data)
        y_pred = self(x, training=False)
        loss = None
        if self._compiled_loss is not None or self.losses:
            loss = self.compute_loss(x, y, y_pred, sample_weight, training=False)
        return self._finish_test_step(x, y, sample_weight, y_pred, loss)

    def _finish_test_step(self, x, y, sample_weight, y_pred, loss):
        if loss is not None:
            self._update_loss_trackers(loss, _batch_size(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        x, _, _ = adapters.unpack(data)
        return self(x, training=False)

    # -- hooks of a distribution strategy (keraslite.distribute); each is the identity on one process
    def _reduce_gradients(self, grads):
        """The gradients averaged over replicas (one fused all-reduce)."""
        engine = _engine(self)
        return grads if engine is None else engine.reduce_gradients(self, grads)

    def _reduce_logs(self, logs):
        """Logs of the global batch: metric states summed over replicas."""
        engine = _engine(self)
        return logs if engine is None else engine.reduce_logs(self, logs)

    def _shard(self, data, kind):
        """This replica's share of each batch of an adapter (``kind``: "train", "test" or "predict")."""
        engine = _engine(self)
        return data if engine is None or data is None else engine.shard(self, data, kind)

    def _prepare_callbacks(self, cbs):
        """The callbacks this replica runs (files and progress bars on the chief only)."""
        engine = _engine(self)
        return cbs if engine is None else engine.prepare_callbacks(cbs)

    def _gather_predictions(self, outputs):
        """Every replica's predictions, in the order of the input."""
        engine = _engine(self)
        return outputs if engine is None else engine.gather_predictions(self, outputs)

    def _on_fit_begin(self):
        """After ``on_train_begin`` (which may restore a backup): the chief's weights and epoch everywhere."""
        engine = _engine(self)
        if engine is not None:
            engine.on_fit_begin(self)

    def _on_fit_end(self):
        engine = _engine(self)
        if engine is not None:
            engine.on_fit_end(self)

    # ------------------------------------------------------------------------------------------- loops
    def _num_classes(self):
        shapes = getattr(self, "output_shape", None)
        if isinstance(shapes, tuple) and shapes and isinstance(shapes[-1], int):
            return 2 if shapes[-1] == 1 else shapes[-1]
        return None

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1, **kwargs):
        """Train for ``epochs`` over ``x``/``y`` (arrays, lists/dicts of arrays, a generator or a Dataset).

        Returns:
            A ``History`` whose ``.history`` maps each log name (``loss``, metrics, ``val_*``) to per-epoch values.
        """
        _check_legacy_kwargs("fit", kwargs)
        self._assert_compiled("fit")
        _check_positive("epochs", epochs, allow_zero=True)
        if batch_size is not None:
            _check_positive("batch_size", batch_size)
        if validation_split and validation_data is None:
            (x, y, sample_weight), validation_data = adapters.split_validation(x, y, sample_weight,
                                                                               validation_split)
        data = adapters.make_adapter(x, y, sample_weight, batch_size, steps_per_epoch, shuffle, class_weight,
                                     self._num_classes())
        val = None
        if validation_data is not None:
            val = self._validation_adapter(validation_data, validation_batch_size or batch_size, validation_steps)
        verbose = 1 if verbose == "auto" else verbose
        cbs = callbacks if isinstance(callbacks, CallbackList) else CallbackList(
            callbacks, add_history=True, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=epochs,
            steps=adapters.num_steps(data))
        data, val, cbs = self._shard(data, "train"), self._shard(val, "test"), self._prepare_callbacks(cbs)
        with blas_threads(self, getattr(data, "batch_size", batch_size)):
            return self._fit_loop(data, val, cbs, epochs, initial_epoch, validation_freq)

    def _fit_loop(self, data, val, cbs, epochs, initial_epoch, validation_freq):
        self.stop_training = False
        self._start_fit_cache()
        cbs.on_train_begin()
        self._on_fit_begin()
        resume_at, self._initial_epoch = getattr(self, "_initial_epoch", None), None
        if resume_at is not None:
            initial_epoch = resume_at
        epoch_logs: Dict[str, float] = {}
        want_batch_logs = cbs.wants("on_train_batch_end")
        train_step = self._step_runner("train")
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cbs.on_epoch_begin(epoch)
            step = -1
            for step, batch in enumerate(data.batches()):
                cbs.on_train_batch_begin(step)
                logs = train_step(batch)
                if want_batch_logs:
                    cbs.on_train_batch_end(step, self._reduce_logs(logs))
                if self.stop_training:
                    break
            if step < 0:
                raise KerasliteError("fit() got no batches: the data is empty (or a generator was already "
                                     "exhausted)")
            epoch_logs = self._reduce_logs(self.get_metrics_result())
            if val is not None and _should_validate(epoch, validation_freq):
                val_logs = self._evaluate_adapter(val, cbs)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, epoch_logs)
            if self.stop_training or getattr(data, "_exhausted", False):
                break
        cbs.on_train_end(epoch_logs)
        self._on_fit_end()
        self._end_fit_cache()
        return cbs.history if hasattr(cbs, "history") else self.history

    def _validation_adapter(self, validation_data, batch_size, steps):
        if adapters.is_iterable_source(validation_data):
            return adapters.make_adapter(validation_data, steps=steps)
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise KerasliteError("`validation_data` should be a tuple `(x_val, y_val)` or `(x_val, y_val, "
                                 f"val_sample_weights)`, or a generator/Dataset; got {type(validation_data).__name__}"
                                 f"{' of length ' + str(len(validation_data)) if hasattr(validation_data, '__len__') else ''}")
        vx, vy, vsw = (list(validation_data) + [None])[:3]
        return adapters.make_adapter(vx, vy, vsw, batch_size, steps, False)

    def _evaluate_adapter(self, data, cbs):
        self.reset_metrics()
        cbs.on_test_begin()
        want = cbs.wants("on_test_batch_end")
        test_step = self._step_runner("test")
        for step, batch in enumerate(data.batches()):
            cbs.on_test_batch_begin(step)
            logs = test_step(batch)
            if want:
                cbs.on_test_batch_end(step, self._reduce_logs(logs))
        logs = self._reduce_logs(self.get_metrics_result())
        cbs.on_test_end(logs)
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, **kwargs):
        """Loss and metrics on ``x``/``y``: a list in ``metrics_names`` order, or a dict with ``return_dict``."""
        _check_legacy_kwargs("evaluate", kwargs)
        self._assert_compiled("evaluate")
        data = adapters.make_adapter(x, y, sample_weight, batch_size, steps, False)
        verbose = 1 if verbose == "auto" else verbose
        cbs = callbacks if isinstance(callbacks, CallbackList) else CallbackList(
            callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1, steps=adapters.num_steps(data))
        data, cbs = self._shard(data, "test"), self._prepare_callbacks(cbs)
        with blas_threads(self, getattr(data, "batch_size", batch_size)):
            logs = self._evaluate_adapter(data, cbs)
        if return_dict:
            return logs
        values = [logs[name] for name in self.metrics_names if name in logs]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None, **kwargs):
        """Outputs for ``x`` as numpy arrays (the model's output structure), batch by batch."""
        _check_legacy_kwargs("predict", kwargs)
        data = adapters.make_adapter(x, None, None, batch_size, steps, False)
        verbose = 1 if verbose == "auto" else verbose
        cbs = callbacks if isinstance(callbacks, CallbackList) else CallbackList(
            callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1, steps=adapters.num_steps(data))
        data, cbs = self._shard(data, "predict"), self._prepare_callbacks(cbs)
        cbs.on_predict_begin()
        outputs = []
        predict_step = self._step_runner("predict")
        with blas_threads(self, getattr(data, "batch_size", batch_size)):
            for step, batch in enumerate(data.batches()):
                cbs.on_predict_batch_begin(step)
                out = predict_step(batch)
                outputs.append(map_structure(lambda t: np.asarray(t._v if isinstance(t, Tensor) else t), out))
                cbs.on_predict_batch_end(step, {"outputs": outputs[-1]})
        cbs.on_predict_end()
        if not outputs:
            raise KerasliteError("predict() got no batches: the input is empty")
        return self._gather_predictions(_concat(outputs))

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One training step on one batch; returns the logs (metrics accumulate until ``reset_metrics``)."""
        self._assert_compiled("train_on_batch")
        if class_weight is not None:
            sample_weight = adapters.class_weights_to_sample_weights(y, class_weight, self._num_classes())
        batch = (adapters.standardize(x, "x"), adapters.standardize(y, "y"),
                 None if sample_weight is None else np.asarray(sample_weight, "float32"))
        logs = self.train_step(batch)
        return logs if return_dict else _in_order(self, logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss and metrics on one batch."""
        self._assert_compiled("test_on_batch")
        batch = (adapters.standardize(x, "x"), adapters.standardize(y, "y"),
                 None if sample_weight is None else np.asarray(sample_weight, "float32"))
        logs = self.test_step(batch)
        return logs if return_dict else _in_order(self, logs)

    def predict_on_batch(self, x):
        """Outputs for one batch as numpy arrays."""
        out = self.predict_step((adapters.standardize(x, "x"),))
        return map_structure(lambda t: np.asarray(t._v if isinstance(t, Tensor) else t), out)


def _engine(model):
    """The multi-replica engine of the model's strategy; None on one process or without a strategy."""
    strategy = model._distribution
    return None if strategy is None else strategy._engine


def _python_value(value):
    """A metric result as a Python float (vector results, e.g. per-threshold counts, stay arrays)."""
    array = np.asarray(value._v if isinstance(value, Tensor) else value)
    return float(array) if array.ndim == 0 else array


class LazyLogs(dict):
    """The logs of one step, computed only when read: most steps nobody reads them (the progress bar redraws
    every 50 ms), and computing every metric's result costs more than a small model's step."""

    __slots__ = ("_compute",)

    def __init__(self, compute):
        super().__init__()
        self._compute = compute

    def _fill(self):
        if self._compute is not None:
            compute, self._compute = self._compute, None
            dict.update(self, compute())

    def _filled(name):  # noqa: N805 (a method factory used in the class body)
        def method(self, *args, **kwargs):
            self._fill()
            return getattr(dict, name)(self, *args, **kwargs)
        method.__name__ = name
        return method

    for _name in ("__getitem__", "__contains__", "__iter__", "__len__", "__repr__", "__eq__", "get", "items",
                  "keys", "values", "copy", "__setitem__", "update", "pop", "setdefault", "__delitem__"):
        locals()[_name] = _filled(_name)
    del _name, _filled


def _in_order(model, logs):
    values = [logs[n] for n in model.metrics_names if n in logs]
    return values[0] if len(values) == 1 else values


def _concat(batches):
    first = batches[0]
    if isinstance(first, dict):
        return {k: np.concatenate([b[k] for b in batches]) for k in first}
    if isinstance(first, (list, tuple)):
        return type(first)(np.concatenate([b[i] for b in batches]) for i in range(len(first)))
    return np.concatenate(batches)


def _batch_size(x):
    first = flatten(x)[0]
    return int(np.shape(first._v if isinstance(first, Tensor) else first)[0])


def _should_validate(epoch, freq):
    if isinstance(freq, int):
        return (epoch + 1) % freq == 0
    return epoch + 1 in freq


def _check_positive(name, value, allow_zero=False):
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool) and (value >= 0 if allow_zero
                                                                                   else value > 0)
    if not ok:
        raise KerasliteError(f"`{name}` must be a positive integer, got {value!r}")


def _check_legacy_kwargs(method, kwargs):
    for key in list(kwargs):
        if key in KERAS2_FIT:
            new = KERAS2_FIT[key]
            if new is None:
                kwargs.pop(key)  # Keras 2 data-loading knobs: nothing to tune here
                continue
            raise KerasliteError(f"{method}() got the Keras 1/2 argument `{key}`; it is called `{new}` now, e.g. "
                                 f"model.{method}(x, y, {new}=...)")
    if kwargs:
        raise KerasliteError(f"{method}() got unexpected argument(s) {sorted(kwargs)}")


__all__ = ["Trainer"]
