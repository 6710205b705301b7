"""Load benchmark of `keraslite serve` against a Flask + onnxruntime server under the same gunicorn settings.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /work/venvs/dev/bin/python bench/server.py [--rounds 3]
        [--seconds 10] [--clients 8] [--workers 2] [--threads 2] [--cases mlp,mlp-v2,cnn,mlp-32]

The peer is the server a user would write by hand: a Flask app whose ``:predict`` route reads the body with
``request.get_json()``, runs an onnxruntime session (the model exported by keraslite's own exporter, one
intra-op thread per worker as keraslite gets) and answers ``jsonify`` of the outputs, run by gunicorn with the same
workers, threads (``gthread``) and keep-alive. Models: the 784-512-10 MLP and the CNN (32x32x3 input: 3,072 floats)
of bench/runtime.py, random weights. The peer's listening socket gets TCP_NODELAY (see ``nodelay``), as keraslite's
worker sets it, so Nagle's algorithm is not what is measured. Both servers run at once on 127.0.0.1, each loaded in turn by `wrk`
(apt-get install wrk) with keep-alive connections sending one batch-1 JSON body; rounds alternate between the two
so drifts of this shared machine hit both. Reported per server: the median over rounds of requests/s and of p99
latency, and their ratio. Not a test: nothing here asserts on time.
"""
import argparse
import http.client
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
READY_SECONDS = 180
CASES = {  # name: (model, endpoint, connections or None for --clients)
    "mlp": ("mlp", "tf", None), "mlp-v2": ("mlp", "v2", None), "cnn": ("cnn", "tf", None),
    "mlp-32": ("mlp", "tf", 32),
}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def peer_main(onnx_path, port, workers, threads):
    """The peer: Flask + onnxruntime under gunicorn gthread, as a user would write it."""
    import onnxruntime as ort
    from flask import Flask, jsonify, request
    from gunicorn.app.base import BaseApplication

    app = Flask("peer")
    state = {}

    @app.post("/v1/models/m:predict")
    def predict():
        if "session" not in state:  # made in the worker, after the fork
            options = ort.SessionOptions()
            options.intra_op_num_threads = max(1, (os.cpu_count() or 1) // workers)
            options.inter_op_num_threads = 1
            state["session"] = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
            state["input"] = state["session"].get_inputs()[0].name
        x = np.asarray(request.get_json()["instances"], dtype=np.float32)
        (y,) = state["session"].run(None, {state["input"]: x})
        return jsonify({"predictions": y.tolist()})

    @app.get("/ready")
    def ready():
        return "ok"

    def nodelay(server):
        # gunicorn sends an answer's head and body in two writes and leaves Nagle's algorithm on, so the body can
        # wait for the client's delayed ACK (sequential requests took 35 ms instead of 16-20 ms on the loaded
        # benchmark machine). Accepted sockets inherit TCP_NODELAY from the listener; keraslite's worker sets it.
        for listener in server.LISTENERS:
            listener.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    class Peer(BaseApplication):
        def load_config(self):
            for key, value in {"bind": f"127.0.0.1:{port}", "workers": workers, "threads": threads,
                               "worker_class": "gthread", "keepalive": 5, "loglevel": "warning",
                               "when_ready": nodelay}.items():
                self.cfg.set(key, value)
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)

        def load(self):
            return app

    Peer().run()


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
            pass
        time.sleep(0.3)
    raise SystemExit(f"server on port {port} not ready after {READY_SECONDS}s")


def post(port, path, body):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    if resp.status != 200:
        raise SystemExit(f"POST {path} on port {port}: {resp.status} {data[:300]!r}")
    return json.loads(data)


WRK_SCRIPT = """local f = io.open(os.getenv("KERASLITE_BENCH_BODY"), "rb"); local body = f:read("*a"); f:close()
wrk.method = "POST"; wrk.body = body; wrk.headers["Content-Type"] = "application/json"
"""


def _ms(text):
    unit = re.search(r"[a-z]+$", text).group()
    return float(text[:-len(unit)]) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def wrk(port, path, body, seconds, connections):
    """``wrk`` for ``seconds``; returns (requests/s, p50, p99 in ms, errors)."""
    with tempfile.TemporaryDirectory() as tmp:
        script, body_file = os.path.join(tmp, "post.lua"), os.path.join(tmp, "body.json")
        with open(script, "w") as fh:
            fh.write(WRK_SCRIPT)
        with open(body_file, "wb") as fh:
            fh.write(body)
        out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script,
                              f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, timeout=seconds + 60,
                             env={**os.environ, "KERASLITE_BENCH_BODY": body_file}).stdout
    pct = {int(m.group(1)): _ms(m.group(2)) for m in re.finditer(r"^\s+(\d+)%\s+([\d.]+[a-z]+)\s*$", out, re.M)}
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if found is None or 99 not in pct:
        raise SystemExit(f"could not read wrk's report:\n{out}")
    rps = float(found.group(1))
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return rps, pct[50], pct[99], errors


def load_bench_runtime():
    """bench/runtime.py as a module: its model builders (the same MLP and CNN as the runtime benchmark)."""
    spec = importlib.util.spec_from_file_location("bench_runtime", os.path.join(ROOT, "bench", "runtime.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_models(out):
    from keraslite.converters import export_onnx
    from keraslite.format import write

    bench_runtime = load_bench_runtime()
    models = {}
    for name, make in (("mlp", bench_runtime.mlp), ("cnn", bench_runtime.cnn)):
        spec, make_x = make()
        h5, onnx_path = os.path.join(out, name + ".h5"), os.path.join(out, name + ".onnx")
        write(spec, h5)
        export_onnx(h5, onnx_path)
        models[name] = (h5, onnx_path, make_x(1))
    return models


def start(cmd, port, ready):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
                            start_new_session=True)
    wait_ready(proc, port, ready)
    return proc


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_case(case, models, args):
    model, protocol, connections = CASES[case]
    connections = connections or args.clients
    h5, onnx_path, x = models[model]
    settings = ["--workers", str(args.workers), "--threads", str(args.threads)]
    tf_body = json.dumps({"instances": x.tolist()}).encode()
    if protocol == "v2":
        body = json.dumps({"inputs": [{"name": "input", "shape": list(x.shape), "datatype": "FP32",
                                       "data": x.ravel().tolist()}]}).encode()
        path = "/v2/models/m/infer"
    else:
        body, path = tf_body, "/v1/models/m:predict"
    kl_port, peer_port = free_port(), free_port()
    keraslite = start([sys.executable, "-m", "keraslite", "serve", f"m={h5}", "--port", str(kl_port), *settings,
                       "--log-level", "warning"], kl_port, "/v2/health/ready")
    peer = start([sys.executable, __file__, "--peer", onnx_path, str(peer_port), *settings], peer_port, "/ready")
    try:
        # Same answer from both (within float32 tolerance), and warm connections and caches.
        got = np.array(post(kl_port, path, body)["outputs"][0]["data"] if protocol == "v2"
                       else post(kl_port, path, body)["predictions"]).reshape(-1)
        want = np.array(post(peer_port, "/v1/models/m:predict", tf_body)["predictions"]).reshape(-1)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
        for port, p in ((kl_port, path), (peer_port, "/v1/models/m:predict")):
            wrk(port, p, body if port == kl_port else tf_body, 2, connections)
        runs = {"keraslite": [], "peer": []}
        for r in range(args.rounds):
            order = [("keraslite", kl_port, path, body), ("peer", peer_port, "/v1/models/m:predict", tf_body)]
            for name, port, p, b in (order if r % 2 == 0 else order[::-1]):
                runs[name].append(wrk(port, p, b, args.seconds, connections))
                print(f"  {case:7s} round {r + 1} {name:9s} {runs[name][-1][0]:7.0f} req/s  "
                      f"p50 {runs[name][-1][1]:6.2f} ms  p99 {runs[name][-1][2]:6.2f} ms  errors {runs[name][-1][3]}",
                      flush=True)
    finally:
        stop(keraslite)
        stop(peer)
    summary = {name: (statistics.median(r[0] for r in rows), statistics.median(r[2] for r in rows),
                      sum(r[3] for r in rows)) for name, rows in runs.items()}
    return case, model, protocol, connections, summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10, help="wrk run length per round and server")
    parser.add_argument("--clients", type=int, default=8, help="keep-alive connections (the -32 case uses 32)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cases", default="mlp,mlp-v2,cnn,mlp-32")
    parser.add_argument("--peer", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:
        return peer_main(args.peer[0], int(args.peer[1]), args.workers, args.threads)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    sys.path.insert(0, os.path.dirname(ROOT))
    out = tempfile.mkdtemp(prefix="keraslite-bench-server-")
    models = build_models(out)
    load_before = os.getloadavg()
    print(f"{args.rounds} rounds of {args.seconds} s of wrk per server; gunicorn {args.workers} workers x "
          f"{args.threads} threads; {os.cpu_count()} cores; load average {load_before[0]:.2f}", flush=True)
    rows = [run_case(case, models, args) for case in args.cases.split(",")]
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}\n")
    print("| case | connections | keraslite req/s | peer req/s | ratio | keraslite p99 ms | peer p99 ms | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    labels = {"mlp": "MLP 784-512-10", "cnn": "CNN 32x32x3 (3,072 floats)"}
    for case, model, protocol, connections, s in rows:
        (k_rps, k_p99, k_err), (p_rps, p_p99, p_err) = s["keraslite"], s["peer"]
        what = f"{labels[model]}, {'V2 /infer' if protocol == 'v2' else 'TF :predict'} (peer: TF)"
        print(f"| {what} | {connections} | {k_rps:.0f} | {p_rps:.0f} | {k_rps / p_rps:.2f} | {k_p99:.2f} | "
              f"{p_p99:.2f} | {k_err + p_err} |")
    shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
