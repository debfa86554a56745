"""Faults survived: a directory that breaks between two runs costs nothing but its own freshness.

For each fault in `tests/fault_server.FAULTS` a whole run (the Prefect build flow, from a registry file, as
`peergroups run` does) crawls a healthy source (the fixture server's Meeting Guide feed) and the faulty one. The run
completes; the healthy source's listings load; the faulty source is reported with a readable error (or, for the two
wrong encodings, read correctly and the repair counted); and its listings from an earlier healthy run, through the
same HTTP cache, are all still there and `active`. Each faulty crawl's duration (`run_sources.duration_s`) is
collected and printed at the end of the module. One test runs the real `peergroups run` command for the exit code.

The faulty directory's Scrapy timeouts are shortened (a 2 s download timeout, one retry) and the registry turns
delays off; everything else is the crawl's defaults (robots.txt obeyed, the HTTP cache beside the warehouse, the
flow's one retry of a crawl that failed on the network).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from flows.registry import Source, load_registry
from tests.conftest import query, run_cli
from tests.fault_server import FAULTS, HTML_SELECTORS, MEETINGS, FaultServer, serve_faults

# The faulty directory's own Scrapy settings: a short download timeout and one retry, so a hanging or endless page
# costs seconds. The registry file has no table for them (its keys are the politeness ones: download_delay,
# autothrottle, ...), so they are added to the loaded Source's `settings`, where those keys land too.
FAST = {"DOWNLOAD_TIMEOUT": 2, "RETRY_TIMES": 1}
# A page that never answers (or never ends) is given up on sooner: it cannot answer in time anyway.
HANGING = {"timeout", "endless_trickle"}
HANGING_TIMEOUT = 1
PAGES = {
    "feed": ("meeting_guide", "feed.json"),
    "html": ("html_directory", "groups.html"),
    "jsonld": ("jsonld", "events.html"),
}
HEALTHY = "prairie_mood"  # tests/fixtures/meeting_guide/tsml_feed.json: 10 records, 7 listings
HEALTHY_LISTINGS = 7  # one of them temporarily closed
NAMES = sorted(meeting["name"] for meeting in MEETINGS)


@dataclass(frozen=True)
class Expected:
    status: str  # the faulty source's run_sources status
    error: str | None  # words its error must contain
    kind: str | None  # the crawl's `peergroups/source_error/<kind>` stat


EXPECTED: dict[str, Expected] = {
    "http_500": Expected("failed", "answered HTTP 500", "http"),
    "timeout": Expected("failed", f"took longer than {HANGING_TIMEOUT}", "network"),
    "connection_reset": Expected("failed", "could not be fetched: Connection to the other side was lost", "network"),
    "truncated_json": Expected("failed", "is not a JSON feed", "not_json"),
    "truncated_transfer": Expected("failed", "connection closed before the whole response arrived", "network"),
    "invalid_json": Expected("failed", "is not a JSON feed", "not_json"),
    "layout_changed": Expected("failed", "no listing block matching 'div.groupInfo'", "no_listings"),
    "fields_renamed": Expected("failed", "the page layout changed: the name selector", "layout_changed"),
    "jsonld_removed": Expected("failed", "no schema.org Event", "no_listings"),
    "endless_trickle": Expected("failed", f"took longer than {HANGING_TIMEOUT}", "network"),
    "endless_flood": Expected("failed", "larger than the download limit of 128 MB", "too_large"),
    "huge": Expected("failed", "larger than the download limit of 128 MB", "too_large"),
    # Read correctly, not failed: the stray Latin-1 bytes are repaired (and counted); UTF-16 is recognised.
    "latin1_as_utf8": Expected("ok", None, None),
    "utf16_undeclared": Expected("ok", None, None),
    "offsite_redirect": Expected("failed", "redirects to http://localhost:", "offsite"),
    "robots_forbidden": Expected("failed", "disallowed by the site's robots.txt", "robots_txt"),
}


# One directory, in three shapes, that every test breaks in its own way (tests run one at a time; the server is shared).
SITE = "riverbend"
FAULTY = {"feed": "riverbend_feed", "html": "riverbend_groups", "jsonld": "riverbend_events"}


def registry_entry(name: str, platform: str, url: str) -> str:
    lines = [
        "[[source]]",
        f'name = "{name}"',
        f'platform = "{platform}"',
        f'url = "{url}"',
        'country = "US"',
        "download_delay = 0",
        "autothrottle = false",
    ]
    if platform == "html_directory":
        lines.append(f"arguments = {{ selectors = {json.dumps(json.dumps(HTML_SELECTORS))} }}")
    return "\n".join(lines) + "\n"


def faulty_entry(server: FaultServer, kind: str) -> str:
    platform, page = PAGES[kind]
    return registry_entry(FAULTY[kind], platform, f"{server.base_url}/{SITE}/{page}")


def write_registry(path: Path, entries: list[str], fast: dict[str, Any] = FAST) -> list[Source]:
    """Write and load a registry; the faulty sources get the `fast` settings on top of their registered ones."""
    path.write_text("\n".join(entries), encoding="utf-8")
    faulty = set(FAULTY.values())
    return [
        replace(source, settings={**source.settings, **fast}) if source.name in faulty else source
        for source in load_registry(path)
    ]


def listed(warehouse: Path, source: str) -> int:
    """The source's listings not withdrawn (active, temporarily closed, ...)."""
    rows = query(warehouse, "SELECT count(*) FROM listings WHERE source = ? AND status <> 'withdrawn'", source)
    return int(rows[0][0])


def active_names(warehouse: Path, source: str) -> list[str]:
    rows = query(warehouse, "SELECT name FROM listings WHERE source = ? AND status = 'active' ORDER BY name", source)
    return [row[0] for row in rows]


# --- fixtures -------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fault_server() -> Iterator[FaultServer]:
    with serve_faults() as server:
        yield server


@pytest.fixture(scope="module")
def build_flow(prefect_harness: None) -> Any:
    from flows.build import build_flow

    return build_flow


@pytest.fixture(scope="module")
def seeded(build_flow: Any, fault_server: FaultServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse (and its HTTP cache) after one healthy run of every faulty source: copied by each test."""
    root = tmp_path_factory.mktemp("seed")
    sources = write_registry(root / "sources.toml", [faulty_entry(fault_server, kind) for kind in FAULTY])
    report = build_flow(sources, root / "w.duckdb", root / "raw", kind="run")
    assert report["status"] == "ok", report["sources"]
    for name in FAULTY.values():
        assert active_names(root / "w.duckdb", name) == NAMES
    return root


@pytest.fixture
def warehouse(seeded: Path, tmp_path: Path) -> Path:
    """This test's copy of the seeded warehouse, with the HTTP cache beside it, as on an operator's machine."""
    shutil.copy(seeded / "w.duckdb", tmp_path / "w.duckdb")
    shutil.copytree(seeded / "cache", tmp_path / "cache")
    return tmp_path / "w.duckdb"


@pytest.fixture(scope="module")
def durations(request: pytest.FixtureRequest) -> Iterator[dict[str, tuple[str, float, float, str]]]:
    """fault → (status, crawl seconds, whole run seconds, error); printed as a table when the module is done."""
    collected: dict[str, tuple[str, float, float, str]] = {}
    yield collected
    if not collected:
        return
    lines = ["", "fault                status   crawl s  run s  error (the faulty source's run_sources row)"]
    for fault, (status, crawl_s, run_s, error) in collected.items():
        lines.append(f"{fault:20} {status:8} {crawl_s:7.2f} {run_s:6.1f}  {error}")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            for line in lines:
                reporter.write_line(line)


# --- one run per fault ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_fault_costs_only_the_faulty_source_its_freshness(
    fault: str,
    build_flow: Any,
    fault_server: FaultServer,
    fixture_site: str,
    warehouse: Path,
    durations: dict[str, tuple[str, float, float, str]],
) -> None:
    expected = EXPECTED[fault]
    tmp = warehouse.parent
    sources = write_registry(
        tmp / "sources.toml",
        [
            registry_entry(HEALTHY, "meeting_guide", f"{fixture_site}/meeting_guide/tsml_feed.json"),
            faulty_entry(fault_server, FAULTS[fault]),
        ],
        {**FAST, "DOWNLOAD_TIMEOUT": HANGING_TIMEOUT} if fault in HANGING else FAST,
    )
    faulty = FAULTY[FAULTS[fault]]
    before = dict(fault_server.hits)
    fault_server.faults[SITE] = fault
    started = time.monotonic()
    try:
        report = build_flow(sources, warehouse, tmp / "raw", kind="run")
    finally:
        fault_server.faults.pop(SITE, None)
    run_seconds = time.monotonic() - started

    # The run completed and says so: `peergroups run` exits 1 unless the run's status is "ok".
    rows = {row["source"]: row for row in report["sources"]}
    assert report["status"] == ("ok" if expected.status == "ok" else "partial")

    # The healthy source loaded.
    assert rows[HEALTHY]["status"] == "ok"
    assert rows[HEALTHY]["listings"] == HEALTHY_LISTINGS
    assert listed(warehouse, HEALTHY) == HEALTHY_LISTINGS

    # The faulty source is reported, in the report and in the warehouse, with a readable error.
    row = rows[faulty]
    stored = query(
        warehouse,
        "SELECT status, error, duration_s, crawl_stats FROM run_sources WHERE run_id = ? AND source = ?",
        report["run_id"],
        faulty,
    )
    assert len(stored) == 1
    status, error, duration_s, crawl_stats = stored[0]
    crawl_stats = json.loads(crawl_stats)
    assert status == row["status"] == expected.status, row
    if expected.error is not None:
        assert error is not None and expected.error in error, error
        assert "Traceback" not in error and len(error) < 500
    if expected.kind is not None:
        assert crawl_stats[f"peergroups/source_error/{expected.kind}"] >= 1
    assert duration_s is not None and duration_s > 0
    durations[fault] = (status, duration_s, run_seconds, error or "")

    # Nothing it listed before is lost, withdrawn or mangled.
    assert active_names(warehouse, faulty) == NAMES
    assert row["withdrawn"] == 0
    withdrawn = query(warehouse, "SELECT count(*) FROM listing_events WHERE source = ? AND event = 'withdrawn'", faulty)
    assert withdrawn == [(0,)]
    if expected.status != "ok":
        # Not confirmed as seen by a crawl that read nothing (a stale cached copy must not stand in for the site).
        seen = query(warehouse, "SELECT DISTINCT last_seen_run FROM listings WHERE source = ?", faulty)
        assert (report["run_id"],) not in seen

    # What each fault must (not) have done besides.
    if fault == "latin1_as_utf8":
        assert crawl_stats["peergroups/encoding/repaired"] >= 1
    if fault == "offsite_redirect":
        assert not any(key.startswith("localhost ") for key in fault_server.hits)  # never followed
        assert query(warehouse, "SELECT count(*) FROM listings WHERE name LIKE 'Offsite%'") == [(0,)]
    if fault == "robots_forbidden":
        feed = f"127.0.0.1 /{SITE}/feed.json"
        assert fault_server.hits[feed] == before.get(feed, 0)  # not asked for
    if fault in ("timeout", "endless_trickle", "endless_flood", "huge"):
        # Bounded: two crawl attempts at most (the flow retries a network failure once), each of two downloads.
        assert run_seconds < 60


# --- the command line ------------------------------------------------------------------------------------------------


def test_peergroups_run_exits_1_and_says_which_source_failed(
    fault_server: FaultServer, fixture_site: str, warehouse: Path
) -> None:
    """The real command, with the crawl's default timeouts and retries, on a directory that now answers 500."""
    tmp = warehouse.parent
    registry = tmp / "sources.toml"
    write_registry(
        registry,
        [
            registry_entry(HEALTHY, "meeting_guide", f"{fixture_site}/meeting_guide/tsml_feed.json"),
            faulty_entry(fault_server, "feed"),
        ],
    )
    fault_server.faults[SITE] = "http_500"
    try:
        completed = run_cli("run", "--registry", str(registry), "--warehouse", str(warehouse))
    finally:
        fault_server.faults.pop(SITE, None)
    assert completed.returncode == 1, completed.stderr[-2000:]
    assert "Traceback" not in completed.stderr
    failed = [line for line in completed.stdout.splitlines() if line.startswith(f"{FAULTY['feed']} ")]
    assert failed and failed[0].split()[1] == "failed", completed.stdout
    assert "answered HTTP 500" in completed.stdout
    assert listed(warehouse, HEALTHY) == HEALTHY_LISTINGS
    assert active_names(warehouse, FAULTY["feed"]) == NAMES
