"""Phones, e-mail addresses, web and join links."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import phonenumbers


class ContactError(ValueError):
    """A contact value that cannot be cleaned; the listing keeps the raw value and counts it."""


_NANP = re.compile(r"^\s*(?:\+?1[\s.-]?)?\(?([2-9]\d{2})\)?[\s.-]?([2-9]\d{2})[\s.-]?(\d{4})\s*$")


@lru_cache(maxsize=16384)
def _nanp_prefix_valid(area_and_exchange: str, region: str) -> bool:
    # North American validity depends only on the area code and exchange (the last four digits are free), so
    # one phonenumbers check per prefix serves every number that shares it.
    number = phonenumbers.parse(area_and_exchange + "0100", region)
    return phonenumbers.is_valid_number_for_region(number, region) or phonenumbers.is_valid_number(number)


@lru_cache(maxsize=65536)
def parse_phone(raw: str | None, region: str | None = "US") -> str | None:
    """A phone as written ('(503) 555-0100', '503.555.0100 x12', '+44 20 7946 0000') → E.164 with ';ext='.

    The source's country is the default region for numbers written without a country code.
    """
    if raw is None or not raw.strip():
        return None
    region_code = (region or "US").upper()
    plain = _NANP.match(raw) if region_code in ("US", "CA") else None
    if plain:
        if not _nanp_prefix_valid(plain.group(1) + plain.group(2), region_code):
            raise ContactError(f"not a valid phone number: {raw!r}")
        return "+1" + "".join(plain.groups())
    try:
        number = phonenumbers.parse(raw, region_code)
    except phonenumbers.NumberParseException as error:
        raise ContactError(f"not a phone number: {raw!r}") from error
    # The default region first: one region's patterns, not the 25 that share +1 (most numbers are local).
    if not (phonenumbers.is_valid_number_for_region(number, region_code) or phonenumbers.is_valid_number(number)):
        raise ContactError(f"not a valid phone number: {raw!r}")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"{e164};ext={number.extension}" if number.extension else e164


_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")


def parse_email(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    text = text.removeprefix("mailto:")
    if not _EMAIL.match(text):
        raise ContactError(f"not an e-mail address: {raw!r}")
    local, _, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


def parse_url(raw: str | None) -> str | None:
    """A web address; a bare 'example.org/groups' gets https://. Anything else that is not http(s) is refused."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if "://" not in text and re.match(r"^[\w-]+(\.[\w-]+)+(/|$)", text):
        text = "https://" + text
    # Characters no real link carries unescaped, and that could open markup where a link is shown.
    if any(char in text for char in "<>\"'`{}|\\^") or any(char.isspace() for char in text):
        raise ContactError(f"not a web address: {raw!r}")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in parts.netloc:
        raise ContactError(f"not a web address: {raw!r}")
    return urlunsplit((parts.scheme, parts.netloc.lower(), parts.path, parts.query, parts.fragment))


# Query parameters that carry a meeting password (Zoom `pwd`, others' `passcode`); never published.
_SECRET_PARAMS = frozenset({"pwd", "passcode", "password", "pass", "pw", "pin", "tk"})


def strip_join_secrets(url: str) -> str:
    """A join link without its password: 'https://zoom.example.org/j/1?pwd=abc' → 'https://zoom.example.org/j/1'."""
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True)
             if key.casefold() not in _SECRET_PARAMS]  # fmt: skip
    netloc = parts.netloc.rpartition("@")[2]  # credentials in the authority are secrets too
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), ""))


_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"')]+", re.I)
_SECRET_PHRASE = re.compile(
    r"\b(?P<label>(?:meeting\s+)?(?:password|passcode|pass\s*code|pwd|pin|access\s+code))(?P<sep>\s*(?:is|:|=|-)?\s*)"
    r"(?P<secret>[^\s,;.]+)",
    re.I,
)


def redact_secrets(text: str | None) -> str | None:
    """Text with join-link passwords removed: from links in it, and from "Password: 1234" phrases."""
    if not text:
        return text
    text = _URL_IN_TEXT.sub(lambda match: strip_join_secrets(match.group()), text)
    return _SECRET_PHRASE.sub(lambda match: f"{match['label']}{match['sep']}(ask the group)", text)


def clean_conference_phone(value: str | None) -> str | None:
    """A dial-in as '+16465550100,,5550123#': the number and meeting id, without the passcode dialled after them.

    Meeting Guide's one-tap format is `number,,meeting_id#,,,,*passcode#`; everything after the meeting id is a
    secret. A number written with words ("(646) 555-0100 ID 555 0123 passcode 9") keeps its number only.
    """
    if not value:
        return None
    text = value.strip()
    if re.fullmatch(r"[\d+()\s.\-,#*]+", text):
        pieces = [piece for piece in text.split(",") if piece.strip()]
        kept = pieces[:2] if len(pieces) >= 2 and not pieces[1].strip().startswith("*") else pieces[:1]
        return ",,".join(piece.strip() for piece in kept) or None
    number = re.match(r"^[\d+()\s.\-]{7,}", text)
    return number.group().strip() if number else None
