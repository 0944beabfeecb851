"""The console's reads: a keyset page of issues (any depth, no count of everything), and a
person's to-do — the issues on which this actor has a step available now."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from ..i18n import Text
from ..storage.repository import Repository
from ..storage.rows import IssueRow
from .actors import Actor
from .authz import scope_prefixes
from .core import Core
from .errors import InvalidInput
from .lights import narrowing, wanted
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
    next_after: str | None  # the cursor of the next page, None on the last


SORTS = ("id", "due")  # as entered; by deadline (none last)
_CURSOR = re.compile(r"^(?:(\d{4}-\d{2}-\d{2}|-)\.)?(\d{1,18})$")


def _cursor(after: str, sort: str) -> tuple[date | None, int]:
    m = _CURSOR.match(after or "0")
    if m is None or (sort == "id") != (m.group(1) is None):
        raise InvalidInput(Text(f"翻页位置无效：{after!r}", f"not a page cursor: {after!r}"), field="after")
    try:
        due = date.fromisoformat(m.group(1)) if m.group(1) not in (None, "-") else None
    except ValueError:
        raise InvalidInput(Text(f"翻页位置无效：{after!r}", f"not a page cursor: {after!r}"), field="after") from None
    return due, int(m.group(2))


def page(
    core: Core, actor: Actor, where: IssueFilter, *, after: str = "", limit: int = 50, sort: str = "id"
) -> IssuePage:
    if not 1 <= limit <= 1000:
        raise InvalidInput(Text("limit 应为 1-1000", "limit must be 1-1000"), field="limit")
    if sort not in SORTS:
        raise InvalidInput(Text("排序只能是 id 或 due", "sort must be id or due"), field="sort")
    due, after_id = _cursor(after, sort) if after else (None, 0)
    now = core.clock.now()
    want = wanted(where.lights)
    # by the light of the moment it is read: the database narrows (the stored light, or a next
    # check due), each candidate's light is worked out, and the page is the first ``limit`` kept
    chunk = limit + 1 if want is None else 500
    items: list[IssueView] = []
    kept: list[IssueRow] = []
    more = False
    with core.read() as conn:
        repo = Repository(conn)
        while not more:
            rows = repo.issues.keyset(
                round_code=where.round_code or None,
                states=where.states,
                categories=where.categories,
                lights=narrowing(where.lights, core.as_of),
                sources=where.sources,
                unit_prefixes=scope_prefixes(actor),
                unit=where.unit or None,
                owner=where.owner or None,
                after_id=after_id,
                after_due=due,
                by_due=sort == "due",
                limit=chunk,
                lights_at=now,
            )
            for r in rows:
                v = view(core, repo, r, actor, detail=False, now=now)
                if want is not None and v.light not in want:
                    continue
                if len(items) == limit:
                    more = True
                    break
                items.append(v)
                kept.append(r)
            if len(rows) < chunk:
                break
            due, after_id = rows[-1].due_date, rows[-1].id
    if not (more and kept):
        return IssuePage(items, None)
    last = kept[-1]
    cursor = str(last.id) if sort == "id" else f"{last.due_date.isoformat() if last.due_date else '-'}.{last.id}"
    return IssuePage(items, cursor)


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
