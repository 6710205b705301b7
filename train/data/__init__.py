"""Data for fit/evaluate/predict: the ``Dataset`` pipeline (``keraslite.data.Dataset``, tf.data's calls on numpy),
``AUTOTUNE``, and the adapters over arrays, generators, Datasets and PyDatasets."""
from .dataset import AUTOTUNE, INFINITE, UNKNOWN, Dataset
from .py_dataset import PyDataset

INFINITE_CARDINALITY, UNKNOWN_CARDINALITY = INFINITE, UNKNOWN

__all__ = ["Dataset", "AUTOTUNE", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY", "PyDataset"]
