"""JSON finders swept by ZIP code and radius (AFSP-style "find a group near you" backends).

A finder answers one search at a time: the groups within `radius` of one ZIP. The spider asks once per ZIP, reads
the list of results at `results_path`, maps each result's keys to RawListing's, and yields each group once however
many searches return it (deduplicated on the source's own id, `id_key`).

Configuration, as class attributes of a subclass or as spider arguments (arguments win):

- `url`: the finder's base URL (`{base}` in the template); several, space-separated, are each swept.
- `zips`: ZIP codes, comma-separated (kept as strings: leading zeros matter).
- `radius`: search radius in the finder's unit (default "50").
- `method`: "GET" (default) or "POST".
- `url_template`: the request URL, with `{base}`, `{zip}`, `{radius}` and any `params` key
  (default `{base}?zip={zip}&radius={radius}`; a static fixture can use `{base}/search-{zip}.json`).
- `params`: JSON object of further search parameters: template values for GET, body keys for POST, whose body is
  `{"zip": ..., "radius": ..., **params}` (AFSP: `{"country": "US", "type": "..."}`).
- `results_path`: dotted path to the list of results (`data.groups`; list indexes allowed; empty: the document).
- `fields`: JSON object, RawListing key → result key (dotted paths allowed, e.g. `location.city`).
- `id_key`: the result key holding the source's own id (dotted allowed); without one, a hash of the result.

The base settings (one request at a time per domain, delays, AutoThrottle, retries) keep a sweep polite.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar
from urllib.parse import quote

import scrapy
from scrapy.http import JsonRequest, Response

from spiders.platforms.base import PlatformSpider, json_argument, split_arg

DEFAULT_TEMPLATE = "{base}?zip={zip}&radius={radius}"
_MISSING = object()


def dig(document: Any, path: str) -> Any:
    """`dig({"data": {"groups": [...]}}, "data.groups")`; list indexes are numbers; `_MISSING` when absent."""
    current = document
    for part in [part for part in path.split(".") if part]:
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


class FinderSpider(PlatformSpider):
    """One request per (base URL, ZIP); one RawListing per distinct result id."""

    name = "finder"
    zips: ClassVar[list[str]] = []
    radius: str = "50"
    method: str = "GET"
    url_template: str = DEFAULT_TEMPLATE
    params: ClassVar[dict[str, Any]] = {}
    results_path: str = ""
    fields: ClassVar[dict[str, str]] = {}
    id_key: str | None = None

    def __init__(
        self,
        *args: Any,
        zips: str | list[str] | None = None,
        radius: str | int | None = None,
        method: str | None = None,
        url_template: str | None = None,
        params: str | dict[str, Any] | None = None,
        results_path: str | None = None,
        fields: str | dict[str, str] | None = None,
        id_key: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.zips = list(dict.fromkeys(split_arg(zips) if zips is not None else self.zips))
        self.radius = str(radius) if radius is not None else self.radius
        self.method = (method or self.method).upper()
        self.url_template = url_template or self.url_template
        self.params = json_argument(params, "params") if params else dict(self.params)
        self.results_path = results_path if results_path is not None else self.results_path
        self.fields = json_argument(fields, "fields") if fields else dict(self.fields)
        self.id_key = id_key or self.id_key
        self.seen_ids: set[str] = set()
        self._answers: dict[int, tuple[Response | None, list[Any]]] = {}
        self._expected = 0

    def stat(self, name: str, count: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"peergroups/finder/{name}", count)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        problem = self.config_problem()
        if problem:
            self.report_source_error("misconfigured", f"{self.source}: {problem}")
            return
        searches = [(base.rstrip("/"), zip_code) for base in self.start_urls for zip_code in self.zips]
        self._expected = len(searches)
        for order, (base, zip_code) in enumerate(searches):
            request = self.search_request(base, zip_code)
            request.meta["order"] = order
            yield request

    def config_problem(self) -> str | None:
        if not self.zips:
            return "the finder needs `zips` to sweep"
        if self.method not in ("GET", "POST"):
            return f"method {self.method!r} is neither GET nor POST"
        if not self.fields:
            return "the finder needs `fields` (RawListing key → result key)"
        return None

    def search_request(self, base: str, zip_code: str) -> scrapy.Request:
        search = {**self.params, "zip": zip_code, "radius": self.radius}
        url = self.url_template.format(base=base, **{key: quote(str(value), safe="") for key, value in search.items()})
        meta = {"zip": zip_code}
        if self.method == "POST":
            # The ZIP stays a string (leading zeros); a whole-number radius is sent as a number.
            radius: str | int = int(self.radius) if self.radius.isdigit() else self.radius
            body = {"zip": zip_code, "radius": radius, **self.params}
            return JsonRequest(url, data=body, method="POST", callback=self.parse_results, errback=self.search_failed,
                               meta=meta)  # fmt: skip
        return JsonRequest(url, callback=self.parse_results, errback=self.search_failed, meta=meta)

    def parse_results(self, response: Response) -> Iterator[dict[str, Any]]:
        self._answers[response.meta.get("order", 0)] = (response, self.read_results(response))
        yield from self._emit_when_complete()

    def search_failed(self, failure: Any) -> Iterator[dict[str, Any]]:
        self.request_failed(failure)
        self._answers[failure.request.meta.get("order", 0)] = (None, [])
        yield from self._emit_when_complete()

    def read_results(self, response: Response) -> list[Any]:
        zip_code = response.meta.get("zip")
        try:
            document = json.loads(response.text)
        except (ValueError, AttributeError) as error:
            self.report_source_error("not_json", f"{response.url} (ZIP {zip_code}) is not a JSON answer ({error})")
            return []
        results = dig(document, self.results_path)
        if results is _MISSING or results is None:
            self.stat("results_missing")  # some finders drop the key when nothing is near; a renamed key fails later
            self.logger.warning("%s (ZIP %s): nothing at %r", response.url, zip_code, self.results_path)
            return []
        if not isinstance(results, list):
            self.report_source_error("not_a_feed", f"{response.url}: {self.results_path!r} is not a list of results")
            return []
        self.stat("searches")
        self.stat("results", len(results))
        return results

    def _emit_when_complete(self) -> Iterator[dict[str, Any]]:
        """Once every search has answered, yield the results in the order the searches were given, so a group found
        by several ZIPs is credited to the first of them on every crawl, whatever order the answers came in."""
        if len(self._answers) < self._expected:
            return
        for order in sorted(self._answers):
            response, results = self._answers[order]
            for result in results:
                item = self.result_item(result, response)
                if item is not None:
                    yield item
        self._answers.clear()

    def result_item(self, result: Any, response: Response) -> dict[str, Any] | None:
        if not isinstance(result, dict):
            self.stat("not_an_object")
            return None
        source_id = self.result_id(result)
        if source_id in self.seen_ids:
            self.stat("duplicate")  # found again from a neighbouring ZIP
            return None
        self.seen_ids.add(source_id)
        item = self.base_item(response)
        item["source_id"] = source_id
        for key, result_key in self.fields.items():
            value = dig(result, result_key)
            if value is _MISSING or value in (None, "", [], {}):
                continue
            if key in ("topics", "audiences") and key in item:
                extra = value if isinstance(value, list) else [value]
                value = list(dict.fromkeys([*item[key], *(str(part) for part in extra)]))
            item[key] = value.strip() if isinstance(value, str) else value
        item["raw"] = result
        return self.post_process_item(item, result, response)

    def result_id(self, result: dict[str, Any]) -> str:
        if self.id_key:
            value = dig(result, self.id_key)
            if value is not _MISSING and value not in (None, ""):
                return str(value).strip()
            self.stat("missing_id")
        canonical = json.dumps(result, sort_keys=True, ensure_ascii=False, default=str)
        return "h" + hashlib.sha1(canonical.encode("utf-8")).hexdigest()[:16]

    def closed(self, reason: str) -> None:
        assert self.crawler.stats is not None
        searches = self.crawler.stats.get_value("peergroups/finder/searches", 0)
        self.report_if_nothing(
            f"no results at {self.results_path!r} in {searches} search(es) of {len(self.zips)} ZIP(s)"
        )
