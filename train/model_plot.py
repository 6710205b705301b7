"""``utils.model_to_dot`` and ``utils.plot_model``: a model's layers as a Graphviz graph, drawn as Keras 3 draws it.

Each layer is a box (an HTML-like table: the name and class on black, then the activation, the input and output
shapes, the dtype, trainable in green or red, as asked); arrows follow the calls of a Functional model or the
order of a Sequential one; ``expand_nested`` draws an inner model as a dashed cluster of its own layers. pydot
builds the graph (``pip install 'keraslite[plot]'``); Graphviz's ``dot`` program draws it, and is an OS package.
"""
from __future__ import annotations

import html
import os

from ..errors import KerasliteError

GRAPHVIZ_HINT = ("Graphviz's `dot` program draws the picture and is not installed (or not on PATH). Install it "
                 "with `apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS) or `conda "
                 "install graphviz`; model_to_dot(model).to_string() gives the DOT text without it")


def _pydot():
    try:
        import pydot
    except ImportError as exc:
        raise KerasliteError(f"plot_model/model_to_dot need pydot ({exc}): pip install 'keraslite[plot]'") from None
    return pydot


def _dot_class(pydot):
    """pydot.Dot whose ``create``/``write`` say how to install Graphviz when ``dot`` is missing."""

    class Dot(pydot.Dot):
        def create(self, prog=None, format="ps", encoding=None):
            try:
                return super().create(prog=prog, format=format, encoding=encoding)
            except FileNotFoundError:
                raise KerasliteError(GRAPHVIZ_HINT) from None

    return Dot


# ------------------------------------------------------------------------------------------------ labels
def _shape_text(shapes):
    if not shapes:
        return "?"
    text = [str(tuple(s)) for s in shapes]
    return text[0] if len(text) == 1 else "[" + ", ".join(text) + "]"


def _node_tensors(layer, node):
    if node is None:
        nodes = getattr(layer, "_inbound_nodes", [])
        node = nodes[-1] if nodes else None
    if node is None:
        return [], []
    return list(node.input_tensors), list(node.output_tensors)


def _activation(layer):
    if not hasattr(layer, "activation"):
        return None
    try:
        name = layer.get_config().get("activation")
    except Exception:  # noqa: BLE001 - a user layer whose get_config needs more; the label just omits it
        name = None
    if isinstance(name, dict):
        name = name.get("config", {}).get("name") or name.get("class_name")
    return name if isinstance(name, str) else getattr(layer.activation, "__name__", None)


def _cell(text, bgcolor="white", color=None, colspan=None, size=14):
    span = f' colspan="{colspan}"' if colspan else ""
    font = f'<font point-size="{size}"' + (f' color="{color}"' if color else "") + ">"
    return f'<td bgcolor="{bgcolor}"{span}>{font}{text}</font></td>'


def _label(layer, node, opts):
    """The HTML-like table of one layer's box."""
    kind = html.escape(type(layer).__name__)
    cols = []
    inputs, outputs = _node_tensors(layer, node)
    if opts["show_shapes"]:
        if kind != "InputLayer":
            cols.append(_cell(f"Input shape: <b>{html.escape(_shape_text([t.shape for t in inputs]))}</b>"))
        cols.append(_cell(f"Output shape: <b>{html.escape(_shape_text([t.shape for t in outputs]))}</b>"))
    if opts["show_dtype"]:
        dtypes = sorted({str(getattr(t, "dtype", "?")) for t in outputs}) or ["?"]
        cols.append(_cell(f"Output dtype: <b>{html.escape(', '.join(dtypes))}</b>"))
    if opts["show_trainable"] and layer.weights:
        cols.append(_cell("<b>Trainable</b>", "forestgreen", "white") if layer.trainable else
                    _cell("<b>Non-trainable</b>", "firebrick", "white"))
    span = max(1, len(cols))
    title = f"<b>{html.escape(layer.name)}</b> ({kind})" if opts["show_layer_names"] else f"<b>{kind}</b>"
    rows = [_cell(title, "black", "white", span, 16)]
    activation = _activation(layer) if opts["show_layer_activations"] else None
    if activation:
        rows.append(_cell(f"Activation: <b>{html.escape(activation)}</b>", colspan=span))
    body = "".join(f"<tr>{r}</tr>" for r in rows) + (f"<tr>{''.join(cols)}</tr>" if cols else "")
    return f'<<table border="0" cellborder="1" bgcolor="black" cellpadding="10">{body}</table>>'


# ------------------------------------------------------------------------------------------------ graph
class _Builder:
    """Adds the boxes and arrows of a model (and, expanded, its inner models) to a pydot graph."""

    def __init__(self, pydot, opts):
        self.pydot, self.opts = pydot, opts
        self.edges = set()
        self.clusters = 0

    def node(self, graph, layer, node=None):
        box = self.pydot.Node(str(id(layer)), label=_label(layer, node, self.opts), fontname="Helvetica",
                              border="0", margin="0")
        graph.add_node(box)
        return [str(id(layer))], [str(id(layer))]

    def edge(self, graph, sources, targets):
        for src in sources:
            for dst in targets:
                if (src, dst) not in self.edges:
                    self.edges.add((src, dst))
                    graph.add_edge(self.pydot.Edge(src, dst, penwidth="2"))

    def element(self, graph, layer, node=None):
        """Entry and exit node ids of one layer: its box, or its inner model's cluster when expanded."""
        if self.opts["expand_nested"] and _kind(layer) in ("sequential", "functional"):
            cluster = self.pydot.Cluster(f"cluster_{id(layer)}", style="dashed", label=layer.name, labeljust="l")
            ends = self.model(cluster, layer)
            graph.add_subgraph(cluster)
            self.clusters += 1
            return ends
        return self.node(graph, layer, node)

    def model(self, graph, model):
        kind = _kind(model)
        if kind == "sequential":
            ends = [self.element(graph, layer) for layer in model.layers]
            for (_, exits), (entries, _) in zip(ends, ends[1:]):
                self.edge(graph, exits, entries)
            return (ends[0][0], ends[-1][1]) if ends else ([], [])
        if kind == "functional":
            calls = {id(node.layer): node for node in model._nodes}  # the call of each layer in this model
            ends = {id(layer): self.element(graph, layer, calls.get(id(layer))) for layer in model.layers}
            for node in model._nodes:
                for t in node.input_tensors:
                    src = t._keras_history.layer
                    if id(src) in ends and id(node.layer) in ends:
                        self.edge(graph, ends[id(src)][1], ends[id(node.layer)][0])
            entries = [i for t in model._model_inputs for i in ends[id(t._keras_history.layer)][0]]
            exits = [i for t in model._model_outputs for i in ends[id(t._keras_history.layer)][1]]
            return entries, exits
        return self.node(graph, model)


def _kind(layer):
    names = {c.__name__ for c in type(layer).__mro__}
    if "Sequential" in names:
        return "sequential"
    if "Functional" in names and hasattr(layer, "_nodes"):
        return "functional"
    return "subclassed" if "Model" in names else "layer"


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB",
                 expand_nested=False, dpi=200, subgraph=False, show_layer_activations=False, show_trainable=False,
                 splines=None, **kwargs):
    """The model as a ``pydot.Dot`` graph (Keras' ``model_to_dot``).

    Args:
        model: a built keraslite model.
        show_shapes, show_dtype, show_layer_names, show_layer_activations, show_trainable: what each box shows.
        rankdir: ``"TB"`` (top to bottom) or ``"LR"`` (left to right).
        expand_nested: draw nested models as clusters of their layers.
        dpi: the resolution of the drawn picture.
        subgraph: return a ``pydot.Cluster`` (for embedding in another graph) instead of a ``pydot.Dot``.
        splines: how edges are drawn (``"ortho"``, ``"spline"``, ``"line"``, ...); by default ``"ortho"`` as in
            Keras, or ``"spline"`` when nested models are drawn as clusters (Graphviz's ortho routing loses edges
            that enter a cluster).

    Returns:
        A ``pydot.Dot``; ``.create(prog="dot", format="svg")`` draws it (needs Graphviz), ``.to_string()`` is
        the DOT text.

    Example:
        >>> svg = keraslite.utils.model_to_dot(model, show_shapes=True).create(prog="dot", format="svg")
    """
    if kwargs.pop("layer_range", None) is not None:
        raise KerasliteError("model_to_dot: the argument `layer_range` is no longer supported (as in Keras 3)")
    if kwargs:
        raise KerasliteError(f"model_to_dot: unrecognized keyword arguments {sorted(kwargs)}")
    if not getattr(model, "built", False):
        raise KerasliteError(f"model {model.name!r} has not yet been built. Build it first by calling `build()` "
                             "or by calling the model on a batch of data (or give its first layer an input_shape)")
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise KerasliteError(f"model_to_dot: rankdir must be 'TB', 'LR', 'BT' or 'RL', got {rankdir!r}")
    pydot = _pydot()
    opts = dict(show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                show_layer_activations=show_layer_activations, show_trainable=show_trainable,
                expand_nested=expand_nested)
    if subgraph:
        dot = pydot.Cluster(f"cluster_{id(model)}", style="dashed", label=model.name, labeljust="l")
    else:
        dot = _dot_class(pydot)(graph_type="digraph", rankdir=rankdir, concentrate="true", dpi=str(dpi))
        dot.set_node_defaults(shape="record")
    builder = _Builder(pydot, opts)
    builder.model(dot, model)
    if not subgraph:
        dot.set("splines", splines or ("spline" if builder.clusters else "ortho"))
    return dot


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=True,
               rankdir="TB", expand_nested=False, dpi=200, show_layer_activations=False, show_trainable=False,
               **kwargs):
    """Draw the model to ``to_file`` (``.png``, ``.svg``, ``.pdf``, ``.dot``, ... by its extension).

    Args:
        model, show_*, rankdir, expand_nested, dpi: as ``model_to_dot``.
        to_file: the picture's path; its extension picks the format (``.dot`` needs no Graphviz).

    Example:
        >>> keraslite.utils.plot_model(model, "model.png", show_shapes=True)
    """
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                       rankdir=rankdir, expand_nested=expand_nested, dpi=dpi,
                       show_layer_activations=show_layer_activations, show_trainable=show_trainable, **kwargs)
    to_file = os.fspath(to_file)
    extension = os.path.splitext(to_file)[1][1:].lower() or "png"
    if extension == "dot":
        data = dot.to_string().encode()
    else:
        data = dot.create(prog="dot", format=extension)
    from ..format.atomic import atomic_write

    with atomic_write(to_file) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)


__all__ = ["model_to_dot", "plot_model", "GRAPHVIZ_HINT"]
