"""The Meeting Guide feed export: every meeting has the spec's shape, slugs are unique and stable, schedules a
weekly feed cannot hold are in notes, nothing private or HTML leaks, and the feed reads back through our own
Meeting Guide spider into the same groups."""

from __future__ import annotations

import json
import re
import zoneinfo
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest
from scrapy.http import TextResponse

from pipeline.export_meeting_guide import export_meeting_guide
from pipeline.export_shared import describe_rule, public_url
from pipeline.ingest import normalise_batch
from spiders.platforms.meeting_guide import MeetingGuideSpider
from tests import export_world as world

FIXTURES = Path(__file__).parent / "fixtures" / "exports"
HHMM = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
UPDATED = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
TAG = re.compile(r"<\s*/?\s*[a-zA-Z!?]")
# The spec's fields (code4recovery/spec README) and the extra ones TSML itself emits (phone, website, email,
# attendance_option); a key outside these would be ours alone.
KNOWN_KEYS = {
    "name", "slug", "day", "time", "end_time", "timezone", "formatted_address", "address", "city", "state",
    "postal_code", "country", "region", "sub_region", "regions", "conference_url", "conference_url_notes",
    "conference_phone", "conference_phone_notes", "types", "notes", "location", "location_notes", "latitude",
    "longitude", "approximate", "updated", "group", "group_notes", "url", "edit_url", "feedback_url", "entity",
    "phone", "website", "email", "attendance_option",
}  # fmt: skip


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return world.build_warehouse(tmp_path_factory.mktemp("mg-warehouse") / "warehouse.duckdb")


@pytest.fixture(scope="module")
def type_codes() -> set[str]:
    data = json.loads((FIXTURES / "meeting_guide_type_codes.json").read_text(encoding="utf-8"))
    return set(data["spec"]) | set(data["tsml"])


def export(warehouse: Path, out_dir: Path, *, include_contacts: bool = False) -> list[Path]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return export_meeting_guide(con, out_dir, include_contacts=include_contacts)
    finally:
        con.close()


@pytest.fixture(scope="module")
def feed_path(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    paths = export(warehouse, tmp_path_factory.mktemp("mg-out"))
    return next(path for path in paths if path.name == "meetings.json")


@pytest.fixture(scope="module")
def feed(feed_path: Path) -> list[dict[str, Any]]:
    meetings = json.loads(feed_path.read_text(encoding="utf-8"))
    assert isinstance(meetings, list)
    return meetings


def by_name(feed: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [meeting for meeting in feed if meeting["name"] == name]


def test_every_meeting_has_the_spec_shape(feed: list[dict[str, Any]], type_codes: set[str]) -> None:
    zones = zoneinfo.available_timezones()
    assert feed
    for meeting in feed:
        assert set(meeting) <= KNOWN_KEYS, set(meeting) - KNOWN_KEYS
        assert isinstance(meeting["name"], str) and 0 < len(meeting["name"]) <= 255
        assert isinstance(meeting["slug"], str) and SLUG.match(meeting["slug"]), meeting["slug"]
        # A weekly meeting has both day and time; a meeting with neither is "by appointment".
        assert ("day" in meeting) == ("time" in meeting), meeting
        if "day" in meeting:
            assert type(meeting["day"]) is int and 0 <= meeting["day"] <= 6
            assert HHMM.match(meeting["time"])
        if "end_time" in meeting:
            assert "time" in meeting and HHMM.match(meeting["end_time"])
        if "timezone" in meeting:
            assert meeting["timezone"] in zones
        assert isinstance(meeting.get("types", []), list)
        assert set(meeting.get("types", [])) <= type_codes, meeting.get("types")
        assert meeting.get("approximate", "no") in ("yes", "no")
        assert UPDATED.match(meeting["updated"])
        for key in ("latitude", "longitude"):
            if key in meeting:
                assert isinstance(meeting[key], float)
        if "conference_phone" in meeting:
            assert re.fullmatch(r"[\d+,*#]+", meeting["conference_phone"])
        for value in meeting.values():
            assert value not in (None, "", [])


def test_a_group_meeting_on_several_days_is_one_meeting_a_day(feed: list[dict[str, Any]]) -> None:
    meetings = by_name(feed, world.WEEKLY_MULTI_DAY)
    assert sorted((m["day"], m["time"], m["end_time"]) for m in meetings) == [
        (1, "19:00", "20:30"),
        (3, "19:00", "20:30"),
    ]
    assert all(m["timezone"] == "America/Los_Angeles" for m in meetings)
    assert len({m["slug"] for m in meetings}) == 2
    # The slugs share the group's stem and end with the day.
    stems = {m["slug"].rsplit("-", 1)[0] for m in meetings}
    assert len(stems) == 1
    assert {m["slug"].rsplit("-", 1)[1] for m in meetings} == {"1", "3"}


def test_two_meetings_on_one_day_have_their_time_in_the_slug(feed: list[dict[str, Any]]) -> None:
    meetings = {(m["day"], m["time"]): m for m in by_name(feed, world.HYBRID)}
    assert set(meetings) == {(4, "10:00"), (6, "10:00"), (6, "14:00")}
    assert meetings[(6, "10:00")]["slug"].endswith("-6-1000")
    assert meetings[(6, "14:00")]["slug"].endswith("-6-1400")
    assert meetings[(4, "10:00")]["slug"].endswith("-4")
    assert all(m["timezone"] == "America/Chicago" for m in meetings.values())


def test_slugs_are_unique(feed: list[dict[str, Any]]) -> None:
    counts = Counter(meeting["slug"] for meeting in feed)
    assert not [slug for slug, count in counts.items() if count > 1]


def test_slugs_are_stable_across_exports_and_runs(
    feed_path: Path, warehouse: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    again = next(path for path in export(warehouse, tmp_path / "again") if path.name == "meetings.json")
    assert again.read_bytes() == feed_path.read_bytes()

    # A second run over the same directories (a re-crawl) keeps every group's slugs.
    rerun = world.build_warehouse(tmp_path_factory.mktemp("mg-rerun") / "warehouse.duckdb")
    before = json.loads(next(p for p in export(rerun, tmp_path / "before") if p.name == "meetings.json").read_text())
    world.load(rerun)
    world.mark_withdrawn(rerun, world.WITHDRAWN)  # as the step that withdraws groups would again
    after = json.loads(next(p for p in export(rerun, tmp_path / "after") if p.name == "meetings.json").read_text())
    assert [(m["slug"], m["name"]) for m in after] == [(m["slug"], m["name"]) for m in before]


def test_monthly_groups_are_in_with_their_schedule_in_notes(feed: list[dict[str, Any]]) -> None:
    (monthly,) = by_name(feed, world.FIRST_MONDAY)
    assert "day" not in monthly and "time" not in monthly
    assert "First Monday of the month, 18:30–20:00 (America/Los_Angeles)" in monthly["notes"]
    assert "except holidays" in monthly["notes"]
    assert monthly["timezone"] == "America/Los_Angeles"

    (last_friday,) = by_name(feed, world.LAST_FRIDAY)
    assert "day" not in last_friday
    assert "Last Friday of the month, 13:00–14:00" in last_friday["notes"]
    assert "until 2027-12-31" in last_friday["notes"]

    (every_other,) = by_name(feed, world.EVERY_OTHER_WEEK)
    assert "day" not in every_other
    assert "Every other week on Sunday, 14:00" in every_other["notes"]


def test_a_weekly_schedule_without_a_time_goes_in_notes(feed: list[dict[str, Any]]) -> None:
    (meeting,) = by_name(feed, world.NO_TIME)
    assert "day" not in meeting and "time" not in meeting
    assert "Thursdays, time not stated" in meeting["notes"]


def test_a_group_without_a_schedule_says_what_the_directory_said(feed: list[dict[str, Any]]) -> None:
    (meeting,) = by_name(feed, world.NO_SCHEDULE)
    assert "day" not in meeting
    assert "Llame para horarios" in meeting["notes"]
    assert "S" in meeting["types"]  # Spanish


def test_online_group(feed: list[dict[str, Any]]) -> None:
    (meeting,) = by_name(feed, world.ONLINE)
    assert "ONL" in meeting["types"]
    assert meeting["conference_url"] == "https://zoom.example.org/j/5550123"
    assert meeting["conference_phone"] == "+16465550100,,5550123#"  # the passcode dialled after it is gone
    assert meeting["approximate"] == "yes"
    assert "latitude" not in meeting and "longitude" not in meeting
    assert meeting["attendance_option"] == "online"
    assert (meeting["day"], meeting["time"], meeting["end_time"]) == (2, "18:00", "19:00")

    (no_zone,) = by_name(feed, world.ONLINE_NO_ZONE)
    assert "timezone" not in no_zone and no_zone["time"] == "22:00"


def test_hybrid_group(feed: list[dict[str, Any]]) -> None:
    meetings = by_name(feed, world.HYBRID)
    for meeting in meetings:
        assert {"ONL", "W"} <= set(meeting["types"])
        assert meeting["approximate"] == "no"
        assert meeting["attendance_option"] == "hybrid"
        assert meeting["conference_url"] == "https://meet.example.org/abc-defg-hij"


def test_temporarily_closed_group(feed: list[dict[str, Any]]) -> None:
    (meeting,) = by_name(feed, world.TEMPORARILY_CLOSED)
    assert "TC" in meeting["types"] and "ONL" not in meeting["types"]
    assert meeting["attendance_option"] == "inactive"  # what TSML makes of TC without ONL
    assert "Temporarily closed" in meeting["notes"]


def test_source_open_code_is_kept_and_precise_coordinates_published(feed: list[dict[str, Any]]) -> None:
    for meeting in by_name(feed, world.WEEKLY_MULTI_DAY):
        assert "O" in meeting["types"]
        assert meeting["latitude"] == pytest.approx(44.9501) and meeting["longitude"] == pytest.approx(-124.0102)
        assert meeting["approximate"] == "no"
        assert meeting["formatted_address"].startswith("12 Bay")


def test_zip_centroids_are_not_published_as_coordinates(feed: list[dict[str, Any]]) -> None:
    (meeting,) = by_name(feed, world.FIRST_MONDAY)  # the directory gave an address only
    assert "latitude" not in meeting and meeting["approximate"] == "no"


def test_withdrawn_and_inactive_groups_are_left_out(feed: list[dict[str, Any]], warehouse: Path) -> None:
    names = {meeting["name"] for meeting in feed}
    assert world.WITHDRAWN not in names and world.INACTIVE not in names
    groups = world.group_table(warehouse)
    assert groups[world.WITHDRAWN]["status"] == "withdrawn" and groups[world.INACTIVE]["status"] == "inactive"
    assert names == {name for name, group in groups.items() if group["status"] not in ("withdrawn", "inactive")}


def test_no_email_passwords_or_html_in_the_public_feed(feed_path: Path, feed: list[dict[str, Any]]) -> None:
    text = feed_path.read_text(encoding="utf-8")
    assert not EMAIL.search(text), EMAIL.search(text)
    assert world.SECRET not in text and "pwd=" not in text and "passcode=" not in text and "*99#" not in text
    assert not TAG.search(text)
    assert "alert(1)" not in text  # the script's content went with the script
    (circle,) = [m for m in by_name(feed, world.WEEKLY_MULTI_DAY) if m["day"] == 1]
    assert "Peer-led & free." in circle["notes"]  # entities decoded, not dropped
    assert "(e-mail address withheld)" in circle["notes"]


def test_include_contacts_adds_email_for_internal_use(warehouse: Path, tmp_path: Path) -> None:
    path = next(p for p in export(warehouse, tmp_path, include_contacts=True) if p.name == "meetings.json")
    meetings = json.loads(path.read_text(encoding="utf-8"))
    circle = by_name(meetings, world.WEEKLY_MULTI_DAY)
    assert all(meeting["email"] == "circle@example.org" for meeting in circle)
    assert "jane.doe@example.org" in circle[0]["notes"]
    assert world.SECRET not in path.read_text(encoding="utf-8")  # contacts, never passwords


def test_every_meeting_says_where_it_was_listed_and_when(feed: list[dict[str, Any]], warehouse: Path) -> None:
    groups = world.group_table(warehouse)
    for meeting in feed:
        group = groups[meeting["name"]]
        assert "Listed by " in meeting["notes"]
        for source in group["sources"]:
            assert source in meeting["notes"]
        for url in group["source_urls"]:
            assert url in meeting["notes"]
        assert f"Last confirmed {group['last_seen_at']:%Y-%m-%d} (UTC)." in meeting["notes"]
        assert meeting["notes"].rstrip().endswith("(UTC).")


def test_a_directory_listing_a_group_twice_is_named_once_with_both_pages(feed: list[dict[str, Any]]) -> None:
    notes = by_name(feed, world.WEEKLY_MULTI_DAY)[0]["notes"]
    assert notes.count("lakeshore_dir") == 1
    assert (
        "lakeshore_dir (https://lakeshore.example.org/meetings/ls-anxiety, "
        "https://lakeshore.example.org/meetings/ls-anxiety-wed)" in notes
    )


@pytest.mark.parametrize(
    ("freq", "interval", "byday", "words"),
    [
        ("WEEKLY", 1, ("MO", "WE"), "Mondays and Wednesdays"),
        ("WEEKLY", 2, ("SU",), "Every other week on Sunday"),
        ("WEEKLY", 3, ("TU", "TH"), "Every 3 weeks on Tuesday and Thursday"),
        ("MONTHLY", 1, ("1MO",), "First Monday of the month"),
        ("MONTHLY", 1, ("2WE", "4WE"), "Second and fourth Wednesday of the month"),
        ("MONTHLY", 1, ("1TU", "3TH"), "First Tuesday and third Thursday of the month"),
        ("MONTHLY", 1, ("-1FR",), "Last Friday of the month"),
        ("MONTHLY", 2, ("1SA",), "First Saturday of every other month"),
        ("DAILY", 1, (), "Every day"),
        ("WEEKLY", 1, (), "Weekly (day not stated)"),
    ],
)
def test_schedules_in_words(freq: str, interval: int, byday: tuple[str, ...], words: str) -> None:
    assert describe_rule(freq, interval, byday) == words


@pytest.mark.parametrize(
    ("url", "public", "internal"),
    [
        ("https://example.org/groups?a=1&not=2", "https://example.org/groups?a=1&not=2", None),  # not unescaped
        ("https://example.org/contact?to=jane@example.org", None, "https://example.org/contact?to=jane@example.org"),
        ("javascript:alert(1)", None, None),
        ('https://example.org/"><script>', None, None),
    ],
)
def test_links_in_public_exports(url: str, public: str | None, internal: str | None) -> None:
    assert public_url(url, include_contacts=False) == public
    assert public_url(url, include_contacts=True) == (internal or public)


def test_attribution_lists_the_sources(feed_path: Path) -> None:
    text = (feed_path.parent / "ATTRIBUTION.txt").read_text(encoding="utf-8")
    assert "- harbor_helpline:" in text and "https://harbor.example.org" in text
    assert "- lakeshore_dir:" in text and "https://lakeshore.example.org" in text
    assert not EMAIL.search(text)


def read_back(feed_path: Path) -> list[dict[str, Any]]:
    """The feed as our Meeting Guide spider reads a directory's feed: raw listings, one per meeting."""
    url = "https://mirror.example.org/wp-json/tsml/meetings"
    spider = MeetingGuideSpider(url=url, source="mirror")
    response = TextResponse(
        url=url, body=feed_path.read_bytes(), encoding="utf-8", headers={"Content-Type": "application/json"}
    )
    return list(spider.parse_feed(response))


def weekly_times(warehouse: Path) -> dict[str, list[tuple[str, str, str | None]]]:
    """name → its every-week schedules at a stated time, one (day, "HH:MM", zone) per day: what a feed holds."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            """SELECT g.name, day, left(CAST(s.opens_at AS VARCHAR), 5), s.timezone
               FROM groups g JOIN group_schedules s USING (group_id), unnest(s.byday) AS days(day)
               WHERE s.freq = 'WEEKLY' AND s."interval" = 1 AND s.opens_at IS NOT NULL"""
        ).fetchall()
    finally:
        con.close()
    times: dict[str, set[tuple[str, str, str | None]]] = {}
    for name, day, opens, zone in rows:
        times.setdefault(name, set()).add((day, opens, zone))
    return {name: sorted(values) for name, values in times.items()}


def test_the_feed_reads_back_through_our_meeting_guide_spider(feed_path: Path, warehouse: Path) -> None:
    items = read_back(feed_path)
    batch = normalise_batch("mirror", items)
    assert not batch.rejects, batch.rejects
    feed = json.loads(feed_path.read_text(encoding="utf-8"))
    assert len(batch.listings) == len(feed)

    groups = world.group_table(warehouse)
    expected_times = weekly_times(warehouse)
    listings: dict[str, list[Any]] = {}
    for listing in batch.listings:
        listings.setdefault(listing.name, []).append(listing)
    assert set(listings) == {m["name"] for m in feed}
    for name, read in listings.items():
        group = groups[name]
        assert {listing.format.value if listing.format else None for listing in read} == {group["format"]}, name
        assert {listing.status.value for listing in read} == {group["status"]}, name
        assert {listing.conference_url for listing in read} == {group["conference_url"]}, name
        assert {listing.phone for listing in read} == {group["phone"]}, name
        assert {listing.language for listing in read} == {group["language"]}, name
        assert all(listing.email is None for listing in read)
        assert all(listing.source_url in [*group["source_urls"], "https://mirror.example.org/wp-json/tsml/meetings"]
                   for listing in read)  # fmt: skip
        # Weekly schedules come back as they were (one listing a day); the others were notes and come back as none.
        weekly = sorted(
            (day, f"{schedule.opens_at:%H:%M}", schedule.timezone)
            for listing in read
            for schedule in listing.schedules
            for day in schedule.byday
        )
        assert weekly == expected_times.get(name, []), name
