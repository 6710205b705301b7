"""export_onnx on hand-built ModelSpecs (numpy references for one op each), layout, errors and accepted inputs."""
import os

import numpy as np
import onnx
import onnxruntime
import pytest

from keraslite import runtime
from keraslite.converters import export_onnx
from keraslite.errors import ConversionError
from keraslite.format import LayerSpec, ModelSpec, TensorRef

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures")


def chain(input_shape, *layers, dtype="float32"):
    """A ModelSpec: one InputLayer 'x' then ``layers`` (LayerSpecs without inbound) in a chain."""
    specs = [LayerSpec("x", "InputLayer", {"batch_shape": [None, *input_shape], "dtype": dtype})]
    for layer in layers:
        layer.inbound = [[TensorRef(specs[-1].name)]]
        specs.append(layer)
    return ModelSpec("hand", specs, [TensorRef("x")], [TensorRef(specs[-1].name)])


def run(spec, x, opset=17):
    proto = export_onnx(spec, opset=opset)
    onnx.checker.check_model(proto, full_check=True)
    session = onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


@pytest.mark.parametrize("opset", [13, 21])
def test_relu_threshold_slope_max_value(opset):
    cfg = {"max_value": 2.0, "negative_slope": 0.1, "threshold": 0.5}
    x = np.linspace(-3, 3, 24, dtype=np.float32).reshape(2, 12)
    expected = np.where(x >= 0.5, np.minimum(x, 2.0), 0.1 * (x - 0.5))
    np.testing.assert_allclose(run(chain([12], LayerSpec("r", "ReLU", cfg)), x, opset), expected, rtol=1e-6)


def test_softmax_over_two_axes():
    x = np.random.default_rng(0).standard_normal((3, 4, 5)).astype(np.float32)
    e = np.exp(x - x.max(axis=(1, 2), keepdims=True))
    expected = e / e.sum(axis=(1, 2), keepdims=True)
    got = run(chain([4, 5], LayerSpec("s", "Softmax", {"axis": [1, 2]})), x)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


def test_conv_stack_has_one_transpose_in_and_one_out():
    proto = export_onnx(os.path.join(FIXTURES, "keras2/cnn_basic.h5"))
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("Transpose") == 2, ops
    assert ops.index("Transpose") == 0 and ops[ops.index("Flatten") - 1] == "Transpose", ops


def test_batch_normalization_folds_into_conv_and_dense():
    proto = export_onnx(os.path.join(FIXTURES, "keras3/bn_variants.h5"))
    assert "BatchNormalization" not in [n.op_type for n in proto.graph.node]


def test_stacked_recurrent_layers_stay_time_major():
    proto = export_onnx(os.path.join(FIXTURES, "keras3/bidirectional.h5"))
    ops = [n.op_type for n in proto.graph.node]
    assert "Loop" not in ops and "Scan" not in ops
    assert ops.count("LSTM") + ops.count("GRU") + ops.count("RNN") == 5, ops


def test_gelu_native_only_from_opset_20():
    spec = chain([6], LayerSpec("a", "Activation", {"activation": "gelu"}))
    assert "Gelu" in [n.op_type for n in export_onnx(spec, opset=20).graph.node]
    assert "Gelu" not in [n.op_type for n in export_onnx(spec, opset=17).graph.node]


def test_accepts_path_spec_and_runtime_model(tmp_path):
    path = os.path.join(FIXTURES, "keras3/mlp_basic.h5")
    out = tmp_path / "m.onnx"
    from_path = export_onnx(path, out)
    assert onnx.load(str(out)).graph.node == from_path.graph.node
    from_runtime = export_onnx(runtime.load(path))
    assert [n.op_type for n in from_runtime.graph.node] == [n.op_type for n in from_path.graph.node]
    props = {p.key: p.value for p in from_path.metadata_props}
    assert props["source_file"] == "mlp_basic.h5" and props["keras_version"].startswith("3.")
    assert from_path.producer_name == "keraslite" and from_path.producer_version


@pytest.mark.parametrize("opset", [12, 22, "17", None])
def test_bad_opset_names_the_range(opset):
    with pytest.raises(ConversionError, match="from 13 to 21"):
        export_onnx(chain([3], LayerSpec("d", "Dropout", {"rate": 0.5})), opset=opset)


def test_unsupported_layer_names_layer_and_supported_list():
    spec = chain([3], LayerSpec("odd", "Conv3DTransposeV9", {}))
    with pytest.raises(ConversionError) as exc:
        export_onnx(spec)
    msg = str(exc.value)
    assert "'odd'" in msg and "Conv3DTransposeV9" in msg and "Dense" in msg and "LSTM" in msg


def test_unexpressible_option_names_layer_and_why():
    units = 2
    weights = [("kernel", np.zeros((3, units), np.float32)), ("recurrent_kernel", np.zeros((units, units), np.float32)),
               ("bias", np.zeros(units, np.float32))]
    cfg = {"units": units, "activation": "selu", "use_bias": True, "return_sequences": False}
    with pytest.raises(ConversionError, match=r"'rnn'.*activation 'selu'"):
        export_onnx(chain([5, 3], LayerSpec("rnn", "SimpleRNN", cfg, weights)))


def test_too_big_for_one_protobuf():
    huge = np.broadcast_to(np.float32(0), (2 ** 29 + 1, 1))  # 2 GiB of weights without allocating them
    cfg = {"units": 1, "activation": "linear", "use_bias": False}
    spec = chain([2 ** 29 + 1], LayerSpec("big", "Dense", cfg, [("kernel", huge)]))
    with pytest.raises(ConversionError, match="2 GiB"):
        export_onnx(spec)


def test_embedding_int_input_and_batch_symbolic():
    table = np.arange(20, dtype=np.float32).reshape(10, 2)
    spec = chain([4], LayerSpec("e", "Embedding", {"input_dim": 10, "output_dim": 2}, [("embeddings", table)]),
                 dtype="int32")
    x = np.array([[1, 2, 3, 9], [0, 0, 5, 4]], dtype=np.int32)
    np.testing.assert_array_equal(run(spec, x), table[x])
    proto = export_onnx(spec)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT32
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
