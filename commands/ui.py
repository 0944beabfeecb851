"""``zhenggai ui link``: a console sign-in link for an administrator without an OA system."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ..i18n import Text
from .context import Ctx, actor_options, pass_ctx

if TYPE_CHECKING:
    from ..engine.actors import Actor


@click.group()
def ui() -> None:
    """The web console (控制台) served under /ui/ by zhenggai serve."""


@ui.command("link")
@click.option(
    "--client",
    "client_name",
    default="console",
    show_default=True,
    help="The client whose grant the ticket is checked against / 接入系统",
)
@click.option(
    "--base", default="http://127.0.0.1:8000", show_default=True, help="Where zhenggai serve listens / 服务地址"
)
@click.option(
    "--seconds",
    default=60,
    show_default=True,
    type=click.IntRange(5, 120),
    help="How long the link is good for (at most 120) / 有效秒数",
)
@actor_options()
@pass_ctx
def ui_link(c: Ctx, client_name: str, base: str, seconds: int, actor: Actor) -> None:
    """Print a one-time sign-in link for ACTOR / 打印一次性登录链接。

    \b
    Example / 示例:
      zhenggai ui link --client console --as wang --role inspection_office --scope '*'
    """
    from ..api.clients import Clients
    from ..web.tickets import make_ticket

    clients = Clients(c.engine())
    known = {cl.name: cl for cl in clients.list()}
    if client_name not in known:
        raise click.UsageError(
            Text(
                f"没有接入系统 {client_name}：先运行 zhenggai client add {client_name} --allow-role … --as admin",
                f"no client {client_name}: first run zhenggai client add {client_name} --allow-role … --as admin",
            ).render(c.lang)
        )
    from ..api.clients import secret_for

    secret = secret_for(client_name, known[client_name].generation)
    ticket = make_ticket(secret, client_name, user=actor.id, roles=actor.roles, scope=actor.scope, lifetime=seconds)
    click.echo(f"{base.rstrip('/')}/ui/login?ticket={ticket}")


COMMANDS = [ui]
