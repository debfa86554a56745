"""The HSDS 3.0 export: a real warehouse built from synthetic listings, exported, and checked against the official
Open Referral schemas (copied into tests/fixtures/hsds_schema/), then for stable ids, privacy and provenance."""

from __future__ import annotations

import csv
import json
import re
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

import pipeline.export_hsds as export_hsds_module
from flows.crawl import crawl
from flows.local_server import serve_directory
from pipeline.export_hsds import (
    AUDIENCE_TERMS,
    EXCLUDED_STATUS,
    HSDS_STATUS,
    TABLES,
    TOPIC_TERMS,
    UNKNOWN_ORGANIZATION,
    export_hsds,
)
from pipeline.ingest import normalise_batch, store_run
from pipeline.warehouse import SourceBatch, connect
from schemas.vocab import Audience, Status, Topic
from tests.conftest import FIXTURES, read_jsonl

SCHEMA_DIR = FIXTURES / "hsds_schema"
# January: Pacific time is UTC-8 (in July it is UTC-7; the IANA zone in the notes is right all year).
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
PACIFIC = "America/Los_Angeles"

# Fictional directories, organisations, example.org sites and 555-01xx numbers.
RIVERBEND = "riverbend_directory"
LAKESIDE = "lakeside_listings"
RIVERBEND_RECORDS: list[dict[str, Any]] = [
    {
        "source_id": "rb-1",
        "source_url": "https://riverbend.example.org/groups/1",
        "name": "Riverbend Depression Peer Circle",
        "organization": "Riverbend Mood Alliance",
        "address": "415 Alder St, Riverton, OR 97301",
        "phone": "503-555-0123 ext. 12",
        "email": "facilitator@example.org",
        "website": "https://riverbend.example.org/depression",
        "schedule_text": "Mondays 6-7:30pm (except holidays)",
        "description": "<p>Peer-led support for <b>depression</b> &amp; bipolar.</p><script>alert(1)</script>"
        "Questions? Write to <a href='mailto:circle@example.org'>circle@example.org</a>",
        "topics": ["depression"],
        "cost": "free",
    },
    {
        "source_id": "rb-2",
        "source_url": "https://riverbend.example.org/groups/2",
        "name": "Evening Anxiety Online",
        "organization": "Harbor Peer Network",
        "format": "online",
        "conference_url": "https://zoom.example.org/j/5550100123?pwd=secret123",
        "conference_phone": "+16465550100,,5550100123#,,,,*987654#",
        "city": "Portland",
        "region": "OR",
        "schedules": [
            {"freq": "WEEKLY", "byday": "WE", "opens_at": "19:00", "closes_at": "20:00", "timezone": PACIFIC}
        ],
        "audiences": ["young_adults"],
    },
    {
        "source_id": "rb-3",
        "source_url": "https://riverbend.example.org/groups/3",
        "name": "Family Support Group",
        "format": "hybrid",
        "address": "200 Commercial St NE, Riverton, OR 97301",
        "conference_url": "https://meet.example.org/family-support",
        "phone": "503-555-0145",
        "schedule_text": "2nd and 4th Tuesdays 6-7:30pm",
        "audiences": ["family"],
    },
    {
        "source_id": "rb-4",
        "source_url": "https://riverbend.example.org/groups/4",
        "name": "Sunday Grief Circle",
        "organization": "Riverbend Mood Alliance",
        "address": "200 Commercial St NE, Riverton, OR 97301",
        "phone": "503-555-0146",
        "schedule_text": "every other Sunday 2-3pm starting June 8, 2025",
    },
    {
        "source_id": "rb-5",
        "source_url": "https://riverbend.example.org/groups/5",
        "name": "Midday Check-in Line",
        "organization": "Harbor Peer Network",
        "format": "online",
        "conference_phone": "+15035550150",
        "region": "OR",
        "schedules": [{"freq": "DAILY", "opens_at": "12:00", "closes_at": "12:30", "timezone": PACIFIC}],
        "topics": ["general_mental_health"],
    },
]
# The first group again, as a second directory lists it: other address and phone formats, a Meeting Guide time.
LAKESIDE_RECORDS: list[dict[str, Any]] = [
    {
        "source_id": "ls-9",
        "source_url": "https://lakeside.example.org/meetings/9",
        "name": "Riverbend Depression Peer Circle",
        "address": "415 Alder Street, Riverton, OR 97301",
        "phone": "(503) 555-0123",
        "schedules": [{"day": "Monday", "time": "6:00 PM", "end_time": "7:30 PM"}],
    },
]
SECRETS = ("secret123", "987654")
GROUP_EMAIL = "facilitator@example.org"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
HTML = re.compile(r"<\s*[a-zA-Z/!?]|&(?:[a-zA-Z]+|#\d+);")


def batches() -> list[SourceBatch]:
    return [normalise_batch(RIVERBEND, RIVERBEND_RECORDS), normalise_batch(LAKESIDE, LAKESIDE_RECORDS)]


def build_warehouse(path: Path) -> Path:
    store_run(path, "ingest", batches())
    return path


def run_export(warehouse: Path, out: Path, **options: Any) -> Path:
    con = connect(warehouse, read_only=True)
    try:
        export_hsds(con, out, now=NOW, **options)
    finally:
        con.close()
    return out


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def csv_tables(package: Path) -> dict[str, list[dict[str, str]]]:
    """Table name → rows, for every CSV the package's datapackage.json lists."""
    descriptor = json.loads((package / "datapackage.json").read_text())
    return {
        resource["name"]: read_csv(package / resource["path"])
        for resource in descriptor["resources"]
        if resource.get("format") == "csv"
    }


def strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys apart."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def by_name(services: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(service for service in services if service["name"] == name)


def is_uri(value: str) -> bool:
    parts = urlsplit(value)
    return bool(parts.scheme and parts.netloc) and " " not in value


# --- fixtures ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_warehouse(tmp_path_factory.mktemp("hsds-warehouse") / "warehouse.duckdb")


@pytest.fixture(scope="module")
def package(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The public export (no contacts)."""
    return run_export(warehouse, tmp_path_factory.mktemp("hsds-public"))


@pytest.fixture(scope="module")
def contacts_package(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_export(warehouse, tmp_path_factory.mktemp("hsds-contacts"), include_contacts=True)


@pytest.fixture(scope="module")
def services(package: Path) -> list[dict[str, Any]]:
    return read_jsonl(package / "services.ndjson")


@pytest.fixture(scope="module")
def tables(package: Path) -> dict[str, list[dict[str, str]]]:
    return csv_tables(package)


@pytest.fixture(scope="module")
def tabular_spec() -> dict[str, dict[str, Any]]:
    """Table name → the official tabular schema of that table (its `path`, properties, required columns)."""
    compiled = json.loads((SCHEMA_DIR / "compiled" / "tabular.json").read_text())
    return {name: table["items"] for name, table in compiled["properties"].items()}


@pytest.fixture(scope="module")
def service_validator() -> Draft202012Validator:
    """The official service.json, its $refs resolved from the copied files, formats (uuid, uri, ...) checked."""
    resources = [
        (path.name, Resource.from_contents(json.loads(path.read_text()), default_specification=DRAFT202012))
        for path in SCHEMA_DIR.glob("*.json")
    ]
    registry: Registry = Registry().with_resources(resources)
    formats = FormatChecker()

    @formats.checks("uri")
    def _uri(value: object) -> bool:  # jsonschema checks "uri" only with an optional package; say it here
        return not isinstance(value, str) or is_uri(value)

    schema = json.loads((SCHEMA_DIR / "service.json").read_text())
    return Draft202012Validator(schema, registry=registry, format_checker=formats)


# --- the JSON form against the official schema ---------------------------------------------------------------------


def test_every_service_validates_against_the_official_hsds_service_schema(
    services: list[dict[str, Any]], service_validator: Draft202012Validator
) -> None:
    assert len(services) == 5  # six listings, two of them the same group
    errors = [
        f"{service['name']}: {'/'.join(map(str, error.absolute_path))}: {error.message}"
        for service in services
        for error in service_validator.iter_errors(service)
    ]
    assert errors == []


def test_the_schema_validator_is_not_vacuous(
    services: list[dict[str, Any]], service_validator: Draft202012Validator
) -> None:
    """A nested schedule with a bad freq, a bad location type and a missing name must each be caught."""
    service = json.loads(json.dumps(by_name(services, "Family Support Group")))
    service.pop("name")
    service["schedules"][0]["freq"] = "DAILY"
    service["service_at_locations"][0]["location"]["location_type"] = "online"
    service["service_at_locations"][0]["location"]["id"] = "not-a-uuid"
    messages = [error.message for error in service_validator.iter_errors(service)]
    assert len(messages) == 4, messages


# --- the tabular data package against the official tabular schema --------------------------------------------------


def _parses(parse: Any, value: str) -> bool:
    try:
        parse(value)
    except ValueError:
        return False
    return True


# How a non-empty cell of each kind (a format, else a Frictionless type) must look.
CELL_CHECKS: dict[str, Any] = {
    "uuid": lambda value: _parses(uuid.UUID, value) and str(uuid.UUID(value)) == value,
    "uri": is_uri,
    "email": lambda value: EMAIL.fullmatch(value) is not None,
    "number": lambda value: _parses(float, value),
    "date": lambda value: _parses(date.fromisoformat, value),
    "time": lambda value: re.fullmatch(r"\d\d:\d\d:\d\d", value) is not None and _parses(time.fromisoformat, value),
    "datetime": lambda value: _parses(datetime.fromisoformat, value),
}


def cell_problems(table: str, row: dict[str, str], spec: dict[str, Any]) -> Iterator[str]:
    """What is wrong with one CSV row by the spec's tabular schema: required, enum, format, type."""
    required = set(spec.get("required", [])) | set(spec.get("tabular_required", []))
    for column in sorted(required):
        if not row.get(column):
            yield f"{table}.{column}: required but empty"
    for column, value in row.items():
        if not value:
            continue
        field = spec["properties"][column]
        kind = field.get("datapackage_type") or field.get("format") or field.get("type")
        if "enum" in field and value not in field["enum"]:
            yield f"{table}.{column}: {value!r} not one of {field['enum']}"
        if kind in CELL_CHECKS and not CELL_CHECKS[kind](value):
            yield f"{table}.{column}: {value!r} is not a valid {kind}"


def test_every_csv_row_meets_the_official_tabular_schema(
    tables: dict[str, list[dict[str, str]]], tabular_spec: dict[str, dict[str, Any]]
) -> None:
    assert all(tables[name] for name in ("organization", "service", "location", "address", "schedule", "phone"))
    problems = [
        problem
        for table, rows in tables.items()
        for row in rows
        for problem in cell_problems(table, row, tabular_spec[table])
    ]
    assert problems == []


def test_the_tabular_checks_are_not_vacuous(tabular_spec: dict[str, dict[str, Any]]) -> None:
    """A schedule row with no id, an unknown freq, a bad date and a 12-hour time gives one problem each."""
    row = {"id": "", "freq": "DAILY", "valid_from": "8 June 2025", "opens_at": "6:00 PM", "timezone": "-8"}
    assert len(list(cell_problems("schedule", row, tabular_spec["schedule"]))) == 4


def test_csv_files_and_columns_are_the_spec_tables(package: Path, tabular_spec: dict[str, dict[str, Any]]) -> None:
    """Each CSV has the spec's file name and exactly the spec's columns, in its order (as its examples do)."""
    found = {}
    for table in TABLES:
        spec = tabular_spec[table.name]
        with (package / spec["path"]).open(encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle))
        columns = [name for name, field in spec["properties"].items() if "type" in field and field["type"] != "array"]
        found[table.name] = header == columns
    assert found == dict.fromkeys(found, True)
    assert set(found) >= {"organization", "service", "location", "service_at_location", "address", "phone"}


def test_datapackage_describes_every_csv_with_the_spec_fields(
    package: Path, tabular_spec: dict[str, dict[str, Any]]
) -> None:
    """datapackage.json: each field's type, format, required and enum as the spec's tabular schema says."""
    descriptor = json.loads((package / "datapackage.json").read_text())
    assert descriptor["profile"] == "tabular-data-package"
    mismatches = []
    for resource in (r for r in descriptor["resources"] if r.get("format") == "csv"):
        spec = tabular_spec[resource["name"]]
        required = set(spec.get("required", [])) | set(spec.get("tabular_required", []))
        if resource["path"] != spec["path"] or not (package / resource["path"]).is_file():
            mismatches.append(f"{resource['name']}: path {resource['path']}")
        for field in resource["schema"]["fields"]:
            official = spec["properties"][field["name"]]
            expected = {"type": official.get("datapackage_type") or official["type"]}
            if official.get("format") in ("uuid", "uri", "email"):
                expected["format"] = official["format"]
            constraints = field.get("constraints", {})
            actual = {key: field[key] for key in ("type", "format") if key in field}
            if actual != expected:
                mismatches.append(f"{resource['name']}.{field['name']}: {actual} != {expected}")
            if constraints.get("required", False) != (field["name"] in required):
                mismatches.append(f"{resource['name']}.{field['name']}: required")
            if constraints.get("enum") != official.get("enum"):
                mismatches.append(f"{resource['name']}.{field['name']}: enum")
    assert mismatches == []


def test_ids_are_unique_and_every_foreign_key_resolves(package: Path, tables: dict[str, list[dict[str, str]]]) -> None:
    descriptor = json.loads((package / "datapackage.json").read_text())
    problems = []
    ids = {name: [row["id"] for row in rows] for name, rows in tables.items()}
    for name, values in ids.items():
        if len(values) != len(set(values)):
            problems.append(f"{name}: repeated ids")
    for resource in (r for r in descriptor["resources"] if r.get("format") == "csv"):
        for key in resource["schema"]["foreignKeys"]:
            target = key["reference"]["resource"] or resource["name"]
            known = set(ids[target])
            for row in tables[resource["name"]]:
                if row[key["fields"]] and row[key["fields"]] not in known:
                    problems.append(f"{resource['name']}.{key['fields']} → {target}: {row[key['fields']]}")
    assert problems == []


# --- what the export says ------------------------------------------------------------------------------------------


def test_two_directories_listing_one_group_give_one_service_citing_both(services: list[dict[str, Any]]) -> None:
    service = by_name(services, "Riverbend Depression Peer Circle")
    provenance = {
        (attribute["taxonomy_term"]["code"], attribute.get("value"))
        for attribute in service["attributes"]
        if attribute["link_type"] == "provenance"
    }
    assert [s["name"] for s in services].count("Riverbend Depression Peer Circle") == 1
    assert provenance == {
        (f"source:{LAKESIDE}", "https://lakeside.example.org/meetings/9"),
        (f"source:{RIVERBEND}", "https://riverbend.example.org/groups/1"),
        ("last_confirmed", next(v for c, v in provenance if c == "last_confirmed")),
    }
    assert service["assured_date"] == next(v for c, v in provenance if c == "last_confirmed")[:10]


def test_topics_and_audiences_are_peergroups_taxonomy_terms(services: list[dict[str, Any]]) -> None:
    codes = {
        service["name"]: sorted(
            a["taxonomy_term"]["code"] for a in service["attributes"] if a["link_type"] != "provenance"
        )
        for service in services
    }
    terms = {a["taxonomy_term"]["taxonomy"] for service in services for a in service["attributes"]}
    assert codes["Riverbend Depression Peer Circle"] == ["topic:bipolar", "topic:depression"]
    assert "audience:young_adults" in codes["Evening Anxiety Online"]
    assert "audience:family" in codes["Family Support Group"]
    assert terms == {"peergroups"}


def test_every_vocabulary_value_has_a_term_and_every_status_an_hsds_status() -> None:
    assert set(TOPIC_TERMS) == set(Topic)
    assert set(AUDIENCE_TERMS) == set(Audience)
    assert set(Status) - {EXCLUDED_STATUS} <= set(HSDS_STATUS)


def test_locations_are_physical_virtual_or_both_by_format(services: list[dict[str, Any]]) -> None:
    kinds = {
        service["name"]: sorted(sal["location"]["location_type"] for sal in service.get("service_at_locations", []))
        for service in services
    }
    online = by_name(services, "Evening Anxiety Online")["service_at_locations"][0]["location"]
    physical = by_name(services, "Riverbend Depression Peer Circle")["service_at_locations"][0]["location"]
    assert kinds == {
        "Riverbend Depression Peer Circle": ["physical"],
        "Evening Anxiety Online": ["virtual"],
        "Family Support Group": ["physical", "virtual"],
        "Sunday Grief Circle": ["physical"],
        "Midday Check-in Line": ["virtual"],
    }
    assert online["url"] == "https://zoom.example.org/j/5550100123"
    assert physical["addresses"][0] | {"id": None} == {
        "id": None,
        "address_1": "415 ALDER ST",
        "city": "Riverton",
        "state_province": "OR",
        "postal_code": "97301",
        "country": "US",
        "address_type": "physical",
    }


def test_groups_meeting_at_one_address_share_one_location(tables: dict[str, list[dict[str, str]]]) -> None:
    commercial = [row["location_id"] for row in tables["address"] if row["address_1"] == "200 COMMERCIAL ST NE"]
    services_there = [row["service_id"] for row in tables["service_at_location"] if row["location_id"] in commercial]
    assert len(commercial) == 1
    assert len(services_there) == 2


def test_groups_without_an_organisation_share_the_labelled_placeholder(
    services: list[dict[str, Any]], tables: dict[str, list[dict[str, str]]]
) -> None:
    placeholder = [row for row in tables["organization"] if row["name"] == UNKNOWN_ORGANIZATION]
    assert by_name(services, "Family Support Group")["organization"]["name"] == UNKNOWN_ORGANIZATION
    assert len(placeholder) == 1
    assert "placeholder" in placeholder[0]["description"].lower()
    assert sorted(row["name"] for row in tables["organization"]) == [
        "Harbor Peer Network",
        "Riverbend Mood Alliance",
        UNKNOWN_ORGANIZATION,
    ]


def test_schedules_give_the_utc_offset_in_timezone_and_the_iana_zone_in_notes(
    tables: dict[str, list[dict[str, str]]],
) -> None:
    rows = tables["schedule"]
    assert rows
    assert {row["timezone"] for row in rows} == {"-8"}
    assert all(PACIFIC in row["notes"] and PACIFIC in row["description"] for row in rows)


def test_schedule_rules_are_hsds_rrules(services: list[dict[str, Any]]) -> None:
    """Members' weekly rows merge; an interval gets its dtstart; DAILY (not in HSDS 3.0) becomes every weekday."""

    def rules(name: str) -> list[tuple[Any, ...]]:
        schedules = by_name(services, name)["schedules"]
        return [
            (s.get("freq"), s.get("interval"), s.get("byday"), s.get("opens_at"), s.get("closes_at"), s.get("dtstart"))
            for s in schedules
        ]

    assert rules("Riverbend Depression Peer Circle") == [("WEEKLY", 1, "MO", "18:00:00", "19:30:00", None)]
    assert rules("Family Support Group") == [("MONTHLY", 1, "2TU,4TU", "18:00:00", "19:30:00", None)]
    assert rules("Sunday Grief Circle") == [("WEEKLY", 2, "SU", "14:00:00", "15:00:00", "2025-06-08")]
    assert rules("Midday Check-in Line") == [("WEEKLY", 1, "MO,TU,WE,TH,FR,SA,SU", "12:00:00", "12:30:00", None)]
    assert "except holidays" in by_name(services, "Riverbend Depression Peer Circle")["schedules"][0]["notes"]


# --- privacy -------------------------------------------------------------------------------------------------------


def package_text(package: Path) -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in sorted(package.iterdir()))


def test_the_public_export_has_no_email_address(package: Path) -> None:
    assert EMAIL.findall(package_text(package)) == []


def test_contacts_are_exported_only_when_asked(contacts_package: Path) -> None:
    services = read_jsonl(contacts_package / "services.ndjson")
    service = by_name(services, "Riverbend Depression Peer Circle")
    assert service["email"] == GROUP_EMAIL
    assert GROUP_EMAIL in (contacts_package / "services.csv").read_text()


def test_no_join_link_password_or_passcode_appears(package: Path, contacts_package: Path) -> None:
    text = package_text(package) + package_text(contacts_package)
    assert [secret for secret in SECRETS if secret in text] == []


def test_all_text_is_plain_text(services: list[dict[str, Any]], tables: dict[str, list[dict[str, str]]]) -> None:
    cells = [value for rows in tables.values() for row in rows for value in row.values()]
    found = [text for text in [*cells, *(s for service in services for s in strings(service))] if HTML.search(text)]
    description = by_name(services, "Riverbend Depression Peer Circle")["description"]
    assert found == []
    assert description.startswith("Peer-led support for depression & bipolar.")
    assert "alert(1)" not in description


# --- stable ids, withdrawn groups, streaming ----------------------------------------------------------------------


def test_ids_are_stable_from_one_run_and_export_to_the_next(tmp_path: Path) -> None:
    """The same listings crawled again (a new run, new timestamps) give the same ids in every table."""
    warehouse = build_warehouse(tmp_path / "warehouse.duckdb")
    first = csv_tables(run_export(warehouse, tmp_path / "first"))
    store_run(warehouse, "ingest", batches())
    second = csv_tables(run_export(warehouse, tmp_path / "second"))
    first_ids = {name: sorted(row["id"] for row in rows) for name, rows in first.items()}
    second_ids = {name: sorted(row["id"] for row in rows) for name, rows in second.items()}
    assert first_ids == second_ids


def test_withdrawn_groups_are_left_out(tmp_path: Path) -> None:
    warehouse = build_warehouse(tmp_path / "warehouse.duckdb")
    con = connect(warehouse)
    try:
        con.execute("UPDATE groups SET status = 'withdrawn' WHERE name = 'Sunday Grief Circle'")
    finally:
        con.close()
    names = [row["name"] for row in read_csv(run_export(warehouse, tmp_path / "out") / "services.csv")]
    assert sorted(names) == [
        "Evening Anxiety Online",
        "Family Support Group",
        "Midday Check-in Line",
        "Riverbend Depression Peer Circle",
    ]


class CountingCursor:
    """A DuckDB result that records how it is read: batch sizes asked for, and any read of everything at once."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, reads: list[str]) -> None:
        self._cursor = cursor
        self._reads = reads
        self.description = cursor.description

    def fetchmany(self, size: int) -> list[tuple[Any, ...]]:
        self._reads.append(f"fetchmany({size})")
        return self._cursor.fetchmany(size)

    def __getattr__(self, name: str) -> Any:
        self._reads.append(name)  # fetchall, df, arrow, ...: the whole result at once
        return getattr(self._cursor, name)


class CountingConnection:
    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self.reads: list[str] = []

    def execute(self, sql: str, *args: Any) -> CountingCursor:
        return CountingCursor(self._con.execute(sql, *args), self.reads)


def test_rows_are_read_in_batches_never_all_at_once(
    warehouse: Path, package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With batches of two rows the export is the same as the default one, read only through fetchmany(2)."""
    monkeypatch.setattr(export_hsds_module, "BATCH_ROWS", 2)
    con = connect(warehouse, read_only=True)
    counting = CountingConnection(con)
    try:
        export_hsds(counting, tmp_path, now=NOW)  # type: ignore[arg-type]
    finally:
        con.close()
    assert set(counting.reads) == {"fetchmany(2)"}
    assert (tmp_path / "services.ndjson").read_text() == (package / "services.ndjson").read_text()


# --- attribution and interoperability ------------------------------------------------------------------------------


def test_attribution_lists_every_source_directory(package: Path) -> None:
    attribution = (package / "LICENSE-ATTRIBUTION.md").read_text()
    descriptor = json.loads((package / "datapackage.json").read_text())
    assert {source["title"] for source in descriptor["sources"]} == {RIVERBEND, LAKESIDE}
    assert f"| {RIVERBEND} | https://riverbend.example.org |" in attribution
    assert f"| {LAKESIDE} | https://lakeside.example.org |" in attribution
    assert "LICENSE-ATTRIBUTION.md" in {resource["path"] for resource in descriptor["resources"]}


def test_our_own_hsds_reader_reads_the_package_back(package: Path, tmp_path: Path) -> None:
    """The HSDS platform spider, crawling the package over HTTP, finds every group with its phone and rule."""
    served = tmp_path / "site"
    shutil.copytree(package, served)
    with serve_directory(served) as base_url:
        out = tmp_path / "items.jsonl"
        settings = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "RETRY_TIMES": 0}
        outcome = crawl(
            "hsds", {"url": f"{base_url}/datapackage.json", "source": "hsds_roundtrip"}, out, settings=settings
        )
    listings = normalise_batch("hsds_roundtrip", read_jsonl(out)).listings
    read_back = {(listing.name, listing.phone, tuple(s.rrule() for s in listing.schedules)) for listing in listings}
    assert outcome.status == "ok", outcome.error
    assert ("Riverbend Depression Peer Circle", "+15035550123;ext=12", ("FREQ=WEEKLY;BYDAY=MO",)) in read_back
    assert ("Sunday Grief Circle", "+15035550146", ("FREQ=WEEKLY;INTERVAL=2;BYDAY=SU",)) in read_back
    assert {listing.name for listing in listings} == {
        "Riverbend Depression Peer Circle",
        "Evening Anxiety Online",
        "Family Support Group",
        "Sunday Grief Circle",
        "Midday Check-in Line",
    }
