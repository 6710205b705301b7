"""The allow-list of Keras layer classes: canonical config keys with defaults, and weight names in Keras' order.

This table is the single description of what a layer's config and weights look like once ``format/`` has absorbed
the Keras 2 / Keras 3 dialects. A key listed here is one that both tf_keras 2.x and Keras 3 accept, so writing
exactly these keys gives a portable file. Keys a file carries beyond these are dropped on read, except the ones in
``REFUSE`` whose non-default value would change the model's numbers (those raise ``UnsupportedLayerError``).

``weights(config)`` gives ``(name, trainable, shape)`` per weight in the order Keras stores them; a ``None`` in a
shape is a dimension that depends on the layer's input (checked by the runtime's shape inference).
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Tuple

from .spec import LayerSpec

REQUIRED = object()  # marks a config key without a default

WeightList = List[Tuple[str, bool, Tuple[Optional[int], ...]]]


def _init(name: str, config: Optional[dict] = None) -> dict:
    return {"class_name": name, "config": config or {}}


GLOROT = _init("GlorotUniform", {"seed": None})
ZEROS = _init("Zeros")
ONES = _init("Ones")
ORTHOGONAL = _init("Orthogonal", {"gain": 1.0, "seed": None})

DENSE_LIKE = {"activation": "linear", "use_bias": True, "kernel_initializer": GLOROT, "bias_initializer": ZEROS,
              "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
              "kernel_constraint": None, "bias_constraint": None}
CONV_BASE = {"filters": REQUIRED, "kernel_size": REQUIRED, "strides": None, "padding": "valid",
             "data_format": "channels_last", "dilation_rate": None, **DENSE_LIKE}
# Depthwise and separable convolutions have depthwise_/pointwise_ arrays instead of a kernel.
SPATIAL_BASE = {k: v for k, v in CONV_BASE.items()
                if k not in ("kernel_initializer", "kernel_regularizer", "kernel_constraint")}
DEPTHWISE = {"depth_multiplier": 1, "depthwise_initializer": GLOROT, "depthwise_regularizer": None,
             "depthwise_constraint": None}
POOL = {"pool_size": None, "strides": None, "padding": "valid", "data_format": "channels_last"}
GLOBAL_POOL = {"data_format": "channels_last", "keepdims": False}
RNN_BASE = {"units": REQUIRED, "activation": "tanh", "use_bias": True, "kernel_initializer": GLOROT,
            "recurrent_initializer": ORTHOGONAL, "bias_initializer": ZEROS, "kernel_regularizer": None,
            "recurrent_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
            "kernel_constraint": None, "recurrent_constraint": None, "bias_constraint": None, "dropout": 0.0,
            "recurrent_dropout": 0.0, "return_sequences": False, "return_state": False, "go_backwards": False,
            "stateful": False, "unroll": False}
NORM_INITS = {"beta_initializer": ZEROS, "gamma_initializer": ONES, "beta_regularizer": None,
              "gamma_regularizer": None, "beta_constraint": None, "gamma_constraint": None}
RANDOM_IMAGE = {"fill_mode": "reflect", "interpolation": "bilinear", "seed": None, "fill_value": 0.0}


def _dense_weights(c: dict) -> WeightList:
    return [("kernel", True, (None, c["units"]))] + ([("bias", True, (c["units"],))] if c["use_bias"] else [])


def _conv_weights(c: dict) -> WeightList:
    groups = c.get("groups", 1)
    kernel = (*c["kernel_size"], None, c["filters"])
    del groups  # in-channels/groups depends on the input: checked at shape inference
    return [("kernel", True, kernel)] + ([("bias", True, (c["filters"],))] if c["use_bias"] else [])


def _transpose_weights(c: dict) -> WeightList:
    kernel = (*c["kernel_size"], c["filters"], None)
    return [("kernel", True, kernel)] + ([("bias", True, (c["filters"],))] if c["use_bias"] else [])


def _depthwise_weights(c: dict) -> WeightList:
    kernel = (*c["kernel_size"], None, c["depth_multiplier"])
    return [("depthwise_kernel", True, kernel)] + ([("bias", True, (None,))] if c["use_bias"] else [])


def _separable_weights(c: dict) -> WeightList:
    rank = len(c["kernel_size"])
    return ([("depthwise_kernel", True, (*c["kernel_size"], None, c["depth_multiplier"])),
             ("pointwise_kernel", True, (*(1,) * rank, None, c["filters"]))]
            + ([("bias", True, (c["filters"],))] if c["use_bias"] else []))


def _batchnorm_weights(c: dict) -> WeightList:
    return ([("gamma", True, (None,))] if c["scale"] else []) + ([("beta", True, (None,))] if c["center"] else []) \
        + [("moving_mean", False, (None,)), ("moving_variance", False, (None,))]


def _layernorm_weights(c: dict) -> WeightList:
    # gamma/beta span every normalized axis, whose sizes come from the input: checked at shape inference
    return ([("gamma", True, None)] if c["scale"] else []) + ([("beta", True, None)] if c["center"] else [])


def _rnn_weights(gates: int) -> Callable[[dict], WeightList]:
    def weights(c: dict) -> WeightList:
        u = c["units"]
        bias_shape = (2, gates * u) if c.get("reset_after") else (gates * u,)
        return [("kernel", True, (None, gates * u)), ("recurrent_kernel", True, (u, gates * u))] + (
            [("bias", True, bias_shape)] if c["use_bias"] else [])
    return weights


def reversed_rnn(forward: dict) -> dict:
    """The backward RNN Keras builds from a Bidirectional's forward layer when none is given."""
    config = {**forward["config"], "go_backwards": not forward["config"].get("go_backwards", False),
              "name": "backward_" + forward["config"]["name"].replace("forward_", "", 1)}
    return {"class_name": forward["class_name"], "config": config}


def bidirectional_halves(layer: LayerSpec) -> Tuple[LayerSpec, LayerSpec]:
    """A Bidirectional layer's forward and backward RNNs as LayerSpecs holding their own (``forward/...``,
    ``backward/...``) weights; a missing ``backward_layer`` is the forward one reversed, as in Keras."""
    forward = layer.config["layer"]
    backward = layer.config.get("backward_layer") or reversed_rnn(forward)
    halves = []
    for prefix, inner in (("forward", forward), ("backward", backward)):
        cut = prefix + "/"
        own = [(name[len(cut):], array) for name, array in layer.weights if name.startswith(cut)]
        halves.append(LayerSpec(f"{layer.name}/{prefix}", inner["class_name"], inner["config"], own))
    return halves[0], halves[1]


def _bidirectional_weights(c: dict) -> WeightList:
    forward = c["layer"]
    backward = c.get("backward_layer") or forward
    out = []
    for prefix, sub in (("forward", forward), ("backward", backward)):
        out += [(f"{prefix}/{n}", t, s) for n, t, s in LAYERS[sub["class_name"]].weights(sub["config"])]
    return out


def _normalization_weights(c: dict) -> WeightList:
    if c.get("mean") is not None:
        return []
    return [("mean", False, None), ("variance", False, None), ("count", False, ())]


def _none(c: dict) -> WeightList:
    return []


class LayerDef:
    """Canonical keys with defaults, the weight list, and the ``(key, allowed values)`` pairs that must hold."""

    def __init__(self, keys: Dict, weights: Callable[[dict], WeightList] = _none,
                 must: Tuple[Tuple[str, tuple], ...] = ()):
        self.keys = keys
        self.weights = weights
        self.must = must


ACTIVATION_KEY = {"activation": REQUIRED}
LAYERS: Dict[str, LayerDef] = {
    "InputLayer": LayerDef({"batch_shape": REQUIRED, "sparse": False}, must=(("sparse", (False, None)),)),
    "Dense": LayerDef({"units": REQUIRED, **DENSE_LIKE}, _dense_weights),
    "Activation": LayerDef(ACTIVATION_KEY),
    "Dropout": LayerDef({"rate": REQUIRED, "noise_shape": None, "seed": None}),
    "SpatialDropout1D": LayerDef({"rate": REQUIRED, "seed": None}),
    "SpatialDropout2D": LayerDef({"rate": REQUIRED, "seed": None, "data_format": "channels_last"}),
    "GaussianNoise": LayerDef({"stddev": REQUIRED, "seed": None}),
    "GaussianDropout": LayerDef({"rate": REQUIRED, "seed": None}),
    "Flatten": LayerDef({"data_format": "channels_last"}),
    "Reshape": LayerDef({"target_shape": REQUIRED}),
    "Permute": LayerDef({"dims": REQUIRED}),
    "RepeatVector": LayerDef({"n": REQUIRED}),
    "Embedding": LayerDef({"input_dim": REQUIRED, "output_dim": REQUIRED,
                           "embeddings_initializer": _init("RandomUniform", {"minval": -0.05, "maxval": 0.05,
                                                                              "seed": None}),
                           "embeddings_regularizer": None, "activity_regularizer": None,
                           "embeddings_constraint": None, "mask_zero": False},
                          lambda c: [("embeddings", True, (c["input_dim"], c["output_dim"]))]),
    "ReLU": LayerDef({"max_value": None, "negative_slope": 0.0, "threshold": 0.0}),
    "LeakyReLU": LayerDef({"alpha": 0.3}),
    "PReLU": LayerDef({"alpha_initializer": ZEROS, "alpha_regularizer": None, "alpha_constraint": None,
                       "shared_axes": None}, lambda c: [("alpha", True, None)]),
    "ELU": LayerDef({"alpha": 1.0}),
    "Softmax": LayerDef({"axis": -1}),
    "Conv1D": LayerDef({**CONV_BASE, "groups": 1}, _conv_weights),
    "Conv2D": LayerDef({**CONV_BASE, "groups": 1}, _conv_weights),
    "Conv2DTranspose": LayerDef({**CONV_BASE, "output_padding": None}, _transpose_weights),
    "DepthwiseConv2D": LayerDef({**{k: v for k, v in SPATIAL_BASE.items() if k != "filters"}, **DEPTHWISE},
                                _depthwise_weights),
    "SeparableConv1D": LayerDef({**SPATIAL_BASE, **DEPTHWISE, "pointwise_initializer": GLOROT,
                                 "pointwise_regularizer": None, "pointwise_constraint": None}, _separable_weights),
    "SeparableConv2D": LayerDef({**SPATIAL_BASE, **DEPTHWISE, "pointwise_initializer": GLOROT,
                                 "pointwise_regularizer": None, "pointwise_constraint": None}, _separable_weights),
    "MaxPooling1D": LayerDef(POOL),
    "MaxPooling2D": LayerDef(POOL),
    "AveragePooling1D": LayerDef(POOL),
    "AveragePooling2D": LayerDef(POOL),
    "GlobalAveragePooling1D": LayerDef(GLOBAL_POOL),
    "GlobalAveragePooling2D": LayerDef(GLOBAL_POOL),
    "GlobalMaxPooling1D": LayerDef(GLOBAL_POOL),
    "GlobalMaxPooling2D": LayerDef(GLOBAL_POOL),
    "ZeroPadding1D": LayerDef({"padding": [1, 1]}),
    "ZeroPadding2D": LayerDef({"padding": [[1, 1], [1, 1]], "data_format": "channels_last"}),
    "Cropping1D": LayerDef({"cropping": [1, 1]}),
    "Cropping2D": LayerDef({"cropping": [[0, 0], [0, 0]], "data_format": "channels_last"}),
    "UpSampling1D": LayerDef({"size": [2]}),
    "UpSampling2D": LayerDef({"size": [2, 2], "data_format": "channels_last", "interpolation": "nearest"},
                             must=(("interpolation", ("nearest", "bilinear")),)),
    "BatchNormalization": LayerDef({"axis": -1, "momentum": 0.99, "epsilon": 0.001, "center": True,
                                    "scale": True, **NORM_INITS, "moving_mean_initializer": ZEROS,
                                    "moving_variance_initializer": ONES}, _batchnorm_weights),
    "LayerNormalization": LayerDef({"axis": -1, "epsilon": 0.001, "center": True, "scale": True, **NORM_INITS},
                                   _layernorm_weights),
    "Rescaling": LayerDef({"scale": REQUIRED, "offset": 0.0}),
    "Normalization": LayerDef({"axis": -1, "mean": None, "variance": None, "invert": False},
                              _normalization_weights),
    "RandomFlip": LayerDef({"mode": "horizontal_and_vertical", "seed": None}),
    "RandomRotation": LayerDef({"factor": REQUIRED, **RANDOM_IMAGE}),
    "RandomZoom": LayerDef({"height_factor": REQUIRED, "width_factor": None, **RANDOM_IMAGE}),
    "RandomTranslation": LayerDef({"height_factor": REQUIRED, "width_factor": REQUIRED, **RANDOM_IMAGE}),
    "RandomContrast": LayerDef({"factor": REQUIRED, "seed": None}),
    "SimpleRNN": LayerDef(RNN_BASE, _rnn_weights(1), must=(("stateful", (False,)),)),
    "LSTM": LayerDef({**RNN_BASE, "recurrent_activation": "sigmoid", "unit_forget_bias": True}, _rnn_weights(4),
                     must=(("stateful", (False,)),)),
    "GRU": LayerDef({**RNN_BASE, "recurrent_activation": "sigmoid", "reset_after": True}, _rnn_weights(3),
                    must=(("stateful", (False,)),)),
    "Bidirectional": LayerDef({"layer": REQUIRED, "merge_mode": "concat", "backward_layer": None},
                              _bidirectional_weights),
    "Add": LayerDef({}),
    "Subtract": LayerDef({}),
    "Multiply": LayerDef({}),
    "Average": LayerDef({}),
    "Maximum": LayerDef({}),
    "Minimum": LayerDef({}),
    "Concatenate": LayerDef({"axis": -1}),
    "Masking": LayerDef({"mask_value": 0.0}),
    # Classes that ship inside Keras' applications (allowed by exact module: APPLICATION_LAYERS).
    "LayerScale": LayerDef({"init_values": REQUIRED, "projection_dim": REQUIRED},
                           lambda c: [("gamma", True, (c["projection_dim"],))]),
    "CustomScaleLayer": LayerDef({"scale": REQUIRED}),
    # Tensor operations outside layers (Keras 2 TFOpLambda/SlicingOpLambda, Keras 3 keras.src.ops), see tfops.py.
    "TFOpLambda": LayerDef({"function": REQUIRED, "arguments": REQUIRED}),
}

# Layer classes defined inside Keras' applications rather than keras.layers: the modules and registered names
# Keras records for them. Any other module or registered name is a user's class of the same name and is refused.
APPLICATION_LAYERS = {
    "LayerScale": (("keras.src.applications.convnext", "tf_keras.src.applications.convnext"), ("LayerScale",)),
    "CustomScaleLayer": (("keras.src.applications.inception_resnet_v2",
                          "tf_keras.src.applications.inception_resnet_v2"),
                         ("CustomScaleLayer", "Custom>CustomScaleLayer")),
}

# ---- data preprocessing (branch "data"): image resizing and the text/categorical layers ---------------------------
# The lookups keep their whole vocabulary (special tokens included) in the canonical ``vocabulary`` key and the
# matching TF-IDF weights in ``idf_weights``; ``format/vocabulary.py`` moves them to the archive's assets and
# variables for ``.keras`` files (as Keras 3 does) and refuses a vocabulary that is a file path.
RESIZE_METHODS = ("bilinear", "nearest", "bicubic", "area")
LOOKUP_BASE = {"max_tokens": None, "num_oov_indices": 1, "mask_token": None, "vocabulary": None, "idf_weights": None,
               "invert": False, "output_mode": "int", "pad_to_max_tokens": False, "sparse": False,
               "vocabulary_size": None, "oov_method": "floormod", "salt": None}
LOOKUP_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")
DATA_LAYERS: Dict[str, LayerDef] = {
    "Resizing": LayerDef({"height": REQUIRED, "width": REQUIRED, "interpolation": "bilinear",
                          "crop_to_aspect_ratio": False, "pad_to_aspect_ratio": False, "fill_mode": "constant",
                          "fill_value": 0.0, "antialias": False, "data_format": "channels_last"},
                         must=(("interpolation", RESIZE_METHODS), ("antialias", (False,)),
                               ("fill_mode", ("constant",)), ("data_format", ("channels_last",)))),
    "CenterCrop": LayerDef({"height": REQUIRED, "width": REQUIRED, "data_format": "channels_last"},
                           must=(("data_format", ("channels_last",)),)),
    "TextVectorization": LayerDef({"max_tokens": None, "standardize": "lower_and_strip_punctuation",
                                   "split": "whitespace", "ngrams": None, "output_mode": "int",
                                   "output_sequence_length": None, "pad_to_max_tokens": False, "sparse": False,
                                   "ragged": False, "vocabulary": None, "idf_weights": None, "encoding": "utf-8",
                                   "vocabulary_size": None},
                                  must=(("standardize", ("lower_and_strip_punctuation", "lower", "strip_punctuation",
                                                         None)), ("split", ("whitespace", "character", None)),
                                        ("output_mode", LOOKUP_MODES), ("sparse", (False,)), ("ragged", (False,)),
                                        ("encoding", ("utf-8",)))),
    "StringLookup": LayerDef({**LOOKUP_BASE, "oov_token": "[UNK]", "encoding": "utf-8"},
                             must=(("output_mode", LOOKUP_MODES), ("sparse", (False,)), ("encoding", ("utf-8",)))),
    "IntegerLookup": LayerDef({**LOOKUP_BASE, "oov_token": -1, "vocabulary_dtype": "int64"},
                              must=(("output_mode", LOOKUP_MODES), ("sparse", (False,)),
                                    ("vocabulary_dtype", ("int64",)))),
    "CategoryEncoding": LayerDef({"num_tokens": REQUIRED, "output_mode": "multi_hot", "sparse": False},
                                 must=(("output_mode", ("one_hot", "multi_hot", "count")), ("sparse", (False,)))),
    "Hashing": LayerDef({"num_bins": REQUIRED, "mask_value": None, "salt": None, "output_mode": "int",
                         "sparse": False},
                        must=(("output_mode", ("int", "one_hot", "multi_hot", "count")), ("sparse", (False,)))),
}
LAYERS.update(DATA_LAYERS)
# Classes whose inputs are strings (the runtime feeds them str/bytes arrays; the ONNX exporter refuses them).
STRING_LAYERS = ("TextVectorization", "StringLookup")
# Keys Keras 3 writes that tf_keras' constructors reject: a portable/Keras 2 file drops them at their default
# value and refuses a model that needs another value (write .keras instead).
KERAS3_ONLY_KEYS = {
    "Resizing": {"pad_to_aspect_ratio": False, "fill_mode": "constant", "fill_value": 0.0, "antialias": False,
                 "data_format": "channels_last"},
    "CenterCrop": {"data_format": "channels_last"},
    "StringLookup": {"oov_method": "floormod", "salt": None},
    "IntegerLookup": {"oov_method": "floormod", "salt": None},
    "TextVectorization": {},
}
# ---- end of the data preprocessing block -----------------------------------------------------------------------

# Keras 3 constructors of these do not take ``trainable``; writers leave it out.
NO_TRAINABLE_KEY = ("SpatialDropout1D", "SpatialDropout2D")

# Classes that are whole models used as layers; their config is a model config, not a key table.
MODEL_CLASSES = ("Sequential", "Functional", "Model")

# Other spellings of the same class found in real files.
ALIASES = {"BatchNormalizationV1": "BatchNormalization", "BatchNormalizationV2": "BatchNormalization",
           "LayerNormalizationV1": "LayerNormalization", "Convolution1D": "Conv1D", "Convolution2D": "Conv2D",
           "Conv2DTranspose": "Conv2DTranspose", "Deconvolution2D": "Conv2DTranspose",
           "Deconv2D": "Conv2DTranspose", "SeparableConvolution1D": "SeparableConv1D",
           "SeparableConvolution2D": "SeparableConv2D", "MaxPool1D": "MaxPooling1D", "MaxPool2D": "MaxPooling2D",
           "AvgPool1D": "AveragePooling1D", "AvgPool2D": "AveragePooling2D",
           "GlobalAvgPool1D": "GlobalAveragePooling1D", "GlobalAvgPool2D": "GlobalAveragePooling2D",
           "GlobalMaxPool1D": "GlobalMaxPooling1D", "GlobalMaxPool2D": "GlobalMaxPooling2D",
           "LSTMV1": "LSTM", "GRUV1": "GRU", "LSTMV2": "LSTM", "GRUV2": "GRU",
           "Custom>CustomScaleLayer": "CustomScaleLayer"}  # tf_keras' .h5 writes the registered name

# Refused by name with a reason of their own (they would run code or load other artifacts).
REFUSED = {
    "Lambda": "Lambda layers hold Python code (marshalled bytecode or a function name) and loading never runs code "
              "from a file; rewrite the Lambda as built-in layers",
    "TFSMLayer": "TFSMLayer loads a TensorFlow SavedModel from a path named in the file",
    "TorchModuleWrapper": "TorchModuleWrapper unpickles a PyTorch module",
}

# Activations by canonical name. "hard_sigmoid" is Keras 3's relu6(x + 3) / 6; Keras 2's 0.2x + 0.5 is
# "hard_sigmoid_keras2" (format/dialect.py renames it on read and back on write).
ACTIVATIONS = ("linear", "relu", "relu6", "sigmoid", "hard_sigmoid", "hard_sigmoid_keras2", "hard_silu", "tanh",
               "softmax", "log_softmax", "softplus", "softsign", "elu", "selu", "exponential", "swish", "gelu",
               "leaky_relu", "mish")
# hard_silu (x * relu6(x + 3) / 6) is Keras 3 only; tf_keras has no such activation.
ACTIVATION_ALIASES = {"silu": "swish", "hard_swish": "hard_silu"}

# Config keys whose presence with a non-default value changes the numbers and that keraslite does not implement.
REFUSE = {"time_major": False, "lora_rank": None, "quantization_config": None, "rms_scaling": False,
          "renorm": False, "virtual_batch_size": None, "adjustment": None}


def canonical_class(class_name: str) -> str:
    """The canonical Keras class name for ``class_name`` (aliases resolved)."""
    return ALIASES.get(class_name, class_name)


def supported() -> List[str]:
    """Every layer class keraslite reads, sorted."""
    return sorted(set(LAYERS) | set(MODEL_CLASSES))
