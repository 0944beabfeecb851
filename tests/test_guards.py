"""Each guard is a pure function of the issue: tested without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime

from zhenggai import Actor
from zhenggai.engine.definition import builtin
from zhenggai.engine.facts import GuardContext, IssueFacts, MeasureFacts, RoundFacts, SignoffFacts
from zhenggai.engine.guards import (
    closable_in_period,
    four_eyes,
    guards,
    has_measures,
    long_term_mechanism,
    register_guard,
)

ROUND = RoundFacts("R1", date(2026, 3, 10), date(2026, 6, 10))


def issue(**kw) -> IssueFacts:
    base = dict(
        code="P1",
        category="immediate",
        severity="normal",
        state="self_checked",
        unit="省局/财务处",
        owner="li",
        lead="zhao",
        due_date=date(2026, 5, 31),
        state_seq=7,
        state_entered_by="li",
        round=ROUND,
        measures=(),
        evidence_count=0,
        signoffs=(),
        mechanism_count=0,
    )
    base.update(kw)
    return IssueFacts(**base)


def ctx(actor: str = "he", role: str = "reviewer", today: date = date(2026, 4, 1)) -> GuardContext:
    return GuardContext(
        Actor(actor, frozenset({role})),
        role,
        "review",
        "self_checked",
        datetime(today.year, today.month, today.day, 2, tzinfo=UTC),
        today,
    )


def use(trigger: str, source: str, name: str):
    g = next(g for g in builtin().transition(trigger, source).guards if g.name == name)
    return g.type.check, g.params


def test_has_measures():
    assert has_measures(issue(), ctx(), None).en == "no rectification measures have been recorded"
    assert (
        has_measures(issue(measures=(MeasureFacts(1, "x", "li", date(2026, 5, 1), None, False),)), ctx(), None) is None
    )


def test_measures_complete_wants_targets_only_where_the_workflow_says():
    check, params = use("plan", "identified", "measures_complete")
    m = (MeasureFacts(1, "x", "li", date(2026, 5, 1), None, False),)
    assert check(issue(category="immediate", measures=m), ctx(), params) is None
    reason = check(issue(category="phased", measures=m), ctx(), params)
    assert reason.en == "measures are incomplete: measure 1 has no quantified target"
    assert check(issue(due_date=None, measures=m), ctx(), params).en.startswith(
        "measures are incomplete: the issue has no deadline"
    )


def test_signed_off_counts_only_the_current_stage_and_its_condition():
    check, params = use("review", "self_checked", "signed_off")  # secretary, when severity serious
    assert check(issue(severity="normal"), ctx(), params) is None
    assert check(issue(severity="serious"), ctx(), params) is not None
    old = SignoffFacts("secretary", "chen", "self_checked", 3)
    assert check(issue(severity="serious", signoffs=(old,)), ctx(), params) is not None
    now = SignoffFacts("secretary", "chen", "self_checked", 7)
    assert check(issue(severity="serious", signoffs=(now,)), ctx(), params) is None


def test_four_eyes_refuses_owner_submitter_and_earlier_signers():
    assert four_eyes(issue(), ctx("li"), None).en.startswith("four eyes: the owner")
    assert four_eyes(issue(state_entered_by="wu"), ctx("wu"), None).en.startswith("four eyes: whoever submitted")
    signer = SignoffFacts("unit_lead", "zhao", "planned", 3)
    assert four_eyes(issue(signoffs=(signer,)), ctx("zhao"), None).en.startswith("four eyes: someone who signed")
    assert four_eyes(issue(signoffs=(signer,)), ctx("he"), None) is None


def test_due_within_period_applies_to_its_categories_only():
    check, params = use("start", "planned", "due_within_period")
    assert check(issue(due_date=date(2026, 6, 10)), ctx(), params) is None
    assert check(issue(due_date=date(2026, 6, 11)), ctx(), params) is not None
    assert check(issue(due_date=None), ctx(), params).en == "the issue has no deadline"
    assert check(issue(category="phased", due_date=date(2026, 12, 1)), ctx(), params) is None


def test_closable_in_period_for_each_category():
    _, params = use("close", "reviewed", "closable_in_period")
    inside, after = ctx(today=date(2026, 6, 10)), ctx(today=date(2026, 6, 11))
    for cat in ["phased", "long_term", "constrained", "systemic"]:
        assert closable_in_period(issue(category=cat), inside, params) is not None
        assert closable_in_period(issue(category=cat), after, params) is None
    assert closable_in_period(issue(category="immediate"), inside, params) is None


def test_long_term_mechanism():
    _, params = use("close", "reviewed", "long_term_mechanism")
    assert long_term_mechanism(issue(category="long_term"), ctx(), params) is not None
    assert long_term_mechanism(issue(category="long_term", mechanism_count=1), ctx(), params) is None
    assert long_term_mechanism(issue(category="phased"), ctx(), params) is None


def test_a_host_registers_its_own_guard_and_uses_it_in_yaml():
    from zhenggai import parse_definition
    from zhenggai.i18n import Text

    @register_guard("budget_approved", replace=True)
    def budget_approved(issue, ctx, params):
        """The finance office approved the budget (an example of a host's own rule)."""
        return None if issue.severity == "normal" else Text("预算未批准", "budget not approved")

    assert "budget_approved" in guards
    src = builtin().source.replace(
        "      - evidence_attached\n", "      - evidence_attached\n      - budget_approved\n", 1
    )
    d = parse_definition(src)
    assert [g.name for g in d.transition("submit_self_check", "in_progress").guards][-1] == "budget_approved"
