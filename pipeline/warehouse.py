"""The DuckDB warehouse: schema (as numbered migrations), loading in one transaction, and reads.

DuckDB allows one writing process per file. A second writer gets `WarehouseBusy` with a plain message instead
of DuckDB's lock error. Every load runs in one transaction: if anything fails (or the process is killed) the file
is left as it was before the load began.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipeline import json_text
from pipeline.normalise import Reject, listing_id
from schemas.listing import GroupListing

# The tables every run rewrites part of. Their ids are unique by the load (a listing is deleted before it is
# inserted again, a batch's duplicates are rejected first), not by a PRIMARY KEY: in the storage format the
# DuckDB 1.5 CLI reads, a checkpoint writes a table's whole key index again whenever a row of it changed, which
# cost a re-run where 1% of 100,000 listings changed more than a second (a fifth of the run).
UNINDEXED_KEYS = {"listings": "listing_id", "groups": "group_id", "group_members": "listing_id",
                  "link_keys": "listing_id"}  # fmt: skip


def _drop_key_indexes(con: duckdb.DuckDBPyConnection) -> None:
    """Each table in UNINDEXED_KEYS written again without its PRIMARY KEY (DuckDB cannot drop one in place):
    same columns, types, NOT NULLs and rows. Views name tables, not their storage, so they keep working."""
    for table in UNINDEXED_KEYS:
        columns = con.execute(
            """SELECT column_name, data_type, is_nullable FROM duckdb_columns()
               WHERE table_name = ? AND schema_name = 'main' AND database_name = current_database()
               ORDER BY column_index""",
            [table],
        ).fetchall()
        definition = ", ".join(f'"{name}" {kind}{"" if nullable else " NOT NULL"}' for name, kind, nullable in columns)
        con.execute(f"CREATE TABLE {table}_rewritten ({definition})")
        con.execute(f"INSERT INTO {table}_rewritten SELECT * FROM {table}")
        con.execute(f"DROP TABLE {table}")
        con.execute(f"ALTER TABLE {table}_rewritten RENAME TO {table}")


# Each migration is applied once, in order, inside a transaction, and recorded in schema_migrations: SQL, or a
# function of the connection where the change depends on what the warehouse holds.
MIGRATIONS: list[tuple[int, str, str | Callable[[duckdb.DuckDBPyConnection], None]]] = [
    (
        1,
        "initial tables",
        """
        CREATE TABLE runs (
            run_id VARCHAR PRIMARY KEY,
            kind VARCHAR NOT NULL,
            started_at TIMESTAMPTZ NOT NULL,
            finished_at TIMESTAMPTZ,
            status VARCHAR NOT NULL,
            raw_count INTEGER,
            listing_count INTEGER,
            reject_count INTEGER,
            group_count INTEGER,
            report JSON
        );
        CREATE TABLE run_sources (
            run_id VARCHAR NOT NULL,
            source VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            error VARCHAR,
            raw_count INTEGER NOT NULL,
            listing_count INTEGER NOT NULL,
            reject_count INTEGER NOT NULL,
            new_group_count INTEGER,
            duration_s DOUBLE,
            crawl_stats JSON,
            field_issues JSON,
            PRIMARY KEY (run_id, source)
        );
        CREATE TABLE raw_listings (
            run_id VARCHAR NOT NULL,
            source VARCHAR,
            source_id VARCHAR,
            listing_id VARCHAR,
            received_at TIMESTAMPTZ NOT NULL,
            payload JSON NOT NULL
        );
        CREATE TABLE listings (
            listing_id VARCHAR PRIMARY KEY,
            source VARCHAR NOT NULL,
            source_id VARCHAR NOT NULL,
            source_url VARCHAR,
            group_id VARCHAR,
            name VARCHAR NOT NULL,
            organization VARCHAR,
            description VARCHAR,
            location_name VARCHAR,
            address VARCHAR,
            street VARCHAR,
            city VARCHAR,
            region VARCHAR,
            postal_code VARCHAR,
            country VARCHAR,
            latitude DOUBLE,
            longitude DOUBLE,
            coordinates_approximate BOOLEAN,
            phone VARCHAR,
            phone_raw VARCHAR,
            email VARCHAR,
            website VARCHAR,
            conference_url VARCHAR,
            conference_phone VARCHAR,
            format VARCHAR,
            status VARCHAR NOT NULL,
            schedule_text VARCHAR,
            topics VARCHAR[],
            audiences VARCHAR[],
            language VARCHAR,
            cost VARCHAR NOT NULL,
            types VARCHAR[],
            field_issues VARCHAR[],
            fetched_at VARCHAR,
            first_seen_run VARCHAR NOT NULL,
            last_seen_run VARCHAR NOT NULL,
            first_seen_at TIMESTAMPTZ NOT NULL,
            last_seen_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE listing_schedules (
            listing_id VARCHAR NOT NULL,
            position INTEGER NOT NULL,
            freq VARCHAR NOT NULL,
            "interval" INTEGER NOT NULL,
            byday VARCHAR[],
            opens_at TIME,
            closes_at TIME,
            timezone VARCHAR,
            notes VARCHAR,
            rrule VARCHAR NOT NULL
        );
        CREATE TABLE rejects (
            run_id VARCHAR NOT NULL,
            source VARCHAR,
            source_id VARCHAR,
            reasons VARCHAR[] NOT NULL,
            payload JSON NOT NULL,
            rejected_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE groups (
            group_id VARCHAR PRIMARY KEY,
            name VARCHAR NOT NULL,
            organization VARCHAR,
            description VARCHAR,
            location_name VARCHAR,
            address VARCHAR,
            city VARCHAR,
            region VARCHAR,
            postal_code VARCHAR,
            country VARCHAR,
            latitude DOUBLE,
            longitude DOUBLE,
            phone VARCHAR,
            email VARCHAR,
            website VARCHAR,
            conference_url VARCHAR,
            conference_phone VARCHAR,
            format VARCHAR,
            status VARCHAR,
            topics VARCHAR[],
            audiences VARCHAR[],
            cost VARCHAR,
            schedules VARCHAR[],
            sources VARCHAR[],
            source_urls VARCHAR[],
            listing_count INTEGER NOT NULL,
            provenance JSON,
            last_seen_at TIMESTAMPTZ
        );
        CREATE TABLE group_members (
            group_id VARCHAR NOT NULL,
            listing_id VARCHAR PRIMARY KEY,
            score DOUBLE NOT NULL,
            evidence VARCHAR
        );
        CREATE VIEW group_schedules AS
            SELECT DISTINCT m.group_id, s.freq, s."interval", s.byday, s.opens_at, s.closes_at, s.timezone, s.rrule
            FROM group_members m JOIN listing_schedules s USING (listing_id);
        """,
    ),
    (
        2,
        "normalised places, schedule sources and validity, who runs a group, raw values beside cleaned ones",
        """
        ALTER TABLE listings ADD COLUMN unit VARCHAR;
        ALTER TABLE listings ADD COLUMN address_key VARCHAR;
        ALTER TABLE listings ADD COLUMN coordinates_precision VARCHAR;
        ALTER TABLE listings ADD COLUMN schedule_source VARCHAR;
        ALTER TABLE listings ADD COLUMN faith_based BOOLEAN;
        ALTER TABLE listings ADD COLUMN led_by VARCHAR;
        ALTER TABLE listings ADD COLUMN registration VARCHAR;
        ALTER TABLE listings ADD COLUMN raw_values JSON;
        ALTER TABLE listing_schedules ADD COLUMN valid_from DATE;
        ALTER TABLE listing_schedules ADD COLUMN valid_to DATE;
        ALTER TABLE groups ADD COLUMN language VARCHAR;
        ALTER TABLE groups ADD COLUMN faith_based BOOLEAN;
        ALTER TABLE groups ADD COLUMN led_by VARCHAR;
        ALTER TABLE groups ADD COLUMN registration VARCHAR;
        ALTER TABLE groups ADD COLUMN coordinates_precision VARCHAR;
        """,
    ),
    (
        3,
        "probabilistic linkage: review queue and decisions, group id changes, match evidence",
        """
        CREATE TABLE review_queue (
            listing_id_l VARCHAR NOT NULL,
            listing_id_r VARCHAR NOT NULL,
            match_probability DOUBLE NOT NULL,
            evidence VARCHAR
        );
        CREATE TABLE review_decisions (
            listing_id_l VARCHAR NOT NULL,
            listing_id_r VARCHAR NOT NULL,
            same BOOLEAN NOT NULL,
            decided_at TIMESTAMPTZ NOT NULL,
            decided_by VARCHAR,
            note VARCHAR,
            PRIMARY KEY (listing_id_l, listing_id_r)
        );
        CREATE TABLE group_id_changes (
            run_id VARCHAR,
            old_group_id VARCHAR NOT NULL,
            new_group_id VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            changed_at TIMESTAMPTZ NOT NULL
        );
        """,
    ),
    (
        4,
        "listing history: lifecycle status, withdrawal, change events; analyst views",
        """
        ALTER TABLE listings ADD COLUMN source_status VARCHAR;
        ALTER TABLE listings ADD COLUMN content_hash VARCHAR;
        ALTER TABLE listings ADD COLUMN withdrawn_at TIMESTAMPTZ;
        ALTER TABLE listings ADD COLUMN withdrawn_run VARCHAR;
        ALTER TABLE listings ADD COLUMN raw_hash VARCHAR;
        UPDATE listings SET source_status = status;
        ALTER TABLE groups ADD COLUMN first_seen_at TIMESTAMPTZ;
        ALTER TABLE run_sources ADD COLUMN complete BOOLEAN;
        ALTER TABLE run_sources ADD COLUMN withdrawn_count INTEGER;
        CREATE TABLE listing_events (
            run_id VARCHAR NOT NULL,
            listing_id VARCHAR NOT NULL,
            source VARCHAR NOT NULL,
            event VARCHAR NOT NULL,
            happened_at TIMESTAMPTZ NOT NULL
        );

        CREATE VIEW group_meetings AS
            SELECT g.group_id, g.name, g.format, g.status, g.country, g.region, g.city, g.topics, g.audiences,
                   g.language, g.cost, s.freq, s."interval", s.byday AS rule_days, day, s.opens_at, s.closes_at,
                   s.timezone,
                   CASE WHEN s.opens_at IS NOT NULL AND s.timezone IS NOT NULL
                        THEN timezone(s.timezone, current_date + s.opens_at) END AS starts_at_today
            FROM groups g JOIN group_schedules s USING (group_id), unnest(s.byday) AS days(day);

        CREATE VIEW coverage AS
            SELECT coalesce(g.country, 'unknown') AS country, coalesce(g.region, 'online or unknown') AS region,
                   coalesce(topic, 'unclassified') AS topic, g.format, count(DISTINCT g.group_id) AS groups
            FROM groups g LEFT JOIN unnest(g.topics) AS t(topic) ON true
            WHERE g.status <> 'withdrawn'
            GROUP BY ALL;

        CREATE VIEW source_overlap AS
            WITH listed AS (SELECT DISTINCT m.group_id, l.source FROM group_members m JOIN listings l USING (listing_id)
                            WHERE l.status <> 'withdrawn')
            SELECT a.source AS source, b.source AS other_source, count(*) AS shared_groups
            FROM listed a JOIN listed b ON a.group_id = b.group_id AND a.source <> b.source
            GROUP BY ALL;

        CREATE VIEW source_coverage AS
            WITH listed AS (SELECT DISTINCT m.group_id, l.source FROM group_members m JOIN listings l USING (listing_id)
                            WHERE l.status <> 'withdrawn'),
                 sources_per_group AS (SELECT group_id, count(*) AS n FROM listed GROUP BY group_id)
            SELECT source, count(*) AS groups, count(*) FILTER (WHERE n = 1) AS only_here
            FROM listed JOIN sources_per_group USING (group_id)
            GROUP BY source;

        CREATE VIEW freshness AS
            SELECT source, status, count(*) AS listings, min(last_seen_at) AS oldest_confirmation,
                   max(last_seen_at) AS newest_confirmation,
                   median(date_diff('day', last_seen_at, now())) AS median_days_since_confirmed
            FROM listings GROUP BY source, status;

        CREATE VIEW field_quality AS
            SELECT source, field, avg(CASE WHEN filled THEN 1.0 ELSE 0.0 END) AS share_filled, count(*) AS listings
            FROM (
                SELECT source, unnest([
                    {'field': 'address', 'filled': address IS NOT NULL},
                    {'field': 'coordinates', 'filled': latitude IS NOT NULL},
                    {'field': 'phone', 'filled': phone IS NOT NULL},
                    {'field': 'email', 'filled': email IS NOT NULL},
                    {'field': 'website', 'filled': website IS NOT NULL},
                    {'field': 'conference_url', 'filled': conference_url IS NOT NULL},
                    {'field': 'schedule', 'filled': schedule_source IN ('structured', 'text')},
                    {'field': 'topics', 'filled': len(topics) > 0},
                    {'field': 'description', 'filled': description IS NOT NULL},
                    {'field': 'cost', 'filled': cost <> 'unknown'}
                ], recursive := true)
                FROM listings WHERE status <> 'withdrawn'
            )
            GROUP BY source, field;

        CREATE VIEW listing_changes AS
            SELECT e.happened_at, e.run_id, e.event, e.source, l.source_id, e.listing_id, l.name, l.city, l.region,
                   l.group_id
            FROM listing_events e JOIN listings l USING (listing_id);
        """,
    ),
    (
        5,
        "incremental runs: stored links and link keys; raw records stored once, not on every run",
        """
        CREATE TABLE link_edges (
            listing_id_l VARCHAR NOT NULL,
            listing_id_r VARCHAR NOT NULL,
            match_probability DOUBLE NOT NULL,
            evidence VARCHAR
        );
        CREATE TABLE link_keys (
            listing_id VARCHAR PRIMARY KEY,
            source VARCHAR,
            name_tokens VARCHAR[],
            online_key VARCHAR,
            address_key VARCHAR,
            latitude DOUBLE,
            longitude DOUBLE,
            zip5 VARCHAR,
            town VARCHAR,
            phone VARCHAR,
            slots VARCHAR[],
            days VARCHAR[],
            times VARCHAR[],
            named_by_venue BOOLEAN,
            name_core VARCHAR,
            street_key VARCHAR,
            precise BOOLEAN
        );
        -- A raw record identical to the one stored before (same raw hash) is not stored again: its row keeps the
        -- hash, and `raw_records` gives it the payload of the row that first carried it.
        ALTER TABLE raw_listings ADD COLUMN raw_hash VARCHAR;
        ALTER TABLE raw_listings ALTER COLUMN payload DROP NOT NULL;
        -- Hashes known before rows carried them cannot point at a payload: such records are read afresh once.
        UPDATE listings SET raw_hash = NULL;
        CREATE VIEW raw_records AS
            SELECT r.run_id, r.source, r.source_id, r.listing_id, r.received_at, r.raw_hash,
                   coalesce(r.payload, stored.payload) AS payload, r.payload IS NULL AS unchanged
            FROM raw_listings r
            LEFT JOIN (SELECT listing_id, raw_hash, any_value(payload) AS payload FROM raw_listings
                       WHERE payload IS NOT NULL AND raw_hash IS NOT NULL GROUP BY listing_id, raw_hash) stored
              ON r.payload IS NULL AND stored.listing_id = r.listing_id AND stored.raw_hash = r.raw_hash;
        CREATE TABLE link_state (
            model_version VARCHAR NOT NULL,
            trust JSON,
            linked_at TIMESTAMPTZ NOT NULL,
            run_id VARCHAR,
            kind VARCHAR NOT NULL,
            rescored_listings INTEGER
        );
        """,
    ),
    (6, "no key indexes on tables every run rewrites (their checkpoint cost a fifth of a re-run)", _drop_key_indexes),
    (
        7,
        "listings remember the JSON line their raw record last came in",
        "ALTER TABLE listings ADD COLUMN IF NOT EXISTS raw_line_hash VARCHAR",
    ),
    (
        8,
        "how many listings incremental links scored again since the last full link, to bound what they leave to it",
        "ALTER TABLE link_state ADD COLUMN IF NOT EXISTS rescored_since_full INTEGER",
    ),
]

# A listing that no run has confirmed for this long is `stale`: the group may have stopped meeting.
STALE_AFTER_DAYS = 90


# New warehouses are written in a storage format the DuckDB 1.5 CLI (PyPI `duckdb-cli`, what analysts install)
# can read; DuckDB 2's own default format would lock them out.
STORAGE_CONFIG = {"storage_compatibility_version": "v1.5.0"}


class WarehouseBusy(RuntimeError):
    """Another process is writing to the warehouse."""


class WarehouseError(RuntimeError):
    """The warehouse file cannot be opened (not a DuckDB file, unreadable, ...)."""


def connect(path: Path | str, *, read_only: bool = False, wait_s: float = 0) -> duckdb.DuckDBPyConnection:
    """Open (and on first use create and migrate) the warehouse. Raises WarehouseBusy or WarehouseError.

    `wait_s`: while another process writes, try again for up to this many seconds before giving up, so runs on
    one warehouse take turns instead of overlapping.
    """
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return _connect(Path(path), read_only=read_only)
        except WarehouseBusy:
            if time.monotonic() >= deadline:
                raise
            time.sleep(min(2.0, max(0.1, deadline - time.monotonic())))


def _connect(path: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    if read_only and not path.exists():
        raise WarehouseError(f"no warehouse at {path}: run `peergroups demo` or `peergroups run` first")
    try:
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(path), read_only=read_only, config=STORAGE_CONFIG)
    except duckdb.IOException as error:
        if "lock" in str(error).casefold():
            raise WarehouseBusy(
                f"the warehouse {path} is busy: another peergroups process is writing to it; "
                "try again when it has finished"
            ) from error
        raise WarehouseError(f"cannot open the warehouse {path}: {error}") from error
    except (duckdb.Error, OSError) as error:
        raise WarehouseError(f"cannot open the warehouse {path}: {error}") from error
    if not read_only:
        migrate(con)
        return con
    try:
        latest = con.execute("SELECT max(version) FROM schema_migrations").fetchall()[0][0]
    except duckdb.CatalogException:  # not a peergroups warehouse (or one from before migrations were recorded)
        latest = None
    if latest != MIGRATIONS[-1][0]:
        con.close()
        raise WarehouseError(
            f"{path} is not a peergroups warehouse of this version (schema {latest or 'none'}, "
            f"expected {MIGRATIONS[-1][0]}); a `peergroups run` or `ingest` on it upgrades it in place"
        )
    return con


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply the migrations this warehouse has not had yet; returns their numbers."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMPTZ)"
    )
    applied = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    done = []
    for version, description, change in MIGRATIONS:
        if version in applied:
            continue
        with transaction(con):
            if callable(change):
                change(con)
            else:
                con.execute(change)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [version, description, _now()])
        done.append(version)
    return done


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.begin()
    try:
        yield
    except BaseException:
        con.rollback()
        raise
    con.commit()


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ConfirmedLine:
    """A JSON line identical, character for character, to the one a stored listing's raw record last came in, read
    under the same source and by the same normaliser: the same record, so it is confirmed without being read."""

    listing_id: str
    source: str
    text: str  # to read it after all, should it have to be rejected
    override_source: bool = False  # read with every record's source overridden by the file's (`source`)


@dataclass
class SourceBatch:
    """What one source delivered in one run, already normalised."""

    source: str
    raw_records: list[dict[str, Any]]
    listings: list[GroupListing]
    rejects: list[Reject]
    status: str = "ok"
    error: str | None = None
    duration_s: float | None = None
    crawl_stats: dict[str, Any] | None = None
    # The batch is everything the source lists now (a finished, healthy crawl; or a file given as complete), so a
    # listing it no longer holds has been withdrawn. A partial or failed crawl never withdraws anything.
    complete: bool = False
    # Records identical to what the warehouse already holds (same raw hash): not normalised again, only confirmed.
    unchanged: list[str] = field(default_factory=list)
    raw_hashes: dict[str, str] = field(default_factory=dict)  # listing_id → raw hash, for the listings
    # One entry per raw record (normalise_batch fills them; otherwise worked out, or unknown, here): its listing id,
    # its raw hash, and whether it was confirmed unchanged by that hash (then it is not stored again).
    raw_listing_ids: list[str | None] = field(default_factory=list)
    raw_digests: list[str | None] = field(default_factory=list)
    raw_confirmed: list[bool] = field(default_factory=list)
    # Records confirmed by their JSON line alone (see ConfirmedLine): raw records and unchanged, not in raw_records.
    confirmed_lines: list[ConfirmedLine] = field(default_factory=list)
    # listing_id → hash of the JSON line its record came in (records read from a file), for the listings and the
    # records confirmed by their raw hash: a later file with the same line confirms it by the line alone.
    raw_line_hashes: dict[str, str] = field(default_factory=dict)

    @property
    def raw_count(self) -> int:
        """Every raw record the source delivered: those read, and those confirmed by their line."""
        return len(self.raw_records) + len(self.confirmed_lines)

    def __post_init__(self) -> None:
        count = len(self.raw_records)
        if len(self.raw_listing_ids) != count:
            self.raw_listing_ids = [record_listing_id(record) for record in self.raw_records]
        if len(self.raw_digests) != count:
            self.raw_digests = [None] * count
        if len(self.raw_confirmed) != count:
            self.raw_confirmed = [False] * count


LISTING_COLUMNS = [
    "listing_id", "source", "source_id", "source_url", "name", "organization", "description", "location_name",
    "address", "street", "city", "region", "postal_code", "country", "latitude", "longitude",
    "coordinates_approximate", "phone", "phone_raw", "email", "website", "conference_url", "conference_phone",
    "format", "status", "schedule_text", "topics", "audiences", "language", "cost", "types", "field_issues",
    "fetched_at", "unit", "address_key", "coordinates_precision", "schedule_source", "faith_based", "led_by",
    "registration", "raw_values", "source_status", "content_hash",
]  # fmt: skip
LIST_COLUMNS = ("topics", "audiences", "types", "field_issues")


def _listing_frame(listings: Sequence[GroupListing]) -> pd.DataFrame:
    rows = []
    for listing in listings:
        row = listing.model_dump(mode="json", include=set(LISTING_COLUMNS))
        row["raw_values"] = json.dumps(row["raw_values"], default=str, ensure_ascii=False)
        row["source_status"] = row["status"]
        row["content_hash"] = content_hash(listing)
        rows.append(row)
    return pd.DataFrame(rows, columns=LISTING_COLUMNS)


def content_hash(listing: GroupListing) -> str:
    """What the source says about the group, without when it was fetched: equal hashes mean nothing changed."""
    payload = listing.model_dump(mode="json", exclude={"fetched_at", "raw_values"})
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _schedule_frame(listings: Sequence[GroupListing]) -> pd.DataFrame:
    rows = []
    for listing in listings:
        for position, schedule in enumerate(listing.schedules):
            rows.append(
                {
                    "listing_id": listing.listing_id,
                    "position": position,
                    "freq": schedule.freq.value,
                    "interval": schedule.interval,
                    "byday": list(schedule.byday),
                    "opens_at": schedule.opens_at,
                    "closes_at": schedule.closes_at,
                    "timezone": schedule.timezone,
                    "notes": schedule.notes,
                    "rrule": schedule.rrule(),
                    "valid_from": schedule.valid_from,
                    "valid_to": schedule.valid_to,
                }
            )
    columns = ["listing_id", "position", "freq", "interval", "byday", "opens_at", "closes_at", "timezone", "notes"]
    return pd.DataFrame(rows, columns=[*columns, "rrule", "valid_from", "valid_to"])


def load_batches(con: duckdb.DuckDBPyConnection, run_id: str, batches: Sequence[SourceBatch]) -> None:
    """Store every batch's raw records, listings, schedules and rejects. The caller owns the transaction.

    Listings are upserted on listing_id: a listing seen again keeps its first-seen run. Listings a source no
    longer lists are left alone here; a failed crawl loads nothing and so withdraws nothing. All batches go in
    together, a few statements for the whole run (each statement costs the same for one row or thousands).
    """
    now = _now()
    unchanged = {identity for batch in batches for identity in batch.unchanged}
    raw_frame = pd.DataFrame(
        {
            "run_id": run_id,
            # A record without its own source (an unreadable line) belongs to the batch's source.
            "source": [
                _str_or_none(record.get("source")) or batch.source for batch in batches for record in batch.raw_records
            ],
            "source_id": [_str_or_none(record.get("source_id")) for batch in batches for record in batch.raw_records],
            "listing_id": [identity for batch in batches for identity in batch.raw_listing_ids],
            "received_at": now,
            # A record identical to the stored one (confirmed by its raw hash) is not stored again; see raw_records.
            "payload": [
                None if stored and identity in unchanged else json_text.dumps(record)
                for batch in batches
                for record, identity, stored in zip(
                    batch.raw_records, batch.raw_listing_ids, batch.raw_confirmed, strict=True
                )
            ],
            "raw_hash": [digest for batch in batches for digest in batch.raw_digests],
        }
    )
    if len(raw_frame):
        con.register("staged_raw", raw_frame)
        con.execute("INSERT INTO raw_listings BY NAME SELECT * FROM staged_raw")
        con.unregister("staged_raw")
    lines = [line.listing_id for batch in batches for line in batch.confirmed_lines]
    if lines:
        # A record confirmed by its line is the one its listing holds: its row is made from the listing, in SQL.
        con.register("confirmed_lines", pd.DataFrame({"listing_id": lines}, dtype="string"))
        con.execute(
            """INSERT INTO raw_listings BY NAME
               SELECT $run AS run_id, source, source_id, listing_id, $now AS received_at, NULL AS payload, raw_hash
               FROM listings SEMI JOIN confirmed_lines USING (listing_id)""",
            {"run": run_id, "now": now},
        )
        con.unregister("confirmed_lines")

    rejects = [reject for batch in batches for reject in batch.rejects]
    if rejects:
        reject_frame = pd.DataFrame(
            {
                "run_id": run_id,
                "source": [reject.source for reject in rejects],
                "source_id": [reject.source_id for reject in rejects],
                "reasons": [reject.reasons for reject in rejects],
                "payload": [json_text.dumps(reject.payload) for reject in rejects],
                "rejected_at": now,
            }
        )
        con.register("staged_rejects", reject_frame)
        con.execute("INSERT INTO rejects SELECT * FROM staged_rejects")
        con.unregister("staged_rejects")

    listings = [listing for batch in batches for listing in batch.listings]
    if listings:
        # Each kept listing's own hash: a record rejected as a duplicate of one in another batch must not lend it its
        # hash (the listing would then be "confirmed" later with the other record's content).
        hashes = {
            listing.listing_id: batch.raw_hashes[listing.listing_id]
            for batch in batches
            for listing in batch.listings
            if listing.listing_id in batch.raw_hashes
        }
        # Likewise its own line: a record rejected as a duplicate must not leave its line on the listing kept.
        line_hashes = {
            listing.listing_id: batch.raw_line_hashes[listing.listing_id]
            for batch in batches
            for listing in batch.listings
            if listing.listing_id in batch.raw_line_hashes
        }
        _upsert_listings(con, run_id, now, listings, hashes, line_hashes)
    if unchanged:
        _confirm_unchanged(con, run_id, now, [identity for batch in batches for identity in batch.unchanged])
        # Confirmed by their raw hash, in a line of their own (a new fetch time): the next file may repeat the line.
        moved = {
            identity: batch.raw_line_hashes[identity]
            for batch in batches
            for identity in batch.unchanged
            if identity in batch.raw_line_hashes
        }
        if moved:
            con.register(
                "moved_lines",
                pd.DataFrame({"listing_id": list(moved), "raw_line_hash": list(moved.values())}, dtype="string"),
            )
            con.execute(
                """UPDATE listings SET raw_line_hash = m.raw_line_hash FROM moved_lines m
                   WHERE listings.listing_id = m.listing_id"""
            )
            con.unregister("moved_lines")


def _confirm_unchanged(con: duckdb.DuckDBPyConnection, run_id: str, now: datetime, listing_ids: list[str]) -> None:
    """Listings whose raw record has not changed: seen again (and back, if they had been withdrawn or gone stale)."""
    con.register("still_same", pd.DataFrame({"listing_id": listing_ids}, dtype="string"))
    con.execute(
        """INSERT INTO listing_events
           SELECT $run, listing_id, source, 'relisted', $now FROM listings
           WHERE status IN ('withdrawn', 'stale') AND listing_id IN (SELECT listing_id FROM still_same)""",
        {"run": run_id, "now": now},
    )
    con.execute(
        """UPDATE listings SET last_seen_run = $run, last_seen_at = $now, status = source_status, withdrawn_at = NULL,
                  withdrawn_run = NULL
           WHERE listing_id IN (SELECT listing_id FROM still_same)""",
        {"run": run_id, "now": now},
    )
    con.unregister("still_same")


def withdraw_unlisted(con: duckdb.DuckDBPyConnection, run_id: str, batches: Sequence[SourceBatch]) -> dict[str, int]:
    """Mark `withdrawn` the listings of these complete batches' sources that the batches no longer hold; returns
    how many per source (every source given, 0 included). One pair of statements for all sources.

    A record the source still lists but we rejected this time is not withdrawn: it is there, just unreadable. A
    listing any of the batches holds is not withdrawn either (a directory's file may carry another's records).
    """
    if not batches:
        return {}
    seen = [
        identity
        for batch in batches
        for identity in [
            *(listing.listing_id for listing in batch.listings),
            *batch.unchanged,
            *(
                listing_id(reject.source or batch.source, reject.source_id)
                for reject in batch.rejects
                if reject.source_id
            ),
        ]
    ]
    con.register("complete_sources", pd.DataFrame({"source": [batch.source for batch in batches]}, dtype="string"))
    con.register("still_listed", pd.DataFrame({"listing_id": seen}, dtype="string"))
    now = _now()
    gone = """status <> 'withdrawn' AND source IN (SELECT source FROM complete_sources)
              AND listing_id NOT IN (SELECT listing_id FROM still_listed)"""
    counts = Counter(source for (source,) in con.execute(
        f"""INSERT INTO listing_events SELECT $run, listing_id, source, 'withdrawn', $now FROM listings WHERE {gone}
            RETURNING source""",
        {"run": run_id, "now": now},
    ).fetchall())  # fmt: skip
    con.execute(
        f"UPDATE listings SET status = 'withdrawn', withdrawn_at = $now, withdrawn_run = $run WHERE {gone}",
        {"run": run_id, "now": now},
    )
    con.unregister("still_listed")
    con.unregister("complete_sources")
    return {batch.source: counts[batch.source] for batch in batches}


def mark_stale(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Listings no run has confirmed for STALE_AFTER_DAYS become `stale` (seen again, they are active again)."""
    now = _now()
    old = f"status IN ('active', 'temporarily_closed') AND last_seen_at < $now - INTERVAL {STALE_AFTER_DAYS} DAY"
    con.execute(
        f"INSERT INTO listing_events SELECT $run, listing_id, source, 'stale', $now FROM listings WHERE {old}",
        {"run": run_id, "now": now},
    )
    con.execute(f"UPDATE listings SET status = 'stale' WHERE {old}", {"now": now})


def _upsert_listings(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    now: datetime,
    listings: Sequence[GroupListing],
    raw_hashes: dict[str, str] | None = None,
    line_hashes: dict[str, str] | None = None,
) -> None:
    frame = _listing_frame(listings)
    frame["raw_hash"] = [(raw_hashes or {}).get(listing_id) for listing_id in frame["listing_id"]]
    # A listing read from anything but a file line (a crawl) forgets its old line: that line no longer says it.
    frame["raw_line_hash"] = pd.array(
        [(line_hashes or {}).get(listing_id) for listing_id in frame["listing_id"]], dtype="string"
    )
    con.register("staged_listings", frame)
    # What this load changes, before it changes it: new listings, listings back after a withdrawal, edits.
    con.execute(
        """INSERT INTO listing_events
           SELECT $run, s.listing_id, s.source,
                  CASE WHEN t.listing_id IS NULL THEN 'new' WHEN t.status IN ('withdrawn', 'stale') THEN 'relisted'
                       ELSE 'changed' END,
                  $now
           FROM staged_listings s LEFT JOIN listings t USING (listing_id)
           WHERE t.listing_id IS NULL OR t.status IN ('withdrawn', 'stale')
              OR t.content_hash IS DISTINCT FROM s.content_hash""",
        {"run": run_id, "now": now},
    )
    # A listing seen again is replaced whole, keeping its group and when it was first seen. Deleted and inserted, not
    # updated: DuckDB commits an update of every column of scattered rows far more slowly (a second, against a
    # twentieth, for a thousand rows of a hundred thousand).
    casts = ", ".join(f"CAST({column} AS VARCHAR[]) AS {column}" for column in LIST_COLUMNS)
    con.execute(
        """CREATE OR REPLACE TEMP TABLE replaced_listings AS
           SELECT listing_id, group_id, first_seen_run, first_seen_at FROM listings
           WHERE listing_id IN (SELECT listing_id FROM staged_listings)"""
    )
    con.execute("DELETE FROM listings WHERE listing_id IN (SELECT listing_id FROM replaced_listings)")
    con.execute(
        f"""
        INSERT INTO listings BY NAME
        SELECT s.* REPLACE ({casts}, CAST(raw_values AS JSON) AS raw_values),
               h.group_id, coalesce(h.first_seen_run, $run) AS first_seen_run, $run AS last_seen_run,
               coalesce(h.first_seen_at, $now) AS first_seen_at, $now AS last_seen_at,
               NULL AS withdrawn_at, NULL AS withdrawn_run
        FROM staged_listings s LEFT JOIN replaced_listings h USING (listing_id)
        """,
        {"run": run_id, "now": now},
    )
    con.execute("DROP TABLE replaced_listings")
    con.execute("DELETE FROM listing_schedules WHERE listing_id IN (SELECT listing_id FROM staged_listings)")
    con.unregister("staged_listings")
    schedules = _schedule_frame(listings)
    if len(schedules):
        con.register("staged_schedules", schedules)
        con.execute(
            """INSERT INTO listing_schedules BY NAME
               SELECT * REPLACE (CAST(byday AS VARCHAR[]) AS byday, CAST(opens_at AS TIME) AS opens_at,
                                 CAST(closes_at AS TIME) AS closes_at, CAST(valid_from AS DATE) AS valid_from,
                                 CAST(valid_to AS DATE) AS valid_to)
               FROM staged_schedules"""
        )
        con.unregister("staged_schedules")


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def record_listing_id(record: dict[str, Any]) -> str | None:
    source, source_id = record.get("source"), record.get("source_id")
    source = "" if source is None else str(source).strip()
    source_id = "" if source_id is None else str(source_id).strip()
    if not source or not source_id:
        return None
    return listing_id(source, source_id)  # stripped, as RawListing strips them


def record_run_start(con: duckdb.DuckDBPyConnection, run_id: str, kind: str) -> None:
    con.execute(
        "INSERT INTO runs (run_id, kind, started_at, status) VALUES (?, ?, ?, 'running')", [run_id, kind, _now()]
    )


def record_run_end(
    con: duckdb.DuckDBPyConnection, run_id: str, status: str, report: dict[str, Any], source_rows: list[dict[str, Any]]
) -> None:
    totals = report.get("totals", {})
    con.execute(
        """UPDATE runs SET finished_at = ?, status = ?, raw_count = ?, listing_count = ?, reject_count = ?,
                          group_count = ?, report = ?
           WHERE run_id = ?""",
        [
            _now(),
            status,
            totals.get("raw"),
            totals.get("listings"),
            totals.get("rejects"),
            totals.get("groups"),
            json.dumps(report, default=str),
            run_id,
        ],
    )
    for row in source_rows:
        con.execute(
            """INSERT INTO run_sources VALUES ($run_id, $source, $status, $error, $raw, $listings, $rejects,
                                              $new_groups, $duration_s, $crawl_stats, $field_issues, $complete,
                                              $withdrawn)""",
            {
                "run_id": run_id,
                **{key: row.get(key) for key in ("source", "status", "error", "raw", "listings", "rejects")},
                "new_groups": row.get("new_groups"),
                "duration_s": row.get("duration_s"),
                "crawl_stats": json.dumps(row.get("crawl_stats") or {}, default=str),
                "field_issues": json.dumps(row.get("field_issues") or {}),
                "complete": row.get("complete"),
                "withdrawn": row.get("withdrawn"),
            },
        )
