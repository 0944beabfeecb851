"""An administrator writes a workflow; a broken one is refused with every error, each with
its file and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from zhenggai import WorkflowInvalid, load_definition, parse_definition
from zhenggai.engine.definition import builtin, builtin_path

GOOD = textwrap.dedent(
    """\
    name: tiny
    version: 1
    title: {zh: 小流程, en: Tiny}
    initial: open
    categories: {immediate: {zh: 立行立改, en: Immediate}, phased: {zh: 限期整改, en: Phased}}
    severities: {normal: {zh: 一般, en: Normal}}
    roles:
      owner: {zh: 责任人, en: Owner, holder: owner}
      boss: {zh: 领导, en: Boss}
    actions:
      open_round: [boss]
      add_issue: [boss]
      add_measure: [owner]
      complete_measure: [owner]
      add_evidence: [owner]
      sign_off: [boss]
      add_mechanism: [owner]
      assign: [boss]
    states:
      open: {zh: 打开, en: Open}
      done: {zh: 完成, en: Done, final: true}
    transitions:
      - {trigger: finish, source: open, dest: done, roles: [owner], guards: [has_measures, {signed_off: boss}]}
    """
)


def problems(text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(WorkflowInvalid) as exc:
        parse_definition(text, "broken.yaml")
    return [(p.line, p.key, p.reason.en) for p in exc.value.problems]


def test_the_shipped_rectification_workflow_is_valid_and_as_designed():
    d = builtin()
    assert d.name == "rectification" and d.initial == "identified"
    assert list(d.states) == [
        "identified",
        "planned",
        "in_progress",
        "supervised",
        "self_checked",
        "reviewed",
        "closed",
    ]
    assert d.states["closed"].final
    assert set(d.categories) == {"immediate", "phased", "long_term", "constrained", "systemic"}
    close = d.transition("close", "reviewed")
    assert [g.name for g in close.guards] == [
        "signed_off",
        "measures_done",
        "closable_in_period",
        "long_term_mechanism",
    ]
    assert close.roles == {"inspection_office"}
    assert d.transition("send_back", "reviewed").require == {"comment"}
    assert d.label("closed").zh == "已销号" and d.label("closed").en == "Closed"
    assert d.escalation is not None and d.escalation.calendar == "cn_working_days"


def test_a_small_custom_workflow_loads():
    d = parse_definition(GOOD)
    assert d.triggers() == ["finish"]
    assert d.transition("finish", "open").needs == {"measures", "signoffs"}


def test_every_error_is_reported_at_once_with_its_line():
    broken = GOOD.replace("guards: [has_measures, {signed_off: boss}]", "guards: [has_measurs, {signed_off: chief}]")
    broken = broken.replace("roles: [owner]", "roles: [owner, mayor]")
    broken += "  - {trigger: finish, source: open, dest: done, roles: [owner]}\n"
    broken += "  - {trigger: jump, source: limbo, dest: nowhere, roles: [owner]}\n"
    found = problems(broken)
    reasons = [r for _, _, r in found]
    assert any("unknown guard has_measurs" in r for r in reasons)
    assert any("bad parameters for guard signed_off" in r and "chief" in r for r in reasons)
    assert any("unknown role mayor" in r for r in reasons)
    assert any("trigger finish is defined twice from state open" in r for r in reasons)
    assert any("source state limbo is not defined" in r for r in reasons)
    assert any("destination state nowhere is not defined" in r for r in reasons)
    assert {line for line, _, _ in found} == {23, 24, 25}  # each error on its own line
    assert len(found) == 6  # and no knock-on errors (the states are still reachable)


def test_unreachable_states_and_dead_ends_are_refused():
    text = GOOD.replace(
        "  done: {zh: 完成, en: Done, final: true}\n",
        "  done: {zh: 完成, en: Done, final: true}\n  island: {zh: 孤岛, en: Island}\n  stuck: {zh: 卡住, en: Stuck}\n",
    )
    text += "  - {trigger: park, source: open, dest: stuck, roles: [owner]}\n"
    found = problems(text)
    assert (22, "states.island", "state island cannot be reached from open") in found
    assert (22, "states.island", "non-final state island has no way out") in found
    assert (23, "states.stuck", "non-final state stuck has no way out") in found


def test_a_missing_or_undefined_initial_state_is_refused():
    assert any(r == "the initial state is missing" for _, _, r in problems(GOOD.replace("initial: open\n", "")))
    found = problems(GOOD.replace("initial: open", "initial: start"))
    assert (4, "initial", "initial state start is not defined") in found


def test_bad_guard_parameters_are_refused_with_the_guard_named():
    found = problems(
        GOOD.replace("has_measures,", "{has_measures: 3},").replace(
            "{signed_off: boss}", "{due_within_period: {categories: [urgent]}}"
        )
    )
    reasons = [r for _, _, r in found]
    assert any("bad parameters for guard has_measures: this guard takes no parameters" in r for r in reasons)
    assert any("bad parameters for guard due_within_period: unknown category: urgent" in r for r in reasons)


def test_transitions_must_declare_roles_and_known_required_fields():
    found = problems(GOOD.replace("roles: [owner], guards", "require: [signature], guards"))
    reasons = [r for _, _, r in found]
    assert "every transition must declare the roles allowed to fire it" in reasons
    assert "unknown required field signature" in reasons


def test_escalation_rules_are_checked():
    text = GOOD + textwrap.dedent(
        """\
        escalation:
          calendar: lunar
          rules:
            - {name: a, state: open, when: {overdue: {weeks: 2}}, action: remind}
            - {name: b, state: gone, when: {someday: true}, action: shout, notify: [mayor]}
        """
    )
    reasons = [r for _, _, r in problems(text)]
    assert any("unknown calendar lunar" in r for r in reasons)
    assert "unknown duration unit weeks" in reasons
    assert "state gone is not defined" in reasons
    assert any("unknown condition someday" in r for r in reasons)
    assert any("unknown action shout" in r for r in reasons)
    assert "unknown role mayor (name a person as user:ID)" in reasons


def test_yaml_syntax_errors_aliases_and_non_mappings_are_refused_with_a_line():
    found = problems("name: x\nstates: [a, b\n")
    assert found[0][0] >= 2 and "YAML syntax error" in found[0][2]
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"
    found = problems(bomb)
    assert found == [(2, "-", "YAML aliases (*name) are not allowed")]
    assert problems("- just\n- a list\n")[0][2] == "the top level must be a mapping"
    dup = GOOD.replace("version: 1\n", "version: 1\nversion: 2\n")
    assert problems(dup) == [(3, "-", "duplicate key: version")]


def test_deep_nesting_and_huge_files_are_refused():
    deep = "a: " + "[" * 100 + "]" * 100 + "\n"
    assert "nested deeper" in problems(deep)[0][2]
    huge = "a: '" + "x" * 1_100_000 + "'\n"
    assert "larger than" in problems(huge)[0][2]


def test_load_definition_names_the_file(tmp_path: Path):
    path = tmp_path / "wf.yaml"
    path.write_text(GOOD.replace("dest: done", "dest: finished"), encoding="utf-8")
    with pytest.raises(WorkflowInvalid) as exc:
        load_definition(path)
    assert str(exc.value).startswith(f"{path}:23: transitions.finish.dest:")
    missing = tmp_path / "nope.yaml"
    with pytest.raises(WorkflowInvalid) as exc:
        load_definition(missing)
    assert "cannot read the file" in exc.value.problems[0].reason.en


def test_builtin_path_points_into_the_package():
    assert builtin_path("rectification").is_file()


# any structure at all, in any place, is refused cleanly: WorkflowInvalid, never a crash
import yaml  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.text(max_size=8),
    st.sampled_from(["open", "done", "owner", "has_measures", "signed_off", "final", "zh", "en"]),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(
    key=st.sampled_from(
        [
            "name",
            "version",
            "title",
            "initial",
            "categories",
            "severities",
            "roles",
            "actions",
            "states",
            "transitions",
            "escalation",
        ]
    ),
    value=_values,
)
def test_any_value_in_any_top_level_key_is_refused_cleanly(key, value):
    doc = yaml.safe_load(GOOD)
    doc[key] = value
    try:
        parse_definition(yaml.safe_dump(doc, allow_unicode=True))
    except WorkflowInvalid as exc:
        assert exc.problems and all(p.line >= 0 and p.reason.zh and p.reason.en for p in exc.problems)


def test_an_edit_the_workflow_does_not_declare_is_open_to_nobody():
    d = parse_definition(GOOD.replace("  assign: [boss]\n", ""))
    assert "assign" not in d.actions  # a workflow deployed before `assign` existed still loads


def test_messages_point_at_the_real_mistake():
    assert parse_definition(GOOD + "escalation: {calendar: natural}\n").escalation.rules == ()
    found = problems(GOOD.replace("source: open", "source: []"))
    assert (23, "transitions.finish.source", "source must name at least one state") in found
    text = GOOD.replace("{trigger: finish, source: open, dest: done", "{trigger: escalate, source: open, dest: nowhere")
    text += "escalation:\n  rules:\n    - {name: a, state: open, when: {idle: {days: 3}}, action: escalate}\n"
    reasons = [r for _, _, r in problems(text)]
    assert "destination state nowhere is not defined" in reasons
    assert not any("needs an escalate trigger" in r for r in reasons)
