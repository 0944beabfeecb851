"""A workflow as data (for --json) and as a Mermaid state diagram (for people)."""

from __future__ import annotations

from typing import Any

from .definition import WorkflowDefinition


def describe(d: WorkflowDefinition) -> dict[str, Any]:
    return {
        "name": d.name,
        "version": d.version,
        "title": d.title.to_dict(),
        "initial": d.initial,
        "states": {
            s.name: {"label": s.label.to_dict(), "final": s.final, "sla": s.sla.to_dict() if s.sla else None}
            for s in d.states.values()
        },
        "roles": {r.name: {"label": r.label.to_dict(), "holder": r.holder} for r in d.roles.values()},
        "categories": {k: v.to_dict() for k, v in d.categories.items()},
        "severities": {k: v.to_dict() for k, v in d.severities.items()},
        "actions": {k: sorted(v) for k, v in d.actions.items()},
        "transitions": [
            {
                "trigger": t.trigger,
                "label": t.label.to_dict(),
                "source": list(t.sources),
                "dest": t.dest,
                "roles": sorted(t.roles),
                "guards": [{g.name: g.raw} if g.raw is not None else g.name for g in t.guards],
                "require": sorted(t.require),
            }
            for t in d.transitions
        ],
        "escalation": None
        if d.escalation is None
        else {
            "calendar": d.escalation.calendar,
            "rules": [
                {
                    "name": r.name,
                    "state": list(r.states),
                    "when": dict(r.when),
                    "action": r.action,
                    "notify": list(r.notify),
                }
                for r in d.escalation.rules
            ],
        },
    }


def mermaid(d: WorkflowDefinition, lang: str = "zh") -> str:
    """``stateDiagram-v2`` text; paste into any Mermaid renderer (Markdown in most OA wikis)."""
    lines = ["stateDiagram-v2", f"    %% {d.title.get(lang)} ({d.name} v{d.version})"]
    for s in d.states.values():
        lines.append(f"    {s.name}: {s.label.get(lang)}")
    lines.append(f"    [*] --> {d.initial}")
    for t in d.transitions:
        guards = f" [{', '.join(g.name for g in t.guards)}]" if t.guards else ""
        for src in t.sources:
            lines.append(f"    {src} --> {t.dest}: {t.label.get(lang)}{guards}")
    for s in d.states.values():
        if s.final:
            lines.append(f"    {s.name} --> [*]")
    return "\n".join(lines)


def guard_docs() -> dict[str, str]:
    """Each registered guard's name and what it checks, in words (its docstring)."""
    from .guards import describe_guards

    return {g["name"]: " ".join(g["doc"].split()) for g in describe_guards()}
