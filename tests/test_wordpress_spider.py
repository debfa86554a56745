"""The WordPress REST spider on fixture affiliates over real HTTP (one test per field), plus its paging on built
responses carrying WordPress's headers, which the static fixture server cannot send."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import scrapy
from scrapy.http import TextResponse
from scrapy.utils.test import get_crawler

from flows.crawl import CrawlOutcome, crawl
from pipeline.ingest import normalise_batch
from spiders.platforms.wordpress import WordPressSpider, decode_cfemail, page_address
from tests.conftest import read_jsonl

LOCAL = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "RETRY_TIMES": 0}
COLLECTION = "https://www.example.org/wp-json/wp/v2/affiliate?per_page=100&page=1"

Crawled = tuple[CrawlOutcome, dict[str, dict[str, Any]]]


@pytest.fixture(scope="module")
def wordpress(fixture_site: str, tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    out = tmp_path_factory.mktemp("wordpress") / "items.jsonl"
    api = f"{fixture_site}/wordpress/wp-json/wp/v2"
    outcome = crawl("wordpress", {"url": f"{api}/affiliate?per_page=100&page=1", "source": "alliance", "country": "US",
                                  "page_url": api + "/affiliate-page-{page}.json"}, out, settings=LOCAL)  # fmt: skip
    return outcome, {item["source_id"]: item for item in read_jsonl(out)}


def test_every_post_on_every_page_is_an_item(wordpress: Crawled) -> None:
    outcome, items = wordpress
    assert outcome.status == "ok" and outcome.error is None  # the 404 past page 2 ended paging quietly
    assert sorted(items) == ["101", "102", "103", "104"]
    assert outcome.stats["peergroups/wordpress/pages"] == 2


def test_title_is_name_and_organization_as_given(wordpress: Crawled) -> None:
    item = wordpress[1]["101"]
    assert item["name"] == item["organization"] == "Millbrook &amp; Wake Mental Health Alliance"


def test_link_is_the_source_url(wordpress: Crawled) -> None:
    assert wordpress[1]["102"]["source_url"].endswith("/wordpress/affiliate/iowa/cedar-falls-mental-health-alliance/")


def test_content_else_excerpt_is_the_description(wordpress: Crawled) -> None:
    assert wordpress[1]["101"]["description"].startswith("<p>Family and peer support groups across")
    assert wordpress[1]["102"]["description"] == "<p>Peer-led connection groups in Black Hawk County.</p>\n"


def test_post_type_and_raw(wordpress: Crawled) -> None:
    item = wordpress[1]["104"]
    assert item["types"] == ["affiliate"]
    assert item["raw"]["slug"] == "riverbend-mental-health-alliance" and item["raw"]["state"] == [38]


def test_address_from_the_profile(wordpress: Crawled) -> None:
    items = wordpress[1]
    assert items["101"]["address"] == "120 Oak Grove Road, Suite 4, Millbrook, NC 27601"  # <br> read as a comma
    assert items["102"]["address"] == "PO Box 2210, Cedar Falls, IA 50613"  # <dt>/<dd>
    assert items["104"]["address"] == "45 River Street, Riverbend, OR 97301"  # "Address: …" in one element


def test_website_from_the_profile(wordpress: Crawled) -> None:
    assert [wordpress[1][key]["website"] for key in ("101", "102", "104")] == [
        "https://millbrook-mha.example.org/", "https://cedarfalls-mha.example.org",
        "https://riverbend-mha.example.org/groups",
    ]  # fmt: skip


def test_email_plain_and_cloudflare_protected(wordpress: Crawled) -> None:
    items = wordpress[1]
    assert items["101"]["email"] == "groups@millbrook-mha.example.org"  # not the header's national address
    assert items["102"]["email"] == "info@cedarfalls-mha.example.org"  # data-cfemail
    assert items["104"]["email"] == "help@riverbend-mha.example.org"  # /cdn-cgi/l/email-protection#… only


def test_phone_from_the_profile(wordpress: Crawled) -> None:
    assert [wordpress[1][key]["phone"] for key in ("101", "102", "104")] == [
        "(919) 555-0101", "319-555-0102", "503-555-0104",
    ]  # fmt: skip


def test_service_area_is_kept(wordpress: Crawled) -> None:
    assert wordpress[1]["101"]["service_area"] == "Millbrook County, Wake County"
    assert wordpress[1]["102"]["service_area"] == "Black Hawk County"


def test_a_missing_profile_still_yields_the_rest_data(wordpress: Crawled) -> None:
    outcome, items = wordpress
    item = items["103"]
    assert item["name"] == "Harbor Point Mental Health Alliance" and item["raw"]["id"] == 103
    assert not {"address", "email", "phone", "website"} & set(item)
    assert outcome.stats["peergroups/wordpress/profile_failed"] == 1


def test_registry_defaults(wordpress: Crawled) -> None:
    assert (wordpress[1]["101"]["source"], wordpress[1]["101"]["country"]) == ("alliance", "US")


def test_normalises_with_nothing_lost(wordpress: Crawled) -> None:
    batch = normalise_batch("alliance", list(wordpress[1].values()))
    assert len(batch.listings) + len(batch.rejects) == 4
    assert [reject.source_id for reject in batch.rejects] == ["103"]  # no profile: no way to reach it
    by_id = {listing.source_id: listing for listing in batch.listings}
    assert by_id["101"].name == "Millbrook & Wake Mental Health Alliance"
    assert by_id["101"].organization == "Millbrook & Wake Mental Health Alliance"
    assert by_id["102"].email == "info@cedarfalls-mha.example.org"
    assert by_id["104"].description == "Connection recovery support groups, in person and online."


def test_field_selector_argument_overrides_the_label_search(fixture_site: str, tmp_path: Path) -> None:
    out = tmp_path / "items.jsonl"
    api = f"{fixture_site}/wordpress/wp-json/wp/v2"
    arguments = {"url": f"{api}/affiliate", "source": "alliance", "page_url": api + "/affiliate-page-{page}.json",
                 "phone_selector": "footer p:last-child"}  # fmt: skip
    crawl("wordpress", arguments, out, settings=LOCAL)
    items = {item["source_id"]: item for item in read_jsonl(out)}
    assert items["101"]["phone"] == "555-0199 (national office)"
    assert items["101"]["email"] == "groups@millbrook-mha.example.org"  # other fields keep the label search


# --- units ----------------------------------------------------------------------------------------------------


def test_decode_cfemail() -> None:
    assert decode_cfemail("5a33343c351a393f3e3b283c3b3636297737323b743f223b372a363f7435283d") == (
        "info@cedarfalls-mha.example.org"
    )
    assert decode_cfemail("not hex") is None
    assert decode_cfemail("5a3") is None


def test_page_address_sets_page_and_keeps_per_page() -> None:
    assert page_address(COLLECTION, 3) == "https://www.example.org/wp-json/wp/v2/affiliate?per_page=100&page=3"
    assert page_address("https://www.example.org/wp-json/wp/v2/affiliate", 2).endswith("/affiliate?page=2")


def _spider(**arguments: str) -> WordPressSpider:
    crawler = get_crawler(WordPressSpider)
    return WordPressSpider.from_crawler(crawler, url=COLLECTION, **arguments)


def _page(url: str, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> TextResponse:
    request = scrapy.Request(url)
    return TextResponse(url, status=status, body=json.dumps(body).encode(), headers=headers, request=request)


def test_total_pages_header_requests_every_page_at_once() -> None:
    spider = _spider()
    response = _page(COLLECTION, [{"id": 1, "type": "affiliate", "title": {"rendered": "A"}}],
                     headers={"X-WP-TotalPages": "3", "X-WP-Total": "201"})  # fmt: skip
    output = list(spider.parse_collection(response, collection=COLLECTION, page=1, sequential=True))
    pages = [request.url for request in output if isinstance(request, scrapy.Request)]
    assert pages == [page_address(COLLECTION, 2), page_address(COLLECTION, 3)]
    assert [item["source_id"] for item in output if isinstance(item, dict)] == ["1"]  # no link: no profile
    assert spider.crawler.stats.get_value("peergroups/wordpress/reported_total") == 201  # type: ignore[union-attr]
    later = _page(page_address(COLLECTION, 3), [{"id": 3}], headers={"X-WP-TotalPages": "3"})
    assert not [r for r in spider.parse_collection(later, COLLECTION, 3, False) if isinstance(r, scrapy.Request)]


def test_invalid_page_number_ends_paging_quietly() -> None:
    spider = _spider()
    body = {"code": "rest_post_invalid_page_number", "message": "The page number requested is larger than the number "
            "of pages available.", "data": {"status": 400}}  # fmt: skip
    output = list(spider.parse_collection(_page(page_address(COLLECTION, 9), body, status=400), COLLECTION, 9, True))
    assert output == []
    assert not any(key.startswith("peergroups/source_error") for key in spider.crawler.stats.get_stats())  # type: ignore[union-attr]


def test_a_first_page_that_fails_is_a_source_error() -> None:
    spider = _spider()
    list(spider.parse_collection(_page(COLLECTION, {"code": "rest_no_route"}, status=404), COLLECTION, 1, True))
    assert spider.crawler.stats.get_value("peergroups/source_error/http") == 1  # type: ignore[union-attr]
