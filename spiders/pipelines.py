"""Item pipeline: counts what each field lacks, never drops a record.

Whether a record becomes a listing or a reject is decided by `ingest`, where the reasons are stored. Here we only
measure, so that a directory whose page shape changed shows up as a jump in `<field>/missing`, not as silence.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from scrapy.crawler import Crawler

from schemas.raw import RawListing

# Fields whose absence an operator watches per source.
WATCHED_FIELDS: tuple[str, ...] = (
    "source_id",
    "name",
    "schedules",
    "street",
    "address",
    "city",
    "postal_code",
    "latitude",
    "phone",
    "email",
    "website",
    "conference_url",
)


class RawListingPipeline:
    def __init__(self, crawler: Crawler) -> None:
        assert crawler.stats is not None
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RawListingPipeline:
        return cls(crawler)

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        for field in WATCHED_FIELDS:
            if item.get(field) in (None, "", [], {}):
                self.stats.inc_value(f"peergroups/field/{field}/missing")
        try:
            RawListing.model_validate(item)
        except ValidationError as error:
            self.stats.inc_value("peergroups/item/invalid")
            for problem in error.errors():
                field = ".".join(str(part) for part in problem["loc"][:1]) or "item"
                self.stats.inc_value(f"peergroups/field/{field}/invalid")
        return item
