"""Normalisation, one behaviour per test: each cleaned field, each reject reason, bad fields kept not fatal."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest

from pipeline.normalise import Reject, listing_id, normalise
from pipeline.schedules import ScheduleError, parse_days, parse_time
from schemas import Cost, Format, GroupListing, Status


def record(**fields: Any) -> dict[str, Any]:
    base = {"source": "test_source", "source_id": "1", "name": "Mood Peer Group", "street": "1 Main St",
            "city": "Springfield", "region": "IL", "country": "US"}  # fmt: skip
    base.update(fields)
    return base


def listing(**fields: Any) -> GroupListing:
    outcome = normalise(record(**fields))
    assert isinstance(outcome, GroupListing), getattr(outcome, "reasons", outcome)
    return outcome


def test_listing_id_is_stable_and_source_scoped() -> None:
    assert listing_id("a", "1") == listing_id("a", "1")
    assert listing_id("a", "1") != listing_id("b", "1")
    assert listing().listing_id == listing_id("test_source", "1")


def test_reject_without_name() -> None:
    outcome = normalise(record(name="  "))
    assert isinstance(outcome, Reject)
    assert [reason.split(":")[0] for reason in outcome.reasons] == ["name/missing"]


def test_reject_without_any_way_to_reach() -> None:
    outcome = normalise(
        {"source": "s", "source_id": "1", "name": "Lonely Group", "source_url": "https://x.example.org"}
    )
    assert isinstance(outcome, Reject)
    assert outcome.reasons[0].startswith("reach/missing")


def test_reject_when_contract_broken_keeps_payload() -> None:
    payload = {"name": "No ids"}
    outcome = normalise(payload)
    assert isinstance(outcome, Reject)
    assert outcome.payload is payload
    assert any(reason.startswith("source/invalid") for reason in outcome.reasons)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("(217) 555-0142", "+12175550142"),
        ("217.555.0142", "+12175550142"),
        ("+1 217 555 0142", "+12175550142"),
        ("217-555-0143 ext. 12", "+12175550143;ext=12"),
    ],
)
def test_phone_to_e164(raw: str, expected: str) -> None:
    assert listing(phone=raw).phone == expected


def test_invalid_phone_is_kept_raw_and_counted_not_rejected() -> None:
    result = listing(phone="call the hall")
    assert result.phone is None
    assert result.phone_raw == "call the hall"
    assert "phone/invalid" in result.field_issues


def test_uk_phone_uses_source_country() -> None:
    result = listing(phone="020 7946 0018", country="GB", region=None)
    assert result.phone == "+442079460018"


def test_bad_coordinates_are_dropped_and_counted() -> None:
    result = listing(latitude="north", longitude="-89.6")
    assert (result.latitude, result.longitude) == (None, None)
    assert "latitude/invalid" in result.field_issues


def test_html_is_stripped_from_text() -> None:
    result = listing(description="<p>Free. <b>Drop in</b> &amp; welcome.</p><script>alert(1)</script>")
    assert result.description == "Free. Drop in & welcome."


def test_join_link_password_is_removed() -> None:
    result = listing(conference_url="https://zoom.example.org/j/5550100?pwd=abc123&from=addon")
    assert result.conference_url == "https://zoom.example.org/j/5550100?from=addon"


def test_email_and_website_are_normalised_or_counted() -> None:
    good = listing(email="Info@Mood-Group.EXAMPLE.org", website="mood-group.example.org/tuesday")
    assert good.email == "Info@mood-group.example.org"
    assert good.website == "https://mood-group.example.org/tuesday"
    bad = listing(email="nobody at example", website="javascript:alert(1)")
    assert (bad.email, bad.website) == (None, None)
    assert {"email/invalid", "website/invalid"} <= set(bad.field_issues)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, Format.IN_PERSON),
        ({"conference_url": "https://meet.example.org/a"}, Format.HYBRID),
        ({"street": None, "city": None, "region": None, "conference_url": "https://meet.example.org/a"}, Format.ONLINE),
        ({"format": "online"}, Format.IN_PERSON),  # said online, but no way to join: only in person
        ({"format": "hybrid", "conference_phone": "+15555550100"}, Format.HYBRID),
    ],
)
def test_format(fields: dict[str, Any], expected: Format) -> None:
    assert listing(**fields).format is expected


def test_online_without_link_is_counted() -> None:
    assert "format/invalid" in listing(format="online").field_issues


def test_temporarily_closed_venue() -> None:
    result = listing(types=["TC"])
    assert result.status is Status.TEMPORARILY_CLOSED
    online = listing(types=["TC", "ONL"], conference_url="https://meet.example.org/a")
    assert (online.status, online.format) == (Status.ACTIVE, Format.ONLINE)


def test_meeting_guide_schedule_shapes() -> None:
    result = listing(
        schedules=[
            {"day": [1, 3], "time": "18:00", "end_time": "19:00", "timezone": "America/Chicago"},
            {"day": "Thursday", "time": "6:00 PM", "end_time": "7:30 PM"},
            {"day": "0", "time": "10:00:00"},
        ]
    )
    weekly = [(s.byday, s.opens_at, s.closes_at, s.timezone) for s in result.schedules]
    assert weekly == [
        (("MO", "WE"), time(18), time(19), "America/Chicago"),
        (("TH",), time(18), time(19, 30), "America/Chicago"),  # zone of the place (IL)
        (("SU",), time(10), None, "America/Chicago"),
    ]


def test_no_day_is_no_schedule_not_a_guess() -> None:
    result = listing(schedules=[{"timezone": "America/Chicago"}], schedule_text="Call for times")
    assert result.schedules == []
    assert result.schedule_text == "Call for times"


def test_bad_schedule_is_counted_and_listing_kept() -> None:
    result = listing(schedules=[{"day": 9, "time": "19:00"}])
    assert result.schedules == []
    assert "schedules/invalid" in result.field_issues


def test_zone_abbreviation_becomes_iana() -> None:
    result = listing(schedules=[{"day": 2, "time": "19:00", "timezone": "ET"}])
    assert result.schedules[0].timezone == "America/New_York"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("19:00", time(19)), ("7:30 p.m.", time(19, 30)), ("7.30pm", time(19, 30)), ("12 AM", time(0)),
     ("noon", time(12)), ("06:30:00", time(6, 30))],
)  # fmt: skip
def test_parse_time(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["25:00", "13 PM", "soon"])
def test_parse_time_refuses(text: str) -> None:
    with pytest.raises(ScheduleError):
        parse_time(text)


def test_parse_days_accepts_every_spelling() -> None:
    assert parse_days(["Tues", "thursdays", 0, "6"]) == ["SU", "TU", "TH", "SA"]


def test_topics_audiences_and_defaults() -> None:
    result = listing(name="Family Support Group", description="For families of people living with bipolar disorder.",
                     topics=["depression", "not-a-topic"], types=["W"])  # fmt: skip
    assert [t.value for t in result.topics] == ["depression", "bipolar", "family"]
    assert [a.value for a in result.audiences] == ["women", "family"]
    assert "topics/invalid" in result.field_issues


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, Cost.UNKNOWN),
        ({"description": "Free of charge, all welcome."}, Cost.FREE),
        ({"cost": "Donations welcome"}, Cost.DONATION),
        ({"cost": "$10 per session"}, Cost.PAID),
        ({"description": "Feel free to bring a friend."}, Cost.UNKNOWN),
    ],
)
def test_cost(fields: dict[str, Any], expected: Cost) -> None:
    assert listing(**fields).cost is expected


def test_a_bad_optional_field_is_set_aside_not_fatal() -> None:
    result = listing(raw="not a dict but kept", topics=5, schedules=[{"day": 2, "time": "19:00"}, "Thursdays 7pm"])
    assert "topics/invalid" in result.field_issues and result.raw_values["topics"] == ["5"]
    assert result.raw_values["street"] == "1 Main St" and result.street == "1 MAIN ST"
    assert [s.byday for s in result.schedules] == [("TU",)]  # structured rows win over words in the list
    weird = listing(audiences={"not": "a list"})
    assert "audiences/invalid" in weird.field_issues
    assert weird.raw_values["audiences"] == {"not": "a list"}


def test_only_unusable_contacts_is_a_reject() -> None:
    outcome = normalise({"source": "s", "source_id": "1", "name": "Peer Circle", "phone": "call us",
                         "conference_url": "javascript:alert(1)", "latitude": "0", "longitude": "0"})  # fmt: skip
    assert isinstance(outcome, Reject)
    assert outcome.reasons[0].startswith("reach/missing")


def test_superscript_day_is_a_bad_value_not_a_crash() -> None:
    result = listing(schedules=[{"day": "²", "time": "19:00"}])
    assert result.schedules == [] and "schedules/invalid" in result.field_issues


def test_passwords_never_survive_in_any_field() -> None:
    result = listing(
        description="Join https://zoom.example.org/j/555?pwd=SeCrEt (passcode: 4455)",
        website="https://bob:hunter2@meet.example.org/room?pwd=abc",
        conference_phone="+16465550100,,5550123#,,,,*987654#",
        schedule_text="Tuesdays 7pm, password is 4455",
    )
    text = " ".join(str(value) for value in result.model_dump(exclude={"raw_values"}).values())
    for secret in ("SeCrEt", "4455", "hunter2", "abc", "987654"):
        assert secret not in text
    assert result.conference_phone == "+16465550100,,5550123#"


def test_html_and_escaped_html_are_plain_text_everywhere() -> None:
    result = listing(description="&lt;img src=x onerror=alert(1)&gt;Hello", city="<b>Lakeport</b>")
    assert result.description == "Hello"
    assert result.city == "Lakeport"


def test_country_aliases_and_uk_phones() -> None:
    result = listing(country="UK", region=None, phone="020 7946 0018")
    assert (result.country, result.phone) == ("GB", "+442079460018")


def test_us_address_is_parsed_standardised_and_keyed() -> None:
    result = listing(
        street=None, city=None, region=None, address="415 N. Alder Street, Room 12, Riverton, OR 97301-1234"
    )
    assert (result.street, result.unit, result.city, result.region, result.postal_code) == (
        "415 N ALDER ST", "Room 12", "Riverton", "OR", "97301",
    )  # fmt: skip
    assert result.address_key == "415 N ALDER ST|97301"
    assert result.address == "415 N. Alder Street, Room 12, Riverton, OR 97301-1234"  # the source's line, kept


def test_zip_centroid_when_the_source_gives_no_coordinates() -> None:
    result = listing(postal_code="97301", region="OR")
    assert result.coordinates_precision == "postal_code"
    assert result.latitude is not None and 44 < result.latitude < 45.5
    placed = listing(postal_code="97301", latitude="44.9391", longitude="-123.0331", approximate="yes")
    assert (placed.coordinates_precision, placed.latitude) == ("approximate", 44.9391)


def test_schedule_text_is_read_when_there_is_no_structure() -> None:
    result = listing(schedule_text="2nd and 4th Wednesdays 6-7:30pm (except holidays)")
    assert result.schedule_source == "text"
    (schedule,) = result.schedules
    assert (schedule.rrule(), schedule.opens_at, schedule.closes_at, schedule.timezone) == (
        "FREQ=MONTHLY;BYDAY=2WE,4WE", time(18), time(19, 30), "America/Chicago",
    )  # fmt: skip
    assert schedule.notes and "except holidays" in schedule.notes


def test_call_for_times_is_no_schedule_and_counted_apart_from_unreadable_words() -> None:
    assert listing(schedule_text="Call for times").schedule_source == "none_stated"
    unread = listing(schedule_text="Tuesdays, bimonthly")
    assert (unread.schedule_source, unread.schedules) == ("unparsed", [])
    assert "schedule_text/unparsed" in unread.field_issues


def test_who_what_how_much_from_the_words() -> None:
    result = listing(
        name="Grupo de Apoyo para Familias",
        description="Grupo de apoyo gratis para familias de personas con esquizofrenia. Facilitado por una "
        "trabajadora social licensed. Se requiere registrarse: call to register.",
    )
    assert {t.value for t in result.topics} == {"psychosis", "family"}
    assert {a.value for a in result.audiences} == {"family", "spanish_speakers"}
    assert (result.language, result.cost, result.led_by, result.registration) == ("es", "free", "professional",
                                                                                  "required")  # fmt: skip


def test_north_american_fast_path_agrees_with_phonenumbers() -> None:
    import random

    import phonenumbers

    from pipeline.contacts import ContactError, parse_phone

    rng = random.Random(5)
    for _ in range(3000):
        digits = f"{rng.randint(200, 999)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        raw = rng.choice([f"({digits[:3]}) {digits[3:6]}-{digits[6:]}", f"{digits[:3]}.{digits[3:6]}.{digits[6:]}",
                          f"+1 {digits}"])  # fmt: skip
        number = phonenumbers.parse(raw, "US")
        expected = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if not phonenumbers.is_valid_number(number):
            with pytest.raises(ContactError):
                parse_phone(raw, "US")
        else:
            assert parse_phone(raw, "US") == expected, raw


def test_rrule_fields_with_validity_and_wall_clock_times() -> None:
    rule = {"freq": "MONTHLY", "byday": "1SA", "opens_at": "10:00:00Z", "closes_at": "12:00:00Z",
            "valid_from": "2026-01-01", "until": "2026-12-31", "text": "First Saturdays"}  # fmt: skip
    result = listing(schedules=[rule])
    (schedule,) = result.schedules
    assert (schedule.rrule(), schedule.opens_at, schedule.closes_at) == ("FREQ=MONTHLY;BYDAY=1SA", time(10), time(12))
    assert (str(schedule.valid_from), str(schedule.valid_to), schedule.notes) == ("2026-01-01", "2026-12-31",
                                                                                 "First Saturdays")  # fmt: skip


def test_a_rule_we_cannot_hold_is_not_widened() -> None:
    result = listing(schedules=[{"freq": "WEEKLY", "byday": "TH,FR", "byweekno": "41,42", "opens_at": "09:00"}])
    assert result.schedules == [] and "schedules/invalid" in result.field_issues


def test_calendar_exceptions_and_end_dates_are_kept_on_the_rule() -> None:
    rule = {"freq": "WEEKLY", "byday": "TU", "opens_at": "18:30", "except_dates": ["2026-12-22", "2026-12-29"],
            "end_date": "2027-06-30", "start_date": "2026-11-24"}  # fmt: skip
    (schedule,) = listing(schedules=[rule]).schedules
    assert schedule.notes == "except 2026-12-22, 2026-12-29"
    assert (schedule.valid_from, str(schedule.valid_to)) == (None, "2027-06-30")
