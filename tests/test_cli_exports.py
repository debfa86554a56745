"""The export, report and review commands on a real warehouse, through the installed `peergroups` command."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from pipeline import export as export_module
from pipeline.ingest import normalise_batch, store_run
from pipeline.normalise import listing_id
from pipeline.warehouse import connect
from tests.conftest import query, run_cli

RECORDS = [
    {"source_id": "1", "name": "Hearing Voices Group", "address": "415 Alder Street, Riverton, OR 97301",
     "schedule_text": "Fridays 3-4:30pm", "phone": "503-555-0115",
     "description": "Facilitated by Jane Smith; call her at 503-555-0199 or jane.smith@example.org."},
    {"source_id": "2", "name": "Online Anxiety Circle", "conference_url": "https://zoom.example.org/j/5550100?pwd=x",
     "schedule_text": "Mondays 7pm Eastern"},
]  # fmt: skip


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-exports") / "warehouse.duckdb"
    store_run(path, "ingest", [normalise_batch("riverside", RECORDS)])
    return path


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("hsds", "datapackage.json"), ("meeting-guide", "meetings.json"), ("ics", "ics/ATTRIBUTION.txt"),
     ("csv", "groups.csv"), ("ndjson", "groups.ndjson")],
)  # fmt: skip
def test_every_format_exports_with_attribution_and_no_personal_contacts(
    warehouse: Path, tmp_path: Path, fmt: str, expected: str
) -> None:
    result = run_cli("export", "--format", fmt, "--out", str(tmp_path), "--warehouse", str(warehouse))
    assert result.returncode == 0, result.stderr
    assert "2 groups exported" in result.stdout
    assert (tmp_path / expected).exists()
    written = "".join(path.read_text(errors="replace") for path in tmp_path.rglob("*") if path.is_file())
    assert "riverside" in written  # provenance and attribution name the source
    for private in ("jane.smith@example.org", "503-555-0199", "Jane Smith", "pwd=x"):
        assert private not in written, (fmt, private)


def test_include_contacts_keeps_them_for_internal_use(warehouse: Path, tmp_path: Path) -> None:
    result = run_cli("export", "--format", "ndjson", "--out", str(tmp_path), "--warehouse", str(warehouse),
                     "--include-contacts")  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in (tmp_path / "groups.ndjson").read_text().splitlines()]
    assert any("jane.smith@example.org" in (row["description"] or "") for row in rows)


def test_large_parquet_exports_are_partitioned_by_country_and_region(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_module, "PARTITION_MIN", 1)  # a two-group warehouse stands in for a large one
    con = connect(warehouse, read_only=True)
    paths = export_module.export(con, tmp_path, "parquet")
    con.close()
    assert paths[0] == tmp_path / "groups"
    files = sorted(path.relative_to(tmp_path).as_posix() for path in (tmp_path / "groups").rglob("*.parquet"))
    assert any(name.startswith("groups/country=US/region=OR/") for name in files), files
    total = duckdb.sql(f"SELECT count(*) FROM read_parquet('{tmp_path}/groups/**/*.parquet', hive_partitioning=true)")
    assert total.fetchall()[0][0] == 2


def test_report_command_writes_one_page(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = run_cli("report", "--out", str(out), "--warehouse", str(warehouse))
    assert result.returncode == 0, result.stderr
    page = out.read_text()
    assert page.lstrip().lower().startswith("<!doctype html>")
    assert 'data-chart="groups-by-format"' in page
    assert run_cli("report", "--out", str(tmp_path), "--warehouse", str(warehouse)).returncode == 2


def test_review_lists_an_unsure_pair_records_a_decision_and_refuses_unknown_ids(tmp_path: Path) -> None:
    warehouse = tmp_path / "review.duckdb"
    venue = "415 Alder Street, Riverton, OR 97301"
    store_run(warehouse, "ingest", [normalise_batch("riverside", [{"source_id": "r1", "name": "Anxiety Talk",
                                                                   "address": venue, "schedule_text": "Mondays 6pm"}]),
                                    normalise_batch("lakeshore", [{"source_id": "l1", "name": "Calm Minds Anxiety",
                                                                   "address": venue}])])  # fmt: skip
    left, right = sorted((listing_id("riverside", "r1"), listing_id("lakeshore", "l1")))
    assert query(warehouse, "SELECT count(DISTINCT group_id) FROM group_members") == [(2,)]  # unsure: kept apart
    shown = run_cli("review", "--warehouse", str(warehouse))
    assert shown.returncode == 0, shown.stderr
    assert left in shown.stdout and right in shown.stdout and "Anxiety Talk" in shown.stdout
    decided = run_cli("review", "--same", left, right, "--note", "same facilitator", "--warehouse", str(warehouse))
    assert decided.returncode == 0, decided.stderr
    assert query(warehouse, "SELECT count(DISTINCT group_id) FROM group_members") == [(1,)]
    refused = run_cli("review", "--same", left, "Lnot-a-listing", "--warehouse", str(warehouse))
    assert refused.returncode == 2
    assert "no listing with id Lnot-a-listing" in refused.stderr and "Traceback" not in refused.stderr
