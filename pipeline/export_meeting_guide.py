"""Meeting Guide JSON feed (`meetings.json`): the format the Meeting Guide app, the 12 Step Meeting List plugin
(TSML) and TSML UI read (code4recovery/spec). Directories that already run TSML can import our groups as they are.

How our groups become meetings, and why:

- **One meeting per weekday.** The spec is for weekly meetings: `day` 0–6 (0 = Sunday), `time` "HH:MM". A group
  meeting on Monday and Wednesday at 19:00 becomes two meetings, as TSML's importer would split a `day` array
  anyway. Slugs are the app's primary key (favourites hang on them), so they are built from what is stable: the
  group id and the day (`g64dc13d8a32232de-1`), plus the start time (`-1900`) only for a group that meets more than
  once on that day. The group's name is left out on purpose: the clearest member name can change when another
  directory lists the group, and a renamed slug would drop everyone's favourite.
- **Schedules a weekly feed cannot hold** (monthly "first Monday", every other week, a weekly rule with no time)
  are written in `notes`. A group with no weekly meeting at all is published once, without `day` and `time` (the
  spec's "by appointment"): TSML UI lists it with its notes, the Meeting Guide app skips it, as the spec intends.
- **Types** are the spec's codes only, plus TSML's `ONL` (its "Online Meeting" attendance code, which TSML reads to
  tell online and hybrid meetings apart; it is not in the spec's types.json). `ONL` for groups with a join link
  or dial-in; `TC` ("Location Temporarily Closed") for temporarily closed groups (TC without ONL is TSML's
  "inactive", TC with ONL its "online"); languages (`S`, `FR`, …) and audiences (`W`, `M`, `LGBTQ`, `Y`, `SEN`,
  `POC`) from our vocabularies; `A` (Secular) for groups known to be secular; `O`/`C` only when a member listing's
  own source said so (`C` wins, as in TSML). Anything else would be a guess.
- **Place.** `formatted_address` (our one-line address), plus its parts. `latitude`/`longitude` only when they are
  the directory's own exact point: TSML UI takes coordinates to mean "not approximate", and a ZIP centroid of ours
  is not where a group meets. Online groups are `approximate: "yes"` (their place is an origin, per the spec).
- **Provenance** (directories, their pages, last confirmed) closes every meeting's `notes`. E-mail addresses are
  withheld unless `include_contacts`, text is plain, join links carry no password.

The feed is streamed: groups are read from DuckDB a batch at a time and each meeting is written as it is made, to
a temporary file renamed into place at the end, so a reader never sees half a feed.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import time
from pathlib import Path
from typing import Any

import duckdb

from pipeline.classify import MEETING_GUIDE_LANGUAGES
from pipeline.export import ExportError
from pipeline.export_shared import (
    GroupRecord,
    Slot,
    describe_slot,
    iter_groups,
    provenance_line,
    public_join_link,
    public_text,
    public_url,
    slot_notes,
    write_attribution,
)
from schemas.meeting_guide import type_labels
from schemas.vocab import WEEKDAY_CODES

FEED_NAME = "meetings.json"
ONLINE = "ONL"  # TSML's attendance code; see the module docstring
TEMPORARILY_CLOSED = "TC"
SECULAR = "A"
# Audiences (schemas/vocab.py) that are Meeting Guide types. Family, veterans and the like have no code.
AUDIENCE_TYPES: dict[str, str] = {
    "women": "W", "men": "M", "lgbtqia": "LGBTQ", "young_adults": "Y", "teens": "Y", "seniors": "SEN",
    "bipoc": "POC", "spanish_speakers": "S",
}  # fmt: skip
# ISO 639-1 → the spec's language type. English is the default and is not tagged.
LANGUAGE_TYPES: dict[str, str] = {iso: code for code, iso in MEETING_GUIDE_LANGUAGES.items() if code != "EN"}
# Source codes carried over as they are: they mean the same in every programme that uses them.
OPEN, CLOSED = "O", "C"
_CONFERENCE_PHONE_NOISE = re.compile(r"[^\d+,*#]")


def export_meeting_guide(
    con: duckdb.DuckDBPyConnection, out_dir: Path, *, include_contacts: bool = False
) -> list[Path]:
    """Write `meetings.json` (a Meeting Guide feed of the publishable groups) and `ATTRIBUTION.txt` into out_dir;
    returns the paths written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ExportError(f"cannot write exports into {out_dir}: {error}") from error
    path = out_dir / FEED_NAME
    partial = path.with_name(f".{FEED_NAME}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write("[")
            first = True
            for group in iter_groups(con):
                for meeting in group_meetings(group, include_contacts=include_contacts):
                    handle.write(("\n" if first else ",\n") + json.dumps(meeting, ensure_ascii=False))
                    first = False
            handle.write("\n]\n")
        os.replace(partial, path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise ExportError(f"cannot write {path}: {error}") from error
    attribution = write_attribution(con, out_dir, f"peergroups Meeting Guide feed: {FEED_NAME}")
    return [path, attribution]


def group_meetings(group: GroupRecord, *, include_contacts: bool = False) -> Iterator[dict[str, Any]]:
    """The meeting objects of one group: one per weekday and start time, or one without a day when it has no
    weekly meeting."""
    weekly: dict[tuple[int, time], Slot] = {}
    other: list[Slot] = []
    for slot in group.slots:
        days = _weekdays(slot)
        if days is None:
            other.append(slot)
            continue
        assert slot.opens_at is not None
        for day in days:
            # Two directories may disagree on the end: the first (sorted) row wins, deterministically.
            weekly.setdefault((day, slot.opens_at), slot)

    common = _common_fields(group, include_contacts=include_contacts)
    other_words = [describe_slot(slot) for slot in other]
    if not weekly:
        notes = _notes(group, other, include_contacts=include_contacts, lead="Meets", words=other_words)
        yield _meeting(common, slug=_slug_base(group.group_id), notes=notes, timezone=_one_zone(group.slots))
        return

    per_day: dict[int, int] = {}
    for day, _ in weekly:
        per_day[day] = per_day.get(day, 0) + 1
    for (day, opens), slot in sorted(weekly.items()):
        slug = f"{_slug_base(group.group_id)}-{day}"
        if per_day[day] > 1:
            slug += f"-{opens:%H%M}"
        notes = _notes(group, other, include_contacts=include_contacts, lead="Also meets", words=other_words, slot=slot)
        yield _meeting(
            common,
            slug=slug,
            day=day,
            time=f"{opens:%H:%M}",
            end_time=f"{slot.closes_at:%H:%M}" if slot.closes_at else None,
            timezone=slot.timezone,
            notes=notes,
        )


def _weekdays(slot: Slot) -> list[int] | None:
    """Meeting Guide days (0 = Sunday) of a schedule a weekly feed can hold, or None: every week (or every day),
    on named weekdays without ordinals, at a stated time."""
    if slot.opens_at is None or slot.interval != 1 or slot.freq not in ("WEEKLY", "DAILY"):
        return None
    if any(code not in WEEKDAY_CODES for code in slot.byday):
        return None
    if not slot.byday:
        return list(range(7)) if slot.freq == "DAILY" else None
    return sorted({WEEKDAY_CODES.index(code) for code in slot.byday})


def _slug_base(group_id: str) -> str:
    return group_id.lower()


def _one_zone(slots: tuple[Slot, ...]) -> str | None:
    zones = {slot.timezone for slot in slots if slot.timezone}
    return zones.pop() if len(zones) == 1 else None


def _notes(
    group: GroupRecord,
    other: list[Slot],
    *,
    include_contacts: bool,
    lead: str,
    words: list[str],
    slot: Slot | None = None,
) -> str:
    """Plain-text notes: the description, what the directories said about this schedule, schedules the feed cannot
    hold, contacts, and provenance last."""
    parts: list[str] = []
    description = public_text(group.description, include_contacts=include_contacts)
    if description:
        parts.append(description)
    if slot is not None and (said := slot_notes(slot, include_contacts=include_contacts)):
        parts.append(said)
    if words:
        lines = [f"{lead}: {text}." for text in words]
        lines += [said for extra in other if (said := slot_notes(extra, include_contacts=include_contacts))]
        parts.append("\n".join(lines))
    elif not group.slots:
        texts = [text for raw in group.schedule_texts if (text := public_text(raw, include_contacts=include_contacts))]
        parts.append(
            "Schedule as listed: " + "; ".join(f"“{text}”" for text in texts)
            if texts
            else "Schedule not stated: contact the group."
        )
    if group.status == "temporarily_closed":
        parts.append("Temporarily closed, as last listed.")
    contact_lines = []
    if group.phone:
        contact_lines.append(f"Phone: {group.phone}")
    if website := public_url(group.website, include_contacts=include_contacts):
        contact_lines.append(f"Website: {website}")
    if include_contacts and group.email:
        contact_lines.append(f"E-mail: {group.email}")
    if contact_lines:
        parts.append("\n".join(contact_lines))
    parts.append(provenance_line(group, include_contacts=include_contacts))
    return "\n\n".join(parts)


def _types(group: GroupRecord) -> list[str]:
    """The group's Meeting Guide type codes, restricted to the spec's list (and TSML's ONL)."""
    codes: set[str] = set()
    online = group.format in ("online", "hybrid") and bool(group.conference_url or group.conference_phone)
    if online:
        codes.add(ONLINE)
    if group.status == "temporarily_closed":
        codes.add(TEMPORARILY_CLOSED)
    if group.language and group.language in LANGUAGE_TYPES:
        codes.add(LANGUAGE_TYPES[group.language])
    codes.update(AUDIENCE_TYPES[audience] for audience in group.audiences if audience in AUDIENCE_TYPES)
    if group.faith_based is False:
        codes.add(SECULAR)
    source_codes = {code.strip().upper() for code in group.source_types}
    if CLOSED in source_codes:
        codes.add(CLOSED)
    elif OPEN in source_codes:
        codes.add(OPEN)
    known = type_labels()
    return sorted(code for code in codes if code in known)


def _attendance_option(group: GroupRecord, types: list[str]) -> str | None:
    """TSML's own field, as TSML derives it from ONL/TC: a reader of ours gets the format without deriving it."""
    if TEMPORARILY_CLOSED in types:
        return "online" if ONLINE in types else "inactive"
    if group.format in ("in_person", "hybrid", "online"):
        return group.format
    return None


def _common_fields(group: GroupRecord, *, include_contacts: bool) -> dict[str, Any]:
    """Fields every meeting of a group shares, in the spec's order, empty ones left out (as TSML does)."""

    def text(value: str | None) -> str | None:
        return public_text(value, include_contacts=include_contacts)

    types = _types(group)
    online_only = group.format == "online"
    # An online group's place is its origin; a country alone is too broad (it spans time zones, the spec warns).
    address = text(group.address)
    if not address and (group.city or group.region):
        address = ", ".join(part for part in (text(group.city), text(group.region), text(group.country)) if part)
    precise = group.coordinates_precision == "source" and not online_only
    approximate = None
    if online_only or group.coordinates_precision == "approximate":
        approximate = "yes"
    elif address:
        approximate = "no"
    conference_phone = _CONFERENCE_PHONE_NOISE.sub("", group.conference_phone or "") or None
    url = next(
        (link for _, url in group.listed_by if (link := public_url(url, include_contacts=include_contacts))), None
    )
    website = public_url(group.website, include_contacts=include_contacts)
    fields: dict[str, Any] = {
        "name": text(group.name) or group.group_id,
        "types": types,
        "location": text(group.location_name),
        "formatted_address": address or None,
        "city": text(group.city),
        "state": text(group.region),
        "postal_code": text(group.postal_code),
        "country": text(group.country),
        "region": text(group.city),
        "latitude": round(group.latitude, 5) if precise and group.latitude is not None else None,
        "longitude": round(group.longitude, 5) if precise and group.longitude is not None else None,
        "approximate": approximate,
        "conference_url": public_join_link(group.conference_url, include_contacts=include_contacts),
        "conference_phone": conference_phone,
        "group": text(group.organization),
        "updated": f"{group.last_seen_at:%Y-%m-%d %H:%M:%S}" if group.last_seen_at else None,
        "url": url,
        "website": website,
        "phone": group.phone,
        "email": group.email if include_contacts else None,
        "attendance_option": _attendance_option(group, types),
    }
    return fields


def _meeting(common: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """name and slug first, the schedule next, then the shared fields; keys with no value are left out."""
    name = common["name"]
    ordered = {
        "name": name,
        "slug": fields.pop("slug"),
        **{key: fields.pop(key) for key in ("day", "time", "end_time", "timezone") if key in fields},
        **fields,
        **{key: value for key, value in common.items() if key != "name"},
    }
    return {key: value for key, value in ordered.items() if value not in (None, "", [])}
