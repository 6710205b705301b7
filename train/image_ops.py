"""``keraslite.ops.image``: image operations on tensors, differentiable (those the tutorials call through
``tf.image``)."""
from __future__ import annotations

from ..errors import KerasliteError
from .autodiff import Tensor, as_array, elementwise as E, reduce as R, shape as S


def total_variation(images, name=None):
    """The total variation of images: the sum of absolute differences between neighbouring pixels.

    Args:
        images: a Tensor, Variable or array of shape ``(batch, height, width, channels)`` or
            ``(height, width, channels)``.
        name: unused (``tf.image.total_variation``'s signature).

    Returns:
        A Tensor of shape ``(batch,)`` for a batch, a scalar for one image (as ``tf.image.total_variation``).

    Example::

        loss = 30 * ops.image.total_variation(image)     # a smoothness penalty for an image Variable
    """
    x = images if isinstance(images, Tensor) else as_array(images)
    if x.ndim not in (3, 4):
        raise KerasliteError(f"total_variation expects images of rank 3 (height, width, channels) or 4 (batch, "
                             f"height, width, channels); received shape {tuple(x.shape)}")
    lead = (slice(None),) * (x.ndim - 3)  # the batch axis, when there is one
    rows, cols, rest = (slice(1, None), slice(None, -1)), (slice(None),), (slice(None),)
    down = E.subtract(S.getitem(x, lead + rows[:1] + cols + rest), S.getitem(x, lead + rows[1:] + cols + rest))
    right = E.subtract(S.getitem(x, lead + cols + rows[:1] + rest), S.getitem(x, lead + cols + rows[1:] + rest))
    axes = tuple(range(x.ndim - 3, x.ndim)) if x.ndim == 4 else None
    return E.add(R.sum_(E.absolute(down), axis=axes), R.sum_(E.absolute(right), axis=axes))


__all__ = ["total_variation"]
