"""Shared test fixtures: the catalogue of real Keras files in tests/fixtures (see make_keras_fixtures.py).

A test that takes an argument named ``keras_case`` runs once per fixture model; ``keras_case`` is a ``KerasCase``.
"""
import json
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np
import pytest

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
MANIFEST = os.path.join(FIXTURES, "manifest.json")


@dataclass
class KerasCase:
    """One model saved by real Keras: its files, the Keras version that made it, inputs and Keras' outputs."""

    id: str
    keras: int
    model: str
    layers: List[str]
    files: Dict[str, Optional[str]]
    data: str
    inputs: List[str] = field(default_factory=list)
    outputs: List[str] = field(default_factory=list)
    compiled: bool = False

    def path(self, kind: str) -> Optional[str]:
        """Absolute path of the file of this kind (h5, keras, json, yaml, weights), or None."""
        rel = self.files.get(kind)
        return os.path.join(FIXTURES, rel) if rel else None

    def arrays(self):
        """``(xs, ys)``: the inputs fed to Keras and Keras' outputs, each a list in model order."""
        with np.load(os.path.join(FIXTURES, self.data)) as npz:
            xs = [npz[f"x{i}"] for i in range(len(self.inputs))]
            ys = [npz[f"y{i}"] for i in range(len(self.outputs))]
        return xs, ys


def load_cases() -> List[KerasCase]:
    if not os.path.exists(MANIFEST):
        raise RuntimeError(f"{MANIFEST} is missing: run tests/fixtures/make_keras_fixtures.py (see its docstring)")
    with open(MANIFEST) as fh:
        manifest = json.load(fh)
    return [KerasCase(**case) for case in manifest["cases"]]


def pytest_generate_tests(metafunc):
    if "keras_case" in metafunc.fixturenames:
        cases = load_cases()
        metafunc.parametrize("keras_case", cases, ids=[c.id for c in cases])


@pytest.fixture(scope="session")
def keras_cases() -> List[KerasCase]:
    """All fixture cases, for tests that pick a few themselves."""
    return load_cases()
