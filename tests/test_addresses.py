"""US address parsing: the fast path for the common shape must give exactly what usaddress gives."""

from __future__ import annotations

import csv
import json

from pipeline.addresses import _parse_simple, parse_us_address, parse_with_usaddress, standard_unit
from tests.benchmarks.normalise_speed import generate
from tests.conftest import FIXTURES


def address_lines() -> list[str]:
    lines = []
    for meeting in json.loads((FIXTURES / "meeting_guide" / "raleighaa_2017.json").read_text()):
        lines.append(f"{meeting['address']}, {meeting['city']}, {meeting['state']} {meeting['postal_code']}")
    with (FIXTURES / "meeting_guide" / "tsml_import_template.csv").open() as handle:
        lines.extend(row["Address"] for row in csv.DictReader(handle))
    for record in generate(2000, 2000, seed=4):
        lines.append(record.get("address") or f"{record['street']}, {record['city']}, {record['region']} 97301")
    return lines


def test_fast_path_agrees_with_usaddress_wherever_it_answers() -> None:
    lines = address_lines()
    answered = [(line, _parse_simple(line)) for line in lines]
    answered = [(line, fast) for line, fast in answered if fast is not None]
    assert len(answered) > 0.9 * len(lines)  # the common shape really is common
    for line, fast in answered:
        assert fast == parse_with_usaddress(line), line


def test_unusual_lines_go_to_usaddress() -> None:
    for line in ("St. Mark Church, 415 Alder St., Riverton OR", "PO Box 12, Springfield, IL 62704",
                 "100 Martin Luther King Jr Blvd Ext, Springfield, IL 62704"):  # fmt: skip
        assert _parse_simple(line) is None
    venue = parse_us_address("St. Mark Church, 415 Alder St., Riverton OR")
    assert venue is not None and (venue.venue, venue.street) == ("St. Mark Church", "415 ALDER ST")
    assert parse_us_address("PO Box 12, Springfield, IL 62704").street is None  # type: ignore[union-attr]


def test_units_are_standardised_for_comparison() -> None:
    assert standard_unit("Suite 4") == "STE 4"
    assert standard_unit("Room #12") == "RM 12"
