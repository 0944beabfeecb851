"""The ``zhenggai`` command line: the root group, its global options, the context every command
receives, and how an error becomes a message and an exit status.

The commands themselves live in :mod:`.commands`, one module per noun group; they parse, call
the Engine and print (a table, or ``--json``).  No rule lives on this side: a refusal is the
engine's own error, raised through the command unchanged and shown here, once, by
:class:`Failure`, with the exit status its class carries (``ZhenggaiError.exit_code``; the
table is in :mod:`.engine.errors`).  Heavy imports happen inside the commands that need them so
that ``zhenggai --help`` stays fast: SQLAlchemy is not imported to print help.
"""

from __future__ import annotations

import json
import sys
from typing import IO, Any

import click

from .commands import calendar, deadline, demo, issue, ledger, ops, round, service, ui, workflow
from .commands.context import Ctx, check_as_of
from .engine.errors import ImportInvalid, Refused, WorkflowInvalid, ZhenggaiError
from .i18n import Text, current_lang

#: engine field names as the flags a CLI user typed them
FLAGS = {
    "due_date": "--due",
    "period_months": "--months",
    "period_end": "--period-end",
    "feedback_date": "--feedback-date",
    "adopted_on": "--adopted-on",
    "request_id": "--request-id",
    "no": "NO",
    "code": "CODE",
    "uri": "URI",
    "text": "TEXT",
    "path": "PATH",
    "file": "FILE",
}


class StorageError(ZhenggaiError):
    """A database error the engine did not foresee (an unexpected ``SQLAlchemyError``): shown
    as a message rather than a traceback, exit status 1."""

    code = "storage_error"
    exit_code = 1


class Failure(click.ClickException):
    """An engine error on its way to the terminal, as click's own exceptions travel: it shows
    itself as the invocation asked (text on standard error, or ``--json`` on standard output)
    and exits with its error's ``exit_code``."""

    def __init__(self, error: ZhenggaiError, *, lang: str, as_json: bool) -> None:
        super().__init__(error.render(lang))
        self.error = error
        self.lang = lang
        self.as_json = as_json
        self.exit_code = error.exit_code

    def show(self, file: IO[Any] | None = None) -> None:
        exc, lang = self.error, self.lang
        if self.as_json:
            click.echo(json.dumps({"error": exc.to_dict()}, ensure_ascii=False))
        elif isinstance(exc, WorkflowInvalid):  # the count in red, then every problem with its line
            first, _, problems = exc.render(lang).partition("\n")
            click.echo(click.style(first, fg="red"), err=True)
            if problems:
                click.echo(problems, err=True)
        elif isinstance(exc, (Refused, ImportInvalid)):  # errors that list every reason
            click.echo(click.style(exc.render(lang), fg="red"), err=True)
        else:
            text, field = exc.text, exc.details.get("field")
            if field:  # name the argument as the user typed it
                flag = FLAGS.get(field, "--" + field.replace("_", "-"))
                text = Text(f"{text.zh}（{flag}）", f"{text.en} ({flag})")
            click.echo(click.style(text.render(lang), fg="red"), err=True)


def _storage_error(exc: Exception) -> StorageError | None:
    """An unexpected SQLAlchemy error as a :class:`StorageError`; None for anything else.
    (Looked up in ``sys.modules``: if SQLAlchemy was never imported, it raised nothing.)"""
    sa = sys.modules.get("sqlalchemy.exc")
    if sa is None or not isinstance(exc, sa.SQLAlchemyError):
        return None
    return StorageError(Text(f"数据库错误：{exc}", f"database error: {exc}"))


class Root(click.Group):
    """The root group: runs a command and turns the engine's errors into a :class:`Failure`."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ZhenggaiError as exc:
            raise self._failure(ctx, exc) from exc
        except Exception as exc:
            storage = _storage_error(exc)
            if storage is None:
                raise
            raise self._failure(ctx, storage) from exc

    @staticmethod
    def _failure(ctx: click.Context, exc: ZhenggaiError) -> Failure:
        c = ctx.find_object(Ctx)
        return Failure(exc, lang=c.lang if c else current_lang(), as_json=bool(c and c.json))


@click.group(cls=Root, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", envvar="ZHENGGAI_DB", help="Database URL or SQLite path (default ./zhenggai.db) / 数据库")
@click.option(
    "--lang",
    envvar="ZHENGGAI_LANG",
    type=click.Choice(["zh", "en"]),
    default=None,
    help="Language shown first (default zh) / 显示语言",
)
@click.option("--json", "json_", is_flag=True, help="Machine-readable JSON output / 输出 JSON")
@click.option(
    "--as-of",
    callback=check_as_of,
    help="Read (and rehearse) as if it were this date or time (YYYY-MM-DD) / 按指定日期查看、预演",
)
@click.option(
    "--backdate",
    is_flag=True,
    help="With --as-of: enter what happened then (each event records when it was entered) / 补录",
)
@click.version_option(package_name="zhenggai")
@click.pass_context
def main(ctx: click.Context, db: str | None, lang: str | None, json_: bool, as_of: str | None, backdate: bool) -> None:
    """zhenggai（整改）: track every problem an inspection, audit or special check finds until it
    is closed (销号).

    \b
    Start here / 快速开始:
      zhenggai demo                      a story from identified to closed / 演示
      zhenggai init                      create or upgrade ./zhenggai.db / 初始化
      zhenggai round open R1 --title ... --org ... --feedback-date 2026-03-10 --role inspection_office
      zhenggai issue add R1 P1 --title ... --category immediate --unit ... --role inspection_office
      zhenggai fire P1 plan --as li --role owner
    """
    ctx.obj = Ctx(db=db, lang=current_lang(lang), json=json_, as_of=as_of, backdate=backdate)


for _module in (ops, workflow, round, issue, deadline, ledger, service, ui, calendar, demo):
    for _command in _module.COMMANDS:
        main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    main()
