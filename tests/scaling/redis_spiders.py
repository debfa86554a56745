"""Platform spiders that share one crawl across worker processes (docs/scaling.md step 2), for `redis_crawl`.

scrapy-redis's scheduler and duplicate filter are settings, but a plain spider closes as soon as ITS scheduler is
empty: a second worker that starts while the first holds the only pending request ends with nothing, and
`SCHEDULER_IDLE_BEFORE_CLOSE` (a blocking Redis pop) stalls Twisted's reactor instead (measured: 232 s instead of
5 s for 211 pages). scrapy-redis's own `RedisMixin` keeps an idle spider open (raising `DontCloseSpider` on the
idle signal) until it has been idle for `MAX_IDLE_TIME_BEFORE_CLOSE` seconds. These classes put that mixin in front
of the unchanged platform spiders; the start URLs still come from `-a url=...` (the platform's own `start()`), and
the shared duplicate filter drops the copies every worker schedules.

Loaded with `-s SPIDER_MODULES=spiders.platforms,spiders.sources,tests.scaling.redis_spiders`.
"""

from __future__ import annotations

import time
from typing import Any

from scrapy.crawler import Crawler
from scrapy_redis.spiders import RedisMixin

from spiders.platforms.jsonld import JsonLdSpider


class SharedJsonLdSpider(RedisMixin, JsonLdSpider):
    name = "jsonld_shared"

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SharedJsonLdSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.setup_redis(crawler)
        # Idle time counts from this worker's start, not from when the module was imported.
        spider.spider_idle_start_time = int(time.time())
        return spider
