"""Open Referral HSDS 3.0 (the Human Services Data Specification 211 services publish): the API and the data package.

One spider, two ways in, chosen by the URL (or `-a mode=api|package`):

- **The HSDS API** (`-a url=https://api.example.org/hsds`, the API's base). Services are listed in Page objects
  (`{total_items, total_pages, page_number, size, first_page, last_page, empty, contents: [...]}`) from
  `GET {base}/services?page=N&per_page=M` (`page_url`). Pages are read in order until `last_page` is true,
  `page_number` reaches `total_pages`, a page is empty, or a page brings no service not seen before. The spec
  lists only a service's one-to-one fields on those pages; a service without its locations (no
  `service_at_locations`, or one without its `location` object) is read again from `GET {base}/services/{id}`
  (`service_url`), the fully nested service. A `service_at_locations: []` that is stated means no location.
- **The tabular data package** (`-a url=https://example.org/hsds/datapackage.json`). The tables this spider reads
  (services, organizations, service_at_location, locations, addresses, phones, schedules, languages,
  cost_options) are fetched one after another from the paths the package lists, relative to it, and joined by id.
  Tables the package does not list are simply absent; other tables (contacts, funding, a publisher's own
  `x_*.csv`) are never fetched. A listed table that cannot be fetched (404: `missing_resource`; other HTTP or
  network errors as for any URL) is a source error and nothing is loaded: every listing would lack what it holds.

Fields: name, description, status (copied as given: active, inactive, defunct, temporarily closed), email and
website from the service (website falling back to the organization's), organization = its name; the location's
name and coordinates, and its physical address (else its first): `address_1[, address_2]` → street, `city`,
`state_province` (else HSDS `region`) → region, `postal_code`, `country`; a virtual location's `url` is the join
link; phone = the first number with its extension as "x12"; language = the first of `languages` (code, else name);
cost = the `cost_options` in words (an amount of 0 is "free"), else `fees_description`; raw = the service record
as read (API) or the joined CSV rows, per table (package). Schedules keep `freq`, `interval`, `byday`, `opens_at`,
`closes_at` and `description` (as `text`), and pass the rule's other parts (`until`, `count`, `bymonthday`,
`valid_from`, ...) on as text beside them.

One RawListing per service-at-location, or per service when it has none. `source_id` is the service id, or
`{service id}/{location id}` when the service is at several locations. Where a service-at-location has its own
phones or schedules they win; else the service's (less any that name another service-at-location), then, for
phones only, the location's and the organization's. A location's own schedules are the building's opening hours,
not the group's, and are not read. Contacts are people (often a facilitator's own number): never read. HSDS
`timezone` on a schedule is a numeric UTC offset, which breaks at daylight-saving changes: it stays in `raw`, and
the zone comes from the place. A `Z` or `+hh:mm` after `opens_at`/`closes_at` (the spec's own guidance writes
local times as "09:00:00Z") is dropped and the wall-clock time kept.

Fixtures and other static copies: a static server cannot answer `/services?page=2`, so the page address is a
template. The real API uses the default `page_url = "{base}/services?page={page}&per_page={per_page}"`; the test
fixtures pass `-a page_url={base}/services-page-{page}.json`. `service_url = "{base}/services/{id}"` is the same
for both (the fixture server maps an extensionless path to `<path>.json`). An API that nests everything on its
pages when asked can be given `page_url = "{base}/services?page={page}&per_page={per_page}&full=true"`.

A concrete source is a few lines:

    class Example211Spider(HsdsSpider):
        name = "example_211"
        source = "example_211"
        start_urls = ["https://api.211.example.org/hsds"]
        country = "US"
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from spiders.platforms.base import PlatformSpider

# The HSDS tables the package mode reads: resource name → the file name the spec gives it.
PACKAGE_TABLES: dict[str, str] = {
    "service": "services.csv",
    "organization": "organizations.csv",
    "service_at_location": "service_at_location.csv",
    "location": "locations.csv",
    "address": "addresses.csv",
    "phone": "phones.csv",
    "schedule": "schedules.csv",
    "language": "languages.csv",
    "cost_option": "cost_options.csv",
}
# Schedule fields copied as RawSchedule's RRULE fields.
SCHEDULE_FIELDS: tuple[str, ...] = ("freq", "interval", "byday")
# RRULE parts and validity the pipeline does not read yet: passed on as text beside the rule, never dropped.
SCHEDULE_EXTRAS: tuple[str, ...] = (
    "dtstart", "until", "count", "wkst", "byweekno", "bymonthday", "byyearday", "valid_from", "valid_to", "notes",
)  # fmt: skip
_TIME_WITH_OFFSET = re.compile(r"^\s*(\d{1,2}:\d{2}(?::\d{2})?)(?:\.\d+)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?\s*$", re.I)
EMPTY: tuple[Any, ...] = (None, "", [], {})


class HsdsSpider(PlatformSpider):
    """Reads HSDS 3.0 APIs or tabular data packages (`start_urls`); one RawListing per service-at-location."""

    name = "hsds"
    # "api" or "package"; None decides from each URL (a path ending in datapackage.json is a package).
    mode: str | None = None
    page_url: str = "{base}/services?page={page}&per_page={per_page}"
    service_url: str = "{base}/services/{id}"
    per_page: int | str = 50

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seen_services: set[tuple[str, str]] = set()

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.start_urls:
            if self.url_mode(url) == "package":
                yield scrapy.Request(url, callback=self.parse_package, errback=self.request_failed)
            else:
                base = api_base(url)
                yield self.page_request(base, 1)

    def url_mode(self, url: str) -> str:
        if self.mode:
            return self.mode
        return "package" if urlsplit(url).path.endswith("datapackage.json") else "api"

    # --- the API ----------------------------------------------------------------------------------------------

    def page_request(self, base: str, page: int) -> scrapy.Request:
        url = self.page_url.format(base=base, page=page, per_page=self.per_page)
        return scrapy.Request(
            url, callback=self.parse_page, errback=self.request_failed, cb_kwargs={"base": base, "page": page}
        )

    def detail_url(self, base: str, service_id: str) -> str:
        return self.service_url.format(base=base, id=quote(service_id, safe=""))

    def parse_page(self, response: Response, base: str, page: int) -> Iterator[dict[str, Any] | scrapy.Request]:
        data = self.read_json(response)
        if data is None:
            return
        contents = data.get("contents") if isinstance(data, dict) else None
        if not isinstance(contents, list):
            self.report_source_error("not_a_page", f"{response.url} is JSON but not an HSDS Page of services")
            return
        new = 0
        for position, service in enumerate(contents):
            if not isinstance(service, dict) or service.get("id") in EMPTY:
                # Still a record the source published: pass it on so ingest rejects it with a reason.
                new += 1
                yield {**self.base_item(response), "source_id": f"#{page}.{position}", "raw": service}
                continue
            service_id = str(service["id"])
            if (base, service_id) in self._seen_services:
                assert self.crawler.stats is not None
                self.crawler.stats.inc_value("peergroups/hsds/service_repeated")
                continue
            self._seen_services.add((base, service_id))
            new += 1
            if needs_detail(service):
                yield scrapy.Request(
                    self.detail_url(base, service_id),
                    callback=self.parse_service_detail,
                    errback=self.request_failed,
                    cb_kwargs={"page_url": response.url, "service_id": service_id},
                )
                continue
            yield from self.service_items(
                service, response, source_url=self.detail_url(base, service_id), feed_url=response.url
            )
        if self.has_next_page(data, page, new):
            yield self.page_request(base, page + 1)

    def has_next_page(self, data: dict[str, Any], page: int, new_services: int) -> bool:
        if data.get("last_page") is True or data.get("empty") is True or not data.get("contents"):
            return False
        total_pages = data.get("total_pages")
        page_number = data.get("page_number", page)
        if isinstance(total_pages, int) and isinstance(page_number, int) and page_number >= total_pages:
            return False
        if new_services == 0:
            # An API that ignores `page` answers the same services again: stop rather than loop.
            self.logger.warning("page %s brought no new services; stopping", page)
            return False
        return True

    def parse_service_detail(self, response: Response, page_url: str, service_id: str) -> Iterator[dict[str, Any]]:
        service = self.read_json(response)
        if service is None:
            return
        if not isinstance(service, dict):
            self.report_source_error("not_a_service", f"{response.url} is JSON but not an HSDS service")
            return
        if service.get("id") in EMPTY:
            service = {"id": service_id, **service}  # the id it was listed under
        yield from self.service_items(service, response, source_url=response.url, feed_url=page_url)

    # --- the tabular data package -----------------------------------------------------------------------------

    def parse_package(self, response: Response) -> Iterator[scrapy.Request]:
        package = self.read_json(response)
        if package is None:
            return
        resources = package.get("resources") if isinstance(package, dict) else None
        if not isinstance(resources, list):
            self.report_source_error("not_a_package", f"{response.url} is JSON but not a data package (no resources)")
            return
        tasks: list[tuple[str, str]] = []
        for resource in resources:
            if not isinstance(resource, dict):
                continue
            table = resource_table(resource)
            if table is None:
                continue  # a table we do not read (contacts, funding, the publisher's own): never fetched
            paths = resource.get("path")
            for path in paths if isinstance(paths, list) else [paths]:
                if isinstance(path, str) and path.strip():
                    tasks.append((table, urljoin(response.url, path.strip())))
        services_url = next((url for table, url in tasks if table == "service"), None)
        if services_url is None:
            self.report_source_error(
                "missing_resource", f"{response.url} lists no services table (resource 'service', services.csv)"
            )
            return
        yield self.table_request(tasks, {}, response.url, services_url)

    def table_request(
        self, tasks: list[tuple[str, str]], tables: dict[str, list[dict[str, str]]], package_url: str, services_url: str
    ) -> scrapy.Request:
        """The next table: one request at a time, each carrying what was read so far."""
        table, url = tasks[0]
        return scrapy.Request(
            url,
            callback=self.parse_table,
            errback=self.table_failed,
            cb_kwargs={"tasks": tasks, "tables": tables, "package_url": package_url, "services_url": services_url},
            meta={"hsds_table": table},
        )

    def parse_table(
        self,
        response: Response,
        tasks: list[tuple[str, str]],
        tables: dict[str, list[dict[str, str]]],
        package_url: str,
        services_url: str,
    ) -> Iterator[dict[str, Any] | scrapy.Request]:
        table = tasks[0][0]
        text = response.body.decode("utf-8-sig", errors="replace")
        reader = csv.DictReader(io.StringIO(text))
        if "id" not in (reader.fieldnames or []):
            self.report_source_error("not_csv", f"{response.url} ({table}) is not an HSDS CSV table (no id column)")
            return
        tables.setdefault(table, []).extend(reader)
        if len(tasks) > 1:
            yield self.table_request(tasks[1:], tables, package_url, services_url)
            return
        yield from self.package_items(tables, response, package_url, services_url)

    def table_failed(self, failure: Failure) -> None:
        from scrapy.spidermiddlewares.httperror import HttpError

        request = failure.request  # type: ignore[attr-defined]
        if failure.check(HttpError) and failure.value.response.status in (404, 410):
            status = failure.value.response.status
            self.report_source_error(
                "missing_resource",
                f"{request.url} ({request.meta.get('hsds_table')}) is listed in "
                f"{request.cb_kwargs.get('package_url')} but answered HTTP {status}",
            )
            return
        self.request_failed(failure)

    def package_items(
        self, tables: dict[str, list[dict[str, str]]], response: Response, package_url: str, services_url: str
    ) -> Iterator[dict[str, Any]]:
        """Every service row joined with its rows in the other tables; the item's source_url is services.csv."""
        joined = JoinedPackage(tables)
        for position, row in enumerate(tables.get("service", [])):
            if not row.get("id"):
                yield {**self.base_item(response), "source_url": services_url, "source_id": f"#{position}", "raw": row}
                continue
            service, raw_for = joined.service(row)
            yield from self.service_items(
                service, response, source_url=services_url, feed_url=package_url, raw_for=raw_for
            )

    # --- HSDS service → RawListing ----------------------------------------------------------------------------

    def service_items(
        self,
        service: dict[str, Any],
        response: Response,
        *,
        source_url: str,
        feed_url: str,
        raw_for: Callable[[dict[str, Any] | None], Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        places = [sal for sal in service.get("service_at_locations") or [] if isinstance(sal, dict)]
        for sal in places or [None]:
            item = self.parse_service(service, sal, response, several=len(places) > 1)
            item["source_url"] = source_url
            item["feed_url"] = feed_url
            item["raw"] = raw_for(sal) if raw_for else service
            item = self.post_process_item(item, service, response)
            if item is not None:
                yield item

    def parse_service(
        self, service: dict[str, Any], sal: dict[str, Any] | None, response: Response, *, several: bool
    ) -> dict[str, Any]:
        item = self.base_item(response)
        location = sal.get("location") if sal else None
        location = location if isinstance(location, dict) else {}
        organization = service.get("organization") if isinstance(service.get("organization"), dict) else {}
        location_id = _first(sal or {}, "location_id") or _first(location, "id") or _first(sal or {}, "id")
        item["source_id"] = f"{service['id']}/{location_id}" if several and location_id else str(service["id"])

        _put(item, "name", service.get("name"))
        _put(item, "organization", organization.get("name"))
        _put(item, "description", service.get("description"))
        _put(item, "status", service.get("status"))
        _put(item, "email", service.get("email"))
        _put(item, "website", _first(service, "url") or _first(organization, "website", "url"))

        _put(item, "location_name", location.get("name"))
        address = pick_address(location.get("addresses"))
        if address:
            street = ", ".join(str(address[key]).strip() for key in ("address_1", "address_2") if address.get(key))
            _put(item, "street", street)
            _put(item, "city", address.get("city"))
            _put(item, "region", _first(address, "state_province", "region"))
            _put(item, "postal_code", address.get("postal_code"))
            _put(item, "country", address.get("country"))
        _put(item, "latitude", location.get("latitude"))
        _put(item, "longitude", location.get("longitude"))
        if str(location.get("location_type") or "").strip().lower() == "virtual":
            _put(item, "conference_url", location.get("url"))

        # The first number, looking from the most particular place to the most general.
        phones = (
            *_dicts((sal or {}).get("phones")),
            *_elsewhere_removed(_dicts(service.get("phones")), sal),
            *_dicts(location.get("phones")),
            *_dicts(organization.get("phones")),
        )
        _put(item, "phone", next((text for text in map(phone_text, phones) if text), None))

        schedules = _dicts((sal or {}).get("schedules")) or _elsewhere_removed(_dicts(service.get("schedules")), sal)
        item["schedules"] = [entry for entry in map(raw_schedule, schedules) if entry]

        # The first language the service is offered in (HSDS lists them; the pipeline keeps one).
        languages = [_first(language, "code", "name") for language in _dicts(service.get("languages"))]
        _put(item, "language", next((language for language in languages if language), None))
        cost = cost_text(_dicts(service.get("cost_options")))
        _put(item, "cost", cost or _first(service, "fees_description", "fees"))
        return item

    # --- shared -------------------------------------------------------------------------------------------------

    def read_json(self, response: Response) -> Any:
        try:
            return json.loads(response.body.decode("utf-8-sig"))
        except (ValueError, UnicodeDecodeError) as error:
            self.report_source_error("not_json", f"{response.url} is not JSON ({error})")
            return None


class JoinedPackage:
    """The package's tables indexed by their foreign keys, joined into nested services shaped like the API's."""

    def __init__(self, tables: dict[str, list[dict[str, str]]]) -> None:
        self.tables = tables
        self._index: dict[tuple[str, str], dict[str, list[dict[str, str]]]] = {}

    def rows(self, table: str, column: str, value: str | None) -> list[dict[str, str]]:
        if not value:
            return []
        key = (table, column)
        if key not in self._index:
            index: dict[str, list[dict[str, str]]] = {}
            for row in self.tables.get(table, []):
                if row.get(column):
                    index.setdefault(row[column].strip(), []).append(row)
            self._index[key] = index
        return self._index[key].get(value.strip(), [])

    def service(self, row: dict[str, str]) -> tuple[dict[str, Any], Callable[[dict[str, Any] | None], Any]]:
        """The nested service, and the joined CSV rows behind each of its service-at-locations (the item's raw)."""
        service_id = row["id"]
        organization_row = next(iter(self.rows("organization", "id", row.get("organization_id"))), None)
        organization_phones = self.rows("phone", "organization_id", _cell(organization_row, "id"))
        service_rows = {
            "phone": self.rows("phone", "service_id", service_id),
            "schedule": self.rows("schedule", "service_id", service_id),
            "language": self.rows("language", "service_id", service_id),
            "cost_option": self.rows("cost_option", "service_id", service_id),
        }
        service: dict[str, Any] = {
            **cells(row),
            "phones": [cells(phone) for phone in service_rows["phone"]],
            "schedules": [cells(entry) for entry in service_rows["schedule"]],
            "languages": [cells(language) for language in service_rows["language"]],
            "cost_options": [cells(option) for option in service_rows["cost_option"]],
            "service_at_locations": [],
        }
        if organization_row:
            service["organization"] = {
                **cells(organization_row),
                "phones": [cells(phone) for phone in organization_phones],
            }
        raws: dict[str, dict[str, Any]] = {}
        for sal_row in self.rows("service_at_location", "service_id", service_id):
            location_row = next(iter(self.rows("location", "id", sal_row.get("location_id"))), None)
            location_id = _cell(location_row, "id")
            sal_rows = {
                "phone": self.rows("phone", "service_at_location_id", sal_row.get("id")),
                "schedule": self.rows("schedule", "service_at_location_id", sal_row.get("id")),
            }
            location_rows = {
                "address": self.rows("address", "location_id", location_id),
                "phone": self.rows("phone", "location_id", location_id),
            }
            sal: dict[str, Any] = {
                **cells(sal_row),
                "phones": [cells(phone) for phone in sal_rows["phone"]],
                "schedules": [cells(entry) for entry in sal_rows["schedule"]],
            }
            if location_row:
                sal["location"] = {
                    **cells(location_row),
                    "addresses": [cells(address) for address in location_rows["address"]],
                    "phones": [cells(phone) for phone in location_rows["phone"]],
                }
            service["service_at_locations"].append(sal)
            raws[id_of(sal)] = {
                "service": row,
                "organization": organization_row,
                "service_at_location": sal_row,
                "location": location_row,
                "address": location_rows["address"],
                "phone": _unique(sal_rows["phone"], service_rows["phone"], location_rows["phone"], organization_phones),
                "schedule": _unique(sal_rows["schedule"], service_rows["schedule"]),
                "language": service_rows["language"],
                "cost_option": service_rows["cost_option"],
            }
        without_location = {
            "service": row,
            "organization": organization_row,
            "phone": _unique(service_rows["phone"], organization_phones),
            "schedule": service_rows["schedule"],
            "language": service_rows["language"],
            "cost_option": service_rows["cost_option"],
        }

        def raw_for(sal: dict[str, Any] | None) -> Any:
            return raws.get(id_of(sal), without_location) if sal else without_location

        return service, raw_for


# --- helpers ------------------------------------------------------------------------------------------------------


def api_base(url: str) -> str:
    """The API's base from the URL a source gives: `.../hsds`, `.../hsds/` or `.../hsds/services`."""
    base = url.split("?", 1)[0].rstrip("/")
    return base.removesuffix("/services")


def needs_detail(service: dict[str, Any]) -> bool:
    """A listed service without its locations: the spec's pages carry only one-to-one fields."""
    places = service.get("service_at_locations")
    if places is None:
        return True
    return isinstance(places, list) and any(
        isinstance(sal, dict) and not isinstance(sal.get("location"), dict) for sal in places
    )


def resource_table(resource: dict[str, Any]) -> str | None:
    """The HSDS table a data-package resource holds, by its name or else its file name; None for others."""
    name = str(resource.get("name") or "").strip().lower()
    if name in PACKAGE_TABLES:
        return name
    path = resource.get("path")
    first = path[0] if isinstance(path, list) and path else path
    if isinstance(first, str):
        file_name = first.rsplit("/", 1)[-1].strip().lower()
        for table, standard in PACKAGE_TABLES.items():
            if file_name == standard:
                return table
    return None


def pick_address(addresses: Any) -> dict[str, Any] | None:
    """The physical address where the location has one (a postal address is where letters go), else the first."""
    candidates = _dicts(addresses)
    physical = [a for a in candidates if str(a.get("address_type") or "").strip().lower() == "physical"]
    return (physical or candidates or [None])[0]


def phone_text(phone: dict[str, Any]) -> str | None:
    """'503-555-0142 x12': the number as published, the extension kept."""
    number = str(phone.get("number") or "").strip()
    if not number:
        return None
    extension = _number_text(phone.get("extension"))
    return f"{number} x{extension}" if extension else number


def raw_schedule(entry: dict[str, Any]) -> dict[str, Any]:
    """One HSDS schedule → RawSchedule RRULE fields; `timezone` (a numeric UTC offset) is deliberately left out."""
    out: dict[str, Any] = {}
    for key in SCHEDULE_FIELDS:
        if entry.get(key) not in EMPTY:
            out[key] = entry[key]
    if "interval" in out:
        # A number in HSDS: the API sends 2, a CSV cell "2"; the same rule either way.
        try:
            number = float(out["interval"])
        except (TypeError, ValueError):
            number = 0.5  # not a number: left as given, for normalisation to judge
        if number.is_integer():
            out["interval"] = int(number)
    for key in ("opens_at", "closes_at"):
        if entry.get(key) not in EMPTY:
            out[key] = wall_clock(str(entry[key]))
    if entry.get("description") not in EMPTY:
        out["text"] = entry["description"]
    if not out:
        return {}
    for key in SCHEDULE_EXTRAS:
        if entry.get(key) not in EMPTY:
            out[key] = _number_text(entry[key])
    return out


def wall_clock(value: str) -> str:
    """'09:00:00Z' or '18:30-08:00' → the time as written on the clock; anything else as given."""
    match = _TIME_WITH_OFFSET.match(value)
    return match.group(1) if match else value


def cost_text(options: list[dict[str, Any]]) -> str | None:
    """'Under 18s and Over 60s: 35 GBP per 1 hour session'; an amount of 0 is 'free'."""
    texts = []
    for option in options:
        amount = option.get("amount")
        parts = []
        if amount not in EMPTY:
            try:
                free = float(amount) == 0
            except (TypeError, ValueError):
                free = False
            currency = str(option.get("currency") or "").strip().upper()
            parts.append("free" if free else " ".join(p for p in (_number_text(amount), currency) if p))
        if option.get("amount_description") not in EMPTY:
            parts.append(str(option["amount_description"]).strip())
        text = " ".join(parts)
        if option.get("option") not in EMPTY:
            text = f"{str(option['option']).strip()}: {text}" if text else str(option["option"]).strip()
        if text:
            texts.append(text)
    return "; ".join(texts) or None


def cells(row: dict[str, Any] | None) -> dict[str, Any]:
    """A CSV row without its empty cells (HSDS writes an absent value as an empty cell)."""
    if not row:
        return {}
    return {key: value for key, value in row.items() if key and value not in EMPTY}


def id_of(record: dict[str, Any] | None) -> str:
    return str((record or {}).get("id") or "")


def _cell(row: dict[str, Any] | None, key: str) -> str | None:
    return (row or {}).get(key) or None


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []


def _elsewhere_removed(entries: list[dict[str, Any]], sal: dict[str, Any] | None) -> list[dict[str, Any]]:
    """A service's phones or schedules, less those that name another service-at-location or location."""
    if not sal:
        return entries
    sal_id = id_of(sal)
    location = sal.get("location")
    location_id = str(sal.get("location_id") or id_of(location if isinstance(location, dict) else None))
    kept = []
    for entry in entries:
        other_sal = entry.get("service_at_location_id") not in EMPTY and str(entry["service_at_location_id"]) != sal_id
        other_location = (
            entry.get("location_id") not in EMPTY and location_id and str(entry["location_id"]) != location_id
        )
        if not (other_sal or other_location):
            kept.append(entry)
    return kept


def _unique(*groups: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    seen: set[int] = set()
    out = []
    for group in groups:
        for row in group:
            if id(row) not in seen:
                seen.add(id(row))
                out.append(row)
    return out


def _number_text(value: Any) -> str | None:
    """A number as text without a spurious '.0' (JSON gives 100 or 100.0 where CSV gives '100')."""
    if value in EMPTY:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _first(record: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = record.get(key)
        if value not in EMPTY:
            return value
    return None


def _put(item: dict[str, Any], key: str, value: Any) -> None:
    """Set a field only when the source gave a value (as published; normalisation cleans it)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return
    item[key] = value
