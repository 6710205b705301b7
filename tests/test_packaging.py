"""The repository root is the package: a built wheel holds every subpackage and imports on its own."""
import glob
import os
import shutil
import subprocess
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOT_SHIPPED = ("tests", "bench", "examples", "build", ".git", ".ci", ".ci-venv", ".venv")


def _subpackages():
    """Every folder of the source tree that holds an __init__.py, relative to the root."""
    found = []
    for folder, dirs, files in os.walk(ROOT):
        rel = os.path.relpath(folder, ROOT)
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in NOT_SHIPPED and d != "__pycache__"]
        if rel != "." and "__init__.py" in files:
            found.append(rel.replace(os.sep, "/"))
    return found


def test_wheel_builds_and_imports(tmp_path):
    # Build from a copy: setuptools writes build/ beside the sources and would reuse stale files from it.
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(*NOT_SHIPPED[2:], "__pycache__", "*.egg-info"))
    dist = tmp_path / "dist"
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(dist), str(src)], capture_output=True, text=True, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheels = glob.glob(str(dist / "keraslite-*.whl"))
    assert len(wheels) == 1, wheels
    with zipfile.ZipFile(wheels[0]) as whl:
        names = whl.namelist()
        subpackages = _subpackages()
        assert "runtime/ops" in subpackages
        for sub in subpackages:
            assert f"keraslite/{sub}/__init__.py" in names, f"{sub} is missing from pyproject's packages"
        assert "keraslite/demo/digits.h5" in names
        assert any(n.startswith("keraslite/runtime/_ckernels") for n in names), "the compiled kernels were not built"
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
