"""Helpers shared by the op builders: config access, weight checks, shape arithmetic."""
from ...errors import ModelFormatError, UnsupportedLayerError


def weights(layer, names, shapes=None):
    """The named weights of ``layer`` as float32 arrays, checked against ``shapes`` (None entries are free)."""
    import numpy as np

    have = layer.weight_dict
    out = []
    for i, name in enumerate(names):
        if name not in have:
            raise ModelFormatError(f"layer {layer.name!r} ({layer.class_name}): weight {name!r} is missing; "
                                   f"found {sorted(have)}")
        arr = np.ascontiguousarray(have[name], dtype=np.float32)
        if shapes is not None and shapes[i] is not None:
            want = tuple(shapes[i])
            if arr.shape != want:
                raise ModelFormatError(f"layer {layer.name!r} ({layer.class_name}): weight {name!r} has shape "
                                       f"{arr.shape}, expected {want} for the input it receives")
        out.append(arr)
    return out


def need(layer, cond, what):
    """Raise UnsupportedLayerError for ``layer`` unless ``cond``."""
    if not cond:
        raise UnsupportedLayerError(f"layer {layer.name!r} ({layer.class_name}): {what} is not supported by "
                                    f"keraslite.runtime")


def check_rank(layer, shape, ranks):
    """Raise ModelFormatError unless the input ``shape`` (batch included) has a rank in ``ranks``."""
    if len(shape) not in ranks:
        raise ModelFormatError(f"layer {layer.name!r} ({layer.class_name}): input of rank {len(shape)} "
                               f"(shape {shape}), expected rank {' or '.join(map(str, ranks))}")


def channels_last(layer):
    """Refuse channels_first layers (the runtime computes channels_last)."""
    need(layer, layer.config.get("data_format", "channels_last") == "channels_last", "data_format='channels_first'")


def conv_out(n, k, s, d, padding):
    """Output length of a conv/pool window along one axis (None stays None)."""
    if n is None:
        return None
    if padding in ("same", "causal"):
        return -(-n // s) if padding == "same" else -(-n // s)
    span = (k - 1) * d + 1
    return (n - span) // s + 1


def pad_amounts(n, k, s, d, padding):
    """(before, after) padding TF/Keras uses for one axis of length n."""
    span = (k - 1) * d + 1
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return span - 1, 0
    out = -(-n // s)
    total = max((out - 1) * s + span - n, 0)
    return total // 2, total - total // 2
