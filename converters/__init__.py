"""ModelSpec -> ONNX, without TensorFlow: ``export_onnx`` and the ``keraslite export-onnx`` command.

Importing this package is cheap; onnx is imported on the first export.

    import keraslite.converters
    proto = keraslite.converters.export_onnx("model.h5", "model.onnx", opset=17)
"""


def export_onnx(model_or_path, output_path=None, opset=17):
    """Export a Keras model (file path, ModelSpec, runtime or training model) to ONNX; returns the ModelProto.

    Args:
        model_or_path: a Keras model file (``.h5``, ``.keras``, ...), a ModelSpec, a runtime or a training model.
        output_path: where to write the ``.onnx`` file (a single file, no external data); None to only return it.
        opset: ONNX opset from 13 to 21 (default 17).

    Returns:
        The ``onnx.ModelProto``.

    Example::

        keraslite.converters.export_onnx("model.h5", "model.onnx")
    """
    from .export import export_onnx as _export

    return _export(model_or_path, output_path, opset)


__all__ = ["export_onnx"]
