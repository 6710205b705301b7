"""Fixtures for the server tests: real Keras files from tests/fixtures served by the real runtime."""
import os
import socket

import numpy as np
import pytest

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")
# A Sequential MLP (one input "features" (None, 8), one softmax output of 4) and a Functional model with three
# inputs (input_a, input_b, input_c) and two outputs (head_a, head_b), both saved by tf.keras 2.
MLP = os.path.join(FIXTURES, "keras2", "mlp_basic.h5")
MULTI = os.path.join(FIXTURES, "keras2", "merge_multi.h5")


def fixture_file(path: str) -> str:
    """``path`` if it exists; otherwise fail (a skipped test would hide a missing fixture)."""
    if not os.path.exists(path):
        pytest.fail(f"missing fixture {path}: run tests/fixtures/make_keras_fixtures.py")
    return path


def keras_arrays(path: str):
    """``(xs, ys)``: the inputs fed to real Keras and Keras' outputs, stored beside the model file."""
    with np.load(fixture_file(os.path.splitext(path)[0] + ".npz")) as npz:
        xs = [npz[k] for k in sorted(npz.files) if k.startswith("x")]
        ys = [npz[k] for k in sorted(npz.files) if k.startswith("y")]
    return xs, ys


def free_port() -> int:
    """A TCP port nobody listens on at 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def mlp_file():
    return fixture_file(MLP)


@pytest.fixture(scope="session")
def multi_file():
    return fixture_file(MULTI)


@pytest.fixture(scope="session")
def mlp_io():
    """``(xs, ys)`` of the MLP: inputs given to real Keras and its outputs."""
    return keras_arrays(MLP)


@pytest.fixture(scope="session")
def multi_io():
    return keras_arrays(MULTI)


@pytest.fixture(name="free_port")
def free_port_fixture():
    return free_port()


@pytest.fixture(scope="session")
def app():
    """One app for the read-only tests: both fixture models, a 1 MB body limit."""
    from keraslite.server import create_app

    return create_app({"mlp": fixture_file(MLP), "multi": fixture_file(MULTI)}, {"max_body_mb": 1})


@pytest.fixture
def client(app):
    return app.test_client()
