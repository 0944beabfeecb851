"""Deployed workflow versions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import Duplicate
from ..models import issues, rounds, workflows
from ..rows import WorkflowRow, row_as, rows_as

_COLUMNS = tuple(workflows.c[f] for f in WorkflowRow._fields)


class WorkflowRepository:
    __slots__ = ("conn", "for_update")

    def __init__(self, conn: Connection, for_update: bool) -> None:
        self.conn = conn
        self.for_update = for_update

    def versions(self, name: str | None = None, *, lock: bool = False) -> list[WorkflowRow]:
        """Deployed versions; with ``lock``, held against concurrent changes (PostgreSQL)."""
        q = select(*_COLUMNS).order_by(workflows.c.name, workflows.c.version)
        if name is not None:
            q = q.where(workflows.c.name == name)
        if lock and self.for_update:
            q = q.with_for_update()
        return rows_as(WorkflowRow, self.conn.execute(q))

    def get(self, name: str, version: int | None = None) -> WorkflowRow | None:
        """A version of ``name``, or its newest."""
        q = select(*_COLUMNS).where(workflows.c.name == name)
        q = q.where(workflows.c.version == version) if version else q.order_by(workflows.c.version.desc()).limit(1)
        return row_as(WorkflowRow, self.conn.execute(q).first())

    def by_id(self, workflow_id: int) -> WorkflowRow | None:
        return row_as(WorkflowRow, self.conn.execute(select(*_COLUMNS).where(workflows.c.id == workflow_id)).first())

    def usable(self, name: str) -> WorkflowRow | None:
        """The newest version of ``name`` that is not deprecated: what new rounds and issues use."""
        q = (
            select(*_COLUMNS)
            .where(and_(workflows.c.name == name, workflows.c.deprecated.is_(False)))
            .order_by(workflows.c.version.desc())
            .limit(1)
        )
        return row_as(WorkflowRow, self.conn.execute(q).first())

    def insert(
        self,
        *,
        name: str,
        version: int,
        digest: str,
        source: str,
        deployed_at: datetime,
        deployed_by: str,
        deprecated: bool = False,
    ) -> int:
        values = dict(
            name=name,
            version=version,
            digest=digest,
            source=source,
            deployed_at=deployed_at,
            deployed_by=deployed_by,
            deprecated=deprecated,
        )
        try:
            return int(self.conn.execute(insert(workflows).returning(workflows.c.id), values).scalar_one())
        except IntegrityError as exc:
            raise Duplicate(str(exc.orig)) from exc

    def set_deprecated(self, workflow_id: int, deprecated: bool) -> None:
        self.conn.execute(update(workflows).where(workflows.c.id == workflow_id).values(deprecated=deprecated))

    def in_use(self, workflow_id: int, live_states: Iterable[str]) -> dict[str, int]:
        """How many issues (and of them, still running) and rounds stand on a workflow version."""
        n_issues = self.conn.execute(select(func.count()).where(issues.c.workflow_id == workflow_id)).scalar_one()
        running = self.conn.execute(
            select(func.count()).where(and_(issues.c.workflow_id == workflow_id, issues.c.state.in_(list(live_states))))
        ).scalar_one()
        n_rounds = self.conn.execute(select(func.count()).where(rounds.c.workflow_id == workflow_id)).scalar_one()
        return {"issues": n_issues, "running": running, "rounds": n_rounds}
