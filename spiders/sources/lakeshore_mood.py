"""Lakeshore Mood & Family Alliance (fictional demo directory): a Meeting Guide feed with a code of its own.

Its feed marks online groups "V" (virtual) instead of Meeting Guide's "ONL"; this class translates the code.
The feed address comes from the registry (the demo serves it locally).
"""

from __future__ import annotations

from typing import Any

from scrapy.http import Response

from spiders.platforms.meeting_guide import MeetingGuideSpider


class LakeshoreMoodSpider(MeetingGuideSpider):
    name = "lakeshore_mood"
    source = "lakeshore_mood"
    country = "US"

    def post_process_item(self, item: dict[str, Any], record: Any, response: Response) -> dict[str, Any] | None:
        item["types"] = ["ONL" if code == "V" else code for code in item.get("types", [])]
        return item
