"""Numba loops for resize.py: bilinear, bicubic and area resampling of (N, H, W, C) images, straight from uint8 or
float pixels, with TensorFlow's float32 arithmetic in TensorFlow's order (so results equal the numpy versions and
TF bit for bit). The sampling taps come from resize.py; these only run the loops, without the GIL."""
import numpy as np

from .._jit import njit


def _bilinear(x, ylo, yhi, yl, xlo, xhi, xl, out):
    n, h, w, c = x.shape
    oh, ow = out.shape[1], out.shape[2]
    rows = x.reshape(n, h, w * c)  # rows as flat (x, channel) runs: one index per load
    outs = out.reshape(n, oh, ow * c)
    for b in range(n):
        for i in range(oh):
            top_row, bottom_row, wy, o = rows[b, ylo[i]], rows[b, yhi[i]], yl[i], outs[b, i]
            if c == 3:  # RGB unrolled: the common case, three independent lerps per pixel
                for j in range(ow):
                    a, d, wx, p = xlo[j] * 3, xhi[j] * 3, xl[j], j * 3
                    for k in (0, 1, 2):
                        tl, tr = np.float32(top_row[a + k]), np.float32(top_row[d + k])
                        bl, br = np.float32(bottom_row[a + k]), np.float32(bottom_row[d + k])
                        top = tl + (tr - tl) * wx
                        bottom = bl + (br - bl) * wx
                        o[p + k] = top + (bottom - top) * wy
                continue
            for j in range(ow):
                a, d, wx, p = xlo[j] * c, xhi[j] * c, xl[j], j * c
                for k in range(c):
                    tl, tr = np.float32(top_row[a + k]), np.float32(top_row[d + k])
                    bl, br = np.float32(bottom_row[a + k]), np.float32(bottom_row[d + k])
                    top = tl + (tr - tl) * wx
                    bottom = bl + (br - bl) * wx
                    o[p + k] = top + (bottom - top) * wy
    return out


def _bicubic(x, yi, yw, xi, xw, out):
    n, oh, ow, c = out.shape
    for b in range(n):
        for i in range(oh):
            r0, r1, r2, r3 = x[b, yi[i, 0]], x[b, yi[i, 1]], x[b, yi[i, 2]], x[b, yi[i, 3]]
            w0, w1, w2, w3 = yw[i, 0], yw[i, 1], yw[i, 2], yw[i, 3]
            for j in range(ow):
                for k in range(c):
                    total = np.float32(0.0)
                    for t in range(4):
                        col = xi[j, t]
                        v = (np.float32(r0[col, k]) * w0 + np.float32(r1[col, k]) * w1
                             + np.float32(r2[col, k]) * w2 + np.float32(r3[col, k]) * w3)
                        total = v * xw[j, t] if t == 0 else total + v * xw[j, t]
                    out[b, i, j, k] = total
    return out


def _area(x, ystart, ycount, yrows, yscales, xstart, xend, xs0, xs1, scale, out):
    n, oh, ow, c = out.shape
    w = x.shape[2]
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                s, e = xstart[j], xend[j]
                for k in range(c):
                    total = np.float32(0.0)
                    for r in range(ycount[i]):
                        row = x[b, yrows[ystart[i] + r]]
                        acc = np.float32(row[min(max(s, 0), w - 1), k]) * xs0[j]
                        if s + 1 != e:
                            for q in range(s + 1, e - 1):
                                acc += np.float32(row[min(max(q, 0), w - 1), k])
                            acc += np.float32(row[min(max(e - 1, 0), w - 1), k]) * xs1[j]
                        total += acc * yscales[ystart[i] + r]
                    out[b, i, j, k] = total * scale
    return out


bilinear = njit(_bilinear)
bicubic = njit(_bicubic)
area = njit(_area)


def area_taps(in_size: int, out_size: int, scale: np.float32):
    """TF's resize_area bookkeeping for one axis: (start, end, start weight, last weight) per output index."""
    f32 = np.float32
    start = np.empty(out_size, np.int64)
    end = np.empty(out_size, np.int64)
    first = np.empty(out_size, np.float32)
    last = np.empty(out_size, np.float32)

    def weight(v, lo, hi):
        return (scale if f32(v + 1) > hi else f32(v + 1) - lo) if v < lo else (hi - f32(v) if f32(v + 1) > hi
                                                                                else f32(1.0))
    for o in range(out_size):
        lo, hi = f32(o) * scale, f32(o + 1) * scale
        start[o], end[o] = int(np.floor(lo)), int(np.ceil(hi))
        first[o], last[o] = weight(start[o], lo, hi), weight(end[o] - 1, lo, hi)
    return start, end, first, last


def area_rows(in_size: int, out_size: int, scale: np.float32):
    """Per output row: the clamped input rows and their weights, flattened (start offsets, counts, rows, weights)."""
    f32 = np.float32
    starts, counts, rows, weights = [], [], [], []
    for o in range(out_size):
        lo, hi = f32(o) * scale, f32(o + 1) * scale
        starts.append(len(rows))
        span = range(int(np.floor(lo)), int(np.ceil(hi)))
        counts.append(len(span))
        for v in span:
            rows.append(min(max(v, 0), in_size - 1))
            weights.append((scale if f32(v + 1) > hi else f32(v + 1) - lo) if v < lo else
                           (hi - f32(v) if f32(v + 1) > hi else f32(1.0)))
    return (np.asarray(starts, np.int64), np.asarray(counts, np.int64), np.asarray(rows, np.int64),
            np.asarray(weights, np.float32))


__all__ = ["bilinear", "bicubic", "area", "area_taps", "area_rows"]
