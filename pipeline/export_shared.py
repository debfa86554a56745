"""What the meeting-shaped exports (Meeting Guide JSON, iCalendar) share: one streamed read of the groups worth
publishing as meetings, their schedules with the notes and validity dates behind them, public text, schedule
wording, provenance and the attribution file.

Both exports tell someone *when and where a group meets*, so both read the same rows and apply the same rules:

- groups that are `withdrawn` (no directory lists them any more) or `inactive` (they stopped meeting) are left out:
  a feed of meetings must not send someone to a group that is not there;
- text is plain text (tags stripped and entities decoded again, though normalisation already did: an export is
  where a slip would reach readers), and e-mail addresses are withheld unless `include_contacts` (they are often a
  facilitator's own);
- join links were stripped of passwords at normalisation; the exports add none and strip them once more from the
  link itself, which is idempotent;
- every group says which directories list it and when it was last confirmed, because a reader should be able to
  check a listing at its source.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import duckdb

from pipeline.contacts import strip_join_secrets
from pipeline.export import ExportError
from pipeline.privacy import EMAIL_IN_TEXT, public_text
from schemas.vocab import WEEKDAY_CODES

# Statuses whose groups are not published as meetings. `withdrawn` marks a group no directory lists any more.
EXCLUDED_STATUSES: tuple[str, ...] = ("withdrawn", "inactive")
BATCH_SIZE = 500

DAY_NAMES: dict[str, str] = dict(
    zip(WEEKDAY_CODES, ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"), strict=True)
)
_ORDINAL_WORDS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last", -2: "second-to-last"}


@dataclass(frozen=True)
class Slot:
    """One distinct schedule of a group (the union over its member listings), as stored: RFC 5545 parts."""

    freq: str
    interval: int
    byday: tuple[str, ...]
    opens_at: time | None
    closes_at: time | None
    timezone: str | None
    notes: tuple[str, ...]
    valid_from: date | None
    valid_to: date | None


@dataclass(frozen=True)
class GroupRecord:
    """One group to publish: its golden record, its schedules and where it was listed."""

    group_id: str
    name: str
    organization: str | None
    description: str | None
    location_name: str | None
    address: str | None
    city: str | None
    region: str | None
    postal_code: str | None
    country: str | None
    latitude: float | None
    longitude: float | None
    coordinates_precision: str | None
    phone: str | None
    email: str | None
    website: str | None
    conference_url: str | None
    conference_phone: str | None
    format: str | None
    status: str | None
    topics: tuple[str, ...]
    audiences: tuple[str, ...]
    language: str | None
    faith_based: bool | None
    last_seen_at: datetime | None
    first_seen_at: datetime | None
    slots: tuple[Slot, ...]
    schedule_texts: tuple[str, ...]
    listed_by: tuple[tuple[str, str | None], ...]
    source_types: tuple[str, ...]


_GROUP_COLUMNS = (
    "group_id", "name", "organization", "description", "location_name", "address", "city", "region", "postal_code",
    "country", "latitude", "longitude", "coordinates_precision", "phone", "email", "website", "conference_url",
    "conference_phone", "format", "status", "topics", "audiences", "language", "faith_based", "last_seen_at",
)  # fmt: skip

# Schedules come from listing_schedules (not the group_schedules view) because the exports need each schedule's
# notes and validity dates. Validity is the most permissive over the members: one member without a start date
# means the start is not known.
_QUERY = """
WITH slot_rows AS (
    SELECT m.group_id, s.freq, s."interval", s.byday, s.opens_at, s.closes_at, s.timezone,
           list_sort(list_distinct(list(s.notes))) AS notes,
           CASE WHEN bool_or(s.valid_from IS NULL) THEN NULL ELSE min(s.valid_from) END AS valid_from,
           CASE WHEN bool_or(s.valid_to IS NULL) THEN NULL ELSE max(s.valid_to) END AS valid_to
    FROM group_members m JOIN listing_schedules s USING (listing_id)
    GROUP BY ALL
), group_slots AS (
    SELECT group_id,
           list(struct_pack(freq := freq, "interval" := "interval", byday := byday, opens_at := opens_at,
                            closes_at := closes_at, timezone := timezone, notes := notes,
                            valid_from := valid_from, valid_to := valid_to)
                ORDER BY freq, "interval", byday, opens_at NULLS LAST, closes_at NULLS LAST, timezone NULLS LAST,
                         valid_from NULLS FIRST, valid_to NULLS LAST) AS slots
    FROM slot_rows GROUP BY group_id
), members AS (
    SELECT m.group_id, min(l.first_seen_at) AS first_seen_at,
           list_sort(list_distinct(list(l.schedule_text))) AS schedule_texts,
           list_sort(list_distinct(list(struct_pack(source := l.source, url := l.source_url)))) AS listed_by,
           list_sort(list_distinct(flatten(list(l.types)))) AS source_types
    FROM group_members m JOIN listings l USING (listing_id)
    GROUP BY m.group_id
)
SELECT {columns}, members.first_seen_at, group_slots.slots, members.schedule_texts, members.listed_by,
       members.source_types
FROM groups g LEFT JOIN group_slots USING (group_id) LEFT JOIN members USING (group_id)
WHERE (g.status IS NULL OR NOT list_contains($excluded, g.status)) {extra_filter}
ORDER BY {order}
"""


def _schedule_filter_sql(require_schedule: bool) -> str:
    return "AND group_slots.slots IS NOT NULL" if require_schedule else ""


def iter_groups(
    con: duckdb.DuckDBPyConnection,
    *,
    by_region: bool = False,
    require_schedule: bool = False,
    batch_size: int = BATCH_SIZE,
) -> Iterator[GroupRecord]:
    """The publishable groups in a stable order (group id; or country, region, group id), `batch_size` rows at a
    time, so memory does not grow with the warehouse."""
    order = "g.country NULLS LAST, g.region NULLS LAST, g.group_id" if by_region else "g.group_id"
    sql = _QUERY.format(
        columns=", ".join(f"g.{column}" for column in _GROUP_COLUMNS),
        extra_filter=_schedule_filter_sql(require_schedule),
        order=order,
    )
    cursor = con.cursor()
    try:
        cursor.execute(sql, {"excluded": list(EXCLUDED_STATUSES)})
        names = [description[0] for description in cursor.description or []]
        while batch := cursor.fetchmany(batch_size):
            for values in batch:
                yield _record(dict(zip(names, values, strict=True)))
    finally:
        cursor.close()


def _record(row: dict[str, Any]) -> GroupRecord:
    slots = tuple(
        Slot(
            freq=slot["freq"],
            interval=int(slot["interval"] or 1),
            byday=tuple(slot["byday"] or ()),
            opens_at=slot["opens_at"],
            closes_at=slot["closes_at"],
            timezone=slot["timezone"],
            notes=tuple(note for note in slot["notes"] or () if note),
            valid_from=slot["valid_from"],
            valid_to=slot["valid_to"],
        )
        for slot in row.pop("slots") or ()
    )
    listed_by = tuple((entry["source"], entry["url"]) for entry in row.pop("listed_by") or ())
    return GroupRecord(
        **{column: row[column] for column in _GROUP_COLUMNS if column not in ("topics", "audiences", "last_seen_at")},
        topics=tuple(row["topics"] or ()),
        audiences=tuple(row["audiences"] or ()),
        last_seen_at=_utc(row["last_seen_at"]),
        first_seen_at=_utc(row["first_seen_at"]),
        slots=slots,
        schedule_texts=tuple(text for text in row["schedule_texts"] or () if text),
        listed_by=listed_by,
        source_types=tuple(code for code in row["source_types"] or () if code),
    )


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


# --- text --------------------------------------------------------------------------------------------------------


def public_url(url: str | None, *, include_contacts: bool) -> str | None:
    """A link fit for a public export, or None: http(s) only, nothing that could break out of plain text, and no
    e-mail address in it unless contacts were asked for. Links are not run through `plain_text`: unescaping would
    corrupt a query string ("?a=1&not=2")."""
    if not url:
        return None
    link = url.strip()
    if not re.match(r"^https?://[^\s/]", link, re.IGNORECASE) or any(char in link for char in " <>\"'"):
        return None
    if not include_contacts and EMAIL_IN_TEXT.search(link):
        return None
    return link


def public_join_link(url: str | None, *, include_contacts: bool = False) -> str | None:
    """The join link without any password parameter (already removed upstream; removing it again is harmless)."""
    link = public_url(url, include_contacts=include_contacts)
    return strip_join_secrets(link) if link else None


def join_words(words: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _ordinal_day(code: str) -> tuple[int | None, str]:
    return (int(code[:-2]), code[-2:]) if code[:-2] else (None, code)


def describe_rule(freq: str, interval: int, byday: Sequence[str]) -> str:
    """An RRULE in words: 'Mondays and Wednesdays', 'First and third Tuesday of the month', 'Every other week on
    Sunday'. For readers of notes and descriptions; the rule itself stays the record."""
    if freq == "MONTHLY":
        by_weekday: dict[str, list[int | None]] = {}
        for code in byday:
            ordinal, day = _ordinal_day(code)
            by_weekday.setdefault(day, []).append(ordinal)
        parts = []
        for day, ordinals in by_weekday.items():
            numbered = [_ORDINAL_WORDS.get(n, f"{n}th") for n in ordinals if n is not None]
            parts.append(f"{join_words(numbered)} {DAY_NAMES[day]}" if numbered else f"every {DAY_NAMES[day]}")
        period = "month" if interval == 1 else ("other month" if interval == 2 else f"{interval} months")
        if not parts:
            return "Monthly (day not stated)" if interval == 1 else f"Every {period} (day not stated)"
        return _capitalised(f"{join_words(parts)} of {'the' if interval == 1 else 'every'} {period}")
    names = [DAY_NAMES[_ordinal_day(code)[1]] for code in byday]
    if freq == "DAILY":
        if interval != 1:
            return f"Every {interval} days"
        return join_words([f"{name}s" for name in names]) if names else "Every day"
    if interval == 1:
        return join_words([f"{name}s" for name in names]) if names else "Weekly (day not stated)"
    every = "Every other week" if interval == 2 else f"Every {interval} weeks"
    return f"{every} on {join_words(names)}" if names else f"{every} (day not stated)"


def describe_slot(slot: Slot) -> str:
    """A schedule in words, with its times, zone and validity: 'First Monday of the month, 18:30–20:00
    (America/Los_Angeles), from 2025-06-08'."""
    words = describe_rule(slot.freq, slot.interval, slot.byday)
    if slot.opens_at and slot.closes_at:
        words += f", {slot.opens_at:%H:%M}–{slot.closes_at:%H:%M}"
    elif slot.opens_at:
        words += f", {slot.opens_at:%H:%M}"
    else:
        words += ", time not stated"
    if slot.timezone:
        words += f" ({slot.timezone})"
    if slot.valid_from:
        words += f", from {slot.valid_from.isoformat()}"
    if slot.valid_to:
        words += f", until {slot.valid_to.isoformat()}"
    return words


def slot_notes(slot: Slot, *, include_contacts: bool) -> str | None:
    """What the directories said beside the rule ('except holidays'), quoted, or None."""
    said = [text for note in slot.notes if (text := public_text(note, include_contacts=include_contacts))]
    return "As listed: " + "; ".join(f"“{text}”" for text in said) if said else None


def provenance_line(group: GroupRecord, *, include_contacts: bool) -> str:
    """'Listed by riverside_peers (https://…, https://…) and harbor_helpline. Last confirmed 2026-11-25 (UTC).'

    A directory that lists the group twice (one page per meeting day) is named once, with each of its pages.
    """
    urls: dict[str, list[str]] = {}
    for source, url in group.listed_by:
        shown = public_url(url, include_contacts=include_contacts)
        urls.setdefault(source, [])
        if shown and shown not in urls[source]:
            urls[source].append(shown)
    entries = [f"{source} ({', '.join(shown)})" if shown else source for source, shown in urls.items()]
    line = f"Listed by {join_words(entries)}." if entries else "Listed by no current directory."
    if group.last_seen_at:
        line += f" Last confirmed {group.last_seen_at:%Y-%m-%d} (UTC)."
    return line


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


# --- attribution ---------------------------------------------------------------------------------------------------

_ATTRIBUTION_QUERY = """
WITH group_slots AS (SELECT DISTINCT m.group_id AS group_id, true AS slots
                     FROM group_members m JOIN listing_schedules s USING (listing_id))
SELECT l.source, count(DISTINCT g.group_id) AS groups,
       list_sort(list_distinct(list(nullif(regexp_extract(l.source_url, '^https?://[^/?#]+'), '')))) AS sites
FROM groups g JOIN group_members m USING (group_id) JOIN listings l USING (listing_id)
     LEFT JOIN group_slots USING (group_id)
WHERE (g.status IS NULL OR NOT list_contains($excluded, g.status)) {extra_filter}
GROUP BY l.source ORDER BY l.source
"""


def write_attribution(
    con: duckdb.DuckDBPyConnection, directory: Path, what: str, *, require_schedule: bool = False
) -> Path:
    """`ATTRIBUTION.txt` beside an export: the directories its groups were compiled from, how many groups each
    lists, and their sites. No timestamp, so an unchanged warehouse gives an unchanged file."""
    rows = con.execute(
        _ATTRIBUTION_QUERY.format(extra_filter=_schedule_filter_sql(require_schedule)),
        {"excluded": list(EXCLUDED_STATUSES)},
    ).fetchall()
    lines = [
        f"{what}",
        "",
        "Compiled by peergroups from the public directories below. Each group was read from the directories",
        "that list it, deduplicated, and is shown with those directories and the date it was last confirmed.",
        "Groups change their times and places: check with a group, or its listing, before you go.",
        "",
        "Licence and terms: the listings remain the work of these directories. Credit them when you republish,",
        "and check each directory's own terms of use before you do; peergroups claims no rights in the listings",
        "themselves (its code is MIT-licensed).",
        "",
        "Sources (directory: groups in this export; sites):",
    ]
    for source, count, sites in rows:
        shown_sites = ", ".join(site for site in sites or () if site) or "site not recorded"
        lines.append(f"- {source}: {count} group{'s' if count != 1 else ''}; {shown_sites}")
    if not rows:
        lines.append("- none: this export is empty")
    path = directory / "ATTRIBUTION.txt"
    try:
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as error:
        raise ExportError(f"cannot write {path}: {error}") from error
    return path
