"""WordPress REST custom post types (`/wp-json/wp/v2/<type>`), each post enriched from its profile page.

The start URL is a collection endpoint, e.g. `https://www.example.org/wp-json/wp/v2/affiliate?per_page=100&page=1`.
Each post gives `id` → source_id, `title.rendered` → name and organization (entities are decoded later, by the
pipeline), `link` → source_url, `content.rendered` (else `excerpt.rendered`) → description, `type` → types, and the
post itself → raw. These records are organisations (a directory's affiliates), not groups.

Paging. WordPress answers with `X-WP-TotalPages` (and `X-WP-Total`): when page 1 carries the header, pages 2..N are
requested at once. Without it the spider reads page after page until one is empty, answers 404, or answers 400
`rest_post_invalid_page_number` (past the last page; quietly the end). `max_pages` (default 100) bounds both.
The address of page N is the start URL with its `page` query parameter set to N (others, like `per_page`, kept),
or the `page_url` template when given (`-a page_url=https://host/affiliate-page-{page}.json`; a static mirror such
as the tests' fixture server cannot answer query strings).

Profile pages. `link` is followed (relative links are resolved against the collection URL) and the item enriched
from a "label: value" page: inside the first element matching `profile_selector`, the innermost element matching
`label_selector` whose text is a label (`labels`: Address, Website, Email, Phone, Service Area) followed by a colon
or nothing; its value is the rest of that element's text, else the nodes after it up to the next label. A field's
own CSS selector (`-a email_selector=.contact a`, or the `field_selectors` class attribute), matched anywhere on the
page, replaces the label search for that field; the value is the matched elements' text (for email and website,
their links first). Cloudflare-protected addresses (`data-cfemail="HEX"`, `href="/cdn-cgi/l/email-protection#HEX"`) are
decoded. A profile page that fails (404, 500, network) still yields the item from the REST data, counted in
`peergroups/wordpress/profile_failed`.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import scrapy
from parsel import Selector, SelectorList
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from spiders.platforms.base import PlatformSpider

DEFAULT_MAX_PAGES = 100
PROFILE_FIELDS: tuple[str, ...] = ("address", "website", "email", "phone", "service_area")
_SPACES = re.compile(r"\s+")
_CF_PATH = "/cdn-cgi/l/email-protection#"


def decode_cfemail(encoded: str) -> str | None:
    """Cloudflare's e-mail obfuscation: hex bytes, the first the XOR key of the rest. None when it is not that."""
    encoded = encoded.strip()
    if len(encoded) < 4 or len(encoded) % 2:
        return None
    try:
        data = bytes.fromhex(encoded)
        return bytes(byte ^ data[0] for byte in data[1:]).decode("utf-8") or None
    except ValueError:
        return None


def page_address(url: str, page: int) -> str:
    """`url` with its `page` query parameter set to `page`, other parameters kept in their order."""
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key != "page"]
    query.append(("page", str(page)))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query, safe="/"), parts.fragment))


def _clean(text: str) -> str:
    return _SPACES.sub(" ", text).strip(" ,;")


def _rendered(value: Any) -> str | None:
    """A WordPress `{"rendered": ...}` field (or a plain string) as given; None when blank."""
    if isinstance(value, dict):
        value = value.get("rendered")
    return value if isinstance(value, str) and value.strip() else None


class WordPressSpider(PlatformSpider):
    name = "wordpress"

    page_url: str | None = None
    max_pages: int = DEFAULT_MAX_PAGES
    profile_selector: str = "main, article, #content, .entry-content, body"
    label_selector: str = "dt, th, strong, b, label, span, h3, h4, h5, h6, p, li, td, div"
    labels: ClassVar[dict[str, tuple[str, ...]]] = {
        "address": ("Address",),
        "website": ("Website",),
        "email": ("Email", "E-mail"),
        "phone": ("Phone",),
        "service_area": ("Service Area",),
    }
    field_selectors: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        *args: Any,
        page_url: str | None = None,
        max_pages: str | int | None = None,
        profile_selector: str | None = None,
        label_selector: str | None = None,
        **kwargs: Any,
    ) -> None:
        selectors = {
            field: kwargs.pop(f"{field}_selector") for field in PROFILE_FIELDS if f"{field}_selector" in kwargs
        }
        super().__init__(*args, **kwargs)
        self.field_selectors = {**self.field_selectors, **selectors}  # type: ignore[misc]
        if page_url:
            self.page_url = page_url
        if max_pages:
            self.max_pages = int(max_pages)
        if profile_selector:
            self.profile_selector = profile_selector
        if label_selector:
            self.label_selector = label_selector
        self.seen_ids: set[str] = set()

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.start_urls:
            yield self.page_request(url, url, 1, sequential=True)

    def stat(self, name: str, count: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"peergroups/wordpress/{name}", count)

    # --- paging ---------------------------------------------------------------------------------------------

    def page_request(self, url: str, collection: str, page: int, *, sequential: bool) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse_collection,
            errback=self.request_failed,
            cb_kwargs={"collection": collection, "page": page, "sequential": sequential},
            meta={"handle_httpstatus_list": [400, 404]},  # past the last page: the end, not a failure
        )

    def next_page(self, collection: str, page: int, *, sequential: bool) -> scrapy.Request:
        url = self.page_url.format(page=page) if self.page_url else page_address(collection, page)
        return self.page_request(url, collection, page, sequential=sequential)

    def parse_collection(self, response: Response, collection: str, page: int, sequential: bool) -> Iterator[Any]:
        try:
            data = json.loads(response.text)
        except (ValueError, AttributeError):
            data = None
        if response.status in (400, 404):
            code = data.get("code") if isinstance(data, dict) else None
            # Past the last page: WordPress says 400 rest_post_invalid_page_number; a static mirror says 404.
            if page > 1 and (code == "rest_post_invalid_page_number" or (sequential and response.status == 404)):
                self.logger.info("%s: past the last page (HTTP %d)", response.url, response.status)
                return
            self.report_source_error(
                "http", f"{response.url} answered HTTP {response.status}" + (f" {code}" if code else "")
            )
            return
        if not isinstance(data, list):
            detail = f": {data.get('code')}" if isinstance(data, dict) and data.get("code") else ""
            self.report_source_error("not_a_feed", f"{response.url} is not a WordPress REST collection{detail}")
            return
        self.stat("pages")
        total_pages = _int_header(response, "X-WP-TotalPages")
        if page == 1 and (total := _int_header(response, "X-WP-Total")) is not None:
            self.stat("reported_total", total)
        for position, post in enumerate(data):
            yield from self.post_output(post, position, response)
        if page == 1 and total_pages is not None:
            last = min(total_pages, self.max_pages)
            if total_pages > self.max_pages:
                self.logger.warning("%s has %d pages: reading %d (max_pages)", response.url, total_pages, last)
                self.stat("max_pages_reached")
            for number in range(2, last + 1):
                yield self.next_page(collection, number, sequential=False)
        elif sequential and data:
            if page < self.max_pages:
                yield self.next_page(collection, page + 1, sequential=True)
            else:
                self.logger.warning("stopped after %d pages (max_pages) at %s", page, response.url)
                self.stat("max_pages_reached")

    # --- posts ----------------------------------------------------------------------------------------------

    def post_output(self, post: Any, position: int, response: Response) -> Iterator[Any]:
        if not isinstance(post, dict):
            yield {**self.base_item(response), "source_id": f"#{position}", "raw": post}
            return
        item = self.post_item(post, response)
        if item["source_id"] and item["source_id"] in self.seen_ids:
            self.stat("repeated_posts")  # the collection changed while we paged
            return
        self.seen_ids.add(item["source_id"])
        self.stat("posts")
        if item["source_url"] == response.url:  # no `link`: nothing to enrich from
            yield from self.finish(item, post, response)
            return
        if not self.on_site(item["source_url"]):
            self.stat("offsite_profile")  # the profile lives on another site: keep the REST data only
            yield from self.finish(item, post, response)
            return
        yield scrapy.Request(
            item["source_url"],
            callback=self.parse_profile,
            errback=self.profile_failed,
            cb_kwargs={"item": item, "post": post, "page_response": response},
            dont_filter=True,
        )

    def post_item(self, post: dict[str, Any], response: Response) -> dict[str, Any]:
        item = self.base_item(response)
        item["source_id"] = str(post.get("id") or "")
        name = _rendered(post.get("title"))
        item["name"] = name
        item["organization"] = name
        link = post.get("link")
        if isinstance(link, str) and link.strip():
            item["source_url"] = response.urljoin(link.strip())
        description = _rendered(post.get("content")) or _rendered(post.get("excerpt"))
        if description:
            item["description"] = description
        item["types"] = [post["type"]] if post.get("type") else []
        item["raw"] = post
        return item

    def finish(self, item: dict[str, Any], post: Any, response: Response) -> Iterator[dict[str, Any]]:
        processed = self.post_process_item(item, post, response)
        if processed is not None:
            yield processed

    # --- profile pages --------------------------------------------------------------------------------------

    def parse_profile(
        self, response: Response, item: dict[str, Any], post: dict[str, Any], page_response: Response
    ) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            self.stat("profile_failed")
            yield from self.finish(item, post, page_response)
            return
        for field, value in self.profile_fields(response).items():
            if value:
                item[field] = value
        self.stat("profiles")
        yield from self.finish(item, post, response)

    def profile_failed(self, failure: Failure) -> Iterator[Any]:
        """A profile that cannot be read: the REST data still makes the item."""
        request = failure.request  # type: ignore[attr-defined]
        self.logger.warning("profile %s failed: %s", request.url, failure.getErrorMessage() or failure.type)
        self.stat("profile_failed")
        kwargs = request.cb_kwargs
        yield from self.finish(kwargs["item"], kwargs["post"], kwargs["page_response"])

    def profile_fields(self, response: TextResponse) -> dict[str, str | None]:
        scope = self.profile_scope(response)
        candidates: list[tuple[Selector, str]] | None = None
        values: dict[str, str | None] = {}
        for field in PROFILE_FIELDS:
            if field in self.field_selectors:
                nodes: list[Selector] = list(response.css(self.field_selectors[field]))  # anywhere on the page
            else:
                if candidates is None:
                    candidates = [(element, _clean(element.xpath("string(.)").get() or ""))
                                  for element in scope.css(self.label_selector)]  # fmt: skip
                nodes = self.labelled_value(field, candidates)
            values[field] = self.read_value(field, nodes, response)
        return values

    def profile_scope(self, response: TextResponse) -> Selector:
        """The first element matching a part of `profile_selector`, in the order the parts are given."""
        for part in self.profile_selector.split(","):
            found = response.css(part.strip())
            if found:
                return found[0]
        return response.selector

    def label_of(self, text: str) -> tuple[str, str] | None:
        """(field, rest of the text) when `text` starts with a label followed by a colon or by nothing."""
        for field, words in self.labels.items():
            for word in words:
                if text[: len(word)].casefold() == word.casefold():
                    rest = text[len(word) :].strip()
                    if not rest or rest.startswith(":"):
                        return field, rest.lstrip(":").strip()
        return None

    def labelled_value(self, field: str, candidates: list[tuple[Selector, str]]) -> list[Selector]:
        """The value nodes of the innermost element labelled for `field` (`<p><strong>Phone:</strong>` → strong)."""
        matches = [element for element, text in candidates if (found := self.label_of(text)) and found[0] == field]
        for element in matches:
            if any(_contains(element, other) for other in matches if other is not element):
                continue
            label = self.label_of(_clean(element.xpath("string(.)").get() or ""))
            if label and label[1]:
                return [element]  # "Phone: 555-0100" in one element: the value is inside it
            current: Selector | None = element
            for _ in range(3):  # `<div><span>Phone</span></div><div>555-0100</div>`: climb to the value's level
                if current is None:
                    break
                nodes = self.following_value(current)
                if self.node_text(nodes) or SelectorList(nodes).xpath("descendant-or-self::*[@href or @data-cfemail]"):
                    return nodes
                parents = current.xpath("..")
                current = parents[0] if parents else None
            return []
        return []

    def following_value(self, label: Selector) -> list[Selector]:
        """The nodes after a label, up to the next element that is itself a label."""
        nodes: list[Selector] = []
        for node in label.xpath("following-sibling::node()"):
            if not isinstance(node.root, str) and self.label_of(_clean(node.xpath("string(.)").get() or "")):
                break
            nodes.append(node)
        return nodes

    def read_value(self, field: str, nodes: list[Selector], response: TextResponse) -> str | None:
        elements = SelectorList(node for node in nodes if not isinstance(node.root, str))
        if field == "email":
            for encoded in elements.xpath("descendant-or-self::*/@data-cfemail").getall():
                if decoded := decode_cfemail(encoded):
                    return decoded
            for href in elements.xpath("descendant-or-self::a/@href").getall():
                if _CF_PATH in href and (decoded := decode_cfemail(href.split("#", 1)[1])):
                    return decoded
                if href.strip().lower().startswith("mailto:"):
                    return href.strip()[7:].split("?", 1)[0].strip() or None
        if field == "website":
            for href in elements.xpath("descendant-or-self::a/@href").getall():
                if href.strip() and not href.strip().lower().startswith(("mailto:", "tel:", "#", "javascript:")):
                    return response.urljoin(href.strip())
        text = self.node_text(nodes)
        label = self.label_of(text)
        return (label[1] if label else text) or None

    @staticmethod
    def node_text(nodes: list[Selector]) -> str:
        """The nodes' text on one line, a `<br>` read as a comma."""
        parts: list[str] = []
        for node in nodes:
            if isinstance(node.root, str):
                parts.append(node.root)
                continue
            for piece in node.xpath(
                "descendant-or-self::text()[not(ancestor::script or ancestor::style)] | descendant-or-self::br"
            ):
                parts.append(piece.root if isinstance(piece.root, str) else ", ")
        text = _SPACES.sub(" ", "".join(parts))
        return re.sub(r"\s*,(?:\s*,)*\s*", ", ", text).strip(" ,;")


def _contains(outer: Selector, inner: Selector) -> bool:
    """Whether `inner` lies inside `outer`."""
    target = inner.root
    return hasattr(target, "iterancestors") and any(ancestor is outer.root for ancestor in target.iterancestors())


def _int_header(response: Response, name: str) -> int | None:
    value = response.headers.get(name)
    if value is None:
        return None
    try:
        return int(value.decode("latin-1").strip())
    except ValueError:
        return None
