"""One Keras file, every way keraslite uses it: predict, convert for both Keras versions, export to ONNX.

    python examples/keras_file_everywhere.py [MODEL.h5] [OUT_DIR]

Without arguments it uses the bundled demo model (a digits classifier made with real Keras).
"""
import os
import sys
import tempfile

import numpy as np

import keraslite
from keraslite import format, runtime


def main(model_path: str, out_dir: str) -> None:
    model = runtime.load(model_path)
    print("inputs:", model.inputs, "outputs:", model.outputs)
    x = np.random.default_rng(0).random((4,) + tuple(model.inputs[0].shape[1:]), dtype=np.float32)
    y = model.predict(x)
    print("predict:", y.shape, "row sums", np.round(y.sum(axis=-1), 4))

    spec = format.read(model_path)
    portable = os.path.join(out_dir, "portable.h5")
    format.write(spec, portable)                                  # loads in tf_keras 2.x and Keras 3
    format.write(spec, os.path.join(out_dir, "model.keras"))      # Keras 3's own zip
    assert np.array_equal(runtime.load(portable).predict(x), y)
    print("wrote", portable, "and model.keras")

    try:
        from keraslite.converters import export_onnx
    except ImportError:
        print("ONNX export needs: pip install 'keraslite[onnx]'")
        return
    onnx_path = os.path.join(out_dir, "model.onnx")
    proto = export_onnx(model_path, onnx_path)
    print("exported", onnx_path, "with", len(proto.graph.node), "nodes")
    try:
        import onnxruntime
    except ImportError:
        return
    session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    (onnx_y,) = session.run(None, {model.inputs[0].name: x})
    print("onnxruntime vs keraslite: largest difference", float(np.abs(onnx_y - y).max()))


if __name__ == "__main__":
    demo = os.path.join(os.path.dirname(keraslite.__file__), "demo", "digits.h5")
    main(sys.argv[1] if len(sys.argv) > 1 else demo, sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp())
