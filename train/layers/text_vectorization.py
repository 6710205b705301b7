"""``TextVectorization``: strings -> token indices or bag-of-words vectors, as Keras 3's layer (arguments, vocabulary
order, outputs and messages), without TensorFlow.

A callable ``standardize`` receives a numpy array of ``str`` (as Keras 3 hands it on non-TensorFlow backends) and
returns strings; a callable ``split`` receives a 1-D numpy array of ``str`` and returns one list of tokens per
string. Models whose TextVectorization uses callables train and predict but cannot be saved (as in Keras, a file
cannot hold the function).
"""
from __future__ import annotations

import numpy as np

from ...errors import KerasliteError
from ...runtime.kernels import text as T
from ..autodiff import Tensor
from .base import Layer
from .index_lookup import OUTPUT_MODES
from .keras_tensor import KerasTensor
from .lookup import StringLookup
from .preprocessing_args import adapt_batches, check_choice


def preprocess(x, standardize, split, widths):
    """Bytes rows of tokens (``split`` set) or an object array of bytes (``split=None``) for an input batch."""
    arr = T.as_strings(x)
    if split is not None and arr.ndim > 1:
        if arr.shape[-1] != 1:
            raise KerasliteError(f"When using `TextVectorization` to tokenize strings, the input rank must be 1 or "
                                 f"the last shape dimension must be 1. Received: inputs.shape={arr.shape} with "
                                 f"rank={arr.ndim}")
        arr = arr.reshape(arr.shape[:-1])
    shape = arr.shape
    flat = arr.ravel().tolist()
    if callable(standardize):
        texts = np.asarray([b.decode("utf-8", "replace") for b in flat], dtype=str).reshape(shape)
        flat = T.as_strings(np.asarray(standardize(texts))).ravel().tolist()
        standardize = None
    if not callable(split):
        data = T.tokenize(flat, standardize, split, widths)
        if split is not None:
            return data
        return T.object_array(data).reshape(shape)
    flat = T.standardize(flat, standardize)
    texts = np.asarray([b.decode("utf-8", "replace") for b in flat], dtype=str)
    return T.ngrams([[T.to_bytes(t) for t in row] for row in split(texts)], widths)


class TextVectorization(Layer):
    """Turns a batch of strings into token indices (``output_mode="int"``) or multi-hot, count or TF-IDF vectors.

    Example::

        vectorize = TextVectorization(max_tokens=10000, output_sequence_length=250)
        vectorize.adapt(train_texts)                 # an array, a list or a Dataset of string batches
        vectorize(np.array(["this movie was great"]))
    """

    input_dtype = "string"  # the dtype of the Input a Sequential model builds in front of it

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation", split="whitespace", ngrams=None,
                 output_mode="int", output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", name=None, **kwargs):
        check_choice(standardize, T.STANDARDIZE, "TextVectorization", "standardize", allow_none=True,
                     allow_callables=True)
        check_choice(split, T.SPLIT, "TextVectorization", "split", allow_none=True, allow_callables=True)
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        check_choice(output_mode, OUTPUT_MODES, "TextVectorization", "output_mode")
        if not (ngrams is None or isinstance(ngrams, int) or isinstance(ngrams, tuple) and all(
                isinstance(item, int) for item in ngrams)):
            raise KerasliteError(f"`ngrams` must be None, an integer, or a tuple of integers. Received: "
                                 f"ngrams={ngrams}")
        if output_mode == "int" and not (isinstance(output_sequence_length, int) or output_sequence_length is None):
            raise KerasliteError(f"`output_sequence_length` must be either None or an integer when `output_mode` is "
                                 f"'int'. Received: output_sequence_length={output_sequence_length}")
        if output_mode != "int" and output_sequence_length is not None:
            raise KerasliteError(f"`output_sequence_length` must not be set if `output_mode` is not 'int'. Received "
                                 f"output_sequence_length={output_sequence_length}.")
        if ragged:
            raise KerasliteError("TextVectorization: `ragged=True` needs TensorFlow ragged tensors; keraslite pads "
                                 "(pass ragged=False and set output_sequence_length)")
        has_vocab = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        vocabulary_size = kwargs.pop("vocabulary_size", None)
        kwargs.pop("dtype", None)
        super().__init__(name=name, **kwargs)
        self._standardize, self._split, self._ngrams_arg = standardize, split, ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self._output_mode, self._output_sequence_length = output_mode, output_sequence_length
        self._ragged, self._encoding = ragged, encoding
        self._lookup_layer = StringLookup(max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
                                          pad_to_max_tokens=pad_to_max_tokens, mask_token="",
                                          output_mode=output_mode, sparse=sparse, has_input_vocabulary=has_vocab,
                                          encoding=encoding, vocabulary_size=vocabulary_size,
                                          name=f"{self.name}_lookup")
        self.built = True

    # ------------------------------------------------------------------ vocabulary
    def adapt(self, data, batch_size=None, steps=None):
        """Learn the vocabulary from ``data`` (an array or list of strings, a Dataset of string batches, or any
        iterable of batches): terms by count, ties broken by the term (highest first), cut to ``max_tokens``."""
        self.reset_state()
        for batch in adapt_batches(data, steps):
            self.update_state(batch)
        self.finalize_state()

    def update_state(self, data):
        rows = self._preprocess(data)
        if isinstance(rows, np.ndarray):
            rows = rows.reshape(rows.shape[0], -1).tolist() if rows.ndim else [[rows.item()]]
        if self._lookup_layer._has_input_vocabulary:
            self._lookup_layer.update_state(rows)  # raises Keras' error for a fixed vocabulary
        self._lookup_layer._update_rows(rows)

    def finalize_state(self):
        self._lookup_layer.finalize_state()

    def reset_state(self):
        self._lookup_layer.reset_state()

    def get_vocabulary(self, include_special_tokens=True):
        """The vocabulary in index order ("" for padding and "[UNK]" first unless ``include_special_tokens``
        is False)."""
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self):
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None):
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)

    # ------------------------------------------------------------------ calling
    def _preprocess(self, inputs):
        x = inputs._v if isinstance(inputs, Tensor) else inputs
        try:
            return preprocess(x, self._standardize, self._split, self._ngrams)
        except T.TextError as exc:
            raise KerasliteError(f"TextVectorization {self.name!r}: {exc}") from None

    def call(self, inputs):
        lookup = self._lookup_layer
        lookup._check_ready()
        data = self._preprocess(inputs)
        try:
            return Tensor(T.vectorize(data, lookup.lookup_table(), self._output_mode, self._output_sequence_length,
                                      lookup._depth(), lookup._idf))
        except T.TextError as exc:
            raise KerasliteError(str(exc)) from None

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self._output_mode == "int":
            if self._split is None:
                if self._output_sequence_length is not None and len(input_shape) > 1:
                    return input_shape[:-1] + (self._output_sequence_length,)
                return input_shape
            return (input_shape[0], self._output_sequence_length)
        if self._split is None:
            if len(input_shape) <= 1:
                input_shape = input_shape + (1,)
        else:
            input_shape = (input_shape[0], None)
        return self._lookup_layer.compute_output_shape(input_shape)

    def compute_output_spec(self, inputs, **kwargs):
        dtype = "float32" if self._output_mode == "tf_idf" else "int64"
        return KerasTensor(self.compute_output_shape(inputs.shape), dtype)

    def _sublayers(self):
        return []  # the lookup is part of this layer (its vocabulary is this layer's state, saved with it)

    # ------------------------------------------------------------------ config
    def get_config(self):
        lookup = self._lookup_layer

        def listify(v):
            return np.asarray(v).tolist() if isinstance(v, np.ndarray) else v

        return {**super().get_config(), "max_tokens": lookup.max_tokens, "standardize": self._standardize,
                "split": self._split, "ngrams": self._ngrams_arg, "output_mode": self._output_mode,
                "output_sequence_length": self._output_sequence_length,
                "pad_to_max_tokens": lookup.pad_to_max_tokens, "sparse": lookup.sparse, "ragged": self._ragged,
                "vocabulary": listify(lookup.input_vocabulary), "idf_weights": listify(lookup.input_idf_weights),
                "encoding": self._encoding, "vocabulary_size": self.vocabulary_size()}

    @classmethod
    def from_config(cls, config):
        """Rebuild from a config; a whole vocabulary read from a model file is set as if adapted."""
        config = dict(config)
        if isinstance(config.get("ngrams"), list):
            config["ngrams"] = tuple(config["ngrams"])
        for key in ("standardize", "split"):
            if config.get(key) is not None and not isinstance(config[key], str) and not callable(config[key]):
                raise KerasliteError(f"TextVectorization: `{key}` is a serialized function ({config[key]!r}); a "
                                     "model file never runs code: rebuild the layer with the callable in code")
        vocabulary, idf = config.pop("vocabulary", None), config.pop("idf_weights", None)
        if vocabulary is None or isinstance(vocabulary, str):
            return cls(vocabulary=vocabulary, idf_weights=idf, **config)
        layer = cls(**config)
        layer._lookup_layer._restore(vocabulary, idf)
        return layer

    def _spec_config(self):
        if callable(self._standardize) or callable(self._split):
            raise KerasliteError(f"TextVectorization {self.name!r} uses a Python callable for standardize/split, "
                                 "which a model file cannot hold (Keras cannot either); use one of the built-in "
                                 f"modes ({', '.join(T.STANDARDIZE)}; {', '.join(T.SPLIT)}) to save the model")
        return self._lookup_layer._spec_config()


__all__ = ["TextVectorization"]
