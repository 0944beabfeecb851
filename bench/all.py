"""Every benchmark, one after another, with its result written into ``bench/RESULTS.md``.

    python bench/all.py [--only fire sweep …] [--pg postgresql://…] [--dry]

Each benchmark runs in a process of its own with the arguments its target is stated for, and
its last line — a JSON summary — is read back.  The results go into ``RESULTS.md`` between the
``latest`` markers (one row per benchmark: its figures, its target, the commit and date they
were measured at, the machine), and each run's full output is appended under "Runs", so a
figure always says which code it measured.  A row whose commit is older than the last change
to the code it measures is marked stale by :func:`stale` when the table is rewritten.

``--dry`` prints what would be written instead.  The machines here are shared: run it when
nothing else is, and read ratios (engine against a baseline in the same run) before absolute
figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
BEGIN, END = "<!-- latest: begin -->", "<!-- latest: end -->"


@dataclass(frozen=True)
class Bench:
    name: str
    args: tuple[str, ...]
    target: str
    #: the code whose change makes an old figure stale (paths under the repository root)
    measures: tuple[str, ...]

    def summary(self, printed: list) -> str:
        """The figures of a run, from the JSON lines the benchmark printed (its last, mostly)."""
        return SUMMARIES[self.name](printed)


def _fire(printed: list) -> str:
    r = printed[-1]
    return f"engine {r['engine']:,.0f}/s, raw SQL {r['raw']:,.0f}/s, ratio {r['ratio']:.2f}"


def _sweep(printed: list) -> str:
    r = printed[-1]
    return "; ".join(
        f"{x['due']:,} due of {x['total']:,}: {x['seconds']:.2f} s, peak {x['peak_rss_mb']:.0f} MB" for x in r
    )


def _ledger(printed: list) -> str:
    return "; ".join(
        f"{x['step']} {x['file'].rsplit('.', 1)[-1]}: {x['seconds']:.1f} s, {x['peak_rss_mb']:.0f} MB"
        for x in printed[-1]
    )


def _api(printed: list) -> str:
    closed = printed[0]  # the closed loop over distinct issues: saturation
    return (
        f"{closed['ok_per_second']:,.0f} transitions/s at saturation, p99 {closed['p99_ms']:.1f} ms, "
        f"errors {closed['errors']}"
    )


def _migrate(printed: list) -> str:
    r = printed[-1]
    return f"{r['issues']:,} issues in {r['seconds']:.1f} s ({r['per_second']:,.0f}/s), peak {r['peak_rss_mb']:.0f} MB"


def _verify(printed: list) -> str:
    r = printed[-1]
    return f"{r['events']:,} events in {r['seconds']:.1f} s (command {r['cli_seconds']:.1f} s), peak {r['peak_rss_mb']:.0f} MB"


SUMMARIES = {"fire": _fire, "sweep": _sweep, "ledger": _ledger, "api": _api, "migrate": _migrate, "verify": _verify}

BENCHES = [
    Bench("fire", ("--issues", "1000", "--transitions", "20000", "--rounds", "5"), "≥ 5,000/s; ratio ≥ 0.33",
          ("engine", "storage")),
    Bench("sweep", ("--due", "10000", "--totals", "100000", "1000000"), "< 5 s at 1,000,000; < 150 MB",
          ("engine", "storage")),
    Bench("ledger", ("--rows", "100000"), "each < 60 s, < 500 MB", ("engine", "storage")),
    Bench("migrate", ("--issues", "100000"), "< 60 s", ("engine", "storage")),
    Bench("verify", ("--issues", "50000", "--events", "20"), "< 30 s", ("engine", "storage")),
    Bench("api", ("--clients", "50", "--seconds", "30", "--workers", "2"), "p99 < 100 ms at 75 % of capacity",
          ("engine", "storage", "api")),
]  # fmt: skip


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def machine() -> str:
    cpu = ""
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        cpu = platform.processor()
    return f"{os.cpu_count()} vCPU {cpu or platform.machine()}, Python {platform.python_version()}"


def stale(commit: str, paths: tuple[str, ...]) -> bool:
    """Whether the code a figure measures changed after the commit it was measured at."""
    try:
        return bool(git("log", "--oneline", f"{commit}..HEAD", "--", *paths))
    except subprocess.CalledProcessError:
        return True


def run(bench: Bench, pg: str | None) -> tuple[str, list]:
    args = [sys.executable, str(HERE / f"{bench.name}.py"), *bench.args]
    if pg and bench.name in ("migrate",):
        args += ["--db", pg]
    env = {**os.environ, **({"ZHENGGAI_BENCH_PG": pg} if pg else {})}
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env)
    output = done.stdout + (f"\n[stderr]\n{done.stderr[-4000:]}" if done.returncode else "")
    if done.returncode:
        raise SystemExit(f"bench/{bench.name}.py failed ({done.returncode}):\n{output[-4000:]}")
    return output, [json.loads(line) for line in done.stdout.splitlines() if line.startswith(("{", "["))]


def table(rows: dict[str, tuple[str, str, str, str]]) -> str:
    lines = ["| benchmark | result | target | commit | date |", "|---|---|---|---|---|"]
    for b in BENCHES:
        if b.name in rows:
            summary, commit, date, _ = rows[b.name]
            mark = " (stale: the code changed since)" if stale(commit, b.measures) else ""
            lines.append(
                f"| `bench/{b.name}.py {' '.join(b.args)}` | {summary} | {b.target} | {commit}{mark} | {date} |"
            )
    return "\n".join(lines)


def read_rows(text: str) -> dict[str, tuple[str, str, str, str]]:
    """The latest rows already in RESULTS.md, so a partial run keeps the others."""
    rows: dict[str, tuple[str, str, str, str]] = {}
    block = text.split(BEGIN, 1)[1].split(END, 1)[0] if BEGIN in text else ""
    for line in block.splitlines():
        m = re.match(r"\| `bench/(\w+)\.py[^`]*` \| (.*?) \| .*? \| (\w+)(?: \(stale[^)]*\))? \| ([\d-]+) \|", line)
        if m:
            rows[m.group(1)] = (m.group(2), m.group(3), m.group(4), "")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="+", choices=[b.name for b in BENCHES])
    ap.add_argument(
        "--pg", help="PostgreSQL for the API benchmark (and migrate), e.g. postgresql://postgres@127.0.0.1/test"
    )
    ap.add_argument("--dry", action="store_true", help="print instead of writing RESULTS.md")
    args = ap.parse_args()
    if git("status", "--porcelain", "--", "engine", "storage", "api", "bench") and not args.dry:
        raise SystemExit("commit the code first: a figure must name the commit it measured")
    commit, date, where = git("rev-parse", "--short", "HEAD"), datetime.now(UTC).date().isoformat(), machine()
    text = RESULTS.read_text(encoding="utf-8")
    rows = read_rows(text)
    runs = []
    for b in BENCHES:
        if args.only and b.name not in args.only:
            continue
        print(f"bench/{b.name}.py {' '.join(b.args)} …", flush=True)
        output, result = run(b, args.pg)
        rows[b.name] = (b.summary(result), commit, date, where)
        print("  " + rows[b.name][0], flush=True)
        runs.append(
            f"### {b.name} — {commit}, {date}, {where}\n\n```\n$ python bench/{b.name}.py {' '.join(b.args)}\n{output.strip()}\n```\n"
        )
    latest = f"{BEGIN}\nMachine of the latest run: {where}.\n\n{table(rows)}\n{END}"
    if BEGIN in text:
        text = text.split(BEGIN, 1)[0] + latest + text.split(END, 1)[1]
    else:
        first = text.index("\n## ")  # after the introduction, before the first section
        text = f"{text[:first]}\n\n## Latest figures\n\n{latest}\n{text[first:]}"
    if "\n## Runs\n" not in text:
        text += "\n## Runs\n\nEach run of `bench/all.py`, newest last, as the benchmarks printed it.\n"
    text = text.rstrip() + "\n\n" + "\n".join(runs)
    if args.dry:
        print(text)
    else:
        RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
