"""The hash chain over an issue's events, and the check that the issue's records match it.

Each event's hash covers its content and the hash before it, so editing, deleting or
reordering any row breaks every hash after it.  With a chain key (``ZHENGGAI_CHAIN_KEY``, kept
outside the database) the hash is an HMAC: someone who can write to the database but does not
hold the key cannot recompute a rewritten chain either.  Verification also replays the events
(:mod:`.replay`) and compares every stored column of the issue and its records with the result,
so a row inserted or changed behind the engine's back is found too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..i18n import Text
from ..storage.rows import EventRow, StoredEventRow

#: an event as verification reads it: through the engine, or as stored (the whole-database audit)
Event = EventRow | StoredEventRow

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


def hashed_at(value: datetime | str) -> str:
    """The time as hashed: UTC, microseconds, ``Z``.  A naive datetime, or the text SQLite
    stores (``YYYY-MM-DD HH:MM:SS.ffffff``), is naive UTC as storage keeps it."""
    if isinstance(value, str):
        if len(value) == 26 and value[10] == " " and value[19] == ".":  # SQLite's own form
            return value[:10] + "T" + value[11:] + "Z"
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value  # not a time: it cannot match the hash of one
    if value.tzinfo is None:
        return value.isoformat("T", "microseconds") + "Z"
    return value.astimezone(UTC).replace(tzinfo=None).isoformat("T", "microseconds") + "Z"


# json.dumps(..., ensure_ascii=False, separators=(",", ":")) without building an encoder per call
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@dataclass(frozen=True)
class ChainKey:
    """The secret that keys the chain; ``id`` (not secret) is stored with each event."""

    secret: bytes
    id: str

    @classmethod
    def from_secret(cls, secret: str | bytes) -> ChainKey:
        raw = secret.encode("utf-8") if isinstance(secret, str) else secret
        if len(raw) < 16:
            raise ValueError("a chain key needs at least 16 bytes (ZHENGGAI_CHAIN_KEY)")
        return cls(raw, hashlib.sha256(b"zhenggai-chain-key:" + raw).hexdigest()[:16])


def event_hash(issue_code: str, prev_hash: str, values: dict[str, Any], key: ChainKey | None = None) -> str:
    """sha256 (or, with a key, HMAC-SHA256) over the previous hash and a canonical JSON array
    of the event's fields, in the fixed order of ``HASHED_FIELDS`` followed by the issue code."""
    body = [values.get(k) for k in HASHED_FIELDS]
    body[7] = hashed_at(values["at"])
    body.append(issue_code)
    return _digest(prev_hash, body, key)


def _digest(prev_hash: str, body: list[Any], key: ChainKey | None) -> str:
    message = (prev_hash + _ENCODE(body)).encode("utf-8")
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key.secret, message, hashlib.sha256).hexdigest()


def _stored_hash(issue_code: str, r: Event, key: ChainKey | None) -> str:
    """``event_hash`` of a stored row, read straight from its attributes (in HASHED_FIELDS order)."""
    body = [r.seq, r.kind, r.trigger, r.from_state, r.to_state, r.actor_id, r.role, hashed_at(r.at)]
    body += [r.comment, r.data, r.request_id, issue_code]
    return _digest(r.prev_hash, body, key)


@dataclass
class ChainReport:
    """What is wrong with one issue's history: ``(seq, reason)`` pairs, seq 0 for the issue's
    own records; ``event_ids`` names the event row behind each seq that has one."""

    issue: str
    events: int = 0
    problems: list[tuple[int, Text]] = field(default_factory=list)
    event_ids: dict[int, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "issue": self.issue,
            "ok": self.ok,
            "events": self.events,
            "problems": [
                {"seq": s, "event_id": self.event_ids.get(s), "reason": t.to_dict()} for s, t in self.problems
            ],
        }


def problem(rep: ChainReport, seq: int, zh: str, en: str, row: Event | None = None) -> None:
    rep.problems.append((seq, Text(zh, en)))
    if row is not None:
        rep.event_ids.setdefault(seq, row.id)


def verify_chain(
    issue_code: str,
    rows: Iterable[Event],
    *,
    head_hash: str,
    head_seq: int,
    key: ChainKey | None = None,
    each: Callable[[Event], None] | None = None,
) -> ChainReport:
    """Recompute every hash, handing each event on to ``each`` (a :class:`~.replay.Replay`
    whose result :func:`~.replay.compare_records` holds the stored records to)."""
    rep = ChainReport(issue_code)
    prev = GENESIS
    expected_seq = 1
    last: Event | None = None
    beyond_head: Event | None = None  # the first event after the issue's recorded head
    for r in rows:
        rep.events += 1
        if last is not None and r.seq == last.seq:
            problem(
                rep,
                r.seq,
                f"序号 {r.seq} 重复：同一问题有两条该序号的记录（伪造或复制的记录）",
                f"duplicate sequence number {r.seq}: two rows of this issue carry it (a forged or copied row)",
                r,
            )
            expected_seq = r.seq
        elif r.seq != expected_seq:
            problem(
                rep,
                r.seq,
                f"序号不连续：应为 {expected_seq}，实为 {r.seq}（记录被删除或重排）",
                f"sequence gap: expected {expected_seq}, found {r.seq} (a row was deleted or reordered)",
                r,
            )
            expected_seq = r.seq
        if beyond_head is None and r.seq > head_seq:
            beyond_head = r
        if last is not None and r.at < last.at and '"entered_at"' not in (r.data or ""):
            problem(
                rep,
                r.seq,
                f"第 {r.seq} 条记录的时间早于前一条（时间倒流），又未注明为补录",
                f"event {r.seq} is dated before the one before it (time goes backwards) and is not marked as "
                "data entry of the past",
                r,
            )
        last = r
        if r.prev_hash != prev:
            problem(
                rep,
                r.seq,
                "前序哈希不符：之前的记录被改动、删除或重排",
                "previous hash does not match: an earlier row was changed, deleted or reordered",
                r,
            )
        key_id = r.key_id
        if key is not None and key_id is None:
            problem(
                rep,
                r.seq,
                "该记录没有用链密钥签名，而本系统配置了链密钥（可能被改写）",
                "this event is not keyed although a chain key is configured (it may have been rewritten)",
                r,
            )
        elif key_id is not None and (key is None or key.id != key_id):
            problem(
                rep,
                r.seq,
                f"无法校验：该记录用密钥 {key_id} 签名，当前未配置该密钥",
                f"cannot verify: this event is keyed with key {key_id}, which is not configured here",
                r,
            )
        else:
            if _stored_hash(issue_code, r, key) != r.hash:
                problem(
                    rep,
                    r.seq,
                    "记录内容与哈希不符：该记录被改动",
                    "content does not match its hash: this row was edited",
                    r,
                )
        prev = r.hash
        expected_seq += 1
        if each is not None:
            each(r)
    if not rep.events:
        problem(rep, 0, "没有任何历史记录", "there is no history at all")
    elif prev != head_hash or expected_seq - 1 != head_seq:
        # the row at fault: the first event beyond the recorded head (added behind the engine's
        # back, or the head moved back), else the newest event (the head's hash was changed)
        problem(
            rep,
            beyond_head.seq if beyond_head is not None else head_seq,
            "问题记录的链头与历史不符：最新记录被删除或伪造，或问题被直接修改",
            "the issue's chain head does not match its history: the newest rows were deleted or forged, "
            "or the issue was edited directly",
            beyond_head if beyond_head is not None else (last if last is not None and last.seq == head_seq else None),
        )
    return rep


#: at most this many rows are listed for events pointing to no issue (all are counted)
ORPHANS_LISTED = 1000


@dataclass
class AuditReport:
    """Every issue's chain and records checked over the whole database (``audit verify``)."""

    issues: int = 0
    events: int = 0
    bad: list[ChainReport] = field(default_factory=list)
    orphan_events: int = 0
    #: (event id, issue_id it points to, seq) of events whose issue does not exist
    orphans: list[tuple[int, int, int]] = field(default_factory=list)
    #: workflow versions whose stored text no longer has its digest ("name vN")
    bad_workflows: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.bad and not self.orphan_events and not self.bad_workflows

    def orphan(self, r: Event) -> None:
        self.orphan_events += 1
        if len(self.orphans) < ORPHANS_LISTED:
            self.orphans.append((r.id, r.issue_id, r.seq))

    def findings(self) -> list[dict[str, Any]]:
        """One entry per problem: the issue (its code), the row at fault, and why."""
        out = [
            {"issue": rep.issue, "seq": seq, "event_id": rep.event_ids.get(seq), "reason": why}
            for rep in self.bad
            for seq, why in rep.problems
        ]
        out += [
            {
                "issue": None,
                "seq": seq,
                "event_id": event_id,
                "reason": Text(
                    f"记录指向不存在的问题（issue_id {issue_id}）：问题被删除或记录被伪造",
                    f"this event points to no issue (issue_id {issue_id}): the issue was deleted or the row forged",
                ),
            }
            for event_id, issue_id, seq in self.orphans
        ]
        out += [
            {
                "issue": None,
                "seq": 0,
                "event_id": None,
                "reason": Text(
                    f"工作流 {w} 的存储内容与其摘要不符（规则被绕过引擎修改）",
                    f"workflow {w} as stored does not match its digest (the rules were changed behind the engine)",
                ),
            }
            for w in self.bad_workflows
        ]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "issues": self.issues,
            "events": self.events,
            "bad_issues": [rep.issue for rep in self.bad],
            "orphan_events": self.orphan_events,
            "bad_workflows": self.bad_workflows,
            "problems": [{**f, "reason": f["reason"].to_dict()} for f in self.findings()],
            "seconds": round(self.seconds, 3),
        }
