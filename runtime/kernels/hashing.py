"""The string hashes Keras' Hashing and lookup layers use, in pure Python.

- ``fingerprint64``: FarmHash's Fingerprint64 (the ``farmhashna`` Hash64 variant), which TensorFlow's
  ``tf.strings.to_hash_bucket_fast`` computes (``Fingerprint64(s) % num_buckets``).
- ``siphash64``: SipHash-2-4 with a 128-bit key given as two 64-bit words, which ``to_hash_bucket_strong``
  computes for a salted Hashing layer.

Both work on bytes (strings are UTF-8 encoded first) with unsigned 64-bit arithmetic done on Python ints.
"""
from __future__ import annotations

import struct

MASK = (1 << 64) - 1
K0 = 0xC3A5C85C97CB3127
K1 = 0xB492B66FBE98F273
K2 = 0x9AE16A3B2F90404F
KMUL = 0x9DDFEA08EB382D69


def _u64(b: bytes, i: int) -> int:
    return struct.unpack_from("<Q", b, i)[0]


def _u32(b: bytes, i: int) -> int:
    return struct.unpack_from("<I", b, i)[0]


def _rot(v: int, shift: int) -> int:
    return v if shift == 0 else ((v >> shift) | (v << (64 - shift))) & MASK


def _shift_mix(v: int) -> int:
    return v ^ (v >> 47)


def _len16(u: int, v: int, mul: int) -> int:
    a = ((u ^ v) * mul) & MASK
    a ^= a >> 47
    b = ((v ^ a) * mul) & MASK
    b ^= b >> 47
    return (b * mul) & MASK


def _len0to16(s: bytes, n: int) -> int:
    if n >= 8:
        mul = K2 + n * 2
        a = (_u64(s, 0) + K2) & MASK
        b = _u64(s, n - 8)
        c = (_rot(b, 37) * mul + a) & MASK
        d = ((_rot(a, 25) + b) * mul) & MASK
        return _len16(c, d, mul)
    if n >= 4:
        mul = K2 + n * 2
        a = _u32(s, 0)
        return _len16((n + (a << 3)) & MASK, _u32(s, n - 4), mul)
    if n > 0:
        y = s[0] + (s[n >> 1] << 8)
        z = n + (s[n - 1] << 2)
        return (_shift_mix(((y * K2) ^ (z * K0)) & MASK) * K2) & MASK
    return K2


def _len17to32(s: bytes, n: int) -> int:
    mul = K2 + n * 2
    a = (_u64(s, 0) * K1) & MASK
    b = _u64(s, 8)
    c = (_u64(s, n - 8) * mul) & MASK
    d = (_u64(s, n - 16) * K2) & MASK
    return _len16((_rot((a + b) & MASK, 43) + _rot(c, 30) + d) & MASK, (a + _rot((b + K2) & MASK, 18) + c) & MASK,
                  mul)


def _len33to64(s: bytes, n: int) -> int:
    mul = K2 + n * 2
    a = (_u64(s, 0) * K2) & MASK
    b = _u64(s, 8)
    c = (_u64(s, n - 8) * mul) & MASK
    d = (_u64(s, n - 16) * K2) & MASK
    y = (_rot((a + b) & MASK, 43) + _rot(c, 30) + d) & MASK
    z = _len16(y, (a + _rot((b + K2) & MASK, 18) + c) & MASK, mul)
    e = (_u64(s, 16) * mul) & MASK
    f = _u64(s, 24)
    g = ((y + _u64(s, n - 32)) * mul) & MASK
    h = ((z + _u64(s, n - 24)) * mul) & MASK
    return _len16((_rot((e + f) & MASK, 43) + _rot(g, 30) + h) & MASK, (e + _rot((f + a) & MASK, 18) + g) & MASK,
                  mul)


def _weak32(s: bytes, i: int, a: int, b: int):
    w, x, y, z = _u64(s, i), _u64(s, i + 8), _u64(s, i + 16), _u64(s, i + 24)
    a = (a + w) & MASK
    b = _rot((b + a + z) & MASK, 21)
    c = a
    a = (a + x + y) & MASK
    b = (b + _rot(a, 44)) & MASK
    return (a + z) & MASK, (b + c) & MASK


def fingerprint64(data: bytes) -> int:
    """FarmHash Fingerprint64 of ``data`` as an unsigned 64-bit int (TensorFlow's ``Fingerprint64``)."""
    s, n = bytes(data), len(data)
    if n <= 16:
        return _len0to16(s, n)
    if n <= 32:
        return _len17to32(s, n)
    if n <= 64:
        return _len33to64(s, n)
    seed = 81
    x = seed
    y = (seed * K1 + 113) & MASK
    z = (_shift_mix((y * K2 + 113) & MASK) * K2) & MASK
    v0 = v1 = w0 = w1 = 0
    x = (x * K2 + _u64(s, 0)) & MASK
    end = ((n - 1) // 64) * 64
    last64 = end + ((n - 1) & 63) - 63
    i = 0
    while True:
        x = (_rot((x + y + v0 + _u64(s, i + 8)) & MASK, 37) * K1) & MASK
        y = (_rot((y + v1 + _u64(s, i + 48)) & MASK, 42) * K1) & MASK
        x ^= w1
        y = (y + v0 + _u64(s, i + 40)) & MASK
        z = (_rot((z + w0) & MASK, 33) * K1) & MASK
        v0, v1 = _weak32(s, i, (v1 * K1) & MASK, (x + w0) & MASK)
        w0, w1 = _weak32(s, i + 32, (z + w1) & MASK, (y + _u64(s, i + 16)) & MASK)
        z, x = x, z
        i += 64
        if i == end:
            break
    mul = K1 + ((z & 0xFF) << 1)
    i = last64
    w0 = (w0 + ((n - 1) & 63)) & MASK
    v0 = (v0 + w0) & MASK
    w0 = (w0 + v0) & MASK
    x = (_rot((x + y + v0 + _u64(s, i + 8)) & MASK, 37) * mul) & MASK
    y = (_rot((y + v1 + _u64(s, i + 48)) & MASK, 42) * mul) & MASK
    x ^= (w1 * 9) & MASK
    y = (y + v0 * 9 + _u64(s, i + 40)) & MASK
    z = (_rot((z + w0) & MASK, 33) * mul) & MASK
    v0, v1 = _weak32(s, i, (v1 * mul) & MASK, (x + w0) & MASK)
    w0, w1 = _weak32(s, i + 32, (z + w1) & MASK, (y + _u64(s, i + 16)) & MASK)
    z, x = x, z
    return _len16((_len16(v0, w0, mul) + _shift_mix(y) * K0 + z) & MASK, (_len16(v1, w1, mul) + x) & MASK, mul)


def _sip_round(v0, v1, v2, v3):
    v0 = (v0 + v1) & MASK
    v1 = _rotl(v1, 13) ^ v0
    v0 = _rotl(v0, 32)
    v2 = (v2 + v3) & MASK
    v3 = _rotl(v3, 16) ^ v2
    v0 = (v0 + v3) & MASK
    v3 = _rotl(v3, 21) ^ v0
    v2 = (v2 + v1) & MASK
    v1 = _rotl(v1, 17) ^ v2
    v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


def _rotl(v: int, shift: int) -> int:
    return ((v << shift) | (v >> (64 - shift))) & MASK


def siphash64(data: bytes, key0: int, key1: int) -> int:
    """SipHash-2-4 of ``data`` with the key words ``key0``, ``key1`` (TensorFlow's keyed strong hash)."""
    k0, k1 = key0 & MASK, key1 & MASK
    v0, v1 = k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D
    v2, v3 = k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573
    s, n = bytes(data), len(data)
    full = n - n % 8
    for i in range(0, full, 8):
        m = _u64(s, i)
        v3 ^= m
        v0, v1, v2, v3 = _sip_round(*_sip_round(v0, v1, v2, v3))
        v0 ^= m
    last = (n & 0xFF) << 56
    for j, byte in enumerate(s[full:]):
        last |= byte << (8 * j)
    v3 ^= last
    v0, v1, v2, v3 = _sip_round(*_sip_round(v0, v1, v2, v3))
    v0 ^= last
    v2 ^= 0xFF
    for _ in range(4):
        v0, v1, v2, v3 = _sip_round(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3


def as_bytes(value) -> bytes:
    """A string or bytes token as UTF-8 bytes."""
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def hash_buckets(values, num_buckets: int, salt=None) -> list:
    """``to_hash_bucket_fast`` (or ``_strong`` with a two-word ``salt``) of each string in ``values``."""
    if salt is None:
        return [fingerprint64(as_bytes(v)) % num_buckets for v in values]
    k0, k1 = int(salt[0]), int(salt[1])
    return [siphash64(as_bytes(v), k0, k1) % num_buckets for v in values]


def hash_values(values, num_bins: int, mask_value=None, salt=None):
    """Keras' Hashing layer on a numpy array: values as strings (floats cast to int64 first, integers written in
    decimal), hashed into ``num_bins`` bins; bin 0 belongs to ``mask_value`` when it is set. Returns int64."""
    import numpy as np

    bins = num_bins
    mask = None
    if mask_value is not None and bins > 1:
        bins -= 1
        probe = mask_value.encode() if values.dtype == object and isinstance(mask_value, str) else mask_value
        mask = values == probe
    if values.dtype.kind == "f":
        values = values.astype(np.int64)
    flat = values.ravel().tolist()
    keys = flat if values.dtype == object else [str(int(v)).encode() for v in flat]
    out = np.asarray(hash_buckets(keys, bins, salt), np.int64).reshape(values.shape)
    return np.where(mask, 0, out + 1) if mask is not None else out


__all__ = ["fingerprint64", "siphash64", "hash_buckets", "hash_values", "as_bytes"]
