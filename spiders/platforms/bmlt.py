"""BMLT (Basic Meeting List Toolbox) root servers: the JSON semantic interface, one request a server.

`{root}client_interface/json/?switcher=GetSearchResults` returns every meeting the server holds as a JSON array.
Weekdays are 1 = Sunday … 7 = Saturday; `start_time` and `duration_time` are "HH:MM:SS"; `venue_type` is 1 in
person, 2 virtual, 3 hybrid; `formats` is a comma list of the server's format keys. NA service bodies publish
this way; registries give these sources the co-occurring substance-use topic.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import scrapy
from scrapy.http import Response

from spiders.platforms.base import PlatformSpider

SEARCH = "client_interface/json/?switcher=GetSearchResults"
VENUE_FORMATS = {"1": "in_person", "2": "online", "3": "hybrid"}
FIELD_MAP: dict[str, str] = {
    "meeting_name": "name",
    "comments": "description",
    "location_text": "location_name",
    "location_street": "street",
    "location_municipality": "city",
    "location_province": "region",
    "location_postal_code_1": "postal_code",
    "location_nation": "country",
    "latitude": "latitude",
    "longitude": "longitude",
    "virtual_meeting_link": "conference_url",
    "phone_meeting_number": "conference_phone",
}


class BmltSpider(PlatformSpider):
    """Start URLs are root servers (".../main_server/") or full client_interface URLs."""

    name = "bmlt"

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.start_urls:
            target = url if "client_interface" in url else urljoin(url if url.endswith("/") else url + "/", SEARCH)
            yield scrapy.Request(target, callback=self.parse_meetings, errback=self.request_failed)

    def parse_meetings(self, response: Response) -> Iterator[dict[str, Any]]:
        try:
            meetings = json.loads(response.text)
        except ValueError as error:
            self.report_source_error("not_json", f"{response.url} is not a BMLT JSON response ({error})")
            return
        if isinstance(meetings, dict) and isinstance(meetings.get("meetings"), list):
            meetings = meetings["meetings"]  # the GetSearchResults variant that also returns formats
        if not isinstance(meetings, list):
            self.report_source_error("not_a_feed", f"{response.url} is JSON but not a list of meetings")
            return
        for position, meeting in enumerate(meetings):
            if not isinstance(meeting, dict):
                yield {**self.base_item(response), "source_id": f"#{position}", "raw": meeting}
                continue
            item = self.post_process_item(self.parse_meeting(meeting, response), meeting, response)
            if item is not None:
                yield item

    def parse_meeting(self, meeting: dict[str, Any], response: Response) -> dict[str, Any]:
        item = self.base_item(response)
        item["source_id"] = str(meeting.get("id_bigint") or "")
        for key, raw_key in FIELD_MAP.items():
            value = meeting.get(key)
            if value not in (None, ""):
                item[raw_key] = value
        if meeting.get("location_info"):
            item["location_notes"] = meeting["location_info"]
        if meeting.get("virtual_meeting_additional_info"):
            item["conference_notes"] = meeting["virtual_meeting_additional_info"]
        item["format"] = VENUE_FORMATS.get(str(meeting.get("venue_type") or ""))
        item["types"] = [code.strip() for code in str(meeting.get("formats") or "").split(",") if code.strip()]
        item["schedules"] = self.schedules(meeting)
        item["raw"] = meeting
        return item

    @staticmethod
    def schedules(meeting: dict[str, Any]) -> list[dict[str, Any]]:
        weekday = str(meeting.get("weekday_tinyint") or "").strip()
        if not weekday.isdigit() or not 1 <= int(weekday) <= 7:
            return []
        start = str(meeting.get("start_time") or "").strip()
        return [
            {
                "day": int(weekday) - 1,  # BMLT 1 = Sunday; Meeting Guide 0 = Sunday
                "time": start or None,
                "end_time": _end_time(start, str(meeting.get("duration_time") or "")),
                "timezone": meeting.get("time_zone") or None,
            }
        ]


def _end_time(start: str, duration: str) -> str | None:
    """'19:00:00' + '01:30:00' → '20:30'; None when either is missing or odd (kept in `raw`)."""
    try:
        begins = datetime.strptime(start[:5], "%H:%M")
        hours, minutes = (int(part) for part in duration.split(":")[:2])
    except ValueError:
        return None
    if not (hours or minutes):
        return None
    return (begins + timedelta(hours=hours, minutes=minutes)).strftime("%H:%M")
