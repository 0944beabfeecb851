"""Guard parameters: how each guard reads what a workflow writes after its name.

A reader is ``(raw, vocabulary) -> params``: it checks the YAML value against the names the
workflow defines (categories, severities, roles, states) and returns the frozen parameters
the guard receives on every check, or raises :class:`ParamError` with a bilingual reason.
Readers run when a workflow is validated, so a bad parameter is refused at deploy time with
its line, never discovered when someone fires a trigger.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ...i18n import Text
from ..facts import IssueFacts


class ParamError(ValueError):
    """A guard parameter in a workflow definition is wrong; carries a bilingual reason."""

    def __init__(self, text: Text) -> None:
        super().__init__(text.render())
        self.text = text


@dataclass(frozen=True)
class Vocabulary:
    """The names a workflow defines, for checking guard parameters against."""

    categories: frozenset[str]
    severities: frozenset[str]
    roles: frozenset[str]
    states: frozenset[str]
    labels: Mapping[str, Text] = field(default_factory=dict)  # role and category names -> labels

    def label(self, name: str) -> Text:
        return self.labels.get(name) or Text(name, name)


ParamParser = Callable[[Any, Vocabulary], Any]


ParamParser = Callable[[Any, Vocabulary], Any]


def no_params(raw: Any, vocab: Vocabulary) -> None:
    if raw is not None:
        raise ParamError(Text("该守卫不接受参数", "this guard takes no parameters"))
    return None


def _names(raw: Any, known: frozenset[str], what: Text) -> frozenset[str]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        raise ParamError(Text(f"{what.zh}应为名称或名称列表", f"{what.en} must be a name or a list of names"))
    bad = sorted(set(items) - known)
    if bad:
        raise ParamError(
            Text(
                f"未知的{what.zh}：{', '.join(bad)}（可用：{', '.join(sorted(known))}）",
                f"unknown {what.en}: {', '.join(bad)} (known: {', '.join(sorted(known))})",
            )
        )
    return frozenset(items)


_CATEGORY = Text("问题类别", "category")
_SEVERITY = Text("严重程度", "severity")
_ROLE = Text("角色", "role")
_STATE = Text("状态", "state")


def _mapping(raw: Any, allowed: set[str], required: set[str] = frozenset()) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise ParamError(Text("参数应为映射（键: 值）", "parameters must be a mapping (key: value)"))
    extra = sorted(set(raw) - allowed)
    if extra:
        raise ParamError(
            Text(f"未知参数：{', '.join(map(str, extra))}", f"unknown parameters: {', '.join(map(str, extra))}")
        )
    missing = sorted(required - set(raw))
    if missing:
        raise ParamError(Text(f"缺少参数：{', '.join(missing)}", f"missing parameters: {', '.join(missing)}"))
    return raw


def categories_param(raw: Any, vocab: Vocabulary) -> frozenset[str] | None:
    """``{categories: [..]}``: limit the guard to these categories; absent means all."""
    if raw is None:
        return None
    m = _mapping(raw, {"categories"}, {"categories"})
    return _names(m["categories"], vocab.categories, _CATEGORY)


@dataclass(frozen=True)
class Condition:
    """``when: {severity: serious, category: [phased]}`` on an issue; all keys must match."""

    fields: tuple[tuple[str, frozenset[str]], ...]

    def holds(self, issue: IssueFacts) -> bool:
        return all(issue.field(name) in values for name, values in self.fields)

    def describe(self) -> str:
        return "; ".join(f"{n}={','.join(sorted(v))}" for n, v in self.fields)


def condition_param(raw: Any, vocab: Vocabulary) -> Condition:
    m = _mapping(raw, {"category", "severity"})
    parts = []
    if "category" in m:
        parts.append(("category", _names(m["category"], vocab.categories, _CATEGORY)))
    if "severity" in m:
        parts.append(("severity", _names(m["severity"], vocab.severities, _SEVERITY)))
    if not parts:
        raise ParamError(Text("when 条件为空", "the when condition is empty"))
    return Condition(tuple(parts))


@dataclass(frozen=True)
class SignedOffParams:
    role: str
    when: Condition | None
    label: Text
    any_stage: bool = False


def signed_off_param(raw: Any, vocab: Vocabulary) -> SignedOffParams:
    """``signed_off: unit_lead`` or ``signed_off: {role: secretary, when: {severity: serious}}``."""
    if isinstance(raw, str):
        (role,) = _names(raw, vocab.roles, _ROLE)
        return SignedOffParams(role, None, vocab.label(role))
    if raw is None:
        raise ParamError(Text("需要指明签字角色", "name the role that must sign off"))
    m = _mapping(raw, {"role", "when", "stage"}, {"role"})
    if not isinstance(m["role"], str):
        raise ParamError(Text("role 应为一个角色名", "role must be one role name"))
    (role,) = _names(m["role"], vocab.roles, _ROLE)
    when = condition_param(m["when"], vocab) if "when" in m else None
    stage = m.get("stage", "current")
    if stage not in ("current", "any"):
        raise ParamError(Text("stage 只能是 current 或 any", "stage must be current or any"))
    return SignedOffParams(role, when, vocab.label(role), stage == "any")


@dataclass(frozen=True)
class TargetParams:
    target_required: frozenset[str]


def measures_complete_param(raw: Any, vocab: Vocabulary) -> TargetParams:
    """``{target_required: [phased, long_term]}``: categories whose measures need a quantified target."""
    if raw is None:
        return TargetParams(frozenset())
    m = _mapping(raw, {"target_required"}, {"target_required"})
    return TargetParams(_names(m["target_required"], vocab.categories, _CATEGORY))


def evidence_param(raw: Any, vocab: Vocabulary) -> int:
    if raw is None:
        return 1
    m = _mapping(raw, {"min"}, {"min"})
    n = m["min"]
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ParamError(Text("min 应为正整数", "min must be a positive whole number"))
    return n


@dataclass(frozen=True)
class ClosableParams:
    anytime: frozenset[str]
    labels: Mapping[str, Text]


def closable_param(raw: Any, vocab: Vocabulary) -> ClosableParams:
    """``{anytime: [immediate]}``: categories that may close inside the concentrated period.

    The bare form (no parameters) means ``immediate``, as in workflows deployed before the
    parameter was required; the shipped workflow names its categories."""
    labels = {c: vocab.label(c) for c in vocab.categories}
    if raw is None:
        if "immediate" not in vocab.categories:
            raise ParamError(
                Text(
                    "请用 anytime 指明集中整改期内可以销号的类别",
                    "name with anytime the categories that may close inside the period",
                )
            )
        return ClosableParams(frozenset({"immediate"}), labels)
    m = _mapping(raw, {"anytime"}, {"anytime"})
    return ClosableParams(_names(m["anytime"], vocab.categories, _CATEGORY), labels)
