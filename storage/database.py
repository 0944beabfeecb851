"""Connections and transactions, for SQLite (the embedded default) and PostgreSQL.

Each engine call runs in one transaction from :meth:`Database.write` or :meth:`Database.read`.
On SQLite, write transactions start with ``BEGIN IMMEDIATE`` so that two writers queue on the
database lock instead of failing halfway with a stale snapshot; the journal is WAL with
``synchronous=NORMAL`` (a committed transaction survives a process crash; a power cut may lose
the last few, never corrupt the file).  On PostgreSQL rows are locked with ``FOR UPDATE``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import Engine as SAEngine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import OperationalError as SAOperationalError

DEFAULT_URL = "sqlite:///zhenggai.db"
SUPPORTED = ("sqlite", "postgresql")
ENV_VAR = "ZHENGGAI_DB"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def resolve_url(url: str | None = None) -> str:
    """An explicit URL, else ``ZHENGGAI_DB``, else ``./zhenggai.db``; a bare path means SQLite."""
    url = url or os.environ.get(ENV_VAR) or DEFAULT_URL
    if "://" not in url:
        url = f"sqlite:///{url}"
    u = make_url(url)
    if u.drivername == "postgresql" or u.drivername == "postgres":
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


_ALEMBIC_LOCK = threading.Lock()


class DatabaseBusy(Exception):
    """The database stayed locked by other writers for longer than the busy timeout."""


class DatabaseUnavailable(Exception):
    """The database could not be reached or opened."""


def _translate(exc: BaseException) -> BaseException | None:
    """Storage failures a caller can act on, as our own exceptions; None for anything else."""
    orig = getattr(exc, "orig", exc)
    text = str(orig).lower()
    name = type(orig).__name__
    if "database is locked" in text or "database is busy" in text or name in ("LockNotAvailable", "DeadlockDetected"):
        return DatabaseBusy(str(orig))
    unreachable = ("connection", "unable to open", "could not", "no such host", "refused", "timeout")
    if (isinstance(exc, SAOperationalError) or name == "OperationalError") and any(w in text for w in unreachable):
        return DatabaseUnavailable(str(orig))
    return None


class _Transaction:
    """``with db.write() as conn``: one transaction, its storage errors translated.

    A class rather than a generator-based context manager because it runs once per engine
    call and the fire path counts microseconds.

    SQLite: each thread keeps one connection (no pool round trip per call), and the
    transaction is opened and ended on the driver connection itself: a fire runs only
    prepared statements (see prepared.py), and SQLAlchemy's transaction bookkeeping would cost
    more than the statements.  If Core statements run inside, SQLAlchemy joins the open
    transaction (its begin hook sees it) and we end it through SQLAlchemy instead.
    PostgreSQL: a pooled connection and an ordinary SQLAlchemy transaction.
    """

    __slots__ = ("conn", "db", "immediate", "outer")

    def __init__(self, db: Database, *, immediate: bool) -> None:
        self.db = db
        self.immediate = immediate
        self.conn: Connection | None = None
        self.outer: Any = None

    def __enter__(self) -> Connection:
        try:
            if not self.db.is_sqlite:
                self.outer = self.db.engine.connect()
                self.conn = self.outer.__enter__()
                self.conn.begin()
                return self.conn
            conn = self.conn = self.db._thread_connection()
            raw = conn.connection.driver_connection
            if raw.in_transaction:  # left open by a failed commit: never carry it into this call
                raw.rollback()
            raw.execute("BEGIN IMMEDIATE" if self.immediate else "BEGIN")
            return conn
        except (SAOperationalError, sqlite3.OperationalError, DBAPIError) as exc:
            if self.outer is not None:
                self.outer.__exit__(None, None, None)
            raise _translate(exc) or exc from exc

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        conn = self.conn
        assert conn is not None
        try:
            if self.db.is_sqlite:
                raw = conn.connection.driver_connection
                if exc_type is None:
                    if conn.in_transaction():
                        conn.commit()
                    elif raw.in_transaction:
                        raw.commit()
                elif conn.in_transaction():
                    conn.rollback()
                elif raw.in_transaction:
                    raw.rollback()
            elif exc_type is None:
                conn.commit()
            else:
                conn.rollback()
        except (SAOperationalError, sqlite3.OperationalError, DBAPIError) as failure:
            raise _translate(failure) or failure from failure
        finally:
            if self.outer is not None:
                self.outer.__exit__(None, None, None)
        if exc is not None and isinstance(exc, (SAOperationalError, sqlite3.OperationalError, DBAPIError)):
            mapped = _translate(exc)
            if mapped is not None:
                raise mapped from exc


class Database:
    def __init__(self, url: str | None = None, **engine_kwargs: Any) -> None:
        self.url = resolve_url(url)
        backend = make_url(self.url).get_backend_name()
        if backend not in SUPPORTED:
            raise ValueError(
                f"{backend} is not supported: use SQLite (a file path) or PostgreSQL (postgresql://…) "
                f"(不支持 {backend} 数据库：请用 SQLite 或 PostgreSQL)"
            )
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite and make_url(self.url).database in (None, "", ":memory:"):
            raise ValueError(
                "an in-memory SQLite database vanishes between connections; give a file path instead "
                "(内存数据库在连接之间不保留数据，请指定文件路径)"
            )
        if self.is_sqlite:
            if "timeout" not in make_url(self.url).query:  # how long a writer waits for the lock
                engine_kwargs.setdefault("connect_args", {}).setdefault("timeout", 30)
            # one connection per thread is kept (see _transaction), so never make a thread wait
            engine_kwargs.setdefault("max_overflow", -1)
        else:
            engine_kwargs.setdefault("pool_pre_ping", True)
            # a server worker runs up to 40 requests at once (the ASGI thread pool); let each
            # have a connection rather than queue on a pool of five
            engine_kwargs.setdefault("pool_size", 20)
            engine_kwargs.setdefault("max_overflow", 20)
        self._local = threading.local()
        self.engine: SAEngine = create_engine(self.url, **engine_kwargs)
        if self.is_sqlite:
            _sqlite_setup(self.engine)

    def write(self) -> _Transaction:
        """One read-write transaction: committed on success, rolled back on any exception."""
        return _Transaction(self, immediate=True)

    def read(self) -> _Transaction:
        return _Transaction(self, immediate=False)

    def _thread_connection(self) -> Connection:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.invalidated:
            conn = self._local.conn = self.engine.connect()
        return conn

    def dispose(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
        self.engine.dispose()

    # --- schema -------------------------------------------------------------------------

    def alembic_config(self, connection: Connection | None = None):  # type: ignore[no-untyped-def]
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        cfg.attributes["connection"] = connection
        return cfg

    def upgrade(self, target: str = "head") -> str:
        """Create or upgrade the schema to ``target`` (the newest revision); returns it."""
        from alembic import command

        # Alembic keeps its migration context in module globals: one upgrade per process at a time
        with _ALEMBIC_LOCK, self._storage_errors(), self.engine.connect() as conn:
            # two `zhenggai init` at once (processes or nodes): the second waits, then finds it done
            if self.is_sqlite:
                conn.connection.driver_connection.execute("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7423351049)")
            command.upgrade(self.alembic_config(conn), target)
            conn.commit()
            raw = conn.connection.driver_connection
            if self.is_sqlite and raw.in_transaction:
                raw.commit()
        return self.current_revision() or ""

    @contextmanager
    def _storage_errors(self) -> Iterator[None]:
        try:
            yield
        except (SAOperationalError, sqlite3.OperationalError, DBAPIError) as exc:
            mapped = _translate(exc)
            if mapped is None:
                raise
            raise mapped from exc

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str:
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self.alembic_config()).get_current_head() or ""


SQLITE_CACHE_KIB = 2000  # SQLite's default page cache, what each kept connection holds
LARGE_CACHE_KIB = 65536


@contextmanager
def large_cache(conn: Connection) -> Iterator[None]:
    """64 MB of SQLite page cache for one large write (the default is 2 MB): a 100,000-row
    import in one transaction otherwise spills and rereads its index pages.  Only for that
    write: each thread keeps its connection, and a cache left large would keep what it read
    (60 MB after one sweep over 100,000 issues).  Nothing on PostgreSQL."""
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = conn.connection.driver_connection
    raw.execute(f"PRAGMA cache_size=-{LARGE_CACHE_KIB}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")  # lowering it frees the pages


@contextmanager
def savepoint(conn: Connection, name: str = "zhenggai_item") -> Iterator[None]:
    """A savepoint on the driver connection: rolled back to (and released) if the block
    raises.  The sweep takes one per issue, so this costs two short statements, not
    SQLAlchemy's nested-transaction bookkeeping with a fresh name (and a fresh compile) each."""
    raw = conn.connection.driver_connection
    raw.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        raw.execute(f"ROLLBACK TO SAVEPOINT {name}")
        raw.execute(f"RELEASE SAVEPOINT {name}")
        raise
    raw.execute(f"RELEASE SAVEPOINT {name}")


def _sqlite_setup(engine: SAEngine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, record: Any) -> None:
        # let SQLAlchemy's begin event issue BEGIN itself (pysqlite's own handling is off)
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        if cur.execute("PRAGMA journal_mode").fetchone()[0].lower() not in ("wal", "memory"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        # temp_store stays at its default (a file): in memory, the sort of one count over a
        # million issues holds 35 MB, for 0.2 s saved on a sweep of 10,000 escalations
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # straight on the driver connection; a transaction _transaction opened is joined
        raw = conn.connection.driver_connection
        if not raw.in_transaction:
            raw.execute("BEGIN")  # a read, or Alembic: SQLite takes the write lock when it needs it
