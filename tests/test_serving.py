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


SLOW_SERVER = r"""
import sys, time

from zhenggai.engine import rounds

opened = rounds.open_round


def slowly(*a, **kw):  # the request is in flight when the server is told to stop
    time.sleep(3)
    return opened(*a, **kw)


rounds.open_round = slowly
from zhenggai.cli import main

main(sys.argv[1:])
"""


def test_a_request_in_flight_when_the_server_is_stopped_is_answered_and_kept(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
):
    """SIGTERM (systemd stopping the service, a deploy) lets the request being worked on finish
    and be answered; the server then exits cleanly.  On SQLite and PostgreSQL."""
    import threading

    from apiclient import Api

    from zhenggai import Engine
    from zhenggai.api.clients import Clients

    monkeypatch.setenv("ZHENGGAI_API_KEY", SERVER_KEY)
    engine = Engine(db_url)
    engine.init()
    env = dict(os.environ)
    _, secret = Clients(engine).add("oa", roles=["inspection_office"], scopes=["*"], by="root")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = tmp_path / "slow_server.py"
    script.write_text(SLOW_SERVER, encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, str(script), "--db", db_url, "serve", "--port", str(port), "--workers", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _healthy(base))
        office = Api(base, "oa", secret, "wang", ["inspection_office"], ["*"])
        answers: list[requests.Response] = []
        asking = threading.Thread(
            target=lambda: answers.append(
                office.post("/rounds", {"code": "R9", "title": "巡视反馈", "org": "省局", "feedback_date": "2026-03-10"})
            )
        )
        asking.start()
        time.sleep(1.0)  # the request is being worked on
        proc.send_signal(signal.SIGTERM)
        asking.join(30)
        assert proc.wait(30) == 0  # a clean stop
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(answers) == 1 and answers[0].status_code == 201, answers and answers[0].text
    assert engine.round("R9")["code"] == "R9"  # and what it answered is kept
    engine.db.dispose()


def _healthy(base: str) -> bool:
    try:
        return requests.get(f"{base}/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False
