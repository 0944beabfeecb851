"""Who is acting: the OA system asserts an actor's id, roles and org scope on every call."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..i18n import Text

ALL_ORGS = "*"
MAX_ID = 128  # the width of every actor column in storage


def _norm_path(path: str) -> str:
    return "/".join(part.strip() for part in path.strip().strip("/").split("/") if part.strip())


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
        if len(self.id) > MAX_ID or any(ord(ch) < 32 for ch in self.id):
            raise ValueError(
                Text(
                    f"操作人标识过长（上限 {MAX_ID}）或含控制字符",
                    f"actor id longer than {MAX_ID} or has control characters",
                ).render()
            )
        object.__setattr__(self, "roles", frozenset(self.roles))
        if any(not isinstance(r, str) or not r or len(r) > MAX_ID for r in self.roles):
            raise ValueError(Text("角色名须为非空文本", "role names must be non-empty text").render())
        scope = tuple(ALL_ORGS if s.strip() == ALL_ORGS else _norm_path(s) for s in self.scope)
        if any(not s for s in scope):
            raise ValueError(Text("组织范围不能为空路径", "org scope holds an empty path").render())
        object.__setattr__(self, "scope", scope)

    def covers(self, unit: str) -> bool:
        """Whether ``unit`` lies inside this actor's scope.

        Paths compare segment by segment, so ``省局/稽查局`` covers ``省局/稽查局/一科`` but not
        ``省局/稽查局二``.
        """
        target = _norm_path(unit)
        return any(s == ALL_ORGS or target == s or target.startswith(s + "/") for s in self.scope)


SYSTEM = Actor("system", frozenset({"system"}), (ALL_ORGS,), name="scheduler")
