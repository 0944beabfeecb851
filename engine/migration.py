"""Moving running issues from one workflow version to another: the plan and its refusals.

Nothing here touches the database.  The engine counts the issues a migration would move
(by state, category, severity and source), :func:`plan_migration` decides where each state
goes or lists every reason it cannot, and only then are rows written — all in one
transaction, so a migration is all or nothing.

A state keeps its stage on the way (``state_seq`` is unchanged): sign-offs given in a state
still count after it is renamed, and the time spent in it still runs for the escalation rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..i18n import Text
from ..storage.rows import CensusRow
from .definition import WorkflowDefinition
from .errors import InvalidInput

#: the keys ``--where`` accepts, and the engine parameter each becomes
WHERE_KEYS = {"round": "round_codes", "state": "states", "category": "categories", "unit": "unit_prefixes"}


@dataclass
class MigrationReport:
    workflow: str
    from_version: int
    to_version: int
    dry_run: bool
    moves: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.moves.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "workflow": self.workflow,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "dry_run": self.dry_run,
            "total": self.total,
            "moves": [{"from": a, "to": b, "count": n} for (a, b), n in sorted(self.moves.items())],
        }


def parse_mapping(pairs: Iterable[str] | Mapping[str, str] | None) -> dict[str, str]:
    """``OLD=NEW`` pairs (or a mapping) naming where a state of the old version goes."""
    if pairs is None:
        return {}
    if isinstance(pairs, Mapping):
        items = list(pairs.items())
    else:
        items = []
        for p in pairs:
            old, sep, new = str(p).partition("=")
            if not sep or not old.strip() or not new.strip():
                raise InvalidInput(
                    Text(f"状态映射应写作 旧状态=新状态：{p!r}", f"a state mapping is OLD=NEW: {p!r}"), field="map"
                )
            items.append((old.strip(), new.strip()))
    out: dict[str, str] = {}
    for old, new in items:
        if old in out and out[old] != new:
            raise InvalidInput(
                Text(f"状态 {old} 映射了两次（{out[old]}、{new}）", f"state {old} is mapped twice ({out[old]}, {new})"),
                field="map",
            )
        out[old] = new
    return out


def plan_migration(
    old: WorkflowDefinition,
    new: WorkflowDefinition,
    mapping: Mapping[str, str],
    census: Iterable[CensusRow],
) -> tuple[dict[str, str], list[tuple[str, Text]]]:
    """Where each state present in ``census`` goes, and every reason the move is refused.

    ``census`` rows are (state, category, severity, source, count, example code).  A state
    keeps its name unless mapped; the target must exist in the new version and must not be
    final (a migration never closes a problem: 销号 needs its own sign-offs).  Categories,
    severities and sources must also exist in the new version."""
    reasons: list[tuple[str, Text]] = []
    for o, n in mapping.items():
        if o not in old.states:
            reasons.append(
                (
                    "map",
                    Text(
                        f"映射中的 {o} 不是第 {old.version} 版的状态（有：{', '.join(old.states)}）",
                        f"{o} in the mapping is not a state of version {old.version} (states: {', '.join(old.states)})",
                    ),
                )
            )
        if n not in new.states:
            reasons.append(
                (
                    "map",
                    Text(
                        f"映射目标 {n} 不是第 {new.version} 版的状态（有：{', '.join(new.states)}）",
                        f"target {n} is not a state of version {new.version} (states: {', '.join(new.states)})",
                    ),
                )
            )
    if reasons:
        return {}, reasons
    by_state: dict[str, list[int | str]] = {}
    missing: dict[tuple[str, str], list[int | str]] = {}
    for state, category, severity, source, count, example in census:
        seen = by_state.setdefault(state, [0, example])
        seen[0] = int(seen[0]) + count
        for what, value, known in (
            ("category", category, new.categories),
            ("severity", severity, new.severities),
            ("source", source, new.sources),
        ):
            if value and value not in known:
                m = missing.setdefault((what, value), [0, example])
                m[0] = int(m[0]) + count
    targets: dict[str, str] = {}
    for state, (count, example) in by_state.items():
        target = mapping.get(state, state)
        if target not in new.states:
            reasons.append(
                (
                    "state",
                    Text(
                        f"{count} 个问题处于“{old.label(state).zh}”（{state}，如 {example}），第 {new.version} 版没有此状态；"
                        f"请用 --map {state}=新状态 指定去处",
                        f"{count} issues are in {old.label(state).en} ({state}, e.g. {example}), which version "
                        f"{new.version} does not have; say where they go with --map {state}=NEW",
                    ),
                )
            )
        elif new.states[target].final:
            reasons.append(
                (
                    "state",
                    Text(
                        f"迁移不能把 {count} 个问题（如 {example}）直接移入终态 {target}；销号须按流程办理",
                        f"a migration cannot put {count} issues (e.g. {example}) into the final state {target}; "
                        "closing takes its own steps",
                    ),
                )
            )
        else:
            targets[state] = target
    names = {
        "category": ("问题类别", "category"),
        "severity": ("严重程度", "severity"),
        "source": ("问题来源", "source"),
    }
    for (what, value), (count, example) in missing.items():
        zh, en = names[what]
        reasons.append(
            (
                what,
                Text(
                    f"{count} 个问题（如 {example}）的{zh} {value} 在第 {new.version} 版中不存在",
                    f"{count} issues (e.g. {example}) have {en} {value}, which version {new.version} does not define",
                ),
            )
        )
    return targets, reasons
