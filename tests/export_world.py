"""A small synthetic world for the Meeting Guide and iCalendar export tests: raw records from two fictional
directories, loaded into a real warehouse through the same steps a crawl uses (`normalise_batch`, `store_run`).

Fictional organisations, example.org domains, 555-01xx phone numbers. The records cover what the exports must
handle: a weekly group on several days (listed by both directories), a monthly "first Monday" group, a monthly
"last Friday" group with an end date, an every-other-week group, a weekly group with no time, an online group with
a join link carrying a password, an online group with no zone, a hybrid group meeting twice on one day in another
zone, a temporarily closed group, a group that stopped meeting, a group with no schedule in Spanish, HTML and
e-mail addresses in descriptions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from pipeline.ingest import normalise_batch, store_run

# Names the tests look groups up by.
WEEKLY_MULTI_DAY = "Evening Anxiety Circle"
FIRST_MONDAY = "First Monday Family Group"
LAST_FRIDAY = "Last Friday Grief Group"
EVERY_OTHER_WEEK = "Every Other Sunday Bipolar Group"
NO_TIME = "Thursday Drop-in Hour"
ONLINE = "Online Bipolar Support"
ONLINE_NO_ZONE = "Night Owls Online Peer Support"
HYBRID = "Saturday Women's Circle"
TEMPORARILY_CLOSED = "Friday Hearing Voices Group"
INACTIVE = "Old Tuesday OCD Group"
NO_SCHEDULE = "Grupo de apoyo para familias"
WITHDRAWN = "Withdrawn Wednesday Group"  # made `withdrawn` by `mark_withdrawn`, as a later step would

SECRET = "s3cretpass"  # a join-link password that must never reach an export
EMAILS = ("circle@example.org", "jane.doe@example.org", "family@example.org")


def harbor_records() -> list[dict[str, Any]]:
    """A helpline's handed-over file (the raw shape of data/demo/handover/harbor_helpline.jsonl)."""
    return [
        {
            "source_id": "HB-1",
            "source_url": "https://harbor.example.org/groups/1",
            "name": "Evening <b>Anxiety</b> Circle",
            "organization": "Harbor Peer Network",
            "description": "<p>Peer-led &amp; free.<br>Questions? Write to <a href='mailto:jane.doe@example.org'>"
            "jane.doe@example.org</a></p><script>alert(1)</script>",
            "address": "12 Bay Road, Lakeport, OR 97367",
            "latitude": "44.9501",
            "longitude": "-124.0102",
            "phone": "541-555-0130",
            "email": "circle@example.org",
            "types": ["O"],
            "schedules": [{"day": [1, 3], "time": "19:00", "end_time": "20:30"}],
        },
        {
            "source_id": "HB-2",
            "source_url": "https://harbor.example.org/groups/2",
            "name": FIRST_MONDAY,
            "address": "415 Alder St, Riverton, OR 97301",
            "phone": "503-555-0112",
            "schedule_text": "First Monday of the month 6:30-8pm (except holidays)",
        },
        {
            "source_id": "HB-3",
            "name": LAST_FRIDAY,
            "address": "415 Alder St, Riverton, OR 97301",
            "phone": "503-555-0113",
            "schedule_text": "Last Friday of the month 1-2pm through December 31, 2027",
        },
        {
            "source_id": "HB-4",
            "name": EVERY_OTHER_WEEK,
            "address": "200 Commercial St NE, Riverton, OR 97301",
            "phone": "503-555-0114",
            "schedule_text": "every other Sunday 2pm",
        },
        {
            "source_id": "HB-5",
            "name": NO_TIME,
            "address": "200 Commercial St NE, Riverton, OR 97301",
            "phone": "503-555-0115",
            "schedules": [{"day": "Thursday"}],
        },
        {
            "source_id": "HB-6",
            "source_url": "https://harbor.example.org/groups/6",
            "name": ONLINE,
            "city": "Portland",
            "region": "OR",
            "conference_url": f"https://zoom.example.org/j/5550123?pwd={SECRET}",
            "conference_phone": "+16465550100,,5550123#,,,,*99#",
            "schedules": [
                {"day": "Tuesday", "time": "6:00 PM", "end_time": "7:00 PM", "timezone": "America/Los_Angeles"}
            ],
        },
        {
            "source_id": "HB-7",
            "name": ONLINE_NO_ZONE,
            "conference_url": "https://zoom.example.org/j/5550199",
            "schedules": [{"day": 2, "time": "22:00"}],
        },
        {
            "source_id": "HB-8",
            "name": TEMPORARILY_CLOSED,
            "address": "415 Alder St, Riverton, OR 97301",
            "phone": "503-555-0116",
            "types": ["TC", "O"],
            "schedules": [{"day": 5, "time": "15:00", "end_time": "16:30"}],
        },
        {
            "source_id": "HB-9",
            "name": INACTIVE,
            "address": "415 Alder St, Riverton, OR 97301",
            "phone": "503-555-0117",
            "status": "closed",
            "schedules": [{"day": 2, "time": "10:00"}],
        },
        {
            "source_id": "HB-10",
            "name": NO_SCHEDULE,
            "description": "Reunión para familias y personas. Escriba a family@example.org",
            "address": "200 Commercial St NE, Riverton, OR 97301",
            "phone": "503-555-0118",
            "schedule_text": "Llame para horarios",
        },
        {
            "source_id": "HB-11",
            "name": WITHDRAWN,
            "address": "12 Bay Road, Lakeport, OR 97367",
            "phone": "541-555-0119",
            "schedules": [{"day": 3, "time": "12:00"}],
        },
    ]


def lakeshore_records() -> list[dict[str, Any]]:
    """A second directory: lists the multi-day group again (one page a day), and a group in another state."""
    return [
        {
            "source_id": "ls-anxiety",
            "source_url": "https://lakeshore.example.org/meetings/ls-anxiety",
            "name": WEEKLY_MULTI_DAY,
            "address": "12 Bay Rd, Lakeport, OR 97367",
            "phone": "(541) 555-0130",
            "schedules": [{"day": "Monday", "time": "7:00 PM", "end_time": "8:30 PM"}],
        },
        {
            # The same group again, its Wednesday on a page of its own (directories often list one row a day).
            "source_id": "ls-anxiety-wed",
            "source_url": "https://lakeshore.example.org/meetings/ls-anxiety-wed",
            "name": WEEKLY_MULTI_DAY,
            "address": "12 Bay Rd, Lakeport, OR 97367",
            "phone": "(541) 555-0130",
            "schedules": [{"day": "Wednesday", "time": "7:00 PM", "end_time": "8:30 PM"}],
        },
        {
            "source_id": "ls-women",
            "source_url": "https://lakeshore.example.org/meetings/ls-women",
            "name": HYBRID,
            "audiences": ["women"],
            "address": "120 Lake St, Springfield, IL 62701",
            "conference_url": "https://meet.example.org/abc-defg-hij?passcode=2468",
            "schedules": [
                {"day": [4, 6], "time": "10:00", "end_time": "11:00"},
                {"day": 6, "time": "14:00", "end_time": "15:30"},
            ],
        },
    ]


def build_warehouse(path: Path) -> Path:
    """Load both directories in one run and dedupe, as `peergroups ingest` would; then withdraw one group."""
    load(path)
    mark_withdrawn(path, WITHDRAWN)
    return path


def load(path: Path) -> dict[str, Any]:
    """One ingest run of both directories' records (run again, it re-confirms the same listings)."""
    batches = [
        normalise_batch("harbor_helpline", harbor_records()),
        normalise_batch("lakeshore_dir", lakeshore_records()),
    ]
    for batch in batches:
        assert not batch.rejects, batch.rejects
    return store_run(path, "ingest", batches)


def mark_withdrawn(path: Path, name: str) -> None:
    """Set a group's status to `withdrawn`, the status a group no directory lists any more is given."""
    con = duckdb.connect(str(path))
    try:
        con.execute("UPDATE groups SET status = 'withdrawn' WHERE name = ?", [name])
    finally:
        con.close()


def group_table(path: Path) -> dict[str, dict[str, Any]]:
    """name → the group's row, read back from the warehouse for comparisons."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        cursor = con.execute("SELECT * FROM groups")
        names = [column[0] for column in cursor.description or []]
        return {row[names.index("name")]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
    finally:
        con.close()
