"""A round opens; problems are planned, signed off, done, reviewed, closed — and each step
is refused when its rules are not met, with every reason and nothing changed."""

from __future__ import annotations

import pytest
from storyhelpers import SHA, add, planned, reviewed, self_checked, started

from zhenggai import Actor, Engine, Refused
from zhenggai.engine.errors import Forbidden, InvalidInput, NotFound


def rules(exc: pytest.ExceptionInfo[Refused]) -> list[str]:
    return [r for r, _ in exc.value.reasons]


def reasons_zh(exc: pytest.ExceptionInfo[Refused]) -> str:
    return " | ".join(t.zh for _, t in exc.value.reasons)


def reasons_en(exc: pytest.ExceptionInfo[Refused]) -> str:
    return " | ".join(t.en for _, t in exc.value.reasons)


# --- the whole way, per category --------------------------------------------------------


def test_immediate_item_goes_from_identified_to_closed_inside_the_period(engine: Engine, cast, round_, clock):
    add(engine, cast, "P1", "immediate")
    assert engine.issue("P1", cast.office).state == "identified"
    engine.add_measure("P1", "追缴个税", owner="li", due_date="2026-04-15", actor=cast.owner)
    assert engine.fire("P1", "plan", actor=cast.owner).dest == "planned"
    engine.sign_off("P1", "unit_lead", actor=cast.lead)
    assert engine.fire("P1", "start", actor=cast.owner).dest == "in_progress"
    clock.set("2026-04-10")
    engine.complete_measure("P1", 1, actor=cast.owner)
    engine.add_evidence("P1", "oa://files/123", SHA, note="补缴凭证", actor=cast.owner)
    assert engine.fire("P1", "submit_self_check", actor=cast.owner).dest == "self_checked"
    assert engine.fire("P1", "review", actor=cast.reviewer).dest == "reviewed"
    engine.sign_off("P1", "inspection_office", actor=cast.office)
    result = engine.fire("P1", "close", actor=cast.office)
    assert (result.source, result.dest) == ("reviewed", "closed")
    view = engine.issue("P1", cast.office)
    assert view.state == "closed"
    history = engine.history("P1", cast.office)
    assert [e["trigger"] for e in history if e["kind"] == "transition"] == [
        "plan",
        "start",
        "submit_self_check",
        "review",
        "close",
    ]
    assert all(e["actor"] and e["at"] for e in history)
    assert engine.verify("P1", cast.office).ok


@pytest.mark.parametrize("category", ["phased", "constrained"])
def test_non_immediate_items_close_only_after_the_concentrated_period(engine: Engine, cast, round_, clock, category):
    reviewed(engine, cast, "P2", category, due="2026-09-30")
    engine.sign_off("P2", "inspection_office", actor=cast.office)
    clock.set("2026-06-10")  # the last day of the period
    with pytest.raises(Refused) as exc:
        engine.fire("P2", "close", actor=cast.office)
    assert rules(exc) == ["closable_in_period"]
    assert "2026-06-10" in reasons_zh(exc) and "对账销号" in reasons_zh(exc)
    clock.set("2026-06-11")
    assert engine.fire("P2", "close", actor=cast.office).dest == "closed"


@pytest.mark.parametrize("category", ["long_term", "systemic"])
def test_long_term_and_systemic_items_need_a_long_term_mechanism_to_close(
    engine: Engine, cast, round_, clock, category
):
    reviewed(engine, cast, "P3", category, due="2026-12-31")
    engine.sign_off("P3", "inspection_office", actor=cast.office)
    clock.set("2026-07-01")
    with pytest.raises(Refused) as exc:
        engine.fire("P3", "close", actor=cast.office)
    assert rules(exc) == ["long_term_mechanism"]
    assert "长效机制" in reasons_zh(exc)
    engine.add_mechanism("P3", "滞纳金加收统一口径制度", reference="税发〔2026〕18号", actor=cast.owner)
    assert engine.fire("P3", "close", actor=cast.office).dest == "closed"


def test_closing_a_long_term_item_inside_the_period_lists_both_reasons(engine: Engine, cast, round_, clock):
    reviewed(engine, cast, "P4", "long_term", due="2027-06-30")
    engine.sign_off("P4", "inspection_office", actor=cast.office)
    with pytest.raises(Refused) as exc:
        engine.fire("P4", "close", actor=cast.office)
    assert rules(exc) == ["closable_in_period", "long_term_mechanism"]


def test_constrained_item_is_supervised_then_resumed_with_a_comment(engine: Engine, cast, round_):
    started(engine, cast, "P5", "constrained", due="2026-12-31")
    assert engine.fire("P5", "escalate", actor=cast.discipline).dest == "supervised"
    with pytest.raises(Refused) as exc:
        engine.fire("P5", "resume", actor=cast.discipline)
    assert rules(exc) == ["require:comment"]
    assert engine.fire("P5", "resume", actor=cast.discipline, comment="破产程序已终结").dest == "in_progress"


def test_a_supervised_item_can_submit_its_self_check(engine: Engine, cast, round_):
    started(engine, cast, "P6", "constrained", due="2026-12-31")
    engine.fire("P6", "escalate", actor=Actor("system", frozenset({"system"})))
    engine.complete_measure("P6", 1, actor=cast.owner)
    engine.add_evidence("P6", "https://oa.example/f/9", SHA, actor=cast.owner)
    assert engine.fire("P6", "submit_self_check", actor=cast.owner).source == "supervised"


def test_reopening_a_closed_item_counts_the_recurrence(engine: Engine, cast, round_):
    reviewed(engine, cast, "P7", "immediate")
    engine.sign_off("P7", "inspection_office", actor=cast.office)
    engine.fire("P7", "close", actor=cast.office)
    with pytest.raises(Refused) as exc:
        engine.fire("P7", "reopen", actor=cast.discipline)
    assert rules(exc) == ["require:comment"]
    engine.fire("P7", "reopen", actor=cast.discipline, comment="回头看发现问题反弹")
    view = engine.issue("P7", cast.office)
    assert (view.state, view.recurrence_count) == ("in_progress", 1)


# --- refusals, one rule at a time ------------------------------------------------------


def test_planning_without_measures_is_refused_and_changes_nothing(engine: Engine, cast, round_):
    add(engine, cast, "P1")
    before = engine.issue("P1", cast.office)
    with pytest.raises(Refused) as exc:
        engine.fire("P1", "plan", actor=cast.owner)
    assert rules(exc) == ["has_measures"]
    assert "尚未制定整改措施" in reasons_zh(exc)
    assert "no rectification measures" in reasons_en(exc)
    after = engine.issue("P1", cast.office)
    assert (after.state, after.version) == (before.state, before.version)
    assert len(engine.history("P1", cast.office)) == 1


def test_incomplete_measures_are_listed_one_by_one(engine: Engine, cast, round_):
    add(engine, cast, "P1", "phased", due="2026-09-30")
    engine.add_measure("P1", "无责任人无时限", actor=cast.owner)
    engine.add_measure("P1", "时限晚于问题", owner="li", due_date="2026-10-30", target="x", actor=cast.owner)
    with pytest.raises(Refused) as exc:
        engine.fire("P1", "plan", actor=cast.owner)
    text = reasons_zh(exc)
    assert "措施1缺少责任人" in text
    assert "措施1缺少完成时限" in text
    assert "措施1缺少量化目标" in text
    assert "措施2的时限 2026-10-30 晚于问题整改时限 2026-09-30" in text
    assert "measure 1 has no quantified target" in reasons_en(exc)


def test_starting_needs_the_unit_leads_sign_off_at_this_stage(engine: Engine, cast, round_):
    planned(engine, cast, "P1")
    with pytest.raises(Refused) as exc:
        engine.fire("P1", "start", actor=cast.owner)
    assert rules(exc) == ["signed_off"]
    assert "分管领导" in reasons_zh(exc)
    engine.sign_off("P1", "unit_lead", actor=cast.lead)
    engine.fire("P1", "start", actor=cast.owner)


def test_a_sign_off_from_before_a_send_back_does_not_count_again(engine: Engine, cast, round_):
    self_checked(engine, cast, "P1", severity="serious")
    engine.sign_off("P1", "secretary", actor=cast.secretary)
    engine.fire("P1", "send_back", actor=cast.reviewer, comment="佐证不足")
    engine.add_evidence("P1", "oa://files/2", SHA, actor=cast.owner)
    engine.fire("P1", "submit_self_check", actor=cast.owner)
    with pytest.raises(Refused) as exc:
        engine.fire("P1", "review", actor=cast.reviewer)
    assert rules(exc) == ["signed_off"]


def test_an_immediate_item_due_after_the_period_is_refused_when_added(engine: Engine, cast, round_):
    # accepted, it could never start (its deadline breaks the period rule start checks): refused at once
    with pytest.raises(InvalidInput) as exc:
        planned(engine, cast, "P1", "immediate", due="2026-07-31")
    assert "超出集中整改期" in exc.value.text.zh and exc.value.details["field"] == "due_date"
    assert engine.issues(cast.office) == []


def test_a_phased_item_due_after_the_period_may_start(engine: Engine, cast, round_):
    started(engine, cast, "P1", "phased", due="2026-09-30")
    assert engine.issue("P1", cast.office).state == "in_progress"


def test_self_check_needs_measures_done_and_evidence(engine: Engine, cast, round_):
    started(engine, cast, "P1")
    with pytest.raises(Refused) as exc:
        engine.fire("P1", "submit_self_check", actor=cast.owner)
    assert rules(exc) == ["measures_done", "evidence_attached"]
    assert "措施 1 尚未完成" in reasons_zh(exc)


@pytest.mark.parametrize(
    ("who", "why"),
    [("owner", "责任人不能评审"), ("plan_signer", "签字确认整改方案的人不能评审")],
)
def test_four_eyes_keep_reviewing_apart_from_doing(engine: Engine, cast, round_, who, why):
    self_checked(engine, cast, "P1")
    actor = {
        "owner": Actor("li", frozenset({"reviewer"})),
        "plan_signer": Actor("zhao", frozenset({"reviewer"})),
    }[who]
    with pytest.raises(Refused) as exc:
        engine.fire("P1", "review", actor=actor)
    assert rules(exc) == ["four_eyes"]
    assert why in reasons_zh(exc)


def test_a_reviewer_who_took_no_earlier_part_may_review_a_supervised_item(engine: Engine, cast, round_):
    started(engine, cast, "P1", "constrained", due="2026-12-31")
    engine.complete_measure("P1", 1, actor=cast.owner)
    engine.add_evidence("P1", "oa://x/1", SHA, actor=cast.owner)
    engine.fire("P1", "escalate", actor=cast.discipline)
    engine.fire("P1", "submit_self_check", actor=cast.owner)
    assert engine.fire("P1", "review", actor=cast.reviewer2).dest == "reviewed"


def test_serious_items_need_the_secretary_before_review(engine: Engine, cast, round_):
    self_checked(engine, cast, "P1", severity="serious")
    with pytest.raises(Refused) as exc:
        engine.fire("P1", "review", actor=cast.reviewer)
    assert rules(exc) == ["signed_off"]
    assert "党委书记" in reasons_zh(exc)
    engine.sign_off("P1", "secretary", actor=cast.secretary)
    engine.fire("P1", "review", actor=cast.reviewer)


def test_normal_items_need_no_secretary_sign_off(engine: Engine, cast, round_):
    self_checked(engine, cast, "P1", severity="normal")
    assert engine.fire("P1", "review", actor=cast.reviewer).dest == "reviewed"


def test_closing_needs_the_inspection_offices_sign_off(engine: Engine, cast, round_):
    reviewed(engine, cast, "P1")
    with pytest.raises(Refused) as exc:
        engine.fire("P1", "close", actor=cast.office)
    assert rules(exc) == ["signed_off"]


def test_send_back_requires_a_comment(engine: Engine, cast, round_):
    self_checked(engine, cast, "P1")
    with pytest.raises(Refused) as exc:
        engine.fire("P1", "send_back", actor=cast.reviewer, comment="   ")
    assert rules(exc) == ["require:comment"]


# --- roles and scope -------------------------------------------------------------------


def test_a_role_the_transition_does_not_allow_is_refused(engine: Engine, cast, round_):
    planned(engine, cast, "P1")
    engine.sign_off("P1", "unit_lead", actor=cast.lead)
    with pytest.raises(Refused) as exc:
        engine.fire("P1", "start", actor=cast.lead)
    assert rules(exc) == ["role"]
    assert "unit_lead" in reasons_en(exc) and "owner" in reasons_en(exc)


def test_a_role_the_actor_does_not_hold_is_refused(engine: Engine, cast, round_):
    add(engine, cast, "P1")
    with pytest.raises(Refused) as exc:
        engine.fire("P1", "escalate", actor=cast.owner, role="discipline")
    assert "does not hold role discipline" in reasons_en(exc)


def test_only_the_issues_own_owner_acts_as_its_owner(engine: Engine, cast, round_):
    add(engine, cast, "P1")
    engine.add_measure("P1", "措施", owner="li", due_date="2026-05-01", actor=cast.owner)
    intruder = Actor("qian", frozenset({"owner"}), ("省局/财务处",))
    with pytest.raises(Refused) as exc:
        engine.fire("P1", "plan", actor=intruder)
    assert rules(exc) == ["role"]
    assert "qian is not this issue's owner (that is li)" in reasons_en(exc)
    with pytest.raises(Refused):
        engine.add_measure("P1", "别人加的措施", actor=intruder)


def test_the_wrong_unit_lead_cannot_sign_off(engine: Engine, cast, round_):
    planned(engine, cast, "P1")
    with pytest.raises(Refused) as exc:
        engine.sign_off("P1", "unit_lead", actor=Actor("qian", frozenset({"unit_lead"}), ("省局",)))
    assert "not this issue's unit lead" in reasons_en(exc) and "不是本问题的分管领导" in exc.value.render("zh")


def test_signing_in_a_role_one_does_not_hold_is_refused(engine: Engine, cast, round_):
    planned(engine, cast, "P1")
    with pytest.raises(Refused):
        engine.sign_off("P1", "secretary", actor=cast.lead)


def test_issues_outside_the_actors_scope_cannot_be_read_or_moved(engine: Engine, cast, round_):
    add(engine, cast, "P1", unit="省局/财务处")
    add(engine, cast, "P2", unit="省局/稽查局", owner="sun")
    add(engine, cast, "P3", unit="省局/稽查局二", owner="sun")
    outsider = Actor("sun", frozenset({"owner"}), ("省局/稽查局",))
    with pytest.raises(Forbidden):
        engine.issue("P1", outsider)
    with pytest.raises(Forbidden):
        engine.fire("P1", "plan", actor=outsider)
    with pytest.raises(Forbidden):
        engine.history("P1", outsider)
    assert [v.code for v in engine.issues(outsider)] == ["P2"]  # not 稽查局二
    assert [v.code for v in engine.issues(cast.office)] == ["P1", "P2", "P3"]


def test_the_trigger_list_says_why_each_unavailable_trigger_is_blocked(engine: Engine, cast, round_):
    planned(engine, cast, "P1")
    view = engine.issue("P1", cast.owner)
    options = {t.trigger: t for t in view.triggers}
    assert set(options) == {"start", "escalate"}
    assert not options["start"].available
    assert [r for r, _ in options["start"].reasons] == ["signed_off"]
    engine.sign_off("P1", "unit_lead", actor=cast.lead)
    assert {t.trigger: t.available for t in engine.issue("P1", cast.owner).triggers}["start"] is True


def test_a_trigger_not_possible_from_the_state_is_refused(engine: Engine, cast, round_):
    add(engine, cast, "P1")
    with pytest.raises(Refused) as exc:
        engine.fire("P1", "close", actor=cast.office)
    assert rules(exc) == ["state"]
    assert "plan" in reasons_en(exc)
    with pytest.raises(Refused) as exc:
        engine.fire("P1", "approve", actor=cast.office)
    assert "has no trigger approve" in reasons_en(exc)


def test_closed_items_cannot_be_edited(engine: Engine, cast, round_):
    reviewed(engine, cast, "P1")
    engine.sign_off("P1", "inspection_office", actor=cast.office)
    engine.fire("P1", "close", actor=cast.office)
    with pytest.raises(Refused):
        engine.add_measure("P1", "late", actor=cast.owner)


# --- bad input -------------------------------------------------------------------------


GOOD_ISSUE = dict(
    title="问题", category="immediate", unit="省局/财务处", owner="li", lead="zhao", due_date="2026-05-01"
)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"category": "urgent"}, "category"),
        ({"category": ["immediate"]}, "category"),
        ({"severity": "fatal"}, "severity"),
        ({"code": "P 1"}, "code"),
        ({"code": ""}, "code"),
        ({"due_date": "2026-13-01"}, "due_date"),
        ({"due_date": "2026-01-01"}, "due_date"),  # before the feedback date
        ({"owner": ""}, "owner"),
        ({"owner": None}, "owner"),
        ({"lead": "  "}, "lead"),
        ({"unit": " / "}, "unit"),
        ({"title": "x" * 501}, "title"),
        ({"title": "bell\x07"}, "title"),
        ({"owner": "x" * 129}, "owner"),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(engine: Engine, cast, round_, change, field):
    values = {"code": "P1", **GOOD_ISSUE, **change}
    code = values.pop("code")
    with pytest.raises(InvalidInput) as exc:
        engine.add_issue("R1", code, actor=cast.office, **values)
    assert exc.value.details["field"] == field
    assert engine.issues(cast.office) == []


def test_unknown_round_duplicate_code_and_bad_evidence_are_refused(engine: Engine, cast, round_):
    with pytest.raises(NotFound):
        engine.add_issue("R9", "P1", actor=cast.office, **GOOD_ISSUE)
    add(engine, cast, "P1")
    with pytest.raises(InvalidInput) as exc:
        add(engine, cast, "P1")
    assert "already exists" in exc.value.text.en
    for uri in ["file:///etc/passwd", "oa://files/../../etc", "javascript:alert(1)", "oa://" + "x" * 2100]:
        with pytest.raises(InvalidInput) as exc:
            engine.add_evidence("P1", uri, SHA, actor=cast.owner)
        assert exc.value.details["field"] == "uri"
    with pytest.raises(InvalidInput) as exc:
        engine.add_evidence("P1", "oa://files/1", "not-a-hash", actor=cast.owner)
    assert exc.value.details["field"] == "sha256"
    assert len(engine.history("P1", cast.office)) == 1


def test_multi_line_text_from_a_browser_form_is_accepted(engine: Engine, cast, round_):
    add(engine, cast, "P1")
    engine.add_measure("P1", "第一步\r\n第二步", owner="li", due_date="2026-05-01", actor=cast.owner)
    assert engine.issue("P1", cast.office).measures[0]["text"] == "第一步\n第二步"


def test_units_are_stored_as_clean_paths_so_lists_and_reads_agree(engine: Engine, cast, round_):
    engine.add_issue("R1", "P1", actor=cast.office, **{**GOOD_ISSUE, "unit": "/省局 / 财务处/"})
    assert engine.issue("P1", cast.owner).unit == "省局/财务处"
    assert [v.code for v in engine.issues(cast.owner)] == ["P1"]


def test_an_issue_is_handed_to_a_new_owner(engine: Engine, cast, round_):
    add(engine, cast, "P1")
    with pytest.raises(Refused):
        engine.assign("P1", owner="wu", actor=cast.owner)  # an owner cannot hand their issue away
    engine.assign("P1", owner="wu", actor=cast.office, comment="人员调整")
    assert engine.issue("P1", cast.office).owner == "wu"
    with pytest.raises(Refused):
        engine.add_measure("P1", "措施", owner="li", due_date="2026-05-01", actor=cast.owner)
    assert engine.history("P1", cast.office)[-1]["data"] == {"owner": {"from": "li", "to": "wu"}}
    with pytest.raises(InvalidInput):
        engine.assign("P1", owner="wu", actor=cast.office)


def test_rounds_compute_the_concentrated_period(engine: Engine, cast):
    r = engine.open_round("R2", title="t", org="省局", feedback_date="2026-11-30", actor=cast.office)
    assert r["period_end"] == "2027-02-28"
    r = engine.open_round(
        "R3", title="t", org="省局", feedback_date="2026-03-10", period_months=6, source="audit", actor=cast.office
    )
    assert (r["period_end"], r["source"]) == ("2026-09-10", "audit")
    with pytest.raises(InvalidInput):
        engine.open_round("R2", title="t", org="省局", feedback_date="2026-11-30", actor=cast.office)
    with pytest.raises(Refused):  # an owner does not open rounds
        engine.open_round(
            "R4", title="t", org="省局", feedback_date="2026-11-30", actor=Actor("x", frozenset({"owner"}))
        )
    with pytest.raises(Forbidden):  # nor does anyone for an org outside their scope
        engine.open_round("R4", title="t", org="省局", feedback_date="2026-11-30", actor=cast.owner)
    with pytest.raises(InvalidInput) as exc:
        engine.open_round("R5", title="t", org="省局", feedback_date="2026-11-30", source="rumour", actor=cast.office)
    assert exc.value.details["field"] == "source"


# --- no way around the plan ------------------------------------------------------------


def test_closing_needs_every_measure_done_even_one_added_late(engine: Engine, cast, round_):
    reviewed(engine, cast, "P1")
    engine.add_measure("P1", "评审后补充的措施", owner="li", due_date="2026-05-01", actor=cast.owner)
    engine.sign_off("P1", "inspection_office", actor=cast.office)
    with pytest.raises(Refused) as exc:
        engine.fire("P1", "close", actor=cast.office)
    assert rules(exc) == ["measures_done"]


def test_a_measure_added_after_planning_must_be_complete_before_starting(engine: Engine, cast, round_):
    planned(engine, cast, "P1", "phased", due="2026-09-30")
    engine.add_measure("P1", "含糊的措施", actor=cast.owner)
    engine.sign_off("P1", "unit_lead", actor=cast.lead)
    with pytest.raises(Refused) as exc:
        engine.fire("P1", "start", actor=cast.owner)
    assert rules(exc) == ["measures_complete"]
    assert "措施2缺少责任人" in reasons_zh(exc)


def test_a_supervised_item_cannot_skip_its_plan_or_its_approval(engine: Engine, cast, round_):
    add(engine, cast, "P1", "immediate")
    engine.fire("P1", "escalate", actor=cast.discipline)
    engine.add_measure("P1", "含糊的措施", actor=cast.owner)
    engine.complete_measure("P1", 1, actor=cast.owner)
    engine.add_evidence("P1", "oa://f/1", SHA, actor=cast.owner)
    with pytest.raises(Refused) as exc:
        engine.fire("P1", "submit_self_check", actor=cast.owner)
    assert rules(exc) == ["measures_complete", "signed_off"]
    assert "has never signed off" in reasons_en(exc)


def test_someone_with_several_roles_acts_in_the_one_that_fits(engine: Engine, cast, round_):
    add(engine, cast, "P1")
    both = Actor("zhao", frozenset({"owner", "unit_lead"}), ("省局",))  # the issue's lead, not its owner
    engine.add_measure("P1", "措施", owner="li", due_date="2026-05-01", actor=both)
    view = engine.issue("P1", both)
    assert {t.trigger: t.available for t in view.triggers}["plan"] is True
    engine.fire("P1", "plan", actor=both)
    assert engine.history("P1", cast.office)[-1]["role"] == "unit_lead"


def test_sign_offs_name_a_real_role_and_deploys_need_an_administrator(engine: Engine, cast, round_):
    from zhenggai.engine.definition import builtin_path

    planned(engine, cast, "P1")
    with pytest.raises(InvalidInput) as exc:
        engine.sign_off("P1", "", actor=cast.lead)
    assert exc.value.details["field"] == "role"
    with pytest.raises(Refused) as refused:
        engine.sign_off("P1", "mayor", actor=Actor("zhao", frozenset({"mayor"})))
    assert "unknown role mayor" in reasons_en(refused)
    with pytest.raises(Refused):
        engine.deploy_workflow(builtin_path("rectification"), actor=cast.office)
    with pytest.raises(ValueError):
        Actor("x" * 129, frozenset({"owner"}))
    assert len(engine.history("P1", cast.office)) == 3  # created, measure, plan: nothing more
