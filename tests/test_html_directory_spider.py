"""The selector-configured HTML directory spider on DBSA-shaped fixture pages over real HTTP: one test per field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flows.crawl import CrawlOutcome, crawl
from pipeline.ingest import normalise_batch
from tests.conftest import read_jsonl

LOCAL = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "RETRY_TIMES": 0}
SELECTORS: dict[str, Any] = {
    "item": "div.groupInfo",
    "fields": {
        "source_id": "::attr(data-id)",
        "name": ".groupInfo__name",
        "address": ".groupInfo__location",
        "region": "./@data-state",
        "description": ".groupInfo__description p",
        "email": ".groupInfo__email a",
        "phone": ".groupInfo__phone",
        "website": ".groupInfo__website a",
        "schedule_text": ".groupInfo__meets",
    },
    "next_page": "a.next.page-numbers",
    "detail": "a.groupInfo__more",
    "detail_fields": {
        "description": ".groupDetail__about",
        "schedule_text": ".groupDetail__meets",
        "audiences": ".groupDetail__audience li",
        "phone": ".groupDetail__phone a",
    },
}
Crawl = tuple[CrawlOutcome, dict[str, dict[str, Any]]]


def by_name(items: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    return next(item for item in items.values() if item.get("name") == name)


@pytest.fixture(scope="module")
def dbsa(fixture_site: str, tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    out = tmp_path_factory.mktemp("html_directory") / "items.jsonl"
    arguments = {"url": f"{fixture_site}/html_directory/state-nc.html", "source": "dbsa_groups", "country": "US",
                 "topics": "depression,bipolar", "selectors": json.dumps(SELECTORS)}  # fmt: skip
    outcome = crawl("html_directory", arguments, out, settings=LOCAL)
    return outcome, {item["source_id"]: item for item in read_jsonl(out)}


def test_both_list_pages_are_read(dbsa: Crawl) -> None:
    outcome, items = dbsa
    assert outcome.status == "ok"
    assert outcome.stats["peergroups/html/pages"] == 2  # the "previous" link on page 2 is not followed again
    assert len(items) == 5
    assert {"dbsa-101", "dbsa-103", "dbsa-201"} <= set(items)


def test_a_repeated_chapter_is_yielded_once(dbsa: Crawl) -> None:
    outcome, _ = dbsa
    names = [item.get("name") for item in read_jsonl(outcome.items_path)]  # every line, not the dict by id
    assert names.count("Triangle Regional Chapter") == 1
    assert outcome.stats["peergroups/html/duplicate"] == 1


def test_source_id_without_a_configured_id_is_a_stable_hash(dbsa: Crawl) -> None:
    chapter = by_name(dbsa[1], "Triangle Regional Chapter")
    assert chapter["source_id"].startswith("h") and len(chapter["source_id"]) == 17
    nameless = next(item for item in dbsa[1].values() if "name" not in item)
    assert nameless["source_id"].startswith("h") and nameless["source_id"] != chapter["source_id"]


def test_name_has_whitespace_collapsed(dbsa: Crawl) -> None:
    assert dbsa[1]["dbsa-101"]["name"] == "Oak Grove Mood Support Group"


def test_address_line_breaks_become_spaces(dbsa: Crawl) -> None:
    assert dbsa[1]["dbsa-101"]["address"] == "Oak Grove Community Center, 120 Oak Grove Road, Millbrook, NC 27601"


def test_xpath_attribute_field(dbsa: Crawl) -> None:
    assert dbsa[1]["dbsa-101"]["region"] == "NC"


def test_description_paragraphs_are_joined(dbsa: Crawl) -> None:
    assert dbsa[1]["dbsa-101"]["description"] == (
        "A peer-led group for people living with depression or bipolar disorder. Newcomers welcome."
    )


def test_email_from_mailto(dbsa: Crawl) -> None:
    assert dbsa[1]["dbsa-101"]["email"] == "oakgrove@example.org"  # the ?subject= is dropped, not the link text


def test_phone_from_tel_or_text(dbsa: Crawl) -> None:
    assert dbsa[1]["dbsa-101"]["phone"] == "+1-919-555-0101"
    assert dbsa[1]["dbsa-201"]["phone"] == "919-555-0104"


def test_website_is_an_absolute_url(dbsa: Crawl) -> None:
    assert dbsa[1]["dbsa-101"]["website"] == "https://oakgrove.example.org/"
    chapter = by_name(dbsa[1], "Triangle Regional Chapter")
    assert chapter["website"].startswith("http://127.0.0.1:") and chapter["website"].endswith("/chapters/triangle/")


def test_schedule_text(dbsa: Crawl) -> None:
    assert dbsa[1]["dbsa-101"]["schedule_text"] == "Tuesdays, 7:00 pm – 8:30 pm"


def test_detail_page_enriches_the_item(dbsa: Crawl) -> None:
    item = dbsa[1]["dbsa-103"]
    assert item["schedule_text"] == "First and third Thursdays, 6:30 pm"  # replaces the list page's "See details"
    assert item["description"] == "A support group for women living with a mood disorder. Facilitated by trained peers."
    assert item["phone"] == "919-555-0103"
    assert item["address"] == "Harbor Library, 9 Quay Street, Millbrook, NC 27602"  # kept from the list page
    assert item["source_url"].endswith("/html_directory/groups/harbor-women.html")


def test_detail_audiences_add_to_the_defaults(dbsa: Crawl) -> None:
    assert dbsa[1]["dbsa-103"]["audiences"] == ["women"]
    assert dbsa[1]["dbsa-103"]["topics"] == ["depression", "bipolar"]


def test_a_failed_detail_page_keeps_the_list_item(dbsa: Crawl) -> None:
    outcome, items = dbsa
    assert items["dbsa-201"]["name"] == "Family & Friends Group"
    assert outcome.stats["peergroups/html/detail_failed"] == 1


def test_raw_keeps_the_block_text(dbsa: Crawl) -> None:
    raw = dbsa[1]["dbsa-103"]["raw"]
    assert raw["fields"]["schedule_text"] == "See details"
    assert "More about this group" in raw["text"]


def test_normalises_with_nothing_lost(dbsa: Crawl) -> None:
    batch = normalise_batch("dbsa_groups", list(dbsa[1].values()))
    assert (len(batch.listings), len(batch.rejects)) == (4, 1)  # the nameless block is rejected
    assert len(batch.raw_records) == len(batch.listings) + len(batch.rejects)
    oak = next(listing for listing in batch.listings if listing.source_id == "dbsa-101")
    assert oak.name == "Oak Grove Mood Support Group"


def test_separate_arguments_and_an_empty_page(fixture_site: str, tmp_path: Path) -> None:
    arguments = {"url": f"{fixture_site}/html_directory/empty.html", "source": "x", "item": "div.groupInfo",
                 "fields": json.dumps({"name": ".groupInfo__name"})}  # fmt: skip
    outcome = crawl("html_directory", arguments, tmp_path / "out.jsonl", settings=LOCAL)
    assert outcome.stats["peergroups/html/empty_page"] == 1
    assert outcome.status == "failed" and "no listing block" in (outcome.error or "")
    assert "peergroups/source_error/no_listings" in outcome.stats


def test_missing_configuration_fails(fixture_site: str, tmp_path: Path) -> None:
    outcome = crawl("html_directory", {"url": f"{fixture_site}/html_directory/state-nc.html", "source": "x"},
                    tmp_path / "out.jsonl", settings=LOCAL)  # fmt: skip
    assert outcome.status == "failed" and "needs `item` and `fields`" in (outcome.error or "")
