"""Validate and normalise: one raw record (a RawListing dict) → a `GroupListing`, or a `Reject` with its reasons.

A listing is rejected only when it cannot identify a group (no name) or gives no way to reach it (no place, link,
phone or e-mail). Any other bad field is kept raw, recorded in `field_issues`, and the listing goes on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import ValidationError

from pipeline.classify import (
    MEETING_GUIDE_AUDIENCES,
    classify_audiences,
    classify_topics,
    parse_cost,
    parse_format,
    vocabulary_values,
)
from pipeline.contacts import ContactError, parse_email, parse_phone, parse_url, strip_join_secrets
from pipeline.places import one_line_address, parse_coordinate, us_state_code, zone_of_place
from pipeline.schedules import ScheduleError, parse_schedule, resolve_timezone
from pipeline.text import plain_text
from schemas.listing import GroupListing, Schedule
from schemas.raw import RawListing
from schemas.vocab import REACH_FIELDS, Audience, Topic

T = TypeVar("T")


# The field issue that marks a listing named after its venue because the source gave it no name.
NAMED_BY_VENUE = "name/missing"


def listing_id(source: str, source_id: str) -> str:
    """Stable id of one source record: the same (source, source_id) always gives the same id."""
    digest = hashlib.sha256(f"{source}\x1f{source_id}".encode()).hexdigest()
    return f"L{digest[:16]}"


@dataclass
class Reject:
    source: str | None
    source_id: str | None
    reasons: list[str]
    payload: dict[str, Any]


@dataclass
class _Issues:
    items: list[str] = field(default_factory=list)

    def add(self, name: str) -> None:
        if name not in self.items:
            self.items.append(name)


def normalise(record: dict[str, Any]) -> GroupListing | Reject:
    """Never raises for bad data: every record comes back as a listing or as a reject that says why."""
    try:
        raw = RawListing.model_validate(record)
    except ValidationError as error:
        reasons = [f"{'.'.join(map(str, e['loc'])) or 'record'}/invalid: {e['msg']}" for e in error.errors()]
        return Reject(_text(record.get("source")), _text(record.get("source_id")), reasons, record)

    reasons = []
    name = plain_text(raw.name)
    named_by_venue = False
    if not name and plain_text(raw.location_name) and raw.schedules:
        # Real feeds leave some meetings unnamed; the venue and the schedule still identify the gathering,
        # and directories show it under the venue's name.
        name = plain_text(raw.location_name)
        named_by_venue = True
    if not name:
        reasons.append("name/missing: a listing must name its group (no name, and no venue and schedule)")
    if not any(getattr(raw, key, None) not in (None, "") for key in REACH_FIELDS):
        reasons.append("reach/missing: no address, coordinates, phone, e-mail, website or join link")
    if reasons:
        return Reject(raw.source, raw.source_id, reasons, record)
    assert name is not None
    listing = _build_listing(raw, name)
    if named_by_venue:
        listing.field_issues.insert(0, NAMED_BY_VENUE)
    return listing


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _build_listing(raw: RawListing, name: str) -> GroupListing:
    issues = _Issues()
    country = (raw.country or "").strip().upper() or None
    if country == "USA":
        country = "US"
    if country is not None and len(country) != 2:
        issues.add("country/invalid")
        country = None

    region = raw.region
    if country in (None, "US") and us_state_code(region):
        region = us_state_code(region)

    def clean(field_name: str, cleaner: Any, value: Any, *args: Any) -> Any:
        try:
            return cleaner(value, *args)
        except (ContactError, ValueError):
            issues.add(f"{field_name}/invalid")
            return None

    latitude = clean("latitude", parse_coordinate, raw.latitude, 90)
    longitude = clean("longitude", parse_coordinate, raw.longitude, 180)
    if (latitude is None) != (longitude is None) or (latitude == 0 and longitude == 0):
        issues.add("coordinates/invalid")
        latitude = longitude = None

    phone = clean("phone", parse_phone, raw.phone, country or "US")
    conference_phone = raw.conference_phone.strip() if raw.conference_phone else None
    conference_url = clean("conference_url", parse_url, raw.conference_url)
    if conference_url:
        conference_url = strip_join_secrets(conference_url)

    description = plain_text(raw.description)
    address = raw.address or one_line_address(raw.street, raw.city, region, raw.postal_code)
    has_place = bool(address or raw.street or raw.city or latitude is not None)
    fmt, status, format_invalid = parse_format(
        raw.format, has_place=has_place, has_online=bool(conference_url or conference_phone), types=raw.types
    )
    if format_invalid:
        issues.add("format/invalid")

    listing_zone = _listing_timezone(raw, issues)
    default_zone = listing_zone or zone_of_place(country, region)
    schedules: list[Schedule] = []
    for raw_schedule in raw.schedules:
        try:
            schedules.extend(parse_schedule(raw_schedule, default_zone))
        except ScheduleError:
            issues.add("schedules/invalid")

    topics, unknown_topics = vocabulary_values(raw.topics, Topic)
    audiences, unknown_audiences = vocabulary_values(raw.audiences, Audience)
    if unknown_topics:
        issues.add("topics/invalid")
    if unknown_audiences:
        issues.add("audiences/invalid")
    topics = _union(topics, classify_topics(name, description))
    type_audiences = [MEETING_GUIDE_AUDIENCES[code] for code in raw.types if code in MEETING_GUIDE_AUDIENCES]
    audiences = _union(audiences, type_audiences, classify_audiences(name, description))

    extra_status = raw.status or None
    if extra_status and status is None:
        status = _status_word(extra_status, issues)

    return GroupListing(
        listing_id=listing_id(raw.source, raw.source_id),
        source=raw.source,
        source_id=raw.source_id,
        source_url=raw.source_url,
        fetched_at=raw.fetched_at,
        name=name,
        organization=plain_text(raw.organization),
        description=description,
        location_name=plain_text(raw.location_name),
        address=plain_text(address),
        street=raw.street,
        city=raw.city,
        region=region,
        postal_code=raw.postal_code,
        country=country,
        latitude=latitude,
        longitude=longitude,
        coordinates_approximate=(raw.approximate or "").strip().casefold() in ("yes", "true", "1"),
        phone=phone,
        phone_raw=raw.phone,
        email=clean("email", parse_email, raw.email),
        website=clean("website", parse_url, raw.website),
        conference_url=conference_url,
        conference_phone=conference_phone,
        format=fmt,
        status=status or "active",
        schedule_text=plain_text(raw.schedule_text),
        schedules=schedules,
        topics=topics,
        audiences=audiences,
        language=raw.language,
        cost=parse_cost(raw.cost, description),
        types=raw.types,
        field_issues=issues.items,
    )


def _listing_timezone(raw: RawListing, issues: _Issues) -> str | None:
    """A zone given for the whole listing (an extra `timezone` key) applies to schedules that name none."""
    value = getattr(raw, "timezone", None)
    try:
        return resolve_timezone(value) if isinstance(value, str) else None
    except ScheduleError:
        issues.add("timezone/invalid")
        return None


def _status_word(word: str, issues: _Issues) -> str | None:
    key = word.strip().casefold().replace(" ", "_").replace("-", "_")
    if key in ("active", "temporarily_closed", "inactive"):
        return key
    if key in ("closed", "defunct", "cancelled", "canceled"):
        return "inactive"
    issues.add("status/invalid")
    return None


def _union(*lists: list[T]) -> list[T]:
    seen: list[T] = []
    for values in lists:
        for value in values:
            if value not in seen:
                seen.append(value)
    return seen
