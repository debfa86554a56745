"""The Events Calendar (StellarWP "Tribe") REST API, used by many NAMI affiliate sites for their support groups.

`GET {site}/wp-json/tribe/events/v1/events?page=N&per_page=50&start_date=...&end_date=...` answers
`{events, rest_url, next_rest_url, previous_rest_url, total, total_pages}` (read in the plugin's
`Archive_Event.php` and `Post_Repository.php`). Each event has `id`, `global_id`, `url`, `title` (HTML entities
escaped), `description` (HTML), `start_date`/`end_date` (site-local "YYYY-MM-DD HH:MM:SS"), `utc_start_date`,
`timezone` (IANA, or "UTC+2" on sites set to a fixed offset), `all_day`, `cost`, `cost_details`, `website`,
`categories`/`tags` ([{name, slug, ...}]), `venue` ({id, venue, address, city, state/province, zip, country,
geo_lat, geo_lng, phone, ...}, or [] when none; empty fields are left out) and `organizer` ([{id, organizer, phone,
email, website}]). A query that matches nothing answers 404 with `{"code": "event-archive-page-not-found"}`, also
past the last page; a site without the plugin answers 404 `rest_no_route`.

Events Calendar Pro publishes every occurrence of a recurring event as an event of its own. A peer-support group
meeting every Tuesday is one group, so occurrences are grouped by (title, venue, weekday, local start time) and,
when at least three of them fit a rule, become ONE listing with that rule: weekly, every other week, or the same
ordinal weekday each month (1st-4th or last). Every occurrence of the group must fall on the rule; a slot the
rule expects but the calendar skips (a holiday) is allowed for at most one slot in four and kept as an exception
date. Anything else stays one listing per event, with no rule: a wrong schedule is worse than none.

The crawl reads the whole window before yielding (a series spans pages), so items arrive at the end of each site.
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from spiders.platforms.base import PlatformSpider
from spiders.platforms.common import PY_WEEKDAY_CODES, is_role_mailbox, plain, present, slugify

API_PATH = "/wp-json/tribe/events/v1/events"
PER_PAGE = 50  # the plugin's maximum
# Days of calendar read from `start_date`: enough for three occurrences of a monthly group wherever the window
# starts (at most 35 days to the first, then two months), without paging two years of weekly occurrences.
DEFAULT_WINDOW_DAYS = 120
DEFAULT_MAX_PAGES = 100
MIN_OCCURRENCES = 3
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")


@dataclass(frozen=True)
class Rule:
    """A recurrence read from occurrence dates: RRULE parts plus the dates the rule expects but were skipped."""

    freq: str
    interval: int
    byday: str
    except_dates: tuple[date, ...] = ()


@dataclass
class Occurrence:
    event: dict[str, Any]
    page_url: str
    start: datetime | None
    end: datetime | None


@dataclass
class _Site:
    """One site's crawl: the occurrences read so far, page by page, and the last page that answered."""

    api_url: str
    occurrences: list[Occurrence] = field(default_factory=list)
    seen_pages: set[str] = field(default_factory=set)
    event_ids: set[Any] = field(default_factory=set)
    pages: int = 0
    last_response: Response | None = None
    finished: bool = False


class EventsCalendarSpider(PlatformSpider):
    """Reads The Events Calendar REST API of one or more sites; one RawListing per group or stand-alone event.

    `url` is the site (`https://example.org`) or the API address itself; query parameters given there are kept
    (`?categories=support-groups` narrows the crawl to one category). Arguments: `start_date` (YYYY-MM-DD,
    default today), `days` (window length, default 120), `max_pages` (default 100).
    """

    name = "events_calendar"

    def __init__(
        self,
        *args: Any,
        start_date: str | None = None,
        days: str | int | None = None,
        max_pages: str | int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.start_date = date.fromisoformat(start_date) if start_date else datetime.now(UTC).date()
        self.window_days = int(days) if days else DEFAULT_WINDOW_DAYS
        self.max_pages = int(max_pages) if max_pages else DEFAULT_MAX_PAGES

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.start_urls:
            site = _Site(api_url=self.api_url(url))
            yield self.page_request(site.api_url, site)

    def api_url(self, url: str) -> str:
        """The first page's address: the site's API path (unless given) with paging and the date window."""
        parts = urlsplit(url)
        path = parts.path
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if "/wp-json/" not in path and "rest_route" not in query:
            path = path.rstrip("/") + API_PATH
        end_date = self.start_date + timedelta(days=self.window_days)
        defaults = {"page": "1", "per_page": str(PER_PAGE), "start_date": self.start_date.isoformat(),
                    "end_date": end_date.isoformat()}  # fmt: skip
        query = {**defaults, **query}
        return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query, safe="/"), ""))

    def page_request(self, url: str, site: _Site) -> scrapy.Request:
        site.seen_pages.add(url)
        return scrapy.Request(
            url,
            callback=self.parse_page,
            errback=self.page_failed,
            cb_kwargs={"site": site},
            # 404 is how the plugin says "no (more) events": read its body instead of failing.
            meta={"handle_httpstatus_list": [404]},
            dont_filter=True,
        )

    # --- paging ---------------------------------------------------------------------------------------------

    def parse_page(self, response: Response, site: _Site) -> Iterator[Any]:
        try:
            data = json.loads(response.text)
        except (ValueError, AttributeError) as error:
            if response.status == 404:
                self.report_source_error("http", f"{response.url} answered HTTP 404")
            else:
                self.report_source_error("not_json", f"{response.url} is not an Events Calendar feed ({error})")
            yield from self.finish(site)
            return
        if response.status == 404:
            code = data.get("code") if isinstance(data, dict) else None
            if code == "event-archive-page-not-found":
                # No events in the window (first page) or none past the last page: an answer, not a failure.
                if site.pages == 0:
                    self.logger.info("%s lists no events in the window", response.url)
                    self.stat("no_events")
            elif code == "rest_no_route":
                self.report_source_error(
                    "not_a_feed", f"{response.url} answered 404 rest_no_route: the site has no Events Calendar API"
                )
            else:
                self.report_source_error("http", f"{response.url} answered HTTP 404")
            yield from self.finish(site)
            return
        if not isinstance(data, dict) or not isinstance(data.get("events"), list):
            detail = f": {data.get('code')}" if isinstance(data, dict) and data.get("code") else ""
            self.report_source_error("not_a_feed", f"{response.url} is JSON but not an events page{detail}")
            yield from self.finish(site)
            return
        site.pages += 1
        site.last_response = response
        if site.pages == 1 and isinstance(data.get("total"), int):
            self.stat("reported_total", data["total"])
        for event in data["events"]:
            event_id = event.get("id") if isinstance(event, dict) else None
            if event_id is not None and event_id in site.event_ids:
                # The calendar changed while we paged (offset paging): the same event again on the next page.
                self.stat("repeated_events")
                continue
            site.event_ids.add(event_id)
            site.occurrences.append(_occurrence(event, response.url))
        self.stat("events", len(data["events"]))
        next_url = data.get("next_rest_url")
        if isinstance(next_url, str) and next_url.strip():
            next_url = response.urljoin(html.unescape(next_url.strip()))
            if next_url in site.seen_pages:
                self.logger.warning("%s links back to %s: paging stopped", response.url, next_url)
                self.stat("paging_loop")
            elif site.pages >= self.max_pages:
                self.logger.warning("stopped after %d pages (max_pages) at %s", site.pages, response.url)
                self.stat("max_pages_reached")
            elif not self.on_site(next_url):
                self.logger.warning("next page %s is off the registered site; not followed", next_url)
                self.stat("offsite_next_page")
            else:
                yield self.page_request(next_url, site)
                return
        yield from self.finish(site)

    def page_failed(self, failure: Failure) -> Iterator[Any]:
        """A page that could not be read: report it, and still yield what the earlier pages gave."""
        self.request_failed(failure)
        site = failure.request.cb_kwargs["site"]  # type: ignore[attr-defined]
        yield from self.finish(site)

    def finish(self, site: _Site) -> Iterator[dict[str, Any]]:
        if site.finished or site.last_response is None:
            return
        site.finished = True
        for record, item in self.build_items(site.occurrences, site.last_response):
            processed = self.post_process_item(item, record, site.last_response)
            if processed is not None:
                yield processed

    def stat(self, name: str, count: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"peergroups/events_calendar/{name}", count)

    # --- occurrences → listings -----------------------------------------------------------------------------

    def build_items(self, occurrences: list[Occurrence], response: Response) -> Iterator[tuple[Any, dict[str, Any]]]:
        """(record, item) pairs: one per recognised series, one per other event; in order of first start."""
        results: list[tuple[tuple[str, int], Any, dict[str, Any]]] = []
        groups: dict[tuple[str, str, int, str], list[Occurrence]] = defaultdict(list)
        singles: list[tuple[int, Occurrence]] = []
        for position, occurrence in enumerate(occurrences):
            key = series_key(occurrence)
            if key is None:
                singles.append((position, occurrence))
            else:
                groups[key].append(occurrence)
        first_position = {id(occurrence): position for position, occurrence in enumerate(occurrences)}
        for members in groups.values():
            members.sort(key=lambda occurrence: occurrence.start or datetime.max)
            rule = derive_rule([occurrence.start.date() for occurrence in members if occurrence.start])
            if rule is None:
                singles.extend((first_position[id(occurrence)], occurrence) for occurrence in members)
                continue
            self.stat("series")
            events = [member.event for member in members]
            item = self._guarded(
                lambda members=members, rule=rule: self.series_item(members, rule, response), events, response
            )
            results.append((_order(members[0], first_position[id(members[0])]), events, item))
        for position, occurrence in singles:
            if isinstance(occurrence.event, dict):
                self.stat("single_events")
            item = self._guarded(
                lambda occurrence=occurrence, position=position: self.single_item(occurrence, position, response),
                occurrence.event,
                response,
            )
            results.append((_order(occurrence, position), occurrence.event, item))
        results.sort(key=lambda result: result[0])
        for _, record, item in results:
            yield record, item

    def _guarded(self, build: Callable[[], dict[str, Any]], record: Any, response: Response) -> dict[str, Any]:
        """One event that cannot be read becomes a bare item (ingest rejects or keeps it), never lost with the rest."""
        try:
            return build()
        except Exception as error:
            self.stat("unreadable_events")
            self.logger.warning("an event could not be read (%s); passed on raw", error)
            first = record[0] if isinstance(record, list) and record else record
            ident = first.get("id") if isinstance(first, dict) else None
            return {**self.base_item(response), "source_id": f"event:{ident}", "raw": record}

    def series_item(self, members: list[Occurrence], rule: Rule, response: Response) -> dict[str, Any]:
        first = members[0]
        assert first.start is not None
        item = self.event_fields(first, response)
        weekday = PY_WEEKDAY_CODES[first.start.weekday()]
        item["source_id"] = series_id(first.event, weekday, first.start.strftime("%H%M"))
        ends = {occurrence.end.strftime("%H:%M") for occurrence in members if occurrence.end}
        schedule: dict[str, Any] = {
            "freq": rule.freq,
            "interval": rule.interval,
            "byday": rule.byday,
            "opens_at": first.start.strftime("%H:%M"),
            # An end time only when every occurrence agrees on it.
            "closes_at": ends.pop() if len(ends) == 1 and all(m.end for m in members) else None,
            "timezone": _zone(first.event),
        }
        if rule.except_dates:
            schedule["except_dates"] = [day.isoformat() for day in rule.except_dates]
        item["schedules"] = [schedule]
        item["occurrences"] = [occurrence.start.isoformat() for occurrence in members if occurrence.start]
        item["event_ids"] = [occurrence.event.get("id") for occurrence in members]
        item["raw"] = [occurrence.event for occurrence in members]
        return item

    def single_item(self, occurrence: Occurrence, position: int, response: Response) -> dict[str, Any]:
        event = occurrence.event
        if not isinstance(event, dict):
            # Still a record the source published: pass it on so ingest rejects it with a reason.
            return {**self.base_item(response), "source_url": occurrence.page_url, "source_id": f"#{position}",
                    "raw": event}  # fmt: skip
        item = self.event_fields(occurrence, response)
        item["source_id"] = str(event.get("id") or event.get("global_id") or f"#{position}")
        item["schedules"] = []  # one date is not a rule
        if occurrence.start is not None:
            all_day = bool(event.get("all_day"))
            item["event_start"] = occurrence.start.date().isoformat() if all_day else occurrence.start.isoformat()
            if occurrence.end is not None:
                item["event_end"] = occurrence.end.date().isoformat() if all_day else occurrence.end.isoformat()
        item["raw"] = event
        return item

    def event_fields(self, occurrence: Occurrence, response: Response) -> dict[str, Any]:
        """The RawListing fields one event gives, copied as published (normalisation cleans them)."""
        event = occurrence.event
        item = self.base_item(response)
        item["source_url"] = event.get("url") or occurrence.page_url
        item["feed_url"] = occurrence.page_url
        item["name"] = event.get("title")
        item["description"] = event.get("description")
        venue = _venue(event)
        organizers = _organizers(event)
        venue_fields = {
            "location_name": venue.get("venue"),
            "street": venue.get("address"),
            "city": venue.get("city"),
            "region": _first(venue, "state", "province", "stateprovince"),
            "postal_code": venue.get("zip"),
            "country": venue.get("country"),
            "latitude": venue.get("geo_lat"),
            "longitude": venue.get("geo_lng"),
        }
        for key, value in venue_fields.items():
            if present(value):
                item[key] = value
        item["organization"] = next((o["organizer"] for o in organizers if present(o.get("organizer"))), None)
        # The venue's phone, else an organiser's: both are published for the public to call.
        item["phone"] = venue.get("phone") or next((o["phone"] for o in organizers if present(o.get("phone"))), None)
        # An organiser's address is often a volunteer's own: only a shared mailbox (info@, office@) is kept.
        item["email"] = next((o["email"] for o in organizers if is_role_mailbox(o.get("email"))), None)
        website = html.unescape(event["website"]).strip() if isinstance(event.get("website"), str) else ""
        # The plugin fills `website` with the event's own page when none was entered: that is provenance.
        item["website"] = website if website and website.rstrip("/") != str(event.get("url", "")).rstrip("/") else None
        item["cost"] = event.get("cost") if present(event.get("cost")) else None
        item["types"] = _term_names(event.get("categories")) + [
            name for name in _term_names(event.get("tags")) if name not in _term_names(event.get("categories"))
        ]
        zone = _zone(event)
        if zone:
            item["timezone"] = zone
        elif present(event.get("timezone")):
            self.stat("offset_timezone")  # "UTC+2": refused as a zone; the place's zone applies
        return item


# --- pure helpers (tested directly) -------------------------------------------------------------------------


def parse_local(value: Any) -> datetime | None:
    """The plugin's site-local "YYYY-MM-DD HH:MM:SS" → naive datetime; None when absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(value.strip(), pattern)
        except ValueError:
            continue
    return None


def series_key(occurrence: Occurrence) -> tuple[str, str, int, str] | None:
    """(title, venue, weekday, local start) for an occurrence that can belong to a weekly or monthly series.

    All-day and multi-day events never do: a resource fair or a weekend retreat is an event, not a group.
    """
    event = occurrence.event
    if not isinstance(event, dict) or occurrence.start is None or event.get("all_day"):
        return None
    if occurrence.end is not None and occurrence.end.date() != occurrence.start.date():
        return None
    title = plain(event.get("title"))
    if not title:
        return None
    return (title, _venue_key(event), occurrence.start.weekday(), occurrence.start.strftime("%H:%M"))


def series_id(event: dict[str, Any], weekday: str, hhmm: str) -> str:
    """Stable across crawls (occurrence ids are not): the venue, the title, the weekday and the start time."""
    return f"series:{_venue_key(event)}:{slugify(event.get('title'))}:{weekday}:{hhmm}"


def derive_rule(dates: Iterable[date]) -> Rule | None:
    """The rule the dates fit (weekly, every other week, nth or last weekday monthly), or None.

    Every date must fall on the rule; at least three must be given; of the slots the rule expects between the
    first and the last date, at most one in four may be missing. When several rules fit, the one that misses
    fewest slots wins (every other week rather than weekly with every second week missing).
    """
    days = sorted(set(dates))
    if len(days) < MIN_OCCURRENCES or len({day.weekday() for day in days}) != 1:
        return None
    code = PY_WEEKDAY_CODES[days[0].weekday()]
    candidates: list[tuple[int, Rule]] = []
    for step, interval in ((7, 1), (14, 2)):
        if all((day - days[0]).days % step == 0 for day in days):
            expected = [days[0] + timedelta(days=step * n) for n in range((days[-1] - days[0]).days // step + 1)]
            candidates.append(_candidate(expected, days, Rule("WEEKLY", interval, code)))
    months = [day.year * 12 + day.month - 1 for day in days]
    if len(set(months)) == len(days):  # at most one date a month
        ordinals = {(day.day - 1) // 7 + 1 for day in days}
        options = [ordinal for ordinal in ordinals if len(ordinals) == 1 and ordinal <= 4]  # a 5th is a "last"
        if all(day.day + 7 > _month_length(day.year, day.month) for day in days):
            options.append(-1)
        for ordinal in options:
            expected = [_nth_weekday(month, days[0].weekday(), ordinal) for month in range(months[0], months[-1] + 1)]
            candidates.append(_candidate(expected, days, Rule("MONTHLY", 1, f"{ordinal}{code}")))
    fitting = [(missed, rule) for missed, rule in candidates if missed >= 0]
    if not fitting:
        return None
    return min(fitting, key=lambda candidate: candidate[0])[1]


def _candidate(expected: list[date], days: list[date], rule: Rule) -> tuple[int, Rule]:
    """(slots missed, rule with its exception dates); missed is -1 when the rule does not fit."""
    if not set(days) <= set(expected):
        return -1, rule
    missing = tuple(day for day in expected if day not in set(days))
    if len(missing) > len(expected) // 4:
        return -1, rule
    return len(missing), Rule(rule.freq, rule.interval, rule.byday, missing)


def _month_length(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


def _nth_weekday(month_index: int, weekday: int, ordinal: int) -> date:
    year, month = divmod(month_index, 12)
    month += 1
    if ordinal > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (ordinal - 1))
    last = date(year, month, _month_length(year, month))
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _occurrence(event: Any, page_url: str) -> Occurrence:
    if not isinstance(event, dict):
        return Occurrence(event, page_url, None, None)  # type: ignore[arg-type]
    return Occurrence(event, page_url, parse_local(event.get("start_date")), parse_local(event.get("end_date")))


def _order(occurrence: Occurrence, position: int) -> tuple[str, int]:
    return (occurrence.start.isoformat() if occurrence.start else "9999", position)


def _venue(event: dict[str, Any]) -> dict[str, Any]:
    venue = event.get("venue")
    return venue if isinstance(venue, dict) else {}  # the plugin sends [] for "no venue"


def _venue_key(event: dict[str, Any]) -> str:
    venue = _venue(event)
    if present(venue.get("id")):
        return str(venue["id"])
    return slugify(venue.get("venue")) or "novenue"


def _organizers(event: dict[str, Any]) -> list[dict[str, Any]]:
    organizers = event.get("organizer")
    if isinstance(organizers, dict):
        organizers = [organizers]
    return [organizer for organizer in organizers or [] if isinstance(organizer, dict)]


def _term_names(terms: Any) -> list[str]:
    names = [term.get("name") for term in terms if isinstance(term, dict)] if isinstance(terms, list) else []
    return list(dict.fromkeys(html.unescape(name).strip() for name in names if present(name)))


def _zone(event: dict[str, Any]) -> str | None:
    """The event's IANA zone; a fixed offset ("UTC+2", which sites without a city zone get) is not one."""
    zone = event.get("timezone")
    if isinstance(zone, str) and ("/" in zone or zone.strip() == "UTC"):
        return zone.strip()
    return None


def _first(record: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if present(record.get(key)):
            return record[key]
    return None
