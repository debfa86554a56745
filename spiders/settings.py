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
DOWNLOAD_TIMEOUT = 60

# Re-crawls ask "has it changed?" (If-Modified-Since / If-None-Match) instead of downloading every page again.
# The cache lives beside the warehouse; `flows.crawl` turns it on with HTTPCACHE_DIR, so an ad hoc crawl from any
# folder leaves no cache behind.
HTTPCACHE_ENABLED = False
HTTPCACHE_POLICY = "scrapy.extensions.httpcache.RFC2616Policy"
HTTPCACHE_IGNORE_HTTP_CODES = [500, 502, 503, 504, 408, 429]

ITEM_PIPELINES = {
    "spiders.pipelines.RawListingPipeline": 100,
}

# Stay quiet on stderr except for what an operator must see; the crawl's stats are written beside its output.
LOG_LEVEL = "INFO"
TELNETCONSOLE_ENABLED = False
# Scrapy 2.19 starts an HTTP endpoint that runs code sent to it; a scheduled crawler must not listen on a port.
REMOTE_CONTROL_ENABLED = False
FEED_EXPORT_ENCODING = "utf-8"
