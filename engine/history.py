"""The hash chain over an issue's events, and the check that the issue's records match it.

Each event's hash covers its content and the hash before it, so editing, deleting or
reordering any row breaks every hash after it.  With a chain key (``ZHENGGAI_CHAIN_KEY``, kept
outside the database) the hash is an HMAC: someone who can write to the database but does not
hold the key cannot recompute a rewritten chain either.  Verification also replays the events
and compares the result with the issue row and its measures, evidence, sign-offs and
mechanisms, so a row inserted or changed behind the engine's back is found too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..i18n import Text
from ..storage.rows import (
    AuditIssueRow,
    EventRow,
    EvidenceRow,
    IssueHead,
    IssueRow,
    MeasureRow,
    MechanismRow,
    SignoffRow,
    StoredEventRow,
)

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


def _at(value: datetime | str) -> str:
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
    body[7] = _at(values["at"])
    body.append(issue_code)
    return _digest(prev_hash, body, key)


def _digest(prev_hash: str, body: list[Any], key: ChainKey | None) -> str:
    message = (prev_hash + _ENCODE(body)).encode("utf-8")
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key.secret, message, hashlib.sha256).hexdigest()


def _stored_hash(issue_code: str, r: Event, key: ChainKey | None) -> str:
    """``event_hash`` of a stored row, read straight from its attributes (in HASHED_FIELDS order)."""
    body = [r.seq, r.kind, r.trigger, r.from_state, r.to_state, r.actor_id, r.role, _at(r.at)]
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


def _problem(rep: ChainReport, seq: int, zh: str, en: str, row: Event | None = None) -> None:
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
) -> tuple[ChainReport, Replay]:
    """Recompute every hash and replay the events; the replay is compared with the stored
    records by :func:`compare_records`."""
    rep = ChainReport(issue_code)
    replay = Replay()
    prev = GENESIS
    expected_seq = 1
    last: Event | None = None
    beyond_head: Event | None = None  # the first event after the issue's recorded head
    for r in rows:
        rep.events += 1
        if last is not None and r.seq == last.seq:
            _problem(
                rep,
                r.seq,
                f"序号 {r.seq} 重复：同一问题有两条该序号的记录（伪造或复制的记录）",
                f"duplicate sequence number {r.seq}: two rows of this issue carry it (a forged or copied row)",
                r,
            )
            expected_seq = r.seq
        elif r.seq != expected_seq:
            _problem(
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
            _problem(
                rep,
                r.seq,
                f"第 {r.seq} 条记录的时间早于前一条（时间倒流），又未注明为补录",
                f"event {r.seq} is dated before the one before it (time goes backwards) and is not marked as "
                "data entry of the past",
                r,
            )
        last = r
        if r.prev_hash != prev:
            _problem(
                rep,
                r.seq,
                "前序哈希不符：之前的记录被改动、删除或重排",
                "previous hash does not match: an earlier row was changed, deleted or reordered",
                r,
            )
        key_id = r.key_id
        if key is not None and key_id is None:
            _problem(
                rep,
                r.seq,
                "该记录没有用链密钥签名，而本系统配置了链密钥（可能被改写）",
                "this event is not keyed although a chain key is configured (it may have been rewritten)",
                r,
            )
        elif key_id is not None and (key is None or key.id != key_id):
            _problem(
                rep,
                r.seq,
                f"无法校验：该记录用密钥 {key_id} 签名，当前未配置该密钥",
                f"cannot verify: this event is keyed with key {key_id}, which is not configured here",
                r,
            )
        else:
            if _stored_hash(issue_code, r, key) != r.hash:
                _problem(
                    rep,
                    r.seq,
                    "记录内容与哈希不符：该记录被改动",
                    "content does not match its hash: this row was edited",
                    r,
                )
        prev = r.hash
        expected_seq += 1
        replay.apply(r)
    if not rep.events:
        _problem(rep, 0, "没有任何历史记录", "there is no history at all")
    elif prev != head_hash or expected_seq - 1 != head_seq:
        # the row at fault: the first event beyond the recorded head (added behind the engine's
        # back, or the head moved back), else the newest event (the head's hash was changed)
        _problem(
            rep,
            beyond_head.seq if beyond_head is not None else head_seq,
            "问题记录的链头与历史不符：最新记录被删除或伪造，或问题被直接修改",
            "the issue's chain head does not match its history: the newest rows were deleted or forged, "
            "or the issue was edited directly",
            beyond_head if beyond_head is not None else (last if last is not None and last.seq == head_seq else None),
        )
    return rep, replay


@dataclass
class Replay:
    """What the events say the issue and its records are."""

    fields: dict[str, Any] = field(default_factory=dict)
    state: str | None = None
    state_seq: int = 0
    #: each transition with the workflow version in effect when it was made (None: the history
    #: does not say, for events written before issues recorded their version)
    transitions: list[tuple[str | None, str | None, tuple[str, int] | None]] = field(default_factory=list)
    workflow: tuple[str, int] | None = None  # the (name, version) the history puts the issue on
    #: the digest of that version's text, as the history recorded it (None: written before
    #: events recorded digests)
    workflow_digest: str | None = None
    #: each transition as (seq, event id, trigger, from, to, role, version in effect),
    #: replayed against the transitions that version declares
    moves: list[tuple[int, int, str | None, str | None, str | None, str | None, tuple[str, int] | None]] = field(
        default_factory=list
    )
    signoffs: Counter[tuple[Any, ...]] = field(default_factory=Counter)
    measures: dict[int, list[Any]] = field(default_factory=dict)
    evidence: Counter[tuple[Any, ...]] = field(default_factory=Counter)
    mechanisms: Counter[tuple[Any, ...]] = field(default_factory=Counter)

    def apply(self, r: Event) -> None:
        raw = r.data
        try:
            data = json.loads(raw) if raw and raw != "{}" else {}
        except ValueError:
            data = {}
        kind = r.kind
        if kind == "created":
            self.fields = {
                k: data.get(k) for k in ("title", "category", "severity", "unit", "owner", "lead", "due_date")
            }
            # issues created before sources and disclosure existed carry neither
            self.fields["source"] = data.get("source", "")
            self.fields["confidential"] = bool(data.get("confidential", False))
            self.state, self.state_seq = r.to_state, r.seq
            if data.get("workflow") and data.get("workflow_version"):
                self.workflow = (data["workflow"], data["workflow_version"])
            self.workflow_digest = data.get("workflow_digest")
            for m in data.get("measures", ()):  # an imported list brings its measures along
                self.measures[m["no"]] = [m["text"], m["owner"], m["due_date"], m["target"], False]
        elif kind == "transition":
            self.transitions.append((r.from_state, r.to_state, self.workflow))
            self.moves.append((r.seq, r.id, r.trigger, r.from_state, r.to_state, r.role, self.workflow))
            self.state, self.state_seq = r.to_state, r.seq
        elif kind == "migrated":  # onto another workflow version: the state may be renamed, the stage goes on
            self.state = r.to_state
            name = data.get("workflow")
            if self.workflow is None and name:  # what came before was on the version it left
                before = (name, data.get("from_version"))
                self.transitions = [(f, t, v or before) for f, t, v in self.transitions]
                self.moves = [(*m[:6], m[6] or before) for m in self.moves]
            if name:
                self.workflow = (name, data.get("to_version"))
                self.workflow_digest = data.get("to_digest")
        elif kind == "assigned":
            for who in ("owner", "lead"):
                if who in data:
                    self.fields[who] = data[who].get("to")
        elif kind == "signed_off":
            self.signoffs[(data.get("role"), r.actor_id, data.get("state"), self.state_seq)] += 1
        elif kind == "measure_added":
            self.measures[data.get("no")] = [
                data.get("text"),
                data.get("owner"),
                data.get("due_date"),
                data.get("target"),
                False,
            ]
        elif kind == "measure_done" and data.get("no") in self.measures:
            self.measures[data["no"]][4] = True
        elif kind == "evidence_added":
            self.evidence[(data.get("uri"), data.get("sha256"), data.get("measure_no"))] += 1
        elif kind == "mechanism_added":
            self.mechanisms[(data.get("title"), data.get("reference"), data.get("adopted_on"))] += 1


def _iso(v: Any) -> Any:
    return v.isoformat() if hasattr(v, "isoformat") else v


def compare_records(
    rep: ChainReport,
    replay: Replay,
    issue: IssueRow | IssueHead | AuditIssueRow,
    *,
    workflow: tuple[str, int],
    final_states: Callable[[tuple[str, int]], frozenset[str]],
    signoffs: Iterable[SignoffRow],
    measures: Iterable[MeasureRow],
    evidence: Iterable[EvidenceRow],
    mechanisms: Iterable[MechanismRow],
    digest: str | None = None,
    moves_of: Callable[[tuple[str, int]], Mapping[tuple[str, str], tuple[str, frozenset[str]]]] | None = None,
) -> None:
    """Add a problem for every stored record the history does not account for.

    ``workflow`` is the (name, version) the issue row is on, ``digest`` that version's text
    digest; ``final_states`` gives the final states of any version, so a reopening is
    recognised under the version it happened in; ``moves_of`` gives any version's transitions
    as ``(trigger, source) -> (dest, roles)``, and every transition in the history is replayed
    against the version it was made under: a step the rules never allowed is found even when
    the chain around it is whole."""
    if not rep.events:
        return
    head = 0  # record-level problems carry seq 0: they concern the issue, not one event
    for name, want in replay.fields.items():
        have = _iso(getattr(issue, name))
        if have != want:
            _problem(
                rep,
                head,
                f"问题的 {name} 为 {have!r}，历史记录为 {want!r}（被绕过引擎修改）",
                f"the issue's {name} is {have!r} but its history says {want!r} (changed behind the engine)",
            )
    if replay.state is not None and issue.state != replay.state:
        _problem(
            rep,
            head,
            f"问题状态 {issue.state} 与历史记录的状态 {replay.state} 不符（被绕过引擎修改）",
            f"the issue's state {issue.state} differs from its history's {replay.state} (changed behind the engine)",
        )
    if issue.state_seq != replay.state_seq:
        _problem(rep, head, "问题的环节序号与历史不符", "the issue's stage number differs from its history")
    if replay.workflow is not None and tuple(replay.workflow) != tuple(workflow):
        _problem(
            rep,
            head,
            f"问题按 {workflow[0]} 第 {workflow[1]} 版办理，历史记录为第 {replay.workflow[1]} 版（{replay.workflow[0]}）（被绕过引擎修改）",
            f"the issue is on {workflow[0]} v{workflow[1]} but its history puts it on {replay.workflow[0]} "
            f"v{replay.workflow[1]} (changed behind the engine)",
        )
    if digest is not None and replay.workflow_digest is not None and replay.workflow_digest != digest:
        _problem(
            rep,
            head,
            f"工作流 {workflow[0]} 第 {workflow[1]} 版的内容与历史记录的不同（规则被改写）",
            f"the rules of {workflow[0]} v{workflow[1]} differ from those the history recorded (rewritten)",
        )
    if moves_of is not None:
        _replay_moves(rep, replay, workflow, moves_of)
    reopened = 0
    for f, t, version in replay.transitions:
        finals = final_states(version or workflow)
        reopened += f in finals and t not in finals
    if issue.recurrence_count != reopened:
        _problem(
            rep,
            head,
            f"再犯次数 {issue.recurrence_count} 与历史记录的 {reopened} 不符",
            f"the recurrence count {issue.recurrence_count} differs from the {reopened} in its history",
        )
    _compare_counts(
        rep,
        head,
        "签字确认",
        "sign-offs",
        replay.signoffs,
        Counter((s.role, s.actor_id, s.state, s.stage_seq) for s in signoffs),
    )
    stored_measures = {m.no: [m.text, m.owner, _iso(m.due_date), m.target, m.done_at is not None] for m in measures}
    if stored_measures != replay.measures:
        bad = sorted(
            {*stored_measures, *replay.measures}
            - {n for n in stored_measures if stored_measures.get(n) == replay.measures.get(n)}
        )
        _problem(
            rep,
            head,
            f"整改措施 {bad} 与历史记录不符（被绕过引擎修改）",
            f"measures {bad} differ from the history (changed behind the engine)",
        )
    _compare_counts(
        rep, head, "佐证材料", "evidence", replay.evidence, Counter((e.uri, e.sha256, e.measure_no) for e in evidence)
    )
    _compare_counts(
        rep,
        head,
        "长效机制",
        "mechanisms",
        replay.mechanisms,
        Counter((m.title, m.reference, _iso(m.adopted_on)) for m in mechanisms),
    )


def _replay_moves(
    rep: ChainReport,
    replay: Replay,
    workflow: tuple[str, int],
    moves_of: Callable[[tuple[str, int]], Mapping[tuple[str, str], tuple[str, frozenset[str]]]],
) -> None:
    for seq, event_id, trigger, source, dest, role, version in replay.moves:
        v = version or workflow
        allowed = moves_of(v).get((trigger or "", source or ""))
        if allowed is None or allowed[0] != dest or role not in allowed[1]:
            _problem(
                rep,
                seq,
                f"第 {seq} 条记录的 {trigger}（{source} → {dest}，角色 {role}）不是 {v[0]} 第 {v[1]} 版允许的操作",
                f"event {seq}: {trigger} ({source} → {dest}, role {role}) is not a step {v[0]} v{v[1]} allows",
            )
            rep.event_ids.setdefault(seq, event_id)


def _compare_counts(rep: ChainReport, seq: int, zh: str, en: str, want: Counter[Any], have: Counter[Any]) -> None:
    extra, missing = have - want, want - have
    if extra:
        _problem(
            rep,
            seq,
            f"{zh}有 {sum(extra.values())} 条不在历史记录中（被绕过引擎添加或修改）",
            f"{sum(extra.values())} {en} rows are not in the history (added or changed behind the engine)",
        )
    if missing:
        _problem(
            rep,
            seq,
            f"历史记录中的 {sum(missing.values())} 条{zh}已不存在（被删除或修改）",
            f"{sum(missing.values())} {en} rows in the history are gone (deleted or changed)",
        )


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
