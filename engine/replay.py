"""What an issue's events say it and its records are, and every stored column held to that.

Verification recomputes the hash chain (:mod:`.history`) and hands each event to a
:class:`Replay`, which works out from the events alone what the issue row and its measures,
evidence, sign-offs, mechanisms and deadline changes must hold.  :func:`compare_records` then
compares the stored rows with it, column by column, and names the column that differs: a row changed behind the
engine is found even where its chain is whole.

:data:`AUDITED` and :data:`NOT_AUDITED` together name every stored column of those six
tables (a test holds them to the schema, so a column added later must be given its place).
The few columns not audited are the row's own identity and what the engine derives from the
audited ones and the calendar: the next check and the traffic light, which the sweep and
``calendar recompute`` work out again.

Events written before a fact was recorded on the chain (an issue's description, an evidence
note) leave that fact unchecked for them; every event written since carries it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ..i18n import Text
from ..storage.rows import AuditIssueRow, DeadlineChangeRow, EvidenceRow, IssueRow, MeasureRow, MechanismRow, SignoffRow
from .actors import SYSTEM
from .history import ChainReport, Event, hashed_at, problem

#: every stored column verify holds to the history: replayed from the events, or (``code``,
#: ``seq``, ``last_hash``, ``workflow_id``) checked with the chain itself
AUDITED: dict[str, tuple[str, ...]] = {
    "issues": (
        "code", "round_id", "workflow_id", "title", "description", "category", "severity", "unit", "source",
        "confidential", "owner", "lead", "due_date", "state", "state_seq", "state_entered_at", "state_entered_by",
        "last_activity_at", "stage_fired", "final_deadline", "escalation_level", "recurrence_count", "seq",
        "last_hash", "version", "created_at",
    ),
    "measures": ("issue_id", "no", "text", "owner", "due_date", "target", "done_at", "done_by"),
    "evidence": ("issue_id", "measure_no", "uri", "sha256", "note", "added_by", "added_at"),
    "signoffs": ("issue_id", "role", "actor_id", "state", "stage_seq", "comment", "at"),
    "mechanisms": ("issue_id", "title", "reference", "adopted_on", "added_by", "added_at"),
    "deadline_changes": (
        "issue_id", "no", "from_due_date", "due_date", "from_category", "category", "measure_dates", "reason",
        "requested_by", "requested_at", "status", "decided_by", "decided_at", "decision",
    ),
}  # fmt: skip

_ROW_ID = Text("行号，只是存储的标识（记录移到别的问题下会被发现）", "the row's number, storage's identity only (a record moved to another issue is found)")  # fmt: skip
#: the stored columns verify does not hold to the history, and why
NOT_AUDITED: dict[str, dict[str, Text]] = {
    "issues": {
        "id": _ROW_ID,
        "next_check_at": Text(
            "下次检查时间：由已核对的状态、时限和日历推算，巡检与 calendar recompute 会重新计算",
            "the next check: worked out from the audited state, deadlines and the calendar; the sweep and "
            "calendar recompute work it out again",
        ),
        "light": Text(
            "红黄绿灯：截至最近一次写入或巡检，由已核对的字段和日历推算，读取时按当日重新计算",
            "the traffic light as of the last write or sweep: worked out from audited fields and the calendar, "
            "and worked out again for the day it is read",
        ),
    },
    "measures": {"id": _ROW_ID},
    "evidence": {"id": _ROW_ID},
    "signoffs": {"id": _ROW_ID},
    "mechanisms": {"id": _ROW_ID},
    "deadline_changes": {"id": _ROW_ID},
}

#: the issue's columns the replay states, under the name a finding uses
_FIELDS = (
    "title", "description", "category", "severity", "unit", "owner", "lead", "due_date", "source",
    "confidential", "round", "created_at", "state_entered_at", "state_entered_by", "last_activity_at",
    "escalation_level", "version",
)  # fmt: skip


def _value(v: Any) -> Any:
    """A stored value as the history states it: times as hashed, dates in ISO form."""
    if isinstance(v, datetime):
        return hashed_at(v)
    if isinstance(v, date):
        return v.isoformat()
    return v


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
    #: the escalation episode as it unfolds: ("rule", name, new deadline or None) for a rule
    #: fired, ("move", from, to, version) for a transition (a reopening starts a new episode),
    #: ("deadline", new due date) for an approved deadline change
    episode: list[tuple[Any, ...]] = field(default_factory=list)
    signoffs: list[dict[str, Any]] = field(default_factory=list)
    measures: dict[int, dict[str, Any]] = field(default_factory=dict)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    mechanisms: list[dict[str, Any]] = field(default_factory=list)
    deadline_changes: list[dict[str, Any]] = field(default_factory=list)

    def apply(self, r: Event) -> None:
        raw = r.data
        try:
            data = json.loads(raw) if raw and raw != "{}" else {}
        except ValueError:
            data = {}
        at, kind = hashed_at(r.at), r.kind
        if kind == "created":
            self._created(r, data, at)
        self.fields["version"] = r.seq
        if r.actor_id != SYSTEM.id and kind != "migrated":  # the scheduler or a migration is not work on it
            self.fields["last_activity_at"] = at
        if kind == "transition":
            self.transitions.append((r.from_state, r.to_state, self.workflow))
            self.moves.append((r.seq, r.id, r.trigger, r.from_state, r.to_state, r.role, self.workflow))
            self.episode.append(("move", r.from_state, r.to_state, self.workflow))
            self.state, self.state_seq = r.to_state, r.seq
            self.fields["state_entered_at"], self.fields["state_entered_by"] = at, r.actor_id
            if data.get("rule"):  # the sweep's supervision step: its rule fired, no new deadline
                self.episode.append(("rule", data["rule"], None))
        elif kind.startswith("escalation_") and data.get("rule"):
            self.episode.append(("rule", data["rule"], data.get("new_deadline")))
            if kind == "escalation_elevate":
                self.fields["escalation_level"] = data.get("level", self.fields.get("escalation_level", 0) + 1)
        elif kind == "migrated":  # onto another workflow version: the state may be renamed, the stage goes on
            self._migrated(r, data)
        elif kind in _RECORD_KINDS:
            _RECORD_KINDS[kind](self, r, data, at)

    def episode_at(
        self, workflow: tuple[str, int], final_states: Callable[[tuple[str, int]], frozenset[str]]
    ) -> tuple[list[str], str | None, int]:
        """The rules fired in the episode the events leave, the caution's last deadline, and
        how many times the issue was reopened."""
        return _episode(self, workflow, final_states)

    def _created(self, r: Event, data: dict[str, Any], at: str) -> None:
        self.fields = {k: data.get(k) for k in ("title", "category", "severity", "unit", "owner", "lead", "due_date")}
        # issues created before sources, disclosure and the description were on the chain carry none
        self.fields["source"] = data.get("source", "")
        self.fields["confidential"] = bool(data.get("confidential", False))
        if "description" in data:
            self.fields["description"] = data["description"]
        if "round" in data:
            self.fields["round"] = data["round"]
        self.fields.update(created_at=at, state_entered_at=at, state_entered_by=r.actor_id, escalation_level=0)
        self.state, self.state_seq = r.to_state, r.seq
        if data.get("workflow") and data.get("workflow_version"):
            self.workflow = (data["workflow"], data["workflow_version"])
        self.workflow_digest = data.get("workflow_digest")
        for m in data.get("measures", ()):  # an imported list brings its measures along, some done
            done = bool(m.get("done"))
            self.measures[m["no"]] = {
                "text": m["text"], "owner": m["owner"], "due_date": m["due_date"], "target": m["target"],
                "done_at": at if done else None, "done_by": r.actor_id if done else None,
            }  # fmt: skip

    def _migrated(self, r: Event, data: dict[str, Any]) -> None:
        self.state = r.to_state
        name = data.get("workflow")
        if self.workflow is None and name:  # what came before was on the version it left
            before = (name, data.get("from_version"))
            self.transitions = [(f, t, v or before) for f, t, v in self.transitions]
            self.moves = [(*m[:6], m[6] or before) for m in self.moves]
            self.episode = [(*e[:3], e[3] or before) if e[0] == "move" else e for e in self.episode]
        if name:
            self.workflow = (name, data.get("to_version"))
            self.workflow_digest = data.get("to_digest")


def _assigned(rp: Replay, r: Event, data: dict[str, Any], at: str) -> None:
    for who in ("owner", "lead"):
        if who in data:
            rp.fields[who] = data[who].get("to")


def _corrected(rp: Replay, r: Event, data: dict[str, Any], at: str) -> None:
    """An audited correction of the disclosure or the source."""
    for key in ("confidential", "source"):
        if isinstance(data.get(key), dict):
            rp.fields[key] = data[key].get("to")


def _signed_off(rp: Replay, r: Event, data: dict[str, Any], at: str) -> None:
    rp.signoffs.append(
        {"role": data.get("role"), "actor_id": r.actor_id, "state": data.get("state"), "stage_seq": rp.state_seq,
         "comment": r.comment or "", "at": at}
    )  # fmt: skip


def _measure_added(rp: Replay, r: Event, data: dict[str, Any], at: str) -> None:
    rp.measures[data.get("no")] = {  # type: ignore[index]
        "text": data.get("text"), "owner": data.get("owner"), "due_date": data.get("due_date"),
        "target": data.get("target"), "done_at": None, "done_by": None,
    }  # fmt: skip


def _measure_done(rp: Replay, r: Event, data: dict[str, Any], at: str) -> None:
    if data.get("no") in rp.measures:
        rp.measures[data["no"]].update(done_at=at, done_by=r.actor_id)


def _evidence_added(rp: Replay, r: Event, data: dict[str, Any], at: str) -> None:
    item = {"uri": data.get("uri"), "sha256": data.get("sha256"), "measure_no": data.get("measure_no")}
    if "note" in data:
        item["note"] = data["note"]
    rp.evidence.append({**item, "added_by": r.actor_id, "added_at": at})


def _mechanism_added(rp: Replay, r: Event, data: dict[str, Any], at: str) -> None:
    rp.mechanisms.append(
        {"title": data.get("title"), "reference": data.get("reference"), "adopted_on": data.get("adopted_on"),
         "added_by": r.actor_id, "added_at": at}
    )  # fmt: skip


def _extension_requested(rp: Replay, r: Event, data: dict[str, Any], at: str) -> None:
    rp.deadline_changes.append(
        {"no": data.get("no"), "from_due_date": data.get("from_due_date"), "due_date": data.get("due_date"),
         "from_category": data.get("from_category"), "category": data.get("category"),
         "measure_dates": data.get("measure_dates"), "reason": r.comment or "", "requested_by": r.actor_id,
         "requested_at": at, "status": "pending", "decided_by": None, "decided_at": None, "decision": ""}
    )  # fmt: skip


def _extension_decided(rp: Replay, r: Event, data: dict[str, Any], at: str, status: str) -> None:
    for c in rp.deadline_changes:
        if c["no"] == data.get("no"):
            c.update(status=status, decided_by=r.actor_id, decided_at=at, decision=r.comment or "")


def _extension_refused(rp: Replay, r: Event, data: dict[str, Any], at: str) -> None:
    _extension_decided(rp, r, data, at, "refused")


def _extension_approved(rp: Replay, r: Event, data: dict[str, Any], at: str) -> None:
    """A deadline change (延期申请): the deadline, the category, measures' dates."""
    _extension_decided(rp, r, data, at, "approved")
    for key in ("due_date", "category"):
        if isinstance(data.get(key), dict):
            rp.fields[key] = data[key].get("to")
    if isinstance(data.get("due_date"), dict):
        rp.episode.append(("deadline", data["due_date"].get("to")))
    for no, due in (data.get("measure_dates") or {}).items():
        if str(no).isdigit() and int(no) in rp.measures:
            rp.measures[int(no)]["due_date"] = due


_RECORD_KINDS: dict[str, Callable[[Replay, Event, dict[str, Any], str], None]] = {
    "assigned": _assigned,
    "corrected": _corrected,
    "signed_off": _signed_off,
    "measure_added": _measure_added,
    "measure_done": _measure_done,
    "evidence_added": _evidence_added,
    "mechanism_added": _mechanism_added,
    "extension_requested": _extension_requested,
    "extension_approved": _extension_approved,
    "extension_refused": _extension_refused,
}


def compare_records(
    rep: ChainReport,
    replay: Replay,
    issue: IssueRow | AuditIssueRow,
    *,
    round_code: str,
    workflow: tuple[str, int],
    final_states: Callable[[tuple[str, int]], frozenset[str]],
    signoffs: Iterable[SignoffRow],
    measures: Iterable[MeasureRow],
    evidence: Iterable[EvidenceRow],
    mechanisms: Iterable[MechanismRow],
    deadline_changes: Iterable[DeadlineChangeRow] = (),
    digest: str | None = None,
    moves_of: Callable[[tuple[str, int]], Mapping[tuple[str, str], tuple[str, frozenset[str]]]] | None = None,
) -> None:
    """Add a problem for every stored column the history does not account for.

    ``workflow`` is the (name, version) the issue row is on, ``digest`` that version's text
    digest; ``final_states`` gives the final states of any version, so a reopening is
    recognised under the version it happened in; ``moves_of`` gives any version's transitions
    as ``(trigger, source) -> (dest, roles)``, and every transition in the history is replayed
    against the version it was made under: a step the rules never allowed is found even when
    the chain around it is whole."""
    if not rep.events:
        return
    stored = issue._asdict()
    stored["round"] = round_code
    for name in _FIELDS:
        if name in replay.fields:
            _differs(rep, "问题", "the issue", name, _value(stored[name]), replay.fields[name])
    fired, final_deadline, reopened = _episode(replay, workflow, final_states)
    _differs(rep, "问题", "the issue", "stage_fired", sorted(x for x in issue.stage_fired.split(",") if x), fired)
    _differs(rep, "问题", "the issue", "final_deadline", _value(issue.final_deadline), final_deadline)
    _differs(rep, "问题", "the issue", "recurrence count", issue.recurrence_count, reopened)
    if replay.state is not None and issue.state != replay.state:
        problem(
            rep,
            0,
            f"问题状态 {issue.state} 与历史记录的状态 {replay.state} 不符（被绕过引擎修改）",
            f"the issue's state {issue.state} differs from its history's {replay.state} (changed behind the engine)",
        )
    if issue.state_seq != replay.state_seq:
        problem(rep, 0, "问题的环节序号与历史不符", "the issue's stage number differs from its history")
    _compare_workflow(rep, replay, workflow, digest)
    if moves_of is not None:
        _replay_moves(rep, replay, workflow, moves_of)
    _compare_measures(rep, replay.measures, list(measures))
    _compare_rows(rep, "签字确认", "sign-offs", replay.signoffs, list(signoffs))
    _compare_rows(rep, "佐证材料", "evidence", replay.evidence, list(evidence))
    _compare_rows(rep, "长效机制", "mechanisms", replay.mechanisms, list(mechanisms))
    _compare_rows(rep, "延期申请", "deadline changes", replay.deadline_changes, list(deadline_changes))


def _differs(rep: ChainReport, zh_what: str, en_what: str, name: str, have: Any, want: Any) -> None:
    if have != want:
        problem(
            rep,
            0,  # record-level problems carry seq 0: they concern the issue, not one event
            f"{zh_what}的 {name} 为 {have!r}，历史记录为 {want!r}（被绕过引擎修改）",
            f"{en_what}'s {name} is {have!r} but its history says {want!r} (changed behind the engine)",
        )


def _episode(
    replay: Replay, workflow: tuple[str, int], final_states: Callable[[tuple[str, int]], frozenset[str]]
) -> tuple[list[str], str | None, int]:
    """The rules fired in the current episode, the caution's deadline, and the reopenings."""
    fired: set[str] = set()
    deadline: str | None = None
    reopened = 0
    for step in replay.episode:
        if step[0] == "move":
            finals = final_states(step[3] or workflow)
            if step[1] in finals and step[2] not in finals:  # reopened: escalation starts again
                fired, deadline, reopened = set(), None, reopened + 1
        elif step[0] == "rule":
            fired.add(step[1])
            deadline = step[2] or deadline
        elif step[0] == "deadline" and deadline is not None:  # a caution keeps its place at the new date
            deadline = step[1]
    return sorted(fired), deadline, reopened


def _compare_workflow(rep: ChainReport, replay: Replay, workflow: tuple[str, int], digest: str | None) -> None:
    if replay.workflow is not None and tuple(replay.workflow) != tuple(workflow):
        problem(
            rep,
            0,
            f"问题按 {workflow[0]} 第 {workflow[1]} 版办理，历史记录为第 {replay.workflow[1]} 版（{replay.workflow[0]}）（被绕过引擎修改）",
            f"the issue is on {workflow[0]} v{workflow[1]} but its history puts it on {replay.workflow[0]} "
            f"v{replay.workflow[1]} (changed behind the engine)",
        )
    if digest is not None and replay.workflow_digest is not None and replay.workflow_digest != digest:
        problem(
            rep,
            0,
            f"工作流 {workflow[0]} 第 {workflow[1]} 版的内容与历史记录的不同（规则被改写）",
            f"the rules of {workflow[0]} v{workflow[1]} differ from those the history recorded (rewritten)",
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
            problem(
                rep,
                seq,
                f"第 {seq} 条记录的 {trigger}（{source} → {dest}，角色 {role}）不是 {v[0]} 第 {v[1]} 版允许的操作",
                f"event {seq}: {trigger} ({source} → {dest}, role {role}) is not a step {v[0]} v{v[1]} allows",
            )
            rep.event_ids.setdefault(seq, event_id)


def _compare_measures(rep: ChainReport, want: dict[int, dict[str, Any]], rows: list[MeasureRow]) -> None:
    have = {m.no: m for m in rows}
    missing, extra = sorted(set(want) - set(have)), sorted(set(have) - set(want))
    if missing or extra:
        problem(
            rep,
            0,
            f"整改措施 {missing + extra} 与历史记录不符（被绕过引擎删除或添加）",
            f"measures {missing + extra} differ from the history (deleted or added behind the engine)",
        )
    for no in sorted(set(want) & set(have)):
        row = have[no]._asdict()
        for name, value in want[no].items():
            _differs(rep, f"整改措施 {no}", f"measure {no}", name, _value(row[name]), value)


def _compare_rows(rep: ChainReport, zh: str, en: str, want: list[dict[str, Any]], rows: Sequence[Any]) -> None:
    """Records written one per event, in the events' order: the n-th row is the n-th event's."""
    if len(rows) != len(want):
        keys = [k for k in (want[0] if want else {}) if k in ("uri", "sha256", "role", "actor_id", "title")]
        have = Counter(tuple(_value(getattr(r, k)) for k in keys) for r in rows)
        said = Counter(tuple(w[k] for k in keys) for w in want)
        extra, gone = sum((have - said).values()) or max(len(rows) - len(want), 0), sum((said - have).values())
        if extra:
            problem(
                rep,
                0,
                f"{zh}有 {extra} 条不在历史记录中（被绕过引擎添加或修改）",
                f"{extra} {en} rows are not in the history (added or changed behind the engine)",
            )
        if gone or len(rows) < len(want):
            problem(
                rep,
                0,
                f"历史记录中的 {gone or len(want) - len(rows)} 条{zh}已不存在（被删除或修改）",
                f"{gone or len(want) - len(rows)} {en} rows in the history are gone (deleted or changed)",
            )
        return
    for n, (row, said_row) in enumerate(zip(rows, want, strict=True), start=1):
        stored = row._asdict()
        for name, value in said_row.items():
            _differs(rep, f"第 {n} 条{zh}", f"{en} row {n}", name, _value(stored[name]), value)
