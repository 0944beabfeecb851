"""The filters lists, ledgers, statistics and migrations share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, func, or_
from sqlalchemy.sql import ColumnElement

from ..models import issues, rounds


def within_units(prefixes: Iterable[str]) -> ColumnElement[bool]:
    """Issues in these org units or below them, segment by segment (as ``Actor.covers``):
    ``省局/稽查局`` takes ``省局/稽查局/一科`` but not ``省局/稽查局二``."""
    conds: list[ColumnElement[bool]] = []
    for p in prefixes:
        below = p + "/"
        # LIKE finds the candidates (and can use an index); it ignores case on SQLite, so the
        # exact prefix is compared as well: ``tax/audit`` must not take ``TAX/AUDIT/one``
        conds += [
            issues.c.unit == p,
            and_(
                issues.c.unit.startswith(below, autoescape=True),
                func.substr(issues.c.unit, 1, len(below)) == below,
            ),
        ]
    return or_(*conds) if conds else issues.c.id.is_(None)


def filtered(
    q: Any,
    *,
    states: Iterable[str] | None = None,
    categories: Iterable[str] | None = None,
    lights: Iterable[str] | None = None,
    sources: Iterable[str] | None = None,
    unit_prefixes: Iterable[str] | None = None,
) -> Any:
    """``q`` narrowed to these values; ``unit_prefixes`` None means everywhere."""
    for column, wanted in (
        (issues.c.state, states),
        (issues.c.category, categories),
        (issues.c.light, lights),
    ):
        if wanted:
            q = q.where(column.in_(list(wanted)))
    if sources:  # a problem stored before sources existed comes from its round's source
        wanted = list(sources)
        q = q.where(or_(issues.c.source.in_(wanted), and_(issues.c.source == "", rounds.c.source.in_(wanted))))
    if unit_prefixes is not None:
        q = q.where(within_units(unit_prefixes))
    return q
