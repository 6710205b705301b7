"""Pooling kernels, channels_last 2-D (1-D runs as height 1): a loop over the window's taps on strided views."""
import numpy as np

from .conv import pad2d


def _taps(xp, ph, pw, sh, sw, oh, ow):
    for i in range(ph):
        for j in range(pw):
            yield xp[:, i:i + (oh - 1) * sh + 1:sh, j:j + (ow - 1) * sw + 1:sw, :]


def _out(n, k, s):
    return (n - k) // s + 1


def _max_pool_tiled(x, ph, pw):
    """Max pooling with stride = pool size over an ``x`` whose H and W it divides: maxima of contiguous slabs."""
    n, h, w, c = x.shape
    y = x.reshape(n, h // ph, ph, w // pw, pw * c)
    rows = np.maximum(y[:, :, 0], y[:, :, 1]) if ph > 1 else np.array(y[:, :, 0])
    for i in range(2, ph):
        np.maximum(rows, y[:, :, i], out=rows)
    if pw == 1:
        return rows
    out = np.maximum(rows[..., :c], rows[..., c:2 * c])
    for j in range(2, pw):
        np.maximum(out, rows[..., j * c:(j + 1) * c], out=out)
    return out


def max_pool2d(x, ph, pw, sh, sw, pads):
    """Max pooling of ``x`` (N, H, W, C); padded cells never win (padding with -inf)."""
    if (ph, pw) == (sh, sw) and not any(a or b for a, b in pads) and x.shape[1] % ph == 0 \
            and x.shape[2] % pw == 0 and x.flags.c_contiguous:
        return _max_pool_tiled(x, ph, pw)
    xp = pad2d(x, pads, value=-np.inf)
    oh, ow = _out(xp.shape[1], ph, sh), _out(xp.shape[2], pw, sw)
    taps = _taps(xp, ph, pw, sh, sw, oh, ow)
    out = np.array(next(taps), dtype=np.float32)
    for tap in taps:
        np.maximum(out, tap, out=out)
    return out


def avg_pool2d(x, ph, pw, sh, sw, pads):
    """Average pooling of ``x`` (N, H, W, C); like Keras, padded cells are not counted."""
    xp = pad2d(x, pads)
    oh, ow = _out(xp.shape[1], ph, sh), _out(xp.shape[2], pw, sw)
    out = np.zeros((x.shape[0], oh, ow, x.shape[3]), dtype=np.float32)
    for tap in _taps(xp, ph, pw, sh, sw, oh, ow):
        out += tap
    if any(a or b for a, b in pads):
        ones = pad2d(np.ones((1, x.shape[1], x.shape[2], 1), dtype=np.float32), pads)
        count = np.zeros((1, oh, ow, 1), dtype=np.float32)
        for tap in _taps(ones, ph, pw, sh, sw, oh, ow):
            count += tap
        out /= count
    else:
        out *= np.float32(1.0 / (ph * pw))
    return out
