"""Property tests: malformed raw records never crash normalisation, batching, loading or export.

The rule under test (README, "RawListing"): every raw record ends as a listing or as a reject with its reasons,
raw records = listings (normalised, or unchanged and confirmed) + rejects for every run, and nothing crashes on
bad input. Records are RawListing-shaped dicts whose values are often of the wrong type or hostile (control
characters, lone surrogates, NUL, bidi marks, HTML/script, SQL quotes, huge numbers and strings, NaN, out-of-range
coordinates), mixed with unknown keys and with well-formed records so that both listings and rejects happen.
"""

from __future__ import annotations

import json
import math
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pipeline.export import export
from pipeline.ingest import known_raw_hashes, normalise_batch, normalise_file, store_run
from pipeline.normalise import Reject, normalise
from pipeline.warehouse import connect
from schemas.listing import GroupListing

# --- strategies ------------------------------------------------------------------------------------------------

NASTY_TEXT = [
    "",
    " ",
    "   \t\n ",
    "\x00",
    "a\x00b",
    "\x01\x02\x07\x1b[31m",
    "\ud800",
    "x\udfffy",
    "\u202e",
    "\u200f\u200e",
    "\u200b",
    "\ufeff",
    "\u2028\u2029",
    "😀",
    "👩‍👩‍👧‍👦",
    "مجموعة دعم",
    "Группа поддержки",
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//example.org/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</script>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&amp;lt;script&amp;gt;",
    "<img src=x onerror=alert(1)>",
    "<b>Bold</b> <i>group</i>",
    "<!-- comment -->",
    "'; DROP TABLE listings; --",
    "' OR '1'='1",
    '"',
    "'",
    "O'Brien's \"Group\"",
    "\\",
    "%s%n%x",
    "${jndi:ldap://example.org/a}",
    "{{7*7}}",
    "NaN",
    "nan",
    "Infinity",
    "-inf",
    "1e309",
    "-0",
    "null",
    "None",
    "undefined",
    "[]",
    "{}",
    "true",
    "\r\n\r\n",
    "9" * 400,
]
# Batch (source) names; records carry them in their own `source` too, so two batches of one run can hold the
# same (source, source_id).
BATCH_NAMES = ["alpha", "beta", "gamma"]
GOOD_NAMES = ["Evening Anxiety Group", "Depression & Bipolar Support", "Grief Circle", "Family Support (NAMI)"]
PHONES = ["541-555-0130", "(503) 555-0100 x12", "+44 20 7946 0000", "541.555.0199", "555", "0", "+1", "1" * 40]
ADDRESSES = [
    "12 Bay Road, Lakeport, OR 97367",
    "415 N Alder St Suite 3, Salem, OR 97301",
    "First Church, 200 Main St, Room 4, Riverton, OR 97301-1234",
    "PO Box 1",
    "Room 5",
    "10 Downing Street, London SW1A 2AA",
    "Online",
]
URLS = [
    "https://example.org/groups/1",
    "example.org",
    "http://EXAMPLE.org/a?b=c",
    "https://zoom.example.org/j/123?pwd=secret",
    "https://user:pass@example.org/x",
    "javascript:alert(1)",
    "https:// bad host",
    "//example.org",
    "https://example.org/<script>alert(1)</script>",
    "ftp://example.org",
]
EMAILS = ["a@example.org", "mailto:Group@Example.org", "not an email", "a@b", "<a@example.org>"]
SCHEDULE_TEXTS = [
    "2nd and 4th Wednesdays 6-7:30pm",
    "Mon–Fri 9am–5pm ET",
    "every other Sunday",
    "last Friday of the month",
    "1st Tuesday 7pm; 3rd Tuesday 1pm",
    "Martes de 6 a 7:30 p.m.",
    "Call for times",
    "TBD",
    "Tuesdays, bimonthly",
    "Thursdays 7pm except holidays, starting 6/8/2022",
    "Password: 1234, Mondays 7pm",
]
DAYS: list[Any] = [0, 1, 6, 7, -1, "0", "3", "Monday", "Mon.", "tues", "lundi", "", [1, 3], [], ["Sunday", 9]]
TIMES = ["7:00 PM", "19:00", "19:00:00", "7pm", "7.30 p.m.", "noon", "midnight", "25:00", "13pm", "0:60", "09:00:00Z"]
FREQS = ["WEEKLY", "monthly", "DAILY", "YEARLY", "hourly", ""]
BYDAYS: list[Any] = ["MO", "MO,WE", "1TU", "-1FR", "5SU", "XX", "MO,,", ["TU", "TH"], ["1TU"]]
ZONES = ["America/New_York", "ET", "PST", "Europe/London", "+05:00", "Mars/Olympus", "UTC"]
TOPICS: list[Any] = ["depression", "anxiety, grief", ["bipolar", "psychosis"], ["nonsense"], "ocd,, ,"]
FORMATS = ["in_person", "online", "hybrid", "ONLINE", "In Person", "telepathy"]
STATUSES = ["active", "closed", "cancelled", "inactive", "temporarily closed", "publish", "xyz"]
COUNTRIES = ["US", "usa", "United States", "GB", "CA", "U", "ZZZ", "us "]
REGIONS = ["OR", "Oregon", "ON", "Ore.", "XX"]
POSTAL_CODES = ["97301", "97301-1234", "00000", "99999", "SW1A 1AA", "9730"]
COORDINATES: list[Any] = [45.5, -122.6, "45.5", " -122.6 ", 0, "0", 91, -181, 1e308, "1e400", "north", "45,5"]


@dataclass(frozen=True)
class HugeNumber:
    """Stands in for an integer longer than Python's int-to-str limit (4300 digits) until `_realise` builds it.

    Hypothesis prints the examples it draws, and repr() of such an integer raises; this placeholder prints.
    """

    digits: int
    negative: bool = False

    def value(self) -> int:
        return -(10**self.digits) if self.negative else 10**self.digits


def _realise(value: Any) -> Any:
    """The drawn value with every HugeNumber placeholder replaced by its integer."""
    if isinstance(value, HugeNumber):
        return value.value()
    if isinstance(value, dict):
        return {key: _realise(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_realise(item) for item in value]
    return value


HUGE_NUMBERS = [HugeNumber(5000), HugeNumber(4400, negative=True)]

SCHEDULE_KEYS = {
    "day": DAYS,
    "time": TIMES,
    "end_time": TIMES,
    "freq": FREQS,
    "interval": [1, 2, 0, -1, 53, "2", "two"],
    "byday": BYDAYS,
    "opens_at": TIMES,
    "closes_at": TIMES,
    "timezone": ZONES,
    "text": SCHEDULE_TEXTS,
    "valid_from": ["2026-01-01", "2026-13-45", "tomorrow"],
    "valid_to": ["2026-12-31", "not a date"],
    "until": ["2027-01-01"],
    "except_dates": [["2026-01-19", 5], "2026-01-19"],
    "bymonthday": [1, "15"],
    "count": [0, 3],
}

text_piece = st.one_of(
    st.sampled_from(NASTY_TEXT),
    st.text(max_size=20),
    st.sampled_from(GOOD_NAMES + ADDRESSES + SCHEDULE_TEXTS),
)
nasty_text = st.lists(text_piece, min_size=1, max_size=4).map("".join)
huge_text = st.builds(
    lambda piece, count: piece * count,
    st.sampled_from(["A", "7pm ", "<b>x</b>", "\x00", "😀", "& ", "12 Main St, ", "Monday "]),
    st.integers(min_value=500, max_value=20_000),
)
scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e-320]),
    nasty_text,
    st.sampled_from(HUGE_NUMBERS),
)
junk = st.recursive(
    scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)


def _schedule_entry() -> st.SearchStrategy[Any]:
    well_formed = st.fixed_dictionaries(
        {"day": st.integers(0, 6), "time": st.sampled_from(TIMES[:7])},
        optional={"end_time": st.sampled_from(TIMES[:7]), "timezone": st.sampled_from(ZONES[:4])},
    )
    mixed = st.dictionaries(
        st.one_of(st.sampled_from(sorted(SCHEDULE_KEYS)), st.text(max_size=6)),
        st.one_of(junk, st.sampled_from([value for values in SCHEDULE_KEYS.values() for value in values])),
        max_size=6,
    )
    return st.one_of(well_formed, mixed, nasty_text, junk)


schedules_value = st.one_of(st.lists(_schedule_entry(), max_size=4), _schedule_entry())

# Plausible values per known key (good and bad); any key may instead get junk of any type.
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "source": st.sampled_from(["alpha", "beta", " alpha ", "", "<script>alert(1)</script>", "x'y"]),
    "source_id": st.one_of(st.sampled_from([str(i) for i in range(30)]), st.integers(0, 30), st.just(" 7 ")),
    "name": st.sampled_from([*GOOD_NAMES, "", " ", "<p></p>", "&nbsp;", "\u200f", "\x00"]),
    "organization": st.sampled_from(["NAMI Riverton", "DBSA", ""]),
    "description": st.sampled_from([*SCHEDULE_TEXTS, "Zoom link https://zoom.example.org/j/1?pwd=abc"]),
    "address": st.sampled_from(ADDRESSES),
    "street": st.sampled_from(["415 N Alder Street", "Apt 2", ""]),
    "city": st.sampled_from(["Riverton", "Salem", ""]),
    "region": st.sampled_from(REGIONS),
    "postal_code": st.sampled_from(POSTAL_CODES),
    "country": st.sampled_from(COUNTRIES),
    "latitude": st.one_of(st.sampled_from(COORDINATES), st.floats()),
    "longitude": st.one_of(st.sampled_from(COORDINATES), st.floats()),
    "location_name": st.sampled_from(["First Church", "Library Room B", ""]),
    "approximate": st.sampled_from(["yes", "no", "TRUE", "1"]),
    "phone": st.sampled_from(PHONES),
    "email": st.sampled_from(EMAILS),
    "website": st.sampled_from(URLS),
    "conference_url": st.sampled_from(URLS),
    "conference_phone": st.sampled_from(["+16465550100,,5550123#,,,,*9999#", "(646) 555-0100 ID 1 passcode 9", "x"]),
    "format": st.sampled_from(FORMATS),
    "status": st.sampled_from(STATUSES),
    "schedule_text": st.sampled_from(SCHEDULE_TEXTS),
    "schedules": schedules_value,
    "topics": st.sampled_from(TOPICS),
    "audiences": st.sampled_from(["veterans", ["youth", "lgbtq"], "martians"]),
    "types": st.sampled_from([["O", "ST"], "O, ST", ["S"], "X,Y,Z"]),
    "language": st.sampled_from(["en", "Spanish", "español", "xx", "klingon"]),
    "cost": st.sampled_from(["free", "$5", "donation", "unknown"]),
    "fetched_at": st.sampled_from(["2026-01-01T00:00:00Z", "yesterday"]),
    "source_url": st.sampled_from(URLS),
    "raw": junk,
    "timezone": st.sampled_from(ZONES),
}
KNOWN_KEYS = sorted(FIELD_VALUES)
UNKNOWN_KEYS = st.one_of(
    st.sampled_from(["extra", "", " name", "NAME", "__proto__", "\x00", "😀", "<b>k</b>", "meeting.id", "id"]),
    st.text(max_size=10),
)


@st.composite
def malformed_record(draw: st.DrawFn) -> dict[str, Any]:
    """A RawListing-shaped dict: known keys with plausible, wrong-typed or hostile values, plus unknown keys."""
    keys = draw(st.lists(st.sampled_from(KNOWN_KEYS), unique=True, max_size=len(KNOWN_KEYS)))
    record: dict[str, Any] = {}
    for key in keys:
        record[key] = draw(st.one_of(FIELD_VALUES[key], FIELD_VALUES[key], junk, huge_text))
    extras = draw(st.dictionaries(UNKNOWN_KEYS, junk, max_size=3))
    for key, value in extras.items():
        record.setdefault(key, value)
    return record


@st.composite
def well_formed_record(draw: st.DrawFn) -> dict[str, Any]:
    """A record that should become a listing (unless its source_id repeats within a batch)."""
    record: dict[str, Any] = {
        "source_id": draw(st.sampled_from([f"ok-{i}" for i in range(12)])),
        "name": draw(st.sampled_from(GOOD_NAMES)),
        "phone": draw(st.sampled_from(PHONES[:4])),
    }
    if draw(st.integers(0, 3)) == 0:
        record["source"] = draw(st.sampled_from(BATCH_NAMES))
    if draw(st.booleans()):
        record["address"] = draw(st.sampled_from(ADDRESSES[:3]))
    if draw(st.booleans()):
        record["schedules"] = [{"day": draw(st.integers(0, 6)), "time": draw(st.sampled_from(TIMES[:5]))}]
    if draw(st.booleans()):
        record["schedule_text"] = draw(st.sampled_from(SCHEDULE_TEXTS))
    return record


raw_record = st.one_of(malformed_record(), malformed_record(), well_formed_record())
batch_source = st.one_of(
    st.sampled_from(BATCH_NAMES), st.sampled_from(BATCH_NAMES), nasty_text.filter(lambda text: text.strip())
)


def _relisted(record: dict[str, Any], copy: int) -> dict[str, Any]:
    """The record again under another id (its copy number appended), as a directory lists many similar groups."""
    source_id = record.get("source_id")
    if copy == 0 or not isinstance(source_id, str | int) or isinstance(source_id, bool):
        return record
    return {**record, "source_id": f"{source_id}-{copy}"}


@st.composite
def large_batch(draw: st.DrawFn, min_size: int = 20, max_size: int = 200) -> list[dict[str, Any]]:
    """min_size to max_size records: a few distinct drawn records, each repeated under other ids (cheaper than
    drawing them all)."""
    distinct = draw(st.lists(raw_record, min_size=1, max_size=25))
    size = draw(st.integers(min_value=min_size, max_value=max_size))
    return [_relisted(distinct[index % len(distinct)], index // len(distinct)) for index in range(size)]


# --- properties --------------------------------------------------------------------------------------------------


def _visible(text: str) -> bool:
    """Has at least one character a reader can see (not a control, format, surrogate, or space character)."""
    return any(unicodedata.category(char)[0] not in "CZ" for char in text)


def _check_outcome(outcome: GroupListing | Reject) -> None:
    if isinstance(outcome, Reject):
        assert outcome.reasons, (outcome.source, outcome.source_id)
        assert all(isinstance(reason, str) and reason.strip() for reason in outcome.reasons), outcome.reasons
        return
    assert isinstance(outcome, GroupListing), type(outcome)
    assert outcome.listing_id
    assert outcome.name and outcome.name.strip(), outcome.name
    assert _visible(outcome.name), f"listing named with invisible characters only: {outcome.name!r}"


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(record=raw_record)
def test_normalise_never_raises(record: dict[str, Any]) -> None:
    _check_outcome(normalise(_realise(record)))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(source=batch_source, records=large_batch(min_size=1, max_size=40))
def test_normalise_batch_accounts_for_every_record(source: str, records: list[dict[str, Any]]) -> None:
    records = _realise(records)
    batch = normalise_batch(source, records)
    assert len(batch.raw_records) == len(records)
    assert len(records) == len(batch.listings) + len(batch.unchanged) + len(batch.rejects)
    assert len({listing.listing_id for listing in batch.listings}) == len(batch.listings)
    for outcome in [*batch.listings, *batch.rejects]:
        _check_outcome(outcome)


def _jsonl_line(record: dict[str, Any]) -> str:
    try:
        return json.dumps(record)
    except (ValueError, TypeError):
        return "{not json"  # a record JSON cannot write (a huge int) stands for an unreadable line


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    records=st.lists(raw_record, max_size=30),
    garbage=st.lists(st.sampled_from(["[1, 2]", "42", '"text"', "{", "null", '{"a": 1e999}']), max_size=3),
)
def test_normalise_file_accounts_for_every_line(
    tmp_path_factory: pytest.TempPathFactory, records: list[dict[str, Any]], garbage: list[str]
) -> None:
    lines = [_jsonl_line(record) for record in _realise(records)] + garbage
    with tempfile.TemporaryDirectory(dir=tmp_path_factory.getbasetemp()) as directory:
        path = Path(directory) / "handover.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        batches = normalise_file(path, "handover")
    assert sum(len(batch.raw_records) for batch in batches) == len(lines)
    for batch in batches:
        assert len(batch.raw_records) == len(batch.listings) + len(batch.unchanged) + len(batch.rejects)


def _check_run(con: Any, report: dict[str, Any]) -> None:
    run_id, totals = report["run_id"], report["totals"]
    assert totals["raw"] == totals["listings"] + totals["rejects"], totals

    def count(sql: str) -> int:
        return con.execute(sql, [run_id]).fetchone()[0]

    assert count("SELECT count(*) FROM raw_listings WHERE run_id = ?") == totals["raw"]
    assert count("SELECT count(*) FROM rejects WHERE run_id = ?") == totals["rejects"]
    # Listings new in this run or updated by it.
    assert count("SELECT count(*) FROM listings WHERE last_seen_run = ?") == totals["listings"]
    assert count("SELECT raw_count FROM runs WHERE run_id = ?") == totals["raw"]
    assert count("SELECT coalesce(sum(raw_count), 0) FROM run_sources WHERE run_id = ?") == totals["raw"]


def _check_warehouse(con: Any) -> None:
    bad_listings = con.execute(
        "SELECT listing_id, name FROM listings WHERE listing_id IS NULL OR listing_id = '' OR name IS NULL "
        "OR trim(name) = ''"
    ).fetchall()
    assert not bad_listings
    names = [row[0] for row in con.execute("SELECT name FROM listings").fetchall()]
    assert all(_visible(name) for name in names), [name for name in names if not _visible(name)]
    assert not con.execute("SELECT group_id FROM groups WHERE name IS NULL OR trim(name) = ''").fetchall()
    unlinked = con.execute(
        "SELECT count(*) FROM listings l LEFT JOIN group_members m USING (listing_id) WHERE m.group_id IS NULL"
    ).fetchone()[0]
    assert unlinked == 0


def _check_exports(con: Any, out_dir: Path) -> None:
    for fmt in ("csv", "ndjson"):
        for path in export(con, out_dir / fmt, fmt):
            data = path.read_bytes()
            data.decode("utf-8")
            assert b"\x00" not in data, f"NUL in {path.name}"
            assert b"<script" not in data.lower(), f"<script in {path.name}"


# No shrinking here: each example costs a second or more, and shrinking one would take minutes. The tests above
# shrink the same kinds of record to a minimal one.
@settings(
    max_examples=12,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    runs=st.lists(
        st.dictionaries(batch_source, st.tuples(large_batch(), st.booleans()), min_size=1, max_size=4),
        min_size=1,
        max_size=2,
    )
)
def test_store_run_loads_and_exports_any_batches(
    tmp_path_factory: pytest.TempPathFactory, runs: list[dict[str, tuple[list[dict[str, Any]], bool]]]
) -> None:
    with tempfile.TemporaryDirectory(dir=tmp_path_factory.getbasetemp()) as directory:
        warehouse = Path(directory) / "w.duckdb"
        # A second run re-lists some of the first run's records (updated, or unchanged and only confirmed, as
        # `peergroups run` does with the stored raw hashes) and withdraws what a complete batch no longer lists.
        for sources in runs:
            known = known_raw_hashes(warehouse)
            batches = []
            for source, (records, complete) in sources.items():
                batch = normalise_batch(source, _realise(records), known=known)
                batch.complete = complete and bool(batch.raw_records)
                batches.append(batch)
            report = store_run(warehouse, "fuzz", batches)
            con = connect(warehouse)
            try:
                _check_run(con, report)
            finally:
                con.close()
        con = connect(warehouse)
        try:
            _check_warehouse(con)
            _check_exports(con, Path(directory) / "exports")
        finally:
            con.close()
