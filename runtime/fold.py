"""Plan-time rewrites: BatchNormalization folded into the Dense/Conv before it, a following activation fused, Keras
2's four-layer hard-swish and hard-sigmoid turned into one activation (``hard_activations``), a ZeroPadding2D
absorbed by the valid-padded convolution after it (its borders handled without a padded copy), and a convolution's
bias + relu/relu6 moved after the MaxPooling that follows it (max commutes with adding a per-channel constant and
with monotone activations, exactly in floating point, and the pooled tensor is smaller). Fusions that only the
compiled kernels can run are in ``fuse.py``."""
import dataclasses
from collections import defaultdict

import numpy as np

from ..format.spec import LayerSpec, ModelSpec, TensorRef
from . import native, ops
from .ops.norm import batchnorm_affine

class PlanState:
    """What the folds read and rewrite while a plan is built.

    ``steps[i]`` is ``(fn, input slots, output slots)`` (None once dropped) and ``records[i]`` its ``(layer, input
    shapes)``; ``producer`` maps a slot to the index of the step writing it; ``consumers`` counts the readers of
    every TensorRef; ``merged`` maps a layer folded away to the layer hosting it; ``slot_refs`` the TensorRefs
    naming each slot (several when identity layers pass a tensor through).
    """

    def __init__(self, consumers):
        self.steps, self.records, self.producer, self.merged, self.slot_refs = [], [], {}, {}, {}
        self.consumers = consumers

    def uses(self, slot):
        """How many layer inputs and model outputs read ``slot``."""
        return sum(self.consumers[ref] for ref in self.slot_refs.get(slot, ()))

    def step_of(self, slot):
        """Index of the live step writing ``slot``, or None (a model input, or a dropped step)."""
        idx = self.producer.get(slot)
        return None if idx is None or self.steps[idx] is None else idx

    def host(self, ref):
        """The layer hosting ``ref``'s layer after folds (itself when none)."""
        return self.merged.get(ref.layer, ref.layer)


# Layers whose output channel is the last axis of ``kernel``-like weights, by the weight that carries it.
FOLD_INTO = {"Dense": "kernel", "Conv1D": "kernel", "Conv2D": "kernel",
             "DepthwiseConv2D": "depthwise_kernel", "SeparableConv1D": "pointwise_kernel",
             "SeparableConv2D": "pointwise_kernel"}


def _bias(prev, channels):
    w = prev.weight_dict
    return np.asarray(w["bias"], np.float32) if prev.config.get("use_bias", True) and "bias" in w \
        else np.zeros(channels, np.float32)


def _fold_bn(prev, bn, shape):
    """``prev`` with ``bn`` folded in, or None when the BN is not over the last axis."""
    axis = bn.config.get("axis", -1)
    axis = axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis
    if not isinstance(axis, int) or axis % len(shape) != len(shape) - 1 or shape[-1] is None:
        return None
    channels = shape[-1]
    scale, shift = batchnorm_affine(bn, channels)
    key = FOLD_INTO[prev.class_name]
    weights = []
    for name, arr in prev.weights:
        if name == key:
            arr = np.asarray(arr, np.float32)
            arr = (arr * scale.reshape(arr.shape[-2], arr.shape[-1]) if key == "depthwise_kernel"
                   else arr * scale).astype(np.float32)
        if name != "bias":
            weights.append((name, arr))
    weights.append(("bias", (_bias(prev, channels) * scale + shift).astype(np.float32)))
    return LayerSpec(prev.name, prev.class_name, dict(prev.config, use_bias=True), weights, prev.inbound)


def _fused_activation(layer):
    """The activation name an Activation/ReLU layer applies, or None when it cannot be fused."""
    cfg = layer.config
    if layer.class_name == "Activation":
        return None if cfg.get("approximate") else cfg.get("activation")
    if cfg.get("negative_slope") or cfg.get("threshold"):
        return None
    return {None: "relu", 6.0: "relu6"}.get(None if cfg.get("max_value") is None else float(cfg["max_value"]))


def try_fold(st, layer, call, in_slots, in_shapes):
    """Fold ``layer`` into the step producing its input when safe; True when done."""
    if layer.class_name not in ("BatchNormalization", "Activation", "ReLU") or len(call) != 1:
        return False
    if len(layer.inbound) != 1 or st.consumers[call[0]] != 1:
        return False
    idx = st.step_of(in_slots[0])
    if idx is None:
        return False
    steps, records = st.steps, st.records
    prev, prev_shapes = records[idx]
    host = st.host(call[0])
    if (prev.class_name not in FOLD_INTO or host != prev.name or len(prev.inbound) != 1
            or prev.config.get("activation", "linear") != "linear" or len(steps[idx][2]) != 1):
        return False
    if layer.class_name == "BatchNormalization":
        if prev.config.get("_residual"):  # the BN would scale the residual too
            return False
        new = _fold_bn(prev, layer, in_shapes[0])
    else:
        name = _fused_activation(layer)
        new = None if name is None else LayerSpec(prev.name, prev.class_name, dict(prev.config, activation=name),
                                                  prev.weights, prev.inbound)
    if new is None:
        return False
    fn, _ = ops.get(new.class_name, new.name)(new, prev_shapes)
    steps[idx] = (fn,) + steps[idx][1:]
    records[idx] = (new, prev_shapes)
    st.merged[layer.name] = prev.name
    return True


def _const_op(layer, function, value):
    """Whether ``layer`` is a TFOpLambda ``function(x, value)`` of one tensor and a constant equal to ``value`` in
    float32 (the precision Keras computes it in)."""
    if layer.class_name != "TFOpLambda" or layer.config.get("function") != function or len(layer.inbound) != 1:
        return False
    args = layer.config.get("arguments") or {}
    y = args.get("y")
    return (set(args) == {"x", "y"} and args["x"] == {"__tensor__": 0} and len(layer.inbound[0]) == 1
            and isinstance(y, (int, float)) and not isinstance(y, bool) and np.float32(y) == np.float32(value))


def _is_relu6(layer):
    cfg = layer.config
    return (layer.class_name == "ReLU" and len(layer.inbound) == 1 and cfg.get("max_value") is not None
            and float(cfg["max_value"]) == 6.0 and not cfg.get("negative_slope") and not cfg.get("threshold"))


def hard_activations(spec: ModelSpec) -> ModelSpec:
    """``spec`` with Keras 2's hard-swish and hard-sigmoid (tf_keras' MobileNetV3 writes ``x * (relu6(x + 3) *
    (1/6))`` as a TFOpLambda add, a ReLU(6), a TFOpLambda multiply and a Multiply) as one Activation each, which
    ``try_fold`` then moves into the convolution before it: one pass instead of four. Keras 3 files already say
    ``Activation("hard_silu")``. The compiled kernels compute ``x * (clamp(x + 3, 0, 6) * float32(1/6))``, Keras'
    own order, so the results are the same floats.

    Every layer stays (the summary lists them all, ``_shown_as`` keeps their class): the head becomes the
    activation and the other three pass their input through. A chain is rewritten only when each of its tensors
    has no reader but the next layer and none is a model output."""
    readers = defaultdict(list)  # layer name -> the layers reading its (only) output
    for layer in spec.layers:
        for call in layer.inbound:
            for ref in call:
                readers[ref.layer].append(layer)
    outputs = {ref.layer for ref in spec.outputs}

    def sole_reader(layer):
        got = readers.get(layer.name, [])
        return got[0] if len(got) == 1 and layer.name not in outputs and len(layer.inbound) == 1 else None

    def passthrough(layer, source):
        return dataclasses.replace(layer, class_name="Activation", inbound=[[source]], weights=[],
                                   config={"name": layer.name, "activation": "linear", "_shown_as": layer.class_name})

    new = {}
    for head in spec.layers:
        if head.name in new or not _const_op(head, "math.add", 3.0):
            continue
        relu = sole_reader(head)
        scale = sole_reader(relu) if relu is not None and _is_relu6(relu) else None
        if scale is None or not _const_op(scale, "math.multiply", 1.0 / 6.0) or scale.inbound[0][0].layer != relu.name:
            continue
        x = head.inbound[0][0]
        mul = sole_reader(scale)
        swish = (mul is not None and mul.class_name == "Multiply" and len(mul.inbound) == 1
                 and sorted(mul.inbound[0], key=lambda r: r.layer == scale.name) == [x, TensorRef(scale.name)])
        new[head.name] = dataclasses.replace(head, class_name="Activation", weights=[], config={
            "name": head.name, "activation": "hard_silu" if swish else "hard_sigmoid", "_shown_as": head.class_name})
        new[relu.name] = passthrough(relu, TensorRef(head.name))
        new[scale.name] = passthrough(scale, TensorRef(relu.name))
        if swish:
            new[mul.name] = passthrough(mul, TensorRef(scale.name))
    if not new:
        return spec
    return dataclasses.replace(spec, layers=[new.get(layer.name, layer) for layer in spec.layers])


PAD_ABSORBERS = ("Conv2D", "DepthwiseConv2D", "SeparableConv2D")
POOLS = ("MaxPooling2D", "AveragePooling2D")  # absorb with the compiled kernels (their zeros take part)


def absorb_padding(st, layer, call, in_slots):
    """``(layer with extra pads, input slots)`` when ``layer`` can take over the ZeroPadding2D feeding it, else None.

    The ZeroPadding2D step is set to None (the plan drops it); its input becomes ``layer``'s input.
    """
    pool = layer.class_name in POOLS and native.lib() is not None
    if not (layer.class_name in PAD_ABSORBERS or pool) or len(call) != 1 or layer.config.get("padding") != "valid":
        return None
    if layer.config.get("data_format", "channels_last") != "channels_last" or "_extra_pads" in layer.config:
        return None
    idx, steps = st.step_of(in_slots[0]), st.steps
    if idx is None or st.consumers[call[0]] != 1:
        return None
    pad_layer, _ = st.records[idx]
    if pad_layer.class_name != "ZeroPadding2D" or pad_layer.name != call[0].layer or len(steps[idx][1]) != 1:
        return None
    if pad_layer.config.get("data_format", "channels_last") != "channels_last":
        return None
    pads = [[int(a), int(b)] for a, b in pad_layer.config["padding"]]
    if pool and any(a >= int(k) for (a, _), k in zip(pads, layer.config["pool_size"])):
        return None  # a window starting wholly inside the padding
    source = steps[idx][1][0]
    steps[idx] = None
    return LayerSpec(layer.name, layer.class_name, dict(layer.config, _extra_pads=pads), layer.weights,
                     layer.inbound), [source]


DEFERRABLE = ("linear", "relu", "relu6")  # monotone activations with exact in-place epilogues


def defer_epilogue(st, layer, call, in_slots):
    """For a MaxPooling after a Conv: strip the conv's bias/activation and return them as an epilogue for the pool.

    Not with the compiled kernels: their convolution applies bias and activation in its store, at no extra pass."""
    if native.lib() is not None:
        return None
    if layer.class_name not in ("MaxPooling1D", "MaxPooling2D") or len(call) != 1 or st.consumers[call[0]] != 1:
        return None
    idx, steps, records = st.step_of(in_slots[0]), st.steps, st.records
    if idx is None or len(steps[idx][2]) != 1:
        return None
    prev, prev_shapes = records[idx]
    act = prev.config.get("activation", "linear")
    if prev.class_name not in ("Conv1D", "Conv2D") or st.host(call[0]) != prev.name \
            or act not in DEFERRABLE or (act == "linear" and not prev.config.get("use_bias", True)):
        return None
    bias = prev.weight_dict.get("bias") if prev.config.get("use_bias", True) else None
    bare = LayerSpec(prev.name, prev.class_name, dict(prev.config, use_bias=False, activation="linear"),
                     [(n, w) for n, w in prev.weights if n != "bias"], prev.inbound)
    fn, _ = ops.get(bare.class_name, bare.name)(bare, prev_shapes)
    steps[idx] = (fn,) + steps[idx][1:]
    records[idx] = (bare, prev_shapes)
    from .kernels.activations import epilogue

    return epilogue(None if bias is None else np.ascontiguousarray(bias, np.float32), act)

