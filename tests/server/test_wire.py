"""What reaches a real gunicorn server on the wire: slow clients, broken framing, oversized heads, huge echoes."""
import json
import re
import socket
import threading
import time

import pytest

PREDICT = "/v1/models/mlp:predict"
HEAD = f"POST {PREDICT} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"


@pytest.fixture(scope="module")
def server(serve_module, mlp_file):
    return serve_module(f"mlp={mlp_file}", "--workers", 2, "--threads", 2, "--header-timeout", 1.5,
                        "--body-timeout", 2, "--max-body-mb", 16, "--max-batch", 200000)


def exchange(port, data: bytes, timeout=30):
    """Send raw bytes, read until the server closes; ``(status, JSON body or raw text)``."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        return read_answer(sock)


def read_answer(sock):
    raw = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
    except ConnectionResetError:
        pass
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/") else None
    is_json = b"content-type: application/json" in head.lower()
    return status, json.loads(body) if is_json else raw


def chunked(*pieces: bytes) -> bytes:
    return (HEAD + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode() + b"".join(pieces)


def test_slow_and_never_reading_clients_do_not_stall_other_clients(server):
    results = {}

    def trickle(name, first: bytes, step: bytes, steps=32):
        """Send ``first`` then ``step`` every 0.25 s (a line of headers, a byte of body) until the server closes."""
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        try:
            sock.sendall(first)
            for _ in range(steps):
                time.sleep(0.25)
                sock.sendall(step)
        except OSError:
            pass  # the server gave up on us, as it should
        results[name] = read_answer(sock)
        sock.close()

    body = b'{"instances": [' + b",".join([b"[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]"] * 150000) + b"]}"
    never_readers = []
    for _ in range(2):  # ask for a ~6 MB answer, with a tiny receive window, and never read it
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        sock.sendall(f"{HEAD}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        never_readers.append(sock)
    threads = [threading.Thread(target=trickle, args=(f"head{i}", HEAD.encode(), b"X-Slow: 1\r\n"))
               for i in range(6)]
    threads += [threading.Thread(target=trickle, args=(f"body{i}", (HEAD + "Content-Length: 1000\r\n\r\n").encode(),
                                                       b"0")) for i in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    try:
        # Every thread of both workers would be taken by now if slow clients could hold them.
        for _ in range(10):
            status, _, answer = server.request("POST", PREDICT, {"instances": [[0.5] * 8]}, timeout=10)
            assert status == 200 and len(answer["predictions"]) == 1
    finally:
        for t in threads:
            t.join(timeout=60)
    for i in range(6):
        status, answer = results[f"head{i}"]
        assert status == 408 and "--header-timeout" in answer["error"], answer
    for i in range(3):
        status, answer = results[f"body{i}"]
        assert status == 408 and "--body-timeout" in answer["error"], answer
    # The clients that never read are dropped once they have not taken their answer within --body-timeout.
    for _ in range(300):
        if server.log().count("did not take its answer") >= 2:
            break
        time.sleep(0.1)
    assert server.log().count("did not take its answer") >= 2, server.log()[-2000:]
    for sock in never_readers:
        sock.close()
    assert server.request("POST", PREDICT, {"instances": [[0.5] * 8]})[0] == 200


@pytest.mark.parametrize("framing, words", [
    (b"zz\r\n{}\r\n0\r\n\r\n", ["chunk size", "hexadecimal"]),
    (b"-5\r\n{}\r\n0\r\n\r\n", ["chunk size", "hexadecimal"]),
    (b"2\r\n{}XX0\r\n\r\n", ["not followed by CRLF"]),
    (b"2;\x01bad\r\n{}\r\n0\r\n\r\n", ["chunk extension"]),
    (b"2 ; =x\r\n{}\r\n0\r\n\r\n", ["chunk extension"]),
])
def test_malformed_chunked_encoding_is_a_400_json_error(server, framing, words):
    status, answer = exchange(server.port, chunked(framing))
    assert status == 400, answer
    for word in words:
        assert word in answer["error"], answer


def test_well_formed_chunked_body_with_extension_and_trailer(server):
    body = json.dumps({"instances": [[0.5] * 8]}).encode()
    framing = b"%x;name=value\r\n%s\r\n0\r\nX-Trailer: 1\r\n\r\n" % (len(body), body)
    status, answer = exchange(server.port, chunked(framing))
    assert status == 200 and len(answer["predictions"]) == 1, answer


@pytest.mark.parametrize("request_bytes, status, words", [
    (b"GARBAGE\r\n\r\n", 400, ["bad request"]),
    (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414, ["Request Line", "4094"]),
    (b"GET /v2 HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431, ["LimitRequestHeaders"]),
    (b"GET /v2 HTTP/1.1\r\nHost: t\r\n" + b"X-Many: 1\r\n" * 120 + b"\r\n", 431, ["LimitRequestHeaders"]),
    (b"GET /v2 HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 70000, 431, ["headers larger"]),  # never ends
    (b"GET /v2 HTTP/9.9\r\nHost: t\r\n\r\n", 400, ["HTTP"]),
    ((HEAD + "Content-Length: abc\r\n\r\n").encode(), 400, ["Content-Length"]),
    ((HEAD + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n").encode(), 400, ["Content-Length"]),
    ((HEAD + "Transfer-Encoding: gzip\r\n\r\n").encode(), 501, ["Transfer-Encoding", "chunked"]),
    ((HEAD + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n").encode(), 400, ["both"]),
    ((HEAD + f"Content-Length: {17 << 20}\r\n\r\n").encode(), 413, ["too large", "--max-body-mb"]),
])
def test_errors_before_the_app_are_json_too(server, request_bytes, status, words):
    got, answer = exchange(server.port, request_bytes)
    assert got == status, answer
    assert isinstance(answer, dict) and set(answer) == {"error"}, answer
    for word in words:
        assert word in answer["error"], answer


def test_a_huge_quoted_value_is_clipped_in_the_error(server):
    status, _, answer = server.request("POST", PREDICT, {"signature_name": "x" * (10 << 20), "instances": [[1] * 8]})
    assert status == 400 and "signature_name" in answer["error"] and "10485760 characters" in answer["error"]
    assert len(answer["error"]) < 300


def test_max_batch_refuses_more_rows_with_413(server):
    status, _, answer = server.request("POST", PREDICT, {"instances": [[0.5] * 8] * 200001})
    assert status == 413 and "200001 rows" in answer["error"] and "--max-batch" in answer["error"], answer
    rows = [{"name": "features", "shape": [200001, 8], "datatype": "FP32", "data": [0.5] * 8}]
    status, _, answer = server.request("POST", "/v2/models/mlp/infer", {"inputs": rows})
    assert status == 413 and "--max-batch" in answer["error"], answer


def test_expect_100_continue_pipelining_and_http_1_0(server):
    body = json.dumps({"instances": [[0.5] * 8]}).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(f"{HEAD}Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n".encode())
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"  # asked for before the body is sent
        one = f"{HEAD}Content-Length: {len(body)}\r\n\r\n".encode() + body
        sock.sendall(body + one + one[:-5])  # its body, a second request, and most of a third
        time.sleep(0.2)
        sock.sendall(one[-5:])
        answers, raw = [], b""
        while len(answers) < 3:
            raw += sock.recv(65536)
            while b"\r\n\r\n" in raw:
                head, rest = raw.split(b"\r\n\r\n", 1)
                length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
                if len(rest) < length:
                    break
                answers.append((head.split(b" ")[1], json.loads(rest[:length])))
                raw = rest[length:]
    assert [status for status, _ in answers] == [b"200"] * 3
    status, answer = exchange(server.port, f"POST {PREDICT} HTTP/1.0\r\nContent-Type: application/json\r\n"
                                           f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    assert status == 200 and len(answer["predictions"]) == 1  # HTTP/1.0: answered, then closed


def test_heads_left_to_gunicorns_parser_are_answered_the_same(server):
    body = json.dumps({"instances": [[0.5] * 8]}).encode()
    # An underscore in a header name and an absolute-form target are not "plain": gunicorn's parser takes them.
    for extra, target in (("X_Odd: 1\r\n", PREDICT), ("", f"http://127.0.0.1:{server.port}{PREDICT}")):
        request = (f"POST {target} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n{extra}"
                   f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
        status, answer = exchange(server.port, request)
        assert status == 200 and len(answer["predictions"]) == 1, answer
