"""``StringLookup`` and ``IntegerLookup``: vocabulary lookups of strings and integers (Keras 3's arguments)."""
from __future__ import annotations

from ...errors import KerasliteError
from .index_lookup import IndexLookup


class StringLookup(IndexLookup):
    """Maps strings to integer indices (or one/multi-hot, count, TF-IDF vectors) through a vocabulary.

    Example::

        lookup = StringLookup()
        lookup.adapt(["a", "b", "b", "c"])
        lookup(np.array([["a", "b", "z"]]))        # [[3, 1, 0]]: "b" is the most frequent, "z" is OOV
    """

    input_dtype = "string"  # the dtype of the Input a Sequential model builds in front of it

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]", vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", pad_to_max_tokens=False, sparse=False,
                 encoding="utf-8", name=None, salt=None, **kwargs):
        if str(encoding).lower().replace("-", "") != "utf8":
            raise KerasliteError(f"StringLookup: only encoding='utf-8' is supported, got encoding={encoding!r}")
        self.encoding = encoding
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
                         output_mode=output_mode, pad_to_max_tokens=pad_to_max_tokens, sparse=sparse, name=name,
                         salt=salt, **kwargs)

    def get_config(self):
        return {**super().get_config(), "encoding": self.encoding}


class IntegerLookup(IndexLookup):
    """Maps integers to contiguous indices (or encodings) through a vocabulary; OOV integers go to the OOV
    indices by ``floormod`` (default) or FarmHash (``oov_method="farmhash"``)."""

    input_dtype = "int64"  # the dtype of the Input a Sequential model builds in front of it

    integer = True

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1, vocabulary=None,
                 vocabulary_dtype="int64", idf_weights=None, invert=False, output_mode="int", sparse=False,
                 pad_to_max_tokens=False, oov_method="floormod", salt=None, name=None, **kwargs):
        if max_tokens is not None and max_tokens <= 1:
            raise KerasliteError(f"If `max_tokens` is set for `IntegerLookup`, it must be greater than 1. "
                                 f"Received: max_tokens={max_tokens}")
        if num_oov_indices < 0:
            raise KerasliteError(f"The value of `num_oov_indices` argument for `IntegerLookup` must >= 0. "
                                 f"Received: num_oov_indices={num_oov_indices}")
        if vocabulary_dtype != "int64":
            raise KerasliteError(f"Only `vocabulary_dtype='int64'` is supported at this time. Received: "
                                 f"vocabulary_dtype={vocabulary_dtype}")
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
                         output_mode=output_mode, sparse=sparse, pad_to_max_tokens=pad_to_max_tokens,
                         oov_method=oov_method, salt=salt, name=name, **kwargs)

    def get_config(self):
        config = {**super().get_config(), "vocabulary_dtype": "int64"}
        for key in ("oov_token", "mask_token"):
            if config[key] is not None:
                config[key] = int(config[key])
        if config["vocabulary"] is not None:
            config["vocabulary"] = [int(v) for v in config["vocabulary"]]
        return config


__all__ = ["StringLookup", "IntegerLookup"]
