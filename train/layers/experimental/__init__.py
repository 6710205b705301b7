"""``layers.experimental``: the Keras 2.x namespace older tutorials import preprocessing layers from."""
from . import preprocessing  # noqa: F401
