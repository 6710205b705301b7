"""Where one HTTP/1.x request ends: its head, then a body framed by Content-Length or chunked encoding.

keraslite's gunicorn worker feeds ``RequestReader`` the bytes of a connection as they arrive, in its event loop,
so a slow client waits there instead of holding a request thread. Only framing is decided here; the head is then
parsed in full by gunicorn's own parser. Anything that would make the two disagree about where the body ends
(two lengths, a length and chunked, an unknown transfer coding, folded header lines) is refused outright.
"""
from __future__ import annotations

import re
from typing import Optional

HEAD_LIMIT = 64 << 10  # bytes of request line + headers (gunicorn's own limits are checked again on the head)
LINE_LIMIT = 4096 + 2  # gunicorn's default limit_request_line, plus CRLF
CHUNK_LINE_LIMIT = 1024
TRAILER_LIMIT = 16 << 10
_HEX = re.compile(rb"[0-9A-Fa-f]{1,15}")
# chunk-ext = *( BWS ";" BWS token [ BWS "=" BWS ( token / quoted-string ) ] ), RFC 9112 section 7.1.1
_TOKEN = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_EXT = re.compile(rb"(?:[ \t]*;[ \t]*%s(?:[ \t]*=[ \t]*(?:%s|\"(?:[^\"\\\x00-\x08\x0a-\x1f\x7f]|\\[\t\x20-\x7e])*\"))?)*[ \t]*"
                  % (_TOKEN, _TOKEN))


class FramingError(Exception):
    """A request whose framing is broken: answer ``status`` with ``message`` and close the connection."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _short(raw: bytes, limit: int = 24) -> str:
    text = raw[:limit].decode("latin-1")
    return repr(text) + ("..." if len(raw) > limit else "")


class RequestReader:
    """The bytes of one request, fed in as they arrive; ``done`` once the head and the whole body are in.

    ``head`` holds the request line and headers (with the blank line); ``body`` the body, de-chunked. Bodies over
    ``max_body`` bytes raise a 413 FramingError as soon as that is known.
    """

    def __init__(self, max_body: int):
        self.max_body = max_body
        self.head: Optional[bytes] = None
        self.body = bytearray()
        self.done = False
        self.expect_continue = False
        self.chunked = False
        self._pending = bytearray()  # head bytes so far, or undecoded chunked framing
        self._need = 0  # bytes of body (Content-Length) or of the current chunk still to come
        self._filled = 0  # bytes of a Content-Length body received so far
        self._state = "head"

    @property
    def started(self) -> bool:
        return bool(self._pending) or self.head is not None

    @property
    def in_body(self) -> bool:
        return self.head is not None and not self.done

    def feed(self, data) -> bytes:
        """Take ``data``; returns the bytes past the end of this request (the next pipelined one), if done."""
        if self._state == "head":
            seen = len(self._pending)
            self._pending += data
            end = self._pending.find(b"\r\n\r\n", max(0, seen - 3))  # from where the last search stopped
            if end < 0:
                self._check_head_size()
                return b""
            head_end = end + 4
            self.head = bytes(self._pending[:head_end])
            data = bytes(self._pending[head_end:])
            self._pending = bytearray()
            self._frame()
        if self._state == "length":
            take = min(self._need, len(data))
            self.body[self._filled:self._filled + take] = memoryview(data)[:take]
            self.received(take)
            return bytes(data[take:]) if self.done else b""
        if self._state != "done":
            self._pending += data
            return self._dechunk()
        return bytes(data)

    def _check_head_size(self) -> None:
        first_line = self._pending.find(b"\r\n")
        if first_line < 0 and len(self._pending) > LINE_LIMIT or first_line > LINE_LIMIT:
            raise FramingError(414, f"request line longer than {LINE_LIMIT - 2} bytes")
        if len(self._pending) > HEAD_LIMIT:
            raise FramingError(431, f"request headers larger than {HEAD_LIMIT} bytes")

    def _frame(self) -> None:
        """Choose the body framing from the head's Content-Length and Transfer-Encoding headers."""
        lengths, codings = [], []
        for line in self.head.split(b"\r\n")[1:-2]:
            if line[:1] in (b" ", b"\t"):
                raise FramingError(400, "obsolete line folding in the request headers is not accepted")
            name, _, value = line.partition(b":")
            name = name.lower()
            if name == b"content-length":
                lengths.append(value.strip(b" \t"))
            elif name == b"transfer-encoding":
                codings.append(value.strip(b" \t").lower())
            elif name == b"expect" and value.strip(b" \t").lower() == b"100-continue":
                self.expect_continue = True
        if codings:
            if lengths:
                raise FramingError(400, "a request may not have both Content-Length and Transfer-Encoding")
            if codings != [b"chunked"]:
                raise FramingError(501, f"unsupported Transfer-Encoding {_short(b', '.join(codings))}; only "
                                        f"'chunked' is accepted")
            self.chunked, self._state = True, "size"
            return
        if len(set(lengths)) > 1 or (lengths and not lengths[0].isdigit()):
            raise FramingError(400, f"invalid Content-Length {_short(b', '.join(lengths))}")
        self._need = int(lengths[0]) if lengths else 0
        if self._need > self.max_body:
            raise FramingError(413, too_large(self.max_body))
        self.body = bytearray(self._need)  # allocated once: the body is received straight into it
        self._state = "length"
        if not self._need:
            self._finish()

    def space(self) -> Optional[memoryview]:
        """Where the rest of a Content-Length body goes (for ``recv_into``), else None."""
        if self._state == "length":
            return memoryview(self.body)[self._filled:]
        return None

    def received(self, count: int) -> None:
        """``count`` more body bytes were written into ``space()``."""
        self._filled += count
        self._need -= count
        if self._need == 0:
            self._finish()

    def _dechunk(self) -> bytes:
        """Decode as much chunked framing as ``_pending`` holds; returns what lies past the request when done."""
        buf, pos = self._pending, 0
        while True:
            if self._state == "size":
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    if len(buf) - pos > CHUNK_LINE_LIMIT:
                        raise FramingError(400, "malformed chunked encoding: chunk size line too long")
                    break
                line = bytes(buf[pos:eol])
                size = _HEX.match(line)
                if size is None:
                    raise FramingError(400, f"malformed chunked encoding: chunk size {_short(line)} is not a "
                                            f"hexadecimal number")
                if _EXT.fullmatch(line, size.end()) is None:
                    raise FramingError(400, f"malformed chunked encoding: bad chunk extension {_short(line)}")
                self._need, pos = int(size.group(), 16), eol + 2
                if len(self.body) + self._need > self.max_body:
                    raise FramingError(413, too_large(self.max_body))
                self._state = "data" if self._need else "trailer"
            elif self._state == "data":
                take = min(self._need, len(buf) - pos)
                self.body += buf[pos:pos + take]
                self._need -= take
                pos += take
                if self._need:
                    break
                self._state = "crlf"
            elif self._state == "crlf":
                if len(buf) - pos < 2:
                    break
                if buf[pos:pos + 2] != b"\r\n":
                    raise FramingError(400, "malformed chunked encoding: a chunk's data is not followed by CRLF")
                pos += 2
                self._state = "size"
            else:  # trailer section: header lines up to a blank line
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    if len(buf) - pos > TRAILER_LIMIT:
                        raise FramingError(431, f"chunked trailer section larger than {TRAILER_LIMIT} bytes")
                    break
                if eol == pos:
                    self._finish()
                    rest = bytes(buf[eol + 2:])
                    self._pending = bytearray()
                    return rest
                pos = eol + 2
        del buf[:pos]
        return b""

    def _finish(self) -> None:
        self._state, self.done = "done", True


def too_large(limit: int) -> str:
    """The 413 message for a body over ``limit`` bytes (the same words as the app's own 413)."""
    return (f"request body too large: the limit is {limit / 2**20:g} MB ({limit} bytes); send smaller batches or "
            f"raise --max-body-mb")
