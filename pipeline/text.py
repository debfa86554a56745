"""Small text cleaners shared by the pipeline steps."""

from __future__ import annotations

import html
import re

_BREAKS = re.compile(r"<\s*(br|/p|/div|/li|/h[1-6])\s*/?>", re.IGNORECASE)
_SCRIPTS = re.compile(r"<\s*(script|style)[^>]*>.*?<\s*/\s*\1\s*>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def plain_text(value: str | None) -> str | None:
    """Source text as plain text: scripts dropped, tags removed, entities decoded, whitespace tidied.

    Directories put HTML in notes (Meeting Guide says it "will be stripped"); every export is plain text.
    """
    if value is None:
        return None
    text = _SCRIPTS.sub(" ", value)
    text = _BREAKS.sub("\n", text)
    text = _TAGS.sub(" ", text)
    text = html.unescape(text)
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.splitlines())
    text = _BLANK_LINES.sub("\n\n", text).strip()
    return text or None


def fold(value: str) -> str:
    """Case-folded words only, for comparing names and places."""
    return " ".join(re.findall(r"[a-z0-9]+", html.unescape(value).casefold()))
