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
    assert "riverside_peers" in stdout and "lakeshore_mood" in stdout
    assert "22 raw = 21 listings + 1 rejects" in stdout
    assert "groups after dedupe" in stdout
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
    assert precision == 1.0
    assert recall == 1.0


def test_every_run_accounts_for_every_raw_record(demo: tuple[Path, Path, str]) -> None:
    warehouse, _, _ = demo
    con = duckdb.connect(str(warehouse), read_only=True)
    raw, listings, rejects = con.execute(
        "SELECT raw_count, listing_count, reject_count FROM runs WHERE kind = 'demo'"
    ).fetchone()  # type: ignore[misc]
    stored_raw = con.execute("SELECT count(*) FROM raw_listings").fetchone()[0]  # type: ignore[index]
    con.close()
    assert raw == listings + rejects == stored_raw


def test_public_exports_hold_no_passwords_or_personal_contacts(demo: tuple[Path, Path, str]) -> None:
    _, exports, _ = demo
    text = (exports / "groups.csv").read_text()
    assert "pwd=" not in text and "SecretPass" not in text
    assert "jordan" not in text.casefold()
    assert "<p>" not in text
    assert (exports / "groups.parquet").stat().st_size > 0
    assert (exports / "group_schedules.csv").read_text().count("\n") > 10
