"""The normalised shapes: `Schedule` (RFC 5545 / HSDS 3.0 aligned) and `GroupListing` (one source record, cleaned)."""

from __future__ import annotations

import re
import zoneinfo
from datetime import date, time
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.vocab import (
    WEEKDAY_CODES,
    Audience,
    CoordinatesPrecision,
    Cost,
    Format,
    Freq,
    LedBy,
    Registration,
    ScheduleSource,
    Status,
    Topic,
)

BYDAY_PATTERN = re.compile(rf"^(?:[+-]?[1-5])?(?:{'|'.join(WEEKDAY_CODES)})$")


@cache
def iana_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class Schedule(BaseModel):
    """One recurrence: `freq` every `interval` on `byday`, from `opens_at` to `closes_at`, in `timezone`.

    `byday` holds RRULE day codes with an optional ordinal for monthly rules: ``MO``, ``1TU``, ``-1FR``.
    `timezone` is an IANA name; a numeric offset breaks at daylight-saving changes and is refused.
    """

    model_config = ConfigDict(frozen=True)

    freq: Freq
    interval: int = Field(1, ge=1, le=52)
    byday: tuple[str, ...] = ()
    opens_at: time | None = None
    closes_at: time | None = None
    timezone: str | None = None
    notes: str | None = Field(None, description="What the source says beside the rule: 'except holidays'.")
    valid_from: date | None = None
    valid_to: date | None = None

    @field_validator("byday")
    @classmethod
    def _byday(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for code in value:
            if not BYDAY_PATTERN.match(code):
                raise ValueError(f"not an RRULE day code: {code!r}")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        if value is not None and value not in iana_zones():
            raise ValueError(f"not an IANA time zone: {value!r}")
        return value

    @model_validator(mode="after")
    def _ordinals_only_monthly(self) -> Schedule:
        if self.freq is not Freq.MONTHLY and any(code[:-2] for code in self.byday):
            raise ValueError("ordinal day codes (1TU, -1FR) belong to MONTHLY rules")
        return self

    def rrule(self) -> str:
        """The RFC 5545 RRULE value, e.g. ``FREQ=MONTHLY;BYDAY=1TU,3TU``."""
        parts = [f"FREQ={self.freq.value}"]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.byday:
            parts.append("BYDAY=" + ",".join(self.byday))
        return ";".join(parts)


class GroupListing(BaseModel):
    """One directory's record of one group, cleaned. Raw values sit beside cleaned ones where cleaning can fail."""

    listing_id: str = Field(description="Stable id hashed from (source, source_id).")
    source: str
    source_id: str
    source_url: str | None = None
    fetched_at: str | None = None

    name: str
    organization: str | None = None
    description: str | None = None

    location_name: str | None = None
    address: str | None = Field(None, description="One line, as the source gave it or joined from its parts.")
    street: str | None = Field(None, description="US: standardised (USPS), unit removed; else as given.")
    unit: str | None = Field(None, description="Room, suite or floor, as written.")
    city: str | None = None
    region: str | None = None
    postal_code: str | None = Field(None, description="US: ZIP5; else as given.")
    country: str | None = None
    address_key: str | None = Field(None, description="Match key: standardised street and ZIP (or city, state).")
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    coordinates_approximate: bool = False
    coordinates_precision: CoordinatesPrecision | None = None

    phone: str | None = Field(None, description="E.164 (+15555550123), extension as ';ext=12'.")
    phone_raw: str | None = None
    email: str | None = None
    website: str | None = None
    conference_url: str | None = Field(None, description="Join link with any password removed.")
    conference_phone: str | None = None

    format: Format | None = None
    status: Status = Status.ACTIVE
    schedule_text: str | None = None
    schedules: list[Schedule] = Field(default_factory=list)
    schedule_source: ScheduleSource = ScheduleSource.MISSING

    topics: list[Topic] = Field(default_factory=list)
    audiences: list[Audience] = Field(default_factory=list)
    language: str | None = None
    cost: Cost = Cost.UNKNOWN
    faith_based: bool | None = None
    led_by: LedBy | None = None
    registration: Registration | None = None
    types: list[str] = Field(default_factory=list)

    raw_values: dict[str, Any] = Field(
        default_factory=dict, description="The source's value of each cleaned field whose cleaning changed it."
    )
    field_issues: list[str] = Field(
        default_factory=list, description="'<field>/invalid' for each value kept raw because it did not clean."
    )
