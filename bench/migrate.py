"""Moving 100,000 running problems onto a new workflow version.

    python bench/migrate.py [--issues 100000] [--db postgresql://…]

Builds a round of ``--issues`` problems through the importer (so each has its history),
deploys a version 3 of the rectification workflow in which ``identified`` is renamed
``recorded``, and times ``migrate_workflow(…, mapping={"identified": "recorded"})``: every
issue gets a ``migrated`` event on its chain and its row moves, in one transaction.  Then a
sample of chains is verified.  Target: under 60 s for 100,000 issues.  Default store: a
temporary SQLite file; ``--db`` runs it on PostgreSQL (in a fresh schema, dropped after).
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import random
import resource
import tempfile
import time
import uuid
from pathlib import Path

from zhenggai import Actor, Engine, FixedClock
from zhenggai.engine.definition import builtin_path

OFFICE = Actor("wang", frozenset({"inspection_office"}))
ADMIN = Actor("admin", frozenset({"admin"}))


def problem_list(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["序号", "问题", "问题类别", "整改措施", "责任领导", "责任部门", "责任人", "整改时限", "量化目标"])
        for i in range(1, n + 1):
            w.writerow([i, f"问题{i}", "限期整改", "措施一\n措施二", "zhao", f"处{i % 50}", "li", "2026-09-30", "100%"])


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(url: str, n: int, tmp: Path) -> dict[str, float]:
    eng = Engine(url, clock=FixedClock("2026-03-10"))
    eng.init()
    eng.open_round("R1", title="bench", org="省局", feedback_date="2026-03-10", actor=OFFICE)
    src = tmp / "list.csv"
    problem_list(src, n)
    t0 = time.perf_counter()
    eng.import_issues("R1", src, actor=OFFICE)
    built = time.perf_counter() - t0
    v3 = builtin_path("rectification").read_text(encoding="utf-8").replace("version: 2", "version: 3")
    eng.deploy_workflow(v3.replace("identified", "recorded"), actor=ADMIN)

    rss0 = _rss_mb()
    t0 = time.perf_counter()
    rep = eng.migrate_workflow("rectification", 2, 3, actor=ADMIN, mapping={"identified": "recorded"})
    elapsed = time.perf_counter() - t0
    rss1 = _rss_mb()
    assert rep.total == n, rep.to_dict()
    sample = random.Random(1).sample(range(1, n + 1), min(n, 200))
    bad = [c for c in (f"R1-{i}" for i in sample) if not eng.verify(c, ADMIN).ok]
    views = [eng.issue(f"R1-{i}", ADMIN) for i in sample[:20]]
    assert not bad, bad
    assert all(v.workflow_version == 3 and v.state == "recorded" for v in views)
    eng.db.dispose()
    return {
        "issues": n,
        "seconds": elapsed,
        "per_second": n / elapsed,
        "import_seconds": built,
        "rss_before_mb": rss0,
        "peak_rss_mb": rss1,
        "verified_sample": len(sample),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--issues", type=int, default=100_000)
    ap.add_argument("--db", help="a PostgreSQL URL (default: a temporary SQLite file)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.db:
            import psycopg

            schema = f"bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(args.db, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')
            sep = "&" if "?" in args.db else "?"
            url = f"{args.db}{sep}options=-csearch_path%3D{schema}"
            try:
                r = run(url, args.issues, Path(tmp))
            finally:
                with psycopg.connect(args.db, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
            r["store"] = "postgresql"
        else:
            r = run(f"sqlite:///{Path(tmp) / 'migrate.db'}", args.issues, Path(tmp))
            r["store"] = "sqlite"
    print(
        f"{r['store']}: migrated {r['issues']:,} issues in {r['seconds']:.1f} s ({r['per_second']:,.0f}/s), "
        f"peak RSS {r['peak_rss_mb']:.0f} MB (before {r['rss_before_mb']:.0f} MB); "
        f"{r['verified_sample']} chains verified after; import took {r['import_seconds']:.0f} s"
    )
    print(f"machine {platform.machine()}, python {platform.python_version()}")
    print(json.dumps(r))


if __name__ == "__main__":
    main()
