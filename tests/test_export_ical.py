"""The iCalendar export: files parse back with `icalendar`, every event's rule, zone and first occurrence are right
when expanded with dateutil, every zone an event names has its VTIMEZONE, output is stable, and nothing private
or HTML leaks."""

from __future__ import annotations

import itertools
import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import icalendar
import pytest
from dateutil.rrule import rrulestr

from pipeline.export_ical import export_ical
from tests import export_world as world

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
TAG = re.compile(r"<\s*/?\s*[a-zA-Z!?]")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
CHICAGO = ZoneInfo("America/Chicago")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return world.build_warehouse(tmp_path_factory.mktemp("ical-warehouse") / "warehouse.duckdb")


def export(warehouse: Path, out_dir: Path, *, by: str = "group", include_contacts: bool = False) -> list[Path]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return export_ical(con, out_dir, by=by, include_contacts=include_contacts)  # type: ignore[arg-type]
    finally:
        con.close()


@pytest.fixture(scope="module")
def group_files(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return [path for path in export(warehouse, tmp_path_factory.mktemp("ical-out")) if path.suffix == ".ics"]


@pytest.fixture(scope="module")
def calendars(group_files: list[Path]) -> dict[str, icalendar.Calendar]:
    """Calendar name (the group's name) → the parsed calendar."""
    parsed = {}
    for path in group_files:
        calendar = icalendar.Calendar.from_ical(path.read_bytes())
        parsed[str(calendar["X-WR-CALNAME"])] = calendar
    return parsed


@pytest.fixture(scope="module")
def first_seen(warehouse: Path) -> dict[str, datetime]:
    """Group name → the earliest first_seen_at of its listings: the export's anchor for DTSTART."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            """SELECT g.name, min(l.first_seen_at) FROM groups g JOIN group_members m USING (group_id)
               JOIN listings l USING (listing_id) GROUP BY g.name"""
        ).fetchall()
    finally:
        con.close()
    return dict(rows)


def events_of(calendar: icalendar.Calendar) -> list[icalendar.Event]:
    return list(calendar.walk("VEVENT"))


def occurrences(event: icalendar.Event, count: int) -> list[datetime]:
    """The first `count` starts of a recurring event, expanded with dateutil from its DTSTART and RRULE."""
    start = event.decoded("DTSTART")
    if not isinstance(start, datetime):  # an all-day event
        start = datetime.combine(start, time())
    taken: list[datetime] = []
    for moment in rrulestr(event["RRULE"].to_ical().decode(), dtstart=start):
        taken.append(moment)
        if len(taken) == count:
            break
    return taken


def unfolded(path: Path) -> str:
    return path.read_text(encoding="utf-8").replace("\r\n ", "").replace("\r\n\t", "")


def test_every_file_is_a_valid_calendar(group_files: list[Path], calendars: dict[str, icalendar.Calendar]) -> None:
    assert group_files and len(calendars) == len(group_files)
    for path in group_files:
        raw = path.read_bytes()
        assert raw.startswith(b"BEGIN:VCALENDAR\r\n") and raw.endswith(b"END:VCALENDAR\r\n")
        assert all(len(line) <= 75 for line in raw.split(b"\r\n"))  # folded, as RFC 5545 requires
        assert re.fullmatch(r"G[0-9a-f]+\.ics", path.name)
    for calendar in calendars.values():
        assert str(calendar["VERSION"]) == "2.0" and str(calendar["PRODID"]).startswith("-//peergroups//")
        events = events_of(calendar)
        assert events
        for event in events:
            for required in ("UID", "DTSTAMP", "DTSTART", "RRULE", "SUMMARY", "DESCRIPTION"):
                assert required in event, required
            assert ("DTEND" in event) != ("DURATION" in event)
            assert event.decoded("DTSTAMP").utcoffset() == timedelta(0)


def test_uids_are_unique_and_name_the_group(calendars: dict[str, icalendar.Calendar], warehouse: Path) -> None:
    groups = world.group_table(warehouse)
    uids = []
    for name, calendar in calendars.items():
        for event in events_of(calendar):
            uid = str(event["UID"])
            assert uid.startswith(groups[name]["group_id"] + "-") and uid.endswith("@peergroups")
            uids.append(uid)
    assert len(uids) == len(set(uids))


def test_every_zone_an_event_names_has_its_vtimezone(group_files: list[Path]) -> None:
    seen_zones = set()
    for path in group_files:
        calendar = icalendar.Calendar.from_ical(path.read_bytes())
        defined = {str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")}
        used = set()
        for event in events_of(calendar):
            for key in ("DTSTART", "DTEND"):
                if key in event and "TZID" in event[key].params:
                    used.add(event[key].params["TZID"])
        assert used == defined, path.name  # every zone used is defined, and none defined in vain
        assert calendar.get_missing_tzids() == set()
        seen_zones |= used
    assert seen_zones == {"America/Los_Angeles", "America/Chicago"}


def test_weekly_group_on_several_days(
    calendars: dict[str, icalendar.Calendar], first_seen: dict[str, datetime]
) -> None:
    # Listed as Monday + Wednesday by one directory and one page a day by another: one event, no double Mondays.
    (event,) = events_of(calendars[world.WEEKLY_MULTI_DAY])
    assert event["DTSTART"].params["TZID"] == "America/Los_Angeles"
    assert event["RRULE"].to_ical() == b"FREQ=WEEKLY;BYDAY=MO,WE"
    start = event.decoded("DTSTART")
    assert event.decoded("DTEND") - start == timedelta(hours=1, minutes=30)
    # A year of occurrences: Mondays and Wednesdays at 19:00 local, across both daylight-saving changes.
    year = occurrences(event, 104)
    assert {moment.strftime("%a") for moment in year} == {"Mon", "Wed"}
    assert {(moment.hour, moment.minute) for moment in year} == {(19, 0)}
    assert len({moment.utcoffset() for moment in year}) == 2
    # DTSTART is the first meeting on or after the day we first saw the group.
    anchor = first_seen[world.WEEKLY_MULTI_DAY].astimezone(LOS_ANGELES).date()
    assert anchor <= start.date() < anchor + timedelta(days=7)
    assert start.weekday() in (0, 2)
    assert all(day.weekday() not in (0, 2) for day in _days_between(anchor, start.date()))
    assert event["GEO"].to_ical() == "44.9501;-124.0102"
    assert "12 Bay" in str(event["LOCATION"])


def _days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days)]


def test_dtstart_is_the_first_occurrence_after_the_group_was_first_seen(
    calendars: dict[str, icalendar.Calendar], first_seen: dict[str, datetime]
) -> None:
    checked = 0
    for name, calendar in calendars.items():
        for event in events_of(calendar):
            start = event.decoded("DTSTART")
            zone = start.tzinfo if isinstance(start, datetime) else None
            seen = first_seen[name]
            anchor_day = (seen.astimezone(zone) if zone else seen).date()
            at = start.time() if isinstance(start, datetime) else time()
            anchor = datetime.combine(anchor_day, at, tzinfo=zone)
            expected = rrulestr(event["RRULE"].to_ical().decode(), dtstart=anchor).after(anchor, inc=True)
            assert expected is not None
            assert (expected if isinstance(start, datetime) else expected.date()) == start, name
            checked += 1
    assert checked >= 9


def test_first_monday_of_the_month(calendars: dict[str, icalendar.Calendar], first_seen: dict[str, datetime]) -> None:
    (event,) = events_of(calendars[world.FIRST_MONDAY])
    assert event["RRULE"].to_ical() == b"FREQ=MONTHLY;BYDAY=1MO"
    assert event["DTSTART"].params["TZID"] == "America/Los_Angeles"
    months = occurrences(event, 12)
    for moment in months:
        assert moment.weekday() == 0 and moment.day <= 7
        assert (moment.hour, moment.minute) == (18, 30)
    assert len({(moment.year, moment.month) for moment in months}) == 12
    start = event.decoded("DTSTART")
    assert start.date() >= first_seen[world.FIRST_MONDAY].astimezone(LOS_ANGELES).date()
    assert (event.decoded("DTEND") - start) == timedelta(hours=1, minutes=30)
    assert "except holidays" in str(event["DESCRIPTION"])


def test_last_friday_until_its_end_date(calendars: dict[str, icalendar.Calendar]) -> None:
    (event,) = events_of(calendars[world.LAST_FRIDAY])
    rule = event["RRULE"]
    assert rule["FREQ"] == ["MONTHLY"] and rule["BYDAY"] == ["-1FR"]
    (until,) = rule["UNTIL"]
    assert until.utcoffset() == timedelta(0)  # UTC, as RFC 5545 requires with a zoned DTSTART
    assert until.astimezone(LOS_ANGELES).date() == date(2027, 12, 31)
    every = list(rrulestr(rule.to_ical().decode(), dtstart=event.decoded("DTSTART")))
    assert every and every[-1].date() <= date(2027, 12, 31)
    for moment in every:
        assert moment.weekday() == 4 and (moment + timedelta(days=7)).month != moment.month
        assert (moment.hour, moment.minute) == (13, 0)


def test_every_other_week_says_the_phase_is_not_known(calendars: dict[str, icalendar.Calendar]) -> None:
    (event,) = events_of(calendars[world.EVERY_OTHER_WEEK])
    assert event["RRULE"].to_ical() == b"FREQ=WEEKLY;INTERVAL=2;BYDAY=SU"
    starts = occurrences(event, 4)
    assert [b - a for a, b in itertools.pairwise(starts)] == [timedelta(days=14)] * 3
    assert event.decoded("DURATION") == timedelta(hours=1)
    description = str(event["DESCRIPTION"])
    assert "Which weeks: not stated" in description and "End time not stated" in description


def test_a_schedule_without_a_time_is_an_all_day_event(calendars: dict[str, icalendar.Calendar]) -> None:
    (event,) = events_of(calendars[world.NO_TIME])
    start = event.decoded("DTSTART")
    assert isinstance(start, date) and not isinstance(start, datetime)
    assert start.weekday() == 3
    assert event.decoded("DTEND") == start + timedelta(days=1)
    assert str(event["TRANSP"]) == "TRANSPARENT"
    assert "time not stated" in str(event["SUMMARY"])
    assert all(moment.weekday() == 3 for moment in occurrences(event, 8))


def test_online_groups(calendars: dict[str, icalendar.Calendar]) -> None:
    (event,) = events_of(calendars[world.ONLINE])
    assert str(event["LOCATION"]) == "https://zoom.example.org/j/5550123"
    assert "Join online: https://zoom.example.org/j/5550123" in str(event["DESCRIPTION"])
    assert "GEO" not in event
    assert all(moment.strftime("%a %H:%M") == "Tue 18:00" for moment in occurrences(event, 10))

    # No zone stated: a floating time, said in the description, and no VTIMEZONE invented for it.
    (floating,) = events_of(calendars[world.ONLINE_NO_ZONE])
    assert floating.decoded("DTSTART").tzinfo is None and "TZID" not in floating["DTSTART"].params
    assert "Time zone not stated" in str(floating["DESCRIPTION"])
    assert not list(calendars[world.ONLINE_NO_ZONE].walk("VTIMEZONE"))


def test_hybrid_group_in_another_zone(calendars: dict[str, icalendar.Calendar]) -> None:
    events = events_of(calendars[world.HYBRID])
    rules = sorted((event["RRULE"].to_ical(), event.decoded("DTSTART").time()) for event in events)
    assert rules == [(b"FREQ=WEEKLY;BYDAY=SA", time(14, 0)), (b"FREQ=WEEKLY;BYDAY=TH,SA", time(10, 0))]
    for event in events:
        assert event["DTSTART"].params["TZID"] == "America/Chicago"
        assert event.decoded("DTSTART").tzinfo.key == "America/Chicago"  # type: ignore[union-attr]
        assert "120 Lake St" in str(event["LOCATION"])
        assert "Join online: https://meet.example.org/abc-defg-hij" in str(event["DESCRIPTION"])


def test_temporarily_closed_group_is_marked(calendars: dict[str, icalendar.Calendar]) -> None:
    (event,) = events_of(calendars[world.TEMPORARILY_CLOSED])
    assert str(event["STATUS"]) == "TENTATIVE" and "temporarily closed" in str(event["SUMMARY"])


def test_left_out(calendars: dict[str, icalendar.Calendar]) -> None:
    assert world.WITHDRAWN not in calendars and world.INACTIVE not in calendars
    assert world.NO_SCHEDULE not in calendars  # nothing to put on a calendar


def test_provenance_in_every_description(calendars: dict[str, icalendar.Calendar], warehouse: Path) -> None:
    groups = world.group_table(warehouse)
    for name, calendar in calendars.items():
        group = groups[name]
        for event in events_of(calendar):
            description = str(event["DESCRIPTION"])
            assert all(source in description for source in group["sources"])
            assert all(url in description for url in group["source_urls"])
            assert f"Last confirmed {group['last_seen_at']:%Y-%m-%d} (UTC)." in description
            assert event.decoded("DTSTAMP") == group["last_seen_at"].replace(microsecond=0)


def test_no_email_passwords_or_html(group_files: list[Path]) -> None:
    for path in group_files:
        text = unfolded(path)
        assert not EMAIL.search(text), (path.name, EMAIL.search(text))
        assert world.SECRET not in text and "pwd=" not in text and "passcode=" not in text
        assert not TAG.search(text), path.name
        assert "alert(1)" not in text


def test_include_contacts_adds_email(warehouse: Path, tmp_path: Path) -> None:
    files = export(warehouse, tmp_path, include_contacts=True)
    texts = [unfolded(path) for path in files if path.suffix == ".ics"]
    assert any("E-mail: circle@example.org" in text for text in texts)
    assert not any(world.SECRET in text for text in texts)


def test_output_is_stable_across_exports_and_runs(
    group_files: list[Path], warehouse: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    again = {path.name: path.read_bytes() for path in export(warehouse, tmp_path / "again")}
    assert {path.name: path.read_bytes() for path in group_files} == {
        name: data for name, data in again.items() if name.endswith(".ics")
    }

    def schedule_identity(out_dir: Path, path: Path) -> set[tuple[str, str, str]]:
        identity = set()
        for file in export(path, out_dir):
            if file.suffix == ".ics":
                for event in events_of(icalendar.Calendar.from_ical(file.read_bytes())):
                    identity.add(
                        (str(event["UID"]), event["DTSTART"].to_ical().decode(), event["RRULE"].to_ical().decode())
                    )
        return identity

    # A re-crawl confirms the same listings: UIDs and first occurrences do not move.
    rerun = world.build_warehouse(tmp_path_factory.mktemp("ical-rerun") / "warehouse.duckdb")
    before = schedule_identity(tmp_path / "before", rerun)
    world.load(rerun)
    world.mark_withdrawn(rerun, world.WITHDRAWN)
    assert schedule_identity(tmp_path / "after", rerun) == before


def test_withdrawn_groups_lose_their_file(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    warehouse = world.build_warehouse(tmp_path_factory.mktemp("ical-withdraw") / "warehouse.duckdb")
    before = {path.name for path in export(warehouse, tmp_path)}
    world.mark_withdrawn(warehouse, world.HYBRID)
    after = {path.name for path in export(warehouse, tmp_path)}
    gone = before - after
    assert len(gone) == 1
    assert {path.name for path in (tmp_path / "ics").glob("*")} == after


def test_one_calendar_per_region(warehouse: Path, tmp_path: Path, calendars: dict[str, icalendar.Calendar]) -> None:
    files = export(warehouse, tmp_path, by="region")
    assert {path.name for path in files} == {"us-or.ics", "us-il.ics", "online.ics", "ATTRIBUTION.txt"}
    assert all(path.parent == tmp_path / "ics" / "regions" for path in files)
    by_region: dict[str, set[str]] = {}
    for path in files:
        if path.suffix != ".ics":
            continue
        calendar = icalendar.Calendar.from_ical(path.read_bytes())
        assert calendar.get_missing_tzids() == set()
        by_region[path.stem] = {str(event["UID"]) for event in events_of(calendar)}
    group_uids = {str(event["UID"]) for calendar in calendars.values() for event in events_of(calendar)}
    assert set().union(*by_region.values()) == group_uids  # the same events, filed by region
    assert sum(len(uids) for uids in by_region.values()) == len(group_uids)
    hybrid_uids = {str(event["UID"]) for event in events_of(calendars[world.HYBRID])}
    assert by_region["us-il"] == hybrid_uids


def test_attribution_beside_the_files(group_files: list[Path]) -> None:
    text = (group_files[0].parent / "ATTRIBUTION.txt").read_text(encoding="utf-8")
    assert "- harbor_helpline:" in text and "- lakeshore_dir:" in text
    assert "https://harbor.example.org" in text


def test_unknown_grouping_is_refused(warehouse: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"group.*region"):
        export(warehouse, tmp_path, by="county")
