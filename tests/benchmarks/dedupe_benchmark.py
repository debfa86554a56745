"""Dedupe benchmark: pairwise precision, recall and F1, time and peak memory per stage, on labelled data.

    python -m tests.benchmarks.dedupe_benchmark                      # demo truth, generated 10k and 100k, Fodors-Zagat
    python -m tests.benchmarks.dedupe_benchmark --sizes 1000000      # the generated million
    python -m tests.benchmarks.dedupe_benchmark --matcher rules      # the deterministic rules, side by side

Sets:
- demo: the demo world (`peergroups demo` into a temporary directory) against data/demo/truth.csv;
- generated: tests/benchmarks/dedupe_data.py, seeded, with the hard negatives of issue 5, normalised once and cached;
- fodors-zagat: 864 restaurant listings from two guides with 112 labelled matches, from the py_entitymatching 0.4.2
  source distribution on PyPI (downloaded on first use; no one here wrote it).

Each size runs in its own process so peak memory (ru_maxrss) is that run's alone. Pairs are counted exactly from the
cluster × truth contingency table, never sampled.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pairwise(predicted: dict[str, str], truth: dict[str, str]) -> dict[str, float]:
    """Pairwise precision/recall/F1 of a clustering against the truth, from the contingency table."""
    frame = pd.DataFrame({"predicted": pd.Series(predicted), "truth": pd.Series(truth)}).dropna()

    def pairs(sizes: pd.Series) -> int:
        return int((sizes * (sizes - 1) // 2).sum())

    found = pairs(frame.groupby("predicted").size())
    true = pairs(frame.groupby("truth").size())
    correct = pairs(frame.groupby(["predicted", "truth"]).size())
    precision = correct / found if found else 1.0
    recall = correct / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "true_pairs": true, "found_pairs": found}


def errors(predicted: dict[str, str], truth: dict[str, str], names: dict[str, str], limit: int = 5) -> list[str]:
    """A few wrong merges and missed pairs, to say where the errors are."""
    frame = pd.DataFrame({"predicted": pd.Series(predicted), "truth": pd.Series(truth)}).dropna()
    lines = []
    mixed = frame.groupby("predicted")["truth"].nunique()
    for group in mixed[mixed > 1].index[:limit]:
        members = frame[frame["predicted"] == group]
        lines.append("wrong merge: " + " | ".join(names.get(listing, listing) for listing in members.index[:4]))
    split = frame.groupby("truth")["predicted"].nunique()
    for group in split[split > 1].index[:limit]:
        members = frame[frame["truth"] == group]
        lines.append("missed: " + " | ".join(names.get(listing, listing) for listing in members.index[:4]))
    return lines


def as_warehouse_reads(listings: pd.DataFrame, schedules: pd.DataFrame) -> tuple[Any, Any]:
    """The linkage's inputs as `refresh_groups` reads them from the warehouse: Arrow tables, times as 'HH:MM'."""
    import pyarrow as pa

    from pipeline.linkage import LINK_COLUMNS

    schedules = schedules[["listing_id", "byday", "opens_at"]].copy()
    schedules["opens_at"] = [_hhmm(value) for value in schedules["opens_at"]]
    return pa.Table.from_pandas(listings[LINK_COLUMNS], preserve_index=False), pa.Table.from_pandas(
        schedules, preserve_index=False
    )


def run_splink(listings: Any, schedules: Any, train: bool) -> tuple[dict[str, str], dict[str, float]]:
    from pipeline.linkage import link_tables

    result = link_tables(listings, schedules, train=train)
    return {m.listing_id: m.group_id for m in result.memberships}, result.timings


def _hhmm(value: Any) -> str | None:
    """'19:00' as the warehouse gives it, from a time, a string or a missing value."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return value.strftime("%H:%M") if hasattr(value, "strftime") else str(value)[:5]


def run_rules(listings: pd.DataFrame, schedules: pd.DataFrame) -> tuple[dict[str, str], dict[str, float]]:
    """The first, deterministic dedupe (pipeline/dedupe.py), for comparison."""
    from pipeline.dedupe import DedupeRecord, cluster

    started = time.perf_counter()
    slots: dict[str, set[tuple[str, str | None]]] = {}
    for row in schedules.itertuples(index=False):
        opens = _hhmm(row.opens_at)
        for day in row.byday:
            slots.setdefault(row.listing_id, set()).add((day, opens))

    def value(row: dict[str, Any], key: str) -> Any:
        item = row.get(key)
        return None if item is None or (isinstance(item, float) and pd.isna(item)) else item

    records = [
        DedupeRecord(
            listing_id=row["listing_id"], source=row["source"], name=row["name"],
            organization=value(row, "organization"), latitude=value(row, "latitude"),
            longitude=value(row, "longitude"), street=value(row, "street"), address=value(row, "address"),
            postal_code=value(row, "postal_code"), conference_url=value(row, "conference_url"),
            address_key=value(row, "address_key"), slots=frozenset(slots.get(row["listing_id"], ())),
            named_by_venue="name/missing" in list(row["field_issues"] if row["field_issues"] is not None else []),
        )
        for row in listings.to_dict("records")
    ]  # fmt: skip
    prepared = time.perf_counter() - started
    memberships = cluster(records)
    return {m.listing_id: m.group_id for m in memberships}, {
        "prepare": prepared,
        "cluster": time.perf_counter() - started - prepared,
    }


def measure(
    label: str, listings: pd.DataFrame, schedules: pd.DataFrame, truth: dict[str, str], matcher: str, train: bool
) -> dict[str, Any]:
    runner: Callable[[], tuple[dict[str, str], dict[str, float]]]
    if matcher == "rules":
        runner = lambda: run_rules(listings, schedules)  # noqa: E731
    else:
        tables = as_warehouse_reads(listings, schedules)
        runner = lambda: run_splink(*tables, train)  # noqa: E731
    started = time.perf_counter()
    predicted, timings = runner()
    elapsed = time.perf_counter() - started
    scores = pairwise(predicted, truth)
    names = dict(zip(listings["listing_id"], listings["source"] + ": " + listings["name"], strict=True))
    return {
        "set": label,
        "matcher": matcher + ("+u" if train and matcher == "splink" else ""),
        "listings": len(listings),
        "groups": len(set(predicted.values())),
        **scores,
        "seconds": elapsed,
        "stages": timings,
        "peak_mb": peak_mb(),
        "errors": errors(predicted, truth, names),
    }


def prepare_generated(size: int, seed: int, cache: Path) -> dict[str, Any]:
    """Generate and normalise a set once (cached), and keep its truth beside it. Returns where and how long."""
    from tests.benchmarks.dedupe_data import DEFAULT_CACHE, generate, normalised_frames

    started = time.perf_counter()
    synthetic = generate(size, seed)
    folder = Path(cache or DEFAULT_CACHE) / f"dedupe-{synthetic.cache_key}"
    if not (folder / "truth.parquet").exists():
        normalised_frames(synthetic, cache_dir=cache)
        truth = pd.DataFrame({"listing_id": list(synthetic.truth), "truth": list(synthetic.truth.values())})
        truth.to_parquet(folder / "truth.parquet", index=False)
    return {"folder": str(folder), "seconds": time.perf_counter() - started, "peak_mb": peak_mb()}


def generated(folder: Path, size: int, matcher: str, train: bool) -> dict[str, Any]:
    """Link a prepared set, reading only the columns the linkage reads, so peak memory is the linkage's own."""
    import pyarrow.parquet as pq

    from pipeline.linkage import LINK_COLUMNS

    columns = LINK_COLUMNS if matcher == "splink" else None
    listings = pq.read_table(folder / "listings.parquet", columns=columns).to_pandas()
    schedules = pq.read_table(folder / "schedules.parquet", columns=["listing_id", "byday", "opens_at"]).to_pandas()
    truth_frame = pq.read_table(folder / "truth.parquet").to_pandas()
    truth = dict(zip(truth_frame["listing_id"], truth_frame["truth"], strict=True))
    del truth_frame
    return measure(f"generated {size:,}", listings, schedules, truth, matcher, train)


def fodors_zagat(matcher: str, train: bool, cache: Path) -> dict[str, Any]:
    from tests.benchmarks.dedupe_data import normalised_frames
    from tests.benchmarks.public_sets import fodors_zagat as load

    records, truth = load(cache)
    listings, schedules, _ = normalised_frames(records, processes=1)
    return measure("fodors-zagat", listings, schedules, truth, matcher, train)


def demo(matcher: str, train: bool) -> dict[str, Any]:
    """The demo world, crawled and loaded by the real CLI, re-linked here from its warehouse."""
    import duckdb

    from pipeline.normalise import listing_id

    with tempfile.TemporaryDirectory() as work:
        warehouse = Path(work) / "warehouse.duckdb"
        subprocess.run(
            [sys.executable, "-m", "flows.cli", "demo", "--warehouse", str(warehouse), "--exports", f"{work}/exports"],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        con = duckdb.connect(str(warehouse), read_only=True)
        listings = con.execute("SELECT * FROM listings").df()
        schedules = con.execute(
            "SELECT listing_id, byday, left(CAST(opens_at AS VARCHAR), 5) AS opens_at FROM listing_schedules"
        ).df()
        con.close()
    with (ROOT / "data" / "demo" / "truth.csv").open() as handle:
        truth = {listing_id(row["source"], row["source_id"]): row["group_key"] for row in csv.DictReader(handle)}
    return measure("demo", listings, schedules, truth, matcher, train)


def show(result: dict[str, Any]) -> None:
    stages = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in result["stages"].items())
    print(
        f"{result['set']:<20} {result['matcher']:<8} {result['listings']:>9,} listings → "
        f"{result['groups']:>9,} groups  "
        f"P {result['precision']:.4f}  R {result['recall']:.4f}  F1 {result['f1']:.4f}  "
        f"({result['true_pairs']:,} true pairs)  {result['seconds']:.1f}s [{stages}]  peak {result['peak_mb']:,.0f} MB"
    )
    for line in result["errors"]:
        print(f"{'':<29} {line[:160]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--sets", default="demo,generated,fodors-zagat", help="comma-separated: demo,generated,fodors-zagat"
    )
    parser.add_argument("--sizes", default="10000,100000", help="generated sizes (default 10000,100000)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--matcher", choices=["splink", "rules", "both"], default="splink")
    parser.add_argument("--train", action="store_true", help="re-estimate u by random sampling before predicting")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "peergroups-bench")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one job in this process, print JSON
    args = parser.parse_args(argv)

    if args.one:
        kind, matcher, value = args.one.split(":", 2)
        if kind == "prepare":
            result = prepare_generated(int(value), args.seed, args.cache)
        elif kind == "generated":
            size, folder = value.split(":", 1)
            result = generated(Path(folder), int(size), matcher, args.train)
        elif kind == "demo":
            result = demo(matcher, args.train)
        else:
            result = fodors_zagat(matcher, args.train, args.cache)
        print("RESULT " + json.dumps(result))
        return 0

    matchers = ["splink", "rules"] if args.matcher == "both" else [args.matcher]
    jobs = []
    for kind in args.sets.split(","):
        for matcher in matchers:
            if kind == "generated":
                jobs += [f"generated:{matcher}:{size}" for size in args.sizes.split(",")]
            else:
                jobs.append(f"{kind}:{matcher}:0")
    prepared: dict[str, dict[str, Any]] = {}
    for job in jobs:
        kind, matcher, value = job.split(":")
        if kind == "generated":
            if value not in prepared:
                prepared[value] = _run_job(f"prepare:-:{value}", args) or {}
                if prepared[value]:
                    print(f"generated {int(value):,}: data generated and normalised (or read from the cache) in "
                          f"{prepared[value]['seconds']:.1f}s, {prepared[value]['folder']}")  # fmt: skip
            if not prepared[value]:
                continue
            job = f"generated:{matcher}:{value}:{prepared[value]['folder']}"
        result = _run_job(job, args)
        if result:
            show(result)
    return 0


def _run_job(job: str, args: argparse.Namespace) -> dict[str, Any] | None:
    """One job in its own process (so its peak memory is its own); its RESULT line, or None after saying why."""
    print(f"… {job.split(':/')[0]}", file=sys.stderr, flush=True)
    command = [sys.executable, "-m", "tests.benchmarks.dedupe_benchmark", "--one", job, "--seed", str(args.seed),
               "--cache", str(args.cache)] + (["--train"] if args.train else [])  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        print(f"{job}: failed\n{done.stderr[-2000:]}")
        return None
    return json.loads(lines[-1][len("RESULT ") :])


if __name__ == "__main__":
    raise SystemExit(main())
