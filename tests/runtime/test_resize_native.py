"""The compiled bilinear resize (what the folder loaders use) gives the numpy form's values, refuses bad calls with
ValueError, and loading images no longer imports Numba."""
import subprocess
import sys

import numpy as np
import pytest

from keraslite.runtime import native
from keraslite.runtime.kernels import resize as R

rng = np.random.default_rng(0)


def _numpy_bilinear(images, height, width):
    n, h, w, c = images.shape
    ylo, yhi, yl = R.linear_taps(h, height)
    xlo, xhi, xl = R.linear_taps(w, width)
    x = images.astype(np.float32)
    xl = xl[None, None, :, None]
    top_rows, bottom_rows = x[:, ylo], x[:, yhi]
    top = top_rows[:, :, xlo] + (top_rows[:, :, xhi] - top_rows[:, :, xlo]) * xl
    bottom = bottom_rows[:, :, xlo] + (bottom_rows[:, :, xhi] - bottom_rows[:, :, xlo]) * xl
    return top + (bottom - top) * yl[None, :, None, None]


@pytest.mark.parametrize("shape,size", [((2, 37, 53, 3), (18, 18)), ((1, 5, 4, 1), (11, 9)), ((3, 64, 64, 4), (64, 32)),
                                        ((1, 1, 1, 3), (3, 2)), ((1, 375, 500, 3), (180, 180))])
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_compiled_bilinear_equals_the_numpy_form(shape, size, dtype):
    assert native.lib() is not None, "the compiled kernels are not built: reinstall with a C compiler present"
    images = (rng.integers(0, 256, shape) if dtype == "uint8" else rng.normal(size=shape) * 50).astype(dtype)
    got = R.resize(images, *size, "bilinear")
    np.testing.assert_allclose(got, _numpy_bilinear(images, *size), rtol=1e-6, atol=1e-5)
    into = np.full((shape[0],) + size + (shape[3],), np.nan, np.float32)
    assert R.resize(images, *size, "bilinear", out=into) is into
    np.testing.assert_allclose(into, got, rtol=0, atol=0)


def test_bad_calls_raise_value_error():
    lib = native.lib()
    x = np.zeros((1, 4, 4, 3), np.uint8)
    ylo, yhi, yl = R.linear_taps(4, 2)
    out = np.zeros((1, 2, 2, 3), np.float32)
    lib.resize_bilinear(x, ylo, yhi, yl, ylo, yhi, yl, out, 1, 4, 4, 3, 2, 2)
    with pytest.raises(ValueError, match="sizes"):
        lib.resize_bilinear(x, ylo, yhi, yl, ylo, yhi, yl, out, 1, 4, 4, 3, 3, 2)
    with pytest.raises(ValueError, match="out of range"):
        lib.resize_bilinear(x, ylo + 9, yhi, yl, ylo, yhi, yl, out, 1, 4, 4, 3, 2, 2)
    with pytest.raises(ValueError, match="format"):
        lib.resize_bilinear(x.astype(np.float64), ylo, yhi, yl, ylo, yhi, yl, out, 1, 4, 4, 3, 2, 2)
    with pytest.raises(ValueError, match="writable|C-contiguous"):
        lib.resize_bilinear(x, ylo, yhi, yl, ylo, yhi, yl, np.zeros((1, 2, 2, 6), np.float32)[..., ::2], 1, 4, 4,
                            3, 2, 2)


def test_loading_an_image_folder_does_not_import_numba(tmp_path):
    from PIL import Image

    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, (40, 30, 3)).astype("uint8")).save(tmp_path / cls / f"{i}.jpg")
    code = f"""
import sys
import keraslite as keras
ds = keras.utils.image_dataset_from_directory({str(tmp_path)!r}, image_size=(16, 16), batch_size=4, verbose=False)
n = sum(int(x.shape[0]) for x, y in ds)
assert n == 6, n
print("numba" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False", done.stdout


def test_without_the_compiled_kernels_the_numba_loop_gives_the_same_pixels(monkeypatch):
    images = rng.integers(0, 256, (2, 45, 61, 3)).astype("uint8")
    compiled = R.resize(images, 20, 30, "bilinear")
    monkeypatch.setitem(native._state, "lib", None)  # as on an install without a C compiler
    fallback = R.resize(images, 20, 30, "bilinear")
    np.testing.assert_allclose(fallback, compiled, rtol=1e-6, atol=1e-5)
