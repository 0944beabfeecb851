"""An administrator changes the rectification workflow while problems are in flight, reads
what changed, and moves the running problems onto the new version — or is told exactly why
not, with nothing changed."""

from __future__ import annotations

import pytest
from storyhelpers import add, planned, self_checked, started

from zhenggai import Actor, Engine
from zhenggai.engine.definition import builtin_path, parse_definition
from zhenggai.engine.diff import diff
from zhenggai.engine.errors import ConcurrentUpdate, Forbidden, InvalidInput, NotFound, Refused

ADMIN = Actor("admin", frozenset({"admin"}))


def v3_source() -> str:
    """Version 3: self-checked is renamed awaiting_review, and a state of checking by the
    inspection office before closing is added."""
    text = builtin_path("rectification").read_text(encoding="utf-8")
    text = text.replace("version: 3", "version: 4").replace("self_checked", "awaiting_review")
    return text


def history_kinds(engine: Engine, code: str) -> list[str]:
    return [e["kind"] for e in engine.history(code, ADMIN)]


def test_a_new_version_leaves_running_issues_on_theirs(engine: Engine, cast, round_) -> None:
    planned(engine, cast, "P1")
    info = engine.deploy_workflow(v3_source(), actor=ADMIN)
    assert (info.name, info.version, info.created) == ("rectification", 4, True)
    assert engine.issue("P1", ADMIN).workflow_version == 3
    # the round was opened on version 3: its new problems follow it until it is deprecated
    add(engine, cast, "P2")
    assert engine.issue("P2", ADMIN).workflow_version == 3


def test_diff_names_the_renamed_state_and_every_rule_that_mentions_it(engine: Engine) -> None:
    old = engine.workflow("rectification", 3)
    new = parse_definition(v3_source())
    changes = {(c.section, c.name, c.change) for c in diff(old, new)}
    assert ("states", "self_checked", "removed") in changes
    assert ("states", "awaiting_review", "added") in changes
    assert ("transitions", "submit_self_check", "changed") in changes
    assert ("transitions", "review", "changed") in changes
    assert not any(c[0] == "escalation" for c in changes)  # no escalation rule names that state
    assert diff(old, old) == []
    review = next(c for c in diff(old, new) if c.name == "review")
    assert review.fields() == ["sources"]
    assert review.before["sources"] == ["self_checked"] and review.after["sources"] == ["awaiting_review"]


def test_migration_refused_without_a_place_for_every_state_and_nothing_moves(engine: Engine, cast, round_) -> None:
    self_checked(engine, cast, "P1")
    planned(engine, cast, "P2", "phased", due="2026-08-31")
    engine.deploy_workflow(v3_source(), actor=ADMIN)
    before = {c: engine.issue(c, ADMIN).version for c in ("P1", "P2")}
    with pytest.raises(Refused) as err:
        engine.migrate_workflow("rectification", 3, 4, actor=ADMIN)
    reasons = [t.en for _, t in err.value.reasons]
    assert any("self_checked" in r and "--map self_checked=NEW" in r and "P1" in r for r in reasons)
    assert {c: engine.issue(c, ADMIN).version for c in ("P1", "P2")} == before
    assert engine.issue("P2", ADMIN).workflow_version == 3  # all or nothing: P2 had a place, but stayed


def test_migration_moves_every_running_issue_with_an_event_and_keeps_its_sign_offs(
    engine: Engine, cast, round_
) -> None:
    self_checked(engine, cast, "P1")
    planned(engine, cast, "P2", "phased", due="2026-08-31")
    engine.sign_off("P2", "unit_lead", actor=cast.lead)  # signed before the migration
    engine.deploy_workflow(v3_source(), actor=ADMIN)
    entered = engine.issue("P1", ADMIN).state_entered_at
    dry = engine.migrate_workflow(
        "rectification", 3, 4, actor=ADMIN, mapping=["self_checked=awaiting_review"], dry_run=True
    )
    assert dry.total == 2 and engine.issue("P1", ADMIN).workflow_version == 3
    rep = engine.migrate_workflow("rectification", 3, 4, actor=ADMIN, mapping=["self_checked=awaiting_review"])
    assert rep.to_dict()["moves"] == [
        {"from": "planned", "to": "planned", "count": 1},
        {"from": "self_checked", "to": "awaiting_review", "count": 1},
    ]
    p1, p2 = engine.issue("P1", ADMIN), engine.issue("P2", ADMIN)
    assert (p1.workflow_version, p1.state) == (4, "awaiting_review")
    assert p1.state_entered_at == entered  # the time in the state runs on through the migration
    assert (p2.workflow_version, p2.state) == (4, "planned")
    assert history_kinds(engine, "P1")[-1] == "migrated"
    last = engine.history("P1", ADMIN)[-1]
    assert (last["from"], last["to"]) == ("self_checked", "awaiting_review")
    for code in ("P1", "P2"):
        assert engine.verify(code, ADMIN).ok
    assert engine.audit_verify(ADMIN).ok  # and the whole database, migrated events included
    # the stage goes on: the lead's sign-off given under version 3 still lets the owner start
    engine.fire("P2", "start", actor=cast.owner)
    engine.fire("P1", "review", actor=cast.reviewer)
    assert engine.issue("P1", ADMIN).state == "reviewed"
    # a rerun finds nothing left on version 3 and moves nothing twice
    again = engine.migrate_workflow("rectification", 3, 4, actor=ADMIN, mapping=["self_checked=awaiting_review"])
    assert again.total == 0
    assert history_kinds(engine, "P2").count("migrated") == 1


def test_closed_issues_stay_on_their_version(engine: Engine, cast, round_) -> None:
    from storyhelpers import reviewed

    reviewed(engine, cast, "P1")
    engine.sign_off("P1", "inspection_office", actor=cast.office)
    engine.fire("P1", "close", actor=cast.office)
    engine.deploy_workflow(v3_source(), actor=ADMIN)
    assert engine.migrate_workflow("rectification", 3, 4, actor=ADMIN).total == 0
    assert engine.issue("P1", ADMIN).workflow_version == 3


def test_migration_narrowed_by_where(engine: Engine, cast, round_) -> None:
    planned(engine, cast, "P1")
    add(engine, cast, "P2", unit="省局/稽查局")
    engine.deploy_workflow(v3_source(), actor=ADMIN)
    rep = engine.migrate_workflow("rectification", 3, 4, actor=ADMIN, where={"unit": "省局/稽查局"})
    assert rep.total == 1
    assert engine.issue("P1", ADMIN).workflow_version == 3
    assert engine.issue("P2", ADMIN).workflow_version == 4
    with pytest.raises(InvalidInput) as err:
        engine.migrate_workflow("rectification", 3, 4, actor=ADMIN, where={"owner": "li"})
    assert err.value.details["field"] == "where"


def test_migration_refuses_unknown_targets_final_states_and_lost_categories(engine: Engine, cast, round_) -> None:
    planned(engine, cast, "P1", "systemic", due="2026-08-31")
    before, history = engine.issue("P1", ADMIN), engine.history("P1", ADMIN)
    text = v3_source().replace("  systemic:    {zh: 专项整治, en: Systemic}\n", "")
    text = text.replace("[phased, long_term, systemic]", "[phased, long_term]").replace(
        "[long_term, systemic]", "[long_term]"
    )
    engine.deploy_workflow(text, actor=ADMIN)
    with pytest.raises(Refused) as err:
        engine.migrate_workflow("rectification", 3, 4, actor=ADMIN)
    assert any(rule == "category" and "systemic" in t.en for rule, t in err.value.reasons)
    with pytest.raises(Refused) as err:
        engine.migrate_workflow("rectification", 3, 4, actor=ADMIN, mapping={"planned": "closed"})
    assert any("final" in t.en for _, t in err.value.reasons)
    with pytest.raises(Refused) as err:
        engine.migrate_workflow("rectification", 3, 4, actor=ADMIN, mapping={"planned": "nowhere"})
    assert any("nowhere" in t.en for _, t in err.value.reasons)
    with pytest.raises(InvalidInput):
        engine.migrate_workflow("rectification", 3, 4, actor=ADMIN, mapping=["planned"])
    after = engine.issue("P1", ADMIN)
    assert (after.workflow_version, after.version) == (3, before.version)
    assert engine.history("P1", ADMIN) == history  # not an event more


def test_migration_refuses_severities_and_sources_the_new_version_lacks(engine: Engine, cast, round_) -> None:
    add(engine, cast, "P1", severity="serious")
    engine.add_issue("R1", "P2", title="问题", category="immediate", unit="省局/财务处", owner="li", lead="zhao",
                     source="ideology", actor=cast.office)  # fmt: skip
    text = (
        v3_source()
        .replace("  serious: {zh: 严重, en: Serious}\n", "")
        .replace("  ideology:        {zh: 意识形态工作责任制检查, en: Ideological work responsibility check}\n", "")
    )
    text = text.replace("signed_off: {role: secretary, when: {severity: serious}}", "signed_off: secretary")
    engine.deploy_workflow(text, actor=ADMIN)
    with pytest.raises(Refused) as err:
        engine.migrate_workflow("rectification", 3, 4, actor=ADMIN)
    rules = {rule: t.en for rule, t in err.value.reasons}
    assert "serious" in rules["severity"] and "P1" in rules["severity"]
    assert "ideology" in rules["source"] and "P2" in rules["source"]
    assert {engine.issue(c, ADMIN).workflow_version for c in ("P1", "P2")} == {3}


def test_only_an_administrator_migrates_or_deprecates(engine: Engine, cast, round_) -> None:
    engine.deploy_workflow(v3_source(), actor=ADMIN)
    with pytest.raises(Refused):
        engine.migrate_workflow("rectification", 3, 4, actor=cast.office)
    with pytest.raises(Refused):
        engine.deprecate_workflow("rectification", 3, actor=cast.office)
    with pytest.raises(NotFound):
        engine.migrate_workflow("rectification", 3, 10, actor=ADMIN)
    with pytest.raises(InvalidInput):
        engine.migrate_workflow("rectification", 0, 4, actor=ADMIN)


def test_a_deprecated_version_takes_no_new_rounds_or_issues(engine: Engine, cast, round_) -> None:
    add(engine, cast, "P1")
    engine.deploy_workflow(v3_source(), actor=ADMIN)
    info = engine.deprecate_workflow("rectification", 3, actor=ADMIN)
    assert info.deprecated
    assert engine.workflow_usage("rectification", 3) == {"issues": 1, "running": 1, "rounds": 1}
    add(engine, cast, "P2")  # the round's version is deprecated: the new problem follows version 4
    assert engine.issue("P2", ADMIN).workflow_version == 4
    assert engine.issue("P1", ADMIN).workflow_version == 3  # and the running one keeps version 3
    r2 = engine.open_round("R2", title="第二轮", org="省局", feedback_date="2026-03-10", actor=cast.office)
    assert r2["workflow_version"] == 4
    with pytest.raises(InvalidInput):  # nothing may move onto a deprecated version
        engine.migrate_workflow("rectification", 4, 3, actor=ADMIN)
    with pytest.raises(Refused) as err:  # the last usable version: all new work would stop
        engine.deprecate_workflow("rectification", 4, actor=ADMIN)
    assert "only usable version" in err.value.text.en
    engine.deprecate_workflow("rectification", 4, actor=ADMIN, force=True)
    with pytest.raises(NotFound) as err:
        engine.open_round("R3", title="第三轮", org="省局", feedback_date="2026-03-10", actor=cast.office)
    assert "deprecated" in err.value.text.en
    engine.deprecate_workflow("rectification", 3, actor=ADMIN, deprecated=False)
    assert (
        engine.open_round("R3", title="第三轮", org="省局", feedback_date="2026-03-10", actor=cast.office)[
            "workflow_version"
        ]
        == 3
    )


def test_migrated_issue_is_explained_on_its_new_version(engine: Engine, cast, round_) -> None:
    started(engine, cast, "P1")
    engine.deploy_workflow(v3_source(), actor=ADMIN)
    ex = engine.explain("P1", actor=cast.owner)
    assert ex.version == 3 and ex.newest_version == 4
    assert any("workflow migrate" in n.en for n in ex.notes)
    engine.migrate_workflow("rectification", 3, 4, actor=ADMIN)
    ex = engine.explain("P1", "submit_self_check", actor=cast.owner)
    assert ex.version == 4 and not ex.notes
    (t,) = ex.triggers
    assert t.dest == "awaiting_review"


def test_an_issue_added_while_the_migration_counts_is_checked_too(engine: Engine, cast, round_, monkeypatch) -> None:
    """On PostgreSQL each statement sees what has committed by then: an issue recorded between
    the census and the move must not ride along unchecked."""
    from zhenggai.storage.repositories.issues import IssueRepository

    add(engine, cast, "P1", "phased", due="2026-08-31")  # in the state the newcomer will be in
    text = v3_source().replace("  systemic:    {zh: 专项整治, en: Systemic}\n", "")
    text = text.replace("[phased, long_term, systemic]", "[phased, long_term]").replace(
        "[long_term, systemic]", "[long_term]"
    )
    engine.deploy_workflow(text, actor=ADMIN)
    census = IssueRepository.migration_census
    other = Engine(engine.db.url, clock=engine.clock)
    added: list[str] = []

    def census_then_a_new_issue(self, *args, **kw):
        rows = census(self, *args, **kw)
        if engine.db.url.startswith("postgresql") and not added:  # SQLite's writer holds the database
            add(other, cast, "P2", "systemic", due="2026-08-31")
            added.append("P2")
        return rows

    monkeypatch.setattr(IssueRepository, "migration_census", census_then_a_new_issue)
    try:
        if engine.db.url.startswith("postgresql"):
            with pytest.raises(ConcurrentUpdate):
                engine.migrate_workflow("rectification", 3, 4, actor=ADMIN)
            assert {engine.issue(c, ADMIN).workflow_version for c in ("P1", "P2")} == {3}
        rep = engine.migrate_workflow("rectification", 3, 4, actor=ADMIN, where={"category": "phased"})
        assert rep.total == 1 and engine.issue("P1", ADMIN).workflow_version == 4
    finally:
        other.db.dispose()


def test_where_takes_several_rounds_and_the_overlap_of_unit_and_scope(engine: Engine, cast, round_) -> None:
    engine.open_round("R2", title="第二轮", org="省局", feedback_date="2026-03-10", actor=cast.office)
    add(engine, cast, "P1")
    engine.add_issue("R2", "Q1", title="问题", category="immediate", unit="省局/财务处", owner="li", lead="zhao",
                     due_date="2026-05-31", actor=cast.office)  # fmt: skip
    add(engine, cast, "P3", unit="省局/稽查局")
    engine.deploy_workflow(v3_source(), actor=ADMIN)
    rep = engine.migrate_workflow("rectification", 3, 4, actor=ADMIN, where={"round": ["NOPE", "R2"]}, dry_run=True)
    assert rep.total == 1
    finance_admin = Actor("admin2", frozenset({"admin"}), ("省局/财务处",))
    rep = engine.migrate_workflow("rectification", 3, 4, actor=finance_admin, where={"unit": "省局"}, dry_run=True)
    assert rep.total == 2  # 省局 asked, 财务处 allowed: the two 财务处 problems
    with pytest.raises(Forbidden):
        engine.migrate_workflow("rectification", 3, 4, actor=finance_admin, where={"unit": "省局/稽查局"})
    with pytest.raises(InvalidInput):
        engine.migrate_workflow("rectification", 3, 4, actor=ADMIN, where={"state": []})
    rep = engine.migrate_workflow("rectification", 3, 4, actor=finance_admin)
    assert rep.total == 2 and engine.issue("P3", ADMIN).workflow_version == 3


def test_explain_never_points_to_a_deprecated_version(engine: Engine, cast, round_) -> None:
    add(engine, cast, "P1")
    engine.deploy_workflow(v3_source(), actor=ADMIN)
    engine.deprecate_workflow("rectification", 4, actor=ADMIN)
    ex = engine.explain("P1", actor=cast.owner)
    assert ex.newest_version == 3 and not ex.notes


def test_a_problem_reopened_then_migrated_onto_renamed_states_still_verifies(engine: Engine, cast, round_) -> None:
    from storyhelpers import reviewed

    reviewed(engine, cast, "P1")
    engine.sign_off("P1", "inspection_office", actor=cast.office)
    engine.fire("P1", "close", actor=cast.office)
    engine.fire("P1", "reopen", actor=cast.office, comment="回头看发现反弹")
    engine.deploy_workflow(v3_source().replace("closed", "done"), actor=ADMIN)
    assert engine.migrate_workflow("rectification", 3, 4, actor=ADMIN).total == 1
    # the reopening happened under version 3, where closed was final: it still counts as one
    assert engine.issue("P1", ADMIN).recurrence_count == 1
    assert engine.verify("P1", ADMIN).ok
    assert engine.audit_verify(ADMIN).ok


def test_a_problem_moved_to_another_workflow_behind_the_engine_is_found(engine: Engine, cast, round_) -> None:
    from sqlalchemy import text

    add(engine, cast, "P1")
    with engine.db.engine.begin() as conn:
        audit_id = conn.execute(text("SELECT id FROM workflows WHERE name = 'audit'")).scalar_one()
        conn.execute(text("UPDATE issues SET workflow_id = :w WHERE code = 'P1'"), {"w": audit_id})
    for rep in (engine.verify("P1", ADMIN), engine.audit_verify(ADMIN).bad[0]):
        assert not rep.ok
        assert any("history puts it on rectification v3" in t.en for _, t in rep.problems)


def test_two_administrators_deprecating_the_last_two_versions_at_once_leave_one(engine: Engine, monkeypatch) -> None:
    import contextlib
    import threading

    from zhenggai.storage.repositories.workflows import WorkflowRepository

    engine.deploy_workflow(v3_source(), actor=ADMIN)
    both_read = threading.Barrier(2, timeout=2)
    versions = WorkflowRepository.versions

    def read_then_wait(self, *args, **kw):
        rows = versions(self, *args, **kw)
        if args:  # the versions of one name, as deprecating reads them
            # both read before either writes, unless the read is locked: then the second waits
            # for the first's commit, and the first waits here only until the barrier times out
            with contextlib.suppress(threading.BrokenBarrierError):
                both_read.wait()
        return rows

    monkeypatch.setattr(WorkflowRepository, "versions", read_then_wait)
    results: list[object] = []

    def deprecate(v: int) -> None:
        other = Engine(engine.db.url)
        try:
            results.append(other.deprecate_workflow("rectification", v, actor=ADMIN))
        except Exception as exc:
            results.append(exc)
        finally:
            other.db.dispose()

    threads = [threading.Thread(target=deprecate, args=(v,)) for v in (3, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(isinstance(r, Refused) for r in results) == 1, results
    usable = [w for w in engine.workflows() if w.name == "rectification" and not w.deprecated]
    assert len(usable) == 1
