"""The README's 快速开始 runs as it is written, on a machine with only this checkout: the
block is taken from README.md and run line by line in a fresh directory."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from system import need

from zhenggai.engine.definition.builtin import builtin

NEXT = builtin("rectification").version + 1  # the version the block makes from the shipped one

ROOT = Path(__file__).resolve().parent.parent


def quickstart() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## 快速开始") :]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the README's 快速开始 block"
    return block.group(1)


def test_the_readmes_quick_start_runs_end_to_end(tmp_path):
    need(cjk_font=True)  # the block says so: report drafts need a font with Chinese glyphs
    # what the block's `pip install ".[report]"` brings is installed with the test tools;
    # the block's pip lines are only echoed, so the run uses the package under test
    assert importlib.util.find_spec("docxtpl") and importlib.util.find_spec("matplotlib")
    block = quickstart()
    assert re.search(r'^pip install "\.\[report\]"', block, re.M), "the block installs the report extra"
    work = tmp_path / "checkout"
    shutil.copytree(ROOT / "examples", work / "examples")  # the files the block names, as shipped
    script = 'pip() { echo "pip $*"; }\nset -euo pipefail\n' + block
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHENGGAI_") or k == "ZHENGGAI_CJK_FONT"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    run = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"the quick start stopped:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    out = run.stdout
    assert "已新建 4 个问题，已存在 0 个" in out  # the inspection team's list, as it is
    assert "已新建 0 个问题，已存在 5 个" in out  # the ledger into its own round: nothing twice
    assert f"已部署 rectification 第 {NEXT} 版" in out and "将迁移 1 个问题" in out
    trial = work / "试用"
    for name in ("整改台账.xlsx", "整改情况报告.docx", "书记报告.docx", "公开版.docx", "zhenggai-2026-06-30.db"):
        assert (trial / name).stat().st_size > 0, name
