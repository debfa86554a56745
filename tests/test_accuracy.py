"""Accuracy floors on the labelled sets in tests/data/ (regressions fail here; figures come from the benchmarks)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from tests.benchmarks.classify_accuracy import predict
from tests.benchmarks.schedule_accuracy import evaluate

DATA = Path(__file__).parent / "data"
SCHEDULE_SETS = ["schedule_phrasings.jsonl", "schedule_phrasings_holdout.jsonl", "schedule_phrasings_blind2.jsonl"]
LISTING_SETS = ["listing_labels.jsonl", "listing_labels_holdout.jsonl"]


@pytest.mark.parametrize("name", SCHEDULE_SETS)
def test_schedule_phrasings_are_read_exactly(name: str) -> None:
    outcomes = evaluate(DATA / name)
    verdicts = Counter(outcome.verdict for outcome in outcomes)
    assert len(outcomes) >= 150
    assert verdicts["exact"] / len(outcomes) >= 0.97
    # A wrong schedule sends someone to a meeting that is not there: at most one in a hundred.
    assert verdicts["wrong"] / len(outcomes) <= 0.01


@pytest.mark.parametrize("name", LISTING_SETS)
def test_topics_are_classified(name: str) -> None:
    cases = [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]
    right = sum(predict(case["listing"])["topics"] == sorted(case["expected"]["topics"]) for case in cases)
    assert len(cases) >= 130
    assert right / len(cases) >= 0.90
