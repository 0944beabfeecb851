"""Running the service: gunicorn with uvicorn workers (the default), or the plain prefork.

``gunicorn`` (``zhenggai serve``): gunicorn's arbiter keeps ``--workers`` uvicorn workers
running — a worker that dies is started again, one that stops answering its heartbeat for
``--timeout`` seconds is killed and replaced, ``SIGHUP`` reloads them gracefully (new workers
first, the old ones finish their requests), ``SIGTERM`` stops them gracefully.  Its listening
socket has TCP_NODELAY, as accepted connections need (a response written in two parts
otherwise waits for the client's delayed ACK: 56 ms instead of 18 ms, see bench/RESULTS.md).
Each worker builds its own app, engine and pool after the fork.

``prefork`` (``--server prefork``): the socket bound once with TCP_NODELAY, the workers forked
and waited for; a worker that dies is reported, not restarted.  Kept for comparison
(``bench/api.py --server``) and for hosts without gunicorn (it needs a POSIX system).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
from typing import Any

SERVERS = ("gunicorn", "prefork")


def _config(sock: socket.socket | None, host: str, port: int, log_level: str) -> Any:
    import uvicorn

    from .limits import LimitedHttpToolsProtocol

    return uvicorn.Config(
        "zhenggai.api.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="off",
        http=LimitedHttpToolsProtocol,  # a request's head is bounded before it is parsed whole
    )


def _serve_one(sock: socket.socket | None, host: str, port: int, log_level: str) -> None:
    import uvicorn

    server = uvicorn.Server(_config(sock, host, port, log_level))
    server.run(sockets=[sock] if sock is not None else None)


def serve(
    host: str, port: int, workers: int, log_level: str = "info", *, server: str = "gunicorn", timeout: int = 60
) -> None:
    if server == "gunicorn":
        from .gunicorn import run

        run(host, port, workers, log_level, timeout)
        return
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
