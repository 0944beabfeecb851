"""One transaction's storage, by aggregate.

``Repository(conn)`` is a thin front: each aggregate has a repository of its own under
``repositories/`` — ``repo.workflows``, ``repo.rounds``, ``repo.issues`` (one issue's head, lists,
the sweep's due rows, migrations), ``repo.records`` (measures, evidence, sign-offs,
mechanisms), ``repo.events`` (the hash-chained log) and ``repo.outbox`` (notices and escalation
records).  Every query hands out the row types of ``rows.py``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from .errors import Duplicate, StaleVersion
from .models import api_clients, api_nonces, api_requests
from .prepared import Prepared
from .repositories.events import EventRepository
from .repositories.issues import IssueRepository
from .repositories.outbox import OutboxRepository
from .repositories.records import RecordRepository
from .repositories.rounds import RoundRepository
from .repositories.workflows import WorkflowRepository

_API_CLIENT: Prepared[Any] = Prepared(select(api_clients).where(api_clients.c.name == bindparam("p_name")))


def _remember(dialect_insert: Any) -> Prepared:
    q = dialect_insert(api_nonces).values(
        signature=bindparam("signature"), client=bindparam("client"), seen_at=bindparam("seen_at")
    )
    q = q.on_conflict_do_nothing(index_elements=["signature"]).returning(api_nonces.c.signature)
    return Prepared(q, {"seen_at": api_nonces.c.seen_at.type})


_REMEMBER_PG = _remember(pg_insert)
_REMEMBER_SQLITE = _remember(sqlite_insert)


class Repository:
    __slots__ = ("conn", "events", "for_update", "issues", "outbox", "records", "rounds", "workflows")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.for_update = pg = conn.dialect.name == "postgresql"
        self.workflows = WorkflowRepository(conn, pg)
        self.rounds = RoundRepository(conn)
        self.issues = IssueRepository(conn, pg)
        self.records = RecordRepository(conn)
        self.events = EventRepository(conn)
        self.outbox = OutboxRepository(conn, pg)

    # --- HTTP API: clients, idempotency keys, seen signatures ---------------------------

    def api_client(self, name: str) -> Any:
        return _API_CLIENT.first(self.conn, {"p_name": name})

    def api_clients(self) -> Any:
        return self.conn.execute(select(api_clients).order_by(api_clients.c.name)).all()

    def insert_api_client(self, **values: Any) -> None:
        try:
            self.conn.execute(insert(api_clients), values)
        except IntegrityError as exc:
            raise Duplicate(str(exc.orig)) from exc

    def update_api_client(self, name: str, **values: Any) -> bool:
        return self.conn.execute(update(api_clients).where(api_clients.c.name == name).values(**values)).rowcount == 1

    def claim_request(self, client: str, key: str, request_hash: str, now: datetime) -> Any:
        """Claim an idempotency key; the earlier claim if there is one (then nothing is written)."""
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    insert(api_requests),
                    {"client": client, "key": key, "request_hash": request_hash, "created_at": now},
                )
            return None
        except IntegrityError:
            q = select(api_requests).where(api_requests.c.client == client, api_requests.c.key == key)
            return self.conn.execute(q).first()

    def take_over_request(self, request_id: int, stale_before: datetime, now: datetime) -> bool:
        """An attempt that died before answering leaves its claim; a retry may take it over."""
        q = (
            update(api_requests)
            .where(api_requests.c.id == request_id, api_requests.c.status.is_(None))
            .where(api_requests.c.created_at < stale_before)
            .values(created_at=now)
        )
        return self.conn.execute(q).rowcount == 1

    def finish_request(self, client: str, key: str, status: int, response: str) -> None:
        q = update(api_requests).where(api_requests.c.client == client, api_requests.c.key == key)
        self.conn.execute(q.values(status=status, response=response))

    def release_request(self, client: str, key: str) -> None:
        q = api_requests.delete().where(api_requests.c.client == client, api_requests.c.key == key)
        self.conn.execute(q.where(api_requests.c.status.is_(None)))

    def remember_signature(self, signature: str, client: str, now: datetime, forget_before: datetime) -> bool:
        """False if this signature was seen before (a replay).  One prepared statement on the
        request's path (an insert that does nothing on a duplicate); expired signatures, and
        idempotency keys older than a day, are forgotten on about one request in sixteen."""
        if signature.startswith("0"):
            self.conn.execute(api_nonces.delete().where(api_nonces.c.seen_at < forget_before))
            # idempotency keys are kept for a day, as long as any client retries
            done = api_requests.c.status.is_not(None) & (api_requests.c.created_at < now - timedelta(days=1))
            self.conn.execute(api_requests.delete().where(done))
        q = _REMEMBER_PG if self.for_update else _REMEMBER_SQLITE
        return q.scalar(self.conn, {"signature": signature, "client": client, "seen_at": now}) is not None


__all__ = ["Duplicate", "Repository", "StaleVersion"]
