"""Reading issues: one with its records and next steps, lists, its history, why it can or
cannot move, and a round's dossier for reports."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..i18n import Text
from ..storage.repository import Repository
from ..storage.rows import IssueRow, MeasureRow
from .actors import Actor
from .authz import scope_prefixes, visible_issue
from .clock import local_date
from .core import Core
from .deadlines import APPROVED
from .deadlines import as_dict as deadline_change
from .definition import WorkflowDefinition
from .errors import InvalidInput
from .explain import Explanation, explain_transition, not_here
from .facts import GuardContext
from .firing import issue_facts
from .labels import light_label, number_in_round, source_of, sources_of
from .lights import light_of, narrowing, wanted
from .machine import machine_for
from .progress import progress
from .results import IssueView, TriggerOption, iso
from .rounds import in_scope


def issue(core: Core, code: str, actor: Actor) -> IssueView:
    with core.read() as conn:
        repo = Repository(conn)
        return view(core, repo, visible_issue(repo, code, actor), actor, detail=True)


def issues(
    core: Core,
    actor: Actor,
    *,
    round_code: str | None = None,
    states: Iterable[str] | None = None,
    categories: Iterable[str] | None = None,
    owner: str | None = None,
    lights: Iterable[str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[IssueView]:
    if not 1 <= limit <= 10_000 or offset < 0:
        raise InvalidInput(
            Text("limit 应为 1-10000，offset 不能为负", "limit must be 1-10000 and offset not negative"),
            field="limit",
        )
    now = core.clock.now()
    want, narrow = wanted(lights), narrowing(lights, core.as_of)
    with core.read() as conn:
        repo = Repository(conn)

        def page(at: int, n: int) -> list[IssueRow]:
            return repo.issues.page(
                round_code=round_code, states=states, categories=categories, owner=owner, lights=narrow,
                unit_prefixes=scope_prefixes(actor), limit=n, offset=at, lights_at=now,
            )  # fmt: skip

        def views(rows: list[IssueRow]) -> list[IssueView]:
            measures = repo.records.of_issues("measures", [r.id for r in rows])
            return [view(core, repo, r, actor, detail=False, now=now, measures=measures.get(r.id, [])) for r in rows]

        if want is None:
            return views(page(offset, limit))
        # by the light of today: the database narrows, each candidate's light is worked out
        out: list[IssueView] = []
        skip, at = offset, 0
        while len(out) < limit and (rows := page(at, 1000)):
            at += len(rows)
            for v in views(rows):
                if v.light in want and len(out) < limit:
                    if skip:
                        skip -= 1
                    else:
                        out.append(v)
        return out


def view(
    core: Core,
    repo: Repository,
    row: IssueRow,
    actor: Actor,
    *,
    detail: bool,
    now: datetime | None = None,
    measures: Sequence[MeasureRow] | None = None,
) -> IssueView:
    """The issue as ``actor`` sees it, with its light as of ``now`` (the clock's, by default);
    ``measures`` (read already, for a list) give its progress without detail, which reads
    them itself."""
    d = core.definitions.get(repo, row.workflow_id)
    light = light_of(d, row, now or core.clock.now())
    kw: dict[str, Any] = {}
    if detail or measures is None:
        measures = repo.records.measures(row.id)
    done = progress(measures)
    kw.update(measures_done=done.done, measures_total=done.total, next_measure_due=done.next_due)
    if detail:
        kw["measures"] = [
            {
                "no": m.no,
                "text": m.text,
                "owner": m.owner,
                "due_date": iso(m.due_date),
                "target": m.target,
                "done": m.done_at is not None,
                "done_at": iso(m.done_at),
                "done_by": m.done_by,
            }
            for m in measures
        ]
        kw["evidence"] = [
            {
                "uri": e.uri,
                "sha256": e.sha256,
                "note": e.note,
                "measure_no": e.measure_no,
                "added_by": e.added_by,
                "added_at": iso(e.added_at),
            }
            for e in repo.records.evidence(row.id)
        ]
        kw["signoffs"] = [
            {
                "role": s.role,
                "actor": s.actor_id,
                "state": s.state,
                "current": s.stage_seq == row.state_seq,
                "comment": s.comment,
                "at": iso(s.at),
            }
            for s in repo.records.signoffs(row.id)
        ]
        kw["mechanisms"] = [
            {"title": m.title, "reference": m.reference, "adopted_on": iso(m.adopted_on), "added_by": m.added_by}
            for m in repo.records.mechanisms(row.id)
        ]
        kw["deadline_changes"] = [deadline_change(c) for c in repo.records.deadline_changes(row.id)]
        kw["extensions"] = sum(c["status"] == APPROVED for c in kw["deadline_changes"])
        kw["triggers"] = options(core, repo, row, d, actor)
    source = source_of(row)
    return IssueView(
        code=row.code,
        round=row.round_code,
        workflow=d.name,
        workflow_version=d.version,
        title=row.title,
        description=row.description,
        category=row.category,
        severity=row.severity,
        unit=row.unit,
        owner=row.owner,
        lead=row.lead,
        due_date=row.due_date,
        state=row.state,
        state_label=d.label(row.state),
        category_label=d.categories.get(row.category, Text(row.category, row.category)),
        severity_label=d.severities.get(row.severity, Text(row.severity, row.severity)),
        state_entered_at=row.state_entered_at,
        next_check_at=row.next_check_at,
        light=light,
        light_label=light_label(d, light),
        escalation_level=row.escalation_level,
        recurrence_count=row.recurrence_count,
        version=row.version,
        source=source,
        source_label=sources_of(d).get(source),
        confidential=bool(row.confidential),
        **kw,
    )


def options(core: Core, repo: Repository, row: IssueRow, d: WorkflowDefinition, actor: Actor) -> list[TriggerOption]:
    """Each trigger from the issue's state, for this actor: available, or the reasons not."""
    now = core.clock.now()
    ts = d.transitions_from(row.state)
    needs: set[str] = set()
    for t in ts:
        needs |= t.needs
    facts = issue_facts(repo, row, frozenset(needs))
    machine = machine_for(d)
    ctx = GuardContext(actor, min(actor.roles, default="-"), "-", row.state, now, local_date(now, row.round_tz), "-")
    out: list[TriggerOption] = []
    for t in ts:
        _, reasons = machine.choose_role(t, facts, replace(ctx, trigger=t.trigger))
        out.append(TriggerOption(t.trigger, t.label, t.dest, not reasons, sorted(t.roles), sorted(t.require), reasons))
    return out


def explain(core: Core, code: str, trigger: str | None, *, actor: Actor) -> Explanation:
    """Why ``code`` can or cannot move (by ``trigger``, or by every trigger leaving its
    state): each role, guard, the period and the version, judged as a fire would."""
    now = core.clock.now()
    with core.read() as conn:
        repo = Repository(conn)
        row = visible_issue(repo, code, actor)
        wf = repo.workflows.by_id(row.workflow_id)
        assert wf is not None
        d = core.definitions.of_row(wf)
        newest = repo.workflows.usable(wf.name) or wf  # where new work goes: never a deprecated version
        if trigger is not None:
            chosen = [t for t in d.transitions if t.trigger == trigger]
            here = [t for t in chosen if row.state in t.sources]
            ts = here or chosen
        else:
            ts = d.transitions_from(row.state)
        needs: set[str] = set()
        for t in ts:
            needs |= t.needs
        facts = issue_facts(repo, row, frozenset(needs))
        today = local_date(now, row.round_tz)
        ctx = GuardContext(actor, min(actor.roles, default="-"), "-", row.state, now, today, "-")
        machine = machine_for(d)
        ex = Explanation(
            code=row.code,
            state=row.state,
            state_label=d.label(row.state),
            workflow=wf.name,
            version=wf.version,
            newest_version=newest.version,
            deprecated=bool(wf.deprecated),
            round=row.round_code,
            feedback_date=row.round_feedback_date,
            period_end=row.round_period_end,
            today=today,
            actor=actor.id,
            roles=sorted(actor.roles),
            triggers=[explain_transition(d, machine, t, facts, ctx) for t in ts],
        )
    if trigger is not None and not any(t.possible_here for t in ex.triggers):
        ex.notes.append(not_here(d, trigger, row.state))
    if d.states[row.state].final:
        ex.notes.append(Text(f"本问题已{d.label(row.state).zh}", f"this issue is {d.label(row.state).en}"))
    if newest.version > wf.version:
        ex.notes.append(
            Text(
                f"本问题按 {wf.name} 第 {wf.version} 版办理；已有第 {newest.version} 版，管理员可用 workflow migrate 迁移",
                f"this issue follows {wf.name} v{wf.version}; v{newest.version} exists and an "
                "administrator can move it with workflow migrate",
            )
        )
    return ex


def history(core: Core, code: str, actor: Actor) -> list[dict[str, Any]]:
    with core.read() as conn:
        repo = Repository(conn)
        row = visible_issue(repo, code, actor)
        tz = ZoneInfo(row.round_tz)
        return [
            {
                "seq": e.seq,
                "kind": e.kind,
                "trigger": e.trigger,
                "from": e.from_state,
                "to": e.to_state,
                "actor": e.actor_id,
                "role": e.role,
                "at": iso(e.at),
                "at_local": e.at.astimezone(tz).isoformat(),
                "comment": e.comment,
                "data": json.loads(e.data or "{}"),
                "request_id": e.request_id,
                "hash": e.hash,
            }
            for e in repo.events.of_issue(row.id)
        ]


def dossier(core: Core, round_code: str, *, actor: Actor, unit: str | None = None) -> list[dict[str, Any]]:
    """Every problem of a round inside the actor's scope with its measures and long-term
    mechanisms, in list order: what a rectification report is written from.  Under a past
    ``as_of`` each problem's state is the one its history gives for that moment."""
    out: list[dict[str, Any]] = []
    now = core.clock.now()
    past = core.as_of is not None and core.as_of < core.wall.now()  # a report as of a past day
    with core.read() as conn:
        repo = Repository(conn)
        r, prefixes = in_scope(repo, round_code, actor, unit)
        for chunk in repo.issues.of_round(r.id, unit_prefixes=prefixes):
            ids = [i.id for i in chunk]
            measures = repo.records.of_issues("measures", ids)
            mechanisms = repo.records.of_issues("mechanisms", ids)
            then = repo.stats.states_at(ids, now) if past else {}
            for i in chunk:
                if past:  # the state the history gives for that day; a problem not yet recorded is left out
                    if i.id not in then:
                        continue
                    i = i._replace(state=then[i.id])
                d = core.definitions.get(repo, i.workflow_id)
                light = light_of(d, i, now)
                source = source_of(i)
                out.append(
                    {
                        "code": i.code,
                        "number": number_in_round(i.code, round_code),
                        "title": i.title,
                        "category": i.category,
                        "category_label": d.categories.get(i.category, Text(i.category, i.category)),
                        "source": source,
                        "source_label": sources_of(d).get(source, Text(source, source)),
                        "unit": i.unit,
                        "owner": i.owner,
                        "lead": i.lead,
                        "due_date": i.due_date,
                        "state": i.state,
                        "state_label": d.label(i.state),
                        "final": d.states[i.state].final if i.state in d.states else False,
                        "light": light,
                        "light_label": light_label(d, light),
                        "note": i.description,
                        "confidential": bool(i.confidential),
                        "public_fields": d.public_fields,
                        "measures": [
                            {
                                "no": m.no,
                                "text": m.text,
                                "owner": m.owner,
                                "due_date": m.due_date,
                                "target": m.target,
                                "done": m.done_at is not None,
                            }
                            for m in measures.get(i.id, [])
                        ],
                        "mechanisms": [
                            {"title": m.title, "reference": m.reference, "adopted_on": m.adopted_on}
                            for m in mechanisms.get(i.id, [])
                        ],
                    }
                )
    return out
