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
    assert len(engine.workflows()) == 1


def test_the_sweep_indexes_exist(engine: Engine):
    names = {ix["name"] for ix in inspect(engine.db.engine).get_indexes("issues")}
    assert {"ix_issues_next_check", "ix_issues_round", "ix_issues_unit"} <= names
