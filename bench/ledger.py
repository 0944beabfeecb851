"""The ledger in and out at the size of a province: import a 100,000-row problem list and
export a 100,000-issue ledger on SQLite.

    python bench/ledger.py [--rows 100000] [--formats csv xlsx]

Each step runs in a child process of its own, so each peak resident memory is that step's
alone: writing the problem list (not timed against the target), importing it through
``Engine.import_issues`` (every row checked, one transaction, an event and the measures per
issue), and exporting the ledger through ``Engine.export_ledger``.  Targets: each import and
export under 60 s, peak memory under 500 MB.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ACTOR = ("wang", ["inspection_office"])
CATEGORIES = ["立行立改", "限期整改", "长期整改", "专项整治"]
SOURCES = ["巡视反馈问题", "审计发现问题", "选人用人专项检查"]
HEADER = [
    "序号",
    "问题",
    "问题类别",
    "问题来源",
    "整改措施",
    "责任领导",
    "责任部门",
    "责任人",
    "整改时限",
    "量化目标",
    "备注",
]


def problem(i: int) -> list[str]:
    cat = CATEGORIES[i % 4]
    due = "2026-05-31" if cat == "立行立改" else "2026-12-31"
    return [
        str(i),
        f"第{i}号问题：执行中央八项规定精神不严格，公务接待超标准",
        cat,
        SOURCES[i % 3],
        f"全面清查{i}号问题涉及的接待记录\n建立接待审批台账",
        f"领导{i % 40}",
        f"处室{i % 60}/科{i % 7}",
        f"责任人{i % 500}",
        due,
        "清查率100%",
        "",
    ]


def write_list(path: Path, rows: int) -> None:
    if path.suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f)
            w.writerow(HEADER)
            for i in range(1, rows + 1):
                w.writerow(problem(i))
        return
    import xlsxwriter  # shared strings, as Excel itself saves a workbook

    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("问题清单")
    ws.write_row(0, 0, HEADER)
    for i in range(1, rows + 1):
        ws.write_row(i, 0, problem(i))
    wb.close()


def step(kind: str, db: Path, path: Path) -> dict[str, object]:
    from zhenggai import Actor, Engine, FixedClock

    eng = Engine(f"sqlite:///{db}", clock=FixedClock("2026-03-12"))
    actor = Actor(ACTOR[0], frozenset(ACTOR[1]))
    t0 = time.perf_counter()
    if kind == "import":
        eng.init()
        eng.open_round(path.stem, title="省委第三巡视组反馈意见", org="省局", feedback_date="2026-03-10", actor=actor)
        report = eng.import_issues(path.stem, path, actor=actor)
        n = len(report.created)
    else:
        n = eng.export_ledger(path.stem.split(".")[0], path, actor=actor)
    seconds = time.perf_counter() - t0
    eng.db.dispose()
    return {
        "step": kind,
        "file": path.name,
        "rows": n,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def child(kind: str, db: Path, path: Path) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--step", kind, str(db), str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--formats", nargs="+", default=["csv", "xlsx"])
    ap.add_argument("--step", nargs=3, metavar=("KIND", "DB", "FILE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.step:
        print(json.dumps(step(args.step[0], Path(args.step[1]), Path(args.step[2]))))
        return
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in args.formats:
            src = Path(tmp) / f"L{fmt}.{fmt}"
            t0 = time.perf_counter()
            write_list(src, args.rows)
            print(f"wrote a {args.rows:,}-row {fmt} list in {time.perf_counter() - t0:.1f} s", flush=True)
            db = Path(tmp) / f"{fmt}.db"
            for kind, path in (("import", src), ("export", Path(tmp) / f"L{fmt}.ledger.{fmt}")):
                r = child(kind, db, path)
                results.append(r)
                print(
                    f"{kind} {fmt}: {r['rows']:,} rows in {r['seconds']} s, peak RSS {r['peak_rss_mb']} MB", flush=True
                )
            with sqlite3.connect(db) as conn:
                events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
                measures = conn.execute("SELECT count(*) FROM measures").fetchone()[0]
            print(f"  database: {events:,} events, {measures:,} measures", flush=True)
    print(f"machine {platform.machine()}, python {platform.python_version()}, sqlite {sqlite3.sqlite_version}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
