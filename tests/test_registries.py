"""The per-family tables agree: every layer class the format reads has a runtime op and an ONNX emitter."""
from keraslite.converters.registry import EMITTERS, STRUCTURAL
from keraslite.format.layers import LAYERS, MODEL_CLASSES
from keraslite.runtime.ops import REGISTRY

# Explicit exceptions: classes one table has on purpose and another does not need.
NOT_A_RUNTIME_OP = {"InputLayer"}       # graph inputs, handled by the plan itself


def test_runtime_covers_the_format_table():
    assert set(LAYERS) - NOT_A_RUNTIME_OP - set(REGISTRY) == set()
    assert set(REGISTRY) - set(LAYERS) == set()


def test_onnx_covers_the_format_table():
    emitted = set(EMITTERS) | set(STRUCTURAL)
    assert set(LAYERS) - emitted == set()
    assert set(EMITTERS) - set(LAYERS) == set()  # a class the format cannot read would be dead code


def test_models_are_not_layers_anywhere():
    for table in (LAYERS, REGISTRY, EMITTERS):
        assert not set(MODEL_CLASSES) & set(table)


def test_train_covers_the_format_table():
    """Every layer class the format reads can also be built and trained, and train adds none the format cannot save."""
    from keraslite.train.layers import LAYERS as TRAINABLE

    assert set(LAYERS) - set(TRAINABLE) == set()
    assert set(TRAINABLE) - set(LAYERS) == set()
