"""The source registry: entries become spider arguments the platforms read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.registry import PLATFORM_SPIDERS, load_registry


def test_platform_settings_reach_the_spider_as_arguments(tmp_path: Path) -> None:
    registry = tmp_path / "sources.toml"
    registry.write_text(
        """
[[source]]
name = "state_pages"
platform = "html_directory"
urls = ["https://groups.example.org/find?state=NC", "https://groups.example.org/find?state=SC"]
country = "US"
topics = ["depression", "bipolar"]
arguments = { item = "div.groupInfo", fields = { name = ".groupInfo__name" }, zips = ["27601", "27610"] }
"""
    )
    (source,) = load_registry(registry)
    arguments = source.spider_arguments()
    assert arguments["url"].split() == list(source.urls)  # several URLs, none split on its commas
    assert arguments["topics"] == "depression,bipolar"
    assert arguments["item"] == "div.groupInfo"
    assert json.loads(arguments["fields"]) == {"name": ".groupInfo__name"}
    assert arguments["zips"] == "27601,27610"
    assert source.spider_name == "html_directory"


def test_every_platform_has_a_spider(monkeypatch: pytest.MonkeyPatch) -> None:
    from scrapy.spiderloader import SpiderLoader
    from scrapy.utils.project import get_project_settings

    monkeypatch.setenv("SCRAPY_SETTINGS_MODULE", "spiders.settings")
    known = set(SpiderLoader.from_settings(get_project_settings()).list())
    assert set(PLATFORM_SPIDERS.values()) <= known


def test_the_registry_of_real_directories_loads() -> None:
    from tests.conftest import PROJECT_ROOT

    sources = {source.name: source for source in load_registry(PROJECT_ROOT / "data" / "sources.toml")}
    assert {"nami_affiliates", "dbsa_groups"} <= set(sources)
    assert len(sources["dbsa_groups"].urls) == 51  # one page per state and DC
    assert json.loads(sources["dbsa_groups"].spider_arguments()["fields"])["name"] == ".groupInfo__name"
    assert all(source.floor > 0 and source.settings.get("DOWNLOAD_DELAY", 1) >= 1 for source in sources.values())
