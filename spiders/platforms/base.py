"""What every platform spider shares: the source's identity and defaults, and the hooks a concrete source overrides.

A source is configured either as a subclass (class attributes) or from the registry at crawl time (spider
arguments `-a url=... -a source=... -a country=US -a topics=depression,bipolar`). Arguments win over attributes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest, ResponseDataLossError
from scrapy.http import Request, Response
from twisted.python.failure import Failure


def split_arg(value: str | Iterable[str] | None) -> list[str]:
    """Spider arguments arrive as comma-separated strings from the command line, or as lists from code."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(part).strip() for part in value if str(part).strip()]


def json_argument(value: str | dict[str, Any] | None, what: str) -> dict[str, Any]:
    """A spider argument that is a JSON object (selectors, field maps): the registry passes tables as JSON."""
    if value is None or isinstance(value, dict):
        return dict(value or {})
    parsed = json.loads(value)
    if not isinstance(parsed, dict):
        raise ValueError(f"{what} must be a JSON object, not {value!r}")
    return parsed


class PlatformSpider(scrapy.Spider):
    """Base of all platform spiders. Subclasses implement `start` and parsing; sources override the hooks."""

    # Registry name of the directory; defaults to the spider's name.
    source: str | None = None
    start_urls: ClassVar[list[str]] = []
    country: str | None = None
    default_topics: ClassVar[list[str]] = []
    default_audiences: ClassVar[list[str]] = []

    def __init__(
        self,
        *args: Any,
        url: str | None = None,
        source: str | None = None,
        country: str | None = None,
        topics: str | None = None,
        audiences: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if url:
            # Several URLs are separated by whitespace: a URL may contain commas but never spaces.
            self.start_urls = url.split() if isinstance(url, str) else list(url)
        if not getattr(self, "allowed_domains", None):
            # Stay on the registered sites: Scrapy's offsite middleware drops requests (and redirects) elsewhere.
            self.allowed_domains = sorted({urlsplit(start).hostname for start in self.start_urls} - {None})
        self.source = source or self.source or self.name
        if country:
            self.country = country.upper()
        if topics is not None:
            self.default_topics = split_arg(topics)
        if audiences is not None:
            self.default_audiences = split_arg(audiences)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.check_redirect, signal=signals.request_scheduled)
        return spider

    def check_redirect(self, request: Request, **kwargs: Any) -> None:
        """A redirect off the registered sites is dropped by Scrapy's offsite filter without a callback or an errback:
        the crawl would end "ok" with nothing, and a healthy empty crawl withdraws the source's listings. Report it."""
        redirected_from = request.meta.get("redirect_urls")
        if not redirected_from or not self.allowed_domains or request.dont_filter or request.meta.get("allow_offsite"):
            return
        if not self.on_site(request.url):
            self.report_source_error(
                "offsite",
                f"{redirected_from[0]} redirects to {request.url}, off the registered site "
                f"({', '.join(self.allowed_domains)}); not followed",
            )

    # --- hooks for concrete sources -------------------------------------------------------------------------

    def post_process_item(self, item: dict[str, Any], record: Any, response: Response) -> dict[str, Any] | None:
        """Adjust one RawListing dict built from `record`; return None to skip a record that is not a group."""
        return item

    # --- shared helpers ---------------------------------------------------------------------------------------

    def base_item(self, response: Response) -> dict[str, Any]:
        """The fields every item carries: provenance and the source's defaults."""
        return {
            "source": self.source,
            "source_url": response.url,
            "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "country": self.country,
            "topics": list(self.default_topics),
            "audiences": list(self.default_audiences),
        }

    def report_source_error(self, kind: str, message: str) -> None:
        """Record a source-level failure in the crawl stats, where the run report reads it, and log it once."""
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"peergroups/source_error/{kind}")
        self.crawler.stats.set_value("peergroups/source_error_message", message)
        self.logger.error(message)

    def on_site(self, url: str) -> bool:
        """Whether `url` is on one of the registered sites. Requests sent with `dont_filter=True` skip Scrapy's
        offsite check, so spiders that need `dont_filter` ask this first."""
        host = (urlsplit(url).hostname or "").casefold()
        return any(host == domain or host.endswith("." + domain) for domain in self.allowed_domains)

    def site_links(self, matches: Any, response: Response) -> Iterator[str]:
        """Absolute on-site http(s) URLs of matched links: an `a`, an `href` attribute already picked, or a container
        of links. Links elsewhere are skipped and counted (`peergroups/offsite_links_skipped`)."""
        for match in matches:
            if isinstance(match.root, str):
                hrefs = [match.get()]
            elif match.attrib.get("href"):
                hrefs = [match.attrib["href"]]
            else:
                hrefs = match.css("a::attr(href)").getall()
            for href in hrefs:
                url = response.urljoin(href.strip())
                if urlsplit(url).scheme not in ("http", "https"):
                    continue
                if not self.on_site(url):
                    assert self.crawler.stats is not None
                    self.crawler.stats.inc_value("peergroups/offsite_links_skipped")
                    continue
                yield url

    def report_if_nothing(self, message: str) -> None:
        """At close: a crawl that yielded nothing and reported no other error failed with `no_listings`."""
        assert self.crawler.stats is not None
        stats = self.crawler.stats
        if stats.get_value("item_scraped_count", 0):
            return
        if any(key.startswith("peergroups/source_error/") for key in stats.get_stats()):
            return
        self.report_source_error("no_listings", message)

    def request_failed(self, failure: Failure) -> None:
        """Errback: an HTTP error status, a timeout or a refused connection on a source's own URL."""
        from scrapy.spidermiddlewares.httperror import HttpError

        request = failure.request  # type: ignore[attr-defined]
        if failure.check(HttpError):
            status = failure.value.response.status
            if status in (401, 403):
                self.report_source_error(
                    "restricted", f"{request.url} answered HTTP {status}: the directory restricts this feed"
                )
            else:
                self.report_source_error("http", f"{request.url} answered HTTP {status}")
        elif failure.check(IgnoreRequest):
            # Dropped before it was sent (robots.txt, too many redirects): asking again would not help.
            reason = failure.getErrorMessage() or "ignored"
            if "robots.txt" in reason:
                self.report_source_error("robots_txt", f"{request.url} is disallowed by the site's robots.txt")
            else:
                self.report_source_error("ignored", f"{request.url} was not fetched: {reason}")
        elif failure.check(DownloadCancelledError):
            # Cut off at DOWNLOAD_MAXSIZE (a page that never ends, a runaway export): the same next time.
            limit = self.crawler.settings.getint("DOWNLOAD_MAXSIZE")
            self.report_source_error(
                "too_large", f"{request.url} is larger than the download limit of {limit / 2**20:.0f} MB; not read"
            )
        else:
            if failure.check(ResponseDataLossError):
                reason = "the connection closed before the whole response arrived"
            elif reasons := getattr(failure.value.__cause__, "reasons", None):
                # A lost connection is Twisted's list of failures (wrapped by Scrapy): their messages are readable.
                reason = "; ".join(inner.getErrorMessage() for inner in reasons)
            else:
                reason = failure.getErrorMessage() or getattr(failure.type, "__name__", str(failure.type))
            self.report_source_error("network", f"{request.url} could not be fetched: {reason}")
