"""Places: one-line addresses, coordinates, the time zone of a place."""

from __future__ import annotations

from typing import Any

# The zone most of each US state's people live in. States split between zones (e.g. TX's far west, ID's north)
# get their majority zone; a listing's own zone always wins over this default.
US_STATE_ZONES: dict[str, str] = {
    "AL": "America/Chicago", "AK": "America/Anchorage", "AZ": "America/Phoenix", "AR": "America/Chicago",
    "CA": "America/Los_Angeles", "CO": "America/Denver", "CT": "America/New_York", "DE": "America/New_York",
    "DC": "America/New_York", "FL": "America/New_York", "GA": "America/New_York", "HI": "Pacific/Honolulu",
    "ID": "America/Boise", "IL": "America/Chicago", "IN": "America/Indiana/Indianapolis", "IA": "America/Chicago",
    "KS": "America/Chicago", "KY": "America/New_York", "LA": "America/Chicago", "ME": "America/New_York",
    "MD": "America/New_York", "MA": "America/New_York", "MI": "America/Detroit", "MN": "America/Chicago",
    "MS": "America/Chicago", "MO": "America/Chicago", "MT": "America/Denver", "NE": "America/Chicago",
    "NV": "America/Los_Angeles", "NH": "America/New_York", "NJ": "America/New_York", "NM": "America/Denver",
    "NY": "America/New_York", "NC": "America/New_York", "ND": "America/Chicago", "OH": "America/New_York",
    "OK": "America/Chicago", "OR": "America/Los_Angeles", "PA": "America/New_York", "RI": "America/New_York",
    "SC": "America/New_York", "SD": "America/Chicago", "TN": "America/Chicago", "TX": "America/Chicago",
    "UT": "America/Denver", "VT": "America/New_York", "VA": "America/New_York", "WA": "America/Los_Angeles",
    "WV": "America/New_York", "WI": "America/Chicago", "WY": "America/Denver", "PR": "America/Puerto_Rico",
}  # fmt: skip

US_STATE_NAMES: dict[str, str] = {
    "ALABAMA": "AL", "ALASKA": "AK", "ARIZONA": "AZ", "ARKANSAS": "AR", "CALIFORNIA": "CA", "COLORADO": "CO",
    "CONNECTICUT": "CT", "DELAWARE": "DE", "DISTRICT OF COLUMBIA": "DC", "FLORIDA": "FL", "GEORGIA": "GA",
    "HAWAII": "HI", "IDAHO": "ID", "ILLINOIS": "IL", "INDIANA": "IN", "IOWA": "IA", "KANSAS": "KS",
    "KENTUCKY": "KY", "LOUISIANA": "LA", "MAINE": "ME", "MARYLAND": "MD", "MASSACHUSETTS": "MA", "MICHIGAN": "MI",
    "MINNESOTA": "MN", "MISSISSIPPI": "MS", "MISSOURI": "MO", "MONTANA": "MT", "NEBRASKA": "NE", "NEVADA": "NV",
    "NEW HAMPSHIRE": "NH", "NEW JERSEY": "NJ", "NEW MEXICO": "NM", "NEW YORK": "NY", "NORTH CAROLINA": "NC",
    "NORTH DAKOTA": "ND", "OHIO": "OH", "OKLAHOMA": "OK", "OREGON": "OR", "PENNSYLVANIA": "PA",
    "RHODE ISLAND": "RI", "SOUTH CAROLINA": "SC", "SOUTH DAKOTA": "SD", "TENNESSEE": "TN", "TEXAS": "TX",
    "UTAH": "UT", "VERMONT": "VT", "VIRGINIA": "VA", "WASHINGTON": "WA", "WEST VIRGINIA": "WV", "WISCONSIN": "WI",
    "WYOMING": "WY", "PUERTO RICO": "PR",
}  # fmt: skip


# Countries with one civil time zone, and Canada's provinces; other countries need the listing's own zone.
COUNTRY_ZONES: dict[str, str] = {
    "GB": "Europe/London", "IE": "Europe/Dublin", "FR": "Europe/Paris", "DE": "Europe/Berlin", "NL": "Europe/Amsterdam",
    "BE": "Europe/Brussels", "IT": "Europe/Rome", "CH": "Europe/Zurich", "AT": "Europe/Vienna", "SE": "Europe/Stockholm",
    "NO": "Europe/Oslo", "DK": "Europe/Copenhagen", "FI": "Europe/Helsinki", "PL": "Europe/Warsaw", "IN": "Asia/Kolkata",
    "JP": "Asia/Tokyo", "SG": "Asia/Singapore", "ZA": "Africa/Johannesburg", "NZ": "Pacific/Auckland",
    "PR": "America/Puerto_Rico",
}  # fmt: skip
CANADA_PROVINCE_ZONES: dict[str, str] = {
    "ON": "America/Toronto", "QC": "America/Toronto", "BC": "America/Vancouver", "AB": "America/Edmonton",
    "MB": "America/Winnipeg", "SK": "America/Regina", "NS": "America/Halifax", "NB": "America/Moncton",
    "NL": "America/St_Johns", "PE": "America/Halifax", "YT": "America/Whitehorse", "NT": "America/Yellowknife",
    "NU": "America/Iqaluit",
}  # fmt: skip


def us_state_code(region: str | None) -> str | None:
    if not region:
        return None
    text = region.strip().upper().replace(".", "")
    if text in US_STATE_ZONES:
        return text
    return US_STATE_NAMES.get(text)


def zone_of_place(country: str | None, region: str | None) -> str | None:
    """The IANA zone of a place when the listing names none: US state, Canadian province, one-zone country."""
    country = (country or "").strip().upper() or None
    if country in (None, "US", "USA"):
        code = us_state_code(region)
        if code:
            return US_STATE_ZONES[code]
        return None
    if country == "CA":
        return CANADA_PROVINCE_ZONES.get((region or "").strip().upper())
    return COUNTRY_ZONES.get(country)


def one_line_address(street: str | None, city: str | None, region: str | None, postal_code: str | None) -> str | None:
    """'415 Alder Street, Riverton, OR 97301' from parts; None without a street or city (a state is no address)."""
    if not (street or city):
        return None
    tail = " ".join(part for part in (region, postal_code) if part)
    return ", ".join(part for part in (street, city, tail) if part)


def parse_coordinate(value: Any, limit: float) -> float | None:
    """A latitude (limit 90) or longitude (limit 180), as number or string. Raises ValueError when unreadable."""
    if value is None or value == "":
        return None
    number = float(value)
    if not -limit <= number <= limit:
        raise ValueError(f"coordinate out of range: {value!r}")
    return number
