"""Cross-directory linkage on a real warehouse: true duplicates merge, the hard negatives stay apart, ids are
stable across runs, merges and splits are recorded, and a person's review decisions are obeyed.

Every organisation, venue and number here is fictional (example.org, 555-01xx).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipeline.ingest import normalise_batch, store_run
from pipeline.normalise import listing_id
from pipeline.review import ReviewError, record_decision, uncertain_pairs

ST_MARK = "St. Mark Community Church, 415 Alder Street, Riverton, OR 97301"
ST_MARK_SHORT = "415 Alder St., Riverton, OR 97301"


def load(warehouse: Path, source: str, records: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    return store_run(warehouse, "ingest", [normalise_batch(source, records)], **options)


def groups(warehouse: Path) -> dict[str, str]:
    """listing_id → group_id."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return dict(con.execute("SELECT listing_id, group_id FROM group_members").fetchall())
    finally:
        con.close()


def lid(source: str, source_id: str) -> str:
    return listing_id(source, source_id)


def same_group(warehouse: Path, *listings: tuple[str, str]) -> bool:
    found = groups(warehouse)
    return len({found[lid(*listing)] for listing in listings}) == 1


def apart(warehouse: Path, *listings: tuple[str, str]) -> bool:
    found = groups(warehouse)
    return len({found[lid(*listing)] for listing in listings}) == len(listings)


def test_one_group_listed_by_two_directories_with_an_acronym_and_a_venue_suffix(warehouse: Path) -> None:
    load(
        warehouse,
        "riverside",
        [
            {
                "source_id": "r1",
                "name": "Depression and Bipolar Support Group",
                "address": ST_MARK,
                "schedule_text": "Tuesdays 7-8:30pm",
                "phone": "503-555-0110",
            }
        ],
    )
    load(warehouse, "lakeshore", [{"source_id": "l1", "name": "DBSA Depression & Bipolar Support - St. Mark",
                                   "address": ST_MARK_SHORT, "schedule_text": "Tue 19:00"}])  # fmt: skip
    assert same_group(warehouse, ("riverside", "r1"), ("lakeshore", "l1"))


def test_a_church_hosting_two_groups_on_different_days_keeps_them_apart(warehouse: Path) -> None:
    load(warehouse, "riverside", [
        {"source_id": "a", "name": "NAMI Connection Recovery Support Group", "address": ST_MARK,
         "schedule_text": "Tuesdays 7pm"},
        {"source_id": "b", "name": "Grief Support Group", "address": ST_MARK, "schedule_text": "Thursdays 7pm"},
    ])  # fmt: skip
    load(warehouse, "lakeshore", [
        {"source_id": "c", "name": "NAMI Connection", "address": ST_MARK_SHORT, "schedule_text": "Tuesday 7:00 PM"},
        {"source_id": "d", "name": "Grief & Loss", "address": ST_MARK_SHORT, "schedule_text": "Thursdays 7pm"},
    ])  # fmt: skip
    assert same_group(warehouse, ("riverside", "a"), ("lakeshore", "c"))
    assert apart(warehouse, ("riverside", "a"), ("riverside", "b"))
    assert apart(warehouse, ("lakeshore", "c"), ("lakeshore", "d"))


def test_a_chapter_phone_line_on_ten_groups_does_not_join_them(warehouse: Path) -> None:
    towns = [("Riverton", "97301"), ("Salem", "97302"), ("Keizer", "97303"), ("Dallas", "97338"),
             ("Monmouth", "97361"), ("Silverton", "97381"), ("Stayton", "97383"), ("Woodburn", "97071"),
             ("Albany", "97321"), ("Corvallis", "97330")]  # fmt: skip
    topics = ["Anxiety", "Hearing Voices", "Family", "Bipolar", "Grief", "Young Adults", "Veterans", "OCD",
              "Postpartum", "Caregivers"]  # fmt: skip
    records = [
        {"source_id": f"g{n}", "name": f"{topic} Peer Group", "phone": "503-555-0100",
         "address": f"{100 + n} Main Street, {town}, OR {zip_code}", "schedule_text": "Mondays 6pm"}
        for n, (topic, (town, zip_code)) in enumerate(zip(topics, towns, strict=True))
    ]  # fmt: skip
    load(warehouse, "chapter", records)
    load(warehouse, "county211", [{**record, "source_id": "x" + record["source_id"]} for record in records[:3]])
    found = groups(warehouse)
    assert len({found[lid("chapter", f"g{n}")] for n in range(10)}) == 10
    assert all(same_group(warehouse, ("chapter", f"g{n}"), ("county211", f"xg{n}")) for n in range(3))


def test_family_support_group_in_many_towns_stays_many_groups(warehouse: Path) -> None:
    records = [
        {"source_id": f"f{n}", "name": "Family Support Group",
         "address": f"{20 + n} Oak Avenue, Town{n}, OR 973{n:02d}", "schedule_text": "Wednesdays 6:30pm"}
        for n in range(30)
    ]  # fmt: skip
    load(warehouse, "national", records)
    load(warehouse, "regional", [{**record, "source_id": "r" + record["source_id"]} for record in records[:5]])
    found = groups(warehouse)
    assert len({found[lid("national", f"f{n}")] for n in range(30)}) == 30
    assert all(same_group(warehouse, ("national", f"f{n}"), ("regional", f"rf{n}")) for n in range(5))


def test_one_fellowships_monday_and_wednesday_meetings_at_one_venue_stay_apart(warehouse: Path) -> None:
    load(warehouse, "intergroup", [
        {"source_id": "m", "name": "Serenity Seekers", "address": ST_MARK, "schedule_text": "Mondays 7pm"},
        {"source_id": "w", "name": "Hope Steps", "address": ST_MARK, "schedule_text": "Wednesdays 7pm"},
    ])  # fmt: skip
    load(warehouse, "calendar", [
        {"source_id": "1", "name": "Serenity Seekers Meeting", "address": ST_MARK_SHORT, "schedule_text": "Mon 7pm"},
        {"source_id": "2", "name": "Hope Steps Meeting", "address": ST_MARK_SHORT, "schedule_text": "Wed 7pm"},
    ])  # fmt: skip
    assert same_group(warehouse, ("intergroup", "m"), ("calendar", "1"))
    assert same_group(warehouse, ("intergroup", "w"), ("calendar", "2"))
    assert apart(warehouse, ("intergroup", "m"), ("intergroup", "w"))


def test_a_daily_group_published_as_seven_rows_is_one_group_with_seven_days(warehouse: Path) -> None:
    days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    load(warehouse, "fellowship", [
        {"source_id": f"d{n}", "name": "Daily Reflections", "address": ST_MARK, "schedule_text": f"{day}s 7am"}
        for n, day in enumerate(days)
    ])  # fmt: skip
    found = groups(warehouse)
    assert len({found[lid("fellowship", f"d{n}")] for n in range(7)}) == 1
    con = duckdb.connect(str(warehouse), read_only=True)
    schedules = con.execute("SELECT schedules FROM groups").fetchall()[0][0]
    con.close()
    assert schedules == ["FREQ=WEEKLY;BYDAY=SU,MO,TU,WE,TH,FR,SA 07:00 America/Los_Angeles"]


def test_one_zoom_room_reused_for_different_meetings_does_not_join_them(warehouse: Path) -> None:
    room = "https://zoom.example.org/j/5550100123"
    load(warehouse, "online_intergroup", [
        {"source_id": "a", "name": "Morning Calm", "conference_url": room, "schedule_text": "Mondays 8am"},
        {"source_id": "b", "name": "Evening Check-In", "conference_url": room, "schedule_text": "Mondays 8pm"},
    ])  # fmt: skip
    load(warehouse, "calendar", [{"source_id": "c", "name": "Morning Calm Group", "conference_url": room + "?pwd=x",
                                  "schedule_text": "Mon 8:00 AM"}])  # fmt: skip
    assert apart(warehouse, ("online_intergroup", "a"), ("online_intergroup", "b"))
    assert same_group(warehouse, ("online_intergroup", "a"), ("calendar", "c"))


def test_the_most_trusted_source_supplies_a_groups_fields(warehouse: Path) -> None:
    trust = {"chapter": 5, "calendar": 0}
    load(warehouse, "calendar", [{"source_id": "c1", "name": "Hearing Voices Group", "address": ST_MARK,
                                  "schedule_text": "Fridays 3pm", "phone": "503-555-0111",
                                  "website": "https://calendar.example.org/hv", "description": "Peer-led."}],
         trust=trust)  # fmt: skip
    load(warehouse, "chapter", [{"source_id": "h1", "name": "Hearing Voices Group", "address": ST_MARK_SHORT,
                                 "schedule_text": "Fri 3:00 PM", "phone": "503-555-0112"}], trust=trust)  # fmt: skip
    con = duckdb.connect(str(warehouse), read_only=True)
    rows = con.execute("SELECT phone, website, provenance FROM groups").fetchall()
    con.close()
    assert len(rows) == 1
    phone, website, provenance = rows[0]
    assert phone == "+15035550112"  # the trusted chapter's, although the calendar's listing is more complete
    assert website == "https://calendar.example.org/hv"  # only the calendar has one
    assert json.loads(provenance)["phone"] == lid("chapter", "h1")
    assert json.loads(provenance)["website"] == lid("calendar", "c1")


def test_members_carry_a_match_probability_and_the_comparisons_that_agreed(warehouse: Path) -> None:
    test_one_group_listed_by_two_directories_with_an_acronym_and_a_venue_suffix(warehouse)
    con = duckdb.connect(str(warehouse), read_only=True)
    rows = con.execute("SELECT score, evidence FROM group_members").fetchall()
    con.close()
    for score, evidence in rows:
        assert 0.9 <= score <= 1.0
        assert "location=address" in evidence and "schedule=slot" in evidence


def test_group_id_survives_new_and_edited_members_across_runs(warehouse: Path) -> None:
    first = {"source_id": "r1", "name": "Hearing Voices Group", "address": ST_MARK, "schedule_text": "Fridays 3pm"}
    load(warehouse, "riverside", [first])
    original = groups(warehouse)[lid("riverside", "r1")]
    load(warehouse, "lakeshore", [{"source_id": "l1", "name": "Hearing Voices", "address": ST_MARK_SHORT,
                                   "schedule_text": "Fri 3:00 PM"}])  # fmt: skip
    assert groups(warehouse)[lid("lakeshore", "l1")] == original
    load(warehouse, "riverside", [{**first, "description": "Now with a second facilitator."}])
    assert set(groups(warehouse).values()) == {original}


def test_re_running_the_same_input_changes_no_group(warehouse: Path) -> None:
    records = [{"source_id": f"s{n}", "name": f"Group {n}", "address": f"{n} Elm Street, Riverton, OR 97301",
                "schedule_text": "Tuesdays 6pm"} for n in range(1, 6)]  # fmt: skip
    load(warehouse, "riverside", records)
    before = groups(warehouse)
    load(warehouse, "riverside", records)
    assert groups(warehouse) == before


def _two_unsure_listings(warehouse: Path) -> tuple[str, str]:
    """Two directories, one venue, names sharing one of their words, one without a schedule: the model is unsure."""
    load(warehouse, "riverside", [{"source_id": "r1", "name": "Anxiety Talk", "address": ST_MARK,
                                   "schedule_text": "Mondays 6pm"}])  # fmt: skip
    load(warehouse, "lakeshore", [{"source_id": "l1", "name": "Calm Minds Anxiety", "address": ST_MARK_SHORT}])
    return lid("riverside", "r1"), lid("lakeshore", "l1")


def test_review_shows_uncertain_pairs_and_a_same_decision_merges_them_and_records_the_merge(warehouse: Path) -> None:
    left, right = _two_unsure_listings(warehouse)
    assert apart(warehouse, ("riverside", "r1"), ("lakeshore", "l1"))
    con = duckdb.connect(str(warehouse), read_only=True)
    pairs = uncertain_pairs(con)
    con.close()
    assert {(pair.listing_id_l, pair.listing_id_r) for pair in pairs} == {tuple(sorted((left, right)))}
    older_id = groups(warehouse)[left]

    store_run(warehouse, "review", [], before_link=lambda con: record_decision(con, left, right, same=True))
    found = groups(warehouse)
    assert found[left] == found[right] == older_id  # the longest-known listing's id survives
    con = duckdb.connect(str(warehouse), read_only=True)
    changes = con.execute("SELECT old_group_id, new_group_id, kind FROM group_id_changes").fetchall()
    con.close()
    assert len(changes) == 1 and changes[0][1:] == (older_id, "merged")

    load(warehouse, "lakeshore", [{"source_id": "l1", "name": "Calm Minds Anxiety", "address": ST_MARK_SHORT,
                                   "description": "Edited since."}])  # fmt: skip
    assert same_group(warehouse, ("riverside", "r1"), ("lakeshore", "l1"))  # obeyed on later runs


def test_a_different_decision_splits_a_group_and_is_obeyed_later(warehouse: Path) -> None:
    test_one_group_listed_by_two_directories_with_an_acronym_and_a_venue_suffix(warehouse)
    left, right = lid("riverside", "r1"), lid("lakeshore", "l1")
    store_run(warehouse, "review", [], before_link=lambda con: record_decision(con, right, left, same=False))
    assert apart(warehouse, ("riverside", "r1"), ("lakeshore", "l1"))
    con = duckdb.connect(str(warehouse), read_only=True)
    kinds = [row[0] for row in con.execute("SELECT kind FROM group_id_changes").fetchall()]
    con.close()
    assert kinds == ["split"]
    load(warehouse, "riverside", [{"source_id": "r1", "name": "Depression and Bipolar Support Group",
                                   "address": ST_MARK, "schedule_text": "Tuesdays 7-8:30pm"}])  # fmt: skip
    assert apart(warehouse, ("riverside", "r1"), ("lakeshore", "l1"))


def test_a_decision_about_an_unknown_listing_is_refused_and_nothing_changes(warehouse: Path) -> None:
    left, _ = _two_unsure_listings(warehouse)
    before = groups(warehouse)
    with pytest.raises(ReviewError, match="no listing with id"):
        store_run(warehouse, "review", [], before_link=lambda con: record_decision(con, left, "Lnope", same=True))
    assert groups(warehouse) == before
