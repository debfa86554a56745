"""A handed-over JSON lines file read again: a line identical to the one a stored listing's record last came in is
that record, confirmed without being read; any other line is read as always. Real files and warehouses, loaded the
way `peergroups ingest --complete` loads them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline import ingest as ingest_module
from pipeline.ingest import known_raw_hashes, normalise_batch, normalise_file, store_run
from pipeline.normalise import listing_id
from pipeline.warehouse import SourceBatch
from tests.conftest import query

VENUE = {"street": "415 Alder Street", "city": "Riverton", "region": "OR", "postal_code": "97301"}


def record(source_id: str, name: str, **fields: Any) -> dict[str, Any]:
    return {"source_id": source_id, "name": name, "schedule_text": "Tuesdays 7pm", "phone": "(503) 555-0100",
            "fetched_at": "2026-11-02T03:00:00Z", **VENUE, **fields}  # fmt: skip


RECORDS = [
    record("1", "Depression and Bipolar Support Group"),
    record("2", "Family Support Group", schedule_text="Thursdays 6:30pm"),
    record("3", "Anxiety Peer Circle", email="circle@riverside.example.org"),
    record("4", "Grief Support Group", source="lakeshore"),  # another directory's record in the same file
]


def write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(item) + "\n" for item in records), encoding="utf-8")
    return path


def ingest(warehouse: Path, path: Path, source: str = "riverside", **options: Any) -> tuple[list[SourceBatch], dict]:
    batches = normalise_file(path, source, complete=True, known=known_raw_hashes(warehouse), **options)
    return batches, store_run(warehouse, "ingest", batches)


def confirmed(batches: list[SourceBatch]) -> int:
    return sum(len(batch.confirmed_lines) for batch in batches)


def events(warehouse: Path, report: dict[str, Any]) -> list[tuple[str, str]]:
    return query(warehouse, "SELECT listing_id, event FROM listing_events WHERE run_id = ? ORDER BY ALL",
                 report["run_id"])  # fmt: skip


def test_a_file_read_again_confirms_every_line_without_reading_it(warehouse: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "riverside.jsonl", RECORDS)
    first_batches, first = ingest(warehouse, path)
    assert confirmed(first_batches) == 0
    batches, again = ingest(warehouse, path)
    assert confirmed(batches) == 4 and all(not batch.raw_records for batch in batches)
    # Each record still counts, per source, and ends as a confirmed listing: nothing new, changed or withdrawn.
    assert {row["source"]: (row["raw"], row["listings"]) for row in again["sources"]} == {
        "riverside": (3, 3), "lakeshore": (1, 1)}  # fmt: skip
    assert again["totals"]["raw"] == first["totals"]["raw"] == 4 and events(warehouse, again) == []
    # Its raw row points at the payload stored the first time, as a record confirmed by its raw hash does.
    rows = query(warehouse, """SELECT r.source, r.source_id, r.raw_hash, r.payload IS NULL, v.payload ->> 'name'
                               FROM raw_listings r JOIN raw_records v USING (run_id, listing_id)
                               WHERE run_id = ? ORDER BY r.source_id""", again["run_id"])  # fmt: skip
    stored = dict(query(warehouse, "SELECT source_id, raw_hash FROM raw_listings WHERE run_id = ?", first["run_id"]))
    assert [(source, source_id, digest) for source, source_id, digest, _, _ in rows] == [
        ("riverside", "1", stored["1"]), ("riverside", "2", stored["2"]), ("riverside", "3", stored["3"]),
        ("lakeshore", "4", stored["4"])]  # fmt: skip
    assert [(empty, name) for *_, empty, name in rows] == [(True, item["name"]) for item in RECORDS]
    seen = query(warehouse, "SELECT count(*) FROM listings WHERE last_seen_run = ?", again["run_id"])[0][0]
    assert seen == 4


def test_a_changed_line_is_read_and_a_new_fetch_time_is_remembered(warehouse: Path, tmp_path: Path) -> None:
    ingest(warehouse, write(tmp_path / "v1.jsonl", RECORDS))
    edited = [{**RECORDS[0], "schedule_text": "Wednesdays 7pm"}, {**RECORDS[1], "fetched_at": "2026-11-09T03:00:00Z"},
              *RECORDS[2:]]  # fmt: skip
    path = write(tmp_path / "v2.jsonl", edited)
    batches, report = ingest(warehouse, path)
    assert confirmed(batches) == 2
    assert events(warehouse, report) == [(listing_id("riverside", "1"), "changed")]
    assert sum(len(batch.unchanged) for batch in batches) == 3  # the new fetch time: confirmed by its raw hash
    # Both lines now read are remembered: the same file again is confirmed line by line.
    again, _ = ingest(warehouse, path)
    assert confirmed(again) == 4


def test_a_listing_changed_by_a_crawl_forgets_the_line_it_came_in(warehouse: Path, tmp_path: Path) -> None:
    """The old line no longer says what the listing holds: a file repeating it is read, and the change back is seen."""
    path = write(tmp_path / "riverside.jsonl", RECORDS)
    ingest(warehouse, path)
    crawled = normalise_batch("riverside", [{**RECORDS[0], "source": "riverside", "name": "Mood Circle"}],
                              known=known_raw_hashes(warehouse))  # fmt: skip
    store_run(warehouse, "crawl", [crawled])
    batches, report = ingest(warehouse, path)
    assert confirmed(batches) == 3
    assert events(warehouse, report) == [(listing_id("riverside", "1"), "changed")]
    name = query(warehouse, "SELECT name FROM listings WHERE listing_id = ?", listing_id("riverside", "1"))
    assert name == [("Depression and Bipolar Support Group",)]


def test_a_line_read_under_another_source_is_another_record(warehouse: Path, tmp_path: Path) -> None:
    """A record naming no source takes the file's: the same line given as another directory's file (or with every
    record's source overridden) is another listing, never confirmed as the first one."""
    path = write(tmp_path / "handover.jsonl", RECORDS[:3])
    ingest(warehouse, path, "riverside")
    batches, report = ingest(warehouse, path, "brookside")
    assert confirmed(batches) == 0 and {event for _, event in events(warehouse, report)} == {"new"}
    batches, report = ingest(warehouse, path, "riverside", override_source=True)
    # Records naming no source were already riverside's; overriding reads them afresh (and confirms them by hash).
    assert confirmed(batches) == 0 and events(warehouse, report) == []


def test_a_line_given_twice_is_confirmed_once_and_its_copy_rejected(warehouse: Path, tmp_path: Path) -> None:
    ingest(warehouse, write(tmp_path / "v1.jsonl", RECORDS))
    batches, report = ingest(warehouse, write(tmp_path / "v2.jsonl", [*RECORDS, RECORDS[1]]))
    assert confirmed(batches) == 4
    assert report["totals"] == {**report["totals"], "raw": 5, "listings": 4, "rejects": 1}
    reasons = query(warehouse, "SELECT reasons FROM rejects WHERE run_id = ?", report["run_id"])
    assert len(reasons) == 1 and "duplicate" in reasons[0][0][0]


def test_a_confirmed_line_another_batch_of_the_run_also_holds_is_read_and_rejected(
    warehouse: Path, tmp_path: Path
) -> None:
    """Two batches of one run holding one listing: the first is kept, and the second's record, though confirmed by
    its line, is rejected with what it says (read after all), so every raw record stays a listing or a reject."""
    path = write(tmp_path / "riverside.jsonl", RECORDS[:3])
    ingest(warehouse, path)
    from_file = normalise_file(path, "riverside", complete=True, known=known_raw_hashes(warehouse))
    assert confirmed(from_file) == 3
    other = normalise_batch("partner-feed", [{**RECORDS[0], "source": "riverside"}])
    report = store_run(warehouse, "ingest", [other, *from_file])
    assert report["totals"] == {**report["totals"], "raw": 4, "listings": 3, "rejects": 1}
    payload = query(warehouse, "SELECT payload ->> 'name' FROM rejects WHERE run_id = ?", report["run_id"])
    assert payload == [(RECORDS[0]["name"],)]
    rows = query(warehouse, "SELECT count(*) FROM raw_listings WHERE run_id = ?", report["run_id"])[0][0]
    assert rows == 4


def test_a_record_rejected_as_a_duplicate_leaves_no_line_on_the_listing_kept(warehouse: Path, tmp_path: Path) -> None:
    """The kept record is another batch's: the rejected record's line says something else, so a later file with it
    must be read (and its edit seen), not confirmed as what the listing holds."""
    ingest(warehouse, write(tmp_path / "v1.jsonl", RECORDS[:2]))
    renamed = write(tmp_path / "v2.jsonl", [{**RECORDS[0], "name": "Mood Circle"}])
    known = known_raw_hashes(warehouse)
    other = normalise_batch("partner-feed", [{**RECORDS[0], "source": "riverside"}], known=known)
    report = store_run(warehouse, "ingest", [other, *normalise_file(renamed, "riverside", known=known)])
    assert report["totals"]["rejects"] == 1
    batches, report = ingest(warehouse, renamed)
    assert confirmed(batches) == 0
    assert query(warehouse, "SELECT name FROM listings WHERE listing_id = ?", listing_id("riverside", "1")) == [
        ("Mood Circle",)]  # fmt: skip


def test_a_record_rejected_as_a_duplicate_of_an_edit_leaves_no_line_on_it(warehouse: Path, tmp_path: Path) -> None:
    """Another batch of the run edits the listing (kept, with its own content); the file's record, rejected, must
    not leave its line on it: the same file again is read, and what it says is loaded."""
    ingest(warehouse, write(tmp_path / "v1.jsonl", RECORDS[:2]))
    renamed = write(tmp_path / "v2.jsonl", [{**RECORDS[0], "name": "Mood Circle"}])
    known = known_raw_hashes(warehouse)
    other = normalise_batch("partner-feed", [{**RECORDS[0], "source": "riverside", "name": "Crawl Name"}], known=known)
    store_run(warehouse, "ingest", [other, *normalise_file(renamed, "riverside", known=known)])
    batches, _ = ingest(warehouse, renamed)
    assert confirmed(batches) == 0
    assert query(warehouse, "SELECT name FROM listings WHERE listing_id = ?", listing_id("riverside", "1")) == [
        ("Mood Circle",)]  # fmt: skip


def test_a_confirmed_line_read_after_all_is_the_record_as_first_read(warehouse: Path, tmp_path: Path) -> None:
    """Under `--source` override a record's own source (another name, or the same one padded) gives way to the
    file's: read after all (to be rejected), it is stored the same way, with the same raw hash as the first time."""
    legacy = [{**RECORDS[0], "source": "legacy-name"}, {**RECORDS[1], "source": " riverside"}]
    path = write(tmp_path / "legacy.jsonl", legacy)
    _, first = ingest(warehouse, path, override_source=True)
    from_file = normalise_file(path, "riverside", override_source=True, complete=True,
                               known=known_raw_hashes(warehouse))  # fmt: skip
    assert confirmed(from_file) == 2
    partners = [{**item, "source": "riverside", "name": "Partner's"} for item in RECORDS[:2]]
    other = normalise_batch("partner-feed", partners)
    report = store_run(warehouse, "ingest", [other, *from_file])
    assert report["totals"] == {**report["totals"], "raw": 4, "listings": 2, "rejects": 2}
    stored = query(warehouse, "SELECT source_id, raw_hash FROM raw_listings WHERE run_id = ? ORDER BY source_id",
                   first["run_id"])  # fmt: skip
    rows = query(warehouse, """SELECT source_id, raw_hash, source, payload ->> 'source' FROM raw_listings
                               WHERE run_id = ? AND payload ->> 'name' <> 'Partner''s' ORDER BY source_id""",
                 report["run_id"])  # fmt: skip
    assert rows == [(source_id, digest, "riverside", "riverside") for source_id, digest in stored]
    rejected = query(warehouse, "SELECT payload ->> 'source' FROM rejects WHERE run_id = ?", report["run_id"])
    assert rejected == [("riverside",), ("riverside",)]


def test_a_line_is_confirmed_only_for_the_normaliser_that_read_it(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New normaliser code (its version is in every raw hash) must read every line again: it is in the line's too.
    A new version is stood in for by changing the prefix the version is hashed with."""
    path = write(tmp_path / "riverside.jsonl", RECORDS)
    ingest(warehouse, path)
    monkeypatch.setattr(ingest_module, "_RAW_HASH_PREFIX", b"0ther-versi0n\n")
    batches, report = ingest(warehouse, path)
    assert confirmed(batches) == 0 and sum(len(batch.listings) for batch in batches) == 4
    assert events(warehouse, report) == []  # read again, and found saying the same
