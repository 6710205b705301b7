"""Confusion counts at many thresholds at once: Keras' ``update_confusion_matrix_variables`` in vectorised numpy.

Each prediction is bucketed once: ``b`` = how many thresholds it is strictly above. Evenly spaced thresholds
(AUC's 200, the ``*AtSensitivity`` family) use Keras' own bucket formula ``ceil(p * (n - 1))`` on predictions
clipped to [0, 1], so boundary values land where Keras puts them; any other list goes through
``np.searchsorted``. One ``np.add.at`` of the (weighted) positive and negative labels into the buckets and a
cumulative sum then give TP/FP/TN/FN at every threshold, for all labels together: no loop over thresholds.
"""
from __future__ import annotations

import numpy as np

from ...errors import KerasliteError
from .base import EPSILON, broadcast, check_same_shape, same_rank, to_numpy

NEG_INF = -1e10
KINDS = ("tp", "fp", "tn", "fn")


def parse_thresholds(thresholds, default, owner):
    """A list of thresholds (``default`` when None); given ones must lie in [0, 1]."""
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    bad = [t for t in values if t is None or not 0 <= t <= 1]
    if bad:
        raise KerasliteError(f"{owner}: threshold values must be in [0, 1]. Received: {bad}")
    return [float(t) for t in values]


def evenly_spaced(thresholds) -> bool:
    """Keras' ``is_evenly_distributed_thresholds``: at least 3 values at i / (n - 1) (within epsilon)."""
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(thresholds, even, atol=EPSILON))


def filter_top_k(x: np.ndarray, k: int) -> np.ndarray:
    """Keep each row's ``k`` largest scores (lower index first on ties, as ``top_k``); the rest become -1e10."""
    order = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    keep = np.zeros(x.shape, dtype=bool)
    np.put_along_axis(keep, order, True, axis=-1)
    return np.where(keep, x, x.dtype.type(NEG_INF))


def prepare(y_true, y_pred, sample_weight, owner, top_k=None, class_id=None, dtype="float32"):
    """Cast, align ranks, apply ``top_k`` and ``class_id``; returns ``(y_true, y_pred, weights or None)``."""
    y_true = to_numpy(y_true, dtype)
    y_pred = to_numpy(y_pred, dtype)
    y_pred, y_true = same_rank(y_pred, y_true)
    check_same_shape(y_true, y_pred, owner)
    weights = None
    if sample_weight is not None:
        weights = to_numpy(sample_weight, dtype)[..., None]
        _, weights = same_rank(y_true, weights, expand_rank_1=False)
    if top_k is not None:
        if y_pred.ndim == 0:
            raise KerasliteError(f"{owner}: `top_k` needs predictions with a class axis. Received: "
                                 f"y_pred.shape={tuple(y_pred.shape)}")
        y_pred = filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim < 2:
            raise KerasliteError(f"{owner}: when class_id is provided, y_pred must be a 2D array with shape "
                                 f"(num_samples, num_classes), found shape: {tuple(y_pred.shape)}")
        if not -y_pred.shape[-1] <= class_id < y_pred.shape[-1]:
            raise KerasliteError(f"{owner}: class_id={class_id} is out of range for y_pred with "
                                 f"{y_pred.shape[-1]} classes (shape {tuple(y_pred.shape)})")
        y_true = y_true[..., class_id, None]
        y_pred = y_pred[..., class_id, None]
    if weights is not None:
        weights = broadcast(weights, y_pred.shape, "sample_weight", owner)
    return y_true, y_pred, weights


def confusion_counts(y_true, y_pred, weights, thresholds, even, multi_label=False, label_weights=None,
                     wanted=KINDS):
    """``{kind: counts}`` for ``wanted`` kinds: shape (n_thresholds,) or, with ``multi_label``,
    (n_thresholds, n_labels). ``weights`` and ``label_weights`` (per label) multiply each entry's count."""
    thresholds = np.asarray(thresholds, dtype=y_pred.dtype)
    n = thresholds.shape[0]
    if label_weights is not None:
        lw = broadcast(np.asarray(label_weights, y_pred.dtype), y_pred.shape, "label_weights", "AUC")
        weights = lw if weights is None else weights * lw
    positive = y_true != 0
    if even:
        buckets = _even_buckets(y_pred, n, thresholds[0] < 0 or thresholds[-1] > 1)
    else:
        buckets = _searched_buckets(y_pred, thresholds)
    if not multi_label:
        buckets, positive = buckets.reshape(-1), positive.reshape(-1)
        weights = None if weights is None else weights.reshape(-1)
        labels = 1
    else:
        if y_pred.ndim != 2:
            raise KerasliteError(f"multi_label confusion counts need y_pred of rank 2; got {tuple(y_pred.shape)}")
        labels = y_pred.shape[1]
        buckets = buckets + (n + 1) * np.arange(labels)  # one block of n + 1 buckets per label
    w = np.ones(positive.shape, y_pred.dtype) if weights is None else weights.astype(y_pred.dtype, copy=False)
    pos_w = np.where(positive, w, 0).astype(y_pred.dtype)
    neg_w = np.where(positive, 0, w).astype(y_pred.dtype)
    size = (n + 1) * labels
    # np.add.at sums each bucket in data order in the state's dtype, as TensorFlow's unsorted_segment_sum does
    pos = np.zeros(size, y_pred.dtype)
    neg = np.zeros(size, y_pred.dtype)
    np.add.at(pos, buckets.ravel(), pos_w.ravel())
    np.add.at(neg, buckets.ravel(), neg_w.ravel())
    pos, neg = pos.reshape(labels, n + 1), neg.reshape(labels, n + 1)
    out = {}
    # above[j] = weight of entries with more than j thresholds below them = entries strictly above threshold j
    if "tp" in wanted or "fn" in wanted:
        tp = np.cumsum(pos[:, ::-1], axis=1, dtype=pos.dtype)[:, ::-1][:, 1:]
    if "fp" in wanted or "tn" in wanted:
        fp = np.cumsum(neg[:, ::-1], axis=1, dtype=neg.dtype)[:, ::-1][:, 1:]
    if "tp" in wanted:
        out["tp"] = tp
    if "fp" in wanted:
        out["fp"] = fp
    if even:  # Keras derives TN and FN from the totals on this path
        if "tn" in wanted:
            out["tn"] = np.sum(neg_w.reshape(-1, labels), axis=0, dtype=neg.dtype)[:, None] - fp
        if "fn" in wanted:
            out["fn"] = np.sum(pos_w.reshape(-1, labels), axis=0, dtype=pos.dtype)[:, None] - tp
    else:
        if "tn" in wanted:
            out["tn"] = np.cumsum(neg, axis=1, dtype=neg.dtype)[:, :-1]
        if "fn" in wanted:
            out["fn"] = np.cumsum(pos, axis=1, dtype=pos.dtype)[:, :-1]
    return {k: (v[0] if not multi_label else v.T) for k, v in out.items()}


def _even_buckets(y_pred, n, with_epsilon):
    """Keras' ``ceil(p * (n - 1))`` (then at least 1 when the end thresholds sit just outside [0, 1])."""
    p = np.clip(y_pred, 0.0, 1.0)
    b = np.ceil(p * p.dtype.type(n - 1))
    b = np.where(np.isnan(b), 0, b)
    if with_epsilon:
        b = np.maximum(b, 1)
    return b.astype(np.int64)


def _searched_buckets(y_pred, thresholds):
    """How many (sorted) thresholds each prediction is strictly above (NaN is above none)."""
    b = np.searchsorted(thresholds, y_pred, side="left")
    return np.where(np.isnan(y_pred), 0, b).astype(np.int64)


class Thresholds:
    """A metric's thresholds, kept sorted for bucketing, with the way back to the order the user gave."""

    def __init__(self, values, even=None):
        self.values = list(values)
        order = np.argsort(np.asarray(self.values, dtype=np.float64), kind="stable")
        self.sorted = np.asarray([self.values[i] for i in order], dtype=np.float32)
        self.unsort = None if np.all(order == np.arange(order.size)) else np.argsort(order, kind="stable")
        self.even = evenly_spaced(self.values) if even is None else even

    def __len__(self):
        return len(self.values)

    def counts(self, y_true, y_pred, weights, multi_label=False, label_weights=None, wanted=KINDS):
        """``confusion_counts`` in the user's threshold order."""
        out = confusion_counts(y_true, y_pred, weights, self.sorted if not self.even else self.values, self.even,
                               multi_label, label_weights, wanted)
        if self.unsort is not None:
            out = {k: v[self.unsort] for k, v in out.items()}
        return out


__all__ = ["NEG_INF", "parse_thresholds", "evenly_spaced", "filter_top_k", "prepare", "confusion_counts",
           "Thresholds"]
