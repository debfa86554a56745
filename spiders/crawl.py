"""Run one spider in this process and write its items and stats to files: `python -m spiders.crawl --help`.

A Twisted reactor cannot be restarted, so callers run each crawl in a fresh subprocess of this module; a crawl that
crashes takes only its own process down. The stats file is what the run report reads.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.spiderloader import SpiderLoader
from scrapy.utils.project import get_project_settings


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spiders.crawl", description=__doc__)
    parser.add_argument("spider", help="spider name, e.g. meeting_guide")
    parser.add_argument("--out", required=True, type=Path, help="RawListing JSON lines written here")
    parser.add_argument("--stats", required=True, type=Path, help="crawl stats JSON written here")
    parser.add_argument("-a", dest="args", action="append", default=[], metavar="NAME=VALUE", help="spider argument")
    parser.add_argument("-s", dest="settings", action="append", default=[], metavar="NAME=VALUE", help="setting")
    options = parser.parse_args(argv)

    # The project's settings by module, not by a scrapy.cfg found from the working directory: users run
    # `peergroups` from anywhere.
    os.environ["SCRAPY_SETTINGS_MODULE"] = "spiders.settings"
    settings = get_project_settings()
    for pair in options.settings:
        key, _, value = pair.partition("=")
        settings.set(key, value, priority="cmdline")
    options.out.parent.mkdir(parents=True, exist_ok=True)
    settings.set("FEEDS", {str(options.out): {"format": "jsonlines", "overwrite": True}}, priority="cmdline")

    loader = SpiderLoader.from_settings(settings)
    try:
        spider_class = loader.load(options.spider)
    except KeyError:
        print(f"error: no spider named {options.spider!r}; known: {', '.join(loader.list())}", file=sys.stderr)
        return 2
    spider_args = dict(pair.partition("=")[::2] for pair in options.args)

    process = CrawlerProcess(settings)  # logs to stderr, which the caller keeps beside the output
    crawler = process.create_crawler(spider_class)
    process.crawl(crawler, **spider_args)
    process.start()

    assert crawler.stats is not None
    stats = {key: _jsonable(value) for key, value in crawler.stats.get_stats().items()}
    options.stats.parent.mkdir(parents=True, exist_ok=True)
    options.stats.write_text(json.dumps(stats, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
