"""``Bidirectional``: a recurrent layer run forwards and, as a second layer, backwards over the same sequence.

As Keras 3 does: the forward layer is a fresh copy of ``layer`` named ``forward_<name>``; the backward one is
``backward_layer`` or a copy with ``go_backwards=True`` named ``backward_<name>``. Both return zeros at masked
steps when they return sequences (``zero_output_for_mask``). The backward layer reads the whole padded sequence
from its end (with its mask reversed too), and its output sequence is flipped back to the input's order before
the merge. States come back forward states first, then backward ones. Two sides of one class (the usual case)
run as one fused node whose two directions share the two cores.
"""
from __future__ import annotations

import copy

from ....errors import KerasliteError
from ...autodiff import Tensor, elementwise as E, recurrent as R, shape as S
from ..base import Layer
from .base import Recurrent

MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _removeprefix(name, prefix):
    return name[len(prefix):] if name.startswith(prefix) else name


def _copy(layer, **overrides):
    """A fresh, unbuilt copy of a recurrent layer with some config keys replaced."""
    return type(layer).from_config({**layer.get_config(), **overrides})


class Bidirectional(Layer):
    """Bidirectional wrapper for SimpleRNN, LSTM and GRU layers.

    Args:
        layer: the recurrent layer to run forwards (a copy of it is used).
        merge_mode: how the two outputs combine: ``"concat"`` (default), ``"sum"``, ``"mul"``, ``"ave"``, or
            None for the two outputs as a list.
        backward_layer: an optional recurrent layer to run backwards (it must have ``go_backwards=True``).

    Example::

        x = keraslite.Input(shape=(None, 8))
        y = keraslite.layers.Bidirectional(keraslite.layers.LSTM(16))(x)   # (batch, 32)
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        super().__init__(**kwargs)
        for arg, value in (("layer", layer), ("backward_layer", backward_layer)):
            if value is not None and not isinstance(value, Recurrent):
                raise KerasliteError(f"Bidirectional: `{arg}` must be a SimpleRNN, LSTM or GRU layer instance. "
                                     f"Received: {arg}={value!r:.200}")
        if merge_mode not in MERGE_MODES:
            raise KerasliteError(f"Invalid merge mode. Received: {merge_mode!r}. Merge mode should be one of "
                                 '{"sum", "mul", "ave", "concat", None}')
        self.forward_layer = _copy(layer, name=f"forward_{_removeprefix(layer.name, 'forward_')}")
        if backward_layer is None:
            backward_layer = _copy(layer, name=f"backward_{_removeprefix(layer.name, 'backward_')}",
                                   go_backwards=True)
        self.backward_layer = backward_layer
        self._verify()
        for side in (self.forward_layer, self.backward_layer):
            side.zero_output_for_mask = side.return_sequences
        self.merge_mode = merge_mode
        if weights:
            half = len(weights) // 2
            self.forward_layer._initial_weights = list(weights[:half])
            self.backward_layer._initial_weights = list(weights[half:])
        self.stateful = False
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True

    def _verify(self):
        fwd, bwd = self.forward_layer, self.backward_layer
        if fwd.go_backwards == bwd.go_backwards:
            raise KerasliteError("Forward layer and backward layer should have different `go_backwards` value. "
                                 f"Received: forward_layer.go_backwards {fwd.go_backwards}, "
                                 f"backward_layer.go_backwards={bwd.go_backwards}")
        for attr in ("return_sequences", "return_state"):
            if getattr(fwd, attr) != getattr(bwd, attr):
                raise KerasliteError(f"Forward layer and backward layer are expected to have the same value for "
                                     f'attribute "{attr}", got "{getattr(fwd, attr)}" for forward layer and '
                                     f'"{getattr(bwd, attr)}" for backward layer')

    def build(self, sequences_shape, initial_state_shape=None):
        self.forward_layer._maybe_build(sequences_shape)
        self.backward_layer._maybe_build(sequences_shape)
        self.built = True

    def call(self, sequences, initial_state=None, mask=None, training=None):
        forward_state = backward_state = None
        if isinstance(sequences, (list, tuple)):  # Keras 2's form: [sequences, *initial_states]
            if len(sequences) > 1:
                initial_state = list(sequences[1:])
            sequences = sequences[0]
        if initial_state is not None:
            states = list(initial_state)
            half = len(states) // 2
            forward_state, backward_state = states[:half], states[half:]
        if self._one_node():
            y, y_rev = self._both(sequences, forward_state, backward_state, mask, training)
        else:
            y = self.forward_layer(sequences, initial_state=forward_state, mask=mask, training=training)
            y_rev = self.backward_layer(sequences, initial_state=backward_state, mask=mask, training=training)
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = S.flip(y_rev, 1)
        if self.merge_mode == "concat":
            output = [S.concatenate(y, y_rev, axis=-1)]
        elif self.merge_mode == "sum":
            output = [E.add(y, y_rev)]
        elif self.merge_mode == "ave":
            output = [E.multiply(E.add(y, y_rev), 0.5)]
        elif self.merge_mode == "mul":
            output = [E.multiply(y, y_rev)]
        else:
            output = [y, y_rev]
        if self.return_state or self.merge_mode is None:
            return output + states
        return output[0]

    def _one_node(self):
        """Both sides the same class, with nothing a layer call of their own would add (activity penalties)."""
        fwd, bwd = self.forward_layer, self.backward_layer
        return type(fwd) is type(bwd) and fwd.activity_regularizer is None and bwd.activity_regularizer is None

    def _both(self, sequences, forward_state, backward_state, mask, training):
        """Both directions as one fused node (they run concurrently); the two sides' outputs, as layer calls give."""
        fwd, bwd = self.forward_layer, self.backward_layer
        if isinstance(sequences, Tensor) and mask is None:
            mask = sequences._keras_mask
        x, fstates, fparams = fwd.primitive_arguments(sequences, forward_state, mask, training)
        _, bstates, bparams = bwd.primitive_arguments(x, backward_state, mask, training)
        outs = R.PAIRS[fwd.primitive.name](x, fwd.kernel, fwd.recurrent_kernel, fwd.bias, bwd.kernel,
                                          bwd.recurrent_kernel, bwd.bias, *fstates, *bstates,
                                          forward=tuple(fparams.items()), backward=tuple(bparams.items()))
        k = len(outs) // 2
        return fwd.outputs(outs[:k]), bwd.outputs(outs[k:])

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        shape = self.forward_layer.compute_output_shape(sequences_shape)
        states = []
        if self.return_state:
            shape, states = shape[0], list(shape[1:])
        if self.merge_mode == "concat":
            outputs = [tuple(shape[:-1]) + (None if shape[-1] is None else 2 * shape[-1],)]
        elif self.merge_mode is None:
            outputs = [tuple(shape), tuple(shape)]
        else:
            outputs = [tuple(shape)]
        if self.return_state or self.merge_mode is None:
            return outputs + states + states
        return outputs[0]

    def compute_mask(self, inputs, mask=None):
        # Keras: the output(s) carry the input mask when sequences are returned; states never do
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        out = mask if self.return_sequences else None
        outputs = [out, out] if self.merge_mode is None else [out]
        if self.return_state:
            return outputs + [None] * (self.forward_layer.n_states + self.backward_layer.n_states)
        return outputs if self.merge_mode is None else out

    def named_weights(self):
        """``(name, variable)`` as model files name them: ``forward/kernel``, ..., ``backward/bias``."""
        return [(f"{side}/{v.name}", v) for side, sub in (("forward", self.forward_layer),
                                                          ("backward", self.backward_layer)) for v in sub.weights]

    def get_config(self):
        config = {**super().get_config(), "merge_mode": self.merge_mode}
        for key, sub in (("layer", self.forward_layer), ("backward_layer", self.backward_layer)):
            config[key] = {"class_name": type(sub).__name__, "config": sub.get_config()}
        return config

    @classmethod
    def from_config(cls, config):
        config = copy.deepcopy(config)
        config["layer"] = _deserialize(config["layer"], "layer")
        backward = config.pop("backward_layer", None)
        if backward is not None:
            config["backward_layer"] = _deserialize(backward, "backward_layer")
        return cls(**config)


def _deserialize(obj, key):
    if isinstance(obj, Layer):
        return obj
    from .. import LAYERS

    name = obj.get("class_name") if isinstance(obj, dict) else None
    cls = LAYERS.get(name) if isinstance(name, str) else None
    if cls is None or not issubclass(cls, Recurrent):
        raise KerasliteError(f"Bidirectional: `{key}` must be a serialized SimpleRNN, LSTM or GRU layer "
                             f"({{'class_name': ..., 'config': ...}}), got {obj!r:.200}")
    return cls.from_config(dict(obj.get("config") or {}))


__all__ = ["Bidirectional"]
