"""Prefect flows: crawl sources (each in its own process, concurrently, with retries), normalise, store, export.

Import this module only after `flows.prefect_env.configure_prefect` has run (the CLI does it).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed

from flows.crawl import CrawlOutcome, crawl_source
from flows.registry import Source
from pipeline.export import export
from pipeline.ingest import known_raw_hashes, new_run_id, normalise_batch, normalise_file, read_jsonl, store_run
from pipeline.runs import signed
from pipeline.warehouse import SourceBatch, connect


class SourceCrawlFailed(RuntimeError):
    """Raised inside the crawl task so Prefect retries it; carries the last outcome for the report."""

    def __init__(self, outcome: CrawlOutcome) -> None:
        super().__init__(f"{outcome.source}: {outcome.error}")
        self.outcome = outcome


def progress(message: str) -> None:
    """Progress for the person at the terminal; Prefect's own log lines go to its run logs."""
    print(message, file=sys.stderr, flush=True)


@task(retries=1, retry_delay_seconds=3, cache_policy=NO_CACHE, task_run_name="crawl-{source.name}")
def crawl_task(source: Source, raw_dir: Path, extra_settings: dict[str, Any], cache_dir: Path) -> CrawlOutcome:
    outcome = crawl_source(source, raw_dir / f"{source.name}.jsonl", extra_settings, cache_dir)
    if outcome.status == "failed" and outcome.retryable:
        raise SourceCrawlFailed(outcome)
    return outcome


@task(cache_policy=NO_CACHE, task_run_name="normalise-{outcome.source}")
def normalise_task(outcome: CrawlOutcome, known: dict[str, str]) -> SourceBatch:
    if outcome.status == "failed":
        batch = SourceBatch(outcome.source, [], [], [])
    else:
        records = read_jsonl(outcome.items_path) if outcome.items_path.exists() else []
        batch = normalise_batch(outcome.source, records, known=known)
    batch.status = outcome.status
    batch.complete = outcome.status == "ok"  # a finished, healthy crawl lists all the source has
    batch.error = outcome.error
    batch.duration_s = round(outcome.duration_s, 2)
    batch.crawl_stats = outcome.summary_stats()
    return batch


@task(cache_policy=NO_CACHE)
def store_task(
    warehouse: Path,
    kind: str,
    batches: list[SourceBatch],
    run_id: str,
    trust: dict[str, int] | None = None,
    wait_s: float = 0,
) -> dict[str, Any]:
    return store_run(warehouse, kind, batches, run_id, trust=trust, wait_s=wait_s)


@task(cache_policy=NO_CACHE)
def export_task(warehouse: Path, out_dir: Path, formats: Sequence[str]) -> list[Path]:
    con = connect(warehouse)
    try:
        return [path for fmt in formats for path in export(con, out_dir, fmt)]
    finally:
        con.close()


@flow(name="peergroups-build", flow_run_name="build-{kind}")
def build_flow(
    sources: list[Source],
    warehouse: Path,
    raw_root: Path,
    kind: str = "run",
    extra_settings: dict[str, Any] | None = None,
    export_dir: Path | None = None,
    export_formats: Sequence[str] = ("csv", "parquet"),
    wait_s: float = 0,
    trust: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Crawl `sources`, then normalise, load and dedupe in one transaction; optionally export.

    `wait_s`: how long the load waits for another writer to finish with the warehouse (0: fail at once).
    `trust`: every registered source's trust (survivorship ranks all of a group's sources, not only those crawled);
    by default the crawled sources'.
    """
    run_id = new_run_id()
    raw_dir = raw_root / run_id
    progress(f"run {run_id}: crawling {len(sources)} source(s) into {raw_dir}")
    cache_dir = warehouse.parent / "cache" / "http"
    futures = {crawl_task.submit(source, raw_dir, extra_settings or {}, cache_dir): source for source in sources}
    outcomes: dict[str, CrawlOutcome] = {}
    for future in as_completed(list(futures)):
        source = futures[future]
        result = future.result(raise_on_failure=False)
        if isinstance(result, SourceCrawlFailed):
            outcome = result.outcome
        elif isinstance(result, BaseException):
            outcome = CrawlOutcome(source.name, "failed", raw_dir / f"{source.name}.jsonl", str(result))
        else:
            outcome = result
        outcomes[source.name] = outcome
        items = outcome.stats.get("item_scraped_count", 0)
        if outcome.status == "failed":
            progress(f"  {source.name}: FAILED after {outcome.duration_s:.1f} s: {outcome.error}")
        else:
            note = f" ({outcome.error})" if outcome.error else ""
            progress(f"  {source.name}: {items} items in {outcome.duration_s:.1f} s{note}")

    progress("normalising, loading and deduplicating")
    # Records the warehouse already holds unchanged are confirmed, not normalised again.
    known = known_raw_hashes(warehouse, [source.name for source in sources])
    batches = [normalise_task(outcomes[source.name], known) for source in sources]
    trust = trust if trust is not None else {source.name: source.trust for source in sources}
    report = store_task(warehouse, kind, batches, run_id, trust, wait_s)
    if export_dir is not None:
        report["exports"] = [str(path) for path in export_task(warehouse, export_dir, export_formats)]
    publish_report(report)
    return report


@task(cache_policy=NO_CACHE, task_run_name="normalise-{source}")
def normalise_file_task(
    path: Path, source: str, override_source: bool, complete: bool, warehouse: Path
) -> list[SourceBatch]:
    return normalise_file(
        path, source, override_source=override_source, complete=complete, known=known_raw_hashes(warehouse)
    )


# A scheduled run waits this long for another writer (another cadence's run, an analyst's `ingest`) to finish.
SCHEDULED_WAIT_S = 3 * 3600


@flow(name="peergroups-scheduled-run", flow_run_name="scheduled-{warehouse}")
def scheduled_run_flow(registry: str, source_names: list[str], warehouse: str, raw_dir: str) -> dict[str, Any]:
    """What `peergroups serve` runs on its schedule: the registry is read afresh each time, so an edited registry
    takes effect at the next run. Parameters are plain strings so the deployment can be stored and triggered."""
    from flows.registry import load_registry, select_sources

    registered = load_registry(Path(registry))
    sources = select_sources(registered, source_names or None)
    trust = {source.name: source.trust for source in registered}
    return build_flow(sources, Path(warehouse), Path(raw_dir), kind="run", wait_s=SCHEDULED_WAIT_S, trust=trust)


@flow(name="peergroups-ingest", flow_run_name="ingest-{source}")
def ingest_flow(
    path: Path,
    source: str,
    warehouse: Path,
    override_source: bool = False,
    complete: bool = False,
    trust: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Validate, load and dedupe raw listings from a JSON lines file (`complete`: it is all the source lists)."""
    batches = normalise_file_task(path, source, override_source, complete, warehouse)
    report = store_task(warehouse, "ingest", batches, new_run_id(), trust)
    publish_report(report)
    return report


def publish_report(report: dict[str, Any]) -> None:
    create_markdown_artifact(
        key="peergroups-run-report",
        markdown=report_markdown(report),
        description=f"peergroups {report['kind']} {report['run_id']}",
    )


def report_markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# peergroups {report['kind']} {report['run_id']}: {report['status']}",
        "",
        "| source | status | raw | change | listings | rejects | new groups | changed | withdrawn | HTTP errors "
        "| seconds | error |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    warnings = []
    for row in report["sources"]:
        lines.append(
            f"| {row['source']} | {row['status']} | {row['raw']} | {signed(row.get('change'))} | {row['listings']} | "
            f"{row['rejects']} | {row['new_groups']} | {row.get('changed', 0)} | {row.get('withdrawn', 0)} | "
            f"{row.get('http_errors', 0)} | "
            f"{row['duration_s'] if row['duration_s'] is not None else ''} | "
            f"{(row['error'] or '').replace('|', '/')} |"
        )
        for name, (before, now) in (row.get("missing_jumps") or {}).items():
            warnings.append(
                f"- {row['source']}: `{name}` missing in {now:.0%} of items (last healthy run {before:.0%})"
            )
    totals = report["totals"]
    lines += [
        "",
        f"Totals: {totals['raw']} raw = {totals['listings']} listings + {totals['rejects']} rejects; "
        f"{totals['groups']} groups ({totals['new_groups']} new).",
    ]
    if warnings:
        lines += [
            "",
            "Fields missing far more often than in the source's last healthy run (a changed page?):",
            *warnings,
        ]
    return "\n".join(lines)
