"""Structured schedules → `Schedule` rows.

Sources with structure (Meeting Guide `day`/`time`, RRULE-like `freq`/`byday`) are read here. Free-text schedules
("2nd and 4th Wednesdays 6-7:30pm") are kept as `schedule_text` until the text parser reads them; a schedule is
never guessed.
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import Any

from pydantic import ValidationError

from schemas.listing import Schedule, iana_zones
from schemas.raw import RawSchedule
from schemas.vocab import WEEKDAY_CODES, Freq

_DAY_NAMES: dict[str, str] = {}
for _index, _names in enumerate(
    (
        ("sunday", "sun", "su"),
        ("monday", "mon", "mo"),
        ("tuesday", "tue", "tues", "tu"),
        ("wednesday", "wed", "weds", "we"),
        ("thursday", "thu", "thur", "thurs", "th"),
        ("friday", "fri", "fr"),
        ("saturday", "sat", "sa"),
    )
):
    for _name in _names:
        _DAY_NAMES[_name] = WEEKDAY_CODES[_index]

# Zone abbreviations directories write after times. Daylight and standard spellings map to the same place.
ZONE_ABBREVIATIONS: dict[str, str] = {
    "ET": "America/New_York", "EST": "America/New_York", "EDT": "America/New_York", "EASTERN": "America/New_York",
    "CT": "America/Chicago", "CST": "America/Chicago", "CDT": "America/Chicago", "CENTRAL": "America/Chicago",
    "MT": "America/Denver", "MST": "America/Denver", "MDT": "America/Denver", "MOUNTAIN": "America/Denver",
    "PT": "America/Los_Angeles", "PST": "America/Los_Angeles", "PDT": "America/Los_Angeles",
    "PACIFIC": "America/Los_Angeles", "AKT": "America/Anchorage", "HST": "Pacific/Honolulu",
    "GMT": "Europe/London", "BST": "Europe/London", "UK": "Europe/London",
}  # fmt: skip

_TIME_PATTERN = re.compile(
    r"^\s*(?P<hour>\d{1,2})(?:[:.](?P<minute>\d{2}))?(?::(?P<second>\d{2}))?\s*"
    r"(?P<meridiem>a\.?\s*m\.?|p\.?\s*m\.?)?\s*$",
    re.IGNORECASE,
)


class ScheduleError(ValueError):
    """A structured schedule value that cannot be read; the listing keeps it raw and counts it."""


def parse_time(value: Any) -> time | None:
    """'19:00', '19:00:00', '7:00 PM', '7pm', '7.30 p.m.', 'noon', 'midnight' → time. None for empty input."""
    if value is None or value == "":
        return None
    text = str(value).strip().casefold()
    if text == "noon":
        return time(12, 0)
    if text == "midnight":
        return time(0, 0)
    match = _TIME_PATTERN.match(text)
    if not match:
        raise ScheduleError(f"not a time: {value!r}")
    hour = int(match["hour"])
    minute = int(match["minute"] or 0)
    meridiem = (match["meridiem"] or "").replace(".", "").replace(" ", "")
    if meridiem:
        if not 1 <= hour <= 12:
            raise ScheduleError(f"not a 12-hour time: {value!r}")
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    if hour == 24 and minute == 0:
        hour = 0
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ScheduleError(f"not a time: {value!r}")
    return time(hour, minute)


def parse_day(value: Any) -> str:
    """One day: Meeting Guide's 0-6 (0 = Sunday, as int or string) or a day name → RRULE code."""
    if isinstance(value, bool):
        raise ScheduleError(f"not a day: {value!r}")
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isascii() and value.strip().isdigit()):
        number = int(value)
        if 0 <= number <= 6:
            return WEEKDAY_CODES[number]
        raise ScheduleError(f"day number out of range 0-6: {value!r}")
    if isinstance(value, str):
        code = _DAY_NAMES.get(value.strip().casefold().rstrip("s."))
        if code is None:
            code = _DAY_NAMES.get(value.strip().casefold().rstrip("."))
        if code:
            return code
    raise ScheduleError(f"not a day: {value!r}")


def parse_days(value: Any) -> list[str]:
    """A day or a list of days (Meeting Guide allows an array), in week order without repeats."""
    values = value if isinstance(value, list) else [value]
    codes = {parse_day(item) for item in values}
    return [code for code in WEEKDAY_CODES if code in codes]


def resolve_timezone(value: str | None) -> str | None:
    """An IANA name as given, or the IANA zone for a common abbreviation ('ET', 'PST'). Unknown → ScheduleError."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    if text in iana_zones():
        return text
    zone = ZONE_ABBREVIATIONS.get(text.upper().replace(".", ""))
    if zone:
        return zone
    raise ScheduleError(f"not a time zone: {value!r}")


def parse_schedule(raw: RawSchedule, default_timezone: str | None = None) -> list[Schedule]:
    """One structured raw schedule → Schedule rows (none when the source gives no day, e.g. 'by appointment').

    Raises ScheduleError when a value is present but unreadable, so the caller can keep it raw and count it.
    """
    timezone = resolve_timezone(raw.timezone) or default_timezone
    if raw.freq or raw.byday:
        return [_from_rrule_fields(raw, timezone)]
    if raw.day is None or raw.day == "" or raw.day == []:
        if raw.time:
            # A time without a day is not a schedule anyone can attend; keep it as text.
            raise ScheduleError(f"a time without a day: {raw.time!r}")
        return []
    days = parse_days(raw.day)
    try:
        return [
            Schedule(
                freq=Freq.WEEKLY,
                byday=tuple(days),
                opens_at=parse_time(raw.time),
                closes_at=parse_time(raw.end_time),
                timezone=timezone,
            )
        ]
    except ValidationError as error:
        raise ScheduleError(str(error.errors()[0]["msg"])) from error


# RRULE parts a `Schedule` cannot hold. Dropping one would publish a broader rule than the source's ("Thursdays"
# for "Thursdays in weeks 41 and 42"), so a rule that uses one is not read; its text is kept.
UNSUPPORTED_RULE_PARTS = ("bymonthday", "byweekno", "byyearday", "bymonth", "bysetpos", "count")


def _from_rrule_fields(raw: RawSchedule, timezone: str | None) -> Schedule:
    extra = raw.model_extra or {}
    used = [part for part in UNSUPPORTED_RULE_PARTS if extra.get(part) not in (None, "", [], 0, "0")]
    if used:
        raise ScheduleError(f"a rule with {', '.join(used)} cannot be represented without changing its meaning")
    byday = raw.byday.split(",") if isinstance(raw.byday, str) else list(raw.byday or [])
    try:
        return Schedule(
            freq=Freq((raw.freq or "WEEKLY").strip().upper()),
            interval=int(raw.interval or 1),
            byday=tuple(code.strip().upper() for code in byday if code.strip()),
            opens_at=parse_time(_local_time(raw.opens_at or raw.time)),
            closes_at=parse_time(_local_time(raw.closes_at or raw.end_time)),
            timezone=timezone,
            notes=_rule_notes(raw.text, extra.get("except_dates")),
            # Not `start_date`: calendars fill it with the next occurrence, not the day the group began.
            valid_from=_date(extra.get("valid_from")),
            valid_to=_date(extra.get("valid_to") or extra.get("until") or extra.get("end_date")),
        )
    except (ValueError, ValidationError) as error:
        raise ScheduleError(f"not a recurrence rule: {error}") from error


def _rule_notes(text: str | None, except_dates: object) -> str | None:
    """The rule's words, and the dates it skips ("except 2026-01-19"), so an exception is not lost."""
    skipped = [str(day)[:10] for day in except_dates] if isinstance(except_dates, list) else []
    parts = [part for part in (text, f"except {', '.join(skipped)}" if skipped else None) if part]
    return "; ".join(parts) or None


def _local_time(value: str | None) -> str | None:
    """HSDS writes "09:00:00Z" or "09:00:00+01:00" for wall-clock times; the zone comes from the place."""
    if not value:
        return value
    return re.sub(r"(?:Z|[+-]\d{2}:?\d{2})$", "", str(value).strip())


def _date(value: object) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as error:
        raise ScheduleError(f"not a date: {value!r}") from error
