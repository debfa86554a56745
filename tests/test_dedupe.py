"""The deterministic dedupe: true duplicates merge, hard negatives stay apart, ids stay stable."""

from __future__ import annotations

from typing import Any

from pipeline.dedupe import DedupeRecord, cluster, street_key

ST_MARK = {"street": "415 Alder Street", "postal_code": "97301", "latitude": 44.9391, "longitude": -123.0331}
HALL = {"street": "62 Harbor Road", "postal_code": "97367", "latitude": 44.9751, "longitude": -124.0093}


def rec(
    listing_id: str, source: str, name: str, slots: set[tuple[str, str]] | None = None, **place: Any
) -> DedupeRecord:
    return DedupeRecord(listing_id=listing_id, source=source, name=name, slots=frozenset(slots or ()), **place)


def groups_of(records: list[DedupeRecord]) -> list[set[str]]:
    by_group: dict[str, set[str]] = {}
    for membership in cluster(records):
        by_group.setdefault(membership.group_id, set()).add(membership.listing_id)
    return sorted(by_group.values(), key=sorted)


def test_same_group_in_two_directories_with_abbreviated_name() -> None:
    records = [
        rec("a", "riverside", "Depression and Bipolar Support Group", {("TU", "19:00")},
            organization="Riverside Peer Support Network", **ST_MARK),
        rec("b", "lakeshore", "RPSN Depression & Bipolar Support", {("TU", "19:00")},
            street="415 Alder St.", postal_code="97301"),
    ]  # fmt: skip
    assert groups_of(records) == [{"a", "b"}]


def test_church_hosting_two_groups_on_different_days_stays_apart() -> None:
    records = [
        rec("a", "riverside", "NAMI Connection Support Group", {("TU", "19:00")}, **ST_MARK),
        rec("b", "lakeshore", "NAMI Connection", {("TH", "19:00")}, **ST_MARK),
        rec("c", "lakeshore", "Grief Support Group", {("TH", "19:00")}, **ST_MARK),
    ]
    assert groups_of(records) == [{"a"}, {"b"}, {"c"}]


def test_shared_phone_line_is_not_a_match() -> None:
    # A chapter's one phone line on several groups: phones are not used to match at all.
    records = [
        rec("a", "riverside", "Family Support Group", {("TU", "19:00")}, **ST_MARK),
        rec("b", "riverside", "Anxiety Peer Circle", {("MO", "18:00")}, **HALL),
    ]
    assert groups_of(records) == [{"a"}, {"b"}]


def test_same_generic_name_in_two_towns_stays_apart() -> None:
    records = [
        rec("a", "riverside", "Family Support Group", {("TU", "18:30")}, **ST_MARK),
        rec("b", "lakeshore", "Family Support Group", {("TU", "18:30")}, **HALL),
    ]
    assert groups_of(records) == [{"a"}, {"b"}]


def test_one_fellowships_two_meetings_at_one_venue_with_different_names_stay_apart() -> None:
    records = [
        rec("a", "riverside", "Monday Night Mood Group", {("MO", "19:00")}, **ST_MARK),
        rec("b", "riverside", "Wednesday Hope Group", {("WE", "19:00")}, **ST_MARK),
    ]
    assert groups_of(records) == [{"a"}, {"b"}]


def test_one_source_rows_of_a_daily_group_are_one_group() -> None:
    days = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"]
    records = [rec(f"d{i}", "riverside", "Daily Check-in", {(day, "08:00")}, **ST_MARK) for i, day in enumerate(days)]
    assert groups_of(records) == [{f"d{i}" for i in range(7)}]


def test_unnamed_rows_at_one_venue_are_not_merged() -> None:
    records = [
        rec("a", "raleigh", "Alano Club", {("MO", "20:00")}, named_by_venue=True, **ST_MARK),
        rec("b", "raleigh", "Alano Club", {("WE", "20:00")}, named_by_venue=True, **ST_MARK),
    ]
    assert groups_of(records) == [{"a"}, {"b"}]


def test_same_name_same_place_conflicting_times_across_sources_stay_apart() -> None:
    records = [
        rec("a", "riverside", "OCD Support Group", {("TU", "18:30")}, **HALL),
        rec("b", "lakeshore", "OCD Support", {("TU", "10:00")}, **HALL),
    ]
    assert groups_of(records) == [{"a"}, {"b"}]


def test_online_groups_match_on_join_link() -> None:
    records = [
        rec("a", "riverside", "Online Depression Support", {("MO", "20:00")},
            conference_url="https://zoom.example.org/j/555"),
        rec("b", "lakeshore", "Online Depression Support Group", {("MO", "20:00"), ("WE", "20:00")},
            conference_url="https://zoom.example.org/j/555/"),
        rec("c", "lakeshore", "Online Anxiety Support", {("MO", "20:00")}, conference_url="https://zoom.example.org/j/777"),
    ]  # fmt: skip
    assert groups_of(records) == [{"a", "b"}, {"c"}]


def test_group_ids_are_stable_when_a_listing_joins() -> None:
    first = cluster([rec("b", "riverside", "Hearing Voices Group", {("FR", "15:00")}, **ST_MARK)])
    previous = {m.listing_id: m.group_id for m in first}
    # A new directory lists the same group; its listing id sorts first, yet the group keeps its id.
    second = cluster(
        [
            rec("a", "lakeshore", "Hearing Voices", {("FR", "15:00")}, **ST_MARK),
            rec("b", "riverside", "Hearing Voices Group", {("FR", "15:00")}, **ST_MARK),
        ],
        previous,
    )
    assert {m.group_id for m in second} == {previous["b"]}


def test_split_keeps_the_id_for_the_larger_part() -> None:
    previous = {"a": "G1", "b": "G1", "c": "G1"}
    records = [
        rec("a", "s1", "Peer Group One", {("MO", "19:00")}, **ST_MARK),
        rec("b", "s2", "Peer Group One", {("MO", "19:00")}, **ST_MARK),
        rec("c", "s3", "Totally Different Circle", {("MO", "19:00")}, **ST_MARK),
    ]
    ids = {m.listing_id: m.group_id for m in cluster(records, previous)}
    assert ids["a"] == ids["b"] == "G1"
    assert ids["c"] != "G1"


def test_evidence_is_recorded() -> None:
    records = [
        rec("a", "riverside", "Anxiety Peer Circle", {("MO", "18:00")}, **ST_MARK),
        rec("b", "lakeshore", "Anxiety Peer Circle - Library", {("MO", "18:00")}, **ST_MARK),
    ]
    evidence = {m.listing_id: m.evidence for m in cluster(records)}
    assert evidence["a"] == "name=1.00;place=street;schedule=overlap"


def test_street_key_ignores_street_type_and_unit() -> None:
    assert street_key("415 Alder Street", None, "97301") == street_key("415 ALDER ST.", None, "97301-1234")
    assert street_key(None, "1780 Cedar Avenue, Suite 4, Riverton, OR 97302", None) == "1780 cedar 97302"


def test_names_in_any_script_are_compared_not_crashed() -> None:
    records = [
        rec("a", "s1", "Группа поддержки", {("TU", "19:00")}, **ST_MARK),
        rec("b", "s2", "Группа поддержки", {("TU", "19:00")}, **ST_MARK),
        rec("c", "s2", "抑郁症互助小组", {("TU", "19:00")}, **HALL),
    ]
    assert groups_of(records) == [{"a", "b"}, {"c"}]


def test_same_street_in_two_towns_without_zip_stays_apart() -> None:
    records = [
        rec("a", "s1", "Hope Circle", {("MO", "19:00")}, street="100 Main St", address="100 Main St, Springfield, IL"),
        rec("b", "s2", "Hope Circle", {("MO", "19:00")}, street="100 Main Street",
            address="100 Main Street, Springfield, MA"),
        rec("c", "s3", "Hope Circle", {("MO", "19:00")}, street="100 N Oak St", postal_code="62704"),
        rec("d", "s4", "Hope Circle", {("MO", "19:00")}, street="100 N Main St", postal_code="62704"),
    ]  # fmt: skip
    assert groups_of(records) == [{"a"}, {"b"}, {"c"}, {"d"}]


def test_a_listing_without_schedule_does_not_chain_two_groups() -> None:
    records = [
        rec("a", "s1", "Hope Circle", {("MO", "19:00")}, **ST_MARK),
        rec("b", "s2", "Hope Circle", {("TU", "19:00")}, **ST_MARK),
        rec("c", "s3", "Hope Circle", None, **ST_MARK),  # matches both: it may join one of them, never link them
    ]
    groups = groups_of(records)
    assert not any({"a", "b"} <= group for group in groups)


def test_points_150_m_apart_in_neighbouring_cells_still_meet() -> None:
    near = {"latitude": 44.9399, "longitude": -123.0331}
    far = {"latitude": 44.9399 + 0.0012, "longitude": -123.0331}  # ~133 m north, across a cell edge
    records = [
        rec("a", "s1", "Hope Circle", {("MO", "19:00")}, **near),
        rec("b", "s2", "Hope Circle", {("MO", "19:00")}, **far),
    ]
    assert groups_of(records) == [{"a", "b"}]


def test_a_tie_keeps_the_id_of_the_longest_known_member() -> None:
    previous = {"new": "G-young", "old": "G-old"}
    records = [
        rec("new", "s1", "Hope Circle", {("MO", "19:00")}, seniority=5, **ST_MARK),
        rec("old", "s2", "Hope Circle", {("MO", "19:00")}, seniority=1, **ST_MARK),
    ]
    assert {m.group_id for m in cluster(records, previous)} == {"G-old"}


def test_new_group_ids_never_take_an_id_held_elsewhere() -> None:
    """An incremental link names only the groups it re-clustered: ids of groups it left alone are reserved."""
    from pipeline.dedupe import assign_group_ids

    fresh = assign_group_ids([["L2"]], {}, {})[0]  # the id a new group of L2 would get
    ids = assign_group_ids([["L2"], ["L3", "L4"]], {"L3": "G-kept", "L4": "G-kept"}, {}, reserved={fresh})
    assert ids[1] == "G-kept"
    assert ids[0] != fresh and ids[0] not in {"G-kept"}
    assert assign_group_ids([["L2"]], {}, {}, reserved={"G-other"}) == [fresh]
