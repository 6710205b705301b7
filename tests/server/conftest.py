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


class Server:
    """A running ``python -m keraslite serve`` on a free loopback port (its own session, so tests can signal it)."""

    STARTUP_SECONDS = 180  # workers load and warm up (Numba may compile on a cold cache) on a shared 2-core box

    def __init__(self, args, tmp_path):
        import subprocess
        import sys

        self.port = free_port()
        self.log_path = tmp_path / f"serve-{self.port}.log"
        cmd = [sys.executable, "-m", "keraslite", "serve", *args, "--port", str(self.port)]
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=str(tmp_path))
        self.wait_ready()

    def log(self) -> str:
        return open(self.log_path).read()

    def request(self, method, path, body=None, headers=None, timeout=60):
        """``(status, headers, parsed JSON or text)`` over a fresh connection."""
        import http.client

        import orjson

        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY) if isinstance(body, (dict, list)) else body
            hdrs = {"Content-Type": "application/json", **(headers or {})} if data is not None else (headers or {})
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
            is_json = (resp.getheader("Content-Type") or "").startswith("application/json")
            return resp.status, dict(resp.getheaders()), orjson.loads(raw) if is_json else raw.decode()
        finally:
            conn.close()

    def wait_ready(self, want=None):
        """Poll /v2/health/ready until 200 (and ``want()`` holds); fail with the log if the server exits."""
        import time

        deadline = time.monotonic() + self.STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"server exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            try:
                if self.request("GET", "/v2/health/ready", timeout=5)[0] == 200 and (want is None or want()):
                    return
            except OSError:
                pass
            time.sleep(0.3)
        pytest.fail(f"server not ready after {self.STARTUP_SECONDS}s:\n{self.log()[-3000:]}")

    def workers(self):
        """The pids of the master's worker processes."""
        children = []
        for task in os.listdir(f"/proc/{self.proc.pid}/task"):
            with open(f"/proc/{self.proc.pid}/task/{task}/children") as fh:
                children += [int(p) for p in fh.read().split()]
        return sorted(children)

    def stop(self):
        import signal
        import subprocess

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def serve_module(tmp_path_factory):
    """A factory of real servers for one test module; all are stopped at the module's end."""
    servers = []

    def start(*args):
        servers.append(Server([str(a) for a in args], tmp_path_factory.mktemp("serve")))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()
