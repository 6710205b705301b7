"""``keraslite convert`` moves a model between Keras versions; errors exit 1 with the reason, usage errors 2."""
import os
import subprocess
import sys

import pytest

from keraslite import format as kf
from keraslite.cli import main

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")


def test_convert_keras3_zip_to_portable_h5(tmp_path, capsys):
    out = str(tmp_path / "m.h5")
    assert main(["convert", os.path.join(FIXTURES, "keras3", "cnn_basic.keras"), out]) == 0
    assert "portable" in capsys.readouterr().out
    spec = kf.read(out)
    assert spec.source["dialect"] == "keras2" and spec.source["format"] == "h5"


def test_convert_to_json_writes_weights_beside(tmp_path):
    out = str(tmp_path / "m.json")
    assert main(["convert", os.path.join(FIXTURES, "keras2", "cnn_basic.h5"), out]) == 0
    assert os.path.exists(str(tmp_path / "m_weights.h5"))
    kf.read(out, weights=str(tmp_path / "m_weights.h5"))


def test_convert_refusal_exits_1_with_reason(tmp_path, capsys):
    out = str(tmp_path / "m.h5")
    code = main(["convert", os.path.join(FIXTURES, "keras2", "tf_ops.h5"), out])
    assert code == 1
    err = capsys.readouterr().err
    assert "no built-in layer equivalent" in err and "dialect='keras2'" in err
    assert not os.path.exists(out)


def test_convert_bad_dialect_is_usage_error(tmp_path):
    with pytest.raises(SystemExit) as info:
        main(["convert", "a.h5", "b.h5", "--dialect", "keras4"])
    assert info.value.code == 2


def test_console_script_missing_file(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "keraslite", "convert", str(tmp_path / "nope.h5"),
                           str(tmp_path / "o.h5")], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "nope.h5: no such file" in proc.stderr
