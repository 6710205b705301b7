"""``keraslite.preprocessing``: Keras' folder loaders, and ``preprocessing.image`` (load_img, img_to_array,
array_to_img, save_img, smart_resize)."""
from ..data.image_dataset import image_dataset_from_directory
from ..data.text_dataset import text_dataset_from_directory
from . import image

__all__ = ["image_dataset_from_directory", "text_dataset_from_directory", "image"]
