"""The crawl-speed benchmark's site generator (the benchmark itself is run by hand, never timed in tests)."""

from __future__ import annotations

import json
from pathlib import Path

from parsel import Selector

from spiders.platforms.jsonld import load_block
from tests.benchmarks.crawl_speed import DETAIL_DIR, FOLLOW, generate_site


def test_index_links_to_every_detail_page(tmp_path: Path) -> None:
    index = generate_site(tmp_path, 20)

    hrefs = Selector(text=index.read_text()).css(f"{FOLLOW}::attr(href)").getall()
    details = sorted(path.relative_to(tmp_path).as_posix() for path in (tmp_path / DETAIL_DIR).glob("*.html"))

    assert len(details) == 20
    assert sorted(hrefs) == details


def test_detail_page_holds_one_scheduled_event(tmp_path: Path) -> None:
    generate_site(tmp_path, 3)

    page = Selector(text=(tmp_path / DETAIL_DIR / "00002.html").read_text())
    blocks = page.css('script[type="application/ld+json"]::text').getall()

    assert len(blocks) == 1
    event = load_block(blocks[0])
    assert event["@type"] == "Event"
    assert event["eventSchedule"]["repeatFrequency"] == "P1W"
    assert json.dumps(event).count("example.org") >= 1
