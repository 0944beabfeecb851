"""The first draft of the rectification report (整改情况报告), from templates an office can
replace with its own.

Two kinds, as the rules ask for both after the concentrated period: the committee's report
(``committee``: 党委关于巡视整改进展情况的报告, in the committee's voice) and the Party
secretary's report on organising the rectification (``secretary``: written in the first
person, 我).  Markdown comes from Jinja2 templates (``*.md.j2``); Word from docxtpl templates
(``*.docx``: Word files with Jinja2 tags, which an office can restyle in Word).  Both get the
same context, built here from ``Engine.stats`` and ``Engine.dossier``.

The public version (``public=True``) is cut from the data, not from the template: problems
marked exempt (不予公开) are left out and counted, and each problem keeps only the fields the
workflow's ``disclosure.public`` lists, so a template that prints a name prints nothing.
"""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from ..engine.actors import Actor
from ..engine.errors import InvalidInput
from ..i18n import Text
from . import need

TEMPLATES = Path(__file__).parent / "templates"
KINDS = {
    "committee": Text("党委整改情况报告", "the committee's report"),
    "secretary": Text("党委书记组织落实整改情况报告", "the Party secretary's report"),
}
FORMATS = ("docx", "md")
CHART_LABELS = {
    "issues": "问题数",
    "open": "未销号问题",
    "period_end": "集中整改期结束",
    "progress_by_unit": "各单位整改进度",
    "burn_down": "未销号问题周走势",
    "lights_by_unit": "各单位红黄绿灯",
}


@dataclass(frozen=True)
class DraftInfo:
    output: Path
    kind: str
    format: str
    public: bool
    problems: int
    withheld: int
    charts: list[str]
    period_over: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": str(self.output),
            "kind": self.kind,
            "format": self.format,
            "public": self.public,
            "problems": self.problems,
            "withheld": self.withheld,
            "charts": self.charts,
            "period_over": self.period_over,
        }


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def _date(d: date | None) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if d else ""


def _public_view(p: Mapping[str, Any]) -> dict[str, Any]:
    """Only what the workflow declares public; measure owners only if ``measure_owners`` is."""
    fields = p["public_fields"]
    kept = {k: v for k, v in p.items() if k in fields or k.removesuffix("_label") in fields}
    if "measures" in kept and "measure_owners" not in fields:
        kept["measures"] = [{k: v for k, v in m.items() if k != "owner"} for m in p["measures"]]
    return kept


def _problem(p: Mapping[str, Any]) -> dict[str, Any]:
    """Labels as the template prints them (Chinese, as the report is)."""
    out = dict(p)
    for key in ("category_label", "source_label", "state_label", "light_label"):
        if out.get(key) is not None:
            out[key] = out[key].zh
    if "due_date" in out:
        out["due_date"] = _date(out["due_date"])
    if "measures" in out:
        undone = [m["due_date"] for m in out["measures"] if not m.get("done") and m.get("due_date")]
        done = sum(1 for m in out["measures"] if m.get("done"))
        nxt = min(undone, default=None)
        out["progress"] = (
            f"措施完成 {done}/{len(out['measures'])}" + (f"，下一项时限 {_date(nxt)}" if nxt else "")
            if out["measures"]
            else ""
        )
        out["measures"] = [dict(m, due_date=_date(m.get("due_date"))) for m in out["measures"]]
    if "mechanisms" in out:
        out["mechanisms"] = [dict(m, adopted_on=_date(m.get("adopted_on"))) for m in out["mechanisms"]]
    return out


def build_context(engine: Any, round_code: str, *, actor: Actor, kind: str, public: bool) -> dict[str, Any]:
    """Everything a template may print: the round, the numbers, each problem, what remains,
    the mechanisms adopted, and whether the concentrated period is over."""
    r = engine.round(round_code)
    problems = engine.dossier(round_code, actor=actor)
    public_fields = problems[0]["public_fields"] if problems else frozenset()
    # the public version counts and groups only what it may show: exempt problems are out of
    # every number, and units or sources are not broken down unless they are public fields
    stats = engine.stats(round_code, actor=actor, by="source", public=public)
    by_unit = engine.stats(round_code, actor=actor, by="unit", public=public)["by"]["groups"]
    if public and "unit" not in public_fields:
        by_unit = {}
    kept = [p for p in problems if not (public and p["confidential"])]
    pairs = [(raw, _problem(_public_view(raw) if public else raw)) for raw in kept]
    sources: dict[str, dict[str, Any]] = {}
    by_source = not public or "source" in public_fields
    for raw, p in pairs:
        key, label = (raw["source"], raw["source_label"].zh) if by_source else ("", "反馈问题")
        sources.setdefault(key, {"label": label, "problems": []})["problems"].append(p)
    source_stats = stats["by"]["groups"] if by_source else {"": stats}
    for key, group in sources.items():
        s = source_stats.get(key, {})
        group.update(total=s.get("total", 0), closed=s.get("closed", 0), rate=_pct(s.get("completion_rate")))
    remaining = [p for raw, p in pairs if not raw["final"]]
    shown = [p for _, p in pairs]
    mechanisms = [
        {**m, "number": p.get("number", ""), "problem": p.get("title", "")}
        for p in shown
        for m in p.get("mechanisms", [])
    ]
    period_over = bool(r["period_over"])
    as_of = date.fromisoformat(stats["as_of"])
    return {
        "kind": kind,
        "public": public,
        "round": {
            "code": r["code"],
            "title": r["title"],
            "org": r["org"],
            "feedback_date": _date(date.fromisoformat(r["feedback_date"])),
            "period_end": _date(date.fromisoformat(r["period_end"])),
        },
        "as_of": _date(as_of),
        "period_over": period_over,
        "draft_notice": (
            ""
            if period_over
            else f"草稿：集中整改期至{_date(date.fromisoformat(r['period_end']))}，尚未结束；本稿数字截至{_date(as_of)}，仅供内部研究修改。"
        ),
        "totals": {
            "total": stats["total"],
            "closed": stats["closed"],
            "open": stats["total"] - stats["closed"],
            "rate": _pct(stats["completion_rate"]),
            "immediate_total": stats["immediate_total"],
            "immediate_rate": _pct(stats["immediate_completion_rate"]),
            "overdue": stats["overdue"],
            "supervised": stats["supervised"],
            "recurrences": stats["recurrences"],
            "average_days_to_close": stats.get("average_days_to_close"),
            "measures_done": stats["measures"]["done"],
            "measures_total": stats["measures"]["total"],
        },
        "sources": list(sources.values()),
        "units": [
            {"unit": u, "total": g["total"], "closed": g["closed"], "rate": _pct(g["completion_rate"])}
            for u, g in sorted(by_unit.items())
        ],
        "categories": dict(Counter(p["category_label"] for p in shown if "category_label" in p)),
        "remaining": remaining,
        "mechanisms": mechanisms,
        "withheld": len(problems) - len(kept),
        "charts": {},
    }


def chart_data(engine: Any, round_code: str, *, actor: Actor, public: bool = False) -> Any:
    """What the charts draw; for the public version without the exempt problems, and without
    the units unless the workflow makes them public."""
    from .charts import ChartData

    r = engine.round(round_code)
    d = engine.workflow(r["workflow"], r["workflow_version"])
    stats = engine.stats(round_code, actor=actor, by="unit", public=public)
    if public and "unit" not in d.public_fields:
        stats["by"]["groups"] = {}
    lights = d.light_colours
    return ChartData(
        title=r["title"],
        org=r["org"],
        units=stats["by"]["groups"],
        states=[(name, s.label.zh, s.final) for name, s in d.states.items()],
        lights=[(name, label.zh) for name, label in lights.items()],
        burn_down=stats["burn_down"],
        feedback_date=date.fromisoformat(r["feedback_date"]),
        period_end=date.fromisoformat(r["period_end"]),
        labels=CHART_LABELS,
    )


def _template(template: Path | None, kind: str, fmt: str) -> Path:
    path = template or TEMPLATES / f"{kind}.{'md.j2' if fmt == 'md' else 'docx'}"
    if not path.is_file():
        raise InvalidInput(Text(f"找不到模板 {path}", f"no template at {path}"), field="template")
    return path


def _jinja_error(exc: Exception, path: Path) -> InvalidInput:
    line = getattr(exc, "lineno", None)
    where = f"{path}:{line}" if line else str(path)
    return InvalidInput(Text(f"模板 {where} 有误：{exc}", f"the template {where} is broken: {exc}"), field="template")


#: what gives text structure in Markdown (and raw HTML): a backslash before each makes it text
_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}<>|#!~&])")
_MD_LINE_START = re.compile(r"^([-+>=]|\d+[.)])")


class Verbatim(str):
    """Text the draft writes itself (a chart's file name) that Markdown escaping leaves alone."""


def md_escape(value: Any) -> Any:
    """Users' text as text in a Markdown draft: no heading, table row, list, link or HTML of its
    own (the Word draft escapes through docxtpl's XML escaping).  Line breaks become spaces, so
    a value stays inside the table cell or sentence the template put it in."""
    if not isinstance(value, str) or isinstance(value, Verbatim):
        return value
    text = " ".join(value.splitlines())
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return _MD_LINE_START.sub(r"\\\1", text)


def render_markdown(context: Mapping[str, Any], template: Path) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template.parent)),
        autoescape=False,
        finalize=md_escape,  # every value the template prints, whatever template an office uses
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    try:
        return env.get_template(template.name).render(**context)
    except jinja2.TemplateError as exc:
        raise _jinja_error(exc, template) from None


def render_docx(context: Mapping[str, Any], template: Path, charts: Mapping[str, Path], out: Path) -> None:
    import jinja2
    from docx.shared import Mm
    from docxtpl import DocxTemplate, InlineImage

    try:
        tpl = DocxTemplate(str(template))
        ctx = dict(context)
        ctx["charts"] = {name: InlineImage(tpl, str(path), width=Mm(150)) for name, path in charts.items()}
        tpl.render(ctx, jinja_env=jinja2.Environment(autoescape=True))
    except jinja2.TemplateError as exc:
        raise _jinja_error(exc, template) from None
    except (KeyError, ValueError) as exc:  # not a Word file
        raise InvalidInput(
            Text(f"{template} 不是可用的 Word 模板：{exc}", f"{template} is not a usable Word template: {exc}"),
            field="template",
        ) from None
    tpl.save(str(out))


def draft_report(
    engine: Any,
    round_code: str,
    output: str | Path,
    *,
    actor: Actor,
    fmt: str | None = None,
    kind: str = "committee",
    public: bool = False,
    template: str | Path | None = None,
    charts: bool = True,
) -> DraftInfo:
    """Write the draft; charts are drawn next to a Markdown file (``<name>.charts/``) and
    embedded in a Word file."""
    out = Path(output)
    fmt = (fmt or out.suffix.lstrip(".") or "docx").lower()
    if fmt not in FORMATS:
        raise InvalidInput(
            Text(f"不支持的格式 {fmt}（docx 或 md）", f"unsupported format {fmt} (docx or md)"), field="format"
        )
    if kind not in KINDS:
        raise InvalidInput(
            Text(f"未知的报告类型 {kind}（{'、'.join(KINDS)}）", f"unknown report kind {kind} ({', '.join(KINDS)})"),
            field="kind",
        )
    need("jinja2", *(("matplotlib",) if charts else ()), *(("docxtpl",) if fmt == "docx" else ()))
    tpl = _template(Path(template) if template else None, kind, fmt)
    with engine.snapshot():  # the numbers, the problems and the charts of one moment
        context = build_context(engine, round_code, actor=actor, kind=kind, public=public)
        series = chart_data(engine, round_code, actor=actor, public=public) if charts else None
    drawn: dict[str, Path] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if series is not None:
            from .charts import draw_all

            where = out.with_name(out.stem + ".charts") if fmt == "md" else Path(tmp)
            drawn = draw_all(series, where)
        try:
            if fmt == "md":
                # the files drawn here, not users' text: printed as they are
                context["charts"] = {name: Verbatim(f"{p.parent.name}/{p.name}") for name, p in drawn.items()}
                out.write_text(render_markdown(context, tpl), encoding="utf-8")
            else:
                render_docx(context, tpl, drawn, out)
        except OSError as exc:
            raise InvalidInput(Text(f"无法写入文件：{exc}", f"cannot write the file: {exc}"), field="output") from None
    return DraftInfo(
        output=out,
        kind=kind,
        format=fmt,
        public=public,
        problems=sum(len(s["problems"]) for s in context["sources"]),
        withheld=context["withheld"],
        charts=sorted(drawn),
        period_over=context["period_over"],
    )
