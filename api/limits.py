"""Limits a request meets before the app sees it: the size of its head (request line and
headers), counted as the bytes arrive.

uvicorn's httptools protocol parses whatever head a client sends, however long: one
unauthenticated 128 MB header cost 24.5 s of a worker and 257 MB, and slowed every other
connection meanwhile.  :class:`LimitedHttpToolsProtocol` counts the bytes of each request's
head and answers ``431 Request Header Fields Too Large`` (and closes the connection) once
they pass :data:`MAX_HEAD`, before any of it is kept.
"""

from __future__ import annotations

import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: a request line and headers larger than this are refused (every signed request fits in 16 KB)
MAX_HEAD = 32 * 1024

_BODY = json.dumps(
    {
        "type": "urn:zhenggai:problem:headers_too_large",
        "title": "headers too large",
        "status": 431,
        "code": "headers_too_large",
        "detail": f"请求头超过 {MAX_HEAD // 1024} KB / the request's headers are larger than {MAX_HEAD // 1024} KB",
        "message": {
            "zh": f"请求头超过 {MAX_HEAD // 1024} KB",
            "en": f"the request's headers are larger than {MAX_HEAD // 1024} KB",
        },
    },
    ensure_ascii=False,
).encode("utf-8")
ANSWER = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: application/problem+json\r\n"
    b"connection: close\r\n"
    b"content-length: " + str(len(_BODY)).encode() + b"\r\n\r\n" + _BODY
)


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bound on each request's head."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head = 0  # bytes of the current request's head so far; -1 once its headers are complete
        self._refused = False

    def data_received(self, data: bytes) -> None:
        # while a head is being read, the parser is fed no more than the head may still take
        # (and one byte more, to know it went over); the body and what follows, at once
        while data and not self._refused:
            if self._head < 0:
                super().data_received(data)
                return
            room = MAX_HEAD - self._head + 1
            piece, data = data[:room], data[room:]
            self._head += len(piece)
            super().data_received(piece)
            if self._head > MAX_HEAD:  # still in the head, and past its bound
                self._refused = True
                self.transport.write(ANSWER)
                self.transport.close()

    def on_message_begin(self) -> None:
        self._head = 0
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._head = -1
        super().on_headers_complete()
