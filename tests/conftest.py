"""Fixtures: every storage test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``ZHENGGAI_TEST_PG`` (default: the local server on 127.0.0.1:5432,
database ``test``).  Each test gets a schema of its own, dropped afterwards.  If the server
cannot be reached the PostgreSQL half is skipped with the reason shown — except when
``ZHENGGAI_REQUIRE_PG=1`` (as CI sets it), where that is an error, never a silent skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from consolehelpers import chromium, ledger, ui_files  # noqa: F401  (fixtures: the console, a browser)
from serverhelpers import live, opened  # noqa: F401  (fixtures: a live HTTP server, with a round)

from zhenggai import Actor, Engine, FixedClock

PG_URL = os.environ.get("ZHENGGAI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("ZHENGGAI_REQUIRE_PG") == "1"

_pg_reachable: bool | None = None


def _pg_ok() -> bool:
    global _pg_reachable
    if _pg_reachable is None:
        try:
            import psycopg

            with psycopg.connect(PG_URL.replace("postgresql+psycopg", "postgresql"), connect_timeout=3):
                _pg_reachable = True
        except Exception as exc:
            if REQUIRE_PG:
                raise RuntimeError(f"PostgreSQL is required for this run but unreachable at {PG_URL}: {exc}") from exc
            _pg_reachable = False
    return _pg_reachable


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'zhenggai.db'}"
        return
    if not _pg_ok():
        pytest.skip(f"PostgreSQL not reachable at {PG_URL} (set ZHENGGAI_REQUIRE_PG=1 to make this an error)")
    import psycopg

    schema = f"zt_{uuid.uuid4().hex[:12]}"
    base = PG_URL.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock("2026-03-10")


@pytest.fixture
def engine(db_url: str, clock: FixedClock) -> Iterator[Engine]:
    eng = Engine(db_url, clock=clock)
    eng.init()
    yield eng
    eng.db.dispose()


class Cast:
    """The people of the stories: who holds which role over which units."""

    office: Actor = Actor("wang", frozenset({"inspection_office"}))
    secretary: Actor = Actor("chen", frozenset({"secretary"}), ("省局",))
    discipline: Actor = Actor("zhou", frozenset({"discipline"}), ("省局",))
    reviewer: Actor = Actor("he", frozenset({"reviewer"}))
    reviewer2: Actor = Actor("ma", frozenset({"reviewer"}))
    owner: Actor = Actor("li", frozenset({"owner"}), ("省局/财务处",))
    lead: Actor = Actor("zhao", frozenset({"unit_lead"}), ("省局",))
    other_owner: Actor = Actor("sun", frozenset({"owner"}), ("省局/稽查局",))


@pytest.fixture
def cast() -> Cast:
    return Cast()


ROUND = "R1"
FEEDBACK = "2026-03-10"  # the concentrated period then ends 2026-06-10


@pytest.fixture
def round_(engine: Engine, cast: Cast) -> str:
    engine.open_round(ROUND, title="省委巡视组反馈", org="省局", feedback_date=FEEDBACK, actor=cast.office)
    return ROUND
