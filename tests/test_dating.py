"""Every write is dated when it happens: ``--as-of`` reads and rehearses; a sweep of the future
is only a rehearsal, for every caller; entering what happened in the past is declared and
recorded as such; and a history whose times go backwards does not verify."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from storyhelpers import add, planned

from zhenggai import Engine, FixedClock
from zhenggai.cli import main
from zhenggai.engine.errors import InvalidInput


@pytest.fixture
def cli(db_url: str):
    runner = CliRunner()

    def run(*args: str):
        r = runner.invoke(main, ["--db", db_url, "--lang", "en", "--json", *args], catch_exceptions=False)
        return r.exit_code, (json.loads(r.output) if r.output.strip().startswith(("{", "[")) else r.output)

    return run


@pytest.fixture
def today_round(db_url: str, cast) -> Engine:
    """A round opened today (the real clock, as the command line runs), one problem never planned."""
    eng = Engine(db_url)
    eng.init()
    today = datetime.now(UTC).date()
    eng.open_round("R1", title="巡视反馈", org="省局", feedback_date=today - timedelta(days=40), actor=cast.office)
    add(eng, cast, "P1", "phased", due=str(today + timedelta(days=60)))
    return eng


def test_a_sweep_of_a_future_day_is_only_rehearsed_from_the_command_line_as_from_an_oa_system(
    today_round: Engine, cli, cast
):
    future = str(datetime.now(UTC).date() + timedelta(days=400))
    for args in (("sweep", "--as-of", future), ("--as-of", future, "sweep")):
        code, out = cli(*args)
        assert code == 2 and out["error"]["field"] == "as_of", out
    assert cli("outbox", "list") == (0, [])  # nothing queued
    code, out = cli("sweep", "--as-of", future, "--dry-run")
    assert code == 0 and out["dry_run"] and out["fired"], out
    with pytest.raises(InvalidInput):
        today_round.sweep(future)  # the library itself: one rule for every caller
    assert [e["kind"] for e in today_round.history("P1", cast.office)] == ["created"]


def test_as_of_reads_and_writes_only_when_declared_data_entry_of_the_past(today_round: Engine, cli, cast):
    past = str(datetime.now(UTC).date() - timedelta(days=10))
    measure = ("measure", "add", "P1", "补录的整改措施", "--as", "li", "--role", "owner")
    code, out = cli("--as-of", past, *measure)
    assert code == 2 and "--backdate" in out["error"]["message"]["en"], out
    assert (
        cli("--as-of", past, "issue", "show", "P1", "--as", "wang", "--role", "inspection_office")[0] == 0
    )  # reading is fine
    code, out = cli("--as-of", past, "--backdate", *measure)
    assert code == 0, out
    [*_, entered] = today_round.history("P1", cast.office)
    assert entered["at"].startswith(past) and entered["data"]["entered_at"] > entered["at"]  # dated then, entered now
    assert today_round.verify("P1", cast.office).ok  # declared: a history that goes back in time knowingly
    code, out = cli("--as-of", str(datetime.now(UTC).date() + timedelta(days=3)), "--backdate", *measure)
    assert code == 2 and "nothing is recorded after now" in out["error"]["message"]["en"]


def test_a_history_whose_times_go_backwards_does_not_verify(engine: Engine, cast, round_, clock: FixedClock):
    clock.set("2026-03-20")
    planned(engine, cast, "P1")
    clock.set("2026-03-15")  # an embedding system whose clock went back, or a forged row's date
    engine.sign_off("P1", "unit_lead", actor=cast.lead)
    rep = engine.verify("P1", cast.office)
    assert not rep.ok and any("time goes backwards" in why.en for _, why in rep.problems)
    assert not engine.audit_verify().ok
