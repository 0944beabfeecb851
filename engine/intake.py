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
from typing import TYPE_CHECKING, Any

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
from .deadlines import period_refusal
from .definition import WorkflowDefinition
from .errors import ImportInvalid, InvalidInput
from .escalation import EscalationFacts
from .inputs import CODE_RE, MAX_LONG_TEXT, MAX_TEXT, need_code, need_date, need_text, need_unit
from .labels import need_source, round_source, sources_of
from .outbox import FEED_CHANNEL, Subject, feed_notice, todo_channels, todo_notices
from .results import ImportReport, IssueView, iso
from .rounds import need_round
from .views import view

if TYPE_CHECKING:
    from .importing import Draft

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
    request_id: str | None = None  # the request that recorded it by hand, for answering a retry


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
    request_id: str | None = None,
) -> IssueView:
    """See :meth:`Engine.add_issue`."""
    code = need_code(code, "code")
    if request_id is not None:
        request_id = need_text(request_id, "request_id", limit=128)
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
        r = need_round(repo, round_code, actor)  # another body's round is no round to add to
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
        period = period_refusal(d, category, due, r.period_end)
        if period is not None:
            raise InvalidInput(period, field="due_date")
        source = need_source(d, source or round_source(d, r))
        role = edit_role(d, "add_issue", actor, None)
        if request_id is not None and _recorded_by(repo, request_id, code, actor):
            row = repo.issues.get(code)
            assert row is not None
            return view(core, repo, row, actor, detail=False)
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
            request_id=request_id,
        )
        create_issues(core, repo, d, wf_id, r, actor, role, now, [new])
        row = repo.issues.get(code)
        assert row is not None
        return view(core, repo, row, actor, detail=False)


def _recorded_by(repo: Repository, request_id: str, code: str, actor: Actor) -> bool:
    """Whether this request recorded the issue before (a retry after a lost answer): only the
    same issue, created by the same actor; any other use of the id is refused."""
    prior = repo.events.by_request(request_id)
    if prior is None:
        return False
    if prior.issue_code != code or prior.kind != "created" or prior.actor_id != actor.id:
        raise journal.request_reused(prior)
    return True


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
            entered_at=entered_at, request_id=new.request_id,
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
                "done_at": now if m.get("done") else None,  # a ledger imported again keeps what was done
                "done_by": actor.id if m.get("done") else None,
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
    category: str | None = None,
) -> ImportReport:
    """See :meth:`Engine.import_issues`."""
    try:
        if dry_run:
            with journal.rehearsal():
                return _import(core, round_code, Path(path), actor, dry_run, encoding, mapping, workflow, category)
        return _import(core, round_code, Path(path), actor, dry_run, encoding, mapping, workflow, category)
    except _DryRunImport as done:
        return done.report


def _problem(draft: Draft, column: str, zh: str, en: str) -> dict[str, Any]:
    return {"row": draft.row, "no": draft.no, "column": column, "reason": Text(zh, en).to_dict()}


def _refused(problems: list[dict[str, Any]]) -> ImportInvalid:
    return ImportInvalid(
        Text(
            f"导入被拒绝：{len(problems)} 处错误，未写入任何内容",
            f"import refused: {len(problems)} errors, nothing was written",
        ),
        errors=problems,
    )


def _import(
    core: Core,
    round_code: str,
    path: Path,
    actor: Actor,
    dry_run: bool,
    encoding: str | None,
    mapping: dict[str, str] | None,
    workflow: str | None,
    category: str | None,
) -> ImportReport:
    """Three steps, so that no transaction is open while the file is read: what the list is
    checked against (a short read), the file parsed and checked (no transaction), then every
    problem written in one short transaction (rolled back for a dry run)."""
    with core.read() as conn:
        repo = Repository(conn)
        r = need_round(repo, round_code, actor)  # another body's round is no round to import into
        wf_id, d = for_new_issue(core, repo, r, workflow)
        edit_role(d, "add_issue", actor, None)
    if category is not None and category not in d.categories:
        raise InvalidInput(
            Text(
                f"未知的问题类别 {category}（可用：{', '.join(d.categories)}）",
                f"unknown category {category} (known: {', '.join(d.categories)})",
            ),
            field="category",
        )
    drafts = _checked(path, encoding, mapping, r, d, category)
    now = core.clock.now()
    with core.write() as conn, large_cache(conn):
        repo = Repository(conn)
        r_now = need_round(repo, round_code, actor)
        wf_now, d = for_new_issue(core, repo, r_now, workflow)
        if (wf_now, r_now.period_end, r_now.feedback_date) != (wf_id, r.period_end, r.feedback_date):
            drafts = _checked(path, encoding, mapping, r_now, d, category)  # the rules moved while it was read
        r, wf_id = r_now, wf_now
        role = edit_role(d, "add_issue", actor, None)
        report, todo, problems = _sort(repo, r, actor, drafts)
        report.dry_run = dry_run
        if problems:
            raise _refused(problems)
        source = round_source(d, r)
        for i in range(0, len(todo), BATCH):  # built a batch at a time: memory stays that of the drafts
            batch = [_new_issue(code, draft, source) for code, draft in todo[i : i + BATCH]]
            create_issues(core, repo, d, wf_id, r, actor, role, now, batch)
        if dry_run:
            raise _DryRunImport(report)  # leaving the transaction this way rolls it back
        return report


def _checked(
    path: Path,
    encoding: str | None,
    mapping: dict[str, str] | None,
    r: RoundRow,
    d: WorkflowDefinition,
    category: str | None,
) -> list[Draft]:
    """The file read and every row checked, or every error found."""
    from .importing import drafts_from_rows
    from .sheets import ImportRefused, read_table

    try:
        rows, _ = read_table(path, encoding=encoding)
        return drafts_from_rows(
            rows,
            categories=d.categories,
            severities=d.severities,
            sources=sources_of(d),
            org=r.org,
            feedback_date=r.feedback_date,
            period_end=r.period_end,
            mapping=mapping,
            period_bound=d.period_bound_categories,
            default_category=category or d.default_category,
            merged_headers=path.suffix.lower() in (".xlsx", ".xlsm"),
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


def _sort(
    repo: Repository, r: RoundRow, actor: Actor, drafts: list[Draft]
) -> tuple[ImportReport, list[tuple[str, Draft]], list[dict[str, Any]]]:
    """Each draft as a problem to create, one already present, or a row refused.

    A problem is already present when its code holds the same problem (title and unit) in
    this round: the code ``<round>-<序号>`` the import gives, or the 序号 itself, which is how
    the ledger numbers a problem added by hand under a code of its own.  A code held by
    anything else — another round's problem, another problem of this round — refuses the row:
    an import never drops a problem because someone else took its code."""
    report = ImportReport(dry_run=False)
    todo: list[tuple[str, Draft]] = []
    problems: list[dict[str, Any]] = []
    held = repo.issues.holders([f"{r.code}-{x.no}" for x in drafts] + [x.no for x in drafts])
    for draft in drafts:
        code = f"{r.code}-{draft.no}"
        own = held.get(draft.no)
        if code not in held and own is not None and own[0] == r.id:
            code = draft.no  # added by hand under its own code: the ledger's 序号 is that code
        if not CODE_RE.match(code):
            problems.append(
                _problem(
                    draft,
                    "序号",
                    f"序号 {draft.no!r} 不能用作编号（字母、数字或 . _ - /）",
                    f"number {draft.no!r} cannot be part of a code (letters, digits or . _ - /)",
                )
            )
            continue
        if not actor.covers(draft.unit):
            problems.append(
                _problem(
                    draft,
                    "责任部门",
                    f"单位 {draft.unit} 不在 {actor.id} 的组织范围内",
                    f"unit {draft.unit} is outside {actor.id}'s scope",
                )
            )
            continue
        holder = held.get(code)
        if holder is not None:
            round_id, title, unit = holder
            if round_id == r.id and (_plain(title), unit) == (_plain(draft.title[:MAX_TEXT]), draft.unit):
                report.existing.append(code)
            else:
                where = (
                    Text("本轮次的另一问题", "another problem of this round")
                    if round_id == r.id
                    else Text("另一轮次的问题", "a problem of another round")
                )
                problems.append(
                    _problem(
                        draft,
                        "序号",
                        f"编号 {code} 已被{where.zh}占用，未导入本行（请核对序号或改用其他轮次）",
                        f"the code {code} is taken by {where.en}; the row was not imported "
                        "(check the number, or import into another round)",
                    )
                )
            continue
        report.created.append(code)
        todo.append((code, draft))
    return report, todo, problems


def _plain(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _new_issue(code: str, draft: Draft, default_source: str) -> NewIssue:
    measures = [
        {
            "no": i,
            "text": m.text,
            "owner": m.owner if "owner" in m.own else draft.owner,
            "due_date": iso(m.due_date if "due_date" in m.own else draft.due_date),
            "target": m.target,
            **({"done": True} if m.done else {}),
        }
        for i, m in enumerate(draft.measures, start=1)
    ]
    return NewIssue(
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
