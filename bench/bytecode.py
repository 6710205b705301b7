"""Write the ``.pyc`` files of the packages a benchmark starts, as ``pip install`` does for a wheel.

An editable checkout writes them on first import, unless PYTHONDONTWRITEBYTECODE is set (this machine sets it).
Without them every fresh process compiles keraslite's modules from source (0.2 s for the runtime alone, more than
the rest of its import) while numpy, onnxruntime and TensorFlow load the compiled files pip wrote: a start-up
comparison would measure the checkout, not the library.
"""
import compileall
import importlib.util
import re

SKIP = re.compile(r"[/\\](tests|\.git|build)[/\\]")  # a checkout's tests and build output


def compile_packages(*names: str) -> None:
    """Compile the packages ``names`` (those not importable here are skipped) in place."""
    for name in names:
        spec = importlib.util.find_spec(name)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            compileall.compile_dir(folder, quiet=2, rx=SKIP)
