"""The people of a race, each in a process of their own: for a few seconds they fire
transitions, sign off, add and complete measures, attach evidence and sweep, on the same few
issues, and write down every call that succeeded."""

from __future__ import annotations

import random
import time
import traceback
from typing import Any

from zhenggai import Actor, ConcurrentUpdate, Engine, FixedClock, Refused
from zhenggai.engine.errors import Busy, InvalidInput, NotFound

NOW = "2026-07-20 10:00"  # long past the issues' deadline of 31 May: the sweep has work to do

OWNER = Actor("li", frozenset({"owner"}), ("省局/财务处",))
LEAD = Actor("zhao", frozenset({"unit_lead"}), ("省局",))
DISCIPLINE = Actor("zhou", frozenset({"discipline"}), ("省局",))
REVIEWER = Actor("he", frozenset({"reviewer"}))

#: trigger: (who fires it, the comment it needs)
FIRES = {
    "plan": (OWNER, None),
    "start": (OWNER, None),
    "submit_self_check": (OWNER, None),
    "review": (REVIEWER, None),
    "send_back": (REVIEWER, "再改"),
    "escalate": (DISCIPLINE, None),
    "resume": (DISCIPLINE, "解除督办"),
}
OPS = ["fire"] * 10 + ["measure"] + ["complete"] * 3 + ["signoff"] * 2 + ["evidence"] + ["sweep"]

#: refusals a racer expects: the rule or the moment was not right, or another got there first
EXPECTED_INPUT_ERRORS = ("already signed off", "is already done")


def race(url: str, name: str, seed: int, codes: list[str], seconds: float, barrier: Any, results: Any) -> None:
    log: dict[str, Any] = {
        "name": name,
        "fires": [],  # (code, trigger, request_id, replayed, seq)
        "measures": [],  # (code, text, no)
        "completed": [],  # (code, no)
        "signoffs": [],  # code
        "evidence": [],  # (code, uri)
        "swept": [],  # (code, rule, action, outcome)
        "refused": {},
        "unexpected": [],
    }
    try:
        engine = Engine(url, clock=FixedClock(NOW))
        rng = random.Random(seed)
        barrier.wait(120)
        deadline = time.monotonic() + seconds
        n = 0
        while time.monotonic() < deadline:
            n += 1
            code, op = rng.choice(codes), rng.choice(OPS)
            try:
                if op == "fire":
                    trigger = rng.choice(list(FIRES))
                    actor, comment = FIRES[trigger]
                    # half of the requests are retries another racer may be sending at the same time
                    shared = rng.random() < 0.5
                    rid = f"{code}:{trigger}:{rng.randrange(10)}" if shared else f"{name}:{n}"
                    r = engine.fire(code, trigger, actor=actor, comment=comment, request_id=rid)
                    log["fires"].append((code, trigger, rid, r.replayed, r.seq))
                elif op == "measure":
                    text = f"{name} 措施 {n}"
                    no = engine.add_measure(code, text, owner="li", due_date="2026-05-31", target="100%", actor=OWNER)
                    log["measures"].append((code, text, no))
                elif op == "complete":
                    no = rng.randint(1, 8)
                    engine.complete_measure(code, no, actor=OWNER)
                    log["completed"].append((code, no))
                elif op == "signoff":
                    engine.sign_off(code, "unit_lead", actor=LEAD)
                    log["signoffs"].append(code)
                elif op == "evidence":
                    uri = f"oa://files/{name}/{n}"
                    engine.add_evidence(code, uri, "ab" * 32, actor=OWNER)
                    log["evidence"].append((code, uri))
                else:
                    report = engine.sweep(NOW, batch=2)
                    log["swept"] += [(f["issue"], f["rule"], f["action"], f["outcome"]) for f in report.fired]
                    if report.failed:
                        log["unexpected"].append(f"sweep failed: {report.failed}")
            except (Refused, ConcurrentUpdate, Busy, NotFound) as exc:
                key = type(exc).__name__
                log["refused"][key] = log["refused"].get(key, 0) + 1
            except InvalidInput as exc:
                if not any(s in exc.text.en for s in EXPECTED_INPUT_ERRORS):
                    log["unexpected"].append(f"{op} {code}: {exc.text.en}")
                log["refused"]["InvalidInput"] = log["refused"].get("InvalidInput", 0) + 1
        engine.db.dispose()
    except Exception:
        log["unexpected"].append(traceback.format_exc())
    results.put(log)
