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


def label(value: Any, lang: str) -> str:
    """A bilingual label (a Text, or its dict) in the viewer's language."""
    if isinstance(value, Text):
        return value.get(lang)
    if isinstance(value, dict) and "zh" in value:
        return str(value.get(lang) or value["zh"])
    return "" if value is None else str(value)


def page(viewer: Viewer, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    lang = viewer.lang

    def t(zh: str, en: str) -> str:
        return en if lang == "en" else zh

    html = _env.get_template(name).render(
        v=viewer, lang=lang, t=t, L=lambda x: label(x, lang), csrf=viewer.session.csrf if viewer.session else "", **ctx
    )
    return HTMLResponse(html, status_code=status, headers=viewer.headers())
