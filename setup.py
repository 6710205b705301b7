"""Build hook for the optional compiled kernels (keraslite.runtime._ckernels); everything else is in pyproject.toml.

The extension is optional: without a C compiler (or on a compiler it does not support) the build skips it with a
warning and the runtime falls back to its Numba kernels, then to numpy.
"""
import os
import sys

from setuptools import Extension, setup

NATIVE = os.path.join("runtime", "csrc")
SOURCES = ["module.c", "threads.c", "scratch.c", "direct.c", "isa_base.c", "isa_avx2.c", "isa_avx512.c"]
HEADERS = ["kl.h", "kernels.h", "vec.h", "gemm.h", "direct.h", "depthwise.h", "pool.h", "rnn.h", "resize.h", "update.h"]
SOURCES += ["rnn_train_base.c", "rnn_train_avx2.c", "rnn_train_avx512.c"]  # training's recurrences
HEADERS += ["rnn_train.h", "rnn_train_py.h", "scatter.h", "target_begin.h", "target_end.h"]

args = [] if sys.platform == "win32" else ["-O3", "-std=gnu11", "-fno-math-errno", "-fno-trapping-math"]
ext = Extension("keraslite.runtime._ckernels", [os.path.join(NATIVE, s) for s in SOURCES],
                depends=[os.path.join(NATIVE, h) for h in HEADERS], extra_compile_args=args,
                optional=os.environ.get("KERASLITE_REQUIRE_NATIVE") != "1")
setup(ext_modules=[] if os.environ.get("KERASLITE_NO_NATIVE") == "1" else [ext])
