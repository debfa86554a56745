"""schema.org JSON-LD in HTML pages: `<script type="application/ld+json">` blocks describing groups and meetings.

A block holds one object, an array of them, or `{"@context": ..., "@graph": [...]}`; nodes may point at each other
by `@id`. One RawListing is yielded per Event (any schema.org Event type) and per Organization or Place that is
itself a group or meeting (named like one, and not merely the organizer, venue or publisher of something else).

An Event's `eventSchedule` (schema.org Schedule) becomes RRULE-style schedules: `repeatFrequency` P1W/P2W/P1M
(P7D, P14D, P1D too), `byDay` as DayOfWeek URLs ("https://schema.org/Tuesday") or iCal text ("TU", "2MO",
"-1FR"), `byMonthWeek` (1-5, or -1 for the last), `startTime`/`endTime`/`duration`, `scheduleTimezone`;
`startDate`, `endDate` and `exceptDate` are kept beside the rule. A rule the fields do not pin down (monthly
with no week, `byMonthDay`) gives no schedule: a wrong schedule is worse than none. An Event without a schedule is
one date: kept as `event_start`/`event_end`, with no rule.

The 12 Step Meeting List plugin's crawler page (templates/archive-locations.php) emits this JSON-LD. When a
meeting has no end time it adds an hour to the start time object itself, so startTime == endTime, both an hour
late: such zero-length times are dropped (the day is kept) and counted.

Pages: the start URLs, plus, with `follow` (a CSS selector), the links it selects on every page read, on the
start URLs' hosts only (listing pages → detail pages, and "next page" links if the selector includes them).
A block that is not JSON is counted (`peergroups/jsonld/malformed`) and skipped; the page's other blocks are read.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import scrapy
from scrapy.http import Response, TextResponse

from spiders.platforms.base import PlatformSpider
from spiders.platforms.common import PY_WEEKDAY_CODES, is_role_mailbox, present

DEFAULT_MAX_PAGES = 500

EVENT_TYPES: frozenset[str] = frozenset(
    {
        "Event", "BusinessEvent", "ChildrensEvent", "ComedyEvent", "CourseInstance", "DanceEvent", "DeliveryEvent",
        "EducationEvent", "EventSeries", "ExhibitionEvent", "Festival", "FoodEvent", "Hackathon", "LiteraryEvent",
        "MusicEvent", "PublicationEvent", "SaleEvent", "ScreeningEvent", "SocialEvent", "SportsEvent",
        "TheaterEvent", "VisualArtsEvent",
    }
)  # fmt: skip
GROUP_TYPES: frozenset[str] = frozenset(
    {
        "Organization", "NGO", "MedicalOrganization", "LocalBusiness", "Place", "CivicStructure", "PlaceOfWorship",
        "Church", "EventVenue",
    }
)  # fmt: skip
# A group's own name says so; an alliance, a clinic or a church hall does not.
GROUP_NAME = re.compile(r"\b(?:group|groups|meeting|meetings|circle|fellowship|anonymous|peer[- ]support)\b", re.I)

ATTENDANCE_MODES: dict[str, str] = {
    "OfflineEventAttendanceMode": "in_person",
    "OnlineEventAttendanceMode": "online",
    "MixedEventAttendanceMode": "hybrid",
}
EVENT_STATUSES: dict[str, str] = {
    "EventScheduled": "active",
    "EventRescheduled": "active",
    "EventMovedOnline": "active",
    "EventPostponed": "temporarily_closed",
    "EventCancelled": "cancelled",
}
DAY_NAMES: dict[str, str] = {
    "monday": "MO", "tuesday": "TU", "wednesday": "WE", "thursday": "TH", "friday": "FR", "saturday": "SA",
    "sunday": "SU",
}  # fmt: skip
_ICAL_DAY = re.compile(r"^([+-]?[1-5])?(MO|TU|WE|TH|FR|SA|SU)$")
_PERIOD = re.compile(r"^P(\d+)([DWM])$")
_FREQUENCY_WORDS: dict[str, tuple[str, int]] = {
    "daily": ("DAILY", 1), "weekly": ("WEEKLY", 1), "fortnightly": ("WEEKLY", 2), "monthly": ("MONTHLY", 1),
}  # fmt: skip
# Properties that say what a page or a list is about: a listing found there is the page's subject.
SUBJECT_KEYS: tuple[str, ...] = ("mainEntity", "about", "itemListElement", "item")
_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?$")
_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")
_SCRIPT_XPATH = (
    "//script[contains(translate(@type, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), 'ld+json')]"
)


class JsonLdSpider(PlatformSpider):
    """Reads schema.org JSON-LD from HTML pages; one RawListing per Event and per group-like Organization/Place.

    Arguments: `follow` (a CSS selector for links to read too, e.g. "a.meeting-link, a.next"), `max_pages`
    (default 500).
    """

    name = "jsonld"
    follow: str | None = None

    def __init__(
        self, *args: Any, follow: str | None = None, max_pages: str | int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if follow:
            self.follow = follow
        self.max_pages = int(max_pages) if max_pages else DEFAULT_MAX_PAGES
        self.pages_requested = 0
        self.seen_ids: set[str] = set()

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.start_urls:
            self.pages_requested += 1
            yield scrapy.Request(url, callback=self.parse_page, errback=self.request_failed)

    def stat(self, name: str, count: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"peergroups/jsonld/{name}", count)

    def parse_page(self, response: Response) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            self.stat("not_html")
            return
        self.stat("pages")
        nodes = self.page_nodes(response)
        if not nodes:
            self.stat("pages_without_jsonld")
        yield from self.page_items(nodes, response)
        if self.follow:
            yield from self.follow_links(response)

    # --- reading the blocks ---------------------------------------------------------------------------------

    def page_nodes(self, response: TextResponse) -> list[dict[str, Any]]:
        """Every top-level node of every readable block, in page order (arrays and @graph flattened)."""
        nodes: list[dict[str, Any]] = []
        for script in response.xpath(_SCRIPT_XPATH):
            text = "".join(script.xpath("text()").getall())
            if not text.strip():
                continue
            try:
                data = load_block(text)
            except ValueError as error:
                self.stat("malformed")
                self.logger.warning("%s: a JSON-LD block is not JSON (%s); skipped", response.url, error)
                continue
            self.stat("blocks")
            nodes.extend(top_nodes(data))
        return nodes

    def page_items(self, nodes: list[dict[str, Any]], response: TextResponse) -> Iterator[dict[str, Any]]:
        index = id_index(nodes)
        candidates, skipped = listing_nodes(nodes, index)
        if skipped:
            self.stat("nodes_skipped", skipped)
        urls = [str(node.get("url")) for node, _ in candidates if isinstance(node.get("url"), str)]
        for position, (node, parent) in enumerate(candidates):
            try:
                item = (
                    self.event_item(node, parent, index, response)
                    if types_of(node) & EVENT_TYPES
                    else self.group_item(node, index, response)
                )
            except Exception as error:
                self.stat("unreadable_nodes")
                self.logger.warning("%s: a JSON-LD node could not be read (%s); passed on raw", response.url, error)
                item = {**self.base_item(response), "raw": node}
            item["source_id"] = node_id(node, response.url, position, urls)
            if item["source_id"] in self.seen_ids:
                self.stat("duplicates")  # the same node on a listing page and its detail page
                continue
            self.seen_ids.add(item["source_id"])
            processed = self.post_process_item(item, node, response)
            if processed is not None:
                yield processed

    def follow_links(self, response: TextResponse) -> Iterator[scrapy.Request]:
        assert self.follow is not None
        for url in self.site_links(response.css(self.follow), response):
            if self.pages_requested >= self.max_pages:
                self.stat("max_pages_reached")
                return
            self.pages_requested += 1
            yield scrapy.Request(url, callback=self.parse_page, errback=self.request_failed)

    def closed(self, reason: str) -> None:
        assert self.crawler.stats is not None
        stats = self.crawler.stats
        if stats.get_value("item_scraped_count", 0) == 0 and stats.get_value("peergroups/jsonld/pages", 0):
            errors = [key for key in stats.get_stats() if key.startswith("peergroups/source_error/")]
            if not errors:
                pages = stats.get_value("peergroups/jsonld/pages")
                self.report_source_error(
                    "no_listings", f"no schema.org Event, group Organization or Place found in {pages} page(s)"
                )

    # --- nodes → RawListing ---------------------------------------------------------------------------------

    def event_item(
        self, event: dict[str, Any], parent: dict[str, Any] | None, index: dict[str, dict[str, Any]], response: Response
    ) -> dict[str, Any]:
        item = self.base_item(response)
        item["name"] = text_of(event.get("name"))
        item["description"] = text_of(event.get("description"))
        if isinstance(event.get("url"), str):
            item["website"] = response.urljoin(event["url"])
        for location in as_list(event.get("location")):
            self.apply_location(item, resolve(location, index))
        organizers = [resolve(organizer, index) for organizer in as_list(event.get("organizer"))] or (
            [parent] if parent else []
        )
        self.apply_organizers(item, organizers)
        mode = last_segment(event.get("eventAttendanceMode"))
        if mode in ATTENDANCE_MODES:
            item["format"] = ATTENDANCE_MODES[mode]
        status = last_segment(event.get("eventStatus"))
        if status in EVENT_STATUSES:
            item["status"] = EVENT_STATUSES[status]
        cost = cost_of(event)
        if cost:
            item["cost"] = cost
        language = event.get("inLanguage")
        if isinstance(language, dict):
            language = language.get("name") or language.get("alternateName")
        if isinstance(language, str) and language.strip():
            item["language"] = language
        schedules = [resolve(schedule, index) for schedule in as_list(event.get("eventSchedule"))]
        item["schedules"] = []
        for schedule in schedules:
            raw_schedule = self.read_schedule(schedule)
            if raw_schedule is not None:
                item["schedules"].append(raw_schedule)
        if isinstance(event.get("startDate"), str):
            item["event_start"] = event["startDate"]
            if isinstance(event.get("endDate"), str):
                item["event_end"] = event["endDate"]
        item["raw"] = event
        return item

    def group_item(self, node: dict[str, Any], index: dict[str, dict[str, Any]], response: Response) -> dict[str, Any]:
        item = self.base_item(response)
        item["name"] = text_of(node.get("name"))
        item["description"] = text_of(node.get("description"))
        if isinstance(node.get("url"), str):
            item["website"] = response.urljoin(node["url"])
        if types_of(node) & {"Place", "CivicStructure", "PlaceOfWorship", "Church", "EventVenue", "LocalBusiness"}:
            self.apply_place(item, node, set_name=False)
        for location in as_list(node.get("location")):
            self.apply_location(item, resolve(location, index))
        if "address" in node and not any(item.get(key) for key in ("address", "street")):
            apply_address(item, node.get("address"))
        for key, field in (("telephone", "phone"), ("email", "email")):
            if isinstance(node.get(key), str) and node[key].strip():
                item[field] = node[key].removeprefix("mailto:")
        parent = resolve(node.get("parentOrganization") or node.get("memberOf"), index)
        if isinstance(parent, dict) and text_of(parent.get("name")):
            item["organization"] = text_of(parent.get("name"))
        item["schedules"] = [s for s in map(opening_hours, as_list(node.get("openingHoursSpecification"))) if s]
        if isinstance(node.get("openingHours"), str | list) and not item["schedules"]:
            item["schedule_text"] = "; ".join(str(hours) for hours in as_list(node.get("openingHours")))
        item["raw"] = node
        return item

    def apply_location(self, item: dict[str, Any], location: Any) -> None:
        if isinstance(location, str):
            # Plain text: an address when it has a number in it, else the name of a place ("Zoom", "Town Hall").
            item.setdefault("address" if any(char.isdigit() for char in location) else "location_name", location)
            return
        if not isinstance(location, dict):
            return
        if "VirtualLocation" in types_of(location):
            if isinstance(location.get("url"), str) and "conference_url" not in item:
                item["conference_url"] = location["url"]
            return
        self.apply_place(item, location, set_name=True)

    def apply_place(self, item: dict[str, Any], place: dict[str, Any], *, set_name: bool) -> None:
        if set_name and text_of(place.get("name")) and "location_name" not in item:
            item["location_name"] = text_of(place.get("name"))
        if not any(item.get(key) for key in ("address", "street")):
            apply_address(item, place.get("address"))
        geo = place.get("geo")
        if isinstance(geo, dict) and "latitude" not in item:
            if "GeoCircle" in types_of(geo):
                geo = geo.get("geoMidpoint") if isinstance(geo.get("geoMidpoint"), dict) else {}
                item["approximate"] = "yes"  # a circle, not a point: the plugin's "approximate" location
            if present(geo.get("latitude")) and present(geo.get("longitude")):
                item["latitude"], item["longitude"] = geo["latitude"], geo["longitude"]
        if isinstance(place.get("telephone"), str) and place["telephone"].strip() and not item.get("phone"):
            item["phone"] = place["telephone"]

    def apply_organizers(self, item: dict[str, Any], organizers: list[Any]) -> None:
        for organizer in organizers:
            if isinstance(organizer, str) and organizer.strip() and "://" not in organizer:
                item.setdefault("organization", organizer)  # a name given as plain text
                continue
            if not isinstance(organizer, dict) or "Person" in types_of(organizer):
                continue  # a facilitator's name and contacts stay in `raw` only
            if text_of(organizer.get("name")) and not item.get("organization"):
                item["organization"] = text_of(organizer.get("name"))
            if isinstance(organizer.get("telephone"), str) and organizer["telephone"].strip() and not item.get("phone"):
                item["phone"] = organizer["telephone"]
            email = organizer.get("email")
            if isinstance(email, str) and is_role_mailbox(email.removeprefix("mailto:")) and not item.get("email"):
                item["email"] = email.removeprefix("mailto:")

    def read_schedule(self, schedule: Any) -> dict[str, Any] | None:
        """A schema.org Schedule → a RawSchedule dict, or None when it states nothing usable."""
        if not isinstance(schedule, dict):
            return None
        raw, readable = schedule_fields(schedule)
        if not readable:
            self.stat("schedule_unreadable")  # the original stays in `raw`
            return None
        if raw.pop("zero_length", False):
            self.stat("zero_length_times")
        return raw


# --- pure helpers (tested directly) -------------------------------------------------------------------------


def load_block(text: str) -> Any:
    """One script's JSON, tolerating what real pages wrap it in (HTML comments, CDATA) and raw newlines in strings."""
    text = text.strip()
    for opening, closing in (("<!--", "-->"), ("//<![CDATA[", "//]]>"), ("<![CDATA[", "]]>")):
        if text.startswith(opening) and text.endswith(closing):
            text = text[len(opening) : -len(closing)].strip()
    return json.loads(text, strict=False)


def top_nodes(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, list):
        return [node for entry in data for node in top_nodes(entry)]
    if not isinstance(data, dict):
        return []
    if "@graph" in data:
        return top_nodes(data["@graph"])
    return [data]


def id_index(nodes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every node with an @id anywhere in the page, by id (the fullest description of each wins)."""
    index: dict[str, dict[str, Any]] = {}

    def walk(value: Any) -> None:
        if isinstance(value, list):
            for entry in value:
                walk(entry)
        elif isinstance(value, dict):
            key = value.get("@id")
            if isinstance(key, str) and len(value) > 1 and len(value) > len(index.get(key, {})):
                index[key] = value
            for entry in value.values():
                walk(entry)

    walk(nodes)
    return index


def referenced_ids(nodes: list[dict[str, Any]]) -> set[str]:
    """Ids other nodes point at as organiser, venue, publisher…: those nodes are not listings themselves.

    A page's `mainEntity`/`about` or a list's items point at what the page is about: that is no such reference.
    """
    found: set[str] = set()

    def walk(value: Any, top: bool) -> None:
        if isinstance(value, list):
            for entry in value:
                walk(entry, False)
        elif isinstance(value, dict):
            if not top and isinstance(value.get("@id"), str):
                found.add(value["@id"])
            for key, entry in value.items():
                if key != "@id" and key not in SUBJECT_KEYS:
                    walk(entry, False)

    for node in nodes:
        walk(node, True)
    return found


def listing_nodes(
    nodes: list[dict[str, Any]], index: dict[str, dict[str, Any]]
) -> tuple[list[tuple[dict[str, Any], dict[str, Any] | None]], int]:
    """([(node, the group it sits in)], how many top-level nodes held no listing), in page order.

    Listings are Events, and Organizations/Places that are groups and not only pointed at by other nodes; they are
    found at the top level, inside a group (`event`), and as the subject of a page or list (`mainEntity`,
    `about`, `itemListElement`/`item`).
    """
    referenced = referenced_ids(nodes)
    candidates: list[tuple[dict[str, Any], dict[str, Any] | None]] = []

    def add(node: dict[str, Any], parent: dict[str, Any] | None) -> None:
        for position, (known, known_parent) in enumerate(candidates):
            if node is known:
                candidates[position] = (known, known_parent or parent)  # listed on its own and inside its group
                return
        candidates.append((node, parent))

    def visit(value: Any, depth: int, subject: bool) -> bool:
        node = resolve(value, index)
        if not isinstance(node, dict) or depth > 4:
            return False
        if types_of(node) & EVENT_TYPES:
            add(node, None)
            return True
        if is_group_node(node) and (subject or node.get("@id") not in referenced):
            add(node, None)
            for key in ("event", "events"):
                for child in as_list(node.get(key)):
                    child = resolve(child, index)
                    if types_of(child) & EVENT_TYPES:
                        add(child, node)
            return True
        found = False
        for key in SUBJECT_KEYS:
            for child in as_list(node.get(key)):
                found = visit(child, depth + 1, True) or found
        return found

    skipped = sum(0 if visit(node, 0, False) else 1 for node in nodes)
    return candidates, skipped


def resolve(value: Any, index: dict[str, dict[str, Any]]) -> Any:
    """A reference (`{"@id": "#place"}` or the bare id string) → the node it names, when the page has it."""
    if isinstance(value, dict) and set(value) <= {"@id", "@type"} and isinstance(value.get("@id"), str):
        return index.get(value["@id"], value)
    if isinstance(value, str) and value in index:
        return index[value]
    return value


def types_of(node: Any) -> set[str]:
    """'Event', 'schema:Event', 'https://schema.org/Event' and lists of them → {'Event'}."""
    if not isinstance(node, dict):
        return set()
    return {last_segment(value) for value in as_list(node.get("@type")) if isinstance(value, str)}


def last_segment(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("@id") or value.get("name") or ""
    if not isinstance(value, str):
        return ""
    return re.split(r"[/:#]", value.strip().rstrip("/"))[-1]


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def text_of(value: Any) -> str | None:
    """A text property: a string, the first string of a list, or a language-tagged `{"@value": ...}`."""
    for entry in as_list(value):
        if isinstance(entry, dict):
            entry = entry.get("@value")
        if isinstance(entry, str) and entry.strip():
            return entry
    return None


def is_group_node(node: dict[str, Any]) -> bool:
    name = text_of(node.get("name"))
    return bool(types_of(node) & GROUP_TYPES) and bool(name and GROUP_NAME.search(name))


def node_id(node: dict[str, Any], page_url: str, position: int, urls: list[str]) -> str:
    """@id (resolved against the page); else the node's own `url` when no other node on the page shares it (stable
    as a directory grows); else the page URL and the node's position among the page's listings."""
    value = node.get("@id")
    if isinstance(value, str) and value.strip() and not value.startswith("_:"):
        try:
            return urljoin(page_url, value.strip())
        except ValueError:
            return value.strip()  # an @id that is not a URL is still the publisher's stable name for the node
    url = node.get("url")
    if isinstance(url, str) and url.strip() and urls.count(url) == 1:
        try:
            own = urljoin(page_url, url.strip())
            if urlsplit(own).path.strip("/"):
                return own  # a page of its own; a site's home page is shared by every node that points to it
        except ValueError:
            pass  # not a URL ("http://[bad"): fall back to the node's place on the page
    return f"{page_url}#{position}"


def apply_address(item: dict[str, Any], address: Any) -> None:
    if isinstance(address, list):
        address = next((entry for entry in address if entry), None)
    if isinstance(address, str) and address.strip():
        item["address"] = address
        return
    if not isinstance(address, dict):
        return
    street = address.get("streetAddress")
    if isinstance(street, list):
        street = ", ".join(str(line) for line in street if line)
    country = address.get("addressCountry")
    if isinstance(country, dict):
        country = country.get("identifier") or country.get("name")
    parts = {"street": street, "city": address.get("addressLocality"), "region": address.get("addressRegion"),
             "postal_code": address.get("postalCode"), "country": country}  # fmt: skip
    for key, value in parts.items():
        if present(value):
            item[key] = value


def cost_of(event: dict[str, Any]) -> str | None:
    if event.get("isAccessibleForFree") in (True, "true", "True", "https://schema.org/True"):
        return "Free"
    for offer in as_list(event.get("offers")):
        if not isinstance(offer, dict) or not present(offer.get("price")):
            continue
        price = str(offer["price"]).strip()
        if re.fullmatch(r"0+(?:\.0+)?", price):
            return "Free"
        return f"{price} {offer.get('priceCurrency') or ''}".strip()
    return None


def frequency(value: Any) -> tuple[str, int] | None:
    """'P1W' → ('WEEKLY', 1); 'P2W'/'P14D' → ('WEEKLY', 2); 'P1M' → ('MONTHLY', 1); 'P1D' → ('DAILY', 1)."""
    if not isinstance(value, str):
        return None
    text = value.strip().upper()
    match = _PERIOD.match(text)
    if match:
        count, unit = int(match[1]), match[2]
        if unit == "W":
            return "WEEKLY", count
        if unit == "M":
            return "MONTHLY", count
        if count % 7 == 0:
            return "WEEKLY", count // 7
        return ("DAILY", 1) if count == 1 else None
    return _FREQUENCY_WORDS.get(value.strip().casefold())


def day_codes(value: Any) -> list[tuple[str, str]] | None:
    """byDay → [(ordinal, code)]: DayOfWeek URLs or names, or iCal text ('2MO', 'MO,WE'). None if any is unreadable."""
    codes: list[tuple[str, str]] = []
    for entry in as_list(value):
        if isinstance(entry, dict):
            entry = entry.get("@id") or entry.get("name")
        if not isinstance(entry, str):
            return None
        for part in entry.split(","):
            name = last_segment(part)
            if name.casefold() in DAY_NAMES:
                codes.append(("", DAY_NAMES[name.casefold()]))
                continue
            match = _ICAL_DAY.match(name.strip().upper())
            if not match:
                return None  # "PublicHolidays", a typo: no rule rather than part of one
            codes.append(((match[1] or "").lstrip("+"), match[2]))
    return codes


def clock(value: Any) -> str | None:
    """startTime/endTime → the local time as written: 'HH:MM[:SS]', a full ISO datetime, or '7:00 PM'."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if "T" in text:
        text = text.split("T", 1)[1]
    return _OFFSET.sub("", text).strip() or None


def _has_offset(value: Any) -> bool:
    if not isinstance(value, str) or not value.strip():
        return False
    text = value.strip().split("T", 1)[-1]
    return bool(_OFFSET.search(text))


def _wall_clock(value: Any, zone: str | None) -> str | None:
    """A time with an offset ("19:30:00-05:00", "...T00:30:00Z") as 'HH:MM' in `zone`, if the day stays the same."""
    if not isinstance(value, str) or not value.strip() or not zone:
        return None
    text = value.strip()
    reference = text.split("T", 1)[0] if "T" in text else "2026-01-15"
    moment_text = text if "T" in text else f"{reference}T{text}"
    try:
        moment = datetime.fromisoformat(moment_text.replace("Z", "+00:00"))
        local = moment.astimezone(ZoneInfo(zone))
    except (ValueError, KeyError, ZoneInfoNotFoundError):
        return None
    if moment.tzinfo is None or local.date() != moment.date():
        return None
    return local.strftime("%H:%M:%S" if text.count(":") >= 2 else "%H:%M")


def _same_time(first: str, second: str) -> bool:
    def key(value: str) -> str:
        match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::\d{2})?", value.strip())
        return f"{int(match[1]):02d}:{match[2]}" if match else " ".join(value.casefold().split())

    return key(first) == key(second)


def schedule_fields(schedule: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """(RawSchedule dict, whether a rule could be read). Only what the fields state: nothing is guessed."""
    raw: dict[str, Any] = {}
    opens, closes = clock(schedule.get("startTime")), clock(schedule.get("endTime"))
    zone = schedule.get("scheduleTimezone") if isinstance(schedule.get("scheduleTimezone"), str) else None
    if zone and any(_has_offset(schedule.get(key)) for key in ("startTime", "endTime")):
        # A time with an offset is an instant: shown in the schedule's own zone it is the wall-clock time. If the
        # day would change with it, no time is given rather than a wrong one.
        opens, closes = _wall_clock(schedule.get("startTime"), zone), _wall_clock(schedule.get("endTime"), zone)
        if opens is None:
            raw["time_unread"] = schedule.get("startTime")
            closes = None
    elif any(str(schedule.get(key) or "").strip().endswith("Z") for key in ("startTime", "endTime")):
        # UTC with no zone to show it in: the local time is unknown. (An offset like -05:00 without a zone is the
        # publisher's own wall clock, as TSML and most sites write it, and is kept as written.)
        raw["time_unread"] = schedule.get("startTime")
        opens = closes = None
    duration = _DURATION.match(str(schedule.get("duration") or "").strip().upper())
    if opens and not closes and duration and (duration[1] or duration[2]):
        try:
            start = datetime.strptime(opens[:5], "%H:%M")
            closes = (start + timedelta(hours=int(duration[1] or 0), minutes=int(duration[2] or 0))).strftime("%H:%M")
        except ValueError:
            closes = None
    if opens and closes and _same_time(opens, closes):
        raw["zero_length"] = True  # TSML's missing end time: both times are an hour late; keep only the day
        opens = closes = None
    for key, value in (("opens_at", opens), ("closes_at", closes)):
        if value:
            raw[key] = value
    if isinstance(schedule.get("scheduleTimezone"), str) and schedule["scheduleTimezone"].strip():
        raw["timezone"] = schedule["scheduleTimezone"].strip()
    for source_key, raw_key in (("startDate", "start_date"), ("endDate", "end_date")):
        if isinstance(schedule.get(source_key), str):
            raw[raw_key] = schedule[source_key]
    if schedule.get("exceptDate"):
        raw["except_dates"] = [str(day) for day in as_list(schedule["exceptDate"])]

    rule = _rule(schedule)
    if rule is None:
        return raw, False
    freq, interval, byday = rule
    raw.update({"freq": freq, "interval": interval})
    if byday:
        raw["byday"] = ",".join(byday)
    return raw, True


def _rule(schedule: dict[str, Any]) -> tuple[str, int, list[str]] | None:
    stated = frequency(schedule.get("repeatFrequency"))
    if schedule.get("repeatFrequency") is not None and stated is None:
        return None
    days = day_codes(schedule.get("byDay")) if schedule.get("byDay") is not None else []
    if days is None or schedule.get("byMonthDay") is not None or schedule.get("byMonth") is not None:
        return None  # not expressible as our RRULE rows (or unreadable)
    weeks: list[int] = []
    for week in as_list(schedule.get("byMonthWeek")):
        try:
            number = int(week)
        except (TypeError, ValueError):
            return None
        if number == 0 or not -1 <= number <= 5:
            return None
        weeks.append(number)
    ordinal_days = any(ordinal for ordinal, _ in days)
    if weeks or ordinal_days:
        # Ordinal weekdays belong to a monthly rule: "P1W" with byMonthWeek [1, 3] means the 1st and 3rd weeks.
        if stated not in (None, ("WEEKLY", 1), ("MONTHLY", 1)) or not days:
            return None
        if any(not ordinal for ordinal, _ in days) and not weeks:
            return None  # "MO,2WE": every Monday and the 2nd Wednesday is two rules, not one
        byday = [f"{ordinal}{code}" for ordinal, code in days if ordinal]
        byday += [f"{week}{code}" for week in weeks for ordinal, code in days if not ordinal]
        return "MONTHLY", 1, byday
    if stated is None:
        # No frequency but weekdays: the days of the week it meets, every week.
        return ("WEEKLY", 1, [code for _, code in days]) if days else None
    freq, interval = stated
    if freq == "MONTHLY":
        return None  # monthly on a weekday with no week of the month (or on no day): which one is not stated
    if freq == "WEEKLY" and not days:
        start = schedule.get("startDate")
        try:
            weekday = datetime.fromisoformat(str(start)[:10]).weekday() if isinstance(start, str) else None
        except ValueError:
            weekday = None
        if weekday is None:
            return None
        # RFC 5545: a weekly rule with no BYDAY repeats on its start date's weekday.
        return freq, interval, [PY_WEEKDAY_CODES[weekday]]
    return freq, interval, [code for _, code in days]


def opening_hours(spec: Any) -> dict[str, Any] | None:
    """OpeningHoursSpecification {dayOfWeek, opens, closes} → a weekly RawSchedule dict."""
    if not isinstance(spec, dict):
        return None
    days = day_codes(spec.get("dayOfWeek"))
    if not days or any(ordinal for ordinal, _ in days):
        return None
    raw: dict[str, Any] = {"freq": "WEEKLY", "interval": 1, "byday": ",".join(code for _, code in days)}
    for source_key, raw_key in (("opens", "opens_at"), ("closes", "closes_at")):
        value = clock(spec.get(source_key))
        if value:
            raw[raw_key] = value
    return raw
