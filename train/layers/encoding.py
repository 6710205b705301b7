"""``CategoryEncoding`` and ``Hashing``: integer categories to one/multi-hot or count vectors, and values to hash
bins with TensorFlow's exact hashes (FarmHash Fingerprint64, SipHash-2-4 when salted)."""
from __future__ import annotations

import numpy as np

from ...errors import KerasliteError
from ...runtime.kernels import text as T
from ...runtime.kernels.hashing import hash_values
from ..autodiff import Tensor
from .base import Layer
from .keras_tensor import KerasTensor
from .preprocessing_args import salt_pair


def _values(x):
    return x._v if isinstance(x, Tensor) else np.asarray(x)


def encode_categorical(indices: np.ndarray, mode: str, depth: int, dtype: str, count_weights=None) -> np.ndarray:
    """Keras' ``encode_categorical_inputs`` in the layer's dtype."""
    return T.encode_array(indices.astype(np.int64), mode, depth, weights=count_weights).astype(dtype)


class CategoryEncoding(Layer):
    """Integer features in ``[0, num_tokens)`` to ``one_hot``, ``multi_hot`` (default) or ``count`` vectors."""

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode not in ("count", "one_hot", "multi_hot"):
            raise KerasliteError(f"Unknown arg for output_mode: {output_mode}")
        if num_tokens is None:
            raise KerasliteError("num_tokens must be set to use this layer. If the number of tokens is not known "
                                 "beforehand, use the IntegerLookup layer instead.")
        if num_tokens < 1:
            raise KerasliteError(f"`num_tokens` must be >= 1. Received: num_tokens={num_tokens}.")
        if sparse:
            raise KerasliteError("CategoryEncoding: sparse outputs need TensorFlow; pass sparse=False")
        self.num_tokens, self.output_mode, self.sparse = num_tokens, output_mode, sparse
        self.built = True

    def call(self, inputs, count_weights=None):
        if count_weights is not None and self.output_mode != "count":
            raise KerasliteError(f"`count_weights` is not used when `output_mode` is not `'count'`. Received "
                                 f"`count_weights={count_weights}`.")
        x = _values(inputs)
        if x.size and (x.min() < 0 or x.max() >= self.num_tokens):
            raise KerasliteError(f"CategoryEncoding {self.name!r}: inputs must be in the range 0 <= values < "
                                 f"num_tokens with num_tokens={self.num_tokens}; got values from {x.min()} to "
                                 f"{x.max()}")
        weights = None if count_weights is None else _values(count_weights)
        return Tensor(encode_categorical(x.astype(np.int64), self.output_mode, self.num_tokens, self.dtype, weights))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if not input_shape:
            return (self.num_tokens,)
        if self.output_mode == "one_hot" and (input_shape[-1] != 1 or len(input_shape) == 1):
            return input_shape + (self.num_tokens,)
        return input_shape[:-1] + (self.num_tokens,)

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens, "output_mode": self.output_mode,
                "sparse": self.sparse}


class Hashing(Layer):
    """Hashes strings or integers into ``num_bins`` bins (``tf.strings.to_hash_bucket_fast``, or the keyed
    SipHash with ``salt``); ``mask_value`` reserves bin 0."""

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False, **kwargs):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else "float32"
        super().__init__(**kwargs)
        if num_bins is None or num_bins <= 0:
            raise KerasliteError(f"The `num_bins` for `Hashing` cannot be `None` or non-positive values. Received: "
                                 f"num_bins={num_bins}.")
        if output_mode == "int" and self.dtype not in ("int32", "int64"):
            raise KerasliteError(f"When `output_mode=\"int\"`, `dtype` should be an integer type, 'int32' or "
                                 f"'in64'. Received: dtype={kwargs['dtype']}")
        accepted = ("int", "one_hot", "multi_hot", "count")
        if output_mode not in accepted:
            raise KerasliteError(f"Invalid value for argument `output_mode`. Expected one of {accepted}. Received: "
                                 f"output_mode={output_mode}")
        if sparse:
            raise KerasliteError("Hashing: sparse outputs need TensorFlow; pass sparse=False")
        salt = salt_pair(salt, "Hashing", "a tuple of size 2 integers")
        self.num_bins, self.mask_value, self.salt = num_bins, mask_value, salt
        self.output_mode, self.sparse = output_mode, sparse
        self.built = True

    def _convert_input(self, x):
        return x  # values keep their dtype (strings, integers): Hashing never casts to floatx

    def call(self, inputs):
        x = _values(inputs)
        if x.dtype.kind in "USO":
            x = T.as_strings(x)
        if self.output_mode == "one_hot" and x.ndim and x.shape[-1] == 1:
            x = x.reshape(x.shape[:-1])
        bins = hash_values(x, self.num_bins, self.mask_value, self.salt)
        if self.output_mode == "int":
            return Tensor(bins.astype(self.dtype))
        return Tensor(encode_categorical(bins, self.output_mode, self.num_bins, self.dtype))

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        if len(input_shape) == 0:
            return (self.num_bins,)
        return tuple(input_shape[:-1]) + (self.num_bins,)

    def compute_output_spec(self, inputs, **kwargs):
        return KerasTensor(self.compute_output_shape(inputs.shape), self.dtype)

    def get_config(self):
        return {**super().get_config(), "num_bins": self.num_bins, "salt": self.salt, "mask_value": self.mask_value,
                "output_mode": self.output_mode, "sparse": self.sparse}


__all__ = ["CategoryEncoding", "Hashing"]
