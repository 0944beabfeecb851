"""Issues: reading one, the head a write moves, lists and chunks, and the sweep's due rows.

The hot path (firing a trigger) is a handful of indexed statements on one connection: load
the issue with its round (``FOR UPDATE`` on PostgreSQL), load only the parts its guards read,
append the event, and update the issue where its version is still the one we read.  Those
statements are prepared once and run on the driver cursor (see ``prepared.py`` for why).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, null, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import Duplicate, StaleVersion
from ..models import evidence, issues, mechanisms, rounds
from ..prepared import Prepared
from ..rows import AuditIssueRow, CensusRow, IssueFactRow, IssueHead, IssueRow, rows_as
from .filters import filtered, within_units

_ROUND_FIELDS = {
    "round_code": rounds.c.code,
    "round_feedback_date": rounds.c.feedback_date,
    "round_period_end": rounds.c.period_end,
    "round_tz": rounds.c.tz,
    "round_source": rounds.c.source,
}
_COUNTS = {
    "evidence_count": select(func.count()).where(evidence.c.issue_id == issues.c.id).scalar_subquery(),
    "mechanism_count": select(func.count()).where(mechanisms.c.issue_id == issues.c.id).scalar_subquery(),
}


def _columns(fields: Sequence[str], *, counts: bool = True) -> tuple[Any, ...]:
    """The selectable for each field of a row type: an issue column, a round column, a count
    (or, without ``counts``, NULL in its place)."""
    out: list[Any] = []
    for f in fields:
        if f in _ROUND_FIELDS:
            out.append(_ROUND_FIELDS[f].label(f))
        elif f in _COUNTS:
            out.append((_COUNTS[f] if counts else null()).label(f))
        else:
            out.append(issues.c[f])
    return tuple(out)


ISSUE_COLUMNS = _columns(IssueRow._fields)
HEAD_COLUMNS = _columns(IssueHead._fields)
_ISSUE_SELECT = select(*ISSUE_COLUMNS).join(rounds, rounds.c.id == issues.c.round_id)
_ISSUE_BY_CODE = Prepared(_ISSUE_SELECT.where(issues.c.code == bindparam("p_code")), row=IssueRow)
_HEAD_SELECT = select(*HEAD_COLUMNS).join(rounds, rounds.c.id == issues.c.round_id)
_HEAD_BY_CODE = _HEAD_SELECT.where(issues.c.code == bindparam("p_code"))
_HEAD_UNLOCKED = Prepared(_HEAD_BY_CODE, row=IssueHead)
_HEAD_LOCKED = Prepared(_HEAD_BY_CODE.with_for_update(of=issues), row=IssueHead)
_DUE_AFTER = or_(
    issues.c.next_check_at > bindparam("p_after_at"),
    and_(issues.c.next_check_at == bindparam("p_after_at"), issues.c.id > bindparam("p_after_id")),
)
_DUE_TYPES = {"p_now": issues.c.next_check_at.type, "p_after_at": issues.c.next_check_at.type}


_DUE_SELECT = select(*_columns(IssueHead._fields, counts=False)).join(rounds, rounds.c.id == issues.c.round_id)


def _due_statement(after: bool, for_update: bool, limit: int) -> Prepared[IssueHead]:
    q = _DUE_SELECT.where(issues.c.next_check_at.is_not(None), issues.c.next_check_at <= bindparam("p_now"))
    if after:
        q = q.where(_DUE_AFTER)
    q = q.order_by(issues.c.next_check_at, issues.c.id).limit(limit)
    if for_update:
        q = q.with_for_update(of=issues, skip_locked=True)
    return Prepared(q, _DUE_TYPES, row=IssueHead)


_DUE: dict[tuple[bool, bool, int], Prepared[IssueHead]] = {}  # by (keyset, locking, batch size)

#: the columns each kind of write moves with the head (seq, hash, version, light, next check)
HEAD = ("version", "seq", "last_hash", "last_activity_at", "next_check_at", "light")
ESCALATION = (*HEAD, "stage_fired", "escalation_level", "final_deadline")
MOVE = (
    *ESCALATION,
    "state",
    "state_seq",
    "state_entered_at",
    "state_entered_by",
    "recurrence_count",
)


def _update(columns: tuple[str, ...]) -> Prepared[Any]:
    stmt = (
        update(issues)
        .where(and_(issues.c.id == bindparam("p_id"), issues.c.version == bindparam("p_version")))
        .values({c: bindparam(c) for c in columns})
    )
    return Prepared(stmt, {c: issues.c[c].type for c in columns})


_UPDATES = {cols: _update(cols) for cols in (HEAD, ESCALATION, MOVE)}
_SET_SCHEDULE: Prepared[Any] = Prepared(
    update(issues)
    .where(issues.c.id == bindparam("p_id"))
    .values(light=bindparam("light"), next_check_at=bindparam("next_check_at")),
    {"next_check_at": issues.c.next_check_at.type},
)
_AUDIT_COLUMNS = tuple(issues.c[f] for f in AuditIssueRow._fields)


class IssueRepository:
    __slots__ = ("conn", "for_update")

    def __init__(self, conn: Connection, for_update: bool) -> None:
        self.conn = conn
        self.for_update = for_update

    # --- one issue ------------------------------------------------------------------------

    def get(self, code: str) -> IssueRow | None:
        """Everything about one issue, for reading."""
        return _ISSUE_BY_CODE.first(self.conn, {"p_code": code})

    def head(self, code: str, *, lock: bool = True) -> IssueHead | None:
        """What a write needs, locked against concurrent writers on PostgreSQL (SQLite's
        ``BEGIN IMMEDIATE`` already holds the database)."""
        q = _HEAD_LOCKED if lock and self.for_update else _HEAD_UNLOCKED
        return q.first(self.conn, {"p_code": code})

    def exists(self, code: str) -> bool:
        return self.conn.execute(select(issues.c.id).where(issues.c.code == code)).first() is not None

    def existing_codes(self, codes: Iterable[str]) -> set[str]:
        """Which of these codes are taken, asked in chunks rather than once per code."""
        wanted = list(codes)
        out: set[str] = set()
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            out.update(self.conn.execute(select(issues.c.code).where(issues.c.code.in_(chunk))).scalars())
        return out

    def holders(self, codes: Iterable[str]) -> dict[str, tuple[int, str, str]]:
        """Who holds each of these codes: its round's id, title and unit (for telling the
        same problem imported again from a code taken by another), asked in chunks."""
        wanted = list(dict.fromkeys(codes))
        out: dict[str, tuple[int, str, str]] = {}
        for i in range(0, len(wanted), 500):
            q = select(issues.c.code, issues.c.round_id, issues.c.title, issues.c.unit).where(
                issues.c.code.in_(wanted[i : i + 500])
            )
            out.update({code: (round_id, title, unit) for code, round_id, title, unit in self.conn.execute(q)})
        return out

    # --- writes ---------------------------------------------------------------------------

    def insert_many(self, rows: list[dict[str, Any]]) -> list[int]:
        """Many issues in one executemany; their ids in the order given."""
        q = insert(issues).returning(issues.c.id, sort_by_parameter_order=True)
        try:
            return list(self.conn.execute(q, rows).scalars())
        except IntegrityError as exc:
            raise Duplicate(str(exc.orig)) from exc

    def move_head(self, issue_id: int, expected_version: int, values: Mapping[str, Any]) -> None:
        """Write the new head (``HEAD`` columns, and with them the escalation or the state
        columns) only if nobody changed the issue since we read ``expected_version``."""
        if "state" in values:
            stmt = _UPDATES[MOVE]
        elif "stage_fired" in values:
            stmt = _UPDATES[ESCALATION]
        else:
            stmt = _UPDATES[HEAD]
        if stmt.rowcount(self.conn, {"p_id": issue_id, "p_version": expected_version, **values}) != 1:
            raise StaleVersion()

    def set_people(self, issue_id: int, *, owner: str | None = None, lead: str | None = None) -> None:
        """Owner and lead only; the version check is done by the event's head update."""
        values = {k: v for k, v in (("owner", owner), ("lead", lead)) if v is not None}
        self.conn.execute(update(issues).where(issues.c.id == issue_id).values(**values))

    def correct(self, issue_id: int, *, source: str | None = None, confidential: bool | None = None) -> None:
        """Disclosure and source only (an audited correction); the head update checks the version."""
        values = {k: v for k, v in (("source", source), ("confidential", confidential)) if v is not None}
        self.conn.execute(update(issues).where(issues.c.id == issue_id).values(**values))
    def set_deadline(self, issue_id: int, values: Mapping[str, Any]) -> None:
        """A changed deadline (延期): ``due_date``, and with it ``category`` and ``final_deadline``
        when they change; the version check is done by the event's head update."""
        allowed = {k: v for k, v in values.items() if k in ("due_date", "category", "final_deadline")}
        self.conn.execute(update(issues).where(issues.c.id == issue_id).values(**allowed))

    def set_schedule(self, issue_id: int, light: str | None, next_check_at: datetime | None) -> None:
        """Derived fields only (no event, no version bump): what time passing changes."""
        _SET_SCHEDULE.rowcount(self.conn, {"p_id": issue_id, "light": light, "next_check_at": next_check_at})

    # --- lists ----------------------------------------------------------------------------

    def page(
        self,
        *,
        round_code: str | None = None,
        states: Iterable[str] | None = None,
        categories: Iterable[str] | None = None,
        unit_prefixes: Iterable[str] | None = None,
        owner: str | None = None,
        lights: Iterable[str] | None = None,
        limit: int = 100,
        offset: int = 0,
        lights_at: datetime | None = None,
    ) -> list[IssueRow]:
        q = _ISSUE_SELECT
        if round_code:
            q = q.where(rounds.c.code == round_code)
        if owner:
            q = q.where(issues.c.owner == owner)
        q = filtered(
            q, states=states, categories=categories, lights=lights, unit_prefixes=unit_prefixes, lights_at=lights_at
        )
        q = q.order_by(rounds.c.code, issues.c.id).limit(limit).offset(offset)
        return rows_as(IssueRow, self.conn.execute(q))

    def keyset(
        self,
        *,
        round_code: str | None = None,
        states: Iterable[str] | None = None,
        categories: Iterable[str] | None = None,
        lights: Iterable[str] | None = None,
        sources: Iterable[str] | None = None,
        unit_prefixes: Iterable[str] | None = None,
        unit: str | None = None,
        owner: str | None = None,
        after_id: int = 0,
        after_due: date | None = None,
        by_due: bool = False,
        limit: int = 50,
        lights_at: datetime | None = None,
    ) -> list[IssueRow]:
        """A page of issues after the cursor — in id order, or ``by_due`` (deadline, no deadline
        last, then id; the cursor is the last row's deadline and id): one index range per page,
        however deep, and no count of everything (the console's list and its export)."""
        q = _ISSUE_SELECT
        if round_code:
            q = q.where(rounds.c.code == round_code)
        if owner:
            q = q.where(issues.c.owner == owner)
        q = filtered(
            q, states=states, categories=categories, lights=lights, sources=sources, unit_prefixes=unit_prefixes,
            lights_at=lights_at,
        )  # fmt: skip
        if unit:
            q = filtered(q, unit_prefixes=[unit])
        if not by_due:
            q = q.where(issues.c.id > after_id).order_by(issues.c.id)
        else:
            due, later = issues.c.due_date, issues.c.id > after_id
            if after_due is not None:
                q = q.where(or_(due > after_due, and_(due == after_due, later), due.is_(None)))
            elif after_id:
                q = q.where(due.is_(None), later)
            q = q.order_by(due.is_(None), due, issues.c.id)
        return rows_as(IssueRow, self.conn.execute(q.limit(limit)))

    def of_round(
        self,
        round_id: int,
        *,
        states: Iterable[str] | None = None,
        categories: Iterable[str] | None = None,
        lights: Iterable[str] | None = None,
        sources: Iterable[str] | None = None,
        unit_prefixes: Iterable[str] | None = None,
        chunk: int = 2000,
        lights_at: datetime | None = None,
    ) -> Iterator[list[IssueRow]]:
        """A round's issues in chunks (keyset on id), so a ledger of 100,000 problems is
        written without holding it all in memory."""
        base = filtered(
            _ISSUE_SELECT.where(issues.c.round_id == round_id),
            states=states,
            categories=categories,
            lights=lights,
            sources=sources,
            unit_prefixes=unit_prefixes,
            lights_at=lights_at,
        )
        last = 0
        while True:
            rows = rows_as(
                IssueRow, self.conn.execute(base.where(issues.c.id > last).order_by(issues.c.id).limit(chunk))
            )
            if not rows:
                return
            yield rows
            last = rows[-1].id

    def facts_of_round(self, round_id: int, unit_prefixes: Iterable[str] | None) -> list[IssueFactRow]:
        """What the round's statistics count, for every issue in scope."""
        source = func.coalesce(func.nullif(issues.c.source, ""), rounds.c.source).label("source")
        cols = [source if f == "source" else issues.c[f] for f in IssueFactRow._fields]
        q = (
            select(*cols)
            .join(rounds, rounds.c.id == issues.c.round_id)
            .where(issues.c.round_id == round_id)
            .order_by(issues.c.id)
        )
        if unit_prefixes is not None:
            q = q.where(within_units(unit_prefixes))
        return rows_as(IssueFactRow, self.conn.execute(q))

    def audit_chunk(self, after_id: int, limit: int) -> list[AuditIssueRow]:
        """The next ``limit`` issues by id after ``after_id``, with what verification compares."""
        q = select(*_AUDIT_COLUMNS).where(issues.c.id > after_id).order_by(issues.c.id).limit(limit)
        return rows_as(AuditIssueRow, self.conn.execute(q))

    # --- the escalation sweep -------------------------------------------------------------

    def due(self, now: datetime, after: tuple[datetime, int] | None, limit: int) -> list[IssueHead]:
        """Issues whose next check has come, oldest first, after the keyset ``after``.  On
        PostgreSQL the rows are locked and rows another sweep holds are skipped, so sweeps on
        several nodes split the work instead of queueing on it."""
        key = (after is not None, self.for_update, limit)
        q = _DUE.get(key)
        if q is None:
            q = _DUE[key] = _due_statement(*key)
        params: dict[str, Any] = {"p_now": now}
        if after is not None:
            params |= {"p_after_at": after[0], "p_after_id": after[1]}
        return q.all(self.conn, params)

    def reaching(self, since: date, after_id: int, limit: int) -> list[IssueHead]:
        """The next ``limit`` issues by id after ``after_id`` whose schedule reaches ``since`` or
        later — their next check (from the eve of ``since`` in UTC, for time zones ahead of it),
        due date or final deadline: what a calendar change from ``since`` on may move; locked on
        PostgreSQL."""
        q = (
            _DUE_SELECT.where(
                issues.c.id > after_id,
                or_(
                    issues.c.due_date >= since,
                    issues.c.final_deadline >= since,
                    issues.c.next_check_at >= datetime.combine(since - timedelta(days=1), time(0), tzinfo=UTC),
                ),
            )
            .order_by(issues.c.id)
            .limit(limit)
        )
        if self.for_update:
            q = q.with_for_update(of=issues)
        return rows_as(IssueHead, self.conn.execute(q))

    # --- moving issues between workflow versions -------------------------------------------

    def _migration_scope(
        self,
        workflow_id: int,
        live_states: Iterable[str],
        *,
        round_codes: Iterable[str] | None,
        states: Iterable[str] | None,
        categories: Iterable[str] | None,
        unit_prefixes: Iterable[str] | None,
    ) -> Any:
        q = filtered(
            _ISSUE_SELECT.where(and_(issues.c.workflow_id == workflow_id, issues.c.state.in_(list(live_states)))),
            states=states,
            categories=categories,
            unit_prefixes=unit_prefixes,
        )
        if round_codes is not None:
            q = q.where(rounds.c.code.in_(list(round_codes)))
        return q

    def migration_census(self, workflow_id: int, live_states: Iterable[str], **where: Any) -> list[CensusRow]:
        """(state, category, severity, source, count, an example code) of the issues a
        migration would move: enough to refuse it in full before touching a row."""
        sub = self._migration_scope(workflow_id, live_states, **where).subquery()
        q = select(
            sub.c.state, sub.c.category, sub.c.severity, sub.c.source, func.count(), func.min(sub.c.code)
        ).group_by(sub.c.state, sub.c.category, sub.c.severity, sub.c.source)
        return rows_as(CensusRow, self.conn.execute(q))

    def migration_chunks(
        self, workflow_id: int, live_states: Iterable[str], *, chunk: int = 5000, **where: Any
    ) -> Iterator[list[IssueRow]]:
        """The issues to move, locked, in keyset chunks."""
        base = self._migration_scope(workflow_id, live_states, **where)
        last = 0
        while True:
            q = base.where(issues.c.id > last).order_by(issues.c.id).limit(chunk)
            if self.for_update:
                q = q.with_for_update(of=issues)
            rows = rows_as(IssueRow, self.conn.execute(q))
            if not rows:
                return
            yield rows
            last = rows[-1].id

    def move_many(self, rows: list[dict[str, Any]]) -> int:
        """Put many issues on another workflow version, each only if still at the version read."""
        if not rows:
            return 0
        stmt = (
            update(issues)
            .where(and_(issues.c.id == bindparam("p_id"), issues.c.version == bindparam("p_version")))
            .values(
                workflow_id=bindparam("workflow_id"),
                state=bindparam("state"),
                seq=bindparam("seq"),
                last_hash=bindparam("last_hash"),
                version=bindparam("version"),
                light=bindparam("light"),
                next_check_at=bindparam("next_check_at"),
            )
        )
        result = self.conn.execute(stmt, rows)
        if self.conn.dialect.supports_sane_multi_rowcount and result.rowcount != len(rows):
            raise StaleVersion()
        return len(rows)
