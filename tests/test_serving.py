"""`zhenggai serve` keeps its workers: a worker that dies is replaced, SIGHUP reloads them all
gracefully, SIGTERM stops the server cleanly (gunicorn with uvicorn workers)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from serverhelpers import SERVER_KEY

from zhenggai.cli import main


def workers(pid: int) -> set[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return {int(p) for p in f.read().split()}


def wait_for(check, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("not within the time allowed")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    if not Path("/proc/self/task").exists():
        pytest.skip("reads worker processes from /proc (Linux)")
    db = f"sqlite:///{tmp_path / 'z.db'}"
    assert CliRunner().invoke(main, ["--db", db, "init"]).exit_code == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "ZHENGGAI_API_KEY": SERVER_KEY}
    proc = subprocess.Popen(
        [sys.executable, "-m", "zhenggai.cli", "--db", db, "serve", "--port", str(port), "--workers", "2"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return requests.get(f"{base}/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_for(lambda: healthy() and len(workers(proc.pid)) == 2)
        yield proc, base
    finally:
        proc.terminate()
        assert proc.wait(30) == 0  # SIGTERM: the workers finish and the server stops cleanly


def test_a_worker_that_dies_is_replaced_and_the_service_keeps_answering(served):
    proc, base = served
    before = workers(proc.pid)
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: victim not in workers(proc.pid) and len(workers(proc.pid)) == 2)
    assert all(requests.get(f"{base}/health", timeout=5).status_code == 200 for _ in range(20))


def test_sighup_reloads_every_worker_gracefully(served):
    proc, base = served
    before = workers(proc.pid)
    os.kill(proc.pid, signal.SIGHUP)
    wait_for(lambda: len(workers(proc.pid)) == 2 and not (workers(proc.pid) & before))
    assert requests.get(f"{base}/health", timeout=5).status_code == 200
