"""``IndexLookup``: the vocabulary machinery of StringLookup, IntegerLookup and TextVectorization (Keras 3's
``index_lookup.py`` semantics: the same vocabulary order, special-token layout, OOV hashing, encodings, checks and
messages), on numpy and ``keraslite.runtime.kernels.text``.

Tokens are kept as UTF-8 bytes (strings) or Python ints; ``get_vocabulary()`` gives them back as str/int.
"""
from __future__ import annotations

import collections
import itertools
import os
from typing import List, Optional

import numpy as np

from ...errors import KerasliteError
from ...runtime.kernels import text as T
from ..autodiff import Tensor
from ..autodiff.core import FLOATX
from .base import Layer
from .keras_tensor import KerasTensor
from .preprocessing_args import adapt_batches, check_choice, salt_pair

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")
class IndexLookup(Layer):
    """Maps tokens to indices (or back with ``invert``) through a vocabulary learned by ``adapt`` or given."""

    integer = False

    def __init__(self, max_tokens, num_oov_indices, mask_token, oov_token, vocabulary=None, idf_weights=None,
                 invert=False, output_mode="int", sparse=False, pad_to_max_tokens=False, oov_method="floormod",
                 salt=None, name=None, **kwargs):
        cls = type(self).__name__
        if max_tokens is not None and max_tokens <= 1:
            raise KerasliteError(f"If set, `max_tokens` must be greater than 1. Received: max_tokens={max_tokens}")
        if pad_to_max_tokens and max_tokens is None:
            raise KerasliteError(f"If pad_to_max_tokens is True, must set `max_tokens`. Received: "
                                 f"max_tokens={max_tokens}")
        if num_oov_indices < 0:
            raise KerasliteError(f"`num_oov_indices` must be greater than or equal to 0. Received: "
                                 f"num_oov_indices={num_oov_indices}")
        check_choice(oov_method, ("floormod", "farmhash"), cls, "oov_method")
        if salt is not None:
            if self.integer and oov_method != "farmhash":
                raise KerasliteError(f"`salt` can only be used when `oov_method='farmhash'`. Received: "
                                     f"oov_method={oov_method}")
            salt = salt_pair(salt, "IndexLookup")
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        check_choice(output_mode, OUTPUT_MODES, cls, "output_mode")
        if invert and output_mode != "int":
            raise KerasliteError(f"`output_mode` must be `'int'` when `invert` is true. Received: "
                                 f"output_mode={output_mode}")
        if sparse:
            raise KerasliteError(f"{cls}: `sparse=True` needs TensorFlow sparse tensors; keraslite computes dense "
                                 "outputs (pass sparse=False)")
        if idf_weights is not None and output_mode != "tf_idf":
            raise KerasliteError(f"`idf_weights` should only be set if `output_mode` is `'tf_idf'`. Received: "
                                 f"idf_weights={idf_weights} and output_mode={output_mode}")
        self._frozen_vocab_size = kwargs.pop("vocabulary_size", None)
        self._has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        kwargs.pop("vocabulary_dtype", None)
        dtype = kwargs.pop("dtype", None)
        super().__init__(name=name, dtype=None if isinstance(dtype, str) and "int" in dtype else dtype, **kwargs)
        self.invert, self.max_tokens, self.num_oov_indices = invert, max_tokens, num_oov_indices
        self.mask_token, self.oov_token, self.output_mode = mask_token, oov_token, output_mode
        self.sparse, self.pad_to_max_tokens, self.oov_method, self.salt = sparse, pad_to_max_tokens, oov_method, salt
        self.input_vocabulary = vocabulary if not isinstance(vocabulary, str) else None
        self.input_idf_weights = idf_weights
        self._tokens: List = []
        self._idf: Optional[np.ndarray] = None
        self._counts = collections.Counter()
        self._doc_counts = collections.Counter()
        self._num_documents = 0
        self.built = True
        if output_mode == "tf_idf" and self._has_input_vocabulary and idf_weights is None:
            raise KerasliteError("When specifying the `vocabulary` argument, in TF-IDF output mode, the "
                                 "`idf_weights` argument must also be provided.")
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # ------------------------------------------------------------------ tokens and the table
    def _key(self, value):
        return int(value) if self.integer else T.to_bytes(value)

    def _plain(self, token):
        return int(token) if self.integer else token.decode("utf-8", "replace")

    def _keys(self):
        mask = None if self.mask_token is None else self._key(self.mask_token)
        oov = None if self.oov_token is None else self._key(self.oov_token)
        return mask, oov

    def _oov_start_index(self):
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self):
        return self._oov_start_index() + self.num_oov_indices

    def lookup_table(self) -> T.Lookup:
        """The vocabulary as a ``runtime.kernels.text.Lookup`` (what call() applies)."""
        table = self.__dict__.get("_table")
        if table is None:
            mask, oov = self._keys()
            table = T.Lookup(self._tokens, mask, oov, self.num_oov_indices, self.output_mode, self.oov_method,
                             self.salt, integer=self.integer)
            self.__dict__["_table"] = table
        return table

    def _set_tokens(self, tokens):
        self._tokens = list(tokens)
        self.__dict__["_table"] = None

    def vocabulary_size(self) -> int:
        """Size of the vocabulary, mask and OOV indices included."""
        return self._token_start_index() + len(self._tokens)

    def get_vocabulary(self, include_special_tokens=True) -> list:
        """The vocabulary in index order: a term's index is its position (special tokens first)."""
        vocab = [self._plain(t) if isinstance(t, (bytes, int, np.integer)) else t
                 for t in self.lookup_table().vocabulary()]
        if self.mask_token is not None and self.output_mode == "int":
            vocab[0] = self.mask_token
        return vocab if include_special_tokens else vocab[self._token_start_index():]

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Set the vocabulary (a list/array of terms, or a text file with one term per line) and, for
        ``tf_idf``, the idf weights."""
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise KerasliteError("`idf_weights` must be set if output_mode is 'tf_idf'.")
        elif idf_weights is not None:
            raise KerasliteError(f"`idf_weights` should only be set if output_mode is `'tf_idf'`. Received: "
                                 f"output_mode={self.output_mode} and idf_weights={idf_weights}")
        if isinstance(vocabulary, (str, os.PathLike)):
            vocabulary = self._read_vocabulary_file(os.fspath(vocabulary))
        if isinstance(vocabulary, Tensor):
            vocabulary = vocabulary._v
        vocabulary = list(np.asarray(vocabulary).tolist() if isinstance(vocabulary, np.ndarray) else vocabulary)
        if not vocabulary:
            raise KerasliteError(f"Cannot set an empty vocabulary. Received: vocabulary={vocabulary}")
        keys = [self._key(v) for v in vocabulary]
        mask, oov = self._keys()
        token_start, oov_start = self._token_start_index(), self._oov_start_index()
        special = [mask] * oov_start + [oov] * self.num_oov_indices
        found_special = keys[:token_start] == special
        tokens = keys[token_start:] if found_special else keys
        repeated = [self._plain(t) for t, c in collections.Counter(tokens).items() if c > 1]
        if repeated:
            raise KerasliteError(f"The passed vocabulary has at least one repeated term. Please uniquify your "
                                 f"dataset. The repeated terms are: {repeated}")
        shown = [self.mask_token] * oov_start + [self.oov_token] * self.num_oov_indices
        if mask is not None and mask in tokens:
            raise KerasliteError(f"Found reserved mask token at unexpected location in `vocabulary`. Note that "
                                 f"passed `vocabulary` does not need to include the OOV and mask tokens. Either "
                                 f"remove all mask and OOV tokens, or include them only at the start of the "
                                 f"vocabulary in precisely this order: {shown}. Received: "
                                 f"mask_token={self.mask_token} at vocabulary index {keys.index(mask)}")
        if oov is not None and self.invert and oov in tokens:
            raise KerasliteError(f"Found reserved OOV token at unexpected location in `vocabulary`. Note that "
                                 f"passed `vocabulary` does not need to include the OOV and mask tokens. Either "
                                 f"remove all mask and OOV tokens, or include them only at the start of the "
                                 f"vocabulary in precisely this order: {shown}. Received: "
                                 f"oov_token={self.oov_token} at vocabulary index {keys.index(oov)}")
        size = token_start + len(tokens)
        if self.max_tokens is not None and size > self.max_tokens:
            raise KerasliteError(f"Attempted to set a vocabulary larger than the maximum vocab size. Received "
                                 f"vocabulary size is {size}; `max_tokens` is {self.max_tokens}.")
        self._set_tokens(tokens)
        self._frozen_vocab_size = self.vocabulary_size()
        if self.output_mode == "tf_idf":
            self._set_idf(np.asarray(idf_weights, np.float64), found_special, len(vocabulary))

    def _set_idf(self, idf, found_special, vocab_len):
        if len(idf) != vocab_len:
            raise KerasliteError(f"`idf_weights` must be the same length as vocabulary. len(idf_weights) is "
                                 f"{len(idf)}; len(vocabulary) is {vocab_len}")
        if idf.ndim != 1:
            raise KerasliteError(f"TF-IDF data must be a 1-index array. Received: type(idf_weights)={type(idf)}")
        front = 0 if found_special else self._token_start_index()
        front_value = 0 if found_special else np.average(idf)
        back = self.max_tokens - front - len(idf) if self.pad_to_max_tokens and self.max_tokens else 0
        self._idf = np.pad(idf, (front, back), "constant", constant_values=(front_value, 0)).astype(FLOATX)

    def _read_vocabulary_file(self, path):
        if not os.path.exists(path):
            raise KerasliteError(f"Vocabulary file {path} does not exist.")
        if self.output_mode == "tf_idf":
            raise KerasliteError("output_mode `'tf_idf'` does not support loading a vocabulary from file.")
        with open(path, "rb") as fh:
            lines = fh.read().split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        return [int(line) for line in lines] if self.integer else [line.rstrip(b"\r") for line in lines]

    # ------------------------------------------------------------------ adapt
    def adapt(self, data, steps=None):
        """Learn the vocabulary (and document frequencies for ``tf_idf``) from ``data``: an array or list, a
        Dataset, or any iterable of batches; terms are sorted by count, ties broken by the term, highest first."""
        self.reset_state()
        for batch in adapt_batches(data, steps):
            self.update_state(batch)
        self.finalize_state()

    def _rows(self, data):
        """A batch as rows of keys (a 1-D batch is one document, as in Keras' update_state)."""
        if isinstance(data, list) and data and isinstance(data[0], list):
            return [[self._key(v) for v in row] for row in data]
        arr = data._v if isinstance(data, Tensor) else np.asarray(data, dtype=None if not isinstance(
            data, list) else object)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        if arr.ndim == 1:
            arr = arr[None, :]
        arr = arr.reshape(arr.shape[0], -1)
        convert = self._key
        return [[convert(v) for v in row] for row in arr.tolist()]

    def update_state(self, data):
        """Count the terms of one batch."""
        if self._has_input_vocabulary:
            raise KerasliteError(f"Cannot adapt layer '{self.name}' after setting a static vocabulary via "
                                 "`vocabulary` argument or `set_vocabulary()` method.")
        self._update_rows(self._rows(data))

    def _update_rows(self, rows):
        """Count already-keyed rows (TextVectorization hands its token rows straight here)."""
        self._counts.update(itertools.chain.from_iterable(rows))
        if self.output_mode == "tf_idf":
            for row in rows:
                self._doc_counts.update(set(row))
            self._num_documents += len(rows)

    def finalize_state(self):
        if self._has_input_vocabulary or not self._counts:
            self._frozen_vocab_size = self.vocabulary_size()
            return
        mask, oov = self._keys()
        for special in (mask, oov):
            self._counts.pop(special, None)
        tokens = T.sort_vocabulary(self._counts)
        if self.max_tokens:
            tokens = tokens[:self.max_tokens - self._token_start_index()]
        self._set_tokens(tokens)
        if self.output_mode == "tf_idf":
            docs = np.asarray([self._doc_counts[t] for t in tokens], np.float64)
            idf = np.log(1 + self._num_documents / (1 + docs)).astype(FLOATX)
            idf = np.pad(idf, (self._token_start_index(), 0), constant_values=np.mean(idf, dtype=FLOATX))
            if self.pad_to_max_tokens and self.max_tokens is not None:
                idf = np.pad(idf, (0, self.max_tokens - idf.size))
            self._idf = idf.astype(FLOATX)
        self.reset_state()
        self._frozen_vocab_size = self.vocabulary_size()

    def reset_state(self):
        if self._has_input_vocabulary:
            return
        self._counts, self._doc_counts, self._num_documents = collections.Counter(), collections.Counter(), 0

    # ------------------------------------------------------------------ calling
    def _depth(self):
        return self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size

    def _check_ready(self):
        if self.output_mode != "int" and not self.pad_to_max_tokens and self._frozen_vocab_size is None:
            raise KerasliteError(f"When using `output_mode={self.output_mode}` and `pad_to_max_tokens=False`, you "
                                 "must set the layer's vocabulary before calling it. Either pass a `vocabulary` "
                                 "argument to the layer, or call `adapt` with some sample data.")

    def _as_keys(self, inputs):
        x = inputs._v if isinstance(inputs, Tensor) else inputs
        if self.invert:
            return np.asarray(x, np.int64)
        if self.integer:
            arr = np.asarray(x)
            if arr.dtype.kind not in "iu" and not (arr.dtype.kind == "f" and np.all(arr == np.round(arr))):
                raise KerasliteError(f"{type(self).__name__} {self.name!r} expects integer inputs, got dtype "
                                     f"{arr.dtype}")
            return arr.astype(np.int64)
        try:
            return T.as_strings(x)
        except T.TextError as exc:
            raise KerasliteError(f"{type(self).__name__} {self.name!r}: {exc}") from None

    def call(self, inputs):
        self._check_ready()
        keys = self._as_keys(inputs)
        if self.invert:
            tokens = self.lookup_table().invert(keys.ravel().tolist())
            if self.integer:
                return Tensor(np.asarray(tokens, np.int64).reshape(keys.shape))
            out = np.empty(len(tokens), dtype=object)
            out[:] = [self._plain(t) if isinstance(t, (bytes, int)) else t for t in tokens]
            return Tensor(out.reshape(keys.shape))
        try:
            return Tensor(T.lookup_array(keys, self.lookup_table(), self.output_mode, self._depth(), self._idf))
        except T.TextError as exc:
            raise KerasliteError(str(exc)) from None

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        depth = self._depth()
        input_shape = tuple(input_shape)
        if self.output_mode == "one_hot":
            if len(input_shape) > 1 and input_shape[-1] == 1:
                return input_shape[:-1] + (depth,)
            return input_shape + (depth,)
        return input_shape[:-1] + (depth,)

    def compute_output_spec(self, inputs, **kwargs):
        dtype = "float32" if self.output_mode == "tf_idf" else ("string" if self.invert and not self.integer
                                                                 else "int64")
        return KerasTensor(self.compute_output_shape(inputs.shape), dtype)

    # ------------------------------------------------------------------ config
    def get_config(self):
        def listify(v):
            return np.asarray(v).tolist() if isinstance(v, np.ndarray) else v

        return {**super().get_config(), "invert": self.invert, "max_tokens": self.max_tokens,
                "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token, "mask_token": self.mask_token,
                "output_mode": self.output_mode, "sparse": self.sparse, "pad_to_max_tokens": self.pad_to_max_tokens,
                "idf_weights": listify(self.input_idf_weights), "vocabulary": listify(self.input_vocabulary),
                "vocabulary_size": self._frozen_vocab_size, "oov_method": self.oov_method, "salt": self.salt}

    @classmethod
    def from_config(cls, config):
        """Rebuild from a config; a whole vocabulary read from a model file is set as if adapted (as Keras'
        load_assets does), so the layer may be adapted again."""
        config = dict(config)
        vocabulary, idf = config.pop("vocabulary", None), config.pop("idf_weights", None)
        if vocabulary is None or isinstance(vocabulary, str):
            return cls(vocabulary=vocabulary, idf_weights=idf, **config)
        layer = cls(**config)
        layer._restore(vocabulary, idf)
        return layer

    def _restore(self, vocabulary, idf):
        has = self._has_input_vocabulary
        self._has_input_vocabulary = False
        self.set_vocabulary(vocabulary, idf)
        self._has_input_vocabulary = has

    def _spec_config(self):
        """What a model file keeps beyond get_config(): the whole vocabulary and idf weights (format/ writes them
        as the archive's assets and variables, as Keras 3 does)."""
        vocab = self.get_vocabulary()
        idf = None if self._idf is None else [float(v) for v in self._idf[:len(vocab)]]
        return {"vocabulary": vocab if self._tokens or self._frozen_vocab_size else None, "idf_weights": idf,
                "vocabulary_size": self.vocabulary_size()}


__all__ = ["IndexLookup", "OUTPUT_MODES"]
