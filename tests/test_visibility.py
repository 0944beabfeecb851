"""What a unit may learn of others: another body's rounds are not listed or shown, and an
issue outside its scope is answered as one that does not exist, in the same words."""

from __future__ import annotations

import pytest
from serverhelpers import as_
from storyhelpers import add

from zhenggai import Actor, Engine
from zhenggai.engine.errors import Forbidden, InvalidInput, NotFound


def test_an_unknown_code_and_another_units_code_get_the_same_answer(engine: Engine, cast, round_):
    add(engine, cast, "P1", unit="省局/财务处")
    stranger = Actor("sun", frozenset({"owner"}), ("省局/稽查局",))
    answers = []
    for code in ("P1", "P404"):
        with pytest.raises(Forbidden) as exc:
            engine.issue(code, stranger)
        answers.append(exc.value.text.en.replace(code, "X"))
        with pytest.raises(Forbidden):
            engine.fire(code, "plan", actor=stranger)
    assert answers[0] == answers[1] == "issue X does not exist or is outside sun's org scope"
    with pytest.raises(NotFound):  # to an actor over every unit nothing is hidden: it does not exist
        engine.issue("P404", cast.office)


def test_another_bodys_round_is_neither_listed_nor_shown(engine: Engine, cast, round_):
    other = Actor("wang2", frozenset({"inspection_office"}), ("市局",))
    engine.open_round("S1", title="市委巡察反馈", org="市局", feedback_date="2026-03-10", actor=other)
    tax_unit = Actor("li", frozenset({"owner"}), ("省局/财务处",))
    assert [r["code"] for r in engine.rounds(tax_unit)] == ["R1"]  # its own body's round, from below
    assert [r["code"] for r in engine.rounds(other)] == ["S1"]
    assert {r["code"] for r in engine.rounds(cast.office)} == {"R1", "S1"}
    for code in ("S1", "S404"):
        with pytest.raises(NotFound) as exc:
            engine.round(code, tax_unit)
        assert exc.value.text.en == f"no round {code}"
        with pytest.raises(NotFound):
            engine.export_ledger(code, "/tmp/never.csv", actor=tax_unit)


def test_codes_a_path_cannot_carry_or_that_end_in_a_newline_are_refused(engine: Engine, cast, round_):
    for code in ("RC\n", "R/2", "R2\r", " R2"):
        with pytest.raises(InvalidInput) as exc:
            engine.open_round(code, title="t", org="省局", feedback_date="2026-03-10", actor=cast.office)
        assert exc.value.details["field"] == "code"
        with pytest.raises(InvalidInput):
            add(engine, cast, code)
    assert [r["code"] for r in engine.rounds()] == ["R1"]


def test_over_http_another_bodys_round_and_an_unknown_one_look_alike(opened):
    other = as_(opened, "wang2", ["inspection_office"], ["市局"])
    assert other.post("/rounds", {"code": "S1", "title": "市委巡察", "org": "市局", "feedback_date": "2026-03-10"}).ok
    unit = as_(opened, "li", ["owner"], ["省局/财务处"])
    assert [r["code"] for r in unit.get("/rounds").json()] == ["R1"]
    seen = [unit.get(f"/rounds/{c}") for c in ("S1", "S404")]
    assert [r.status_code for r in seen] == [404, 404]
    assert [r.json()["detail"].replace(c, "X") for r, c in zip(seen, ("S1", "S404"), strict=True)] == [
        "没有轮次 X / no round X"
    ] * 2
    issues = [unit.get(f"/issues/{c}") for c in ("P2", "P404")]
    assert [r.status_code for r in issues] == [403, 403]
    assert issues[0].json()["detail"].replace("P2", "X") == issues[1].json()["detail"].replace("P404", "X")
    r = as_(opened, "wang", ["inspection_office"]).post(
        "/rounds", {"code": "R/2", "title": "t", "org": "省局", "feedback_date": "2026-03-10"}
    )
    assert r.status_code == 422


def test_an_actor_granted_hundreds_of_units_lists_counts_and_reads_exactly_those(engine: Engine, cast, round_):
    for i in range(6):
        add(engine, cast, f"P{i}", unit=f"省局/处{i}")
    add(engine, cast, "Q1", unit="省局/处1/一科")  # below a granted unit
    add(engine, cast, "Q2", unit="省局/处10")  # a granted unit's name is not its prefix
    scopes = (*(f"省局/处{i}" for i in range(0, 1000, 2)), "省局/处1")  # 501 units
    many = Actor("auditor", frozenset({"inspection_office"}), scopes)
    seen = sorted(v.code for v in engine.issues(many, limit=1000))
    assert seen == ["P0", "P1", "P2", "P4", "Q1", "Q2"]  # 处10 is granted itself
    assert engine.stats(round_, actor=many)["total"] == 6
    assert engine.round(round_, many)["issues"] == 6
    assert sum(1 for _ in engine.dossier(round_, actor=many)) == 6


def test_another_bodys_round_takes_no_problem_and_gives_no_numbers(engine: Engine, cast, round_):
    city = Actor("zhou", frozenset({"inspection_office"}), ("市局",))
    with pytest.raises(NotFound):  # R1 is the province's round: to the city's office it is no round
        engine.add_issue(round_, "C1", title="t", category="phased", unit="市局/办公室", owner="li", lead="zhao",
                         actor=city)  # fmt: skip
    with pytest.raises(NotFound):
        engine.stats(round_, actor=city)
    assert engine.stats(round_, actor=cast.office)["total"] == 0  # nothing was added to it
