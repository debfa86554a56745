"""Selector-configured HTML directories: list pages → pagination → optional detail pages (DBSA-style).

A directory publishes one block per group on server-rendered list pages (DBSA: `div.groupInfo` with
`.groupInfo__name`, `.groupInfo__location`, …). The spider is told, by selectors, where a block is, where each field
sits inside it, where the next page is and, optionally, which link leads to a detail page that says more.

Configuration, as class attributes of a subclass or as spider arguments (arguments win):

- `item`: CSS for one listing block on a list page.
- `fields`: RawListing key → selector relative to the block (JSON object when given as an argument).
- `next_page`: CSS for the pagination link(s).
- `detail`: CSS for a link inside the block to the group's detail page (optional).
- `detail_fields`: RawListing key → selector on the detail page; a value found there replaces the list page's.
- `follow`: CSS for links to more list pages (a state index → the state pages); read like `next_page`.
- `selectors`: all of the above as one JSON object (`{"item": ..., "fields": {...}, ...}`); single arguments win.
- `max_pages`: at most this many pages are requested (default 500).

A selector is CSS unless it starts with `xpath:`, `/`, `./` or `(`. An element gives its text with whitespace
collapsed; `mailto:`/`tel:` links give their address or number; a link selected for `website` or `conference_url`
gives its absolute URL; an attribute selector (`::attr(data-id)`, `@data-id`) gives the attribute.

`source_id` is the configured `source_id` field (e.g. `::attr(data-id)`), else a stable hash of (name, address),
never the position. A block seen before (a regional chapter repeats on every state page it serves) is yielded once.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar
from urllib.parse import unquote

import scrapy
from parsel import Selector, SelectorList
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from spiders.platforms.base import PlatformSpider, json_argument

DEFAULT_MAX_PAGES = 500
# Fields that hold one value: the first match is taken, not all of them joined.
SINGLE_FIELDS = frozenset({"source_id", "email", "phone", "website", "conference_url", "conference_phone",
                           "latitude", "longitude", "postal_code"})  # fmt: skip
URL_FIELDS = frozenset({"website", "conference_url"})
LIST_FIELDS = frozenset({"topics", "audiences", "types"})
_XPATH_STARTS = ("/", "./", "(")


def select(node: Selector | TextResponse, selector: str) -> SelectorList[Selector]:
    """CSS by default; XPath when written `xpath:...` or starting like an XPath expression."""
    if selector.startswith("xpath:"):
        return node.xpath(selector[len("xpath:") :])
    if selector.startswith("css:"):
        return node.css(selector[len("css:") :])
    if selector.startswith(_XPATH_STARTS):
        return node.xpath(selector)
    return node.css(selector)


def collapse(value: str | None) -> str:
    return " ".join((value or "").split())


def node_text(node: Selector) -> str:
    """An element's text, whitespace collapsed (`<br>` and tags become spaces); scripts and styles left out."""
    if isinstance(node.root, str):
        return collapse(node.root)
    parts = node.xpath(".//text()[not(ancestor::script) and not(ancestor::style)]").getall()
    return collapse(" ".join(parts))


def node_value(node: Selector, key: str, response: Response) -> str:
    """The value one matched node gives for field `key` (see the module docstring)."""
    if isinstance(node.root, str):
        value = collapse(node.root)
    else:
        href = (node.attrib.get("href") or "").strip()
        if not href:
            inner = node.css("a[href^='mailto:'], a[href^='tel:']") if key in ("email", "phone") else None
            href = (inner[0].attrib.get("href") or "").strip() if inner else ""
        lowered = href.lower()
        if lowered.startswith("mailto:") and key != "phone":
            return collapse(unquote(href[len("mailto:") :].split("?", 1)[0]))
        if lowered.startswith("tel:") and key != "email":
            return collapse(unquote(href[len("tel:") :]))
        if key in URL_FIELDS and href and not lowered.startswith(("javascript:", "#")):
            return response.urljoin(href)
        value = node_text(node)
    return value


def extract_fields(
    node: Selector | TextResponse, selectors: dict[str, str], response: Response, skip: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """RawListing key → value for every selector that matches something non-empty."""
    values: dict[str, Any] = {}
    for key, selector in selectors.items():
        if key in skip or not selector:
            continue
        found = [value for value in (node_value(match, key, response) for match in select(node, selector)) if value]
        found = list(dict.fromkeys(found))
        if not found:
            continue
        if key in LIST_FIELDS:
            values[key] = found
        elif key in SINGLE_FIELDS:
            values[key] = found[0]
        else:
            values[key] = " ".join(found)
    return values


def stable_id(values: dict[str, Any], fallback: str) -> str:
    """A hash of (name, address, schedule words) — case and spacing ignored — so a block keeps its id wherever it
    appears, and two groups of one name at one venue on different days stay two."""
    name, address, when = (
        collapse(str(values.get(key) or "")).casefold() for key in ("name", "address", "schedule_text")
    )
    basis = f"{name}\x1f{address}\x1f{when}" if name or address else f"\x1e{collapse(fallback).casefold()}"
    return "h" + hashlib.sha1(basis.encode("utf-8")).hexdigest()[:16]


class HtmlDirectorySpider(PlatformSpider):
    """List pages of `item` blocks, followed through `next_page`, enriched from `detail` pages."""

    name = "html_directory"
    item: str | None = None
    fields: ClassVar[dict[str, str]] = {}
    next_page: str | None = None
    detail: str | None = None
    detail_fields: ClassVar[dict[str, str]] = {}
    follow: str | None = None

    def __init__(
        self,
        *args: Any,
        selectors: str | dict[str, Any] | None = None,
        item: str | None = None,
        fields: str | dict[str, str] | None = None,
        next_page: str | None = None,
        detail: str | None = None,
        detail_fields: str | dict[str, str] | None = None,
        follow: str | None = None,
        max_pages: str | int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        bundle = json_argument(selectors, "selectors")
        self.item = item or bundle.get("item") or self.item
        self.fields = json_argument(fields, "fields") if fields else dict(bundle.get("fields") or self.fields)
        self.next_page = next_page or bundle.get("next_page") or self.next_page
        self.detail = detail or bundle.get("detail") or self.detail
        self.detail_fields = (
            json_argument(detail_fields, "detail_fields")
            if detail_fields
            else dict(bundle.get("detail_fields") or self.detail_fields)
        )
        self.follow = follow or bundle.get("follow") or self.follow
        self.max_pages = int(max_pages or bundle.get("max_pages") or DEFAULT_MAX_PAGES)
        self.pages_requested = 0
        self.seen_ids: set[str] = set()
        self.blocks_read = 0
        self.field_hits: Counter[str] = Counter()  # field → blocks its list-page selector matched in

    def stat(self, name: str, count: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"peergroups/html/{name}", count)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if not self.item or not self.fields:
            self.report_source_error("misconfigured", f"{self.source}: html_directory needs `item` and `fields`")
            return
        for url in self.start_urls:
            self.pages_requested += 1
            yield scrapy.Request(url, callback=self.parse_list, errback=self.request_failed)

    # --- list pages -------------------------------------------------------------------------------------------

    def parse_list(self, response: Response) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            self.stat("not_html")
            return
        assert self.item is not None
        self.stat("pages")
        blocks = select(response, self.item)
        if not blocks:
            self.stat("empty_page")
            self.logger.warning("%s: no block matches %r", response.url, self.item)
        for block in blocks:
            yield from self.parse_block(block, response)
        for selector in (self.next_page, self.follow):
            if selector:
                yield from self.list_links(response, selector)

    def parse_block(self, block: Selector, response: TextResponse) -> Iterator[Any]:
        values = extract_fields(block, self.fields, response)
        self.blocks_read += 1
        self.field_hits.update(values)
        source_id = str(values.pop("source_id", "") or "") or stable_id(values, node_text(block))
        if source_id in self.seen_ids:
            self.stat("duplicate")  # a regional chapter listed again on another state's page
            return
        self.seen_ids.add(source_id)
        item = self.base_item(response)
        item["source_id"] = source_id
        self.apply(item, values)
        item["raw"] = {"fields": values, "text": node_text(block)}
        detail_url = self.detail_url(block, response) if self.detail else None
        if detail_url:
            self.stat("detail_requests")
            yield scrapy.Request(
                detail_url,
                callback=self.parse_detail,
                errback=self.detail_failed,
                cb_kwargs={"item": item, "block": block, "list_page": response},
                dont_filter=True,  # two groups may share a detail page; repeats are already caught by source_id
            )
            return
        processed = self.post_process_item(item, block, response)
        if processed is not None:
            yield processed

    def list_links(self, response: TextResponse, selector: str) -> Iterator[scrapy.Request]:
        for url in self.links(select(response, selector), response):
            if self.pages_requested >= self.max_pages:
                self.stat("max_pages_reached")
                return
            self.pages_requested += 1
            yield scrapy.Request(url, callback=self.parse_list, errback=self.request_failed)

    def links(self, matches: SelectorList[Selector], response: TextResponse) -> Iterator[str]:
        """Absolute same-site http(s) URLs of the matched links (an `a`, an `href` attribute, or a container)."""
        yield from self.site_links(matches, response)

    # --- detail pages -----------------------------------------------------------------------------------------

    def detail_url(self, block: Selector, response: TextResponse) -> str | None:
        assert self.detail is not None
        return next(self.links(select(block, self.detail), response), None)

    def parse_detail(
        self, response: Response, item: dict[str, Any], block: Selector, list_page: TextResponse
    ) -> Iterator[dict[str, Any]]:
        if isinstance(response, TextResponse):
            values = extract_fields(response, self.detail_fields, response, skip=frozenset({"source_id"}))
            self.apply(item, values)
            item["raw"]["detail_fields"] = values
            item["source_url"] = response.url
        else:
            self.stat("detail_not_html")
        processed = self.post_process_item(item, block, list_page)
        if processed is not None:
            yield processed

    def detail_failed(self, failure: Failure) -> Iterator[dict[str, Any]]:
        """The list page's item still counts: yield it without the detail page's fields."""
        request = failure.request  # type: ignore[attr-defined]
        self.stat("detail_failed")
        self.logger.warning("detail page %s failed: %s", request.url, failure.getErrorMessage() or failure.type)
        item = request.cb_kwargs["item"]
        processed = self.post_process_item(item, request.cb_kwargs["block"], request.cb_kwargs["list_page"])
        if processed is not None:
            yield processed

    # --- helpers ----------------------------------------------------------------------------------------------

    @staticmethod
    def apply(item: dict[str, Any], values: dict[str, Any]) -> None:
        for key, value in values.items():
            if key in ("topics", "audiences"):
                item[key] = list(dict.fromkeys([*item.get(key, []), *value]))
            else:
                item[key] = value

    def closed(self, reason: str) -> None:
        assert self.crawler.stats is not None
        pages = self.crawler.stats.get_value("peergroups/html/pages", 0)
        self.report_if_nothing(f"no listing block matching {self.item!r} in {pages} page(s)")
        self.report_lost_fields()

    def report_lost_fields(self) -> None:
        """Blocks still match but the fields inside them do not (a redesign renamed them). The items carry no names
        and new ids, so a healthy-looking crawl would withdraw all the source's listings: report the layout change,
        which fails the crawl (`flows.crawl.judge`), so the source's earlier listings stay."""
        if not self.blocks_read:
            return
        name = self.fields.get("name")
        if name and not self.field_hits["name"]:
            self.report_source_error(
                "layout_changed",
                f"the page layout changed: the name selector {name!r} matched none of {self.blocks_read} blocks",
            )
        elif not self.field_hits:
            self.report_source_error(
                "layout_changed", f"the page layout changed: no field selector matched in {self.blocks_read} blocks"
            )
