"""What every command shares: the context the root group builds, the options that recur
(``--json``, ``--as/--role/--scope``, ``--as-of``), and printing a result as text or JSON."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from ..i18n import Text

if TYPE_CHECKING:
    from ..engine.actors import Actor
    from ..engine.service import Engine


@dataclass
class Ctx:
    """The global options of one invocation; ``engine()`` opens the database they name."""

    db: str | None
    lang: str
    json: bool
    as_of: str | None
    backdate: bool = False

    def t(self, zh: str, en: str) -> str:
        return Text(zh, en).render(self.lang)

    def engine(self, *, check_schema: bool = True) -> Engine:
        """The Engine as the environment configures it (:func:`zhenggai.config.engine_from_env`);
        a missing or outdated database is refused unless ``check_schema`` is off."""
        from ..config import engine_from_env

        return engine_from_env(self.db, as_of=self.as_of, backdate=self.backdate, check_schema=check_schema)


pass_ctx = click.make_pass_decorator(Ctx)


def out(c: Ctx, data: Any, text: str | Callable[[], str]) -> None:
    """Print ``data`` as JSON with ``--json``, else ``text`` (a callable is only called then)."""
    if c.json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(text() if callable(text) else text)


def json_flag(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--json`` accepted after any command, as well as before it."""

    def set_json(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if value:
            ctx.find_object(Ctx).json = True  # type: ignore[union-attr]

    return click.option(
        "--json",
        "json_",
        is_flag=True,
        expose_value=False,
        callback=set_json,
        help="Machine-readable JSON output / 输出 JSON",
    )(f)


def actor_options(default_roles: tuple[str, ...] = ()) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--as USER --role ROLE --scope PATH`` collected into one ``actor`` argument."""

    def store(key: str) -> Callable[[click.Context, click.Parameter, Any], None]:
        def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
            ctx.meta.setdefault("zhenggai.actor", {})[key] = value

        return callback

    def deco(f: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(f)
        def with_actor(*args: Any, **kwargs: Any) -> Any:
            parts = click.get_current_context().meta.get("zhenggai.actor", {})
            roles = parts.get("roles") or default_roles
            kwargs["actor"] = make_actor(parts.get("user", "admin"), roles, parts.get("scopes") or ())
            return f(*args, **kwargs)

        opts = [
            click.option(
                "--as",
                "user",
                default="admin",
                show_default=True,
                expose_value=False,
                callback=store("user"),
                help="Acting user id / 操作人",
            ),
            click.option(
                "--role",
                "roles",
                multiple=True,
                expose_value=False,
                callback=store("roles"),
                help="Role acted in, repeatable"
                + (f" (default: {', '.join(default_roles)})" if default_roles else "")
                + " / 角色",
            ),
            click.option(
                "--scope",
                "scopes",
                multiple=True,
                expose_value=False,
                callback=store("scopes"),
                help="Org unit the actor may act on, repeatable (default: all) / 组织范围",
            ),
        ]
        for opt in reversed(opts):
            with_actor = opt(with_actor)
        return with_actor

    return deco


def make_actor(user: str, roles: Sequence[str], scopes: Sequence[str]) -> Actor:
    from ..engine.actors import ALL_ORGS, Actor, need_outside_actor

    try:
        return need_outside_actor(Actor(user, frozenset(roles), tuple(scopes) or (ALL_ORGS,)))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--as / --role / --scope") from None


def check_as_of(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An ``--as-of`` option's callback: a date or a time, else a usage error (exit 2)."""
    if value is None:
        return None
    from ..engine.clock import to_utc

    try:
        to_utc(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} 不是日期或时间（YYYY-MM-DD[THH:MM]） / is not a date or time (YYYY-MM-DD[THH:MM])",
            param_hint="--as-of",
        ) from None
    return value
