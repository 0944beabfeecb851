"""The records an issue carries besides its head: measures, evidence, sign-offs, mechanisms,
deadline changes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, case, func, insert, select, update

from ..models import deadline_changes, evidence, issues, measures, mechanisms, signoffs
from ..prepared import Prepared
from ..rows import DeadlineChangeRow, EvidenceRow, MeasureRow, MechanismRow, SignoffRow, row_as, rows_as
from .filters import within_units

#: each kind of record: its table, its row type, and the order it is listed in
KINDS: dict[str, tuple[Table, type[Any], str]] = {
    "measures": (measures, MeasureRow, "no"),
    "evidence": (evidence, EvidenceRow, "id"),
    "signoffs": (signoffs, SignoffRow, "id"),
    "mechanisms": (mechanisms, MechanismRow, "id"),
    "deadline_changes": (deadline_changes, DeadlineChangeRow, "no"),
}


def _select(table: Table, kind: type[Any]) -> Any:
    return select(*(table.c[f] for f in kind._fields))


def _of_issue(name: str) -> Prepared[Any]:
    table, kind, order = KINDS[name]
    q = _select(table, kind).where(table.c.issue_id == bindparam("p_id")).order_by(table.c[order])
    return Prepared(q, row=kind)


_OF_ISSUE = {name: _of_issue(name) for name in KINDS}
_EVIDENCE_COUNT: Prepared[Any] = Prepared(select(func.count()).where(evidence.c.issue_id == bindparam("p_id")))
_MECHANISM_COUNT: Prepared[Any] = Prepared(select(func.count()).where(mechanisms.c.issue_id == bindparam("p_id")))


class RecordRepository:
    __slots__ = ("conn",)

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- measures -------------------------------------------------------------------------

    def measures(self, issue_id: int) -> list[MeasureRow]:
        return _OF_ISSUE["measures"].all(self.conn, {"p_id": issue_id})

    def measure(self, issue_id: int, no: int) -> MeasureRow | None:
        q = _select(measures, MeasureRow).where(and_(measures.c.issue_id == issue_id, measures.c.no == no))
        return row_as(MeasureRow, self.conn.execute(q).first())

    def next_measure_no(self, issue_id: int) -> int:
        q = select(func.coalesce(func.max(measures.c.no), 0)).where(measures.c.issue_id == issue_id)
        return int(self.conn.execute(q).scalar_one()) + 1

    def insert_measure(
        self, *, issue_id: int, no: int, text: str, owner: str | None, due_date: date | None, target: str | None
    ) -> None:
        self.conn.execute(
            insert(measures),
            dict(issue_id=issue_id, no=no, text=text, owner=owner, due_date=due_date, target=target),
        )

    def progress_of_round(
        self, round_id: int, unit_prefixes: Iterable[str] | None, *, as_of: datetime, public: bool = False
    ) -> tuple[int, int, date | None]:
        """The measures of a round's issues in scope, counted by the database: how many, how
        many done by ``as_of``, and the earliest due date of those not done by then."""
        done_by = and_(measures.c.done_at.is_not(None), measures.c.done_at <= as_of)
        q = (
            select(
                func.count(),
                func.coalesce(func.sum(case((done_by, 1), else_=0)), 0),
                func.min(case((done_by, None), else_=measures.c.due_date)),
            )
            .select_from(measures.join(issues, issues.c.id == measures.c.issue_id))
            .where(issues.c.round_id == round_id, issues.c.created_at <= as_of)
        )
        if unit_prefixes is not None:
            q = q.where(within_units(unit_prefixes))
        if public:
            q = q.where(issues.c.confidential.is_(False))
        total, done, next_due = self.conn.execute(q).one()
        if isinstance(next_due, str):  # SQLite hands back the text it stores
            next_due = date.fromisoformat(next_due[:10])
        return int(total), int(done), next_due

    def insert_measures(self, rows: list[dict[str, Any]]) -> None:
        """Many measures in one executemany (an imported list brings one or more per issue)."""
        if rows:
            self.conn.execute(insert(measures), rows)

    def mark_measure_done(self, issue_id: int, no: int, at: datetime, by: str) -> bool:
        res = self.conn.execute(
            update(measures)
            .where(and_(measures.c.issue_id == issue_id, measures.c.no == no, measures.c.done_at.is_(None)))
            .values(done_at=at, done_by=by)
        )
        return res.rowcount == 1

    # --- evidence, sign-offs, mechanisms ----------------------------------------------------

    def evidence(self, issue_id: int) -> list[EvidenceRow]:
        return _OF_ISSUE["evidence"].all(self.conn, {"p_id": issue_id})

    def evidence_count(self, issue_id: int) -> int:
        return int(_EVIDENCE_COUNT.scalar(self.conn, {"p_id": issue_id}))

    def insert_evidence(
        self,
        *,
        issue_id: int,
        measure_no: int | None,
        uri: str,
        sha256: str,
        note: str,
        added_by: str,
        added_at: datetime,
    ) -> None:
        values = dict(
            issue_id=issue_id,
            measure_no=measure_no,
            uri=uri,
            sha256=sha256,
            note=note,
            added_by=added_by,
            added_at=added_at,
        )
        self.conn.execute(insert(evidence), values)

    def signoffs(self, issue_id: int) -> list[SignoffRow]:
        return _OF_ISSUE["signoffs"].all(self.conn, {"p_id": issue_id})

    def insert_signoff(
        self, *, issue_id: int, role: str, actor_id: str, state: str, stage_seq: int, comment: str, at: datetime
    ) -> None:
        values = dict(
            issue_id=issue_id, role=role, actor_id=actor_id, state=state, stage_seq=stage_seq, comment=comment, at=at
        )
        self.conn.execute(insert(signoffs), values)

    def mechanisms(self, issue_id: int) -> list[MechanismRow]:
        return _OF_ISSUE["mechanisms"].all(self.conn, {"p_id": issue_id})

    def mechanism_count(self, issue_id: int) -> int:
        return int(_MECHANISM_COUNT.scalar(self.conn, {"p_id": issue_id}))

    def insert_mechanism(
        self,
        *,
        issue_id: int,
        title: str,
        reference: str,
        adopted_on: date | None,
        added_by: str,
        added_at: datetime,
    ) -> None:
        values = dict(
            issue_id=issue_id,
            title=title,
            reference=reference,
            adopted_on=adopted_on,
            added_by=added_by,
            added_at=added_at,
        )
        self.conn.execute(insert(mechanisms), values)

    # --- deadline changes (延期申请) ------------------------------------------------------------

    def deadline_changes(self, issue_id: int) -> list[DeadlineChangeRow]:
        return _OF_ISSUE["deadline_changes"].all(self.conn, {"p_id": issue_id})

    def insert_deadline_change(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(deadline_changes), values)

    def decide_deadline_change(
        self, issue_id: int, no: int, *, status: str, by: str, at: datetime, decision: str
    ) -> None:
        self.conn.execute(
            update(deadline_changes)
            .where(and_(deadline_changes.c.issue_id == issue_id, deadline_changes.c.no == no))
            .values(status=status, decided_by=by, decided_at=at, decision=decision)
        )

    def extension_counts(self, issue_ids: Sequence[int]) -> dict[int, int]:
        """How many deadline changes were approved for each of these issues (counted by the
        database, a thousand ids at a time); issues with none are left out."""
        out: dict[int, int] = {}
        for i in range(0, len(issue_ids), 1000):
            q = (
                select(deadline_changes.c.issue_id, func.count())
                .where(
                    deadline_changes.c.issue_id.in_(issue_ids[i : i + 1000]), deadline_changes.c.status == "approved"
                )
                .group_by(deadline_changes.c.issue_id)
            )
            out.update({int(k): int(n) for k, n in self.conn.execute(q)})
        return out

    def set_measure_due(self, issue_id: int, no: int, due: date) -> None:
        self.conn.execute(
            update(measures).where(and_(measures.c.issue_id == issue_id, measures.c.no == no)).values(due_date=due)
        )

    # --- many issues at once ----------------------------------------------------------------

    def of_issues(self, name: str, issue_ids: Sequence[int]) -> dict[int, list[Any]]:
        """The ``name`` records (``measures``, ``mechanisms`` …) of many issues, by issue,
        in chunks of a thousand ids."""
        table, kind, order = KINDS[name]
        out: dict[int, list[Any]] = {}
        for i in range(0, len(issue_ids), 1000):
            q = (
                _select(table, kind)
                .where(table.c.issue_id.in_(issue_ids[i : i + 1000]))
                .order_by(table.c.issue_id, table.c[order])
            )
            for row in rows_as(kind, self.conn.execute(q)):
                out.setdefault(row.issue_id, []).append(row)
        return out

    def in_id_range(self, first_id: int, last_id: int) -> dict[str, dict[int, list[Any]]]:
        """Every kind of record of the issues with ids in [first_id, last_id], one range
        query per table, by kind and issue (the whole-database audit)."""
        out: dict[str, dict[int, list[Any]]] = {}
        for name, (table, kind, order) in KINDS.items():
            by_issue: dict[int, list[Any]] = {}
            out[name] = by_issue
            q = (
                _select(table, kind)
                .where(table.c.issue_id >= first_id, table.c.issue_id <= last_id)
                .order_by(table.c.issue_id, table.c[order])
            )
            for row in rows_as(kind, self.conn.execute(q)):
                by_issue.setdefault(row.issue_id, []).append(row)
        return out
