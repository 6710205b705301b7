"""``layers.experimental.preprocessing``: the Keras 2.x spelling of the preprocessing layers."""
from ..preprocessing import Normalization, Rescaling  # noqa: F401

__all__ = ["Normalization", "Rescaling"]
