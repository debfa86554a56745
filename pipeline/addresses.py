"""US addresses: parsed with usaddress (a CRF model), standardised with USPS Publication 28 abbreviations (the
tables usaddress-scourgify keeps), and an offline ZIP lookup (zipcodes) for centroids and time zones.

Non-US addresses are kept as the source gives them: no parser here knows them well enough to do better.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import usaddress
import zipcodes
from scourgify.address_constants import (
    DIRECTIONAL_REPLACEMENTS,
    OCCUPANCY_TYPE_ABBREVIATIONS,
    STREET_TYPE_ABBREVIATIONS,
)

from pipeline.places import us_state_code

_LONG_DIRECTIONS = {**DIRECTIONAL_REPLACEMENTS, **{short: short for short in DIRECTIONAL_REPLACEMENTS.values()}}
_ZIP = re.compile(r"^(\d{5})(?:[-\s]?\d{4})?$")


@dataclass(frozen=True)
class ParsedAddress:
    street: str | None  # standardised: "415 N ALDER ST"
    unit: str | None  # as written: "Rm 12", "Suite 4"
    city: str | None
    region: str | None  # two-letter state code
    postal_code: str | None  # ZIP5
    venue: str | None  # a building or place name written into the address line ("St. Mark Church")


def address_key(street: str | None, postal_code: str | None, city: str | None, region: str | None) -> str | None:
    """'415 N ALDER ST|97301': the standardised street (unit removed) with the ZIP5, or the city and state."""
    where = zip5(postal_code) or "|".join(part.upper() for part in (city, us_state_code(region) or region) if part)
    return f"{street}|{where}" if street and where else None


def _word(value: str) -> str:
    return re.sub(r"[.,#]", "", value).strip().upper()


# The common, unambiguous shape: "415 N Alder Street, Suite 4, Riverton, OR 97301". Read directly (a CRF tagging
# costs ~0.2 ms, and most directory addresses look like this); anything else goes to usaddress. A test holds the
# two to the same answer on every address in the fixtures.
_SIMPLE_TYPES = (
    "street|st|avenue|ave|road|rd|boulevard|blvd|drive|dr|lane|ln|way|court|ct|place|pl|parkway|pkwy|highway|hwy"
    "|circle|cir|terrace|ter|square|sq|trail|trl"
)
_DIRECTIONS = "n|s|e|w|ne|nw|se|sw|north|south|east|west|northeast|northwest|southeast|southwest"
_SIMPLE_ADDRESS = re.compile(
    rf"^(?P<number>\d+[a-z]?)\s+(?:(?P<predir>{_DIRECTIONS})\.?\s+)?"
    rf"(?P<name>[a-z][a-z0-9']*(?:\s+[a-z0-9'][a-z0-9']*)*?)\s+(?P<type>{_SIMPLE_TYPES})\.?"
    rf"(?:\s+(?P<postdir>n|s|e|w|ne|nw|se|sw)\.?)?"
    r"(?:,?\s+(?P<unit>(?:suite|ste|room|rm|unit|apt|floor|fl)\.?\s*#?\s*[a-z0-9-]+|#\s*[a-z0-9-]+))?"
    r",\s*(?P<city>[a-z][a-z .'-]*?),\s*(?P<state>[a-z]{2})\.?\s+(?P<zip>\d{5})(?:-\d{4})?"
    r"(?:,\s*(?:usa|us|united states))?\s*$",
    re.IGNORECASE,
)


@lru_cache(maxsize=65536)
def parse_us_address(line: str) -> ParsedAddress | None:
    """Components of a one-line US address; None when it has no street number and street (a PO box, a city)."""
    simple = _parse_simple(line)
    return simple if simple is not None else parse_with_usaddress(line)


def _parse_simple(line: str) -> ParsedAddress | None:
    match = _SIMPLE_ADDRESS.match(line.strip())
    if not match or us_state_code(match["state"]) is None:
        return None
    pieces = [_word(match["number"])]
    if match["predir"]:
        direction = _word(match["predir"])
        pieces.append(_LONG_DIRECTIONS.get(direction, direction))
    pieces.append(_word(match["name"]))
    kind = _word(match["type"])
    pieces.append(STREET_TYPE_ABBREVIATIONS.get(kind, kind))
    if match["postdir"]:
        direction = _word(match["postdir"])
        pieces.append(_LONG_DIRECTIONS.get(direction, direction))
    unit = " ".join(match["unit"].split()) if match["unit"] else None
    return ParsedAddress(
        street=" ".join(pieces),
        unit=unit,
        city=match["city"].strip(),
        region=us_state_code(match["state"]),
        postal_code=match["zip"],
        venue=None,
    )


def parse_with_usaddress(line: str) -> ParsedAddress | None:
    """The general case: usaddress's CRF model labels each token."""
    try:
        tagged, _ = usaddress.tag(line)
    except usaddress.RepeatedLabelError as error:
        # Two streets or two cities in one line: keep the first run of tokens of each label.
        tagged = {}
        previous = None
        for token, label in error.parsed_string:
            if label == previous and label in tagged:
                tagged[label] += " " + token
            elif label not in tagged:
                tagged[label] = token
            previous = label
    parts = {label: " ".join(str(value).split()) for label, value in tagged.items()}

    number = parts.get("AddressNumber")
    name = parts.get("StreetName")
    street = None
    if number and name:
        pieces = [_word(number)]
        if parts.get("StreetNamePreDirectional"):
            direction = _word(parts["StreetNamePreDirectional"])
            pieces.append(_LONG_DIRECTIONS.get(direction, direction))
        if parts.get("StreetNamePreType"):
            pieces.append(_word(parts["StreetNamePreType"]))
        pieces.append(_word(name))
        if parts.get("StreetNamePostType"):
            kind = _word(parts["StreetNamePostType"])
            pieces.append(STREET_TYPE_ABBREVIATIONS.get(kind, kind))
        if parts.get("StreetNamePostDirectional"):
            direction = _word(parts["StreetNamePostDirectional"])
            pieces.append(_LONG_DIRECTIONS.get(direction, direction))
        street = " ".join(piece for piece in pieces if piece)

    unit_type = parts.get("OccupancyType") or parts.get("SubaddressType")
    unit_id = parts.get("OccupancyIdentifier") or parts.get("SubaddressIdentifier")
    unit = " ".join(part for part in (unit_type, unit_id) if part) or None

    zip_match = _ZIP.match(parts.get("ZipCode", "").strip())
    venue = parts.get("BuildingName") or parts.get("LandmarkName") or parts.get("Recipient")
    city = parts.get("PlaceName")
    return ParsedAddress(
        street=street,
        unit=unit,
        city=city.strip(" ,") if city else None,
        region=us_state_code(parts.get("StateName")),
        postal_code=zip_match.group(1) if zip_match else None,
        venue=venue.strip(" ,") if venue else None,
    )


def standard_unit(unit: str | None) -> str | None:
    """'Suite 4' → 'STE 4' (USPS), for comparing; the listing keeps the unit as written."""
    if not unit:
        return None
    words = _word(unit).split()
    if words:
        words[0] = OCCUPANCY_TYPE_ABBREVIATIONS.get(words[0], words[0])
    return " ".join(words)


def zip5(postal_code: str | None) -> str | None:
    match = _ZIP.match((postal_code or "").strip())
    return match.group(1) if match else None


@dataclass(frozen=True)
class ZipPlace:
    latitude: float
    longitude: float
    city: str
    region: str
    timezone: str | None


@lru_cache(maxsize=1)
def _zip_table() -> dict[str, dict[str, str]]:
    # One pass over the package's ~42,000 ZIPs, on first use; a lookup per listing would scan them all.
    return {row["zip_code"]: row for row in zipcodes.list_all()}


def lookup_zip(code: str) -> ZipPlace | None:
    """The centroid, city, state and time zone of a US ZIP code, offline; None for unknown codes."""
    row = _zip_table().get(code)
    if row is None:
        return None
    try:
        return ZipPlace(float(row["lat"]), float(row["long"]), row["city"], row["state"], row.get("timezone") or None)
    except (KeyError, TypeError, ValueError):
        return None
