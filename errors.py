"""The exceptions keraslite raises for bad files, unsupported layers and bad inputs.

All of them subclass ``ValueError`` so code that already catches ``ValueError`` keeps working.
Messages say what was found, what was expected and, when there is one, how to fix it.
"""


class KerasliteError(ValueError):
    """Base class of every error keraslite raises on purpose."""


class ModelFormatError(KerasliteError):
    """A model file that cannot, or must not, be loaded or written.

    The message names the file and, where it applies, the layer, what was expected and what was found.
    """


class UnsupportedLayerError(ModelFormatError):
    """A layer class (or a layer option) keraslite does not implement; the message lists what is supported."""


class InputError(KerasliteError):
    """A predict input of the wrong name, rank, shape or dtype; the message names the input, axis, expected, got."""


class ConversionError(KerasliteError):
    """A model that cannot be exported (for example to ONNX); the message names the layer and why."""


__all__ = ["KerasliteError", "ModelFormatError", "UnsupportedLayerError", "InputError", "ConversionError"]
