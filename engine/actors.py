"""Who is acting: the OA system asserts an actor's id, roles and org scope on every call."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from ..i18n import Text

ALL_ORGS = "*"
MAX_ID = 128  # the width of every actor column in storage
MAX_SCOPE = 500  # the width of the unit column


#: what normalising a path would change: a segment with space around it, an empty segment
_UNNORMAL = re.compile(r"(?:^|/)\s|\s(?:/|$)|//|^/|/$")


def norm_path(path: str) -> str:
    if not _UNNORMAL.search(path):
        return path  # already as stored (asked on every read of an issue: the common case is one scan)
    return "/".join(part.strip() for part in path.strip().strip("/").split("/") if part.strip())


def has_dot_segment(path: str) -> bool:
    """Whether a normalised path has a ``.`` or ``..`` segment: ``省局/稽查局/../财务处`` is not
    below ``省局/稽查局`` whatever its text says, so no such path is a unit or a scope."""
    return "." in path and any(part in (".", "..") for part in path.split("/"))


def within(unit: str, prefix: str) -> bool:
    """Whether normalised ``unit`` is ``prefix`` or lies below it, segment by segment:
    ``省局/稽查局`` takes ``省局/稽查局/一科`` but not ``省局/稽查局二``."""
    return unit == prefix or unit.startswith(prefix + "/")


#: control characters (C0, DEL, C1) and the bidi overrides that make text read otherwise than
#: it is stored (U+202A-U+202E, U+2066-U+2069)
HOSTILE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def hostile_text(value: str) -> bool:
    """Whether ``value`` holds a character of :data:`HOSTILE`."""
    return HOSTILE.search(value) is not None


_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e")


def person_id(value: str) -> str:
    """An actor id as it is stored and compared: NFKC (full-width letters become ASCII),
    stripped, case-folded — so ``LI.MING``, ``ｌｉ.ｍｉｎｇ`` and ``li.ming`` are one person, as
    they are in an OA system's directory."""
    return unicodedata.normalize("NFKC", value).strip().casefold()


def same_person(a: str | None, b: str | None) -> bool:
    """Whether two ids (one stored, one acting, either written however) name one person."""
    return a is not None and b is not None and person_id(a) == person_id(b)


def id_problem(value: str) -> Text | None:
    """Why ``value`` cannot be an actor's id: invisible characters, spaces inside it, or letters
    of two scripts that look alike (a Cyrillic ``а`` in a Latin name); None if it can."""
    norm = person_id(value)
    if any(ch in _INVISIBLE or unicodedata.category(ch) in ("Cf", "Zl", "Zp") for ch in value):
        return Text("含有不可见字符", "it holds invisible characters")
    if any(ch.isspace() for ch in norm):
        return Text("含有空格", "it holds spaces")
    scripts = {unicodedata.name(ch, "").split(" ", 1)[0] for ch in norm if ch.isalpha() and ord(ch) < 0x2E80}
    if "LATIN" in scripts and scripts & {"CYRILLIC", "GREEK"}:
        return Text(
            "混用了形近的字母（如拉丁字母与西里尔字母）",
            "it mixes look-alike letters of two scripts (Latin and Cyrillic or Greek)",
        )
    return None


@dataclass(frozen=True, slots=True)
class Actor:
    """A person (or the scheduler) acting in one or more roles over some org units.

    ``scope`` lists org paths such as ``省税务局/征管科技处``; an actor sees an issue whose unit
    is one of them or lies below one of them.  ``*`` means every unit (the scheduler, and
    an inspection office that oversees every inspected body).
    """

    id: str
    roles: frozenset[str] = field(default_factory=frozenset)
    scope: tuple[str, ...] = (ALL_ORGS,)
    name: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise ValueError(Text("操作人标识不能为空", "actor id must not be empty").render())
        if len(self.id) > MAX_ID or hostile_text(self.id):
            raise ValueError(
                Text(
                    f"操作人标识过长（上限 {MAX_ID}）或含控制字符",
                    f"actor id longer than {MAX_ID} or has control characters",
                ).render()
            )
        problem = id_problem(self.id)
        if problem is not None:
            raise ValueError(
                Text(
                    f"操作人标识 {self.id!r} 不可用：{problem.zh}", f"actor id {self.id!r} is not usable: {problem.en}"
                ).render()
            )
        object.__setattr__(self, "id", person_id(self.id))
        if isinstance(self.roles, str) or isinstance(self.scope, str):
            # frozenset("owner") would be five one-letter roles, tuple("省局") two one-character units
            raise ValueError(
                Text(
                    "角色和组织范围须为列表，而不是一段文本", "roles and scope must be collections, not one string"
                ).render()
            )
        object.__setattr__(self, "roles", frozenset(self.roles))
        if any(not isinstance(r, str) or not r.strip() or len(r) > MAX_ID or hostile_text(r) for r in self.roles):
            raise ValueError(Text("角色名须为非空文本", "role names must be non-empty text").render())
        if any(not isinstance(s, str) or len(s) > MAX_SCOPE or hostile_text(s) for s in self.scope):
            raise ValueError(
                Text(
                    f"组织范围须为文本（上限 {MAX_SCOPE} 字），不含控制字符",
                    f"an org scope must be text of at most {MAX_SCOPE} characters without control characters",
                ).render()
            )
        scope = tuple(ALL_ORGS if s.strip() == ALL_ORGS else norm_path(s) for s in self.scope)
        if any(not s for s in scope):
            raise ValueError(Text("组织范围不能为空路径", "org scope holds an empty path").render())
        if any(has_dot_segment(s) for s in scope):
            raise ValueError(Text("组织范围不能含 . 或 .. 段", "an org scope must not have . or .. segments").render())
        object.__setattr__(self, "scope", scope)

    def covers(self, unit: str) -> bool:
        """Whether ``unit`` lies inside this actor's scope.

        Paths compare segment by segment, so ``省局/稽查局`` covers ``省局/稽查局/一科`` but not
        ``省局/稽查局二``.
        """
        if not isinstance(unit, str):
            return False
        target = norm_path(unit)
        if not target or has_dot_segment(target):
            return False
        return any(s == ALL_ORGS or within(target, s) for s in self.scope)


SYSTEM = Actor("system", frozenset({"system"}), (ALL_ORGS,), name="scheduler")
#: the id only the scheduler acts under: nobody from outside may assert it
RESERVED_IDS = frozenset({SYSTEM.id})


def need_outside_actor(actor: Actor) -> Actor:
    """An actor asserted from outside (by an OA system, on the command line): not the scheduler."""
    if actor.id in RESERVED_IDS:
        raise ValueError(
            Text(
                f"操作人标识 {actor.id} 保留给定时督办程序", f"the actor id {actor.id} is reserved for the scheduler"
            ).render()
        )
    return actor
