"""A round's statistics at the size of a province: one ``stats`` call on a round of 100,000
problems with five transitions each on SQLite.

    python bench/stats.py [--issues 100000] [--code DIR] [--db PATH]

The round is built once (a problem list imported through ``Engine.import_issues``, then a
history written straight into the tables: every problem planned and started, a third of them
self-checked, reviewed and closed — the shape of a round near the end of its period; the
hashes of these bench-only events are not meant to verify).  Then each call runs in a child
process of its own, so its peak resident memory is its own: ``stats`` of today by unit, and
``stats`` as of a past day (replayed from the history).  ``--code DIR`` runs the calls with the
package found in DIR instead (``git archive <commit> | tar -x -C DIR/zhenggai``), for a
before/after comparison on the same database: build it with the older code
(``PYTHONPATH=DIR python bench/stats.py --db PATH --code DIR``), then run this checkout on it
(``python bench/stats.py --db PATH``), which upgrades its schema first.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

OFFICE = ("wang", ["inspection_office"])
CALL = """
import json, resource, sys, time
from zhenggai import Actor, Engine
eng = Engine(sys.argv[1])
office = Actor("wang", frozenset({"inspection_office"}))
t0 = time.perf_counter()
st = eng.stats("R1", actor=office, by="unit", as_of=sys.argv[2] or None)
print(json.dumps({"seconds": round(time.perf_counter() - t0, 2), "total": st["total"], "closed": st["closed"],
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
"""


def build(db: Path, issues: int) -> None:
    from zhenggai import Actor, Engine

    eng = Engine(f"sqlite:///{db}")
    eng.init()
    office = Actor(OFFICE[0], frozenset(OFFICE[1]))
    eng.open_round("R1", title="巡视反馈", org="省局", feedback_date="2026-03-10", actor=office)
    listing = db.with_suffix(".csv")
    with listing.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(["序号", "问题", "问题类别", "整改措施", "责任领导", "责任部门", "责任人", "整改时限", "量化目标"])
        for i in range(1, issues + 1):
            w.writerow([i, f"第{i}号问题", "限期整改", "清查", f"领导{i % 40}", f"处室{i % 60}", f"责任人{i % 500}",
                        "2026-12-31", "100%"])  # fmt: skip
    t0 = time.perf_counter()
    eng.import_issues("R1", listing, actor=office)
    print(f"imported {issues:,} problems in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    eng.db.dispose()
    steps = [("plan", "identified", "planned"), ("start", "planned", "in_progress"),
             ("submit_self_check", "in_progress", "self_checked"), ("review", "self_checked", "reviewed"),
             ("close", "reviewed", "closed")]  # fmt: skip
    con = sqlite3.connect(db)
    ids = [r[0] for r in con.execute("SELECT id FROM issues ORDER BY id")]
    start = datetime(2026, 3, 11, tzinfo=UTC)
    rows, heads = [], []
    for n, issue_id in enumerate(ids):
        upto = 5 if n % 3 == 0 else 2
        for k, (trigger, src, dst) in enumerate(steps[:upto]):
            at = (start + timedelta(days=7 * k + n % 7)).strftime("%Y-%m-%d %H:%M:%S.%f")
            rows.append((issue_id, 2 + k, "transition", trigger, src, dst, "li", "owner", at, "{}", "0" * 64, "0" * 64))
        heads.append((steps[upto - 1][2], 1 + upto, issue_id))
    con.executemany(
        "INSERT INTO events (issue_id, seq, kind, trigger, from_state, to_state, actor_id, role, at, data, prev_hash, "
        "hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    con.executemany("UPDATE issues SET state = ?, seq = ? WHERE id = ?", heads)
    day0 = "2026-03-10 02:00:00.000000"  # recorded on the feedback day, the history after it
    con.execute("UPDATE issues SET created_at = ?, state_entered_at = ?, last_activity_at = ?", (day0, day0, day0))
    con.execute("UPDATE events SET at = ? WHERE seq = 1", (day0,))
    con.commit()
    con.close()
    print(f"wrote {len(rows):,} transitions", file=sys.stderr)


def call(db: Path, as_of: str, code: str | None) -> dict[str, object]:
    env = dict(os.environ)
    if code:
        env["PYTHONPATH"] = code + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, "-c", CALL, f"sqlite:///{db}", as_of], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--issues", type=int, default=100_000)
    ap.add_argument("--code", help="run the calls with the zhenggai package found in this directory")
    ap.add_argument("--db", type=Path, help="reuse (or keep) the database at this path")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    db = a.db or tmp / "stats.db"
    if not db.exists():
        build(db, a.issues)
    elif not a.code:  # a database built by another version: brought to this one's schema first
        from zhenggai import Engine

        Engine(f"sqlite:///{db}").init()
    results = []
    for label, as_of in (("today", ""), ("as of 2026-04-01", "2026-04-01")):
        r = call(db, as_of, a.code)
        results.append({"call": label, **r})
        print(f"stats {label}: {r['total']:,} problems in {r['seconds']} s, peak RSS {r['peak_rss_mb']} MB")
    print(f"machine {platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}, "
          f"sqlite {sqlite3.sqlite_version}; code {a.code or 'this checkout'}")  # fmt: skip
    print(json.dumps(results))


if __name__ == "__main__":
    main()
