"""Writes the demo directories under data/demo/sites/ and their ground truth (data/demo/truth.csv).

Everything here is fictional: organisations, venues and people are made up, web addresses use example.org, and
phone numbers are in the 555-01xx range reserved for fiction. Run `python data/demo/make_demo.py` to regenerate;
the output is committed so that the demo and the tests never depend on running this.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

HERE = Path(__file__).parent
SITES = HERE / "sites"

# The real groups of the demo world (ground truth). Venues are shared on purpose: one church hosts several groups,
# and the Riverside chapter's one phone line is on all its groups.
VENUES = {
    "stmark": ("St. Mark Community Church", "415 Alder Street", "Riverton", "OR", "97301", 44.9391, -123.0331),
    "library": ("Riverton Public Library", "200 Commercial Street NE", "Riverton", "OR", "97301", 44.9429, -123.0351),
    "clinic": ("Willow Creek Wellness Center", "1780 Cedar Avenue, Suite 4", "Riverton", "OR", "97302", 44.9105, -123.0442),
    "hall": ("Lakeshore Community Hall", "62 Harbor Road", "Lakeport", "OR", "97367", 44.9751, -124.0093),
}
CHAPTER_LINE = "(503) 555-0100"

GROUPS = [
    # key, name, venue, day(s), start, end, phone, notes, online
    ("g01", "Depression and Bipolar Support Group", "stmark", [2], "19:00", "20:30", CHAPTER_LINE, "Peer-led, free, drop in.", None),
    ("g02", "Family Support Group", "stmark", [4], "19:00", "20:30", CHAPTER_LINE, "For family members and carers of adults living with mental illness.", None),
    ("g03", "Anxiety Peer Circle", "library", [1], "18:00", "19:00", "(503) 555-0111", "A peer-led group for anyone living with anxiety.", None),
    ("g04", "Grief and Loss Support Group", "stmark", [4], "13:00", "14:30", "(503) 555-0112", "For anyone grieving a loss.", None),
    ("g05", "Young Adults Mental Health Group", "clinic", [3], "17:30", "19:00", "(503) 555-0113", "Ages 18-30.", None),
    ("g06", "Postpartum Peer Support", "clinic", [6], "10:00", "11:30", "(503) 555-0114", "New and expecting parents welcome. Babies welcome.", None),
    ("g07", "Hearing Voices Group", "library", [5], "15:00", "16:30", "(503) 555-0115", "A safe space to talk about voices and visions.", None),
    ("g08", "Online Depression Support", None, [1, 3], "20:00", "21:00", None, "Meets on Zoom.", "https://zoom.example.org/j/5550123401?pwd=SecretPass1"),
    ("g09", "OCD Support Group", "hall", [2], "18:30", "20:00", "(541) 555-0116", "Open to anyone with OCD.", None),
    ("g10", "Family Support Group", "hall", [2], "18:30", "20:00", "(541) 555-0117", "For families of people with mental illness.", None),
    ("g11", "LGBTQIA+ Peer Support", "library", [0], "16:00", "17:30", "(503) 555-0118", "For LGBTQIA+ adults.", None),
    ("g12", "Veterans Peer Support", "hall", [4], "10:00", "11:00", "(541) 555-0119", "For veterans and their families.", None),
]


def venue_fields(key: str | None, style: str) -> dict[str, object]:
    if key is None:
        return {}
    name, street, city, state, zip5, lat, lng = VENUES[key]
    if style == "short":
        # The second directory abbreviates street types and writes coordinates as strings.
        street = street.replace("Street", "St.").replace("Avenue", "Ave").replace("Road", "Rd")
        return {"location": name, "address": street, "city": city, "state": state, "postal_code": zip5,
                "country": "US", "latitude": f"{lat:.5f}", "longitude": f"{lng:.5f}"}
    return {"location": name, "formatted_address": f"{street}, {city}, {state} {zip5}, USA",
            "latitude": lat, "longitude": lng}


def twelve_hour(hhmm: str) -> str:
    hour, minute = (int(part) for part in hhmm.split(":"))
    suffix = "AM" if hour < 12 else "PM"
    return f"{(hour - 1) % 12 + 1}:{minute:02d} {suffix}"


def riverside() -> list[dict[str, object]]:
    """Riverside Peer Support Network: a TSML site, tidy, numeric days, formatted addresses, one record per day."""
    meetings = []
    for key, name, venue, days, start, end, phone, notes, online in GROUPS[:9]:
        for day in days:
            slug = f"{name.lower().replace(' ', '-').replace('+', '')}-{key}" + (f"-{day}" if len(days) > 1 else "")
            meeting = {"name": name, "slug": slug, "day": day, "time": start, "end_time": end,
                       "timezone": "America/Los_Angeles", "notes": notes, "group": "Riverside Peer Support Network",
                       "url": f"https://riverside-peers.example.org/meetings/{slug}/", "types": ["O"],
                       "updated": "2026-10-01 12:00:00", **venue_fields(venue, "full")}
            if phone:
                meeting["phone"] = phone
            if online:
                meeting["conference_url"] = online
                meeting["types"] = ["O", "ONL"]
                meeting["attendance_option"] = "online"
            # A facilitator's personal contact: published by the source, never by our exports.
            meeting["contact_1_name"] = "Jordan P."
            meeting["contact_1_email"] = "jordan.p@riverside-peers.example.org"
            meetings.append(meeting)
    return meetings


LAKESHORE_NAMES = {
    "g01": "RPSN Depression & Bipolar Support",
    "g02": "Family Support Grp (St. Mark)",
    "g03": "Anxiety Peer Circle - Library",
    "g06": "Postpartum Peer Support Group",
    "g08": "Online Depression Support Group",
    "g09": "OCD Support",
    "g10": "Family Support Group",
    "g11": "LGBTQIA+ Peer Support Group",
    "g12": "Veterans Peer Support Group",
}


def lakeshore() -> list[dict[str, object]]:
    """Lakeshore Mood & Family Alliance: abbreviated names, dotted phones, 12-hour times, day names, day arrays."""
    meetings = []
    by_key = {group[0]: group for group in GROUPS}
    for number, (key, name) in enumerate(LAKESHORE_NAMES.items(), start=101):
        _, _, venue, days, start, end, phone, notes, online = by_key[key]
        day_names = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
        meeting: dict[str, object] = {
            "name": name, "slug": str(number), "day": days if len(days) > 1 else day_names[days[0]],
            "time": twelve_hour(start), "end_time": twelve_hour(end), "timezone": "America/Los_Angeles",
            "notes": f"<p>{notes}</p>", "types": ["O", "D"] if "Depression" in name else ["O"],
            "url": f"https://lakeshore-mood.example.org/groups/?id={number}", **venue_fields(venue, "short"),
        }
        if phone:
            meeting["phone"] = phone.replace("(", "").replace(") ", ".").replace("-", ".")
        if online:
            meeting["conference_url"] = online
            # Lakeshore marks online groups with its own code "V" instead of Meeting Guide's "ONL".
            meeting["types"] = ["V", "D"]
        meetings.append(meeting)
    # Records that test the pipeline's handling of bad input; each becomes a listing or a reject, never lost.
    nameless = {"slug": "900", "day": 2, "time": "7:00 PM", "notes": "Name and venue missing in the source.",
                "url": "https://lakeshore-mood.example.org/groups/?id=900", **venue_fields("hall", "short")}
    del nameless["location"]
    meetings.append(nameless)
    meetings.append({"name": "Bipolar Peer Support (Lakeport)", "slug": "901", "day": "Friday", "time": "7:00 PM",
                     "end_time": "8:30 PM", "timezone": "America/Los_Angeles", "phone": "call the hall",
                     "types": ["O"], "url": "https://lakeshore-mood.example.org/groups/?id=901",
                     **venue_fields("hall", "short")})
    meetings.append({"name": "Mood Disorders Discussion", "slug": "902", "timezone": "America/Los_Angeles",
                     "notes": "Call for times.", "phone": "541 555 0120", "types": ["O", "D"],
                     "url": "https://lakeshore-mood.example.org/groups/?id=902"})
    return meetings


def harbor_helpline() -> list[dict[str, object]]:
    """Harbor County Helpline: hands over a RawListing file instead of publishing a feed. Its schedules are words,
    its addresses one line, its phones dashed; three of its groups are also listed by the directories above."""
    return [
        {"source_id": "HH-1", "name": "Anxiety Peer Circle", "schedule_text": "Mondays 6-7pm",
         "address": "200 Commercial St NE, Riverton, OR 97301", "phone": "503-555-0111",
         "description": "Peer-led. No registration needed."},
        {"source_id": "HH-2", "name": "Hearing Voices", "schedule_text": "Fridays, 3:00–4:30 p.m.",
         "address": "200 Commercial Street Northeast, Riverton, OR 97301", "phone": "503-555-0115"},
        {"source_id": "HH-3", "name": "Grief & Loss Group", "schedule_text": "Thursdays 1-2:30pm (except holidays)",
         "address": "415 Alder St., Riverton, OR 97301", "phone": "503-555-0112"},
        {"source_id": "HH-4", "name": "Evening Depression Group", "schedule_text": "1st & 3rd Tuesdays 7pm PT",
         "address": "1780 Cedar Ave Ste 4, Riverton, OR 97302", "phone": "503-555-0121",
         "description": "Facilitated by a licensed clinical social worker. Free. Call to register."},
        {"source_id": "HH-5", "name": "Caregivers Circle (online)", "schedule_text": "Every other Wednesday 12-1",
         "conference_url": "https://zoom.example.org/j/5550123409?pwd=HelplineSecret", "region": "OR",
         "description": "For family members and carers. Password: 7319"},
        {"source_id": "HH-6", "name": "Peer Drop-In Line", "schedule_text": "Call for times",
         "phone": "541-555-0122", "region": "OR"},
    ]  # fmt: skip


def write_site(path: Path, meetings: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(meetings, indent=1, ensure_ascii=False) + "\n")


def truth_rows() -> list[tuple[str, str, str]]:
    rows = []
    for meeting in riverside():
        key = str(meeting["slug"]).split("-g")[-1].split("-")[0]
        rows.append(("riverside_peers", str(meeting["slug"]), f"g{key}"))
    for number, key in enumerate(LAKESHORE_NAMES, start=101):
        rows.append(("lakeshore_mood", str(number), key))
    rows.append(("lakeshore_mood", "901", "l901"))
    rows.append(("lakeshore_mood", "902", "l902"))
    helpline_truth = {"HH-1": "g03", "HH-2": "g07", "HH-3": "g04", "HH-4": "h04", "HH-5": "h05", "HH-6": "h06"}
    rows.extend(("harbor_helpline", source_id, key) for source_id, key in helpline_truth.items())
    return rows


def main() -> None:
    write_site(SITES / "riverside" / "wp-json" / "tsml" / "meetings.json", riverside())
    write_site(SITES / "lakeshore" / "meetings.json", lakeshore())
    (SITES / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")
    handover = HERE / "handover" / "harbor_helpline.jsonl"
    handover.parent.mkdir(parents=True, exist_ok=True)
    handover.write_text("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in harbor_helpline()))
    with (HERE / "truth.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "source_id", "group_key"])
        writer.writerows(truth_rows())


if __name__ == "__main__":
    main()
