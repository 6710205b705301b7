"""The models a server holds: loaded once through ``keraslite.runtime``, warmed up, described for both protocols."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional

import numpy as np

from .config import ServerConfigError, check_name

VERSION = "1"


@dataclass
class ServedModel:
    """One served model: its URL ``name``, the runtime model and the file it came from."""

    name: str
    model: Any
    path: Optional[str] = None
    ready: bool = False

    @property
    def inputs(self):
        return list(self.model.inputs)

    @property
    def outputs(self):
        return list(self.model.outputs)

    def predict(self, arrays: List[np.ndarray]) -> List[np.ndarray]:
        """Run the model on one array per input (model order); always a list, one array per output."""
        feed = arrays[0] if len(arrays) == 1 else list(arrays)
        result = self.model.predict(feed)
        return [np.asarray(r) for r in (result if isinstance(result, (list, tuple)) else [result])]

    def example_batch(self, batch: int = 1) -> List[np.ndarray]:
        """A correctly shaped zero batch (unknown dims other than the batch become 1)."""
        return [np.full(example_shape(spec.shape, batch), b"", dtype=object) if spec.dtype == "string" else
                np.zeros(example_shape(spec.shape, batch), dtype=spec.dtype) for spec in self.inputs]

    def warm_up(self) -> None:
        """One predict on a zero batch so Numba has compiled every kernel before the first request."""
        self.predict(self.example_batch())
        self.ready = True

    def answers(self) -> bool:
        """Whether the model can predict right now: loaded, warmed up, and one predict on a zero batch works."""
        if not self.ready:
            return False
        try:
            self.predict(self.example_batch())
        except Exception:  # noqa: BLE001 - any failure means "not ready"; the request path logs real errors
            return False
        return True


def example_shape(shape, batch: int = 1):
    """``shape`` with the batch axis set to ``batch`` and any other unknown axis to 1."""
    return tuple(batch if i == 0 else (1 if d is None else int(d)) for i, d in enumerate(shape))


def load_one(name: str, source) -> ServedModel:
    """A ServedModel from a path (``runtime.load``) or an already loaded runtime model."""
    check_name(name)
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.exists(path):
            raise ServerConfigError(f"model {name!r}: file {path!r} does not exist")
        from .. import runtime

        return ServedModel(name=name, model=runtime.load(path), path=path)
    for attr in ("inputs", "outputs", "predict"):
        if not hasattr(source, attr):
            raise ServerConfigError(
                f"model {name!r}: expected a file path or a keraslite runtime model, got {type(source).__name__}")
    return ServedModel(name=name, model=source)


class ModelStore:
    """The served models by name; ``ready`` once every model has been warmed up."""

    def __init__(self, sources: Mapping[str, Any], warmup: bool = True):
        self.models: Dict[str, ServedModel] = {}
        for name, source in sources.items():
            self.models[name] = load_one(name, source)
        if warmup:
            for served in self.models.values():
                served.warm_up()
        else:
            for served in self.models.values():
                served.ready = True

    def get(self, name: str) -> Optional[ServedModel]:
        return self.models.get(name)

    @property
    def ready(self) -> bool:
        return all(m.ready for m in self.models.values())

    def names(self) -> List[str]:
        return list(self.models)
