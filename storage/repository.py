"""One transaction's storage, by aggregate.

``Repository(conn)`` is a thin front: each aggregate has a repository of its own under
``repositories/`` — ``repo.workflows``, ``repo.rounds``, ``repo.issues`` (one issue's head, lists,
the sweep's due rows, migrations), ``repo.records`` (measures, evidence, sign-offs,
mechanisms, deadline changes), ``repo.stats`` (a round's statistics, counted by the database),
``repo.events`` (the hash-chained log) and ``repo.outbox`` (notices and escalation
records).  Every query hands out the row types of ``rows.py``.
"""

from __future__ import annotations

from sqlalchemy import Connection

from .errors import Duplicate, StaleVersion
from .repositories.events import EventRepository
from .repositories.issues import IssueRepository
from .repositories.outbox import OutboxRepository
from .repositories.records import RecordRepository
from .repositories.rounds import RoundRepository
from .repositories.statistics import StatisticsRepository
from .repositories.workflows import WorkflowRepository


class Repository:
    __slots__ = ("conn", "events", "for_update", "issues", "outbox", "records", "rounds", "stats", "workflows")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.for_update = pg = conn.dialect.name == "postgresql"
        self.workflows = WorkflowRepository(conn, pg)
        self.rounds = RoundRepository(conn)
        self.issues = IssueRepository(conn, pg)
        self.records = RecordRepository(conn)
        self.events = EventRepository(conn)
        self.outbox = OutboxRepository(conn, pg)
        self.stats = StatisticsRepository(conn)


__all__ = ["Duplicate", "Repository", "StaleVersion"]
