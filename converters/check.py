"""``export-onnx --check``: the ONNX checker, then onnxruntime against keraslite's runtime on a random batch."""
from __future__ import annotations

from typing import Dict, List, Optional

import numpy as np
from onnx import helper

from ..errors import ConversionError

CHECK_BATCH = 3
UNKNOWN_DIM = 8  # size used for unknown non-batch dimensions (a sequence length, for example)
TOLERANCE = 1e-3  # relative to the largest output magnitude


def random_batch(model, spec, batch: int = CHECK_BATCH, seed: int = 0) -> Dict[str, np.ndarray]:
    """A random feed for every graph input; integer inputs stay below the smallest Embedding ``input_dim``."""
    rng = np.random.default_rng(seed)
    vocab = [int(layer.config["input_dim"]) for layer in spec.flatten().layers if layer.class_name == "Embedding"]
    feeds = {}
    for info in model.graph.input:
        tensor = info.type.tensor_type
        dims = [batch] + [d.dim_value if d.HasField("dim_value") else UNKNOWN_DIM for d in tensor.shape.dim[1:]]
        dtype = helper.tensor_dtype_to_np_dtype(tensor.elem_type)
        if np.issubdtype(dtype, np.integer):
            feeds[info.name] = rng.integers(0, min(vocab) if vocab else 2, size=dims).astype(dtype)
        elif vocab:  # float indices fed to an Embedding
            feeds[info.name] = rng.integers(0, min(vocab), size=dims).astype(dtype)
        else:
            feeds[info.name] = rng.standard_normal(dims).astype(dtype)
    return feeds


def compare(model, spec, batch: int = CHECK_BATCH) -> Optional[Dict]:
    """Largest difference between onnxruntime and keraslite.runtime on a random batch.

    Returns ``{"max_abs", "max_rel", "outputs"}``, or None with a printed reason when onnxruntime or the runtime is
    not available.
    """
    try:
        import onnxruntime
    except ImportError:
        print("onnxruntime is not installed: skipped the comparison (pip install onnxruntime)")
        return None
    try:
        from .. import runtime
        reference = runtime.load_spec(spec)
    except ImportError as exc:
        print(f"keraslite.runtime cannot be imported ({exc}): skipped the comparison")
        return None
    feeds = random_batch(model, spec, batch)
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, feeds)
    expected = reference.predict(dict(feeds))
    expected = expected if isinstance(expected, (list, tuple)) else [expected]
    return differences(got, expected)


def differences(got: List[np.ndarray], expected: List[np.ndarray]) -> Dict:
    """Largest absolute difference and that difference relative to the largest expected magnitude."""
    if len(got) != len(expected):
        raise ConversionError(f"onnxruntime gives {len(got)} outputs, keraslite's runtime {len(expected)}")
    max_abs, max_rel = 0.0, 0.0
    for a, b in zip(got, expected):
        b = np.asarray(b)
        if a.shape != b.shape:
            raise ConversionError(f"onnxruntime output shape {a.shape} differs from keraslite's {b.shape}")
        diff = float(np.max(np.abs(a.astype(np.float64) - b))) if a.size else 0.0
        scale = float(np.max(np.abs(b))) if b.size else 0.0
        max_abs = max(max_abs, diff)
        max_rel = max(max_rel, diff / max(scale, 1e-12))
    return {"max_abs": max_abs, "max_rel": max_rel, "outputs": len(got)}
