"""Online backup and restore of the SQLite database, through SQLite's backup API.

A backup is read in one step from a snapshot, so writers carry on meanwhile (WAL: readers
never block them) and the copy is of one consistent moment, never a file copied halfway
through a write.  It is written to a temporary file beside the target and moved into place,
so a failed backup leaves no half-written file under the target's name.

A restore first checks the file: an SQLite database (its header), undamaged
(``PRAGMA integrity_check``), a zhenggai database at a revision this version knows, with
zhenggai's schema (no trigger or view of its own, no index or column changed) and a history
that verifies.  And whatever its schema says in ways those checks cannot see (a unique index
narrowed by a WHERE clause, a CHECK in a table's SQL), only its rows go live: they are copied
into a database freshly created at the head revision, under zhenggai's own constraints.  It is
copied to a staging file beside the live database and upgraded there if it is older; only
then is it copied into the live database, again through the backup API, which other
connections see as one write.  Anything refused leaves the live database as it was.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from ..i18n import Text
from .database import Database

SQLITE_HEADER = b"SQLite format 3\x00"


class BackupRefused(Exception):
    """``kind``: ``unsupported`` (not SQLite), ``invalid`` (not a usable zhenggai database),
    ``conflict`` (would overwrite something without ``force``)."""

    def __init__(self, kind: str, text: Text) -> None:
        super().__init__(text.render())
        self.kind = kind
        self.text = text


@dataclass
class BackupInfo:
    path: str
    revision: str | None
    issues: int
    events: int
    bytes: int
    upgraded_from: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("path", "revision", "issues", "events", "bytes", "upgraded_from")}


def _sqlite_path(db: Database) -> Path:
    if not db.is_sqlite:
        raise BackupRefused(
            "unsupported",
            Text(
                "备份与恢复命令只用于 SQLite；PostgreSQL 请用 pg_dump 备份、pg_restore（或 psql）恢复",
                "backup and restore are for SQLite; for PostgreSQL use pg_dump to back up and pg_restore "
                "(or psql) to restore",
            ),
        )
    return Path(make_url(db.url).database or "")


def _connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    if read_only:
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30, isolation_level=None)
    return sqlite3.connect(path, timeout=30, isolation_level=None)


def _counts(conn: sqlite3.Connection) -> tuple[int, int]:
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not {"issues", "events"} <= tables:
        return 0, 0
    return (
        conn.execute("SELECT COUNT(*) FROM issues").fetchone()[0],
        conn.execute("SELECT COUNT(*) FROM events").fetchone()[0],
    )


def _revision(conn: sqlite3.Connection) -> str | None:
    # a crafted file may put a view there (a recursive one never ends): only a table is read
    kind = conn.execute("SELECT type FROM sqlite_master WHERE name = 'alembic_version'").fetchone()
    if kind is None or kind[0] != "table":
        return None
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    return row[0] if row else None


def _quoted(name: str) -> str:
    """An SQL identifier, whatever it holds (a table named ``a"b`` included)."""
    return '"' + name.replace('"', '""') + '"'


#: what a check of an untrusted file may spend before it is refused as unreadable
CHECK_SECONDS = 120


def _bounded(conn: sqlite3.Connection, seconds: float = CHECK_SECONDS) -> None:
    """Abort any statement on ``conn`` once ``seconds`` have passed (a crafted file's views or
    expressions could otherwise keep a restore at 100 % CPU for ever)."""
    deadline = time.monotonic() + seconds
    conn.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 100_000)


def _temp_beside(target: Path, what: str) -> Path:
    return target.with_name(f".{target.name}.{what}-{os.getpid()}.tmp")


def _remove_stale(target: Path) -> None:
    """Staging files of earlier backups or restores whose process is gone (killed half-way):
    each can be as large as the database, so none is left to pile up."""
    for path in target.parent.glob(f".{target.name}.*-*.tmp*"):
        pid = path.name.rsplit("-", 1)[-1].split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                path.unlink()
        except PermissionError:
            continue  # another user's process, alive


def _unlink(path: Path) -> None:
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def backup(db: Database, target: Path, *, force: bool = False) -> BackupInfo:
    """Copy the live database to ``target`` while it stays in use."""
    source = _sqlite_path(db)
    target = Path(target)
    if target.exists() and target.resolve() == source.resolve():
        raise BackupRefused(
            "invalid", Text("不能把数据库备份到它自身", "cannot back a database up onto itself; nothing was changed")
        )
    if target.exists() and not force:
        raise BackupRefused(
            "conflict",
            Text(f"文件 {target} 已存在；要覆盖请加 --force", f"{target} already exists; add --force to overwrite it"),
        )
    if not target.parent.is_dir():
        raise BackupRefused(
            "invalid", Text(f"目录 {target.parent} 不存在", f"the directory {target.parent} does not exist")
        )
    tmp = _temp_beside(target, "backup")
    _remove_stale(target)
    _unlink(tmp)
    src = _connect(source)  # only read; a plain connection so that the live WAL is seen
    try:
        dst = _connect(tmp)
        try:
            src.backup(dst)  # all pages in one step: one read snapshot, writers go on
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            issues, events = _counts(dst)
            revision = _revision(dst)
        finally:
            dst.close()
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        _unlink(tmp)
        raise
    finally:
        src.close()
    return BackupInfo(str(target), revision, issues, events, target.stat().st_size)


def check_backup(path: Path, known_revisions: set[str], *, shown: Path | None = None) -> tuple[str, int, int]:
    """The file's revision, issue and event counts, if it is an undamaged zhenggai database
    at a revision this version knows; refused otherwise."""
    path = Path(path)

    def invalid(zh: str, en: str) -> BackupRefused:
        name = shown or path  # the file the user named, not a staging copy of it
        return BackupRefused("invalid", Text(f"{name}：{zh}，未做任何修改", f"{name}: {en}; nothing was changed"))

    try:
        with open(path, "rb") as f:
            header = f.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise invalid(f"无法读取（{exc.strerror}）", f"cannot be read ({exc.strerror})") from None
    if header != SQLITE_HEADER:
        raise invalid("不是 SQLite 数据库文件", "is not an SQLite database file")
    try:
        conn = _connect(path, read_only=True)
        _bounded(conn)
        try:
            result = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
            if result != ["ok"]:
                raise invalid(
                    f"文件已损坏（integrity_check：{'; '.join(result[:3])}）",
                    f"the file is damaged (integrity_check: {'; '.join(result[:3])})",
                )
            revision = _revision(conn)
            if revision is None:
                raise invalid("不是 zhenggai 数据库（没有结构版本）", "is not a zhenggai database (no schema revision)")
            if revision not in known_revisions:
                raise invalid(
                    f"结构版本 {revision} 不是本版本所知的（由更新的 zhenggai 写入？）",
                    f"its schema revision {revision} is unknown to this version (written by a newer zhenggai?)",
                )
            issues, events = _counts(conn)
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc):
            raise invalid(
                f"读取超过 {CHECK_SECONDS} 秒仍未结束（文件被特意构造？）",
                f"reading it took more than {CHECK_SECONDS} s (a crafted file?)",
            ) from None
        raise invalid(f"无法作为数据库打开（{exc}）", f"cannot be opened as a database ({exc})") from None
    except sqlite3.DatabaseError as exc:
        raise invalid(f"无法作为数据库打开（{exc}）", f"cannot be opened as a database ({exc})") from None
    return revision, issues, events


def _shape(conn: sqlite3.Connection) -> dict[str, Any]:
    """What a schema is made of, independent of how it was reached (a database upgraded step
    by step and one created at the head differ in the text SQLite keeps, not in this): each
    table's columns and indexes, and every view and trigger."""
    shape: dict[str, Any] = {}
    for kind, name in conn.execute(
        "SELECT type, name FROM sqlite_master WHERE substr(name, 1, 7) <> 'sqlite_' ORDER BY type, name"
    ):
        if kind == "table":
            cols = [tuple(r[1:6]) for r in conn.execute(f"PRAGMA table_info({_quoted(name)})")]
            idx = sorted(
                (bool(r[2]), tuple(c[2] for c in conn.execute(f"PRAGMA index_info({_quoted(r[1])})")))
                for r in conn.execute(f"PRAGMA index_list({_quoted(name)})")
            )
            fks = sorted(tuple(r[2:5]) for r in conn.execute(f"PRAGMA foreign_key_list({_quoted(name)})"))
            shape[f"table {name}"] = (cols, idx, fks)
        elif kind in ("view", "trigger"):
            shape[f"{kind} {name}"] = kind
    return shape


def _expected_shape(head: str, where: Path) -> dict[str, Any]:
    fresh = _temp_beside(where, "schema")
    _unlink(fresh)
    try:
        ref = Database(f"sqlite:///{fresh}")
        try:
            ref.upgrade(head)
        finally:
            ref.dispose()
        conn = _connect(fresh, read_only=True)
        try:
            return _shape(conn)
        finally:
            conn.close()
    finally:
        for suffix in ("", "-wal", "-shm"):
            _unlink(Path(f"{fresh}{suffix}"))


def rebuild(stage: Path, head: str, *, shown: Path) -> Path:
    """The staged backup's rows, copied into a database freshly created at ``head``.

    Whatever the file's own schema says — a trigger named to look like SQLite's, a unique
    index narrowed by a WHERE clause, a CHECK or a collation in a table's SQL — none of it goes
    live: only the rows do, into zhenggai's own tables, under their constraints (a duplicate
    or a dangling reference refuses the restore)."""
    fresh = _temp_beside(stage, "rebuilt")
    _unlink(fresh)
    ref = Database(f"sqlite:///{fresh}")
    try:
        ref.upgrade(head)
    finally:
        ref.dispose()
    conn = sqlite3.connect(f"file:{fresh}", uri=True, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA foreign_keys=OFF")  # checked as a whole below: rows arrive table by table
        conn.execute("ATTACH DATABASE ? AS staged", (f"file:{stage}?mode=ro",))
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM main.sqlite_master WHERE type = 'table' AND substr(name, 1, 7) <> 'sqlite_'"
                " AND name <> 'alembic_version' ORDER BY name"
            )
        ]
        conn.execute("BEGIN")
        for table in tables:
            cols = ", ".join(f'"{r[1]}"' for r in conn.execute(f'PRAGMA main.table_info("{table}")'))
            try:
                conn.execute(f'INSERT INTO main."{table}" ({cols}) SELECT {cols} FROM staged."{table}"')
            except sqlite3.DatabaseError as exc:
                conn.execute("ROLLBACK")
                raise BackupRefused(
                    "invalid",
                    Text(
                        f"{shown}：表 {table} 的数据不能装入 zhenggai 的结构（{exc}），未做任何修改",
                        f"{shown}: the rows of table {table} do not fit zhenggai's schema ({exc}); nothing was changed",
                    ),
                ) from None
        conn.execute("COMMIT")
        dangling = conn.execute("PRAGMA main.foreign_key_check").fetchmany(3)
        if dangling:
            raise BackupRefused(
                "invalid",
                Text(
                    f"{shown}：有记录指向不存在的行（{dangling}），未做任何修改",
                    f"{shown}: rows refer to rows that do not exist ({dangling}); nothing was changed",
                ),
            )
        conn.execute("DETACH DATABASE staged")
    except BaseException:
        conn.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            _unlink(Path(f"{fresh}{suffix}"))
        raise
    conn.close()
    return fresh


def check_schema(path: Path, head: str, *, shown: Path | None = None) -> None:
    """Refuse a file whose schema is not exactly zhenggai's: a trigger that deletes sign-offs,
    a dropped unique index or a changed column would go live with the data."""
    conn = _connect(path, read_only=True)
    _bounded(conn)
    try:
        have = _shape(conn)
    except sqlite3.DatabaseError as exc:
        raise BackupRefused(
            "invalid",
            Text(
                f"{shown or path}：无法读出其结构（{exc}），未做任何修改",
                f"{shown or path}: its schema cannot be read ({exc}); nothing was changed",
            ),
        ) from None
    finally:
        conn.close()
    want = _expected_shape(head, path)
    odd = sorted({k for k in {*have, *want} if have.get(k) != want.get(k)})
    if odd:
        raise BackupRefused(
            "invalid",
            Text(
                f"{shown or path}：数据库结构与 zhenggai 的不一致（{', '.join(odd[:5])}），未做任何修改",
                f"{shown or path}: its schema is not zhenggai's ({', '.join(odd[:5])}); nothing was changed",
            ),
        )


def restore(db: Database, source: Path, *, force: bool = False, check: Any = None) -> BackupInfo:
    """Replace the live database's contents with the backup at ``source``.  ``check`` is
    called with the staged copy, upgraded, before it goes live (the engine verifies its
    history there); raising refuses the restore."""
    from alembic.script import ScriptDirectory

    target = _sqlite_path(db)
    source = Path(source)
    known = {rev.revision for rev in ScriptDirectory.from_config(db.alembic_config()).walk_revisions()}
    revision, issues, events = check_backup(source, known)
    if target.exists() and target.resolve() == source.resolve():
        raise BackupRefused(
            "invalid", Text("不能用数据库自身来恢复它", "cannot restore a database from itself; nothing was changed")
        )
    stage = _temp_beside(target, "restore")
    _remove_stale(target)
    _unlink(stage)
    try:
        src = _connect(source, read_only=True)
        dst = _connect(stage)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
            src.close()
        head = db.head_revision()
        upgraded_from = None
        if revision != head:
            staged = Database(f"sqlite:///{stage}")
            try:
                staged.upgrade()
            finally:
                staged.dispose()
            upgraded_from = revision
        revision, issues, events = check_backup(stage, known, shown=source)  # what goes live is checked
        check_schema(stage, head, shown=source)  # a file re-plumbed by hand is refused, and said so
        clean = rebuild(stage, head, shown=source)  # and what goes live is only its rows, in our schema
        if check is not None:
            check(clean)
            conn = _connect(clean)  # the check may have opened it in WAL mode: one self-contained file again
            try:
                conn.execute("PRAGMA journal_mode=DELETE")
            finally:
                conn.close()
        # only now, with the file found good, does it matter that the target holds data
        if target.exists() and not force:
            live = _connect(target)
            try:
                has = _counts(live)
            finally:
                live.close()
            if any(has):
                raise BackupRefused(
                    "conflict",
                    Text(
                        f"目标数据库 {target} 已有数据（{has[0]} 个问题、{has[1]} 条记录）；要覆盖请加 --force，未做任何修改",
                        f"the database {target} holds data ({has[0]} issues, {has[1]} events); add --force to replace "
                        "it; nothing was changed",
                    ),
                )
        db.dispose()  # this process's own connections must not keep pages of the old contents
        src = _connect(clean)
        live = _connect(target)
        try:
            src.backup(live)  # one write into the live database, its lock held throughout
        finally:
            live.close()
            src.close()
    finally:
        for base in (stage, _temp_beside(stage, "rebuilt")):
            for suffix in ("", "-wal", "-shm", "-journal"):
                _unlink(Path(f"{base}{suffix}"))
    return BackupInfo(str(target), revision, issues, events, target.stat().st_size, upgraded_from)
