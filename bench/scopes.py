"""Reading as an actor granted many units: a page of the list, the round's counts and its
statistics among 100,000 issues, for scopes of 1, 200 and 500 units.

    python bench/scopes.py [--total 100000] [--scopes 1 200 500]

The issues are written in bulk (as bench/sweep.py does) over 1,000 units; an actor's scope
lists every other unit up to its size.  Target: a page of the list under 0.5 s whatever the
scope, and no error at 500 units.
"""

from __future__ import annotations

import argparse
import json
import platform
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from sweep import build

from zhenggai import Actor, Engine, FixedClock


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--total", type=int, default=100_000)
    ap.add_argument("--scopes", type=int, nargs="+", default=[1, 200, 500])
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scopes.db"
        build(path, args.total, 0)
        conn = sqlite3.connect(path)  # spread the issues over 1,000 units
        conn.execute("UPDATE issues SET unit = '省局/处' || (id % 1000)")
        conn.commit()
        conn.close()
        eng = Engine(f"sqlite:///{path}", clock=FixedClock("2026-03-25"))
        for n in args.scopes:
            actor = Actor("auditor", frozenset({"inspection_office"}), tuple(f"省局/处{2 * i}" for i in range(n)))
            times: dict[str, list[float]] = {"page": [], "round": [], "stats": []}
            for _ in range(5):
                for name, call in (
                    ("page", lambda a=actor: eng.issues(a, round_code="R1", limit=100)),
                    ("round", lambda a=actor: eng.round("R1", a)),
                    ("stats", lambda a=actor: eng.stats("R1", actor=a)),
                ):
                    t0 = time.perf_counter()
                    call()
                    times[name].append(time.perf_counter() - t0)
            r = {"units": n, **{k: round(statistics.median(v), 4) for k, v in times.items()}}
            results.append(r)
            print(f"{n:>4} units: page {r['page']:.3f} s, round {r['round']:.3f} s, stats {r['stats']:.3f} s")
        eng.db.dispose()
    print(f"machine {platform.machine()}, python {platform.python_version()}, sqlite {sqlite3.sqlite_version}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
