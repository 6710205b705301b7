"""``keraslite.models``: Model (functional and subclassed), Sequential, and loading/saving."""
from .functional import Functional
from .model import Model
from .sequential import Sequential
from .saving import clone_model, load_model, model_from_config, model_from_json, model_from_yaml

__all__ = ["Model", "Sequential", "Functional", "load_model", "model_from_json", "model_from_yaml",
           "model_from_config", "clone_model"]
