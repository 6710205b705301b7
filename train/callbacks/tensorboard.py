"""``TensorBoard``: event files that the ``tensorboard`` command shows, with the tags Keras 3 writes.

    log_dir/train/events.out.tfevents.*        epoch_loss, epoch_<metric>, epoch_learning_rate, batch_* (with
                                               update_freq), <weight path>/histogram and /image, the model graph
    log_dir/validation/events.out.tfevents.*   epoch_loss, epoch_<metric> (validation), evaluation_<name>_vs_iterations

Events are written with tensorboardX (``pip install 'keraslite[tensorboard]'``): it already does the TFRecord
framing, CRC32C checksums, TensorFlow's histogram buckets and PNG images, which a writer of our own would have to
repeat. Under a distribution strategy only the chief writes (keraslite.distribute mutes it elsewhere).
"""
from __future__ import annotations

import itertools
import os
import time

import numpy as np

from ...errors import KerasliteError
from .base import Callback

_FILE_COUNTER = itertools.count()
INSTALL_HINT = "pip install 'keraslite[tensorboard]' (tensorboardX and Pillow)"


def _writer_class():
    try:
        from tensorboardX import SummaryWriter
    except ImportError as exc:
        raise KerasliteError(f"The TensorBoard callback needs tensorboardX ({exc}); {INSTALL_HINT}") from None
    return SummaryWriter


def _scalar(value):
    array = np.asarray(getattr(value, "_v", value))
    return float(array) if array.size == 1 else None


class TensorBoard(Callback):
    """Log losses, metrics, the learning rate, weight histograms and the model graph for TensorBoard.

    Args:
        log_dir: the folder of this run's logs (``train/`` and ``validation/`` are made inside).
        histogram_freq: write weight histograms every this many epochs (0: never).
        write_graph: write the model's architecture (the TensorBoard "Graphs" tab, Keras' conceptual graph).
        write_images: also write each weight as an image, with the histograms.
        write_steps_per_second: log training steps per second.
        update_freq: ``"epoch"``; or ``"batch"`` / an integer N to also write ``batch_*`` scalars every N batches.
        profile_batch: only 0 (no profiler).
        embeddings_freq: save the weights for the embedding projector every this many epochs (0: never).

    Example:
        >>> model.fit(x, y, epochs=5, validation_split=0.2, callbacks=[keraslite.callbacks.TensorBoard("logs")])
        >>> # then: tensorboard --logdir logs
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0, embeddings_freq=0,
                 embeddings_metadata=None):
        super().__init__()
        if update_freq not in ("epoch", "batch") and not (
                isinstance(update_freq, int) and not isinstance(update_freq, bool) and update_freq > 0):
            raise KerasliteError(f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive integer number of "
                                 f"batches; received update_freq={update_freq!r}")
        if profile_batch:
            raise KerasliteError(f"TensorBoard: profiling is not available in keraslite; received profile_batch="
                                 f"{profile_batch!r} (must be 0)")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._writers = {}
        self._global_train_batch = 0
        self._graph_written = False
        self._in_fit = False

    # ------------------------------------------------------------------------------------------- writers
    def _writer(self, kind):
        if kind not in self._writers:
            folder = os.path.join(self.log_dir, "train" if kind == "train" else "validation")
            # TensorFlow's naming (time, host, pid, a counter): two writers of one second must not share a file
            suffix = f".{os.getpid()}.{next(_FILE_COUNTER)}.v2"
            self._writers[kind] = _writer_class()(logdir=folder, filename_suffix=suffix)
        return self._writers[kind]

    def _close(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def _write_scalars(self, kind, prefix, logs, step):
        writer = None
        for name, value in logs.items():
            number = _scalar(value)
            if number is None:
                continue  # per-threshold vectors and the like are not scalars
            writer = writer or self._writer(kind)
            writer.add_scalar(f"{prefix}{name}", number, global_step=int(step))

    # ------------------------------------------------------------------------------------------- hooks
    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        self._in_fit = True
        if self.write_graph and not self._graph_written:
            self._write_model_graph()

    def on_train_end(self, logs=None):
        self._in_fit = False
        self._close()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.time()
        self._epoch_start_iterations = self._iterations()

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        self._batch_start = time.time()

    def on_train_batch_end(self, batch, logs=None):
        if self.update_freq == "epoch" or self._global_train_batch % self.update_freq:
            return
        scalars = dict(logs or {})
        if self.write_steps_per_second:
            scalars["steps_per_second"] = 1.0 / max(time.time() - self._batch_start, 1e-9)
        self._write_scalars("train", "batch_", scalars, self._global_train_batch)

    def on_test_end(self, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "iterations"):
            self._write_scalars("validation", "evaluation_", {f"{k}_vs_iterations": v for k, v in (logs or {}).items()},
                                self._iterations())
        if not self._in_fit:
            self._close()  # a plain evaluate(): nothing more comes

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        rate = self._learning_rate()
        if rate is not None:
            train["learning_rate"] = rate
        if self.write_steps_per_second:
            seconds = max(time.time() - self._epoch_start, 1e-9)
            train["steps_per_second"] = (self._iterations() - self._epoch_start_iterations) / seconds
        self._write_scalars("train", "epoch_", train, epoch)
        self._write_scalars("validation", "epoch_", {k[4:]: v for k, v in logs.items() if k.startswith("val_")},
                            epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            self.model.save_weights(os.path.join(self.log_dir, "train", f"keras_embedding.ckpt-{epoch}.weights.h5"))
        for writer in self._writers.values():
            writer.flush()

    # ------------------------------------------------------------------------------------------- pieces
    def _iterations(self) -> int:
        optimizer = getattr(self.model, "optimizer", None)
        iterations = getattr(optimizer, "iterations", None)
        return 0 if iterations is None else int(np.asarray(getattr(iterations, "_v", iterations)))

    def _learning_rate(self):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not hasattr(optimizer, "learning_rate"):
            return None
        return _scalar(optimizer.learning_rate)

    def _log_weights(self, epoch):
        writer = self._writer("train")
        for layer in self.model.layers:
            for weight in layer.weights:
                name = weight.path.replace(":", "_")
                values = weight.numpy()
                if values.size and np.all(np.isfinite(values)):
                    writer.add_histogram(f"{name}/histogram", values.astype(np.float64), global_step=epoch,
                                         bins="tensorflow")
                if self.write_images:
                    image = _weight_image(values)
                    if image is not None:
                        writer.add_images(f"{name}/image", image, global_step=epoch, dataformats="NHWC")

    def _write_model_graph(self):
        """The architecture as Keras' JSON under the tag ``keras`` (TensorBoard's graph_keras_model plugin)."""
        if type(self.model).__name__ not in ("Sequential", "Functional"):
            return  # Keras writes the conceptual graph for these two kinds only
        from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata
        from tensorboardX.proto.tensor_pb2 import TensorProto
        from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto

        metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="graph_keras_model",
                                                                          content=b"1"))
        tensor = TensorProto(dtype="DT_STRING", string_val=[self.model.to_json().encode()],
                             tensor_shape=TensorShapeProto())
        summary = Summary(value=[Summary.Value(tag="keras", metadata=metadata, tensor=tensor)])
        self._writer("train")._get_file_writer().add_summary(summary, global_step=0)
        self._graph_written = True


def _weight_image(values):
    """A weight as NHWC images the way Keras shows it (bias: 1 row; kernel: wide side across; conv: per filter)."""
    w = np.squeeze(values).astype(np.float32)
    if w.ndim == 1:
        w = w.reshape(1, w.shape[0], 1, 1)
    elif w.ndim == 2:
        if w.shape[0] > w.shape[1]:
            w = w.T
        w = w.reshape(1, w.shape[0], w.shape[1], 1)
    elif w.ndim == 3:
        w = np.transpose(w, (2, 0, 1))[..., None]
    else:
        return None
    return np.clip(w, 0.0, 1.0)  # as tf.summary.image saturates floats to [0, 1]


__all__ = ["TensorBoard"]
