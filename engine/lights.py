"""The traffic light (红黄绿灯) as of the day it is read.

The stored ``light`` column is the light as of the issue's last write or sweep (documented as
not audited in :mod:`.replay`); a deadline passing with no sweep since leaves it behind.  Every
place that shows a light — an issue, a list, the ledger, statistics, the report, the API —
works it out here instead, from the workflow's ``lights:`` rules and the issue's audited fields,
for the moment asked.  Filtering by light narrows in the database to the issues whose stored
light matches or may have changed since (their next check is due), then keeps those whose
light today is one asked for.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from ..storage.rows import IssueRow
from .definition import WorkflowDefinition
from .escalation import evaluator_for
from .journal import escalation_facts


def light_of(d: WorkflowDefinition, row: IssueRow, at: datetime) -> str | None:
    """The issue's light at ``at`` (None for a workflow without lights, or a closed issue)."""
    return evaluator_for(d).light(escalation_facts(row), at)


def wanted(lights: Iterable[str] | None) -> frozenset[str] | None:
    """The lights a filter asks for (None: no filter)."""
    return frozenset(lights) if lights else None


def narrowing(lights: Iterable[str] | None, as_of: object | None) -> Iterable[str] | None:
    """The lights the database may narrow a filter by: those asked, read today (a stored light
    or a next check due since); none for a moment in the past, which a light stored since says
    nothing of — every candidate's light is then worked out for that moment."""
    return lights if as_of is None else None
