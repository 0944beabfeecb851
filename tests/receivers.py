"""A local HTTP receiver in a thread: it records every request (path, query, headers, body) and
answers with what the test sets — so each notifier is checked against what actually arrived."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    requests: list[Request] = field(default_factory=list)
    #: status and JSON body (and headers) to answer each request with (the platform's own success answer)
    answer: Callable[[Request], tuple[Any, ...]] = lambda _r: (200, {})


@contextmanager
def receiver(answer: Callable[[Request], tuple[Any, ...]] | None = None) -> Iterator[Receiver]:
    rec = Receiver("")
    if answer is not None:
        rec.answer = answer
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self._answer()

        def do_GET(self) -> None:
            self._answer()

        def do_PUT(self) -> None:
            self._answer()

        def _answer(self) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            req = Request(
                self.command,
                parts.path,
                {k: v[0] for k, v in parse_qs(parts.query).items()},
                {k.lower(): v for k, v in self.headers.items()},
                body,
            )
            with lock:
                rec.requests.append(req)
            status, payload, *extra = rec.answer(req)
            out = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            for name, value in (extra[0] if extra else {}).items():
                self.send_header(name, value)
            if not extra or "Content-Type" not in extra[0]:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.url = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()
