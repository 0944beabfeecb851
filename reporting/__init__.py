"""What a round looks like to people: charts and the rectification report drafts.

Kept apart from the engine core: it needs the ``report`` extra (matplotlib, python-docx,
docxtpl, Jinja2), which a host that only drives the workflow does not install.
"""

from __future__ import annotations

import importlib.util


def need(*modules: str) -> None:
    """Refuse plainly, naming the extra to install, when an optional dependency is missing."""
    from ..engine.errors import Unavailable
    from ..i18n import Text

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        names = ", ".join(missing)
        raise Unavailable(
            Text(
                f"需要可选依赖（缺少 {names}）：pip install 'zhenggai[report]'",
                f"needs the optional dependencies (missing {names}): pip install 'zhenggai[report]'",
            )
        )
