"""The house keeps its shape: imports point one way, no module imports another that imports it
back (imports inside functions count), and no module outgrows what a reader takes in at once."""

from __future__ import annotations

import ast
import os
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP = {"tests", "bench", "tools", "build", "migrations", "clients", "docs"}
MAX_LINES = 600

#: layers from the top; a module may import its own layer or any below it, never one above
LAYERS = [
    ("zhenggai.cli", "zhenggai.commands", "zhenggai.demo"),
    ("zhenggai.api", "zhenggai.web"),
    ("zhenggai.config",),
    ("zhenggai.reporting",),
    ("zhenggai.engine",),
    ("zhenggai.storage",),
    ("zhenggai.i18n",),
]
#: pure modules: state machines, guards, escalation and calendars know nothing of a database
PURE = ("zhenggai.engine.machine", "zhenggai.engine.guards", "zhenggai.engine.escalation", "zhenggai.engine.calendars")


@cache
def _modules() -> dict[str, Path]:
    mods: dict[str, Path] = {}
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP and not d.startswith(".") and d != "__pycache__"]
        for f in files:
            if f.endswith(".py"):
                rel = (Path(folder) / f).relative_to(ROOT)
                mods[".".join(("zhenggai", *rel.with_suffix("").parts)).removesuffix(".__init__")] = ROOT / rel
    return mods


def _imports(name: str, path: Path, mods: dict[str, Path]) -> set[str]:
    """The package's modules ``name`` imports, anywhere in it; and any third-party top names."""
    out: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            targets = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in mods else prefix for a in node.names]
        for t in targets:
            while t not in mods and "." in t and t.startswith("zhenggai"):
                t = t.rpartition(".")[0]
            if t != name and not name.startswith(t + "."):
                out.add(t)
    return out


@cache
def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {m: _imports(m, p, mods) for m, p in mods.items()}


def _layer(module: str) -> int | None:
    for i, names in enumerate(LAYERS):
        if any(module == n or module.startswith(n + ".") for n in names):
            return i
    return None


def test_no_module_imports_a_layer_above_it():
    upward = []
    for m, targets in _graph().items():
        lm = _layer(m)
        for t in targets:
            lt = _layer(t)
            if lm is not None and lt is not None and lt < lm:
                upward.append(f"{m} -> {t}")
    assert not upward, upward


def test_the_pure_modules_import_no_database():
    offenders = [
        f"{m} -> {t}"
        for m, targets in _graph().items()
        if m.startswith(PURE)
        for t in targets
        if t.startswith(("sqlalchemy", "zhenggai.storage"))
    ]
    assert not offenders, offenders


def test_no_import_cycles():
    mods = _modules()
    graph = {m: {t for t in ts if t in mods} for m, ts in _graph().items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, cycles


def test_no_module_is_over_six_hundred_lines():
    big = {m: n for m, p in _modules().items() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not big, big


def test_the_check_finds_what_it_looks_for(tmp_path):
    """The checks above would see a cycle, an upward arrow and a database in a pure module."""
    mods = {"zhenggai.engine.a": tmp_path / "a.py", "zhenggai.engine.b": tmp_path / "b.py"}
    mods["zhenggai.engine.a"].write_text("from . import b\nfrom ..cli import main\nimport sqlalchemy\n")
    mods["zhenggai.engine.b"].write_text("def f():\n    from .a import x\n")
    assert _imports("zhenggai.engine.a", mods["zhenggai.engine.a"], mods) >= {"zhenggai.engine.b", "sqlalchemy"}
    assert "zhenggai.engine.a" in _imports("zhenggai.engine.b", mods["zhenggai.engine.b"], mods)
    assert _layer("zhenggai.cli") < _layer("zhenggai.engine.a")
