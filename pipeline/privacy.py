"""What public exports may say: plain text, no join-link passwords, no facilitators' personal contact details.

Directories often write a facilitator's own name, cell number and e-mail into a group's description ("Call Jane
Smith at 503-555-0123"). The group's listed phone and website are published in their own fields; in free text,
public exports withhold e-mail addresses and phone numbers and shorten people's names to first name and initial.
`include_contacts=True` (internal use) keeps them.
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.contacts import redact_secrets
from pipeline.text import plain_text

EMAIL_WITHHELD = "(e-mail address withheld)"
PHONE_WITHHELD = "(phone number withheld)"

EMAIL_IN_TEXT = re.compile(r"(?:mailto:)?[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+", re.IGNORECASE)
# North American and international numbers written in text: 503-555-0123, (503) 555-0123, +44 20 7946 0958,
# 503.555.0123, 5035550123. Years, times and ZIP codes are too short to match.
PHONE_IN_TEXT = re.compile(
    r"(?<![\w/])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)\s?|\d{2,4}[\s.-])?\d{3,4}[\s.-]\d{4}(?:\s?(?:x|ext\.?)\s?\d{1,5})?"
    r"(?![\w/])|(?<![\w/])\d{10}(?![\w/])"
)
# A person named after a cue: "facilitated by Jane Smith", "Contact: Maria de la Cruz", "ask for Tom O'Neil".
_CUE = (
    r"(?:facilitat(?:or|ors|ed\s+by)|co-?facilitat(?:or|ors|ed\s+by)|led\s+by|hosted\s+by|run\s+by|leaders?|"
    r"contact(?:\s+person)?|coordinator|organi[sz]er|moderat(?:or|ed\s+by)|ask\s+for|call|text|e-?mail|with)"
)
_NAME = r"[A-Z][a-z]+(?:-[A-Z][a-z]+)?"
_SURNAME = r"(?:(?:de\s+la|de|del|van|von|da|di|le|la)\s+)?[A-Z][a-zA-Z'’-]+"
_PERSON = re.compile(rf"(\b(?i:{_CUE})\b\s*:?\s*(?:(?i:is)\s+)?)({_NAME})(\s+[A-Z]\.)?\s+({_SURNAME})\b")
_NEXT_WORD = re.compile(r"\s+([A-Za-z]+)")
# Second words that make the "name" an organisation or a place, not a person: "hosted by First Baptist Church".
_NOT_SURNAMES = frozenset(
    "church center centre hospital library alliance network association society group chapter clinic house hall "
    "foundation institute services council university college school county city community ministries ministry "
    "department health support recovery peer parish temple synagogue mosque".split()
)


def shorten_people(text: str) -> str:
    """'facilitated by Jane Smith' → 'facilitated by Jane S.'."""

    def shorten(match: re.Match[str]) -> str:
        cue, first, surname = match.group(1), match.group(2), match.group(4)
        following = _NEXT_WORD.match(text, match.end())
        if surname.casefold() in _NOT_SURNAMES or (following and following.group(1).casefold() in _NOT_SURNAMES):
            return match.group(0)
        initial = surname.split()[-1][0].upper()
        stop = "" if text[match.end() : match.end() + 1] == "." else "."
        return f"{cue}{first} {initial}{stop}"

    return _PERSON.sub(shorten, text)


def public_text(value: Any, *, include_contacts: bool = False) -> str | None:
    """Source text fit to publish: plain text, join-link passwords removed, and (unless contacts are asked for)
    e-mail addresses and phone numbers withheld and people's surnames shortened to an initial."""
    if value is None:
        return None
    text = plain_text(str(value))
    if not text:
        return None
    text = redact_secrets(text)
    if not include_contacts:
        text = EMAIL_IN_TEXT.sub(EMAIL_WITHHELD, text)
        text = PHONE_IN_TEXT.sub(PHONE_WITHHELD, text)
        text = shorten_people(text)
    return text or None
