"""One person is one identity, however an OA system spells it: the owner cannot review their
own problem by writing their id another way, ids that hide characters are refused, and nobody
from outside speaks as the scheduler."""

from __future__ import annotations

import pytest
from storyhelpers import add, self_checked

from zhenggai import Actor, Engine, Refused

SPELLINGS = ["li ", "LI", "Li", "ｌｉ", " li\t".strip(), "ＬＩ"]
HIDDEN = [
    "li\u200b",
    "l\u200ci",
    "li\ufeff",
    "li\u00a0ming",
    "l\u00adi",
    "lі",
]  # zero-width, ZWNJ, BOM, NBSP, soft hyphen, Cyrillic і


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_the_owner_cannot_review_their_own_problem_under_another_spelling_of_their_id(
    engine: Engine, cast, round_, spelling
):
    self_checked(engine, cast, "P1")
    with pytest.raises(Refused) as exc:
        engine.fire("P1", "review", actor=Actor(spelling, frozenset({"reviewer"})))
    assert "four_eyes" in [rule for rule, _ in exc.value.reasons]
    assert engine.issue("P1", cast.office).state == "self_checked"


def test_a_spelling_of_the_owners_id_is_the_owner_for_the_owners_steps(engine: Engine, cast, round_):
    add(engine, cast, "P1", owner="Li.Ming")  # typed as the OA's directory shows it
    me = Actor("li.ming", frozenset({"owner"}))
    engine.add_measure("P1", "措施", owner="li.ming", due_date="2026-05-31", target="100%", actor=me)
    engine.fire("P1", "plan", actor=Actor("LI.MING", frozenset({"owner"})))
    assert engine.issue("P1", cast.office).state == "planned"
    with pytest.raises(Refused):  # and another person is not
        engine.fire("P1", "start", actor=Actor("li.mong", frozenset({"owner"})))


@pytest.mark.parametrize("hidden", HIDDEN, ids=["zwsp", "zwnj", "bom", "nbsp", "shy", "cyrillic"])
def test_an_id_with_hidden_or_look_alike_characters_is_refused_wherever_it_is_given(
    engine: Engine, cast, round_, hidden
):
    from zhenggai.engine.errors import InvalidInput

    with pytest.raises(ValueError, match="not usable"):
        Actor(hidden, frozenset({"owner"}))
    add(engine, cast, "P1")
    with pytest.raises(InvalidInput) as exc:
        engine.assign("P1", owner=hidden, actor=cast.office)
    assert exc.value.details["field"] == "owner"
    with pytest.raises(InvalidInput):
        engine.add_measure("P1", "措施", owner=hidden, actor=cast.owner)
    assert engine.issue("P1", cast.office).owner == "li"  # nothing changed


def test_nobody_from_outside_speaks_as_the_scheduler(db_url: str, tmp_path, cast):
    import json

    from click.testing import CliRunner

    from zhenggai.cli import main

    runner = CliRunner()
    assert runner.invoke(main, ["--db", db_url, "init"]).exit_code == 0
    r = runner.invoke(main, ["--db", db_url, "--json", "round", "open", "R1", "--title", "t", "--org", "省局",
                             "--feedback-date", "2026-03-10", "--as", "SYSTEM", "--role", "inspection_office"])  # fmt: skip
    assert r.exit_code == 2 and "reserved for the scheduler" in r.output
    assert json.loads(runner.invoke(main, ["--db", db_url, "--json", "round", "list"]).output) == []
