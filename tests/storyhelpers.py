"""Steps the stories share: bring an issue to a given point the way its people would."""

from __future__ import annotations

from zhenggai import Engine

SHA = "ab" * 32


def add(
    engine: Engine,
    cast,
    code: str,
    category: str = "immediate",
    *,
    severity: str = "normal",
    due: str = "2026-05-31",
    unit: str = "省局/财务处",
    owner: str = "li",
    lead: str = "zhao",
) -> None:
    engine.add_issue(
        "R1",
        code,
        title=f"问题{code}",
        category=category,
        severity=severity,
        unit=unit,
        owner=owner,
        lead=lead,
        due_date=due,
        actor=cast.office,
    )


def planned(engine: Engine, cast, code: str, category: str = "immediate", **kw) -> None:
    add(engine, cast, code, category, **kw)
    engine.add_measure(
        code, "整改措施一", owner="li", due_date=kw.get("due", "2026-05-31"), target="100%", actor=cast.owner
    )
    engine.fire(code, "plan", actor=cast.owner)


def started(engine: Engine, cast, code: str, category: str = "immediate", **kw) -> None:
    planned(engine, cast, code, category, **kw)
    engine.sign_off(code, "unit_lead", actor=cast.lead)
    engine.fire(code, "start", actor=cast.owner)


def self_checked(engine: Engine, cast, code: str, category: str = "immediate", **kw) -> None:
    started(engine, cast, code, category, **kw)
    engine.complete_measure(code, 1, actor=cast.owner)
    engine.add_evidence(code, "oa://files/1", SHA, actor=cast.owner)
    engine.fire(code, "submit_self_check", actor=cast.owner)


def reviewed(engine: Engine, cast, code: str, category: str = "immediate", **kw) -> None:
    self_checked(engine, cast, code, category, **kw)
    if kw.get("severity") == "serious":
        engine.sign_off(code, "secretary", actor=cast.secretary)
    engine.fire(code, "review", actor=cast.reviewer)
