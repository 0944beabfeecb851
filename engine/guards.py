"""The guard registry and the built-in guards.

A guard is a pure function ``(issue, ctx, params) -> Text | None``: ``None`` lets the
transition pass, a :class:`~zhenggai.i18n.Text` is the reason it may not, in words an owner
understands.  Workflows name guards in YAML (``guards: [has_measures, {signed_off: unit_lead}]``);
each guard declares how to read its parameters (checked when the workflow is validated, so a
bad parameter is refused at deploy time with its line) and which parts of the issue it reads
(so the engine loads only those).

Host applications add their own with :func:`register_guard`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..i18n import Text
from .facts import GuardContext, IssueFacts

Reason = Text | None
GuardFn = Callable[[IssueFacts, GuardContext, Any], Reason]

#: the entry point group through which installed packages add guards
PLUGIN_GROUP = "zhenggai.guards"

#: the parts of an issue a guard may ask the engine to load
NEEDS = frozenset({"measures", "evidence", "signoffs", "mechanisms"})


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


@dataclass(frozen=True)
class GuardType:
    name: str
    check: GuardFn
    parse: ParamParser
    needs: frozenset[str] = field(default_factory=frozenset)
    doc: str = ""


class GuardRegistry:
    """Named guards; one process-wide instance, :data:`guards`, is what workflows resolve against."""

    def __init__(self) -> None:
        self._types: dict[str, GuardType] = {}
        self._plugins_loaded = False
        self.plugin_errors: dict[str, str] = {}  # entry point name -> why it failed to load

    def register(
        self,
        name: str,
        *,
        params: ParamParser | None = None,
        needs: Iterable[str] = (),
        replace: bool = False,
    ) -> Callable[[GuardFn], GuardFn]:
        needs = frozenset(needs)
        unknown = needs - NEEDS
        if unknown:
            raise ValueError(f"guard {name!r} needs unknown parts {sorted(unknown)}; known: {sorted(NEEDS)}")

        def deco(fn: GuardFn) -> GuardFn:
            if name in self._types and not replace:
                raise ValueError(f"guard {name!r} is already registered")
            self._types[name] = GuardType(name, fn, params or no_params, needs, (fn.__doc__ or "").strip())
            return fn

        return deco

    def get(self, name: str) -> GuardType:
        return self._types[name]

    def __contains__(self, name: object) -> bool:
        self.load_plugins()
        return name in self._types

    def load_plugins(self) -> None:
        """Load the guards installed packages declare under the ``zhenggai.guards`` entry
        point group, once per process.  An entry point names a module (importing it registers
        its guards with :func:`register_guard`) or a callable, called with this registry.  A
        plugin that fails to load is remembered, so a workflow naming its guards is refused
        with the plugin's error instead of a bare "unknown guard"."""
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from importlib.metadata import entry_points

        for ep in entry_points(group=PLUGIN_GROUP):
            try:
                obj = ep.load()
                if callable(obj):
                    obj(self)
            except Exception as exc:  # a broken plugin must not stop the engine; it is reported
                self.plugin_errors[ep.name] = f"{ep.value}: {type(exc).__name__}: {exc}"

    def names(self) -> list[str]:
        self.load_plugins()
        return sorted(self._types)


guards = GuardRegistry()


def register_guard(
    name: str, *, params: ParamParser | None = None, needs: Iterable[str] = (), replace: bool = False
) -> Callable[[GuardFn], GuardFn]:
    """Register a custom guard for use in workflow YAML (call before loading the workflow)."""
    return guards.register(name, params=params, needs=needs, replace=replace)


# --- parameter readers -----------------------------------------------------------------


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


# --- the built-in guards ---------------------------------------------------------------


@guards.register("has_measures", needs=["measures"])
def has_measures(issue: IssueFacts, ctx: GuardContext, params: None) -> Reason:
    """At least one rectification measure (整改措施) is recorded."""
    if not issue.measures:
        return Text("尚未制定整改措施", "no rectification measures have been recorded")
    return None


@guards.register("measures_complete", params=measures_complete_param, needs=["measures"])
def measures_complete(issue: IssueFacts, ctx: GuardContext, params: TargetParams) -> Reason:
    """Every measure has a named owner (专人负责) and a deadline no later than the issue's;
    categories that need one also have a quantified target (量化标准)."""
    gaps_zh: list[str] = []
    gaps_en: list[str] = []
    for m in issue.measures or ():
        if not m.owner:
            gaps_zh.append(f"措施{m.no}缺少责任人")
            gaps_en.append(f"measure {m.no} has no owner")
        if m.due_date is None:
            gaps_zh.append(f"措施{m.no}缺少完成时限")
            gaps_en.append(f"measure {m.no} has no due date")
        elif issue.due_date is not None and m.due_date > issue.due_date:
            gaps_zh.append(f"措施{m.no}的时限 {m.due_date} 晚于问题整改时限 {issue.due_date}")
            gaps_en.append(f"measure {m.no} is due {m.due_date}, after the issue's deadline {issue.due_date}")
        if issue.category in params.target_required and not (m.target or "").strip():
            gaps_zh.append(f"措施{m.no}缺少量化目标")
            gaps_en.append(f"measure {m.no} has no quantified target")
    if issue.due_date is None:
        gaps_zh.insert(0, "问题缺少整改时限")
        gaps_en.insert(0, "the issue has no deadline")
    if gaps_zh:
        return Text("整改措施不完整：" + "；".join(gaps_zh), "measures are incomplete: " + "; ".join(gaps_en))
    return None


@guards.register("measures_done", needs=["measures"])
def measures_done(issue: IssueFacts, ctx: GuardContext, params: None) -> Reason:
    """Every measure is marked done."""
    if not issue.measures:
        return Text("没有可完成的整改措施", "there are no measures to have completed")
    open_ = [str(m.no) for m in issue.measures if not m.done]
    if open_:
        which = ", ".join(open_)
        en = f"measure {which} is not done yet" if len(open_) == 1 else f"measures {which} are not done yet"
        return Text(f"措施 {which} 尚未完成", en)
    return None


@guards.register("evidence_attached", params=evidence_param, needs=["evidence"])
def evidence_attached(issue: IssueFacts, ctx: GuardContext, params: int) -> Reason:
    """At least ``min`` (default 1) pieces of evidence (佐证材料) are attached."""
    have = issue.evidence_count or 0
    if have < params:
        return Text(
            f"佐证材料不足：需要 {params} 份，已有 {have} 份", f"not enough evidence: {params} needed, {have} attached"
        )
    return None


@guards.register("signed_off", params=signed_off_param, needs=["signoffs"])
def signed_off(issue: IssueFacts, ctx: GuardContext, params: SignedOffParams) -> Reason:
    """Someone in ``role`` has signed off on the issue in its current state (since it last
    entered it, so a sign-off before a send-back does not count again); with
    ``stage: any``, at any stage so far."""
    if params.when is not None and not params.when.holds(issue):
        return None
    for s in issue.signoffs or ():
        if s.role == params.role and (params.any_stage or s.stage_seq == issue.state_seq):
            return None
    who = params.label
    if params.any_stage:
        return Text(
            f"{who.zh}（{params.role}）尚未签字确认过整改方案", f"the {who.en} ({params.role}) has never signed off"
        )
    return Text(
        f"需要{who.zh}（{params.role}）在当前环节签字确认",
        f"needs a sign-off by the {who.en} ({params.role}) at this stage",
    )


@guards.register("four_eyes", needs=["signoffs"])
def four_eyes(issue: IssueFacts, ctx: GuardContext, params: None) -> Reason:
    """The person acting is neither the issue's owner, nor whoever moved it to its current
    state, nor anyone who signed off on an earlier stage (审核与整改分离)."""
    me = ctx.actor.id
    if me == issue.owner:
        return Text("四眼原则：责任人不能评审自己的问题", "four eyes: the owner may not review their own issue")
    if me == issue.state_entered_by:
        return Text("四眼原则：提交自查的人不能评审", "four eyes: whoever submitted the self-check may not review it")
    if any(s.actor_id == me and s.stage_seq != issue.state_seq for s in issue.signoffs or ()):
        return Text(
            "四眼原则：已签字确认整改方案的人不能评审", "four eyes: someone who signed off the plan may not review it"
        )
    return None


@guards.register("due_within_period", params=categories_param)
def due_within_period(issue: IssueFacts, ctx: GuardContext, params: frozenset[str] | None) -> Reason:
    """The issue's deadline falls inside the round's concentrated rectification period (集中整改期)."""
    if params is not None and issue.category not in params:
        return None
    end = issue.round.period_end
    if issue.due_date is None:
        return Text("问题缺少整改时限", "the issue has no deadline")
    if issue.due_date > end:
        return Text(
            f"整改时限 {issue.due_date} 超出集中整改期（至 {end}）",
            f"the deadline {issue.due_date} falls after the concentrated period ends ({end})",
        )
    return None


@guards.register("closable_in_period", params=closable_param)
def closable_in_period(issue: IssueFacts, ctx: GuardContext, params: ClosableParams) -> Reason:
    """Items of the ``anytime`` categories (立行立改) close as soon as they are reviewed; all
    others only after the concentrated period ends (对账销号)."""
    if issue.category in params.anytime:
        return None
    end = issue.round.period_end
    if ctx.today <= end:
        cat = params.labels.get(issue.category) or Text(issue.category, issue.category)
        return Text(
            f"集中整改期至 {end} 结束，{cat.zh}类问题须期满后对账销号",
            f"{cat.en} items close only after the concentrated period ends on {end}",
        )
    return None


@guards.register("long_term_mechanism", params=categories_param, needs=["mechanisms"])
def long_term_mechanism(issue: IssueFacts, ctx: GuardContext, params: frozenset[str] | None) -> Reason:
    """Long-term and systemic items close only with a long-term mechanism (长效机制, 建章立制) adopted."""
    if params is not None and issue.category not in params:
        return None
    if not issue.mechanism_count:
        return Text("尚未建立长效机制（建章立制）", "no long-term mechanism (rule or institution) has been adopted")
    return None


def describe_guards() -> list[dict[str, str]]:
    return [{"name": n, "doc": guards.get(n).doc} for n in guards.names()]
