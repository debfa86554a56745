"""One odd record never costs a page its other listings, and distinct groups keep distinct ids."""

from __future__ import annotations

import json
from pathlib import Path

from flows.crawl import crawl
from tests.conftest import read_jsonl

LOCAL = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "RETRY_TIMES": 0}


def test_a_jsonld_node_with_a_broken_url_keeps_its_neighbour(fixture_site: str, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    outcome = crawl("jsonld", {"url": f"{fixture_site}/robustness/jsonld-bad-url.html", "source": "s"}, out,
                    settings=LOCAL)  # fmt: skip
    names = {item.get("name") for item in read_jsonl(out)}
    assert outcome.status == "ok"
    assert "Group B" in names
    assert len(read_jsonl(out)) == 2  # the odd one is passed on (raw kept), not lost


def test_two_groups_of_one_name_at_one_venue_on_different_days_stay_two(fixture_site: str, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    fields = {"name": "h3", "address": ".a", "schedule_text": ".w"}
    crawl("html_directory", {"url": f"{fixture_site}/robustness/same-name.html", "source": "s", "item": "div.g",
                             "fields": json.dumps(fields)}, out, settings=LOCAL)  # fmt: skip
    items = read_jsonl(out)
    assert len(items) == 2
    assert len({item["source_id"] for item in items}) == 2
