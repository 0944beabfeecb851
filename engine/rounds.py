"""Rounds (巡视轮次): opening one with its concentrated period, and reading them."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..i18n import Text
from ..storage.errors import Duplicate
from ..storage.repository import Repository
from ..storage.rows import RoundRow
from .actors import ALL_ORGS, Actor, norm_path, within
from .authz import edit_role, scope_prefixes
from .catalog import usable
from .clock import DEFAULT_TZ, local_date
from .core import Core
from .errors import Forbidden, InvalidInput, NotFound
from .inputs import add_months, need_code, need_text, need_unit, required_date
from .labels import need_source, sources_of


def open_round(
    core: Core,
    code: str,
    *,
    title: str,
    org: str,
    feedback_date: date | str,
    actor: Actor,
    source: str | None = None,
    period_months: int = 3,
    period_end: date | str | None = None,
    workflow: str = "rectification",
    tz: str = DEFAULT_TZ,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Open a round (巡视轮次); the concentrated period runs ``period_months`` from feedback.

    With ``request_id`` the round remembers the request that opened it: the same request again
    (a retry whose first attempt committed) gets the round back instead of "already exists"."""
    code = need_code(code, "code")
    if request_id is not None:
        request_id = need_text(request_id, "request_id", limit=128)
    title = need_text(title, "title")
    org = need_text(org, "org")
    fb = required_date(feedback_date, "feedback_date")
    if period_end is not None:
        end = required_date(period_end, "period_end")
    else:
        if not isinstance(period_months, int) or not 1 <= period_months <= 36:
            raise InvalidInput(
                Text("period_months 应为 1-36 的整数", "period_months must be 1 to 36"), field="period_months"
            )
        end = add_months(fb, period_months)
    if end < fb:
        raise InvalidInput(
            Text("集中整改期结束日早于反馈日", "the concentrated period ends before the feedback date"),
            field="period_end",
        )
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(Text(f"未知的时区 {tz}", f"unknown time zone {tz}"), field="tz") from None
    if not actor.covers(org):
        raise Forbidden(Text(f"{actor.id} 的组织范围不含 {org}", f"{org} is outside {actor.id}'s org scope"))
    exists = Text(f"轮次 {code} 已存在", f"round {code} already exists")
    with core.write() as conn:
        repo = Repository(conn)
        wf = usable(repo, workflow)
        d = core.definitions.get(repo, wf.id)
        source = need_source(d, source or next(iter(sources_of(d))))
        edit_role(d, "open_round", actor, None)
        if request_id is not None and (done := _opened_by(repo, request_id, code, actor)) is not None:
            return round_dict(core, repo, done)
        if repo.rounds.get(code) is not None:
            raise InvalidInput(exists, field="code")
        try:  # a twin inserted concurrently is the same refusal (on PostgreSQL both can pass the check)
            repo.rounds.insert(
                code=code,
                title=title,
                source=source,
                org=org,
                feedback_date=fb,
                period_end=end,
                tz=tz,
                workflow_id=wf.id,
                created_at=core.clock.now(),
                created_by=actor.id,
                request_id=request_id,
            )
        except Duplicate:
            raise InvalidInput(exists, field="code") from None
        r = repo.rounds.get(code)
        assert r is not None
        return round_dict(core, repo, r)


def _opened_by(repo: Repository, request_id: str, code: str, actor: Actor) -> RoundRow | None:
    """The round a request opened before — only the same round, by the same actor."""
    prior = repo.rounds.by_request(request_id)
    if prior is None:
        return None
    if prior.code != code or prior.created_by != actor.id:
        raise InvalidInput(  # naming nothing of the first write: it may be another body's business
            Text("请求号已用于另一项操作；每项操作应使用新的请求号", "request id was already used for another write; use a new one for each write"),
            field="request_id",
        )
    return prior


def rounds(core: Core, actor: Actor | None = None) -> list[dict[str, Any]]:
    """The rounds, or with ``actor`` those whose inspected body overlaps the actor's scope."""
    with core.read() as conn:
        repo = Repository(conn)
        return [round_dict(core, repo, r, actor) for r in repo.rounds.all() if actor is None or sees_round(actor, r)]


def round_(core: Core, code: str, actor: Actor | None = None) -> dict[str, Any]:
    with core.read() as conn:
        repo = Repository(conn)
        return round_dict(core, repo, need_round(repo, code, actor), actor)


def sees_round(actor: Actor, r: RoundRow) -> bool:
    """Whether the round is the actor's business: its inspected body lies inside the actor's
    scope, or the actor's units lie inside it (a unit of the inspected body)."""
    if ALL_ORGS in actor.scope or actor.covers(r.org):
        return True
    org = norm_path(r.org)
    return any(within(s, org) for s in actor.scope)


def need_round(repo: Repository, code: str, actor: Actor | None = None) -> RoundRow:
    """The round; with ``actor``, only if it is the actor's business — another body's round is
    answered as a round that does not exist (its title, body and period are not theirs)."""
    r = repo.rounds.get(code)
    if r is None or (actor is not None and not sees_round(actor, r)):
        raise NotFound(Text(f"没有轮次 {code}", f"no round {code}"))
    return r


def round_dict(core: Core, repo: Repository, r: RoundRow, actor: Actor | None = None) -> dict[str, Any]:
    """A round; with ``actor``, its issue counts only within the actor's scope."""
    wf = repo.workflows.by_id(r.workflow_id)
    assert wf is not None
    today = local_date(core.clock.now(), r.tz)
    counts = repo.rounds.state_counts(r.id, None if actor is None else scope_prefixes(actor))
    return {
        "code": r.code,
        "title": r.title,
        "source": r.source,
        "org": r.org,
        "feedback_date": r.feedback_date.isoformat(),
        "period_end": r.period_end.isoformat(),
        "period_over": today > r.period_end,
        "tz": r.tz,
        "workflow": wf.name,
        "workflow_version": wf.version,
        "issues": sum(counts.values()),
        "by_state": counts,
    }


def in_scope(repo: Repository, round_code: str, actor: Actor, unit: str | None) -> tuple[RoundRow, list[str] | None]:
    """The round, and the unit prefixes a read of it is limited to: the actor's scope,
    narrowed to ``unit`` if given (which must lie inside it)."""
    r = need_round(repo, round_code, actor)
    if unit:
        unit = need_unit(unit)
        if not actor.covers(unit):
            raise Forbidden(
                Text(f"单位 {unit} 不在 {actor.id} 的组织范围内", f"unit {unit} is outside {actor.id}'s scope")
            )
        return r, [unit]
    return r, scope_prefixes(actor)
