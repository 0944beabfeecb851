"""What changed between two workflow versions, section by section.

Each definition is first reduced to plain data — section → name → properties — so that the
comparison is one generic walk and a new kind of rule needs only a line in :func:`outline`.
An administrator reads the result before migrating running issues onto the new version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..i18n import Text
from .definition import TransitionDef, WorkflowDefinition

SECTION_LABELS: dict[str, Text] = {
    "workflow": Text("工作流", "workflow"),
    "states": Text("状态", "states"),
    "transitions": Text("流转", "transitions"),
    "roles": Text("角色", "roles"),
    "actions": Text("操作权限", "actions"),
    "categories": Text("问题类别", "categories"),
    "severities": Text("严重程度", "severities"),
    "sources": Text("问题来源", "sources"),
    "escalation": Text("督办规则", "escalation rules"),
    "lights": Text("红黄绿灯", "traffic lights"),
}


def _label(t: Text) -> str:
    return f"{t.zh} / {t.en}"


def _transition_key(t: TransitionDef, shared: bool) -> str:
    """A trigger names its transition unless it leaves several states by separate rules."""
    return f"{t.trigger} [{'|'.join(t.sources)}]" if shared else t.trigger


def outline(d: WorkflowDefinition) -> dict[str, dict[str, dict[str, Any]]]:
    """The definition as plain, comparable data."""
    counts: dict[str, int] = {}
    for t in d.transitions:
        counts[t.trigger] = counts.get(t.trigger, 0) + 1
    esc = d.escalation
    lights = esc.lights if esc else None
    return {
        "workflow": {
            "initial": {"state": d.initial},
            "calendar": {"name": esc.calendar if esc else None},
            "disclosure": {"public": sorted(d.public_fields)},
            "default_category": {"category": d.default_category},
        },
        "states": {
            s.name: {
                "label": _label(s.label),
                "final": s.final,
                "sla": s.sla.to_dict() if s.sla else None,
            }
            for s in d.states.values()
        },
        "transitions": {
            _transition_key(t, counts[t.trigger] > 1): {
                "sources": list(t.sources),
                "dest": t.dest,
                "roles": sorted(t.roles),
                "guards": [g.describe() for g in t.guards],
                "require": sorted(t.require),
                "label": _label(t.label),
            }
            for t in d.transitions
        },
        "roles": {r.name: {"label": _label(r.label), "holder": r.holder} for r in d.roles.values()},
        "actions": {a: {"roles": sorted(rs)} for a, rs in d.actions.items()},
        "categories": {k: {"label": _label(v)} for k, v in d.categories.items()},
        "severities": {k: {"label": _label(v)} for k, v in d.severities.items()},
        "sources": {k: {"label": _label(v)} for k, v in d.sources.items()},
        "escalation": {
            r.name: {
                "states": list(r.states),
                "when": _plain(r.when),
                "action": r.action,
                "notify": list(r.notify),
                "categories": sorted(r.categories) if r.categories is not None else None,
                "severities": sorted(r.severities) if r.severities is not None else None,
                "new_deadline": r.new_deadline.to_dict() if r.new_deadline else None,
            }
            for r in (esc.rules if esc else ())
        },
        "lights": {
            **{f"colour {k}": {"label": _label(v)} for k, v in (lights.colours.items() if lights else ())},
            **{
                f"rule {i + 1}": {
                    "light": r.light,
                    "states": sorted(r.states) if r.states is not None else None,
                    "when": _plain(r.when),
                }
                for i, r in enumerate(lights.rules if lights else ())
            },
        },
    }


def _plain(v: Any) -> Any:
    if isinstance(v, dict) or hasattr(v, "items"):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple | frozenset | set):
        return [_plain(x) for x in v]
    if hasattr(v, "to_dict"):
        return v.to_dict()
    return v


@dataclass(frozen=True)
class Change:
    section: str
    name: str
    change: str  # added | removed | changed
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def fields(self) -> list[str]:
        """The properties that differ (for a changed item)."""
        if self.before is None or self.after is None:
            return []
        return [k for k in {**self.before, **self.after} if self.before.get(k) != self.after.get(k)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "name": self.name,
            "change": self.change,
            "before": self.before,
            "after": self.after,
            "fields": self.fields(),
        }

    def render(self, lang: str | None = None) -> list[str]:
        mark = {"added": "+", "removed": "-", "changed": "~"}[self.change]
        head = f"{mark} {SECTION_LABELS[self.section].render(lang)} {self.name}"
        if self.change == "added":
            return [head, *(f"    {k}: {_short(v)}" for k, v in (self.after or {}).items() if v not in (None, [], {}))]
        if self.change == "removed":
            return [head]
        assert self.before is not None and self.after is not None
        return [head, *(f"    {k}: {_short(self.before.get(k))} → {_short(self.after.get(k))}" for k in self.fields())]


def _short(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_short(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_short(x)}" for k, x in v.items()) + "}"
    return "-" if v is None else str(v)


def diff(a: WorkflowDefinition, b: WorkflowDefinition) -> list[Change]:
    """Every difference from ``a`` to ``b``, in section order, then in each version's order."""
    left, right = outline(a), outline(b)
    out: list[Change] = []
    for section in left:
        before, after = left[section], right[section]
        for name, props in before.items():
            if name not in after:
                out.append(Change(section, name, "removed", props, None))
            elif after[name] != props:
                out.append(Change(section, name, "changed", props, after[name]))
        out.extend(Change(section, name, "added", None, props) for name, props in after.items() if name not in before)
    return out
