"""The order Keras gives a functional model's layers (``model.layers``) when it rebuilds the graph from a config.

Keras loads legacy ``.h5`` weights by position in that order, and names ``.keras`` weight paths by it, so a file
whose layer list is in any other order gets its weights swapped between layers of equal shapes. The order is Keras'
own (tf_keras ``functional._map_graph_network``, the same in Keras 3): a depth-first walk from the outputs numbers
the layers as first seen; every call gets a depth (the longest path to an output); layers sort by decreasing depth,
then by that number. Layers no output depends on, which Keras would not keep, go last.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

from .spec import ModelSpec

Node = Tuple[str, int]


def keras_order(spec: ModelSpec) -> ModelSpec:
    """``spec`` with its top-level layers in Keras' ``model.layers`` order (Sequential models are kept)."""
    if spec.kind == "Sequential":
        return spec
    by_name = {layer.name: layer for layer in spec.layers}

    def parents(node: Node) -> List[Node]:
        layer = by_name[node[0]]
        if layer.class_name == "InputLayer" or node[1] >= len(layer.inbound):
            return []
        return [(r.layer, r.node if by_name[r.layer].class_name != "InputLayer" else 0) for r in layer.inbound[node[1]]]

    index: Dict[str, int] = {}
    finished: set = set()
    post: List[Node] = []
    for ref in spec.outputs:  # iterative form of Keras' recursive _build_map
        start = (ref.layer, ref.node if by_name[ref.layer].class_name != "InputLayer" else 0)
        stack = [(start, iter(parents(start)))] if start not in finished else []
        if stack:
            index.setdefault(start[0], len(index))
        while stack:
            node, todo = stack[-1]
            nxt = next(todo, None)
            if nxt is None:
                stack.pop()
                if node not in finished:
                    finished.add(node)
                    post.append(node)
            elif nxt not in finished and all(nxt != n for n, _ in stack):
                index.setdefault(nxt[0], len(index))
                stack.append((nxt, iter(parents(nxt))))
    node_depth: Dict[Node, int] = {}
    layer_depth: Dict[str, int] = {}
    for node in reversed(post):
        depth = max(node_depth.setdefault(node, 0), layer_depth.get(node[0], 0))
        layer_depth[node[0]] = depth
        node_depth[node] = depth
        for parent in parents(node):
            node_depth[parent] = max(depth + 1, node_depth.get(parent, 0))
    for ref in spec.inputs:
        if ref.layer not in layer_depth:
            layer_depth[ref.layer], index[ref.layer] = 0, -1
    ranked = sorted(layer_depth, key=lambda name: (-layer_depth[name], index[name]))
    rest = [l.name for l in spec.layers if l.name not in layer_depth]
    return spec.replace(layers=[by_name[name] for name in ranked + rest])
