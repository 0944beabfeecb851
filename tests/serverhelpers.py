"""A real zhenggai HTTP server on a loopback port, for tests that talk HTTP to it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from zhenggai import Actor, Engine

SERVER_KEY = "9f1c2e7a4b8d03e6f5a1c9b7d2e4f608a3b5c7d9e1f2a4c6b8d0e2f4a6c8b0d1"  # as openssl rand -hex 32


@dataclass
class Live:
    base: str
    engine: Engine
    secret: str  # of client "oa", which may assert every role everywhere


@contextmanager
def serving(engine: Engine) -> Iterator[str]:
    import uvicorn

    from zhenggai.api.app import create_app
    from zhenggai.api.limits import LimitedHttpToolsProtocol

    config = uvicorn.Config(
        create_app(engine), host="127.0.0.1", port=0, log_level="warning", lifespan="off", http=LimitedHttpToolsProtocol
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def live(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    from zhenggai.api.clients import Clients

    monkeypatch.setenv("ZHENGGAI_API_KEY", SERVER_KEY)
    engine = Engine(db_url)  # the real clock: requests are signed with the real time
    engine.init()
    _, secret = Clients(engine).add(
        "oa",
        roles=[
            "admin",
            "inspection_office",
            "owner",
            "unit_lead",
            "secretary",
            "reviewer",
            "discipline",
            "system",
            "audit_office",
        ],
        scopes=["*"],
        by="root",
    )
    with serving(engine) as base:
        yield Live(base, engine, secret)
    engine.db.dispose()


OFFICE = Actor("wang", frozenset({"inspection_office"}))


def as_(live: Live, user: str, roles: list[str], scope: list[str] | None = None, client: str = "oa", secret=None):
    """The API as one user of one client (``oa`` by default, which may assert everything)."""
    from apiclient import Api

    return Api(live.base, client, secret or live.secret, user, roles, scope)


@pytest.fixture
def opened(live: Live) -> Live:
    """A live server with round R1 and two problems: P1 in 省局/财务处 (li), P2 in 省局/稽查局 (sun)."""
    office = as_(live, "wang", ["inspection_office"])
    r = office.post("/rounds", {"code": "R1", "title": "省委巡视组反馈", "org": "省局", "feedback_date": "2026-03-10"})
    assert r.status_code == 201, r.text
    for code, unit, owner in (("P1", "省局/财务处", "li"), ("P2", "省局/稽查局", "sun")):
        r = office.post(
            "/rounds/R1/issues",
            {"code": code, "title": f"问题{code}", "category": "phased", "unit": unit, "owner": owner, "lead": "zhao",
             "due_date": "2026-12-31"},
        )  # fmt: skip
        assert r.status_code == 201, r.text
    return live
