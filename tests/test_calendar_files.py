"""When the State Council publishes next year's holidays before chinese-calendar knows them, an
office writes them in a calendar file; the next checks that leaned on an estimate move."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from storyhelpers import add, started

from zhenggai import Engine
from zhenggai.cli import main
from zhenggai.engine.errors import InvalidInput

SCHEDULE_2027 = """\
# 国务院办公厅关于2027年部分节假日安排的通知
years: [2027]
holidays:
  2027-01-01: 元旦
  2027-02-06..2027-02-12: 春节
workdays:
  2027-02-20: 春节调休
"""


@pytest.fixture
def schedule(tmp_path: Path, engine: Engine) -> Iterator[Path]:
    path = tmp_path / "2027.yaml"
    path.write_text(SCHEDULE_2027, encoding="utf-8")
    try:
        yield path
    finally:
        engine.use_calendar_file(None)  # the package alone again, for the tests after this one


def test_a_calendar_file_for_2027_moves_the_reminders_that_leaned_on_an_estimate(
    engine: Engine, cast, round_, clock, schedule
):
    clock.set("2027-01-20")
    started(engine, cast, "P1", "phased", due="2027-02-15")  # a reminder 5 working days before its deadline
    add(engine, cast, "P2", "phased", due="2027-06-30")  # only planned later: nothing here depends on February
    before = engine.issue("P1", cast.office).next_check_at
    assert before is not None and before.date().isoformat() == "2027-02-07"  # Mon 8 Feb, Beijing, estimated Mon-Fri
    p2_before = engine.issue("P2", cast.office).next_check_at

    engine.use_calendar_file(schedule)
    report = engine.recompute_schedules()

    assert report.since.isoformat() == "2027-01-01" and report.checked == 2
    assert [m["issue"] for m in report.moved] == ["P1"]
    after = engine.issue("P1", cast.office).next_check_at
    assert after is not None and after < before  # the Spring Festival week is not counted any more
    assert after.date().isoformat() == "2027-01-31"  # Mon 1 Feb, Beijing: five working days before the 15th
    assert engine.issue("P2", cast.office).next_check_at == p2_before
    assert engine.recompute_schedules().moved == []  # done once, nothing more moves

    clock.set("2027-02-01")
    assert ("P1", "reminder") in [(f["issue"], f["rule"]) for f in engine.sweep().fired]


def test_calendar_show_says_which_days_are_known_and_which_estimated(schedule: Path):
    runner = CliRunner()
    bare = json.loads(runner.invoke(main, ["--json", "calendar", "show", "2027"], catch_exceptions=False).stdout)
    assert (bare["known"], bare["estimated"], bare["working_days"]) == (0, 365, 261)
    r = runner.invoke(main, ["--json", "calendar", "show", "2027", "--file", str(schedule)], catch_exceptions=False)
    filed = json.loads(r.stdout)
    assert (filed["known"], filed["estimated"], filed["working_days"]) == (365, 0, 256)
    spring = {d["date"]: d for d in filed["days"]}
    assert spring["2027-02-08"] == {"date": "2027-02-08", "working": False, "source": "file", "name": "春节"}
    assert spring["2027-02-20"]["working"] is True and spring["2027-02-20"]["name"] == "春节调休"
    known = json.loads(runner.invoke(main, ["--json", "calendar", "show", "2026"], catch_exceptions=False).stdout)
    assert known["estimated"] == 0 and known["by_source"]["package"] == 365
    text = runner.invoke(main, ["--lang", "en", "calendar", "show", "2027"], catch_exceptions=False).stdout
    assert "365 estimated" in text and "2027-01-01..2027-12-31" in text


@pytest.mark.parametrize(
    ("content", "en"),
    [
        ("holidays:\n  2027-13-01: 元旦\n", ":2: '2027-13-01' is not a date"),
        (
            "years: [2027]\nholidays:\n  2027-01-01: 元旦\nworkdays:\n  2027-01-01: 调休\n",
            "2027-01-01 is both a holiday",
        ),
        ("holidays:\n  2027-02-12..2027-02-06: 春节\n", "must run forwards"),
        ("years: 2027\n", "years must be a list of years"),
        ("holiday:\n  2027-01-01: 元旦\n", "unknown keys: holiday"),
        ("holidays: [2027-01-01\n", "not valid YAML"),
    ],
)
def test_a_wrong_calendar_file_is_refused_naming_the_line_and_the_calendar_stays_as_it_was(
    engine: Engine, schedule: Path, tmp_path: Path, content: str, en: str
):
    engine.use_calendar_file(schedule)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(content.replace(":2:", ""), encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        engine.use_calendar_file(wrong)
    assert en.replace(":2: ", "") in err.value.text.en and str(wrong) in err.value.text.zh
    if en.startswith(":2:"):
        assert f"{wrong}:2:" in err.value.text.en
    assert engine.calendar_year(2027)["known"] == 365  # still the good file
    r = CliRunner().invoke(main, ["--lang", "en", "calendar", "check", str(wrong)])
    assert r.exit_code == 2 and en.replace(":2: ", "") in r.output


def test_calendar_recompute_from_the_command_line_uses_the_file_in_the_environment(
    tmp_path: Path, schedule: Path, engine: Engine, db_url: str, monkeypatch
):
    monkeypatch.setenv("ZHENGGAI_CALENDAR_FILE", str(schedule))
    r = CliRunner().invoke(main, ["--db", db_url, "--json", "calendar", "recompute"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {"since": "2027-01-01", "checked": 0, "moved": []}
    r = CliRunner().invoke(main, ["--db", db_url, "--json", "calendar", "recompute", "--since", "2026-10-01"],
                           catch_exceptions=False)  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["since"] == "2026-10-01"  # a day taken out of the file lies before it
