"""Plan: a ModelSpec compiled once into a straight list of kernel calls over numbered slots."""
from collections import Counter
from typing import Dict, List, Tuple

from ..errors import ModelFormatError
from ..format.masking import explicit_masks
from ..format.spec import TensorRef
from . import fold, fuse, ops


class Plan:
    """The compiled form of a model.

    ``steps`` is a list of ``(fn, input slots, output slots)``; ``input_slots`` are where the model inputs go and
    ``output_slots`` where the outputs are read. ``shapes[slot]`` is the inferred shape (None for unknown dims).
    Nothing in a Plan is written during predict, so one Plan serves many threads.
    """

    def __init__(self, steps, input_slots, output_slots, shapes, layer_rows, step_layers=None):
        self.steps = steps
        self.step_layers = step_layers  # per step, the name of the layer it runs (after folds: the host), for profiles
        self.input_slots = input_slots
        self.output_slots = output_slots
        self.shapes = shapes
        self.layer_rows = layer_rows  # (layer name, class, output shapes, params) for summary
        self.n_slots = len(shapes)


def _input_shape(layer) -> Tuple:
    shape = layer.config.get("batch_shape")
    if shape is None:
        raise ModelFormatError(f"InputLayer {layer.name!r}: config has no 'batch_shape'")
    return (None,) + tuple(None if d is None else int(d) for d in list(shape)[1:])


def _needed(spec, by_name) -> set:
    """(layer, call) nodes the outputs depend on."""
    seen, stack = set(), [(r.layer, r.node) for r in spec.outputs]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        layer = by_name[node[0]]
        if layer.class_name != "InputLayer":
            if node[1] >= len(layer.inbound):
                raise ModelFormatError(f"layer {node[0]!r}: call {node[1]} is referenced but the layer has only "
                                       f"{len(layer.inbound)} call(s)")
            stack.extend((r.layer, r.node) for r in layer.inbound[node[1]])
    return seen


def _then(fn, after):
    """``after(fn(x))`` (a pooling step followed by the epilogue moved from the convolution before it)."""
    def run(x):
        return after(fn(x))
    return run


def build(spec) -> Plan:
    """Compile ``spec`` (nested models allowed) into a Plan: order, shapes, weights checked, folds applied."""
    flat = fold.hard_activations(explicit_masks(spec.flatten()))
    by_name = {layer.name: layer for layer in flat.layers}
    for ref in list(flat.inputs) + list(flat.outputs):
        if ref.layer not in by_name:
            raise ModelFormatError(f"model {spec.name!r}: graph refers to unknown layer {ref.layer!r}")
    needed = _needed(flat, by_name)
    consumers = Counter(r for layer in flat.layers for call in layer.inbound for r in call)
    consumers.update(flat.outputs)
    slot: Dict = {}
    shapes: List = []
    st = fold.PlanState(consumers)
    steps, records = st.steps, st.records
    rows: Dict[str, list] = {}

    def new_slot(shape):
        shapes.append(shape)
        return len(shapes) - 1

    input_slots = []
    for ref in flat.inputs:
        layer = by_name[ref.layer]
        if layer.class_name != "InputLayer":
            raise ModelFormatError(f"model {spec.name!r}: input {ref.layer!r} is a {layer.class_name}, "
                                   f"not an InputLayer")
        s = new_slot(_input_shape(layer))
        slot[(ref.layer, 0, 0)] = s
        st.slot_refs.setdefault(s, []).append(TensorRef(ref.layer, 0, 0))
        input_slots.append(s)
        rows[layer.name] = [layer.name, "InputLayer", [shapes[s]], 0]

    pending = [(layer, k) for layer in flat.layers if layer.class_name != "InputLayer"
               for k in range(len(layer.inbound)) if (layer.name, k) in needed]
    while pending:
        progress, rest = False, []
        for layer, k in pending:
            call = layer.inbound[k]
            if not all((r.layer, r.node, r.tensor) in slot for r in call):
                rest.append((layer, k))
                continue
            progress = True
            in_slots = [slot[(r.layer, r.node, r.tensor)] for r in call]
            in_shapes = [shapes[s] for s in in_slots]
            named = layer  # slots and summary rows keep the layer's own name when another layer hosts it
            absorbed = fold.absorb_padding(st, layer, call, in_slots)
            if absorbed is not None:
                layer, in_slots = absorbed  # in_shapes stay the padded ones: the builder infers shapes from them
            hosted = fuse.absorb_residual(st, layer, call, in_slots, in_shapes)
            if hosted is not None:
                layer, in_slots, in_shapes = hosted
            prologue = fuse.absorb_prologue(st, layer, call, in_slots) or fuse.absorb_embedding(st, layer, call,
                                                                                                  in_slots)
            if prologue is not None:
                layer, in_slots = prologue
            folded = (fold.try_fold(st, layer, call, in_slots, in_shapes)
                      or fuse.bn_activation(st, layer, call, in_slots))
            if folded:
                fn, out_shapes = ops.IDENTITY, [in_shapes[0]]
            else:
                fn, out_shapes = ops.get(layer.class_name, layer.name)(layer, in_shapes)
                after = fold.defer_epilogue(st, layer, call, in_slots)
                if after is not None:
                    fn = _then(fn, after)
            if fn is ops.IDENTITY:
                out_slots = [in_slots[0]]
                if len(call) == 1 and st.consumers[call[0]] == 1:
                    if call[0] in st.slot_refs.get(in_slots[0], ()):
                        st.slot_refs[in_slots[0]].remove(call[0])  # read only by this layer, which passes it on
                    if not folded:
                        st.merged[named.name] = st.host(call[0])  # folds see through it
            else:
                out_slots = [new_slot(sh) for sh in out_shapes]
                for s in out_slots:
                    st.producer[s] = len(steps)
                steps.append((fn, tuple(in_slots), tuple(out_slots)))
                records.append((layer, in_shapes))
            for t, s in enumerate(out_slots):
                slot[(named.name, k, t)] = s
                st.slot_refs.setdefault(s, []).append(TensorRef(named.name, k, t))
            params = sum(int(w.size) for _, w in named.weights)
            row = rows.setdefault(named.name, [named.name, named.config.get("_shown_as", named.class_name), [],
                                               params])
            row[2].extend(out_shapes)
        if not progress:
            names = sorted({layer.name for layer, _ in rest})
            raise ModelFormatError(f"model {spec.name!r}: layers {names} have inputs that are never computed "
                                   f"(a cycle or a dangling reference)")
        pending = rest
    output_slots = []
    for ref in flat.outputs:
        key = (ref.layer, ref.node, ref.tensor)
        if key not in slot:
            raise ModelFormatError(f"model {spec.name!r}: output {ref.layer!r} (call {ref.node}, tensor "
                                   f"{ref.tensor}) is not produced by the graph")
        output_slots.append(slot[key])
    order = [layer.name for layer in flat.layers if layer.name in rows]
    names = [rec[0].name for step, rec in zip(steps, records) if step is not None]
    steps = [step for step in steps if step is not None]  # steps absorbed by later ones
    return Plan(steps, input_slots, output_slots, shapes, [rows[n] for n in order], names)
