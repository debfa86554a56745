"""End to end: `peergroups demo` serves the demo directories, crawls, builds and exports, as a newcomer runs it."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import duckdb
import pytest

from tests.conftest import PROJECT_ROOT, run_cli


def pairs(clusters: dict[str, set[tuple[str, str]]]) -> set[frozenset[tuple[str, str]]]:
    return {frozenset(pair) for members in clusters.values() for pair in itertools.combinations(sorted(members), 2)}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    root = tmp_path_factory.mktemp("demo")
    warehouse, exports = root / "warehouse.duckdb", root / "exports"
    result = run_cli("demo", "--warehouse", str(warehouse), "--exports", str(exports), cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    return warehouse, exports, result.stdout


def test_summary_names_sources_rejects_groups_and_exports(demo: tuple[Path, Path, str]) -> None:
    _, exports, stdout = demo
    sources = ("riverside_peers", "lakeshore_mood", "midvalley_211", "dbsa_riverton_calendar", "midvalley_mha",
               "coastal_wellness", "oregon_mood_alliance", "harbor_helpline")  # fmt: skip
    for source in sources:
        assert source in stdout
    assert "47 raw = 46 listings + 1 rejects; 22 groups after dedupe (22 new)" in stdout
    assert "6 raw = 6 listings + 0 rejects; 25 groups after dedupe (3 new)" in stdout
    assert f"export: {exports / 'groups.csv'}" in stdout


def test_listings_collapse_into_the_true_groups(demo: tuple[Path, Path, str]) -> None:
    warehouse, _, _ = demo
    con = duckdb.connect(str(warehouse), read_only=True)
    rows = con.execute("SELECT source, source_id, group_id FROM listings").fetchall()
    group_count = con.execute("SELECT count(*) FROM groups").fetchone()[0]  # type: ignore[index]
    con.close()
    with (PROJECT_ROOT / "data" / "demo" / "truth.csv").open() as handle:
        truth = {(row["source"], row["source_id"]): row["group_key"] for row in csv.DictReader(handle)}

    predicted: dict[str, set[tuple[str, str]]] = {}
    expected: dict[str, set[tuple[str, str]]] = {}
    for source, source_id, group_id in rows:
        predicted.setdefault(group_id, set()).add((source, source_id))
        expected.setdefault(truth[(source, source_id)], set()).add((source, source_id))
    assert group_count < len(rows)
    found, true = pairs(predicted), pairs(expected)
    precision = len(found & true) / len(found)
    recall = len(found & true) / len(true)
    print(f"demo dedupe: precision {precision:.3f}, recall {recall:.3f} ({len(found & true)} of {len(true)} pairs)")
    assert precision == 1.0  # never two different groups merged
    assert recall >= 0.8


def test_groups_that_stopped_meeting_stay_apart(demo: tuple[Path, Path, str]) -> None:
    """The stale directory's groups that no longer meet are listed nowhere else: each stays a group of its own."""
    warehouse, _, _ = demo
    with (PROJECT_ROOT / "data" / "demo" / "truth.csv").open() as handle:
        stale = [(row["source"], row["source_id"]) for row in csv.DictReader(handle) if row["stale"] == "true"]
    assert 2 <= len(stale) <= 3
    con = duckdb.connect(str(warehouse), read_only=True)
    sizes = con.execute(
        """SELECT l.source, l.source_id, (SELECT count(*) FROM listings o WHERE o.group_id = l.group_id)
           FROM listings l"""
    ).fetchall()
    con.close()
    size_of = {(source, source_id): size for source, source_id, size in sizes}
    assert all(size_of[key] == 1 for key in stale)


def test_every_run_accounts_for_every_raw_record(demo: tuple[Path, Path, str]) -> None:
    warehouse, _, _ = demo
    con = duckdb.connect(str(warehouse), read_only=True)
    runs = con.execute(
        """SELECT kind, raw_count, listing_count, reject_count,
                  (SELECT count(*) FROM raw_listings r WHERE r.run_id = runs.run_id) FROM runs ORDER BY kind"""
    ).fetchall()
    con.close()
    assert [row[0] for row in runs] == ["demo", "ingest"]  # seven directories crawled in one run, one file handed over
    for _, raw, listings, rejects, stored in runs:
        assert raw == listings + rejects == stored


def test_free_text_schedules_of_the_handed_over_file_are_read(demo: tuple[Path, Path, str]) -> None:
    warehouse, _, _ = demo
    con = duckdb.connect(str(warehouse), read_only=True)
    rows = con.execute(
        """SELECT l.source_id, s.rrule, s.opens_at::VARCHAR, s.closes_at::VARCHAR, s.timezone
           FROM listings l LEFT JOIN listing_schedules s USING (listing_id)
           WHERE l.source = 'harbor_helpline' ORDER BY l.source_id"""
    ).fetchall()
    con.close()
    assert rows == [
        ("HH-1", "FREQ=WEEKLY;BYDAY=MO", "18:00:00", "19:00:00", "America/Los_Angeles"),
        ("HH-2", "FREQ=WEEKLY;BYDAY=FR", "15:00:00", "16:30:00", "America/Los_Angeles"),
        ("HH-3", "FREQ=WEEKLY;BYDAY=TH", "13:00:00", "14:30:00", "America/Los_Angeles"),
        ("HH-4", "FREQ=MONTHLY;BYDAY=1TU,3TU", "19:00:00", None, "America/Los_Angeles"),
        ("HH-5", "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE", "12:00:00", "13:00:00", "America/Los_Angeles"),
        ("HH-6", None, None, None, None),  # "Call for times": no schedule, never a guessed one
    ]


def test_public_exports_hold_no_passwords_or_personal_contacts(demo: tuple[Path, Path, str]) -> None:
    _, exports, _ = demo
    text = (exports / "groups.csv").read_text()
    for secret in ("pwd=", "SecretPass", "HelplineSecret", "7319"):
        assert secret not in text
    assert "jordan" not in text.casefold()
    assert "<p>" not in text
    assert (exports / "groups.parquet").stat().st_size > 0
    assert (exports / "group_schedules.csv").read_text().count("\n") > 10
