"""A local HTTP server on 127.0.0.1 whose directories can be switched, one at a time, from healthy to faulty.

Every *site* (a path prefix, `/<site>/`) serves a small healthy directory in three shapes: a Meeting Guide feed
(`/<site>/feed.json`), a DBSA-style HTML list page (`/<site>/groups.html`) and a page of schema.org JSON-LD
(`/<site>/events.html`). `server.faults[site] = "<fault>"` makes the same URLs misbehave, the way a real directory
breaks between two crawls; `server.faults.pop(site)` heals it. The faults are in `FAULTS`.

The registered domain is the host of a source's start URL, `127.0.0.1`; `localhost` names the same server under
another host name, so a redirect there leaves the registered domain without needing DNS (`/offsite/feed.json`
serves meetings that must never be read).
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Four groups, fewer than the warehouse's sharp-drop threshold (10), so only the crawl's own judgement protects a
# source's earlier listings: nothing downstream would notice 0 items from a source that used to list 4. Names carry
# non-ASCII letters so a wrong decoding shows.
MEETINGS: list[dict[str, Any]] = [
    {"name": "Café Mood Support Group", "slug": "cafe-mood", "day": 1, "time": "19:00", "end_time": "20:30",
     "location": "Grange Hall", "formatted_address": "120 Oak Grove Road, Millbrook, NC 27601, USA",
     "phone": "(919) 555-0101", "types": ["O"]},
    {"name": "Grupo de Apoyo Mañana", "slug": "grupo-manana", "day": 3, "time": "10:00", "end_time": "11:30",
     "location": "Iglesia San José", "formatted_address": "44 Main Street, Millbrook, NC 27601, USA",
     "phone": "(919) 555-0102", "types": ["O", "S"]},
    {"name": "Zoë's Anxiety Circle", "slug": "zoe-anxiety", "day": 4, "time": "18:00", "end_time": "19:00",
     "location": "Library Room B", "formatted_address": "9 Elm Street, Fairview, NC 27610, USA",
     "phone": "(919) 555-0103", "types": ["C"]},
    {"name": "Naïve Beginnings Family Group", "slug": "naive-family", "day": 6, "time": "09:30", "end_time": "11:00",
     "location": "Community Center", "formatted_address": "300 Pine Avenue, Fairview, NC 27610, USA",
     "phone": "(919) 555-0104", "types": ["O"]},
]  # fmt: skip
OFFSITE_MEETINGS: list[dict[str, Any]] = [
    {"name": "Offsite Trap Group", "slug": "offsite-trap", "day": 2, "time": "12:00",
     "formatted_address": "1 Elsewhere Road, Nowhere, NC 27601, USA", "phone": "(919) 555-0199"},
]  # fmt: skip

# The html_directory selectors a source registers for the list page (DBSA's markup).
HTML_SELECTORS: dict[str, Any] = {
    "item": "div.groupInfo",
    "fields": {
        "source_id": "::attr(data-id)",
        "name": ".groupInfo__name",
        "address": ".groupInfo__location",
        "schedule_text": ".groupInfo__meets",
        "phone": ".groupInfo__phone",
    },
}
DAYS = ["Sundays", "Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays"]

# Fault name → which of the site's pages it is meant for ("feed", "html", "jsonld"). Transport faults (statuses,
# hangs, resets, streams, redirects, robots.txt) hit any page; content faults are shaped for one kind of page.
FAULTS: dict[str, str] = {
    "http_500": "feed",  # the server errs
    "timeout": "feed",  # accepts the connection, reads the request, never answers
    "connection_reset": "feed",  # reads the request, then resets the connection (RST)
    "truncated_json": "feed",  # a complete HTTP response whose JSON stops half-way (a PHP fatal error mid-output)
    "truncated_transfer": "feed",  # Content-Length promises the whole feed; the connection closes half-way
    "invalid_json": "feed",  # single quotes, trailing commas
    "layout_changed": "html",  # a redesign: no block matches the registered `item` selector any more
    "fields_renamed": "html",  # blocks still match, but their fields (and ids) moved to new class names
    "jsonld_removed": "jsonld",  # the structured data was dropped from the pages
    "endless_trickle": "feed",  # a body that never ends, a few bytes at a time
    "endless_flood": "feed",  # a body that never ends, as fast as the socket takes it
    "huge": "feed",  # a 512 MB feed, declared in Content-Length (half Scrapy's own 1 GB limit)
    "latin1_as_utf8": "feed",  # Latin-1 bytes served as `charset=utf-8`
    "utf16_undeclared": "feed",  # UTF-16 (no BOM) with no charset
    "offsite_redirect": "feed",  # 302 to another host name
    "robots_forbidden": "feed",  # robots.txt now disallows the site's path
}
HUGE_SIZE = 512 * 1024 * 1024


def feed_json(meetings: list[dict[str, Any]] = MEETINGS) -> str:
    return json.dumps(meetings, ensure_ascii=False, indent=1)


def groups_html(layout: str = "dbsa") -> str:
    """The HTML list page: DBSA's markup, a redesigned one (`cards`), or DBSA's blocks with renamed fields."""
    blocks = []
    for meeting in MEETINGS:
        when = f"{DAYS[meeting['day']]}, {meeting['time']} – {meeting['end_time']}"
        where = f"{meeting['location']}, {meeting['formatted_address'].removesuffix(', USA')}"
        if layout == "cards":
            blocks.append(
                f'<article class="group-card" data-group="{meeting["slug"]}"><h2 class="group-card__title">'
                f'{meeting["name"]}</h2><p class="group-card__where">{where}</p><p class="group-card__when">{when}'
                f'</p><p class="group-card__tel">{meeting["phone"]}</p></article>'
            )
        elif layout == "renamed":
            blocks.append(
                f'<div class="groupInfo" data-group="{meeting["slug"]}"><h3 class="groupInfo__title">'
                f'{meeting["name"]}</h3><p class="groupInfo__address">{where}</p><p class="groupInfo__schedule">'
                f'{when}</p><p class="groupInfo__tel">{meeting["phone"]}</p></div>'
            )
        else:
            blocks.append(
                f'<div class="groupInfo" data-id="{meeting["slug"]}"><h3 class="groupInfo__name">{meeting["name"]}'
                f'</h3><p class="groupInfo__location">{where}</p><p class="groupInfo__meets">{when}</p>'
                f'<p class="groupInfo__phone">{meeting["phone"]}</p></div>'
            )
    body = "\n".join(blocks)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Find a support group</title></head>'
        f'<body><main class="groupList"><h1>Support groups</h1>\n{body}\n</main></body></html>'
    )


def events_html(structured: bool = True) -> str:
    """A page of schema.org Events (one per group); without `structured`, the same page with the JSON-LD gone."""
    day_names = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    events = [
        {
            "@type": "Event",
            "@id": f"#{meeting['slug']}",
            "name": meeting["name"],
            "location": {"@type": "Place", "name": meeting["location"], "address": meeting["formatted_address"]},
            "eventSchedule": {
                "@type": "Schedule",
                "repeatFrequency": "P1W",
                "byDay": f"https://schema.org/{day_names[meeting['day']]}",
                "startTime": meeting["time"],
                "endTime": meeting["end_time"],
            },
        }
        for meeting in MEETINGS
    ]
    script = (
        '<script type="application/ld+json">'
        + json.dumps({"@context": "https://schema.org", "@graph": events}, ensure_ascii=False)
        + "</script>"
        if structured
        else ""
    )
    items = "".join(f"<li>{meeting['name']}: {meeting['formatted_address']}</li>" for meeting in MEETINGS)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Our groups</title>{script}</head>'
        f"<body><ul>{items}</ul></body></html>"
    )


class FaultServer(ThreadingHTTPServer):
    """A threading server with a large backlog (a crawl opens connections faster than the default 5 allows)."""

    request_queue_size = 256
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), FaultHandler)
        self.faults: dict[str, str] = {}  # site → fault; a site not here is healthy
        self.hits: Counter[str] = Counter()  # "host path" → requests, to check what a crawl asked for
        self.stopping = threading.Event()  # releases handlers that hang or stream forever

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def offsite_url(self) -> str:
        """The same server under another host name: off any source's registered domain."""
        return f"http://localhost:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a crawler hanging up on a fault mid-answer is the point, not a server error."""


class FaultHandler(BaseHTTPRequestHandler):
    server: FaultServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        self.server.hits[f"{self.headers.get('Host', '').split(':')[0]} {path}"] += 1
        if path == "/robots.txt":
            forbidden = [site for site, fault in self.server.faults.items() if fault == "robots_forbidden"]
            lines = ["User-agent: *", *(f"Disallow: /{site}/" for site in sorted(forbidden)), ""]
            self.send_body(200, "\n".join(lines).encode(), "text/plain")
            return
        site, _, page = path.strip("/").partition("/")
        if site == "offsite":
            self.send_body(200, feed_json(OFFSITE_MEETINGS).encode(), "application/json")
            return
        if page not in ("feed.json", "groups.html", "events.html"):
            self.send_body(404, b"not found", "text/plain")
            return
        fault = self.server.faults.get(site)
        handler = getattr(self, f"fault_{fault}", None) if fault else None
        if handler is not None:
            handler(site, page)
        else:
            self.healthy(page)

    # --- healthy pages ------------------------------------------------------------------------------------------

    def healthy(self, page: str) -> None:
        if page == "feed.json":
            body, content_type = feed_json().encode(), "application/json; charset=utf-8"
        elif page == "groups.html":
            body, content_type = groups_html().encode(), "text/html; charset=utf-8"
        else:
            body, content_type = events_html().encode(), "text/html; charset=utf-8"
        # A validator, as many sites send: the crawl's HTTP cache stores the page and revalidates it next time.
        self.send_body(200, body, content_type, {"ETag": f'"{len(body)}"'})

    def send_body(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    # --- faults -------------------------------------------------------------------------------------------------

    def fault_http_500(self, site: str, page: str) -> None:
        self.send_body(500, b"<h1>Internal Server Error</h1>", "text/html")

    def fault_timeout(self, site: str, page: str) -> None:
        self.server.stopping.wait(120)  # the connection stays open and silent until the crawler gives up

    def fault_connection_reset(self, site: str, page: str) -> None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def fault_truncated_json(self, site: str, page: str) -> None:
        text = feed_json()
        self.send_body(200, text[: len(text) // 2].encode(), "application/json; charset=utf-8")

    def fault_truncated_transfer(self, site: str, page: str) -> None:
        body = feed_json().encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True

    def fault_invalid_json(self, site: str, page: str) -> None:
        text = feed_json().replace('"name"', "'name'").replace("}", "},", 1)
        self.send_body(200, text.encode(), "application/json; charset=utf-8")

    def fault_layout_changed(self, site: str, page: str) -> None:
        self.send_body(200, groups_html("cards").encode(), "text/html; charset=utf-8")

    def fault_fields_renamed(self, site: str, page: str) -> None:
        self.send_body(200, groups_html("renamed").encode(), "text/html; charset=utf-8")

    def fault_jsonld_removed(self, site: str, page: str) -> None:
        self.send_body(200, events_html(structured=False).encode(), "text/html; charset=utf-8")

    def stream_forever(self, chunk: bytes, pause: float) -> None:
        """A 200 with no length that never ends, until the client hangs up (or the server stops)."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.end_headers()
        self.close_connection = True
        try:
            self.wfile.write(b"[")
            while not self.server.stopping.is_set():
                self.wfile.write(chunk)
                if pause:
                    self.server.stopping.wait(pause)
        except OSError:
            return  # the crawler gave up

    def fault_endless_trickle(self, site: str, page: str) -> None:
        self.stream_forever(json.dumps(MEETINGS[0], ensure_ascii=False).encode() + b",\n", 0.05)

    def fault_endless_flood(self, site: str, page: str) -> None:
        record = json.dumps(MEETINGS[0], ensure_ascii=False).encode() + b",\n"
        self.stream_forever(record * (256 * 1024 // len(record)), 0)

    def fault_huge(self, site: str, page: str) -> None:
        record = json.dumps(MEETINGS[0], ensure_ascii=False).encode()
        chunk = (record + b",\n") * (1024 * 1024 // (len(record) + 2))
        tail = record + b"]"
        chunks, padding = divmod(HUGE_SIZE - 1 - len(tail), len(chunk))
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(HUGE_SIZE))
        self.end_headers()
        self.close_connection = True
        try:
            self.wfile.write(b"[")
            for _ in range(chunks):
                if self.server.stopping.is_set():
                    return
                self.wfile.write(chunk)
            self.wfile.write(b" " * padding + tail)
        except OSError:
            return  # the crawler gave up

    def fault_latin1_as_utf8(self, site: str, page: str) -> None:
        self.send_body(200, feed_json().encode("latin-1"), "application/json; charset=utf-8")

    def fault_utf16_undeclared(self, site: str, page: str) -> None:
        self.send_body(200, feed_json().encode("utf-16-le"), "application/json")

    def fault_offsite_redirect(self, site: str, page: str) -> None:
        self.send_response(302)
        self.send_header("Location", f"{self.server.offsite_url}/offsite/feed.json")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def fault_robots_forbidden(self, site: str, page: str) -> None:
        # Only reached when robots.txt is ignored: serve the healthy page, and `hits` shows it was fetched.
        self.healthy(page)


@contextmanager
def serve_faults() -> Iterator[FaultServer]:
    server = FaultServer()
    thread = threading.Thread(target=server.serve_forever, name="fault-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
