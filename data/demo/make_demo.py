"""Writes the demo directories under data/demo/sites/ and their ground truth (data/demo/truth.csv).

Everything here is fictional: organisations, venues and people are made up, web addresses use example.org, and
phone numbers are in the 555-01xx range reserved for fiction. Run `python data/demo/make_demo.py` to regenerate;
the output is committed so that the demo and the tests never depend on running this.
"""

from __future__ import annotations

import csv
import json
import re
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
    # Groups listed only by the newer directories below (each in two of them).
    ("g13", "Bipolar Peer Support Group", "stmark", [1], "19:00", "20:30", CHAPTER_LINE, "Peer support for adults living with bipolar disorder.", None),
    ("g14", "Anxiety and Depression Lunchtime Group", "clinic", [2], "12:00", "13:00", "(503) 555-0123", "A lunchtime peer group; bring your lunch.", None),
    ("g15", "Eating Disorder Recovery Support", "hall", [3], "18:00", "19:30", "(541) 555-0124", "For adults in recovery from an eating disorder.", None),
    ("g16", "Parents of Teens Support Group", "library", [6], "10:00", "11:30", "(503) 555-0125", "For parents and carers of teenagers with mental-health conditions.", None),
    ("g17", "Women's Mood Support Group", "hall", [2], "19:00", "20:30", "(541) 555-0126", "For women living with depression or bipolar disorder. Meets 2nd and 4th Tuesdays.", None),
]
# Groups that meet on some weeks of the month only (ordinal weeks of their weekday).
MONTHLY_WEEKS = {"g17": [2, 4]}
# Groups that stopped meeting but are still listed by one stale directory (Oregon Mood Alliance's state pages).
STALE_GROUPS = [
    ("s01", "Psychosis Family Education Group", "library", "2nd & 4th Tuesdays 7-8:30pm", "(503) 555-0127"),
    ("s02", "Men's Mood Support Group", "stmark", "1st Thursday of the month, 7pm", "(503) 555-0128"),
    ("s03", "Teen Anxiety Circle", "clinic", "Wednesdays 4-5 p.m. (school year)", "(503) 555-0129"),
]
DAY_NAMES = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
ICAL_DAYS = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"]


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


def group(key: str) -> tuple:  # type: ignore[type-arg]
    return next(entry for entry in GROUPS if entry[0] == key)


def short_street(street: str) -> str:
    return street.replace("Street", "St").replace("Avenue", "Ave").replace("Road", "Rd").replace(", Suite", " Ste")


def compact_time(hhmm: str) -> str:
    """'19:00' → '7', '20:30' → '8:30' (the am/pm is written once, after the end time)."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    return f"{(hour - 1) % 12 + 1}" + (f":{minute:02d}" if minute else "")


def time_range_words(start: str, end: str) -> str:
    suffix = "am" if int(end.split(":")[0]) < 12 else "pm"
    return f"{compact_time(start)}-{compact_time(end)}{suffix}"


# --- Mid-Valley 211: an HSDS 3.0 tabular data package ---------------------------------------------------------

VALLEY211_NAMES = {
    "g03": "Anxiety Peer Support Circle",
    "g05": "Young Adult Mental Health Support Group (18-30)",
    "g06": "Postpartum Peer Support - New & Expecting Parents",
    "g14": "Anxiety & Depression Lunchtime Support Group",
    "g16": "Support Group for Parents of Teens",
}
VALLEY211_ORG = "0rg-211-0000-4000-8000-000000000001"


def service_id(key: str) -> str:
    return f"5e7v1c00-0211-4a00-8000-0000000000{key[1:]}"


def valley211() -> dict[str, list[dict[str, object]]]:
    """Mid-Valley 211: address parts with street types spelled out, dashed phones, structured weekly schedules."""
    tables: dict[str, list[dict[str, object]]] = {name: [] for name in (
        "organizations", "services", "locations", "addresses", "service_at_location", "phones", "schedules")}  # fmt: skip
    tables["organizations"].append({"id": VALLEY211_ORG, "name": "Mid-Valley 211 (fictional)", "description":
                                    "Community resource line.", "email": "", "website": "https://midvalley211.example.org/"})  # fmt: skip
    venues_seen: dict[str, str] = {}
    for key, name in VALLEY211_NAMES.items():
        _, _, venue, days, start, end, phone, notes, _ = group(key)
        sid = service_id(key)
        if venue not in venues_seen:
            location_id = f"10c00211-0000-4000-8000-00000000{len(venues_seen) + 1:04d}"
            venues_seen[venue] = location_id
            vname, street, city, state, zip5, lat, lng = VENUES[venue]
            street_1, _, street_2 = street.partition(", ")
            tables["locations"].append({"id": location_id, "location_type": "physical", "organization_id": VALLEY211_ORG,
                                        "name": vname, "latitude": lat, "longitude": lng})  # fmt: skip
            tables["addresses"].append({"id": f"add-{location_id}", "location_id": location_id, "address_1": street_1,
                                        "address_2": street_2, "city": city, "state_province": state,
                                        "postal_code": zip5, "country": "US", "address_type": "physical"})  # fmt: skip
        location_id = venues_seen[venue]
        tables["services"].append({"id": sid, "organization_id": VALLEY211_ORG, "name": name, "description": notes,
                                   "status": "active", "fees_description": "Free"})  # fmt: skip
        tables["service_at_location"].append({"id": f"sal-{sid}", "service_id": sid, "location_id": location_id})
        tables["phones"].append({"id": f"ph-{sid}", "service_id": sid, "number": str(phone).replace("(", "")
                                 .replace(") ", "-"), "type": "voice"})  # fmt: skip
        tables["schedules"].append({"id": f"sch-{sid}", "service_id": sid, "freq": "WEEKLY", "interval": 1,
                                    "byday": ",".join(ICAL_DAYS[day] for day in days), "opens_at": start,
                                    "closes_at": end, "description": f"{DAY_NAMES[days[0]]}s "
                                    f"{time_range_words(start, end)}"})  # fmt: skip
    return tables


def write_package(folder: Path, tables: dict[str, list[dict[str, object]]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    columns = {
        "organizations": ["id", "name", "description", "email", "website"],
        "services": ["id", "organization_id", "name", "description", "url", "email", "status", "fees_description"],
        "locations": ["id", "location_type", "organization_id", "name", "latitude", "longitude"],
        "addresses": ["id", "location_id", "address_1", "address_2", "city", "state_province", "postal_code",
                      "country", "address_type"],
        "service_at_location": ["id", "service_id", "location_id"],
        "phones": ["id", "service_id", "number", "extension", "type"],
        "schedules": ["id", "service_id", "freq", "interval", "byday", "opens_at", "closes_at", "description"],
    }
    singular = {"organizations": "organization", "services": "service", "locations": "location",
                "addresses": "address", "service_at_location": "service_at_location", "phones": "phone",
                "schedules": "schedule"}  # fmt: skip
    resources = []
    for table, fields in columns.items():
        with (folder / f"{table}.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="raise")
            writer.writeheader()
            writer.writerows({field: row.get(field, "") for field in fields} for row in tables[table])
        resources.append({"name": singular[table], "path": f"{table}.csv", "format": "csv", "mediatype": "text/csv",
                          "profile": "tabular-data-resource",
                          "schema": {"fields": [{"name": field, "type": "string"} for field in fields]}})  # fmt: skip
    package = {"name": "midvalley_211", "title": "Mid-Valley 211 peer support groups (fictional)",
               "profile": "tabular-data-package", "version": "3.0.0", "resources": resources}  # fmt: skip
    write_site(folder / "datapackage.json", package)  # type: ignore[arg-type]


# --- DBSA Riverton chapter: a Google Calendar feed ------------------------------------------------------------

RIVERTON_CAL_NAMES = {
    "g01": "DBSA Riverton: Depression & Bipolar Support Group",
    "g02": "DBSA Riverton: Family & Friends Support",
    "g13": "DBSA Riverton: Bipolar Peer Support",
}


def ical_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def riverton_calendar() -> str:
    """The chapter's Google Calendar: one VEVENT with an RRULE per group, one-line locations, the chapter line."""
    lines = ["BEGIN:VCALENDAR", "PRODID:-//Google Inc//Google Calendar 70.9054//EN", "VERSION:2.0",
             "CALSCALE:GREGORIAN", "METHOD:PUBLISH", "X-WR-CALNAME:DBSA Riverton Chapter (fictional) - Groups",
             "X-WR-TIMEZONE:America/Los_Angeles"]  # fmt: skip
    for key, name in RIVERTON_CAL_NAMES.items():
        _, _, venue, days, start, end, phone, notes, _ = group(key)
        vname, street, city, state, zip5, lat, lng = VENUES[venue]
        first = 4 + days[0]  # 2026-01-04 is a Sunday: the first meeting in the week that starts then
        lines += [
            "BEGIN:VEVENT",
            f"DTSTART;TZID=America/Los_Angeles:202601{first:02d}T{start.replace(':', '')}00",
            f"DTEND;TZID=America/Los_Angeles:202601{first:02d}T{end.replace(':', '')}00",
            f"RRULE:FREQ=WEEKLY;BYDAY={ICAL_DAYS[days[0]]}",
            "DTSTAMP:20261001T120000Z",
            f"UID:{key}riverton0chapter@google.com",
            f"DESCRIPTION:{ical_escape(notes + ' Questions: call the chapter line ' + str(phone) + '.')}",
            f"LOCATION:{ical_escape(f'{vname}, {short_street(street)}, {city}, {state} {zip5}, USA')}",
            f"GEO:{lat};{lng}",
            "STATUS:CONFIRMED",
            f"SUMMARY:{ical_escape(name)}",
            f"URL:https://dbsa-riverton.example.org/groups/{key}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


# --- Mid-Valley Mental Health Association: The Events Calendar ------------------------------------------------

MHA_NAMES = {
    "g07": "Hearing Voices Peer Group",
    "g11": "LGBTQIA+ Peer Support (Library)",
    "g15": "Eating Disorders Recovery Group",
    "g16": "Parents of Teens",
}
MHA_START = "2026-01-04"  # a Sunday; eight weeks of occurrences follow
MHA_WEEKS = 8


def mha_events() -> dict[str, object]:
    """Events Calendar Pro: every occurrence of a weekly group is an event of its own; venues are objects with
    their street in parts; the organiser's phone is written +1 503 555 01xx."""
    from datetime import date, timedelta

    events: list[dict[str, object]] = []
    venue_ids = {key: 300 + number for number, key in enumerate(VENUES)}
    for key, title in MHA_NAMES.items():
        _, _, venue, days, start, end, phone, notes, _ = group(key)
        vname, street, city, state, zip5, lat, lng = VENUES[venue]
        for week in range(MHA_WEEKS):
            day = date.fromisoformat(MHA_START) + timedelta(days=days[0] + 7 * week)
            event_id = 20000 + 100 * int(key[1:]) + week
            events.append({
                "id": event_id, "global_id": f"midvalley-mha.example.org?id={event_id}",
                "url": f"https://midvalley-mha.example.org/event/{key}/{day.isoformat()}/",
                "title": title.replace("&", "&amp;"), "description": f"<p>{notes}</p>",
                "all_day": False, "start_date": f"{day.isoformat()} {start}:00", "end_date": f"{day.isoformat()} {end}:00",
                "timezone": "America/Los_Angeles", "cost": "Free",
                "categories": [{"name": "Support Groups", "slug": "support-groups"}],
                "venue": {"id": venue_ids[venue], "venue": vname, "address": street, "city": city, "state": state,
                          "zip": zip5, "country": "United States", "geo_lat": lat, "geo_lng": lng},
                "organizer": [{"id": 400, "organizer": "Mid-Valley MHA (fictional)",
                               "phone": "+1 " + str(phone).replace("(", "").replace(") ", " ").replace("-", " ")}],
            })  # fmt: skip
    events.sort(key=lambda event: str(event["start_date"]))
    return {"events": events, "rest_url": "/mha/wp-json/tribe/events/v1/events?page=1", "total": len(events),
            "total_pages": 1}  # fmt: skip


# --- Coastal Wellness Collective: JSON-LD pages ---------------------------------------------------------------

COASTAL_NAMES = {
    "g09": ("ocd-support", "OCD Peer Support Group"),
    "g10": ("family-support", "Family Support Group (Lakeport)"),
    "g12": ("veterans", "Veterans & Families Peer Support"),
    "g15": ("eating-disorders", "Eating Disorder Recovery Support Group"),
    "g17": ("womens-mood", "Women's Mood Support Group"),
}


def coastal_pages() -> dict[str, str]:
    """A site whose group pages carry schema.org Events with an eventSchedule; the index links to them."""
    pages: dict[str, str] = {}
    links = []
    for key, (slug, name) in COASTAL_NAMES.items():
        _, _, venue, days, start, end, phone, notes, _ = group(key)
        vname, street, city, state, zip5, lat, lng = VENUES[venue]
        weeks = MONTHLY_WEEKS.get(key)
        schedule: dict[str, object] = {"@type": "Schedule", "repeatFrequency": "P1M" if weeks else "P1W",
                                       "byDay": [f"{week}{ICAL_DAYS[days[0]]}" for week in weeks] if weeks
                                       else f"https://schema.org/{DAY_NAMES[days[0]]}",
                                       "startTime": start, "endTime": end, "scheduleTimezone": "America/Los_Angeles"}  # fmt: skip
        node = {
            "@context": "https://schema.org", "@type": "Event",
            "@id": f"https://coastal-wellness.example.org/groups/{slug}/#event", "name": name,
            "url": f"https://coastal-wellness.example.org/groups/{slug}/", "description": notes,
            "eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode", "isAccessibleForFree": True,
            "eventSchedule": schedule,
            "location": {"@type": "Place", "name": vname, "address": {
                "@type": "PostalAddress", "streetAddress": short_street(street), "addressLocality": city,
                "addressRegion": state, "postalCode": zip5, "addressCountry": "US"}},
            "organizer": {"@type": "Organization", "name": "Coastal Wellness Collective (fictional)",
                          "telephone": str(phone).replace("(", "").replace(") ", "/")},
        }  # fmt: skip
        block = json.dumps(node, indent=1, ensure_ascii=False)
        pages[f"groups/{slug}.html"] = (
            f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{name}</title>\n'
            f'<script type="application/ld+json">\n{block}\n</script>\n</head>\n<body>\n<h1>{name}</h1>\n'
            f"<p>{notes}</p>\n</body>\n</html>\n"
        )
        links.append(f'  <li><a class="group-link" href="groups/{slug}.html">{name}</a></li>')
    pages["index.html"] = (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>Groups - Coastal Wellness Collective (fictional)</title>\n</head>\n<body>\n<h1>Our groups</h1>\n"
        '<ul class="groups">\n' + "\n".join(links) + "\n</ul>\n</body>\n</html>\n"
    )
    return pages


# --- Oregon Mood Alliance: DBSA-style state pages, not updated in a while (the stale directory) ----------------

OMA_NAMES = {
    "g01": "Riverton Depression/Bipolar Support Grp",
    "g04": "Grief & Loss Support",
    "g13": "Bipolar Support Group - St. Mark",
    "g14": "Lunchtime Anxiety/Depression Group",
    "g17": "Women's Mood Group",
}
OMA_SCHEDULES = {"g17": "2nd & 4th Tuesdays 7-8:30pm"}


def oma_blocks() -> list[tuple[str, str, str, str, str, str]]:
    """(data-id, name, location, meets, phone, group key) for every block, live groups first, then stale ones."""
    blocks = []
    for number, (key, name) in enumerate(OMA_NAMES.items(), start=1):
        _, _, venue, days, start, end, phone, _, _ = group(key)
        vname, street, city, state, zip5, *_ = VENUES[venue]
        meets = OMA_SCHEDULES.get(key) or f"{DAY_NAMES[days[0]]}s {time_range_words(start, end)}"
        digits = "".join(char for char in str(phone) if char.isdigit())
        blocks.append((f"oma-{200 + number}", name, f"{vname}, {street}, {city}, {state} {zip5}", meets,
                       f"{digits[:3]}.{digits[3:6]}.{digits[6:]}", key))  # fmt: skip
    for number, (key, name, venue, meets, phone) in enumerate(STALE_GROUPS, start=301):
        vname, street, city, state, zip5, *_ = VENUES[venue]
        blocks.append((f"oma-{number}", name, f"{vname}, {street}, {city}, {state} {zip5}", meets, phone, key))
    return blocks


def oma_pages() -> dict[str, str]:
    blocks = oma_blocks()
    halves = [blocks[:4], blocks[4:]]
    pages = {}
    for page, chunk in enumerate(halves, start=1):
        body = []
        for data_id, name, location, meets, phone, _ in chunk:
            body.append(
                f'  <div class="groupInfo" data-id="{data_id}" data-state="OR">\n'
                f'    <h3 class="groupInfo__name">{name.replace("&", "&amp;")}</h3>\n'
                f'    <p class="groupInfo__location">{location}</p>\n'
                f'    <p class="groupInfo__meets">{meets}</p>\n'
                f'    <p class="groupInfo__phone"><a href="tel:{phone}">{phone}</a></p>\n  </div>\n'
            )
        name = "state-or.html" if page == 1 else "state-or-2.html"
        pager = '  <a class="next page-numbers" href="state-or-2.html">Next »</a>\n' if page == 1 else ""
        pages[name] = (
            '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8">'
            "<title>Find a Support Group - Oregon (Oregon Mood Alliance, fictional)</title></head>\n<body>\n"
            '<main class="groupList">\n  <h1>Support groups in Oregon</h1>\n  <p>Last updated March 2023.</p>\n'
            + "".join(body) + f'  <nav class="pagination">\n{pager}  </nav>\n</main>\n</body>\n</html>\n'
        )
    return pages


def write_site(path: Path, meetings: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(meetings, indent=1, ensure_ascii=False) + "\n")


def truth_rows() -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for meeting in riverside():
        key = str(meeting["slug"]).split("-g")[-1].split("-")[0]
        rows.append(("riverside_peers", str(meeting["slug"]), f"g{key}"))
    for number, key in enumerate(LAKESHORE_NAMES, start=101):
        rows.append(("lakeshore_mood", str(number), key))
    rows.append(("lakeshore_mood", "901", "l901"))
    rows.append(("lakeshore_mood", "902", "l902"))
    helpline_truth = {"HH-1": "g03", "HH-2": "g07", "HH-3": "g04", "HH-4": "h04", "HH-5": "h05", "HH-6": "h06"}
    rows.extend(("harbor_helpline", source_id, key) for source_id, key in helpline_truth.items())
    rows.extend(("midvalley_211", service_id(key), key) for key in VALLEY211_NAMES)
    rows.extend(("dbsa_riverton_calendar", f"{key}riverton0chapter@google.com", key) for key in RIVERTON_CAL_NAMES)
    venue_ids = {key: 300 + number for number, key in enumerate(VENUES)}
    for key, title in MHA_NAMES.items():
        _, _, venue, days, start, *_ = group(key)
        series = f"series:{venue_ids[venue]}:{slugify(title)}:{ICAL_DAYS[days[0]]}:{start.replace(':', '')}"
        rows.append(("midvalley_mha", series, key))
    rows.extend(("coastal_wellness", f"https://coastal-wellness.example.org/groups/{slug}/#event", key)
                for key, (slug, _) in COASTAL_NAMES.items())  # fmt: skip
    for data_id, *_, key in oma_blocks():
        rows.append(("oregon_mood_alliance", data_id, key, "true") if key.startswith("s") else
                    ("oregon_mood_alliance", data_id, key))  # fmt: skip
    return [row if len(row) == 4 else (*row, "false") for row in rows]


def slugify(value: str) -> str:
    """As the Events Calendar spider builds its series ids: 'Parents of Teens' → 'parents-of-teens'."""
    return re.sub(r"[^a-z0-9]+", "-", value.casefold()).strip("-")


def main() -> None:
    write_site(SITES / "riverside" / "wp-json" / "tsml" / "meetings.json", riverside())
    write_site(SITES / "lakeshore" / "meetings.json", lakeshore())
    write_package(SITES / "midvalley211" / "hsds", valley211())
    (SITES / "dbsa-riverton").mkdir(parents=True, exist_ok=True)
    (SITES / "dbsa-riverton" / "groups.ics").write_bytes(riverton_calendar().encode())
    write_site(SITES / "mha" / "wp-json" / "tribe" / "events" / "v1" / "events.json", mha_events())
    for relative, text in {**{f"coastal/{k}": v for k, v in coastal_pages().items()},
                           **{f"oregon-mood/{k}": v for k, v in oma_pages().items()}}.items():  # fmt: skip
        (SITES / relative).parent.mkdir(parents=True, exist_ok=True)
        (SITES / relative).write_text(text)
    (SITES / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")
    handover = HERE / "handover" / "harbor_helpline.jsonl"
    handover.parent.mkdir(parents=True, exist_ok=True)
    handover.write_text("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in harbor_helpline()))
    with (HERE / "truth.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "source_id", "group_key", "stale"])
        writer.writerows(truth_rows())


if __name__ == "__main__":
    main()
