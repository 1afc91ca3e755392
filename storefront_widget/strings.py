"""The widget's words, read from the same JSON files the widget is built from (src/), so the
merchant admin offers an override for every string the widget shows, with its default."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

SOURCES = Path(__file__).resolve().parent / "src"
LOCALES = ("en", "ms", "ar", "th")
PLACEHOLDER_RE = re.compile(r"\{(\w+)\}")


@cache
def widget_strings() -> dict[str, dict[str, str]]:
    """{locale: {key: default text}}: the launcher's words, then the panel's (one `points`)."""
    launcher = json.loads((SOURCES / "launcher-strings.json").read_text(encoding="utf-8"))
    panel = json.loads((SOURCES / "panel-strings.json").read_text(encoding="utf-8"))
    return {locale: {**launcher[locale], **panel[locale]} for locale in LOCALES}


def string_keys() -> list[str]:
    return list(widget_strings()["en"])


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER_RE.findall(text))
