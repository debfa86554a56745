"""Small text cleaners shared by the pipeline steps."""

from __future__ import annotations

import html
import re

_BREAKS = re.compile(r"<\s*(br|/p|/div|/li|/h[1-6])\s*/?>", re.IGNORECASE)
_SCRIPTS = re.compile(r"<\s*(script|style)[^>]*>.*?<\s*/\s*\1\s*>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")
# A "<" right before a letter, "/", "!" or "?" could open a tag in a reader's browser; a space after it cannot.
_LEFTOVER_TAG = re.compile(r"<(?=[a-zA-Z!/?])")
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
# Control characters (NUL, bell, ...) other than tab and newline break CSV readers and terminals; zero-width and
# direction marks at either end make a blank name look filled.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_INVISIBLE = r"\s\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff"
_INVISIBLE_EDGES = re.compile(rf"^[{_INVISIBLE}]+|[{_INVISIBLE}]+$")
_NEEDS_WORK = re.compile(r"[<&\n\r\t\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]|  ")


def plain_text(value: str | None) -> str | None:
    """Source text as plain text: scripts dropped, tags removed, entities decoded, whitespace tidied.

    Directories put HTML in notes (Meeting Guide says it "will be stripped"); every export is plain text. Entities
    are decoded and tags stripped until nothing changes, so "&lt;img onerror=...&gt;" cannot come back as a tag.
    """
    if value is None:
        return None
    if not _NEEDS_WORK.search(value):
        return value.strip() or None  # the common case: already plain, one line
    text = _CONTROL.sub(" ", value)
    for _ in range(3):
        before = text
        text = _SCRIPTS.sub(" ", text)
        text = _BREAKS.sub("\n", text)
        text = _TAGS.sub(" ", text)
        text = html.unescape(text)
        if text == before:
            break
    text = _LEFTOVER_TAG.sub("< ", text)
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.splitlines())
    text = _BLANK_LINES.sub("\n\n", text).strip()
    text = _INVISIBLE_EDGES.sub("", text)
    return text or None


def fold(value: str) -> str:
    """Case-folded words only (any script: "Группа поддержки" keeps its words), for comparing names and places."""
    return " ".join(re.findall(r"[^\W_]+", html.unescape(value).casefold()))
