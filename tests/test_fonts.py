"""An office that was refused charts for want of a Chinese font installs one, as the refusal
advises, and draws its charts: matplotlib's font list, cached before the font existed, must
not keep hiding it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from system import need

DATA = Path(__file__).parent / "data"


def _zhenggai(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zhenggai.cli", "--lang", "en", *args],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_charts_are_drawn_after_the_font_is_installed_though_the_font_cache_predates_it(tmp_path):
    need(cjk_font=True)  # the font the office installs
    from zhenggai.reporting.fonts import _covers

    env = {k: v for k, v in os.environ.items() if k != "ZHENGGAI_CJK_FONT"}
    env["MPLCONFIGDIR"] = str(tmp_path / "mpl")  # a matplotlib cache of this machine's own
    # matplotlib builds its font list the first time it is used...
    subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=env, check=True, timeout=300)
    (cache,) = (tmp_path / "mpl").glob("fontlist-*.json")
    # ...and here it did so before the Chinese font was installed: no entry of the list holds it
    listing = json.loads(cache.read_text(encoding="utf-8"))
    chinese = {e["fname"] for e in listing["ttflist"] if _covers(e["fname"])}
    assert chinese, "the font the test installs is on this machine"
    listing["ttflist"] = [e for e in listing["ttflist"] if e["fname"] not in chinese]
    cache.write_text(json.dumps(listing), encoding="utf-8")

    db = f"sqlite:///{tmp_path / 'zhenggai.db'}"
    for args in (
        ("init",),
        ("round", "open", "R3", "--title", "巡视反馈", "--org", "省税务局", "--feedback-date", "2026-03-10",
         "--as", "wang"),
        ("issue", "import", str(DATA / "problems-gbk.csv"), "--round", "R3", "--as", "wang"),
    ):  # fmt: skip
        done = _zhenggai("--db", db, *args, env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
    done = _zhenggai("--db", db, "report", "charts", "--round", "R3", "-o", "charts", "--as", "wang", env=env,
                     cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    pngs = sorted(p.name for p in (tmp_path / "charts").glob("*.png"))
    assert pngs == ["burn_down.png", "lights_by_unit.png", "progress_by_unit.png"]
    assert all((tmp_path / "charts" / p).stat().st_size > 10_000 for p in pngs)
    # the list was brought up to date, so the next command finds the font at once
    refreshed = json.loads(cache.read_text(encoding="utf-8"))
    assert chinese <= {e["fname"] for e in refreshed["ttflist"]}
