"""The source registry: which directories we crawl, how, and how politely (`data/sources.toml`)."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas.raw import valid_source_name

# Platform name → the base spider that reads it.
PLATFORM_SPIDERS: dict[str, str] = {
    "meeting_guide": "meeting_guide",
    "bmlt": "bmlt",
    "hsds": "hsds",
    "events_calendar": "events_calendar",
    "jsonld": "jsonld",
    "ical": "ical",
    "html_directory": "html_directory",
    "finder": "finder",
    "wordpress": "wordpress",
}

# Registry keys that override Scrapy settings for one source.
POLITENESS_SETTINGS: dict[str, str] = {
    "download_delay": "DOWNLOAD_DELAY",
    "concurrent_requests_per_domain": "CONCURRENT_REQUESTS_PER_DOMAIN",
    "autothrottle": "AUTOTHROTTLE_ENABLED",
    "obey_robots_txt": "ROBOTSTXT_OBEY",
}


class RegistryError(ValueError):
    """The registry file is missing, not TOML, or an entry is incomplete; the message names the entry."""


@dataclass(frozen=True)
class Source:
    name: str
    platform: str
    urls: tuple[str, ...]
    title: str | None = None
    spider: str | None = None
    country: str | None = None
    topics: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()
    floor: int = 0
    homepage: str | None = None
    follow: str | None = None  # CSS selector of links a platform follows (jsonld: detail pages; html: more list pages)
    arguments: dict[str, str] = field(default_factory=dict)  # the platform's own settings (selectors, ZIPs, ...)
    settings: dict[str, Any] = field(default_factory=dict)
    cron: str | None = None  # its own cadence under `peergroups serve` (default: serve's --cron)
    trust: int = 0  # survivorship: a field comes from the most trusted source that has it (higher wins)

    @property
    def spider_name(self) -> str:
        return self.spider or PLATFORM_SPIDERS[self.platform]

    def spider_arguments(self) -> dict[str, str]:
        arguments = {"source": self.name, "url": " ".join(self.urls)}  # URLs may hold commas, never spaces
        if self.country:
            arguments["country"] = self.country
        if self.topics:
            arguments["topics"] = ",".join(self.topics)
        if self.audiences:
            arguments["audiences"] = ",".join(self.audiences)
        if self.follow:
            arguments["follow"] = self.follow
        return {**arguments, **self.arguments}


KNOWN_KEYS = {"name", "platform", "urls", "url", "title", "spider", "country", "topics", "audiences", "floor",
              "homepage", "follow", "arguments", "cron", "trust", *POLITENESS_SETTINGS}  # fmt: skip


def load_registry(path: Path, substitutions: dict[str, str] | None = None) -> list[Source]:
    """Read a registry. `substitutions` fill `{placeholders}` in URLs (the demo's local server address)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise RegistryError(f"no source registry at {path}") from error
    except (OSError, UnicodeDecodeError) as error:
        raise RegistryError(f"cannot read the source registry {path}: {error}") from error
    except tomllib.TOMLDecodeError as error:
        raise RegistryError(f"{path} is not valid TOML: {error}") from error
    entries = data.get("source", [])
    if not isinstance(entries, list):
        raise RegistryError(f"{path}: sources are [[source]] tables, not a single value")
    sources = []
    names: set[str] = set()
    for position, entry in enumerate(entries, start=1):
        label = f"{path}, source #{position}"
        if not isinstance(entry, dict):
            raise RegistryError(f"{label}: each [[source]] must be a table")
        unknown = set(entry) - KNOWN_KEYS
        if unknown:
            raise RegistryError(f"{label}: unknown keys {', '.join(sorted(unknown))}")
        name = entry.get("name")
        if not name or not isinstance(name, str):
            raise RegistryError(f"{label}: a source needs a `name` (a string)")
        label = f"{label} ({name})"
        if not valid_source_name(name):
            raise RegistryError(f"{label}: a name is up to 100 letters, digits, `_`, `.` and `-`")
        if name in names:
            raise RegistryError(f"{label}: the name {name!r} is used twice")
        names.add(name)
        platform = entry.get("platform")
        if platform not in PLATFORM_SPIDERS:
            raise RegistryError(f"{label}: platform {platform!r} is not one of {', '.join(sorted(PLATFORM_SPIDERS))}")
        urls = _strings(entry.get("urls", [entry["url"]] if "url" in entry else []), f"{label}: `url`/`urls`")
        if not urls:
            raise RegistryError(f"{label}: a source needs `url` or `urls`")
        if any(any(char.isspace() for char in url) for url in urls):
            raise RegistryError(f"{label}: a URL cannot contain spaces")
        if substitutions:
            urls = [url.format(**substitutions) for url in urls]
        floor = entry.get("floor", 0)
        if not isinstance(floor, int) or isinstance(floor, bool) or floor < 0:
            raise RegistryError(f"{label}: `floor` must be a whole number of items, not {floor!r}")
        trust = entry.get("trust", 0)
        if not isinstance(trust, int) or isinstance(trust, bool):
            raise RegistryError(f"{label}: `trust` must be a whole number (higher wins), not {trust!r}")
        cron = entry.get("cron")
        if cron is not None:
            check_cron(cron, f"{label}: `cron`")
        sources.append(
            Source(
                name=name,
                platform=platform,
                urls=tuple(urls),
                title=entry.get("title"),
                spider=entry.get("spider"),
                country=entry.get("country"),
                topics=tuple(_strings(entry.get("topics", []), f"{label}: `topics`")),
                audiences=tuple(_strings(entry.get("audiences", []), f"{label}: `audiences`")),
                floor=floor,
                homepage=entry.get("homepage"),
                follow=entry.get("follow"),
                arguments=_spider_arguments(entry.get("arguments", {}), label),
                settings={POLITENESS_SETTINGS[key]: entry[key] for key in POLITENESS_SETTINGS if key in entry},
                cron=cron,
                trust=trust,
            )
        )
    return sources


def check_cron(value: object, what: str) -> str:
    """A five-field cron expression ("0 3 * * 1": Mondays at 03:00), checked the way Prefect will read it."""
    if not isinstance(value, str) or len(value.split()) != 5:
        raise RegistryError(f'{what} must be a cron expression of five fields such as "0 3 * * 1", not {value!r}')
    from prefect.client.schemas.schedules import CronSchedule

    try:
        CronSchedule(cron=value)
    except ValueError as error:
        raise RegistryError(f"{what}: {value!r} is not a valid cron expression") from error
    return value


def _spider_arguments(table: object, label: str) -> dict[str, str]:
    """A source's `arguments` table as spider arguments: strings as they are, lists of strings comma-joined,
    tables and other values as JSON (the platforms read `selectors`, `fields`, `params` as JSON)."""
    if not isinstance(table, dict):
        raise RegistryError(f"{label}: `arguments` must be a table")
    arguments = {}
    for key, value in table.items():
        if isinstance(value, str):
            arguments[key] = value
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            arguments[key] = ",".join(value)
        else:
            arguments[key] = json.dumps(value)
    return arguments


def _strings(value: object, what: str) -> list[str]:
    """A string or a list of strings (a lone string is a list of one, never a list of its characters)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise RegistryError(f"{what} must be a string or a list of strings, not {value!r}")


def select_sources(sources: list[Source], names: list[str] | None) -> list[Source]:
    if not names:
        return sources
    known = {source.name: source for source in sources}
    names = list(dict.fromkeys(names))  # `--source a --source a` crawls a once
    missing = [name for name in names if name not in known]
    if missing:
        raise RegistryError(f"unknown source(s): {', '.join(missing)}; registered: {', '.join(known) or '(none)'}")
    return [known[name] for name in names]
