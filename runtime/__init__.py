"""The keraslite inference runtime: Keras models on compiled kernels (or Numba, or numpy), no TensorFlow.

    from keraslite import runtime
    m = runtime.load("model.h5")                    # .h5 (Keras 2 or 3), .keras, or arch .json/.yaml + weights=
    y = m.predict(x)                                # array, list (model input order) or dict by input name
    m.inputs, m.outputs                             # TensorSpec(name, shape, dtype)

Loading builds a Plan once (order, shapes, weight checks, BatchNormalization folded, activations fused, training-only
layers dropped); ``predict`` is a straight loop of kernel calls and is safe to call from several threads at once.
The compiled kernels share a small thread pool (``KERASLITE_NUM_THREADS``, else ``OMP_NUM_THREADS`` /
``OPENBLAS_NUM_THREADS``, else every CPU; ``runtime.set_num_threads``) that restarts after fork, so gunicorn's
pre-fork workers are safe; the Numba kernels are serial (see ``_jit.py`` and ``native.py``).
"""
from .model import Model, TensorSpec


def load_spec(spec):
    """A runnable Model from a ModelSpec.

    Args:
        spec: a ``keraslite.format.ModelSpec`` (nested models allowed).
    Returns:
        Model.
    Example::

        m = runtime.load_spec(keraslite.format.read("model.h5"))
    """
    from . import native
    from ._jit import numba_installed, warn_no_numba

    if native.lib() is None and not numba_installed():
        warn_no_numba()
    return Model(spec)


def load(path, weights=None):
    """Load a Keras model file and compile it for prediction.

    Args:
        path: ``.h5`` (Keras 2 or 3), ``.keras``, or an architecture ``.json``/``.yaml``.
        weights: the weights file (``.h5`` / ``.weights.h5``) when ``path`` is an architecture file.
    Returns:
        Model.
    Raises:
        ModelFormatError / UnsupportedLayerError: the file cannot or must not be loaded (the message says why).
    Example::

        m = runtime.load("arch.json", weights="w.h5")
        y = m.predict(x)
    """
    from ..format import read

    return load_spec(read(path, weights=weights))


def set_num_threads(n):
    """Threads each compiled kernel may use in this process (1 = serial); no effect on the Numba / numpy paths.

    Example::

        runtime.set_num_threads(1)  # one gunicorn worker per core
    """
    from . import native

    native.set_num_threads(n)


__all__ = ["load", "load_spec", "set_num_threads", "Model", "TensorSpec"]
