"""The hash chain over an issue's events: each event's hash covers its content and the hash
before it, so editing, deleting or reordering any row breaks every hash after it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..i18n import Text

GENESIS = "0" * 64
HASHED_FIELDS = (
    "seq",
    "kind",
    "trigger",
    "from_state",
    "to_state",
    "actor_id",
    "role",
    "at",
    "comment",
    "data",
    "request_id",
)


def _at(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat("T", "microseconds") + "Z"


def event_hash(issue_code: str, prev_hash: str, values: dict[str, Any]) -> str:
    """sha256 over the previous hash and a canonical JSON array of the event's fields, in
    the fixed order of ``HASHED_FIELDS`` followed by the issue code."""
    body = [values.get(k) for k in HASHED_FIELDS]
    body[7] = _at(values["at"])
    body.append(issue_code)
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + payload).encode("utf-8")).hexdigest()


@dataclass
class ChainReport:
    issue: str
    events: int = 0
    problems: list[tuple[int, Text]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "issue": self.issue,
            "ok": self.ok,
            "events": self.events,
            "problems": [{"seq": s, "reason": t.to_dict()} for s, t in self.problems],
        }


def verify_chain(issue_code: str, rows: Iterable[Any], *, head_hash: str, head_seq: int, state: str) -> ChainReport:
    """Recompute every hash; also check the issue row agrees with the chain's head and state."""
    rep = ChainReport(issue_code)
    prev = GENESIS
    expected_seq = 1
    last_state: str | None = None
    for r in rows:
        rep.events += 1
        if r.seq != expected_seq:
            rep.problems.append(
                (
                    r.seq,
                    Text(
                        f"序号不连续：应为 {expected_seq}，实为 {r.seq}（记录被删除或重排）",
                        f"sequence gap: expected {expected_seq}, found {r.seq} (a row was deleted or reordered)",
                    ),
                )
            )
            expected_seq = r.seq
        if r.prev_hash != prev:
            rep.problems.append(
                (
                    r.seq,
                    Text(
                        "前序哈希不符：之前的记录被改动、删除或重排",
                        "previous hash does not match: an earlier row was changed, deleted or reordered",
                    ),
                )
            )
        values = {k: getattr(r, k) for k in HASHED_FIELDS}
        if event_hash(issue_code, r.prev_hash, values) != r.hash:
            rep.problems.append(
                (
                    r.seq,
                    Text("记录内容与哈希不符：该记录被改动", "content does not match its hash: this row was edited"),
                )
            )
        prev = r.hash
        expected_seq += 1
        if r.to_state is not None:
            last_state = r.to_state
    if rep.events and (prev != head_hash or expected_seq - 1 != head_seq):
        rep.problems.append(
            (
                head_seq,
                Text(
                    "问题记录的链头与历史不符：最新记录被删除或问题被直接修改",
                    "the issue's chain head does not match its history: the newest rows were deleted or the issue was edited directly",
                ),
            )
        )
    if last_state is not None and last_state != state:
        rep.problems.append(
            (
                head_seq,
                Text(
                    f"问题状态 {state} 与历史记录的状态 {last_state} 不符（被绕过引擎修改）",
                    f"the issue's state {state} differs from its history's {last_state} (changed behind the engine)",
                ),
            )
        )
    if not rep.events:
        rep.problems.append((0, Text("没有任何历史记录", "there is no history at all")))
    return rep
