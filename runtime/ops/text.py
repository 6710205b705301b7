"""String and categorical preprocessing ops: TextVectorization, StringLookup, IntegerLookup, CategoryEncoding,
Hashing, with Keras' outputs (kernels/text.py, kernels/hashing.py).

String inputs arrive as object arrays of UTF-8 bytes (``Model.predict`` converts str and bytes). Index outputs are
int64, as in Keras; the encodings are float32 for TF-IDF and the layer dtype otherwise.
"""
import numpy as np

from ...errors import InputError, ModelFormatError
from ..kernels import text as T
from ..kernels.hashing import hash_values
from .common import need


def _vocabulary_lookup(layer, integer=False):
    """The Lookup table of a lookup layer's config (whole vocabulary, special tokens first)."""
    c = layer.config
    vocab = c.get("vocabulary")
    if vocab is None:
        raise ModelFormatError(f"layer {layer.name!r} ({layer.class_name}) has no vocabulary: the model was saved "
                               "before adapt() or set_vocabulary(), or in a file form that drops it (save as .keras)")
    if layer.class_name == "TextVectorization":
        mask, oov, num_oov = b"", b"[UNK]", 1
    else:
        key = int if integer else T.to_bytes
        mask = None if c.get("mask_token") is None else key(c["mask_token"])
        oov = None if c.get("oov_token") is None else key(c["oov_token"])
        num_oov = int(c.get("num_oov_indices", 1))
    mode = c.get("output_mode", "int")
    start = (1 if mask is not None and mode == "int" else 0) + num_oov
    tokens = [int(v) for v in vocab[start:]] if integer else [T.to_bytes(v) for v in vocab[start:]]
    table = T.Lookup(tokens, mask, oov, num_oov, mode, c.get("oov_method", "floormod"), c.get("salt"), integer)
    depth = c.get("max_tokens") if c.get("pad_to_max_tokens") else table.size
    idf = None
    if mode == "tf_idf":
        from ...format.vocabulary import idf_of

        idf = idf_of(layer)
        if idf is None:
            raise ModelFormatError(f"layer {layer.name!r}: output_mode='tf_idf' without idf_weights")
    return table, mode, depth, idf


def _strings(layer, x):
    try:
        return T.as_strings(x)
    except T.TextError as exc:
        raise InputError(f"layer {layer.name!r} ({layer.class_name}): {exc}") from None


def _checked(layer, fn):
    def run(x):
        try:
            return fn(x)
        except T.TextError as exc:
            raise InputError(f"layer {layer.name!r} ({layer.class_name}): {exc}") from None
    return run


def _lookup_shape(mode, shape, depth):
    if mode == "int":
        return shape
    if mode == "one_hot":
        return shape[:-1] + (depth,) if len(shape) > 1 and shape[-1] == 1 else shape + (depth,)
    return shape[:-1] + (depth,)


def text_vectorization(layer, shapes):
    shape = shapes[0]
    c = layer.config
    table, mode, depth, idf = _vocabulary_lookup(layer)
    split, standardize = c.get("split"), c.get("standardize")
    widths = c.get("ngrams")
    widths = tuple(range(1, widths + 1)) if isinstance(widths, int) else (tuple(widths) if widths else None)
    length = c.get("output_sequence_length")
    if split is not None and len(shape) > 1 and shape[-1] not in (1, None):
        raise ModelFormatError(f"layer {layer.name!r}: TextVectorization tokenizes strings of shape (batch,) or "
                               f"(batch, 1), got input shape {shape}")
    need(layer, len(shape) <= 3, f"input rank {len(shape)}")

    def run(x):
        arr = _strings(layer, x)
        if split is not None and arr.ndim > 1:
            arr = arr.reshape(arr.shape[:-1])
        data = T.tokenize(arr.ravel().tolist(), standardize, split, widths)
        if split is None:
            data = T.object_array(data).reshape(arr.shape)
        return T.vectorize(data, table, mode, length, depth, idf)

    if mode == "int":
        if split is None:
            out = shape[:-1] + (length,) if length is not None and len(shape) > 1 else shape
        else:
            out = (shape[0], length)
    else:
        out = (shape[0], depth)
    return _checked(layer, run), [out]


def lookup(layer, shapes, integer=False):
    shape = shapes[0]
    need(layer, not layer.config.get("invert"), "invert=True (indices back to tokens)")
    table, mode, depth, idf = _vocabulary_lookup(layer, integer)

    def run(x):
        if integer:
            keys = np.asarray(x, np.int64)
        else:
            keys = _strings(layer, x)
        return T.lookup_array(keys, table, mode, depth, idf)
    return _checked(layer, run), [_lookup_shape(mode, shape, depth)]


def string_lookup(layer, shapes):
    return lookup(layer, shapes)


def integer_lookup(layer, shapes):
    return lookup(layer, shapes, integer=True)


def category_encoding(layer, shapes):
    c = layer.config
    depth, mode = int(c["num_tokens"]), c.get("output_mode", "multi_hot")
    dtype = c.get("dtype") or "float32"

    def run(x):
        x = np.asarray(x)
        if x.size and (x.min() < 0 or x.max() >= depth):
            raise InputError(f"layer {layer.name!r} (CategoryEncoding): inputs must be in the range 0 <= values < "
                             f"num_tokens with num_tokens={depth}; got values from {x.min()} to {x.max()}")
        return T.encode_array(x.astype(np.int64), mode, depth).astype(dtype)
    return run, [_lookup_shape(mode, shapes[0], depth)]


def hashing(layer, shapes):
    c = layer.config
    bins, mode, mask, salt = int(c["num_bins"]), c.get("output_mode", "int"), c.get("mask_value"), c.get("salt")
    dtype = c.get("dtype") or ("int64" if mode == "int" else "float32")

    def run(x):
        x = np.asarray(x)
        if x.dtype.kind in "USO":
            x = _strings(layer, x)
        if mode == "one_hot" and x.ndim and x.shape[-1] == 1:
            x = x.reshape(x.shape[:-1])
        out = hash_values(x, bins, mask, salt)
        return out.astype(dtype) if mode == "int" else T.encode_array(out, mode, bins).astype(dtype)
    shape = shapes[0]
    out = shape if mode == "int" else shape[:-1] + (bins,)
    return run, [out]


OPS = {"TextVectorization": text_vectorization, "StringLookup": string_lookup, "IntegerLookup": integer_lookup,
       "CategoryEncoding": category_encoding, "Hashing": hashing}
