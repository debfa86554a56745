"""The Prefect flows, run for real under `prefect_test_harness` against fixture feeds on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from flows.registry import Source

LOCAL = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "RETRY_TIMES": 0}


@pytest.fixture
def build_flow(prefect_harness: None) -> Any:
    from flows.build import build_flow

    return build_flow


def source(name: str, url: str) -> Source:
    return Source(name=name, platform="meeting_guide", urls=(url,), country="US")


def test_a_failing_source_does_not_fail_the_others(build_flow: Any, fixture_site: str, tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    sources = [
        source("prairie_mood", f"{fixture_site}/meeting_guide/tsml_feed.json"),
        source("down_for_maintenance", f"{fixture_site}/_status/500"),
        source("moved_away", f"{fixture_site}/meeting_guide/not_json.html"),
    ]
    report = build_flow(sources, warehouse, tmp_path / "raw", kind="test", extra_settings=LOCAL)

    by_source = {row["source"]: row for row in report["sources"]}
    assert report["status"] == "partial"
    assert by_source["prairie_mood"]["status"] == "ok"
    assert (by_source["prairie_mood"]["raw"], by_source["prairie_mood"]["listings"]) == (10, 7)
    assert by_source["down_for_maintenance"]["status"] == "failed"
    assert "HTTP 500" in by_source["down_for_maintenance"]["error"]
    assert "not a JSON feed" in by_source["moved_away"]["error"]
    assert by_source["prairie_mood"]["crawl_stats"]["peergroups/field/name/missing"] == 1
    assert by_source["prairie_mood"]["field_issues"]["phone/invalid"] == 1

    con = duckdb.connect(str(warehouse), read_only=True)
    stored = dict(con.execute("SELECT source, status FROM run_sources").fetchall())
    con.close()
    assert stored == {"prairie_mood": "ok", "down_for_maintenance": "failed", "moved_away": "failed"}


def test_earlier_listings_survive_a_later_failed_crawl(build_flow: Any, fixture_site: str, tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    good = source("prairie_mood", f"{fixture_site}/meeting_guide/tsml_feed.json")
    build_flow([good], warehouse, tmp_path / "raw", kind="test", extra_settings=LOCAL)
    broken = source("prairie_mood", f"{fixture_site}/_status/503")
    report = build_flow([broken], warehouse, tmp_path / "raw", kind="test", extra_settings=LOCAL)
    assert report["status"] == "failed"
    con = duckdb.connect(str(warehouse), read_only=True)
    listings = con.execute("SELECT count(*) FROM listings WHERE source = 'prairie_mood'").fetchone()[0]  # type: ignore[index]
    con.close()
    assert listings == 7


def test_run_report_is_a_prefect_artifact(build_flow: Any, fixture_site: str, tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    report = build_flow([source("prairie_mood", f"{fixture_site}/meeting_guide/tsml_feed.json")],
                        tmp_path / "w.duckdb", tmp_path / "raw", kind="test", extra_settings=LOCAL)  # fmt: skip
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["peergroups-run-report"]))
        )
    assert any(report["run_id"] in (artifact.data or "") for artifact in artifacts)


def test_ingest_flow_accounts_for_every_line(prefect_harness: None, tmp_path: Path) -> None:
    from flows.build import ingest_flow

    lines = [
        json.dumps({"source_id": "a", "name": "Peer Circle", "phone": "(503) 555-0101"}),
        json.dumps({"source_id": "b", "name": "", "phone": "(503) 555-0102"}),
        "this line is not JSON",
        json.dumps(["not", "an", "object"]),
        "",
    ]
    path = tmp_path / "handover.jsonl"
    path.write_text("\n".join(lines) + "\n")
    report = ingest_flow(path, "handover", tmp_path / "w.duckdb")
    assert report["totals"] | {"groups": 0, "new_groups": 0} == {
        "raw": 4, "listings": 1, "rejects": 3, "groups": 0, "new_groups": 0, "withdrawn": 0,
    }  # fmt: skip
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    sources = {row[0] for row in con.execute("SELECT source FROM raw_listings").fetchall()}
    con.close()
    assert sources == {"handover"}
