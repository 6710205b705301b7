"""One ``get()`` for every Keras-style family (initializers, regularizers, constraints, losses, metrics,
optimizers, activations): a name, a ``{"class_name", "config"}`` dict, a class, an object or a callable."""
from __future__ import annotations

import difflib
from typing import Callable, Dict, Optional

from ..errors import KerasliteError


def resolve(identifier, kind: str, classes: Dict[str, type], names: Optional[Dict[str, Callable]] = None,
            base: Optional[type] = None):
    """The object ``identifier`` stands for; an unknown name raises an error listing the known ones."""
    names = names or {}
    if identifier is None:
        return None
    if base is not None and isinstance(identifier, base):
        return identifier
    if isinstance(identifier, type):
        if base is not None and issubclass(identifier, base):
            return identifier()
        raise KerasliteError(f"Could not interpret {kind} identifier: {identifier!r}")
    if isinstance(identifier, str):
        maker = names.get(identifier) or classes.get(identifier)
        if maker is None:
            known = sorted(set(names) | set(classes))
            close = difflib.get_close_matches(identifier, known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise KerasliteError(f"Could not interpret {kind} identifier: {identifier!r}.{hint} Known {kind} names: "
                                 f"{', '.join(known)}")
        return maker()
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        cls = classes.get(name) if isinstance(name, str) else None
        if cls is None and isinstance(name, str):
            cls = names.get(name)
        if cls is None:
            raise KerasliteError(f"Unknown {kind} class {name!r} in {identifier!r:.200}. Known: "
                                 f"{', '.join(sorted(classes))}")
        config = identifier.get("config") or {}
        return cls.from_config(config) if hasattr(cls, "from_config") else cls(**config)
    if callable(identifier):
        return identifier
    raise KerasliteError(f"Could not interpret {kind} identifier: {identifier!r:.200}")


def serialize(obj):
    """``{"class_name", "config"}`` for an object with ``get_config`` (None stays None)."""
    if obj is None:
        return None
    return {"class_name": type(obj).__name__, "config": obj.get_config()}
