"""Normalisation speed on one core: listings per second over generated raw listings, and where the time goes.

    python -m tests.benchmarks.normalise_speed [--listings 100000] [--venues 20000] [--profile]

The generated listings vary the way real directories do: one-line and split addresses (venues host several
groups, so addresses repeat), phones in several formats, structured Meeting Guide schedules and free-text ones,
HTML descriptions, join links, type codes. The run is single-process, so the figure is per core.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sys
import time
from collections import Counter
from typing import Any

from pipeline.normalise import Reject, normalise

STREETS = ["Alder", "Maple", "Cedar", "Main", "Oak", "Pine", "Harbor", "Lake", "Hill", "Church", "Elm", "Mill"]
TYPES = ["Street", "St.", "Avenue", "Ave", "Road", "Rd", "Boulevard", "Lane", "Drive", "Way"]
PLACES = [("Riverton", "OR", "97301"), ("Springfield", "IL", "62704"), ("Lakeport", "OR", "97367"),
          ("Fairview", "GA", "30301"), ("Greenville", "NC", "27601"), ("Madison", "WI", "53703"),
          ("Franklin", "TN", "37064"), ("Clinton", "CO", "80202"), ("Salem", "MA", "01970")]  # fmt: skip
NAMES = ["Depression and Bipolar Support Group", "Family Support Group", "Anxiety Peer Circle", "Grief Support",
         "Young Adults Mental Health Group", "Postpartum Peer Support", "Hearing Voices Group", "OCD Support Group",
         "LGBTQIA+ Peer Support", "Veterans Peer Support", "Suicide Loss Survivors",
         "Eating Disorder Recovery"]  # fmt: skip
SCHEDULE_TEXTS = ["2nd and 4th Wednesdays 6-7:30pm", "Tuesdays 7pm ET", "Mon & Thu 10:00am-11:30am",
                  "Last Friday of every month 6:30pm", "Call for times", "Every other Sunday 2-4pm",
                  "1st Tuesday 7pm; 3rd Tuesday 1pm", "Weekdays at noon (except holidays)"]  # fmt: skip


def generate(count: int, venues: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    venue_rows = []
    for _ in range(venues):
        city, state, zip5 = rng.choice(PLACES)
        street = f"{rng.randint(1, 9999)} {rng.choice(['', 'N ', 'South '])}{rng.choice(STREETS)} {rng.choice(TYPES)}"
        unit = rng.choice(["", "", "", ", Suite 4", ", Room 12"])
        venue_rows.append((street, unit, city, state, zip5, 35 + rng.random() * 10, -120 + rng.random() * 40))
    records = []
    for number in range(count):
        street, unit, city, state, zip5, lat, lng = rng.choice(venue_rows)
        record: dict[str, Any] = {
            "source": f"directory_{number % 7}",
            "source_id": str(number),
            "source_url": f"https://directory.example.org/groups/{number}",
            "name": rng.choice(NAMES) + rng.choice(["", " (Riverton)", " - Library", ""]),
            # Half the descriptions are a programme's boilerplate (shared by many groups), half are the group's own.
            "description": rng.choice(["<p>Free, peer-led. Drop in.</p>", "For families and caregivers.", None,
                                       "Registration required. Led by a licensed therapist. $10 per session."])
            if rng.random() < 0.5 else f"Meets at {street}, {city}. Ask for {rng.choice(NAMES)} (group {number}); "
            f"{rng.choice(['free', 'donations welcome', 'call to register', 'peer-led'])}.",
            "phone": f"({rng.randint(200, 989)}) 555-01{rng.randint(0, 99):02d}"
            if rng.random() < 0.5 else f"{rng.randint(200, 989)}.555.01{rng.randint(0, 99):02d}",
            "country": "US",
        }  # fmt: skip
        if rng.random() < 0.5:
            record["address"] = f"{street}{unit}, {city}, {state} {zip5}"
        else:
            record.update(street=street + unit, city=city, region=state, postal_code=zip5)
        if rng.random() < 0.6:
            record.update(latitude=f"{lat:.5f}", longitude=f"{lng:.5f}")
        if rng.random() < 0.6:
            record["schedules"] = [{"day": rng.randint(0, 6), "time": "19:00", "end_time": "20:30"}]
            record["types"] = rng.choice([["O"], ["O", "W"], ["ONL"], []])
        else:
            record["schedule_text"] = rng.choice(SCHEDULE_TEXTS)
        if rng.random() < 0.15:
            record["conference_url"] = f"https://zoom.example.org/j/{rng.randint(10**9, 10**10)}?pwd=x{number}"
        records.append(record)
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--venues", type=int, default=20_000, help="distinct addresses the listings share")
    parser.add_argument("--profile", action="store_true", help="also profile and print where the time goes")
    args = parser.parse_args(argv)

    records = generate(args.listings, args.venues)
    normalise(records[0])  # warm the caches that load once (ZIP table, zone list)
    started = time.perf_counter()
    outcomes = Counter("reject" if isinstance(normalise(record), Reject) else "listing" for record in records)
    elapsed = time.perf_counter() - started
    print(f"normalised {len(records):,} raw listings ({args.venues:,} distinct venues) in {elapsed:.1f} s "
          f"on one core: {len(records) / elapsed:,.0f} listings/s  ({dict(outcomes)})")  # fmt: skip

    if args.profile:
        sample = generate(min(args.listings, 20_000), min(args.venues, 4_000), seed=11)
        profiler = cProfile.Profile()
        profiler.enable()
        for record in sample:
            normalise(record)
        profiler.disable()
        stats = pstats.Stats(profiler)
        by_area: Counter[str] = Counter()
        for (filename, _, function), (_, _, own_time, _, _) in stats.stats.items():  # type: ignore[attr-defined]
            by_area[_area(filename, function)] += own_time
        total = sum(by_area.values())
        print(f"\nwhere the time goes (own time, profiled run of {len(sample):,} listings):")
        for area, seconds in by_area.most_common(12):
            print(f"  {area:40} {seconds / total:6.1%}")
    return 0


def _area(filename: str, function: str) -> str:
    if filename == "~":  # C code: name it by what it belongs to
        for needle, area in (("re.Pattern", "regular expressions (C)"), ("pydantic_core", "pydantic-core validation"),
                             ("crfsuite", "usaddress CRF tagger"), ("Tagger", "usaddress CRF tagger")):  # fmt: skip
            if needle in function:
                return area
        return "other built-ins"
    for marker in ("pipeline/", "schemas/", "site-packages/"):
        if marker in filename:
            tail = filename.split(marker, 1)[1]
            return (marker if marker != "site-packages/" else "") + tail.split("/")[0].removesuffix(".py")
    return "python stdlib" if "/lib/python" in filename else filename.rsplit("/", 1)[-1]


if __name__ == "__main__":
    sys.exit(main())
