"""``zhenggai demo``: a round's story told on a fresh SQLite database (see :mod:`zhenggai.demo`)."""

from __future__ import annotations

import click

from ..engine.errors import InvalidInput
from .context import Ctx, pass_ctx


@click.command("demo")
@click.option(
    "--db",
    "demo_db",
    default="zhenggai-demo.db",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="SQLite file the demo (re)creates / 演示数据库文件",
)
@pass_ctx
def demo(c: Ctx, demo_db: str) -> None:
    """Tell a round's story on a fresh SQLite database: problems planned, signed, worked,
    self-checked, reviewed and closed, with the refusals the rules impose / 演示。"""
    from ..demo import DemoRefused, run_demo

    try:
        run_demo(demo_db, lang=c.lang, echo=click.echo)
    except DemoRefused as exc:
        raise InvalidInput(exc.text, field="db") from None


COMMANDS = (demo,)
