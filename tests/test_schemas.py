"""The data contracts: what RawListing accepts and keeps, what Schedule refuses."""

from __future__ import annotations

from datetime import time

import pytest
from pydantic import ValidationError

from schemas import Freq, RawListing, Schedule


def test_raw_listing_keeps_unknown_keys() -> None:
    raw = RawListing.model_validate({"source": "s", "source_id": "1", "district": "North", "venmo": "@x"})
    assert raw.model_dump()["district"] == "North"
    assert raw.model_extra == {"district": "North", "venmo": "@x"}


def test_raw_listing_requires_source_and_id() -> None:
    with pytest.raises(ValidationError) as error:
        RawListing.model_validate({"name": "A group"})
    assert {e["loc"][0] for e in error.value.errors()} == {"source", "source_id"}


def test_raw_listing_splits_code_strings_and_coerces_numbers() -> None:
    raw = RawListing.model_validate(
        {"source": "s", "source_id": 7, "types": "O, ST", "latitude": 35.5, "schedules": {"day": 2, "time": "19:00"}}
    )
    assert raw.source_id == "7"
    assert raw.types == ["O", "ST"]
    assert raw.latitude == "35.5"
    assert raw.schedules[0].day == 2


def test_schedule_rrule_and_ordinals() -> None:
    schedule = Schedule(freq=Freq.MONTHLY, byday=("1TU", "-1FR"), opens_at=time(19), timezone="America/New_York")
    assert schedule.rrule() == "FREQ=MONTHLY;BYDAY=1TU,-1FR"
    assert Schedule(freq=Freq.WEEKLY, interval=2, byday=("SU",)).rrule() == "FREQ=WEEKLY;INTERVAL=2;BYDAY=SU"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"freq": "WEEKLY", "byday": ("XX",)}, "not an RRULE day code"),
        ({"freq": "WEEKLY", "byday": ("1TU",)}, "ordinal day codes"),
        ({"freq": "WEEKLY", "timezone": "-05:00"}, "not an IANA time zone"),
        ({"freq": "YEARLY"}, "Input should be"),
    ],
)
def test_schedule_refuses(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Schedule.model_validate(fields)
