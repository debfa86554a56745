"""iCalendar feeds (RFC 5545): Google Calendar public `.ics` exports and the calendars of other tools.

DBSA chapters and NAMI affiliates often publish their groups only as a calendar. A calendar lists *events*, not
groups, so this spider turns events back into groups:

- A VEVENT with an RRULE is one group (one RawListing), whatever the number of its occurrences. Its RECURRENCE-ID
  overrides (a moved or cancelled meeting) belong to it: they are told in the schedule's text and kept in `raw`,
  never listed apart. EXDATEs are kept in the text too, never read as the rule.
- Many calendars list every meeting as its own VEVENT. Single events with the same SUMMARY, LOCATION, weekday and
  local start time are one group when at least three of them follow one rule exactly (weekly, every two weeks, or
  monthly on the nth or last weekday, with no gap) and no other rule fits them as well. Anything else stays one
  listing per event, with the text of its date and no rule: a wrong recurrence is worse than none.
- Times are read in the TZID of DTSTART (Windows names such as "Eastern Standard Time" mapped to IANA); UTC times
  are converted to the calendar's X-WR-TIMEZONE when it names one, else kept as "Etc/UTC"; floating times take
  X-WR-TIMEZONE or no zone (normalisation then uses the place's).
- A series whose master is CANCELLED (and a cancelled single event) is skipped and counted in
  `peergroups/ical/cancelled`; any other STATUS is copied.

Rules a Schedule row can hold exactly are given as `freq`/`interval`/`byday`/`opens_at`/`closes_at`/`timezone`;
any other rule (BYMONTHDAY alone, YEARLY, several weekdays under BYSETPOS, ...) is given as text only, in RRULE
syntax, which normalisation does not read as a schedule.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache, partial
from itertools import pairwise
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, available_timezones

import scrapy
from dateutil.rrule import rrulestr
from icalendar import Calendar, Component, Event
from icalendar.prop import vBroken, vRecur
from scrapy.http import Response, TextResponse

from spiders.platforms.base import PlatformSpider

try:  # Windows time zone names (Outlook/Exchange exports) → IANA, from CLDR, shipped with icalendar.
    from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON
except ImportError:  # pragma: no cover - a future icalendar may move it; then only IANA TZIDs are recognised
    WINDOWS_TO_OLSON = {}

WEEKDAYS: tuple[str, ...] = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
DAY_NAMES: dict[str, str] = {
    "MO": "Monday", "TU": "Tuesday", "WE": "Wednesday", "TH": "Thursday", "FR": "Friday", "SA": "Saturday",
    "SU": "Sunday",
}  # fmt: skip
UTC_NAMES = frozenset({"UTC", "ETC/UTC", "GMT", "ETC/GMT", "Z", "ZULU", "UNIVERSAL", "ETC/UNIVERSAL"})
# RRULE parts a Schedule row can express (BYSETPOS and BYMONTHDAY only in the exact monthly forms below).
STRUCTURED_PARTS = frozenset({"FREQ", "INTERVAL", "BYDAY", "UNTIL", "COUNT", "WKST", "BYSETPOS", "BYMONTHDAY"})
# Join links of the conferencing services groups use.
CONFERENCE_HOSTS: tuple[str, ...] = (
    "zoom.us", "zoomgov.com", "meet.google.com", "teams.microsoft.com", "teams.live.com", "webex.com",
)  # fmt: skip
# A part of LOCATION without a digit that names a platform says the meeting is online: it is not an address.
ONLINE_PATTERN = re.compile(
    r"\b(?:zoom|google meet|microsoft teams|teams|webex|online|virtual|video ?call|web ?conference)\b"
    r"|^(?:tbd|tba|n/?a)$",
    re.IGNORECASE,
)
URL_PATTERN = re.compile(r"https?://[^\s<>\"'\]\[{}|\\^`]+", re.IGNORECASE)
LOCATION_SEPARATORS = re.compile(r"\s*(?:\||;|\n|\s/\s)\s*")
BYDAY_CODE = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
MAX_COUNT_EXPANSION = 1000  # COUNT larger than this is told, not expanded to find its last date
# Single events: weekly rules tried, in weeks between occurrences.
WEEKLY_STEPS: tuple[int, ...] = (1, 2)
MIN_DERIVED_OCCURRENCES = 3


# --- time zones ---------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _iana_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def iana_zone(tzid: str | None) -> str | None:
    """The IANA name for a TZID as calendars write it: IANA itself, a Windows name, or "/vendor/Area/City"."""
    if not tzid:
        return None
    name = str(tzid).strip().strip('"')
    if name in _iana_zones():
        return name
    if name in WINDOWS_TO_OLSON:
        return str(WINDOWS_TO_OLSON[name])
    parts = name.strip("/").split("/")
    for start in range(1, len(parts)):  # "/mozilla.org/20050126_1/America/New_York" (RFC 5545 3.2.19)
        candidate = "/".join(parts[start:])
        if candidate in _iana_zones():
            return candidate
    return None


def _is_utc_name(tzid: str | None) -> bool:
    return bool(tzid) and str(tzid).strip().upper() in UTC_NAMES


@dataclass(frozen=True)
class When:
    """When one event starts and ends, as wall-clock times in `timezone` (dates for all-day events)."""

    start: datetime | date
    end: datetime | date | None
    timezone: str | None  # IANA name, or None (floating time without a calendar zone, or an unknown TZID)
    tzid: str | None = None  # the TZID as published, when it names no zone we know
    day_shift: int = 0  # days from DTSTART's UTC date to its local date, when converted from UTC

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)

    @property
    def day(self) -> date:
        return self.start.date() if isinstance(self.start, datetime) else self.start

    @property
    def opens_at(self) -> str | None:
        return self.start.strftime("%H:%M") if isinstance(self.start, datetime) else None

    @property
    def closes_at(self) -> str | None:
        if isinstance(self.start, datetime) and isinstance(self.end, datetime) and self.end != self.start:
            return self.end.strftime("%H:%M")
        return None


def _dt(prop: Any) -> datetime | date | None:
    """The date or datetime of a DTSTART/RECURRENCE-ID property; None when missing, repeated or unreadable."""
    if prop is None or isinstance(prop, vBroken | list):
        return None
    value = getattr(prop, "dt", None)
    return value if isinstance(value, date) else None


def _exdates(event: Event) -> list[datetime | date]:
    try:
        return [value for value in event.exdates if isinstance(value, date)]
    except ValueError:  # an unreadable EXDATE: kept in `raw`, left out of the words
        return []


def _rdates(event: Event) -> list[datetime | date]:
    try:
        return [start for start, _ in event.rdates if isinstance(start, date)]
    except ValueError:
        return []


def _single(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def event_when(event: Event, calendar_zone: str | None, *, keep_utc: bool = False) -> When:
    """DTSTART/DTEND of `event` as local wall times. Raises ValueError when DTSTART is missing or unreadable."""
    prop = event.get("DTSTART")
    start = _dt(prop)
    if start is None:
        raise ValueError("no single readable DTSTART")
    tzid = prop.params.get("TZID")
    end = _event_end(event)
    if not isinstance(start, datetime):
        end_day = end if isinstance(end, date) and not isinstance(end, datetime) else None
        return When(start, end_day, calendar_zone)
    if start.tzinfo is None:
        naive_end = end if isinstance(end, datetime) and end.tzinfo is None else None
        if tzid and not _is_utc_name(tzid):  # a TZID the calendar does not define: an IANA or Windows name?
            zone = iana_zone(tzid)
            return When(start, naive_end, zone, None if zone else str(tzid))
        if not tzid:  # floating: the same wall time wherever the reader is; the calendar's zone if it names one
            return When(start, naive_end, calendar_zone)
        start, end = start.replace(tzinfo=UTC), naive_end.replace(tzinfo=UTC) if naive_end else None
    if tzid and not _is_utc_name(tzid):
        zone = iana_zone(tzid)
        target: tzinfo = ZoneInfo(zone) if zone else start.tzinfo
        return When(start.replace(tzinfo=None), _wall(end, target), zone, None if zone else str(tzid))
    # UTC ("Z" or TZID=UTC): in the calendar's own zone when it names one.
    if calendar_zone and not keep_utc:
        local_zone = ZoneInfo(calendar_zone)
        local = start.astimezone(local_zone)
        shift = (local.date() - start.astimezone(UTC).date()).days
        return When(local.replace(tzinfo=None), _wall(end, local_zone), calendar_zone, None, shift)
    return When(start.astimezone(UTC).replace(tzinfo=None), _wall(end, UTC), "Etc/UTC")


def _event_end(event: Event) -> datetime | date | None:
    if "DTEND" not in event and "DURATION" not in event:
        return None
    try:
        return event.end
    except Exception:  # icalendar raises its own errors for an invalid DTEND/DURATION: no end then
        return None


def _wall(value: datetime | date | None, zone: tzinfo) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        return value
    return value.astimezone(zone).replace(tzinfo=None)


def _local(value: datetime | date, when: When) -> datetime | date:
    """An EXDATE/RDATE/RECURRENCE-ID/UNTIL value in the wall time of `when`'s zone."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        return value
    if when.timezone:
        return value.astimezone(ZoneInfo(when.timezone)).replace(tzinfo=None)
    return value.replace(tzinfo=None)


def _day_text(value: datetime | date, with_time: bool = True) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") if with_time else value.strftime("%Y-%m-%d")
    return value.isoformat()


def _as_day(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


def _ical_value(prop: Any) -> str:
    return prop.to_ical().decode() if hasattr(prop, "to_ical") else str(prop)


def _iso(value: datetime | date) -> str:
    return value.isoformat(timespec="minutes") if isinstance(value, datetime) else value.isoformat()


# --- recurrence rules -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A recurrence a Schedule row holds exactly."""

    freq: str
    interval: int
    byday: tuple[str, ...]


def _parts(rule: vRecur) -> dict[str, list[Any]]:
    return {
        str(key).upper(): (list(value) if isinstance(value, list | tuple) else [value]) for key, value in rule.items()
    }


def _week_of_month(monthdays: Sequence[int]) -> int | None:
    """BYMONTHDAY blocks that pick one weekday of a month: 1-7 → 1st, 8-14 → 2nd, 29-31 → 5th, -7..-1 → last."""
    days = sorted(set(monthdays))
    if days == [29, 30, 31]:
        return 5
    if len(days) != 7 or days != list(range(days[0], days[0] + 7)):
        return None
    if days[0] > 0 and (days[0] - 1) % 7 == 0 and days[-1] <= 28:
        return (days[0] - 1) // 7 + 1
    if days[-1] < 0 and (days[-1] + 1) % 7 == 0 and days[0] >= -28:
        return (days[-1] + 1) // 7 - 1
    return None


def structured_rule(rule: vRecur, when: When) -> Rule | None:
    """The Schedule-shaped rule equal to `rule` started at `when`, or None when there is no exact equivalent."""
    parts = _parts(rule)
    if set(parts) - STRUCTURED_PARTS:
        return None
    freq = str(_single(parts.get("FREQ")) or "").upper()
    try:
        interval = int(_single(parts.get("INTERVAL")) or 1)
        setpos = [int(value) for value in parts.get("BYSETPOS", [])]
        monthdays = [int(value) for value in parts.get("BYMONTHDAY", [])]
    except (TypeError, ValueError):
        return None
    if not 1 <= interval <= 52:
        return None
    days: list[tuple[int | None, str]] = []
    for value in parts.get("BYDAY", []):
        match = BYDAY_CODE.match(str(value).strip().upper())
        if not match:
            return None
        days.append((int(match.group(1)) if match.group(1) else None, match.group(2)))
    shift = when.day_shift
    if freq in ("DAILY", "WEEKLY"):
        if setpos or monthdays or any(ordinal is not None for ordinal, _ in days):
            return None
        codes = [_shift_code(code, shift) for _, code in days]
        if freq == "WEEKLY" and not codes:
            codes = [WEEKDAYS[when.day.weekday()]]
        week_start = str(_single(parts.get("WKST")) or "MO").upper()
        if interval > 1 and len(set(codes)) > 1 and (week_start != "MO" or shift):
            return None  # which days share a week depends on the week start: not expressible
        return Rule(freq, interval, tuple(sorted(set(codes), key=WEEKDAYS.index)))
    if freq != "MONTHLY" or not days:
        return None  # YEARLY, sub-daily, or MONTHLY on a day of the month: not a Schedule row
    if shift:
        return None  # a weekday moved across midnight moves across month ends too: ordinals change
    if setpos or monthdays:
        if len(days) != 1 or days[0][0] is not None or (setpos and monthdays):
            return None
        code = days[0][1]
        if setpos:
            if any(position == 0 or abs(position) > 5 for position in setpos):
                return None
            ordinals = sorted(set(setpos), key=lambda n: (n < 0, abs(n)))
        else:
            week = _week_of_month(monthdays)
            if week is None:
                return None
            ordinals = [week]
        return Rule("MONTHLY", interval, tuple(f"{ordinal}{code}" for ordinal in ordinals))
    if any(ordinal is not None and (ordinal == 0 or abs(ordinal) > 5) for ordinal, _ in days):
        return None
    return Rule("MONTHLY", interval, tuple(f"{ordinal if ordinal is not None else ''}{code}" for ordinal, code in days))


def _shift_code(code: str, shift: int) -> str:
    return WEEKDAYS[(WEEKDAYS.index(code) + shift) % 7]


def _ordinal_word(ordinal: int) -> str:
    if ordinal == -1:
        return "last"
    if ordinal < 0:
        return f"{_ordinal_word(-ordinal)}-to-last"
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(ordinal if ordinal < 20 else ordinal % 10, "th")
    return f"{ordinal}{suffix}"


def _join(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def rule_text(rule: Rule, when: When) -> str:
    """'Every Tuesday, 19:00–20:30 (America/Chicago)', 'Monthly on the 1st and 3rd Tuesday, ...'."""
    plain = [code for code in rule.byday if len(code) == 2]
    if rule.freq == "DAILY":
        head = "Daily" if rule.interval == 1 else f"Every {rule.interval} days"
        if plain:
            head += " on " + _join([DAY_NAMES[code] for code in plain])
    elif rule.freq == "WEEKLY":
        names = _join([DAY_NAMES[code] for code in plain])
        head = f"Every {names}" if rule.interval == 1 else f"Every {rule.interval} weeks on {names}"
    else:
        head = "Monthly" if rule.interval == 1 else f"Every {rule.interval} months"
        ordinals = [(int(code[:-2]), code[-2:]) for code in rule.byday if len(code) > 2]
        if ordinals and len({code for _, code in ordinals}) == 1:
            head += f" on the {_join([_ordinal_word(n) for n, _ in ordinals])} {DAY_NAMES[ordinals[0][1]]}"
        elif ordinals:
            head += " on the " + _join([f"{_ordinal_word(n)} {DAY_NAMES[code]}" for n, code in ordinals])
        if plain:
            head += (" and" if ordinals else ",") + " every " + _join([DAY_NAMES[code] for code in plain])
    return head + _times_text(when)


def _times_text(when: When) -> str:
    if when.all_day:
        text = ", all day"
    elif when.closes_at:
        text = f", {when.opens_at}–{when.closes_at}"
    else:
        text = f", {when.opens_at}"
    zone = when.timezone or when.tzid
    return text + (f" ({zone})" if zone and not when.all_day else "")


def rule_end(rule: vRecur, event: Event, when: When) -> tuple[date | None, list[str]]:
    """The last day of the rule (UNTIL, or COUNT's last occurrence) and words for it."""
    parts = _parts(rule)
    until = _single(parts.get("UNTIL"))
    count = _single(parts.get("COUNT"))
    if isinstance(until, date):
        local = _local(until, when)
        day = local.date() if isinstance(local, datetime) else local
        return day, [f"until {day.isoformat()}"]
    if count is None:
        return None, []
    try:
        times = int(count)
    except (TypeError, ValueError):
        return None, [f"COUNT={count}"]
    words = [f"{times} times"]
    if times > MAX_COUNT_EXPANSION:
        return None, words
    try:
        dtstart = _dt(event.get("DTSTART"))
        if not isinstance(dtstart, datetime):
            dtstart = datetime.combine(dtstart, time())
        occurrences = list(rrulestr(rule.to_ical().decode(), dtstart=dtstart))
    except (ValueError, TypeError, AttributeError):
        return None, words
    if not occurrences:
        return None, words
    last = _local(occurrences[-1], when)
    day = last.date() if isinstance(last, datetime) else last
    return day, [*words, f"last on {day.isoformat()}"]


# --- single events that repeat --------------------------------------------------------------------------------------


def _fitting_rules(days: Sequence[date]) -> set[Rule]:
    """Rules under which `days` are consecutive occurrences, with none missing between them."""
    code = WEEKDAYS[days[0].weekday()]
    if any(WEEKDAYS[day.weekday()] != code for day in days):
        return set()
    rules: set[Rule] = set()
    gaps = {(later - earlier).days for earlier, later in pairwise(days)}
    for weeks in WEEKLY_STEPS:
        if gaps == {7 * weeks}:
            rules.add(Rule("WEEKLY", weeks, (code,)))
    months = [day.year * 12 + day.month for day in days]
    if all(later - earlier == 1 for earlier, later in pairwise(months)):
        weeks_of_month = {(day.day - 1) // 7 + 1 for day in days}
        if len(weeks_of_month) == 1:
            rules.add(Rule("MONTHLY", 1, (f"{weeks_of_month.pop()}{code}",)))
        if all((day + timedelta(days=7)).month != day.month for day in days):
            rules.add(Rule("MONTHLY", 1, (f"-1{code}",)))
    return rules


def find_runs(days: Sequence[date]) -> list[tuple[int, int, Rule | None]]:
    """Split sorted days into runs: (start, end, rule) for ≥ 3 days one rule alone fits, (i, i + 1, None) otherwise.

    Never a guess: a run needs MIN_DERIVED_OCCURRENCES days in a row with no gap, and exactly one rule that fits
    them (the 4th and the last Tuesday of three months both fit, so neither is chosen).
    """
    runs: list[tuple[int, int, Rule | None]] = []
    start = 0
    while start < len(days):
        end = start + 1
        rules: set[Rule] = set()
        while end < len(days):
            candidates = _fitting_rules(days[start : end + 1])
            if not candidates:
                break
            rules = candidates
            end += 1
        if end - start >= MIN_DERIVED_OCCURRENCES and len(rules) == 1:
            runs.append((start, end, next(iter(rules))))
            start = end
        else:
            runs.append((start, start + 1, None))
            start += 1
    return runs


# --- feed contents --------------------------------------------------------------------------------------------------


def _text(component: Component, name: str) -> str | None:
    value = component.get(name)
    if value is None:
        return None
    if isinstance(value, list):
        value = "\n".join(str(part) for part in value)
    text = str(value).strip()
    return text or None


def _status(event: Event) -> str | None:
    status = _text(event, "STATUS")
    return status.upper() if status else None


def _cancelled(event: Event) -> bool:
    return _status(event) == "CANCELLED"


def _key_text(value: str | None) -> str:
    return " ".join((value or "").split()).casefold()


def _serialise(events: Iterable[Event]) -> str:
    return "".join(event.to_ical().decode("utf-8", "replace") for event in events)


def _unwrap(url: str) -> str:
    """Google Calendar wraps links in descriptions: https://www.google.com/url?q=<link>&sa=D..."""
    parts = urlsplit(url)
    if (parts.hostname or "").removeprefix("www.") == "google.com" and parts.path == "/url":
        target = parse_qs(parts.query).get("q")
        if target:
            return target[0]
    return url


def _urls(text: str | None) -> list[str]:
    if not text:
        return []
    return [_unwrap(match.rstrip(".,;:!?)")) for match in URL_PATTERN.findall(html.unescape(text))]


def _is_conference(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(host == domain or host.endswith("." + domain) for domain in CONFERENCE_HOSTS)


def conference_url(event: Event) -> str | None:
    """The join link: Google's X-GOOGLE-CONFERENCE or RFC 7986 CONFERENCE first, then a link in LOCATION/DESCRIPTION."""
    candidates = _urls(_text(event, "X-GOOGLE-CONFERENCE"))
    conferences = event.get("CONFERENCE")
    for conference in conferences if isinstance(conferences, list) else [conferences] if conferences else []:
        candidates += _urls(str(conference))
    candidates += _urls(_text(event, "LOCATION")) + _urls(_text(event, "DESCRIPTION"))
    return next((url for url in candidates if _is_conference(url)), None)


def location_address(location: str | None) -> str | None:
    """LOCATION as a one-line address: links and 'online' words removed; a venue before the street kept whole."""
    if not location:
        return None
    kept = []
    for part in LOCATION_SEPARATORS.split(location):
        part = URL_PATTERN.sub(" ", part)
        part = " ".join(part.split()).strip(" ,:-–()")
        if not part or (ONLINE_PATTERN.search(part) and not any(char.isdigit() for char in part)):
            continue
        kept.append(part)
    return ", ".join(kept) or None


def is_event_page(url: str, feed_url: str) -> bool:
    """An event's own page on the directory (better provenance than the feed), not a group's website."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    if host and host == (urlsplit(feed_url).hostname or "").lower().removeprefix("www."):
        return True
    if host.endswith("google.com") and ("/calendar/" in parts.path or "eid=" in parts.query):
        return True
    return bool(re.search(r"/events?/[^/]+", parts.path))


def _geo(event: Event) -> tuple[float, float] | None:
    geo = event.get("GEO")
    if geo is None or isinstance(geo, vBroken | list):
        return None
    latitude, longitude = getattr(geo, "latitude", None), getattr(geo, "longitude", None)
    if latitude is None or longitude is None:
        return None
    return float(latitude), float(longitude)


def _stable_id(*parts: str | None) -> str:
    return hashlib.sha1("|".join(part or "" for part in parts).encode()).hexdigest()[:16]


@dataclass
class Occurrence:
    """A VEVENT without RRULE (or an override whose series is not in the feed), with its local times."""

    event: Event
    when: When
    source_id: str

    @property
    def key(self) -> tuple[str, str, str | None, str | None, int, str | None]:
        return (
            _key_text(_text(self.event, "SUMMARY")),
            _key_text(_text(self.event, "LOCATION")),
            self.when.timezone,
            self.when.tzid,
            self.when.day.weekday(),
            self.when.opens_at,
        )


@dataclass
class CalendarContext:
    feed_url: str
    zone: str | None
    name: str | None
    masters: dict[str, Event] = field(default_factory=dict)
    overrides: dict[str, list[Event]] = field(default_factory=lambda: defaultdict(list))


class ICalSpider(PlatformSpider):
    """Reads one or more iCalendar feeds (`start_urls`); one RawListing per group the calendar lists.

    `post_process_item` receives the series' master VEVENT, the single VEVENT, or, for a group derived from single
    events, the list of its VEVENTs. Stats: `peergroups/ical/cancelled`, `overrides`, `derived_series`,
    `rule_as_text`, `orphan_override`, `unreadable_event`.
    """

    name = "ical"

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.start_urls:
            yield scrapy.Request(url, callback=self.parse_feed, errback=self.request_failed)

    # --- the feed -----------------------------------------------------------------------------------------------

    def parse_feed(self, response: Response) -> Iterator[dict[str, Any]]:
        calendars = self.read_calendars(response)
        for calendar in calendars or []:
            yield from self.parse_calendar(calendar, response)

    def read_calendars(self, response: Response) -> list[Calendar] | None:
        text = _body_text(response)
        head = text.lstrip()[:200].upper()
        if not head.startswith("BEGIN:VCALENDAR"):
            first = f"it starts with {text.strip().splitlines()[0][:80]!r}" if text.strip() else "it is empty"
            self.report_source_error("not_ical", f"{response.url} is not an iCalendar feed ({first})")
            return None
        if "END:VCALENDAR" not in text.upper():
            self.report_source_error("not_ical", f"{response.url} is not a whole iCalendar feed: no END:VCALENDAR")
            return None
        try:
            components = Calendar.from_ical(text, multiple=True)
        except ValueError as error:
            self.report_source_error("not_ical", f"{response.url} is not a readable iCalendar feed ({error})")
            return None
        calendars = [component for component in components if component.name == "VCALENDAR"]
        if not calendars:
            self.report_source_error("not_ical", f"{response.url} holds no VCALENDAR")
            return None
        return calendars

    def parse_calendar(self, calendar: Calendar, response: Response) -> Iterator[dict[str, Any]]:
        context = CalendarContext(
            feed_url=response.url,
            zone=iana_zone(_text(calendar, "X-WR-TIMEZONE")),
            name=_text(calendar, "X-WR-CALNAME"),
        )
        events: list[Event] = list(calendar.walk("VEVENT"))
        extra_series: list[tuple[Event, str]] = []
        for event in events:
            uid = _text(event, "UID")
            if "RECURRENCE-ID" in event:
                if uid:
                    context.overrides[uid].append(event)
            elif "RRULE" in event or "RDATE" in event:
                if uid and uid not in context.masters:
                    context.masters[uid] = event
                else:  # no UID, or a second master with the same UID: a series of its own
                    extra_series.append((event, _fallback_id(event, uid)))
        for uid, master in context.masters.items():
            overrides = context.overrides.pop(uid, [])
            build = partial(self.series_item, master, overrides, context, response, uid)
            yield from self.guarded(build, [master, *overrides], context, response, uid)
        for event, source_id in extra_series:
            build = partial(self.series_item, event, [], context, response, source_id)
            yield from self.guarded(build, [event], context, response, source_id)
        singles: list[Occurrence] = []
        for event in events:
            uid = _text(event, "UID")
            if "RECURRENCE-ID" in event:
                if uid in context.masters:
                    continue  # told in its series' schedule
                # An override whose series is not in this feed: a meeting (or a series) of its own.
                self._stat("orphan_override")
                source_id = f"{uid or _fallback_id(event, uid)}#{_ical_value(event.get('RECURRENCE-ID'))}"
                if "RRULE" in event:
                    build = partial(self.series_item, event, [], context, response, source_id)
                    yield from self.guarded(build, [event], context, response, source_id)
                    continue
            elif "RRULE" in event or "RDATE" in event:
                continue
            else:
                source_id = uid or _fallback_id(event, uid)
            try:
                when = event_when(event, context.zone)
            except ValueError:
                yield from self.unreadable_item(event, response, context, source_id)
                continue
            singles.append(Occurrence(event, when, source_id))
        yield from self.single_items(singles, context, response)

    # --- recurring events -----------------------------------------------------------------------------------

    def series_item(
        self, master: Event, overrides: list[Event], context: CalendarContext, response: Response, source_id: str
    ) -> Iterator[dict[str, Any]]:
        if _cancelled(master):
            self._stat("cancelled")
            return
        try:
            when = event_when(master, context.zone)
        except ValueError:
            yield from self.unreadable_item(master, response, context, source_id, [master, *overrides])
            return
        if overrides:
            self._stat("overrides", len(overrides))
        notes = self.exception_notes(master, overrides, when)
        schedules = []
        for rule in master.rrules:
            schedules.append(self.rule_schedule(rule, master, when, context, notes))
        if not master.rrules:  # RDATEs only: a list of dates, not a rule
            schedules.append(self.dates_schedule(master, when, notes))
        item = self.event_item(master, response, context)
        item["source_id"] = source_id
        item["schedules"] = schedules
        item["raw"] = _serialise([master, *overrides])
        item = self.post_process_item(item, master, response)
        if item is not None:
            yield item

    def rule_schedule(
        self, rule: vRecur, master: Event, when: When, context: CalendarContext, notes: list[str]
    ) -> dict[str, Any]:
        if not isinstance(rule, vRecur):  # an RRULE icalendar could not read: its words, never a rule
            self._stat("rule_as_text")
            text = f"RRULE:{rule} (unreadable) starting {_iso(when.start).replace('T', ' ')}"
            return {"text": text, "rrule": str(rule), "timezone": when.timezone}
        structured = structured_rule(rule, when)
        if structured is None and when.day_shift:
            # A UTC rule whose weekday changes in local time: exact in UTC, as RFC 5545 reads it.
            utc_when = event_when(master, context.zone, keep_utc=True)
            if (structured := structured_rule(rule, utc_when)) is not None:
                when = utc_when
        valid_to, end_words = rule_end(rule, master, when)
        qualifiers = [f"from {when.day.isoformat()}", *end_words, *notes]
        schedule: dict[str, Any] = {"rrule": rule.to_ical().decode(), "valid_from": when.day.isoformat()}
        if valid_to:
            schedule["valid_to"] = valid_to.isoformat()
        if when.tzid:
            schedule["tzid"] = when.tzid
        exdates = [_iso(_local(value, when)) for value in _exdates(master)]
        if exdates:
            schedule["exdates"] = exdates
        if structured is None:
            # No Schedule row says this exactly: the rule as RFC 5545 writes it, which is read as no schedule.
            self._stat("rule_as_text")
            start = _iso(when.start).replace("T", " ")
            end = f" to {when.closes_at}" if when.closes_at else ""
            zone = f" ({when.timezone or when.tzid})" if (when.timezone or when.tzid) else ""
            text = f"RRULE:{schedule['rrule']} starting {start}{end}{zone}"
            return {"text": "; ".join([text, *qualifiers[1:]]), "timezone": when.timezone, **schedule}
        return {
            "freq": structured.freq,
            "interval": structured.interval,
            "byday": list(structured.byday),
            "opens_at": when.opens_at,
            "closes_at": when.closes_at,
            "timezone": when.timezone,
            "text": "; ".join([rule_text(structured, when), *qualifiers]),
            **schedule,
        }

    def exception_notes(self, master: Event, overrides: list[Event], when: When) -> list[str]:
        """EXDATEs, extra RDATEs and overridden occurrences, in words."""
        notes = []
        exdates = sorted({_day_text(_local(value, when), with_time=False) for value in _exdates(master)})
        if exdates:
            notes.append("except " + ", ".join(exdates))
        rdates = [_day_text(_local(start, when)) for start in _rdates(master)] if master.rrules else []
        if rdates:
            notes.append("also " + ", ".join(rdates))
        readable = [(_dt(event.get("RECURRENCE-ID")), event) for event in overrides]
        for recurrence_id, override in sorted(
            ((value, event) for value, event in readable if value is not None), key=lambda pair: _iso(pair[0])
        ):
            original = _local(recurrence_id, when)
            if _cancelled(override):
                notes.append(f"cancelled {_day_text(original, with_time=False)}")
                continue
            try:
                moved = event_when(override, when.timezone).start
            except ValueError:
                moved = original
            range_word = " and after" if override.get("RECURRENCE-ID").params.get("RANGE") else ""
            if moved != original:
                notes.append(f"moved {_day_text(original)}{range_word} to {_day_text(moved)}")
            else:
                notes.append(f"changed {_day_text(original)}{range_word}")
        return notes

    def dates_schedule(self, master: Event, when: When, notes: list[str]) -> dict[str, Any]:
        """A VEVENT with RDATEs and no RRULE: its dates, listed, not read as a rule."""
        days = sorted({when.day, *(_as_day(_local(start, when)) for start in _rdates(master))})
        text = f"once on each of {', '.join(day.isoformat() for day in days)}" + _times_text(when)
        return {"text": "; ".join([text, *notes]), "dates": [day.isoformat() for day in days],
                "timezone": when.timezone}  # fmt: skip

    # --- single events --------------------------------------------------------------------------------------

    def single_items(
        self, singles: list[Occurrence], context: CalendarContext, response: Response
    ) -> Iterator[dict[str, Any]]:
        groups: dict[tuple[Any, ...], list[Occurrence]] = defaultdict(list)
        for occurrence in singles:
            groups[occurrence.key].append(occurrence)
        for members in groups.values():
            members.sort(key=lambda occurrence: (occurrence.when.day, occurrence.source_id))
            runs = find_runs([occurrence.when.day for occurrence in members])
            derived = [(start, end, rule) for start, end, rule in runs if rule is not None]
            for start, _end, rule in runs:
                if rule is None:
                    single = members[start]
                    build = partial(self.one_off_item, single, context, response)
                    yield from self.guarded(build, [single.event], context, response, single.source_id)
            for position, (start, end, rule) in enumerate(derived):
                assert rule is not None
                latest = position == len(derived) - 1
                run = members[start:end]
                build = partial(self.derived_item, run, rule, latest, context, response)
                events = [occurrence.event for occurrence in run]
                yield from self.guarded(build, events, context, response, run[0].source_id)

    def one_off_item(
        self, occurrence: Occurrence, context: CalendarContext, response: Response
    ) -> Iterator[dict[str, Any]]:
        event, when = occurrence.event, occurrence.when
        if _cancelled(event):
            self._stat("cancelled")
            return
        item = self.event_item(event, response, context)
        item["source_id"] = occurrence.source_id
        schedule = self.one_off_schedule(when)
        item["schedules"] = [schedule]
        item["raw"] = _serialise([event])
        item = self.post_process_item(item, event, response)
        if item is not None:
            yield item

    def one_off_schedule(self, when: When) -> dict[str, Any]:
        """The date of a single event, in words normalisation reads as no rule (ISO dates, no weekday names)."""
        if when.all_day:
            last = when.end - timedelta(days=1) if isinstance(when.end, date) else when.day
            days = when.day.isoformat() if last <= when.day else f"{when.day.isoformat()} to {last.isoformat()}"
            text = f"once on {days}, all day"
        else:
            text = f"once on {when.day.isoformat()}{_times_text(when)}"
        schedule: dict[str, Any] = {"text": text, "date": when.day.isoformat(), "timezone": when.timezone}
        if not when.all_day:
            schedule["start"] = _iso(when.start)
            if isinstance(when.end, datetime):
                schedule["end"] = _iso(when.end)
        if when.tzid:
            schedule["tzid"] = when.tzid
        return schedule

    def derived_item(
        self, members: list[Occurrence], rule: Rule, latest: bool, context: CalendarContext, response: Response
    ) -> Iterator[dict[str, Any]]:
        """Single events that follow one rule exactly: one listing, its rule derived from them."""
        live = [occurrence for occurrence in members if not _cancelled(occurrence.event)]
        if not live:
            self._stat("cancelled")
            return
        self._stat("derived_series")
        current = live[-1]  # the newest meeting says best what the group is now
        when = current.when
        closing = {occurrence.when.closes_at for occurrence in members}
        closes_at = closing.pop() if len(closing) == 1 else None
        first, last = members[0].when.day, members[-1].when.day
        cancelled = [occurrence.when.day.isoformat() for occurrence in members if _cancelled(occurrence.event)]
        notes = [f"seen {len(members)} times from {first.isoformat()} to {last.isoformat()} as single events"]
        if cancelled:
            notes.append("cancelled " + ", ".join(cancelled))
        shown = When(when.start, datetime.combine(when.day, time.fromisoformat(closes_at)) if closes_at else None,
                     when.timezone, when.tzid)  # fmt: skip
        item = self.event_item(current.event, response, context)
        # No UID names the group: an id from what makes it one group, dated only for an earlier run of it.
        series_id = "series:" + _stable_id(*map(str, current.key[:4]), rule.freq, str(rule.interval),
                                           ",".join(rule.byday), when.opens_at)  # fmt: skip
        item["source_id"] = series_id if latest else f"{series_id}:{first.isoformat()}"
        item["uids"] = [occurrence.source_id for occurrence in members]
        urls = {str(occurrence.event.get("URL")) for occurrence in live if occurrence.event.get("URL")}
        if len(urls) > 1 and item.get("feed_url"):
            item["event_urls"] = sorted(urls)
        schedule: dict[str, Any] = {
            "freq": rule.freq,
            "interval": rule.interval,
            "byday": list(rule.byday),
            "opens_at": when.opens_at,
            "closes_at": closes_at,
            "timezone": when.timezone,
            "text": "; ".join([rule_text(rule, shown), *notes]),
            "valid_from": first.isoformat(),
            "derived_from": "single events",
            "occurrences": [occurrence.when.day.isoformat() for occurrence in members],
        }
        if cancelled:
            schedule["cancelled"] = cancelled
        if when.tzid:
            schedule["tzid"] = when.tzid
        item["schedules"] = [schedule]
        item["raw"] = _serialise(occurrence.event for occurrence in members)
        item = self.post_process_item(item, [occurrence.event for occurrence in members], response)
        if item is not None:
            yield item

    # --- fields every listing shares ------------------------------------------------------------------------

    def event_item(self, event: Event, response: Response, context: CalendarContext) -> dict[str, Any]:
        item = self.base_item(response)
        if context.name:
            item["calendar_name"] = context.name
        item["name"] = _text(event, "SUMMARY")
        item["description"] = _text(event, "DESCRIPTION")
        location = _text(event, "LOCATION")
        address = location_address(location)
        if address:
            item["address"] = address
        geo = _geo(event)
        if geo:
            item["latitude"], item["longitude"] = geo
        url = _text(event, "URL")
        if url and is_event_page(url, context.feed_url):
            item["source_url"] = url
            item["feed_url"] = context.feed_url
        elif url:
            item["website"] = url
        join = conference_url(event)
        if join:
            item["conference_url"] = join
        status = _status(event)
        if status:
            item["status"] = status
        categories = [str(category) for category in event.categories if str(category).strip()]
        if categories:
            item["categories"] = categories
        return item

    def guarded(
        self,
        build: Callable[[], Iterator[dict[str, Any]]],
        events: list[Event],
        context: CalendarContext,
        response: Response,
        source_id: str,
    ) -> Iterator[dict[str, Any]]:
        """The items `build` makes; if an event is malformed beyond what the reader expects, the event as it is."""
        try:
            items = list(build())
        except Exception as error:  # one malformed event must not cost the rest of the calendar
            self.logger.warning("%s: event %s could not be read (%r); passed on without a schedule",
                                response.url, source_id, error)  # fmt: skip
            yield from self.unreadable_item(events[0], response, context, source_id, events)
            return
        yield from items

    def unreadable_item(
        self,
        event: Event,
        response: Response,
        context: CalendarContext,
        source_id: str,
        events: list[Event] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """An event without a readable DTSTART: its other fields and no schedule, so nothing is lost."""
        self._stat("unreadable_event")
        try:
            item = self.event_item(event, response, context)
        except Exception:  # even its fields are unreadable: its name and its text
            item = {**self.base_item(response), "name": _text(event, "SUMMARY")}
        item["source_id"] = source_id
        item["schedules"] = []
        item["raw"] = _serialise(events or [event])
        item = self.post_process_item(item, event, response)
        if item is not None:
            yield item

    def _stat(self, name: str, count: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"peergroups/ical/{name}", count)


def _fallback_id(event: Event, uid: str | None) -> str:
    """Events without a UID (invalid, but published): an id from what they say, stable across crawls."""
    start_text = _ical_value(event.get("DTSTART"))
    return f"{uid or 'event'}:{_stable_id(_text(event, 'SUMMARY'), _text(event, 'LOCATION'), start_text)}"


def _body_text(response: Response) -> str:
    """RFC 5545 text is UTF-8; a server's wrong charset (or none) is not trusted over that."""
    try:
        return response.body.decode("utf-8-sig")
    except UnicodeDecodeError:
        if isinstance(response, TextResponse):
            return response.text
        return response.body.decode("latin-1")
