"""The ZIP × radius JSON finder spider on AFSP-shaped fixture answers over real HTTP: one test per field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flows.crawl import CrawlOutcome, crawl
from pipeline.ingest import normalise_batch
from spiders.platforms.finder import FinderSpider
from tests.conftest import read_jsonl

LOCAL = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "RETRY_TIMES": 0}
FIELDS = {
    "name": "name",
    "organization": "sponsor",
    "audiences": "audience",
    "cost": "fee",
    "website": "website",
    "city": "city",
    "region": "state",
    "postal_code": "zip",
    "phone": "contact.phone",
    "email": "contact.email",
    "description": "description",
    "latitude": "location.lat",
    "longitude": "location.lng",
}
Crawl = tuple[CrawlOutcome, dict[str, dict[str, Any]]]


def arguments(base: str, zips: str) -> dict[str, str]:
    return {"url": f"{base}/finder", "source": "afsp_loss", "country": "US", "topics": "grief", "zips": zips,
            "radius": "25", "url_template": "{base}/search-{zip}.json", "results_path": "data.groups",
            "id_key": "id", "fields": json.dumps(FIELDS)}  # fmt: skip


@pytest.fixture(scope="module")
def afsp(fixture_site: str, tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    out = tmp_path_factory.mktemp("finder") / "items.jsonl"
    outcome = crawl("finder", arguments(fixture_site, "27601, 27610,27701"), out, settings=LOCAL)
    return outcome, {item["source_id"]: item for item in read_jsonl(out)}


def test_every_zip_is_searched(afsp: Crawl) -> None:
    outcome, _ = afsp
    assert outcome.status == "ok"
    assert outcome.stats["peergroups/finder/searches"] == 3
    assert outcome.stats["peergroups/finder/results"] == 8


def test_each_group_once_across_zips(afsp: Crawl) -> None:
    outcome, items = afsp
    assert sorted(items) == ["5001", "5002", "5003", "5004", "5005"]
    assert outcome.stats["peergroups/finder/duplicate"] == 3
    assert outcome.stats["item_scraped_count"] == 5


def test_source_url_is_the_first_search_that_found_it(afsp: Crawl) -> None:
    assert afsp[1]["5001"]["source_url"].endswith("/finder/search-27601.json")
    assert afsp[1]["5003"]["source_url"].endswith("/finder/search-27610.json")


def test_name_and_sponsor(afsp: Crawl) -> None:
    item = afsp[1]["5001"]
    assert (item["name"], item["organization"]) == ("Millbrook Survivors of Suicide Loss", "Millbrook Hope Network")


def test_audience_adds_to_defaults_and_topics_stay(afsp: Crawl) -> None:
    assert afsp[1]["5001"]["audiences"] == ["Adults who have lost someone to suicide"]
    assert afsp[1]["5001"]["topics"] == ["grief"]


def test_fee(afsp: Crawl) -> None:
    assert (afsp[1]["5001"]["cost"], afsp[1]["5003"]["cost"]) == ("Free", "$5 suggested donation")


def test_website(afsp: Crawl) -> None:
    assert afsp[1]["5002"]["website"] == "https://pinecrest-family.example.org/healing"


def test_city_state_zip(afsp: Crawl) -> None:
    item = afsp[1]["5001"]
    assert (item["city"], item["region"], item["postal_code"], item["country"]) == ("Millbrook", "NC", "27601", "US")


def test_nested_contact_keys(afsp: Crawl) -> None:
    item = afsp[1]["5005"]
    assert (item["phone"], item["email"]) == ("+1 919 555 0115", "care@elmwood-church.example.org")


def test_empty_and_null_values_are_left_out(afsp: Crawl) -> None:
    assert "email" not in afsp[1]["5002"] and "description" not in afsp[1]["5002"]
    assert "city" not in afsp[1]["5003"] and "latitude" not in afsp[1]["5003"]


def test_coordinates(afsp: Crawl) -> None:
    assert (afsp[1]["5001"]["latitude"], afsp[1]["5001"]["longitude"]) == (35.7796, -78.6382)
    assert afsp[1]["5005"]["latitude"] == "35.9940"


def test_raw_is_the_result(afsp: Crawl) -> None:
    assert afsp[1]["5001"]["raw"]["id"] == 5001


def test_normalises_with_nothing_lost(afsp: Crawl) -> None:
    batch = normalise_batch("afsp_loss", list(afsp[1].values()))
    assert (len(batch.listings), len(batch.rejects)) == (4, 1)  # 5004 has no name
    assert len(batch.raw_records) == len(batch.listings) + len(batch.rejects)
    by_id = {listing.source_id: listing for listing in batch.listings}
    assert by_id["5002"].postal_code == "27610"  # published as a number


def test_a_zip_with_nothing_near_fails_with_no_listings(fixture_site: str, tmp_path: Path) -> None:
    outcome = crawl("finder", arguments(fixture_site, "82001"), tmp_path / "out.jsonl", settings=LOCAL)
    assert outcome.stats["peergroups/finder/results_missing"] == 1
    assert outcome.status == "failed" and "no results" in (outcome.error or "")


def test_no_zips_is_misconfigured(fixture_site: str, tmp_path: Path) -> None:
    outcome = crawl("finder", {**arguments(fixture_site, ""), "zips": ""}, tmp_path / "out.jsonl", settings=LOCAL)
    assert outcome.status == "failed" and "needs `zips`" in (outcome.error or "")


def test_post_sends_the_search_as_json() -> None:
    spider = FinderSpider(url="https://finder.example.org/api/search", zips="02134", radius=50, method="post",
                          params='{"country": "US", "type": "loss"}', fields='{"name": "name"}')  # fmt: skip
    request = spider.search_request("https://finder.example.org/api/search", "02134")
    assert request.method == "POST"
    assert json.loads(request.body) == {"zip": "02134", "radius": 50, "country": "US", "type": "loss"}
    assert request.headers["Content-Type"] == b"application/json"


def test_get_fills_the_template() -> None:
    template = "{base}/groups?zip={zip}&r={radius}&type={type}"
    spider = FinderSpider(url="https://finder.example.org/api", zips=["02134"], fields={"name": "name"},
                          url_template=template, params={"type": "loss support"})  # fmt: skip
    request = spider.search_request("https://finder.example.org/api", "02134")
    assert (request.method, request.url) == (
        "GET",
        "https://finder.example.org/api/groups?zip=02134&r=50&type=loss%20support",
    )
