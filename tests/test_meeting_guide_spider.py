"""The Meeting Guide platform spider, crawling fixture feeds over real HTTP: one test per field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flows.crawl import CrawlOutcome, crawl
from pipeline.ingest import normalise_batch
from tests.conftest import FIXTURES, read_jsonl

LOCAL = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "RETRY_TIMES": 0}


def crawl_feed(url: str, out: Path, **arguments: str) -> CrawlOutcome:
    return crawl("meeting_guide", {"url": url, "source": "prairie_mood", **arguments}, out, settings=LOCAL)


@pytest.fixture(scope="module")
def tsml(fixture_site: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[CrawlOutcome, dict[str, dict[str, Any]]]:
    out = tmp_path_factory.mktemp("tsml") / "items.jsonl"
    outcome = crawl_feed(f"{fixture_site}/meeting_guide/tsml_feed.json", out, country="US", topics="depression")
    items = read_jsonl(out)
    return outcome, {str(item["raw"].get("id")): item for item in items}


def test_every_record_becomes_an_item(tsml: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    outcome, items = tsml
    assert outcome.status == "ok"
    assert len(items) == 10
    assert outcome.stats["item_scraped_count"] == 10


def test_source_and_id(tsml: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    item = tsml[1]["101"]
    assert item["source"] == "prairie_mood"
    assert item["source_id"] == "tuesday-night-mood-group"


def test_source_url_is_the_meeting_page_and_feed_is_kept(tsml: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    item = tsml[1]["101"]
    assert item["source_url"] == "https://prairie-mood.example.org/meetings/tuesday-night-mood-group/"
    assert item["feed_url"].endswith("/meeting_guide/tsml_feed.json")


def test_source_url_falls_back_to_feed(tsml: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    assert tsml[1]["106"]["source_url"].endswith("/meeting_guide/tsml_feed.json")


def test_fetched_at(tsml: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    assert tsml[1]["101"]["fetched_at"].endswith("+00:00")


def test_name_and_description(tsml: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    item = tsml[1]["101"]
    assert item["name"] == "Tuesday Night Mood Group"
    assert item["description"].startswith("<p>Free.")  # raw as published; normalisation strips it


def test_organization_from_group(tsml: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    assert tsml[1]["101"]["organization"] == "Prairie Mood Peer Network"


def test_formatted_address(tsml: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    item = tsml[1]["101"]
    assert item["address"] == "1200 Maple Street, Springfield, IL 62704, USA"
    assert item["location_name"] == "Maple Street Community Room"


def test_address_parts(tsml: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    item = tsml[1]["103"]
    assert (item["street"], item["city"], item["region"], item["postal_code"], item["country"]) == (
        "77 Elm Ave", "Springfield", "Illinois", "62701", "US",
    )  # fmt: skip


def test_country_default_from_arguments(tsml: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    assert tsml[1]["101"]["country"] == "US"


def test_coordinates_and_approximate(tsml: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    assert (tsml[1]["101"]["latitude"], tsml[1]["101"]["longitude"]) == (39.7817, -89.6501)
    assert tsml[1]["108"]["approximate"] == "yes"


def test_phone_email_website(tsml: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    item = tsml[1]["101"]
    assert (item["phone"], item["email"], item["website"]) == (
        "(217) 555-0142", "Info@Mood-Group.example.org", "mood-group.example.org/tuesday",
    )  # fmt: skip


def test_conference_fields(tsml: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    item = tsml[1]["102"]
    assert item["conference_url"].startswith("https://zoom.example.org/j/5550100")
    assert item["conference_phone"] == "+12175550100,,5550100#"


def test_format_from_attendance_option(tsml: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    assert tsml[1]["102"]["format"] == "online"


def test_schedules_copied_as_published(tsml: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    assert tsml[1]["102"]["schedules"] == [
        {"day": [1, 3], "time": "18:00", "end_time": "19:00", "timezone": "America/Chicago"}
    ]
    assert tsml[1]["103"]["schedules"][0]["time"] == "6:00 PM"


def test_no_schedule_when_no_day_or_time(tsml: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    assert tsml[1]["105"]["schedules"] == []


def test_types_and_default_topics(tsml: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    assert tsml[1]["101"]["types"] == ["O", "W"]
    assert tsml[1]["101"]["topics"] == ["depression"]


def test_raw_record_kept_whole(tsml: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    raw = json.loads((FIXTURES / "meeting_guide" / "tsml_feed.json").read_text())[0]
    assert tsml[1]["101"]["raw"] == raw


def test_missing_field_stats(tsml: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    stats = tsml[0].stats
    assert stats["peergroups/field/name/missing"] == 1
    assert stats["peergroups/field/conference_url/missing"] == 8


def test_feed_normalises_with_nothing_lost(tsml: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    batch = normalise_batch("prairie_mood", list(tsml[1].values()))
    assert len(batch.raw_records) == len(batch.listings) + len(batch.rejects) == 10
    reasons = sorted(reason.split(":")[0] for reject in batch.rejects for reason in reject.reasons)
    assert reasons == ["name/missing", "reach/missing", "source_id/duplicate"]


def test_real_raleigh_feed_parses_whole(fixture_site: str, tmp_path: Path) -> None:
    """A real 2017 feed: day names, HH:MM:SS times, coordinates as strings — every meeting a listing."""
    out = tmp_path / "raleigh.jsonl"
    outcome = crawl_feed(f"{fixture_site}/meeting_guide/raleighaa_2017.json", out, source="raleigh")
    assert outcome.status == "ok"
    batch = normalise_batch("raleigh", read_jsonl(out))
    assert (len(batch.raw_records), len(batch.listings), len(batch.rejects)) == (357, 357, 0)
    assert all(len(listing.schedules) == 1 for listing in batch.listings)
    # Seven meetings have an empty name: they are listed under their venue's name and counted, not rejected.
    unnamed = [listing for listing in batch.listings if "name/missing" in listing.field_issues]
    assert len(unnamed) == 7
    assert {listing.name for listing in unnamed} >= {"Wake Forest Alano Club (WAC)"}
    assert all(listing.schedules[0].timezone == "America/New_York" for listing in batch.listings)
    # Seven meetings sit at "0", "0" (unknown place): those coordinates are dropped and counted; where the meeting
    # has a ZIP code its centroid stands in, flagged as such; the source's own coordinates are kept as they are.
    zeroed = [listing for listing in batch.listings if "coordinates/invalid" in listing.field_issues]
    assert len(zeroed) == 7
    assert all(listing.raw_values["latitude"] == "0" for listing in zeroed)
    centroids = [listing for listing in zeroed if listing.latitude is not None]
    assert len(centroids) == 3
    assert all(listing.coordinates_precision == "postal_code" and listing.postal_code for listing in centroids)
    placed = [listing for listing in batch.listings if listing.latitude is not None]
    assert all(35 < listing.latitude < 37 for listing in placed)  # type: ignore[operator]
    assert sum(listing.coordinates_precision == "source" for listing in batch.listings) == 350
    assert not any("&amp;" in (listing.description or "") for listing in batch.listings)


@pytest.mark.parametrize(
    ("path", "kind", "message"),
    [
        ("/meeting_guide/not_json.html", "not_json", "is not a JSON feed"),
        ("/_status/401", "restricted", "restricts this feed"),
        ("/_status/403", "restricted", "restricts this feed"),
        ("/_status/500", "http", "answered HTTP 500"),
        ("/meeting_guide/no_such_feed.json", "http", "answered HTTP 404"),
    ],
)
def test_broken_feeds_fail_with_a_reason(fixture_site: str, tmp_path: Path, path: str, kind: str, message: str) -> None:
    outcome = crawl_feed(fixture_site + path, tmp_path / "out.jsonl")
    assert outcome.status == "failed"
    assert outcome.stats[f"peergroups/source_error/{kind}"] == 1
    assert message in (outcome.error or "")
    assert outcome.retryable is (kind == "http")


def test_refused_connection_fails_with_a_reason(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    outcome = crawl_feed(f"http://127.0.0.1:{port}/feed.json", tmp_path / "out.jsonl")
    assert outcome.status == "failed"
    assert "could not be fetched" in (outcome.error or "")


def test_a_feed_that_times_out_fails_with_a_reason(fixture_site: str, tmp_path: Path) -> None:
    outcome = crawl("meeting_guide", {"url": f"{fixture_site}/_slow/3/meeting_guide/tsml_feed.json", "source": "slow"},
                    tmp_path / "out.jsonl", settings={**LOCAL, "DOWNLOAD_TIMEOUT": 1})  # fmt: skip
    assert outcome.status == "failed"
    assert outcome.retryable
    assert "could not be fetched" in (outcome.error or "") and "took longer than" in (outcome.error or "")


def test_robots_txt_is_obeyed(fixture_site: str, tmp_path: Path) -> None:
    outcome = crawl_feed(f"{fixture_site}/private/feed.json", tmp_path / "out.jsonl")
    assert outcome.stats.get("item_scraped_count", 0) == 0
    assert outcome.stats["robotstxt/forbidden"] == 1


def test_feed_is_discovered_from_a_home_page_link(fixture_site: str, tmp_path: Path) -> None:
    outcome = crawl_feed(f"{fixture_site}/meeting_guide/site/", tmp_path / "out.jsonl")
    assert outcome.status == "ok"
    assert outcome.stats["item_scraped_count"] == 10
    assert outcome.stats["peergroups/meeting_guide/feed_discovered"] == 1


def test_feed_is_found_at_the_plugin_endpoint_when_the_page_names_none(fixture_site: str, tmp_path: Path) -> None:
    outcome = crawl_feed(f"{fixture_site}/meeting_guide/guess/", tmp_path / "out.jsonl")
    assert outcome.status == "ok"
    assert outcome.stats["item_scraped_count"] == 10
    assert outcome.stats["peergroups/meeting_guide/endpoint_guess"] == 1


def test_tsml_spreadsheet_template_parses_whole(fixture_site: str, tmp_path: Path) -> None:
    """The plugin's real CSV import template: "6:00 PM" times, day names, type names instead of codes."""
    out = tmp_path / "template.jsonl"
    outcome = crawl_feed(f"{fixture_site}/meeting_guide/tsml_import_template.csv", out, source="template")
    items = read_jsonl(out)
    assert (outcome.status, len(items)) == ("ok", 36)
    first = items[0]
    assert (first["source_id"], first["name"], first["address"]) == (
        "after-work-topic-meeting", "After Work Topic Meeting", "2634 Union Ave, San Jose, CA 95124, USA",
    )  # fmt: skip
    assert first["types"] == ["O", "X"]  # "Open, Wheelchair Access" as codes
    assert items[2]["types"] == ["C", "W"]
    batch = normalise_batch("template", items)
    assert (len(batch.listings), len(batch.rejects)) == (36, 0)
    assert all(len(listing.schedules) == 1 for listing in batch.listings)
    assert batch.listings[0].schedules[0].opens_at.strftime("%H:%M") == "18:00"  # type: ignore[union-attr]
    assert {a.value for a in batch.listings[2].audiences} == {"women"}


def test_a_recrawl_asks_whether_the_feed_changed(fixture_site: str, tmp_path: Path) -> None:
    from flows.crawl import crawl_source
    from flows.registry import Source

    source = Source("prairie_mood", "meeting_guide", (f"{fixture_site}/meeting_guide/tsml_feed.json",), country="US")
    first = crawl_source(source, tmp_path / "1.jsonl", LOCAL, cache_dir=tmp_path / "cache")
    second = crawl_source(source, tmp_path / "2.jsonl", LOCAL, cache_dir=tmp_path / "cache")
    assert first.stats["item_scraped_count"] == second.stats["item_scraped_count"] == 10
    assert first.stats.get("httpcache/store", 0) >= 1
    # Served from the cache as still fresh, or after a 304 "not modified": either way not downloaded again.
    assert second.stats.get("httpcache/hit", 0) + second.stats.get("httpcache/revalidate", 0) >= 1
    assert second.stats.get("httpcache/miss", 0) == 0


def test_the_crawler_stays_on_the_registered_site(fixture_site: str, tmp_path: Path) -> None:
    """A home page whose feed link points at another site: the request is dropped, not sent."""
    outcome = crawl_feed(f"{fixture_site}/meeting_guide/offsite/index.html", tmp_path / "out.jsonl")
    assert outcome.stats["offsite/filtered"] == 1
    assert outcome.stats.get("item_scraped_count", 0) == 0
