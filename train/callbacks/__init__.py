"""``keraslite.callbacks``: the hooks of fit/evaluate/predict (Keras' names and behaviour)."""
from .base import Callback, CallbackList, History
from .progbar import Progbar, ProgbarLogger

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "Progbar"]
