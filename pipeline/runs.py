"""What happened in recent runs, read back from `runs` and `run_sources` (for `peergroups status`)."""

from __future__ import annotations

import json
from typing import Any

import duckdb


def recent_runs(con: duckdb.DuckDBPyConnection, limit: int = 10) -> list[dict[str, Any]]:
    """The latest runs, newest first, with their totals."""
    rows = con.execute(
        """SELECT run_id, kind, status, started_at, finished_at,
                  date_diff('millisecond', started_at, finished_at) / 1000.0 AS seconds,
                  raw_count, listing_count, reject_count, group_count,
                  (SELECT sum(coalesce(withdrawn_count, 0)) FROM run_sources s WHERE s.run_id = r.run_id) AS withdrawn,
                  -- how the groups were brought up to date: full, incremental or none (older runs: unknown)
                  json_extract_string(report, '$.link.kind') AS link
           FROM runs r ORDER BY started_at DESC, run_id DESC LIMIT ?""",
        [limit],
    ).fetchall()
    names = ["run_id", "kind", "status", "started_at", "finished_at", "seconds", "raw", "listings", "rejects",
             "groups", "withdrawn", "link"]  # fmt: skip
    return [dict(zip(names, row, strict=True)) for row in rows]


def signed(value: int | None) -> str:
    """A change as people read it: '+3', '-2', '+0'; blank for a source's first run."""
    return "" if value is None else f"{value:+d}"


def http_errors(crawl_stats: dict[str, Any]) -> int:
    """Responses with a 4xx/5xx status plus requests that failed outright (timeouts, resets, DNS)."""
    failed_status = ("downloader/response_status_count/4", "downloader/response_status_count/5")
    return sum(
        int(value)
        for key, value in crawl_stats.items()
        if key.startswith(failed_status) or key.startswith("downloader/exception_type_count/")
    )


def source_outcomes(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    """Per source in one run: status, items and their change since the source's previous run, rejects, new
    groups, withdrawn listings, HTTP errors, duration and error."""
    rows = con.execute(
        """WITH ordered AS (
               SELECT s.*, r.started_at,
                      lag(s.raw_count) OVER (PARTITION BY s.source ORDER BY r.started_at, s.run_id) AS previous_raw
               FROM run_sources s JOIN runs r USING (run_id))
           SELECT source, status, raw_count, raw_count - previous_raw, reject_count, new_group_count,
                  coalesce(withdrawn_count, 0), crawl_stats, duration_s, error
           FROM ordered WHERE run_id = ? ORDER BY source""",
        [run_id],
    ).fetchall()
    names = ["source", "status", "items", "change", "rejects", "new_groups", "withdrawn", "crawl_stats", "seconds",
             "error"]  # fmt: skip
    outcomes = [dict(zip(names, row, strict=True)) for row in rows]
    for outcome in outcomes:
        stats = outcome.pop("crawl_stats")
        outcome["http_errors"] = http_errors(json.loads(stats) if stats else {})
    return outcomes
