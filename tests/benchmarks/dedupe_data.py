"""Synthetic cross-directory listings with ground truth, for measuring deduplication at 10k, 100k and 1M listings.

    from tests.benchmarks.dedupe_data import generate, normalised_frames, hard_negative_counts
    synthetic = generate(100_000, seed=0)        # raw records (RawListing dicts) and truth: listing_id → group
    listings, schedules, rejects = normalised_frames(synthetic)   # normalised once, then cached on disk
    python -m tests.benchmarks.dedupe_data --listings 100000       # timings and the hard-negative counts

What it models. A world of peer-support groups in real US towns, listed by eight directories that each write the
same group their own way, as the crawled directories do:

- Places are real: ZIP codes, their cities, states, counties, centroids and time zones come from the offline
  `zipcodes` package, so normalisation geocodes and zones them as it would real listings. Towns are drawn county by
  county, so a region has several towns and its chapters run groups across them.
- Venues (churches, libraries, hospitals, community centres, clinics, peer drop-in centres) have street addresses
  in those towns and host one to a dozen groups each; some groups meet in a numbered room or suite.
- Organisations are fictional: local peer collectives, hospitals' and clinics' own groups, three fellowships, online
  intergroups, and chapters named the way real directories name them ("NAMI Quillmere", "DBSA Fernhollow Valley"):
  the acronyms NAMI, DBSA and MHA (and FSN, made up here) prefix names, but every chapter's place name is
  invented, so no organisation here is a real one. People, e-mails (example.org), web sites (*.example.org), join links
  (https://zoom.example.org/j/<digits>) and phones (a real area code + 555-01xx, the range reserved for fiction)
  are fictional too.
- Each true group is listed by 1–4 directories (most by one or two). The directories, one style each:
  `peerlink_meetings` (Meeting Guide: one row per meeting day, structured day/time, exact coordinates, monthly
  groups written as weekly with the weeks in the notes), `chapter_finder` (prefixes the chapter's acronym, words
  like "Tuesdays 7-8:30pm"), `county_211` (HSDS: appends "Support Group", RRULE fields, spelled-out streets, ZIP+4,
  a third without times), `wellness_calendar` (iCalendar: "Supp. Grp", "Mtg", "&", abbreviated streets, RRULE
  parts), `community_events` (venue in parentheses, "Tue 19:00"), `statewide_finder` (a ZIP-code finder: its
  coordinates are the ZIP centroid, some addresses lack the ZIP, sentence-case names), `helpline_handover` (a
  spreadsheet: typos, capitals, missing ZIPs, extensions, many rows without times, daily groups one row a day) and
  `online_meetings_hub` (online and hybrid groups with join links, dial-ins and zones). A few listings carry a
  stale time (half an hour off), and a few a value the cleaners drop (a phone that is words, coordinates 0,0, an
  e-mail with a comma), as crawled listings do.
- Hard negatives, each labelled as distinct groups, in proportions like real directories': venues hosting several
  groups (a church with a chapter's group on Tuesday and a grief group on Thursday); a chapter's one phone line on
  all its groups (often ten or more); generic names ("Family Support Group", "Grief Support Group", …) in hundreds
  of towns; a fellowship's Monday and Wednesday meetings at one venue under different names; two groups at one
  venue with similar names ("Depression Support Group", "Depression and Anxiety Support Group") on different days
  or times; an online intergroup reusing one Zoom room for different meetings at different times. Phones repeat
  beyond that too: 555-01xx leaves 100 numbers per area code, so at 100k listings unrelated groups share numbers.
- One group, several rows: a daily group that Meeting Guide publishes as seven rows (one per weekday, one name) is
  one group, as is a Monday-and-Thursday group published as two rows.
- Scale: the world draws from ~30,000 real ZIP codes in ~3,000 counties, so at 1M listings (~510k groups) it is
  denser than the real US: more groups per town, and chapters (one per county and federation) of a hundred groups.

`python -m tests.benchmarks.dedupe_data` prints how many of each kind a set holds (`hard_negative_counts`).

Provenance: generated here from a seed (`generate(n, seed)` is deterministic); nothing is downloaded. Truth ids
(`T0000001`, …) name the true groups; `SyntheticSet.groups` has one row per true group with what made it (venue,
organisation, schedule, scenario tags) for error analysis.
"""

from __future__ import annotations

import argparse
import bisect
import gc
import hashlib
import importlib
import importlib.metadata
import inspect
import itertools
import json
import math
import multiprocessing
import os
import random
import shutil
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import zipcodes

from pipeline.contacts import ContactError, parse_phone
from pipeline.normalise import Reject, listing_id, normalise
from pipeline.places import US_STATE_NAMES
from pipeline.warehouse import LIST_COLUMNS, LISTING_COLUMNS, _listing_frame, _schedule_frame

# ---------------------------------------------------------------------------------------------------------------
# Pools
# ---------------------------------------------------------------------------------------------------------------

# The 50 states and DC, named as people write them, from the normaliser's own table (not Puerto Rico: its ZIPs are
# not in the generator's town pool).
STATE_NAMES = {code: name.title().replace(" Of ", " of ") for name, code in US_STATE_NAMES.items() if code != "PR"}
STATES = frozenset(STATE_NAMES)
ZONE_WORDS = {"America/New_York": "ET", "America/Chicago": "CT", "America/Denver": "MT", "America/Los_Angeles": "PT"}

# Invented place words: chapters and local organisations are named after these, never after a real place.
PLACE_HEADS = (
    "Quill Fern Marrow Brindle Thistle Wren Larch Cobble Tansy Juniper Alder Bracken Heron Sorrel Kestrel Myrtle "
    "Lark Rowan Briar Hazel Osier Teasel Yarrow Linden Sedge Bramble Pipit Corrie Tamsin Wimble"
).split()
PLACE_TAILS = "mere hollow wick mont haven dell stead brook combe ridge ford thorpe".split()
PLACE_SUFFIXES = ("", " Valley", " Region", " Tri-County", " Area", " Basin", " Coast", " Heights")

FEDERATIONS = {
    # acronym: (how often a county has a chapter, topics its groups are about)
    "NAMI": (0.75, {"family": 0.4, "general": 0.35, "bipolar": 0.1, "depression": 0.1, "psychosis": 0.05}),
    "DBSA": (0.45, {"depression": 0.5, "bipolar": 0.5}),
    "MHA": (0.35, {"general": 0.4, "anxiety": 0.3, "depression": 0.3}),
    "FSN": (0.2, {"family": 1.0}),  # a fictional federation ("Family Strength Network")
}
FELLOWSHIPS = ("Calm Waters Fellowship", "Steady Ground Fellowship", "Open Hearts Fellowship")
FELLOWSHIP_MEETINGS = (
    "Serenity Seekers", "New Beginnings", "Daily Hope", "Open Hearts", "Steps Forward", "Evening Reflections",
    "Lunch Bunch", "Morning Light", "Safe Harbor", "Common Ground", "Fresh Start", "Quiet Strength", "Hope Is Here",
    "One Day at a Time", "Friends in Recovery", "Good Neighbors",
)  # fmt: skip
LOCAL_ORG_PATTERNS = (
    "{place} Peer Collective", "{place} Wellness Network", "Open Door Peer Services of {place}",
    "{place} Grief Center", "{place} Family Resource Center", "Bright Path Peer Support of {place}",
    "{place} Mood Alliance", "{place} Recovery Partners",
)  # fmt: skip

TOPIC_WEIGHTS = {
    "family": 0.16, "depression": 0.14, "bipolar": 0.09, "anxiety": 0.12, "grief": 0.12, "general": 0.14,
    "psychosis": 0.04, "ocd": 0.03, "postpartum": 0.04, "eating": 0.03, "suicide_loss": 0.03, "trauma": 0.04,
    "young_adults": 0.02,
}  # fmt: skip
GENERIC_NAMES = {
    "family": ("Family Support Group", "Caregiver Support Group"),
    "depression": ("Depression Support Group",),
    "bipolar": ("Depression and Bipolar Support Group", "Bipolar Support Group"),
    "anxiety": ("Anxiety Support Group",),
    "grief": ("Grief Support Group",),
    "general": ("Peer Support Group", "Mental Health Support Group"),
    "psychosis": ("Hearing Voices Group",),
    "ocd": ("OCD Support Group",),
    "postpartum": ("Postpartum Support Group",),
    "eating": ("Eating Disorder Support Group",),
    "suicide_loss": ("Suicide Loss Survivors Group",),
    "trauma": ("Trauma Survivors Support Group",),
    "young_adults": ("Young Adult Support Group",),
}
TOPIC_PHRASES = {
    "family": ("Family", "Family and Friends", "Parents and Caregivers", "Family Education"),
    "depression": ("Depression", "Mood", "Depression and Anxiety"),
    "bipolar": ("Bipolar", "Depression and Bipolar", "Mood Disorders"),
    "anxiety": ("Anxiety", "Anxiety and Panic", "Social Anxiety"),
    "grief": ("Grief", "Grief and Loss", "Bereavement"),
    "general": ("Mental Health", "Wellness", "Recovery", "Emotional Wellness"),
    "psychosis": ("Hearing Voices", "Psychosis Family", "Schizophrenia Family"),
    "ocd": ("OCD", "Hoarding and OCD"),
    "postpartum": ("Postpartum", "New Parents", "Perinatal Mood"),
    "eating": ("Eating Disorder Recovery", "Body Image"),
    "suicide_loss": ("Suicide Loss", "Survivors of Suicide Loss"),
    "trauma": ("Trauma Recovery", "PTSD"),
    "young_adults": ("Young Adult Mental Health", "Campus Wellness"),
}
QUALIFIERS = (
    "", "", "", "", "", "Women's ", "Men's ", "Young Adult ", "Teen ", "Evening ", "Lunchtime ", "Saturday ",
    "Veterans ", "LGBTQ+ ", "Seniors ", "{city} ",
)  # fmt: skip
FORMS = (
    "Support Group", "Support Group", "Support Group", "Peer Support", "Peer Group", "Support Circle", "Circle",
    "Group", "Connection Group", "Recovery Group", "Drop-In",
)  # fmt: skip
EVOCATIVE_NAMES = (
    "Hope Circle", "Sunrise Peer Circle", "Safe Harbor Group", "Open Door Circle", "Lighthouse Peer Group",
    "Common Ground", "New Horizons", "Pathways", "Stepping Stones", "Kindred Spirits", "Anchor Group", "Bridges",
    "Beacon Circle", "Hand in Hand", "Compass Group", "Still Waters",
)  # fmt: skip
# Second groups at one venue with a name close to the first's (and a different day or time).
SIMILAR_NAMES = {
    "Depression Support Group": ("Depression and Anxiety Support Group", "Women's Depression Support Group"),
    "Family Support Group": ("Family and Friends Support Group", "Family Support Group for Parents of Teens"),
    "Grief Support Group": ("Grief Support Group for Parents", "Grief and Loss Support Group"),
    "Anxiety Support Group": ("Teen Anxiety Support Group", "Anxiety and Panic Support Group"),
    "Bipolar Support Group": ("Bipolar Family Support Group", "Depression and Bipolar Support Group"),
    "Peer Support Group": ("Young Adult Peer Support Group", "Evening Peer Support Group"),
    "Hearing Voices Group": ("Hearing Voices Family Group",),
    "Mental Health Support Group": ("Mental Health Family Support Group",),
}
DAILY_NAMES = ("Daily Peer Drop-In", "Noon Check-In Group", "Daily Recovery Circle", "Morning Check-In")
DESCRIPTIONS = {
    "family": ("For family members and friends of people living with mental illness.",
               "Support for parents, partners and caregivers."),
    "depression": ("Peer support for adults living with depression.", "Share, listen and learn coping skills."),
    "bipolar": ("For adults living with depression or bipolar disorder.", "A peer-led mood disorders group."),
    "anxiety": ("For anyone living with anxiety or panic.", "Practical tools and peer support for anxiety."),
    "grief": ("For anyone grieving the loss of a loved one.", "A safe place to talk about loss."),
    "general": ("A peer-led group for anyone living with a mental health condition.",
                "Open to adults seeking support for their mental health."),
    "psychosis": ("A safe space to talk about voices and visions.", "For people who hear voices and families."),
    "ocd": ("For adults living with OCD.", "Peer support for obsessive-compulsive disorder."),
    "postpartum": ("New and expecting parents welcome. Babies welcome.", "Support for perinatal mood concerns."),
    "eating": ("For adults in recovery from an eating disorder.", "Peer support for eating disorder recovery."),
    "suicide_loss": ("For people who have lost someone to suicide.", "Survivors supporting survivors."),
    "trauma": ("Peer support for survivors of trauma.", "For veterans and others living with PTSD."),
    "young_adults": ("Ages 18-30.", "For young adults and college students."),
}  # fmt: skip
DESCRIPTION_EXTRAS = ("", "", " Free, drop in.", " Peer-led.", " No registration needed.", " Free of charge.")

SAINTS = ("St. Mark", "St. Luke's", "St. Paul's", "St. John's", "St. Andrew's", "St. James", "St. Anne's",
          "St. Michael's", "Holy Trinity", "Holy Cross")  # fmt: skip
CHURCH_WORDS = ("First", "Grace", "Trinity", "Faith", "Hope", "Calvary", "Bethel", "Good Shepherd", "Christ",
                "Emmanuel", "Redeemer", "Zion", "Peace", "Covenant")  # fmt: skip
DENOMINATIONS = ("Lutheran", "Methodist", "Baptist", "Presbyterian", "Episcopal", "Community", "United Methodist",
                 "Congregational", "Catholic", "Unitarian Universalist", "Evangelical")  # fmt: skip
NATURE_NAMES = ("Willow Creek", "Cedar Ridge", "Maple Grove", "Pine Hill", "River Bend", "Oak Hollow", "Stone Bridge",
                "Meadowbrook", "Clearwater", "Sunnyside", "Riverside", "Lakeview")  # fmt: skip
VENUE_NAMES = {
    "church": ("{church} {denomination} Church",),
    "library": ("{city} Public Library", "{street} Branch Library", "{city} Library"),
    "hospital": ("{city} Community Hospital", "{area} Regional Medical Center", "{nature} Memorial Hospital"),
    "community_centre": ("{city} Community Center", "{street} Senior Center", "{city} Recreation Center",
                         "{area} Neighborhood House"),
    "clinic": ("{area} Behavioral Health", "{nature} Wellness Center", "{nature} Counseling Center"),
    "peer_centre": ("{nature} Clubhouse", "{area} Peer Recovery Center", "{city} Peer Drop-In Center"),
}  # fmt: skip
STREET_NAMES = (
    "Main", "Oak", "Maple", "Cedar", "Pine", "Elm", "Washington", "Lake", "Hill", "Church", "Park", "Mill", "Walnut",
    "Spring", "Ridge", "Center", "Highland", "Jefferson", "Lincoln", "Madison", "Franklin", "River", "Sunset",
    "Chestnut", "Broad", "Market", "Union", "School", "Water", "Cherry", "Willow", "Adams", "Jackson", "Forest",
    "Meadow", "Prospect", "Academy", "Grove", "Liberty", "Orchard", "College", "Summit", "Valley", "Bridge",
    "Harbor", "Alder", "Birch", "Poplar", "Laurel", "Hickory", "Dogwood", "Magnolia", "Sycamore", "Locust",
    "Fairview", "Pleasant", "Vine", "Front", "Second", "Third", "Fourth", "Fifth", "Sixth",
)  # fmt: skip
STREET_TYPES = (("Street", "St"), ("Avenue", "Ave"), ("Road", "Rd"), ("Drive", "Dr"), ("Boulevard", "Blvd"),
                ("Lane", "Ln"), ("Way", "Way"), ("Court", "Ct"), ("Place", "Pl"), ("Parkway", "Pkwy"))  # fmt: skip
STREET_TYPE_WEIGHTS = (0.34, 0.22, 0.15, 0.1, 0.05, 0.05, 0.03, 0.02, 0.02, 0.02)
DIRECTIONS = {"N": "North", "S": "South", "E": "East", "W": "West"}
FIRST_NAMES = ("alex", "jordan", "sam", "taylor", "casey", "morgan", "riley", "jamie", "pat", "lee", "chris", "dana",
               "robin", "kim", "terry", "avery", "quinn", "drew", "jesse", "rowan")  # fmt: skip
LAST_NAMES = ("ames", "brooks", "carter", "diaz", "ellis", "foster", "garcia", "hayes", "ito", "jones", "kaur",
              "lopez", "moore", "nguyen", "owens", "patel", "reyes", "shaw", "tran", "vance", "webb",
              "young")  # fmt: skip

# Meeting starts (minutes after midnight) and how common each is; lengths in minutes.
START_TIMES = (19 * 60, 18 * 60 + 30, 18 * 60, 19 * 60 + 30, 10 * 60, 10 * 60 + 30, 12 * 60, 13 * 60, 14 * 60,
               17 * 60 + 30, 11 * 60, 15 * 60, 9 * 60 + 30, 20 * 60)  # fmt: skip
START_WEIGHTS = (0.25, 0.12, 0.12, 0.06, 0.08, 0.04, 0.07, 0.05, 0.04, 0.05, 0.04, 0.03, 0.02, 0.03)
DURATIONS = (60, 90, 120)
DURATION_WEIGHTS = (0.45, 0.45, 0.1)
DAY_WEIGHTS = (0.45, 1.0, 1.15, 1.15, 1.15, 0.8, 0.6)  # Sunday … Saturday
MONTHLY_PATTERNS = ((2, 4), (1, 3), (1,), (3,), (-1,), (2,))
DAY_CODES = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")
DAY_FULL = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
DAY_ABBR = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
DAY_SHORT = ("Sun", "Mon", "Tues", "Wed", "Thurs", "Fri", "Sat")
ORDINAL_SHORT = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", -1: "Last"}
ORDINAL_WORDS = {1: "First", 2: "Second", 3: "Third", 4: "Fourth", -1: "Last"}

VENUE_KINDS = ("church", "library", "hospital", "community_centre", "clinic", "peer_centre")
VENUE_KIND_WEIGHTS = (0.41, 0.14, 0.1, 0.17, 0.13, 0.05)
# How many groups a venue hosts (peer centres host more).
HOSTED = (1, 2, 3, 4, 5, 6, 8, 12)
HOSTED_WEIGHTS = (0.42, 0.25, 0.14, 0.08, 0.05, 0.03, 0.02, 0.01)

# The directories. Weights: how likely each lists a group of each kind (0: never).
SOURCES = (
    "peerlink_meetings", "chapter_finder", "county_211", "wellness_calendar", "community_events",
    "statewide_finder", "helpline_handover", "online_meetings_hub",
)  # fmt: skip
SOURCE_WEIGHTS = {
    "in_person": (1.0, 0.25, 1.0, 0.6, 0.8, 0.8, 0.5, 0.0),
    "in_person_chapter": (0.8, 2.5, 1.0, 0.5, 0.6, 0.8, 0.5, 0.0),
    "online": (0.9, 0.2, 0.4, 0.5, 0.3, 0.2, 0.4, 2.5),
    "online_chapter": (0.9, 1.0, 0.4, 0.5, 0.3, 0.2, 0.4, 2.0),
    "hybrid": (1.0, 0.3, 0.8, 0.5, 0.5, 0.5, 0.4, 1.2),
    "hybrid_chapter": (1.0, 1.5, 0.8, 0.5, 0.5, 0.5, 0.4, 1.2),
}
LISTED_BY = (1, 2, 3, 4)
LISTED_BY_WEIGHTS = (0.47, 0.31, 0.14, 0.08)
SOURCE_ID_FORMATS = {
    "peerlink_meetings": "{:d}", "chapter_finder": "grp-{:05d}", "county_211": "svc-{:06d}",
    "wellness_calendar": "evt{:07d}@wellness.example.org", "community_events": "{:d}", "statewide_finder": "F{:06d}",
    "helpline_handover": "row-{:d}", "online_meetings_hub": "m{:d}",
}  # fmt: skip
SOURCE_DOMAINS = {
    "peerlink_meetings": "https://peerlink.example.org/meetings/", "chapter_finder": "https://chapters.example.org/g/",
    "county_211": "https://211.example.org/services/", "wellness_calendar": "https://calendar.example.org/e/",
    "community_events": "https://events.example.org/event/", "statewide_finder": "https://finder.example.org/r/",
    "helpline_handover": "https://helpline.example.org/handover.csv#", "online_meetings_hub": "https://meet.example.org/m/",
}  # fmt: skip
ONLINE_SHARE = 0.11  # of build steps; an online step adds one group or an intergroup's batch of 3-9
FETCHED_AT = "2026-01-15T12:00:00Z"
# Listings and schedules from the cache all carry this first/last-seen time, so a cached set is reproducible.
SEEN_AT = pd.Timestamp("2026-01-15T12:00:00Z")


# ---------------------------------------------------------------------------------------------------------------
# The world
# ---------------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Town:
    zip: str
    city: str
    state: str
    county: str
    lat: float
    lng: float
    zone: str
    area_codes: tuple[str, ...]


@dataclass(slots=True)
class Phone:
    area: str
    line: int  # 0..99: the number is <area>-555-01<line>
    ext: str | None = None

    def digits(self) -> str:
        return f"{self.area}55501{self.line:02d}"


@dataclass(slots=True)
class Org:
    name: str
    kind: str  # chapter, local, venue, fellowship, intergroup
    acronym: str | None = None
    phone: Phone | None = None
    email: str | None = None
    website: str | None = None
    federation: str | None = None  # a chapter's federation (FEDERATIONS): its groups are about its topics


@dataclass(slots=True)
class Venue:
    index: int
    kind: str
    name: str
    number: str
    direction: str  # "", "N", "S", "E", "W"
    street: str
    street_type: int  # index into STREET_TYPES
    town: Town
    lat: float
    lng: float
    suite: str | None = None
    phone: Phone | None = None


@dataclass(slots=True)
class Group:
    kind: str  # in_person, online, hybrid
    name: str
    topic: str
    town: Town
    venue: Venue | None
    org: Org | None
    days: tuple[int, ...]  # 0 = Sunday (Meeting Guide)
    ordinals: tuple[int, ...]  # monthly weeks (1st, 2nd, -1 last); () for weekly
    start: int  # minutes after midnight
    end: int
    phone: Phone | None
    email: str | None
    description: str
    unit: str | None = None
    zoom: str | None = None
    tags: list[str] = field(default_factory=list)

    @property
    def daily(self) -> bool:
        return len(self.days) == 7


@dataclass
class SyntheticSet:
    """Raw records (RawListing dicts) in shuffled order and their truth: listing_id → true group id.

    `groups` (built on first use) has one row per true group: what it is and which scenarios made it.
    """

    n: int
    seed: int
    records: list[dict[str, Any]]
    truth: dict[str, str]
    _made: tuple[Any, ...] = field(default=(), repr=False, compare=False)

    @cached_property
    def groups(self) -> pd.DataFrame:
        return _group_table(*self._made)

    @property
    def cache_key(self) -> str:
        return f"n{self.n}-s{self.seed}-g{generator_hash()[:12]}-p{normaliser_hash()[:12]}"


@lru_cache(maxsize=1024)
def _valid_area(code: str) -> bool:
    """Area codes whose 555-01xx numbers the phone cleaner accepts (all real ones in practice)."""
    try:
        return parse_phone(f"({code}) 555-0100") is not None
    except ContactError:
        return False


@lru_cache(maxsize=1)
def town_pool() -> tuple[Town, ...]:
    """Standard (street-delivery) ZIP codes of the 50 states and DC that have a centroid, a zone and an area code."""
    towns = []
    for row in zipcodes.list_all():
        if row["zip_code_type"] != "STANDARD" or not row.get("active") or row["state"] not in STATES:
            continue
        if not (row.get("lat") and row.get("long") and row.get("timezone") and row.get("county")):
            continue
        areas = tuple(code for code in row.get("area_codes") or () if _valid_area(code))
        if not areas:
            continue
        towns.append(
            Town(
                zip=row["zip_code"],
                city=row["city"],
                state=row["state"],
                county=row["county"],
                lat=float(row["lat"]),
                lng=float(row["long"]),
                zone=row["timezone"],
                area_codes=areas,
            )
        )
    towns.sort(key=lambda town: town.zip)
    return tuple(towns)


class _Weighted:
    """A weighted choice with its cumulative weights computed once (random.choices recomputes them per call)."""

    __slots__ = ("cumulative", "items", "total")

    def __init__(self, items: Sequence[Any], weights: Sequence[float]) -> None:
        self.items = tuple(items)
        self.cumulative = list(itertools.accumulate(weights))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random) -> Any:
        return self.items[bisect.bisect(self.cumulative, rng.random() * self.total)]


_TOPICS = _Weighted(TOPIC_WEIGHTS, TOPIC_WEIGHTS.values())
_FEDERATION_TOPICS = {acronym: _Weighted(topics, topics.values()) for acronym, (_, topics) in FEDERATIONS.items()}
_STARTS = _Weighted(START_TIMES, START_WEIGHTS)
_DURATIONS = _Weighted(DURATIONS, DURATION_WEIGHTS)
_DAYS = _Weighted(range(7), DAY_WEIGHTS)
_STREET_TYPES = _Weighted(range(len(STREET_TYPES)), STREET_TYPE_WEIGHTS)
_VENUE_KINDS = _Weighted(VENUE_KINDS, VENUE_KIND_WEIGHTS)
_HOSTED = _Weighted(HOSTED, HOSTED_WEIGHTS)


def _one(rng: random.Random, items: Sequence[Any]) -> Any:
    """rng.choice without its rejection sampling: a third of the cost, which matters a million times over."""
    return items[int(rng.random() * len(items))]


def _weighted_permutation(rng: random.Random, weights: Sequence[float]) -> list[int]:
    """Indices in a random order where heavier ones tend to come first (Efraimidis–Spirakis)."""
    return sorted(range(len(weights)), key=lambda index: -(rng.random() ** (1.0 / weights[index])))


class _World:
    """Builds towns, organisations, venues and groups; one instance per `generate` call."""

    def __init__(self, rng: random.Random, target_groups: int) -> None:
        self.rng = rng
        self.target_groups = target_groups
        self.zoom_counter = 0
        self.zoom_offset = rng.randrange(9_000_000_000)
        self.venue_count = 0
        self.groups: list[Group] = []
        self._pick_towns()

    # Places and organisations ----------------------------------------------------------------------------------

    def _pick_towns(self) -> None:
        rng = self.rng
        by_county: dict[tuple[str, str], list[Town]] = defaultdict(list)
        for town in town_pool():
            by_county[(town.state, town.county)].append(town)
        counties = sorted(by_county)
        rng.shuffle(counties)
        wanted = min(len(town_pool()), max(24, self.target_groups // 6))
        self.towns: list[Town] = []
        self.county_of: dict[str, tuple[str, str]] = {}
        chosen: list[tuple[str, str]] = []
        for county in counties:
            if len(self.towns) >= wanted:
                break
            members = by_county[county]
            take = rng.sample(members, min(len(members), rng.randint(3, 12)))
            self.towns.extend(take)
            chosen.append(county)
            for town in take:
                self.county_of[town.zip] = county
        # Invented area names, one per county: chapters and local organisations are named after these.
        names = [head + tail for head in PLACE_HEADS for tail in PLACE_TAILS]
        rng.shuffle(names)
        self.area_name = {
            county: names[index % len(names)] + PLACE_SUFFIXES[(index // len(names)) % len(PLACE_SUFFIXES)]
            for index, county in enumerate(chosen)
        }
        self.county_towns: dict[tuple[str, str], list[Town]] = defaultdict(list)
        for town in self.towns:
            self.county_towns[self.county_of[town.zip]].append(town)
        self.chapters: dict[tuple[str, str], list[Org]] = {}
        self.local_orgs: dict[tuple[str, str], list[Org]] = {}
        self.intergroups: dict[tuple[str, str], Org] = {}
        for county in chosen:
            self._county_orgs(county)

    def phone(self, town: Town, ext_rate: float = 0.0) -> Phone:
        rng = self.rng
        ext = str(rng.randint(2, 39)) if ext_rate and rng.random() < ext_rate else None
        return Phone(_one(rng, town.area_codes), rng.randrange(100), ext)

    def person_email(self) -> str:
        rng = self.rng
        return f"{_one(rng, FIRST_NAMES)}.{_one(rng, LAST_NAMES)}{rng.randint(1, 99)}@example.org"

    def _county_orgs(self, county: tuple[str, str]) -> None:
        rng = self.rng
        area = self.area_name[county]
        slug = area.lower().replace(" ", "-")
        home = self.county_towns[county][0]
        chapters = []
        for acronym, (rate, _) in FEDERATIONS.items():
            if rng.random() < rate:
                site = f"{acronym.lower()}-{slug}.example.org"
                chapters.append(
                    Org(
                        name=f"{acronym} {area}",
                        kind="chapter",
                        acronym=acronym,
                        phone=self.phone(home),
                        email=f"info@{site}",
                        website=f"https://{site}",
                        federation=acronym,
                    )
                )
        self.chapters[county] = chapters
        patterns = rng.sample(LOCAL_ORG_PATTERNS, rng.randint(2, 5))
        local = []
        for pattern in patterns:
            name = pattern.format(place=area)
            site = "".join(word[0] for word in name.split() if word[0].isalpha()).lower() + f"-{slug}.example.org"
            local.append(
                Org(name=name, kind="local", phone=self.phone(home), email=f"hello@{site}", website=f"https://{site}")
            )
        self.local_orgs[county] = local
        if rng.random() < 0.35:
            site = f"online-{slug}.example.org"
            self.intergroups[county] = Org(
                name=f"{area} Online Intergroup",
                kind="intergroup",
                phone=self.phone(home),
                email=f"meetings@{site}",
                website=f"https://{site}",
            )

    def zoom_id(self) -> str:
        # A bijection of a counter onto 10-digit ids: unique within a set, however large.
        self.zoom_counter += 1
        return str((self.zoom_counter * 2654435761 + self.zoom_offset) % 9_000_000_000 + 1_000_000_000)

    def _venue(self, town: Town, kind: str) -> Venue:
        rng = self.rng
        self.venue_count += 1
        street = _one(rng, STREET_NAMES)
        direction = _one(rng, ("N", "S", "E", "W")) if rng.random() < 0.2 else ""
        street_type = _STREET_TYPES.pick(rng)
        number = str(int(10 ** rng.uniform(1.0, 4.0)))
        area = self.area_name[self.county_of[town.zip]]
        church = _one(rng, SAINTS) if rng.random() < 0.35 else _one(rng, CHURCH_WORDS)
        name = _one(rng, VENUE_NAMES[kind]).format(
            city=town.city,
            street=street,
            area=area,
            nature=_one(rng, NATURE_NAMES),
            church=church,
            denomination=_one(rng, DENOMINATIONS),
        )
        scale = math.cos(math.radians(town.lat))
        venue = Venue(
            index=self.venue_count,
            kind=kind,
            name=name,
            number=number,
            direction=direction,
            street=street,
            street_type=street_type,
            town=town,
            lat=round(town.lat + rng.uniform(-0.02, 0.02), 6),
            lng=round(town.lng + rng.uniform(-0.02, 0.02) / max(scale, 0.2), 6),
        )
        if kind in ("clinic", "hospital"):
            venue.suite = f"Suite {_one(rng, (100, 110, 200, 210, 300, 400))}" if rng.random() < 0.5 else None
            venue.phone = self.phone(town, ext_rate=0.3)
        return venue

    # Groups ---------------------------------------------------------------------------------------------------

    def _topic(self, federation: str | None = None) -> str:
        return (_FEDERATION_TOPICS[federation] if federation else _TOPICS).pick(self.rng)

    def _name(self, topic: str, town: Town, tags: list[str]) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.45:
            tags.append("generic_name")
            return _one(rng, GENERIC_NAMES[topic])
        if roll < 0.92:
            phrase = _one(rng, TOPIC_PHRASES[topic])
            form = _one(rng, FORMS)
            qualifier = _one(rng, QUALIFIERS).format(city=town.city)
            if qualifier.split(" ")[0] and qualifier.split(" ")[0] in phrase:
                qualifier = ""
            return f"{qualifier}{phrase} {form}"
        name = _one(rng, EVOCATIVE_NAMES)
        return f"{town.city} {name}" if rng.random() < 0.3 else name

    def _time(self, avoid: Sequence[int] = ()) -> tuple[int, int]:
        rng = self.rng
        for _ in range(8):
            start = _STARTS.pick(rng)
            if all(abs(start - other) >= 120 for other in avoid):
                break
        else:
            start = (max(avoid) + 150) % (22 * 60) if avoid else 19 * 60
            start = max(start, 8 * 60)
        return start, start + _DURATIONS.pick(rng)

    def _description(self, topic: str) -> str:
        rng = self.rng
        return _one(rng, DESCRIPTIONS[topic]) + _one(rng, DESCRIPTION_EXTRAS)

    def _org_and_phone(
        self, town: Town, venue: Venue | None, topic_hint: list[str], tags: list[str]
    ) -> tuple[Org | None, Phone | None, str | None]:
        """Who runs a group, its phone and e-mail. Chapters put their one line on most of their groups."""
        rng = self.rng
        county = self.county_of[town.zip]
        roll = rng.random()
        chapters = self.chapters.get(county) or []
        if roll < 0.42 and chapters:
            org = _one(rng, chapters)
            tags.append("chapter")
            topic_hint.append(self._topic(org.federation))
            if rng.random() < 0.85:
                tags.append("chapter_line")
                return org, org.phone, org.email if rng.random() < 0.7 else self.person_email()
            return org, self.phone(town, 0.15), self.person_email()
        if roll < 0.7:
            org = _one(rng, self.local_orgs[county])
            if rng.random() < 0.5:
                return org, org.phone, org.email
            return org, (self.phone(town, 0.15) if rng.random() < 0.6 else None), self.person_email()
        if roll < 0.82 and venue is not None and venue.kind in ("hospital", "clinic", "peer_centre"):
            org = Org(name=venue.name, kind="venue", phone=venue.phone)
            return org, venue.phone or self.phone(town, 0.2), None
        phone = self.phone(town, 0.15) if rng.random() < 0.7 else None
        return None, phone, self.person_email() if phone is None or rng.random() < 0.4 else None

    def _schedule(self, group: Group) -> None:
        """Monthly weeks for some groups, a second day for a few (written per day by Meeting Guide)."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.10:
            group.ordinals = _one(rng, MONTHLY_PATTERNS)
            group.tags.append("monthly")
        elif roll < 0.17:
            group.days = tuple(sorted({group.days[0], (group.days[0] + 3) % 7}))
            group.tags.append("multi_day")

    def build_venue_groups(self) -> None:
        rng = self.rng
        town = _one(rng, self.towns)
        kind = _VENUE_KINDS.pick(rng)
        venue = self._venue(town, kind)
        hosted = _HOSTED.pick(rng)
        if kind == "peer_centre":
            hosted += rng.randint(1, 4)
        days = _weighted_permutation(rng, DAY_WEIGHTS)
        scenario_roll = rng.random()
        fellowship = hosted >= 2 and scenario_roll < 0.14
        similar = hosted >= 2 and 0.14 <= scenario_roll < 0.30
        used: dict[int, list[int]] = defaultdict(list)  # day → starts at this venue
        fellowship_org = None
        fellowship_names: list[str] = []
        if fellowship:
            fellowship_org = Org(name=_one(rng, FELLOWSHIPS), kind="fellowship", phone=self.phone(town))
            fellowship_names = rng.sample(FELLOWSHIP_MEETINGS, min(hosted, 3))
        hybrid_rate = 0.06
        for rank in range(hosted):
            tags: list[str] = []
            daily = kind == "peer_centre" and rank == 0  # drop-in centres run a daily group
            if daily:
                day = days[0]
                start = _one(rng, (10 * 60, 12 * 60, 13 * 60))
                end = start + 60
                for other in range(7):
                    used[other].append(start)
            else:
                if rank >= 7 or (rank and rng.random() < 0.1):
                    day = days[rng.randrange(min(rank, 7))]  # the same day as another group here, another time
                    tags.append("same_day_at_venue")
                else:
                    day = days[rank]
                start, end = self._time(used[day])
                used[day].append(start)
            unit = venue.suite or (
                _one(rng, ("Room 12", "Room 104", "Room 2B", "Fellowship Hall", "Room 3", "Conference Room B"))
                if kind in ("church", "hospital", "community_centre", "library") and rng.random() < 0.25
                else None
            )
            if unit == "Fellowship Hall":
                unit = None  # a hall is not an address unit: directories put it in the notes
            if fellowship and rank < len(fellowship_names) and fellowship_org is not None:
                # One fellowship's meetings on different days at one venue, each under its own name.
                name = fellowship_names[rank]
                if rng.random() < 0.4:
                    name = f"{DAY_FULL[day]} Night {name}" if start >= 17 * 60 else f"{DAY_FULL[day]} {name}"
                group = Group(
                    kind="in_person",
                    name=name,
                    topic="general",
                    town=town,
                    venue=venue,
                    org=fellowship_org,
                    days=(day,),
                    ordinals=(),
                    start=start,
                    end=end,
                    phone=fellowship_org.phone,
                    email=None,
                    description="An open fellowship meeting for emotional health. All are welcome.",
                    unit=unit,
                    tags=[*tags, "fellowship"],
                )
                self.groups.append(group)
                continue
            hint: list[str] = []
            org, phone, email = self._org_and_phone(town, venue, hint, tags)
            topic = hint[0] if hint else self._topic()
            if daily:
                group = Group(
                    kind="in_person",
                    name=_one(rng, DAILY_NAMES),
                    topic="general",
                    town=town,
                    venue=venue,
                    org=org,
                    days=tuple(range(7)),
                    ordinals=(),
                    start=start,
                    end=end,
                    phone=phone,
                    email=email,
                    description="A daily peer drop-in. Come when you can.",
                    unit=unit,
                    tags=[*tags, "daily"],
                )
                self.groups.append(group)
                continue
            previous = self.groups[-1] if rank else None
            if similar and rank == 1 and previous is not None and previous.name in SIMILAR_NAMES:
                name = _one(rng, SIMILAR_NAMES[previous.name])
                tags.append("similar_name")
                previous.tags.append("similar_name")
                topic = previous.topic
            elif similar and rank == 0:
                name = _one(rng, tuple(SIMILAR_NAMES))
                topic = {"Family": "family", "Grief": "grief", "Anxiety": "anxiety", "Depression": "depression",
                         "Bipolar": "bipolar", "Hearing": "psychosis"}.get(name.split()[0], "general")  # fmt: skip
            else:
                name = self._name(topic, town, tags)
            group = Group(
                kind="hybrid" if rng.random() < hybrid_rate else "in_person",
                name=name,
                topic=topic,
                town=town,
                venue=venue,
                org=org,
                days=(day,),
                ordinals=(),
                start=start,
                end=end,
                phone=phone,
                email=email,
                description=self._description(topic),
                unit=unit,
                tags=tags,
            )
            if group.kind == "hybrid":
                group.zoom = self.zoom_id()
                group.tags.append("hybrid")
            self._schedule(group)
            self.groups.append(group)

    def build_online_groups(self) -> None:
        """An intergroup's meetings (its few Zoom rooms reused at different times) or one independent online group."""
        rng = self.rng
        county = self.county_of[_one(rng, self.towns).zip]
        intergroup = self.intergroups.get(county)
        town = _one(rng, self.county_towns[county]) if intergroup is None else self.county_towns[county][0]
        if intergroup is None or rng.random() < 0.35:
            tags = ["online"]
            hint: list[str] = []
            org, phone, email = self._org_and_phone(town, None, hint, tags)
            topic = hint[0] if hint else self._topic()
            group = Group(
                kind="online",
                name=self._online_name(topic, town, tags),
                topic=topic,
                town=town,
                venue=None,
                org=org,
                days=(_DAYS.pick(rng),),
                ordinals=(),
                start=0,
                end=0,
                phone=phone,
                email=email or self.person_email(),
                description=self._description(topic) + " Meets on Zoom.",
                zoom=self.zoom_id(),
                tags=tags,
            )
            group.start, group.end = self._time()
            if rng.random() < 0.05:
                group.days = tuple(range(7))
                group.tags.append("daily")
            else:
                self._schedule(group)
            self.groups.append(group)
            return
        meetings = rng.randint(3, 9)
        # A batch of the intergroup's meetings shares a few Zoom rooms, each at different times.
        rooms = [self.zoom_id() for _ in range(max(1, math.ceil(meetings / 2.5)))]
        room_slots: dict[str, set[tuple[int, int]]] = defaultdict(set)
        batch = []
        for _ in range(meetings):
            tags = ["online", "intergroup"]
            topic = self._topic()
            room = _one(rng, rooms)
            for _attempt in range(10):
                day = _DAYS.pick(rng)
                start, end = self._time()
                if all(other_day != day or abs(other - start) >= 90 for other_day, other in room_slots[room]):
                    break
            room_slots[room].add((day, start))
            group = Group(
                kind="online",
                name=self._online_name(topic, town, tags),
                topic=topic,
                town=town,
                venue=None,
                org=intergroup,
                days=(day,),
                ordinals=(),
                start=start,
                end=end,
                phone=intergroup.phone if rng.random() < 0.7 else None,
                email=intergroup.email,
                description=self._description(topic) + " Meets on Zoom.",
                zoom=room,
                tags=tags,
            )
            batch.append(group)
        users = Counter(group.zoom for group in batch)
        for group in batch:
            if users[group.zoom] > 1:
                group.tags.append("shared_zoom")
        self.groups.extend(batch)

    def _online_name(self, topic: str, town: Town, tags: list[str]) -> str:
        name = self._name(topic, town, tags)
        roll = self.rng.random()
        if roll < 0.35:
            return f"Online {name}"
        if roll < 0.5:
            return f"Virtual {name}"
        return name


# ---------------------------------------------------------------------------------------------------------------
# Rendering: one directory's record(s) of one group
# ---------------------------------------------------------------------------------------------------------------


def _clock12(minutes: int, *, zero: bool = True) -> tuple[str, str]:
    hour, minute = divmod(minutes % (24 * 60), 60)
    meridiem = "am" if hour < 12 else "pm"
    hour12 = (hour - 1) % 12 + 1
    if minute or zero:
        return f"{hour12}:{minute:02d}", meridiem
    return f"{hour12}", meridiem


def _range12(start: int, end: int) -> str:
    """'7-8:30pm', '11:30am-1pm'."""
    first, first_m = _clock12(start, zero=False)
    last, last_m = _clock12(end, zero=False)
    return f"{first}-{last}{last_m}" if first_m == last_m else f"{first}{first_m}-{last}{last_m}"


def _time12(minutes: int) -> str:
    """'7:00 PM'."""
    clock, meridiem = _clock12(minutes)
    return f"{clock} {meridiem.upper()}"


_HM = tuple(f"{hour:02d}:{minute:02d}" for hour in range(24) for minute in range(60))


def _hm(minutes: int) -> str:
    return _HM[minutes % (24 * 60)]


def _join_words(words: Sequence[str], conjunction: str) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def _phone_text(phone: Phone | None, style: str) -> str | None:
    if phone is None:
        return None
    a, line = phone.area, f"01{phone.line:02d}"
    if style == "paren":
        return f"({a}) 555-{line}"
    if style == "dash":
        return f"{a}-555-{line}" + (f" x{phone.ext}" if phone.ext else "")
    if style == "dot":
        return f"{a}.555.{line}"
    if style == "intl":
        return f"+1 {a} 555 {line}"
    if style == "ext":
        return f"{a}-555-{line}" + (f" ext. {phone.ext}" if phone.ext else "")
    if style == "bare":
        return f"{a}555{line}"
    return f"+1 ({a}) 555-{line}"


def _street(venue: Venue, style: str) -> str:
    full, short = STREET_TYPES[venue.street_type]
    direction = venue.direction
    if style == "full":
        prefix = f"{DIRECTIONS[direction]} " if direction else ""
        return f"{venue.number} {prefix}{venue.street} {full}"
    if style == "dot":
        prefix = f"{direction}. " if direction else ""
        return f"{venue.number} {prefix}{venue.street} {short}{'' if short == 'Way' else '.'}"
    prefix = f"{direction} " if direction else ""
    line = f"{venue.number} {prefix}{venue.street} {short}"
    return line.upper() if style == "caps" else line


_TYPO_ALPHABET = "aeioulnrst"


def _typo(rng: random.Random, name: str) -> str:
    words = name.split(" ")
    candidates = [index for index, word in enumerate(words) if len(word) > 4 and word.isalpha()]
    if not candidates:
        return name
    index = _one(rng, candidates)
    word = words[index]
    at = rng.randrange(1, len(word) - 1)
    kind = rng.random()
    if kind < 0.4:
        word = word[:at] + word[at + 1] + word[at] + word[at + 2 :]  # swap two letters
    elif kind < 0.7:
        word = word[:at] + word[at + 1 :]  # drop one
    elif kind < 0.85:
        word = word[:at] + word[at] + word[at:]  # double one
    else:
        word = word[:at] + _one(rng, _TYPO_ALPHABET) + word[at + 1 :]  # a wrong letter
    words[index] = word
    return " ".join(words)


_ABBREVIATIONS = (
    (" Support Group", " Supp. Grp"), (" Support", " Supp."), (" Group", " Grp"), (" Meeting", " Mtg"),
    (" and ", " & "), ("Association", "Assn."), ("Family", "Fam."),
)  # fmt: skip


def _abbreviate(rng: random.Random, name: str) -> str:
    for long, short in _ABBREVIATIONS:
        if long in name and rng.random() < 0.75:
            name = name.replace(long, short)
    return name


class _Renderer:
    """Each directory's way of writing a group. `rows(group, source)` → that directory's record(s) of it."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def rows(self, group: Group, source: str) -> list[dict[str, Any]]:
        return getattr(self, f"_{source}")(group)

    # Schedules in the directories' words -------------------------------------------------------------------------

    def _start_end(self, group: Group, stale_rate: float) -> tuple[int, int]:
        if stale_rate and self.rng.random() < stale_rate:
            shift = _one(self.rng, (-30, 30))
            return group.start + shift, group.end + shift
        return group.start, group.end

    def _text(self, group: Group, style: str, stale_rate: float = 0.0) -> str:
        start, end = self._start_end(group, stale_rate)
        days = group.days
        weeks = " & ".join(ORDINAL_SHORT[o] for o in group.ordinals)  # "2nd & 4th"
        if style == "compact":  # "Tuesdays 7-8:30pm", "2nd & 4th Tuesdays 7-8:30pm", "Daily 7-8pm"
            when = _range12(start, end)
            if group.daily:
                return f"Daily {when}"
            plural = [DAY_FULL[day] + "s" for day in days]
            if group.ordinals:
                return f"{weeks} {_join_words(plural, '&')} {when}"
            return f"{_join_words(plural, '&')} {when}"
        if style == "abbr24":  # "Tue 19:00", "Mon, Thu 19:00-20:30", "2nd & 4th Tue 19:00"
            when = _hm(start) if self.rng.random() < 0.5 else f"{_hm(start)}-{_hm(end)}"
            if group.daily:
                return f"Mon-Sun {when}"
            names = ", ".join(DAY_ABBR[day] for day in days)
            if group.ordinals:
                return f"{weeks} {names} {when}"
            return f"{names} {when}"
        if style == "words":  # "Tuesdays at 7:00 PM", "Second and fourth Tuesday, 7:00 PM"
            when = _time12(start)
            if group.daily:
                return f"Every day at {when}"
            if group.ordinals:
                if group.ordinals == (-1,):
                    return f"Last {DAY_FULL[days[0]]} of the month, {when}"
                words = [ORDINAL_WORDS[o].lower() for o in group.ordinals]
                words[0] = words[0].capitalize()
                return f"{_join_words(words, 'and')} {DAY_FULL[days[0]]}, {when}"
            return f"{_join_words([DAY_FULL[day] + 's' for day in days], 'and')} at {when}"
        if style == "short":  # "Tues 7pm", "2nd & 4th Tues 7pm"
            clock, meridiem = _clock12(start, zero=False)
            when = f"{clock}{meridiem}"
            if group.daily:
                return f"Every day {when}"
            names = " & ".join(DAY_SHORT[day] for day in days)
            if group.ordinals:
                return f"{weeks} {names} {when}"
            return f"{names} {when}"
        # "zone": "Tuesdays 7:00 PM ET"
        zone = ZONE_WORDS.get(group.town.zone)
        when = f"{_time12(start)}" + (f" {zone}" if zone else "")
        if group.daily:
            return f"Daily at {when}"
        plural = [DAY_FULL[day] + "s" for day in days]
        if group.ordinals:
            return f"{weeks} {_join_words(plural, '&')} {when}"
        return f"{_join_words(plural, 'and')} {when}"

    def _rrule(self, group: Group, *, seconds: bool, stale_rate: float = 0.0) -> dict[str, Any]:
        start, end = self._start_end(group, stale_rate)
        if seconds:
            opens, closes = f"{_hm(start)}:00", f"{_hm(end)}:00"
        else:
            opens, closes = _time12(start), _time12(end)
        if group.daily:
            return {"freq": "DAILY", "opens_at": opens, "closes_at": closes}
        codes = [DAY_CODES[day] for day in group.days]
        if group.ordinals:
            codes = [f"{o}{code}" for code in codes for o in group.ordinals]
            return {"freq": "MONTHLY", "byday": codes, "opens_at": opens, "closes_at": closes}
        return {
            "freq": "WEEKLY",
            "byday": codes if seconds else ",".join(codes),
            "opens_at": opens,
            "closes_at": closes,
        }

    @staticmethod
    def _join_url(group: Group, password: bool) -> str | None:
        if not group.zoom:
            return None
        url = f"https://zoom.example.org/j/{group.zoom}"
        return f"{url}?pwd=Pw{group.zoom[-4:]}x" if password else url

    # The directories ----------------------------------------------------------------------------------------------

    def _peerlink_meetings(self, group: Group) -> list[dict[str, Any]]:
        """Meeting Guide: one row per day, structured times, split address, exact coordinates, types codes."""
        rng = self.rng
        base: dict[str, Any] = {"name": group.name}
        venue = group.venue
        if venue is not None:
            base.update(
                location_name=venue.name,
                street=_street(venue, "abbr"),
                city=venue.town.city,
                region=venue.town.state,
                postal_code=venue.town.zip,
                country="US",
                latitude=f"{venue.lat + rng.uniform(-3e-5, 3e-5):.6f}",
                longitude=f"{venue.lng + rng.uniform(-3e-5, 3e-5):.6f}",
            )
        else:
            base.update(address=f"{group.town.city}, {group.town.state}", approximate="yes", country="US")
        if group.org is not None and rng.random() < 0.5:
            base["organization"] = group.org.name
        notes = group.description
        if group.ordinals:
            weeks = " and ".join(ORDINAL_SHORT[o].lower() for o in group.ordinals)
            notes = f"Meets the {weeks} {DAY_FULL[group.days[0]]} of the month. {notes}"
        base["description"] = notes
        base["phone"] = _phone_text(group.phone, "paren")
        if group.zoom:
            base["conference_url"] = self._join_url(group, password=rng.random() < 0.3)
        codes = ["O"] + (["ONL"] if group.kind == "online" else []) + (["W"] if "Women's" in group.name else [])
        base["types"] = codes
        rows = []
        for day in group.days:
            row = dict(base)
            row["schedules"] = [{"day": day, "time": _hm(group.start), "end_time": _hm(group.end)}]
            rows.append(row)
        return rows

    def _chapter_finder(self, group: Group) -> list[dict[str, Any]]:
        """A chapter directory: the chapter's acronym before the name, one-line addresses, words for times."""
        rng = self.rng
        name = group.name
        org = group.org
        if org is not None and org.acronym:
            name = f"{org.name} {name}" if rng.random() < 0.2 else f"{org.acronym} {name}"
        row: dict[str, Any] = {"name": name, "organization": org.name if org else None}
        venue = group.venue
        if venue is not None:
            unit = f", {group.unit}" if group.unit and rng.random() < 0.6 else ""
            row["address"] = f"{_street(venue, 'full')}{unit}, {venue.town.city}, {venue.town.state} {venue.town.zip}"
            row["location_name"] = venue.name
        else:
            row["city"], row["region"] = group.town.city, group.town.state
        row["schedule_text"] = self._text(group, "compact")
        row["phone"] = _phone_text(group.phone, "paren")
        row["email"] = group.email
        if group.email and rng.random() < 0.01:
            row["email"] = group.email.replace(".org", ",org")  # a typo the e-mail cleaner rejects
        row["website"] = org.website if org is not None else None
        if group.zoom:
            row["conference_url"] = self._join_url(group, password=rng.random() < 0.5)
        row["description"] = group.description if rng.random() < 0.5 else None
        return [row]

    def _county_211(self, group: Group) -> list[dict[str, Any]]:
        """HSDS: "Support Group" appended, RRULE parts, spelled-out streets, ZIP+4, many without times."""
        rng = self.rng
        name = group.name
        if not name.endswith(("Group", "Grp")):
            name = f"{name.removesuffix(' Support')} Support Group"
        row: dict[str, Any] = {"name": name, "organization": group.org.name if group.org else None}
        venue = group.venue
        if venue is not None:
            street = _street(venue, "full")
            if group.unit:
                street = f"{street}, {group.unit}"
            plus4 = f"-{rng.randint(1000, 9999)}" if rng.random() < 0.2 else ""
            row.update(
                street=street,
                city=venue.town.city,
                region=STATE_NAMES[venue.town.state] if rng.random() < 0.5 else venue.town.state,
                postal_code=venue.town.zip + plus4,
                country="US",
                location_name=venue.name,
            )
        else:
            row.update(city=group.town.city, region=group.town.state, country="US")
        if rng.random() < 0.3:
            row["schedule_text"] = _one(rng, ("Call for meeting times", "Call for times", "Contact for schedule"))
        else:
            row["schedules"] = [self._rrule(group, seconds=True)]
        row["phone"] = _phone_text(group.phone, "dash")
        row["email"] = group.email
        row["description"] = group.description
        if group.zoom:
            row["conference_url"] = self._join_url(group, password=False)
        row["format"] = {"online": "online", "hybrid": "hybrid"}.get(group.kind, "in_person")
        return [row]

    def _wellness_calendar(self, group: Group) -> list[dict[str, Any]]:
        """iCalendar: abbreviated names ("Supp. Grp", "Mtg", "&"), abbreviated streets, RRULE parts."""
        rng = self.rng
        row: dict[str, Any] = {"name": _abbreviate(rng, group.name)}
        venue = group.venue
        if venue is not None:
            unit = f" {group.unit.replace('Room ', 'Rm ')}" if group.unit and rng.random() < 0.5 else ""
            row["address"] = f"{_street(venue, 'dot')}{unit}, {venue.town.city}, {venue.town.state} {venue.town.zip}"
            row["location_name"] = venue.name if rng.random() < 0.5 else None
        rule = self._rrule(group, seconds=False, stale_rate=0.03)
        rule["timezone"] = group.town.zone
        row["schedules"] = [rule]
        contact = group.email or _phone_text(group.phone, "dot") or ""
        row["description"] = f"{group.description} Contact: {contact}".strip()
        row["phone"] = _phone_text(group.phone, "dot") if rng.random() < 0.4 else None
        if group.zoom:
            row["conference_url"] = self._join_url(group, password=True)
        return [row]

    def _community_events(self, group: Group) -> list[dict[str, Any]]:
        """An events site: the venue in parentheses after the name, "Tue 19:00", some exact coordinates."""
        rng = self.rng
        venue = group.venue
        if venue is not None:
            row: dict[str, Any] = {"name": f"{group.name} ({venue.name})", "location_name": venue.name}
            street = _street(venue, "abbr")
            if group.unit and rng.random() < 0.5:
                street = f"{street} {group.unit.replace('Room ', 'Rm ').replace('Suite ', 'Ste ')}"
            row.update(street=street, city=venue.town.city, region=venue.town.state, postal_code=venue.town.zip)
            if rng.random() < 0.3:
                row["latitude"] = round(venue.lat + rng.uniform(-4e-5, 4e-5), 6)
                row["longitude"] = round(venue.lng + rng.uniform(-4e-5, 4e-5), 6)
        else:
            row = {"name": f"{group.name} (Online)", "city": group.town.city, "region": group.town.state}
        if group.org is not None and rng.random() < 0.6:
            row["organization"] = group.org.name
        row["schedule_text"] = self._text(group, "abbr24")
        row["phone"] = _phone_text(group.phone, "dot")
        row["description"] = group.description
        if group.zoom:
            row["conference_url"] = self._join_url(group, password=False)
        return [row]

    def _statewide_finder(self, group: Group) -> list[dict[str, Any]]:
        """A ZIP-code finder: ZIP-centroid coordinates as its own, sentence-case names, some addresses lack the ZIP."""
        rng = self.rng
        name = group.name
        if rng.random() < 0.5:
            name = name[0] + name[1:].lower().replace("lgbtq+", "LGBTQ+").replace("ocd", "OCD").replace("ptsd", "PTSD")
        town = group.town
        row: dict[str, Any] = {"name": name, "organization": group.org.name if group.org else None}
        venue = group.venue
        if venue is not None:
            zip_part = f" {town.zip}" if rng.random() < 0.8 else ""
            row["address"] = f"{_street(venue, 'full')}, {town.city}, {town.state}{zip_part}"
        else:
            row["address"] = f"{town.city}, {town.state} {town.zip}"
        row["latitude"], row["longitude"] = (town.lat, town.lng) if rng.random() < 0.99 else (0, 0)  # 0,0: none
        row["schedule_text"] = self._text(group, "words", stale_rate=0.02)
        row["phone"] = _phone_text(group.phone, "intl")
        row["email"] = group.email
        row["website"] = group.org.website if group.org is not None else None
        row["description"] = group.description
        if group.zoom:
            row["conference_url"] = self._join_url(group, password=False)
        return [row]

    def _helpline_handover(self, group: Group) -> list[dict[str, Any]]:
        """A helpline's spreadsheet: typos, capitals, missing ZIPs, extensions, a day per row for daily groups."""
        rng = self.rng
        name = _typo(rng, group.name) if rng.random() < 0.12 else group.name
        row: dict[str, Any] = {"name": name}
        if group.org is not None and rng.random() < 0.5:
            row["organization"] = group.org.acronym or group.org.name
        venue = group.venue
        if venue is not None:
            caps = rng.random() < 0.3
            street = _street(venue, "caps" if caps else "abbr")
            city = venue.town.city.upper() if caps else venue.town.city
            zip_part = f" {venue.town.zip}" if rng.random() < 0.75 else ""
            row["address"] = f"{street}, {city}, {venue.town.state}{zip_part}"
        else:
            row["address"] = f"{group.town.city}, {group.town.state}"
        row["phone"] = _phone_text(group.phone, "ext" if rng.random() < 0.7 else "bare")
        if row["phone"] and rng.random() < 0.02:
            row["phone"] = _one(rng, ("call the church office", "see website", "TBA"))  # not a phone: cleaned away
        row["email"] = group.email if rng.random() < 0.5 else None
        if group.kind != "in_person" and rng.random() < 0.5:
            row["conference_url"] = self._join_url(group, password=True)
        if group.kind != "in_person" and not (row["phone"] or row.get("conference_url")):
            row["email"] = group.email
        if rng.random() < 0.4:
            return [row]  # no times given
        if group.daily or (len(group.days) > 1 and rng.random() < 0.5):
            rows = []
            for day in group.days:
                copy = dict(row)
                clock, meridiem = _clock12(group.start, zero=False)
                copy["schedule_text"] = f"{DAY_FULL[day]} {clock}{meridiem}"
                rows.append(copy)
            return rows
        row["schedule_text"] = self._text(group, "short", stale_rate=0.03)
        return [row]

    def _online_meetings_hub(self, group: Group) -> list[dict[str, Any]]:
        """An online directory: join links, dial-ins, zones; "Online …" or "(Zoom)" names."""
        rng = self.rng
        name = group.name
        if "Online" not in name and "Virtual" not in name:
            name = f"{name} (Zoom)" if rng.random() < 0.5 else f"Online {name}"
        row: dict[str, Any] = {
            "name": name,
            "organization": group.org.name if group.org else None,
            "conference_url": self._join_url(group, password=rng.random() < 0.6),
            "format": "hybrid" if group.kind == "hybrid" else "online",
        }
        if group.zoom and rng.random() < 0.4:
            row["conference_phone"] = f"+16465550199,,{group.zoom}#,,,,*{group.zoom[-6:]}#"
        row["phone"] = _phone_text(group.phone, "plus") if rng.random() < 0.6 else None
        row["email"] = group.email
        venue = group.venue
        if venue is not None:
            row["address"] = f"{_street(venue, 'abbr')}, {venue.town.city}, {venue.town.state} {venue.town.zip}"
        elif rng.random() < 0.5:
            row["city"], row["region"] = group.town.city, group.town.state
        if rng.random() < 0.5:
            row["schedule_text"] = self._text(group, "zone")
        else:
            row["schedules"] = [
                {
                    "day": [DAY_FULL[day] for day in group.days],
                    "time": _time12(group.start),
                    "end_time": _time12(group.end),
                    "timezone": group.town.zone,
                }
            ]
            if group.ordinals:
                row["schedules"] = [{**self._rrule(group, seconds=True), "timezone": group.town.zone}]
        row["description"] = group.description
        return [row]


# ---------------------------------------------------------------------------------------------------------------
# generate
# ---------------------------------------------------------------------------------------------------------------


def generate(n: int, seed: int = 0) -> SyntheticSet:
    """`n` raw listings of a seeded world, shuffled, with their truth. Deterministic for (n, seed)."""
    if n < 1:
        raise ValueError("n must be positive")
    # Millions of small containers and no reference cycles: the cyclic collector would only rescan them.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _generate(n, seed)
    finally:
        if collecting:
            gc.enable()


def _generate(n: int, seed: int) -> SyntheticSet:
    rng = random.Random(seed)
    sources_rng = np.random.default_rng(seed)
    world = _World(rng, int(n / 1.9) + 40)
    renderer = _Renderer(rng)
    groups: list[Group] = []
    listed: list[list[str]] = []
    records: list[dict[str, Any]] = []
    owners: list[int] = []
    most_rows: list[int] = []  # per group: the most rows one directory gives it (7 for a daily group in Meeting Guide)
    while len(records) < n:
        # A batch of groups (the first is nearly always enough), in random order, listed by 1-4 directories each.
        world.groups = []
        while len(world.groups) < max(64, int((n - len(records)) / 1.9) + 40):
            if rng.random() < ONLINE_SHARE:
                world.build_online_groups()
            else:
                world.build_venue_groups()
        batch = world.groups
        rng.shuffle(batch)
        for group, sources in zip(batch, _choose_sources(batch, sources_rng), strict=True):
            if len(records) >= n:
                break
            index = len(groups)
            groups.append(group)
            listed.append(sources)
            most = 0
            for source in sources:
                rows = renderer.rows(group, source)
                most = max(most, len(rows))
                for row in rows:
                    # Identity first, then the directory's fields (ids are numbered below).
                    record = {"source": source, "source_id": "", "source_url": "", "fetched_at": FETCHED_AT}
                    record.update((key, value) for key, value in row.items() if value is not None)
                    records.append(record)
                    owners.append(index)
            most_rows.append(most)
    del records[n:], owners[n:]
    if len(owners) > 1 and owners[-1] == owners[-2]:
        most_rows[-1] = min(most_rows[-1], owners.count(owners[-1]))  # the cut may have taken some of its rows
    truth_ids = [f"T{index + 1:07d}" for index in range(len(groups))]

    # Each directory numbers its records in a random order (so ids say nothing about which records belong
    # together), and the records are shuffled; both without touching the records out of order (1M scattered
    # dict writes cost more than everything else here).
    per_source = Counter(record["source"] for record in records)
    numbers = np.random.default_rng(seed + 1)
    source_numbers = {
        source: iter((numbers.permutation(count) * 7 + 10).tolist()) for source, count in sorted(per_source.items())
    }
    truth: dict[str, str] = {}
    for record, owner in zip(records, owners, strict=True):
        source = record["source"]
        source_id = SOURCE_ID_FORMATS[source].format(next(source_numbers[source]))
        record["source_id"] = source_id
        record["source_url"] = SOURCE_DOMAINS[source] + source_id
        truth[listing_id(source, source_id)] = truth_ids[owner]
    permutation = list(range(len(records)))
    rng.shuffle(permutation)
    shuffled = [records[position] for position in permutation]

    made = (groups, listed, truth_ids, owners, most_rows)
    return SyntheticSet(n=n, seed=seed, records=shuffled, truth=truth, _made=made)


def _choose_sources(groups: Sequence[Group], generator: np.random.Generator) -> list[list[str]]:
    """1–4 directories per group (weighted sampling without replacement: Gumbel top-k over the weights)."""
    keys = []
    for group in groups:
        chapter = group.org is not None and group.org.kind == "chapter"
        keys.append(f"{group.kind}_chapter" if chapter else group.kind)
    weights = np.array([SOURCE_WEIGHTS[key] for key in keys], dtype=float)
    with np.errstate(divide="ignore"):
        scores = np.log(weights) + generator.gumbel(size=weights.shape)
    # Meeting Guide lists every daily group (as seven rows): the case the benchmark must see.
    daily = np.array([group.daily for group in groups])
    scores[daily, 0] = np.inf
    ranked = np.argsort(-scores, axis=1)
    eligible = (weights > 0).sum(axis=1)
    counts = generator.choice(np.array(LISTED_BY), size=len(groups), p=np.array(LISTED_BY_WEIGHTS))
    counts = np.minimum(counts, eligible)
    return [
        [SOURCES[column] for column in row[:count]] for row, count in zip(ranked.tolist(), counts.tolist(), strict=True)
    ]


def _group_table(
    groups: Sequence[Group],
    listed: Sequence[list[str]],
    truth_ids: Sequence[str],
    owners: Sequence[int],
    most_rows: Sequence[int],
) -> pd.DataFrame:
    rows = np.bincount(np.asarray(owners), minlength=len(groups)).tolist()
    venues = [group.venue for group in groups]
    orgs = [group.org for group in groups]
    return pd.DataFrame(
        {
            "truth_id": truth_ids,
            "kind": [group.kind for group in groups],
            "name": [group.name for group in groups],
            "topic": [group.topic for group in groups],
            "organization": [org.name if org else None for org in orgs],
            "org_kind": [org.kind if org else None for org in orgs],
            "venue_id": pd.array([venue.index if venue else None for venue in venues], dtype="Int64"),
            "venue_kind": [venue.kind if venue else None for venue in venues],
            "venue_name": [venue.name if venue else None for venue in venues],
            "street": [_street(venue, "abbr") if venue else None for venue in venues],
            "unit": [group.unit for group in groups],
            "zip": [group.town.zip for group in groups],
            "city": [group.town.city for group in groups],
            "state": [group.town.state for group in groups],
            "phone": [f"+1{group.phone.digits()}" if group.phone else None for group in groups],
            "conference_url": [f"https://zoom.example.org/j/{group.zoom}" if group.zoom else None for group in groups],
            "days": [",".join(DAY_CODES[day] for day in group.days) for group in groups],
            "ordinals": [",".join(str(o) for o in group.ordinals) for group in groups],
            "start": [_hm(group.start) for group in groups],
            "end": [_hm(group.end) for group in groups],
            "tags": [",".join(sorted(set(group.tags))) for group in groups],
            "sources": [",".join(sources) for sources in listed],
            "rows": rows,
            "most_rows_in_one_source": list(most_rows),
        }
    )


# ---------------------------------------------------------------------------------------------------------------
# Hard negatives, counted
# ---------------------------------------------------------------------------------------------------------------


def _tagged(groups: pd.DataFrame, tag: str) -> pd.Series:
    return groups["tags"].str.contains(rf"(?:^|,){tag}(?:,|$)", regex=True)


def hard_negative_counts(synthetic: SyntheticSet) -> dict[str, int]:
    """How many of each hard-negative kind (and of one group published as several rows) the set holds."""
    groups = synthetic.groups
    at_venue = groups[groups["venue_id"].notna()]
    per_venue = at_venue.groupby("venue_id")["truth_id"].nunique()

    # The canonical case: a church with a chapter's group and a grief group, on different days.
    churches = at_venue[at_venue["venue_kind"] == "church"]
    chapter = churches.loc[churches["org_kind"] == "chapter", ["venue_id", "truth_id", "days"]]
    grief = churches.loc[churches["topic"] == "grief", ["venue_id", "truth_id", "days"]]
    pairs = chapter.merge(grief, on="venue_id", suffixes=("", "_grief"))
    pairs = pairs[(pairs["truth_id"] != pairs["truth_id_grief"]) & (pairs["days"] != pairs["days_grief"])]

    phones = groups.groupby("phone")["truth_id"].nunique()
    chapter_lines = groups[_tagged(groups, "chapter_line")].groupby("phone")["truth_id"].nunique()
    generic = groups[_tagged(groups, "generic_name")]
    generic_towns = generic.groupby("name")["zip"].nunique()

    fellowship = (
        at_venue[_tagged(at_venue, "fellowship")]
        .groupby("venue_id")
        .agg(names=("name", "nunique"), days=("days", "nunique"))
    )
    similar = at_venue[_tagged(at_venue, "similar_name")].groupby("venue_id")["truth_id"].nunique()
    rooms = groups.groupby("conference_url")["truth_id"].nunique()
    daily = _tagged(groups, "daily")
    most = groups["most_rows_in_one_source"]

    return {
        "true_groups": len(groups),
        "records": len(synthetic.records),
        "venues_hosting_2plus_groups": int((per_venue >= 2).sum()),
        "groups_at_shared_venues": int(per_venue[per_venue >= 2].sum()),
        "churches_with_chapter_and_grief_groups_on_other_days": int(pairs["venue_id"].nunique()),
        "chapter_lines_on_5plus_groups": int((chapter_lines >= 5).sum()),
        "chapter_lines_on_10plus_groups": int((chapter_lines >= 10).sum()),
        "phones_on_5plus_groups_any_cause": int((phones >= 5).sum()),
        "generic_names_in_100plus_towns": int((generic_towns >= 100).sum()),
        "groups_with_generic_names": len(generic),
        "fellowship_venues_with_differently_named_meetings": int(
            ((fellowship["names"] >= 2) & (fellowship["days"] >= 2)).sum()
        ),
        "venues_with_similar_named_groups": int((similar >= 2).sum()),
        "zoom_links_shared_by_2plus_groups": int((rooms >= 2).sum()),
        "groups_on_shared_zoom_links": int(rooms[rooms >= 2].sum()),
        "daily_groups_as_7_rows_of_one_source": int((daily & (most == 7)).sum()),
        "groups_as_2_to_6_rows_of_one_source": int(((most > 1) & (most < 7)).sum()),
    }


# ---------------------------------------------------------------------------------------------------------------
# Normalisation, in processes, cached
# ---------------------------------------------------------------------------------------------------------------

# Modules whose code decides what normalisation returns, and the libraries under them (and under the generator's
# places and phones): a change to any of them invalidates the cache.
NORMALISER_MODULES = (
    "pipeline.normalise", "pipeline.addresses", "pipeline.classify", "pipeline.contacts", "pipeline.places",
    "pipeline.schedule_text", "pipeline.schedules", "pipeline.text", "schemas.listing", "schemas.raw", "schemas.vocab",
)  # fmt: skip
NORMALISER_LIBRARIES = ("pydantic", "usaddress", "usaddress-scourgify", "phonenumbers", "zipcodes", "pandas", "pyarrow")
CHUNK = 2000
DEFAULT_CACHE = Path.home() / ".cache" / "peergroups-bench"
SCHEDULE_LIST_COLUMNS = ("byday",)


@lru_cache(maxsize=1)
def generator_hash() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


@lru_cache(maxsize=1)
def normaliser_hash() -> str:
    digest = hashlib.sha256()
    for name in NORMALISER_MODULES:
        module = importlib.import_module(name)
        digest.update(Path(module.__file__ or "").read_bytes())
    # Of the warehouse module (busy with other work), only what shapes the frames.
    for shaper in (_listing_frame, _schedule_frame):
        digest.update(inspect.getsource(shaper).encode())
    digest.update(repr((LISTING_COLUMNS, LIST_COLUMNS)).encode())
    for library in NORMALISER_LIBRARIES:
        digest.update(f"{library}=={importlib.metadata.version(library)}".encode())
    return digest.hexdigest()


_WORKER_RECORDS: Sequence[dict[str, Any]] = ()


def _normalise_records(records: Sequence[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame, list[Reject]]:
    listings = []
    rejects = []
    for record in records:
        outcome = normalise(record)
        if isinstance(outcome, Reject):
            rejects.append(outcome)
        else:
            listings.append(outcome)
    return _listing_frame(listings), _schedule_frame(listings), rejects


def _normalise_range(bounds: tuple[int, int]) -> tuple[pd.DataFrame, pd.DataFrame, list[Reject]]:
    return _normalise_records(_WORKER_RECORDS[bounds[0] : bounds[1]])


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Chunks' frames as one, with each column's dtype as one frame of everything would have (a column that is
    empty in one chunk must not turn a text column into objects)."""
    frame = pd.concat(frames, ignore_index=True)
    for column in frame.columns:
        dtypes = {str(part[column].dtype) for part in frames if part[column].notna().any()}
        if frame[column].dtype == object and dtypes == {"str"}:
            frame[column] = frame[column].astype("str")
    return frame


def normalised_frames(
    records: SyntheticSet | Sequence[dict[str, Any]],
    processes: int = 2,
    cache_dir: Path | str | None = None,
    *,
    cache_key: str | None = None,
    chunk_size: int = CHUNK,
) -> tuple[pd.DataFrame, pd.DataFrame, list[Reject]]:
    """(listings, schedules, rejects): every record through `pipeline.normalise.normalise`.

    `listings` has `pipeline.warehouse.LISTING_COLUMNS` (as `_listing_frame` writes them: lists stay lists,
    `raw_values` is JSON text) plus `group_id` (None), `first_seen_at` and `last_seen_at` (UTC); `schedules` is
    `_schedule_frame`'s. A `SyntheticSet` (or any records with a `cache_key`) is normalised once and kept as parquet
    under `cache_dir` (default ~/.cache/peergroups-bench/), keyed by n, seed and hashes of this generator's and the
    normaliser's code.
    """
    if isinstance(records, SyntheticSet):
        cache_key = cache_key or records.cache_key
        records = records.records
    folder = Path(cache_dir or DEFAULT_CACHE) / f"dedupe-{cache_key}" if cache_key else None
    if folder is not None and (folder / "done").exists():
        return _read_cache(folder)

    listings, schedules, rejects = _normalise_all(records, processes, chunk_size)
    listings["group_id"] = None
    listings["first_seen_at"] = SEEN_AT
    listings["last_seen_at"] = SEEN_AT
    if folder is not None:
        _write_cache(folder, listings, schedules, rejects)
    return listings, schedules, rejects


def _normalise_all(
    records: Sequence[dict[str, Any]], processes: int, chunk_size: int
) -> tuple[pd.DataFrame, pd.DataFrame, list[Reject]]:
    global _WORKER_RECORDS
    bounds = [(start, min(start + chunk_size, len(records))) for start in range(0, len(records), chunk_size)]
    if processes <= 1 or len(bounds) <= 1:
        parts = [_normalise_records(records[start:stop]) for start, stop in bounds] or [_normalise_records([])]
    elif "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        # Forked workers read the records from this process's memory: only the results travel back. (Not with
        # other threads running: a lock one of them holds would stay locked forever in the children.)
        _WORKER_RECORDS = records
        try:
            with multiprocessing.get_context("fork").Pool(processes) as pool:
                parts = pool.map(_normalise_range, bounds, chunksize=1)
        finally:
            _WORKER_RECORDS = ()
    else:
        chunks = [list(records[start:stop]) for start, stop in bounds]
        with multiprocessing.get_context("spawn").Pool(processes) as pool:
            parts = pool.map(_normalise_records, chunks, chunksize=1)
    listings = _concat([part[0] for part in parts])
    schedules = _concat([part[1] for part in parts])
    rejects = [reject for part in parts for reject in part[2]]
    return listings, schedules, rejects


def _write_cache(folder: Path, listings: pd.DataFrame, schedules: pd.DataFrame, rejects: list[Reject]) -> None:
    staging = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    listings.to_parquet(staging / "listings.parquet", index=False)
    schedules.to_parquet(staging / "schedules.parquet", index=False)
    pd.DataFrame(
        {
            "source": [reject.source for reject in rejects],
            "source_id": [reject.source_id for reject in rejects],
            "reasons": [json.dumps(reject.reasons) for reject in rejects],
            "payload": [json.dumps(reject.payload, default=str) for reject in rejects],
        },
        columns=["source", "source_id", "reasons", "payload"],
    ).to_parquet(staging / "rejects.parquet", index=False)
    (staging / "done").write_text(json.dumps({"listings": len(listings), "rejects": len(rejects)}))
    if folder.exists():
        shutil.rmtree(folder)
    staging.rename(folder)


def _read_frame(path: Path, list_columns: Sequence[str]) -> pd.DataFrame:
    table = pq.read_table(path)
    frame = table.to_pandas()
    for column in list_columns:
        if column in frame.columns:
            frame[column] = pd.Series(table.column(column).to_pylist(), index=frame.index, dtype=object)
    return frame


def _read_cache(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, list[Reject]]:
    listings = _read_frame(folder / "listings.parquet", LIST_COLUMNS)
    schedules = _read_frame(folder / "schedules.parquet", SCHEDULE_LIST_COLUMNS)
    raw_rejects = pq.read_table(folder / "rejects.parquet").to_pylist()
    rejects = [
        Reject(row["source"], row["source_id"], json.loads(row["reasons"]), json.loads(row["payload"]))
        for row in raw_rejects
    ]
    return listings, schedules, rejects


# ---------------------------------------------------------------------------------------------------------------
# Command line: timings and counts
# ---------------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--no-normalise", action="store_true", help="only generate and count")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    synthetic = generate(args.listings, args.seed)
    print(f"generated {len(synthetic.records):,} raw listings of {len(synthetic.groups):,} true groups "
          f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
    for name, count in hard_negative_counts(synthetic).items():
        print(f"  {name:55} {count:>9,}")
    if not args.no_normalise:
        started = time.perf_counter()
        listings, schedules, rejects = normalised_frames(synthetic, args.processes, args.cache_dir)
        print(f"normalised into {len(listings):,} listings, {len(schedules):,} schedules, {len(rejects):,} rejects "
              f"in {time.perf_counter() - started:.1f} s ({args.processes} processes, cache: "
              f"{Path(args.cache_dir or DEFAULT_CACHE) / ('dedupe-' + synthetic.cache_key)})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
