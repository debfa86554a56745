"""Meeting Guide JSON feeds, as published by the 12 Step Meeting List (TSML) WordPress plugin and others.

Spec (code4recovery/spec): the feed is a bare JSON array of meeting objects; `name` and `slug` are required;
`day` is 0-6 with 0 = Sunday (or an array of them, or a day name in older feeds), `time`/`end_time` are "HH:MM".
TSML serves it from `/wp-json/tsml/meetings` and `/wp-admin/admin-ajax.php?action=meetings`; a site that
restricts sharing answers 401 (admin-ajax) or 403 (REST) with a JSON error.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from spiders.platforms.base import PlatformSpider

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

    def parse_feed(self, response: Response) -> Iterator[dict[str, Any]]:
        try:
            meetings = json.loads(response.text)
        except ValueError as error:
            self.report_source_error("not_json", f"{response.url} is not a JSON feed ({error})")
            return
        if isinstance(meetings, dict) and "error" in meetings:
            # TSML answers a restricted feed with {"error": "..."} (sometimes with status 200 behind caches).
            self.report_source_error("restricted", f"{response.url} refused the feed: {meetings['error']}")
            return
        if not isinstance(meetings, list):
            self.report_source_error("not_a_feed", f"{response.url} is JSON but not a list of meetings")
            return
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
        item["types"] = meeting.get("types") or []
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


def _first(record: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = record.get(key)
        if value not in (None, ""):
            return value
    return None
