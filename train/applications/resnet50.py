"""``keraslite.applications.resnet50``: Keras' module name for ResNet50 (built in ``resnet.py``)."""
from .resnet import ResNet50, decode_predictions, preprocess_input

__all__ = ["ResNet50", "preprocess_input", "decode_predictions"]
