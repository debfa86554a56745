"""What a group is about and for whom, how people attend, and what it costs: words → controlled values."""

from __future__ import annotations

import re
from typing import TypeVar

from schemas.vocab import Audience, Cost, Format, Status, Topic

E = TypeVar("E", Topic, Audience)

# Word patterns for topics and audiences, matched on the name and description. First pass; a labelled set and
# accuracy command come with the normalisation work.
TOPIC_PATTERNS: dict[Topic, re.Pattern[str]] = {
    Topic.DEPRESSION: re.compile(r"\bdepress", re.I),
    Topic.BIPOLAR: re.compile(r"\bbi-?polar\b|\bmanic\b", re.I),
    Topic.ANXIETY: re.compile(r"\banxi|\bpanic\b", re.I),
    Topic.PSYCHOSIS: re.compile(r"\bpsychos|\bschizo|\bhearing voices\b", re.I),
    Topic.OCD: re.compile(r"\bocd\b|obsessive", re.I),
    Topic.PTSD: re.compile(r"\bptsd\b|\btrauma", re.I),
    Topic.EATING_DISORDERS: re.compile(r"\beating disorder|\banorexi|\bbulimi|\bbinge", re.I),
    Topic.SUICIDE_LOSS: re.compile(r"\bsuicide (loss|bereave)|\bsurvivors of suicide", re.I),
    Topic.GRIEF: re.compile(r"\bgrie|\bbereave|\bloss\b", re.I),
    Topic.POSTPARTUM: re.compile(r"\bpost-?partum|\bperinatal|\bnew (and expecting )?parents\b", re.I),
    Topic.FAMILY: re.compile(r"\bfamil(y|ies)\b|\bcarers?\b|\bcaregiv", re.I),
    Topic.SUBSTANCE_USE: re.compile(r"\bco-?occurring|\bdual diagnosis|\bsubstance", re.I),
    Topic.HOARDING: re.compile(r"\bhoard", re.I),
    Topic.BPD: re.compile(r"\bbpd\b|\bborderline", re.I),
    Topic.GENERAL_MENTAL_HEALTH: re.compile(r"\bmental (health|illness)\b|\bmood\b|\bwellness\b", re.I),
}

AUDIENCE_PATTERNS: dict[Audience, re.Pattern[str]] = {
    Audience.FAMILY: re.compile(r"\bfamil(y|ies)\b|\bcarers?\b|\bcaregiv|\bloved ones\b", re.I),
    Audience.LGBTQIA: re.compile(r"\blgbt|\bqueer\b|\btrans(gender)?\b", re.I),
    Audience.WOMEN: re.compile(r"\bwomen\b|\bwomen's\b", re.I),
    Audience.MEN: re.compile(r"\bmen\b|\bmen's\b", re.I),
    Audience.YOUNG_ADULTS: re.compile(r"\byoung adults?\b|\bages? 18\s*[-–]\s*(2\d|3\d)\b", re.I),
    Audience.TEENS: re.compile(r"\bteens?\b|\badolescen", re.I),
    Audience.SENIORS: re.compile(r"\bseniors?\b|\bolder adults\b", re.I),
    Audience.VETERANS: re.compile(r"\bveterans?\b|\bmilitary\b", re.I),
    Audience.BIPOC: re.compile(r"\bbipoc\b|\bpeople of colou?r\b", re.I),
    Audience.SPANISH_SPEAKERS: re.compile(r"\ben español\b|\bspanish\b|\bhispan", re.I),
}

# Meeting Guide type codes that speak to attendance or audience, valid across programmes.
MEETING_GUIDE_AUDIENCES: dict[str, Audience] = {
    "W": Audience.WOMEN,
    "M": Audience.MEN,
    "LGBTQ": Audience.LGBTQIA,
    "G": Audience.LGBTQIA,
    "L": Audience.LGBTQIA,
    "T": Audience.LGBTQIA,
    "Y": Audience.YOUNG_ADULTS,
    "SEN": Audience.SENIORS,
    "POC": Audience.BIPOC,
    "BI": Audience.BIPOC,
}

_FORMAT_WORDS: dict[str, Format] = {
    "in_person": Format.IN_PERSON, "in person": Format.IN_PERSON, "in-person": Format.IN_PERSON,
    "inperson": Format.IN_PERSON, "offline": Format.IN_PERSON,
    "online": Format.ONLINE, "virtual": Format.ONLINE, "remote": Format.ONLINE, "zoom": Format.ONLINE,
    "hybrid": Format.HYBRID, "mixed": Format.HYBRID,
}  # fmt: skip


def classify_topics(*texts: str | None) -> list[Topic]:
    joined = " ".join(text for text in texts if text)
    return [topic for topic, pattern in TOPIC_PATTERNS.items() if pattern.search(joined)]


def classify_audiences(*texts: str | None) -> list[Audience]:
    joined = " ".join(text for text in texts if text)
    return [audience for audience, pattern in AUDIENCE_PATTERNS.items() if pattern.search(joined)]


def vocabulary_values(values: list[str], vocabulary: type[E]) -> tuple[list[E], list[str]]:
    """Source-given values that are in our vocabulary, and those that are not (kept, counted)."""
    known: list[E] = []
    unknown: list[str] = []
    for value in values:
        key = value.strip().casefold().replace(" ", "_").replace("-", "_")
        try:
            known.append(vocabulary(key))
        except ValueError:
            unknown.append(value)
    return known, unknown


def parse_format(
    word: str | None, *, has_place: bool, has_online: bool, types: list[str]
) -> tuple[Format | None, Status | None, bool]:
    """(format, status if the source implies one, whether the source's own word was unusable).

    Meeting Guide's rule: a listing is online only if it has a join link or phone. `TC` means the venue is
    temporarily closed: with a join link the group meets online, without one it is temporarily closed.
    """
    codes = {code.upper() for code in types}
    stated = None
    invalid = False
    status = None
    if word:
        key = word.strip().casefold()
        if key == "inactive":
            status = Status.INACTIVE
        else:
            stated = _FORMAT_WORDS.get(key)
            invalid = stated is None
    if "TC" in codes:
        if has_online:
            return Format.ONLINE, status, invalid
        return (Format.IN_PERSON if has_place else None), Status.TEMPORARILY_CLOSED, invalid
    if stated in (Format.ONLINE, Format.HYBRID) and not has_online:
        # Said to be online, but no way to join is published: it can only be attended in person, if at all.
        return (Format.IN_PERSON if has_place else None), status, True
    if stated is not None:
        if stated is Format.IN_PERSON and has_online:
            return Format.HYBRID, status, invalid
        return stated, status, invalid
    if "ONL" in codes and has_online and not has_place:
        return Format.ONLINE, status, invalid
    if has_place and has_online:
        return Format.HYBRID, status, invalid
    if has_online:
        return Format.ONLINE, status, invalid
    if has_place:
        return Format.IN_PERSON, status, invalid
    return None, status, invalid


_FREE = re.compile(r"\bfree of charge\b|\bno (cost|fee|charge)\b|\b(is|are|always|completely) free\b|^free\b|"
                   r"\bfree[,.;!]|\bfree (group|meeting|and)\b", re.I)  # fmt: skip
_DONATION = re.compile(r"\bdonation|\bpay what you can\b|\bsliding scale\b", re.I)
_PAID = re.compile(r"(\$|£|€)\s*\d|\bfee\b|\bcost(s)? \d", re.I)


def parse_cost(cost: str | None, description: str | None) -> Cost:
    """Free, donation or paid where the source says so; unknown otherwise (unknown is not free)."""
    for text in (cost, description):
        if not text:
            continue
        if _FREE.search(text):
            return Cost.FREE
        if _DONATION.search(text):
            return Cost.DONATION
        if text is cost and _PAID.search(text):
            return Cost.PAID
    return Cost.UNKNOWN
