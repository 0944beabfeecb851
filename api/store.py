"""The HTTP service's own rows: its clients, the idempotency keys of POSTs, the signatures seen
inside the freshness window.

These queries belong to the API, not to the engine, so they live here and run on the
connection :meth:`Engine.transaction <zhenggai.engine.service.Engine.transaction>` yields (the
same database, its storage errors reported as the engine's own).  The tables themselves stay
in :mod:`zhenggai.storage.models`, with the rest of the schema: Alembic's migrations and the
backup check compare one metadata, and a table defined elsewhere would be a table they miss.

The two statements on every request's path (the client by name, the signature remembered)
are prepared once and run on the driver cursor (see :mod:`zhenggai.storage.prepared`).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from ..storage.models import api_clients, api_nonces, api_requests
from ..storage.prepared import Prepared

IDEMPOTENCY_KEPT = timedelta(days=1)  # as long as any client retries
CLEANING = "0"  # a request whose signature starts so (one in sixteen) forgets what has expired


class ClientRecord(NamedTuple):
    """A row of ``api_clients``: roles and scopes as the JSON lists stored."""

    id: int
    name: str
    roles: str
    scopes: str
    generation: int
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    grant_mac: str | None


class RequestRecord(NamedTuple):
    """A row of ``api_requests``: ``status`` is None while the first attempt runs."""

    id: int
    client: str
    key: str
    request_hash: str
    status: int | None
    response: str | None
    created_at: datetime
    request_id: str | None


class Duplicate(Exception):
    """A client of that name exists."""


_CLIENT_COLUMNS = [api_clients.c[f] for f in ClientRecord._fields]
_REQUEST_COLUMNS = [api_requests.c[f] for f in RequestRecord._fields]
_CLIENT = Prepared(select(*_CLIENT_COLUMNS).where(api_clients.c.name == bindparam("p_name")))


def _remember(dialect_insert: Any) -> Prepared:
    q = dialect_insert(api_nonces).values(
        signature=bindparam("signature"), client=bindparam("client"), seen_at=bindparam("seen_at")
    )
    q = q.on_conflict_do_nothing(index_elements=["signature"]).returning(api_nonces.c.signature)
    return Prepared(q, {"seen_at": api_nonces.c.seen_at.type})


_REMEMBER_PG = _remember(pg_insert)
_REMEMBER_SQLITE = _remember(sqlite_insert)


class ApiStore:
    """The API's queries on one connection (one transaction of the engine's database)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"

    # --- clients ------------------------------------------------------------------------

    def api_client(self, name: str) -> ClientRecord | None:
        row = _CLIENT.first(self.conn, {"p_name": name})
        return None if row is None else ClientRecord._make(row)

    def api_clients(self) -> list[ClientRecord]:
        q = select(*_CLIENT_COLUMNS).order_by(api_clients.c.name)
        return [ClientRecord._make(r) for r in self.conn.execute(q)]

    def insert_api_client(
        self,
        *,
        name: str,
        roles: str,
        scopes: str,
        generation: int,
        created_at: datetime,
        created_by: str,
        grant_mac: str,
    ) -> None:
        values = {
            "name": name,
            "roles": roles,
            "scopes": scopes,
            "generation": generation,
            "created_at": created_at,
            "created_by": created_by,
            "grant_mac": grant_mac,
        }
        try:
            self.conn.execute(insert(api_clients), values)
        except IntegrityError as exc:
            raise Duplicate(str(exc.orig)) from exc

    def rotate_api_client(self, name: str, generation: int, grant_mac: str) -> bool:
        """A new generation (so a new secret) of a client that is not revoked, sealed anew."""
        q = (
            update(api_clients)
            .where(api_clients.c.name == name, api_clients.c.revoked_at.is_(None))
            .values(generation=generation, grant_mac=grant_mac)
        )
        return self.conn.execute(q).rowcount == 1

    def revoke_api_client(self, name: str, at: datetime, grant_mac: str) -> bool:
        q = update(api_clients).where(api_clients.c.name == name).values(revoked_at=at, grant_mac=grant_mac)
        return self.conn.execute(q).rowcount == 1

    def seal_api_client(self, name: str, grant_mac: str) -> bool:
        q = update(api_clients).where(api_clients.c.name == name).values(grant_mac=grant_mac)
        return self.conn.execute(q).rowcount == 1

    # --- idempotency keys ---------------------------------------------------------------

    def claim_request(self, client: str, key: str, request_hash: str, now: datetime) -> tuple[RequestRecord, bool]:
        """Claim an idempotency key: the claim, and whether it is this request's own (a new
        row) or an earlier one's (then nothing is written)."""
        request_id = f"{client}:{secrets.token_hex(16)}"  # new for every claim, kept by a takeover
        values = {
            "client": client,
            "key": key,
            "request_hash": request_hash,
            "created_at": now,
            "request_id": request_id,
        }
        try:
            with self.conn.begin_nested():
                new_id = self.conn.execute(insert(api_requests).returning(api_requests.c.id), values).scalar_one()
            return RequestRecord(new_id, client, key, request_hash, None, None, now, request_id), True
        except IntegrityError:
            q = select(*_REQUEST_COLUMNS).where(api_requests.c.client == client, api_requests.c.key == key)
            return RequestRecord._make(self.conn.execute(q).one()), False

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

    # --- signatures seen ----------------------------------------------------------------

    def remember_signature(
        self, signature: str, client: str, signed_at: datetime, now: datetime, forget_before: datetime
    ) -> bool:
        """False if this signature was seen before (a replay).  One prepared statement on the
        request's path (an insert that does nothing on a duplicate); expired signatures, and
        idempotency keys older than a day, are forgotten on about one request in sixteen.

        A signature is kept by the time its request was *signed* (``signed_at``), not the time
        some node saw it: whether a node would still accept the request depends on that time
        alone, so a node whose clock runs behind never meets a replay another node forgot
        (``forget_before`` leaves the nodes' clocks room to disagree)."""
        if signature.startswith(CLEANING):
            self.forget(now, forget_before)
        q = _REMEMBER_PG if self.postgres else _REMEMBER_SQLITE
        return q.scalar(self.conn, {"signature": signature, "client": client, "seen_at": signed_at}) is not None

    def forget(self, now: datetime, forget_before: datetime) -> None:
        """Signatures signed before ``forget_before``, and answered idempotency keys a day old."""
        self.conn.execute(api_nonces.delete().where(api_nonces.c.seen_at < forget_before))
        done = api_requests.c.status.is_not(None) & (api_requests.c.created_at < now - IDEMPOTENCY_KEPT)
        self.conn.execute(api_requests.delete().where(done))
