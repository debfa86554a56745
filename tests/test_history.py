"""Warehouse history and safety: withdrawal only after a healthy complete crawl, stale listings, change events,
idempotent re-runs, a killed load, two writers, and migrations applied in place. All on real DuckDB files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipeline.ingest import known_raw_hashes, normalise_batch, store_run
from pipeline.normalise import listing_id
from pipeline.warehouse import MIGRATIONS, SourceBatch, connect, migrate, transaction
from tests.conftest import PROJECT_ROOT, query, run_cli


def record(n: int, **extra: Any) -> dict[str, Any]:
    return {"source_id": f"s{n}", "name": f"Peer Group {n}", "address": f"{100 + n} Elm Street, Riverton, OR 97301",
            "schedule_text": "Tuesdays 6pm", **extra}  # fmt: skip


def batch(
    records: list[dict[str, Any]], *, complete: bool = True, status: str = "ok", seen_in: Path | None = None
) -> SourceBatch:
    """One source's batch; `seen_in` a warehouse: as a crawl run does, records it holds unchanged are only confirmed."""
    loaded = normalise_batch("riverside", records, known=known_raw_hashes(seen_in) if seen_in else None)
    loaded.complete, loaded.status = complete, status
    return loaded


def statuses(warehouse: Path) -> dict[str, str]:
    return dict(query(warehouse, "SELECT source_id, status FROM listings"))


def test_a_complete_healthy_crawl_withdraws_what_its_source_no_longer_lists(warehouse: Path) -> None:
    store_run(warehouse, "run", [batch([record(n) for n in range(1, 4)])])
    report = store_run(warehouse, "run", [batch([record(1), record(2)])])
    assert statuses(warehouse) == {"s1": "active", "s2": "active", "s3": "withdrawn"}
    assert report["sources"][0]["withdrawn"] == 1
    assert query(warehouse, "SELECT event FROM listing_changes WHERE listing_id = '" + listing_id("riverside", "s3")
                 + "' ORDER BY happened_at") == [("new",), ("withdrawn",)]  # fmt: skip
    group_status = query(warehouse, "SELECT g.status FROM groups g JOIN listings l USING (group_id) "
                                    "WHERE l.source_id = 's3'")  # fmt: skip
    assert group_status == [("withdrawn",)]


def test_partial_failed_or_incomplete_batches_withdraw_nothing(warehouse: Path) -> None:
    store_run(warehouse, "run", [batch([record(n) for n in range(1, 4)])])
    store_run(warehouse, "run", [batch([record(1)], status="partial")])
    store_run(warehouse, "run", [batch([], status="failed")])
    store_run(warehouse, "ingest", [batch([record(2)], complete=False)])
    assert set(statuses(warehouse).values()) == {"active"}


def test_a_sharp_drop_marks_the_source_broken_and_withdraws_nothing(warehouse: Path) -> None:
    store_run(warehouse, "run", [batch([record(n) for n in range(1, 21)])])
    report = store_run(warehouse, "run", [batch([record(n) for n in range(1, 6)])])
    assert report["sources"][0]["status"] == "broken"
    assert "down from 20" in report["sources"][0]["error"]
    assert set(statuses(warehouse).values()) == {"active"}


def test_an_empty_complete_batch_is_broken_even_after_only_partial_deliveries(warehouse: Path) -> None:
    """No complete run to measure a drop against, but the source did list groups: an empty feed is a broken page."""
    store_run(warehouse, "ingest", [batch([record(n) for n in range(1, 4)], complete=False)])
    report = store_run(warehouse, "run", [batch([])])
    assert report["sources"][0]["status"] == "broken"
    assert "no records, down from 3" in report["sources"][0]["error"]
    assert set(statuses(warehouse).values()) == {"active"}


def test_a_record_still_listed_but_now_rejected_is_not_withdrawn(warehouse: Path) -> None:
    store_run(warehouse, "run", [batch([record(1), record(2)])])
    unreadable = {"source_id": "s2", "name": "", "description": ""}  # no name, no way to reach it: a reject
    store_run(warehouse, "run", [batch([record(1), unreadable])])
    assert statuses(warehouse) == {"s1": "active", "s2": "active"}


@pytest.mark.parametrize("confirmed_by_hash", [False, True])
def test_a_withdrawn_listing_seen_again_is_active_and_relisted(warehouse: Path, confirmed_by_hash: bool) -> None:
    seen_in = warehouse if confirmed_by_hash else None
    store_run(warehouse, "run", [batch([record(1), record(2)])])
    store_run(warehouse, "run", [batch([record(1)], seen_in=seen_in)])
    relisted = batch([record(1), record(2)], seen_in=seen_in)
    assert len(relisted.unchanged) == (2 if confirmed_by_hash else 0)
    store_run(warehouse, "run", [relisted])
    assert statuses(warehouse) == {"s1": "active", "s2": "active"}
    events = query(warehouse, "SELECT event FROM listing_events WHERE listing_id = '"
                   + listing_id("riverside", "s2") + "' ORDER BY happened_at")  # fmt: skip
    assert [event for (event,) in events] == ["new", "withdrawn", "relisted"]
    assert query(warehouse, "SELECT withdrawn_at FROM listings WHERE source_id = 's2'") == [(None,)]


def test_a_listing_not_confirmed_for_ninety_days_becomes_stale(warehouse: Path) -> None:
    store_run(warehouse, "run", [batch([record(1), record(2)])])
    con = connect(warehouse)
    con.execute("UPDATE listings SET last_seen_at = last_seen_at - INTERVAL 100 DAY WHERE source_id = 's2'")
    con.close()
    store_run(warehouse, "ingest", [batch([record(1)], complete=False)])
    assert statuses(warehouse) == {"s1": "active", "s2": "stale"}


def test_an_edit_is_a_changed_event_and_a_re_run_of_the_same_input_changes_nothing(warehouse: Path) -> None:
    records = [record(n) for n in range(1, 6)]
    store_run(warehouse, "run", [batch(records)])
    state = (
        "SELECT * EXCLUDE (last_seen_run, last_seen_at, fetched_at) FROM listings ORDER BY listing_id",
        "SELECT * FROM listing_schedules ORDER BY listing_id, position",
        "SELECT * EXCLUDE (last_seen_at) FROM groups ORDER BY group_id",
        "SELECT * FROM group_members ORDER BY listing_id",
    )
    before = [query(warehouse, sql) for sql in state]
    store_run(warehouse, "run", [batch(records)])
    assert [query(warehouse, sql) for sql in state] == before
    again = batch(records, seen_in=warehouse)  # the crawl path: nothing normalised again
    assert len(again.unchanged) == len(records) and not again.listings
    store_run(warehouse, "run", [again])
    assert [query(warehouse, sql) for sql in state] == before
    assert query(warehouse, "SELECT count(*) FROM listing_events WHERE event <> 'new'") == [(0,)]

    store_run(warehouse, "run", [batch([record(1, schedule_text="Wednesdays 6pm"), *records[1:]])])
    assert query(warehouse, "SELECT source_id FROM listing_changes WHERE event = 'changed'") == [("s1",)]


def test_an_unchanged_record_is_stored_once_and_every_run_still_has_it(warehouse: Path) -> None:
    first = store_run(warehouse, "run", [batch([record(1), record(2)], seen_in=warehouse)])
    second = store_run(warehouse, "run", [batch([record(1), record(2, description="Now weekly.")], seen_in=warehouse)])
    stored = query(warehouse, f"""SELECT source_id, payload IS NULL FROM raw_listings
                                  WHERE run_id = '{second["run_id"]}' ORDER BY source_id""")  # fmt: skip
    assert stored == [("s1", True), ("s2", False)]
    resolved = query(warehouse, """SELECT run_id, source_id, payload->>'name', payload->>'description', unchanged
                                   FROM raw_records ORDER BY received_at, source_id""")  # fmt: skip
    assert resolved == [
        (first["run_id"], "s1", "Peer Group 1", None, False),
        (first["run_id"], "s2", "Peer Group 2", None, False),
        (second["run_id"], "s1", "Peer Group 1", None, True),
        (second["run_id"], "s2", "Peer Group 2", "Now weekly.", False),
    ]


KILLED_LOAD = """
import sys, time
from pathlib import Path
from pipeline.ingest import known_raw_hashes, normalise_batch, store_run

records = [{"source_id": f"k{n}", "name": f"New Group {n}", "phone": "503-555-0100"} for n in range(50)]

def pause(con):
    Path(sys.argv[2]).write_text("loading")
    time.sleep(60)

store_run(Path(sys.argv[1]), "ingest", [normalise_batch("killed", records)], before_link=pause)
"""


def test_a_load_killed_midway_leaves_the_warehouse_as_it_was(warehouse: Path, tmp_path: Path) -> None:
    store_run(warehouse, "run", [batch([record(1), record(2)])])
    tables = ("listings", "raw_listings", "groups", "group_members", "runs", "listing_events")
    before = {table: query(warehouse, f"SELECT * FROM {table} ORDER BY ALL") for table in tables}
    marker = tmp_path / "loading"
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(KILLED_LOAD), str(warehouse), str(marker)], cwd=PROJECT_ROOT
    )
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert marker.exists(), "the load never reached its midpoint"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    after = {table: query(warehouse, f"SELECT * FROM {table} ORDER BY ALL") for table in tables}
    assert after == before


HOLD_WRITER = """
import sys, time
from pathlib import Path
from pipeline.warehouse import connect
con = connect(Path(sys.argv[1]))
Path(sys.argv[2]).write_text("holding")
time.sleep(60)
"""


def test_a_second_writer_is_told_the_warehouse_is_busy(warehouse: Path, tmp_path: Path) -> None:
    store_run(warehouse, "run", [batch([record(1)])])
    marker = tmp_path / "holding"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOLD_WRITER), str(warehouse), str(marker)], cwd=PROJECT_ROOT
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        feed = tmp_path / "feed.jsonl"
        feed.write_text('{"source_id": "x", "name": "Group X", "phone": "503-555-0101"}\n')
        result = run_cli("ingest", str(feed), "--warehouse", str(warehouse))
        assert result.returncode == 2
        assert "busy" in result.stderr and "Traceback" not in result.stderr
    finally:
        holder.kill()
        holder.wait()
    assert query(warehouse, "SELECT count(*) FROM listings") == [(1,)]


def test_an_older_warehouse_is_migrated_in_place_and_keeps_its_data(warehouse: Path) -> None:
    con = duckdb.connect(str(warehouse))
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description VARCHAR, "
                "applied_at TIMESTAMPTZ)")  # fmt: skip
    for version, description, sql in MIGRATIONS[:3]:
        with transaction(con):
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [version, description])
    con.close()
    store_run_v3 = normalise_batch("riverside", [record(1)])
    # Loading through today's code migrates first, then loads.
    store_run(warehouse, "run", [store_run_v3])
    versions = [row[0] for row in query(warehouse, "SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == [version for version, _, _ in MIGRATIONS]
    assert query(warehouse, "SELECT source_status, status FROM listings") == [("active", "active")]
    con = connect(warehouse)
    assert migrate(con) == []  # nothing left to apply
    con.close()


def test_a_record_delivered_in_two_batches_of_one_run_is_rejected_not_lost(warehouse: Path) -> None:
    first = normalise_batch("alpha", [record(1)])
    second = normalise_batch("beta", [record(1, source="alpha")])  # beta's file names alpha as the source
    report = store_run(warehouse, "run", [first, second])
    assert report["totals"]["raw"] == report["totals"]["listings"] + report["totals"]["rejects"] == 2
    assert query(warehouse, "SELECT count(*) FROM listings") == [(1,)]
    assert query(warehouse, "SELECT reasons[1] LIKE 'source_id/duplicate:%' FROM rejects") == [(True,)]


def test_a_record_kept_from_two_batches_keeps_its_own_raw_hash(warehouse: Path) -> None:
    """The record kept is the first batch's; the later batch's copy, rejected, must not lend the listing its hash,
    or the next run's copy of it would be confirmed as unchanged and never read."""
    first = normalise_batch("beta", [record(1, source="alpha", description="First version.")])
    second = normalise_batch("alpha", [record(1, description="Second version.")])
    store_run(warehouse, "run", [first, second])
    assert query(warehouse, "SELECT description FROM listings") == [("First version.",)]
    again = batch([record(1, source="alpha", description="Second version.")], seen_in=warehouse)
    assert again.unchanged == [] and len(again.listings) == 1
    store_run(warehouse, "run", [again])
    assert query(warehouse, "SELECT description FROM listings") == [("Second version.",)]


@pytest.mark.parametrize("confirmed_by_hash", [False, True])
def test_a_stale_listing_seen_again_makes_its_group_active(warehouse: Path, confirmed_by_hash: bool) -> None:
    store_run(warehouse, "run", [batch([record(1), record(2)])])
    con = connect(warehouse)
    con.execute("UPDATE listings SET last_seen_at = last_seen_at - INTERVAL 100 DAY WHERE source_id = 's2'")
    con.close()
    store_run(warehouse, "ingest", [batch([record(1)], complete=False)])
    assert query(warehouse, "SELECT g.status FROM groups g JOIN listings l USING (group_id) WHERE l.source_id = 's2'")[
        0
    ] == ("stale",)
    store_run(warehouse, "run", [batch([record(1), record(2)], seen_in=warehouse if confirmed_by_hash else None)])
    assert query(warehouse, "SELECT DISTINCT status FROM groups") == [("active",)]
