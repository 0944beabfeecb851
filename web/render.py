"""Pages from Jinja2 templates, with the viewer's language and the headers every page carries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from ..i18n import Text
from .context import Viewer

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), auto_reload=False)


def _data(value: Any) -> Markup:
    """JSON for a ``<script type="application/json">`` data block (never run as script)."""
    raw = json.dumps(value, ensure_ascii=False, default=str)
    return Markup(raw.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f}%"


_env.filters["data"] = _data
_env.filters["pct"] = _pct


#: what each kind of history event is called on a page
EVENT_KINDS = {
    "created": Text("登记", "created"),
    "transition": Text("流转", "moved"),
    "measure_added": Text("添加措施", "measure added"),
    "measure_done": Text("措施完成", "measure done"),
    "evidence_added": Text("上传佐证", "evidence added"),
    "signed_off": Text("签字确认", "signed off"),
    "mechanism_added": Text("建立长效机制", "mechanism added"),
    "assigned": Text("调整责任人", "reassigned"),
    "escalation": Text("预警督办", "escalation"),
    "escalation_remind": Text("提醒", "reminded"),
    "escalation_caution": Text("警示", "cautioned"),
    "escalation_elevate": Text("提级督办", "raised a level"),
    "escalation_failed": Text("督办未能执行", "escalation refused"),
    "migrated": Text("迁移工作流版本", "migrated"),
    "extension_requested": Text("申请延期", "deadline change asked"),
    "extension_approved": Text("批准延期", "deadline change approved"),
    "extension_refused": Text("不予延期", "deadline change refused"),
    "corrected": Text("更正登记信息", "record corrected"),
}


def label(value: Any, lang: str) -> str:
    """A bilingual label (a Text, or its dict) in the viewer's language."""
    if isinstance(value, Text):
        return value.get(lang)
    if isinstance(value, dict) and "zh" in value:
        return str(value.get(lang) or value["zh"])
    return "" if value is None else str(value)


def page(viewer: Viewer, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    lang = viewer.lang

    def t(zh: str, en: str) -> str:
        return en if lang == "en" else zh

    html = _env.get_template(template).render(
        v=viewer,
        lang=lang,
        t=t,
        kinds=EVENT_KINDS,
        L=lambda x: label(x, lang),
        csrf=viewer.session.csrf if viewer.session else "",
        **ctx,
    )
    return HTMLResponse(html, status_code=status, headers=viewer.headers())
