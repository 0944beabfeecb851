"""Moving running issues from one workflow version to another, all or nothing, in one
transaction: a census decides every refusal first (``migration.plan_migration``, pure), then
the rows are locked in chunks, checked again as they are locked, and each moved issue gets a
``migrated`` event on its chain through the journal."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from ..i18n import Text
from ..storage.errors import StaleVersion
from ..storage.repository import Repository
from . import journal
from .actors import Actor, within
from .authz import need_admin
from .core import Core
from .definition import WorkflowDefinition
from .errors import ConcurrentUpdate, Forbidden, InvalidInput, NotFound, Refused
from .inputs import need_unit, need_version
from .migration import WHERE_KEYS, MigrationReport, parse_mapping, plan_migration
from .outbox import FEED_CHANNEL, feed_notice


def migrate(
    core: Core,
    name: str,
    from_version: int,
    to_version: int,
    *,
    actor: Actor,
    mapping: Mapping[str, str] | Iterable[str] | None = None,
    where: Mapping[str, Any] | None = None,
    dry_run: bool = False,
) -> MigrationReport:
    """See :meth:`Engine.migrate_workflow`."""
    need_admin(actor, Text("迁移", "migrate"))
    need_version(from_version, "from")
    need_version(to_version, "to")
    moves = parse_mapping(mapping)
    filters = _filters(where or {}, actor)
    report = MigrationReport(name, from_version, to_version, dry_run)
    now = core.clock.now()
    with core.write() as conn:
        repo = Repository(conn)
        old_row, new_row = repo.workflows.get(name, from_version), repo.workflows.get(name, to_version)
        for v, row in ((from_version, old_row), (to_version, new_row)):
            if row is None:
                raise NotFound(Text(f"没有已部署的工作流 {name} v{v}", f"no deployed workflow {name} v{v}"))
        assert old_row is not None and new_row is not None
        if old_row.id == new_row.id:
            raise InvalidInput(Text("迁移的起止版本相同", "from and to are the same version"), field="to")
        if new_row.deprecated:
            raise InvalidInput(
                Text(
                    f"第 {to_version} 版已停用，不能迁入",
                    f"version {to_version} is deprecated; nothing may move onto it",
                ),
                field="to",
            )
        old, new = core.definitions.of_row(old_row), core.definitions.of_row(new_row)
        live = [s.name for s in old.states.values() if not s.final]
        census = repo.issues.migration_census(old_row.id, live, **filters)
        targets, reasons = plan_migration(old, new, moves, census)
        if reasons:
            raise Refused(
                Text(
                    f"不能把 {name} 从第 {from_version} 版迁移到第 {to_version} 版，未做任何改动",
                    f"cannot migrate {name} from version {from_version} to {to_version}; nothing was changed",
                ),
                reasons,
            )
        if dry_run:
            for group in census:
                key = (group.state, targets[group.state])
                report.moves[key] = report.moves.get(key, 0) + group.total
            return report
        report.moves = _move(core, repo, old, new, old_row.id, new_row.id, targets, actor, now, filters)
    return report


def _filters(where: Mapping[str, Any], actor: Actor) -> dict[str, Any]:
    filters: dict[str, Any] = {"round_codes": None, "states": None, "categories": None, "unit_prefixes": None}
    for key, value in where.items():
        if key not in WHERE_KEYS:
            raise InvalidInput(
                Text(
                    f"未知的筛选条件 {key}（可用：{', '.join(WHERE_KEYS)}）",
                    f"unknown filter {key} (known: {', '.join(WHERE_KEYS)})",
                ),
                field="where",
            )
        values = [value] if isinstance(value, str) else list(value)
        if not values or not all(isinstance(v, str) and v.strip() for v in values):
            raise InvalidInput(Text(f"筛选条件 {key} 没有给出值", f"filter {key} is given no value"), field="where")
        if key == "unit":
            values = [need_unit(v) for v in values]
        filters[WHERE_KEYS[key]] = values
    if "*" not in actor.scope:  # an administrator of some units migrates only those
        asked = filters["unit_prefixes"]
        if asked is None:
            filters["unit_prefixes"] = list(actor.scope)
        else:  # where an asked unit and a scope path overlap, the deeper of the two
            filters["unit_prefixes"] = _overlap(asked, actor.scope)
            if not filters["unit_prefixes"]:
                raise Forbidden(
                    Text(f"所选单位不在 {actor.id} 的组织范围内", f"the units asked are outside {actor.id}'s org scope")
                )
    return filters


def _overlap(asked: Iterable[str], scope: Iterable[str]) -> list[str]:
    """The unit paths inside both ``asked`` and ``scope``: where one contains the other, the deeper."""
    out: set[str] = set()
    for a in asked:
        for sc in scope:
            if within(a, sc):
                out.add(a)
            elif within(sc, a):
                out.add(sc)
    return sorted(out)


def _move(
    core: Core,
    repo: Repository,
    old: WorkflowDefinition,
    new: WorkflowDefinition,
    old_id: int,
    new_id: int,
    targets: Mapping[str, str],
    actor: Actor,
    now: datetime,
    filters: Mapping[str, Any],
) -> dict[tuple[str, str], int]:
    """Move the issues, checking each locked row again: an issue added or changed after
    the census (PostgreSQL reads each statement afresh) must pass the same checks."""
    moved: dict[tuple[str, str], int] = {}
    live = [s.name for s in old.states.values() if not s.final]
    role = "admin" if "admin" in actor.roles else "system"
    data = {"workflow": new.name, "from_version": old.version, "to_version": new.version, "to_digest": new.digest}
    feed = FEED_CHANNEL in core.channels
    entered_at = journal.stamp(core, now)
    for chunk in repo.issues.migration_chunks(old_id, live, **filters):
        updates: list[dict[str, Any]] = []
        evs: list[dict[str, Any]] = []
        notices: list[dict[str, Any]] = []
        for row in chunk:
            dest = targets.get(row.state)
            unknown = (
                row.category not in new.categories
                or row.severity not in new.severities
                or (row.source and row.source not in new.sources)
            )
            if dest is None or unknown:  # added or moved since the census by a writer that committed first
                raise ConcurrentUpdate(
                    Text(
                        f"问题 {row.code} 在迁移时被修改，请重试",
                        f"issue {row.code} changed during the migration; retry",
                    )
                )
            ev, head = journal.entry(
                core.chain_key,
                row.code,
                journal.head_of(row),
                "migrated",
                actor.id,
                role,
                now,
                from_state=row.state,
                to_state=dest,
                data=data,
                entered_at=entered_at,
            )
            light, check_at = journal.schedule(new, replace(journal.escalation_facts(row), state=dest), now)
            updates.append(
                dict(
                    p_id=row.id,
                    p_version=row.version,
                    workflow_id=new_id,
                    state=dest,
                    seq=head.seq,
                    last_hash=head.last_hash,
                    version=head.version,
                    light=light,
                    next_check_at=check_at,
                )
            )
            ev["issue_id"] = row.id
            evs.append(ev)
            moved[(row.state, dest)] = moved.get((row.state, dest), 0) + 1
            if feed:
                notices.append(feed_notice(core, row.id, row.code, ev, dest, now))
        try:
            repo.issues.move_many(updates)
        except StaleVersion:
            raise ConcurrentUpdate(
                Text("迁移时有问题被同时修改，请重试", "issues changed during the migration; retry")
            ) from None
        repo.events.insert_many(evs)
        if notices:
            repo.outbox.enqueue(notices)
    return moved
