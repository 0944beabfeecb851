"""The outbox (notices written with the event that caused them) and the escalation records."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import Duplicate
from ..models import escalations, issues, outbox
from ..prepared import Prepared
from ..rows import EscalationRow, OutboxRow, rows_as

_OUTBOX_COLUMNS = [c.key for c in outbox.columns if c.key not in ("id", "last_error", "delivered_at")]
_INSERT_OUTBOX: Prepared[Any] = Prepared(
    insert(outbox).values({c: bindparam(c) for c in _OUTBOX_COLUMNS}), {c: outbox.c[c].type for c in _OUTBOX_COLUMNS}
)
_OUTBOX_SELECT = select(*(outbox.c[f] for f in OutboxRow._fields))
_ESCALATION_COLUMNS = [c.key for c in escalations.columns if c.key != "id"]
_INSERT_ESCALATION: Prepared[Any] = Prepared(
    insert(escalations).values({c: bindparam(c) for c in _ESCALATION_COLUMNS}),
    {c: escalations.c[c].type for c in _ESCALATION_COLUMNS},
)


class OutboxRepository:
    __slots__ = ("conn", "for_update")

    def __init__(self, conn: Connection, for_update: bool) -> None:
        self.conn = conn
        self.for_update = for_update

    def enqueue(self, rows: Sequence[dict[str, Any]]) -> None:
        _INSERT_OUTBOX.many(self.conn, list(rows))

    def due(self, now: datetime, limit: int) -> list[OutboxRow]:
        q = (
            _OUTBOX_SELECT.where(outbox.c.status == "pending", outbox.c.next_attempt_at <= now)
            .order_by(outbox.c.next_attempt_at, outbox.c.id)
            .limit(limit)
        )
        if self.for_update:
            q = q.with_for_update(skip_locked=True)
        return rows_as(OutboxRow, self.conn.execute(q))

    def update(self, outbox_id: int, **values: Any) -> None:
        self.conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(**values))

    def extend_leases(self, claims: Sequence[tuple[int, int]], until: datetime) -> None:
        """Move on the lease of notices still being sent: (id, attempts when claimed) each, so a
        notice whose outcome has been recorded since is left alone."""
        q = (
            update(outbox)
            .where(
                outbox.c.id == bindparam("p_id"),
                outbox.c.attempts == bindparam("p_attempts"),
                outbox.c.status == "pending",
            )
            .values(next_attempt_at=bindparam("p_until"))
        )
        self.conn.execute(q, [{"p_id": i, "p_attempts": a, "p_until": until} for i, a in claims])

    def recent(self, status: str | None, limit: int) -> list[OutboxRow]:
        q = _OUTBOX_SELECT.order_by(outbox.c.id.desc()).limit(limit)
        if status:
            q = q.where(outbox.c.status == status)
        return rows_as(OutboxRow, self.conn.execute(q))

    def retry_dead(self, ids: list[int] | None, now: datetime) -> int:
        q = update(outbox).where(outbox.c.status == "dead")
        if ids:
            q = q.where(outbox.c.id.in_(ids))
        return self.conn.execute(q.values(status="pending", attempts=0, next_attempt_at=now, last_error=None)).rowcount

    # --- escalation records ---------------------------------------------------------------

    def record_escalation(
        self, *, issue_id: int, rule: str, stage_seq: int, action: str, fired_at: datetime, event_seq: int
    ) -> None:
        """Once per issue, rule and episode: a twin (another node's sweep) is ``Duplicate``."""
        values = dict(
            issue_id=issue_id, rule=rule, stage_seq=stage_seq, action=action, fired_at=fired_at, event_seq=event_seq
        )
        try:
            _INSERT_ESCALATION.rowcount(self.conn, values)
        except IntegrityError as exc:
            raise Duplicate(str(exc.orig)) from exc

    def escalations(self, issue_id: int) -> list[EscalationRow]:
        q = (
            select(*(escalations.c[f] for f in EscalationRow._fields))
            .where(escalations.c.issue_id == issue_id)
            .order_by(escalations.c.id)
        )
        return rows_as(EscalationRow, self.conn.execute(q))

    def recent_escalations(self, limit: int) -> list[tuple[str, str, str, datetime]]:
        """The escalations the latest sweeps applied, newest first: (issue code, rule, action, when)."""
        q = (
            select(issues.c.code, escalations.c.rule, escalations.c.action, escalations.c.fired_at)
            .join(issues, issues.c.id == escalations.c.issue_id)
            .order_by(escalations.c.fired_at.desc(), escalations.c.id.desc())
            .limit(limit)
        )
        return [(r[0], r[1], r[2], r[3]) for r in self.conn.execute(q)]
