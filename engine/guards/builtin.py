"""The built-in guards, registered on import as a plugin's guards are (``register_guard``).

Each is a pure function ``(issue, ctx, params) -> Text | None`` of the facts the engine
loaded for it (its ``needs``); each docstring is what ``zhenggai workflow guards`` shows.
"""

from __future__ import annotations

from ...i18n import Text
from ..actors import same_person
from ..facts import GuardContext, IssueFacts
from .base import Reason, register_guard
from .params import (
    ClosableParams,
    SignedOffParams,
    TargetParams,
    categories_param,
    closable_param,
    evidence_param,
    measures_complete_param,
    signed_off_param,
)


@register_guard("has_measures", needs=["measures"])
def has_measures(issue: IssueFacts, ctx: GuardContext, params: None) -> Reason:
    """At least one rectification measure (整改措施) is recorded."""
    if not issue.measures:
        return Text("尚未制定整改措施", "no rectification measures have been recorded")
    return None


@register_guard("measures_complete", params=measures_complete_param, needs=["measures"])
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


@register_guard("measures_done", needs=["measures"])
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


@register_guard("evidence_attached", params=evidence_param, needs=["evidence"])
def evidence_attached(issue: IssueFacts, ctx: GuardContext, params: int) -> Reason:
    """At least ``min`` (default 1) pieces of evidence (佐证材料) are attached."""
    have = issue.evidence_count or 0
    if have < params:
        return Text(
            f"佐证材料不足：需要 {params} 份，已有 {have} 份", f"not enough evidence: {params} needed, {have} attached"
        )
    return None


@register_guard("signed_off", params=signed_off_param, needs=["signoffs"])
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


@register_guard("four_eyes", needs=["signoffs"])
def four_eyes(issue: IssueFacts, ctx: GuardContext, params: None) -> Reason:
    """The person acting is neither the issue's owner, nor whoever moved it to its current
    state, nor anyone who signed off on an earlier stage (审核与整改分离)."""
    me = ctx.actor.id
    if same_person(me, issue.owner):
        return Text("四眼原则：责任人不能评审自己的问题", "four eyes: the owner may not review their own issue")
    if same_person(me, issue.state_entered_by):
        return Text("四眼原则：提交自查的人不能评审", "four eyes: whoever submitted the self-check may not review it")
    if any(same_person(s.actor_id, me) and s.stage_seq != issue.state_seq for s in issue.signoffs or ()):
        return Text(
            "四眼原则：已签字确认整改方案的人不能评审", "four eyes: someone who signed off the plan may not review it"
        )
    return None


@register_guard("due_within_period", params=categories_param)
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


@register_guard("closable_in_period", params=closable_param)
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


@register_guard("long_term_mechanism", params=categories_param, needs=["mechanisms"])
def long_term_mechanism(issue: IssueFacts, ctx: GuardContext, params: frozenset[str] | None) -> Reason:
    """Long-term and systemic items close only with a long-term mechanism (长效机制, 建章立制) adopted."""
    if params is not None and issue.category not in params:
        return None
    if not issue.mechanism_count:
        return Text("尚未建立长效机制（建章立制）", "no long-term mechanism (rule or institution) has been adopted")
    return None
