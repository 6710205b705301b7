"""The 8x8 handwritten digits (1,797 images, classes 0-9, pixel values 0-16; the UCI set scikit-learn ships),
with ``load_data()`` shaped like ``keras.datasets.mnist.load_data()``."""
from __future__ import annotations

import os

import numpy as np

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "digits.npz")
TRAIN = 1437  # the first 80% train, the last 20% test: a fixed split, the same on every machine


def load_data():
    """``(x_train, y_train), (x_test, y_test)``: uint8 images of shape (n, 8, 8) with values 0-16, uint8 labels.

    Example::

        (x_train, y_train), (x_test, y_test) = keraslite.datasets.digits.load_data()
        x_train = x_train.reshape(-1, 64) / 16.0
    """
    with np.load(PATH) as data:
        images, labels = data["images"], data["labels"]
    return (images[:TRAIN], labels[:TRAIN]), (images[TRAIN:], labels[TRAIN:])
