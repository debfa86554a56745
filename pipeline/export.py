"""Exports for directories that publish from our data: one file of groups and one of their schedules per format
(GeoJSON: one FeatureCollection of the groups that have coordinates).

Exports are written by DuckDB straight from the warehouse (`COPY ... TO`), or streamed in batches (GeoJSON), so
memory does not grow with the number of groups. Public exports leave out e-mail addresses (often a facilitator's
own) unless asked; join links were stripped of passwords at normalisation, and all source text is plain text by
then.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

FORMATS = ("csv", "parquet", "ndjson", "geojson")


class ExportError(RuntimeError):
    """The export could not be written (a permission, a full disk); the message says where."""


PUBLIC_GROUP_COLUMNS = [
    "group_id", "name", "organization", "description", "location_name", "address", "city", "region",
    "postal_code", "country", "latitude", "longitude", "phone", "website", "conference_url", "conference_phone",
    "format", "status", "topics", "audiences", "cost", "schedules", "sources", "source_urls", "listing_count",
    "last_seen_at", "coordinates_precision", "language", "faith_based", "led_by", "registration",
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
    if fmt == "geojson":
        return [_export_geojson(con, out_dir / "groups.geojson", columns)]
    if fmt == "csv":
        # CSV has no lists: join them with "; ", which no value of ours contains.
        select = ", ".join(f"array_to_string({c}, '; ') AS {c}" if c in LIST_COLUMNS else c for c in columns)
        options = "(FORMAT csv, HEADER true)"
    elif fmt == "ndjson":
        select = ", ".join(columns)
        options = "(FORMAT json)"  # one JSON object a line
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


def _export_geojson(con: duckdb.DuckDBPyConnection, path: Path, columns: list[str]) -> Path:
    """A FeatureCollection of Points ([longitude, latitude], RFC 7946), written a batch of rows at a time."""
    properties = [column for column in columns if column not in ("latitude", "longitude")]
    cursor = con.execute(
        f"""SELECT longitude, latitude, {", ".join(properties)} FROM groups
            WHERE latitude IS NOT NULL AND longitude IS NOT NULL ORDER BY group_id"""
    )
    try:
        with path.open("w", encoding="utf-8") as handle:
            handle.write('{"type": "FeatureCollection", "features": [\n')
            first = True
            while batch := cursor.fetchmany(1000):
                for longitude, latitude, *values in batch:
                    feature = {
                        "type": "Feature",
                        "id": values[0],
                        "geometry": {"type": "Point", "coordinates": [longitude, latitude]},
                        "properties": dict(zip(properties, values, strict=True)),
                    }
                    handle.write(("" if first else ",\n") + json.dumps(feature, default=str, ensure_ascii=False))
                    first = False
            handle.write("\n]}\n")
    except OSError as error:
        raise ExportError(f"cannot write {path}: {error}") from error
    return path


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
