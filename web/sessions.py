"""Server-side console sessions: the cookie carries a random token, the database its hash.

A session ends at its expiry, at logout, or as soon as its client is revoked or its secret
rotated (each request reads the client's row with the session's, in one statement).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, select, update

from ..api.clients import Clients, client_of, grant_verifies, server_key
from ..api.signing import encode_actor
from ..api.store import ApiStore
from ..engine.actors import Actor
from ..engine.errors import ZhenggaiError
from ..storage.models import api_clients, ui_sessions

if TYPE_CHECKING:
    from ..engine.service import Engine

COOKIE = "zhenggai_session"


@dataclass(frozen=True)
class Session:
    token_hash: str
    client: str
    actor: Actor
    csrf: str
    expires_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(engine: Engine, client: str, generation: int, actor: Actor, life: timedelta) -> tuple[str, Session]:
    """A new session for ``actor``; returns the cookie's token (never stored) and the session."""
    token = secrets.token_urlsafe(32)
    now = engine.clock.now()
    s = Session(_hash(token), client, actor, secrets.token_urlsafe(32), now + life)
    data = json.dumps({"id": actor.id, "roles": sorted(actor.roles), "scope": list(actor.scope)}, ensure_ascii=False)
    with engine.transaction(write=True) as conn:
        conn.execute(ui_sessions.delete().where(ui_sessions.c.expires_at < now - timedelta(days=1)))
        conn.execute(
            ui_sessions.insert().values(
                token_hash=s.token_hash,
                client=client,
                generation=generation,
                actor=data,
                csrf=s.csrf,
                created_at=now,
                expires_at=s.expires_at,
            )
        )
    return token, s


def load(engine: Engine, token: str | None) -> Session | None:
    """The live session of a cookie's token, or None (unknown, ended, expired, or its client
    revoked or rotated since)."""
    if not token or len(token) > 100:
        return None
    now = engine.clock.now()
    q = (
        select(
            ui_sessions.c.token_hash,
            ui_sessions.c.client,
            ui_sessions.c.actor,
            ui_sessions.c.csrf,
            ui_sessions.c.expires_at,
        )
        .join(
            api_clients,
            and_(api_clients.c.name == ui_sessions.c.client, api_clients.c.generation == ui_sessions.c.generation),
        )
        .where(
            ui_sessions.c.token_hash == _hash(token),
            ui_sessions.c.ended_at.is_(None),
            ui_sessions.c.expires_at > now,
            api_clients.c.revoked_at.is_(None),
        )
    )
    with engine.transaction() as conn:
        row = conn.execute(q).first()
        grant = ApiStore(conn).api_client(row.client) if row is not None else None
    if row is None or grant is None:
        return None
    a = json.loads(row.actor)
    # the client's grant as sealed, and the session within it: a grant widened or a client
    # un-revoked behind the API opens no session, nor does a session row edited to more
    if not grant_verifies(grant, server_key()):
        return None
    try:
        actor = Clients.actor_within_grant(client_of(grant), encode_actor(a["id"], a["roles"], a["scope"]))
    except (ZhenggaiError, KeyError, TypeError):
        return None
    return Session(row.token_hash, row.client, actor, row.csrf, row.expires_at)


def end(engine: Engine, session: Session) -> None:
    with engine.transaction(write=True) as conn:
        conn.execute(
            update(ui_sessions)
            .where(ui_sessions.c.token_hash == session.token_hash)
            .values(ended_at=engine.clock.now())
        )
