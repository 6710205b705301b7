"""Helpers for runtime tests: ModelSpecs built by hand (chains and small graphs) with random weights."""
import numpy as np
import pytest

from keraslite.format.spec import LayerSpec, ModelSpec, TensorRef
from keraslite.runtime import native


def input_layer(name, shape, dtype="float32"):
    """An InputLayer spec with batch_shape (None,) + shape."""
    return LayerSpec(name, "InputLayer", {"batch_shape": [None] + list(shape), "dtype": dtype})


def chain(input_shape, layers, name="chain", dtype="float32"):
    """A ModelSpec running ``layers`` (list of (class_name, config, weights)) one after the other."""
    specs = [input_layer("input", input_shape, dtype)]
    prev = "input"
    for i, (cls, cfg, weights) in enumerate(layers):
        lname = f"{cls.lower()}_{i}"
        specs.append(LayerSpec(lname, cls, dict(cfg), list(weights), [[TensorRef(prev)]]))
        prev = lname
    return ModelSpec(name, specs, [TensorRef("input")], [TensorRef(prev)], kind="Sequential")


@pytest.fixture
def h():
    """The helpers above, for test modules (importlib mode cannot import conftest by name)."""
    import types

    return types.SimpleNamespace(chain=chain, input_layer=input_layer, rand=rand)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def rand(rng, *shape, scale=0.5):
    """float32 normal noise."""
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def _isas():
    """The compiled kernels' ISA variants this CPU runs (the modules using ``isa`` assert the kernels are built)."""
    lib = native.lib()
    if lib is None:
        return []
    best = lib.isa()
    names = [name for name in ("avx512", "avx2", "base") if lib._select_isa(name)]
    lib._select_isa(best)
    return names


@pytest.fixture(params=_isas())
def isa(request):
    """Runs the test on one kernel variant (packing follows it), then restores the best one."""
    lib = native.lib()
    best = lib.isa()
    assert lib._select_isa(request.param)
    yield request.param
    lib._select_isa(best)

