"""``keraslite.datasets``: small datasets that ship with keraslite (no downloads)."""
from . import digits  # noqa: F401

__all__ = ["digits"]
