"""Step 2 of docs/scaling.md: one crawl's request queue shared by several Scrapy worker processes (scrapy-redis).

    python -m tests.scaling.redis_crawl                      # 2 workers, 400 detail pages (~1 min)
    python -m tests.scaling.redis_crawl --workers 3 --pages 400 --latency-ms 40

What it proves: a generated schema.org JSON-LD directory (list pages → detail pages, `jsonld` platform spider, the
same shape as the demo's coastal_wellness) is served on 127.0.0.1 with a per-request latency; Debian's
`redis-server` runs on a free loopback port; the project's own runner (`python -m spiders.crawl jsonld ...`, the
command flows/crawl.py runs) is started N times at once with scrapy-redis's scheduler and duplicate filter set by
`-s` options only. Then:

- every worker dequeued requests from the one Redis queue and scraped items;
- together they yielded exactly the items a normal single-process crawl yields, none twice;
- the site served every page once in total (its own request log), so the workers shared one frontier;
- the wall-clock time against the single-process crawl.

No project file changes: scrapy-redis replaces the scheduler and duplicate filter by settings.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from tests.scaling.common import ROOT, Timings, check, finish, free_port, require, say, service, wait_for

SOURCE = "shared_site"
PER_LIST_PAGE = 20


def make_site(root: Path, pages: int) -> int:
    """List pages of PER_LIST_PAGE links each (with a "next" link) and one JSON-LD Event page per group."""
    (root / "groups").mkdir(parents=True)
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")
    days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    for number in range(pages):
        event = {
            "@context": "https://schema.org",
            "@type": "Event",
            "@id": f"https://shared-site.example.org/groups/{number}/#event",
            "name": f"Peer Support Group {number}",
            "url": f"https://shared-site.example.org/groups/{number}/",
            "eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode",
            "eventSchedule": {
                "@type": "Schedule", "repeatFrequency": "P1W", "byDay": f"https://schema.org/{days[number % 7]}",
                "startTime": f"{17 + number % 4}:00", "endTime": f"{18 + number % 4}:30",
                "scheduleTimezone": "America/Los_Angeles",
            },
            "location": {
                "@type": "Place", "name": "Community Hall",
                "address": {"@type": "PostalAddress", "streetAddress": f"{100 + number} Harbor Rd",
                            "addressLocality": "Lakeport", "addressRegion": "OR", "postalCode": "97367",
                            "addressCountry": "US"},
            },
            "organizer": {"@type": "Organization", "name": "Shared Site Collective (fictional)",
                          "telephone": f"541-555-01{number % 100:02d}"},
        }  # fmt: skip
        (root / "groups" / f"{number}.html").write_text(
            f'<!doctype html><html><head><meta charset="utf-8"><title>{event["name"]}</title>'
            f'<script type="application/ld+json">{json.dumps(event)}</script></head>'
            f"<body><h1>{event['name']}</h1></body></html>"
        )
    list_pages = (pages + PER_LIST_PAGE - 1) // PER_LIST_PAGE
    for page in range(1, list_pages + 1):
        numbers = range((page - 1) * PER_LIST_PAGE, min(page * PER_LIST_PAGE, pages))
        links = "".join(f'<li><a class="group-link" href="groups/{n}.html">Group {n}</a></li>' for n in numbers)
        following = f'<a class="next" href="list-{page + 1}.html">next</a>' if page < list_pages else ""
        (root / f"list-{page}.html").write_text(
            f'<!doctype html><html><head><meta charset="utf-8"><title>Groups, page {page}</title></head>'
            f"<body><ul>{links}</ul>{following}</body></html>"
        )
    return list_pages


def crawl_command(base_url: str, out: Path, settings: dict[str, str], spider: str = "jsonld") -> list[str]:
    command = [sys.executable, "-m", "spiders.crawl", spider, "--out", str(out), "--stats", f"{out}.stats.json",
               "-a", f"source={SOURCE}", "-a", f"url={base_url}/list-1.html", "-a", "follow=a.group-link, a.next",
               "-a", "country=US", "-a", "max_pages=100000"]  # fmt: skip
    for key, value in settings.items():
        command += ["-s", f"{key}={value}"]
    return command


def run_workers(commands: list[list[str]], logs: list[Path]) -> list[int]:
    """Start every crawl at once and wait for all of them; returns their exit codes."""
    processes = []
    for command, log in zip(commands, logs, strict=True):
        with log.open("wb") as handle:
            processes.append(subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT))
    codes = []
    for process in processes:
        try:
            codes.append(process.wait(timeout=600))
        except subprocess.TimeoutExpired:
            process.kill()
            codes.append(process.wait())
    return codes


def items_of(path: Path) -> list[str]:
    return [json.loads(line)["source_id"] for line in path.read_text().splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pages", type=int, default=400, help="detail pages (groups) on the generated site")
    parser.add_argument("--latency-ms", type=float, default=40, help="the site's answer time per request")
    parser.add_argument("--plain", action="store_true", help="settings only, unchanged spider: shows what fails")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    require(
        {"scrapy_redis": "scrapy-redis", "redis": "redis"},
        {"redis-server": "apt-get update && apt-get install -y redis-server   # Debian's package"},
    )
    import redis

    from flows.local_server import StaticHandler, serve_directory

    timings = Timings()
    work = Path(tempfile.mkdtemp(prefix="peergroups-scale-redis-"))
    list_pages = make_site(work / "site", args.pages)
    served: Counter[str] = Counter()
    span: list[float] = []  # when the site answered its first and last page request
    active = [0, 0]  # requests in flight now, most at once
    lock = threading.Lock()
    latency = args.latency_ms / 1000

    class SlowCountingHandler(StaticHandler):
        def do_GET(self) -> None:
            with lock:
                served[self.path] += 1
                if self.path != "/robots.txt":
                    now = time.monotonic()
                    span[:] = [span[0] if span else now, now]
                active[0] += 1
                active[1] = max(active)
            time.sleep(latency)
            super().do_GET()
            with lock:
                active[0] -= 1

    port = free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"
    redis_command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    # No politeness delay on loopback, but not 0: with DOWNLOAD_DELAY = 0 Scrapy 2.19 (asyncio reactor) starts every
    # queued request of a slot at once (up to CONCURRENT_REQUESTS), ignoring CONCURRENT_REQUESTS_PER_DOMAIN = 1.
    local = {"DOWNLOAD_DELAY": "0.001", "AUTOTHROTTLE_ENABLED": "False", "RETRY_TIMES": "1", "LOG_LEVEL": "INFO"}
    shared = local | {
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "REDIS_URL": redis_url,
        # One queue and one fingerprint set per SOURCE (the default key is the spider name, which every source on
        # the same platform shares).
        "SCHEDULER_QUEUE_KEY": f"peergroups:{SOURCE}:requests",
        "SCHEDULER_DUPEFILTER_KEY": f"peergroups:{SOURCE}:dupefilter",
        # Without persistence the first worker to finish clears the queue and fingerprints under the others.
        "SCHEDULER_PERSIST": "True",
        # Take one request at a time beyond the one downloading, so no worker hoards the frontier (a worker that
        # dies loses what it took: scrapy-redis has no acknowledgement).
        "CONCURRENT_REQUESTS": "2",
    }
    if args.plain:
        # Settings only, on the unchanged `jsonld` spider: what does NOT work (see tests/scaling/redis_spiders.py).
        spider = "jsonld"
        shared |= {"SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.FifoQueue", "SCHEDULER_IDLE_BEFORE_CLOSE": "3"}
    else:
        spider = "jsonld_shared"
        shared |= {
            "SPIDER_MODULES": "spiders.platforms,spiders.sources,tests.scaling.redis_spiders",
            # A worker with nothing to do waits this long for the others' links before it closes.
            "MAX_IDLE_TIME_BEFORE_CLOSE": "5",
        }
    say(f"work folder {work}; site: {list_pages} list pages + {args.pages} detail pages, "
        f"{args.latency_ms:.0f} ms per request; redis-server on 127.0.0.1:{port}")  # fmt: skip
    ok = True
    with (
        serve_directory(work / "site", handler=SlowCountingHandler) as base_url,
        service(redis_command, work / "redis.log"),
    ):
        server = redis.Redis.from_url(redis_url)
        with timings("redis-server start"):
            wait_for(server.ping, "redis-server", timeout_s=30)
        say(f"  redis-server {server.info('server')['redis_version']} answering")

        # The reference: one ordinary crawl, the project's default scheduler.
        with timings("1 process, Scrapy's own scheduler (reference)"):
            codes = run_workers([crawl_command(base_url, work / "single.jsonl", local)], [work / "single.log"])
        ok &= check(codes == [0], "the single-process crawl finished")
        reference = items_of(work / "single.jsonl")
        single_served = sum(served.values())
        single_span, single_most = span[-1] - span[0], active[1]
        active[1] = 0
        served.clear()
        span.clear()

        outs = [work / f"worker-{n}.jsonl" for n in range(1, args.workers + 1)]
        with timings(f"{args.workers} processes sharing one Redis queue"):
            codes = run_workers(
                [crawl_command(base_url, out, shared, spider) for out in outs],
                [out.with_suffix(".log") for out in outs],
            )
        ok &= check(codes == [0] * args.workers, f"all {args.workers} worker processes finished")
        shared_span, shared_most = span[-1] - span[0], active[1]
        queue = shared["SCHEDULER_QUEUE_KEY"]
        left = server.zcard(queue) if server.type(queue) == b"zset" else server.llen(queue)
        fingerprints = server.scard(shared["SCHEDULER_DUPEFILTER_KEY"])
        server.delete(shared["SCHEDULER_QUEUE_KEY"], shared["SCHEDULER_DUPEFILTER_KEY"])

    per_worker = []
    for out in outs:
        stats = json.loads(Path(f"{out}.stats.json").read_text())
        items = items_of(out)
        per_worker.append(items)
        say(f"  {out.stem}: {len(items)} items, {stats.get('scheduler/dequeued/redis', 0)} requests taken from "
            f"Redis, {stats.get('scheduler/enqueued/redis', 0)} pushed, "
            f"{stats.get('response_received_count', 0)} responses")  # fmt: skip
    combined = [item for items in per_worker for item in items]
    say(f"  reference crawl: {len(reference)} items, {single_served} requests served; shared crawl: "
        f"{len(combined)} items, {sum(served.values())} requests served, {fingerprints} fingerprints in Redis, "
        f"{left} requests left in the queue")  # fmt: skip
    ok &= check(all(per_worker), "every worker scraped items from the shared queue")
    ok &= check(len(combined) == len(set(combined)), "no item was scraped twice across the workers")
    ok &= check(set(combined) == set(reference) and len(reference) == args.pages,
                f"together they yielded exactly the reference crawl's {len(reference)} items")  # fmt: skip
    pages = {path: count for path, count in served.items() if path != "/robots.txt"}
    ok &= check(len(pages) == list_pages + args.pages and set(pages.values()) == {1},
                f"the site served each of its {list_pages + args.pages} pages once in total "
                f"(robots.txt once per worker: {served.get('/robots.txt', 0)})")  # fmt: skip
    ok &= check(left == 0, "the shared queue was drained")
    print()
    timings.show()
    say(
        f"  the site served its pages in {single_span:.1f} s to 1 process, {shared_span:.1f} s to {args.workers}: "
        f"{single_span / shared_span:.2f}×; most requests in flight at once: {single_most} vs {shared_most} (one per "
        f"worker: the site sees {args.workers}× the concurrency). The rest of the wall time is start-up, an idle "
        f"worker's 5 s engine heartbeat before it looks at the queue again, and the "
        f"{shared.get('MAX_IDLE_TIME_BEFORE_CLOSE', 0)} s idle wait before closing"
    )
    return finish(work, ok, args.keep, "step 2 (scrapy-redis: one crawl's request queue shared by worker processes)")


if __name__ == "__main__":
    raise SystemExit(main())
