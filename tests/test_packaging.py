"""The repository root is the package: a built wheel holds every subpackage and imports on its own."""
import glob
import os
import subprocess
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUBPACKAGES = ("format", "runtime", "runtime/kernels", "converters", "server", "train", "demo")


def test_wheel_builds_and_imports(tmp_path):
    dist = tmp_path / "dist"
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(dist), ROOT], capture_output=True, text=True, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheels = glob.glob(str(dist / "keraslite-*.whl"))
    assert len(wheels) == 1, wheels
    with zipfile.ZipFile(wheels[0]) as whl:
        names = whl.namelist()
        for sub in SUBPACKAGES:
            assert f"keraslite/{sub}/__init__.py" in names, sub
        assert "keraslite/demo/digits.h5" in names
        assert not any(n.startswith(("keraslite/tests/", "keraslite/bench/")) for n in names)
        whl.extractall(str(tmp_path / "site"))
    code = ("import keraslite, keraslite.format, keraslite.runtime, keraslite.errors, sys; "
            "print(keraslite.__file__); print(keraslite.__version__)")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines()[0].startswith(str(tmp_path / "site")), proc.stdout


def test_readme_commands_match_ci():
    readme = open(os.path.join(ROOT, "README.md")).read()
    ci = open(os.path.join(ROOT, ".ci", "run")).read()
    test_command = [l for l in ci.splitlines() if "pytest" in l and not l.startswith("#")]
    assert len(test_command) == 1 and test_command[0].strip() in readme
