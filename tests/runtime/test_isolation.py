"""Fresh interpreters: what ``import keraslite.runtime`` pulls in, and the numpy fallback without Numba."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE = os.path.join(ROOT, "tests", "fixtures", "keras3", "{}.h5")


def _python(code, **env_vars):
    env = dict(os.environ, PYTHONWARNINGS="default", **env_vars)
    env.pop("KERASLITE_DISABLE_NUMBA", None)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


def test_import_boundary():
    done = _python("import sys, keraslite.runtime\n"
                   "bad = [m for m in ('onnx', 'flask', 'gunicorn', 'keraslite.train', 'tensorflow', 'numba')\n"
                   "       if m in sys.modules]\n"
                   "print(bad)")
    assert done.stdout.strip() == "[]"


def test_load_cnn_does_not_import_numba_or_others():
    done = _python(f"import sys, numpy as np\nfrom keraslite import runtime\n"
                   f"m = runtime.load({FIXTURE.format('cnn_basic')!r})\n"
                   f"m.predict(np.zeros((1,) + m.inputs[0].shape[1:], np.float32))\n"
                   f"print([k for k in ('onnx', 'flask', 'gunicorn', 'keraslite.train', 'numba') if k in sys.modules])")
    assert done.stdout.strip() == "[]"


def _without_numba(native):
    """Load and predict the Numba-using fixtures with numba unimportable; prints the numba warnings counted."""
    cases = ["mobilenet_block", "text_lstm", "rnn_variants", "bidirectional"]
    code = (
        "import sys, warnings\n"
        "sys.modules['numba'] = None  # as if no wheel exists for this device\n"
        "import numpy as np\n"
        "from keraslite import runtime\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        f"    for case in {cases!r}:\n"
        f"        m = runtime.load({FIXTURE!r}.format(case))\n"
        "        d = np.load(" + repr(FIXTURE[:-3] + ".npz") + ".format(case))\n"
        "        xs = [d['x%d' % i] for i in range(len(m.inputs))]\n"
        "        out = m.predict(xs if len(xs) > 1 else xs[0])\n"
        "        out = out if isinstance(out, list) else [out]\n"
        "        for i, o in enumerate(out):\n"
        "            y = d['y%d' % i]\n"
        "            assert np.abs(o - y).max() <= 1e-4 * max(1, np.abs(y).max()), (case, i)\n"
        "assert 'numba' not in [k for k, v in sys.modules.items() if v is not None]\n"
        "print(len([w for w in caught if 'numba' in str(w.message)]))\n")
    return _python(code, KERASLITE_NATIVE="1" if native else "0")


def test_without_numba_or_compiled_kernels_same_numbers_and_one_warning():
    done = _without_numba(native=False)
    assert done.stdout.strip() == "1", done.stdout + done.stderr


def test_compiled_kernels_need_no_numba():
    from keraslite.runtime import native

    assert native.lib() is not None, "the compiled kernels must be built in the test environment (pip install -e .)"
    done = _without_numba(native=True)
    # rnn_variants has an LSTM with activation softsign / hard_sigmoid: compiled too, so nothing falls back.
    assert done.stdout.strip() == "0", done.stdout + done.stderr
