"""Bilingual text: every message a user reads carries Chinese and English.

The default shows Chinese first and English after it; ``--lang en`` or ``ZHENGGAI_LANG=en``
puts English first.  Keeping both languages in one value (rather than looking messages up
by key later) means a refusal built deep inside a guard reaches the CLI, the JSON output and
an embedding OA system intact.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

LANGS = ("zh", "en")


def current_lang(explicit: str | None = None) -> str:
    """The language to put first: an explicit choice, then ZHENGGAI_LANG, then Chinese."""
    lang = (explicit or os.environ.get("ZHENGGAI_LANG") or "zh").lower()
    return "en" if lang.startswith("en") else "zh"


@dataclass(frozen=True, slots=True)
class Text:
    """A message in both languages."""

    zh: str
    en: str

    def render(self, lang: str | None = None) -> str:
        first = current_lang(lang)
        if self.zh == self.en:
            return self.zh
        return f"{self.zh} / {self.en}" if first == "zh" else f"{self.en} / {self.zh}"

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh

    def to_dict(self) -> dict[str, str]:
        return {"zh": self.zh, "en": self.en}

    def __str__(self) -> str:
        return self.render()


def T(zh: str, en: str) -> Text:
    return Text(zh, en)
