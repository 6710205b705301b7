"""Memory of a real gunicorn worker answering one 100,000-row request (a 25 MB body) to the demo model."""
import time

import numpy as np
import orjson
import pytest

from keraslite.server.config import demo_model_path


def rss_mb(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(field + ":")) / 1024


@pytest.fixture(scope="module")
def server(serve_module):
    return serve_module(f"digits={demo_model_path()}", "--workers", 1, "--threads", 2)


def test_a_large_request_peaks_under_4x_its_body_and_memory_is_given_back(server):
    rows = np.random.default_rng(0).integers(0, 17, (100000, 64))  # digit pixels, as the demo model takes them
    # json.dumps' spacing (", "), as most clients send it: 21 MB, about 3.4 bytes of text per value.
    body = orjson.dumps({"instances": rows}, option=orjson.OPT_SERIALIZE_NUMPY).replace(b",", b", ")
    small = {"instances": rows[:2].tolist()}
    for _ in range(20):  # settle: every code path of a predict has run once
        assert server.request("POST", "/v1/models/digits:predict", small)[0] == 200
    (worker,) = server.workers()
    idle = rss_mb(worker)
    with open(f"/proc/{worker}/clear_refs", "w") as fh:
        fh.write("5")  # reset the peak (VmHWM) to the current RSS
    status, _, answer = server.request("POST", "/v1/models/digits:predict", body, timeout=120)
    assert status == 200 and len(answer["predictions"]) == 100000
    peak, body_mb = rss_mb(worker, "VmHWM"), len(body) / 2 ** 20
    assert peak - idle < 4 * body_mb, (idle, peak, body_mb)
    for _ in range(50):  # the worker hands memory back just after the last byte of the answer is sent
        after = rss_mb(worker)
        if after <= 1.2 * idle:
            break
        time.sleep(0.1)
    print(f"worker RSS: idle {idle:.0f} MB, peak {peak:.0f} MB, after {after:.0f} MB; body {body_mb:.0f} MB")
    assert after <= 1.2 * idle, (idle, peak, after, body_mb)
