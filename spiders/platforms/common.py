"""Small helpers the Events Calendar and JSON-LD platform spiders share (no spider lives here).

Candidates for `base.py`; kept apart so that adding these spiders changed no existing file.
"""

from __future__ import annotations

import html
import re
from typing import Any

# RRULE day codes in Python's `date.weekday()` order (Monday = 0).
PY_WEEKDAY_CODES: tuple[str, ...] = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")

# Local parts of shared mailboxes: an organiser address like these reaches an organisation, not a person.
ROLE_MAILBOXES: frozenset[str] = frozenset(
    {
        "admin", "contact", "contactus", "enquiries", "events", "frontdesk", "general", "groups", "hello", "help",
        "helpline", "info", "information", "inquiries", "mail", "membership", "office", "programs", "programming",
        "reception", "support", "supportgroups", "team",
    }
)  # fmt: skip

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def is_role_mailbox(address: Any) -> bool:
    """True for an organisation's shared address (info@, office@, …); a personal contact stays out of `email`."""
    if not isinstance(address, str) or "@" not in address:
        return False
    local = html.unescape(address).strip().rsplit("@", 1)[0].casefold()
    return local.replace(".", "").replace("-", "").replace("_", "") in ROLE_MAILBOXES


def plain(value: Any) -> str:
    """A source's title as plain comparable text: entities decoded, whitespace collapsed, case folded."""
    if not isinstance(value, str):
        return ""
    return " ".join(html.unescape(value).split()).casefold()


def slugify(value: Any) -> str:
    """'Women&#8217;s Wellness Circle' → 'women-s-wellness-circle' (for ids that must stay stable)."""
    return _NOT_SLUG.sub("-", plain(value)).strip("-")


def present(value: Any) -> bool:
    """Whether a source value says something: not None, not blank, not an empty list or object."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | dict | tuple):
        return bool(value)
    return True
