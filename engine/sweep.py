"""The escalation sweep: every rule whose time has come, applied at most once per issue and
episode, with its event and its notices, one transaction per batch.

Only issues whose ``next_check_at`` has come are read (through its index), so the sweep's cost
follows the due items, not the total.  On PostgreSQL rows are claimed with ``FOR UPDATE SKIP
LOCKED``, so sweeps on several nodes split the work; the ``escalations`` record (unique per
issue, rule and episode) makes a rule fire once whichever node ran it.  Each issue is worked
in a savepoint: one issue's failure is recorded and retried in an hour, and the rest go on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from ..i18n import Text
from ..storage.database import savepoint
from ..storage.errors import Duplicate
from ..storage.repository import Repository
from ..storage.rows import IssueHead
from . import journal
from .actors import SYSTEM, Actor
from .authz import need_operator, need_past_unless_dry_run
from .clock import local_date, to_utc
from .core import Core
from .definition import WorkflowDefinition
from .errors import ConcurrentUpdate, InvalidInput
from .escalation import DueRule, evaluator_for
from .facts import GuardContext
from .firing import issue_facts
from .machine import machine_for
from .outbox import rule_notices, subject_of, todo_channels, todo_notices
from .results import SweepReport

log = logging.getLogger("zhenggai.engine")


class _DryRun(Exception):
    """Raised inside a dry-run sweep's transaction so that everything it did rolls back."""


def sweep(
    core: Core,
    as_of: datetime | date | str | None = None,
    *,
    dry_run: bool = False,
    batch: int = 200,
    should_stop: Callable[[], bool] | None = None,
    actor: Actor | None = None,
    backdate: bool = False,
) -> SweepReport:
    """See :meth:`Engine.sweep`."""
    now = to_utc(as_of) if as_of is not None else core.clock.now()
    if actor is not None:
        need_operator(actor, Text("运行督办扫描", "run the sweep"))
    if dry_run:
        with journal.rehearsal():
            return _sweep(core, now, dry_run, batch, should_stop)
    need_past_unless_dry_run(now, core.wall.now(), dry_run)
    if as_of is not None and now < core.wall.now():  # escalations dated in the past: declared, or refused
        if not backdate:
            raise InvalidInput(
                Text(
                    "按过去的日期扫描会把督办记录记在那一天：请预演（dry_run），或明确声明补录（backdate）",
                    "a sweep as of a past moment dates its escalations then: rehearse it (dry_run), "
                    "or declare it data entry of the past (backdate)",
                ),
                field="as_of",
            )
        with journal.backdating():
            return _sweep(core, now, dry_run, batch, should_stop)
    return _sweep(core, now, dry_run, batch, should_stop)


def _sweep(core: Core, now: datetime, dry_run: bool, batch: int, should_stop: Callable[[], bool] | None) -> SweepReport:
    report = SweepReport(as_of=now, dry_run=dry_run)
    after: tuple[datetime, int] | None = None
    while not (should_stop and should_stop()):
        try:
            with core.write() as conn:
                repo = Repository(conn)
                rows = repo.issues.due(now, after, batch)
                for row in rows:
                    reported = len(report.fired)
                    try:
                        with savepoint(conn):  # one issue's failure must not stop the rest
                            sweep_issue(core, repo, row, now, report)
                    except Exception as exc:
                        del report.fired[reported:]  # rolled back with the issue: not applied
                        log.exception("sweep: issue %s failed; retrying it in an hour", row.code)
                        report.failed.append({"issue": row.code, "error": str(exc)[:500]})
                        repo.issues.set_schedule(row.id, row.light, now + timedelta(hours=1))
                report.batches += 1
                if rows:
                    after = (rows[-1].next_check_at, rows[-1].id)  # type: ignore[assignment]
                if dry_run:
                    raise _DryRun
        except _DryRun:
            pass
        if len(rows) < batch:
            break
    return report


def sweep_issue(core: Core, repo: Repository, row: IssueHead, now: datetime, report: SweepReport) -> None:
    """Apply the issue's due rules one after another (each may make the next due), then store
    its light and next check."""
    d = core.definitions.get(repo, row.workflow_id)
    policy = evaluator_for(d)
    report.checked += 1
    applied = False
    for _ in range(len(policy.rules) + 1):  # each pass fires at least one rule, or stops
        dues = policy.due_rules(journal.escalation_facts(row), now)
        if not dues:
            break
        row = apply_rule(core, repo, d, row, dues[0], now, report)
        applied = True
    # a rule's write stored the light and next check as of now; otherwise time alone moved them
    light, check = (
        (row.light, row.next_check_at) if applied else journal.schedule(d, journal.escalation_facts(row), now)
    )
    if check is not None and check <= now:  # a rule that could not be applied: not again this sweep
        check = None
    if (light, check) != (row.light, row.next_check_at):
        repo.issues.set_schedule(row.id, light, check)


def apply_rule(
    core: Core,
    repo: Repository,
    d: WorkflowDefinition,
    row: IssueHead,
    due: DueRule,
    now: datetime,
    report: SweepReport,
) -> IssueHead:
    """One rule: its event (an escalation, or for ``escalate`` the supervision transition),
    its record and its notices.  Returns the issue's head after it."""
    rule = due.rule
    data: dict[str, Any] = {"rule": rule.name, "action": rule.action}
    if due.new_deadline is not None:
        data["new_deadline"] = due.new_deadline.isoformat()
    if due.estimated:
        data["calendar_estimated"] = True
    fired = ",".join(sorted(journal.fired(row.stage_fired) | {rule.name}))
    before = row
    outcome = "applied"
    if rule.action == "escalate":
        t = d.transition("escalate", row.state)
        facts = issue_facts(repo, row, t.needs if t else frozenset())
        ctx = GuardContext(SYSTEM, "system", "escalate", row.state, now, local_date(now, row.round_tz), None)
        result = machine_for(d).fire("escalate", facts, ctx)
        if result.ok:
            assert result.dest is not None
            row = journal.append(
                core,
                repo,
                d,
                row,
                "transition",
                SYSTEM,
                "system",
                now,
                activity=False,
                trigger="escalate",
                from_state=row.state,
                to_state=result.dest,
                data=data,
                issue_values=dict(
                    state=result.dest,
                    state_seq=row.seq + 1,
                    state_entered_at=now,
                    state_entered_by=SYSTEM.id,
                    recurrence_count=row.recurrence_count,
                    escalation_level=row.escalation_level,
                    stage_fired=fired,
                    final_deadline=row.final_deadline,
                ),
            )
            if todo_channels(core):
                repo.outbox.enqueue(todo_notices(core, d, subject_of(before), before.state, row.state, row.seq, now))
        else:
            outcome = "refused"
            data["refused"] = [{"rule": r, "reason": reason.to_dict()} for r, reason in result.reasons]
    if rule.action != "escalate" or outcome == "refused":
        level = row.escalation_level + (1 if rule.action == "elevate" else 0)
        if rule.action == "elevate":
            data["level"] = level
        kind = "escalation_failed" if outcome == "refused" else f"escalation_{rule.action}"
        row = journal.append(
            core,
            repo,
            d,
            row,
            kind,
            SYSTEM,
            "system",
            now,
            data=data,
            activity=False,
            issue_values={
                "stage_fired": fired,
                "escalation_level": level,
                "final_deadline": due.new_deadline or row.final_deadline,
            },
        )
    try:
        repo.outbox.record_escalation(  # once per episode (reopening starts the next)
            issue_id=row.id,
            rule=rule.name,
            stage_seq=row.recurrence_count,
            action=rule.action,
            fired_at=now,
            event_seq=row.seq,
        )
    except Duplicate:
        raise ConcurrentUpdate(Text("另一个巡检进程已处理该规则", "another sweep applied this rule")) from None
    repo.outbox.enqueue(rule_notices(core, d, subject_of(before), before.state, rule, data, row.seq, now))
    report.fired.append(
        {
            "issue": row.code,
            "rule": rule.name,
            "action": rule.action,
            "outcome": outcome,
            "notices": len(rule.notify) * len(core.channels),
            **data,
        }
    )
    return row
