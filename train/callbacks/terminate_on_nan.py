"""``TerminateOnNaN``: stop training at the first batch whose loss is NaN or infinite."""
from __future__ import annotations

import numpy as np

from ...errors import KerasliteError
from .base import Callback
from .monitor import print_msg


class NaNLossError(KerasliteError, RuntimeError):
    """A NaN or infinite training loss with ``TerminateOnNaN(raise_error=True)`` (a RuntimeError too, as Keras')."""


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's loss is NaN or infinite.

    Args:
        raise_error: raise ``NaNLossError`` instead of stopping quietly.

    Example:
        >>> model.fit(x, y, epochs=10, callbacks=[keraslite.callbacks.TerminateOnNaN()])
    """

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or np.isfinite(loss):
            return
        if self.raise_error:
            raise NaNLossError(f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. Terminating "
                               "training immediately. A lower learning rate, scaled inputs or gradient clipping "
                               "(clipnorm=1.0) usually keeps the loss finite")
        print_msg(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True


__all__ = ["TerminateOnNaN", "NaNLossError"]
