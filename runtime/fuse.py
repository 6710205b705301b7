"""Plan-time fusions for the compiled kernels (``runtime.native``), which can apply more than a bias and an
activation in the passes they already make: a residual Add in a Conv/Dense store, a BatchNormalization (and the
activation after it) as the prologue of the convolution reading it, an activation joined to a standalone
BatchNormalization, an Embedding averaged by the GlobalAveragePooling1D after it in one gather. Each returns None
(or False) when the pattern or the kernels are absent; see ``fold.PlanState``.
"""
from ..format.spec import LayerSpec
from . import native, ops
from .fold import _fused_activation
from .ops.norm import batchnorm_affine

RESIDUAL_HOSTS = ("Conv1D", "Conv2D", "Dense", "SeparableConv1D", "SeparableConv2D")  # in the GEMM store
PROLOGUE_HOSTS = ("Conv1D", "Conv2D", "DepthwiseConv2D", "SeparableConv2D")


def _with(layer, **config):
    return LayerSpec(layer.name, layer.class_name, dict(layer.config, **config), layer.weights, layer.inbound)


def _last_axis(layer, shape):
    axis = layer.config.get("axis", -1)
    axis = axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis
    return isinstance(axis, int) and len(shape) > 1 and axis % len(shape) == len(shape) - 1 and shape[-1] is not None


def absorb_residual(st, layer, call, in_slots, in_shapes):
    """``(host with a residual input, its input slots, its input shapes)`` when ``layer`` is a two-input Add whose
    one input comes from a Conv/Dense step used nowhere else, else None.

    The host adds the other input in its store (one pass instead of two). Its old step is dropped and its new step
    runs at the Add's place, where both inputs exist. A ReLU after the Add then folds into the host as usual (the
    activation comes after the residual).
    """
    if native.lib() is None or layer.class_name != "Add" or len(call) != 2 or in_shapes[0] != in_shapes[1]:
        return None
    for side in (0, 1):
        idx = st.step_of(in_slots[side])
        if idx is None or st.consumers[call[side]] != 1:
            continue
        prev, prev_shapes = st.records[idx]
        if (prev.class_name not in RESIDUAL_HOSTS or st.host(call[side]) != prev.name
                or prev.config.get("activation", "linear") != "linear" or prev.config.get("_residual")
                or len(st.steps[idx][1]) != 1 or len(st.steps[idx][2]) != 1):
            continue
        source = st.steps[idx][1][0]
        st.steps[idx] = None
        st.merged[layer.name] = prev.name
        return _with(prev, _residual=True), [source, in_slots[1 - side]], [prev_shapes[0], in_shapes[1 - side]]
    return None


def bn_activation(st, layer, call, in_slots):
    """Join an Activation/ReLU to the standalone BatchNormalization step before it (one pass); True when done."""
    if native.lib() is None or layer.class_name not in ("Activation", "ReLU") or len(call) != 1:
        return False
    idx = st.step_of(in_slots[0])
    if idx is None or st.consumers[call[0]] != 1 or len(layer.inbound) != 1:
        return False
    prev, prev_shapes = st.records[idx]
    name = _fused_activation(layer)
    if (prev.class_name != "BatchNormalization" or st.host(call[0]) != prev.name or "_activation" in prev.config
            or name not in native.ACT or not _last_axis(prev, prev_shapes[0])):
        return False
    new = _with(prev, _activation=name)
    fn, _ = ops.get(new.class_name, new.name)(new, prev_shapes)
    st.steps[idx] = (fn,) + st.steps[idx][1:]
    st.records[idx] = (new, prev_shapes)
    st.merged[layer.name] = prev.name
    return True


def absorb_prologue(st, layer, call, in_slots):
    """``(layer with a prologue, input slots)`` when ``layer`` convolves the output of a BatchNormalization (with
    its activation) or of an activation step that nothing else reads, else None.

    The convolution applies ``act(x * scale + shift)`` to its input as it gathers it (padding stays zero, as the
    activation's output would be padded); the producing step is dropped.
    """
    if native.lib() is None or layer.class_name not in PROLOGUE_HOSTS or len(in_slots) != 1:
        return None
    if layer.config.get("_prologue") is not None or layer.config.get("data_format", "channels_last") != "channels_last":
        return None
    idx = st.step_of(in_slots[0])
    if idx is None or st.uses(in_slots[0]) != 1 or len(st.steps[idx][1]) != 1 or len(st.steps[idx][2]) != 1:
        return None
    prev, prev_shapes = st.records[idx]
    shape = prev_shapes[0]
    if prev.class_name == "BatchNormalization":
        if not _last_axis(prev, shape) or len(shape) != (3 if layer.class_name.endswith("1D") else 4):
            return None
        scale, shift = batchnorm_affine(prev, shape[-1])
        name = prev.config.get("_activation", "linear")
    elif prev.class_name in ("Activation", "ReLU"):
        scale = shift = None
        name = _fused_activation(prev)
        if name == "linear" or shape[-1] is None:
            return None
    else:
        return None
    if name not in native.ACT:
        return None
    source = st.steps[idx][1][0]
    st.steps[idx] = None
    return _with(layer, _prologue=(scale, shift, name)), [source]


def absorb_embedding(st, layer, call, in_slots):
    """``(GlobalAveragePooling1D reading the indices, input slots)`` when ``layer`` averages, without a mask, the
    output of an Embedding step nothing else reads (a Dropout between them is no step), else None.

    The text classifier of Keras' tutorials: the average is summed from the table rows as they are looked up, so the
    (N, T, D) sequence is never written (at T=100, D=64 that sequence is 25 KiB a row, read back once). The
    Embedding's step is dropped; the pooling keeps the Embedding's checks and its index error.
    """
    cfg = layer.config
    if (native.lib() is None or layer.class_name != "GlobalAveragePooling1D" or len(call) != 1
            or layer.mask is not None or cfg.get("keepdims")
            or cfg.get("data_format", "channels_last") != "channels_last"):
        return None
    idx = st.step_of(in_slots[0])
    if idx is None or st.consumers[call[0]] != 1 or st.uses(in_slots[0]) != 1:
        return None
    prev, prev_shapes = st.records[idx]
    if (prev.class_name != "Embedding" or st.host(call[0]) != prev.name or len(st.steps[idx][1]) != 1
            or len(prev_shapes[0]) != 2):
        return None
    source = st.steps[idx][1][0]
    st.steps[idx] = None
    return _with(layer, _embedding=prev), [source]

