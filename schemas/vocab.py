"""Controlled vocabularies: every allowed value of an enumerated field lives here and nowhere else."""

from __future__ import annotations

from enum import StrEnum


class Format(StrEnum):
    """How a person attends. Hybrid is a label on top of in-person (Meeting Guide's community decision)."""

    IN_PERSON = "in_person"
    ONLINE = "online"
    HYBRID = "hybrid"


class Status(StrEnum):
    """Whether the group meets. `temporarily_closed` differs from `inactive`: it is expected back."""

    ACTIVE = "active"
    TEMPORARILY_CLOSED = "temporarily_closed"
    INACTIVE = "inactive"


class Freq(StrEnum):
    """RFC 5545 FREQ values a peer-support group uses (HSDS 3.0 keeps WEEKLY and MONTHLY; DAILY is HSDS 2)."""

    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"


class Cost(StrEnum):
    """Unknown is not free: a listing is `free` only when its source says so."""

    FREE = "free"
    DONATION = "donation"
    PAID = "paid"
    UNKNOWN = "unknown"


class LedBy(StrEnum):
    PEER = "peer"  # people with lived experience, trained volunteers, fellowships
    PROFESSIONAL = "professional"  # a therapist, clinician, counsellor or social worker


class Registration(StrEnum):
    REQUIRED = "required"
    DROP_IN = "drop_in"


class CoordinatesPrecision(StrEnum):
    SOURCE = "source"  # the directory's own coordinates
    APPROXIMATE = "approximate"  # the directory's, marked approximate (Meeting Guide `approximate: yes`)
    POSTAL_CODE = "postal_code"  # ours: the centroid of the ZIP code, where the directory gave none


class ScheduleSource(StrEnum):
    """Where a listing's schedules came from, and why it may have none."""

    STRUCTURED = "structured"  # the directory's own fields (Meeting Guide day/time, RRULE parts)
    TEXT = "text"  # read from the directory's words
    NONE_STATED = "none_stated"  # "call for times", "by appointment": no schedule, and that is the answer
    UNPARSED = "unparsed"  # words we could not read with confidence: kept as text, never guessed
    MISSING = "missing"  # the directory says nothing about when


class Topic(StrEnum):
    DEPRESSION = "depression"
    ANXIETY = "anxiety"
    BIPOLAR = "bipolar"
    PSYCHOSIS = "psychosis"
    OCD = "ocd"
    PTSD = "ptsd"
    EATING_DISORDERS = "eating_disorders"
    GRIEF = "grief"
    SUICIDE_LOSS = "suicide_loss"
    POSTPARTUM = "postpartum"
    FAMILY = "family"
    SUBSTANCE_USE = "substance_use"
    HOARDING = "hoarding"
    BPD = "bpd"
    GENERAL_MENTAL_HEALTH = "general_mental_health"


class Audience(StrEnum):
    FAMILY = "family"
    LGBTQIA = "lgbtqia"
    WOMEN = "women"
    MEN = "men"
    YOUNG_ADULTS = "young_adults"
    TEENS = "teens"
    SENIORS = "seniors"
    VETERANS = "veterans"
    BIPOC = "bipoc"
    SPANISH_SPEAKERS = "spanish_speakers"


# RRULE BYDAY codes in RFC 5545 order, Sunday first to match Meeting Guide's day 0 = Sunday.
WEEKDAY_CODES: tuple[str, ...] = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")

# RawListing fields that give a way to reach the group (a place, a link, a phone); a listing needs one.
# The directory page (`source_url`) does not count: it is where we read the listing, not the group.
REACH_FIELDS: tuple[str, ...] = (
    "address",
    "street",
    "city",
    "postal_code",
    "latitude",
    "phone",
    "email",
    "website",
    "conference_url",
    "conference_phone",
)
