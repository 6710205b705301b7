"""Without the compiled kernels (a broken build, ``KERASLITE_NATIVE=0``, an ISA this CPU lacks) the runtime logs why
once, runs the Numba / numpy kernels and predicts the same numbers as the compiled ones."""
import os
import subprocess
import sys

import numpy as np

from keraslite import runtime
from keraslite.runtime import native

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CASES = ["cnn_basic", "mobilenet_block", "conv_transpose_variants", "text_lstm", "masked_text"]
FIXTURE = os.path.join(ROOT, "tests", "fixtures", "keras3", "{}")

SCRIPT = r"""
import sys
if sys.argv[2] == "broken":
    sys.modules["keraslite.runtime._ckernels"] = None  # the import fails, as for a build that did not link
import numpy as np
from keraslite import runtime
from keraslite.runtime import native
out = {}
for case in sys.argv[3:]:
    d = np.load(sys.argv[1].format(case) + ".npz")
    m = runtime.load(sys.argv[1].format(case) + ".h5")
    got = m.predict([d["x%d" % i] for i in range(len(m.inputs))])
    for i, y in enumerate(got if isinstance(got, list) else [got]):
        out["%s_%d" % (case, i)] = y
np.savez("out.npz", **out)
print("compiled" if native.lib() is not None else "fallback")
"""


def _run(tmp_path, mode, **env_vars):
    env = dict(os.environ, **env_vars)
    done = subprocess.run([sys.executable, "-c", SCRIPT, FIXTURE, mode] + CASES, capture_output=True, text=True,
                          env=env, cwd=str(tmp_path), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done, np.load(tmp_path / "out.npz")


def _compiled_outputs():
    assert native.lib() is not None, "the compiled kernels must be built in the test environment (pip install -e .)"
    out = {}
    for case in CASES:
        d = np.load(FIXTURE.format(case) + ".npz")
        m = runtime.load(FIXTURE.format(case) + ".h5")
        got = m.predict([d[f"x{i}"] for i in range(len(m.inputs))])
        for i, y in enumerate(got if isinstance(got, list) else [got]):
            out[f"{case}_{i}"] = y
    return out


def _same(fallback, compiled):
    assert sorted(fallback.files) == sorted(compiled)
    for key, want in compiled.items():
        np.testing.assert_allclose(fallback[key], want, rtol=1e-4, atol=1e-5 * max(1.0, float(np.abs(want).max())),
                                   err_msg=key)


def test_broken_build_logs_and_predicts_the_same(tmp_path):
    done, out = _run(tmp_path, "broken")
    assert done.stdout.split()[-1] == "fallback"
    lines = [line for line in done.stderr.splitlines() if "compiled kernels unavailable" in line]
    assert len(lines) == 1 and "_ckernels" in lines[0], done.stderr[-3000:]
    _same(out, _compiled_outputs())


def test_disabled_by_environment_is_silent_and_the_same(tmp_path):
    done, out = _run(tmp_path, "ok", KERASLITE_NATIVE="0")
    assert done.stdout.split()[-1] == "fallback"
    assert "compiled kernels" not in done.stderr, done.stderr[-3000:]
    _same(out, _compiled_outputs())


def test_unavailable_isa_logs_and_falls_back(tmp_path):
    done, out = _run(tmp_path, "ok", KERASLITE_ISA="no-such-isa")
    assert done.stdout.split()[-1] == "fallback"
    assert "KERASLITE_ISA=no-such-isa is not available" in done.stderr, done.stderr[-3000:]
    _same(out, _compiled_outputs())
