"""Incremental re-run benchmark: what a run costs when 1% of the listings changed, against a full run.

    python -m tests.benchmarks.incremental                   # 20,000 listings, 1% changed
    python -m tests.benchmarks.incremental --listings 100000 --changed 0.01

The listings come from the seeded generator (tests/benchmarks/dedupe_data.py) as one handed-over file per
directory, ingested the way `peergroups ingest --complete` does: normalise, load in one transaction, link.

1. full: every record into an empty warehouse;
2. same: the same files again (nothing changed: every line is confirmed as the one its listing last came in,
   without being read; the link is skipped);
3. changed: the same files with a share of all records (`--changed`, default 1%) edited (a new description or
   meeting time: only the new meeting times change link keys, so only those listings are scored again).

Each step is timed end to end (reading the files to the committed transaction). Printed: seconds per step and the
ratio changed/full, the issue's goal being at most 10%; and under each step where its time went: reading (with
the lookup of stored raw hashes) and normalising, each stage of the load, and what is left (opening the warehouse,
recording the run, committing), with how the groups were linked.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from pipeline.ingest import known_raw_hashes, normalise_file, store_run


def write_sources(records: list[dict[str, Any]], folder: Path) -> list[Path]:
    """One JSON lines file per directory, as directories hand them over."""
    by_source: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_source[record["source"]].append(record)
    paths = []
    for source, items in sorted(by_source.items()):
        path = folder / f"{source}.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            for item in items:
                handle.write(json.dumps(item, ensure_ascii=False) + "\n")
        paths.append(path)
    return paths


def edit(records: list[dict[str, Any]], share: float, seed: int) -> list[dict[str, Any]]:
    """A copy with `share` of the records edited the way directories edit listings."""
    rng = random.Random(seed)
    edited = [dict(record) for record in records]
    for index in rng.sample(range(len(edited)), max(1, int(len(edited) * share))):
        record = edited[index]
        if rng.random() < 0.5:
            record["description"] = f"{record.get('description') or ''} Now meeting in the annex.".strip()
        else:
            record["schedule_text"] = rng.choice(["Mondays 6-7:30pm", "Thursdays at 7 PM", "Saturdays 10am"])
            record.pop("schedules", None)
    return edited


def ingest_all(warehouse: Path, paths: list[Path]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    known = known_raw_hashes(warehouse)
    batches = [batch for path in paths for batch in normalise_file(path, path.stem, complete=True, known=known)]
    read = time.perf_counter() - started
    report = store_run(warehouse, "ingest", batches)
    report["timings"] = {"read_and_normalise_s": round(read, 3), **report["timings"]}
    return time.perf_counter() - started, report


def breakdown(seconds: float, report: dict[str, Any]) -> str:
    """Where the time went: the stages of the run, and what is left (opening the warehouse, the run's record, the
    commit)."""
    stages = report["timings"]
    commit = seconds - sum(stages.values())
    parts = [f"{name.removesuffix('_s').replace('_', ' ')} {value:.2f}" for name, value in stages.items()]
    link = report["link"]
    rescored = f", {link['rescored']:,} listings re-scored" if link.get("rescored") is not None else ""
    return f"             {'; '.join(parts)}; connect and commit {commit:.2f} s (link: {link['kind']}{rescored})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listings", type=int, default=20_000)
    parser.add_argument("--changed", type=float, default=0.01, help="share of records edited (default 0.01)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from tests.benchmarks.dedupe_data import generate

    records = generate(args.listings, args.seed).records
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        (root / "v1").mkdir()
        (root / "v2").mkdir()
        original = write_sources(records, root / "v1")
        changed = write_sources(edit(records, args.changed, args.seed), root / "v2")
        warehouse = root / "warehouse.duckdb"
        # The generated records are the benchmark's, not the run's: kept out of the collector's way, so the runs
        # are timed with the heap a real `ingest` process has.
        del records
        gc.collect()
        gc.freeze()

        full, report = ingest_all(warehouse, original)
        print(f"full run:    {full:7.2f} s  ({report['totals']['listings']:,} listings, "
              f"{report['totals']['groups']:,} groups)")  # fmt: skip
        print(breakdown(full, report))
        same, report = ingest_all(warehouse, original)
        print(f"same again:  {same:7.2f} s  ({same / full:.1%} of the full run; nothing changed, no re-link)")
        print(breakdown(same, report))
        incremental, report = ingest_all(warehouse, changed)
        print(f"{args.changed:.0%} changed: {incremental:7.2f} s  ({incremental / full:.1%} of the full run; "
              f"{report['totals']['groups']:,} groups)")  # fmt: skip
        print(breakdown(incremental, report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
