"""Finding a font that has Chinese characters, so charts never show empty boxes.

matplotlib's default font has no CJK glyphs.  We look, in this order, at the font named by
``ZHENGGAI_CJK_FONT`` (a file path), then at well-known CJK families the machine's packages
provide (Debian: ``fonts-noto-cjk`` or ``fonts-wqy-microhei``; Windows: Microsoft YaHei,
SimHei; macOS: PingFang), and take the first that really holds the characters we print.

matplotlib keeps its list of the machine's fonts in a cache (``fontlist-*.json`` under its
cache directory) that it builds once and never refreshes.  A font installed after that — the
very fix our refusal advises — would stay invisible.  So when the cached list has no CJK
font, the system's fonts are scanned (``findSystemFonts``: fontconfig and the usual font
folders), the ones matplotlib had not seen are added, the cache is rewritten for the next
process, and only then do we refuse.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from ..engine.errors import Unavailable
from ..i18n import Text

#: families in order of preference; sans-serif first, as charts read better in it
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Noto Sans SC",
    "Sarasa Gothic SC",
    "Noto Serif CJK SC",
    "Source Han Serif SC",
    "SimSun",
    "AR PL UMing CN",
)
#: characters every chart prints: if a font lacks them, it is not the font we want
SAMPLE = "整改销号红黄绿灯已识别制定措施评审督办"


def _covers(path: str) -> bool:
    from matplotlib.ft2font import FT2Font

    try:
        charmap = FT2Font(path).get_charmap()
    except (OSError, RuntimeError, ValueError):
        return False
    return all(ord(ch) in charmap for ch in SAMPLE)


def _known_cjk_font() -> Path | None:
    """The first preferred CJK family matplotlib's font list knows that covers our text."""
    from matplotlib import font_manager

    by_family: dict[str, list[str]] = {}
    for entry in font_manager.fontManager.ttflist:
        by_family.setdefault(entry.name, []).append(entry.fname)
    for family in CJK_FAMILIES:
        for fname in sorted(by_family.get(family, ())):
            if _covers(fname):
                return Path(fname)
    return None


def _add_system_fonts() -> int:
    """Add the system's fonts that matplotlib's (possibly stale) cached list lacks; rewrite
    the cache when any were added.  Returns how many were added."""
    import matplotlib
    from matplotlib import font_manager

    manager = font_manager.fontManager
    known = {entry.fname for entry in manager.ttflist}
    added = 0
    for path in sorted(font_manager.findSystemFonts()):
        if path in known:
            continue
        try:
            manager.addfont(path)
        except (OSError, RuntimeError, ValueError):
            continue  # unreadable or not a font: matplotlib skips these when it builds the list too
        added += 1
    if added:
        cache = Path(matplotlib.get_cachedir(), f"fontlist-v{font_manager.FontManager.__version__}.json")
        font_manager.json_dump(manager, cache)  # a read-only cache is only logged: the next process scans again
    return added


@lru_cache(maxsize=1)
def cjk_font() -> Path:
    """The font file charts are drawn with; :class:`Unavailable` says how to get one."""
    chosen = os.environ.get("ZHENGGAI_CJK_FONT")
    if chosen:
        if not Path(chosen).is_file() or not _covers(chosen):
            raise Unavailable(
                Text(
                    f"ZHENGGAI_CJK_FONT 指向的 {chosen} 不是含中文字形的字体文件",
                    f"ZHENGGAI_CJK_FONT names {chosen}, which is not a font file with Chinese glyphs",
                )
            )
        return Path(chosen)
    found = _known_cjk_font()
    if found is None and _add_system_fonts():
        found = _known_cjk_font()
    if found is not None:
        return found
    raise Unavailable(
        Text(
            "找不到含中文字形的字体，无法绘制图表：请安装字体（如 Debian 的 fonts-noto-cjk 或 fonts-wqy-microhei），"
            "或用 ZHENGGAI_CJK_FONT 指定字体文件；也可用 --no-charts 生成不含图表的报告",
            "no font with Chinese glyphs was found, so charts cannot be drawn: install one (e.g. Debian's "
            "fonts-noto-cjk or fonts-wqy-microhei) or name a font file in ZHENGGAI_CJK_FONT; "
            "or leave charts out with --no-charts",
        )
    )
