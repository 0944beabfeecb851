"""The filters lists, ledgers, statistics and migrations share."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_
from sqlalchemy.sql import ColumnElement

from ..models import issues, rounds


def within_units(prefixes: Iterable[str]) -> ColumnElement[bool]:
    """Issues in these org units or below them, segment by segment (as ``Actor.covers``):
    ``省局/稽查局`` takes ``省局/稽查局/一科`` but not ``省局/稽查局二``.

    However many units an actor's scope lists (an OA system may grant hundreds), the condition
    stays a handful of terms: the units themselves in one ``IN``, and what lies below them as one
    ``IN`` on a prefix of each length the units have — exact on both databases (no ``LIKE``,
    which ignores case on SQLite; no ranges, which follow a locale's collation on PostgreSQL),
    and far below SQLite's limit on an expression's depth."""
    units = sorted(set(prefixes))
    # a unit below another the scope lists adds nothing
    kept = [u for u in units if not any(u != o and u.startswith(o + "/") for o in units)]
    if not kept:
        return issues.c.id.is_(None)
    by_length: dict[int, list[str]] = {}
    for u in kept:
        below = u + "/"
        by_length.setdefault(len(below), []).append(below)
    conds: list[ColumnElement[bool]] = [issues.c.unit.in_(kept)]
    conds += [func.substr(issues.c.unit, 1, n).in_(heads) for n, heads in sorted(by_length.items())]
    return or_(*conds)


def filtered(
    q: Any,
    *,
    states: Iterable[str] | None = None,
    categories: Iterable[str] | None = None,
    lights: Iterable[str] | None = None,
    sources: Iterable[str] | None = None,
    unit_prefixes: Iterable[str] | None = None,
    lights_at: datetime | None = None,
) -> Any:
    """``q`` narrowed to these values; ``unit_prefixes`` None means everywhere.  With
    ``lights_at``, ``lights`` keeps the issues whose stored light is one of them *or* whose next
    check is due by then (their light may have changed since it was stored): the caller keeps
    those whose light at that moment is one asked for."""
    for column, wanted in (
        (issues.c.state, states),
        (issues.c.category, categories),
    ):
        if wanted:
            q = q.where(column.in_(list(wanted)))
    if lights:
        stored = issues.c.light.in_(list(lights))
        q = q.where(stored if lights_at is None else or_(stored, issues.c.next_check_at <= lights_at))
    if sources:  # a problem stored before sources existed comes from its round's source
        wanted = list(sources)
        q = q.where(or_(issues.c.source.in_(wanted), and_(issues.c.source == "", rounds.c.source.in_(wanted))))
    if unit_prefixes is not None:
        q = q.where(within_units(unit_prefixes))
    return q
