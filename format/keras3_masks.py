"""Keras 3 writes a model's masks into its config: the mask a layer received is a ``mask`` keyword tensor, computed
by ``NotEqual`` (and ``Any``) operations from the Embedding's ids or the Masking layer's input. Keras 2 writes
nothing and derives them again. keraslite derives them too (``masking.py``), so on read those operations and
keywords are checked against the derivation and dropped: one canonical graph for both dialects, and a written
``.keras`` lets Keras 3 derive the masks itself again. A mask computed any other way is refused.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

from ..errors import UnsupportedLayerError
from .spec import LayerSpec, ModelSpec, TensorRef

MASK_OPS = ("NotEqual", "Any")
Mask = Tuple[str, float, TensorRef]


def is_mask_op(entry: Any) -> bool:
    """A ``keras.src.ops.numpy`` NotEqual/Any entry (Keras 3's mask computation)."""
    return (isinstance(entry, dict) and entry.get("module") in ("keras.src.ops.numpy", None)
            and entry.get("class_name") in MASK_OPS and isinstance(entry.get("config"), dict)
            and "trainable" not in entry["config"])


class MaskOps:
    """The NotEqual/Any entries of one functional config and the mask keywords of its layer calls."""

    def __init__(self):
        self.ops: Dict[str, Tuple[str, Any, list]] = {}  # name -> (class, config, args)
        self.uses: Dict[Tuple[str, int], TensorRef] = {}  # (layer, call) -> its mask tensor

    def add_op(self, entry: dict, label: str, to_refs) -> None:
        nodes = entry.get("inbound_nodes") or []
        if len(nodes) != 1 or not isinstance(nodes[0], dict):
            raise UnsupportedLayerError(f"{label}: operation {entry['config'].get('name')!r} "
                                        f"({entry['class_name']}) must be called once")
        args = [to_refs(a) or a for a in nodes[0].get("args") or []]
        name = entry.get("name") or entry["config"].get("name")
        self.ops[str(name)] = (entry["class_name"], entry["config"], args)

    def decode(self, ref: TensorRef, where: str) -> Mask:
        """``(kind, value, source)`` of a mask tensor made by Keras' mask ops."""
        def op(r):
            found = self.ops.get(r.layer) if isinstance(r, TensorRef) else None
            if found is None:
                raise UnsupportedLayerError(f"{where}: its mask does not come from an Embedding or Masking layer "
                                            "(Keras NotEqual/Any operations); other masks are not supported")
            return found

        cls, config, args = op(ref)
        if cls == "NotEqual" and len(args) == 2 and isinstance(args[0], list) and args[1] == 0:
            return ("ids", 0.0, args[0][0])
        if cls == "Any" and config.get("axis") == -1 and not config.get("keepdims") and len(args) == 1:
            inner, _, inner_args = op(args[0][0] if isinstance(args[0], list) else None)
            if inner == "NotEqual" and len(inner_args) == 2 and isinstance(inner_args[0], list) and isinstance(
                    inner_args[1], (int, float)):
                return ("values", float(inner_args[1]), inner_args[0][0])
        raise UnsupportedLayerError(f"{where}: its mask is computed by operations keraslite does not derive masks "
                                    "from; only Embedding(mask_zero=True) and Masking masks are supported")


def absorb(spec: ModelSpec, masks: MaskOps, label: str) -> None:
    """Check each mask keyword against keraslite's own derivation, then drop the mask operations."""
    if not masks.ops and not masks.uses:
        return
    used = {r.layer for layer in spec.layers for call in layer.inbound for r in call} | {r.layer for r in spec.outputs}
    stray = sorted(used & set(masks.ops))
    if stray:
        raise UnsupportedLayerError(f"{label}: operations {stray} (NotEqual/Any) are used as data, not as a Keras "
                                    "mask; they are not supported")
    from .masking import explicit_masks

    derived = {l.name: l for l in explicit_masks(spec).layers}
    for (name, k), ref in masks.uses.items():
        where = f"{label}: layer {name!r}"
        kind, value, source = masks.decode(ref, where)
        ours: Optional[LayerSpec] = derived.get(name)
        mine = (ours.mask["kind"], float(ours.mask["value"]), ours.inbound[k][-1]) if ours is not None and \
            ours.mask is not None else None
        if mine != (kind, value, source):
            raise UnsupportedLayerError(f"{where}: Keras recorded a mask ({kind}, from {source.layer!r}) that "
                                        "keraslite's mask propagation does not give it; not supported")
