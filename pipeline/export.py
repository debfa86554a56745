"""Exports for directories that publish from our data: one file of groups and one of their schedules per format.

Exports are written by DuckDB straight from the warehouse (`COPY ... TO`), so memory does not grow with the
number of groups. Public exports leave out e-mail addresses (often a facilitator's own) unless asked; join links
were stripped of passwords at normalisation, and all source text is plain text by then.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

FORMATS = ("csv", "parquet")


class ExportError(RuntimeError):
    """The export could not be written (a permission, a full disk); the message says where."""


PUBLIC_GROUP_COLUMNS = [
    "group_id", "name", "organization", "description", "location_name", "address", "city", "region",
    "postal_code", "country", "latitude", "longitude", "phone", "website", "conference_url", "conference_phone",
    "format", "status", "topics", "audiences", "cost", "schedules", "sources", "source_urls", "listing_count",
    "last_seen_at",
]  # fmt: skip
CONTACT_COLUMNS = ["email"]
LIST_COLUMNS = {"topics", "audiences", "schedules", "sources", "source_urls"}


def export(con: duckdb.DuckDBPyConnection, out_dir: Path, fmt: str, *, include_contacts: bool = False) -> list[Path]:
    """Write `groups.<fmt>` and `group_schedules.<fmt>` into out_dir; returns the paths written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ExportError(f"cannot write exports into {out_dir}: {error}") from error
    columns = PUBLIC_GROUP_COLUMNS + (CONTACT_COLUMNS if include_contacts else [])
    if fmt == "csv":
        # CSV has no lists: join them with "; ", which no value of ours contains.
        select = ", ".join(f"array_to_string({c}, '; ') AS {c}" if c in LIST_COLUMNS else c for c in columns)
        options = "(FORMAT csv, HEADER true)"
    else:
        select = ", ".join(columns)
        options = "(FORMAT parquet, COMPRESSION zstd)"
    groups_path = out_dir / f"groups.{fmt}"
    schedules_path = out_dir / f"group_schedules.{fmt}"
    byday = "array_to_string(byday, ',') AS byday" if fmt == "csv" else "byday"
    try:
        con.execute(f"COPY (SELECT {select} FROM groups ORDER BY group_id) TO '{_quoted(groups_path)}' {options}")
        con.execute(
            f"""COPY (SELECT group_id, freq, "interval", {byday}, opens_at, closes_at, timezone, rrule
                     FROM group_schedules ORDER BY group_id, rrule, opens_at)
                TO '{_quoted(schedules_path)}' {options}"""
        )
    except (duckdb.IOException, OSError) as error:
        raise ExportError(f"cannot write exports into {out_dir}: {error}") from error
    return [groups_path, schedules_path]


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
