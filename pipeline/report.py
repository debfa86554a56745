"""A one-page HTML report on the warehouse: what it holds, where the data came from, how fresh and complete it is,
and what the last run changed.

The page is one self-contained file (inline CSS, charts as inline SVG drawn here, no script, no fonts or images
fetched) so it can be mailed, attached to a CI run or opened from disk on a machine without network. A
Content-Security-Policy forbids scripts and every remote load, as a second line of defence behind escaping: source
names, regions, reasons and crawl errors come from directories we do not control.

Every figure is aggregated by DuckDB, so the page costs a handful of GROUP BY queries however many listings the
warehouse holds; Python only lays out the (small) results. Queries name only columns the warehouse has, so a
warehouse of an older or newer schema still gets a report (a figure whose columns are missing says so), and
values we do not know yet (a listing status added later, such as `withdrawn`) are shown as they come.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from schemas.vocab import Format, Status

# The figures, in page order: `data-chart` names the CLI, CI and tests rely on.
CHARTS: tuple[str, ...] = (
    "groups-by-region",
    "groups-by-topic",
    "groups-by-format",
    "source-coverage",
    "source-overlap",
    "group-freshness",
    "listing-status",
    "field-completeness",
    "rejects-by-source",
    "last-run",
)

# No script may run and nothing may be fetched; inline styles (and data: images, should one ever be added) only.
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

NO_DATA = "No data yet"
MAX_BARS = 25  # bars in one chart; the rest are summed into one "other" bar (the data table has them all)
MAX_SOURCES = 20  # sources in the overlap matrix, the status and completeness charts (the largest ones)
WIDTH = 760  # SVG width in user units; CSS scales the charts down on narrow screens

# Okabe–Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#999999", "#F0E442", "#000000")
STATUS_COLOURS = {"active": "#009E73", "temporarily_closed": "#E69F00", "inactive": "#999999"}

# (label, upper bound of the age in seconds) of the freshness buckets, youngest first.
AGE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("under a day", 86_400),
    ("1–7 days", 7 * 86_400),
    ("1–4 weeks", 30 * 86_400),
    ("1–3 months", 90 * 86_400),
    ("3–12 months", 365 * 86_400),
    ("over a year", math.inf),
)
NEVER_SEEN = "never seen"

# Listing fields whose presence says how useful a source's listings are: (label, column). `schedule` is special:
# a listing has one when listing_schedules holds a row for it.
QUALITY_FIELDS: tuple[tuple[str, str], ...] = (
    ("organization", "organization"),
    ("description", "description"),
    ("address", "address"),
    ("city", "city"),
    ("region", "region"),
    ("postal code", "postal_code"),
    ("coordinates", "latitude"),
    ("phone", "phone"),
    ("e-mail", "email"),
    ("website", "website"),
    ("join link", "conference_url"),
    ("format", "format"),
    ("schedule", "schedule"),
    ("topics", "topics"),
    ("audiences", "audiences"),
    ("language", "language"),
    ("cost", "cost"),
)


@dataclass
class Table:
    """The data behind a chart, as an HTML table: the accessible fallback and the exact numbers."""

    headers: list[str]
    rows: list[list[Any]]
    note: str | None = None


@dataclass
class Figure:
    """One chart: its SVG (None when there is nothing to draw) and its data table."""

    name: str
    heading: str
    caption: str
    svg: str | None = None
    table: Table | None = None
    empty: str = NO_DATA
    extra: str = ""  # HTML placed under the chart (already escaped)


@dataclass
class Section:
    title: str
    anchor: str
    figures: list[Figure] = field(default_factory=list)
    intro: str = ""  # HTML (already escaped)


def write_report(con: duckdb.DuckDBPyConnection, out: Path, *, now: datetime | None = None) -> Path:
    """Write the report for the warehouse behind `con` to `out` (one HTML file) and return its path.

    Read-only: `con` may be opened with read_only=True. `now` is the moment ages are measured from (default: the
    current time), given so a report can be reproduced. The file is written beside `out` and renamed into place,
    so a reader never sees half a report.
    """
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    page = render_report(con, now=now)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    try:
        partial.write_text(page, encoding="utf-8")
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return out


def render_report(con: duckdb.DuckDBPyConnection, *, now: datetime) -> str:
    """The report as an HTML string."""
    schema = Schema.read(con)
    totals = _totals(con, schema)
    sections = [
        Section(
            "What the groups are",
            "groups",
            [_groups_by_region(con, schema), _groups_by_topic(con, schema), _groups_by_format(con, schema)],
        ),
        Section("Where they come from", "sources", [_source_coverage(con, schema), _source_overlap(con, schema)]),
        Section("How fresh", "freshness", [_group_freshness(con, schema, now), _listing_status(con, schema)]),
        Section("How complete", "quality", [_field_completeness(con, schema), _rejects_by_source(con, schema)]),
    ]
    last_run, run_intro = _last_run(con, schema)
    sections.append(
        Section("The last run", "last-run-section", [last_run], intro=run_intro + _recent_runs(con, schema))
    )
    return _page(sections, totals, now)


# --- what the warehouse has -------------------------------------------------------------------------------------


@dataclass
class Schema:
    """Which tables and columns this warehouse has (an older or newer schema may lack or add some)."""

    columns: dict[str, dict[str, str]]

    @classmethod
    def read(cls, con: duckdb.DuckDBPyConnection) -> Schema:
        rows = con.execute(
            """SELECT table_name, column_name, data_type FROM information_schema.columns
               WHERE table_catalog = current_database() AND table_schema = current_schema()"""
        ).fetchall()
        columns: dict[str, dict[str, str]] = {}
        for table, column, data_type in rows:
            columns.setdefault(table, {})[column] = data_type
        return cls(columns)

    def has(self, table: str, *columns: str) -> bool:
        return table in self.columns and all(column in self.columns[table] for column in columns)

    def type_of(self, table: str, column: str) -> str:
        return self.columns.get(table, {}).get(column, "")

    def missing(self, table: str, *columns: str) -> str:
        """Why a figure cannot be drawn: the table or columns this warehouse lacks."""
        if table not in self.columns:
            return f"Not available: this warehouse has no {table} table."
        absent = [column for column in columns if column not in self.columns[table]]
        return f"Not available: this warehouse's {table} table has no {', '.join(absent)} column."


def _count(con: duckdb.DuckDBPyConnection, schema: Schema, table: str) -> int:
    if not schema.has(table):
        return 0
    return int(con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])  # type: ignore[index]


def _totals(con: duckdb.DuckDBPyConnection, schema: Schema) -> dict[str, Any]:
    totals: dict[str, Any] = {
        "groups": _count(con, schema, "groups"),
        "listings": _count(con, schema, "listings"),
        "runs": _count(con, schema, "runs"),
        "sources": 0,
        "last_run": None,
    }
    if schema.has("listings", "source"):
        totals["sources"] = con.execute("SELECT count(DISTINCT source) FROM listings").fetchone()[0]  # type: ignore[index]
    if schema.has("runs", "run_id", "started_at"):
        row = con.execute("SELECT run_id FROM runs ORDER BY started_at DESC, run_id DESC LIMIT 1").fetchone()
        totals["last_run"] = row[0] if row else None
    return totals


# --- the figures ------------------------------------------------------------------------------------------------


def _groups_by_region(con: duckdb.DuckDBPyConnection, schema: Schema) -> Figure:
    figure = Figure(
        "groups-by-region",
        "Groups by region",
        "Deduplicated groups per state or province (outside the US, with the country).",
    )
    if not schema.has("groups", "region"):
        figure.empty = schema.missing("groups", "region")
        return figure
    # A region code means different places in different countries (WA): name the country outside the US.
    label = "nullif(trim(region), '')"
    if schema.has("groups", "country"):
        outside = f"{label} || ' (' || country || ')'"
        label = f"CASE WHEN country IS NOT NULL AND country <> 'US' THEN {outside} ELSE {label} END"
    rows = con.execute(
        f"""SELECT coalesce({label}, '(no region)') AS region, count(*) AS n FROM groups
            GROUP BY ALL ORDER BY n DESC, region"""
    ).fetchall()
    figure.table = Table(["region", "groups"], [list(row) for row in rows])
    if rows:
        bars = _top(rows, MAX_BARS, "regions")
        figure.svg = _bars(figure.name, figure.heading, _describe("groups per region", bars), bars)
    return figure


def _groups_by_topic(con: duckdb.DuckDBPyConnection, schema: Schema) -> Figure:
    figure = Figure(
        "groups-by-topic",
        "Groups by topic",
        "Groups per topic (controlled vocabulary); a group with several topics counts once for each.",
    )
    if not schema.has("groups", "topics"):
        figure.empty = schema.missing("groups", "topics")
        return figure
    rows = con.execute(
        """SELECT topic, count(*) AS n FROM (SELECT unnest(topics) AS topic FROM groups)
           GROUP BY topic
           UNION ALL
           SELECT '(no topic)', count(*) FROM groups WHERE topics IS NULL OR len(topics) = 0 HAVING count(*) > 0
           ORDER BY n DESC, topic"""
    ).fetchall()
    figure.table = Table(["topic", "groups"], [list(row) for row in rows])
    if rows:
        bars = _top(rows, MAX_BARS, "topics")
        figure.svg = _bars(figure.name, figure.heading, _describe("groups per topic", bars), bars, colour=PALETTE[2])
    return figure


def _groups_by_format(con: duckdb.DuckDBPyConnection, schema: Schema) -> Figure:
    figure = Figure(
        "groups-by-format",
        "Groups by format",
        "How people attend: in person, online (with a join link or phone) or hybrid.",
    )
    if not schema.has("groups", "format"):
        figure.empty = schema.missing("groups", "format")
        return figure
    rows = con.execute(
        "SELECT coalesce(format, '(not stated)') AS format, count(*) AS n FROM groups GROUP BY ALL"
    ).fetchall()
    rows = _in_order(rows, [member.value for member in Format])
    figure.table = Table(["format", "groups"], [list(row) for row in rows])
    if rows:
        figure.svg = _bars(figure.name, figure.heading, _describe("groups per format", rows), rows, colour=PALETTE[4])
    return figure


# Groups counted per combination of sources first: there are few combinations however many groups, so the
# per-source counts and the pairwise matrix expand a small table instead of joining every group with itself.
_SOURCE_COMBINATIONS = """SELECT list_distinct(sources) AS sources, sum(n) AS n
                          FROM (SELECT sources, count(*) AS n FROM groups WHERE len(sources) > 0 GROUP BY sources)
                          GROUP BY 1"""


def _source_coverage(con: duckdb.DuckDBPyConnection, schema: Schema) -> Figure:
    figure = Figure(
        "source-coverage",
        "Groups each source lists",
        "Per source: groups only it lists, and groups other sources list too. A source nobody else covers is "
        "where losing it would hurt.",
    )
    if not schema.has("groups", "group_id", "sources"):
        figure.empty = schema.missing("groups", "group_id", "sources")
        return figure
    rows = con.execute(
        f"""SELECT source, sum(n)::BIGINT AS listed, coalesce(sum(n) FILTER (WHERE len(sources) = 1), 0)::BIGINT
            FROM ({_SOURCE_COMBINATIONS}), unnest(sources) AS s(source)
            GROUP BY source ORDER BY listed DESC, source"""
    ).fetchall()
    figure.table = Table(
        ["source", "groups listed", "only this source", "also elsewhere"],
        [[source, listed, only, listed - only] for source, listed, only in rows],
    )
    if rows:
        shown = rows[:MAX_SOURCES]
        if len(rows) > len(shown):
            figure.table.note = f"The chart shows the {len(shown)} sources listing the most groups."
        figure.svg = _stacked(
            figure.name,
            figure.heading,
            _describe("groups listed per source", [(source, listed) for source, listed, _ in shown]),
            [(source, [only, listed - only]) for source, listed, only in shown],
            ["only this source", "also elsewhere"],
            [PALETTE[3], PALETTE[0]],
        )
    return figure


def _source_overlap(con: duckdb.DuckDBPyConnection, schema: Schema) -> Figure:
    figure = Figure(
        "source-overlap",
        "Overlap between sources",
        "Each cell: groups both sources list; the diagonal: groups the source lists. Shading: the share of the row "
        "source's groups that the column source lists too.",
    )
    if not schema.has("groups", "group_id", "sources"):
        figure.empty = schema.missing("groups", "group_id", "sources")
        return figure
    rows = con.execute(
        f"""WITH combinations AS ({_SOURCE_COMBINATIONS}),
                 top AS (SELECT source FROM combinations, unnest(sources) AS s(source)
                         GROUP BY source ORDER BY sum(n) DESC, source LIMIT {MAX_SOURCES})
            SELECT a, b, sum(n)::BIGINT FROM combinations, unnest(sources) AS u(a), unnest(sources) AS v(b)
            WHERE a IN (SELECT source FROM top) AND b IN (SELECT source FROM top)
            GROUP BY ALL"""
    ).fetchall()
    if not rows:
        return figure
    pairs = {(a, b): n for a, b, n in rows}
    diagonal = {a: n for (a, b), n in pairs.items() if a == b}
    sources = sorted(diagonal, key=lambda source: (-diagonal[source], source))
    cells = [
        [
            (pairs.get((a, b), 0) / diagonal[a] if diagonal[a] else 0.0, _fmt(pairs.get((a, b), 0)), a == b)
            for b in sources
        ]
        for a in sources
    ]
    figure.table = Table(["source", *sources], [[a, *(pairs.get((a, b), 0) for b in sources)] for a in sources])
    if len(sources) == MAX_SOURCES:
        figure.table.note = f"The {MAX_SOURCES} sources listing the most groups."
    shared = sorted(((n, a, b) for (a, b), n in pairs.items() if a < b and n), reverse=True)[:3]
    desc = f"Matrix of {len(sources)} sources. " + (
        "Largest overlaps: " + "; ".join(f"{a} and {b}: {n} groups" for n, a, b in shared) + "."
        if shared
        else "No group is listed by two of these sources."
    )
    figure.svg = _heatmap(figure.name, figure.heading, desc, sources, sources, cells)
    return figure


def _group_freshness(con: duckdb.DuckDBPyConnection, schema: Schema, now: datetime) -> Figure:
    figure = Figure(
        "group-freshness",
        "Groups by time since last seen",
        f"How long ago any source last listed each group, at {_when(now)}. Groups not seen for months may have "
        "stopped meeting.",
    )
    if not schema.has("groups", "last_seen_at"):
        figure.empty = schema.missing("groups", "last_seen_at")
        return figure
    cases = " ".join(
        f"WHEN age < {bound} THEN '{label}'" for label, bound in AGE_BUCKETS if math.isfinite(bound)
    )  # labels and bounds are ours, not data
    rows = con.execute(
        f"""SELECT bucket, count(*) FROM (
                SELECT CASE WHEN age IS NULL THEN '{NEVER_SEEN}' {cases} ELSE '{AGE_BUCKETS[-1][0]}' END AS bucket
                FROM (SELECT $now - epoch(last_seen_at) AS age FROM groups))
            GROUP BY bucket""",
        {"now": now.timestamp()},
    ).fetchall()
    if not rows:
        return figure
    counts = dict(rows)
    buckets = [(label, counts.get(label, 0)) for label, _ in AGE_BUCKETS]
    if counts.get(NEVER_SEEN):
        buckets.append((NEVER_SEEN, counts[NEVER_SEEN]))
    figure.table = Table(["last seen", "groups"], [list(row) for row in buckets])
    figure.svg = _bars(
        figure.name,
        figure.heading,
        "Bar chart of groups per age bucket: " + ", ".join(f"{label} {n}" for label, n in buckets) + ".",
        buckets,
        colour=PALETTE[5],
    )
    return figure


def _listing_status(con: duckdb.DuckDBPyConnection, schema: Schema) -> Figure:
    figure = Figure(
        "listing-status",
        "Listings by status",
        "Per source, its listings by the status the directory gives (active, temporarily closed, inactive, and "
        "any status added later).",
    )
    if not schema.has("listings", "source", "status"):
        figure.empty = schema.missing("listings", "source", "status")
        return figure
    rows = con.execute(
        "SELECT source, coalesce(status, '(none)') AS status, count(*) FROM listings GROUP BY ALL"
    ).fetchall()
    if not rows:
        return figure
    statuses = [status for status, _ in _in_order([(s, 0) for s in {s for _, s, _ in rows}], [m.value for m in Status])]
    per_source: dict[str, dict[str, int]] = {}
    for source, status, n in rows:
        per_source.setdefault(source, {})[status] = n
    ordered = sorted(per_source, key=lambda source: (-sum(per_source[source].values()), source))
    figure.table = Table(
        ["source", *statuses, "total"],
        [[s, *(per_source[s].get(status, 0) for status in statuses), sum(per_source[s].values())] for s in ordered],
    )
    shown = ordered[:MAX_SOURCES]
    if len(ordered) > len(shown):
        figure.table.note = f"The chart shows the {len(shown)} sources with the most listings."
    overall = {status: sum(per_source[s].get(status, 0) for s in ordered) for status in statuses}
    figure.svg = _stacked(
        figure.name,
        figure.heading,
        "Stacked bar chart of listings per source by status. All sources: "
        + ", ".join(f"{status} {n}" for status, n in overall.items())
        + ".",
        [(source, [per_source[source].get(status, 0) for status in statuses]) for source in shown],
        statuses,
        _colours_for(statuses, STATUS_COLOURS),
    )
    return figure


def _field_completeness(con: duckdb.DuckDBPyConnection, schema: Schema) -> Figure:
    figure = Figure(
        "field-completeness",
        "Fields filled, per source",
        "Share of each source's listings that have the field (a value that did not clean counts as missing; "
        "cost counts only when known).",
    )
    if not schema.has("listings", "source"):
        figure.empty = schema.missing("listings", "source")
        return figure
    with_schedules = schema.has("listing_schedules", "listing_id") and schema.has("listings", "listing_id")
    fields: list[tuple[str, str]] = []
    for label, column in QUALITY_FIELDS:
        expression = _filled_expression(schema, column, with_schedules)
        if expression:
            fields.append((label, f"count(*) FILTER (WHERE {expression})"))
    if not fields:
        figure.empty = "Not available: this warehouse's listings table has none of the fields measured here."
        return figure
    selects = ", ".join(f"{expression} AS f{index}" for index, (_, expression) in enumerate(fields))
    rows = con.execute(
        f"""SELECT coalesce(l.source, '(all sources)') AS label, count(*) AS n, {selects}
            FROM listings l
            GROUP BY ROLLUP (l.source) ORDER BY grouping(l.source), n DESC, label"""
    ).fetchall()
    if not rows or not rows[-1][1]:
        return figure
    labels = [label for label, _ in fields]
    rows = rows[:MAX_SOURCES] + ([rows[-1]] if len(rows) > MAX_SOURCES else [])
    figure.table = Table(
        ["source", "listings", *labels],
        [[row[0], row[1], *(_percent(value / row[1]) for value in row[2:])] for row in rows],
    )
    cells = [[(value / row[1], _percent(value / row[1]), False) for value in row[2:]] for row in rows]
    total = rows[-1]
    weakest = sorted(zip(labels, total[2:], strict=True), key=lambda pair: pair[1])[:3]
    desc = f"Matrix of {len(rows) - 1} sources by {len(labels)} fields. Least often filled overall: " + ", ".join(
        f"{label} {_percent(value / total[1])}" for label, value in weakest
    )
    figure.svg = _heatmap(figure.name, figure.heading, desc + ".", [row[0] for row in rows], labels, cells)
    return figure


def _filled_expression(schema: Schema, column: str, with_schedules: bool) -> str | None:
    """SQL that is true when a listing has the field, or None when the warehouse has no such column."""
    if column == "schedule":
        if with_schedules:
            return "l.listing_id IN (SELECT listing_id FROM listing_schedules)"
        if schema.has("listings", "schedule_source"):
            return "l.schedule_source IN ('structured', 'text')"
        return None
    if not schema.has("listings", column):
        return None
    if column == "latitude":
        return 'l."latitude" IS NOT NULL AND l."longitude" IS NOT NULL' if schema.has("listings", "longitude") else None
    data_type = schema.type_of("listings", column)
    if data_type.endswith("[]"):
        return f'len(l."{column}") > 0'
    if data_type == "VARCHAR":
        known = f" AND l.\"{column}\" <> 'unknown'" if column in ("cost", "format") else ""
        return f"nullif(trim(l.\"{column}\"), '') IS NOT NULL{known}"
    return f'l."{column}" IS NOT NULL'


def _rejects_by_source(con: duckdb.DuckDBPyConnection, schema: Schema) -> Figure:
    figure = Figure(
        "rejects-by-source",
        "Rejected records, per source",
        "Records that could not become listings in each source's latest loaded run, with the commonest reasons.",
    )
    needed = ("run_id", "source", "status", "raw_count")
    if not (schema.has("rejects", "run_id", "source", "reasons") and schema.has("run_sources", *needed)):
        figure.empty = (
            schema.missing("rejects", "run_id", "source", "reasons")
            if not schema.has("rejects", "run_id", "source", "reasons")
            else schema.missing("run_sources", *needed)
        )
        return figure
    order = "r.started_at DESC, rs.run_id DESC" if schema.has("runs", "run_id", "started_at") else "rs.run_id DESC"
    runs_join = "LEFT JOIN runs r USING (run_id)" if schema.has("runs", "run_id", "started_at") else ""
    latest = f"""SELECT rs.source, rs.run_id, rs.raw_count FROM run_sources rs {runs_join}
                 WHERE rs.status <> 'failed'
                 QUALIFY row_number() OVER (PARTITION BY rs.source ORDER BY {order}) = 1"""
    counts = con.execute(
        f"""WITH latest AS ({latest})
            SELECT l.source, l.run_id, l.raw_count, count(j.run_id) AS rejects
            FROM latest l LEFT JOIN rejects j ON j.run_id = l.run_id AND j.source = l.source
            GROUP BY ALL ORDER BY rejects DESC, l.source"""
    ).fetchall()
    if not counts:
        return figure
    reasons = con.execute(
        f"""WITH latest AS ({latest}),
                 -- the reason's code without its explanation; line numbers folded ("line N/invalid")
                 coded AS (SELECT j.source, trim(split_part(unnest(j.reasons), ':', 1)) AS code
                           FROM rejects j JOIN latest l ON j.run_id = l.run_id AND j.source = l.source)
            SELECT source, regexp_replace(code, '[0-9]+', 'N', 'g') AS reason, count(*) AS n
            FROM coded GROUP BY source, reason
            QUALIFY row_number() OVER (PARTITION BY source ORDER BY n DESC, reason) <= 3
            ORDER BY source, n DESC, reason"""
    ).fetchall()
    top: dict[str, list[str]] = {}
    for source, reason, n in reasons:
        top.setdefault(source, []).append(f"{reason} {n}")
    figure.table = Table(
        ["source", "run", "records", "rejects", "share", "top reasons"],
        [
            [source, run_id, raw, n, _percent(n / raw) if raw else "–", ", ".join(top.get(source, []))]
            for source, run_id, raw, n in counts
        ],
    )
    shown = counts[:MAX_BARS]
    if len(counts) > len(shown):
        figure.table.note = f"The chart shows the {len(shown)} sources with the most rejects."
    total = sum(n for *_, n in counts)
    figure.svg = _bars(
        figure.name,
        figure.heading,
        f"Bar chart of rejected records per source ({_fmt(total)} in all), each annotated with its top reasons.",
        [(source, n) for source, _, _, n in shown],
        colour=PALETTE[3],
        notes=[", ".join(top.get(source, [])) for source, *_ in shown],
    )
    return figure


def _last_run(con: duckdb.DuckDBPyConnection, schema: Schema) -> tuple[Figure, str]:
    figure = Figure(
        "last-run",
        "What the last run loaded",
        "Per source in the latest run: items crawled, listings and rejects made of them, and groups created "
        "that hold one of its listings.",
    )
    if not schema.has("runs", "run_id", "started_at"):
        figure.empty = schema.missing("runs", "run_id", "started_at")
        return figure, ""
    wanted = ["run_id", "kind", "status", "started_at", "finished_at", "raw_count", "listing_count", "reject_count"]
    wanted += ["group_count", "report"]
    present = [column for column in wanted if schema.has("runs", column)]
    row = con.execute(f"SELECT {', '.join(present)} FROM runs ORDER BY started_at DESC, run_id DESC LIMIT 1").fetchone()
    if row is None:
        return figure, ""
    run = dict(zip(present, row, strict=True))
    report = _json_object(run.get("report"))
    totals = report.get("totals") if isinstance(report.get("totals"), dict) else {}
    from_report = {
        str(item.get("source")): item for item in report.get("sources") or [] if isinstance(item, dict)
    }  # the report JSON has what run_sources lacks: fields missing more often than before

    sources = _run_sources(con, schema, run["run_id"])
    if not sources:  # an older warehouse, or a run recorded before run_sources: fall back to the report JSON
        sources = [
            {
                "source": name,
                "status": item.get("status"),
                "error": item.get("error"),
                "raw": item.get("raw"),
                "listings": item.get("listings"),
                "rejects": item.get("rejects"),
                "new_groups": item.get("new_groups"),
                "previous_raw": None,
                "field_issues": item.get("field_issues"),
            }
            for name, item in from_report.items()
        ]
    intro = _run_summary(run, totals)
    if not sources:
        figure.empty = "This run recorded no sources."
        return figure, intro

    figure.table = Table(
        ["source", "status", "items", "change", "listings", "rejects", "new groups", "field issues", "problems"],
        [
            [
                item["source"],
                item.get("status") or "",
                _int(item.get("raw")),
                _change(item.get("raw"), item.get("previous_raw")),
                _int(item.get("listings")),
                _int(item.get("rejects")),
                _int(item.get("new_groups")),
                _issues(item.get("field_issues")),
                _problems(item.get("error"), from_report.get(str(item["source"]), {}).get("missing_jumps")),
            ]
            for item in sources
        ],
        note="change: items compared with the source's previous run.",
    )
    series = ["items", "listings", "rejects", "new groups"]
    shown = sources[:MAX_BARS]
    figure.svg = _grouped(
        figure.name,
        figure.heading,
        f"Grouped bar chart of {len(shown)} sources in run {run['run_id']}: "
        + "; ".join(
            f"{item['source']} ({item.get('status') or 'unknown'}): {_int(item.get('raw'))} items, "
            f"{_int(item.get('rejects'))} rejects, {_int(item.get('new_groups'))} new groups"
            for item in shown[:5]
        )
        + ".",
        [
            (
                f"{item['source']}" + ("" if item.get("status") in (None, "ok") else f" ({item['status']})"),
                [float(_int(item.get(key))) for key in ("raw", "listings", "rejects", "new_groups")],
            )
            for item in shown
        ],
        series,
        [PALETTE[0], PALETTE[2], PALETTE[3], PALETTE[1]],
    )
    failures = [item for item in sources if item.get("status") not in (None, "ok")]
    if failures:
        figure.extra = (
            '<ul class="problems">'
            + "".join(
                f"<li><strong>{_e(item['source'])}</strong> {_e(item.get('status'))}"
                + (f": {_e(item['error'])}" if item.get("error") else "")
                + "</li>"
                for item in failures
            )
            + "</ul>"
        )
    return figure, intro


def _run_sources(con: duckdb.DuckDBPyConnection, schema: Schema, run_id: str) -> list[dict[str, Any]]:
    """The run's per-source rows, with each source's item count in its previous run (for the change)."""
    if not schema.has("run_sources", "run_id", "source"):
        return []
    names = {"status": "status", "error": "error", "raw": "raw_count", "listings": "listing_count"}
    names |= {"rejects": "reject_count", "new_groups": "new_group_count", "field_issues": "field_issues"}
    selects = [
        f'rs."{column}" AS {key}' if schema.has("run_sources", column) else f"NULL AS {key}"
        for key, column in names.items()
    ]
    if schema.has("run_sources", "raw_count"):
        order = "r.started_at, rs.run_id" if schema.has("runs", "run_id", "started_at") else "rs.run_id"
        selects.append(f"lag(rs.raw_count) OVER (PARTITION BY rs.source ORDER BY {order}) AS previous_raw")
    else:
        selects.append("NULL AS previous_raw")
    runs_join = "LEFT JOIN runs r USING (run_id)" if schema.has("runs", "run_id", "started_at") else ""
    cursor = con.execute(
        f"""SELECT * FROM (SELECT rs.run_id, rs.source, {", ".join(selects)} FROM run_sources rs {runs_join})
            WHERE run_id = $run ORDER BY source""",
        {"run": run_id},
    )
    keys = [description[0] for description in cursor.description]
    return [dict(zip(keys, row, strict=True)) for row in cursor.fetchall()]


RECENT_RUNS = 10


def _recent_runs(con: duckdb.DuckDBPyConnection, schema: Schema) -> str:
    """The latest runs as a table (HTML, escaped): the last run in context, e.g. after a failed one."""
    wanted = ["run_id", "kind", "status", "started_at", "raw_count", "listing_count", "reject_count", "group_count"]
    present = [column for column in wanted if schema.has("runs", column)]
    if not schema.has("runs", "run_id", "started_at"):
        return ""
    rows = con.execute(
        f"SELECT {', '.join(present)} FROM runs ORDER BY started_at DESC, run_id DESC LIMIT {RECENT_RUNS}"
    ).fetchall()
    if len(rows) < 2:
        return ""
    names = {"run_id": "run", "started_at": "started", "raw_count": "raw records", "listing_count": "listings"}
    names |= {"reject_count": "rejects", "group_count": "groups after"}
    headers = [names.get(column, column) for column in present]
    table = Table(headers, [[_when(value) if isinstance(value, datetime) else value for value in row] for row in rows])
    return _table(f"The {len(rows)} latest runs", table, summary="Recent runs")


def _run_summary(run: dict[str, Any], totals: dict[str, Any]) -> str:
    """One paragraph on the run as a whole (HTML, escaped)."""
    facts = [
        ("run", run.get("run_id")),
        ("kind", run.get("kind")),
        ("status", run.get("status")),
        ("started", _when(run.get("started_at"))),
        ("finished", _when(run.get("finished_at"))),
        ("raw records", run.get("raw_count", totals.get("raw"))),
        ("listings", run.get("listing_count", totals.get("listings"))),
        ("rejects", run.get("reject_count", totals.get("rejects"))),
        ("new groups", totals.get("new_groups")),
        ("groups after the run", run.get("group_count", totals.get("groups"))),
    ]
    items = "".join(
        f"<div><dt>{_e(label)}</dt><dd>{_e(_fmt(value))}</dd></div>" for label, value in facts if value is not None
    )
    return f'<dl class="facts">{items}</dl>'


# --- SVG --------------------------------------------------------------------------------------------------------

ROW = 24  # height of one bar's row
LABEL_WIDTH = 200
CHAR = 6.6  # average width of a 12px label character, for truncating and wrapping


def _svg_open(name: str, title: str, desc: str, width: float, height: float) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" aria-labelledby="{name}-title {name}-desc">'
        f'<title id="{name}-title">{_e(title)}</title><desc id="{name}-desc">{_e(desc)}</desc>'
    )


def _label(x: float, y: float, text: str, width: float = LABEL_WIDTH - 12) -> str:
    """A right-aligned row label, shortened to fit (the row's tooltip and the data table have it whole)."""
    return f'<text class="label" x="{x:.1f}" y="{y:.1f}" dy="0.35em" text-anchor="end">{_e(_short(text, width))}</text>'


def _mark(x: float, y: float, width: float, height: float, colour: str, value: float) -> str:
    return (
        f'<rect class="mark" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" fill="{colour}" '
        f'data-value="{value:g}"/>'
    )


def _length(value: float, peak: float, span: float) -> float:
    """Bar length for a value; a value above zero stays visible."""
    if value <= 0 or peak <= 0:
        return 0.0
    return max(1.0, value / peak * span)


def _bars(
    name: str,
    title: str,
    desc: str,
    rows: Sequence[tuple[str, float]],
    *,
    colour: str = PALETTE[0],
    notes: Sequence[str] | None = None,
) -> str:
    """A horizontal bar chart: one bar per row, value at the end, an optional note (top reasons) at the right."""
    note_width = 250 if notes else 0
    span = WIDTH - LABEL_WIDTH - 60 - note_width
    height = 12 + ROW * len(rows)
    peak = max((value for _, value in rows), default=0)
    parts = [_svg_open(name, title, desc, WIDTH, height)]
    for index, (label, value) in enumerate(rows):
        top = 6 + index * ROW
        middle = top + ROW / 2
        length = _length(value, peak, span)
        note = notes[index] if notes else ""
        parts.append(f"<g><title>{_e(label)}: {_e(_fmt(value))}{_e(' — ' + note) if note else ''}</title>")
        parts.append(_label(LABEL_WIDTH - 8, middle, label))
        parts.append(_mark(LABEL_WIDTH, top + 4, length, ROW - 8, colour, value))
        parts.append(
            f'<text class="value" x="{LABEL_WIDTH + length + 5:.1f}" y="{middle:.1f}" dy="0.35em">'
            f"{_e(_fmt(value))}</text>"
        )
        if note:
            x = WIDTH - note_width + 8
            parts.append(
                f'<text class="note" x="{x}" y="{middle:.1f}" dy="0.35em">{_e(_short(note, note_width - 10))}</text>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _legend(series: Sequence[str], colours: Sequence[str], top: float) -> tuple[str, float]:
    """Swatches and names, wrapped over as many lines as needed; returns the SVG and its height."""
    parts, x, y = [], float(LABEL_WIDTH), top
    for name, colour in zip(series, colours, strict=True):
        width = 18 + len(name) * CHAR + 16
        if x + width > WIDTH and x > LABEL_WIDTH:
            x, y = float(LABEL_WIDTH), y + 18
        parts.append(
            f'<rect class="swatch" x="{x:.1f}" y="{y:.1f}" width="12" height="12" fill="{colour}"/>'
            f'<text class="legend" x="{x + 16:.1f}" y="{y + 6:.1f}" dy="0.35em">{_e(name)}</text>'
        )
        x += width
    return "".join(parts), y - top + 22


def _stacked(
    name: str,
    title: str,
    desc: str,
    rows: Sequence[tuple[str, Sequence[float]]],
    series: Sequence[str],
    colours: Sequence[str],
) -> str:
    """A horizontal stacked bar chart: one bar per row, one segment per series, the total at the end."""
    legend, legend_height = _legend(series, colours, 6)
    span = WIDTH - LABEL_WIDTH - 60
    height = legend_height + 12 + ROW * len(rows)
    peak = max((sum(values) for _, values in rows), default=0)
    parts = [_svg_open(name, title, desc, WIDTH, height), legend]
    for index, (label, values) in enumerate(rows):
        top = legend_height + 6 + index * ROW
        middle = top + ROW / 2
        total = sum(values)
        detail = ", ".join(f"{series_name} {_fmt(value)}" for series_name, value in zip(series, values, strict=True))
        parts.append(f"<g><title>{_e(label)}: {_e(detail)}</title>")
        parts.append(_label(LABEL_WIDTH - 8, middle, label))
        x = float(LABEL_WIDTH)
        for value, colour in zip(values, colours, strict=True):
            length = value / peak * span if peak and value > 0 else 0.0
            if length:
                parts.append(_mark(x, top + 4, length, ROW - 8, colour, value))
            x += length
        parts.append(f'<text class="value" x="{x + 5:.1f}" y="{middle:.1f}" dy="0.35em">{_e(_fmt(total))}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _grouped(
    name: str,
    title: str,
    desc: str,
    rows: Sequence[tuple[str, Sequence[float]]],
    series: Sequence[str],
    colours: Sequence[str],
) -> str:
    """A horizontal grouped bar chart: per row, one thin bar per series on a shared scale."""
    legend, legend_height = _legend(series, colours, 6)
    bar, gap = 11, 10
    block = bar * len(series) + gap
    span = WIDTH - LABEL_WIDTH - 60
    height = legend_height + 6 + block * len(rows)
    peak = max((max(values, default=0) for _, values in rows), default=0)
    parts = [_svg_open(name, title, desc, WIDTH, height), legend]
    for index, (label, values) in enumerate(rows):
        top = legend_height + 6 + index * block
        detail = ", ".join(f"{series_name} {_fmt(value)}" for series_name, value in zip(series, values, strict=True))
        parts.append(f"<g><title>{_e(label)}: {_e(detail)}</title>")
        parts.append(_label(LABEL_WIDTH - 8, top + bar * len(series) / 2, label))
        for position, (value, colour) in enumerate(zip(values, colours, strict=True)):
            y = top + position * bar
            length = _length(value, peak, span)
            parts.append(_mark(LABEL_WIDTH, y + 1, length, bar - 2, colour, value))
            parts.append(
                f'<text class="value small" x="{LABEL_WIDTH + length + 4:.1f}" y="{y + bar / 2:.1f}" dy="0.35em">'
                f"{_e(_fmt(value))}</text>"
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _heatmap(
    name: str,
    title: str,
    desc: str,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    cells: Sequence[Sequence[tuple[float, str, bool]]],
) -> str:
    """A matrix of shaded cells: (fraction 0..1 for the shade, text, is-diagonal) per cell."""
    cell_width, cell_height, head = 46, 24, 110
    width = LABEL_WIDTH + cell_width * len(column_labels) + 100
    height = head + cell_height * len(row_labels) + 8
    parts = [_svg_open(name, title, desc, width, height)]
    for column, label in enumerate(column_labels):
        x = LABEL_WIDTH + column * cell_width + cell_width / 2
        parts.append(
            f'<text class="label" transform="translate({x:.1f},{head - 8}) rotate(-40)">'
            f"<title>{_e(label)}</title>{_e(_short(label, 130))}</text>"
        )
    for row, label in enumerate(row_labels):
        top = head + row * cell_height
        parts.append(_label(LABEL_WIDTH - 8, top + cell_height / 2, label))
        for column, (fraction, text, diagonal) in enumerate(cells[row]):
            x = LABEL_WIDTH + column * cell_width
            fill = "#d9d9d9" if diagonal else _shade(fraction)
            ink = "#ffffff" if fraction > 0.55 and not diagonal else "#1a1a1a"
            parts.append(
                f"<g><title>{_e(label)} × {_e(column_labels[column])}: {_e(text)}</title>"
                f'<rect class="mark cell" x="{x:.1f}" y="{top:.1f}" width="{cell_width - 2}" '
                f'height="{cell_height - 2}" fill="{fill}" data-value="{fraction:.4g}"/>'
                f'<text class="cell-text" x="{x + (cell_width - 2) / 2:.1f}" y="{top + (cell_height - 2) / 2:.1f}" '
                f'dy="0.35em" text-anchor="middle" fill="{ink}">{_e(text)}</text></g>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _shade(fraction: float) -> str:
    """A light-to-dark blue for 0..1."""
    fraction = min(1.0, max(0.0, fraction))
    low, high = (239, 246, 252), (8, 69, 148)
    red, green, blue = (round(a + (b - a) * fraction) for a, b in zip(low, high, strict=True))
    return f"#{red:02x}{green:02x}{blue:02x}"


# --- HTML -------------------------------------------------------------------------------------------------------

STYLE = """
:root { color-scheme: light; --ink: #1a1a1a; --muted: #5b5b5b; --rule: #d8d8d8; --accent: #0072B2; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 64rem; padding: 1.5rem; color: var(--ink); background: #fff;
       font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .5rem; border-bottom: 2px solid var(--rule); padding-bottom: .25rem; }
p.meta, .note, figcaption span { color: var(--muted); }
nav ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .25rem 1rem; }
a { color: var(--accent); }
dl.facts { display: flex; flex-wrap: wrap; gap: .5rem; margin: .75rem 0; }
dl.facts div { border: 1px solid var(--rule); border-radius: 6px; padding: .35rem .75rem; min-width: 7.5rem; }
dl.facts dt { font-size: .8rem; color: var(--muted); }
dl.facts dd { margin: 0; font-weight: 600; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.empty-warehouse { border-left: 4px solid #E69F00; background: #fff8e6; padding: .75rem 1rem; }
figure { margin: 1rem 0 1.5rem; padding: 1rem; border: 1px solid var(--rule); border-radius: 8px; }
figcaption { margin-bottom: .75rem; }
figcaption strong { display: block; font-size: 1.05rem; }
figure svg { display: block; max-width: 100%; height: auto; }
svg text { font: 12px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: #1a1a1a; }
svg text.value { fill: #333; font-variant-numeric: tabular-nums; }
svg text.small { font-size: 10px; }
svg text.note, svg text.legend { fill: #444; }
svg text.cell-text { font-size: 11px; font-variant-numeric: tabular-nums; }
p.empty { margin: 0; padding: 1rem; background: #f6f6f6; border-radius: 6px; color: var(--muted); }
ul.problems { margin: .75rem 0 0; padding-left: 1.25rem; color: #8a2c00; overflow-wrap: anywhere; }
details { margin-top: .75rem; }
summary { cursor: pointer; color: var(--accent); }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; margin-top: .5rem; font-size: .85rem; }
caption { text-align: left; color: var(--muted); padding-bottom: .25rem; }
th, td { border-bottom: 1px solid var(--rule); padding: .2rem .6rem; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
footer { margin-top: 2.5rem; color: var(--muted); font-size: .85rem; }
@media print { figure { break-inside: avoid; } details { display: none; } }
"""


def _page(sections: list[Section], totals: dict[str, Any], now: datetime) -> str:
    empty = not totals["groups"] and not totals["listings"]
    facts = [
        ("groups", totals["groups"]),
        ("listings", totals["listings"]),
        ("sources", totals["sources"]),
        ("runs", totals["runs"]),
        ("last run", totals["last_run"] or "none"),
    ]
    summary = "".join(f"<div><dt>{_e(label)}</dt><dd>{_e(_fmt(value))}</dd></div>" for label, value in facts)
    banner = (
        f'<p class="empty-warehouse"><strong>{NO_DATA}.</strong> The warehouse holds no listings: run '
        "<code>peergroups demo</code>, <code>peergroups run</code> or <code>peergroups ingest</code>, "
        "then write this report again.</p>"
        if empty
        else ""
    )
    nav = "".join(
        f'<li><a href="#chart-{figure.name}">{_e(figure.heading)}</a></li>'
        for section in sections
        for figure in section.figures
    )
    body = "".join(_section(section) for section in sections)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="peergroups report">
<title>peergroups warehouse report</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<h1>peergroups warehouse report</h1>
<p class="meta">Written {_e(_when(now))} from the DuckDB warehouse. Times are UTC.</p>
<dl class="facts">{summary}</dl>
{banner}
<nav aria-label="Charts"><ul>{nav}</ul></nav>
</header>
<main>
{body}
</main>
<footer>peergroups: mental-health peer-support group listings, crawled, normalised and deduplicated. Each chart's
numbers are in the data table under it.</footer>
</body>
</html>
"""


def _section(section: Section) -> str:
    figures = "".join(_figure(figure) for figure in section.figures)
    return f'<section id="{section.anchor}"><h2>{_e(section.title)}</h2>{section.intro}{figures}</section>\n'


def _figure(figure: Figure) -> str:
    chart = figure.svg or f'<p class="empty">{_e(_sentence(figure.empty))}</p>'
    table = _table(figure.heading, figure.table) if figure.svg and figure.table else ""
    return (
        f'<figure id="chart-{figure.name}" data-chart="{figure.name}">'
        f"<figcaption><strong>{_e(figure.heading)}</strong><span>{_e(figure.caption)}</span></figcaption>"
        f"{chart}{figure.extra}{table}</figure>\n"
    )


def _table(heading: str, table: Table, *, summary: str = "Data table") -> str:
    head = "".join(f'<th scope="col">{_e(header)}</th>' for header in table.headers)
    body = "".join(
        "<tr>"
        + "".join(
            (f'<th scope="row">{_e(_fmt(cell))}</th>' if index == 0 else _cell(cell)) for index, cell in enumerate(row)
        )
        + "</tr>"
        for row in table.rows
    )
    note = f'<p class="note">{_e(table.note)}</p>' if table.note else ""
    return (
        f'<details><summary>{_e(summary)}</summary>{note}<div class="table-wrap"><table>'
        f"<caption>{_e(heading)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div></details>"
    )


_NUMBER = re.compile(r"[+-]?[\d,.]+%?")


def _cell(value: Any) -> str:
    """A data cell; numbers (and counts or shares written as text: `+1`, `87%`) align right to compare."""
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    numeric = numeric or (isinstance(value, str) and _NUMBER.fullmatch(value) is not None)
    return f'<td class="n">{_e(_fmt(value))}</td>' if numeric else f"<td>{_e(_fmt(value))}</td>"


# --- small helpers ----------------------------------------------------------------------------------------------


def _e(value: Any) -> str:
    """Escape anything for HTML text or a quoted attribute (source text may hold markup)."""
    return html.escape("" if value is None else str(value), quote=True)


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"
    return str(value)


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.0f}%"


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return "" if value is None else str(value)


def _short(text: str, width: float) -> str:
    """The text cut to about `width` pixels of 12px type, with an ellipsis when cut."""
    limit = max(4, int(width / CHAR))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _top(rows: Sequence[tuple[str, int]], limit: int, what: str) -> list[tuple[str, int]]:
    """The largest rows (already sorted), the rest summed into one 'other' row."""
    if len(rows) <= limit:
        return [(label, n) for label, n in rows]
    kept = [(label, n) for label, n in rows[: limit - 1]]
    rest = rows[limit - 1 :]
    return [*kept, (f"{len(rest)} other {what}", sum(n for _, n in rest))]


def _in_order(rows: Sequence[tuple[str, int]], known: Sequence[str]) -> list[tuple[str, int]]:
    """Known vocabulary values first, in their order; values we do not know yet after them, alphabetically."""
    rank = {value: index for index, value in enumerate(known)}
    return sorted(rows, key=lambda row: (rank.get(row[0], len(rank)), str(row[0])))


def _colours_for(values: Sequence[str], fixed: dict[str, str]) -> list[str]:
    spare = iter(colour for colour in PALETTE if colour not in fixed.values())
    return [fixed.get(value) or next(spare, "#444444") for value in values]


def _describe(what: str, rows: Sequence[tuple[str, float]]) -> str:
    largest = ", ".join(f"{label} {_fmt(value)}" for label, value in rows[:5])
    return f"Bar chart of {what}, {len(rows)} bars. Largest: {largest}."


def _json_object(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value) if isinstance(value, str | bytes) else None
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _change(now: Any, before: Any) -> str:
    if not isinstance(now, int) or not isinstance(before, int):
        return "first run" if before is None and isinstance(now, int) else ""
    return f"{now - before:+,}"


def _issues(value: Any) -> str:
    issues = _json_object(value)
    ranked = sorted(issues.items(), key=lambda item: (-_int(item[1]), item[0]))
    return ", ".join(f"{name} {_fmt(count)}" for name, count in ranked[:5])


def _problems(error: Any, jumps: Any) -> str:
    problems = [str(error)] if error else []
    if isinstance(jumps, dict):
        for name, pair in sorted(jumps.items()):
            if isinstance(pair, list | tuple) and len(pair) == 2:
                problems.append(f"{name} missing {_percent(float(pair[0]))} → {_percent(float(pair[1]))}")
    return "; ".join(problems)
