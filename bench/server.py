"""Load benchmark of `keraslite serve` against a bare Flask hello-world under the same gunicorn settings.

    python bench/server.py                       # the demo MLP, or tests/fixtures/keras2/mlp_basic.h5
    python bench/server.py --model m.h5 --requests 5000 --clients 8 --workers 2 --threads 4

Both servers run as real processes on 127.0.0.1; the same number of keep-alive connections send the same batch-1
JSON body. The load comes from `wrk` when it is installed (`apt-get install wrk`: a C client that takes little CPU
from the 2 cores the servers share) for --seconds, else from threads of this process for --requests requests
(a GIL-bound client whose own queueing inflates every latency; `--client python` forces it). The report gives requests/s and p50/p90/p99 latency of each and their ratio, so
the server's own overhead (routing, validation, predict, metrics) is visible. Targets on the team's 2-core
machine: >= 500 requests/s and p99 <= 20 ms for the batch-1 MLP. Not a test: nothing here asserts on time.
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
READY_SECONDS = 180


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def hello_main(port, workers, threads):
    """Run the peer: a bare Flask app answering POST with a fixed small JSON, under the same gunicorn settings."""
    from flask import Flask, jsonify, request
    from gunicorn.app.base import BaseApplication

    app = Flask("hello")

    @app.post("/predict")
    def predict():
        request.get_data()
        return jsonify({"predictions": [[0.25, 0.25, 0.25, 0.25]]})

    @app.get("/ready")
    def ready():
        return "ok"

    class Hello(BaseApplication):
        def load_config(self):
            for key, value in {"bind": f"127.0.0.1:{port}", "workers": workers, "threads": threads,
                               "worker_class": "gthread", "keepalive": 5, "loglevel": "warning"}.items():
                self.cfg.set(key, value)
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)

        def load(self):
            return app

    Hello().run()


def wait_ready(proc, port, path):
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"server on port {port} not ready after {READY_SECONDS}s")


def load(port, path, body, total, clients):
    """``total`` POSTs from ``clients`` keep-alive connections; returns (seconds, latencies in ms, errors)."""
    per_client = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]
    latencies, errors = [[] for _ in range(clients)], [0] * clients
    headers = {"Content-Type": "application/json"}

    def run(i):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for _ in range(per_client[i]):
            start = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    errors[i] += 1
            except (OSError, http.client.HTTPException):
                errors[i] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            latencies[i].append((time.perf_counter() - start) * 1000)
        conn.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, np.concatenate([np.array(l) for l in latencies]), sum(errors)


WRK_SCRIPT = """local f = io.open(os.getenv("KERASLITE_BENCH_BODY"), "rb"); local body = f:read("*a"); f:close()
wrk.method = "POST"; wrk.body = body; wrk.headers["Content-Type"] = "application/json"
"""


def _ms(text):
    value, unit = float(text[:-2] if text.endswith(("ms", "us")) else text[:-1]), text[-2:]
    return value / 1000 if unit == "us" else value if unit == "ms" else value * 1000


def load_wrk(port, path, body, seconds, clients):
    """wrk for ``seconds`` with ``clients`` connections; returns (requests/s, p50, p90, p99 in ms, errors)."""
    import re
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        script, body_file = os.path.join(tmp, "post.lua"), os.path.join(tmp, "body.json")
        with open(script, "w") as fh:
            fh.write(WRK_SCRIPT)
        with open(body_file, "wb") as fh:
            fh.write(body)
        out = subprocess.run(["wrk", "-t2", f"-c{clients}", f"-d{seconds}s", "--latency", "-s", script,
                              f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, timeout=seconds + 60,
                             env={**os.environ, "KERASLITE_BENCH_BODY": body_file}).stdout
    pct = {int(m.group(1)): _ms(m.group(2)) for m in re.finditer(r"^\s+(\d+)%\s+([\d.]+\w+)$", out, re.M)}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return rps, pct[50], pct[90], pct[99], errors


def measure(name, cmd, port, ready_path, path, body, args):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        wait_ready(proc, port, ready_path)
        load(port, path, body, min(500, args.requests), args.clients)  # warm connections and caches
        if args.client == "wrk":
            rps, p50, p90, p99, errors = load_wrk(port, path, body, args.seconds, args.clients)
        else:
            seconds, lat, errors = load(port, path, body, args.requests, args.clients)
            rps, (p50, p90, p99) = args.requests / seconds, np.percentile(lat, [50, 90, 99])
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    row = {"name": name, "rps": rps, "p50": p50, "p90": p90, "p99": p99, "errors": errors}
    print(f"{name:<22} {row['rps']:>9.0f} req/s   p50 {p50:6.2f} ms   p90 {p90:6.2f} ms   p99 {p99:6.2f} ms   "
          f"errors {errors}", flush=True)
    return row


def default_model():
    demo = os.path.join(ROOT, "demo", "digits.h5")
    return demo if os.path.exists(demo) else os.path.join(ROOT, "tests", "fixtures", "keras2", "mlp_basic.h5")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=default_model())
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--seconds", type=int, default=15, help="wrk run length per server")
    parser.add_argument("--hello-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hello_server:
        return hello_main(args.hello_server, args.workers, args.threads)
    if args.client == "auto":
        args.client = "wrk" if shutil.which("wrk") else "python"

    sys.path.insert(0, os.path.dirname(ROOT))
    from keraslite import runtime

    model = runtime.load(args.model)
    shape = tuple(1 if d is None else d for d in model.inputs[0].shape)
    x = np.random.default_rng(0).random(shape).astype("float32")
    body = json.dumps({"instances": x.tolist()}).encode()
    amount = f"{args.seconds} s of wrk" if args.client == "wrk" else f"{args.requests} python-client"
    print(f"model {os.path.relpath(args.model, ROOT)} input {model.inputs[0].shape}; {amount} batch-1 requests, "
          f"{args.clients} keep-alive connections, gunicorn gthread {args.workers} workers x {args.threads} threads, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}", flush=True)
    settings = ["--workers", str(args.workers), "--threads", str(args.threads)]
    port = free_port()
    hello = measure("flask hello-world", [sys.executable, __file__, "--hello-server", str(port), *settings], port,
                    "/ready", "/predict", body, args)
    port = free_port()
    served = measure("keraslite TF predict", [sys.executable, "-m", "keraslite", "serve", f"m={args.model}",
                                              "--port", str(port), *settings], port, "/v2/health/ready",
                     "/v1/models/m:predict", body, args)
    v2_body = json.dumps({"inputs": [{"name": model.inputs[0].name, "shape": list(shape), "datatype": "FP32",
                                      "data": x.ravel().tolist()}]}).encode()
    port = free_port()
    v2 = measure("keraslite V2 infer", [sys.executable, "-m", "keraslite", "serve", f"m={args.model}", "--port",
                                        str(port), *settings], port, "/v2/health/ready", "/v2/models/m/infer",
                 v2_body, args)
    print(f"keraslite / hello-world throughput: TF {served['rps'] / hello['rps']:.2f}, "
          f"V2 {v2['rps'] / hello['rps']:.2f}")


if __name__ == "__main__":
    sys.exit(main())
