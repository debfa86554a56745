"""The DuckDB warehouse on real files: schema, loads, idempotence, rollback, a second writer, exports."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipeline.export import export
from pipeline.ingest import normalise_batch, store_run
from pipeline.warehouse import MIGRATIONS, WarehouseBusy, WarehouseError, connect, load_batches, transaction

VENUE = {"street": "415 Alder Street", "city": "Riverton", "region": "OR", "postal_code": "97301", "country": "US"}


def raw(source_id: str, name: str, day: int = 2, **fields: Any) -> dict[str, Any]:
    return {"source": "riverside", "source_id": source_id, "name": name, "phone": "(503) 555-0100",
            "schedules": [{"day": day, "time": "19:00", "end_time": "20:30"}], **VENUE, **fields}  # fmt: skip


RECORDS = [
    raw("1", "Depression and Bipolar Support Group", conference_url="https://zoom.example.org/j/1?pwd=secret"),
    raw("2", "Family Support Group", day=4, email="jordan.p@riverside.example.org"),
    raw("3", "", day=1),
    {"source": "riverside", "source_id": "4", "name": "Nowhere Group"},
]


def counts(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = ["runs", "raw_listings", "listings", "listing_schedules", "rejects", "groups", "group_members"]
        return {table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in tables}  # type: ignore[index]
    finally:
        con.close()


def test_new_warehouse_has_every_table_and_records_migrations(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    tables = {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    versions = [row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()]
    con.close()
    assert {"runs", "run_sources", "raw_listings", "listings", "listing_schedules", "rejects", "groups",
            "group_members", "group_schedules"} <= tables  # fmt: skip
    assert versions == [version for version, _, _ in MIGRATIONS]


def test_listing_schedules_columns_have_the_contract_types(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'listing_schedules'").fetchall())  # fmt: skip
    con.close()
    assert types["byday"] == "VARCHAR[]"
    assert types["opens_at"] == types["closes_at"] == "TIME"


def test_store_run_accounts_for_every_raw_record(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    report = store_run(warehouse, "test", [normalise_batch("riverside", RECORDS)])
    assert report["totals"]["raw"] == 4 == report["totals"]["listings"] + report["totals"]["rejects"]
    assert counts(warehouse) | {"runs": 0} == {"runs": 0, "raw_listings": 4, "listings": 2, "listing_schedules": 2,
                                                "rejects": 2, "groups": 2, "group_members": 2}  # fmt: skip
    con = duckdb.connect(str(warehouse), read_only=True)
    reasons = con.execute("SELECT source_id, reasons FROM rejects ORDER BY source_id").fetchall()
    schedule = con.execute("SELECT freq, byday, opens_at::VARCHAR, timezone FROM listing_schedules "
                           "JOIN listings USING (listing_id) WHERE source_id = '1'").fetchone()  # fmt: skip
    run = con.execute("SELECT status, raw_count, listing_count, reject_count FROM runs").fetchone()
    con.close()
    assert [(sid, [r.split(":")[0] for r in rs]) for sid, rs in reasons] == [("3", ["name/missing"]),
                                                                              ("4", ["reach/missing"])]  # fmt: skip
    assert schedule == ("WEEKLY", ["TU"], "19:00:00", "America/Los_Angeles")
    assert run == ("ok", 4, 2, 2)


def test_rerunning_the_same_input_changes_no_listing_or_group(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    store_run(warehouse, "test", [normalise_batch("riverside", RECORDS)])
    con = duckdb.connect(str(warehouse), read_only=True)
    first = con.execute("SELECT listing_id, group_id, first_seen_run FROM listings ORDER BY 1").fetchall()
    con.close()
    store_run(warehouse, "test", [normalise_batch("riverside", RECORDS)])
    con = duckdb.connect(str(warehouse), read_only=True)
    second = con.execute("SELECT listing_id, group_id, first_seen_run FROM listings ORDER BY 1").fetchall()
    runs = con.execute("SELECT count(*) FROM runs").fetchone()[0]  # type: ignore[index]
    con.close()
    assert first == second
    assert runs == 2
    assert counts(warehouse)["listings"] == 2 and counts(warehouse)["groups"] == 2


def test_a_failed_load_leaves_the_warehouse_as_it_was(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    store_run(warehouse, "test", [normalise_batch("riverside", RECORDS[:1])])
    before = counts(warehouse)
    con = connect(warehouse)
    with pytest.raises(RuntimeError, match="crash"), transaction(con):
        load_batches(con, "crashing-run", [normalise_batch("riverside", RECORDS)])
        raise RuntimeError("crash in the middle of a load")
    con.close()
    assert counts(warehouse) == before


def test_a_failed_source_withdraws_nothing(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    store_run(warehouse, "test", [normalise_batch("riverside", RECORDS)])
    failed = normalise_batch("riverside", [])
    failed.status, failed.error = "failed", "answered HTTP 500"
    report = store_run(warehouse, "test", [failed])
    assert report["status"] == "failed"
    assert report["sources"][0]["error"] == "answered HTTP 500"
    assert counts(warehouse)["listings"] == 2


def test_second_writer_gets_a_clear_busy_error(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    connect(warehouse).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import duckdb, sys, time
            con = duckdb.connect({str(warehouse)!r})
            print("locked", flush=True)
            sys.stdin.readline()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(WarehouseBusy, match="busy"):
            connect(warehouse)
    finally:
        holder.communicate("\n", timeout=10)


def test_not_a_warehouse_file_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.duckdb"
    bogus.write_text("these are my notes, not a database")
    with pytest.raises(WarehouseError, match="cannot open the warehouse"):
        connect(bogus)


def test_exports_keep_private_details_out(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    store_run(warehouse, "test", [normalise_batch("riverside", RECORDS)])
    con = connect(warehouse)
    csv_paths = export(con, tmp_path / "public", "csv")
    parquet_paths = export(con, tmp_path / "public", "parquet")
    internal = export(con, tmp_path / "internal", "csv", include_contacts=True)
    con.close()

    with csv_paths[0].open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2
    text = csv_paths[0].read_text()
    assert "pwd" not in text and "secret" not in text
    assert "email" not in rows[0] and "jordan" not in text
    assert {row["conference_url"] for row in rows} == {"https://zoom.example.org/j/1", ""}
    assert "jordan.p@riverside.example.org" in internal[0].read_text()

    check = duckdb.connect()
    parquet_rows = check.execute(f"SELECT name, schedules FROM '{parquet_paths[0]}' ORDER BY name").fetchall()
    schedule_rows = check.execute(f"SELECT byday, opens_at::VARCHAR FROM '{parquet_paths[1]}' ORDER BY 1").fetchall()
    assert parquet_rows[0] == ("Depression and Bipolar Support Group",
                               ["FREQ=WEEKLY;BYDAY=TU 19:00-20:30 America/Los_Angeles"])  # fmt: skip
    assert schedule_rows == [(["TH"], "19:00:00"), (["TU"], "19:00:00")]


def test_raw_payload_is_stored_as_received(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    record = raw("9", "Peer Circle", district="North", venmo="@circle")
    store_run(warehouse, "test", [normalise_batch("riverside", [record])])
    con = duckdb.connect(str(warehouse), read_only=True)
    payload = con.execute("SELECT payload FROM raw_listings").fetchone()[0]  # type: ignore[index]
    con.close()
    assert json.loads(payload) == record


def test_a_foreign_duckdb_file_is_refused_for_reading_with_a_reason(tmp_path: Path) -> None:
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).execute("CREATE TABLE notes (a INTEGER)").close()
    with pytest.raises(WarehouseError, match="not a peergroups warehouse"):
        connect(other, read_only=True)


def test_an_older_warehouse_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMPTZ)"
    )
    version, description, sql = MIGRATIONS[0]
    con.execute(sql)
    con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [version, description])
    con.close()
    store_run(path, "test", [normalise_batch("riverside", RECORDS)])
    con = duckdb.connect(str(path), read_only=True)
    versions = [row[0] for row in con.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()]
    units = con.execute("SELECT count(*) FROM listings WHERE address_key IS NOT NULL").fetchone()[0]  # type: ignore[index]
    con.close()
    assert versions == [version for version, _, _ in MIGRATIONS]
    assert units == 2


def test_migration_6_drops_the_key_indexes_and_keeps_every_row_and_column(tmp_path: Path) -> None:
    """A warehouse of schema 5, with listings, groups, members and link keys, comes out of migration 6 with the
    same columns, types and rows, and without key indexes; its views still read, and loads go on."""
    from pipeline.groups import refresh_groups

    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMPTZ)"
    )
    for version, description, change in MIGRATIONS[:5]:
        with transaction(con):
            con.execute(change)  # type: ignore[arg-type]
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [version, description])
    # The columns of migrations 7 and 8, which today's load and link write.
    con.execute("ALTER TABLE listings ADD COLUMN raw_line_hash VARCHAR")
    con.execute("ALTER TABLE link_state ADD COLUMN rescored_since_full INTEGER")
    with transaction(con):
        load_batches(con, "r1", [normalise_batch("riverside", RECORDS)])
        refresh_groups(con, "r1")
    tables = ["listings", "groups", "group_members", "link_keys"]

    def shape(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        columns = {table: [row[:3] for row in con.execute(f"DESCRIBE {table}").fetchall()] for table in tables}
        rows = {table: sorted(map(str, con.execute(f"SELECT * FROM {table}").fetchall())) for table in tables}
        return {table: (columns[table], rows[table]) for table in tables}  # columns: name, type, null

    before = shape(con)
    assert all(before[table][1] for table in tables)  # every table holds rows to carry over
    keys = "SELECT count(*) FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY' AND table_name = ?"
    assert all(con.execute(keys, [table]).fetchone()[0] == 1 for table in tables)  # type: ignore[index]
    con.close()

    connect(path).close()  # migrates
    con = duckdb.connect(str(path), read_only=True)
    assert shape(con) == before
    assert all(con.execute(keys, [table]).fetchone()[0] == 0 for table in tables)  # type: ignore[index]
    assert con.execute("SELECT count(*) FROM group_meetings").fetchone()[0] > 0  # type: ignore[index]
    con.close()
    report = store_run(path, "test", [normalise_batch("riverside", RECORDS)])
    assert report["totals"]["listings"] == counts(path)["listings"] == len(before["listings"][1])


def test_lone_surrogates_and_unreadable_lines_end_as_rows(tmp_path: Path) -> None:
    from pipeline.ingest import normalise_file

    path = tmp_path / "in.jsonl"
    path.write_text(
        '{"source_id": "1", "name": "Peer Circle \\ud800", "phone": "(503) 555-0101"}\n'
        '{"_unparsed_line": 3, "source_id": "2", "name": "Has an odd key", "phone": "(503) 555-0102"}\n'
        "[1, 2]\n"
    )
    batches = normalise_file(path, "handover")
    report = store_run(tmp_path / "w.duckdb", "test", batches)
    counts = {key: report["totals"][key] for key in ("raw", "listings", "rejects", "withdrawn")}
    assert counts == {"raw": 3, "listings": 2, "rejects": 1, "withdrawn": 0}


def test_a_handover_file_with_several_sources_reports_each(tmp_path: Path) -> None:
    from pipeline.ingest import normalise_file

    path = tmp_path / "in.jsonl"
    lines = [
        {"source": "north", "source_id": "1", "name": "Peer Circle", "phone": "(503) 555-0101"},
        {"source": " south ", "source_id": "1", "name": "Hope Group", "phone": "(503) 555-0102"},
        {"source_id": "9", "name": "Unlabelled", "phone": "(503) 555-0103"},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    report = store_run(tmp_path / "w.duckdb", "ingest", normalise_file(path, "county"))
    assert {row["source"]: row["listings"] for row in report["sources"]} == {"county": 1, "north": 1, "south": 1}
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    orphans = con.execute(
        "SELECT count(*) FROM raw_listings r LEFT JOIN listings l USING (listing_id) WHERE l.listing_id IS NULL"
    ).fetchone()[0]  # type: ignore[index]
    con.close()
    assert orphans == 0


def test_a_field_that_suddenly_goes_missing_is_flagged(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    healthy = normalise_batch("riverside", RECORDS)
    healthy.crawl_stats = {"peergroups/field/phone/missing": 0, "peergroups/field/email/missing": 4}
    first = store_run(warehouse, "test", [healthy])
    assert first["sources"][0]["missing_jumps"] == {}  # nothing to compare with yet
    changed = normalise_batch("riverside", RECORDS)
    changed.crawl_stats = {"peergroups/field/phone/missing": 4, "peergroups/field/email/missing": 4}
    second = store_run(warehouse, "test", [changed])
    assert second["sources"][0]["missing_jumps"] == {"phone": [0.0, 1.0]}


def test_ndjson_and_geojson_exports(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    placed = raw("7", "Placed Group", latitude="44.9391", longitude="-123.0331", email="jordan.p@x.example.org",
                 conference_url="https://zoom.example.org/j/7?pwd=secret")  # fmt: skip
    store_run(warehouse, "test", [normalise_batch("riverside", [*RECORDS, placed])])
    con = connect(warehouse)
    ndjson = export(con, tmp_path / "out", "ndjson")
    geojson, attribution = export(con, tmp_path / "out", "geojson")
    assert attribution.name == "ATTRIBUTION.txt" and "riverside" in attribution.read_text()
    con.close()
    rows = [json.loads(line) for line in ndjson[0].read_text().splitlines()]
    assert len(rows) == 3 and all("email" not in row for row in rows)
    collection = json.loads(geojson.read_text())
    assert collection["type"] == "FeatureCollection"
    features = collection["features"]
    # Groups with coordinates only (here: the placed one, and the two at a ZIP centroid of 97301).
    assert all(feature["geometry"]["type"] == "Point" for feature in features)
    by_name = {feature["properties"]["name"]: feature for feature in features}
    assert by_name["Placed Group"]["geometry"]["coordinates"] == [-123.0331, 44.9391]  # [longitude, latitude]
    assert by_name["Placed Group"]["properties"]["coordinates_precision"] == "source"
    assert {f["properties"]["coordinates_precision"] for f in features} == {"source", "postal_code"}
    text = geojson.read_text()
    assert "secret" not in text and "jordan" not in text and "email" not in text
