"""`RawListing`: what every spider yields and what `ingest` reads, one JSON object per line.

It is deliberately lenient. A raw listing is the source's record in our field names, not yet cleaned: values keep
the source's spelling, numbers may arrive as strings, and keys we do not know are kept (``extra="allow"``) so that
nothing a directory publishes is lost before normalisation has looked at it. Only what identifies the record
(`source`, `source_id`) is required; everything else is judged later, field by field.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class RawSchedule(BaseModel):
    """One schedule as a source states it. Spiders copy values as published; `parse_schedule` interprets them.

    Meeting Guide style: `day` (0 = Sunday, a day name, or a list of either), `time`, `end_time`.
    RRULE style: `freq`, `interval`, `byday`, `opens_at`, `closes_at`. Either may carry `timezone` and `text`.
    """

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)

    day: int | str | list[int | str] | None = None
    time: str | None = None
    end_time: str | None = None
    freq: str | None = None
    interval: int | str | None = None
    byday: str | list[str] | None = None
    opens_at: str | None = None
    closes_at: str | None = None
    timezone: str | None = None
    text: str | None = None


# A source name is shown in reports and exports: a plain identifier, never text that could carry markup.
SOURCE_NAME_PATTERN = r"^[\w.\-]+$"
SOURCE_NAME_MAX = 100


def valid_source_name(name: str) -> bool:
    """What `RawListing.source` accepts: letters, digits, `_`, `.` and `-`, at most SOURCE_NAME_MAX of them."""
    return len(name) <= SOURCE_NAME_MAX and re.match(SOURCE_NAME_PATTERN, name) is not None


def _split_codes(value: Any) -> Any:
    """Sources give code lists as arrays or as one comma-separated string ("O, ST"); a lone value is a list of one."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [str(part).strip() for part in value if not isinstance(part, dict | list) and str(part).strip()]
    if isinstance(value, int | float | bool):
        return [str(value)]
    return value


class RawListing(BaseModel):
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True, str_strip_whitespace=True)

    source: str = Field(
        min_length=1,
        max_length=SOURCE_NAME_MAX,
        pattern=SOURCE_NAME_PATTERN,
        description="Registry name of the directory the record came from (letters, digits, `_`, `.`, `-`).",
    )
    source_id: str = Field(min_length=1, description="The directory's own id for the record (slug, post id).")
    source_url: str | None = Field(None, description="Where the record was read: the feed or page URL.")
    fetched_at: str | None = Field(None, description="ISO 8601 time the record was fetched.")

    name: str | None = None
    organization: str | None = None
    description: str | None = None

    address: str | None = Field(None, description="The whole address on one line, when the source has no parts.")
    street: str | None = None
    city: str | None = None
    region: str | None = Field(None, description="State, province or county as the source writes it.")
    postal_code: str | None = None
    country: str | None = Field(None, description="ISO 3166-1 alpha-2 where the source says; else the registry's.")
    latitude: str | None = None
    longitude: str | None = None
    location_name: str | None = Field(None, description="The venue: a church, a library, a clinic.")
    approximate: str | None = Field(None, description="Meeting Guide's 'yes' when the address is only approximate.")

    phone: str | None = None
    email: str | None = None
    website: str | None = None
    conference_url: str | None = None
    conference_phone: str | None = None

    format: str | None = Field(None, description="The source's attendance word (in_person, online, hybrid, …).")
    status: str | None = None
    schedule_text: str | None = None
    schedules: list[RawSchedule] = Field(default_factory=list)

    topics: list[str] = Field(default_factory=list)
    audiences: list[str] = Field(default_factory=list)
    language: str | None = None
    cost: str | None = None
    types: list[str] = Field(default_factory=list, description="The source's own type codes (Meeting Guide).")

    raw: Any = Field(None, description="The source's original record, untouched (any JSON value).")

    @field_validator("topics", "audiences", "types", mode="before")
    @classmethod
    def _codes(cls, value: Any) -> Any:
        return _split_codes(value)

    @field_validator("schedules", mode="before")
    @classmethod
    def _schedules(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, dict | str):
            value = [value]
        if not isinstance(value, list):
            return value
        # A schedule written as words inside the list ("Tuesdays 7pm") is a schedule too: read it as text.
        return [
            entry if isinstance(entry, dict) else {"text": str(entry)} for entry in value if entry not in (None, "")
        ]
