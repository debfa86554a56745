"""Meeting Guide JSON feeds, as published by the 12 Step Meeting List (TSML) WordPress plugin and others.

Spec (code4recovery/spec): the feed is a bare JSON array of meeting objects; `name` and `slug` are required;
`day` is 0-6 with 0 = Sunday (or an array of them, or a day name in older feeds), `time`/`end_time` are "HH:MM".
TSML serves it from `/wp-json/tsml/meetings` and `/wp-admin/admin-ajax.php?action=meetings`; a site that
restricts sharing answers 401 (admin-ajax) or 403 (REST) with a JSON error.

Also read: the spreadsheet/CSV variant (a header row of plain-language names, "6:00 PM" times, type names instead
of codes, as in TSML's import template), and a site's home page, from which the feed is discovered through
`<link rel="alternate" type="application/json" title="Meetings Feed">` or, failing that, the plugin's two
endpoints.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urljoin

import scrapy
from scrapy.http import Response

from schemas.meeting_guide import type_code
from spiders.platforms.base import PlatformSpider

# The plugin's endpoints, tried in turn when a home page names no feed; relative, because WordPress may be installed
# in a folder of the site (example.org/recovery/).
TSML_ENDPOINTS = ("wp-json/tsml/meetings", "wp-admin/admin-ajax.php?action=meetings")
# Spreadsheet headers that differ from the feed's keys once lower-cased and joined with "_".
CSV_HEADERS = {"id": "slug", "address": "formatted_address", "zip": "postal_code", "meeting": "name",
               "location_name": "location", "start_time": "time"}  # fmt: skip

# Meeting Guide field → RawListing field, copied as published; normalisation cleans them.
FIELD_MAP: dict[str, str] = {
    "name": "name",
    "notes": "description",
    "location": "location_name",
    "formatted_address": "address",
    "address": "street",
    "city": "city",
    "state": "region",
    "postal_code": "postal_code",
    "latitude": "latitude",
    "longitude": "longitude",
    "approximate": "approximate",
    "phone": "phone",
    "email": "email",
    "website": "website",
    "conference_url": "conference_url",
    "conference_phone": "conference_phone",
    "attendance_option": "format",
}


class MeetingGuideSpider(PlatformSpider):
    """Reads one or more Meeting Guide feeds (`start_urls`); one RawListing per meeting object."""

    name = "meeting_guide"

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.start_urls:
            yield scrapy.Request(url, callback=self.parse_feed, errback=self.request_failed)

    def parse_feed(self, response: Response) -> Iterator[Any]:
        if self._is_csv(response):
            yield from self.parse_meetings(self.read_csv(response.text), response)
            return
        try:
            meetings = json.loads(response.text)
        except ValueError as error:
            if self._looks_like_html(response) and not response.meta.get("discovered"):
                yield from self.discover_feed(response)
                return
            self.report_source_error("not_json", f"{response.url} is not a JSON feed ({error})")
            return
        if isinstance(meetings, dict) and "error" in meetings:
            # TSML answers a restricted feed with {"error": "..."} (sometimes with status 200 behind caches).
            self.report_source_error("restricted", f"{response.url} refused the feed: {meetings['error']}")
            return
        if not isinstance(meetings, list):
            self.report_source_error("not_a_feed", f"{response.url} is JSON but not a list of meetings")
            return
        yield from self.parse_meetings(meetings, response)

    def parse_meetings(self, meetings: list[Any], response: Response) -> Iterator[dict[str, Any]]:
        for position, meeting in enumerate(meetings):
            if not isinstance(meeting, dict):
                # Still a record the source published: pass it on so ingest rejects it with a reason.
                yield {**self.base_item(response), "source_id": f"#{position}", "raw": meeting}
                continue
            item = self.parse_meeting(meeting, response)
            item = self.post_process_item(item, meeting, response)
            if item is not None:
                yield item

    def parse_meeting(self, meeting: dict[str, Any], response: Response) -> dict[str, Any]:
        item = self.base_item(response)
        item["source_id"] = _first(meeting, "slug", "id")
        if meeting.get("url"):
            # The meeting's own page on the directory is better provenance than the feed URL.
            item["source_url"] = meeting["url"]
            item["feed_url"] = response.url
        for feed_key, raw_key in FIELD_MAP.items():
            value = meeting.get(feed_key)
            if value not in (None, "", []):
                item[raw_key] = value
        if meeting.get("country"):
            item["country"] = meeting["country"]
        item["organization"] = _first(meeting, "group", "entity")
        item["types"] = [type_code(code) for code in _codes(meeting.get("types"))]
        # No day and no time is Meeting Guide's "by appointment": no schedule, never a guessed one.
        has_when = any(meeting.get(key) not in (None, "", []) for key in ("day", "time"))
        item["schedules"] = (
            [
                {
                    "day": meeting.get("day"),
                    "time": meeting.get("time"),
                    "end_time": meeting.get("end_time"),
                    "timezone": meeting.get("timezone"),
                }
            ]
            if has_when
            else []
        )
        item["raw"] = meeting
        return item

    # --- the spreadsheet variant and feed discovery ------------------------------------------------------

    @staticmethod
    def _is_csv(response: Response) -> bool:
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1").casefold()
        return "csv" in content_type or response.url.split("?")[0].casefold().endswith(".csv")

    @staticmethod
    def _looks_like_html(response: Response) -> bool:
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1").casefold()
        return "html" in content_type or response.text.lstrip()[:1] == "<"

    @staticmethod
    def read_csv(text: str) -> list[dict[str, Any]]:
        """Rows of a Meeting Guide spreadsheet as feed objects: headers become keys, blanks are left out."""
        rows = []
        for row in csv.DictReader(io.StringIO(text.lstrip("\ufeff"))):
            meeting: dict[str, Any] = {}
            for header, value in row.items():
                if header is None or value in (None, ""):
                    continue
                key = re.sub(r"[^a-z0-9]+", "_", header.strip().casefold()).strip("_")
                meeting[CSV_HEADERS.get(key, key)] = value.strip()
            rows.append(meeting)
        return rows

    def discover_feed(self, response: Response) -> Iterator[scrapy.Request]:
        """A home page instead of a feed: follow its 'Meetings Feed' link, else try the plugin's endpoints."""
        links = response.css('link[rel="alternate"][type="application/json"]')
        named = [link for link in links if "meeting" in (link.attrib.get("title") or "").casefold()]
        targets = [link.attrib["href"] for link in named if link.attrib.get("href")]
        if not targets:
            targets = [urljoin(response.url, endpoint) for endpoint in TSML_ENDPOINTS]
            self.crawler.stats.inc_value("peergroups/meeting_guide/endpoint_guess")  # type: ignore[union-attr]
        else:
            self.crawler.stats.inc_value("peergroups/meeting_guide/feed_discovered")  # type: ignore[union-attr]
        if not self.on_site(urljoin(response.url, targets[0])):
            # Scrapy's offsite filter drops it without a callback or an errback: say so, or the crawl ends "ok" with
            # nothing, and a healthy empty crawl withdraws the source's listings.
            self.report_source_error(
                "offsite",
                f"{response.url} names its Meetings Feed at {urljoin(response.url, targets[0])}, off the registered "
                f"site ({', '.join(self.allowed_domains)}); not followed",
            )
        # The first endpoint that answers with meetings wins; the others are asked only if it fails.
        yield scrapy.Request(
            urljoin(response.url, targets[0]),
            callback=self.parse_feed,
            errback=self._next_endpoint,
            meta={
                "discovered": True,
                "origin": response.url,
                "alternatives": [urljoin(response.url, url) for url in targets[1:]],
            },
        )

    def _next_endpoint(self, failure: Any) -> Iterator[scrapy.Request]:
        meta = failure.request.meta
        alternatives = meta.get("alternatives") or []
        if not alternatives:
            self.report_source_error(
                "not_json",
                f"{meta.get('origin')} is not a JSON feed, and no Meetings Feed was found from it "
                f"(last tried {failure.request.url})",
            )
            return
        yield scrapy.Request(
            alternatives[0],
            callback=self.parse_feed,
            errback=self._next_endpoint,
            meta={**meta, "alternatives": alternatives[1:]},
        )


def _codes(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [str(part).strip() for part in value if str(part).strip()]
    return [str(value)]


def _first(record: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = record.get(key)
        if value not in (None, ""):
            return value
    return None
