"""The `peergroups` command line. Run `peergroups --help`, or `peergroups COMMAND --help`."""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
from datetime import UTC
from pathlib import Path
from typing import Any

from flows.prefect_env import configure_prefect
from flows.registry import PLATFORM_SPIDERS
from pipeline.export import FORMATS as EXPORT_FORMATS

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = PROJECT_ROOT / "data" / "demo"
DEFAULT_WAREHOUSE = Path("data/warehouse.duckdb")
DEFAULT_REGISTRY = Path("data/sources.toml")

# Local demo sites need no politeness; real directories keep the polite defaults in spiders/settings.py.
LOCAL_SETTINGS = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "RETRY_TIMES": 1}


class UserError(Exception):
    """A mistake the user can fix; printed as one line, never as a traceback."""


def _add_warehouse(parser: argparse.ArgumentParser, note: str = "") -> None:
    parser.add_argument(
        "--warehouse",
        type=Path,
        default=DEFAULT_WAREHOUSE,
        metavar="PATH",
        help=f"DuckDB warehouse file (default: {DEFAULT_WAREHOUSE}){note}",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="peergroups",
        description="Crawl, normalise, deduplicate, store and export mental-health peer-support group listings.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="serve the bundled demo directories locally, crawl them and build")
    _add_warehouse(demo)
    demo.add_argument(
        "--exports",
        type=Path,
        default=Path("data/exports"),
        metavar="DIR",
        help="where the demo writes its CSV and Parquet exports (default: data/exports)",
    )

    run = commands.add_parser("run", help="crawl registered sources and build the warehouse")
    _add_warehouse(run)
    run.add_argument("--source", action="append", metavar="NAME", help="crawl only this source (repeatable)")
    run.add_argument(
        "--registry",
        type=Path,
        default=DEFAULT_REGISTRY,
        metavar="FILE",
        help=f"source registry (default: {DEFAULT_REGISTRY})",
    )
    run.add_argument(
        "--raw-dir",
        type=Path,
        metavar="DIR",
        help="where each run's raw crawl files are kept (default: raw/ beside the warehouse)",
    )

    crawl = commands.add_parser("crawl", help="crawl one feed ad hoc into RawListing JSON lines")
    _add_warehouse(crawl, "; not used: crawl writes only --out")
    crawl.add_argument(
        "--platform", required=True, choices=sorted(PLATFORM_SPIDERS), help="the directory's publishing platform"
    )
    crawl.add_argument("--url", required=True, help="the feed's URL")
    crawl.add_argument("--out", required=True, type=Path, metavar="FILE.jsonl", help="where to write the listings")
    crawl.add_argument("--source", metavar="NAME", help="source name to stamp on the listings (default: from URL)")
    crawl.add_argument(
        "--follow", metavar="SELECTOR", help="CSS selector of links to follow (jsonld: list → detail pages)"
    )

    ingest = commands.add_parser("ingest", help="validate, load and dedupe raw listings from a JSON lines file")
    _add_warehouse(ingest)
    ingest.add_argument("file", type=Path, metavar="FILE.jsonl", help="RawListing JSON lines")
    ingest.add_argument(
        "--source", metavar="NAME", help="source name for every record (default: each record's own, else the file name)"
    )
    ingest.add_argument(
        "--complete",
        action="store_true",
        help="the file is everything its source lists now: that source's listings missing from it are withdrawn",
    )

    export = commands.add_parser("export", help="export the deduplicated groups")
    _add_warehouse(export)
    export.add_argument(
        "--format",
        required=True,
        choices=list(EXPORT_FORMATS),
        dest="fmt",
        help="csv, parquet (partitioned by country and region above 100,000 groups), ndjson, geojson, "
        "hsds (Open Referral HSDS 3.0 data package), meeting-guide (Meeting Guide JSON feed), ics (iCalendar)",
    )
    export.add_argument("--out", required=True, type=Path, metavar="DIR", help="directory to write into")
    export.add_argument(
        "--by",
        choices=["group", "region"],
        default="group",
        help="ics only: one calendar file per group (default) or per region",
    )
    export.add_argument(
        "--include-contacts",
        action="store_true",
        help="keep e-mail addresses, phone numbers and full names found in descriptions (internal use only; "
        "public exports withhold them)",
    )

    serve = commands.add_parser(
        "serve",
        help="run the pipeline on a schedule (Prefect deployments; starts a local Prefect server if none is set)",
        description="Serve scheduled runs until stopped (Ctrl-C). Each source runs on its registry `cron`, else on "
        "--cron. Without PREFECT_API_URL a local `prefect server start` is started on 127.0.0.1 and stopped on exit.",
    )
    _add_warehouse(serve)
    cadence = serve.add_mutually_exclusive_group()
    cadence.add_argument("--cron", help='default cadence, a cron expression such as "0 3 * * 1" (Mondays 03:00)')
    cadence.add_argument(
        "--interval", type=float, metavar="SECONDS", help="run everything every N seconds instead (for trying out)"
    )
    serve.add_argument("--source", action="append", metavar="NAME", help="serve only this source (repeatable)")
    serve.add_argument("--registry", type=Path, default=DEFAULT_REGISTRY, metavar="FILE",
                       help=f"source registry (default: {DEFAULT_REGISTRY})")  # fmt: skip
    serve.add_argument(
        "--raw-dir", type=Path, metavar="DIR", help="raw crawl files (default: raw/ beside the warehouse)"
    )

    status = commands.add_parser(
        "status", help="show the last runs (and how each linked: full, incremental or none) and each source's latest"
    )
    _add_warehouse(status)
    status.add_argument("--runs", type=int, default=10, metavar="N", help="how many recent runs to list (default: 10)")
    status.add_argument("--json", action="store_true", help="print JSON instead of tables")

    report = commands.add_parser("report", help="write a self-contained HTML report with charts")
    _add_warehouse(report)
    report.add_argument("--out", required=True, type=Path, metavar="FILE.html", help="the page to write")

    review = commands.add_parser(
        "review",
        help="show the listing pairs the dedupe is least sure of, or record a same/different decision",
        description="Without --same/--different: list the most uncertain pairs. With one: store the decision "
        "(always obeyed from then on) and re-link the groups.",
    )
    _add_warehouse(review)
    review.add_argument("--limit", type=int, default=10, help="how many pairs to show (default: 10)")
    verdict = review.add_mutually_exclusive_group()
    verdict.add_argument("--same", nargs=2, metavar="LISTING_ID", help="these two listings are the same group")
    verdict.add_argument("--different", nargs=2, metavar="LISTING_ID", help="these two listings are different groups")
    review.add_argument("--note", help="why (stored with the decision)")

    sources = commands.add_parser("sources", help="list the registered sources")
    _add_warehouse(sources, "; each source's latest run and listings are read from it")
    sources.add_argument(
        "--registry",
        type=Path,
        default=DEFAULT_REGISTRY,
        metavar="FILE",
        help=f"source registry (default: {DEFAULT_REGISTRY})",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from flows.registry import RegistryError
    from pipeline.export import ExportError
    from pipeline.ingest import InputError
    from pipeline.review import ReviewError
    from pipeline.warehouse import WarehouseBusy, WarehouseError

    try:
        return COMMANDS[args.command](args)
    except (UserError, RegistryError, InputError, ReviewError, WarehouseBusy, WarehouseError, ExportError) as error:
        print(f"peergroups: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("peergroups: interrupted; a load that had not committed was rolled back", file=sys.stderr)
        return 130


def _prepare(warehouse: Path) -> None:
    """Before any slow work: the warehouse must be free to write (and is migrated), then Prefect is configured."""
    from pipeline.warehouse import connect

    connect(warehouse).close()
    configure_prefect(warehouse.parent)


def cmd_demo(args: argparse.Namespace) -> int:
    """Crawl the demo directories from a local server, ingest the handed-over demo files, then export."""
    from flows.local_server import serve_directory
    from flows.registry import load_registry
    from pipeline.export import export
    from pipeline.warehouse import connect

    _prepare(args.warehouse)
    from flows.build import build_flow, ingest_flow

    with serve_directory(DEMO_DIR / "sites") as base_url:
        print(f"demo directories served at {base_url}", file=sys.stderr)
        sources = load_registry(DEMO_DIR / "sources.toml", {"base_url": base_url})
        reports = [
            build_flow(
                sources, args.warehouse, args.warehouse.parent / "raw", kind="demo", extra_settings=LOCAL_SETTINGS
            )
        ]
    for handover in sorted((DEMO_DIR / "handover").glob("*.jsonl")):
        print(f"ingesting the handed-over file {handover.name}", file=sys.stderr)
        trust = {source.name: source.trust for source in sources}
        reports.append(ingest_flow(handover, handover.stem, args.warehouse, True, trust=trust))
    con = connect(args.warehouse)
    try:
        # Both formats write the one attribution file: listed once.
        exports = list(dict.fromkeys(path for fmt in ("csv", "parquet") for path in export(con, args.exports, fmt)))
    finally:
        con.close()
    for report in reports:
        print_report(report)
    for path in exports:
        print(f"export: {path}")
    return 0 if all(report["status"] == "ok" for report in reports) else 1


def cmd_run(args: argparse.Namespace) -> int:
    from flows.registry import load_registry, select_sources

    registered = load_registry(args.registry)
    sources = select_sources(registered, args.source)
    if not sources:
        raise UserError(f"no sources registered in {args.registry}; add a [[source]] entry (see README)")
    _prepare(args.warehouse)
    from flows.build import build_flow

    raw_dir = args.raw_dir or args.warehouse.parent / "raw"
    trust = {source.name: source.trust for source in registered}
    report = build_flow(sources, args.warehouse, raw_dir, kind="run", trust=trust)
    print_report(report)
    return 0 if report["status"] == "ok" else 1


def cmd_crawl(args: argparse.Namespace) -> int:
    from urllib.parse import urlsplit

    from flows.crawl import crawl

    parts = urlsplit(args.url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UserError(f"not an http(s) URL: {args.url!r}")
    if args.out.is_dir():
        raise UserError(f"--out {args.out} is a directory; give a file name such as {args.out / 'feed.jsonl'}")
    source = args.source or parts.netloc.replace(".", "_").replace(":", "_")
    print(f"crawling {args.url} as source {source!r} ...", file=sys.stderr)
    arguments = {"url": args.url, "source": source, **({"follow": args.follow} if args.follow else {})}
    outcome = crawl(PLATFORM_SPIDERS[args.platform], arguments, args.out)
    items = outcome.stats.get("item_scraped_count", 0)
    if outcome.status == "failed":
        print(f"peergroups: crawl failed: {outcome.error} (log: {args.out}.log)", file=sys.stderr)
        return 1
    note = f"; some requests failed: {outcome.error}" if outcome.error else ""
    print(f"{items} raw listings written to {args.out} in {outcome.duration_s:.1f} s{note}")
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from pipeline.ingest import check_text_file
    from schemas.raw import SOURCE_NAME_MAX, valid_source_name

    if args.source and not valid_source_name(args.source):
        raise UserError(
            f"--source {args.source!r}: a source name is up to {SOURCE_NAME_MAX} letters, digits, `_`, `.` and `-`"
        )

    if not args.file.is_file():
        raise UserError(f"no such file: {args.file}")
    check_text_file(args.file)
    _prepare(args.warehouse)
    from flows.build import ingest_flow

    # A file's name becomes the source name of records that give none: made a valid name ("my file" → "my_file").
    source = args.source or re.sub(r"[^\w.\-]+", "_", args.file.stem).strip("_")[:SOURCE_NAME_MAX] or "handover"
    # Source trust is the warehouse's (set by the registry of `run`, `serve` or `demo`), kept as it is.
    report = ingest_flow(args.file, source, args.warehouse, bool(args.source), args.complete)
    print_report(report)
    return 0 if report["status"] == "ok" else 1  # e.g. a complete file far smaller than the last: marked broken


def cmd_export(args: argparse.Namespace) -> int:
    from pipeline.export import export
    from pipeline.warehouse import connect

    if args.out.exists() and not args.out.is_dir():
        raise UserError(f"--out {args.out} is a file; give a directory to write the export into")
    con = connect(args.warehouse, read_only=True)
    try:
        paths = export(con, args.out, args.fmt, include_contacts=args.include_contacts, by=args.by)
        count = con.execute("SELECT count(*) FROM groups WHERE status IS DISTINCT FROM 'withdrawn'").fetchall()[0][0]
    finally:
        con.close()
    shown = ", ".join(str(path) for path in paths) if len(paths) <= 6 else f"{len(paths)} files under {args.out}"
    print(f"{count} groups exported: {shown}")
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    from pipeline.review import record_decision, uncertain_pairs
    from pipeline.warehouse import connect

    pair = args.same or args.different
    if pair is None:
        if args.limit < 1:
            raise UserError("--limit must be at least 1")
        con = connect(args.warehouse, read_only=True)
        try:
            pairs = uncertain_pairs(con, args.limit)
        finally:
            con.close()
        if not pairs:
            print("nothing to review: the dedupe is sure of every pair it considered")
            return 0
        for number, item in enumerate(pairs, start=1):
            print(f"{number}. p(same group) = {item.match_probability:.2f}   {item.evidence}")
            for listing_id, details in ((item.listing_id_l, item.left), (item.listing_id_r, item.right)):
                shown = "; ".join(f"{key}: {value}" for key, value in details.items() if value)
                print(f"   {listing_id}  {shown}")
        print("record a decision: peergroups review --same ID ID   or   peergroups review --different ID ID")
        return 0

    from pipeline.ingest import store_run

    _prepare(args.warehouse)
    same = args.same is not None
    report = store_run(
        args.warehouse,
        "review",
        [],
        before_link=lambda con: record_decision(con, pair[0], pair[1], same=same, note=args.note),
    )
    print(
        f"recorded: {pair[0]} and {pair[1]} are {'the same group' if same else 'different groups'}; "
        f"{report['totals']['groups']} groups after re-linking"
    )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from flows.registry import check_cron, load_registry, select_sources

    if args.cron:
        check_cron(args.cron, "--cron")
    if args.interval is not None and args.interval < 1:
        raise UserError("--interval must be at least 1 second")
    sources = select_sources(load_registry(args.registry), args.source)
    if not sources:
        raise UserError(f"no sources registered in {args.registry}; add a [[source]] entry (see README)")
    unscheduled = [source.name for source in sources if not source.cron]
    if unscheduled and not args.cron and not args.interval:
        raise UserError(f'no cadence for {", ".join(unscheduled)}: give --cron "0 3 * * 1" or a `cron` in the registry')
    _prepare(args.warehouse)
    from flows.serve import ServeError, cadences, prefect_server, serve

    raw_dir = args.raw_dir or args.warehouse.parent / "raw"
    log_path = args.warehouse.parent / "prefect" / "server.log"
    # A service manager stops us with SIGTERM: leave the same way as Ctrl-C, so the local server is stopped too.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with prefect_server(log_path) as api_url:
            plan = (
                {f"every {args.interval:g} s": [s.name for s in sources]}
                if args.interval
                else cadences(sources, args.cron)
            )
            for cadence, names in plan.items():
                print(f"serving: {', '.join(names)} on {cadence}")
            print(f"Prefect API: {api_url}; warehouse: {args.warehouse}; stop with Ctrl-C")
            serve(sources, args.registry, args.warehouse, raw_dir, default_cron=args.cron, api_url=api_url,
                  interval_s=args.interval)  # fmt: skip
    except ServeError as error:
        raise UserError(str(error)) from error
    except KeyboardInterrupt:
        pass  # Prefect's runner returns on Ctrl-C or SIGTERM; before it starts, we land here
    print("stopped serving; the local Prefect server (if started here) is stopped")
    return 0


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def cmd_status(args: argparse.Namespace) -> int:
    from pipeline.runs import recent_runs, signed, source_outcomes
    from pipeline.warehouse import connect

    if args.runs < 1:
        raise UserError("--runs must be at least 1")
    con = connect(args.warehouse, read_only=True)
    try:
        runs = recent_runs(con, args.runs)
        latest = source_outcomes(con, runs[0]["run_id"]) if runs else []
    finally:
        con.close()
    if args.json:
        print(json.dumps({"runs": runs, "latest_run_sources": latest}, default=str, indent=2))
        return 0
    if not runs:
        print(f"no runs yet in {args.warehouse}: run `peergroups run` or `peergroups demo`")
        return 0
    print(f"{'run':30} {'kind':7} {'status':8} {'started (UTC)':20} {'seconds':>8} {'raw':>7} {'listings':>9} "
          f"{'rejects':>8} {'groups':>7} {'withdrawn':>10} {'link':>12}")  # fmt: skip
    for run in runs:
        started = run["started_at"].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if run["started_at"] else ""
        seconds = f"{run['seconds']:.1f}" if run["seconds"] is not None else "running"
        print(f"{run['run_id']:30} {run['kind']:7} {run['status']:8} {started:20} {seconds:>8} "
              f"{_num(run['raw']):>7} {_num(run['listings']):>9} {_num(run['rejects']):>8} {_num(run['groups']):>7} "
              f"{_num(run['withdrawn']):>10} {run['link'] or '':>12}")  # fmt: skip
    print(f"\nlatest run {runs[0]['run_id']}, by source:")
    print(f"{'source':24} {'status':8} {'items':>6} {'change':>7} {'rejects':>8} {'new groups':>11} "
          f"{'withdrawn':>10} {'http errors':>12} {'seconds':>8}")  # fmt: skip
    for row in latest:
        change = signed(row["change"])
        seconds = f"{row['seconds']:.1f}" if row["seconds"] is not None else ""
        print(
            f"{row['source']:24} {row['status']:8} {row['items']:>6} {change:>7} {row['rejects']:>8} "
            f"{_num(row['new_groups']):>11} {row['withdrawn']:>10} {row['http_errors']:>12} {seconds:>8}"
        )
        if row["error"]:
            print(f"{'':24} {row['error']}")
    return 0


def _num(value: Any) -> str:
    return "" if value is None else str(value)


def cmd_report(args: argparse.Namespace) -> int:
    from pipeline.report import write_report
    from pipeline.warehouse import connect

    if args.out.is_dir():
        raise UserError(f"--out {args.out} is a directory; give a file name such as {args.out / 'report.html'}")
    con = connect(args.warehouse, read_only=True)
    try:
        try:
            path = write_report(con, args.out)
        except OSError as error:
            raise UserError(f"cannot write {args.out}: {error.strerror or error}") from error
    finally:
        con.close()
    print(f"report: {path}")
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    from flows.registry import load_registry

    sources = load_registry(args.registry)
    if not sources:
        print(f"no sources registered in {args.registry}")
        return 0
    latest = _latest_source_runs(args.warehouse)
    print(f"{'name':24} {'platform':14} {'country':7} {'floor':>5} {'last run':9} {'listings':>8}  url")
    for source in sources:
        status, listings = latest.get(source.name, ("never", 0))
        print(
            f"{source.name:24} {source.platform:14} {source.country or '':7} {source.floor:>5} {status:9} "
            f"{listings:>8}  {source.urls[0]}"
        )
        for url in source.urls[1:]:
            print(f"{'':80}  {url}")
    return 0


def _latest_source_runs(warehouse: Path) -> dict[str, tuple[str, int]]:
    """source → (status of its latest run, listings held: not withdrawn), or nothing when there is no warehouse yet."""
    from pipeline.warehouse import connect

    if not warehouse.exists():
        return {}
    con = connect(warehouse, read_only=True)
    try:
        rows = con.execute(
            """SELECT r.source, arg_max(r.status, r.run_id),
                      (SELECT count(*) FROM listings l WHERE l.source = r.source AND l.status <> 'withdrawn')
               FROM run_sources r GROUP BY r.source"""
        ).fetchall()
    finally:
        con.close()
    return {source: (status, listings) for source, status, listings in rows}


def print_report(report: dict[str, Any]) -> None:
    print(f"\n{report['kind']} {report['run_id']}: {report['status']}")
    print(f"{'source':24} {'status':8} {'raw':>6} {'listings':>9} {'rejects':>8} {'new groups':>11} {'withdrawn':>10}")
    for row in report["sources"]:
        print(
            f"{row['source']:24} {row['status']:8} {row['raw']:>6} {row['listings']:>9} {row['rejects']:>8} "
            f"{row['new_groups']:>11} {row.get('withdrawn', 0):>10}"
        )
        if row["error"]:
            print(f"{'':24} {row['error']}")
        if row["field_issues"]:
            issues = ", ".join(f"{name} {count}" for name, count in row["field_issues"].items())
            print(f"{'':24} field issues: {issues}")
        if row.get("missing_jumps"):
            # The page shape may have changed: these fields went missing far more often than last time.
            jumps = ", ".join(
                f"{name} {before:.0%} → {now:.0%}" for name, (before, now) in row["missing_jumps"].items()
            )
            print(f"{'':24} missing more often than in its last healthy run: {jumps}")
    totals = report["totals"]
    print(
        f"total: {totals['raw']} raw = {totals['listings']} listings + {totals['rejects']} rejects; "
        f"{totals['groups']} groups after dedupe ({totals['new_groups']} new)"
        + (f"; {totals['withdrawn']} listings withdrawn" if totals.get("withdrawn") else "")
    )
    print(f"warehouse: {report['warehouse']}")
    for path in report.get("exports", []):
        print(f"export: {path}")


COMMANDS = {
    "demo": cmd_demo,
    "run": cmd_run,
    "crawl": cmd_crawl,
    "ingest": cmd_ingest,
    "export": cmd_export,
    "review": cmd_review,
    "report": cmd_report,
    "status": cmd_status,
    "serve": cmd_serve,
    "sources": cmd_sources,
}

if __name__ == "__main__":
    sys.exit(main())
