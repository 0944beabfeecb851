"""The schema comes from Alembic migrations, and they match the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from zhenggai import Engine
from zhenggai.storage.models import Base


def test_migrations_build_exactly_the_models_schema(db_url: str):
    eng = Engine(db_url)
    rev = eng.init()
    assert rev == eng.db.head_revision()
    with eng.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    eng.db.dispose()


def test_init_is_repeatable_and_keeps_data(engine: Engine, cast, round_):
    engine.add_issue(
        "R1", "P1", title="t", category="immediate", unit="省局", owner="li", lead="zhao", actor=cast.office
    )
    engine.init()
    assert [v.code for v in engine.issues(cast.office)] == ["P1"]
    assert [(w.name, w.version) for w in engine.workflows()] == [("audit", 2), ("rectification", 3)]


def test_the_sweep_indexes_exist(engine: Engine):
    names = {ix["name"] for ix in inspect(engine.db.engine).get_indexes("issues")}
    assert {"ix_issues_next_check", "ix_issues_round", "ix_issues_unit"} <= names


def test_a_database_with_problems_upgrades_and_its_history_still_verifies(db_url: str):
    """A database from before sources and disclosure (revision 0002), holding a round on the
    first shipped workflow and a problem, upgrades in place: the problem reads, verifies,
    takes its round's source, and moves on under its own workflow version."""
    import hashlib
    import json
    import re
    from datetime import UTC, date, datetime

    from sqlalchemy import MetaData

    from zhenggai import Actor
    from zhenggai.engine.definition import builtin_path
    from zhenggai.engine.history import GENESIS, event_hash
    from zhenggai.storage.database import Database

    db = Database(db_url)
    db.upgrade("0002")
    md = MetaData()
    md.reflect(db.engine)
    old_yaml = builtin_path("rectification").read_text(encoding="utf-8")
    old_yaml = re.sub(r"\nversion: \d+\n", "\nversion: 1\n", old_yaml, count=1)
    old_yaml = re.sub(r"\n  (request|decide)_extension: .*", "", old_yaml)  # no deadline changes then
    old_yaml = re.sub(r"\n# Where a problem was found.*?\nseverities:", "\nseverities:", old_yaml, flags=re.S)
    old_yaml = old_yaml.replace("closable_in_period: {anytime: [immediate]}", "closable_in_period")
    now = datetime(2026, 3, 10, 1, tzinfo=UTC)
    naive = now.replace(tzinfo=None)

    def insert(table: str, **values):
        t = md.tables[table]
        return conn.execute(t.insert().values({k: v for k, v in values.items() if k in t.c})).inserted_primary_key[0]

    data = {"title": "问题", "category": "phased", "severity": "normal", "unit": "省局/财务处", "owner": "li",
            "lead": "zhao", "due_date": "2026-09-30", "round": "R1"}  # fmt: skip
    event = dict(seq=1, kind="created", trigger=None, from_state=None, to_state="identified", actor_id="wang",
                 role="inspection_office", at=now, comment=None, request_id=None,
                 data=json.dumps(data, ensure_ascii=False, sort_keys=True))  # fmt: skip
    h = event_hash("P1", GENESIS, event)
    with db.engine.begin() as conn:
        wid = insert("workflows", name="rectification", version=1, digest=hashlib.sha256(old_yaml.encode()).hexdigest(),
                     source=old_yaml, deployed_at=naive, deployed_by="root", deprecated=False)  # fmt: skip
        rid = insert("rounds", code="R1", title="巡视反馈", source="audit", org="省局", feedback_date=date(2026, 3, 10),
                     period_end=date(2026, 6, 10), tz="Asia/Shanghai", workflow_id=wid, created_at=naive,
                     created_by="wang")  # fmt: skip
        iid = insert("issues", code="P1", round_id=rid, workflow_id=wid, title="问题", description="", category="phased",
                     severity="normal", unit="省局/财务处", owner="li", lead="zhao", due_date=date(2026, 9, 30),
                     state="identified", state_seq=1, state_entered_at=naive, state_entered_by="wang",
                     last_activity_at=naive, next_check_at=naive, stage_fired="", escalation_level=0,
                     recurrence_count=0, seq=1, last_hash=h, version=1, created_at=naive)  # fmt: skip
        insert("events", issue_id=iid, **{**event, "at": naive}, prev_hash=GENESIS, hash=h)
    db.dispose()

    engine = Engine(db_url)
    engine.init()  # upgrades the schema and deploys the shipped workflow's newer version beside v1
    office = Actor("wang", frozenset({"inspection_office"}))
    assert [(w.name, w.version) for w in engine.workflows()] == [
        ("audit", 2),
        ("rectification", 1),
        ("rectification", 3),
    ]
    view = engine.issue("P1", office)
    assert (view.workflow_version, view.confidential) == (1, False)
    assert engine.verify("P1", office).ok
    assert engine.stats("R1", actor=office, by="source")["by"]["groups"]["audit"]["total"] == 1
    owner = Actor("li", frozenset({"owner"}), ("省局/财务处",))
    engine.add_measure("P1", "措施", owner="li", due_date="2026-06-01", target="100%", actor=owner)
    engine.fire("P1", "plan", actor=owner)
    assert engine.issue("P1", office).state == "planned" and engine.verify("P1", office).ok
    engine.db.dispose()
