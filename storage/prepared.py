"""Statements built by SQLAlchemy, compiled once per dialect, run on the driver's cursor.

Firing a trigger runs four or five tiny indexed statements.  On SQLite, executing a prebuilt
Core statement costs about four times what the statement itself costs (≈30 µs of parameter
and result processing against ≈10 µs of work), which would cap persisted transitions well
below what the embedded store can do.  So the hot path keeps SQLAlchemy for what it is good at
— generating dialect-correct SQL (paramstyle, ``FOR UPDATE``, quoting) from the typed tables —
and skips the per-call machinery: the SQL string is compiled once and executed on the same
DBAPI connection, inside the same transaction, that the SQLAlchemy ``Connection`` holds.
Values of the two column types that need it (dates and UTC datetimes) are converted here,
exactly as SQLAlchemy would store and read them.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, Generic

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.types import Date, TypeEngine

from .models import UTCDateTime
from .rows import R, check_fields


def _naive_utc(v: datetime) -> datetime:
    return (v if v.tzinfo is UTC else v.astimezone(UTC)).replace(tzinfo=None)


def _bind_converter(type_: TypeEngine[Any], dialect: str) -> Callable[[Any], Any] | None:
    if isinstance(type_, UTCDateTime):
        if dialect == "sqlite":
            # the text SQLAlchemy's SQLite DateTime stores: "YYYY-MM-DD HH:MM:SS.ffffff" (the
            # UTC offset cut off the ISO text: a quarter cheaper than replacing the tzinfo first)
            return lambda v: (
                None if v is None else (v if v.tzinfo is UTC else v.astimezone(UTC)).isoformat(" ", "microseconds")[:26]
            )
        return lambda v: None if v is None else _naive_utc(v)
    if isinstance(type_, Date) and dialect == "sqlite":
        return lambda v: None if v is None else v.isoformat()
    return None


def _result_converter(type_: TypeEngine[Any], dialect: str) -> Callable[[Any], Any] | None:
    if isinstance(type_, UTCDateTime):
        if dialect == "sqlite":
            # parsed with the offset appended: six times cheaper than parsing, then replacing tzinfo
            return lambda v: None if v is None else datetime.fromisoformat(v + "+00:00")
        return lambda v: None if v is None else v.replace(tzinfo=UTC)
    if isinstance(type_, Date) and dialect == "sqlite":
        return lambda v: None if v is None else date.fromisoformat(v)
    return None


def driver(conn: Connection) -> Any:
    """The DBAPI connection under ``conn`` (cached on it: this is asked on every statement)."""
    raw = conn.info.get("zhenggai_driver")
    if raw is None:
        raw = conn.info["zhenggai_driver"] = conn.connection.driver_connection
    return raw


class _Compiled:
    __slots__ = ("binds", "fixed", "order", "plan", "result_convert", "row_type", "sql")

    def __init__(
        self,
        stmt: ClauseElement,
        dialect: Dialect,
        bind_types: Mapping[str, TypeEngine[Any]],
        row: type[Any] | None,
    ) -> None:
        comp = stmt.compile(dialect=dialect)
        self.sql: str = comp.string
        self.order: tuple[str, ...] | None = tuple(comp.positiontup) if comp.positiontup else None
        self.binds = {n: f for n, t in bind_types.items() if (f := _bind_converter(t, dialect.name)) is not None}
        # values the statement carries itself (a LIMIT, a literal in a WHERE), merged under the
        # caller's parameters; the hot path's statements have none, so they pay nothing for it
        self.fixed = {n: v for n, v in comp.params.items() if v is not None}
        # for positional paramstyles: (name, converter or None) in the order the SQL wants
        self.plan = tuple((n, self.binds.get(n)) for n in self.order) if self.order is not None else None
        self.row_type: Any = None
        self.result_convert: list[tuple[int, Callable[[Any], Any]]] = []
        selected = getattr(stmt, "selected_columns", None)
        if selected is not None and not getattr(stmt, "is_dml", False):
            names = [c.key for c in selected]
            if row is not None:
                check_fields(row, names)
                self.row_type = row
            else:
                self.row_type = namedtuple("Row", names, rename=True)
            self.result_convert = [
                (i, f) for i, c in enumerate(selected) if (f := _result_converter(c.type, dialect.name)) is not None
            ]


class Prepared(Generic[R]):
    """One statement; ``bind_types`` names the parameters that need value conversion, ``row``
    the row type (storage/rows.py) a SELECT hands out."""

    def __init__(
        self,
        stmt: ClauseElement,
        bind_types: Mapping[str, TypeEngine[Any]] | None = None,
        row: type[R] | None = None,
    ) -> None:
        self.stmt = stmt
        self.bind_types = dict(bind_types or {})
        self.row = row
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        c = self._compiled.get(dialect.name)
        if c is None:
            c = self._compiled[dialect.name] = _Compiled(self.stmt, dialect, self.bind_types, self.row)
        return c

    def _execute(self, conn: Connection, params: Mapping[str, Any]) -> tuple[_Compiled, Any]:
        c = self._for(conn.dialect)
        if c.fixed:
            params = {**c.fixed, **params}
        args: Any
        if c.plan is not None:
            args = [params[n] if f is None else f(params[n]) for n, f in c.plan]
        elif c.binds:
            args = {k: (c.binds[k](v) if k in c.binds else v) for k, v in params.items()}
        else:
            args = params
        try:
            return c, driver(conn).execute(c.sql, args)
        except conn.dialect.loaded_dbapi.Error as exc:
            # the same exception types (IntegrityError, OperationalError …) SQLAlchemy raises
            raise DBAPIError.instance(c.sql, args, exc, conn.dialect.loaded_dbapi.Error) from exc

    def many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """The same statement for many parameter sets (``executemany``)."""
        if not rows:
            return
        c = self._for(conn.dialect)
        if c.plan is not None:
            args: Any = [[r[n] if f is None else f(r[n]) for n, f in c.plan] for r in rows]
        else:
            args = [{k: (c.binds[k](v) if k in c.binds else v) for k, v in r.items()} for r in rows]
        raw = driver(conn)
        try:
            cur = raw.cursor()
            cur.executemany(c.sql, args)
            cur.close()
        except conn.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(c.sql, args, exc, conn.dialect.loaded_dbapi.Error) from exc

    def rowcount(self, conn: Connection, params: Mapping[str, Any]) -> int:
        _, cur = self._execute(conn, params)
        n = cur.rowcount
        cur.close()
        return int(n)

    def all(self, conn: Connection, params: Mapping[str, Any]) -> list[R]:
        c, cur = self._execute(conn, params)
        raw = cur.fetchall()
        cur.close()
        if not c.result_convert:
            return [c.row_type._make(r) for r in raw]
        out = []
        for r in raw:
            vals = list(r)
            for i, f in c.result_convert:
                vals[i] = f(vals[i])
            out.append(c.row_type._make(vals))
        return out

    def first(self, conn: Connection, params: Mapping[str, Any]) -> R | None:
        rows = self.all(conn, params)
        return rows[0] if rows else None

    def scalar(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        _, cur = self._execute(conn, params)
        row = cur.fetchone()
        cur.close()
        return None if row is None else row[0]
