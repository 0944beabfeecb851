"""System packages some tests need (a CJK font, LibreOffice, poppler, Chromium).

On a developer's machine a missing package skips its tests with the package to install.  CI
sets ``ZHENGGAI_REQUIRE_SYSTEM=1`` (``.ci/run`` installs every package below first): there a
missing package fails the test that needs it, so nothing is silently left unchecked.
"""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRED = os.environ.get("ZHENGGAI_REQUIRE_SYSTEM") == "1" or os.environ.get("ZHENGGAI_REQUIRE_CJK_FONT") == "1"

#: program -> the Debian package that brings it
PACKAGES = {
    "soffice": "libreoffice-writer-nogui libreoffice-calc-nogui",
    "pdftotext": "poppler-utils",
    "chromium": "chromium",
    "curl": "curl",
    "openssl": "openssl",
    "javac": "openjdk-17-jdk-headless",
    "java": "openjdk-17-jdk-headless",
}


def _has_cjk_font() -> bool:
    from zhenggai.engine.errors import Unavailable
    from zhenggai.reporting.fonts import cjk_font

    try:
        cjk_font()
    except Unavailable:
        return False
    return True


def missing(*programs: str, cjk_font: bool = False) -> list[str]:
    """The packages to install for these programs (and a CJK font) that this machine lacks."""
    out = [PACKAGES[p] for p in programs if shutil.which(p) is None]
    if cjk_font and not _has_cjk_font():
        out.append("fonts-noto-cjk")
    return out


def need(*programs: str, cjk_font: bool = False) -> None:
    """Skip (or, in CI, fail) the running test unless these are installed."""
    lacking = missing(*programs, cjk_font=cjk_font)
    if not lacking:
        return
    message = f"this test needs the Debian packages {' '.join(lacking)} (apt-get install -y {' '.join(lacking)})"
    if REQUIRED:
        pytest.fail(f"{message}; ZHENGGAI_REQUIRE_SYSTEM=1 makes that an error", pytrace=False)
    pytest.skip(message)
