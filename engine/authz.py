"""Who may do what: an issue inside the actor's org scope, an edit in a role the workflow's
YAML allows, and the administrator's and operator's checks — one place, for every caller
(the CLI, the HTTP API, an embedding OA system and the scheduler alike)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from ..i18n import Text
from ..storage.repository import Repository
from ..storage.rows import IssueHead, IssueRow
from .actors import ALL_ORGS, Actor, same_person
from .clock import local_date
from .definition import WorkflowDefinition
from .errors import Forbidden, InvalidInput, NotFound, Refused


class HasPeople(Protocol):
    """What a role with a holder is checked against: the people an issue names."""

    @property
    def owner(self) -> str | None: ...

    @property
    def lead(self) -> str | None: ...


def need_admin(actor: Actor, what: Text) -> None:
    """Deploying, deprecating and migrating workflows: the ``admin`` role (or the system)."""
    if not actor.roles & {"admin", "system"}:
        raise Refused(
            Text(f"只有管理员（admin）可以{what.zh}工作流", f"only an administrator (admin) may {what.en} workflows"),
            [("role", Text(f"{actor.id} 不具有 admin 角色", f"{actor.id} does not hold role admin"))],
        )


def need_operator(actor: Actor, what: Text) -> None:
    """Work over the whole database (the sweep, the audit): the ``system`` or ``admin`` role
    over every unit (scope ``*``)."""
    if not actor.roles & {"system", "admin"} or ALL_ORGS not in actor.scope:
        raise Forbidden(
            Text(
                f"只有组织范围为全部（*）的 system 或 admin 角色可以{what.zh}",
                f"only the system or admin role with scope * may {what.en}",
            )
        )


def need_past_unless_dry_run(as_of: datetime, now: datetime, dry_run: bool) -> None:
    """Escalations are recorded when they happen: a sweep as of a future day may only be
    rehearsed (``dry_run``), never written."""
    if local_date(as_of) > local_date(now) and not dry_run:
        raise InvalidInput(
            Text("只能预演（dry_run）未来日期的扫描", "a sweep as of a future date may only be a dry run"),
            field="as_of",
        )


def in_scope(actor: Actor, unit: str, what: Text) -> None:
    if not actor.covers(unit):
        raise Forbidden(
            Text(
                f"{what.zh} {unit} 不在 {actor.id} 的组织范围内", f"{what.en} {unit} is outside {actor.id}'s org scope"
            )
        )


def visible_issue(repo: Repository, code: str, actor: Actor) -> IssueRow:
    """The issue, if it exists and lies inside the actor's scope."""
    row = repo.issues.get(code)
    _covers(actor, code, None if row is None else row.unit)
    assert row is not None
    return row


def writable_issue(repo: Repository, code: str, actor: Actor) -> IssueHead:
    """The issue's head, locked for this transaction's write, if the actor may see it."""
    row = repo.issues.head(code)
    _covers(actor, code, None if row is None else row.unit)
    assert row is not None
    return row


def _covers(actor: Actor, code: str, unit: str | None) -> None:
    """Refuse an issue that does not exist or lies outside the actor's scope.  To an actor
    over some units only, both get the same answer: which codes exist elsewhere is not theirs
    to learn.  An actor over every unit can only be told the issue does not exist."""
    if unit is None and ALL_ORGS in actor.scope:
        raise NotFound(Text(f"没有问题 {code}", f"no issue {code}"))
    if unit is None or not actor.covers(unit):
        raise Forbidden(
            Text(
                f"问题 {code} 不存在或不在 {actor.id} 的组织范围内",
                f"issue {code} does not exist or is outside {actor.id}'s org scope",
            )
        )


def scope_prefixes(actor: Actor) -> list[str] | None:
    """The unit prefixes a read is limited to (None: every unit)."""
    return None if ALL_ORGS in actor.scope else list(actor.scope)


def edit_role(
    d: WorkflowDefinition, action: str, actor: Actor, row: HasPeople | None, *, role: str | None = None
) -> str:
    """The role in which ``actor`` may make this edit (an action of the workflow's
    ``actions:``), or :class:`Refused` listing why not.  A role with a holder (the owner, the
    lead) is held on an issue only by the person the issue names for it."""
    allowed = d.actions.get(action, frozenset())
    candidates = [role] if role is not None else sorted(actor.roles & allowed)
    reasons: list[tuple[str, Text]] = []
    if role is not None and role not in d.roles:
        known = ", ".join(d.roles)
        reasons.append(("role", Text(f"未知的角色 {role}（可用：{known}）", f"unknown role {role} (known: {known})")))
    elif role and role not in actor.roles:
        reasons.append(("role", Text(f"{actor.id} 不具有角色 {role}", f"{actor.id} does not hold role {role}")))
    elif role and role not in allowed:
        reasons.append(
            (
                "role",
                Text(
                    f"角色 {role} 不能执行 {action}（允许：{', '.join(sorted(allowed))}）",
                    f"role {role} may not {action} (allowed: {', '.join(sorted(allowed))})",
                ),
            )
        )
    elif not candidates:
        reasons.append(
            (
                "role",
                Text(
                    f"{actor.id} 的角色（{', '.join(sorted(actor.roles)) or '无'}）不能执行 {action}（允许：{', '.join(sorted(allowed))}）",
                    f"{actor.id}'s roles ({', '.join(sorted(actor.roles)) or 'none'}) may not {action} (allowed: {', '.join(sorted(allowed))})",
                ),
            )
        )
    else:
        for r in candidates:
            holder = d.roles[r].holder if r in d.roles else None
            if row is None or holder is None or same_person(getattr(row, holder), actor.id):
                return r
        r = candidates[0]
        holder = d.roles[r].holder
        assert holder is not None
        named = getattr(row, holder)
        reasons.append(
            (
                "role",
                Text(
                    f"{actor.id} 不是本问题的{d.roles[r].label.zh}（应为 {named or '未指定'}）",
                    f"{actor.id} is not this issue's {d.roles[r].label.en.lower()} (that is {named or 'nobody yet'})",
                ),
            )
        )
    raise Refused(Text(f"不允许执行 {action}", f"{action} is not allowed"), reasons, action=action)
