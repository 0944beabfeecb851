"""Every query the engine runs, in one place, as SQLAlchemy Core statements.

The hot path (firing a trigger) is a handful of indexed statements on one connection: load
the issue with its round (``FOR UPDATE`` on PostgreSQL), load only the parts its guards read,
append the event, and update the issue where its version is still the one we read.  Core
rather than ORM sessions here because a fire touches one row and an identity map buys nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, String, and_, bindparam, func, insert, or_, select, type_coerce, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from .models import (
    api_clients,
    api_nonces,
    escalations,
    events,
    evidence,
    issues,
    measures,
    mechanisms,
    outbox,
    rounds,
    signoffs,
    workflows,
)
from .prepared import Prepared

ISSUE_COLUMNS = (
    issues.c.id,
    issues.c.code,
    issues.c.round_id,
    issues.c.workflow_id,
    issues.c.title,
    issues.c.description,
    issues.c.category,
    issues.c.severity,
    issues.c.unit,
    issues.c.source,
    issues.c.confidential,
    issues.c.owner,
    issues.c.lead,
    issues.c.due_date,
    issues.c.state,
    issues.c.state_seq,
    issues.c.state_entered_at,
    issues.c.state_entered_by,
    issues.c.last_activity_at,
    issues.c.next_check_at,
    issues.c.light,
    issues.c.stage_fired,
    issues.c.final_deadline,
    issues.c.escalation_level,
    issues.c.recurrence_count,
    issues.c.seq,
    issues.c.last_hash,
    issues.c.version,
    issues.c.created_at,
    rounds.c.code.label("round_code"),
    rounds.c.feedback_date.label("round_feedback_date"),
    rounds.c.period_end.label("round_period_end"),
    rounds.c.tz.label("round_tz"),
    rounds.c.source.label("round_source"),
)

# What the whole-database audit compares with each issue's history (history.compare_records).
_AUDIT_ISSUE_COLUMNS = (
    issues.c.id,
    issues.c.code,
    issues.c.workflow_id,
    issues.c.title,
    issues.c.category,
    issues.c.severity,
    issues.c.unit,
    issues.c.source,
    issues.c.confidential,
    issues.c.owner,
    issues.c.lead,
    issues.c.due_date,
    issues.c.state,
    issues.c.state_seq,
    issues.c.recurrence_count,
    issues.c.seq,
    issues.c.last_hash,
)

# Every event, a chunk at a time, on the driver cursor: a million rows through SQLAlchemy's
# result processing cost more than verifying them.  ``at`` comes as stored (text on SQLite,
# a naive UTC datetime on PostgreSQL); the chain's hash reads it as that.
_AUDIT_EVENTS_QUERY = (
    select(*[type_coerce(c, String).label("at") if c.key == "at" else c for c in events.columns])
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
_AUDIT_EVENTS: dict[int, Prepared] = {}  # by chunk size (LIMIT is compiled in)

# The hot path: prepared once, run on the driver cursor (see prepared.py for why).
_ISSUE_SELECT = select(*ISSUE_COLUMNS).join(rounds, rounds.c.id == issues.c.round_id)
_ISSUE_BY_CODE = Prepared(_ISSUE_SELECT.where(issues.c.code == bindparam("p_code")))
# What a write needs, and no more: each column read costs on the path every fire takes.  The
# evidence and mechanism counts some guards read come along as subqueries (index lookups)
# instead of statements of their own.
_WRITE_COLUMNS = (
    issues.c.final_deadline,
    issues.c.stage_fired,
    issues.c.light,
    issues.c.title,
    issues.c.last_activity_at,
    issues.c.next_check_at,
    issues.c.id,
    issues.c.code,
    issues.c.workflow_id,
    issues.c.category,
    issues.c.severity,
    issues.c.unit,
    issues.c.owner,
    issues.c.lead,
    issues.c.due_date,
    issues.c.state,
    issues.c.state_seq,
    issues.c.state_entered_at,
    issues.c.state_entered_by,
    issues.c.escalation_level,
    issues.c.recurrence_count,
    issues.c.seq,
    issues.c.last_hash,
    issues.c.version,
    rounds.c.code.label("round_code"),
    rounds.c.feedback_date.label("round_feedback_date"),
    rounds.c.period_end.label("round_period_end"),
    rounds.c.tz.label("round_tz"),
    select(func.count()).where(evidence.c.issue_id == issues.c.id).scalar_subquery().label("evidence_count"),
    select(func.count()).where(mechanisms.c.issue_id == issues.c.id).scalar_subquery().label("mechanism_count"),
)
_ISSUE_FOR_WRITE = (
    select(*_WRITE_COLUMNS).join(rounds, rounds.c.id == issues.c.round_id).where(issues.c.code == bindparam("p_code"))
)
_ISSUE_FOR_WRITE_UNLOCKED = Prepared(_ISSUE_FOR_WRITE)
_ISSUE_FOR_WRITE_LOCKED = Prepared(_ISSUE_FOR_WRITE.with_for_update(of=issues))
_EDIT_COLUMNS = ("version", "seq", "last_hash", "last_activity_at", "next_check_at", "light")
_MOVE_COLUMNS = (
    *_EDIT_COLUMNS,
    "state",
    "state_seq",
    "state_entered_at",
    "state_entered_by",
    "recurrence_count",
    "escalation_level",
    "stage_fired",
    "final_deadline",
)


def _update_issue(columns: tuple[str, ...]) -> Prepared:
    stmt = (
        update(issues)
        .where(and_(issues.c.id == bindparam("p_id"), issues.c.version == bindparam("p_version")))
        .values({c: bindparam(c) for c in columns})
    )
    return Prepared(stmt, {c: issues.c[c].type for c in columns})


_UPDATE_EDIT = _update_issue(_EDIT_COLUMNS)
_UPDATE_ESCALATION = _update_issue((*_EDIT_COLUMNS, "stage_fired", "escalation_level", "final_deadline"))
_UPDATE_MOVE = _update_issue(_MOVE_COLUMNS)
_EVENT_COLUMNS = [c.key for c in events.columns if c.key != "id"]
_INSERT_EVENT = Prepared(
    insert(events).values({c: bindparam(c) for c in _EVENT_COLUMNS}), {c: events.c[c].type for c in _EVENT_COLUMNS}
)
_ESCALATION_COLUMNS = [c.key for c in escalations.columns if c.key != "id"]
_INSERT_ESCALATION = Prepared(
    insert(escalations).values({c: bindparam(c) for c in _ESCALATION_COLUMNS}),
    {c: escalations.c[c].type for c in _ESCALATION_COLUMNS},
)
_OUTBOX_COLUMNS = [c.key for c in outbox.columns if c.key not in ("id", "last_error", "delivered_at")]
_INSERT_OUTBOX = Prepared(
    insert(outbox).values({c: bindparam(c) for c in _OUTBOX_COLUMNS}), {c: outbox.c[c].type for c in _OUTBOX_COLUMNS}
)
_SET_SCHEDULE = Prepared(
    update(issues)
    .where(issues.c.id == bindparam("p_id"))
    .values(light=bindparam("light"), next_check_at=bindparam("next_check_at")),
    {"next_check_at": issues.c.next_check_at.type},
)
_MEASURES = Prepared(select(measures).where(measures.c.issue_id == bindparam("p_id")).order_by(measures.c.no))
_SIGNOFFS = Prepared(select(signoffs).where(signoffs.c.issue_id == bindparam("p_id")).order_by(signoffs.c.id))
_EVIDENCE_COUNT = Prepared(select(func.count()).where(evidence.c.issue_id == bindparam("p_id")))
_MECHANISM_COUNT = Prepared(select(func.count()).where(mechanisms.c.issue_id == bindparam("p_id")))
_EVENT_BY_REQUEST = Prepared(
    select(*[c for c in events.columns], issues.c.code.label("issue_code"))
    .join(issues, issues.c.id == events.c.issue_id)
    .where(events.c.request_id == bindparam("p_request"))
)


_API_CLIENT = Prepared(select(api_clients).where(api_clients.c.name == bindparam("p_name")))


def _remember(dialect_insert: Any) -> Prepared:
    q = dialect_insert(api_nonces).values(
        signature=bindparam("signature"), client=bindparam("client"), seen_at=bindparam("seen_at")
    )
    q = q.on_conflict_do_nothing(index_elements=["signature"]).returning(api_nonces.c.signature)
    return Prepared(q, {"seen_at": api_nonces.c.seen_at.type})


_REMEMBER_PG = _remember(pg_insert)
_REMEMBER_SQLITE = _remember(sqlite_insert)


def _within_units(prefixes: Iterable[str]) -> Any:
    """Issues in these org units or below them, segment by segment (as ``Actor.covers``):
    ``省局/稽查局`` takes ``省局/稽查局/一科`` but not ``省局/稽查局二``."""
    conds = []
    for p in prefixes:
        below = p + "/"
        # LIKE finds the candidates (and can use an index); it ignores case on SQLite, so the
        # exact prefix is compared as well: ``tax/audit`` must not take ``TAX/AUDIT/one``
        conds += [
            issues.c.unit == p,
            and_(
                issues.c.unit.startswith(below, autoescape=True),
                func.substr(issues.c.unit, 1, len(below)) == below,
            ),
        ]
    return or_(*conds) if conds else issues.c.id.is_(None)


def _filtered(
    q: Any,
    *,
    states: Iterable[str] | None = None,
    categories: Iterable[str] | None = None,
    lights: Iterable[str] | None = None,
    sources: Iterable[str] | None = None,
    unit_prefixes: Iterable[str] | None = None,
) -> Any:
    """The filters lists, ledgers and reports share; ``unit_prefixes`` None means everywhere."""
    for column, wanted in (
        (issues.c.state, states),
        (issues.c.category, categories),
        (issues.c.light, lights),
    ):
        if wanted:
            q = q.where(column.in_(list(wanted)))
    if sources:  # a problem stored before sources existed comes from its round's source
        wanted = list(sources)
        q = q.where(or_(issues.c.source.in_(wanted), and_(issues.c.source == "", rounds.c.source.in_(wanted))))
    if unit_prefixes is not None:
        q = q.where(_within_units(unit_prefixes))
    return q


class Duplicate(Exception):
    """A row with the same unique key exists (a concurrent twin won the insert)."""


class StaleVersion(Exception):
    """The issue changed since it was read: the write matched no row."""


class Repository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.for_update = conn.dialect.name == "postgresql"

    # --- workflows ----------------------------------------------------------------------

    def workflow_versions(self, name: str | None = None, *, lock: bool = False) -> Sequence[Row[Any]]:
        """Deployed versions; with ``lock``, held against concurrent changes (PostgreSQL)."""
        q = select(workflows).order_by(workflows.c.name, workflows.c.version)
        if name is not None:
            q = q.where(workflows.c.name == name)
        if lock and self.for_update:
            q = q.with_for_update()
        return self.conn.execute(q).all()

    def workflow(self, name: str, version: int | None = None) -> Row[Any] | None:
        q = select(workflows).where(workflows.c.name == name)
        q = q.where(workflows.c.version == version) if version else q.order_by(workflows.c.version.desc()).limit(1)
        return self.conn.execute(q).first()

    def workflow_by_id(self, workflow_id: int) -> Row[Any] | None:
        return self.conn.execute(select(workflows).where(workflows.c.id == workflow_id)).first()

    def usable_workflow(self, name: str) -> Row[Any] | None:
        """The newest version of ``name`` that is not deprecated: what new rounds and issues use."""
        q = (
            select(workflows)
            .where(and_(workflows.c.name == name, workflows.c.deprecated.is_(False)))
            .order_by(workflows.c.version.desc())
            .limit(1)
        )
        return self.conn.execute(q).first()

    def set_deprecated(self, workflow_id: int, deprecated: bool) -> None:
        self.conn.execute(update(workflows).where(workflows.c.id == workflow_id).values(deprecated=deprecated))

    def workflow_in_use(self, workflow_id: int, live_states: Iterable[str]) -> dict[str, int]:
        """How many issues (and of them, still running) and rounds stand on a workflow version."""
        n_issues = self.conn.execute(select(func.count()).where(issues.c.workflow_id == workflow_id)).scalar_one()
        running = self.conn.execute(
            select(func.count()).where(and_(issues.c.workflow_id == workflow_id, issues.c.state.in_(list(live_states))))
        ).scalar_one()
        n_rounds = self.conn.execute(select(func.count()).where(rounds.c.workflow_id == workflow_id)).scalar_one()
        return {"issues": n_issues, "running": running, "rounds": n_rounds}

    # --- moving issues between workflow versions -----------------------------------------

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
        q = _filtered(
            select(*ISSUE_COLUMNS)
            .join(rounds, rounds.c.id == issues.c.round_id)
            .where(and_(issues.c.workflow_id == workflow_id, issues.c.state.in_(list(live_states)))),
            states=states,
            categories=categories,
            unit_prefixes=unit_prefixes,
        )
        if round_codes is not None:
            q = q.where(rounds.c.code.in_(list(round_codes)))
        return q

    def migration_census(self, workflow_id: int, live_states: Iterable[str], **where: Any) -> Sequence[Row[Any]]:
        """(state, category, severity, source, count, an example code) of the issues a
        migration would move: enough to refuse it in full before touching a row."""
        sub = self._migration_scope(workflow_id, live_states, **where).subquery()
        q = select(
            sub.c.state, sub.c.category, sub.c.severity, sub.c.source, func.count(), func.min(sub.c.code)
        ).group_by(sub.c.state, sub.c.category, sub.c.severity, sub.c.source)
        return self.conn.execute(q).all()

    def migration_chunks(
        self, workflow_id: int, live_states: Iterable[str], *, chunk: int = 5000, **where: Any
    ) -> Iterator[Sequence[Row[Any]]]:
        """The issues to move, locked, in keyset chunks."""
        base = self._migration_scope(workflow_id, live_states, **where)
        last = 0
        while True:
            q = base.where(issues.c.id > last).order_by(issues.c.id).limit(chunk)
            if self.for_update:
                q = q.with_for_update(of=issues)
            rows = self.conn.execute(q).all()
            if not rows:
                return
            yield rows
            last = rows[-1].id

    def move_issues(self, rows: list[dict[str, Any]]) -> int:
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

    def insert_workflow(self, **values: Any) -> int:
        try:
            return self.conn.execute(insert(workflows).returning(workflows.c.id), values).scalar_one()
        except IntegrityError as exc:
            raise Duplicate(str(exc.orig)) from exc

    # --- rounds -------------------------------------------------------------------------

    def insert_round(self, **values: Any) -> int:
        try:
            return self.conn.execute(insert(rounds).returning(rounds.c.id), values).scalar_one()
        except IntegrityError as exc:
            raise Duplicate(str(exc.orig)) from exc

    def round(self, code: str) -> Row[Any] | None:
        return self.conn.execute(select(rounds).where(rounds.c.code == code)).first()

    def rounds(self) -> Sequence[Row[Any]]:
        return self.conn.execute(select(rounds).order_by(rounds.c.feedback_date, rounds.c.code)).all()

    def round_state_counts(self, round_id: int, unit_prefixes: Iterable[str] | None = None) -> dict[str, int]:
        q = select(issues.c.state, func.count()).where(issues.c.round_id == round_id).group_by(issues.c.state)
        if unit_prefixes is not None:
            q = q.where(_within_units(unit_prefixes))
        return {s: n for s, n in self.conn.execute(q)}

    # --- issues -------------------------------------------------------------------------

    def insert_issues(self, rows: list[dict[str, Any]]) -> list[int]:
        """Many issues in one executemany; their ids in the order given."""
        q = insert(issues).returning(issues.c.id, sort_by_parameter_order=True)
        try:
            return list(self.conn.execute(q, rows).scalars())
        except IntegrityError as exc:
            raise Duplicate(str(exc.orig)) from exc

    def issue(self, code: str) -> Row[Any] | None:
        """Everything about one issue, for reading."""
        return _ISSUE_BY_CODE.first(self.conn, {"p_code": code})

    def issue_for_write(self, code: str) -> Row[Any] | None:
        """What a write needs, locked against concurrent writers on PostgreSQL (SQLite's
        ``BEGIN IMMEDIATE`` already holds the database)."""
        q = _ISSUE_FOR_WRITE_LOCKED if self.for_update else _ISSUE_FOR_WRITE_UNLOCKED
        return q.first(self.conn, {"p_code": code})

    def issue_exists(self, code: str) -> bool:
        return self.conn.execute(select(issues.c.id).where(issues.c.code == code)).first() is not None

    def existing_codes(self, codes: Iterable[str]) -> set[str]:
        """Which of these codes are taken, asked in chunks rather than once per code."""
        wanted = list(codes)
        out: set[str] = set()
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            out.update(self.conn.execute(select(issues.c.code).where(issues.c.code.in_(chunk))).scalars())
        return out

    def list_issues(
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
    ) -> Sequence[Row[Any]]:
        q = _ISSUE_SELECT
        if round_code:
            q = q.where(rounds.c.code == round_code)
        if owner:
            q = q.where(issues.c.owner == owner)
        q = _filtered(q, states=states, categories=categories, lights=lights, unit_prefixes=unit_prefixes)
        q = q.order_by(rounds.c.code, issues.c.id).limit(limit).offset(offset)
        return self.conn.execute(q).all()

    def round_issues(
        self,
        round_id: int,
        *,
        states: Iterable[str] | None = None,
        categories: Iterable[str] | None = None,
        lights: Iterable[str] | None = None,
        sources: Iterable[str] | None = None,
        unit_prefixes: Iterable[str] | None = None,
        chunk: int = 2000,
    ) -> Iterator[Sequence[Row[Any]]]:
        """A round's issues in chunks (keyset on id), so a ledger of 100,000 problems is
        written without holding it all in memory."""
        base = _filtered(
            _ISSUE_SELECT.where(issues.c.round_id == round_id),
            states=states,
            categories=categories,
            lights=lights,
            sources=sources,
            unit_prefixes=unit_prefixes,
        )
        last = 0
        while True:
            rows = self.conn.execute(base.where(issues.c.id > last).order_by(issues.c.id).limit(chunk)).all()
            if not rows:
                return
            yield rows
            last = rows[-1].id

    def measures_of(self, issue_ids: Sequence[int]) -> dict[int, list[Row[Any]]]:
        """The measures of many issues in one query, by issue."""
        return self._by_issue(measures, measures.c.no, issue_ids)

    def mechanisms_of(self, issue_ids: Sequence[int]) -> dict[int, list[Row[Any]]]:
        return self._by_issue(mechanisms, mechanisms.c.id, issue_ids)

    def _by_issue(self, table: Any, order: Any, issue_ids: Sequence[int]) -> dict[int, list[Row[Any]]]:
        out: dict[int, list[Row[Any]]] = {}
        for i in range(0, len(issue_ids), 1000):
            q = select(table).where(table.c.issue_id.in_(issue_ids[i : i + 1000])).order_by(table.c.issue_id, order)
            for row in self.conn.execute(q):
                out.setdefault(row.issue_id, []).append(row)
        return out

    def update_issue(self, issue_id: int, expected_version: int, **values: Any) -> None:
        """Write ``values`` only if nobody changed the issue since we read ``expected_version``."""
        params = {"p_id": issue_id, "p_version": expected_version, "version": expected_version + 1, **values}
        if "state" in values:
            stmt = _UPDATE_MOVE
        elif "stage_fired" in values:
            stmt = _UPDATE_ESCALATION
        else:
            stmt = _UPDATE_EDIT
        if stmt.rowcount(self.conn, params) != 1:
            raise StaleVersion()

    def set_people(self, issue_id: int, **values: Any) -> None:
        """Owner and lead only; the version check is done by the event's update_issue."""
        self.conn.execute(update(issues).where(issues.c.id == issue_id).values(**values))

    # --- statistics ---------------------------------------------------------------------

    def round_issue_facts(self, round_id: int, unit_prefixes: Iterable[str] | None) -> Sequence[Row[Any]]:
        q = (
            select(
                issues.c.id,
                issues.c.code,
                issues.c.category,
                issues.c.unit,
                func.coalesce(func.nullif(issues.c.source, ""), rounds.c.source).label("source"),
                issues.c.confidential,
                issues.c.state,
                issues.c.light,
                issues.c.due_date,
                issues.c.recurrence_count,
                issues.c.escalation_level,
                issues.c.created_at,
                issues.c.workflow_id,
            )
            .join(rounds, rounds.c.id == issues.c.round_id)
            .where(issues.c.round_id == round_id)
            .order_by(issues.c.id)
        )
        if unit_prefixes is not None:
            q = q.where(_within_units(unit_prefixes))
        return self.conn.execute(q).all()

    def round_transitions(self, round_id: int) -> Sequence[Row[Any]]:
        """Every state change of the round's issues, in order (for the burn-down)."""
        q = (
            select(events.c.issue_id, events.c.at, events.c.from_state, events.c.to_state)
            .join(issues, issues.c.id == events.c.issue_id)
            .where(issues.c.round_id == round_id, events.c.kind == "transition")
            .order_by(events.c.issue_id, events.c.seq)
        )
        return self.conn.execute(q).all()

    # --- escalation sweep ---------------------------------------------------------------

    def due_for_check(self, now: datetime, after: tuple[datetime, int] | None, limit: int) -> Sequence[Any]:
        """Issues whose next check has come, oldest first, after the keyset ``after``.  On
        PostgreSQL the rows are locked and rows another sweep holds are skipped, so sweeps on
        several nodes split the work instead of queueing on it."""
        q = (
            select(*_WRITE_COLUMNS)
            .join(rounds, rounds.c.id == issues.c.round_id)
            .where(issues.c.next_check_at.is_not(None), issues.c.next_check_at <= now)
            .order_by(issues.c.next_check_at, issues.c.id)
            .limit(limit)
        )
        if after is not None:
            q = q.where(
                or_(
                    issues.c.next_check_at > after[0],
                    and_(issues.c.next_check_at == after[0], issues.c.id > after[1]),
                )
            )
        if self.for_update:
            q = q.with_for_update(of=issues, skip_locked=True)
        return self.conn.execute(q).all()

    def set_schedule(self, issue_id: int, light: str | None, next_check_at: datetime | None) -> None:
        """Derived fields only (no event, no version bump): what time passing changes."""
        _SET_SCHEDULE.rowcount(self.conn, {"p_id": issue_id, "light": light, "next_check_at": next_check_at})

    def record_escalation(self, **values: Any) -> None:
        try:
            _INSERT_ESCALATION.rowcount(self.conn, values)
        except IntegrityError as exc:
            raise Duplicate(str(exc.orig)) from exc

    def escalation_records(self, issue_id: int) -> Sequence[Row[Any]]:
        q = select(escalations).where(escalations.c.issue_id == issue_id).order_by(escalations.c.id)
        return self.conn.execute(q).all()

    # --- outbox -------------------------------------------------------------------------

    def enqueue(self, rows: list[dict[str, Any]]) -> None:
        _INSERT_OUTBOX.many(self.conn, rows)

    def outbox_due(self, now: datetime, limit: int) -> Sequence[Row[Any]]:
        q = (
            select(outbox)
            .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= now)
            .order_by(outbox.c.next_attempt_at, outbox.c.id)
            .limit(limit)
        )
        if self.for_update:
            q = q.with_for_update(skip_locked=True)
        return self.conn.execute(q).all()

    def outbox_update(self, outbox_id: int, **values: Any) -> None:
        self.conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(**values))

    def outbox_list(self, status: str | None, limit: int) -> Sequence[Row[Any]]:
        q = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
        if status:
            q = q.where(outbox.c.status == status)
        return self.conn.execute(q).all()

    def outbox_retry(self, ids: list[int] | None, now: datetime) -> int:
        q = update(outbox).where(outbox.c.status == "dead")
        if ids:
            q = q.where(outbox.c.id.in_(ids))
        return self.conn.execute(q.values(status="pending", attempts=0, next_attempt_at=now, last_error=None)).rowcount

    # --- parts guards read --------------------------------------------------------------

    def measures(self, issue_id: int) -> Sequence[Row[Any]]:
        return _MEASURES.all(self.conn, {"p_id": issue_id})

    def insert_measure(self, **values: Any) -> None:
        self.conn.execute(insert(measures), values)

    def insert_measures(self, rows: list[dict[str, Any]]) -> None:
        """Many measures in one executemany (an imported list brings one or more per issue)."""
        if rows:
            self.conn.execute(insert(measures), rows)

    def next_measure_no(self, issue_id: int) -> int:
        q = select(func.coalesce(func.max(measures.c.no), 0)).where(measures.c.issue_id == issue_id)
        return int(self.conn.execute(q).scalar_one()) + 1

    def mark_measure_done(self, issue_id: int, no: int, at: datetime, by: str) -> int:
        res = self.conn.execute(
            update(measures)
            .where(and_(measures.c.issue_id == issue_id, measures.c.no == no, measures.c.done_at.is_(None)))
            .values(done_at=at, done_by=by)
        )
        return res.rowcount

    def measure(self, issue_id: int, no: int) -> Row[Any] | None:
        q = select(measures).where(and_(measures.c.issue_id == issue_id, measures.c.no == no))
        return self.conn.execute(q).first()

    def evidence(self, issue_id: int) -> Sequence[Row[Any]]:
        return self.conn.execute(select(evidence).where(evidence.c.issue_id == issue_id).order_by(evidence.c.id)).all()

    def evidence_count(self, issue_id: int) -> int:
        return int(_EVIDENCE_COUNT.scalar(self.conn, {"p_id": issue_id}))

    def insert_evidence(self, **values: Any) -> None:
        self.conn.execute(insert(evidence), values)

    def signoffs(self, issue_id: int) -> Sequence[Row[Any]]:
        return _SIGNOFFS.all(self.conn, {"p_id": issue_id})

    def insert_signoff(self, **values: Any) -> None:
        self.conn.execute(insert(signoffs), values)

    def mechanisms(self, issue_id: int) -> Sequence[Row[Any]]:
        q = select(mechanisms).where(mechanisms.c.issue_id == issue_id).order_by(mechanisms.c.id)
        return self.conn.execute(q).all()

    def mechanism_count(self, issue_id: int) -> int:
        return int(_MECHANISM_COUNT.scalar(self.conn, {"p_id": issue_id}))

    def insert_mechanism(self, **values: Any) -> None:
        self.conn.execute(insert(mechanisms), values)

    # --- events -------------------------------------------------------------------------

    def insert_event(self, **values: Any) -> None:
        _INSERT_EVENT.rowcount(self.conn, values)

    def insert_events(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.conn.execute(insert(events), rows)

    def events(self, issue_id: int, *, after_seq: int = 0, limit: int | None = None) -> Sequence[Row[Any]]:
        q = select(events).where(and_(events.c.issue_id == issue_id, events.c.seq > after_seq)).order_by(events.c.seq)
        if limit:
            q = q.limit(limit)
        return self.conn.execute(q).all()

    # --- whole-database audit -------------------------------------------------------------

    def audit_issues(self, after_id: int, limit: int) -> Sequence[Row[Any]]:
        """The next ``limit`` issues by id after ``after_id``, with what verification compares."""
        q = select(*_AUDIT_ISSUE_COLUMNS).where(issues.c.id > after_id).order_by(issues.c.id).limit(limit)
        return self.conn.execute(q).all()

    def audit_events(self, after: tuple[int, int, int], limit: int) -> Sequence[Row[Any]]:
        """The next ``limit`` events in (issue_id, seq, id) order after the keyset ``after``.
        The id is part of the key so that a duplicated seq (a forged row, were the unique
        constraint gone) is read rather than skipped; the range on issue_id uses its index."""
        i, s, e = after
        q = _AUDIT_EVENTS.get(limit)
        if q is None:
            q = _AUDIT_EVENTS[limit] = Prepared(_AUDIT_EVENTS_QUERY.suffix_with(f"LIMIT {int(limit)}"))
        return q.all(self.conn, {"p_issue": i, "p_seq": s, "p_id": e})

    def audit_records(self, first_id: int, last_id: int) -> dict[str, dict[int, list[Row[Any]]]]:
        """Measures, evidence, sign-offs and mechanisms of the issues with ids in
        [first_id, last_id], one range query per table, by issue."""
        out: dict[str, dict[int, list[Row[Any]]]] = {}
        for name, table, order in (
            ("measures", measures, measures.c.no),
            ("evidence", evidence, evidence.c.id),
            ("signoffs", signoffs, signoffs.c.id),
            ("mechanisms", mechanisms, mechanisms.c.id),
        ):
            by_issue: dict[int, list[Row[Any]]] = {}
            out[name] = by_issue
            q = (
                select(table)
                .where(table.c.issue_id >= first_id, table.c.issue_id <= last_id)
                .order_by(table.c.issue_id, order)
            )
            for row in self.conn.execute(q):
                by_issue.setdefault(row.issue_id, []).append(row)
        return out

    def event_by_request(self, request_id: str) -> Row[Any] | None:
        return _EVENT_BY_REQUEST.first(self.conn, {"p_request": request_id})
