"""Checking history: one issue's hash chain and records (``verify``), or every issue's over
the whole database (``audit verify``), against what the events say happened."""

from __future__ import annotations

import time
from collections.abc import Iterator

from ..i18n import Text
from ..storage.repository import Repository
from ..storage.rows import StoredEventRow
from .actors import Actor
from .authz import need_operator, visible_issue
from .core import Core, digest_matches
from .definition import WorkflowDefinition, parse_definition
from .history import AuditReport, ChainReport, verify_chain
from .replay import Replay, compare_records


class Versions:
    """The deployed versions histories name, each looked up once: its final states and its
    transitions, and whether its stored text still has its digest.  A version whose text was
    changed is still read (its issues' other problems are found too) but reported."""

    def __init__(self, core: Core, repo: Repository) -> None:
        self.repo = repo
        self._seen: dict[tuple[str, int], WorkflowDefinition | None] = {}
        self.tampered: set[tuple[str, int]] = set()

    def definition(self, version: tuple[str, int]) -> WorkflowDefinition | None:
        if version not in self._seen:
            row = self.repo.workflows.get(version[0], version[1]) if isinstance(version[1], int) else None
            d = None
            if row is not None:
                if not digest_matches(row):
                    self.tampered.add(version)
                d = parse_definition(row.source, f"{row.name} v{row.version}")
            self._seen[version] = d
        return self._seen[version]

    def finals(self, version: tuple[str, int]) -> frozenset[str]:
        d = self.definition(version)
        return frozenset(s.name for s in d.states.values() if s.final) if d else frozenset()

    def moves(self, version: tuple[str, int]) -> dict[tuple[str, str], tuple[str, frozenset[str]]]:
        d = self.definition(version)
        if d is None:
            return {}
        return {(t.trigger, source): (t.dest, t.roles) for t in d.transitions for source in t.sources}

    def check(self, rep: ChainReport, version: tuple[str, int]) -> WorkflowDefinition | None:
        """The issue's own version, with a problem on the report if its text was changed."""
        d = self.definition(version)
        if version in self.tampered:
            rep.problems.append(
                (
                    0,
                    Text(
                        f"工作流 {version[0]} 第 {version[1]} 版的存储内容与其摘要不符（规则被绕过引擎修改）",
                        f"workflow {version[0]} v{version[1]} as stored does not match its digest "
                        "(the rules were changed behind the engine)",
                    ),
                )
            )
        return d


def _workflow_of(repo: Repository, workflow_id: int) -> tuple[str, int]:
    row = repo.workflows.by_id(workflow_id)
    assert row is not None, f"workflow {workflow_id} is referenced but not stored"
    return row.name, row.version


def verify(core: Core, code: str, actor: Actor) -> ChainReport:
    """Recompute the issue's hash chain and check its head, state and records against it, and
    every transition in it against the rules of the version it was made under."""
    with core.read() as conn:
        repo = Repository(conn)
        row = visible_issue(repo, code, actor)
        versions = Versions(core, repo)
        on = _workflow_of(repo, row.workflow_id)
        replay = Replay()
        rep = verify_chain(
            code,
            repo.events.of_issue(row.id),
            head_hash=row.last_hash,
            head_seq=row.seq,
            key=core.chain_key,
            each=replay.apply,
        )
        d = versions.check(rep, on)
        compare_records(
            rep,
            replay,
            row,
            round_code=row.round_code,
            workflow=on,
            final_states=versions.finals,
            signoffs=repo.records.signoffs(row.id),
            measures=repo.records.measures(row.id),
            evidence=repo.records.evidence(row.id),
            mechanisms=repo.records.mechanisms(row.id),
            deadline_changes=repo.records.deadline_changes(row.id),
            digest=d.digest if d else None,
            moves_of=versions.moves,
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
        versions = Versions(core, repo)
        for w in repo.workflows.versions():  # every version, whether or not an issue stands on it
            versions.definition((w.name, w.version))
        report.bad_workflows = sorted(f"{name} v{version}" for name, version in versions.tampered)
        on: dict[int, tuple[str, int]] = {}
        round_codes = {r.id: r.code for r in repo.rounds.all()}
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
                    on[row.workflow_id] = _workflow_of(repo, row.workflow_id)
                replay = Replay()
                rep = verify_chain(
                    row.code, chain, head_hash=row.last_hash, head_seq=row.seq, key=core.chain_key, each=replay.apply
                )
                d = versions.check(rep, on[row.workflow_id])
                compare_records(
                    rep,
                    replay,
                    row,
                    round_code=round_codes.get(row.round_id, ""),
                    workflow=on[row.workflow_id],
                    final_states=versions.finals,
                    signoffs=records["signoffs"].get(row.id, ()),
                    measures=records["measures"].get(row.id, ()),
                    evidence=records["evidence"].get(row.id, ()),
                    mechanisms=records["mechanisms"].get(row.id, ()),
                    deadline_changes=records["deadline_changes"].get(row.id, ()),
                    digest=d.digest if d else None,
                    moves_of=versions.moves,
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
