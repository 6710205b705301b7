"""The issue's tutorial workflows, run as a user runs them (examples/*.py in a fresh process, small settings)."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(script, *args, timeout=300):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "examples", script), *args], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def number(pattern, text):
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in:\n{text[-2000:]}"
    return float(match.group(1))


def test_linear_regression():
    out = run("linear_regression.py", "--epochs", "300")
    assert number(r"last loss: ([\d.]+)", out) < 0.01 < number(r"first loss: ([\d.]+)", out)
    assert abs(number(r"y = ([\d.-]+) x", out) - 2) < 0.1
    assert abs(number(r"x \+ ([\d.-]+)", out) - 1) < 0.1


def test_logic_gates():
    out = run("logic_gates.py", "--epochs", "2000")
    for gate in ("AND", "OR", "XOR"):
        line = next(l for l in out.splitlines() if l.startswith(gate))
        predicted = re.search(r"predictions (\[.*?\])", line).group(1)
        targets = re.search(r"targets (\[.*?\])", line).group(1)
        assert predicted == targets, line
        assert "accuracy 1.00" in line, line


def test_digits_mlp_and_cnn():
    out = run("digits.py", "--epochs", "8", "--cnn-epochs", "4")
    assert "Epoch 8/8" in out and re.search(r"36/36 - \d+s - \d+(us|ms|s)/step - accuracy: [\d.]+ - loss: [\d.]+ - "
                                            r"val_accuracy: [\d.]+ - val_loss: [\d.]+", out)
    assert number(r"MLP test accuracy: ([\d.]+)", out) > 0.8
    assert number(r"CNN test accuracy: ([\d.]+)", out) > 0.8
    assert "Total params: 4,810" in out  # Flatten(8x8) -> Dense 64 -> Dense 10


def test_imbalanced_classification(tmp_path):
    out = run("imbalanced_classification.py", "--epochs", "20", "--samples", "6000", "--batch-size", "256",
              "--out", str(tmp_path))
    assert number(r"Loss with the class-ratio output bias: ([\d.]+)", out) < 0.3
    for name in ("baseline", "weighted"):
        line = next(l for l in out.splitlines() if l.startswith(name))
        assert number(r"auc=([\d.]+)", line) > 0.8, line
    # class weights trade precision for recall
    recall = {n: number(r"recall=([\d.]+)", next(l for l in out.splitlines() if l.startswith(n)))
              for n in ("baseline", "weighted")}
    assert recall["weighted"] >= recall["baseline"]
    assert os.path.exists(tmp_path / "initial.weights.h5")


def test_early_stopping():
    out = run("early_stopping.py", "--epochs", "1000")
    ran = number(r"ran (\d+) of 1000 epochs", out)
    assert ran < 1000
    assert re.search(r"Epoch \d+: early stopping", out)
    assert number(r"val_loss ([\d.]+)\n", out) == pytest.approx(number(r"restored weights: ([\d.]+)", out),
                                                               rel=1e-3)


def test_tensors_and_gradients():
    out = run("tensors_and_gradients.py", "--steps", "40", "--epochs", "5")
    assert "v[0, 0].assign(3.), assign_add: [4.0, 2.0, 2.0]" in out
    assert "must match. variable.shape=(3, 1), Received: value.shape=(2, 2)" in out
    assert "d(x^2)/dx at 3: 6.0" in out and "watched constant 3: 6.0" in out
    assert number(r"linear classifier: .* accuracy ([\d.]+)", out) > 0.95
    assert "SimpleDense output shape: (2, 32)" in out
    assert "MySequential: 4 trainable weights" in out
    assert number(r"MySequential: .* final accuracy ([\d.]+)", out) > 0.95


def test_functional_api():
    out = run("functional_api.py", "--epochs", "3")
    assert "logged: ['department_accuracy', 'department_loss', 'loss', 'priority_accuracy', 'priority_loss']" in out
    assert "predict shapes: (3, 1) (3, 4)" in out
    assert "Connected to" in out and re.search(r"encoder\s+│.*\n│ \(Functional\)", out)


def test_save_and_resume(tmp_path):
    out = run("save_and_resume.py", "--epochs", "2", "--out", str(tmp_path))
    assert out.count("predictions equal after load_model: True") == 2
    assert "iteration 16" in out  # 256 samples / 32 per batch * 2 epochs
    assert "json + load_weights(model.h5): predictions equal: True" in out
    assert "yaml + load_weights(.weights.h5): predictions equal: True" in out
