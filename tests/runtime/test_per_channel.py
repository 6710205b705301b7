"""Rescaling and Normalization with per-channel constants on a short last axis (an RGB input) run on rows of tiled
constants (ops.core._per_channel): the very floats of numpy's plain broadcasting, for every layout and size."""
import types

import numpy as np
import pytest

from keraslite.runtime.ops.core import normalization, rescaling

RGB = (None, 8, 4, 3)


def _layer(cls, config, weights=None):
    return types.SimpleNamespace(name=cls.lower(), class_name=cls, config=config, weight_dict=weights or {})


def _inputs(rng):
    """Whole rows of 96 floats (the tiled path: 3 and 1 of them), a strided view and 60 floats (numpy's path)."""
    x = (rng.random((3, 8, 4, 3)) * 255).astype(np.float32)
    return [x, x[:1], x[:, ::-1], (rng.random((1, 5, 4, 3)) * 255).astype(np.float32)]


@pytest.mark.parametrize("invert", [False, True])
def test_normalization_is_numpys_formula(rng, invert):
    mean = np.array([123.7, 116.3, 103.5], np.float32)
    var = np.array([58.4, 57.1, 57.4], np.float32) ** 2
    fn, _ = normalization(_layer("Normalization", {"axis": -1, "invert": invert}, {"mean": mean, "variance": var}),
                          [RGB])
    m, s = mean.reshape(1, 1, 1, 3), np.maximum(np.sqrt(var), np.float32(1e-7)).reshape(1, 1, 1, 3)
    for x in _inputs(rng):
        want = (m + x * s) if invert else (x - m) / s
        got = fn(x)
        assert got.shape == x.shape and got.dtype == np.float32
        np.testing.assert_array_equal(got, want.astype(np.float32))


@pytest.mark.parametrize("scale,offset", [([0.5, 0.25, 2.0], [-1.0, 0.0, 1.0]), (1 / 255, [0.1, 0.2, 0.3]),
                                          (1 / 127.5, -1.0)])
def test_rescaling_is_numpys_formula(rng, scale, offset):
    fn, _ = rescaling(_layer("Rescaling", {"scale": scale, "offset": offset}), [RGB])
    s = np.asarray(scale, np.float32).reshape((1, 1, 1, -1) if np.ndim(scale) else ())
    o = np.asarray(offset, np.float32).reshape((1, 1, 1, -1) if np.ndim(offset) else ())
    for x in _inputs(rng):
        np.testing.assert_array_equal(fn(x), (x * s + o).astype(np.float32))
