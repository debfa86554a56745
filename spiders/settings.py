"""Scrapy settings: polite defaults for public directories run by small charities.

Every setting here changes Scrapy's behaviour; the politeness ones can be overridden per source in the registry.
"""

import os

BOT_NAME = "peergroups"
SPIDER_MODULES = ["spiders.platforms", "spiders.sources"]
NEWSPIDER_MODULE = "spiders.sources"

# An honest user agent that says who we are and where to complain. Operators set PEERGROUPS_CONTACT_URL to a page
# (or mailto:) of their own, so directory owners can reach whoever runs the crawl.
CONTACT_URL = os.environ.get("PEERGROUPS_CONTACT_URL", "https://peergroups.example.org/crawler")
USER_AGENT = f"peergroups/0.1 (+{CONTACT_URL}; directory of peer-support groups)"

ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_ENABLED = True
RETRY_TIMES = 3
DOWNLOAD_TIMEOUT = 60  # for the whole response: a page that never ends is cut off after this long
# Scrapy's own limit is 1 GB held in memory, per response: a page streaming junk fast, or a runaway export, took a
# crawl to 1.1 GB (and a 512 MB feed to 3 GB and minutes of parsing) before failing. The largest real feeds (a BMLT
# root server's whole dump, a statewide HSDS package's services.csv) are tens of MB, so cap well above them.
DOWNLOAD_MAXSIZE = 128 * 1024 * 1024
DOWNLOAD_WARNSIZE = 32 * 1024 * 1024

# Re-crawls ask "has it changed?" (If-Modified-Since / If-None-Match) instead of downloading every page again.
# The cache lives beside the warehouse; `flows.crawl` turns it on with HTTPCACHE_DIR, so an ad hoc crawl from any
# folder leaves no cache behind.
HTTPCACHE_ENABLED = False
# Scrapy's RFC2616Policy and cache middleware answer for a site that is down (5xx, timeout, reset) with the stored
# copy, so a dead directory would look healthy and its listings never go stale: ours report the failure instead.
HTTPCACHE_POLICY = "spiders.middlewares.ConditionalOnlyPolicy"
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.httpcache.HttpCacheMiddleware": None,
    "spiders.middlewares.ErrorsVisibleHttpCacheMiddleware": 900,
    # Text declared UTF-8 that is not (Latin-1 bytes) would otherwise reach the warehouse as U+FFFD.
    "spiders.middlewares.RepairMisdeclaredUtf8": 950,
}

ITEM_PIPELINES = {
    "spiders.pipelines.RawListingPipeline": 100,
}

# Stay quiet on stderr except for what an operator must see; the crawl's stats are written beside its output.
LOG_LEVEL = "INFO"
TELNETCONSOLE_ENABLED = False
# Scrapy 2.19 starts an HTTP endpoint that runs code sent to it; a scheduled crawler must not listen on a port.
REMOTE_CONTROL_ENABLED = False
FEED_EXPORT_ENCODING = "utf-8"
