"""Server settings and the MODEL arguments: ``NAME=PATH`` pairs, the KERASLITE_MODELS variable, the demo model."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Dict, Iterable, Optional

from ..errors import KerasliteError

MODELS_ENV = "KERASLITE_MODELS"
MAX_BODY_ENV = "KERASLITE_MAX_BODY_MB"
MAX_BATCH_ENV = "KERASLITE_MAX_BATCH"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class ServerConfigError(KerasliteError):
    """A bad ``keraslite serve`` argument or environment variable (model name, missing file, bad number)."""


@dataclass
class ServerConfig:
    """What the Flask app needs beyond the models.

    ``max_body_mb``: largest request body accepted (413 beyond it, chunked bodies included).
    ``max_batch``: most rows (instances) one request may ask for, 0 for no limit (413 beyond it).
    ``warmup``: run one predict per model at start-up so Numba has compiled before the first request.
    """

    max_body_mb: float = 32.0
    warmup: bool = True
    max_batch: int = 0

    @classmethod
    def from_env(cls) -> "ServerConfig":
        """Defaults, with KERASLITE_MAX_BODY_MB and KERASLITE_MAX_BATCH applied when set."""
        values = {}
        raw = os.environ.get(MAX_BODY_ENV)
        if raw is not None:
            values["max_body_mb"] = positive_megabytes(raw, MAX_BODY_ENV)
        raw = os.environ.get(MAX_BATCH_ENV)
        if raw is not None:
            if not raw.strip().isdigit():
                raise ServerConfigError(f"{MAX_BATCH_ENV} must be a whole number of rows (0 for no limit), "
                                        f"got {raw!r}")
            values["max_batch"] = int(raw)
        return cls(**values)

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)


def positive_megabytes(raw: str, what: str) -> float:
    """``raw`` as a finite, positive number of megabytes; a ServerConfigError naming ``what`` otherwise."""
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (0 < value < float("inf")):
        raise ServerConfigError(f"{what} must be a positive number of megabytes, got {raw!r}")
    return value


def demo_model_path() -> str:
    """Path of the bundled demo model, ``keraslite/demo/digits.h5``."""
    from .. import demo

    return os.path.join(os.path.dirname(demo.__file__), "digits.h5")


def demo_sample_path() -> str:
    """Path of real input samples for the demo model, ``keraslite/demo/digits_sample.npz`` (may be absent)."""
    return os.path.join(os.path.dirname(demo_model_path()), "digits_sample.npz")


def model_name_for(path: str) -> str:
    """The default served name of a model file: its stem (``models/digits.h5`` -> ``digits``)."""
    stem = os.path.basename(str(path).rstrip("/\\"))
    for ext in (".h5", ".hdf5", ".keras", ".json", ".yaml", ".yml"):
        if stem.lower().endswith(ext):
            return stem[: -len(ext)]
    return os.path.splitext(stem)[0] or stem


def check_name(name: str) -> str:
    """``name`` if it can appear in a URL path segment, else a ServerConfigError saying what is allowed."""
    if not NAME_RE.match(name):
        raise ServerConfigError(
            f"model name {name!r} is not usable in a URL: use letters, digits, '_', '.' and '-', starting with a "
            f"letter or digit (give one with NAME=PATH)")
    return name


def parse_model_args(args: Iterable[str]) -> Dict[str, str]:
    """``["digits.h5", "b=other.h5"]`` -> ``{"digits": "digits.h5", "b": "other.h5"}``; names checked, unique.

    Example::

        parse_model_args(["mlp=models/a.h5"])   # {"mlp": "models/a.h5"}
    """
    models: Dict[str, str] = {}
    for arg in args:
        arg = arg.strip()
        if not arg:
            continue
        name, sep, path = arg.partition("=")
        if not sep or os.path.exists(arg):
            name, path = model_name_for(arg), arg
        check_name(name)
        if name in models:
            raise ServerConfigError(
                f"two models are both named {name!r} ({models[name]!r} and {path!r}); name one with NAME=PATH")
        models[name] = path
    return models


def models_from_env(value: Optional[str] = None) -> Dict[str, str]:
    """The models named by KERASLITE_MODELS (``"name=path,name2=path2"`` or one path), else the demo model."""
    value = os.environ.get(MODELS_ENV, "") if value is None else value
    models = parse_model_args(value.split(",")) if value.strip() else {}
    return models or {"digits": demo_model_path()}


def format_models_env(models: Dict[str, str]) -> str:
    """The KERASLITE_MODELS value for ``models`` (the inverse of ``models_from_env``)."""
    for name, path in models.items():
        if "," in str(path):
            raise ServerConfigError(f"model path {path!r} contains ',', which KERASLITE_MODELS uses as a separator")
    return ",".join(f"{name}={path}" for name, path in models.items())
