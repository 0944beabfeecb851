"""The console's reads: a keyset page of issues (any depth, no count of everything), and a
person's to-do — the issues on which this actor has a step available now."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..i18n import Text
from ..storage.repository import Repository
from .actors import Actor
from .authz import scope_prefixes
from .core import Core
from .errors import InvalidInput
from .results import IssueView
from .views import view

LIGHT_ORDER = {"red": 0, "yellow": 1, "green": 2}
TODO_SCAN = 5000  # issues read at most to find a to-do (the newest first are not favoured)


@dataclass(frozen=True)
class IssueFilter:
    """Which issues a list shows (each None: any)."""

    round_code: str | None = None
    states: Iterable[str] | None = None
    categories: Iterable[str] | None = None
    lights: Iterable[str] | None = None
    sources: Iterable[str] | None = None
    unit: str | None = None
    owner: str | None = None


@dataclass(frozen=True)
class IssuePage:
    items: list[IssueView]
    next_after: int | None  # the cursor of the next page, None on the last


def page(core: Core, actor: Actor, where: IssueFilter, *, after: int = 0, limit: int = 50) -> IssuePage:
    if not 1 <= limit <= 1000 or after < 0:
        raise InvalidInput(
            Text("limit 应为 1-1000，after 不能为负", "limit must be 1-1000 and after not negative"), field="limit"
        )
    with core.read() as conn:
        repo = Repository(conn)
        rows = repo.issues.keyset(
            round_code=where.round_code or None,
            states=where.states,
            categories=where.categories,
            lights=where.lights,
            sources=where.sources,
            unit_prefixes=scope_prefixes(actor),
            unit=where.unit or None,
            owner=where.owner or None,
            after_id=after,
            limit=limit + 1,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        items = [view(core, repo, r, actor, detail=False) for r in rows]
    return IssuePage(items, rows[-1].id if more and rows else None)


def todo(core: Core, actor: Actor, *, limit: int = 200) -> list[IssueView]:
    """What ``actor`` can do next across rounds: each issue in scope with a step available to
    this actor (fire, review, approve), red before yellow before green, then by deadline."""
    found: list[IssueView] = []
    with core.read() as conn:
        repo = Repository(conn)
        after, scanned = 0, 0
        while scanned < TODO_SCAN and len(found) < limit:
            rows = repo.issues.keyset(unit_prefixes=scope_prefixes(actor), after_id=after, limit=500)
            if not rows:
                break
            for r in rows:
                v = view(core, repo, r, actor, detail=True)
                if any(t.available for t in v.triggers or []):
                    found.append(v)
            scanned += len(rows)
            after = rows[-1].id
    found.sort(key=lambda v: (LIGHT_ORDER.get(v.light or "", 3), str(v.due_date or "9999")))
    return found[:limit]
