"""A real gunicorn server through worker exits, reloads, kill -9 and a SIGTERM drain (one server, in order)."""
import glob
import http.client
import json
import os
import re
import shutil
import signal
import socket
import threading
import time

import pytest

PREDICT = "/v1/models/mlp:predict"
ROW = {"instances": [[0.5] * 8]}


@pytest.fixture(scope="module")
def server(serve_module, mlp_file):
    return serve_module(f"mlp={mlp_file}", "--workers", 2, "--threads", 2)


def metrics_dir(server):
    return re.search(r"gathered in (\S+)", server.log()).group(1)


def wait_for_workers(server, old, replaced_all=False):
    """Until two workers run, at least one (or every one) of them new, and the server is ready."""
    def fresh():
        now = server.workers()
        new = [p for p in now if p not in old]
        return len(now) == 2 and (len(new) == 2 if replaced_all else new) and all(
            f"worker {p} ready" in server.log() for p in new)
    server.wait_ready(fresh)
    return [p for p in server.workers() if p not in old]


def served_by(directory, pid):
    """keraslite_requests_total recorded by one worker, read from its multiprocess file."""
    from prometheus_client import CollectorRegistry, multiprocess

    files = glob.glob(os.path.join(directory, f"counter_{pid}.db"))
    if not files:
        return 0.0
    with_one = os.path.join(os.path.dirname(directory), f"one-{pid}")
    shutil.rmtree(with_one, ignore_errors=True)
    os.makedirs(with_one)
    shutil.copy(files[0], with_one)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=with_one)
    total = sum(s.value for m in registry.collect() if m.name == "keraslite_requests" for s in m.samples
                if s.name == "keraslite_requests_total")
    shutil.rmtree(with_one, ignore_errors=True)
    return total


def assert_serving_with_metrics(server, directory):
    assert os.path.isdir(directory), "the metrics folder was removed while the server runs"
    statuses = [server.request("POST", PREDICT, ROW)[0] for _ in range(12)]
    statuses += [server.request("POST", PREDICT, {"instances": [[0.5] * 3]})[0] for _ in range(4)]  # new labels
    assert statuses == [200] * 12 + [400] * 4
    status, _, text = server.request("GET", "/metrics")
    assert status == 200 and 'status="400"' in text, text[:500]


def test_connections_spread_to_a_worker_restarted_after_kill_9(server):
    directory = metrics_dir(server)
    stop, answered, lock = threading.Event(), [0], threading.Lock()
    body = json.dumps(ROW).encode()

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        for _ in range(20000):  # bounded; the test stops the clients long before
            if stop.is_set():
                break
            try:
                conn.request("POST", PREDICT, body=body, headers={"Content-Type": "application/json"})
                conn.getresponse().read()
                with lock:
                    answered[0] += 1
            except (OSError, http.client.HTTPException):
                conn.close()  # the killed worker's connections: reconnect
                time.sleep(0.05)
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    try:
        while answered[0] < 200:
            time.sleep(0.05)
        before = server.workers()
        os.kill(before[0], signal.SIGKILL)
        (replacement,) = wait_for_workers(server, before)
        start = answered[0]
        while answered[0] < start + 8 * 1000 and served_by(directory, replacement) == 0:
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert served_by(directory, replacement) > 0, "the restarted worker got no traffic from keep-alive clients"


def test_metrics_survive_a_worker_exit_and_a_reload(server):
    directory = metrics_dir(server)
    assert_serving_with_metrics(server, directory)
    before = server.workers()
    os.kill(before[0], signal.SIGTERM)  # one worker's graceful exit
    wait_for_workers(server, before)
    assert_serving_with_metrics(server, directory)

    before = server.workers()
    server.proc.send_signal(signal.SIGHUP)  # reload: every worker replaced, the master stays
    wait_for_workers(server, before, replaced_all=True)
    assert_serving_with_metrics(server, directory)
    assert server.request("GET", "/v2/health/ready")[2] == {"ready": True}


def test_ready_turns_false_when_metrics_cannot_be_recorded(server):
    shutil.rmtree(metrics_dir(server))  # what the launcher's clean-up used to do from inside a worker
    status, _, body = server.request("GET", "/v2/health/ready")
    assert status == 503 and body["ready"] is False and "metrics folder" in body["reason"], body
    assert server.request("GET", "/v2/models/mlp/ready")[0] == 503
    # Predictions do not fail because a metric cannot be written.
    assert [server.request("POST", PREDICT, ROW)[0] for _ in range(4)] == [200] * 4


def test_sigterm_drain_finishes_requests_and_refuses_new_connections(server):
    x = json.dumps(ROW).encode()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.putrequest("POST", PREDICT)
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(len(x)))
    conn.endheaders()
    conn.send(x[:10])  # a request in flight when SIGTERM arrives
    time.sleep(0.3)
    server.proc.send_signal(signal.SIGTERM)
    outcome = None
    for _ in range(40):
        time.sleep(0.1)
        try:
            socket.create_connection(("127.0.0.1", server.port), timeout=5).close()
            outcome = "accepted"
        except ConnectionRefusedError:
            outcome = "refused"
            break
    assert outcome == "refused", "new connections during the drain were accepted (and later reset)"
    conn.send(x[10:])
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("Connection") == "close"
    assert len(json.loads(resp.read())["predictions"]) == 1
    assert server.proc.wait(timeout=60) == 0, server.log()[-3000:]
