"""The iCalendar platform spider, crawling fixture calendars over real HTTP: one test per field, then groups."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar

from flows.crawl import CrawlOutcome, crawl
from pipeline.ingest import normalise_batch
from spiders.platforms.ical import find_runs, location_address
from tests.conftest import read_jsonl

LOCAL = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "RETRY_TIMES": 0}

Feed = tuple[CrawlOutcome, list[dict[str, Any]]]

TUESDAY_UID = "2v8kq1tuesdaypeer0c6f@google.com"


def crawl_calendar(url: str, out: Path, **arguments: str) -> CrawlOutcome:
    return crawl("ical", {"url": url, "source": "riverbend_mood", **arguments}, out, settings=LOCAL)


def _crawl_fixture(fixture_site: str, tmp_path_factory: pytest.TempPathFactory, name: str, **arguments: str) -> Feed:
    out = tmp_path_factory.mktemp("ical") / "items.jsonl"
    outcome = crawl_calendar(f"{fixture_site}/ical/{name}", out, **arguments)
    return outcome, read_jsonl(out)


@pytest.fixture(scope="module")
def google(fixture_site: str, tmp_path_factory: pytest.TempPathFactory) -> Feed:
    return _crawl_fixture(fixture_site, tmp_path_factory, "riverbend_google.ics", country="US", topics="depression")


@pytest.fixture(scope="module")
def singles(fixture_site: str, tmp_path_factory: pytest.TempPathFactory) -> Feed:
    return _crawl_fixture(fixture_site, tmp_path_factory, "lakeside_singles_utc.ics", source="lakeside_family")


@pytest.fixture(scope="module")
def outlook(fixture_site: str, tmp_path_factory: pytest.TempPathFactory) -> Feed:
    return _crawl_fixture(fixture_site, tmp_path_factory, "harbor_outlook.ics", source="harbor_voices")


def named(feed: Feed, name: str) -> list[dict[str, Any]]:
    return [item for item in feed[1] if item.get("name") == name]


def one(feed: Feed, name: str) -> dict[str, Any]:
    items = named(feed, name)
    assert len(items) == 1, f"{len(items)} items named {name!r}"
    return items[0]


# --- the feed as a whole ---------------------------------------------------------------------------------------------


def test_every_group_becomes_one_item(google: Feed, singles: Feed, outlook: Feed) -> None:
    for feed, expected in ((google, 9), (singles, 13), (outlook, 8)):
        outcome, items = feed
        assert outcome.status == "ok"
        assert len(items) == expected
        assert outcome.stats["item_scraped_count"] == expected
        assert len({item["source_id"] for item in items}) == expected


def test_a_recurring_series_is_one_item(google: Feed) -> None:
    """A weekly RRULE running all year is one listing, not one per meeting."""
    assert Counter(item["name"] for item in google[1]) == {
        "Tuesday Evening Peer Support Group": 1, "Family & Friends Support Circle": 1,
        "Young Adults Online Peer Group": 1, "Last Friday Social": 1, "Caregivers Lunchtime Check-in": 1,
        "Monday Night Mood Group": 1, "Monthly Evening Circle": 1, "Mental Health Awareness Walk": 1,
        "Chapter Board Meeting": 1,
    }  # fmt: skip


def test_overrides_belong_to_their_series(google: Feed) -> None:
    """RECURRENCE-ID overrides (one moved, one cancelled) are told in the series' schedule, never listed apart."""
    assert [item["source_id"] for item in google[1]].count(TUESDAY_UID) == 1
    assert not named(google, "Tuesday Evening Peer Support Group (on Wednesday this week)")
    text = one(google, "Tuesday Evening Peer Support Group")["schedules"][0]["text"]
    assert "moved 2026-03-17 19:00 to 2026-03-18 19:00" in text
    assert "cancelled 2026-04-07" in text
    assert google[0].stats["peergroups/ical/overrides"] == 2


def test_exdates_are_kept_and_not_the_rule(google: Feed) -> None:
    schedule = one(google, "Tuesday Evening Peer Support Group")["schedules"][0]
    assert "except 2026-11-24, 2026-12-29" in schedule["text"]
    assert schedule["exdates"] == ["2026-11-24T19:00", "2026-12-29T19:00"]
    assert (schedule["freq"], schedule["byday"]) == ("WEEKLY", ["TU"])


# --- one test per field ----------------------------------------------------------------------------------------------


def test_source_and_id_is_the_uid(google: Feed) -> None:
    item = one(google, "Tuesday Evening Peer Support Group")
    assert item["source"] == "riverbend_mood"
    assert item["source_id"] == TUESDAY_UID


def test_fetched_at(google: Feed) -> None:
    assert one(google, "Tuesday Evening Peer Support Group")["fetched_at"].endswith("+00:00")


def test_name_from_summary_and_description_as_published(google: Feed) -> None:
    item = one(google, "Tuesday Evening Peer Support Group")
    assert item["description"].startswith("Peer-led support for adults living with depression or bipolar disorder.")
    assert "Free, drop-in, no referral needed.<br><br>Questions: (309) 555-0141" in item["description"]


def test_location_is_the_address_kept_whole(google: Feed, singles: Feed) -> None:
    assert one(google, "Tuesday Evening Peer Support Group")["address"] == (
        "Riverbend Community Church, 410 W Mill St, Peoria, IL 61602, USA"
    )
    assert named(singles, "Grief Circle")[0]["address"] == "Hope Lutheran Church, 45 Lake St, Madison, WI 53703"


def test_geo_gives_coordinates(google: Feed) -> None:
    item = one(google, "Tuesday Evening Peer Support Group")
    assert (item["latitude"], item["longitude"]) == (40.6936, -89.589)
    assert "latitude" not in one(google, "Last Friday Social")


def test_url_elsewhere_is_the_website(google: Feed) -> None:
    item = one(google, "Tuesday Evening Peer Support Group")
    assert item["website"] == "https://riverbend-mood.example.org/groups/tuesday"
    assert item["source_url"].endswith("/ical/riverbend_google.ics")
    assert "feed_url" not in item


def test_url_of_the_event_page_is_the_source_url(singles: Feed) -> None:
    item = one(singles, "Peer Specialist Info Night")
    assert item["source_url"] == "https://lakeside-family.example.org/events/peer-specialist-info-night/"
    assert item["feed_url"].endswith("/ical/lakeside_singles_utc.ics")
    assert "website" not in item


def test_zoom_link_in_location_is_the_conference_url_not_an_address(google: Feed, outlook: Feed) -> None:
    item = one(google, "Young Adults Online Peer Group")
    assert item["conference_url"] == "https://us02web.zoom.us/j/5550100123?pwd=RmljdGlvbmFsUGFzc3dvcmQ"
    assert "address" not in item
    labelled = one(outlook, "Night Owls Online")  # LOCATION "Zoom: https://zoom.us/j/..."
    assert labelled["conference_url"] == "https://zoom.us/j/5550100789"
    assert "address" not in labelled


def test_google_meet_and_wrapped_links_in_descriptions(google: Feed) -> None:
    assert one(google, "Caregivers Lunchtime Check-in")["conference_url"] == "https://meet.google.com/abc-defg-hij"
    hybrid = one(google, "Monday Night Mood Group")  # a google.com/url?q= link in an HTML description
    assert hybrid["conference_url"] == "https://us02web.zoom.us/j/5550100456"
    assert hybrid["address"] == "Riverbend Community Church, 410 W Mill St, Peoria, IL 61602"


def test_teams_link_in_description(outlook: Feed) -> None:
    item = one(outlook, "Third Wednesday Caregivers Group")
    assert item["conference_url"].startswith("https://teams.microsoft.com/l/meetup-join/19%3ameeting_")
    assert "address" not in item  # LOCATION "Microsoft Teams Meeting" names no place


def test_status_is_copied(google: Feed) -> None:
    assert one(google, "Tuesday Evening Peer Support Group")["status"] == "CONFIRMED"
    assert one(google, "Last Friday Social")["status"] == "TENTATIVE"


def test_a_cancelled_series_is_skipped_and_counted(google: Feed) -> None:
    assert not named(google, "Saturday Coffee & Conversation")
    assert google[0].stats["peergroups/ical/cancelled"] == 1


def test_calendar_name_and_source_defaults(google: Feed) -> None:
    item = one(google, "Tuesday Evening Peer Support Group")
    assert item["calendar_name"] == "Riverbend Mood Peers – Groups"
    assert (item["country"], item["topics"]) == ("US", ["depression"])


def test_raw_is_the_vevent_as_ical_text(google: Feed) -> None:
    raw = one(google, "Tuesday Evening Peer Support Group")["raw"]
    assert isinstance(raw, str) and raw.startswith("BEGIN:VEVENT")
    events = Calendar.from_ical(f"BEGIN:VCALENDAR\r\n{raw}END:VCALENDAR\r\n").walk("VEVENT")
    assert [str(event["UID"]) for event in events] == [TUESDAY_UID] * 3  # the master and its two overrides
    assert str(events[0]["RRULE"].to_ical().decode()) == "FREQ=WEEKLY;BYDAY=TU"
    assert "EXDATE" in raw and "SEQUENCE:2" in raw and raw.count("RECURRENCE-ID") == 2


def test_missing_field_stats(google: Feed) -> None:
    stats = google[0].stats
    assert stats["peergroups/field/conference_url/missing"] == 6
    assert stats["peergroups/field/address/missing"] == 3
    assert "peergroups/field/schedules/missing" not in stats


# --- schedules from RRULE --------------------------------------------------------------------------------------------


def test_weekly_rule(google: Feed) -> None:
    schedule = one(google, "Tuesday Evening Peer Support Group")["schedules"][0]
    assert {key: schedule[key] for key in ("freq", "interval", "byday", "opens_at", "closes_at", "timezone")} == {
        "freq": "WEEKLY", "interval": 1, "byday": ["TU"], "opens_at": "19:00", "closes_at": "20:30",
        "timezone": "America/Chicago",
    }  # fmt: skip
    assert schedule["text"].startswith("Every Tuesday, 19:00–20:30 (America/Chicago); from 2026-01-06; except")
    assert schedule["rrule"] == "FREQ=WEEKLY;BYDAY=TU"


def test_monthly_nth_weekday_until(google: Feed) -> None:
    schedule = one(google, "Family & Friends Support Circle")["schedules"][0]
    assert (schedule["freq"], schedule["byday"], schedule["opens_at"], schedule["closes_at"]) == (
        "MONTHLY", ["1SA"], "10:00", "11:30",
    )  # fmt: skip
    assert schedule["valid_to"] == "2026-12-31"
    assert schedule["text"] == (
        "Monthly on the 1st Saturday, 10:00–11:30 (America/Chicago); from 2026-01-03; until 2026-12-31"
    )


def test_every_other_week(google: Feed) -> None:
    schedule = one(google, "Young Adults Online Peer Group")["schedules"][0]
    assert (schedule["freq"], schedule["interval"], schedule["byday"]) == ("WEEKLY", 2, ["TH"])
    assert schedule["text"].startswith("Every 2 weeks on Thursday, 18:00–19:00")


def test_last_weekday_of_the_month_with_count(google: Feed) -> None:
    schedule = one(google, "Last Friday Social")["schedules"][0]
    assert (schedule["freq"], schedule["byday"]) == ("MONTHLY", ["-1FR"])
    assert schedule["valid_to"] == "2026-06-26"
    assert "Monthly on the last Friday" in schedule["text"] and "6 times; last on 2026-06-26" in schedule["text"]


def test_several_weekdays(google: Feed) -> None:
    assert one(google, "Caregivers Lunchtime Check-in")["schedules"][0]["byday"] == ["MO", "WE"]


def test_utc_times_are_read_in_the_calendar_zone(google: Feed) -> None:
    """01:00Z on Tuesdays is Monday 19:00 in Chicago: the weekday moves with the time."""
    schedule = one(google, "Monday Night Mood Group")["schedules"][0]
    assert (schedule["byday"], schedule["opens_at"], schedule["closes_at"], schedule["timezone"]) == (
        ["MO"], "19:00", "20:30", "America/Chicago",
    )  # fmt: skip
    assert schedule["rrule"] == "FREQ=WEEKLY;BYDAY=TU"  # as published


def test_utc_monthly_rule_crossing_midnight_stays_in_utc(google: Feed) -> None:
    """The Monday before the 1st Tuesday is not always the 1st Monday: the rule is kept exact, in UTC."""
    schedule = one(google, "Monthly Evening Circle")["schedules"][0]
    assert (schedule["byday"], schedule["opens_at"], schedule["timezone"]) == (["1TU"], "01:30", "Etc/UTC")


def test_utc_without_a_calendar_zone_is_etc_utc(outlook: Feed) -> None:
    schedule = one(outlook, "Night Owls Online")["schedules"][0]
    assert (schedule["byday"], schedule["opens_at"], schedule["timezone"]) == (["TH"], "01:00", "Etc/UTC")


def test_windows_tzid_and_bysetpos(outlook: Feed) -> None:
    schedule = one(outlook, "Third Wednesday Caregivers Group")["schedules"][0]
    assert (schedule["freq"], schedule["byday"], schedule["opens_at"], schedule["timezone"]) == (
        "MONTHLY", ["3WE"], "18:00", "America/New_York",
    )  # fmt: skip


def test_byday_with_a_week_of_monthdays(outlook: Feed) -> None:
    schedule = one(outlook, "First Tuesday Peer Circle")["schedules"][0]
    assert (schedule["freq"], schedule["byday"]) == ("MONTHLY", ["1TU"])
    assert schedule["rrule"] == "FREQ=MONTHLY;BYDAY=TU;BYMONTHDAY=1,2,3,4,5,6,7"


def test_rules_no_schedule_row_holds_are_given_as_text(outlook: Feed) -> None:
    for name, rule in (
        ("Last Weekday Check-in", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"),
        ("Mid-Month Social", "FREQ=MONTHLY;BYMONTHDAY=15"),
        ("Annual Remembrance Gathering", "FREQ=YEARLY"),
    ):
        schedule = one(outlook, name)["schedules"][0]
        assert "freq" not in schedule and "byday" not in schedule
        assert schedule["text"].startswith(f"RRULE:{rule} starting ")
        assert schedule["timezone"] == "America/New_York"
    assert outlook[0].stats["peergroups/ical/rule_as_text"] == 3


def test_floating_times_have_no_zone(outlook: Feed) -> None:
    schedule = one(outlook, "Monday Morning Walk & Talk")["schedules"][0]
    assert (schedule["byday"], schedule["opens_at"], schedule["timezone"]) == (["MO"], "09:30", None)


def test_an_event_without_a_start_is_kept_without_a_schedule(outlook: Feed) -> None:
    item = one(outlook, "Volunteer Facilitator Orientation")
    assert item["schedules"] == []
    assert item["address"] == "Harbor Wellness Center, 55 Dock St, Portland, ME 04101"
    assert outlook[0].stats["peergroups/ical/unreadable_event"] == 1


# --- single events ---------------------------------------------------------------------------------------------------


def test_an_all_day_event_is_one_listing_with_its_date(google: Feed) -> None:
    assert one(google, "Mental Health Awareness Walk")["schedules"] == [
        {"text": "once on 2026-05-16, all day", "date": "2026-05-16", "timezone": "America/Chicago"}
    ]


def test_weekly_single_events_are_one_listing_across_daylight_saving(singles: Feed) -> None:
    """Five Monday meetings at 00:30Z then 23:30Z (the clocks changed): 18:30 local every time, one group."""
    item = one(singles, "Family Support Group")
    schedule = item["schedules"][0]
    assert {key: schedule[key] for key in ("freq", "interval", "byday", "opens_at", "closes_at", "timezone")} == {
        "freq": "WEEKLY", "interval": 1, "byday": ["MO"], "opens_at": "18:30", "closes_at": "20:00",
        "timezone": "America/Chicago",
    }  # fmt: skip
    assert schedule["occurrences"] == ["2026-02-23", "2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23"]
    assert "cancelled 2026-03-16" in schedule["text"]
    assert len(item["uids"]) == 5 and item["source_id"].startswith("series:")
    assert item["source_url"] == "https://lakeside-family.example.org/events/family-support-group-2026-03-23/"
    assert item["raw"].count("BEGIN:VEVENT") == 5


def test_monthly_single_events_are_one_listing(singles: Feed) -> None:
    schedule = one(singles, "Parents Peer Support")["schedules"][0]
    assert (schedule["freq"], schedule["byday"], schedule["opens_at"]) == ("MONTHLY", ["2TH"], "19:00")
    assert schedule["text"].startswith("Monthly on the 2nd Thursday, 19:00–20:30 (America/Chicago); seen 4 times")


def test_too_few_or_irregular_single_events_stay_apart(singles: Feed) -> None:
    grief = named(singles, "Grief Circle")  # two Saturdays: not enough to call it weekly
    anxiety = named(singles, "Anxiety Skills Workshop")  # three Mondays 2 and 3 weeks apart
    assert (len(grief), len(anxiety)) == (2, 3)
    for item in grief + anxiety:
        (schedule,) = item["schedules"]
        assert "freq" not in schedule and schedule["text"].startswith("once on 20")
    assert sorted(item["source_id"] for item in grief) == [
        "3011-20260110@lakeside-family.example.org", "3012-20260117@lakeside-family.example.org",
    ]  # fmt: skip
    assert named(singles, "Grief Circle")[0]["schedules"][0]["text"] == (
        "once on 2026-01-10, 10:00–11:30 (America/Chicago)"
    )


def test_single_events_two_rules_fit_get_no_rule(singles: Feed) -> None:
    """Three Wednesdays that are each the 4th and the last of their month: which one is meant is a guess."""
    items = named(singles, "Creative Wellness Evening")
    assert len(items) == 3
    assert all("freq" not in item["schedules"][0] for item in items)


def test_a_gap_splits_single_events_into_runs(singles: Feed) -> None:
    """Three Wednesdays, a week off, three more: two exact runs; the current one keeps the undated id."""
    items = sorted(named(singles, "Hearing Voices Peer Group"), key=lambda item: item["schedules"][0]["valid_from"])
    assert [item["schedules"][0]["valid_from"] for item in items] == ["2026-01-07", "2026-02-04"]
    assert items[0]["source_id"] == items[1]["source_id"] + ":2026-01-07"
    assert all(item["schedules"][0]["byday"] == ["WE"] for item in items)
    assert singles[0].stats["peergroups/ical/derived_series"] == 4


def test_a_cancelled_single_event_is_skipped_and_counted(singles: Feed) -> None:
    assert not named(singles, "Spring Open House")
    assert singles[0].stats["peergroups/ical/cancelled"] == 1


def test_series_ids_are_stable_across_crawls(
    singles: Feed, fixture_site: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    again = _crawl_fixture(fixture_site, tmp_path_factory, "lakeside_singles_utc.ics", source="lakeside_family")
    assert sorted(item["source_id"] for item in again[1]) == sorted(item["source_id"] for item in singles[1])


def test_runs_need_three_meetings_and_one_rule() -> None:
    weekly = [date(2026, 1, 6), date(2026, 1, 13), date(2026, 1, 20)]
    assert [(start, end, rule.byday if rule else None) for start, end, rule in find_runs(weekly)] == [(0, 3, ("TU",))]
    assert all(rule is None for _, _, rule in find_runs(weekly[:2]))
    fourth_and_last = [date(2026, 1, 28), date(2026, 2, 25), date(2026, 3, 25)]
    assert all(rule is None for _, _, rule in find_runs(fourth_and_last))
    (run,) = find_runs([*fourth_and_last, date(2026, 4, 22)])  # April's 4th Wednesday is not its last
    assert run[2] is not None and run[2].byday == ("4WE",)


def test_location_words_that_are_not_an_address() -> None:
    assert location_address("Zoom: https://zoom.us/j/5550100789") is None
    assert location_address("Online (Zoom)") is None
    assert location_address("Riverbend Library, 12 Main St, Peoria, IL 61602 | Zoom https://zoom.us/j/1") == (
        "Riverbend Library, 12 Main St, Peoria, IL 61602"
    )


# --- normalisation ---------------------------------------------------------------------------------------------------


EXPECTED_SCHEDULES: dict[str, list[tuple[str, int, tuple[str, ...], str, str]]] = {
    "Tuesday Evening Peer Support Group": [("WEEKLY", 1, ("TU",), "19:00", "America/Chicago")],
    "Family & Friends Support Circle": [("MONTHLY", 1, ("1SA",), "10:00", "America/Chicago")],
    "Young Adults Online Peer Group": [("WEEKLY", 2, ("TH",), "18:00", "America/Chicago")],
    "Last Friday Social": [("MONTHLY", 1, ("-1FR",), "18:00", "America/Chicago")],
    "Caregivers Lunchtime Check-in": [("WEEKLY", 1, ("MO", "WE"), "12:00", "America/Chicago")],
    "Monday Night Mood Group": [("WEEKLY", 1, ("MO",), "19:00", "America/Chicago")],
    "Monthly Evening Circle": [("MONTHLY", 1, ("1TU",), "01:30", "Etc/UTC")],
    "Family Support Group": [("WEEKLY", 1, ("MO",), "18:30", "America/Chicago")],
    "Parents Peer Support": [("MONTHLY", 1, ("2TH",), "19:00", "America/Chicago")],
    "Hearing Voices Peer Group": [("WEEKLY", 1, ("WE",), "18:00", "America/Chicago")],
    "Third Wednesday Caregivers Group": [("MONTHLY", 1, ("3WE",), "18:00", "America/New_York")],
    "First Tuesday Peer Circle": [("MONTHLY", 1, ("1TU",), "18:30", "America/New_York")],
    "Monday Morning Walk & Talk": [("WEEKLY", 1, ("MO",), "09:30", "America/New_York")],  # zone from the ZIP
    "Night Owls Online": [("WEEKLY", 1, ("TH",), "01:00", "Etc/UTC")],
}


def test_feeds_normalise_with_nothing_lost(google: Feed, singles: Feed, outlook: Feed) -> None:
    for feed, listings, rejects in ((google, 8, 1), (singles, 13, 0), (outlook, 8, 0)):
        batch = normalise_batch("riverbend_mood", feed[1])
        assert len(batch.raw_records) == len(batch.listings) + len(batch.rejects) == len(feed[1])
        assert (len(batch.listings), len(batch.rejects)) == (listings, rejects)
        for listing in batch.listings:
            rows = [
                (row.freq.value, row.interval, row.byday, f"{row.opens_at:%H:%M}" if row.opens_at else "", row.timezone)
                for row in listing.schedules
            ]
            assert rows == EXPECTED_SCHEDULES.get(listing.name, []), listing.name
    (reject,) = normalise_batch("riverbend_mood", google[1]).rejects
    assert reject.source_id == "0b2rboardmeetingfeb6e@google.com"  # the board meeting: no place, no link
    assert reject.reasons[0].startswith("reach/missing")


def test_dates_and_rules_as_text_never_become_a_guessed_schedule(google: Feed, singles: Feed, outlook: Feed) -> None:
    """One-off dates and RRULE text are read by normalisation as no schedule: counted, kept, never a rule."""
    batch = normalise_batch("riverbend_mood", google[1] + singles[1] + outlook[1])
    unscheduled = {listing.name for listing in batch.listings if not listing.schedules}
    assert unscheduled == {
        "Mental Health Awareness Walk", "Grief Circle", "Anxiety Skills Workshop", "Creative Wellness Evening",
        "Peer Specialist Info Night", "Last Weekday Check-in", "Mid-Month Social", "Annual Remembrance Gathering",
        "Volunteer Facilitator Orientation",
    }  # fmt: skip
    texts = {listing.name for listing in batch.listings if "schedule_text/unparsed" in listing.field_issues}
    assert texts == unscheduled - {"Volunteer Facilitator Orientation"}


def test_join_link_passwords_are_removed_at_normalisation(google: Feed) -> None:
    batch = normalise_batch("riverbend_mood", google[1])
    (listing,) = [listing for listing in batch.listings if listing.name == "Young Adults Online Peer Group"]
    assert listing.conference_url == "https://us02web.zoom.us/j/5550100123"
    assert listing.format == "online"


# --- broken feeds ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "kind", "message"),
    [
        ("/ical/not_ical.html", "not_ical", "is not an iCalendar feed (it starts with '<!DOCTYPE html>')"),
        ("/ical/truncated.ics", "not_ical", "no END:VCALENDAR"),
        ("/meeting_guide/tsml_feed.json", "not_ical", "is not an iCalendar feed"),
        ("/_status/403", "restricted", "restricts this feed"),
        ("/_status/500", "http", "answered HTTP 500"),
        ("/ical/no_such_calendar.ics", "http", "answered HTTP 404"),
    ],
)
def test_broken_feeds_fail_with_a_reason(fixture_site: str, tmp_path: Path, path: str, kind: str, message: str) -> None:
    outcome = crawl_calendar(fixture_site + path, tmp_path / "out.jsonl")
    assert outcome.status == "failed"
    assert outcome.stats[f"peergroups/source_error/{kind}"] == 1
    assert message in (outcome.error or "")
    assert outcome.retryable is (kind == "http")


def test_one_broken_calendar_of_several_is_partial(fixture_site: str, tmp_path: Path) -> None:
    urls = f"{fixture_site}/ical/harbor_outlook.ics {fixture_site}/ical/not_ical.html"
    outcome = crawl_calendar(urls, tmp_path / "out.jsonl")
    assert outcome.status == "partial"
    assert outcome.stats["item_scraped_count"] == 8
