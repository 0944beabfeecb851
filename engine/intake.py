"""Problems coming in: one typed in (``add_issue``) or a whole list imported (CSV or XLSX).

Both end in :func:`create_issues`, which writes each problem with the first event of its chain
(``created``, through :func:`journal.entry`) and the measures an imported list brings, a
thousand at a time with three ``executemany`` statements whatever the batch size, and queues
the OA to-dos and the change feed from the rows just written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ..i18n import Text
from ..storage.database import large_cache
from ..storage.errors import Duplicate
from ..storage.repository import Repository
from ..storage.rows import RoundRow
from . import journal
from .actors import Actor
from .authz import edit_role, in_scope
from .catalog import for_new_issue
from .core import Core
from .definition import WorkflowDefinition
from .errors import ImportInvalid, InvalidInput
from .escalation import EscalationFacts
from .inputs import CODE_RE, MAX_LONG_TEXT, MAX_TEXT, need_code, need_date, need_text, need_unit
from .labels import need_source, round_source, sources_of
from .outbox import FEED_CHANNEL, Subject, feed_notice, todo_channels, todo_notices
from .results import ImportReport, IssueView, iso
from .rounds import need_round
from .views import view

BATCH = 1000


@dataclass(frozen=True)
class NewIssue:
    """A checked problem about to be stored, typed in or imported."""

    code: str
    title: str
    description: str
    category: str
    severity: str
    unit: str
    owner: str
    lead: str
    due: date | None
    source: str
    confidential: bool = False
    measures: list[dict[str, Any]] = field(default_factory=list)


def add_issue(
    core: Core,
    round_code: str,
    code: str,
    *,
    title: str,
    category: str,
    unit: str,
    owner: str,
    lead: str,
    actor: Actor,
    due_date: date | str | None = None,
    severity: str = "normal",
    description: str = "",
    source: str | None = None,
    confidential: bool = False,
    workflow: str | None = None,
) -> IssueView:
    """See :meth:`Engine.add_issue`."""
    code = need_code(code, "code")
    title = need_text(title, "title")
    category = need_text(category, "category", limit=64)
    severity = need_text(severity, "severity", limit=64)
    unit = need_unit(unit)
    description = need_text(description, "description", limit=MAX_LONG_TEXT, required=False)
    owner = need_text(owner, "owner", limit=128)  # every problem has a named owner (专人负责)
    lead = need_text(lead, "lead", limit=128)  # and a responsible leader (责任领导)
    due = need_date(due_date, "due_date")
    in_scope(actor, unit, Text("单位", "unit"))
    now = core.clock.now()
    with core.write() as conn:
        repo = Repository(conn)
        r = need_round(repo, round_code)
        wf_id, d = for_new_issue(core, repo, r, workflow)
        if category not in d.categories:
            raise InvalidInput(
                Text(
                    f"未知的问题类别 {category}（可用：{', '.join(d.categories)}）",
                    f"unknown category {category} (known: {', '.join(d.categories)})",
                ),
                field="category",
            )
        if severity not in d.severities:
            raise InvalidInput(
                Text(
                    f"未知的严重程度 {severity}（可用：{', '.join(d.severities)}）",
                    f"unknown severity {severity} (known: {', '.join(d.severities)})",
                ),
                field="severity",
            )
        if due is not None and due < r.feedback_date:
            raise InvalidInput(
                Text(
                    f"整改时限 {due} 早于反馈日 {r.feedback_date}",
                    f"due date {due} is before the feedback date {r.feedback_date}",
                ),
                field="due_date",
            )
        source = need_source(d, source or round_source(d, r))
        role = edit_role(d, "add_issue", actor, None)
        if repo.issues.exists(code):
            raise InvalidInput(Text(f"问题编号 {code} 已存在", f"issue code {code} already exists"), field="code")
        new = NewIssue(
            code=code,
            title=title,
            description=description,
            category=category,
            severity=severity,
            unit=unit,
            owner=owner,
            lead=lead,
            due=due,
            source=source,
            confidential=bool(confidential),
        )
        create_issues(core, repo, d, wf_id, r, actor, role, now, [new])
        row = repo.issues.get(code)
        assert row is not None
        return view(core, repo, row, actor, detail=False)


def create_issues(
    core: Core,
    repo: Repository,
    d: WorkflowDefinition,
    workflow_id: int,
    r: RoundRow,
    actor: Actor,
    role: str,
    now: datetime,
    batch: list[NewIssue],
) -> None:
    """Insert issues, each with its first event and the measures an imported list brings."""
    issue_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    entered_at = journal.stamp(core, now)
    for new in batch:
        facts = EscalationFacts(d.initial, new.category, new.severity, now, now, new.due, r.tz)
        data: dict[str, Any] = {
            "title": new.title,
            "description": new.description,
            "category": new.category,
            "severity": new.severity,
            "unit": new.unit,
            "owner": new.owner,
            "lead": new.lead,
            "due_date": iso(new.due),
            "round": r.code,
            "source": new.source,
            "workflow": d.name,
            "workflow_version": d.version,
            "workflow_digest": d.digest,  # the rules it starts under, on its chain
        }
        if new.confidential:
            data["confidential"] = True
        if new.measures:
            data["measures"] = new.measures
        ev, head = journal.entry(
            core.chain_key, new.code, None, "created", actor.id, role, now, to_state=d.initial, data=data,
            entered_at=entered_at,
        )  # fmt: skip
        event_rows.append(ev)
        light, check_at = journal.schedule(d, facts, now)
        issue_rows.append(
            dict(
                next_check_at=check_at,
                light=light,
                stage_fired="",
                code=new.code,
                round_id=r.id,
                workflow_id=workflow_id,
                title=new.title,
                description=new.description,
                category=new.category,
                severity=new.severity,
                unit=new.unit,
                source=new.source,
                confidential=new.confidential,
                owner=new.owner,
                lead=new.lead,
                due_date=new.due,
                state=d.initial,
                state_seq=head.seq,
                state_entered_at=now,
                state_entered_by=actor.id,
                last_activity_at=now,
                escalation_level=0,
                recurrence_count=0,
                created_at=now,
                seq=head.seq,
                last_hash=head.last_hash,
                version=head.version,
            )
        )
    try:
        ids = repo.issues.insert_many(issue_rows)
    except Duplicate:  # a twin inserted concurrently (two transactions both passed the check)
        code = batch[0].code if len(batch) == 1 else "…"
        raise InvalidInput(Text(f"问题编号 {code} 已存在", f"issue code {code} already exists"), field="code") from None
    for ev, issue_id in zip(event_rows, ids, strict=True):
        ev["issue_id"] = issue_id
    repo.events.insert_many(event_rows)
    repo.records.insert_measures(
        [
            {
                "issue_id": issue_id,
                "no": m["no"],
                "text": m["text"],
                "owner": m["owner"],
                "due_date": date.fromisoformat(m["due_date"]) if m["due_date"] else None,
                "target": m["target"],
            }
            for new, issue_id in zip(batch, ids, strict=True)
            for m in new.measures
        ]
    )
    if todo_channels(core):  # from the rows just written: no read back per issue
        repo.outbox.enqueue(
            [
                notice
                for new, i in zip(batch, ids, strict=True)
                for notice in todo_notices(
                    core,
                    d,
                    Subject(i, new.code, new.title, new.unit, new.due, new.owner, new.lead),
                    d.initial,
                    d.initial,
                    1,
                    now,
                )
            ]
        )
    if FEED_CHANNEL in core.channels:
        repo.outbox.enqueue(
            [
                feed_notice(core, i, new.code, ev, d.initial, now)
                for new, i, ev in zip(batch, ids, event_rows, strict=True)
            ]
        )


class _DryRunImport(Exception):
    """Raised inside a dry-run import's transaction so that everything it did rolls back."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report


def import_issues(
    core: Core,
    round_code: str,
    path: str | Path,
    *,
    actor: Actor,
    dry_run: bool = False,
    encoding: str | None = None,
    mapping: dict[str, str] | None = None,
    workflow: str | None = None,
) -> ImportReport:
    """See :meth:`Engine.import_issues`."""
    try:
        if dry_run:
            with journal.rehearsal():
                return _import(core, round_code, Path(path), actor, dry_run, encoding, mapping, workflow)
        return _import(core, round_code, Path(path), actor, dry_run, encoding, mapping, workflow)
    except _DryRunImport as done:
        return done.report


def _import(
    core: Core,
    round_code: str,
    path: Path,
    actor: Actor,
    dry_run: bool,
    encoding: str | None,
    mapping: dict[str, str] | None,
    workflow: str | None,
) -> ImportReport:
    from .importing import ImportRefused, drafts_from_rows, read_table

    now = core.clock.now()
    with core.write() as conn, large_cache(conn):
        repo = Repository(conn)
        r = need_round(repo, round_code)
        wf_id, d = for_new_issue(core, repo, r, workflow)
        role = edit_role(d, "add_issue", actor, None)
        try:
            rows, _ = read_table(path, encoding=encoding)
            drafts = drafts_from_rows(
                rows,
                categories=d.categories,
                severities=d.severities,
                sources=sources_of(d),
                org=r.org,
                feedback_date=r.feedback_date,
                period_end=r.period_end,
                mapping=mapping,
                period_bound=d.period_bound_categories,
            )
        except ImportRefused as exc:
            raise ImportInvalid(
                Text(
                    f"导入被拒绝：{len(exc.errors)} 处错误，未写入任何内容",
                    f"import refused: {len(exc.errors)} errors, nothing was written",
                ),
                errors=[e.to_dict() for e in exc.errors],
            ) from None
        except OSError as exc:
            raise InvalidInput(Text(f"无法读取文件：{exc}", f"cannot read the file: {exc}"), field="file") from None
        report = ImportReport(dry_run=dry_run)
        problems: list[dict[str, Any]] = []
        default_source = round_source(d, r)
        existing = repo.issues.existing_codes(f"{round_code}-{draft.no}" for draft in drafts)
        pending: list[NewIssue] = []
        for draft in drafts:
            code = f"{round_code}-{draft.no}"
            if not CODE_RE.match(code):
                problems.append(
                    {
                        "row": draft.row,
                        "column": "序号",
                        "reason": Text(
                            f"序号 {draft.no!r} 不能用作编号（字母、数字或 . _ - /）",
                            f"number {draft.no!r} cannot be part of a code (letters, digits or . _ - /)",
                        ).to_dict(),
                    }
                )
                continue
            if not actor.covers(draft.unit):
                problems.append(
                    {
                        "row": draft.row,
                        "column": "责任部门",
                        "reason": Text(
                            f"单位 {draft.unit} 不在 {actor.id} 的组织范围内",
                            f"unit {draft.unit} is outside {actor.id}'s scope",
                        ).to_dict(),
                    }
                )
                continue
            if code in existing:
                report.existing.append(code)
                continue
            report.created.append(code)
            measures = [
                {
                    "no": i,
                    "text": m.text,
                    "owner": draft.owner,
                    "due_date": draft.due_date.isoformat(),
                    "target": m.target,
                }
                for i, m in enumerate(draft.measures, start=1)
            ]
            pending.append(
                NewIssue(
                    code=code,
                    title=draft.title[:MAX_TEXT],
                    description=draft.description,
                    category=draft.category,
                    severity=draft.severity,
                    unit=draft.unit,
                    owner=draft.owner[:128],
                    lead=draft.lead[:128],
                    due=draft.due_date,
                    source=draft.source or default_source,
                    confidential=draft.confidential,
                    measures=measures,
                )
            )
            if len(pending) >= BATCH:
                create_issues(core, repo, d, wf_id, r, actor, role, now, pending)
                pending = []
        if pending:
            create_issues(core, repo, d, wf_id, r, actor, role, now, pending)
        if problems:
            raise ImportInvalid(
                Text(
                    f"导入被拒绝：{len(problems)} 处错误，未写入任何内容",
                    f"import refused: {len(problems)} errors, nothing was written",
                ),
                errors=problems,
            )
        if dry_run:
            raise _DryRunImport(report)  # leaving the transaction this way rolls it back
        return report
