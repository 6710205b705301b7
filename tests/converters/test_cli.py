"""``keraslite export-onnx``: exit codes, messages, --check against keraslite's runtime, --help example."""
import os

import onnx
import pytest

from keraslite import cli, format as kformat

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures")


def fixture(rel):
    return os.path.join(FIXTURES, rel)


def test_export_and_check_against_runtime(tmp_path, capsys):
    out = tmp_path / "cnn.onnx"
    assert cli.main(["export-onnx", fixture("keras2/cnn_basic.h5"), str(out), "--check"]) == 0
    text = capsys.readouterr().out
    assert "onnx.checker: ok" in text
    assert "largest difference" in text
    model = onnx.load(str(out))
    assert model.opset_import[0].version == 17
    assert all(t.data_location == onnx.TensorProto.DEFAULT for t in model.graph.initializer)
    assert os.listdir(tmp_path) == ["cnn.onnx"]  # a single file, no external data, no leftover temporary


def test_opset_flag(tmp_path):
    out = tmp_path / "m.onnx"
    assert cli.main(["export-onnx", fixture("keras3/rnn_variants.h5"), str(out), "--opset", "21"]) == 0
    assert onnx.load(str(out)).opset_import[0].version == 21


@pytest.mark.parametrize("bad", ["12", "22", "abc"])
def test_bad_opset_is_a_usage_error(tmp_path, capsys, bad):
    with pytest.raises(SystemExit) as exc:
        cli.main(["export-onnx", fixture("keras2/mlp_basic.h5"), str(tmp_path / "m.onnx"), "--opset", bad])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--opset" in err and "13 to 21" in err and repr(bad) in err
    assert not (tmp_path / "m.onnx").exists()


def test_conversion_error_exits_1_naming_the_layer(tmp_path, capsys):
    spec = kformat.read(fixture("keras2/rnn_basic.h5"))
    rnn = next(l for l in spec.flatten().layers if l.class_name in ("LSTM", "GRU", "SimpleRNN"))
    rnn.config["activation"] = "selu"  # legal in Keras, not expressible in ONNX's recurrent ops
    src = tmp_path / "selu_rnn.h5"
    kformat.write(spec, str(src))
    assert cli.main(["export-onnx", str(src), str(tmp_path / "m.onnx")]) == 1
    err = capsys.readouterr().err
    assert repr(rnn.name.split("/")[-1]) in err or rnn.name in err
    assert "'selu'" in err and "supported" in err
    assert not (tmp_path / "m.onnx").exists()


def test_missing_file_exits_1(tmp_path, capsys):
    assert cli.main(["export-onnx", str(tmp_path / "nope.h5"), str(tmp_path / "m.onnx")]) == 1
    assert "nope.h5" in capsys.readouterr().err


def test_help_shows_an_example(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["export-onnx", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "keraslite export-onnx model.h5 model.onnx" in text and "--opset" in text and "13 to 21" in text
