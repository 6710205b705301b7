"""Keras' text preprocessing on numpy and Python bytes: standardize, split, n-grams, vocabulary lookup, encoding.

TensorFlow's string ops work on UTF-8 bytes, and so does this module, which is what makes the tokens identical:
``tf.strings.lower`` without an encoding lowercases ASCII letters only (``bytes.lower``), ``tf.strings.split``
splits on ASCII whitespace only (``bytes.split``), and the punctuation Keras strips is ASCII (a byte regex cannot
cut a multi-byte character). Shared by the trainable layers (``keraslite.train``) and the runtime's ops.
"""
from __future__ import annotations

import itertools
from typing import List, Optional, Sequence

import numpy as np

from .hashing import hash_buckets

PUNCTUATION = b"!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'"  # the bytes Keras' DEFAULT_STRIP_REGEX removes
STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
SPLIT = ("whitespace", "character")
SEP = b"\x00"  # joins a batch for one lower()/sub() call; never produced or removed by either
INT64_MAX = np.iinfo(np.int64).max
MASKED = -3  # what the table gives the mask token before it becomes 0 (int mode) or INT64_MAX (dropped)


class TextError(ValueError):
    """A value that cannot be read as text (the caller words the message for its layer)."""


def to_bytes(value) -> bytes:
    """One string element (str, bytes, numpy str/bytes) as UTF-8 bytes."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    raise TextError(f"expected strings, got {type(value).__name__} {value!r}")


def as_strings(x) -> np.ndarray:
    """``x`` (array, list or scalar of str/bytes) as an object array of bytes with the same shape."""
    arr = np.asarray(x, dtype=object) if not isinstance(x, np.ndarray) else x
    if arr.dtype.kind == "U":
        flat = [s.encode("utf-8") for s in arr.ravel().tolist()]
    elif arr.dtype.kind == "S":
        flat = arr.ravel().tolist()
    elif arr.dtype.kind == "O":
        flat = [to_bytes(v) for v in arr.ravel().tolist()]
    else:
        raise TextError(f"expected an array of strings, got dtype {arr.dtype}")
    return object_array(flat).reshape(arr.shape)


def object_array(items: list) -> np.ndarray:
    """A 1-D object array holding ``items`` as they are (numpy would turn equal-length bytes into 'S' arrays)."""
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def standardize(items: List[bytes], mode) -> List[bytes]:
    """Keras' built-in standardizations of byte strings (``mode`` None leaves them as they are)."""
    if mode is None or not items:
        return items
    lower = mode in ("lower", "lower_and_strip_punctuation")
    strip = mode in ("strip_punctuation", "lower_and_strip_punctuation")
    if not any(SEP in b for b in items):
        joined = SEP.join(items)
        if lower:
            joined = joined.lower()
        if strip:
            joined = joined.translate(None, PUNCTUATION)  # deleting single bytes: what the regex does, faster
        return joined.split(SEP)
    out = [b.lower() for b in items] if lower else list(items)
    return [b.translate(None, PUNCTUATION) for b in out] if strip else out


def split(items: List[bytes], mode) -> List[List[bytes]]:
    """Tokens of each string: ASCII whitespace runs (``whitespace``) or UTF-8 characters (``character``)."""
    if mode == "whitespace":
        return [b.split() for b in items]
    if mode == "character":
        return [[c.encode("utf-8") for c in b.decode("utf-8", "replace")] for b in items]
    raise TextError(f"unknown split {mode!r}")


def ngrams(rows: List[List[bytes]], widths: Optional[Sequence[int]]) -> List[List[bytes]]:
    """Each row's n-grams for every width in ``widths``, width by width, joined with a space (tf.strings.ngrams)."""
    if not widths:
        return rows
    out = []
    for row in rows:
        grams: List[bytes] = []
        for w in widths:
            if w == 1:
                grams.extend(row)
            else:
                grams.extend(b" ".join(row[i:i + w]) for i in range(len(row) - w + 1))
        out.append(grams)
    return out


def tokenize(flat: List[bytes], standardize_mode, split_mode, widths):
    """Built-in standardization, split and n-grams of a flat list of byte strings: one token list per string
    (``split_mode=None``: the standardized strings themselves)."""
    flat = standardize(flat, standardize_mode)
    if split_mode is None:
        return flat
    return ngrams(split(flat, split_mode), widths)


def sort_vocabulary(counts: dict) -> list:
    """Tokens by count, most frequent first, ties broken by the token itself, highest first (Keras' order)."""
    return [t for t, _ in sorted(counts.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)]


class Lookup:
    """A vocabulary as Keras' IndexLookup applies it: mask and OOV indices first, then the tokens.

    ``tokens`` are the learned terms (bytes for strings, ints for integers) without the special tokens.
    """

    def __init__(self, tokens: Sequence, mask_token=None, oov_token=None, num_oov_indices: int = 1,
                 output_mode: str = "int", oov_method: str = "floormod", salt=None, integer: bool = False):
        self.mask_token, self.oov_token = mask_token, oov_token
        self.num_oov, self.output_mode, self.integer = int(num_oov_indices), output_mode, integer
        self.oov_method, self.salt = oov_method, salt
        self.oov_start = 1 if mask_token is not None and output_mode == "int" else 0
        self.token_start = self.oov_start + self.num_oov
        self.tokens = list(tokens)
        self.table = {t: i + self.token_start for i, t in enumerate(self.tokens)}
        self.size = self.token_start + len(self.tokens)

    def vocabulary(self) -> list:
        """The whole vocabulary in index order (Keras' ``get_vocabulary()``, special tokens included)."""
        head = [self.mask_token] * self.oov_start + [self.oov_token] * self.num_oov
        return head + self.tokens

    def indices(self, flat: Sequence) -> np.ndarray:
        """Index of every token in ``flat`` (a list); the mask token maps to 0 in int mode, else to INT64_MAX."""
        default = self.oov_start if self.num_oov == 1 else -1
        if self.mask_token is not None and self.mask_token not in self.table:
            self.table[self.mask_token] = MASKED
        # map() with two iterables calls dict.get in C: no Python frame per token
        out = np.fromiter(map(self.table.get, flat, itertools.repeat(default, len(flat))), dtype=np.int64,
                          count=len(flat))
        if self.mask_token is not None:
            out[out == MASKED] = 0 if self.output_mode == "int" else INT64_MAX
        missing = np.flatnonzero(out == -1)
        if missing.size:
            if self.num_oov == 0:
                found = sorted({_show(flat[i]) for i in missing[:20]})
                raise TextError(f"When `num_oov_indices=0` all inputs should be in vocabulary, found OOV values "
                                f"{found}, consider setting `num_oov_indices=1`.")
            values = [flat[i] for i in missing]
            out[missing] = self._oov_buckets(values) + self.oov_start
        return out

    def _oov_buckets(self, values) -> np.ndarray:
        if self.integer and self.oov_method != "farmhash":
            return np.mod(np.asarray(values, np.int64), self.num_oov)
        keys = [str(int(v)).encode() for v in values] if self.integer else values
        salt = None if self.salt is None else (self.salt if isinstance(self.salt, (list, tuple)) else
                                               [self.salt, self.salt])
        return np.asarray(hash_buckets(keys, self.num_oov, salt), np.int64)

    def invert(self, flat: Sequence) -> list:
        """Tokens for indices (``invert=True``): out-of-range indices give the OOV token, index 0 the mask."""
        vocab = self.vocabulary()
        out = []
        for i in flat:
            i = int(i)
            out.append(vocab[i] if 0 <= i < len(vocab) and i >= self.token_start else
                       (self.mask_token if i == 0 and self.mask_token is not None else self.oov_token))
        return out


def _show(token):
    return token.decode("utf-8", "replace") if isinstance(token, bytes) else token


def pad_flat(flat: np.ndarray, lengths: np.ndarray, length: Optional[int]) -> np.ndarray:
    """Ragged rows given as one flat index array and the row lengths -> (n, length) int64, zero-padded or
    truncated (the longest row when ``length`` is None), as Keras pads TextVectorization's int output."""
    lengths = np.asarray(lengths, np.int64)
    if length is None:
        length = int(lengths.max()) if lengths.size else 0
    out = np.zeros((lengths.size, length), np.int64)
    keep = np.minimum(lengths, length)
    if keep.sum():
        row = np.repeat(np.arange(lengths.size), keep)
        col = np.arange(keep.sum()) - np.repeat(np.cumsum(keep) - keep, keep)
        out[row, col] = flat[np.repeat(np.cumsum(lengths) - lengths, keep) + col]
    return out


def encode_flat(flat: np.ndarray, lengths: np.ndarray, mode: str, depth: int, idf=None, weights=None):
    """multi_hot / count / tf_idf of ragged index rows into (n, depth); indices outside [0, depth) (the mask)
    are dropped, as TF's bincount does. Counts are int64; tf_idf (and weighted counts) float32."""
    lengths = np.asarray(lengths, np.int64)
    row = np.repeat(np.arange(lengths.size), lengths)
    keep = (flat >= 0) & (flat < depth)
    row, idx = row[keep], flat[keep]
    if mode == "multi_hot":
        out = np.zeros((lengths.size, depth), np.int64)
        out[row, idx] = 1
        return out
    w = None if weights is None else np.asarray(weights, np.float32).ravel()[keep]
    counts = np.bincount(row * depth + idx, weights=w, minlength=lengths.size * depth).reshape(lengths.size, depth)
    if mode == "tf_idf":
        return (counts.astype(np.float32) * np.asarray(idf, np.float32)[None, :depth]).astype(np.float32)
    return counts.astype(np.float32) if w is not None else counts.astype(np.int64)


def encode_array(indices: np.ndarray, mode: str, depth: int, idf=None, weights=None) -> np.ndarray:
    """Keras' ``encode_categorical_inputs`` of an index array: ``one_hot`` adds an axis (replacing a trailing 1),
    ``multi_hot``/``count``/``tf_idf`` encode the last axis (a 1-D array is one sample)."""
    x = indices if indices.ndim else indices[None]
    if mode == "one_hot":
        return one_hot(x, depth)
    rows = x.reshape(-1, x.shape[-1])
    lengths = np.full(rows.shape[0], rows.shape[1], np.int64)
    w = None if weights is None else np.asarray(weights, np.float32).reshape(rows.shape)
    out = encode_flat(rows.ravel().astype(np.int64), lengths, mode, depth, idf, w)
    return out[0] if x.ndim == 1 else out.reshape(x.shape[:-1] + (depth,))


def lookup_array(keys: np.ndarray, table: "Lookup", mode: str, depth: Optional[int], idf=None) -> np.ndarray:
    """A lookup layer's output for an array of keys: indices (int mode) or their encoding."""
    indices = table.indices(keys.ravel().tolist()).reshape(keys.shape)
    return indices if mode == "int" else encode_array(indices, mode, depth, idf)


def vectorize(data, table: "Lookup", mode: str, sequence_length: Optional[int], depth: Optional[int], idf=None):
    """TextVectorization's output for preprocessed ``data``: token rows (a split was applied) or an object array
    of whole strings (``split=None``)."""
    if isinstance(data, np.ndarray):
        indices = table.indices(data.ravel().tolist()).reshape(data.shape)
        if mode != "int":
            return encode_array(indices if indices.ndim > 1 else indices[:, None], mode, depth, idf)
        if sequence_length is not None and indices.ndim > 1:
            rows = indices.reshape(-1, indices.shape[-1])
            padded = pad_flat(rows.ravel(), np.full(rows.shape[0], rows.shape[1]), sequence_length)
            indices = padded.reshape(indices.shape[:-1] + (sequence_length,))
        return indices
    lengths = np.fromiter((len(r) for r in data), np.int64, count=len(data))
    flat = table.indices([t for row in data for t in row])
    if mode == "int":
        return pad_flat(flat, lengths, sequence_length)
    if mode == "one_hot":
        return encode_array(pad_flat(flat, lengths, None), mode, depth, idf)
    return encode_flat(flat, lengths, mode, depth, idf)


def one_hot(indices: np.ndarray, depth: int) -> np.ndarray:
    """(..., depth) one-hot of integer ``indices``; a trailing axis of size 1 is replaced, as Keras does."""
    if indices.ndim > 1 and indices.shape[-1] == 1:
        indices = indices.reshape(indices.shape[:-1])
    out = np.zeros(indices.shape + (depth,), np.int64)
    keep = (indices >= 0) & (indices < depth)
    np.put_along_axis(out, np.where(keep, indices, 0)[..., None], keep[..., None].astype(np.int64), axis=-1)
    return out


__all__ = ["STANDARDIZE", "SPLIT", "TextError", "as_strings", "standardize", "split", "ngrams", "sort_vocabulary",
           "Lookup", "pad_flat", "encode_flat", "encode_array", "one_hot", "to_bytes", "tokenize", "lookup_array", "vectorize", "object_array"]
