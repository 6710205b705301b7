"""The examples run as a user would run them."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_keras_file_everywhere(tmp_path):
    script = os.path.join(ROOT, "examples", "keras_file_everywhere.py")
    proc = subprocess.run([sys.executable, script, os.path.join(ROOT, "demo", "digits.h5"), str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "onnxruntime vs keraslite: largest difference" in proc.stdout
    diff = float(proc.stdout.rsplit("largest difference", 1)[1].split()[0])
    assert diff < 1e-5
    assert sorted(os.listdir(tmp_path)) == ["model.keras", "model.onnx", "portable.h5"]
