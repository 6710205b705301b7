"""Plain requests straight to WSGI: keraslite's worker parses an ordinary head and writes the answer itself.

gunicorn's request parser, environ builder and Response object cost about as much Python per request as the
model's whole batch-1 predict. For a head that is plainly well-formed (origin-form target, HTTP/1.0 or 1.1, token
header names without underscores, printable values, within gunicorn's size limits, none of the proxy headers
gunicorn interprets), ``parse_head`` returns what the environ needs; anything else returns None and the worker
hands the head to gunicorn's parser, which then accepts it or answers the precise error. So this never accepts a
head that gunicorn would refuse, and a strange one gets gunicorn's own judgement.
"""
from __future__ import annotations

import re
import sys
import time
from email.utils import formatdate
from typing import List, Optional, Tuple
from urllib.parse import unquote_to_bytes

_REQUEST_LINE = re.compile(rb"([A-Z]{1,20}) (/[!-~]*) HTTP/1\.([01])")
_HEADER = re.compile(rb"([!#$%&'*+.^`|~0-9A-Za-z-]+):[ \t]*((?:[!-~\x80-\xff](?:[ \t]*[!-~\x80-\xff])*)?)[ \t]*")
NO_BODY_STATUS = (204, 304)
_date = [0, b""]


class Head:
    """A parsed request head: method, path, query, HTTP minor version, headers (upper-case names, joined)."""

    __slots__ = ("method", "path", "query", "minor", "headers")

    def __init__(self, method, path, query, minor, headers):
        self.method, self.path, self.query, self.minor, self.headers = method, path, query, minor, headers

    def wants_keepalive(self) -> bool:
        """HTTP/1.1 keeps the connection unless ``Connection: close``; HTTP/1.0 only with ``keep-alive``."""
        tokens = {t.strip().lower() for t in self.headers.get("CONNECTION", "").split(",")}
        return "close" not in tokens if self.minor == 1 else "keep-alive" in tokens


def parse_head(head: bytes, cfg) -> Optional[Head]:
    """The head of a plainly well-formed request, or None to let gunicorn's parser judge it."""
    lines = head[:-4].split(b"\r\n")
    line = _REQUEST_LINE.fullmatch(lines[0])
    if line is None or len(lines) - 1 > cfg.limit_request_fields or len(lines[0]) > cfg.limit_request_line:
        return None
    special = (set(cfg.secure_scheme_headers) | set(getattr(cfg, "forwarder_headers", ()))  # gunicorn >= 22
               | {"SCRIPT_NAME", "PATH_INFO"})
    headers = {}
    for raw in lines[1:]:
        field = _HEADER.fullmatch(raw)
        if field is None or len(raw) > cfg.limit_request_field_size:
            return None
        name = field.group(1).decode("latin-1").upper()
        if name in special:
            return None
        value = field.group(2).decode("latin-1")
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    if headers.get("EXPECT", "100-continue").lower() != "100-continue":
        return None  # gunicorn answers 417
    target = line.group(2).split(b"#", 1)[0]
    path, _, query = target.partition(b"?")
    return Head(line.group(1).decode("ascii"), unquote_to_bytes(path).decode("latin-1"), query.decode("latin-1"),
                int(line.group(3)), headers)


def environ_for(head: Head, body, addr, server, multiprocess: bool) -> dict:
    """The WSGI environ of ``head`` with its body already read (``wsgi.input`` is set by the caller)."""
    environ = {
        "REQUEST_METHOD": head.method, "SCRIPT_NAME": "", "PATH_INFO": head.path, "QUERY_STRING": head.query,
        "SERVER_PROTOCOL": f"HTTP/1.{head.minor}", "SERVER_SOFTWARE": "keraslite",
        "SERVER_NAME": str(server[0]) if isinstance(server, tuple) else str(server),
        "SERVER_PORT": str(server[1]) if isinstance(server, tuple) else "",
        "REMOTE_ADDR": addr[0] if isinstance(addr, tuple) else str(addr or ""),
        "REMOTE_PORT": str(addr[1]) if isinstance(addr, tuple) else "",
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "wsgi.multithread": True,
        "wsgi.multiprocess": multiprocess, "wsgi.run_once": False, "wsgi.input_terminated": True,
    }
    for name, value in head.headers.items():
        if name == "CONTENT-TYPE":
            environ["CONTENT_TYPE"] = value
        elif name not in ("CONTENT-LENGTH", "TRANSFER-ENCODING"):  # the body is whole and de-chunked
            environ["HTTP_" + name.replace("-", "_")] = value
    if body or "CONTENT-LENGTH" in head.headers or "TRANSFER-ENCODING" in head.headers:
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ


def call_app(app, environ) -> Tuple[str, List[Tuple[str, str]], List[bytes]]:
    """Run a WSGI app to the end: its status, headers and body chunks."""
    answer = {}
    chunks: List[bytes] = []

    def start_response(status, headers, exc_info=None):
        if exc_info and answer:
            raise exc_info[1].with_traceback(exc_info[2])
        answer["status"], answer["headers"] = status, headers
        return chunks.append

    result = app(environ, start_response)
    try:
        for chunk in result:
            if chunk:
                chunks.append(chunk)
    finally:
        if hasattr(result, "close"):
            result.close()
    return answer["status"], answer["headers"], chunks


def http_date() -> bytes:
    """The Date header's value, formatted once a second."""
    now = int(time.time())
    if _date[0] != now:
        _date[:] = [now, formatdate(now, usegmt=True).encode("ascii")]
    return _date[1]


def serialize(status: str, headers, chunks, keep: bool, minor: int, head_only: bool) -> List[bytes]:
    """The bytes of an HTTP/1.x answer with a Content-Length (the body is whole in memory)."""
    code = int(status[:3])
    size = sum(len(c) for c in chunks)
    lines = [b"HTTP/1.1 %s\r\nDate: %s\r\n" % (status.encode("latin-1"), http_date())]
    for name, value in headers:
        lower = name.lower()
        if lower not in ("content-length", "connection", "transfer-encoding", "date", "server"):
            lines.append(b"%s: %s\r\n" % (name.encode("latin-1"), value.encode("latin-1")))
    if code not in NO_BODY_STATUS and code >= 200:
        lines.append(b"Content-Length: %d\r\n" % size)
    lines.append(b"Connection: keep-alive\r\n\r\n" if keep and minor == 0 else
                 b"\r\n" if keep else b"Connection: close\r\n\r\n")
    head = b"".join(lines)
    if head_only or code in NO_BODY_STATUS:
        return [head]
    return [head, *chunks]
