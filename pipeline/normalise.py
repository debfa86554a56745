"""Validate and normalise: one raw record (a RawListing dict) → a `GroupListing`, or a `Reject` with its reasons.

A listing is rejected only when it cannot identify a group (no name, nor a venue with a schedule) or gives no
usable way to reach it (no place, link, phone or e-mail that survives cleaning). Any other bad value is dropped
from its cleaned field, kept in `raw_values`, and named in `field_issues`; the listing goes on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from pipeline.addresses import ParsedAddress, address_key, lookup_zip, parse_us_address, zip5
from pipeline.classify import classify_listing, parse_format
from pipeline.contacts import (
    ContactError,
    clean_conference_phone,
    parse_email,
    parse_phone,
    parse_url,
    redact_secrets,
    strip_join_secrets,
)
from pipeline.places import one_line_address, parse_coordinate, us_state_code, zone_of_place
from pipeline.schedule_text import TextScheduleKind, parse_schedule_text
from pipeline.schedules import ScheduleError, parse_schedule, resolve_timezone
from pipeline.text import plain_text
from schemas.listing import GroupListing, Schedule
from schemas.raw import RawListing, RawSchedule
from schemas.vocab import CoordinatesPrecision, ScheduleSource, Status

# The field issue that marks a listing named after its venue because the source gave it no name.
NAMED_BY_VENUE = "name/missing"
# Fields that identify the record: without them there is nothing to store it under.
IDENTITY_FIELDS = ("source", "source_id")
_COUNTRY_ALIASES = {"USA": "US", "UNITED STATES": "US", "UK": "GB", "UNITED KINGDOM": "GB", "GREAT BRITAIN": "GB"}


def listing_id(source: str, source_id: str) -> str:
    """Stable id of one source record: the same (source, source_id) always gives the same id."""
    digest = hashlib.sha256(f"{source}\x1f{source_id}".encode()).hexdigest()
    return f"L{digest[:16]}"


@dataclass
class Reject:
    source: str | None
    source_id: str | None
    reasons: list[str]
    payload: Any


@dataclass
class _Issues:
    items: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str) -> None:
        if name not in self.items:
            self.items.append(name)


# Python refuses to turn integers of more than 4,300 digits into text; no field of ours holds one.
_LONGEST_INTEGER_BITS = 14_000


def readable(value: Any) -> Any:
    """The record with what no step can read replaced: lone UTF-16 surrogates (from a broken JSON escape) become
    U+FFFD, and integers too long to write as text become a note saying so."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value.bit_length() > _LONGEST_INTEGER_BITS:
        return f"(an integer of about {int(value.bit_length() * 0.30103)} digits)"
    if isinstance(value, dict):
        return {readable(key): readable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [readable(item) for item in value]
    return value


def normalise(record: dict[str, Any]) -> GroupListing | Reject:
    """Never raises for bad data: every record comes back as a listing or as a reject that says why."""
    try:
        return _normalise(record)
    except ValueError:  # UnicodeError included
        # A huge integer or a lone surrogate somewhere in the record: read what can be read.
        return _normalise(readable(record))


def _normalise(record: dict[str, Any]) -> GroupListing | Reject:
    raw, issues, reasons = _validate(record)
    if raw is None:
        return Reject(_text(record.get("source")), _text(record.get("source_id")), reasons, record)

    name = plain_text(raw.name)
    named_by_venue = False
    if not name and plain_text(raw.location_name) and (raw.schedules or raw.schedule_text):
        # Real feeds leave some meetings unnamed; the venue and the schedule still identify the gathering,
        # and directories show it under the venue's name.
        name = plain_text(raw.location_name)
        named_by_venue = True
    if not name:
        return Reject(
            raw.source, raw.source_id, ["name/missing: a listing must name its group (no name, nor a venue)"], record
        )
    listing = _build_listing(raw, name, issues)
    if not _reachable(listing):
        return Reject(
            raw.source,
            raw.source_id,
            ["reach/missing: no usable address, coordinates, phone, e-mail, website or join link"
             + (f" ({', '.join(listing.field_issues)})" if listing.field_issues else "")],
            record,
        )  # fmt: skip
    if named_by_venue:
        listing.field_issues.insert(0, NAMED_BY_VENUE)
    return listing


def _validate(record: dict[str, Any]) -> tuple[RawListing | None, _Issues, list[str]]:
    """RawListing from the record; a bad optional field is set aside (and counted), never fatal."""
    issues = _Issues()
    candidate = dict(record)
    for _ in range(len(candidate) + 1):
        try:
            return RawListing.model_validate(candidate), issues, []
        except ValidationError as error:
            bad_fields = {str(problem["loc"][0]) for problem in error.errors() if problem["loc"]}
            fatal = [
                problem for problem in error.errors() if not problem["loc"] or problem["loc"][0] in IDENTITY_FIELDS
            ]
            if fatal or not bad_fields:
                reasons = [f"{'.'.join(map(str, p['loc'])) or 'record'}/invalid: {p['msg']}" for p in error.errors()]
                return None, issues, reasons
            for name in bad_fields:
                issues.add(f"{name}/invalid")
                issues.raw[name] = candidate.pop(name, None)
    return None, issues, ["record/invalid: could not be read"]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _reachable(listing: GroupListing) -> bool:
    return any(
        (
            listing.address,
            listing.street,
            listing.city,
            listing.postal_code,
            listing.latitude is not None and listing.coordinates_precision is not CoordinatesPrecision.POSTAL_CODE,
            listing.phone,
            listing.email,
            listing.website,
            listing.conference_url,
            listing.conference_phone,
        )
    )


def _country(raw: RawListing, issues: _Issues) -> str | None:
    value = plain_text(raw.country)
    if not value:
        return None
    code = value.strip().upper()
    code = _COUNTRY_ALIASES.get(code, code)
    if len(code) != 2 or not code.isalpha():
        issues.add("country/invalid")
        issues.raw["country"] = raw.country
        return None
    if code != raw.country:
        issues.raw["country"] = raw.country
    return code


def _build_listing(raw: RawListing, name: str, issues: _Issues) -> GroupListing:
    country = _country(raw, issues)

    def clean(field_name: str, cleaner: Any, value: Any, *args: Any) -> Any:
        try:
            cleaned = cleaner(value, *args)
        except (ContactError, ValueError, TypeError):
            issues.add(f"{field_name}/invalid")
            issues.raw[field_name] = value
            return None
        if value is not None and cleaned != value:
            issues.raw[field_name] = value
        return cleaned

    # Place: US addresses parsed and standardised; others kept as given.
    street, city, region = plain_text(raw.street), plain_text(raw.city), plain_text(raw.region)
    postal_code = plain_text(raw.postal_code)
    address = plain_text(raw.address) or one_line_address(street, city, region, postal_code)
    unit = None
    address_key = None
    location_name = plain_text(raw.location_name)
    if country in (None, "US") and address:
        parsed = parse_us_address(address)
        if parsed is not None and (parsed.street or parsed.postal_code or parsed.region):
            street, city, region, postal_code, unit, address_key = _merge_address(
                parsed, street, city, region, postal_code, issues
            )
            location_name = location_name or parsed.venue
            if country is None and parsed.region:
                country = "US"
    if country in (None, "US") and us_state_code(region):
        region = us_state_code(region)
    if country == "US" and postal_code and zip5(postal_code) and zip5(postal_code) != postal_code:
        issues.raw.setdefault("postal_code", postal_code)
        postal_code = zip5(postal_code)

    latitude = clean("latitude", parse_coordinate, raw.latitude, 90)
    longitude = clean("longitude", parse_coordinate, raw.longitude, 180)
    if (latitude is None) != (longitude is None) or (latitude == 0 and longitude == 0):
        issues.add("coordinates/invalid")
        latitude = longitude = None
    approximate = (raw.approximate or "").strip().casefold() in ("yes", "true", "1")
    precision = None
    if latitude is not None:
        precision = CoordinatesPrecision.APPROXIMATE if approximate else CoordinatesPrecision.SOURCE
    zip_place = lookup_zip(postal_code) if country in (None, "US") and postal_code else None
    if latitude is None and zip_place is not None:
        latitude, longitude, precision = zip_place.latitude, zip_place.longitude, CoordinatesPrecision.POSTAL_CODE

    # Contacts.
    phone = clean("phone", parse_phone, raw.phone, country or "US")
    conference_url = clean("conference_url", parse_url, raw.conference_url)
    if conference_url:
        conference_url = strip_join_secrets(conference_url)
    website = clean("website", parse_url, raw.website)
    if website:
        website = strip_join_secrets(website)
    conference_phone = clean_conference_phone(plain_text(raw.conference_phone))
    if conference_phone != raw.conference_phone and raw.conference_phone:
        issues.raw["conference_phone"] = "(withheld: may carry a passcode)"
    description = redact_secrets(plain_text(raw.description))

    # A place someone can go to: a street, or the source's own exact coordinates (a city or a ZIP centroid is
    # where an online group is "from", not where it meets).
    has_place = bool(street or (address and any(char.isdigit() for char in address.split(",")[0])))
    has_place = has_place or precision is CoordinatesPrecision.SOURCE
    fmt, status, format_invalid = parse_format(
        raw.format, has_place=has_place, has_online=bool(conference_url or conference_phone), types=raw.types
    )
    if format_invalid:
        issues.add("format/invalid")
        issues.raw["format"] = raw.format
    if raw.status and status is None:
        status = _status_word(raw.status, issues)

    schedule_text = redact_secrets(plain_text(raw.schedule_text))
    listing_zone = _listing_timezone(raw, issues)
    place_zone = (zip_place.timezone if zip_place else None) or zone_of_place(country, region)
    schedules, schedule_source = _schedules(raw.schedules, schedule_text, listing_zone or place_zone, issues)

    classification = classify_listing(
        name=name,
        description=description,
        types=raw.types,
        source_topics=raw.topics,
        source_audiences=raw.audiences,
        cost=raw.cost,
        language=raw.language,
    )
    if classification.unknown_topics:
        issues.add("topics/invalid")
        issues.raw["topics"] = list(raw.topics)
    if classification.unknown_audiences:
        issues.add("audiences/invalid")
        issues.raw["audiences"] = raw.audiences

    return GroupListing(
        listing_id=listing_id(raw.source, raw.source_id),
        source=raw.source,
        source_id=raw.source_id,
        source_url=clean("source_url", parse_url, raw.source_url),
        fetched_at=raw.fetched_at,
        name=name,
        organization=plain_text(raw.organization),
        description=description,
        location_name=location_name,
        address=address,
        street=street,
        unit=unit,
        city=city,
        region=region,
        postal_code=postal_code,
        country=country,
        address_key=address_key,
        latitude=latitude,
        longitude=longitude,
        coordinates_approximate=approximate,
        coordinates_precision=precision,
        phone=phone,
        phone_raw=raw.phone,
        email=clean("email", parse_email, raw.email),
        website=website,
        conference_url=conference_url,
        conference_phone=conference_phone,
        format=fmt,
        status=status or Status.ACTIVE,
        schedule_text=schedule_text,
        schedules=schedules,
        schedule_source=schedule_source,
        topics=list(classification.topics),
        audiences=list(classification.audiences),
        language=classification.language,
        cost=classification.cost,
        faith_based=classification.faith_based,
        led_by=classification.led_by,
        registration=classification.registration,
        types=raw.types,
        raw_values=issues.raw,
        field_issues=issues.items,
    )


def _merge_address(
    parsed: ParsedAddress,
    street: str | None,
    city: str | None,
    region: str | None,
    postal_code: str | None,
    issues: _Issues,
) -> tuple[str | None, str | None, str | None, str | None, str | None, str | None]:
    """The source's own parts win; the parser fills what it left out and standardises the street."""
    if parsed.street and parsed.street != street:
        if street:
            issues.raw["street"] = street
        street = parsed.street
    city = city or parsed.city
    region = region or parsed.region
    postal_code = postal_code or parsed.postal_code
    return street, city, region, postal_code, parsed.unit, address_key(street, postal_code, city, region)


def _schedules(
    raw_schedules: list[RawSchedule], text: str | None, zone: str | None, issues: _Issues
) -> tuple[list[Schedule], ScheduleSource]:
    """Structured schedules first; the directory's words when it has no structure (or only words)."""
    schedules: list[Schedule] = []
    texts = [entry.text for entry in raw_schedules if _only_words(entry)]
    for entry in raw_schedules:
        if _only_words(entry):
            continue
        try:
            schedules.extend(parse_schedule(entry, zone))
        except (ScheduleError, ValueError):
            issues.add("schedules/invalid")
            issues.raw.setdefault("schedules", [s.model_dump(exclude_none=True) for s in raw_schedules])
    if schedules:
        return schedules, ScheduleSource.STRUCTURED
    words = [part for part in (*texts, text) if part]
    if not words:
        return [], ScheduleSource.MISSING
    kinds = set()
    for part in words:
        reading = parse_schedule_text(part, zone)
        schedules.extend(reading.schedules)
        kinds.add(reading.kind)
    if schedules:
        return schedules, ScheduleSource.TEXT
    if TextScheduleKind.NONE_STATED in kinds:
        return [], ScheduleSource.NONE_STATED
    issues.add("schedule_text/unparsed")
    return [], ScheduleSource.UNPARSED


def _only_words(entry: RawSchedule) -> bool:
    return bool(entry.text) and entry.day in (None, "", []) and not entry.freq and not entry.byday


def _listing_timezone(raw: RawListing, issues: _Issues) -> str | None:
    """A zone given for the whole listing (an extra `timezone` key) applies to schedules that name none."""
    value = getattr(raw, "timezone", None)
    try:
        return resolve_timezone(value) if isinstance(value, str) else None
    except ScheduleError:
        issues.add("timezone/invalid")
        issues.raw["timezone"] = value
        return None


def _status_word(word: str, issues: _Issues) -> Status | None:
    key = word.strip().casefold().replace(" ", "_").replace("-", "_")
    if key in {status.value for status in Status}:
        return Status(key)
    if key in ("closed", "defunct", "cancelled", "canceled"):
        return Status.INACTIVE
    if key in ("confirmed", "tentative", "publish", "published", "open"):  # iCalendar, WordPress: it goes ahead
        return Status.ACTIVE
    issues.add("status/invalid")
    issues.raw["status"] = word
    return None
