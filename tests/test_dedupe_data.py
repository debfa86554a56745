"""The synthetic dedupe benchmark set: deterministic, normalisable, truthful, and holding its hard negatives.

Checked on the records as a matcher sees them (after normalisation), not only on how the generator describes them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest

from pipeline.normalise import listing_id
from pipeline.warehouse import LISTING_COLUMNS
from tests.benchmarks.dedupe_data import SyntheticSet, generate, hard_negative_counts, normalised_frames

N = 2000


@pytest.fixture(scope="module")
def synthetic() -> SyntheticSet:
    return generate(N, seed=0)


@pytest.fixture(scope="module")
def frames(synthetic: SyntheticSet) -> tuple[pd.DataFrame, pd.DataFrame, list]:
    return normalised_frames(synthetic.records, processes=1)


def test_generate_is_deterministic_for_a_seed(synthetic: SyntheticSet) -> None:
    again = generate(N, seed=0)
    assert again.records == synthetic.records
    assert again.truth == synthetic.truth
    assert generate(N, seed=1).records != synthetic.records


def test_truth_covers_every_record_once(synthetic: SyntheticSet) -> None:
    assert len(synthetic.records) == N
    ids = [listing_id(record["source"], record["source_id"]) for record in synthetic.records]
    assert len(set(ids)) == N
    assert set(ids) == set(synthetic.truth)
    assert set(synthetic.truth.values()) == set(synthetic.groups["truth_id"])
    # Most groups are listed by one or two directories, none by more than four.
    directories = synthetic.groups["sources"].str.count(",") + 1
    assert directories.max() <= 4
    assert (directories <= 2).mean() > 0.6


def test_fixtures_are_fictional(synthetic: SyntheticSet) -> None:
    fictional_phone = re.compile(r"555\D?01\d\d")  # <area> 555-01xx
    for record in synthetic.records:
        for key in ("phone", "conference_phone", "email", "website", "conference_url", "source_url"):
            value = record.get(key)
            if value is None:
                continue
            if key.endswith("phone") and any(char.isdigit() for char in value):
                assert fictional_phone.search(value), value
            elif not key.endswith("phone"):
                assert "example.org" in value or "example,org" in value, value


def test_records_normalise_into_listings(synthetic: SyntheticSet, frames: tuple) -> None:
    listings, schedules, rejects = frames
    assert len(listings) + len(rejects) == N
    assert len(rejects) <= N * 0.005, [reject.reasons for reject in rejects[:5]]
    assert set(listings["listing_id"]) <= set(synthetic.truth)
    assert list(listings.columns) == [*LISTING_COLUMNS, "group_id", "first_seen_at", "last_seen_at"]
    assert isinstance(listings["field_issues"].iloc[0], list)
    assert str(listings["first_seen_at"].dtype) == "datetime64[us, UTC]"
    assert listings["group_id"].isna().all()
    # Nearly every listing has a schedule or says why not; most have a standardised address.
    assert (listings["schedule_source"].isin(["structured", "text"])).mean() > 0.8
    assert listings["address_key"].notna().mean() > 0.8
    assert set(schedules["listing_id"]) <= set(listings["listing_id"])


def test_hard_negatives_are_present(synthetic: SyntheticSet, frames: tuple) -> None:
    listings = frames[0].assign(truth=lambda frame: frame["listing_id"].map(synthetic.truth))

    def most_groups_sharing(column: str) -> int:
        return int(listings.dropna(subset=[column]).groupby(column)["truth"].nunique().max())

    assert most_groups_sharing("address_key") >= 2  # a venue hosting several groups
    assert most_groups_sharing("phone") >= 5  # a chapter's one line on many groups
    assert most_groups_sharing("conference_url") >= 2  # an intergroup's Zoom room at different times
    # A generic name in many towns, each a different group.
    generic = listings.groupby("name").agg(groups=("truth", "nunique"), towns=("postal_code", "nunique"))
    assert (generic["towns"] >= 10).any()

    counts = hard_negative_counts(synthetic)
    for kind in (
        "churches_with_chapter_and_grief_groups_on_other_days",
        "fellowship_venues_with_differently_named_meetings",
        "venues_with_similar_named_groups",
        "chapter_lines_on_5plus_groups",
        "zoom_links_shared_by_2plus_groups",
    ):
        assert counts[kind] > 0, kind


def test_a_daily_group_published_as_seven_rows_is_one_group(synthetic: SyntheticSet, frames: tuple) -> None:
    listings, schedules, _ = frames
    rows: dict[tuple[str, str], list[str]] = defaultdict(list)
    for record in synthetic.records:
        key = listing_id(record["source"], record["source_id"])
        rows[(synthetic.truth[key], record["source"])].append(key)
    sevens = [ids for ids in rows.values() if len(ids) == 7]
    assert sevens
    days = schedules[schedules["listing_id"].isin(sevens[0])]["byday"].map(tuple)
    assert sorted(days) == sorted((code,) for code in ("SU", "MO", "TU", "WE", "TH", "FR", "SA"))
    assert listings[listings["listing_id"].isin(sevens[0])]["name"].nunique() == 1


def test_frames_in_processes_and_from_the_cache_are_the_same(synthetic: SyntheticSet, tmp_path: Path) -> None:
    sample = generate(600, seed=3)
    direct, direct_schedules, _ = normalised_frames(sample.records, processes=1)
    listings, schedules, rejects = normalised_frames(sample, processes=2, cache_dir=tmp_path, chunk_size=150)
    assert (tmp_path / f"dedupe-{sample.cache_key}" / "done").exists()
    cached, cached_schedules, cached_rejects = normalised_frames(sample, processes=2, cache_dir=tmp_path)
    for frame in (listings, cached):
        pd.testing.assert_frame_equal(frame.drop(columns=["group_id"]), direct.drop(columns=["group_id"]))
    for frame in (schedules, cached_schedules):
        pd.testing.assert_frame_equal(frame, direct_schedules)
    assert len(rejects) == len(cached_rejects)
    assert isinstance(cached["topics"].iloc[0], list)
