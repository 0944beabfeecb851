"""The Engine as a deployment configures it: the database and the notifiers from the environment.

The command line, the HTTP service (one engine per worker) and the scheduler all start the same
way, so they read the same variables here and fail the same way: with the engine's own errors
(:class:`~.engine.errors.NotInitialised`, :class:`~.engine.errors.InvalidInput`,
:class:`~.engine.errors.StorageUnavailable`), each carrying the exit status and HTTP status it is
answered with.  Nothing here prints or exits; showing an error is the caller's part.

Variables read:

``ZHENGGAI_DB``
    the database URL or SQLite path, when none is given (default ``./zhenggai.db``).
``ZHENGGAI_WEBHOOK_URL`` + ``ZHENGGAI_WEBHOOK_SECRET``, ``ZHENGGAI_OA_TODO_URL`` + ``ZHENGGAI_OA_TODO_SECRET``
    a signed webhook, an OA system's to-do list (the secret at least 16 characters).
``ZHENGGAI_SMTP_HOST`` [+ ``ZHENGGAI_SMTP_PORT``, ``ZHENGGAI_SMTP_FROM``, ``ZHENGGAI_EMAIL_ADDRESSES``]
    e-mail; the addresses as JSON, ``{"user id" or "role@unit": "address"}``.

``ZHENGGAI_DINGTALK_*``, ``ZHENGGAI_WECOM_*``, ``ZHENGGAI_ECOLOGY_*``
    DingTalk's robot and to-dos, WeCom's robot and application messages, 泛微's unified to-do
    (each notifier's class documents its variables).
``ZHENGGAI_CALENDAR_FILE``
    an office's calendar file: holidays and make-up working days by date, extending or
    overriding chinese-calendar (see ``engine/calendars/corrections.py``).
``ZHENGGAI_NOTIFIERS_FILE``
    a TOML file of the same settings, by the same names (``ZHENGGAI_DINGTALK_ROBOT_URL = "…"``;
    a table, such as ``ZHENGGAI_DINGTALK_USERS``, is read as its JSON): secrets kept out of the
    environment; a variable set in the environment wins over the file.

``ZHENGGAI_CHAIN_KEY`` is read by the Engine itself.  SQLAlchemy and the engine are imported
only when an engine is built, so that importing this module costs nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from .engine.errors import InvalidInput, NotInitialised, StorageUnavailable
from .i18n import Text

if TYPE_CHECKING:
    from .engine.service import Engine


def engine_from_env(
    db: str | None = None,
    *,
    as_of: str | None = None,
    backdate: bool = False,
    check_schema: bool = True,
    environ: Mapping[str, str] | None = None,
) -> Engine:
    """An Engine on ``db`` (else ``ZHENGGAI_DB``, else ``./zhenggai.db``) with the notifiers the
    environment configures; reading as of ``as_of`` if given (writes then only with
    ``backdate``: data entry of the past, recorded as such).

    With ``check_schema`` (every caller except ``init`` and ``restore``) a missing SQLite file is
    refused before anything creates it, and so is a schema behind this version: both
    :class:`NotInitialised`, saying to run ``zhenggai init``."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from .engine.service import Engine
    from .storage.database import resolve_url

    try:
        url = resolve_url(db)
    except (ValueError, ArgumentError) as exc:
        raise _unusable_url(exc) from None
    if check_schema and url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        raise NotInitialised(
            Text(
                f"数据库文件不存在（{url}）：请先运行 zhenggai init",
                f"no database file at {url}: run zhenggai init first",
            )
        )
    try:
        engine = Engine(url, as_of=as_of, backdate=backdate)
    except (ValueError, ArgumentError, NoSuchModuleError) as exc:
        raise _unusable_url(exc) from None
    add_notifiers(engine, environ)
    calendar_file = (os.environ if environ is None else environ).get("ZHENGGAI_CALENDAR_FILE")
    if calendar_file:
        engine.use_calendar_file(calendar_file)
    if check_schema:
        require_current_schema(engine)
    return engine


def _unusable_url(exc: Exception) -> InvalidInput:
    return InvalidInput(Text(f"数据库地址不可用：{exc}", f"the database URL is not usable: {exc}"), field="db")


def require_current_schema(engine: Engine) -> None:
    """Refuse a database that cannot be reached, or whose schema is missing or behind."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        cur, head = engine.db.current_revision(), engine.db.head_revision()
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        raise StorageUnavailable(Text(f"无法连接数据库：{reason}", f"cannot reach the database: {reason}")) from None
    if cur != head:
        what = (
            Text("数据库尚未初始化", "the database is not initialised")
            if cur is None
            else Text(f"数据库结构版本 {cur} 落后于 {head}", f"the schema is at {cur}, behind {head}")
        )
        raise NotInitialised(
            Text(
                f"{what.zh}（{engine.db.url}）：请先运行 zhenggai init",
                f"{what.en} ({engine.db.url}): run zhenggai init first",
            )
        )


def add_notifiers(engine: Engine, environ: Mapping[str, str] | None = None) -> Engine:
    """The notifiers the environment configures (each registered notifier type reads its own
    variables: ``engine.notifiers``'s ``configured_notifiers``), added to ``engine``; each one
    also becomes a channel every notice is sent to (the log always is one).  Returns ``engine``."""
    from .engine.notifiers import configured_notifiers

    env = os.environ if environ is None else environ
    for notifier in configured_notifiers(notifier_settings(env)):
        engine.notifiers.add(notifier)
        engine.channels.append(notifier.name)
    return engine


FILE_VARIABLE = "ZHENGGAI_NOTIFIERS_FILE"


def notifier_settings(env: Mapping[str, str]) -> dict[str, str]:
    """The notifiers' settings: those of the ``ZHENGGAI_CALENDAR_FILE``
    an office's calendar file: holidays and make-up working days by date, extending or
    overriding chinese-calendar (see ``engine/calendars/corrections.py``).
``ZHENGGAI_NOTIFIERS_FILE`` TOML file, if named,
    under the environment's own; a file that cannot be read is refused naming it and the line."""
    import json
    import tomllib

    path = env.get(FILE_VARIABLE)
    if not path:
        return dict(env)
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(
            Text(f"通知配置文件 {path} 无法读取：{exc}", f"the notifier settings file {path} cannot be read: {exc}"),
            field=FILE_VARIABLE,
        ) from None
    settings = {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in raw.items()}
    return {**settings, **env}
