"""Why an issue can or cannot move: every rule of every transition, passed or not.

The fire path stops at the verdict; a confused owner needs the whole picture — which
transitions leave this state, which roles each takes and whether the user holds one, each
guard with its outcome, the concentrated period and the workflow version the issue is on.
Everything is judged by the same functions a fire uses (:func:`check_rules`, each guard's
own check), so an explanation cannot disagree with what a fire would do.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from ..i18n import Text
from .definition import TransitionDef, WorkflowDefinition
from .facts import GuardContext, IssueFacts
from .machine import WorkflowMachine, _Token, check_rules

OK = Text("满足", "met")


@dataclass(frozen=True)
class Check:
    rule: str
    ok: bool
    reason: Text

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "ok": self.ok, "reason": self.reason.to_dict()}


@dataclass(frozen=True)
class TriggerExplanation:
    trigger: str
    label: Text
    sources: tuple[str, ...]
    dest: str
    dest_label: Text
    role: str | None
    checks: list[Check]
    possible_here: bool = True

    @property
    def available(self) -> bool:
        return self.possible_here and all(c.ok for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger,
            "label": self.label.to_dict(),
            "from": list(self.sources),
            "dest": self.dest,
            "dest_label": self.dest_label.to_dict(),
            "available": self.available,
            "possible_here": self.possible_here,
            "role": self.role,
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclass(frozen=True)
class Explanation:
    code: str
    state: str
    state_label: Text
    workflow: str
    version: int
    newest_version: int
    deprecated: bool
    round: str
    feedback_date: date
    period_end: date
    today: date
    actor: str
    roles: list[str]
    triggers: list[TriggerExplanation] = field(default_factory=list)
    notes: list[Text] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "issue": self.code,
            "state": self.state,
            "state_label": self.state_label.to_dict(),
            "workflow": {
                "name": self.workflow,
                "version": self.version,
                "newest_version": self.newest_version,
                "deprecated": self.deprecated,
            },
            "round": {
                "code": self.round,
                "feedback_date": self.feedback_date.isoformat(),
                "period_end": self.period_end.isoformat(),
                "today": self.today.isoformat(),
                "in_period": self.today <= self.period_end,
            },
            "actor": {"id": self.actor, "roles": self.roles},
            "triggers": [t.to_dict() for t in self.triggers],
            "notes": [n.to_dict() for n in self.notes],
        }


def _role_check(d: WorkflowDefinition, t: TransitionDef, actor_roles: frozenset[str], reasons: list[Any]) -> Check:
    allowed = "、".join(d.roles[r].label.zh if r in d.roles else r for r in sorted(t.roles))
    allowed_en = ", ".join(d.roles[r].label.en if r in d.roles else r for r in sorted(t.roles))
    failed = [text for rule, text in reasons if rule == "role"]
    if failed:
        return Check("role", False, failed[0])
    mine = sorted(actor_roles & t.roles)
    return Check(
        "role",
        True,
        Text(
            f"由{allowed}执行；你以 {', '.join(mine)} 身份可以执行",
            f"done by {allowed_en}; you may, as {', '.join(mine)}",
        ),
    )


def explain_transition(
    d: WorkflowDefinition, machine: WorkflowMachine, t: TransitionDef, facts: IssueFacts, ctx: GuardContext
) -> TriggerExplanation:
    """Each rule of ``t`` for this issue and actor, in the order the workflow declares them."""
    here = facts.state in t.sources
    role, _ = machine.choose_role(t, facts, replace(ctx, trigger=t.trigger))
    judged = replace(ctx, role=role, trigger=t.trigger)
    reasons = check_rules(t, _Token(facts.state, facts, judged, machine.holders))
    checks = [_role_check(d, t, ctx.actor.roles, reasons)]
    if "comment" in t.require:
        checks.append(
            Check("require:comment", True, Text("执行时须填写说明（comment）", "a comment is required when firing"))
        )
    for g in t.guards:
        reason = g.type.check(facts, judged, g.params)
        checks.append(Check(g.describe(), reason is None, reason or OK))
    return TriggerExplanation(
        t.trigger, t.label, t.sources, t.dest, d.label(t.dest), role if here else None, checks, possible_here=here
    )


def not_here(d: WorkflowDefinition, trigger: str, state: str) -> Text:
    if trigger not in d.triggers():
        return Text(
            f"工作流 {d.name} 第 {d.version} 版没有操作 {trigger}（有：{', '.join(d.triggers())}）",
            f"workflow {d.name} v{d.version} has no trigger {trigger} (it has: {', '.join(d.triggers())})",
        )
    froms = sorted({s for t in d.transitions if t.trigger == trigger for s in t.sources})
    here = ", ".join(t.trigger for t in d.transitions_from(state)) or "-"
    return Text(
        f"{trigger} 只能从 {'、'.join(d.label(s).zh for s in froms)} 执行，本问题处于“{d.label(state).zh}”（此时可执行：{here}）",
        f"{trigger} leaves only {', '.join(d.label(s).en for s in froms)}; this issue is {d.label(state).en} "
        f"(possible now: {here})",
    )
