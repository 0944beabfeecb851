"""Running the service: one uvicorn server per worker process, all accepting on one socket.

uvicorn's own multi-worker mode binds the socket without TCP_NODELAY, so connections its
workers accept send a response written in two parts only after the client's delayed ACK:
one request from one client took 56 ms instead of 18 ms (see bench/RESULTS.md).  The prefork
here binds the socket once with TCP_NODELAY, forks the workers (each builds its own app and
database pool after the fork), forwards SIGTERM/SIGINT to them and waits; a worker that dies
is reported, not restarted (a service manager restarts the unit).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
from typing import Any


def _serve_one(sock: socket.socket | None, host: str, port: int, log_level: str) -> None:
    import uvicorn

    from .limits import LimitedHttpToolsProtocol

    config = uvicorn.Config(
        "zhenggai.api.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="off",
        http=LimitedHttpToolsProtocol,  # a request's head is bounded before it is parsed whole
    )
    server = uvicorn.Server(config)
    server.run(sockets=[sock] if sock is not None else None)


def serve(host: str, port: int, workers: int, log_level: str = "info") -> None:
    if workers <= 1:
        _serve_one(None, host, port, log_level)
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted connections inherit this: without it a response written in two parts waits
    # for the client's delayed ACK (40 ms) — what uvicorn's own multi-worker mode runs into
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    children: list[int] = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # a worker: its own app, engine and pool, built after the fork
            code = 1  # a worker that cannot start says so to the parent
            try:
                _serve_one(sock, host, port, log_level)
                code = 0
            finally:
                os._exit(code)
        children.append(pid)

    def forward(signum: int, frame: Any) -> None:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    status = 0
    for pid in children:
        while True:
            try:
                _, code = os.waitpid(pid, 0)
                break
            except InterruptedError:
                continue
        # uvicorn ends a worker it shut down gracefully with the signal that asked it to
        stopped = os.WIFSIGNALED(code) and os.WTERMSIG(code) in (signal.SIGTERM, signal.SIGINT)
        if code and not stopped:
            print(f"worker {pid} ended with status {code}", file=sys.stderr)
            status = 1
    sock.close()
    if status:
        sys.exit(status)
