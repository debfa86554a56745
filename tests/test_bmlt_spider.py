"""The BMLT platform spider on a fixture root server over real HTTP: one test per field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flows.crawl import CrawlOutcome, crawl
from pipeline.ingest import normalise_batch
from tests.conftest import read_jsonl

LOCAL = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "RETRY_TIMES": 0}


@pytest.fixture(scope="module")
def bmlt(fixture_site: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[CrawlOutcome, dict[str, dict[str, Any]]]:
    out = tmp_path_factory.mktemp("bmlt") / "items.jsonl"
    outcome = crawl("bmlt", {"url": f"{fixture_site}/bmlt/main_server/", "source": "millbrook_na", "country": "US",
                             "topics": "substance_use"}, out, settings=LOCAL)  # fmt: skip
    return outcome, {item["source_id"]: item for item in read_jsonl(out)}


def test_every_meeting_is_an_item(bmlt: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    outcome, items = bmlt
    assert outcome.status == "ok"
    assert sorted(items) == ["1201", "1202", "1203", "1204"]


def test_search_url_is_built_from_the_root_server(bmlt: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    assert bmlt[1]["1201"]["source_url"].endswith("/bmlt/main_server/client_interface/json/?switcher=GetSearchResults")


def test_name_description_venue(bmlt: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    item = bmlt[1]["1201"]
    assert (item["name"], item["location_name"]) == ("Monday Night Dual Recovery", "Oak Grove Community Center")
    assert item["description"].startswith("Co-occurring")
    assert item["location_notes"] == "Side entrance, room 4"


def test_address_parts(bmlt: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    item = bmlt[1]["1201"]
    assert (item["street"], item["city"], item["region"], item["postal_code"], item["country"]) == (
        "120 Oak Grove Road", "Millbrook", "NC", "27601", "US",
    )  # fmt: skip


def test_coordinates(bmlt: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    assert (bmlt[1]["1201"]["latitude"], bmlt[1]["1201"]["longitude"]) == ("35.7796", "-78.6382")


def test_venue_type_is_the_format(bmlt: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    assert [bmlt[1][key]["format"] for key in ("1201", "1202", "1203")] == ["in_person", "online", "hybrid"]


def test_join_link_and_phone(bmlt: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    item = bmlt[1]["1202"]
    assert item["conference_url"].startswith("https://zoom.example.org/j/5550123456")
    assert item["conference_phone"] == "+19195550100,,5550123456#"


def test_weekday_time_and_duration(bmlt: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    assert bmlt[1]["1201"]["schedules"] == [
        {"day": 1, "time": "19:00:00", "end_time": "20:30", "timezone": "America/New_York"}
    ]
    assert bmlt[1]["1202"]["schedules"][0]["day"] == 0  # BMLT 1 = Sunday
    assert bmlt[1]["1203"]["schedules"] == [
        {"day": 6, "time": "18:30:00", "end_time": None, "timezone": "America/New_York"}
    ]
    assert bmlt[1]["1204"]["schedules"] == []  # weekday 9 is not a day: no schedule, raw kept


def test_formats_are_types(bmlt: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    assert bmlt[1]["1201"]["types"] == ["O", "D", "WC"]


def test_contacts_stay_in_raw_only(bmlt: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    item = bmlt[1]["1201"]
    assert "email" not in item and "phone" not in item
    assert item["raw"]["contact_email_1"] == "pat.r@millbrook-area.example.org"


def test_registry_defaults(bmlt: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    assert bmlt[1]["1201"]["topics"] == ["substance_use"]


def test_normalises_with_nothing_lost(bmlt: tuple[CrawlOutcome, dict[str, dict[str, Any]]]) -> None:
    batch = normalise_batch("millbrook_na", list(bmlt[1].values()))
    assert (len(batch.listings), len(batch.rejects)) == (3, 1)  # the nameless one without a venue is rejected
    by_id = {listing.source_id: listing for listing in batch.listings}
    online = by_id["1202"]
    assert (online.format, online.conference_url) == ("online", "https://zoom.example.org/j/5550123456")
    assert online.schedules[0].timezone == "America/New_York"  # from the state, as the server gave none
    assert by_id["1203"].description == "Hybrid & friendly"
    assert "substance_use" in [topic.value for topic in by_id["1201"].topics]


def test_a_page_that_is_not_json(fixture_site: str, tmp_path: Path) -> None:
    outcome = crawl("bmlt", {"url": f"{fixture_site}/bmlt/broken/", "source": "x"},
                    tmp_path / "out.jsonl", settings=LOCAL)  # fmt: skip
    assert outcome.status == "failed" and "not a BMLT JSON response" in (outcome.error or "")
