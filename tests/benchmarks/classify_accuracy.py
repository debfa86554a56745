"""Per-field accuracy of topic, audience, cost, language, faith, leadership and registration classification on
the labelled listings in tests/data/listing_labels.jsonl.

    python -m tests.benchmarks.classify_accuracy [--show-errors FIELD] [FILE]

Set-valued fields (topics, audiences) count as right only when the whole set matches; their micro precision and
recall are printed beside it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pipeline.classify import classify_listing

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "data" / "listing_labels.jsonl"
FIELDS = ("topics", "audiences", "cost", "language", "faith_based", "led_by", "registration")


def predict(listing: dict[str, Any]) -> dict[str, Any]:
    result = classify_listing(
        name=listing["name"],
        description=listing.get("description"),
        types=listing.get("types") or [],
        source_topics=listing.get("source_topics") or [],
        source_audiences=listing.get("source_audiences") or [],
        cost=listing.get("cost"),
        language=listing.get("language"),
    )
    return {
        "topics": sorted(topic.value for topic in result.topics),
        "audiences": sorted(audience.value for audience in result.audiences),
        "cost": result.cost.value,
        "language": result.language,
        "faith_based": result.faith_based,
        "led_by": result.led_by,
        "registration": result.registration,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--show-errors", choices=FIELDS, help="list the listings this field got wrong")
    args = parser.parse_args(argv)

    cases = [json.loads(line) for line in args.file.read_text(encoding="utf-8").splitlines() if line.strip()]
    right = dict.fromkeys(FIELDS, 0)
    set_counts = {field: {"tp": 0, "fp": 0, "fn": 0} for field in ("topics", "audiences")}
    errors: list[str] = []
    for case in cases:
        predicted, expected = predict(case["listing"]), case["expected"]
        for field in FIELDS:
            want = sorted(expected[field]) if field in set_counts else expected[field]
            if predicted[field] == want:
                right[field] += 1
            elif field == args.show_errors:
                errors.append(
                    f"{case['id']} {case['listing']['name']!r}\n   expected {want}\n   got      {predicted[field]}"
                )
        for field, counts in set_counts.items():
            got, want_set = set(predicted[field]), set(expected[field])
            counts["tp"] += len(got & want_set)
            counts["fp"] += len(got - want_set)
            counts["fn"] += len(want_set - got)

    print(f"labelled listings: {len(cases)}")
    for field in FIELDS:
        line = f"{field:13} {right[field] / len(cases):6.1%} exact"
        if field in set_counts:
            counts = set_counts[field]
            precision = counts["tp"] / max(1, counts["tp"] + counts["fp"])
            recall = counts["tp"] / max(1, counts["tp"] + counts["fn"])
            line += f"   (labels: precision {precision:.1%}, recall {recall:.1%})"
        print(line)
    for error in errors:
        print(error)
    return 0


if __name__ == "__main__":
    sys.exit(main())
