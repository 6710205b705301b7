"""End to end: `python -m keraslite serve` as a real gunicorn process on a free loopback port, over real HTTP."""
import glob
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

STARTUP_SECONDS = 180  # two workers load and warm up (Numba may compile on a cold cache) on a shared 2-core box


def request(port, method, path, body=None, headers=None, timeout=60):
    """``(status, headers, parsed JSON or text)`` over a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        hdrs = {"Content-Type": "application/json", **(headers or {})} if data is not None else (headers or {})
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        is_json = (resp.getheader("Content-Type") or "").startswith("application/json")
        return resp.status, dict(resp.getheaders()), json.loads(raw) if is_json else raw.decode()
    finally:
        conn.close()


def wait_ready(proc, port, log_path):
    """Poll /v2/health/ready until 200; fail with the server's log if it exits or the time runs out."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}:\n{open(log_path).read()[-3000:]}")
        try:
            if request(port, "GET", "/v2/health/ready", timeout=5)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"server not ready after {STARTUP_SECONDS}s:\n{open(log_path).read()[-3000:]}")


@pytest.fixture
def server(mlp_file, multi_file, free_port, tmp_path):
    """A running `keraslite serve` (2 workers, 2 MB body limit); yields (process, port, log path)."""
    log_path = tmp_path / "serve.log"
    cmd = [sys.executable, "-m", "keraslite", "serve", f"mlp={mlp_file}", f"multi={multi_file}",
           "--port", str(free_port), "--workers", "2", "--threads", "4", "--max-body-mb", "2"]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=str(tmp_path))
    try:
        wait_ready(proc, free_port, log_path)
        yield proc, free_port, log_path
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def send_chunked(port, path, chunks, pause_after=None, pause=None):
    """POST ``chunks`` with Transfer-Encoding: chunked; ``pause()`` runs after chunk ``pause_after`` is sent."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.putrequest("POST", path)
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        for i, chunk in enumerate(chunks):
            try:
                conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except (BrokenPipeError, ConnectionResetError):
                break  # the server answered 413 and closed before the whole body went out
            if i == pause_after:
                pause()
        else:
            conn.send(b"0\r\n\r\n")
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def test_both_protocols_errors_metrics_and_graceful_sigterm(server, mlp_io, multi_io):
    proc, port, log_path = server
    (x,), (y,) = mlp_io

    # TF Serving REST and V2 agree with real Keras.
    status, _, body = request(port, "POST", "/v1/models/mlp:predict", {"instances": x.tolist()})
    assert status == 200, body
    np.testing.assert_allclose(np.array(body["predictions"]), y, rtol=1e-4, atol=1e-5)
    xs, ys = multi_io
    inputs = [{"name": n, "shape": list(a.shape), "datatype": "FP32", "data": a.ravel().tolist()}
              for n, a in zip(["input_a", "input_b", "input_c"], xs)]
    status, _, body = request(port, "POST", "/v2/models/multi/infer", {"id": "e2e", "inputs": inputs})
    assert status == 200 and body["id"] == "e2e", body
    np.testing.assert_allclose(np.array(body["outputs"][1]["data"]).reshape(ys[1].shape), ys[1], rtol=1e-4,
                               atol=1e-5)
    assert request(port, "GET", "/v1/models/multi")[2]["model_version_status"][0]["state"] == "AVAILABLE"
    assert request(port, "GET", "/v2/models/mlp")[2]["inputs"] == [
        {"name": "features", "datatype": "FP32", "shape": [-1, 8]}]
    assert "/v2/models/{name}/infer" in request(port, "GET", "/openapi.json")[2]["paths"]

    # Client mistakes: JSON errors, never a 500, and the workers keep serving.
    status, _, body = request(port, "POST", "/v1/models/mlp:predict", b'{"instances": [[1, 2]', {})
    assert status == 400 and "malformed JSON" in body["error"]
    status, _, body = request(port, "POST", "/v1/models/mlp:predict", {"instances": [[1.0] * 7]})
    assert status == 400 and "axis 1" in body["error"]
    status, _, body = request(port, "POST", "/v1/models/mlp:predict", b"{}", {"Content-Type": "text/plain"})
    assert status == 415
    status, _, body = request(port, "GET", "/v1/models/ghost")
    assert status == 404 and "ghost" in body["error"]

    # A chunked body over --max-body-mb (no Content-Length to trust) is a 413, also when read off the stream.
    piece = b"[" + b"0.5," * 50000 + b"0.5],"
    status, body = send_chunked(port, "/v1/models/mlp:predict", [b'{"instances": ['] + [piece] * 20 + [b"[]]}"])
    assert status == 413 and "too large" in body["error"], body
    status, body = send_chunked(port, "/v1/models/mlp:predict", [b'{"instances": ', json.dumps(x.tolist()).encode(),
                                                               b"}"])
    assert status == 200, body

    # Metrics add up over both workers: send requests concurrently until both workers have served some.
    metrics_dir = re.search(r"gathered in (\S+)", open(log_path).read()).group(1)
    sent = 0
    deadline = time.monotonic() + 90  # on a loaded machine one worker can take every request for a while
    while time.monotonic() < deadline:
        threads = [threading.Thread(target=request, args=(port, "POST", "/v1/models/mlp:predict",
                                                          {"instances": x[:1].tolist()})) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        sent += len(threads)
        if len(glob.glob(os.path.join(metrics_dir, "counter_*.db"))) >= 2:
            break
    assert len(glob.glob(os.path.join(metrics_dir, "counter_*.db"))) >= 2, "only one worker answered"
    for _ in range(4):  # whichever worker answers /metrics reports the same totals
        text = request(port, "GET", "/metrics")[2]
        found = re.search(r'keraslite_requests_total\{endpoint="tfserving.predict",model="mlp",status="200"\} (\S+)',
                          text)
        assert found and float(found.group(1)) == sent + 2, text[:2000]  # + the first predict, + chunked one

    # SIGTERM while a request is in flight (its body half sent): the request completes, then the server exits 0.
    body = json.dumps({"instances": x.tolist()}).encode()
    half = len(body) // 2
    status, answer = send_chunked(port, "/v1/models/mlp:predict", [body[:half], body[half:]], pause_after=0,
                                  pause=lambda: (time.sleep(1.0), proc.send_signal(signal.SIGTERM), time.sleep(1.0)))
    assert status == 200, answer
    np.testing.assert_allclose(np.array(answer["predictions"]), y, rtol=1e-4, atol=1e-5)
    assert proc.wait(timeout=60) == 0, open(log_path).read()[-3000:]
    assert not os.path.exists(metrics_dir), "the launcher removes its metrics directory on exit"
