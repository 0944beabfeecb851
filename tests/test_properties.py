"""Whatever anyone does, in any order: an issue is only ever in a state its workflow defines,
moves only along declared transitions, a refusal changes nothing, and the chain verifies."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from storyhelpers import SHA
from zhenggai import Actor, Engine, ZhenggaiError

PEOPLE = {
    "owner": Actor("li", frozenset({"owner"})),
    "lead": Actor("zhao", frozenset({"unit_lead"})),
    "secretary": Actor("chen", frozenset({"secretary"})),
    "reviewer": Actor("he", frozenset({"reviewer"})),
    "office": Actor("wang", frozenset({"inspection_office"})),
    "discipline": Actor("zhou", frozenset({"discipline"})),
    "system": Actor("system", frozenset({"system"})),
    "stranger": Actor("x", frozenset({"hr"})),
}
TRIGGERS = [
    "plan",
    "start",
    "submit_self_check",
    "review",
    "send_back",
    "close",
    "escalate",
    "resume",
    "reopen",
    "nope",
]

step = st.one_of(
    st.tuples(st.just("fire"), st.sampled_from(TRIGGERS), st.sampled_from(sorted(PEOPLE)), st.booleans()),
    st.tuples(st.just("measure"), st.booleans()),
    st.tuples(st.just("done"), st.integers(1, 3)),
    st.tuples(st.just("evidence")),
    st.tuples(st.just("signoff"), st.sampled_from(["lead", "secretary", "office"])),
    st.tuples(st.just("mechanism")),
    st.tuples(st.just("days"), st.integers(1, 60)),
)
_codes = itertools.count()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    category=st.sampled_from(["immediate", "phased", "long_term", "constrained", "systemic"]),
    severity=st.sampled_from(["normal", "serious"]),
    steps=st.lists(step, max_size=30),
)
def test_random_sequences_keep_state_and_history_valid(engine: Engine, cast, round_, clock, category, severity, steps):
    d = engine.workflow("rectification")
    edges = {(t.trigger, s, t.dest) for t in d.transitions for s in t.sources}
    code = f"H{next(_codes)}"
    clock.set("2026-03-11")
    engine.add_issue(
        "R1",
        code,
        title="随机",
        category=category,
        severity=severity,
        unit="省局/财务处",
        owner="li",
        lead="zhao",
        due_date="2026-06-01",
        actor=cast.office,
    )
    office = cast.office
    for s in steps:
        before = engine.issue(code, office)
        try:
            if s[0] == "fire":
                _, trig, who, with_comment = s
                r = engine.fire(code, trig, actor=PEOPLE[who], comment="说明" if with_comment else None)
                assert (trig, r.source, r.dest) in edges
            elif s[0] == "measure":
                engine.add_measure(
                    code,
                    "措施",
                    owner="li" if s[1] else None,
                    due_date="2026-05-20",
                    target="100%",
                    actor=PEOPLE["owner"],
                )
            elif s[0] == "done":
                engine.complete_measure(code, s[1], actor=PEOPLE["owner"])
            elif s[0] == "evidence":
                engine.add_evidence(code, "oa://f/1", SHA, actor=PEOPLE["owner"])
            elif s[0] == "signoff":
                who = s[1]
                role = {"lead": "unit_lead", "secretary": "secretary", "office": "inspection_office"}[who]
                engine.sign_off(code, role, actor=PEOPLE[who])
            elif s[0] == "mechanism":
                engine.add_mechanism(code, "制度", actor=PEOPLE["owner"])
            else:
                clock.advance(days=s[1])
        except ZhenggaiError:
            after = engine.issue(code, office)
            assert (after.state, after.version) == (before.state, before.version)
        after = engine.issue(code, office)
        assert after.state in d.states
    rep = engine.verify(code, office)
    assert rep.ok, rep.to_dict()
    path = [(e["trigger"], e["from"], e["to"]) for e in engine.history(code, office) if e["kind"] == "transition"]
    assert all(p in edges for p in path)
    states = [d.initial] + [p[2] for p in path]
    assert all(p[1] == states[i] for i, p in enumerate(path))
