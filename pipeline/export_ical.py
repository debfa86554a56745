"""iCalendar (RFC 5545) exports: one `.ics` per group (`ics/<group_id>.ics`) or per region
(`ics/regions/<country>-<region>.ics`), for people and sites that subscribe to a group's or an area's calendar.

Each distinct schedule of a group is one recurring VEVENT, and the choices behind it are made for stable,
truthful calendars:

- **DTSTART** is the first occurrence on or after a fixed anchor: the schedule's own start date when the
  directory gave one ("starting 6/8/2025"), otherwise the day we first saw the group (the earliest `first_seen_at`
  of its listings, as a local date in the schedule's zone). Both are fixed once known, so an unchanged warehouse
  exports the same file every time, and we never claim a group met before we knew of it. It is in the schedule's
  IANA zone (`DTSTART;TZID=America/Chicago`), with the VTIMEZONE it names, built by `icalendar.Timezone.from_tzid`
  (covering the first year used to `VTIMEZONE_UNTIL`; clients that know the IANA name use their own rules anyway).
- **RRULE** is the stored rule (`FREQ=MONTHLY;BYDAY=1MO`); a last valid date ("through Dec 31") becomes UNTIL (UTC,
  as RFC 5545 requires with a zoned DTSTART). Weekly schedules at the same time are merged first, as the golden
  record merges them, so a group listed as "Mon" by one directory and "Mon, Wed" by another gets one event, not
  two events on Mondays. For every-other-week rules without a start date the phase is unknown: the description
  says so.
- **DTEND** from the closing time (the next day when it closes after midnight); with no closing time, a one-hour
  DURATION, the Meeting Guide convention, said in the description.
- **No time stated**: an all-day recurring event (`DTSTART;VALUE=DATE`, TRANSPARENT so it does not block the
  day). The day itself is reliable information ("first Monday, call for the time") and a calendar without it
  would hide the group; the summary and description say the time is not stated. A schedule with no day (a
  weekly or monthly rule without BYDAY) cannot be placed on a calendar and is left out; a group with no
  placeable schedule gets no file (RFC 5545 wants at least one component).
- **No zone stated**: a floating time (no TZID), which RFC 5545 defines as "this local time wherever you are",
  with a line in the description, rather than a zone we would have to guess.
- **UID** is `<group_id>-<digest of the rule, times, zone and validity>@peergroups`: the same schedule of the same
  group keeps its UID across exports, so subscribed calendars update events instead of duplicating them. DTSTAMP
  is the group's last confirmation (`last_seen_at`), not the export time, for the same reason.
- **Text**: SUMMARY is the group's name; DESCRIPTION holds the description, the schedule in words, join link,
  dial-in, phone, website, and provenance (directories, their pages, last confirmed); LOCATION the venue and
  address, or the join link for an online-only group; URL the group's website, else its directory page. Plain
  text, no e-mail addresses unless `include_contacts`, no join-link passwords.

Files are streamed: groups are read a batch at a time; each file's events go to a spooled temporary file while
the zones they use are noted, then the file is assembled (VCALENDAR header, VTIMEZONEs, events) and renamed into
place. `ics/` (and `ics/regions/`) belong to this export: `.ics` files there that this run did not write (a group
since withdrawn) are removed, so a subscriber stops seeing a group that no longer meets.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import IO, Literal
from zoneinfo import ZoneInfo

import duckdb
import icalendar
from dateutil.rrule import rrulestr

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
from schemas.listing import Schedule
from schemas.vocab import WEEKDAY_CODES, Freq

PRODID = "-//peergroups//peergroups iCalendar export//EN"
UID_DOMAIN = "peergroups"
VTIMEZONE_UNTIL = date(2040, 1, 1)
DEFAULT_DURATION = timedelta(hours=1)  # Meeting Guide's default when a meeting has no end time
_REGION_NOISE = re.compile(r"[^a-z0-9]+")


def export_ical(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    *,
    by: Literal["group", "region"] = "group",
    include_contacts: bool = False,
) -> list[Path]:
    """Write one `.ics` per group (`out_dir/ics/`) or per region (`out_dir/ics/regions/`), and `ATTRIBUTION.txt`
    beside them; returns the paths written."""
    if by not in ("group", "region"):
        raise ValueError(f"unknown iCalendar grouping {by!r}; choose 'group' or 'region'")
    directory = out_dir / "ics" if by == "group" else out_dir / "ics" / "regions"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ExportError(f"cannot write exports into {directory}: {error}") from error

    written: list[Path] = []
    open_files: dict[str, _CalendarFile] = {}
    try:
        for group in iter_groups(con, by_region=by == "region", require_schedule=True):
            events = list(group_events(group, include_contacts=include_contacts))
            if not events:
                continue
            if by == "group":
                name = public_text(group.name, include_contacts=include_contacts) or group.group_id
                calendar = _CalendarFile(directory / f"{group.group_id}.ics", name)
                calendar.extend(events)
                written.append(calendar.finish())
                continue
            key = region_key(group)
            if key not in open_files:
                open_files[key] = _CalendarFile(directory / f"{key}.ics", f"Peer support groups: {region_label(group)}")
            open_files[key].extend(events)
        for key in sorted(open_files):
            written.append(open_files.pop(key).finish())
    except OSError as error:
        raise ExportError(f"cannot write iCalendar files into {directory}: {error}") from error
    finally:
        for calendar in open_files.values():
            calendar.discard()

    keep = {path.name for path in written}
    for stale in directory.glob("*.ics"):
        if stale.name not in keep:
            stale.unlink(missing_ok=True)
    what = "peergroups iCalendar export: " + ("one calendar per group" if by == "group" else "one calendar per region")
    written.append(write_attribution(con, directory, what, require_schedule=True))
    return written


# --- regions -----------------------------------------------------------------------------------------------------


def region_key(group: GroupRecord) -> str:
    """File name (without .ics) of a group's region: `us-or`; `us` without a state; `online` for a placeless online
    group; `no-region` otherwise."""
    parts = [part for part in (group.country, group.region) if part]
    if not parts:
        return "online" if group.format == "online" else "no-region"
    return _REGION_NOISE.sub("-", "-".join(parts).casefold()).strip("-") or "no-region"


def region_label(group: GroupRecord) -> str:
    parts = [part for part in (group.country, group.region) if part]
    if not parts:
        return "online" if group.format == "online" else "no region stated"
    return "-".join(parts)


# --- events ------------------------------------------------------------------------------------------------------


@dataclass
class _Event:
    component: icalendar.Event
    zone: str | None
    starts: date


def merged_slots(slots: tuple[Slot, ...]) -> list[Slot]:
    """Weekly schedules at the same time, zone and validity merged into one set of days (notes joined); others as
    they are. Sorted, so the event order is the same on every export."""
    weekly: dict[tuple[object, ...], list[Slot]] = {}
    merged: list[Slot] = []
    for slot in slots:
        if slot.freq == "WEEKLY" and slot.byday:
            key = (slot.interval, slot.opens_at, slot.closes_at, slot.timezone, slot.valid_from, slot.valid_to)
            weekly.setdefault(key, []).append(slot)
        else:
            merged.append(slot)
    for parts in weekly.values():
        days = {code for slot in parts for code in slot.byday}
        notes = sorted({note for slot in parts for note in slot.notes})
        merged.append(
            replace(parts[0], byday=tuple(code for code in WEEKDAY_CODES if code in days), notes=tuple(notes))
        )
    return sorted(merged, key=_slot_order)


def _slot_order(slot: Slot) -> tuple[object, ...]:
    return (
        slot.freq,
        slot.interval,
        slot.byday,
        slot.opens_at or time.max,
        slot.closes_at or time.max,
        slot.timezone or "",
        slot.valid_from or date.min,
        slot.valid_to or date.max,
    )


def group_events(group: GroupRecord, *, include_contacts: bool = False) -> Iterator[_Event]:
    """One recurring VEVENT per placeable schedule of the group."""
    anchor_at = group.first_seen_at or group.last_seen_at or datetime(1970, 1, 1, tzinfo=UTC)
    uids: set[str] = set()
    for slot in merged_slots(group.slots):
        event = _event(group, slot, anchor_at, include_contacts=include_contacts)
        if event is None:
            continue
        uid = str(event.component["UID"])
        if uid in uids:  # cannot happen with distinct slots; kept unique whatever the data
            event.component["UID"] = uid.replace("@", f"-{len(uids)}@", 1)
        uids.add(str(event.component["UID"]))
        yield event


def _event(group: GroupRecord, slot: Slot, anchor_at: datetime, *, include_contacts: bool) -> _Event | None:
    if not slot.byday and slot.freq != "DAILY":
        return None  # no day to put it on
    zone = ZoneInfo(slot.timezone) if slot.timezone else None
    anchor = slot.valid_from or (anchor_at.astimezone(zone) if zone else anchor_at).date()
    rule = Schedule(freq=Freq(slot.freq), interval=slot.interval, byday=slot.byday).rrule()
    start_of_anchor = datetime.combine(anchor, slot.opens_at or time(0))
    first = rrulestr(rule, dtstart=start_of_anchor).after(start_of_anchor, inc=True)
    if first is None or (slot.valid_to and first.date() > slot.valid_to):
        return None

    event = icalendar.Event()
    event.add("uid", _uid(group.group_id, rule, slot))
    event.add("dtstamp", group.last_seen_at or anchor_at.astimezone(UTC))
    recurrence = icalendar.vRecur.from_ical(rule)
    if slot.opens_at is None:
        event.add("dtstart", first.date())
        event.add("dtend", first.date() + timedelta(days=1))
        event.add("transp", "TRANSPARENT")
        if slot.valid_to:
            recurrence["UNTIL"] = [slot.valid_to]
    else:
        event.add("dtstart", first.replace(tzinfo=zone))
        if slot.closes_at:
            end_day = first.date() + timedelta(days=1 if slot.closes_at <= slot.opens_at else 0)
            event.add("dtend", datetime.combine(end_day, slot.closes_at, tzinfo=zone))
        else:
            event.add("duration", DEFAULT_DURATION)
        if slot.valid_to:
            last_moment = datetime.combine(slot.valid_to, time(23, 59, 59), tzinfo=zone)
            recurrence["UNTIL"] = [last_moment.astimezone(UTC) if zone else last_moment]
    event.add("rrule", recurrence)

    name = public_text(group.name, include_contacts=include_contacts) or group.group_id
    closed = group.status == "temporarily_closed"
    suffixes = [words for flag, words in ((closed, "temporarily closed"), (slot.opens_at is None, "time not stated"))
                if flag]  # fmt: skip
    event.add("summary", f"{name} ({', '.join(suffixes)})" if suffixes else name)
    event.add("description", _description(group, slot, include_contacts=include_contacts))
    if location := _location(group, include_contacts=include_contacts):
        event.add("location", location)
    pages = (group.website, *(url for _, url in group.listed_by))
    if url := next((link for page in pages if (link := public_url(page, include_contacts=include_contacts))), None):
        event.add("url", url)
    if group.coordinates_precision == "source" and group.format != "online" and group.latitude is not None:
        event.add("geo", (round(group.latitude, 5), round(group.longitude or 0.0, 5)))
    if group.topics:
        event.add("categories", list(group.topics))
    if closed:
        event.add("status", "TENTATIVE")
    return _Event(event, slot.timezone if slot.opens_at is not None else None, first.date())


def _uid(group_id: str, rule: str, slot: Slot) -> str:
    """Stable per (group, schedule): the same schedule keeps its UID from export to export."""
    key = "|".join(
        str(part) for part in (rule, slot.opens_at, slot.closes_at, slot.timezone, slot.valid_from, slot.valid_to)
    )
    return f"{group_id}-{hashlib.sha256(key.encode()).hexdigest()[:12]}@{UID_DOMAIN}"


def _description(group: GroupRecord, slot: Slot, *, include_contacts: bool) -> str:
    parts: list[str] = []
    if description := public_text(group.description, include_contacts=include_contacts):
        parts.append(description)
    when = [f"When: {describe_slot(slot)}."]
    if said := slot_notes(slot, include_contacts=include_contacts):
        when.append(said)
    if slot.interval > 1 and slot.valid_from is None:
        period = "weeks" if slot.freq == "WEEKLY" else ("months" if slot.freq == "MONTHLY" else "days")
        when.append(f"Which {period}: not stated by the directory; the calendar starts from the first one after "
                    "we first listed the group. Check with the group.")  # fmt: skip
    if slot.opens_at is None:
        when.append("Time not stated: contact the group for it.")
    elif slot.closes_at is None:
        when.append("End time not stated (shown as one hour).")
    if slot.opens_at is not None and slot.timezone is None:
        when.append("Time zone not stated: the time is shown as listed, in your calendar's own zone.")
    parts.append("\n".join(when))
    if group.status == "temporarily_closed":
        parts.append("Temporarily closed, as last listed.")
    reach = []
    if conference_url := public_join_link(group.conference_url, include_contacts=include_contacts):
        reach.append(f"Join online: {conference_url}")
    if group.conference_phone:
        reach.append(f"Dial in: {group.conference_phone}")
    if group.phone:
        reach.append(f"Phone: {group.phone}")
    if website := public_url(group.website, include_contacts=include_contacts):
        reach.append(f"Website: {website}")
    if include_contacts and group.email:
        reach.append(f"E-mail: {group.email}")
    if reach:
        parts.append("\n".join(reach))
    parts.append(provenance_line(group, include_contacts=include_contacts))
    return "\n\n".join(parts)


def _location(group: GroupRecord, *, include_contacts: bool) -> str | None:
    place = [text for value in (group.location_name, group.address)
             if (text := public_text(value, include_contacts=include_contacts))]  # fmt: skip
    if group.format == "online" or not place:
        link = public_join_link(group.conference_url, include_contacts=include_contacts)
        if link:
            return link
        if group.format == "online":
            return "Online"
    return ", ".join(place) or None


# --- files -------------------------------------------------------------------------------------------------------


@cache
def _vtimezone(tzid: str, first_year: int) -> bytes:
    """A VTIMEZONE for tzid from 1 January of the first year used. Cached: building one takes a moment."""
    first = date(first_year, 1, 1)
    last = max(VTIMEZONE_UNTIL, date(first_year + 1, 1, 1))
    return icalendar.Timezone.from_tzid(tzid, first_date=first, last_date=last).to_ical()


@dataclass
class _CalendarFile:
    """One .ics being written: events spooled to a temporary file, the zones they use noted, assembled at the end."""

    path: Path
    name: str
    zones: dict[str, date] = field(default_factory=dict)
    count: int = 0
    # Closed by finish() or discard(): the file outlives any one with-block while groups stream in.
    body: IO[bytes] = field(default_factory=lambda: tempfile.SpooledTemporaryFile(max_size=1 << 20))  # noqa: SIM115

    def extend(self, events: list[_Event]) -> None:
        for event in events:
            self.body.write(event.component.to_ical())
            self.count += 1
            if event.zone:
                self.zones[event.zone] = min(self.zones.get(event.zone, event.starts), event.starts)

    def finish(self) -> Path:
        """Header, the VTIMEZONEs the events name, the events; renamed into place."""
        calendar = icalendar.Calendar()
        calendar.add("prodid", PRODID)
        calendar.add("version", "2.0")
        calendar.add("calscale", "GREGORIAN")
        calendar.add("x-wr-calname", self.name)
        header = calendar.to_ical()
        footer = b"END:VCALENDAR\r\n"
        assert header.endswith(footer)
        partial = self.path.with_name(f".{self.path.name}.partial")
        try:
            with partial.open("wb") as handle:
                handle.write(header[: -len(footer)])
                for tzid in sorted(self.zones):
                    handle.write(_vtimezone(tzid, self.zones[tzid].year))
                self.body.seek(0)
                while chunk := self.body.read(1 << 16):
                    handle.write(chunk)
                handle.write(footer)
            os.replace(partial, self.path)
        finally:
            partial.unlink(missing_ok=True)
            self.body.close()
        return self.path

    def discard(self) -> None:
        self.body.close()
