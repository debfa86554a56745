"""The schema.org JSON-LD platform spider, crawling fixture pages over real HTTP: one test per field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flows.crawl import CrawlOutcome, crawl
from pipeline.ingest import normalise_batch
from spiders.platforms.jsonld import day_codes, frequency, load_block, schedule_fields
from tests.conftest import FIXTURES, read_jsonl

LOCAL = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "RETRY_TIMES": 0}
FOLLOW = "a.group-link, a.next"
Crawl = tuple[CrawlOutcome, dict[str, dict[str, Any]]]

TUESDAY = "Tuesday Evening Mood Support Group"
FAMILY = "Family Circle"
COFFEE = "Saturday Caregivers Coffee"
ONLINE = "Online Anxiety Peer Group"
VOICES = "Hearing Voices Group"
BIPOLAR = "Harborview Bipolar Support Group"
BIPOLAR_THURSDAY = "Bipolar Support Group – Thursday evenings"
OPEN_HOUSE = "Harborview Open House"
THURSDAY_NIGHT = "Thursday Night Peer Support"
TSML_MONDAY = "Monday Night Mood Meeting"
TSML_TUESDAY = "Tuesday Depression & Bipolar Support"
TSML_ONLINE = "Thursday Online Check-in"
SUNDAY = "Sunday Afternoon Grief Circle"


def crawl_pages(urls: str, out: Path, **arguments: str) -> CrawlOutcome:
    return crawl("jsonld", {"url": urls, "source": "harborview", **arguments}, out, settings=LOCAL)


@pytest.fixture(scope="module")
def harborview(fixture_site: str, tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    out = tmp_path_factory.mktemp("harborview") / "items.jsonl"
    urls = f"{fixture_site}/jsonld/index.html {fixture_site}/jsonld/tsml-locations.html"
    outcome = crawl_pages(urls, out, follow=FOLLOW)
    return outcome, {item["name"]: item for item in read_jsonl(out)}


def test_every_listing_becomes_an_item(harborview: Crawl) -> None:
    outcome, items = harborview
    assert outcome.status == "ok"
    assert len(items) == outcome.stats["item_scraped_count"] == 13
    assert set(items) == {TUESDAY, FAMILY, COFFEE, ONLINE, VOICES, BIPOLAR, BIPOLAR_THURSDAY, OPEN_HOUSE,
                          THURSDAY_NIGHT, SUNDAY, TSML_MONDAY, TSML_TUESDAY, TSML_ONLINE}  # fmt: skip


def test_follow_reads_listing_and_detail_pages_once(harborview: Crawl) -> None:
    stats = harborview[0].stats
    assert stats["peergroups/jsonld/pages"] == 9  # two start pages, a second listing page, six group pages
    assert stats["downloader/request_count"] == 10  # and robots.txt: nothing read twice, no "about" page
    assert stats["peergroups/jsonld/pages_without_jsonld"] == 1
    assert stats["peergroups/offsite_links_skipped"] == 1


def test_source_url_is_the_page(harborview: Crawl) -> None:
    assert harborview[1][TUESDAY]["source_url"].endswith("/jsonld/groups/tuesday-mood.html")
    assert harborview[1][TSML_MONDAY]["source_url"].endswith("/jsonld/tsml-locations.html")


def test_source_and_fetched_at(harborview: Crawl) -> None:
    assert harborview[1][TUESDAY]["source"] == "harborview"
    assert harborview[1][TUESDAY]["fetched_at"].endswith("+00:00")


def test_source_id_from_at_id(harborview: Crawl) -> None:
    assert harborview[1][TUESDAY]["source_id"] == "https://harborview.example.org/groups/tuesday-mood/#event"


def test_relative_at_id_is_read_against_the_page(harborview: Crawl) -> None:
    assert harborview[1][FAMILY]["source_id"].endswith("/jsonld/groups/family-circle.html#family-circle")


def test_source_id_without_at_id(harborview: Crawl) -> None:
    # The node's own URL when it has one (stable as the index grows), else the page and the node's position.
    assert harborview[1][TSML_MONDAY]["source_id"] == (
        "https://midvalley-mood.example.org/meetings/monday-night-mood-meeting/"
    )
    assert harborview[1][ONLINE]["source_id"].endswith("/jsonld/groups/online-anxiety.html#0")


def test_name_and_description_as_published(harborview: Crawl) -> None:
    item = harborview[1][TUESDAY]
    assert item["description"] == (
        "<p>A peer-led group for adults living with depression or bipolar disorder.\nFree; drop in any week.</p>"
    )
    assert harborview[1][TSML_MONDAY]["description"] == "Open, Discussion"


def test_website_from_the_node_url(harborview: Crawl) -> None:
    assert harborview[1][TUESDAY]["website"] == "https://harborview.example.org/groups/tuesday-mood/"
    assert "website" not in harborview[1][ONLINE]


def test_postal_address_parts(harborview: Crawl) -> None:
    item = harborview[1][TUESDAY]
    assert (item["street"], item["city"], item["region"], item["postal_code"], item["country"]) == (
        "845 Court St NE", "Salem", "OR", "97301", "US",
    )  # fmt: skip
    family = harborview[1][FAMILY]
    assert (family["street"], family["region"], family["country"]) == ("1230 State St, Suite 4", "Oregon", "US")


def test_address_as_text(harborview: Crawl) -> None:
    assert harborview[1][COFFEE]["address"] == "200 Water St NE, Salem, OR 97301"
    assert harborview[1][THURSDAY_NIGHT]["address"] == "1550 Mission St SE, Salem, OR 97302"
    assert harborview[1][TSML_MONDAY]["address"] == "220 W Jefferson Ave, Effingham, IL 62401, USA"


def test_location_name(harborview: Crawl) -> None:
    assert harborview[1][TUESDAY]["location_name"] == "Harborview Community Church, Fellowship Room"
    assert harborview[1][TSML_MONDAY]["location_name"] == "St. Luke’s Parish Hall"


def test_coordinates(harborview: Crawl) -> None:
    assert (harborview[1][TUESDAY]["latitude"], harborview[1][TUESDAY]["longitude"]) == (44.941, -123.032)
    assert "approximate" not in harborview[1][TUESDAY]


def test_geo_circle_is_approximate(harborview: Crawl) -> None:
    item = harborview[1][TSML_ONLINE]
    assert (item["latitude"], item["longitude"], item["approximate"]) == (39.12, -88.54, "yes")


def test_virtual_location_is_the_join_link(harborview: Crawl) -> None:
    assert harborview[1][ONLINE]["conference_url"] == "https://zoom.example.org/j/5550199?pwd=abc123"
    assert harborview[1][FAMILY]["conference_url"] == "https://meet.example.org/j/5550123"


def test_attendance_mode_is_the_format(harborview: Crawl) -> None:
    items = harborview[1]
    assert [items[name].get("format") for name in (TUESDAY, ONLINE, FAMILY, VOICES)] == [
        "in_person", "online", "hybrid", None,
    ]  # fmt: skip


def test_organizer_organization_and_contacts(harborview: Crawl) -> None:
    item = harborview[1][TUESDAY]
    assert (item["organization"], item["phone"], item["email"]) == (
        "Harborview Mood Network", "(503) 555-0114", "info@harborview.example.org",
    )  # fmt: skip
    assert harborview[1][COFFEE]["email"] == "office@harborview.example.org"


def test_personal_contacts_stay_in_raw(harborview: Crawl) -> None:
    family = harborview[1][FAMILY]  # a Person organiser: a facilitator
    assert not any(family.get(key) for key in ("organization", "email", "phone"))
    assert family["raw"]["organizer"]["email"] == "pat.personal@example.org"
    online = harborview[1][ONLINE]  # an organisation with a volunteer's own address
    assert (online["organization"], online.get("email")) == ("Harborview Mood Network", None)


def test_weekly_schedule_with_a_day_url(harborview: Crawl) -> None:
    assert harborview[1][TUESDAY]["schedules"] == [
        {"freq": "WEEKLY", "interval": 1, "byday": "TU", "opens_at": "18:30", "closes_at": "20:00",
         "timezone": "America/Los_Angeles", "start_date": "2025-09-02"}
    ]  # fmt: skip


def test_by_month_week_with_validity_and_exceptions(harborview: Crawl) -> None:
    assert harborview[1][FAMILY]["schedules"] == [
        {"freq": "MONTHLY", "interval": 1, "byday": "2WE,4WE", "opens_at": "19:00", "closes_at": "20:30",
         "timezone": "America/Los_Angeles", "start_date": "2026-01-14", "end_date": "2026-12-31",
         "except_dates": ["2026-11-25"]}
    ]  # fmt: skip


def test_ical_by_day_and_duration(harborview: Crawl) -> None:
    schedule = harborview[1][COFFEE]["schedules"][0]
    assert (schedule["freq"], schedule["byday"], schedule["opens_at"], schedule["closes_at"]) == (
        "MONTHLY", "1SA", "10:00:00", "11:30",
    )  # fmt: skip


def test_every_other_week(harborview: Crawl) -> None:
    schedule = harborview[1][ONLINE]["schedules"][0]
    assert (schedule["freq"], schedule["interval"], schedule["byday"]) == ("WEEKLY", 2, "TH")


def test_graph_references_are_resolved(harborview: Crawl) -> None:
    item = harborview[1][VOICES]
    assert (item["location_name"], item["street"], item["latitude"]) == (
        "Salem Public Library, Anderson Room", "585 Liberty St SE", "44.9357",
    )  # fmt: skip
    assert item["phone"] == "503-555-0170"  # the venue's
    assert item["organization"] == "Harborview Mood Network Groups"
    assert item["schedules"][0]["byday"] == "MO"


def test_referenced_and_unrelated_nodes_are_not_listings(harborview: Crawl) -> None:
    # The publisher (named "... Groups"), the venue, the site's Organization, WebSite, WebPage, BreadcrumbList.
    names = set(harborview[1])
    assert not names & {"Harborview Mood Network Groups", "Salem Public Library, Anderson Room",
                        "Harborview Mood Network"}  # fmt: skip
    # Skipped: the index's Organization and WebSite, the BreadcrumbList, the graph's WebSite, publisher and venue.
    assert harborview[0].stats["peergroups/jsonld/nodes_skipped"] == 6


def test_an_organization_that_is_a_group(harborview: Crawl) -> None:
    item = harborview[1][BIPOLAR]
    assert (item["phone"], item["email"], item["street"], item["website"]) == (
        "503-555-0163", "bipolar.group@harborview.example.org", "1230 State St",
        "https://harborview.example.org/groups/bipolar/",
    )  # fmt: skip
    assert item["organization"] == "Harborview Mood Network Groups"  # its parentOrganization
    assert item["schedules"] == []


def test_an_event_inside_a_group(harborview: Crawl) -> None:
    item = harborview[1][BIPOLAR_THURSDAY]
    assert item["organization"] == BIPOLAR
    assert item["schedules"][0] == {"freq": "WEEKLY", "interval": 1, "byday": "TH", "opens_at": "19:00:00",
                                         "closes_at": "20:30:00", "timezone": "America/Los_Angeles"}  # fmt: skip


def test_the_main_entity_of_a_page(harborview: Crawl) -> None:
    item = harborview[1][SUNDAY]
    assert item["source_id"] == "https://harborview.example.org/groups/sunday-circle/"
    assert (item["location_name"], item["organization"]) == ("Westminster Church Library", "Harborview Mood Network")
    assert (item["schedules"][0]["freq"], item["schedules"][0]["byday"]) == ("MONTHLY", "-1SU")


def test_one_off_event_has_no_rule(harborview: Crawl) -> None:
    item = harborview[1][OPEN_HOUSE]
    assert item["schedules"] == []
    assert (item["event_start"], item["event_end"]) == ("2026-05-02T13:00:00-07:00", "2026-05-02T16:00:00-07:00")


def test_tsml_zero_length_times_are_dropped(harborview: Crawl) -> None:
    assert harborview[1][TSML_TUESDAY]["schedules"] == [
        {"freq": "WEEKLY", "interval": 1, "byday": "TU", "timezone": "America/Chicago", "start_date": "2026-12-01"}
    ]
    assert harborview[0].stats["peergroups/jsonld/zero_length_times"] == 1


def test_a_schedule_without_a_usable_rule_gives_none(harborview: Crawl) -> None:
    item = harborview[1][THURSDAY_NIGHT]
    assert item["schedules"] == []
    assert item["raw"]["eventSchedule"]["repeatFrequency"] == "P1M"
    assert harborview[0].stats["peergroups/jsonld/schedule_unreadable"] == 1


def test_malformed_block_is_counted_not_fatal(harborview: Crawl) -> None:
    stats = harborview[0].stats
    assert stats["peergroups/jsonld/malformed"] == 1
    assert stats["peergroups/jsonld/blocks"] == 9
    assert THURSDAY_NIGHT in harborview[1]  # the page's other block is read


def test_cost_language_status(harborview: Crawl) -> None:
    item = harborview[1][TUESDAY]
    assert (item["cost"], item["language"], item["status"]) == ("Free", "en", "active")
    assert harborview[1][COFFEE]["cost"] == "Free"  # an offer at price 0
    assert "cost" not in harborview[1][VOICES]


def test_default_topics_and_country(fixture_site: str, tmp_path: Path) -> None:
    out = tmp_path / "online.jsonl"
    crawl_pages(f"{fixture_site}/jsonld/groups/online-anxiety.html", out, country="US", topics="anxiety")
    [item] = read_jsonl(out)
    assert (item["country"], item["topics"]) == ("US", ["anxiety"])


def test_raw_is_the_node(harborview: Crawl) -> None:
    html = (FIXTURES / "jsonld" / "groups" / "tuesday-mood.html").read_text()
    block = html.split("//<![CDATA[", 1)[1].split("//]]>", 1)[0]
    assert harborview[1][TUESDAY]["raw"] == json.loads(block, strict=False)


def test_normalises_with_nothing_lost(harborview: Crawl) -> None:
    batch = normalise_batch("harborview", list(harborview[1].values()))
    assert len(batch.raw_records) == len(batch.listings) + len(batch.rejects) == 13
    assert batch.rejects == []
    rows = {
        listing.name: [(s.rrule(), str(s.opens_at), str(s.closes_at), s.timezone) for s in listing.schedules]
        for listing in batch.listings
    }
    assert rows[TUESDAY] == [("FREQ=WEEKLY;BYDAY=TU", "18:30:00", "20:00:00", "America/Los_Angeles")]
    assert rows[FAMILY] == [("FREQ=MONTHLY;BYDAY=2WE,4WE", "19:00:00", "20:30:00", "America/Los_Angeles")]
    assert rows[COFFEE] == [("FREQ=MONTHLY;BYDAY=1SA", "10:00:00", "11:30:00", "America/Los_Angeles")]
    assert rows[ONLINE] == [("FREQ=WEEKLY;INTERVAL=2;BYDAY=TH", "17:00:00", "18:00:00", "America/Los_Angeles")]
    # No zone in the Schedule: the place's (Salem, Oregon).
    assert rows[VOICES] == [("FREQ=WEEKLY;BYDAY=MO", "18:00:00", "19:30:00", "America/Los_Angeles")]
    assert rows[SUNDAY] == [("FREQ=MONTHLY;BYDAY=-1SU", "14:00:00", "15:30:00", "America/Los_Angeles")]
    assert rows[TSML_TUESDAY] == [("FREQ=WEEKLY;BYDAY=TU", "None", "None", "America/Chicago")]
    assert rows[OPEN_HOUSE] == rows[THURSDAY_NIGHT] == rows[BIPOLAR] == []
    listings = {listing.name: listing for listing in batch.listings}
    assert listings[ONLINE].conference_url == "https://zoom.example.org/j/5550199"  # the password is removed
    assert (listings[FAMILY].format, listings[TSML_ONLINE].coordinates_precision) == ("hybrid", "approximate")


def test_without_follow_only_the_start_pages_are_read(fixture_site: str, tmp_path: Path) -> None:
    outcome = crawl_pages(f"{fixture_site}/jsonld/groups/graph.html", tmp_path / "graph.jsonl")
    assert outcome.status == "ok"
    assert outcome.stats["peergroups/jsonld/pages"] == 1
    assert outcome.stats["item_scraped_count"] == 4


def test_pages_without_listings_fail_with_a_reason(fixture_site: str, tmp_path: Path) -> None:
    outcome = crawl_pages(f"{fixture_site}/jsonld/index.html", tmp_path / "index.jsonl")
    assert outcome.status == "failed"
    assert outcome.stats["peergroups/source_error/no_listings"] == 1
    assert "no schema.org Event" in (outcome.error or "")


@pytest.mark.parametrize(
    ("path", "kind", "message"),
    [("/_status/403", "restricted", "restricts this feed"), ("/jsonld/no-such-page.html", "http", "HTTP 404")],
)
def test_broken_pages_fail_with_a_reason(fixture_site: str, tmp_path: Path, path: str, kind: str, message: str) -> None:
    outcome = crawl_pages(fixture_site + path, tmp_path / "out.jsonl")
    assert outcome.status == "failed"
    assert outcome.stats[f"peergroups/source_error/{kind}"] == 1
    assert message in (outcome.error or "")


# --- reading Schedules -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("P1W", ("WEEKLY", 1)), ("P7D", ("WEEKLY", 1)), ("P2W", ("WEEKLY", 2)), ("P14D", ("WEEKLY", 2)),
     ("P1M", ("MONTHLY", 1)), ("P1D", ("DAILY", 1)), ("weekly", ("WEEKLY", 1)), ("P3D", None), ("biweekly", None)],
)  # fmt: skip
def test_repeat_frequency(value: str, expected: tuple[str, int] | None) -> None:
    assert frequency(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://schema.org/Monday", [("", "MO")]),
        ("http://schema.org/Sunday", [("", "SU")]),
        ({"@id": "schema:Friday"}, [("", "FR")]),
        (["TU", "TH"], [("", "TU"), ("", "TH")]),
        ("2MO,4MO", [("2", "MO"), ("4", "MO")]),
        ("-1FR", [("-1", "FR")]),
        ("https://schema.org/PublicHolidays", None),
    ],
)
def test_by_day(value: Any, expected: list[tuple[str, str]] | None) -> None:
    assert day_codes(value) == expected


@pytest.mark.parametrize(
    ("schedule", "rule"),
    [
        ({"repeatFrequency": "P1W", "byDay": "MO", "byMonthWeek": [1, 3]}, ("MONTHLY", 1, "1MO,3MO")),
        ({"repeatFrequency": "P1M", "byDay": "https://schema.org/Friday", "byMonthWeek": -1}, ("MONTHLY", 1, "-1FR")),
        ({"byDay": ["https://schema.org/Monday", "https://schema.org/Thursday"]}, ("WEEKLY", 1, "MO,TH")),
        ({"repeatFrequency": "P1W", "startDate": "2026-01-07"}, ("WEEKLY", 1, "WE")),  # RFC 5545: DTSTART's day
        ({"repeatFrequency": "P1M", "byDay": "MO"}, None),  # which Monday?
        ({"repeatFrequency": "P1M", "byMonthDay": 15}, None),  # a day of the month: no row for it
        ({"repeatFrequency": "P1W", "byDay": "MO,2WE"}, None),  # two rules, not one
        ({"repeatFrequency": "P2W", "byDay": "MO", "byMonthWeek": 2}, None),  # contradictory
        ({"repeatFrequency": "P1Y", "byDay": "MO"}, None),
    ],
)
def test_schedule_rules(schedule: dict[str, Any], rule: tuple[str, int, str] | None) -> None:
    raw, readable = schedule_fields(schedule)
    assert readable is (rule is not None)
    if rule is not None:
        assert (raw["freq"], raw["interval"], raw["byday"]) == rule


def test_times_with_offsets_are_wall_clock_times_in_the_schedule_zone() -> None:
    # An offset without a zone is the publisher's own wall clock, kept as written.
    raw, _ = schedule_fields({"repeatFrequency": "P1W", "byDay": "TU", "startTime": "2026-01-06T19:00:00-06:00",
                              "endTime": "2026-01-06T20:30:00-06:00"})  # fmt: skip
    assert (raw["opens_at"], raw["closes_at"]) == ("19:00:00", "20:30:00")
    # With a zone, an instant is shown in it: 00:30 UTC on a Tuesday is 19:30 on Monday in New York, which would
    # move the day, so no time is given rather than a wrong one; 23:30 UTC is 18:30 the same day.
    shifted, _ = schedule_fields({"repeatFrequency": "P1W", "byDay": "MO", "startTime": "2026-01-06T00:30:00Z",
                                  "scheduleTimezone": "America/New_York"})  # fmt: skip
    assert "opens_at" not in shifted and shifted["time_unread"] == "2026-01-06T00:30:00Z"
    same_day, _ = schedule_fields({"repeatFrequency": "P1W", "byDay": "TU", "startTime": "2026-01-06T23:30:00Z",
                                   "scheduleTimezone": "America/New_York"})  # fmt: skip
    assert same_day["opens_at"] == "18:30:00"
    # UTC with no zone at all: the local time is unknown.
    unknown, _ = schedule_fields({"repeatFrequency": "P1W", "byDay": "TU", "startTime": "19:00Z"})
    assert "opens_at" not in unknown


def test_blocks_in_comments_and_cdata() -> None:
    assert load_block('<!-- {"@type": "Event"} -->') == {"@type": "Event"}
    assert load_block('<![CDATA[ [{"@type": "Event"}] ]]>') == [{"@type": "Event"}]
    with pytest.raises(ValueError):
        load_block('{"@type": "Event",,}')
