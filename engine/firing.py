"""Firing a trigger: the workflow's machine judges it, the journal records it.

The path every transition takes, and so the one that counts microseconds: the issue's head
is read locked (one prepared statement, with the evidence and mechanism counts some guards
read), only the parts the transition's guards need are loaded, the compiled
``transitions.Machine`` of that workflow version runs the guards, and :func:`journal.append`
writes the event and the new head.  A refusal changes nothing and lists every failed rule.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from ..i18n import Text
from ..storage.repository import Repository
from ..storage.rows import IssueHead, IssueRow, RequestEvent
from . import journal
from .actors import Actor
from .authz import writable_issue
from .clock import local_date
from .core import Core
from .definition import TransitionDef, WorkflowDefinition
from .errors import Refused
from .facts import GuardContext, IssueFacts, MeasureFacts, RoundFacts, SignoffFacts
from .inputs import MAX_LONG_TEXT, need_text, optional_text
from .machine import Outcome, machine_for
from .outbox import ESCALATE_TRIGGER, escalation_by_hand, subject_of, todo_channels, todo_notices
from .results import FireResult


def issue_facts(repo: Repository, row: IssueHead | IssueRow, needs: frozenset[str]) -> IssueFacts:
    """What guards look at, loading only the parts they ``need`` (measures, evidence, sign-offs,
    mechanisms): firing ``escalate`` reads no measures.  The write path's head carries the two
    counts already (but for the sweep's due rows, which leave them out)."""
    kw: dict[str, Any] = {}
    evidence = row.evidence_count if isinstance(row, IssueHead) else None
    mechanisms = row.mechanism_count if isinstance(row, IssueHead) else None
    if "measures" in needs:
        kw["measures"] = tuple(
            MeasureFacts(m.no, m.text, m.owner, m.due_date, m.target, m.done_at is not None)
            for m in repo.records.measures(row.id)
        )
    if "evidence" in needs:
        kw["evidence_count"] = evidence if evidence is not None else repo.records.evidence_count(row.id)
    if "signoffs" in needs:
        kw["signoffs"] = tuple(
            SignoffFacts(s.role, s.actor_id, s.state, s.stage_seq) for s in repo.records.signoffs(row.id)
        )
    if "mechanisms" in needs:
        kw["mechanism_count"] = mechanisms if mechanisms is not None else repo.records.mechanism_count(row.id)
    return IssueFacts(
        code=row.code,
        category=row.category,
        severity=row.severity,
        state=row.state,
        unit=row.unit,
        owner=row.owner,
        lead=row.lead,
        due_date=row.due_date,
        state_seq=row.state_seq,
        state_entered_by=row.state_entered_by,
        round=RoundFacts(row.round_code, row.round_feedback_date, row.round_period_end),
        **kw,
    )


def fire(
    core: Core,
    code: str,
    trigger: str,
    *,
    actor: Actor,
    role: str | None = None,
    comment: str | None = None,
    request_id: str | None = None,
    expected_version: int | None = None,
) -> FireResult:
    """See :meth:`Engine.fire`."""
    comment = optional_text(comment, "comment", limit=MAX_LONG_TEXT)
    if request_id is not None:
        request_id = need_text(request_id, "request_id", limit=128)
    try:
        return _fire(core, code, trigger, actor, role, comment, request_id, expected_version)
    except IntegrityError:
        # a concurrent twin with the same request id won the insert; answer with its result
        if request_id is not None:
            with core.read() as conn:
                prior = Repository(conn).events.by_request(request_id)
            if prior is not None:
                return replayed(prior, code, trigger, actor)
        raise journal.concurrent(code) from None


def _fire(
    core: Core,
    code: str,
    trigger: str,
    actor: Actor,
    role: str | None,
    comment: str | None,
    request_id: str | None,
    expected_version: int | None,
) -> FireResult:
    with core.write() as conn:
        repo = Repository(conn)
        row = writable_issue(repo, code, actor)
        # dated once the issue is locked: a write that waited for another is dated after it,
        # so the history's times never go backwards under concurrent writers
        now = core.clock.now()
        if request_id is not None:
            # looked up under the issue's lock, so a concurrent twin has either committed or waits
            prior = repo.events.by_request(request_id)
            if prior is not None:
                return replayed(prior, code, trigger, actor)
        journal.check_version(code, row, expected_version)
        d = core.definitions.get(repo, row.workflow_id)
        outcome, ctx = judge(repo, d, row, trigger, actor, role, comment, now)
        if not outcome.ok:
            label = step_label(d, outcome.transition, trigger)
            raise Refused(
                Text(f"问题 {code} 不能{label.zh}", f"issue {code} cannot {label.en}"),
                list(outcome.reasons),
                issue=code,
                trigger=trigger,
                state=row.state,
            )
        dest = outcome.dest
        assert dest is not None
        seq = row.seq + 1
        reopened = d.states[row.state].final and not d.states[dest].final
        journal.append(
            core,
            repo,
            d,
            row,
            "transition",
            actor,
            ctx.role,
            now,
            comment=comment,
            trigger=trigger,
            from_state=row.state,
            to_state=dest,
            request_id=request_id,
            issue_values=dict(
                state=dest,
                state_seq=seq,
                state_entered_at=now,
                state_entered_by=actor.id,
                recurrence_count=row.recurrence_count + (1 if reopened else 0),
                escalation_level=row.escalation_level,
                # escalation rules fire once per episode: a reopened item starts a new one
                stage_fired="" if reopened else row.stage_fired,
                final_deadline=None if reopened else row.final_deadline,
            ),
        )
        if todo_channels(core):
            repo.outbox.enqueue(todo_notices(core, d, subject_of(row), row.state, dest, seq, now))
        if trigger == ESCALATE_TRIGGER:  # by hand: the notices the sweep's escalation would queue
            repo.outbox.enqueue(escalation_by_hand(core, d, row, seq, now))
        return FireResult(code, trigger, row.state, dest, seq, row.version + 1)


def step_label(d: WorkflowDefinition, t: TransitionDef | None, trigger: str) -> Text:
    """What a refusal calls the step: its label from this state, or from any state it leaves
    (a step asked of the wrong state), or the trigger as typed, set apart, if none has it."""
    if t is None:
        t = next((x for x in d.transitions if x.trigger == trigger), None)
    if t is not None:
        return t.label
    return Text(f"执行 {trigger}", trigger)


def judge(
    repo: Repository,
    d: WorkflowDefinition,
    row: IssueHead,
    trigger: str,
    actor: Actor,
    role: str | None,
    comment: str | None,
    now: datetime,
) -> tuple[Outcome, GuardContext]:
    """Run ``trigger`` through the workflow's machine for ``actor`` (in ``role``, or the
    role the machine chooses among the actor's), with the facts its guards need."""
    machine = machine_for(d)
    t = machine.transition(trigger, row.state)
    facts = issue_facts(repo, row, t.needs if t else frozenset())
    today = local_date(now, row.round_tz)
    if role is None:
        ctx = GuardContext(actor, "-", trigger, row.state, now, today, comment)
        role = machine.choose_role(t, facts, ctx, evaluate=False)[0] if t else min(actor.roles, default="-")
    ctx = GuardContext(actor, role, trigger, row.state, now, today, comment)
    return machine.fire(trigger, facts, ctx), ctx


def replayed(prior: RequestEvent, code: str, trigger: str, actor: Actor) -> FireResult:
    """The first answer to a retried request — only for the same actor, issue and trigger."""
    if prior.issue_code != code or prior.trigger != trigger or prior.actor_id != actor.id:
        raise journal.request_reused(prior)
    # every write bumps version and seq together, so the version after that event was its seq
    assert prior.from_state is not None and prior.to_state is not None
    return FireResult(code, trigger, prior.from_state, prior.to_state, prior.seq, prior.seq, replayed=True)
