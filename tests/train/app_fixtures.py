"""The keras.applications fixtures (tests/fixtures/applications, made by make_application_fixtures.py): weight
files real Keras wrote, Keras' graph and Keras' predictions. A missing fixture fails the test loudly."""
import hashlib
import json
import lzma
import os

import numpy as np

HERE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "applications")
_unpacked = {}


def manifest():
    path = os.path.join(HERE, "manifest.json")
    if not os.path.exists(path):
        raise RuntimeError(f"{path} is missing: run tests/fixtures/make_application_fixtures.py with the TensorFlow "
                           "venv (see its docstring)")
    with open(path) as fh:
        return json.load(fh)


def case(name):
    """The manifest entry of one case; fails when the fixture script has not made it."""
    cases = manifest()
    if name not in cases:
        raise RuntimeError(f"fixture case {name!r} is missing from {HERE}/manifest.json (it has {sorted(cases)}): "
                           f"run tests/fixtures/make_application_fixtures.py --only {name}")
    return cases[name]


def weights_file(name, folder):
    """The .h5 Keras wrote for ``name``, unpacked once per session into ``folder`` and checked by sha256."""
    if name not in _unpacked:
        entry = case(name)
        with open(os.path.join(HERE, f"{name}.h5.xz"), "rb") as fh:
            data = lzma.decompress(fh.read())
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], f"{name}.h5.xz does not unpack to Keras' file"
        path = os.path.join(str(folder), f"{name}.h5")
        with open(path, "wb") as fh:
            fh.write(data)
        _unpacked[name] = path
    return _unpacked[name]


def arrays(name):
    with np.load(os.path.join(HERE, f"{name}.npz")) as npz:
        return {k: npz[k] for k in npz.files}


def keras_json(name):
    with open(os.path.join(HERE, f"{name}.json.xz"), "rb") as fh:
        return lzma.decompress(fh.read()).decode()


def build(name, **overrides):
    """The keraslite application of case ``name`` (``weights`` and other arguments as given)."""
    import keraslite as keras

    entry = case(name)
    module = getattr(keras.applications, entry["module"])
    kwargs = {**entry["kwargs"], **overrides}
    if "input_shape" in kwargs:
        kwargs["input_shape"] = tuple(kwargs["input_shape"])
    keras.backend.clear_session()  # automatic layer names count from zero, as in the fixture script
    return getattr(module, entry["constructor"])(**kwargs), module


def close(got, want, tol=2e-4):
    """Float32 agreement scaled by the size of the values."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    scale = max(1.0, float(np.max(np.abs(want))))
    err = float(np.max(np.abs(got - want))) / scale
    assert err <= tol, f"max |diff| / scale = {err:.2e} > {tol:.0e}"
