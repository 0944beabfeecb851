"""Rounds (巡视轮次) and their concentrated periods."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.exc import IntegrityError

from ..errors import Duplicate
from ..models import issues, rounds
from ..rows import RoundRow, row_as, rows_as
from .filters import within_units

_COLUMNS = tuple(rounds.c[f] for f in RoundRow._fields)


class RoundRepository:
    __slots__ = ("conn",)

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def insert(
        self,
        *,
        code: str,
        title: str,
        source: str,
        org: str,
        feedback_date: date,
        period_end: date,
        tz: str,
        workflow_id: int,
        created_at: datetime,
        created_by: str,
        request_id: str | None = None,
    ) -> int:
        values = dict(
            code=code,
            title=title,
            source=source,
            org=org,
            feedback_date=feedback_date,
            period_end=period_end,
            tz=tz,
            workflow_id=workflow_id,
            created_at=created_at,
            created_by=created_by,
            request_id=request_id,
        )
        try:
            return int(self.conn.execute(insert(rounds).returning(rounds.c.id), values).scalar_one())
        except IntegrityError as exc:
            raise Duplicate(str(exc.orig)) from exc

    def get(self, code: str) -> RoundRow | None:
        return row_as(RoundRow, self.conn.execute(select(*_COLUMNS).where(rounds.c.code == code)).first())

    def by_request(self, request_id: str) -> RoundRow | None:
        q = select(*_COLUMNS).where(rounds.c.request_id == request_id)
        return row_as(RoundRow, self.conn.execute(q).first())

    def all(self) -> list[RoundRow]:
        return rows_as(RoundRow, self.conn.execute(select(*_COLUMNS).order_by(rounds.c.feedback_date, rounds.c.code)))

    def state_counts(self, round_id: int, unit_prefixes: Iterable[str] | None = None) -> dict[str, int]:
        q = select(issues.c.state, func.count()).where(issues.c.round_id == round_id).group_by(issues.c.state)
        if unit_prefixes is not None:
            q = q.where(within_units(unit_prefixes))
        return {s: n for s, n in self.conn.execute(q)}
