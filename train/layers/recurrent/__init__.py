"""Recurrent layers: SimpleRNN, LSTM, GRU (fused primitives over the whole sequence) and Bidirectional."""
from .base import Recurrent
from .bidirectional import Bidirectional
from .layers import GRU, LSTM, SimpleRNN

__all__ = ["Recurrent", "SimpleRNN", "LSTM", "GRU", "Bidirectional"]
