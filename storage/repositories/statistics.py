"""A round's statistics as the database counts them (``GROUP BY`` and sums), so one call on
a round of 100,000 problems reads groups, not rows: the counts by state, category, unit and
source; the closings' average duration; the open problems at the end of each week; the
approved deadline changes.  Only the problems whose stored light may be out of date (their
next check is due) are read one by one, for their light to be worked out again."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, case, false, func, literal, not_, or_, select

from ..models import deadline_changes, events, issues, rounds
from ..rows import EventRow, IssueRow, rows_as
from .filters import within_units
from .issues import ISSUE_COLUMNS


class StatsGroup(NamedTuple):
    """Problems alike in every way the statistics count, with how many they are."""

    workflow_id: int
    state: str
    category: str
    unit: str
    source: str
    overdue: bool
    raised: bool
    light: str | None
    count: int
    recurrences: int


class Scope(NamedTuple):
    """Which problems of a round are counted: in these units (None: all), the exempt ones too?"""

    round_id: int
    unit_prefixes: Sequence[str] | None
    public: bool


def _where(scope: Scope) -> list[Any]:
    conds: list[Any] = [issues.c.round_id == scope.round_id]
    if scope.unit_prefixes is not None:
        conds.append(within_units(scope.unit_prefixes))
    if scope.public:
        conds.append(issues.c.confidential == false())
    return conds


def _fresh(now: datetime) -> Any:
    """The stored light still holds at ``now``: nothing could have changed it since it was stored."""
    return or_(issues.c.next_check_at.is_(None), issues.c.next_check_at > now)


#: weeks counted by one statement (each is a column of it; SQLite allows 2,000)
_BOUNDS_PER_QUERY = 100

_SOURCE = func.coalesce(func.nullif(issues.c.source, ""), rounds.c.source)


class StatisticsRepository:
    __slots__ = ("conn",)

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def groups(self, scope: Scope, *, today: date, now: datetime) -> list[StatsGroup]:
        """The problems whose stored light still holds, grouped by all the statistics count."""
        overdue = case((and_(issues.c.due_date.is_not(None), issues.c.due_date < today), 1), else_=0)
        raised = case((issues.c.escalation_level > 0, 1), else_=0)
        keys = [issues.c.workflow_id, issues.c.state, issues.c.category, issues.c.unit, _SOURCE, overdue, raised,
                issues.c.light]  # fmt: skip
        q = (
            select(*keys, func.count(), func.coalesce(func.sum(issues.c.recurrence_count), 0))
            .join(rounds, rounds.c.id == issues.c.round_id)
            .where(*_where(scope), _fresh(now))
            .group_by(*keys)
        )
        return [
            StatsGroup(w, st, cat, unit, src or "", bool(od), bool(rs), light, int(n), int(rec))
            for w, st, cat, unit, src, od, rs, light, n, rec in self.conn.execute(q)
        ]

    def stale(self, scope: Scope, *, now: datetime, chunk: int = 2000) -> Iterator[list[IssueRow]]:
        """The problems whose light may have changed since it was stored, a chunk at a time."""
        base = (
            select(*ISSUE_COLUMNS)
            .join(rounds, rounds.c.id == issues.c.round_id)
            .where(*_where(scope), not_(_fresh(now)))
        )
        last = 0
        while rows := rows_as(
            IssueRow, self.conn.execute(base.where(issues.c.id > last).order_by(issues.c.id).limit(chunk))
        ):
            yield rows
            last = rows[-1].id

    def close_days(self, scope: Scope, finals: Iterable[str], *, until: datetime) -> tuple[int, float]:
        """How many closings (into a final state from another) the history holds up to
        ``until``, and their average number of days from the problem's creation."""
        finals = list(finals)
        if self.conn.dialect.name == "sqlite":
            days: Any = func.julianday(events.c.at) - func.julianday(issues.c.created_at)
        else:
            days = func.extract("epoch", events.c.at - issues.c.created_at) / 86400.0
        q = (
            select(func.count(), func.avg(days))
            .select_from(events.join(issues, issues.c.id == events.c.issue_id))
            .where(*_where(scope), *_closing(finals), events.c.at <= until)
        )
        n, avg = self.conn.execute(q).one()
        return int(n or 0), float(avg or 0.0)

    def open_before(self, scope: Scope, finals: Iterable[str], bounds: Sequence[datetime]) -> list[int]:
        """For each moment in ``bounds``, how many problems were open just before it: created
        before it, less the closings before it, plus the reopenings before it."""
        finals = list(finals)
        out: list[int] = []
        for n in range(0, len(bounds), _BOUNDS_PER_QUERY):  # a round of many years: a few queries
            out += self._open_before(scope, finals, bounds[n : n + _BOUNDS_PER_QUERY])
        return out

    def _open_before(self, scope: Scope, finals: list[str], bounds: Sequence[datetime]) -> list[int]:
        def before(column: Any) -> list[Any]:
            return [func.coalesce(func.sum(case((column < b, 1), else_=0)), 0) for b in bounds]

        created = self.conn.execute(select(*before(issues.c.created_at)).where(*_where(scope))).one()
        moves = events.join(issues, issues.c.id == events.c.issue_id)
        closed = self.conn.execute(
            select(*before(events.c.at)).select_from(moves).where(*_where(scope), *_closing(finals))
        ).one()
        reopened = self.conn.execute(
            select(*before(events.c.at)).select_from(moves).where(*_where(scope), *_reopening(finals))
        ).one()
        return [int(c) - int(x) + int(r) for c, x, r in zip(created, closed, reopened, strict=True)]

    def history(self, scope: Scope, until: datetime, chunk: int = 500) -> Iterator[tuple[int, list[EventRow]]]:
        """Each counted problem's events up to ``until``, one problem at a time (with its
        workflow), read ``chunk`` problems at a time along the events' (issue, seq) index: a
        past day is replayed from the history without holding the round's history in memory."""
        ids = [
            int(i) for i in self.conn.execute(select(issues.c.id).where(*_where(scope)).order_by(issues.c.id)).scalars()
        ]
        for n in range(0, len(ids), chunk):
            q = (
                select(issues.c.workflow_id, *(events.c[f] for f in EventRow._fields))
                .select_from(events.join(issues, issues.c.id == events.c.issue_id))
                .where(events.c.issue_id.in_(ids[n : n + chunk]), events.c.at <= until)
                .order_by(events.c.issue_id, events.c.seq)
            )
            issue: tuple[int, int] | None = None
            mine: list[EventRow] = []
            for w, *fields in self.conn.execute(q):
                ev = EventRow._make(fields)
                if issue is not None and ev.issue_id != issue[0]:
                    yield issue[1], mine
                    mine = []
                issue = (ev.issue_id, w)
                mine.append(ev)
            if issue is not None:
                yield issue[1], mine

    def states_at(self, issue_ids: Sequence[int], until: datetime) -> dict[int, str]:
        """Each issue's state as its history stood at ``until`` (issues not yet recorded then
        are left out): the state its last event up to then entered."""
        out: dict[int, str] = {}
        for i in range(0, len(issue_ids), 1000):
            last = (
                select(events.c.issue_id, func.max(events.c.seq).label("seq"))
                .where(events.c.issue_id.in_(issue_ids[i : i + 1000]), events.c.at <= until,
                       events.c.to_state.is_not(None))
                .group_by(events.c.issue_id)
                .subquery()
            )  # fmt: skip
            q = select(events.c.issue_id, events.c.to_state).join(
                last, and_(events.c.issue_id == last.c.issue_id, events.c.seq == last.c.seq)
            )
            out.update({int(k): str(v) for k, v in self.conn.execute(q)})
        return out

    def extensions(self, scope: Scope, until: datetime | None = None) -> int:
        """Approved deadline changes (延期) of the problems counted."""
        q = (
            select(func.count())
            .select_from(deadline_changes.join(issues, issues.c.id == deadline_changes.c.issue_id))
            .where(*_where(scope), deadline_changes.c.status == "approved")
        )
        if until is not None:
            q = q.where(deadline_changes.c.decided_at <= until)
        return int(self.conn.execute(q).scalar_one())


def _closing(finals: list[str]) -> list[Any]:
    if not finals:
        return [literal(False)]
    return [events.c.kind == "transition", events.c.to_state.in_(finals), not_(events.c.from_state.in_(finals))]


def _reopening(finals: list[str]) -> list[Any]:
    if not finals:
        return [literal(False)]
    return [events.c.kind == "transition", events.c.from_state.in_(finals), not_(events.c.to_state.in_(finals))]
