"""The Events Calendar platform spider, crawling the fixture API pages over real HTTP: one test per field."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from scrapy.http import Request, TextResponse
from scrapy.utils.test import get_crawler

from flows.crawl import CrawlOutcome, crawl
from pipeline.ingest import normalise_batch
from spiders.platforms.events_calendar import EventsCalendarSpider, Rule, _Site, derive_rule
from tests.conftest import FIXTURES, read_jsonl

LOCAL = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "RETRY_TIMES": 0}
API = FIXTURES / "events_calendar" / "wp-json" / "tribe" / "events" / "v1"
Crawl = tuple[CrawlOutcome, dict[str, dict[str, Any]]]

CONNECTION = "series:301:connection-recovery-support-group:TU:1830"
FAMILY = "series:302:family-friends-support-group:TH:1900"
WOMEN = "series:303:women-s-wellness-circle:WE:1000"
GRIEF = "series:301:grief-peer-circle:FR:1800"
YOUNG = "series:novenue:young-adult-peer-hangout-online:MO:1700"


def crawl_site(url: str, out: Path, **arguments: str) -> CrawlOutcome:
    return crawl("events_calendar", {"url": url, "source": "riverbend", **arguments}, out, settings=LOCAL)


def fixture_events() -> list[dict[str, Any]]:
    return [event for name in ("events", "events-page-2", "events-page-3")
            for event in json.loads((API / f"{name}.json").read_text())["events"]]  # fmt: skip


@pytest.fixture(scope="module")
def riverbend(fixture_site: str, tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    out = tmp_path_factory.mktemp("riverbend") / "items.jsonl"
    # The site's address: the spider adds the API path, paging and the date window.
    outcome = crawl_site(f"{fixture_site}/events_calendar", out, country="US", start_date="2026-01-01")
    return outcome, {item["source_id"]: item for item in read_jsonl(out)}


def test_every_page_is_read(riverbend: Crawl) -> None:
    outcome, items = riverbend
    assert outcome.status == "ok"
    assert outcome.stats["response_received_count"] == 4  # robots.txt and three pages
    assert outcome.stats["peergroups/events_calendar/events"] == 31
    assert outcome.stats["peergroups/events_calendar/reported_total"] == 31
    assert len(items) == outcome.stats["item_scraped_count"] == 12


def test_first_page_asks_for_the_window(riverbend: Crawl) -> None:
    assert riverbend[1]["10000102"]["feed_url"].endswith(
        "/events_calendar/wp-json/tribe/events/v1/events?page=1&per_page=50&start_date=2026-01-01&end_date=2026-05-01"
    )


def test_next_rest_url_is_followed(riverbend: Crawl) -> None:
    assert "/events-page-2?page=2" in riverbend[1]["10000113"]["feed_url"]
    assert "/events-page-3?page=3" in riverbend[1]["2128"]["feed_url"]


def test_weekly_occurrences_become_one_listing(riverbend: Crawl) -> None:
    outcome, items = riverbend
    item = items[CONNECTION]
    assert item["schedules"] == [{"freq": "WEEKLY", "interval": 1, "byday": "TU", "opens_at": "18:30",
                                  "closes_at": "20:00", "timezone": "America/Chicago"}]  # fmt: skip
    # Eight Tuesdays spread over all three pages.
    assert item["occurrences"][0] == "2026-01-06T18:30:00" and len(item["occurrences"]) == 8
    assert {event["id"] for event in item["raw"]} == set(item["event_ids"])
    assert outcome.stats["peergroups/events_calendar/series"] == 5


def test_every_other_week(riverbend: Crawl) -> None:
    schedule = riverbend[1][FAMILY]["schedules"][0]
    assert (schedule["freq"], schedule["interval"], schedule["byday"]) == ("WEEKLY", 2, "TH")
    assert (schedule["opens_at"], schedule["closes_at"]) == ("19:00", "20:30")


def test_monthly_nth_weekday(riverbend: Crawl) -> None:
    schedule = riverbend[1][WOMEN]["schedules"][0]
    assert (schedule["freq"], schedule["interval"], schedule["byday"]) == ("MONTHLY", 1, "2WE")


def test_monthly_last_weekday_across_daylight_saving(riverbend: Crawl) -> None:
    # A 5th Friday, then 4th Fridays: only "last" fits; the UTC start moves in March, the local time does not.
    item = riverbend[1][GRIEF]
    assert (item["schedules"][0]["freq"], item["schedules"][0]["byday"]) == ("MONTHLY", "-1FR")
    assert [event["utc_start_date"][11:16] for event in item["raw"]] == ["00:00", "00:00", "23:00"]


def test_a_skipped_week_is_an_exception_date(riverbend: Crawl) -> None:
    schedule = riverbend[1][YOUNG]["schedules"][0]
    assert (schedule["freq"], schedule["interval"], schedule["byday"]) == ("WEEKLY", 1, "MO")
    assert schedule["except_dates"] == ["2026-01-19"]


def test_two_occurrences_stay_separate_without_a_rule(riverbend: Crawl) -> None:
    items = riverbend[1]
    classes = [item for item in items.values() if item["name"] == "Peer-to-Peer Class"]
    assert sorted(item["source_id"] for item in classes) == ["10000104", "10000108"]
    assert all(item["schedules"] == [] for item in classes)
    assert items["10000104"]["event_start"] == "2026-01-10T09:00:00"


def test_dates_that_fit_no_rule_stay_separate(riverbend: Crawl) -> None:
    workshops = [item for item in riverbend[1].values() if item["name"] == "Anxiety Skills Workshop"]
    assert len(workshops) == 3
    assert all(item["schedules"] == [] and "occurrences" not in item for item in workshops)


def test_one_off_event(riverbend: Crawl) -> None:
    item = riverbend[1]["2128"]
    assert item["name"] == "Mental Health Awareness Walk"
    assert item["schedules"] == []
    assert (item["event_start"], item["event_end"]) == ("2026-03-14T09:00:00", "2026-03-14T12:00:00")
    assert riverbend[0].stats["peergroups/events_calendar/single_events"] == 7


def test_all_day_event_is_a_date_not_a_time(riverbend: Crawl) -> None:
    item = riverbend[1]["2130"]
    assert (item["event_start"], item["event_end"], item["schedules"]) == ("2026-04-18", "2026-04-18", [])


def test_series_id_is_stable_when_the_occurrences_differ(fixture_site: str, tmp_path: Path, riverbend: Crawl) -> None:
    """Another crawl that sees only January (other occurrence ids) names the same series the same."""
    out = tmp_path / "january.jsonl"
    crawl_site(f"{fixture_site}/events_calendar/broken-paging", out, start_date="2026-01-01")
    january = {item["source_id"]: item for item in read_jsonl(out)}
    assert len(january[CONNECTION]["occurrences"]) == 3
    assert len(riverbend[1][CONNECTION]["occurrences"]) == 8
    assert YOUNG in january


def test_source_and_fetched_at(riverbend: Crawl) -> None:
    item = riverbend[1][CONNECTION]
    assert item["source"] == "riverbend"
    assert item["fetched_at"].endswith("+00:00")


def test_source_url_is_the_first_occurrence_page(riverbend: Crawl) -> None:
    assert riverbend[1][CONNECTION]["source_url"] == (
        "https://riverbend-mha.example.org/event/connection-recovery-support-group/2026-01-06/"
    )


def test_name_and_description_as_published(riverbend: Crawl) -> None:
    item = riverbend[1][FAMILY]
    assert item["name"] == "Family &amp; Friends Support Group"  # entities decoded by normalisation
    assert item["description"].startswith("<p>A free, peer-led")


def test_venue_address(riverbend: Crawl) -> None:
    item = riverbend[1][FAMILY]
    assert (item["location_name"], item["street"], item["city"], item["region"], item["postal_code"]) == (
        "Riverbend MHA Office", "1800 N Knoxville Ave, Suite 210", "Peoria", "IL", "61603",
    )  # fmt: skip
    assert item["country"] == "United States"


def test_coordinates(riverbend: Crawl) -> None:
    item = riverbend[1][CONNECTION]
    assert (item["latitude"], item["longitude"]) == (40.6936, -89.589)
    assert "latitude" not in riverbend[1]["2128"]  # the park venue has none


def test_no_venue_keeps_the_default_country(riverbend: Crawl) -> None:
    item = riverbend[1][YOUNG]
    assert item["country"] == "US"
    assert "street" not in item and "location_name" not in item


def test_organization_from_organizer(riverbend: Crawl) -> None:
    assert riverbend[1][CONNECTION]["organization"] == "Riverbend Mental Health Alliance"
    assert riverbend[1][YOUNG]["organization"] == "Young Adult Peer Team"


def test_phone_from_venue_else_organizer(riverbend: Crawl) -> None:
    assert riverbend[1][FAMILY]["phone"] == "(309) 555-0131"  # the venue's, though the organiser has one
    assert riverbend[1][CONNECTION]["phone"] == "(309) 555-0100"  # venue without a phone: the organiser's


def test_organisation_mailbox_is_kept(riverbend: Crawl) -> None:
    assert riverbend[1][CONNECTION]["email"] == "info@riverbend-mha.example.org"


def test_personal_organizer_email_stays_in_raw(riverbend: Crawl) -> None:
    item = riverbend[1][FAMILY]
    assert item["email"] is None
    assert item["raw"][0]["organizer"][0]["email"] == "sam.rivera@riverbend-mha.example.org"
    assert riverbend[1][YOUNG]["email"] is None


def test_website_is_not_the_event_page(riverbend: Crawl) -> None:
    assert riverbend[1][FAMILY]["website"] == "https://riverbend-mha.example.org/family-support/"
    assert riverbend[1][CONNECTION]["website"] is None  # the plugin's default: the event's own page


def test_cost(riverbend: Crawl) -> None:
    assert riverbend[1][CONNECTION]["cost"] == "Free"
    assert riverbend[1]["2128"]["cost"] == "$10"
    assert riverbend[1][FAMILY]["cost"] is None


def test_types_from_categories_and_tags(riverbend: Crawl) -> None:
    assert riverbend[1][CONNECTION]["types"] == ["Support Groups", "Adults", "Peer-led"]
    assert riverbend[1][FAMILY]["types"] == ["Support Groups", "Family"]


def test_timezone_from_the_event(riverbend: Crawl) -> None:
    assert riverbend[1][GRIEF]["timezone"] == "America/Chicago"
    assert riverbend[1][GRIEF]["schedules"][0]["timezone"] == "America/Chicago"


def test_raw_is_the_original_occurrences(riverbend: Crawl) -> None:
    events = {event["id"]: event for event in fixture_events()}
    item = riverbend[1][WOMEN]
    assert item["raw"] == [events[event_id] for event_id in (10000107, 10000120, 10000127)]
    assert riverbend[1]["2128"]["raw"] == events[2128]


def test_normalises_with_nothing_lost(riverbend: Crawl) -> None:
    batch = normalise_batch("riverbend", list(riverbend[1].values()))
    assert len(batch.raw_records) == len(batch.listings) + len(batch.rejects) == 12
    assert batch.rejects == []
    rows = {
        listing.source_id: [(s.rrule(), str(s.opens_at), str(s.closes_at), s.timezone) for s in listing.schedules]
        for listing in batch.listings
    }
    assert rows[CONNECTION] == [("FREQ=WEEKLY;BYDAY=TU", "18:30:00", "20:00:00", "America/Chicago")]
    assert rows[FAMILY] == [("FREQ=WEEKLY;INTERVAL=2;BYDAY=TH", "19:00:00", "20:30:00", "America/Chicago")]
    assert rows[WOMEN] == [("FREQ=MONTHLY;BYDAY=2WE", "10:00:00", "11:30:00", "America/Chicago")]
    assert rows[GRIEF] == [("FREQ=MONTHLY;BYDAY=-1FR", "18:00:00", "19:30:00", "America/Chicago")]
    assert rows[YOUNG] == [("FREQ=WEEKLY;BYDAY=MO", "17:00:00", "18:00:00", "America/Chicago")]
    assert sum(1 for schedules in rows.values() if not schedules) == 7
    family = next(listing for listing in batch.listings if listing.source_id == FAMILY)
    assert (family.name, family.email, family.phone, family.country) == (
        "Family & Friends Support Group", None, "+13095550131", "US",
    )  # fmt: skip


def test_a_failing_page_keeps_the_earlier_pages(fixture_site: str, tmp_path: Path) -> None:
    out = tmp_path / "broken.jsonl"
    outcome = crawl_site(f"{fixture_site}/events_calendar/broken-paging", out)
    assert outcome.status == "partial"
    assert "answered HTTP 500" in (outcome.error or "")
    items = {item["source_id"]: item for item in read_jsonl(out)}
    # January's first twelve events: two series of three, six on their own.
    assert len(items) == 8
    assert items[CONNECTION]["schedules"][0]["byday"] == "TU"


@pytest.mark.parametrize(
    ("path", "kind", "message"),
    [
        ("/_status/401", "restricted", "restricts this feed"),
        ("/_status/500", "http", "answered HTTP 500"),
        ("/no-such-site", "http", "answered HTTP 404"),
        ("/meeting_guide/not_json.html?rest_route=/tribe/events/v1/events", "not_json", "is not an Events Calendar"),
        ("/meeting_guide/tsml_feed.json?rest_route=/tribe/events/v1/events", "not_a_feed", "not an events page"),
    ],
)
def test_broken_sites_fail_with_a_reason(fixture_site: str, tmp_path: Path, path: str, kind: str, message: str) -> None:
    outcome = crawl_site(fixture_site + path, tmp_path / "out.jsonl")
    assert outcome.status == "failed"
    assert outcome.stats[f"peergroups/source_error/{kind}"] == 1
    assert message in (outcome.error or "")


# --- the plugin's 404 answers, which the static test server cannot give ----------------------------------


def spider_and_response(body: dict[str, Any], status: int = 404) -> tuple[EventsCalendarSpider, TextResponse]:
    crawler = get_crawler(EventsCalendarSpider)
    spider = EventsCalendarSpider.from_crawler(crawler, url="https://riverbend-mha.example.org", source="riverbend")
    url = spider.api_url(spider.start_urls[0])
    response = TextResponse(url, status=status, body=json.dumps(body).encode(), request=Request(url))
    return spider, response


def test_an_empty_window_is_no_events_not_a_failure() -> None:
    spider, response = spider_and_response(
        {
            "code": "event-archive-page-not-found",
            "message": "The requested page was not found.",
            "data": {"status": 404},
        }
    )
    assert list(spider.parse_page(response, _Site(response.url))) == []
    stats = spider.crawler.stats.get_stats()  # type: ignore[union-attr]
    assert stats["peergroups/events_calendar/no_events"] == 1
    assert not any(key.startswith("peergroups/source_error/") for key in stats)


def test_a_site_without_the_plugin_says_so() -> None:
    spider, response = spider_and_response({"code": "rest_no_route", "message": "No route was found."})
    list(spider.parse_page(response, _Site(response.url)))
    stats = spider.crawler.stats.get_stats()  # type: ignore[union-attr]
    assert stats["peergroups/source_error/not_a_feed"] == 1
    assert "no Events Calendar API" in stats["peergroups/source_error_message"]


def test_an_event_repeated_by_shifting_pages_is_read_once() -> None:
    walk = next(event for event in fixture_events() if event["id"] == 2128)
    spider, response = spider_and_response({"events": [walk, walk], "total": 2, "total_pages": 1}, status=200)
    items = list(spider.parse_page(response, _Site(response.url)))
    assert [item["source_id"] for item in items] == ["2128"]
    assert spider.crawler.stats.get_value("peergroups/events_calendar/repeated_events") == 1  # type: ignore[union-attr]


# --- rule derivation ---------------------------------------------------------------------------------------


def weekly(first: date, step: int, count: int) -> list[date]:
    return [first + timedelta(days=step * n) for n in range(count)]


@pytest.mark.parametrize(
    ("dates", "rule"),
    [
        (weekly(date(2026, 1, 6), 7, 3), Rule("WEEKLY", 1, "TU")),
        (weekly(date(2026, 1, 8), 14, 3), Rule("WEEKLY", 2, "TH")),
        ([date(2026, 1, 5), date(2026, 2, 2), date(2026, 3, 2)], Rule("MONTHLY", 1, "1MO")),
        ([date(2026, 1, 27), date(2026, 2, 24), date(2026, 3, 24)], Rule("MONTHLY", 1, "4TU")),
        ([date(2026, 1, 30), date(2026, 2, 27), date(2026, 3, 27)], Rule("MONTHLY", 1, "-1FR")),
        # A skipped month: three of four slots, the fourth an exception.
        ([date(2026, 1, 13), date(2026, 2, 10), date(2026, 4, 14)], Rule("MONTHLY", 1, "2TU", (date(2026, 3, 10),))),
        # Every other week, not weekly with every second week missing.
        (weekly(date(2026, 1, 8), 14, 5), Rule("WEEKLY", 2, "TH")),
    ],
)
def test_rules_that_fit(dates: list[date], rule: Rule) -> None:
    assert derive_rule(dates) == rule


@pytest.mark.parametrize(
    "dates",
    [
        weekly(date(2026, 1, 6), 7, 2),  # two dates are not a rule
        [date(2026, 1, 6), date(2026, 1, 13), date(2026, 2, 3)],  # weekly with two of five missing
        [date(2026, 1, 7), date(2026, 1, 28), date(2026, 3, 4)],  # twice in January
        [date(2026, 1, 6), date(2026, 1, 14), date(2026, 1, 20)],  # not one weekday
    ],
)
def test_no_rule_is_invented(dates: list[date]) -> None:
    assert derive_rule(dates) is None
