"""A round's statistics, read from storage and handed to the pure counting of ``reports.py``.

The burn-down and the states on a past day are replayed from the history, so ``as_of`` a past
date reproduces that day's numbers."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..i18n import Text
from ..storage.repository import Repository
from .actors import Actor
from .authz import scope_prefixes
from .clock import to_utc
from .core import Core
from .definition import WorkflowDefinition
from .errors import InvalidInput
from .labels import sources_of
from .reports import IssueFact, burn_down, summarise
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
        now = to_utc(as_of) if as_of is not None else core.clock.now()
    except (ValueError, TypeError):
        raise InvalidInput(
            Text(
                f"截至日期应为 YYYY-MM-DD 或 ISO 时间：{as_of!r}", f"as of must be YYYY-MM-DD or an ISO time: {as_of!r}"
            ),
            field="as_of",
        ) from None
    with core.read() as conn:
        repo = Repository(conn)
        r = need_round(repo, round_code)
        d = core.definitions.get(repo, r.workflow_id)
        rows = [
            row for row in repo.issues.facts_of_round(r.id, scope_prefixes(actor)) if not (public and row.confidential)
        ]
        # a round may hold issues of several workflows: each one's rules and names count
        defs: dict[int, WorkflowDefinition] = {
            wid: core.definitions.get(repo, wid) for wid in {r.workflow_id, *(row.workflow_id for row in rows)}
        }
        visible = {row.id for row in rows}
        changes: dict[int, list[tuple[datetime, bool]]] = {}
        final = frozenset(s.name for x in defs.values() for s in x.states.values() if s.final)
        close_days: list[float] = []
        created = {row.id: row.created_at for row in rows}
        state_at: dict[int, str] = {}  # each issue's state on the day asked, from its history
        reopened: Counter[int] = Counter()
        for t in repo.events.transitions_of_round(r.id):
            if t.issue_id in visible and t.at <= now:
                assert t.to_state is not None
                changes.setdefault(t.issue_id, []).append((t.at, t.to_state not in final))
                state_at[t.issue_id] = t.to_state
                if t.to_state in final and t.from_state not in final:
                    close_days.append((t.at - created[t.issue_id]).total_seconds() / 86400)
                if t.from_state in final and t.to_state not in final:
                    reopened[t.issue_id] += 1
    tz = ZoneInfo(r.tz)
    today = now.astimezone(tz).date()
    facts = [
        IssueFact(
            row.code,
            row.category,
            row.unit,
            row.source,
            state_at.get(row.id, defs[row.workflow_id].initial),
            row.light,
            row.due_date,
            reopened[row.id],
            row.escalation_level,
        )
        for row in rows
        if row.created_at <= now
    ]
    supervised = frozenset(t.dest for x in defs.values() for t in x.transitions if t.trigger == "escalate")
    out = summarise(
        facts,
        final_states=final,
        supervised_states=supervised,
        immediate=frozenset().union(*(x.period_bound_categories for x in defs.values())),
        today=today,
        by=by,
        close_days=close_days,
    )
    labels: dict[str, dict[str, Text]] = {"category": {}, "source": {}, "state": {}}
    for x in sorted(defs.values(), key=lambda x: x is d):  # the round's own names win
        labels["category"].update(x.categories)
        labels["source"].update(sources_of(x))
        labels["state"].update({s: x.label(s) for s in x.states})
    for key, group in out.get("by", {}).get("groups", {}).items():
        if by in labels and key in labels[by]:
            group["label"] = labels[by][key].to_dict()
    out["round"] = round_code
    out["as_of"] = today.isoformat()
    out["period_end"] = r.period_end.isoformat()
    out["burn_down"] = burn_down(
        ((row.created_at, changes.get(row.id, [])) for row in rows if row.created_at <= now),
        start=r.feedback_date,
        end=min(today, max(today, r.period_end)),
        tz=tz,
    )
    return out
