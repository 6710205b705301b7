"""A finished step's tape frees its activations by reference counting, without waiting for the cyclic collector."""
import gc
import weakref

import numpy as np

from keraslite.train.autodiff import GradientTape, Variable
from keraslite.train.autodiff import conv as C, elementwise as E, reduce as R


def _step(w, x, probes):
    with GradientTape() as tape:
        h = C.conv2d(x, w, None, padding="same", activation="relu")
        probes.append(weakref.ref(h))
        loss = R.sum_(E.square(h))
    return tape.gradient(loss, [w, x])


def test_activations_are_freed_when_the_step_ends_with_gc_disabled():
    rng = np.random.default_rng(0)
    w = Variable(rng.standard_normal((3, 3, 2, 4)).astype("float32"))
    x = Variable(rng.standard_normal((1, 6, 5, 2)).astype("float32"))
    probes = []
    enabled = gc.isenabled()
    gc.disable()
    try:
        grads = [_step(w, x, probes) for _ in range(3)]
        assert [p() for p in probes] == [None, None, None]
    finally:
        if enabled:
            gc.enable()
    # the weak references from nodes to outputs still carry the gradient through
    for gw, gx in grads:
        assert gw is not None and gx is not None
        np.testing.assert_allclose(gw.numpy(), grads[0][0].numpy())


def test_persistent_tape_keeps_what_it_needs_and_nested_tapes_share_nodes():
    w = Variable(np.array([1.5, -2.0], np.float32))
    with GradientTape(persistent=True) as outer:
        with GradientTape() as inner:
            y = E.square(w)
            s = R.sum_(y)
        gy = inner.gradient(s, w)
        z = R.sum_(E.multiply(y, y))  # uses the inner tape's output after the inner gradient
    np.testing.assert_allclose(gy.numpy(), 2 * w.numpy())
    np.testing.assert_allclose(outer.gradient(z, w).numpy(), 4 * w.numpy() ** 3, rtol=1e-6)
    np.testing.assert_allclose(outer.gradient(z, w).numpy(), 4 * w.numpy() ** 3, rtol=1e-6)
