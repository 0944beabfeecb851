"""A round's statistics: counted by the database, handed to the pure counting of ``reports.py``.

Today's numbers are ``GROUP BY`` queries over the issues (:mod:`..storage.repositories.statistics`):
one call on a round of 100,000 problems reads groups, not rows.  The lights are today's: the
database groups the problems whose stored light still holds (their next check lies ahead), and
only those whose light may have moved since it was stored are read and their light worked out
from the workflow's ``lights:`` rules (:mod:`.lights`).

A past day (``as_of``, or the engine's own ``as_of``) is what the history says: each problem's
events up to that moment are replayed (:class:`~.replay.Replay`), one problem at a time, for its
state, category, deadline, level, reopenings and the light it had that day.  The burn-down and
the closings' average are counted by the database from the transitions up to that moment.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..i18n import Text
from ..storage.repositories.statistics import Scope
from ..storage.repository import Repository
from ..storage.rows import EventRow, RoundRow
from .actors import Actor
from .authz import scope_prefixes
from .clock import to_utc
from .core import Core
from .definition import WorkflowDefinition
from .errors import InvalidInput
from .escalation import EscalationFacts, evaluator_for, start_of
from .labels import sources_of
from .lights import light_of
from .progress import Progress
from .replay import Replay
from .reports import IssueFact, burn_down, summarise, week_ends
from .rounds import need_round

BY = (None, "unit", "category", "source", "state")


def stats(
    core: Core,
    round_code: str,
    *,
    actor: Actor,
    by: str | None = None,
    as_of: datetime | date | str | None = None,
    public: bool = False,
) -> dict[str, Any]:
    """See :meth:`Engine.stats`."""
    if by not in BY:
        raise InvalidInput(
            Text("--by 只能是 unit、category、source 或 state", "--by must be unit, category, source or state"),
            field="by",
        )
    try:
        asked = to_utc(as_of) if as_of is not None else core.as_of
    except (ValueError, TypeError):
        raise InvalidInput(
            Text(
                f"截至日期应为 YYYY-MM-DD 或 ISO 时间：{as_of!r}", f"as of must be YYYY-MM-DD or an ISO time: {as_of!r}"
            ),
            field="as_of",
        ) from None
    now = asked if asked is not None else core.clock.now()
    past = asked is not None and asked < core.wall.now()
    with core.read() as conn:
        repo = Repository(conn)
        r = need_round(repo, round_code, actor)
        d = core.definitions.get(repo, r.workflow_id)
        prefixes = scope_prefixes(actor)
        scope = Scope(r.id, prefixes, public)
        today = now.astimezone(ZoneInfo(r.tz)).date()
        # a round may hold issues of several workflows: each one's rules and names count
        defs: dict[int, WorkflowDefinition] = {r.workflow_id: d}

        def definition(wid: int) -> WorkflowDefinition:
            if wid not in defs:
                defs[wid] = core.definitions.get(repo, wid)
            return defs[wid]

        facts = list(
            _past(repo, scope, r, now, today, definition) if past else _today(repo, scope, now, today, definition)
        )
        final = frozenset(s.name for x in defs.values() for s in x.states.values() if s.final)
        weeks = week_ends(r.feedback_date, today)
        bounds = [min(start_of(w + timedelta(days=1), r.tz), now + timedelta(microseconds=1)) for w in weeks]
        open_counts = repo.stats.open_before(scope, final, bounds)
        closings = repo.stats.close_days(scope, final, until=now)
        extensions = repo.stats.extensions(scope, until=now if past else None)
        total, done, next_due = repo.records.progress_of_round(r.id, prefixes, as_of=now, public=public)
        measures = Progress(done, total, next_due)
    supervised = frozenset(t.dest for x in defs.values() for t in x.transitions if t.trigger == "escalate")
    out = summarise(
        facts,
        final_states=final,
        supervised_states=supervised,
        immediate=frozenset().union(*(x.period_bound_categories for x in defs.values())),
        by=by,
        closings=closings,
    )
    labels: dict[str, dict[str, Text]] = {"category": {}, "source": {}, "state": {}}
    for x in sorted(defs.values(), key=lambda x: x is d):  # the round's own names win
        labels["category"].update(x.categories)
        labels["source"].update(sources_of(x))
        labels["state"].update({s: x.label(s) for s in x.states})
    for key, group in out.get("by", {}).get("groups", {}).items():
        if by in labels and key in labels[by]:
            group["label"] = labels[by][key].to_dict()
    out["extensions"] = extensions
    out["round"] = round_code
    out["as_of"] = today.isoformat()
    out["period_end"] = r.period_end.isoformat()
    out["measures"] = measures.to_dict()  # 分期分批: measures done of all, the next one due
    out["burn_down"] = burn_down(weeks, open_counts)
    return out


def _today(repo: Repository, scope: Scope, now: datetime, today: date, definition: Any) -> Iterator[IssueFact]:
    """Today's problems as the database groups them; those whose light may have moved since
    it was stored, one by one with their light worked out again."""
    for g in repo.stats.groups(scope, today=today, now=now):
        definition(g.workflow_id)
        yield IssueFact(g.category, g.unit, g.source, g.state, g.light, g.overdue, g.recurrences, g.raised, g.count)
    for chunk in repo.stats.stale(scope, now=now):
        for row in chunk:
            d = definition(row.workflow_id)
            yield IssueFact(
                row.category,
                row.unit,
                row.source or row.round_source,
                row.state,
                light_of(d, row, now),
                row.due_date is not None and row.due_date < today,
                row.recurrence_count,
                row.escalation_level > 0,
            )


def _past(
    repo: Repository, scope: Scope, r: RoundRow, at: datetime, today: date, definition: Any
) -> Iterator[IssueFact]:
    """Each problem as its history says it stood at ``at``: replayed from its events up to then."""
    for workflow_id, events in repo.stats.history(scope, at):
        d: WorkflowDefinition = definition(workflow_id)
        yield _as_it_stood(d, r, events, at, today)


def _as_it_stood(
    d: WorkflowDefinition, r: RoundRow, events: Iterable[EventRow], at: datetime, today: date
) -> IssueFact:
    rp = Replay()
    for e in events:
        rp.apply(e)
    f = rp.fields
    finals = frozenset(s.name for s in d.states.values() if s.final)
    fired, final_deadline, reopened = rp.episode_at((d.name, d.version), lambda _v: finals)
    state = rp.state or d.initial
    due = date.fromisoformat(f["due_date"]) if f.get("due_date") else None
    light = None
    if state in d.states:
        facts = EscalationFacts(
            state,
            f.get("category") or "",
            f.get("severity") or "",
            datetime.fromisoformat(f["state_entered_at"]),
            datetime.fromisoformat(f.get("last_activity_at") or f["state_entered_at"]),
            due,
            r.tz,
            frozenset(fired),
            date.fromisoformat(final_deadline) if final_deadline else None,
        )
        light = evaluator_for(d).light(facts, at)
    return IssueFact(
        f.get("category") or "",
        f.get("unit") or "",
        f.get("source") or r.source,
        state,
        light,
        due is not None and due < today,
        reopened,
        int(f.get("escalation_level") or 0) > 0,
    )
