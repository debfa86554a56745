"""Exact-match accuracy of the free-text schedule parser on the labelled phrasings in tests/data/.

    python -m tests.benchmarks.schedule_accuracy [--show-errors] [FILE]

A reading is exact when its set of schedules (freq, interval, days, start, end, time zone) equals the label's.
Errors are of two kinds, reported apart because a wrong schedule is worse than none: "wrong" (a schedule that
differs from the label, or one where the label says there is none) and "missed" (no schedule where there is one).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.places import zone_of_place
from pipeline.schedule_text import parse_schedule_text

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "data" / "schedule_phrasings.jsonl"

ScheduleKey = tuple[str, int, tuple[str, ...], str | None, str | None, str | None]


@dataclass
class Outcome:
    case_id: str
    text: str
    verdict: str  # exact | wrong | missed
    expected: list[ScheduleKey]
    predicted: list[ScheduleKey]
    note_expected: bool
    note_predicted: bool


def _key(schedule: dict[str, Any]) -> ScheduleKey:
    return (schedule["freq"], int(schedule["interval"]), tuple(sorted(schedule["byday"])), schedule["opens_at"],
            schedule["closes_at"], schedule["timezone"])  # fmt: skip


def evaluate(path: Path) -> list[Outcome]:
    outcomes = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        case = json.loads(line)
        context = case["context"]
        zone = context.get("timezone") or zone_of_place(context.get("country"), context.get("region"))
        reading = parse_schedule_text(case["text"], zone)
        predicted = sorted(
            _key({"freq": s.freq.value, "interval": s.interval, "byday": list(s.byday),
                  "opens_at": s.opens_at.strftime("%H:%M") if s.opens_at else None,
                  "closes_at": s.closes_at.strftime("%H:%M") if s.closes_at else None, "timezone": s.timezone})
            for s in reading.schedules
        )  # fmt: skip
        expected = sorted(_key(schedule) for schedule in case["expected"]["schedules"])
        if predicted == expected:
            verdict = "exact"
        elif not predicted:
            verdict = "missed"
        else:
            verdict = "wrong"
        outcomes.append(
            Outcome(
                case["id"],
                case["text"],
                verdict,
                expected,
                predicted,
                bool(case["expected"]["has_note"]),
                reading.notes is not None,
            )
        )
    return outcomes


def report(outcomes: list[Outcome], show_errors: bool) -> str:
    total = len(outcomes)
    counts = Counter(outcome.verdict for outcome in outcomes)
    notes_right = sum(outcome.note_expected == outcome.note_predicted for outcome in outcomes)
    lines = [
        f"schedule phrasings: {total}",
        f"exact match:        {counts['exact'] / total:.1%} ({counts['exact']})",
        f"wrong schedule:     {counts['wrong'] / total:.1%} ({counts['wrong']})   <- worse than none",
        f"missed (none given):{counts['missed'] / total:.1%} ({counts['missed']})",
        f"notes kept/flagged: {notes_right / total:.1%} agree with the labels",
    ]
    if show_errors:
        for outcome in outcomes:
            if outcome.verdict != "exact":
                lines.append(f"\n[{outcome.verdict}] {outcome.case_id}: {outcome.text}")
                lines.append(f"   expected:  {outcome.expected}")
                lines.append(f"   predicted: {outcome.predicted}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--show-errors", action="store_true", help="list every phrasing not read exactly")
    args = parser.parse_args(argv)
    print(report(evaluate(args.file), args.show_errors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
