"""The `peergroups` command as a user runs it: clear messages for mistakes, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import read_jsonl, run_cli


def assert_clean_error(result: object, *fragments: str) -> None:
    stderr = result.stderr  # type: ignore[attr-defined]
    assert result.returncode != 0  # type: ignore[attr-defined]
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in stderr


def test_help_lists_every_command() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("demo", "run", "crawl", "ingest", "export", "sources"):
        assert command in result.stdout


@pytest.mark.parametrize("command", ["demo", "run", "crawl", "ingest", "export", "sources"])
def test_every_command_takes_warehouse(command: str) -> None:
    result = run_cli(command, "--help")
    assert result.returncode == 0
    assert "--warehouse PATH" in result.stdout


def test_crawl_writes_raw_listings(fixture_site: str, tmp_path: Path) -> None:
    out = tmp_path / "feed.jsonl"
    result = run_cli("crawl", "--platform", "meeting_guide", "--url", f"{fixture_site}/meeting_guide/tsml_feed.json",
                     "--out", str(out), "--source", "prairie", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "10 raw listings written" in result.stdout
    items = read_jsonl(out)
    assert {item["source"] for item in items} == {"prairie"}


def test_crawl_of_a_page_that_is_not_a_feed_says_so(fixture_site: str, tmp_path: Path) -> None:
    result = run_cli("crawl", "--platform", "meeting_guide", "--url", f"{fixture_site}/meeting_guide/not_json.html",
                     "--out", str(tmp_path / "x.jsonl"), cwd=tmp_path)  # fmt: skip
    assert_clean_error(result, "crawl failed", "is not a JSON feed")


def test_crawl_refuses_a_non_http_url(tmp_path: Path) -> None:
    result = run_cli("crawl", "--platform", "meeting_guide", "--url", "feed.json", "--out", "x.jsonl", cwd=tmp_path)
    assert_clean_error(result, "not an http(s) URL")


def test_ingest_of_a_missing_file(tmp_path: Path) -> None:
    result = run_cli("ingest", str(tmp_path / "nope.jsonl"), "--warehouse", str(tmp_path / "w.duckdb"), cwd=tmp_path)
    assert_clean_error(result, "no such file")


def test_ingest_of_a_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "photo.jsonl"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    result = run_cli("ingest", str(path), "--warehouse", str(tmp_path / "w.duckdb"), cwd=tmp_path)
    assert_clean_error(result, "is not UTF-8 text")


def test_ingest_then_export(tmp_path: Path) -> None:
    path = tmp_path / "handover.jsonl"
    records = [
        {"source_id": "1", "name": "Evening Anxiety Group", "address": "12 Bay Road, Lakeport, OR 97367",
         "schedules": [{"day": "Monday", "time": "7:00 PM"}], "phone": "541.555.0130"},
        {"source_id": "2", "name": "No Contact Group"},
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(record) for record in records) + "\n")
    warehouse = tmp_path / "w.duckdb"
    result = run_cli("ingest", str(path), "--source", "county_list", "--warehouse", str(warehouse), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "2 raw = 1 listings + 1 rejects" in result.stdout

    exported = run_cli("export", "--format", "csv", "--out", str(tmp_path / "out"), "--warehouse", str(warehouse))
    assert exported.returncode == 0, exported.stderr
    assert "1 groups exported" in exported.stdout
    assert "Evening Anxiety Group" in (tmp_path / "out" / "groups.csv").read_text()


def test_export_without_a_warehouse(tmp_path: Path) -> None:
    result = run_cli("export", "--format", "csv", "--out", str(tmp_path), "--warehouse", str(tmp_path / "none.duckdb"))
    assert_clean_error(result, "no warehouse at")


def test_run_with_an_empty_registry(tmp_path: Path) -> None:
    registry = tmp_path / "sources.toml"
    registry.write_text("# nothing yet\n")
    result = run_cli("run", "--registry", str(registry), "--warehouse", str(tmp_path / "w.duckdb"), cwd=tmp_path)
    assert_clean_error(result, "no sources registered")


def test_run_with_an_unknown_source(tmp_path: Path) -> None:
    registry = tmp_path / "sources.toml"
    registry.write_text('[[source]]\nname = "a"\nplatform = "meeting_guide"\nurl = "http://127.0.0.1:9/feed"\n')
    result = run_cli("run", "--registry", str(registry), "--source", "b", cwd=tmp_path)
    assert_clean_error(result, "unknown source(s): b", "registered: a")


def test_registry_errors_name_the_entry(tmp_path: Path) -> None:
    registry = tmp_path / "sources.toml"
    registry.write_text('[[source]]\nname = "a"\nplatform = "gopher"\nurl = "http://127.0.0.1:9/"\n')
    result = run_cli("sources", "--registry", str(registry))
    assert_clean_error(result, "source #1 (a)", "platform 'gopher'")


def test_run_crawls_a_registered_source(fixture_site: str, tmp_path: Path) -> None:
    registry = tmp_path / "sources.toml"
    registry.write_text(
        f'[[source]]\nname = "prairie_mood"\nplatform = "meeting_guide"\n'
        f'url = "{fixture_site}/meeting_guide/tsml_feed.json"\ncountry = "US"\ndownload_delay = 0\n'
    )
    warehouse = tmp_path / "w.duckdb"
    result = run_cli("run", "--registry", str(registry), "--warehouse", str(warehouse), "--raw-dir",
                     str(tmp_path / "raw"), cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "10 raw = 7 listings + 3 rejects" in result.stdout
    assert "prairie_mood: 10 items" in result.stderr  # progress while it runs
    assert (tmp_path / "w.duckdb").exists()
    assert (tmp_path / "prefect").is_dir()  # Prefect's home beside the warehouse, not in the user's home


def test_a_failing_source_is_reported_in_one_line_not_a_traceback(fixture_site: str, tmp_path: Path) -> None:
    registry = tmp_path / "sources.toml"
    registry.write_text(
        f'[[source]]\nname = "down"\nplatform = "meeting_guide"\nurl = "{fixture_site}/_status/500"\n'
        f"download_delay = 0\n"
    )
    result = run_cli("run", "--registry", str(registry), "--warehouse", str(tmp_path / "w.duckdb"), cwd=tmp_path)
    assert_clean_error(result, "down: FAILED", "answered HTTP 500")
    assert result.returncode == 1
    assert "down                     failed" in result.stdout


def test_sources_lists_the_registry_with_latest_runs(fixture_site: str, tmp_path: Path) -> None:
    registry = tmp_path / "sources.toml"
    registry.write_text(
        f'[[source]]\nname = "prairie_mood"\nplatform = "meeting_guide"\n'
        f'url = "{fixture_site}/meeting_guide/tsml_feed.json"\ncountry = "US"\ndownload_delay = 0\n'
        '[[source]]\nname = "not_yet"\nplatform = "meeting_guide"\nurl = "https://example.org/feed"\n'
    )
    warehouse = tmp_path / "w.duckdb"
    assert run_cli("run", "--registry", str(registry), "--source", "prairie_mood", "--warehouse", str(warehouse),
                   cwd=tmp_path).returncode == 0  # fmt: skip
    result = run_cli("sources", "--registry", str(registry), "--warehouse", str(warehouse))
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
    assert lines["prairie_mood"][4:6] == ["ok", "7"]
    assert lines["not_yet"][3:5] == ["never", "0"]


@pytest.mark.parametrize(
    ("registry", "message"),
    [
        ('[[source]]\nname = "a"\nplatform = "meeting_guide"\nurl = "http://127.0.0.1:9/"\nfloor = "twenty"\n',
         "`floor` must be a whole number"),
        ('[[source]]\nname = "a"\nplatform = "meeting_guide"\nurls = 5\n', "must be a string or a list of strings"),
        ("source = 5\n", "not a single value"),
        ('[[source]]\nname = "a"\nplatform = "meeting_guide"\nurl = "http://x"\ncolour = "red"\n',
         "unknown keys colour"),
    ],
)  # fmt: skip
def test_registry_mistakes_are_named(tmp_path: Path, registry: str, message: str) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(registry)
    assert_clean_error(run_cli("sources", "--registry", str(path)), message)


def test_a_registry_that_is_a_directory(tmp_path: Path) -> None:
    assert_clean_error(run_cli("sources", "--registry", str(tmp_path)), "cannot read the source registry")


def test_export_into_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "groups.csv"
    target.write_text("mine")
    result = run_cli("export", "--format", "csv", "--out", str(target), "--warehouse", str(tmp_path / "w.duckdb"))
    assert_clean_error(result, "is a file")
    assert target.read_text() == "mine"


def test_crawl_into_a_directory_is_refused(tmp_path: Path) -> None:
    result = run_cli("crawl", "--platform", "meeting_guide", "--url", "http://127.0.0.1:9/feed", "--out", str(tmp_path))
    assert_clean_error(result, "is a directory")


def test_a_crawl_below_the_floor_is_broken_and_withdraws_nothing(fixture_site: str, tmp_path: Path) -> None:
    registry = tmp_path / "sources.toml"
    registry.write_text(
        f'[[source]]\nname = "prairie_mood"\nplatform = "meeting_guide"\n'
        f'url = "{fixture_site}/meeting_guide/tsml_feed.json"\ndownload_delay = 0\nfloor = 50\n'
    )
    result = run_cli("run", "--registry", str(registry), "--source", "prairie_mood", "--source", "prairie_mood",
                     "--warehouse", str(tmp_path / "w.duckdb"), cwd=tmp_path)  # fmt: skip
    assert result.returncode == 1
    assert "broken: 10 items, below this source's floor of 50" in result.stdout
    assert result.stderr.count("prairie_mood: FAILED") == 1  # named twice, crawled once
