"""Downloader middleware that keeps a directory's faults visible and its text readable (wired in spiders/settings.py).

- The HTTP cache asks "has it changed?" but never answers for a site that is down. Scrapy's RFC 2616 policy serves
  the stored copy when the site answers 5xx, and its middleware serves it when the download fails (timeout, reset,
  refused): the crawl then looks healthy, the run reports `ok`, and the source's listings are confirmed as seen
  again, so a dead directory's groups would never go stale. Here a 5xx or a failed download stays a failure.
- A page or feed declared UTF-8 whose bytes are not UTF-8 (Latin-1 from an old CMS, a record pasted from Word)
  would be decoded with U+FFFD for each accented letter, and those mangled names would replace good ones in the
  warehouse. Bytes that are not UTF-8 are read as Windows-1252 instead, and the repair is counted.
"""

from __future__ import annotations

import codecs
import logging

from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.httpcache import HttpCacheMiddleware
from scrapy.extensions.httpcache import RFC2616Policy
from scrapy.http import Request, Response, TextResponse
from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


class ConditionalOnlyPolicy(RFC2616Policy):
    """RFC 2616 caching, except that a server error is reported, not papered over with the stored copy."""

    def is_cached_response_valid(self, cachedresponse: Response, response: Response, request: Request) -> bool:
        return response.status == 304


class ErrorsVisibleHttpCacheMiddleware(HttpCacheMiddleware):
    """Scrapy's cache middleware, minus serving the stored copy when a download fails."""

    def process_exception(self, request: Request, exception: Exception) -> None:  # type: ignore[override]
        request.meta.pop("cached_response", None)  # retried requests look the cache up again
        return None


def _cp1252_for_bad_bytes(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    bad = error.object[error.start : error.end]
    return bytes(bad).decode("cp1252", errors="replace"), error.end


codecs.register_error("peergroups-cp1252", _cp1252_for_bad_bytes)


class RepairMisdeclaredUtf8:
    """A text response declared (or taken to be) UTF-8 that is not: its stray bytes are read as Windows-1252."""

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RepairMisdeclaredUtf8:
        assert crawler.stats is not None
        return cls(crawler.stats)

    def process_response(self, request: Request, response: Response) -> Response:
        if not isinstance(response, TextResponse):
            return response
        try:
            if codecs.lookup(response.encoding).name != "utf-8":
                return response
        except LookupError:
            return response  # an encoding Python does not know: left to Scrapy, as before
        try:
            response.body.decode("utf-8")
        except UnicodeDecodeError:
            text = response.body.decode("utf-8", errors="peergroups-cp1252")
            self.stats.inc_value("peergroups/encoding/repaired")
            logger.warning("%s is declared UTF-8 but is not; its other bytes were read as Windows-1252", response.url)
            return response.replace(body=text.encode("utf-8"), encoding="utf-8")
        return response
