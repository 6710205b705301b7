"""The allow-list of tensor operations a functional model may call outside layers, read as pure data.

Keras 2 records ``x + 3.``, ``tf.math.multiply(a, b)``, ``tf.reshape(x, ...)``, ``x[:, 0]`` in a functional model
as ``TFOpLambda`` / ``SlicingOpLambda`` layers naming a TensorFlow function; Keras 3 records the same calls as
``keras.src.ops`` operations (``{"module": "keras.src.ops.numpy", "class_name": "Add"}``, and without a module in
its legacy ``.h5``). Both read to one canonical ``TFOpLambda`` LayerSpec::

    config = {"function": "math.add", "arguments": {"x": {"__tensor__": 0}, "y": 3.0}}

``function`` is the canonical TensorFlow name of an op in ``OPS``; ``arguments`` maps every parameter to a
constant read from the file or to ``{"__tensor__": i}``, the i-th tensor of the layer's (single) call. Nothing is
imported, looked up by name or evaluated: a name outside ``OPS``, a constant that is not plain numbers, or an
argument the op does not take is refused with the reason. The runtime and the ONNX exporter implement each op;
``tfops_write`` writes them back for tf_keras and Keras 3.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from ..errors import ModelFormatError, UnsupportedLayerError

REQUIRED = object()
TENSOR = "__tensor__"
MAX_CONSTANT = 1 << 16  # numbers in one constant argument


@dataclass
class OpDef:
    """One op: parameters ``(name, default)`` in TensorFlow's order, its TensorFlow and Keras 3 spellings."""

    params: Tuple[Tuple[str, Any], ...]
    tf_names: Tuple[str, ...]  # the first one is canonical and written back
    keras3: Tuple[str, ...]  # Keras 3 operation class names (the first one is written back)
    keras3_module: str = "keras.src.ops.numpy"
    keras3_config: Dict[str, str] = field(default_factory=dict)  # Keras 3 config key -> our parameter
    ignored: Dict[str, Any] = field(default_factory=dict)  # TF kwargs accepted only with these values

    @property
    def names(self) -> List[str]:
        return [p for p, _ in self.params]


def _binary(tf: Tuple[str, ...], keras3: Tuple[str, ...]) -> OpDef:
    return OpDef((("x", REQUIRED), ("y", REQUIRED)), tf, keras3)


def _unary(tf: Tuple[str, ...], keras3: Tuple[str, ...], param: str = "x", module: str = "keras.src.ops.numpy"):
    return OpDef(((param, REQUIRED),), tf, keras3, module)


def _reduce(tf: Tuple[str, ...], keras3: str) -> OpDef:
    return OpDef((("input_tensor", REQUIRED), ("axis", None), ("keepdims", False)), tf, (keras3,),
                 keras3_config={"axis": "axis", "keepdims": "keepdims"}, ignored={"initial": None})


NN = "keras.src.ops.nn"
OPS: Dict[str, OpDef] = {
    "math.add": _binary(("math.add", "__operators__.add", "add"), ("Add",)),
    "math.subtract": _binary(("math.subtract", "subtract"), ("Subtract",)),
    "math.multiply": _binary(("math.multiply", "multiply"), ("Multiply",)),
    "math.truediv": _binary(("math.truediv", "math.divide", "divide", "truediv"), ("TrueDivide", "Divide")),
    "math.maximum": _binary(("math.maximum", "maximum"), ("Maximum",)),
    "math.minimum": _binary(("math.minimum", "minimum"), ("Minimum",)),
    "math.negative": _unary(("math.negative", "negative"), ("Negative",)),
    "math.abs": _unary(("math.abs", "abs"), ("Absolute", "Abs")),
    "math.sqrt": _unary(("math.sqrt", "sqrt"), ("Sqrt",)),
    "math.square": _unary(("math.square", "square"), ("Square",)),
    "math.exp": _unary(("math.exp", "exp"), ("Exp",)),
    "math.log": _unary(("math.log",), ("Log",)),
    "math.tanh": _unary(("math.tanh", "tanh", "nn.tanh"), ("Tanh",)),
    "math.sigmoid": _unary(("math.sigmoid", "nn.sigmoid", "sigmoid"), ("Sigmoid",), module=NN),
    "nn.relu": _unary(("nn.relu",), ("Relu",), "features", NN),
    "nn.relu6": _unary(("nn.relu6",), ("Relu6",), "features", NN),
    "nn.silu": OpDef((("features", REQUIRED), ("beta", 1.0)), ("nn.silu", "nn.swish"), ("Silu",), NN),
    "nn.softmax": OpDef((("logits", REQUIRED), ("axis", -1)), ("nn.softmax", "math.softmax"), ("Softmax",), NN,
                        keras3_config={"axis": "axis"}),
    "math.reduce_mean": _reduce(("math.reduce_mean", "reduce_mean"), "Mean"),
    "math.reduce_sum": _reduce(("math.reduce_sum", "reduce_sum"), "Sum"),
    "math.reduce_max": _reduce(("math.reduce_max", "reduce_max"), "Max"),
    "reshape": OpDef((("tensor", REQUIRED), ("shape", REQUIRED)), ("reshape",), ("Reshape",),
                     keras3_config={"newshape": "shape"}),
    "transpose": OpDef((("a", REQUIRED), ("perm", None)), ("transpose", "compat.v1.transpose"), ("Transpose",),
                       keras3_config={"axes": "perm"}, ignored={"conjugate": False}),
    "expand_dims": OpDef((("input", REQUIRED), ("axis", REQUIRED)), ("expand_dims",), ("ExpandDims",),
                         keras3_config={"axis": "axis"}),
    "squeeze": OpDef((("input", REQUIRED), ("axis", None)), ("squeeze", "compat.v1.squeeze"), ("Squeeze",),
                     keras3_config={"axis": "axis"}, ignored={"squeeze_dims": None}),
    "concat": OpDef((("values", REQUIRED), ("axis", REQUIRED)), ("concat",), ("Concatenate",),
                    keras3_config={"axis": "axis"}),
    "__operators__.getitem": OpDef((("tensor", REQUIRED), ("slice_spec", REQUIRED)), ("__operators__.getitem",),
                                   ("GetItem",)),
}

TF_NAMES = {tf: name for name, op in OPS.items() for tf in op.tf_names}
KERAS3_NAMES = {(op.keras3_module, k3): name for name, op in OPS.items() for k3 in op.keras3}
KERAS3_CLASSES = {k3 for _, k3 in KERAS3_NAMES}
OP_LAYER_CLASSES = ("TFOpLambda", "SlicingOpLambda")


def supported_ops() -> str:
    """The allowed TensorFlow function names, for error messages."""
    return ", ".join(sorted(TF_NAMES))


def is_keras3_op(entry: dict, dialect: str) -> bool:
    """Whether a Keras 3 config entry is an operation (not a layer): its module says so, or (legacy ``.h5``,
    written without modules) an op class name whose config lacks the ``trainable``/``dtype`` every layer has."""
    module = entry.get("module")
    if isinstance(module, str):
        return module.startswith("keras.src.ops.")
    config = entry.get("config")
    return (dialect == "keras3" and entry.get("class_name") in KERAS3_CLASSES and isinstance(config, dict)
            and "trainable" not in config and "dtype" not in config)


def op_for_keras3(entry: dict, where: str) -> str:
    """The canonical op name of a Keras 3 operation entry, or UnsupportedLayerError."""
    module, cls = entry.get("module"), entry.get("class_name")
    for (mod, k3), name in KERAS3_NAMES.items():
        if k3 == cls and (module is None or module == mod):
            return name
    raise UnsupportedLayerError(f"{where}: Keras operation {cls!r} ({module or 'no module'}) is not supported; "
                                f"supported: {', '.join(sorted(KERAS3_CLASSES))}")


def op_for_tf(function: Any, where: str) -> str:
    """The canonical op name of a TFOpLambda ``function``, or UnsupportedLayerError listing the allowed names."""
    if not isinstance(function, str) or function not in TF_NAMES:
        raise UnsupportedLayerError(f"{where}: TFOpLambda calls {function!r}, which is not on the allow-list of "
                                    f"TensorFlow ops read as data (nothing is imported); allowed: {supported_ops()}")
    return TF_NAMES[function]


# ------------------------------------------------------------------------------------------------ constants


def _number(value: Any, where: str) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise ModelFormatError(f"{where}: constant {value!r:.80} is not a finite number")


def constant(value: Any, where: str, budget: Optional[List[int]] = None) -> Any:
    """A constant argument as plain JSON numbers (nested lists allowed), or ModelFormatError."""
    budget = budget if budget is not None else [MAX_CONSTANT]
    if isinstance(value, (list, tuple)):
        budget[0] -= len(value)
        if budget[0] < 0:
            raise ModelFormatError(f"{where}: constant argument has more than {MAX_CONSTANT} numbers")
        return [constant(v, where, budget) for v in value]
    if isinstance(value, dict):
        raise ModelFormatError(f"{where}: constant argument {value!r:.120} is not plain numbers")
    return _number(value, where)


def slice_spec(value: Any, where: str) -> list:
    """A getitem key as TensorFlow's list of ints and ``{"start", "stop", "step"}`` (from either dialect)."""
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, dict):
            cfg = item.get("config", item) if item.get("class_name") == "__slice__" else item
            if set(cfg) - {"start", "stop", "step"} or item.get("class_name") not in (None, "__slice__"):
                raise UnsupportedLayerError(f"{where}: slice item {item!r:.120} is not supported (ints and "
                                            "start:stop:step slices are)")
            parts = {k: cfg.get(k) for k in ("start", "stop", "step")}
            for k, v in parts.items():
                if v is not None and not (isinstance(v, int) and not isinstance(v, bool)):
                    raise ModelFormatError(f"{where}: slice {k} must be an int or null, got {v!r}")
            if parts["step"] == 0:
                raise ModelFormatError(f"{where}: slice step 0")
            out.append(parts)
        elif isinstance(item, int) and not isinstance(item, bool):
            out.append(item)
        else:
            raise UnsupportedLayerError(f"{where}: slice item {item!r:.80} is not supported (ints and "
                                        "start:stop:step slices are; no Ellipsis, newaxis or tensors)")
    return out


# ------------------------------------------------------------------------------------------------ reading


def _is_keras2_ref(value: Any) -> bool:
    return (isinstance(value, list) and len(value) in (3, 4) and isinstance(value[0], str)
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value[1:3])
            and (len(value) == 3 or isinstance(value[3], dict)))


def _is_keras3_ref(value: Any) -> bool:
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


class _Refs:
    """Collects the tensors of one call in argument order; constants pass through checked."""

    def __init__(self, is_ref, to_ref, where):
        self.refs: List = []
        self.is_ref, self.to_ref, self.where = is_ref, to_ref, where

    def value(self, value: Any, param: str) -> Any:
        if self.is_ref(value):
            self.refs.append(self.to_ref(value))
            return {TENSOR: len(self.refs) - 1}
        if param == "values" and isinstance(value, list):  # concat's list of tensors
            return [self.value(v, "value") for v in value]
        if param == "slice_spec":
            return slice_spec(value, self.where)
        return constant(value, f"{self.where}: argument {param!r}")


def _arguments(op_name: str, given: Dict[str, Any], where: str) -> Dict[str, Any]:
    """Every parameter of the op filled (defaults), unknown ones refused, ignored ones checked."""
    op = OPS[op_name]
    given = dict(given)
    given.pop("name", None)  # the TF op name; no effect on the numbers
    for key, allowed in op.ignored.items():
        if key in given:
            value = given.pop(key)
            if value != allowed:
                raise UnsupportedLayerError(f"{where}: {op.tf_names[0]} with {key}={value!r} is not supported")
    unknown = sorted(set(given) - set(op.names))
    if unknown:
        raise UnsupportedLayerError(f"{where}: {op.tf_names[0]} got arguments {unknown} it does not take "
                                    f"(takes {op.names})")
    out = {}
    for name, default in op.params:
        if name in given:
            out[name] = given[name]
        elif default is REQUIRED:
            raise ModelFormatError(f"{where}: {op.tf_names[0]} is missing its argument {name!r}")
        else:
            out[name] = default
    if not tensor_args(out):
        raise ModelFormatError(f"{where}: {op.tf_names[0]} is called on no tensor")
    return out


def read_keras2(function: Any, nodes: Any, where: str, to_ref) -> Tuple[dict, list]:
    """A TFOpLambda/SlicingOpLambda entry's ``function`` and ``inbound_nodes`` as (canonical config, calls)."""
    op_name = op_for_tf(function, where)
    if not isinstance(nodes, list) or len(nodes) != 1:
        raise UnsupportedLayerError(f"{where}: a TF op layer called {len(nodes) if isinstance(nodes, list) else 0} "
                                    "times is not supported (Keras writes one layer per call)")
    node = nodes[0]
    refs = _Refs(_is_keras2_ref, lambda v: to_ref(v[:3]), where)
    first_param = OPS[op_name].names[0]
    kwargs: Dict[str, Any] = {}
    if isinstance(node, list) and len(node) in (3, 4) and node[:2] == ["_CONSTANT_VALUE", -1] and (
            len(node) == 3 or isinstance(node[3], dict)):  # a constant first argument
        kwargs = node[3] if len(node) > 3 else {}
        first = constant(node[2], f"{where}: first argument")
    elif _is_keras2_ref(node):
        kwargs = node[3] if len(node) > 3 else {}
        first = refs.value(node, first_param)
    elif isinstance(node, list) and node and all(_is_keras2_ref(v) for v in node):  # a list first argument
        kwargs = node[0][3] if len(node[0]) > 3 else {}
        first = [refs.value(v, "value") for v in node]
    else:
        raise ModelFormatError(f"{where}: inbound node {node!r:.120} is not a TF op call")
    given = {first_param: first}
    for key, value in kwargs.items():
        if key == "name":  # the TF op's name: no effect on the numbers
            continue
        if key == first_param:
            raise ModelFormatError(f"{where}: argument {key!r} given twice")
        given[key] = refs.value(value, key)
    return _canonical(op_name, given, where), [refs.refs]


def read_keras3(op_name: str, entry: dict, where: str, to_ref) -> Tuple[dict, list]:
    """A Keras 3 operation entry as (canonical config, calls)."""
    op = OPS[op_name]
    nodes = entry.get("inbound_nodes")
    if not isinstance(nodes, list) or len(nodes) != 1 or not isinstance(nodes[0], dict):
        raise UnsupportedLayerError(f"{where}: an operation must be called exactly once with args/kwargs")
    config = entry.get("config") or {}
    refs = _Refs(_is_keras3_ref, lambda v: to_ref((v.get("config") or {}).get("keras_history")), where)
    given: Dict[str, Any] = {}
    for key, value in config.items():
        if key == "name":
            continue
        param = op.keras3_config.get(key)
        if param is None:
            if key in op.ignored:
                given[key] = value
                continue
            raise UnsupportedLayerError(f"{where}: operation {entry.get('class_name')} with config key {key!r} is "
                                        "not supported")
        given[param] = constant(value, f"{where}: {key}")
    call_params = [p for p in op.names if p not in op.keras3_config.values()]
    args = nodes[0].get("args") or []
    kwargs = nodes[0].get("kwargs") or {}
    if len(args) > len(call_params):
        raise ModelFormatError(f"{where}: {entry.get('class_name')} takes {len(call_params)} arguments, got "
                               f"{len(args)}")
    for param, value in zip(call_params, args):
        given[param] = refs.value(value, param)
    keras3_call = {"x1": 0, "x2": 1, "x": 0, "xs": 0, "key": 1}
    for key, value in kwargs.items():
        index = keras3_call.get(key)
        if index is None or index >= len(call_params):
            raise UnsupportedLayerError(f"{where}: {entry.get('class_name')} called with keyword {key!r}")
        given[call_params[index]] = refs.value(value, call_params[index])
    return _canonical(op_name, given, where), [refs.refs]


def _canonical(op_name: str, given: Dict[str, Any], where: str) -> dict:
    arguments = _arguments(op_name, given, where)
    check_arguments(op_name, arguments, where)
    return {"function": op_name, "arguments": arguments}


def _int_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)


def check_arguments(op_name: str, args: Dict[str, Any], where: str) -> None:
    """Refuse arguments of the right type but unsupported meaning (anything touching the batch axis)."""
    def refuse(why):
        raise UnsupportedLayerError(f"{where}: {op_name} {why} is not supported (keraslite runs ops row by row, "
                                    "so an op may not mix the batch axis)")

    if op_name.startswith("math.reduce_"):
        axis = args["axis"]
        axes = [axis] if isinstance(axis, int) and not isinstance(axis, bool) else axis
        if axes is None:
            refuse("over every axis (axis=None)")
        if not _int_list(axes) or not axes or 0 in axes:
            refuse(f"with axis={axis!r}")
        if not isinstance(args["keepdims"], bool):
            raise ModelFormatError(f"{where}: keepdims must be true or false, got {args['keepdims']!r}")
    elif op_name == "reshape":
        shape = args["shape"]
        if not _int_list(shape) or not shape or shape[0] not in (-1,) or any(v < -1 for v in shape) \
                or shape[1:].count(-1):
            refuse(f"to shape {shape!r} (the first entry must be -1, the batch, and no other -1)")
    elif op_name == "transpose":
        perm = args["perm"]
        if not _int_list(perm) or not perm or perm[0] != 0 or sorted(perm) != list(range(len(perm))):
            refuse(f"with perm={perm!r} (perm must start with 0, the batch axis)")
    elif op_name in ("expand_dims", "squeeze", "concat", "nn.softmax"):
        axis = args["axis"]
        if not (isinstance(axis, int) and not isinstance(axis, bool)) and not (
                op_name == "squeeze" and _int_list(axis) and axis):
            refuse(f"with axis={axis!r} (a single int axis is supported)")
        if 0 in (axis if isinstance(axis, list) else [axis]):
            refuse("on axis 0")
    elif op_name == "__operators__.getitem":
        first = args["slice_spec"][0] if args["slice_spec"] else None
        if first is not None and first != {"start": None, "stop": None, "step": None}:
            refuse("with a first index other than ':'")
    elif op_name == "nn.silu" and not isinstance(args["beta"], (int, float)):
        raise ModelFormatError(f"{where}: beta must be a number, got {args['beta']!r}")
    if op_name == "concat" and not (isinstance(args["values"], list) and all(
            isinstance(v, dict) and TENSOR in v for v in args["values"])):
        refuse("of constants")


def tensor_args(arguments: Dict[str, Any]) -> List[int]:
    """The tensor indices ``arguments`` refer to, in parameter order."""
    out = []
    for value in arguments.values():
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, dict) and TENSOR in v:
                out.append(v[TENSOR])
    return out
