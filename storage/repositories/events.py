"""The append-only, hash-chained event log."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, String, and_, bindparam, insert, or_, select, type_coerce

from ..models import events, issues
from ..prepared import Prepared
from ..rows import EventRow, RequestEvent, StoredEventRow, TransitionRow, rows_as

_COLUMNS = [c.key for c in events.columns if c.key != "id"]
_INSERT: Prepared[Any] = Prepared(
    insert(events).values({c: bindparam(c) for c in _COLUMNS}), {c: events.c[c].type for c in _COLUMNS}
)
_SELECT = select(*(events.c[f] for f in EventRow._fields))
_BY_REQUEST = Prepared(
    select(issues.c.code.label("issue_code"), *(events.c[f] for f in RequestEvent._fields[1:]))
    .join(issues, issues.c.id == events.c.issue_id)
    .where(events.c.request_id == bindparam("p_request")),
    row=RequestEvent,
)
# Every event, a chunk at a time, on the driver cursor: a million rows through SQLAlchemy's
# result processing cost more than verifying them.  ``at`` comes as stored (text on SQLite,
# a naive UTC datetime on PostgreSQL); the chain's hash reads it as that.
_STORED = (
    select(
        *[type_coerce(events.c.at, String).label("at") if f == "at" else events.c[f] for f in StoredEventRow._fields]
    )
    .where(
        events.c.issue_id >= bindparam("p_issue"),
        or_(
            events.c.issue_id > bindparam("p_issue"),
            events.c.seq > bindparam("p_seq"),
            and_(events.c.seq == bindparam("p_seq"), events.c.id > bindparam("p_id")),
        ),
    )
    .order_by(events.c.issue_id, events.c.seq, events.c.id)
)
_STORED_BY_LIMIT: dict[int, Prepared[StoredEventRow]] = {}


class EventRepository:
    __slots__ = ("conn",)

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def insert(self, values: Mapping[str, Any]) -> None:
        """One event: ``values`` holds every column but the id (``journal.Entry.event``)."""
        _INSERT.rowcount(self.conn, values)

    def insert_many(self, rows: list[dict[str, Any]]) -> None:
        _INSERT.many(self.conn, rows)

    def of_issue(self, issue_id: int, *, after_seq: int = 0, limit: int | None = None) -> list[EventRow]:
        q = _SELECT.where(and_(events.c.issue_id == issue_id, events.c.seq > after_seq)).order_by(events.c.seq)
        if limit:
            q = q.limit(limit)
        return rows_as(EventRow, self.conn.execute(q))

    def by_request(self, request_id: str) -> RequestEvent | None:
        return _BY_REQUEST.first(self.conn, {"p_request": request_id})

    def transitions_of_round(self, round_id: int) -> list[TransitionRow]:
        """Every state change of the round's issues, in order (for the burn-down)."""
        q = (
            select(*(events.c[f] for f in TransitionRow._fields))
            .join(issues, issues.c.id == events.c.issue_id)
            .where(issues.c.round_id == round_id, events.c.kind == "transition")
            .order_by(events.c.issue_id, events.c.seq)
        )
        return rows_as(TransitionRow, self.conn.execute(q))

    def stored_chunk(self, after: tuple[int, int, int], limit: int) -> list[StoredEventRow]:
        """The next ``limit`` events in (issue_id, seq, id) order after the keyset ``after``.
        The id is part of the key so that a duplicated seq (a forged row, were the unique
        constraint gone) is read rather than skipped; the range on issue_id uses its index."""
        i, s, e = after
        q = _STORED_BY_LIMIT.get(limit)
        if q is None:
            q = _STORED_BY_LIMIT[limit] = Prepared(_STORED.limit(limit), row=StoredEventRow)
        return q.all(self.conn, {"p_issue": i, "p_seq": s, "p_id": e})
