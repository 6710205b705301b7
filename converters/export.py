"""ModelSpec -> onnx.ModelProto: walk the flat graph, call each layer's emitter, name inputs/outputs as Keras does."""
from __future__ import annotations

import os
from typing import Dict, List

import numpy as np
import onnx
from onnx import helper

from ..errors import ConversionError
from ..format.masking import explicit_masks
from .graph import FLOAT, GraphBuilder, Value, identity
from .preprocessing import check_preprocessing
from .registry import EMITTERS, STRUCTURAL

MIN_OPSET, MAX_OPSET, DEFAULT_OPSET = 13, 21, 17
# A protobuf message cannot exceed 2 GiB; keep room for the graph itself.
MAX_WEIGHT_BYTES = 2 ** 31 - 2 ** 24
BATCH = "batch"


def check_opset(opset) -> int:
    """``opset`` as an int in 13..21, or a ConversionError saying the range."""
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) or not MIN_OPSET <= opset <= MAX_OPSET:
        raise ConversionError(f"opset {opset!r} is not supported; expected an integer from {MIN_OPSET} to "
                              f"{MAX_OPSET} (default {DEFAULT_OPSET})")
    return int(opset)


def _onnx_dtype(dtype: str, where: str) -> int:
    try:
        return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    except (TypeError, KeyError) as exc:
        raise ConversionError(f"{where}: dtype {dtype!r} has no ONNX equivalent") from exc


def _graph_input(layer) -> tuple:
    """The ONNX input of an InputLayer: Keras' name and dtype, batch symbolic, other unknown dims named."""
    cfg = layer.config
    shape = cfg.get("batch_shape")
    if shape is None:
        raise ConversionError(f"input {layer.name!r} has no batch_shape in its config")
    dims = [BATCH] + [d if d is not None else f"{layer.name}_dim{i}" for i, d in enumerate(shape[1:], start=1)]
    dtype = _onnx_dtype(cfg.get("dtype") or "float32", f"input {layer.name!r}")
    info = helper.make_tensor_value_info(layer.name, dtype, dims)
    return info, Value(layer.name, len(dims), identity(len(dims)), dtype)


def _as_float(g: GraphBuilder, value: Value, cache: Dict[str, Value]) -> Value:
    """Non-float inputs are cast to float32 before layers other than Embedding, as Keras' autocast does."""
    if value.dtype == FLOAT:
        return value
    if value.name not in cache:
        name = g.node("Cast", [value.name], value.name + "/float", to=FLOAT)[0]
        cache[value.name] = Value(name, value.rank, value.perm, FLOAT)
    return cache[value.name]


def _output_names(spec) -> List[str]:
    """Graph output names: the output layers' names in the unflattened model (what Keras calls them)."""
    names, seen = [], set()
    for ref in spec.outputs:
        name = ref.layer
        k = 1
        while name in seen:
            name = f"{ref.layer}_{k}"
            k += 1
        seen.add(name)
        names.append(name)
    return names


def build_graph(spec, opset: int) -> onnx.ModelProto:
    """The ONNX model of ``spec`` (any nesting) at ``opset``, shapes inferred strictly and outputs typed."""
    opset = check_opset(opset)
    out_names = _output_names(spec)
    flat = explicit_masks(spec.flatten())
    total = sum(np.asarray(w).nbytes for layer in flat.layers for _, w in layer.weights)
    if total > MAX_WEIGHT_BYTES:
        raise ConversionError(f"model {spec.name!r} has {total / 2 ** 30:.2f} GiB of weights; a single-file ONNX "
                              f"model is limited to 2 GiB by protobuf")
    g = GraphBuilder(opset)
    check_preprocessing(g, flat)  # string models refused with the reason; image sizes for crop/pad
    g.names.update(out_names)
    inputs, tensors, casts = [], {}, {}
    input_names = {ref.layer for ref in flat.inputs}
    uses: Dict[tuple, int] = {}
    for ref in [r for layer in flat.layers for call in layer.inbound for r in call] + list(flat.outputs):
        key = (ref.layer, ref.node, ref.tensor)
        uses[key] = uses.get(key, 0) + 1
    for layer in flat.layers:
        if layer.class_name in STRUCTURAL:
            if layer.name in input_names:
                info, value = _graph_input(layer)
                g.names.add(layer.name)
                inputs.append(info)
                tensors[(layer.name, 0, 0)] = value
            continue
        emit = EMITTERS.get(layer.class_name)
        if emit is None:
            raise ConversionError(f"layer {layer.name!r} ({layer.class_name}) cannot be exported to ONNX: no "
                                  f"converter for class {layer.class_name!r}; supported: "
                                  f"{', '.join(sorted(EMITTERS))}")
        for k, call in enumerate(layer.inbound):
            try:
                args = [tensors[(r.layer, r.node, r.tensor)] for r in call]
            except KeyError as exc:
                raise ConversionError(f"layer {layer.name!r} ({layer.class_name}) reads tensor {exc.args[0]} "
                                      f"which no earlier layer produces") from None
            if layer.class_name != "Embedding":
                args = [_as_float(g, v, casts) for v in args]
            for i, value in enumerate(emit(g, layer, args)):
                tensors[(layer.name, k, i)] = value
                if uses.get((layer.name, k, i), 0) == 1:
                    g.single_use.add(value.name)
    outputs = []
    graph_inputs = {info.name for info in inputs}
    used = set()
    for ref, name in zip(flat.outputs, out_names):
        key = (ref.layer, ref.node, ref.tensor)
        if key not in tensors:
            raise ConversionError(f"model output {ref.layer!r} is not produced by any layer")
        value = g.keras(tensors[key])
        if value.name in graph_inputs or value.name in used or value.name not in g.producer:
            g.node("Identity", [value.name], name)
            g.rename(g.nodes[-1].output[0], name)
        elif value.name != name:
            g.rename(value.name, name)
        used.add(name)
        outputs.append(helper.make_tensor_value_info(name, value.dtype, None))
    g.prune()
    graph = helper.make_graph(g.nodes, spec.name or "keraslite", inputs, outputs, g.initializers)
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="keraslite",
                              producer_version=_version(), ir_version=helper.find_min_ir_version_for(opsets))
    _metadata(model, spec)
    _type_outputs(model)
    return model


def _version() -> str:
    from .. import __version__

    return __version__


def _metadata(model: onnx.ModelProto, spec) -> None:
    source = getattr(spec, "source", None) or {}
    props = {"keraslite_version": _version()}
    if source.get("path"):
        props["source_file"] = os.path.basename(str(source["path"]))
    if source.get("keras_version"):
        props["keras_version"] = str(source["keras_version"])
    if source.get("format"):
        props["source_format"] = str(source["format"])
    helper.set_model_props(model, props)
    model.doc_string = f"Exported by keraslite {_version()} from Keras model {spec.name!r}"


def _type_outputs(model: onnx.ModelProto) -> None:
    """Give graph outputs the shapes ONNX infers, with the batch dimension symbolic."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
    except Exception as exc:  # an exporter bug, not a user error: say so plainly
        raise ConversionError(f"the exported graph fails ONNX shape inference: {exc}") from exc
    known = {v.name: v for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
    for out in model.graph.output:
        info = known.get(out.name)
        if info is None or not info.type.tensor_type.HasField("shape"):
            continue
        out.type.tensor_type.shape.CopyFrom(info.type.tensor_type.shape)
        dims = out.type.tensor_type.shape.dim
        if len(dims):
            dims[0].Clear()
            dims[0].dim_param = BATCH


def to_spec(model_or_path):
    """A ModelSpec from a path, a ModelSpec, a runtime model (``.spec``) or a training model (``to_spec()``)."""
    if isinstance(model_or_path, (str, os.PathLike)):
        from ..format import read

        return read(os.fspath(model_or_path))
    if hasattr(model_or_path, "layers") and hasattr(model_or_path, "outputs") and hasattr(model_or_path, "flatten"):
        return model_or_path
    for attr in ("to_spec", "get_spec"):
        if callable(getattr(model_or_path, attr, None)):
            return getattr(model_or_path, attr)()
    spec = getattr(model_or_path, "spec", None)
    if spec is not None:
        return spec() if callable(spec) else spec
    raise ConversionError(f"cannot export a {type(model_or_path).__name__}; expected a model file path, a "
                          f"ModelSpec, a keraslite runtime model or a keraslite training model")


def export_onnx(model_or_path, output_path=None, opset: int = DEFAULT_OPSET) -> onnx.ModelProto:
    """Export a Keras model to ONNX, without TensorFlow.

    Args:
        model_or_path: a Keras model file (``.h5``, ``.keras``, ...), a ModelSpec, a runtime or a training model.
        output_path: where to write the ``.onnx`` file (one file, no external data); None to only return it.
        opset: ONNX opset, 13 to 21 (default 17).

    Returns:
        The ``onnx.ModelProto``; inputs and outputs carry Keras' names, dtypes and layouts, batch dimension dynamic.

    Example::

        model = keraslite.converters.export_onnx("model.h5", "model.onnx", opset=17)
    """
    opset = check_opset(opset)
    spec = to_spec(model_or_path)
    model = build_graph(spec, opset)
    if output_path is not None:
        _save(model, os.fspath(output_path))
    return model


def _save(model: onnx.ModelProto, path: str) -> None:
    """Write atomically (the old file survives a failed write)."""
    from ..format.atomic import atomic_write

    data = model.SerializeToString()
    with atomic_write(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)


__all__ = ["export_onnx", "build_graph", "check_opset", "to_spec", "MIN_OPSET", "MAX_OPSET", "DEFAULT_OPSET"]
