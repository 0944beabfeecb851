"""Checking history: one issue's hash chain and records (``verify``), or every issue's over
the whole database (``audit verify``), against what the events say happened."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from ..i18n import Text
from ..storage.repository import Repository
from ..storage.rows import StoredEventRow
from .actors import Actor
from .authz import need_operator, visible_issue
from .core import Core
from .history import AuditReport, ChainReport, compare_records, verify_chain


def finals_of(core: Core, repo: Repository) -> Callable[[tuple[str, int]], frozenset[str]]:
    """The final states of any deployed version, by (name, version), looked up once each."""
    seen: dict[tuple[str, int], frozenset[str]] = {}

    def finals(version: tuple[str, int]) -> frozenset[str]:
        if version not in seen:
            row = repo.workflows.get(version[0], version[1]) if isinstance(version[1], int) else None
            d = core.definitions.of_row(row) if row is not None else None
            seen[version] = frozenset(s.name for s in d.states.values() if s.final) if d else frozenset()
        return seen[version]

    return finals


def verify(core: Core, code: str, actor: Actor) -> ChainReport:
    """Recompute the issue's hash chain and check its head and state against the issue row."""
    with core.read() as conn:
        repo = Repository(conn)
        row = visible_issue(repo, code, actor)
        d = core.definitions.get(repo, row.workflow_id)
        rep, replay = verify_chain(
            code, repo.events.of_issue(row.id), head_hash=row.last_hash, head_seq=row.seq, key=core.chain_key
        )
        compare_records(
            rep,
            replay,
            row,
            workflow=(d.name, d.version),
            final_states=finals_of(core, repo),
            signoffs=repo.records.signoffs(row.id),
            measures=repo.records.measures(row.id),
            evidence=repo.records.evidence(row.id),
            mechanisms=repo.records.mechanisms(row.id),
        )
        return rep


def audit(core: Core, actor: Actor | None = None, *, issue_chunk: int = 1000, event_chunk: int = 20_000) -> AuditReport:
    """See :meth:`Engine.audit_verify`."""
    if actor is not None:
        need_operator(actor, Text("审计整个数据库", "audit the whole database"))
    t0 = time.perf_counter()
    report = AuditReport()
    with core.read() as conn:
        if not core.db.is_sqlite:
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        repo = Repository(conn)
        finals = finals_of(core, repo)
        on: dict[int, tuple[str, int]] = {}
        stream = _event_stream(repo, event_chunk)
        pending = next(stream, None)
        after = 0
        while rows := repo.issues.audit_chunk(after, issue_chunk):
            records = repo.records.in_id_range(rows[0].id, rows[-1].id)
            for row in rows:
                while pending is not None and pending.issue_id < row.id:
                    report.orphan(pending)
                    pending = next(stream, None)
                chain = []
                while pending is not None and pending.issue_id == row.id:
                    chain.append(pending)
                    pending = next(stream, None)
                if row.workflow_id not in on:
                    d = core.definitions.get(repo, row.workflow_id)
                    on[row.workflow_id] = (d.name, d.version)
                rep, replay = verify_chain(
                    row.code, chain, head_hash=row.last_hash, head_seq=row.seq, key=core.chain_key
                )
                compare_records(
                    rep,
                    replay,
                    row,
                    workflow=on[row.workflow_id],
                    final_states=finals,
                    signoffs=records["signoffs"].get(row.id, ()),
                    measures=records["measures"].get(row.id, ()),
                    evidence=records["evidence"].get(row.id, ()),
                    mechanisms=records["mechanisms"].get(row.id, ()),
                )
                report.issues += 1
                report.events += rep.events
                if not rep.ok:
                    report.bad.append(rep)
            after = rows[-1].id
        while pending is not None:  # beyond the last issue
            report.orphan(pending)
            pending = next(stream, None)
    report.seconds = time.perf_counter() - t0
    return report


def _event_stream(repo: Repository, chunk: int) -> Iterator[StoredEventRow]:
    """Every event in (issue_id, seq, id) order, read ``chunk`` rows at a time."""
    after = (-1, 0, 0)
    while True:
        rows = repo.events.stored_chunk(after, chunk)
        yield from rows
        if len(rows) < chunk:
            return
        last = rows[-1]
        after = (last.issue_id, last.seq, last.id)
