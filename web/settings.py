"""The console's configuration, from the environment (as the rest of ``zhenggai serve``)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from ..engine.errors import InvalidInput
from ..i18n import Text

#: evidence types the console accepts by default: documents, sheets, images, archives, OFD
DEFAULT_TYPES = frozenset(
    {"pdf", "ofd", "doc", "docx", "xls", "xlsx", "wps", "et", "txt", "csv", "png", "jpg", "jpeg", "zip", "rar", "7z"}
)
ANCESTOR_RE = re.compile(r"^('self'|'none'|https?://[A-Za-z0-9.\-]+(:\d+)?|\*\.[A-Za-z0-9.\-]+)$")


@dataclass(frozen=True)
class UiSettings:
    files_dir: Path = Path("zhenggai-files")
    max_upload: int = 20 << 20
    allowed_types: frozenset[str] = DEFAULT_TYPES
    frame_ancestors: tuple[str, ...] = ("'self'",)
    session_life: timedelta = timedelta(hours=8)
    secure_cookie: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> UiSettings:
        """``ZHENGGAI_UI_FILES`` (where uploaded evidence is kept), ``ZHENGGAI_UI_MAX_UPLOAD_MB``,
        ``ZHENGGAI_UI_TYPES`` (comma-separated extensions), ``ZHENGGAI_UI_FRAME_ANCESTORS`` (the
        OA's origins allowed to frame the console, space-separated), ``ZHENGGAI_UI_SESSION_HOURS``,
        ``ZHENGGAI_UI_SECURE_COOKIE=1`` behind HTTPS."""
        env = os.environ
        ancestors = tuple(env.get("ZHENGGAI_UI_FRAME_ANCESTORS", "'self'").split())
        bad = [a for a in ancestors if not ANCESTOR_RE.match(a)]
        if bad:
            raise InvalidInput(
                Text(
                    f"ZHENGGAI_UI_FRAME_ANCESTORS 中的来源无效：{' '.join(bad)}（应为 'self'、'none' 或 https://主机）",
                    f"ZHENGGAI_UI_FRAME_ANCESTORS holds invalid origins: {' '.join(bad)} ('self', 'none' or https://host)",
                ),
                field="ZHENGGAI_UI_FRAME_ANCESTORS",
            )
        try:
            mb = float(env.get("ZHENGGAI_UI_MAX_UPLOAD_MB", "20"))
            hours = float(env.get("ZHENGGAI_UI_SESSION_HOURS", "8"))
        except ValueError:
            raise InvalidInput(
                Text(
                    "ZHENGGAI_UI_MAX_UPLOAD_MB 与 ZHENGGAI_UI_SESSION_HOURS 应为数字",
                    "ZHENGGAI_UI_MAX_UPLOAD_MB and ZHENGGAI_UI_SESSION_HOURS are numbers",
                ),
                field="ZHENGGAI_UI_MAX_UPLOAD_MB",
            ) from None
        types = env.get("ZHENGGAI_UI_TYPES")
        return cls(
            files_dir=Path(env.get("ZHENGGAI_UI_FILES", "zhenggai-files")),
            max_upload=int(mb * (1 << 20)),
            allowed_types=frozenset(t.strip().lower().lstrip(".") for t in types.split(","))
            if types
            else DEFAULT_TYPES,
            frame_ancestors=ancestors,
            session_life=timedelta(hours=hours),
            secure_cookie=env.get("ZHENGGAI_UI_SECURE_COOKIE", "") == "1",
        )

    def csp(self) -> str:
        """No inline script, nothing from elsewhere; styles inline only for the charts' own."""
        return (
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            f"frame-ancestors {' '.join(self.frame_ancestors)}"
        )
