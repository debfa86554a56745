"""Crawl one source in its own process (`python -m spiders.crawl`) and read back its items and stats.

A Twisted reactor cannot restart in one process, and a crashing spider must not take the run with it, so every
crawl is a subprocess. The outcome says whether the source is healthy; the caller decides what to load.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.registry import Source

# Stats an operator reads in the run report, besides the per-field missing/invalid counts.
REPORTED_STATS = ("item_scraped_count", "downloader/request_count", "response_received_count", "finish_reason")
KEPT_STAT_PREFIXES = ("peergroups/", "downloader/response_status_count/", "downloader/exception_type_count/")
# Source errors that make everything the crawl read unreliable, however many items arrived: the page layout changed
# under the registered selectors (items without names, and with new ids). The source fails, so nothing of it is
# loaded and its earlier listings stay; loaded as a healthy or partial crawl they would be junk rejects.
CONDEMNING_ERRORS = frozenset({"layout_changed"})


@dataclass
class CrawlOutcome:
    source: str
    status: str  # "ok", "partial" (some URLs failed) or "failed"
    items_path: Path
    error: str | None = None
    duration_s: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)
    retryable: bool = False

    def summary_stats(self) -> dict[str, Any]:
        """The stats worth keeping in the run report: counts, HTTP errors, field gaps."""
        kept = {key: self.stats[key] for key in REPORTED_STATS if key in self.stats}
        for key, value in self.stats.items():
            if key.startswith(KEPT_STAT_PREFIXES):
                kept[key] = value
        return kept


def crawl(
    spider: str,
    arguments: dict[str, str],
    out: Path,
    *,
    settings: dict[str, Any] | None = None,
    timeout_s: float = 3600,
    source: str | None = None,
) -> CrawlOutcome:
    """Run one spider into `out` (JSON lines) with its stats beside it (`<out>.stats.json`)."""
    stats_path = out.with_name(out.name + ".stats.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in (out, stats_path):
        stale.unlink(missing_ok=True)
    command = [sys.executable, "-m", "spiders.crawl", spider, "--out", str(out), "--stats", str(stats_path)]
    for key, value in arguments.items():
        command += ["-a", f"{key}={value}"]
    for key, value in (settings or {}).items():
        command += ["-s", f"{key}={value}"]
    log_path = out.with_name(out.name + ".log")
    started = time.monotonic()
    name = source or arguments.get("source") or spider
    try:
        with log_path.open("w") as log:
            completed = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return CrawlOutcome(name, "failed", out, f"crawl did not finish within {timeout_s:.0f} s", timeout_s,
                            retryable=True)  # fmt: skip
    duration = time.monotonic() - started
    stats = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    if completed.returncode != 0:
        tail = _last_error_line(log_path)
        return CrawlOutcome(name, "failed", out, f"crawler exited with code {completed.returncode}: {tail}",
                            duration, stats, retryable=True)  # fmt: skip
    return judge(name, out, stats, duration)


def judge(source: str, out: Path, stats: dict[str, Any], duration: float) -> CrawlOutcome:
    """Healthy, or failed with a reason an operator can act on, from the crawl's stats."""
    message = stats.get("peergroups/source_error_message")
    items = int(stats.get("item_scraped_count", 0))
    errors = {key.rsplit("/", 1)[-1] for key in stats if key.startswith("peergroups/source_error/")}
    if errors and (items == 0 or errors & CONDEMNING_ERRORS):
        retryable = bool(errors & {"network", "http"})
        return CrawlOutcome(source, "failed", out, message or ", ".join(sorted(errors)), duration, stats, retryable)
    if errors:
        # Some of the source's URLs failed: what did arrive is loaded, and the run says it is incomplete.
        return CrawlOutcome(source, "partial", out, message, duration, stats)
    return CrawlOutcome(source, "ok", out, None, duration, stats)


def crawl_source(
    source: Source, out: Path, extra_settings: dict[str, Any] | None = None, cache_dir: Path | None = None
) -> CrawlOutcome:
    settings = {**source.settings, **(extra_settings or {})}
    if cache_dir is not None:
        settings |= {"HTTPCACHE_ENABLED": True, "HTTPCACHE_DIR": str((cache_dir / source.name).resolve())}
    outcome = crawl(source.spider_name, source.spider_arguments(), out, settings=settings, source=source.name)
    items = int(outcome.stats.get("item_scraped_count", 0))
    if outcome.status != "failed" and items < source.floor:
        # A healthy crawl of this directory returns more: its page shape has likely changed. Load nothing, so
        # its earlier listings stay, and say so.
        outcome.status = "failed"
        outcome.error = f"broken: {items} items, below this source's floor of {source.floor}"
    return outcome


def _last_error_line(log_path: Path) -> str:
    lines = [line.strip() for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    for line in reversed(lines):
        if "Error" in line or "error" in line:
            return line[-300:]
    return lines[-1][-300:] if lines else "no output"
