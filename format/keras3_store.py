"""Writing Keras 3's weights layout (``*.weights.h5``): arrays at ``layers/<snake_case_class>[_n]/.../vars/<i>``."""
from __future__ import annotations

import h5py
import numpy as np

from .spec import ModelSpec
from .weights import _keras3_var_paths, keras3_paths


def write_keras3_weights(spec: ModelSpec, path: str, optimizer: bool = False) -> None:
    """Write ``spec``'s weights to ``path`` in the layout Keras 3's ``load_weights`` reads; with ``optimizer``,
    also the optimizer's variables at ``optimizer/vars/<i>`` (what a ``.keras`` archive holds)."""
    with h5py.File(path, "w") as f:
        f.create_group("layers")  # present even for a model without weights, as Keras 3 writes it
        for layer, base in keras3_paths(spec):
            for (name, array), var_path in zip(layer.weights, _keras3_var_paths(layer, base)):
                f.create_dataset(var_path, data=np.asarray(array))
        if optimizer and spec.training_config and spec.optimizer_weights:
            for i, (_, array) in enumerate(spec.optimizer_weights):
                f.create_dataset(f"optimizer/vars/{i}", data=np.asarray(array))
