"""Installing without a working C compiler: the build skips the compiled kernels and the runtime still predicts."""
import glob
import os
import shutil
import subprocess
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE = os.path.join(ROOT, "tests", "fixtures", "keras3", "mobilenet_block")


def test_wheel_without_a_compiler_falls_back(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns("tests", "bench", "examples", "build", ".git", ".ci*",
                                                             ".venv", "__pycache__", "*.egg-info", "*.so"))
    env = dict(os.environ, CC="false", LDSHARED="false")  # every compile and link fails, as with no compiler
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                           str(tmp_path / "dist"), str(src)], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = glob.glob(str(tmp_path / "dist" / "keraslite-*.whl"))
    with zipfile.ZipFile(wheel) as whl:
        assert not any("_ckernels" in n for n in whl.namelist())
        whl.extractall(str(tmp_path / "site"))
    code = ("import numpy as np, sys\nfrom keraslite import runtime\nfrom keraslite.runtime import native\n"
            f"m = runtime.load({FIXTURE + '.h5'!r})\nd = np.load({FIXTURE + '.npz'!r})\n"
            "err = float(np.abs(m.predict(d['x0']) - d['y0']).max())\n"
            "print(native.lib() is None, runtime.__file__.startswith(sys.argv[1]), err < 1e-4)\n")
    run = subprocess.run([sys.executable, "-c", code, str(tmp_path / "site")], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(tmp_path / "site")), cwd=str(tmp_path))
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["True", "True", "True"], run.stdout + run.stderr
