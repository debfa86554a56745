"""The HSDS 3.0 platform spider, crawling fixture APIs and data packages over real HTTP: one test per field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flows.crawl import CrawlOutcome, crawl
from flows.local_server import serve_directory
from pipeline.ingest import normalise_batch
from pipeline.schedules import parse_schedule
from schemas.raw import RawListing, RawSchedule
from tests.conftest import FIXTURES, FixtureHandler, read_jsonl

LOCAL = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "RETRY_TIMES": 0}
# The fixture API is a static copy: its pages are files, not `/services?page=N` (see the spider's docstring).
FIXTURE_PAGES = "{base}/services-page-{page}.json"

S1 = "5e71c0de-2b4a-4f8e-a1c3-000000000001"  # full, one location
S2 = "5e71c0de-2b4a-4f8e-a1c3-000000000002"  # full, two locations
S3 = "5e71c0de-2b4a-4f8e-a1c3-000000000003"  # listed minimal: read again from /services/{id}
S4 = "5e71c0de-2b4a-4f8e-a1c3-000000000004"  # no location (a phone line)
S5 = "5e71c0de-2b4a-4f8e-a1c3-000000000005"  # a virtual location
SPEC = "ac148810-d857-441c-9679-408f346de14b"  # the spec's own example service (service_full.json, examples/csv)
L2 = "10c4a7e2-9f3b-4d61-b0a8-000000000002"
L3 = "10c4a7e2-9f3b-4d61-b0a8-000000000003"
S2_EAST, S2_WEST = f"{S2}/{L2}", f"{S2}/{L3}"
FICTIONAL_IDS = {S1, S2_EAST, S2_WEST, S3, S4, S5}

Crawl = tuple[CrawlOutcome, dict[str, dict[str, Any]]]


def crawl_hsds(url: str, out: Path, **arguments: str) -> CrawlOutcome:
    return crawl("hsds", {"url": url, "source": "cedar_211", **arguments}, out, settings=LOCAL)


def crawled(url: str, out: Path, **arguments: str) -> Crawl:
    outcome = crawl_hsds(url, out, **arguments)
    items = read_jsonl(out) if out.exists() else []
    by_id = {item["source_id"]: item for item in items}
    assert len(by_id) == len(items), "source ids must be unique"
    return outcome, by_id


@pytest.fixture(scope="module")
def api(fixture_site: str, tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    out = tmp_path_factory.mktemp("hsds-api") / "items.jsonl"
    return crawled(f"{fixture_site}/hsds/api", out, page_url=FIXTURE_PAGES, country="US", topics="depression")


@pytest.fixture(scope="module")
def package(fixture_site: str, tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    out = tmp_path_factory.mktemp("hsds-package") / "items.jsonl"
    return crawled(f"{fixture_site}/hsds/package/datapackage.json", out, country="US", topics="depression")


@pytest.fixture(scope="module")
def spec_package(fixture_site: str, tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    out = tmp_path_factory.mktemp("hsds-spec") / "items.jsonl"
    return crawled(f"{fixture_site}/hsds/spec_csv/datapackage.json", out, country="US", topics="depression")


def page_contents(page: int) -> list[dict[str, Any]]:
    return json.loads((FIXTURES / "hsds" / "api" / f"services-page-{page}.json").read_text())["contents"]


def comparable(item: dict[str, Any]) -> dict[str, Any]:
    """What a listing says, apart from where and when it was read."""
    return RawListing.model_validate(item).model_dump(exclude={"source_url", "feed_url", "fetched_at", "raw"})


# --- one item per service-at-location ---------------------------------------------------------------------------


def test_every_service_at_location_becomes_one_item(api: Crawl) -> None:
    outcome, items = api
    assert outcome.status == "ok"
    assert set(items) == FICTIONAL_IDS | {SPEC}
    assert outcome.stats["item_scraped_count"] == 7
    assert not any(key.startswith("peergroups/source_error") for key in outcome.stats)


def test_one_item_per_service_at_location_as_the_fixtures_list_them(api: Crawl) -> None:
    expected = 0
    for listed in page_contents(1) + page_contents(2):
        path = FIXTURES / "hsds" / "api" / "services" / f"{listed['id']}.json"
        service = json.loads(path.read_text()) if "service_at_locations" not in listed else listed
        expected += max(1, len(service["service_at_locations"]))
    assert len(api[1]) == expected == 7


def test_package_every_service_at_location_becomes_one_item(package: Crawl) -> None:
    outcome, items = package
    assert outcome.status == "ok"
    assert set(items) == FICTIONAL_IDS
    assert outcome.stats["item_scraped_count"] == 6


def test_spec_package_gives_its_one_service(spec_package: Crawl) -> None:
    outcome, items = spec_package
    assert outcome.status == "ok"
    assert set(items) == {SPEC}


# --- identity and provenance ------------------------------------------------------------------------------------


def test_source_and_fetched_at(api: Crawl) -> None:
    item = api[1][S1]
    assert item["source"] == "cedar_211"
    assert item["fetched_at"].endswith("+00:00")


def test_source_id_is_the_service_id(api: Crawl, package: Crawl) -> None:
    assert api[1][S1]["source_id"] == api[1][S1]["raw"]["id"] == S1
    assert package[1][S4]["source_id"] == package[1][S4]["raw"]["service"]["id"] == S4


def test_service_at_two_locations_gets_the_location_in_its_id(api: Crawl, package: Crawl) -> None:
    for _, items in (api, package):
        assert items[S2_EAST]["location_name"] == "Eastside Community Center"
        assert items[S2_WEST]["location_name"] == "Westview Church Hall"
        assert S2 not in items


def test_source_url_is_the_service_in_the_api_and_the_page_is_kept(api: Crawl) -> None:
    item = api[1][S1]
    assert item["source_url"].endswith(f"/hsds/api/services/{S1}")
    assert item["feed_url"].endswith("/hsds/api/services-page-1.json")


def test_minimal_service_is_read_again_from_its_own_url(api: Crawl) -> None:
    item = api[1][S3]
    assert item["source_url"].endswith(f"/hsds/api/services/{S3}")
    assert item["feed_url"].endswith("/hsds/api/services-page-1.json")
    assert item["location_name"] == "Harbor Hospice Center"  # only the detail has it
    assert "service_at_locations" not in page_contents(1)[2]


def test_package_source_url_is_the_services_csv(package: Crawl) -> None:
    item = package[1][S1]
    assert item["source_url"].endswith("/hsds/package/services.csv")
    assert item["feed_url"].endswith("/hsds/package/datapackage.json")


# --- fields -----------------------------------------------------------------------------------------------------


def test_name(api: Crawl) -> None:
    assert api[1][S1]["name"] == "Tuesday Evening Depression Support Group"


def test_organization_from_nested_organization(api: Crawl, package: Crawl) -> None:
    assert api[1][S1]["organization"] == "Cedar Valley Peer Support Network"
    assert package[1][S4]["organization"] == "Harborline Family Alliance"


def test_description(api: Crawl) -> None:
    assert api[1][S4]["description"] == "Talk to a trained peer about anxiety by phone. Not a crisis line."


def test_address_parts(api: Crawl) -> None:
    item = api[1][S1]
    assert (item["street"], item["city"], item["region"], item["postal_code"], item["country"]) == (
        "415 N Alder St", "Salem", "OR", "97301", "US",
    )  # fmt: skip


def test_address_2_is_kept_with_the_street(api: Crawl) -> None:
    assert api[1][S2_WEST]["street"] == "1180 Edgewater St NW, Room 4"


def test_physical_address_wins_over_postal(api: Crawl) -> None:
    assert api[1][S3]["street"] == "88 SW Bayfront Ave"  # the location also lists "PO Box 118" (postal)


def test_state_province_is_the_region(spec_package: Crawl) -> None:
    assert spec_package[1][SPEC]["region"] == "MyState"  # not HSDS `region` ("MyRegion")


def test_country_from_address_else_arguments(api: Crawl) -> None:
    assert api[1][S1]["country"] == "US"
    assert api[1][S4]["country"] == "US"  # no location: the source's default


def test_location_name_and_coordinates(api: Crawl) -> None:
    item = api[1][S1]
    assert item["location_name"] == "Riverside Library Community Room"
    assert (item["latitude"], item["longitude"]) == (44.9429, -123.0351)


def test_phone_with_extension(api: Crawl, package: Crawl) -> None:
    assert api[1][S1]["phone"] == "503-555-0142 x12"
    assert package[1][S1]["phone"] == "503-555-0142 x12"


def test_phone_of_the_service_at_location_then_service_then_location(api: Crawl, package: Crawl) -> None:
    for _, items in (api, package):
        assert items[S2_WEST]["phone"] == "503-555-0151"  # its own
        assert items[S2_EAST]["phone"] == "503-555-0150"  # the service's (not the other location's)
        assert items[S3]["phone"] == "(541) 555-0160"  # the location's front desk
        assert "phone" not in items[S5]


def test_email(api: Crawl) -> None:
    assert api[1][S1]["email"] == "groups@cedarvalley.example.org"
    assert "email" not in api[1][S2_EAST]  # the organization's e-mail is not the group's


def test_website_from_service_url_else_organization(api: Crawl) -> None:
    assert api[1][S1]["website"] == "https://cedarvalley.example.org/groups/tuesday-depression"
    assert api[1][S2_EAST]["website"] == "https://cedarvalley.example.org"


def test_status_copied_as_given(api: Crawl, package: Crawl) -> None:
    assert api[1][S4]["status"] == "temporarily closed"
    assert package[1][S4]["status"] == "temporarily closed"
    assert api[1][S1]["status"] == "active"


def test_virtual_location_gives_a_join_link(api: Crawl) -> None:
    item = api[1][S5]
    assert item["conference_url"] == "https://meet.example.org/postpartum-circle"
    assert "street" not in item


def test_schedule_rrule_fields_and_text(api: Crawl) -> None:
    assert api[1][S1]["schedules"] == [
        {"freq": "WEEKLY", "interval": 1, "byday": "TU", "opens_at": "18:30", "closes_at": "20:00",
         "text": "Tuesdays 6:30-8 pm"}
    ]  # fmt: skip


def test_numeric_timezone_stays_in_raw(api: Crawl, package: Crawl) -> None:
    assert "timezone" not in api[1][S1]["schedules"][0]
    assert "timezone" not in package[1][S1]["schedules"][0]
    assert api[1][S1]["raw"]["service_at_locations"][0]["schedules"][0]["timezone"] == -8
    assert package[1][S1]["raw"]["schedule"][0]["timezone"] == "-8"


def test_utc_marker_after_times_is_dropped(api: Crawl) -> None:
    schedule = api[1][S4]["schedules"][0]
    assert (schedule["opens_at"], schedule["closes_at"]) == ("17:00:00", "21:00:00")
    assert api[1][S4]["raw"]["schedules"][0]["opens_at"] == "17:00:00Z"


def test_monthly_and_every_other_week_rules(api: Crawl) -> None:
    assert api[1][S2_WEST]["schedules"][0]["byday"] == "2TH,4TH"
    assert api[1][S3]["schedules"][0]["byday"] == "-1FR"
    assert api[1][S5]["schedules"][0]["interval"] == 2


def test_service_schedules_where_a_location_has_none_of_its_own(api: Crawl, package: Crawl) -> None:
    for _, items in (api, package):
        assert [s["byday"] for s in items[S2_EAST]["schedules"]] == ["MO"]
        # Its own monthly rule only: not the service's Monday, nor the church office's opening hours.
        assert [s["byday"] for s in items[S2_WEST]["schedules"]] == ["2TH,4TH"]


def test_schedule_validity_is_passed_on(api: Crawl) -> None:
    assert api[1][S3]["schedules"][0]["valid_from"] == "2025-01-01"


def test_cost_from_cost_options(api: Crawl, spec_package: Crawl) -> None:
    assert api[1][S1]["cost"] == "All attendees: free"
    assert api[1][S5]["cost"] == "5 USD suggested donation"
    assert spec_package[1][SPEC]["cost"] == "Under 18s and Over 60s: 35 GBP per 1 hour session"
    assert "cost" not in api[1][S2_EAST]


def test_language_from_languages(api: Crawl, spec_package: Crawl) -> None:
    assert api[1][S3]["language"] == "en"  # the first of English and Spanish
    assert spec_package[1][SPEC]["language"] == "ur"
    assert "language" not in api[1][S4]


def test_default_topics(api: Crawl) -> None:
    assert api[1][S1]["topics"] == ["depression"]


def test_raw_is_the_service_record(api: Crawl) -> None:
    items = api[1]
    assert items[S1]["raw"] == page_contents(1)[0]
    assert items[S2_EAST]["raw"] == items[S2_WEST]["raw"] == page_contents(1)[1]
    detail = json.loads((FIXTURES / "hsds" / "api" / "services" / f"{S3}.json").read_text())
    assert items[S3]["raw"] == detail


def test_package_raw_is_the_joined_rows(package: Crawl) -> None:
    raw = package[1][S2_WEST]["raw"]
    assert raw["service"]["id"] == S2
    assert raw["service_at_location"]["location_id"] == L3
    assert raw["location"]["name"] == "Westview Church Hall"
    assert [row["address_1"] for row in raw["address"]] == ["1180 Edgewater St NW"]
    assert raw["organization"]["name"] == "Cedar Valley Peer Support Network"
    assert "503-555-0151" in [row["number"] for row in raw["phone"]]


def test_contacts_are_never_read(package: Crawl) -> None:
    # contacts.csv names a facilitator with a personal address: never fetched, never in an item.
    assert not any("dana.personal@example.org" in json.dumps(item) for item in package[1].values())


def test_missing_field_stats(api: Crawl) -> None:
    stats = api[0].stats
    assert stats["peergroups/field/street/missing"] == 2  # the phone line and the video circle
    assert stats["peergroups/field/phone/missing"] == 1


# --- the two ways in agree --------------------------------------------------------------------------------------


def test_package_and_api_give_the_same_listings(api: Crawl, package: Crawl) -> None:
    for source_id in FICTIONAL_IDS:
        assert comparable(package[1][source_id]) == comparable(api[1][source_id]), source_id


def test_spec_package_and_spec_service_give_the_same_listing(api: Crawl, spec_package: Crawl) -> None:
    assert comparable(spec_package[1][SPEC]) == comparable(api[1][SPEC])


# --- requests: paging, tables fetched ---------------------------------------------------------------------------


def test_paging_stops_at_the_last_page(api: Crawl) -> None:
    outcome, items = api
    # services-page-3.json exists (a trap) but page 2 says it is the last.
    assert not any(item["name"] == "Page Three Must Not Be Read" for item in items.values())
    # robots.txt, two pages, two services read again (one fictional, the spec's example)
    assert outcome.stats["downloader/request_count"] == 5


def test_only_the_tables_read_are_fetched(package: Crawl, spec_package: Crawl) -> None:
    # robots.txt, datapackage.json and the nine tables read; not contacts.csv nor the publisher's x_group_notes.csv
    assert package[0].stats["downloader/request_count"] == 11
    # the spec's package lists 21 tables: the 12 not read are not fetched
    assert spec_package[0].stats["downloader/request_count"] == 11


# --- normalisation: nothing lost, schedules read ---------------------------------------------------------------


def test_api_items_normalise_with_nothing_lost(api: Crawl) -> None:
    batch = normalise_batch("cedar_211", list(api[1].values()))
    assert len(batch.raw_records) == len(batch.listings) + len(batch.rejects) == 7
    assert not batch.rejects
    listings = {listing.source_id: listing for listing in batch.listings}
    assert [s.rrule() for s in listings[S2_WEST].schedules] == ["FREQ=MONTHLY;BYDAY=2TH,4TH"]
    assert [s.rrule() for s in listings[S3].schedules] == ["FREQ=MONTHLY;BYDAY=-1FR"]
    assert [s.rrule() for s in listings[S5].schedules] == ["FREQ=WEEKLY;INTERVAL=2;BYDAY=WE"]
    # The zone comes from the place (Oregon), never from HSDS's numeric offset.
    assert listings[S1].schedules[0].timezone == "America/Los_Angeles"
    assert listings[S1].phone == "+15035550142;ext=12"
    assert listings[S4].status == "temporarily_closed"
    assert listings[S5].format == "online"
    # The spec's example keeps its bad values raw and counted: latitude 100, a quoted phone number.
    assert {"coordinates/invalid", "phone/invalid"} <= set(listings[SPEC].field_issues)


def test_package_items_normalise_with_nothing_lost(package: Crawl) -> None:
    batch = normalise_batch("cedar_211", list(package[1].values()))
    assert len(batch.raw_records) == len(batch.listings) + len(batch.rejects) == 6
    assert not batch.rejects
    assert all(listing.schedules for listing in batch.listings)


def test_spec_guidance_schedules_are_read(fixture_site: str, tmp_path: Path) -> None:
    """The spec's schedule guidance: split weekly hours and a monthly "1SA", its times written "09:00:00Z"."""
    outcome, items = crawled(f"{fixture_site}/hsds/guidance", tmp_path / "guidance.jsonl", page_url=FIXTURE_PAGES)
    assert outcome.status == "ok"
    item = items[SPEC]
    assert [(s["freq"], s["byday"], s["opens_at"], s["closes_at"]) for s in item["schedules"]] == [
        ("WEEKLY", "MO,TU,WE,TH", "09:00:00", "12:00:00"),
        ("WEEKLY", "MO,TU,WE,TH", "15:00:00", "17:00:00"),
        ("MONTHLY", "1SA", "09:00:00", "17:00:00"),
    ]
    assert item["schedules"][2]["text"] == "First Saturday of the month from July-Nov, 9am-5pm"
    assert item["schedules"][2]["until"] == "2020-11-07"
    rules = [rule.rrule() for entry in item["schedules"] for rule in parse_schedule(RawSchedule(**entry))]
    assert rules == ["FREQ=WEEKLY;BYDAY=MO,TU,WE,TH", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH", "FREQ=MONTHLY;BYDAY=1SA"]
    # The example gives no way to reach the service: a reject, counted, not lost.
    batch = normalise_batch("guidance", [item])
    assert (len(batch.raw_records), len(batch.listings), len(batch.rejects)) == (1, 0, 1)
    assert batch.rejects[0].reasons[0].startswith("reach/missing")
    # Given a way to reach it, its schedules are read whole.
    batch = normalise_batch("guidance", [{**item, "website": "https://counselling.example.org"}])
    assert [s.rrule() for s in batch.listings[0].schedules][-1] == "FREQ=MONTHLY;BYDAY=1SA"


# --- broken sources ---------------------------------------------------------------------------------------------


class SecondPageFailsHandler(FixtureHandler):
    """The fixture site, except that any second page of services answers HTTP 500."""

    def do_GET(self) -> None:
        if self.path.endswith("services-page-2.json"):
            self.path = "/_status/500"
        super().do_GET()


@pytest.fixture(scope="module")
def flaky_site() -> Iterator[str]:
    with serve_directory(FIXTURES, handler=SecondPageFailsHandler) as base_url:
        yield base_url


def test_http_500_on_the_first_page_fails_with_a_reason(fixture_site: str, tmp_path: Path) -> None:
    outcome = crawl_hsds(
        f"{fixture_site}/hsds/api", tmp_path / "out.jsonl", page_url=fixture_site + "/_status/500/page-{page}"
    )
    assert outcome.status == "failed"
    assert outcome.stats["peergroups/source_error/http"] == 1
    assert "answered HTTP 500" in (outcome.error or "")
    assert outcome.retryable


def test_http_500_on_a_later_page_keeps_what_arrived(flaky_site: str, tmp_path: Path) -> None:
    outcome, items = crawled(f"{flaky_site}/hsds/api", tmp_path / "out.jsonl", page_url=FIXTURE_PAGES)
    assert outcome.status == "partial"
    assert outcome.stats["peergroups/source_error/http"] == 1
    assert "services-page-2.json answered HTTP 500" in (outcome.error or "")
    assert set(items) == {S1, S2_EAST, S2_WEST, S3}  # page 1 and its followed service


@pytest.mark.parametrize(
    ("path", "arguments", "kind", "message"),
    [
        ("/hsds/api", {"page_url": "{base}/../not_json.html"}, "not_json", "is not JSON"),
        ("/hsds/api", {"page_url": "{base}/../package/datapackage.json"}, "not_a_page", "not an HSDS Page"),
        ("/hsds/not_json.html", {"mode": "package"}, "not_json", "is not JSON"),
        ("/hsds/api/services-page-1.json", {"mode": "package"}, "not_a_package", "not a data package"),
        ("/hsds/package_missing/datapackage.json", {}, "missing_resource", "(phone) is listed in"),
        ("/hsds/nowhere/datapackage.json", {}, "http", "answered HTTP 404"),
        ("/hsds/guidance", {"page_url": FIXTURE_PAGES, "service_url": "{base}/gone/{id}"}, "http", "HTTP 404"),
        ("/_status/403/datapackage.json", {}, "restricted", "restricts this feed"),
    ],
)
def test_broken_sources_fail_with_a_reason(
    fixture_site: str, tmp_path: Path, path: str, arguments: dict[str, str], kind: str, message: str
) -> None:
    outcome = crawl_hsds(fixture_site + path, tmp_path / "out.jsonl", **arguments)
    assert outcome.status == "failed"
    assert outcome.stats[f"peergroups/source_error/{kind}"] == 1
    assert message in (outcome.error or "")
    assert outcome.retryable is (kind == "http")
