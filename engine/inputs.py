"""Checks of what callers hand the engine: text, codes, units, dates, evidence URIs.

Each check returns the value as the engine stores it (stripped, normalised) or raises
:class:`InvalidInput` naming the field, before any transaction opens.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from ..i18n import Text
from .actors import has_dot_segment, hostile_text, id_problem, person_id
from .errors import InvalidInput

#: an issue's or a round's code: what an HTTP path can name (no "/") and nothing after it (\Z,
#: not $, which would let "R1\n" pass as a twin of "R1")
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}\Z")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
EVIDENCE_SCHEMES = frozenset({"https", "http", "oa", "s3", "zhenggai"})  # zhenggai: kept by the console
MAX_TEXT = 500
MAX_LONG_TEXT = 20_000
MAX_VERSION = 1_000_000
#: what :data:`actors.HOSTILE` refuses, but for the line feeds and tabs that free text may hold
_HOSTILE_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def need_text(value: Any, fld: str, *, limit: int = MAX_TEXT, required: bool = True) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput(Text(f"{fld} 不能为空", f"{fld} must not be empty"), field=fld)
        return ""
    if not isinstance(value, str):
        raise InvalidInput(Text(f"{fld} 应为文本", f"{fld} must be text"), field=fld)
    value = value.replace("\r\n", "\n").replace("\r", "\n").strip()  # form text arrives with CRLF
    if len(value) > limit:
        raise InvalidInput(
            Text(f"{fld} 过长：{len(value)} 字，上限 {limit}", f"{fld} is too long: {len(value)} > {limit}"), field=fld
        )
    if _HOSTILE_IN_TEXT.search(value) or not encodable(value):
        raise InvalidInput(Text(f"{fld} 含有控制字符", f"{fld} contains control characters"), field=fld)
    return value


def optional_text(value: Any, fld: str, *, limit: int = MAX_TEXT) -> str | None:
    """Text that may be left out: None when it is."""
    return need_text(value, fld, limit=limit, required=False) or None


def need_person(value: Any, fld: str, *, required: bool = True) -> str | None:
    """A person's id (an owner, a lead), as actors' ids are stored: normalised, with no
    invisible or look-alike characters (such a name could never act as itself)."""
    text = need_text(value, fld, limit=128, required=required)
    if not text:
        return None
    problem = id_problem(text)
    if problem is not None:
        raise InvalidInput(
            Text(f"{fld} {text!r} 不可用：{problem.zh}", f"{fld} {text!r} is not usable: {problem.en}"), field=fld
        )
    return person_id(text)


def encodable(value: str) -> bool:
    """Whether text can be stored at all: a lone surrogate (from a broken UTF-16 decode) has
    no UTF-8 form, and the database would refuse it half-way through a write."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def need_unit(value: Any) -> str:
    """An org path, stored normalised (``/省局 / 财务处/`` is ``省局/财务处``) so that scope
    checks in SQL and in Python agree."""
    text = need_text(value, "unit")
    parts = [p.strip() for p in text.split("/")]
    path = "/".join(p for p in parts if p)
    if not path:
        raise InvalidInput(Text("责任部门不能为空", "unit must not be empty"), field="unit")
    if has_dot_segment(path):
        raise InvalidInput(
            Text(f"责任部门 {path} 不能含 . 或 .. 段", f"unit {path} must not have . or .. segments"), field="unit"
        )
    if "*" in path:  # "*" is every unit in a scope: no unit may be called so
        raise InvalidInput(Text(f"责任部门 {path} 不能含 *", f"unit {path} must not hold *"), field="unit")
    return path


def need_code(value: Any, fld: str) -> str:
    if not isinstance(value, str) or not CODE_RE.match(value):
        raise InvalidInput(
            Text(
                f"{fld} {value!r} 不合规：须为 1-64 位字母、数字或 . _ -",
                f"{fld} {value!r} must be 1-64 letters, digits or . _ -",
            ),
            field=fld,
        )
    return value


def need_date(value: Any, fld: str, *, required: bool = False) -> date | None:
    if value is None or value == "":
        if required:
            raise InvalidInput(Text(f"{fld} 不能为空", f"{fld} must not be empty"), field=fld)
        return None
    if isinstance(value, datetime):
        return _bounded_date(value.date(), fld)
    if isinstance(value, date):
        return _bounded_date(value, fld)
    try:
        parsed = date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(
            Text(f"{fld} {value!r} 不是日期（应为 YYYY-MM-DD）", f"{fld} {value!r} is not a date (YYYY-MM-DD)"),
            field=fld,
        ) from None
    return _bounded_date(parsed, fld)


def required_date(value: Any, fld: str) -> date:
    d = need_date(value, fld, required=True)
    assert d is not None
    return d


def _bounded_date(value: date, fld: str) -> date:
    if not 1900 <= value.year <= 2200:
        raise InvalidInput(
            Text(f"{fld} {value} 超出合理范围（1900-2200 年）", f"{fld} {value} is out of range (1900-2200)"), field=fld
        )
    return value


def need_version(value: Any, fld: str = "version") -> int:
    if not (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_VERSION):
        raise InvalidInput(Text("版本号应为 1-1000000", "a version is 1 to 1,000,000"), field=fld)
    return value


def uri_hostile(uri: str) -> bool:
    """Whether an evidence URI hides something: whitespace or control characters, or a ``..``
    segment however written (``%2e%2e``, ``%252e%252e``, ``..\\``, ``..;``), in the path or
    as the host."""
    text = uri
    for _ in range(4):  # percent-decoding until nothing changes: double encoding is one more step
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    else:
        return True  # encoded more deeply than any real URI is
    if any(ch.isspace() or hostile_text(ch) for ch in uri + text):
        return True
    rest = text.split(":", 1)[-1].replace("\\", "/")
    return any(seg.split(";", 1)[0].strip() == ".." for seg in rest.split("/"))


def need_evidence_uri(value: Any) -> str:
    uri = need_text(value, "uri", limit=2000)
    parts = urlsplit(uri)
    if parts.scheme.lower() not in EVIDENCE_SCHEMES or not (parts.netloc or parts.path):
        raise InvalidInput(
            Text(
                f"证据地址须为 {'/'.join(sorted(EVIDENCE_SCHEMES))} 协议的 URI：{uri!r}",
                f"evidence URI must use {'/'.join(sorted(EVIDENCE_SCHEMES))}: {uri!r}",
            ),
            field="uri",
        )
    if "@" in parts.netloc:  # a password or token in the address would be stored and shown to everyone
        raise InvalidInput(
            Text(
                f"证据地址不能含用户名或密码：{parts.scheme}://…@{parts.hostname}",
                f"evidence URI must not hold a user name or password: {parts.scheme}://…@{parts.hostname}",
            ),
            field="uri",
        )
    if uri_hostile(uri):
        raise InvalidInput(
            Text(
                f"证据地址不能含空白、控制字符或 .. 段（含编码形式和反斜杠）：{uri!r}",
                f"evidence URI must not hold whitespace, control characters or .. segments "
                f"(encoded or with backslashes): {uri!r}",
            ),
            field="uri",
        )
    return uri


def need_sha256(value: Any) -> str:
    sha = (value or "").strip().lower() if isinstance(value, str) else ""
    if not SHA256_RE.match(sha):
        raise InvalidInput(Text("sha256 应为 64 位十六进制", "sha256 must be 64 hex digits"), field="sha256")
    return sha


def add_months(d: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end (3 months after 11-30 is 02-28)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")
