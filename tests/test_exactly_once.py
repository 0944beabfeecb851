"""Every write over HTTP is applied once, even when the server dies between committing it and
keeping its answer for the retry.

Each kind of write is sent to a real server process whose ``finish_request`` (the step that
keeps the answer under its ``Idempotency-Key``) kills the process with SIGKILL: the write is
committed, the client gets no answer.  A new server then takes the retry with the same key.  It
takes over the dead attempt's claim (at once here: the restarted server is told a claim goes
stale after no time, instead of five minutes) and passes the claim's request id to the engine,
which finds the committed write and does not make it again.  On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from serverhelpers import SERVER_KEY
from storyhelpers import SHA

from zhenggai import Actor, Engine

pytest.importorskip("fastapi", reason="the server extra is not installed: pip install -e '.[dev]'")

SERVER = r"""
import os, signal, socket, sys
from datetime import timedelta

import uvicorn

from zhenggai import Engine
from zhenggai.api import calls
from zhenggai.api.app import create_app
from zhenggai.api.limits import LimitedHttpToolsProtocol
from zhenggai.api.store import ApiStore

if os.environ["CRASH"] == "1":
    def die(self, *args, **kwargs):  # the write is committed; its answer is never kept
        os.kill(os.getpid(), signal.SIGKILL)
    ApiStore.finish_request = die
else:
    calls.IDEMPOTENCY_STALE = timedelta(0)  # a claim with no answer is the dead attempt's at once

sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen(64)
print(sock.getsockname()[1], flush=True)
config = uvicorn.Config(create_app(Engine(sys.argv[1])), log_level="warning", lifespan="off",
                        http=LimitedHttpToolsProtocol)
uvicorn.Server(config).run(sockets=[sock])
"""

OFFICE = Actor("wang", frozenset({"inspection_office"}))
OWNER = ("li", ["owner"], ["省局/财务处"])


@dataclass(frozen=True)
class Write:
    """One kind of write: the request, who sends it, and how many times its effect is seen."""

    name: str
    path: str
    body: dict[str, Any]
    user: tuple[str, list[str], list[str]]
    count: Callable[[Engine], int]


def _view(engine: Engine, code: str) -> dict[str, Any]:
    return engine.issue(code, OFFICE).to_dict()


def _events(engine: Engine, code: str, kind: str) -> int:
    if not any(v.code == code for v in engine.issues(OFFICE, limit=1000)):
        return 0
    return sum(1 for e in engine.history(code, OFFICE) if e["kind"] == kind or e.get("trigger") == kind)


WRITES = [
    Write("open a round", "/rounds", {"code": "R2", "title": "审计整改", "org": "省局", "feedback_date": "2026-03-10"},
          ("wang", ["inspection_office"], ["*"]), lambda e: sum(1 for r in e.rounds(OFFICE) if r["code"] == "R2")),
    Write("add an issue", "/rounds/R1/issues",
          {"code": "P9", "title": "问题P9", "category": "phased", "unit": "省局/财务处", "owner": "li", "lead": "zhao",
           "due_date": "2026-12-31"},
          ("wang", ["inspection_office"], ["*"]), lambda e: _events(e, "P9", "created")),
    Write("add a measure", "/issues/P1/measures", {"text": "清查补缴"}, OWNER,
          lambda e: len(_view(e, "P1")["measures"])),
    Write("complete a measure", "/issues/P3/measures/1/done", {"comment": "已完成"}, OWNER,
          lambda e: _events(e, "P3", "measure_done")),
    Write("add evidence", "/issues/P3/evidence", {"uri": "oa://files/9", "sha256": SHA, "note": "凭证"}, OWNER,
          lambda e: len(_view(e, "P3")["evidence"])),
    Write("sign off", "/issues/P4/signoffs", {"role": "unit_lead", "comment": "同意"},
          ("zhao", ["unit_lead"], ["省局/财务处"]), lambda e: len(_view(e, "P4")["signoffs"])),
    Write("add a mechanism", "/issues/P1/mechanisms", {"title": "票据管理办法", "reference": "财发〔2026〕3号"}, OWNER,
          lambda e: len(_view(e, "P1")["mechanisms"])),
    Write("reassign", "/issues/P2/assignment", {"owner": "qian", "comment": "人员调整"},
          ("wang", ["inspection_office"], ["*"]), lambda e: _events(e, "P2", "assigned")),
    Write("correct a source", "/issues/P2/correction", {"source": "audit", "reason": "系审计移交问题"},
          ("wang", ["inspection_office"], ["*"]), lambda e: _events(e, "P2", "corrected")),
    Write("ask for a later deadline", "/issues/P4/deadline-changes", {"due_date": "2027-03-31", "reason": "资金待批"},
          OWNER, lambda e: _events(e, "P4", "extension_requested")),
    Write("approve the deadline change", "/issues/P4/deadline-changes/decision", {"approve": True, "comment": "同意"},
          ("wang", ["inspection_office"], ["*"]), lambda e: _events(e, "P4", "extension_approved")),
    Write("fire a trigger", "/issues/P1/transitions/escalate", {"comment": "督办"},
          ("chen", ["discipline"], ["*"]), lambda e: _events(e, "P1", "escalate")),
]  # fmt: skip


def _start(db_url: str, crash: bool) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "ZHENGGAI_API_KEY": SERVER_KEY, "CRASH": "1" if crash else "0"}
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, db_url], env=env, stdout=subprocess.PIPE, text=True
    )  # fmt: skip
    assert proc.stdout is not None
    port = proc.stdout.readline().strip()
    assert port.isdigit(), f"the server did not start (exit {proc.poll()})"
    base = f"http://127.0.0.1:{port}"
    return proc, base


def _send(base: str, secret: str, write: Write, key: str) -> requests.Response:
    from apiclient import Api

    return Api(base, "oa", secret, *write.user).post(write.path, write.body, headers={"Idempotency-Key": key})


@pytest.fixture
def prepared(db_url: str, cast: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Engine, str, str]]:
    """A round R1 with P1 drafted, P2 in another unit, P3 in progress with a measure, P4 planned
    and waiting for its unit lead; a client ``oa`` that may assert every role."""
    from zhenggai.api.clients import Clients

    monkeypatch.setenv("ZHENGGAI_API_KEY", SERVER_KEY)
    engine = Engine(db_url)
    engine.init()
    _, secret = Clients(engine).add(
        "oa", roles=["inspection_office", "owner", "unit_lead", "discipline"], scopes=["*"], by="root"
    )
    engine.open_round("R1", title="省委巡视组反馈", org="省局", feedback_date="2026-03-10", actor=OFFICE)
    for code, unit, owner in (("P1", "省局/财务处", "li"), ("P2", "省局/稽查局", "sun"), ("P3", "省局/财务处", "li"),
                              ("P4", "省局/财务处", "li")):  # fmt: skip
        engine.add_issue("R1", code, title=f"问题{code}", category="phased", unit=unit, owner=owner, lead="zhao",
                         due_date="2026-12-31", actor=OFFICE)  # fmt: skip
    for code in ("P3", "P4"):
        engine.add_measure(code, "措施", owner="li", due_date="2026-06-30", target="100%", actor=cast.owner)
        engine.fire(code, "plan", actor=cast.owner)
    engine.sign_off("P3", "unit_lead", actor=cast.lead)
    engine.fire("P3", "start", actor=cast.owner)
    engine.db.dispose()
    yield engine, secret, db_url
    engine.db.dispose()


def test_every_write_whose_server_died_between_commit_and_answer_is_applied_once_by_the_retry(prepared):
    engine, secret, url = prepared
    before = {w.name: w.count(engine) for w in WRITES}
    for i, write in enumerate(WRITES):
        proc, base = _start(url, crash=True)
        try:
            with pytest.raises(requests.ConnectionError):  # no answer: the server died
                _send(base, secret, write, f"key-{i}")
            assert proc.wait(30) == -9, write.name
        finally:
            proc.kill()
            proc.wait()
        assert write.count(engine) == before[write.name] + 1, f"{write.name}: the first attempt was not committed"
    proc, base = _start(url, crash=False)
    try:
        for i, write in enumerate(WRITES):
            retry = _send(base, secret, write, f"key-{i}")
            assert retry.status_code in (200, 201), (write.name, retry.text)
            assert write.count(engine) == before[write.name] + 1, f"{write.name}: applied twice"
            again = _send(base, secret, write, f"key-{i}")  # the answer is now kept
            assert again.headers.get("Idempotency-Replayed") == "true" and again.json() == retry.json(), write.name
    finally:
        proc.terminate()
        proc.wait(30)
    for code in ("P1", "P2", "P3", "P4", "P9"):
        assert engine.verify(code, OFFICE).ok, code
