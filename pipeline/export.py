"""Exports for directories that publish from our data: one file of groups and one of their schedules per format
(GeoJSON: one FeatureCollection of the groups that have coordinates).

Exports are written by DuckDB straight from the warehouse (`COPY ... TO`), or streamed in batches (GeoJSON), so
memory does not grow with the number of groups. Public exports leave out e-mail addresses (often a facilitator's
own) unless asked; join links were stripped of passwords at normalisation, and all source text is plain text by
then.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

import duckdb

FORMATS = ("csv", "parquet", "ndjson", "geojson", "hsds", "meeting-guide", "ics")
# Above this many groups a Parquet export is a dataset partitioned by country and region (Hive layout), which
# Spark, Trino and DuckDB read in parallel and prune by place.
PARTITION_MIN = 100_000


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


def export(
    con: duckdb.DuckDBPyConnection, out_dir: Path, fmt: str, *, include_contacts: bool = False, by: str = "group"
) -> list[Path]:
    """Write one export format into out_dir, with its attribution file; returns the paths written.

    csv, parquet, ndjson: `groups.<fmt>` and `group_schedules.<fmt>`; geojson: `groups.geojson`; hsds: an Open
    Referral HSDS 3.0 data package; meeting-guide: `meetings.json`; ics: iCalendar files per group or per region (`by`).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ExportError(f"cannot write exports into {out_dir}: {error}") from error
    if fmt == "hsds":
        from pipeline.export_hsds import export_hsds

        return export_hsds(con, out_dir, include_contacts=include_contacts)
    if fmt == "meeting-guide":
        from pipeline.export_meeting_guide import export_meeting_guide

        return export_meeting_guide(con, out_dir, include_contacts=include_contacts)
    if fmt == "ics":
        from pipeline.export_ical import export_ical

        return export_ical(con, out_dir, by="region" if by == "region" else "group", include_contacts=include_contacts)
    from pipeline.export_shared import write_attribution

    attribution = write_attribution(con, out_dir, f"peergroups export ({fmt}): groups and their schedules")
    columns = PUBLIC_GROUP_COLUMNS + (CONTACT_COLUMNS if include_contacts else [])
    _register_public_text(con, include_contacts)
    if fmt == "geojson":
        return [_export_geojson(con, out_dir / "groups.geojson", columns), attribution]
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
    published = f"(SELECT * REPLACE (public_text(description) AS description) FROM groups WHERE {PUBLISHED})"
    schedule_options = options
    if fmt == "parquet" and _count(con) >= PARTITION_MIN:
        # A dataset: country and region become directories (groups/country=US/region=OR/data_0.parquet).
        groups_path = out_dir / "groups"
        # The dataset is replaced whole: a region whose last group was withdrawn must not stay published.
        shutil.rmtree(groups_path, ignore_errors=True)
        options = "(FORMAT parquet, COMPRESSION zstd, PARTITION_BY (country, region), OVERWRITE_OR_IGNORE true)"
    try:
        con.execute(f"COPY (SELECT {select} FROM {published} ORDER BY group_id) TO '{_quoted(groups_path)}' {options}")
        con.execute(
            f"""COPY (SELECT group_id, freq, "interval", {byday}, opens_at, closes_at, timezone, rrule
                     FROM group_schedules WHERE group_id IN (SELECT group_id FROM groups WHERE {PUBLISHED})
                     ORDER BY group_id, rrule, opens_at)
                TO '{_quoted(schedules_path)}' {schedule_options}"""
        )
    except (duckdb.IOException, OSError) as error:
        raise ExportError(f"cannot write exports into {out_dir}: {error}") from error
    return [groups_path, schedules_path, attribution]


# Groups no export publishes: no healthy crawl of any directory lists them any more. (Meeting Guide and iCalendar
# also leave out inactive groups, having no way to say "stopped meeting"; see export_shared.EXCLUDED_STATUSES.)
PUBLISHED = "status IS DISTINCT FROM 'withdrawn'"


def _count(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute(f"SELECT count(*) FROM groups WHERE {PUBLISHED}").fetchall()[0][0]


def _register_public_text(con: duckdb.DuckDBPyConnection, include_contacts: bool) -> None:
    """`public_text(text)` in SQL: the same privacy rules as the streamed exports (pipeline/privacy.py)."""
    from pipeline.privacy import public_text

    with contextlib.suppress(duckdb.Error):
        con.remove_function("public_text")
    con.create_function(
        "public_text",
        lambda value: public_text(value, include_contacts=include_contacts),
        [duckdb.sqltype("VARCHAR")],
        duckdb.sqltype("VARCHAR"),
        null_handling="special",
    )


def _export_geojson(con: duckdb.DuckDBPyConnection, path: Path, columns: list[str]) -> Path:
    """A FeatureCollection of Points ([longitude, latitude], RFC 7946), written a batch of rows at a time."""
    properties = [column for column in columns if column not in ("latitude", "longitude")]
    cursor = con.execute(
        f"""SELECT longitude, latitude, {", ".join(properties)}
            FROM (SELECT * REPLACE (public_text(description) AS description) FROM groups WHERE {PUBLISHED})
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
