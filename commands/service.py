"""The HTTP service for OA systems: the clients allowed to call it (``client``), and ``serve``."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

from ..engine.errors import Unavailable
from ..i18n import Text
from . import render
from .context import Ctx, actor_options, json_flag, out, pass_ctx

if TYPE_CHECKING:
    from ..engine.actors import Actor


@click.group()
def client() -> None:
    """OA systems allowed to call the HTTP API (接入系统): add, list, rotate, revoke.

    Needs ZHENGGAI_API_KEY (at least 32 random characters): each client's secret is derived
    from it and never stored."""


@client.command("add")
@click.argument("name")
@click.option(
    "--allow-role",
    "allowed_roles",
    multiple=True,
    required=True,
    help="A role its users may hold (repeat) / 可声明的角色",
)
@click.option(
    "--allow-scope",
    "allowed_scopes",
    multiple=True,
    help="An org path its users may act in (repeat; default *) / 组织范围",
)
@actor_options(("admin",))
@json_flag
@pass_ctx
def client_add(
    c: Ctx, name: str, allowed_roles: tuple[str, ...], allowed_scopes: tuple[str, ...], actor: Actor
) -> None:
    """Register an OA system and print its secret once / 新增接入系统。

    \b
    Example / 示例:
      zhenggai client add oa-tax --allow-role owner --allow-role unit_lead --allow-scope 省税务局 --as admin.li
    """
    from ..api.clients import Clients, need_client_admin

    eng = c.engine()
    need_client_admin(actor)
    cl, secret = Clients(eng).add(name, roles=list(allowed_roles), scopes=list(allowed_scopes), by=actor.id)
    out(
        c,
        {**cl.to_dict(), "secret": secret},
        c.t(
            f"已新增接入系统 {name}；密钥（仅显示一次，请妥善保存）：\n{secret}",
            f"client {name} added; its secret (shown once, keep it safe):\n{secret}",
        ),
    )


@client.command("list")
@json_flag
@pass_ctx
def client_list(c: Ctx) -> None:
    """Clients with what their users may assert / 接入系统列表。"""
    from ..api.clients import Clients

    rows = Clients(c.engine()).list()
    out(c, [r.to_dict() for r in rows], lambda: render.clients(rows, c.lang))


@client.command("rotate")
@click.argument("name")
@actor_options(("admin",))
@json_flag
@pass_ctx
def client_rotate(c: Ctx, name: str, actor: Actor) -> None:
    """Issue a new secret; the old one stops working at once / 更换密钥。"""
    from ..api.clients import Clients, need_client_admin

    eng = c.engine()
    need_client_admin(actor)
    secret = Clients(eng).rotate(name)
    out(c, {"name": name, "secret": secret}, c.t(f"{name} 的新密钥：\n{secret}", f"new secret for {name}:\n{secret}"))


@client.command("revoke")
@click.argument("name")
@actor_options(("admin",))
@json_flag
@pass_ctx
def client_revoke(c: Ctx, name: str, actor: Actor) -> None:
    """Stop a client: its requests are refused from now on / 吊销接入系统。"""
    from ..api.clients import Clients, need_client_admin

    eng = c.engine()
    need_client_admin(actor)
    Clients(eng).revoke(name)
    out(c, {"name": name, "revoked": True}, c.t(f"已吊销 {name}", f"revoked {name}"))


@client.command("seal")
@click.argument("name")
@actor_options(("admin",))
@json_flag
@pass_ctx
def client_seal(c: Ctx, name: str, actor: Actor) -> None:
    """Seal a client's grant as it now stands, after checking it (a client made before grants
    were sealed, or one whose grant failed to verify) / 核对后封存授权。"""
    from ..api.clients import Clients, need_client_admin

    eng = c.engine()
    need_client_admin(actor)
    cl = Clients(eng).seal(name)
    out(
        c,
        {**cl.to_dict(), "sealed": True},
        c.t(
            f"已封存 {name} 的授权：角色 {', '.join(sorted(cl.roles))}；范围 {', '.join(cl.scopes)}",
            f"sealed the grant of {name}: roles {', '.join(sorted(cl.roles))}; scopes {', '.join(cl.scopes)}",
        ),
    )


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option(
    "--server",
    "server_kind",
    type=click.Choice(["gunicorn", "prefork"]),
    default="gunicorn",
    show_default=True,
    help="gunicorn restarts dead workers and reloads on SIGHUP; prefork only forks them",
)
@click.option(
    "--timeout",
    type=click.IntRange(5, 3600),
    default=60,
    show_default=True,
    help="gunicorn: restart a worker silent this long",
)
@pass_ctx
def serve(c: Ctx, host: str, port: int, workers: int, server_kind: str, timeout: int) -> None:
    """Serve the HTTP API for OA systems (gunicorn with uvicorn workers) / 启动 HTTP 服务。

    Needs the server extra (pip install 'zhenggai[server]') and ZHENGGAI_API_KEY."""
    try:
        import uvicorn

        if server_kind == "gunicorn":
            import gunicorn  # noqa: F401
            import uvicorn_worker  # noqa: F401
    except ImportError:
        raise Unavailable(
            Text(
                "需要可选依赖：pip install 'zhenggai[server]'", "needs the server extra: pip install 'zhenggai[server]'"
            )
        ) from None
    from ..api.clients import server_key

    c.engine()  # fails here, plainly, if the database is missing or not initialised
    server_key()
    if c.db:
        os.environ["ZHENGGAI_DB"] = c.db
    from ..api.server import serve as run_server

    _ = uvicorn  # imported above only to say plainly when the server extra is missing
    run_server(host, port, workers, server=server_kind, timeout=timeout)


COMMANDS = (client, serve)
