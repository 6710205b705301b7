"""What a multi-replica strategy does inside fit / evaluate / predict (the trainer's hooks call these methods).

One training step on replica r, which holds ``n_r`` of the global batch's ``N`` samples (sharding.py):

- the gradients are packed, each multiplied by ``n_r``, into one float32 buffer, followed by ``n_r``, the change
  the forward pass made to the replica's state variables (BatchNormalization's moving statistics) and the state of
  every metric; ONE ``Allreduce`` (split into buckets only past ``bucket_bytes``) sums it over the replicas;
- the gradients become ``sum(n_r * g_r) / N``: for a loss averaged over the batch (Keras' default reduction) that
  is exactly the gradient of one process on the whole batch, also for a last batch that does not split evenly;
- the state variables take the mean of the replicas' changes: each replica normalizes by its own batch statistics
  (Keras' MirroredStrategy, unless ``synchronized=True``), and the moving averages stay identical everywhere;
- the metrics' summed state is what every replica logs (Keras' metrics aggregate by "sum"), so the logs, the
  checkpoints' monitors and EarlyStopping see the global figures; the local state keeps accumulating.

Evaluation sums the metric states with one all-reduce per logged batch; predictions are gathered in input order.
At the first batch of a fit the chief's weights and optimizer state (a restored backup's, say) are broadcast.
"""
from __future__ import annotations

import hashlib
from typing import List, Optional

import numpy as np

from .. import random as krandom
from ..autodiff import Tensor
from ..models.threads import _leaves


class _Layout:
    """Where each gradient, state change and metric variable sits in the step's buffer."""

    def __init__(self, grads, state_vars, metric_vars):
        offset = 0
        self.grad_slots = []
        for g in grads:
            if g is None:
                self.grad_slots.append(None)
                continue
            shape = np.shape(g._v if isinstance(g, Tensor) else g)
            size = int(np.prod(shape, dtype=np.int64))
            self.grad_slots.append((offset, offset + size, shape))
            offset += size
        self.n_grads = offset
        self.count_at, self.nonempty_at = offset, offset + 1
        offset += 2
        self.state_slots, offset = _slots(state_vars, offset)
        self.metric_start = offset
        self.metric_slots, offset = _slots(metric_vars, offset)
        self.buffer = np.zeros(offset, np.float32)
        self.key = _key(grads, state_vars, metric_vars)


def _slots(variables, offset):
    slots = []
    for v in variables:
        slots.append((offset, offset + v._v.size))
        offset += v._v.size
    return slots, offset


def _key(grads, state_vars, metric_vars):
    return (tuple(None if g is None else np.shape(g._v if isinstance(g, Tensor) else g) for g in grads),
            tuple(id(v) for v in state_vars), tuple(id(v) for v in metric_vars))


def metric_variables(model) -> List:
    return [v for m in model.metrics for v in m.variables]


class Engine:
    """The data-parallel side of fit/evaluate/predict on ``collective`` (one per multi-replica strategy)."""

    def __init__(self, collective):
        self.collective = collective
        self.rank, self.size = collective.rank, collective.size
        self.phase: Optional[str] = None      # "train", "test" or "predict": what the sharded adapter runs
        self.step_count: Optional[float] = None  # samples of this replica in the current step (0: a stand-in)
        self._state_before: List = []          # [(variable, value before the step)]
        self._metric_snapshot: Optional[List] = None
        self._layout: Optional[_Layout] = None
        self._global_metrics: Optional[np.ndarray] = None
        self._needs_sync = False
        self._forked = False

    @property
    def is_chief(self) -> bool:
        return self.rank == 0

    # ------------------------------------------------------------------------------------------- fit begin/end
    def on_fit_begin(self, model):
        """The chief's resume epoch (``BackupAndRestore``) everywhere; weights follow at the first batch."""
        model._initial_epoch = self.collective.bcast_object(getattr(model, "_initial_epoch", None),
                                                            what="the start of fit")
        self._needs_sync = True
        self._global_metrics = None

    def on_fit_end(self, model):
        self._needs_sync = False
        self.phase = None

    def sync_model(self, model, x):
        """Broadcast the chief's weights and optimizer state (building the model on ``x`` first if needed)."""
        from ..models.saving import optimizer_state, restore_optimizer

        self._needs_sync = False
        if not model.built or not model.weights:
            model(x, training=False)
        weights = model.weights
        flat = np.concatenate([v._v.ravel().astype(np.float64) for v in weights]) if weights else np.zeros(0)
        self.collective.bcast_(flat, what="the broadcast of the initial weights")
        offset = 0
        for v in weights:
            v.assign(flat[offset:offset + v._v.size].reshape(v.shape))
            offset += v._v.size
        state = self.collective.bcast_object(optimizer_state(model) if self.is_chief else None,
                                             what="the broadcast of the optimizer state")
        if state is not None and not self.is_chief:
            restore_optimizer(model, state)
        self._fork_random_streams()

    def _fork_random_streams(self):
        """Give each replica its own dropout/augmentation stream; the chief keeps its own (a one-process run's)."""
        if self._forked:
            return
        self._forked = True
        # derived from the chief's generator state without drawing from it, so the chief's stream (its shuffles)
        # stays the one a single process would have
        digest = hashlib.sha256(repr(krandom.generator().bit_generator.state).encode()).digest()
        seed = self.collective.bcast_object(int.from_bytes(digest[:8], "little") if self.is_chief else None,
                                            what="the seeding of the replicas' random streams")
        if not self.is_chief:
            krandom._global["rng"] = np.random.default_rng([seed, self.rank])

    def chief_random_state(self):
        """The chief's global generator state, broadcast (the sharded adapter draws the epoch's shuffle with it)."""
        state = krandom.generator().bit_generator.state if self.is_chief else None
        return self.collective.bcast_object(state, what="the broadcast of the shuffle order")

    # ------------------------------------------------------------------------------------------- a step
    def begin_step(self, model, count: int, kind: str):
        """Called by the sharded adapter before it hands out this replica's ``count`` samples of a batch."""
        self.step_count = float(count)
        if kind == "train":
            self._state_before = [(v, v._v.copy()) for v in self._state_variables(model)]
        if count == 0:  # a stand-in sample runs; its metric updates are taken back before any reduction
            self._metric_snapshot = [(v, v._v.copy()) for v in metric_variables(model)]

    def end_step(self):
        self._drop_stand_in()
        self.step_count = None

    def _drop_stand_in(self):
        if self._metric_snapshot is not None:
            for v, before in self._metric_snapshot:
                v.assign(before)
            self._metric_snapshot = None

    @staticmethod
    def _state_variables(model):
        return [v for layer in _leaves(model) if layer.trainable for v in layer._non_trainable_variables
                if v.dtype.kind == "f"]

    def reduce_gradients(self, model, grads):
        """One fused all-reduce of gradients, state changes and metric states (see the module docstring)."""
        self._drop_stand_in()
        count = 1.0 if self.step_count is None else self.step_count  # train_on_batch: equal weights
        metric_vars = metric_variables(model)
        state = self._state_before
        layout = self._layout
        if layout is None or layout.key != _key(grads, [v for v, _ in state], metric_vars):
            layout = self._layout = _Layout(grads, [v for v, _ in state], metric_vars)
        buf = layout.buffer
        for g, slot in zip(grads, layout.grad_slots):
            if slot is not None:
                target = buf[slot[0]:slot[1]]
                if count:
                    np.multiply(np.ravel(g._v if isinstance(g, Tensor) else g), count, out=target)
                else:
                    target[:] = 0
        buf[layout.count_at], buf[layout.nonempty_at] = count, 1.0 if count else 0.0
        for (v, before), (start, stop) in zip(state, layout.state_slots):
            buf[start:stop] = (v._v - before).ravel() if count else 0
        for v, (start, stop) in zip(metric_vars, layout.metric_slots):
            buf[start:stop] = v._v.ravel()
        self.collective.allreduce_(buf, "the gradient all-reduce of a training step")
        np.divide(buf[:layout.n_grads], buf[layout.count_at], out=buf[:layout.n_grads])
        nonempty = buf[layout.nonempty_at]
        for (v, before), (start, stop) in zip(state, layout.state_slots):
            v.assign(before + (buf[start:stop] / nonempty).reshape(v.shape).astype(v.dtype))
        self._global_metrics = buf[layout.metric_start:].copy()
        self._state_before = []
        return [None if slot is None else buf[slot[0]:slot[1]].reshape(slot[2]) for slot in layout.grad_slots]

    # ------------------------------------------------------------------------------------------- logs
    def reduce_logs(self, model, logs):
        """The logs of the global batch: training reads the step's reduced metric state, evaluation sums now."""
        from ..models.trainer import LazyLogs

        if self.phase == "train":
            state = self._global_metrics
            if state is None:
                return logs
            if isinstance(logs, LazyLogs):
                return LazyLogs(lambda: self._results_with(model, state))
            return self._results_with(model, state)
        self._drop_stand_in()
        metric_vars = metric_variables(model)
        buf = np.concatenate([v._v.ravel().astype(np.float64) for v in metric_vars]) if metric_vars else np.zeros(1)
        self.collective.allreduce_(buf, "the metric all-reduce of an evaluation")
        return self._results_with(model, buf)

    @staticmethod
    def _results_with(model, state):
        """``model.get_metrics_result()`` computed on ``state`` (the summed metric variables), local state kept."""
        metric_vars = metric_variables(model)
        local = [v._v.copy() for v in metric_vars]
        offset = 0
        for v in metric_vars:
            v.assign(state[offset:offset + v._v.size].reshape(v.shape))
            offset += v._v.size
        try:
            return model.get_metrics_result()
        finally:
            for v, value in zip(metric_vars, local):
                v.assign(value)

    # ------------------------------------------------------------------------------------------- wiring
    def shard(self, model, data, kind):
        from .sharding import ShardedAdapter

        return ShardedAdapter(self, model, data, kind)

    def prepare_callbacks(self, cbs):
        from .sharding import chief_only_callbacks

        return chief_only_callbacks(cbs, self.is_chief)

    def gather_predictions(self, model, outputs):
        from .sharding import gather_predictions

        return gather_predictions(self, outputs)


__all__ = ["Engine"]
