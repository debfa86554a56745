"""Crawl speed on loopback: our `jsonld` platform spider against a bare Scrapy spider over the same generated site.

    python -m tests.benchmarks.crawl_speed [--pages 2000] [--rounds 1] [--keep DIR]

A temporary site of one index page linking to `--pages` detail pages (each an HTML page with one schema.org Event
JSON-LD block and an eventSchedule; fictional groups at example.org addresses) is served by
`flows.local_server.serve_directory` on 127.0.0.1, then crawled twice, each crawl in its own subprocess (a Twisted
reactor cannot restart):

- ours: `flows.crawl.crawl("jsonld", ...)` (project settings, RawListingPipeline, JSON-lines feed), politeness off;
- bare: a minimal `scrapy.Spider` (this module, `--bare-crawl`), Scrapy's defaults, no pipelines and no feed, that
  follows the same links and yields one trivial item per page.

Both use DOWNLOAD_DELAY 0, AutoThrottle off, 16 concurrent requests (16 per domain), robots.txt ignored. The speed
of each is its pages fetched over its own `elapsed_time_seconds` stat (the crawl alone, without interpreter and
Scrapy start-up); the wall time including start-up is printed too. With `--rounds` > 1 the crawls alternate and the
fastest crawl of each is kept. The server and both crawlers share this machine's cores, so figures are relative.
The page count is bounded and the command stops by itself.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import scrapy
from scrapy.http import Response

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LINK_CLASS = "event-link"
FOLLOW = f"a.{LINK_CLASS}"
DETAIL_DIR = "groups"
GOAL_OVERHEAD_PERCENT = 10.0
CRAWL_TIMEOUT_S = 600

# Politeness off, the same for both crawlers.
CRAWL_SETTINGS: dict[str, Any] = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "ROBOTSTXT_OBEY": False,
    "LOG_LEVEL": "WARNING",
}

NAMES = ["Mood Support Group", "Family Support Circle", "Anxiety Peer Group", "Grief Support Group",
         "Hearing Voices Group", "Young Adults Peer Support", "Caregivers Circle", "Bipolar Support Group"]  # fmt: skip
TOWNS = ["Riverton", "Lakeport", "Fairview", "Millbrook", "Harborview", "Cedar Falls", "Oakdale"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


# --- the site -----------------------------------------------------------------------------------------------------


def detail_path(number: int) -> str:
    return f"{DETAIL_DIR}/{number:05d}.html"


def event_node(number: int) -> dict[str, Any]:
    """One fictional weekly group as a schema.org Event with an eventSchedule."""
    town = TOWNS[number % len(TOWNS)]
    name = f"{town} {NAMES[number % len(NAMES)]} #{number}"
    hour = 10 + number % 10
    return {
        "@context": "https://schema.org",
        "@type": "Event",
        "@id": f"https://groups.example.org/{detail_path(number)}#event",
        "name": name,
        "description": f"A free, peer-led group meeting weekly in {town}. Drop in; no referral needed.",
        "url": f"https://groups.example.org/{detail_path(number)}",
        "eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode",
        "eventStatus": "https://schema.org/EventScheduled",
        "location": {
            "@type": "Place",
            "name": f"{town} Community Hall",
            "address": {
                "@type": "PostalAddress",
                "streetAddress": f"{100 + number} Main Street",
                "addressLocality": town,
                "addressRegion": "OR",
                "postalCode": f"97{number % 1000:03d}",
                "addressCountry": "US",
            },
        },
        "organizer": {"@type": "Organization", "name": "Example Wellness Alliance", "url": "https://example.org/"},
        "eventSchedule": {
            "@type": "Schedule",
            "repeatFrequency": "P1W",
            "byDay": f"https://schema.org/{DAYS[number % 7]}",
            "startTime": f"{hour:02d}:00",
            "endTime": f"{hour + 1:02d}:30",
            "scheduleTimezone": "America/Los_Angeles",
            "startDate": "2025-01-06",
        },
    }


def detail_html(number: int) -> str:
    node = event_node(number)
    block = json.dumps(node, indent=1).replace("</", "<\\/")
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{node["name"]}</title>\n'
        f'<script type="application/ld+json">\n{block}\n</script></head>\n'
        f"<body><h1>{node['name']}</h1><p>{node['description']}</p>"
        f'<p><a href="../index.html">All groups</a></p></body></html>\n'
    )


def index_html(pages: int) -> str:
    links = "\n".join(
        f'<li><a class="{LINK_CLASS}" href="{detail_path(number)}">Group {number}</a></li>' for number in range(pages)
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Groups (benchmark)</title></head>\n'
        f"<body><h1>Peer-support groups</h1>\n<ul>\n{links}\n</ul></body></html>\n"
    )


def generate_site(root: Path, pages: int) -> Path:
    """Write `index.html` linking to `pages` detail pages under `root`; returns the index's path."""
    (root / DETAIL_DIR).mkdir(parents=True, exist_ok=True)
    for number in range(pages):
        (root / detail_path(number)).write_text(detail_html(number), encoding="utf-8")
    index = root / "index.html"
    index.write_text(index_html(pages), encoding="utf-8")
    return index


# --- the bare spider (run in its own process with --bare-crawl) ---------------------------------------------------


class BareSpider(scrapy.Spider):
    """Follows the index's detail links; one trivial item per page read."""

    name = "bare_bench"

    def __init__(self, url: str, follow: str = FOLLOW, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_urls = [url]
        self.follow = follow

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        yield {"url": response.url}
        yield from response.follow_all(css=self.follow, callback=self.parse)


def run_bare(url: str, stats_path: Path) -> int:
    from scrapy.crawler import CrawlerProcess

    settings = {**CRAWL_SETTINGS, "TELNETCONSOLE_ENABLED": False, "REMOTE_CONTROL_ENABLED": False}
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(BareSpider)
    process.crawl(crawler, url=url)
    process.start()
    assert crawler.stats is not None
    stats = {key: value.isoformat() if hasattr(value, "isoformat") else value
             for key, value in crawler.stats.get_stats().items()}  # fmt: skip
    stats_path.write_text(json.dumps(stats, indent=1, sort_keys=True))
    return 0


# --- measuring ----------------------------------------------------------------------------------------------------


@dataclass
class Measure:
    label: str
    wall_s: float
    stats: dict[str, Any]

    @property
    def pages(self) -> int:
        return int(self.stats.get("downloader/response_count", 0))

    @property
    def elapsed_s(self) -> float:
        return float(self.stats.get("elapsed_time_seconds") or self.wall_s)

    @property
    def items(self) -> int:
        return int(self.stats.get("item_scraped_count", 0))

    def rate(self) -> float:
        return self.pages / self.elapsed_s if self.elapsed_s else 0.0


def crawl_ours(index_url: str, work: Path, pages: int) -> Measure:
    from flows.crawl import crawl

    arguments = {"url": index_url, "source": "bench", "follow": FOLLOW, "max_pages": str(pages + 100)}
    outcome = crawl("jsonld", arguments, work / "ours.jsonl", settings=CRAWL_SETTINGS, timeout_s=CRAWL_TIMEOUT_S)
    if outcome.status == "failed":
        raise SystemExit(f"our crawl failed: {outcome.error}")
    return Measure("ours (jsonld)", outcome.duration_s, outcome.stats)


def crawl_bare(index_url: str, work: Path) -> Measure:
    stats_path = work / "bare.stats.json"
    stats_path.unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "tests.benchmarks.crawl_speed",
        "--bare-crawl",
        index_url,
        "--stats",
        str(stats_path),
    ]
    started = time.monotonic()
    with (work / "bare.log").open("w") as log:
        completed = subprocess.run(command, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                   timeout=CRAWL_TIMEOUT_S, check=False)  # fmt: skip
    wall = time.monotonic() - started
    if completed.returncode != 0 or not stats_path.exists():
        raise SystemExit(f"bare crawl failed (exit {completed.returncode}); see {work / 'bare.log'}")
    return Measure("bare scrapy", wall, json.loads(stats_path.read_text()))


def report(ours: Measure, bare: Measure, pages: int) -> None:
    print(f"site: 1 index + {pages} JSON-LD detail pages = {pages + 1} pages on 127.0.0.1")
    print(f"settings: {', '.join(f'{key}={value}' for key, value in CRAWL_SETTINGS.items())}")
    for measure in (bare, ours):
        print(f"{measure.label:>14}: {measure.pages} pages in {measure.elapsed_s:.2f} s crawl "
              f"({measure.rate():.0f} pages/s); wall incl. start-up {measure.wall_s:.2f} s "
              f"({measure.pages / measure.wall_s:.0f} pages/s); items {measure.items}")  # fmt: skip
    if ours.pages == bare.pages:
        print(f"pages fetched: same for both ({ours.pages} responses, downloader/response_count)")
    else:
        print(f"pages fetched: DIFFER: ours {ours.pages}, bare {bare.pages} (downloader/response_count)")
    print(f"items yielded by ours: {ours.items} (expected {pages}: one Event per detail page)")
    # Overhead: the extra crawl time ours takes per page, relative to bare Scrapy (bare rate / our rate - 1).
    overhead = (bare.rate() / ours.rate() - 1) * 100 if ours.rate() else float("inf")
    wall_overhead = (ours.wall_s / bare.wall_s - 1) * 100
    print(f"ratio ours/bare: {ours.rate() / bare.rate():.3f} of bare speed; our overhead {overhead:+.1f}% "
          f"(crawl time), {wall_overhead:+.1f}% (wall time incl. start-up)")  # fmt: skip
    met = overhead <= GOAL_OVERHEAD_PERCENT and ours.pages == bare.pages
    verdict = "MET" if met else "NOT MET"
    print(f"goal 'overhead <= {GOAL_OVERHEAD_PERCENT:.0f}%': {verdict} ({overhead:+.1f}%)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.crawl_speed", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--pages", type=int, default=2000, help="detail pages to generate (default 2000; 1-20000)")
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds; the fastest of each is kept")
    parser.add_argument("--keep", type=Path, help="build the site and write crawl outputs here instead of a temp dir")
    parser.add_argument("--bare-crawl", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--stats", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.bare_crawl:
        return run_bare(options.bare_crawl, options.stats)
    if not 1 <= options.pages <= 20000 or not 1 <= options.rounds <= 10:
        parser.error("--pages must be 1-20000 and --rounds 1-10")

    from flows.local_server import serve_directory

    with tempfile.TemporaryDirectory(prefix="crawl_speed_") as temporary:
        root = options.keep or Path(temporary)
        site, work = root / "site", root / "work"
        work.mkdir(parents=True, exist_ok=True)
        generate_site(site, options.pages)
        with serve_directory(site) as base:
            index_url = f"{base}/index.html"
            best: dict[str, Measure] = {}
            for round_number in range(options.rounds):
                runs = [lambda: crawl_ours(index_url, work, options.pages), lambda: crawl_bare(index_url, work)]
                for run in runs if round_number % 2 == 0 else reversed(runs):
                    measure = run()
                    line = f"{measure.label} {measure.pages} pages, {measure.elapsed_s:.2f} s, {measure.rate():.0f}/s"
                    print(f"round {round_number + 1}: {line}", file=sys.stderr, flush=True)
                    if measure.label not in best or measure.elapsed_s < best[measure.label].elapsed_s:
                        best[measure.label] = measure
        report(best["ours (jsonld)"], best["bare scrapy"], options.pages)
    return 0


if __name__ == "__main__":
    sys.exit(main())
