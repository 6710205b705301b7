"""Small helpers on ModelSpec/LayerSpec used while building a plan."""
from ..format.spec import LayerSpec


def inner_layer(wrapper, inner, prefix):
    """The layer wrapped by ``wrapper`` (e.g. Bidirectional's ``forward``) as a LayerSpec with its own weights."""
    cut = prefix + "/"
    own = [(name[len(cut):], arr) for name, arr in wrapper.weights if name.startswith(cut)]
    return LayerSpec(f"{wrapper.name}/{prefix}", inner["class_name"], inner["config"], own)
