"""From raw records to a stored run: normalise each source's batch, then load everything in one transaction."""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline import json_text
from pipeline.groups import confirm_groups, links_outdated, refresh_groups
from pipeline.memory import collector_paused
from pipeline.normalise import Reject, normalise, readable
from pipeline.runs import http_errors
from pipeline.warehouse import (
    ConfirmedLine,
    SourceBatch,
    connect,
    load_batches,
    mark_stale,
    record_listing_id,
    record_run_end,
    record_run_start,
    transaction,
    withdraw_unlisted,
)
from schemas.listing import GroupListing
from schemas.raw import valid_source_name


class InputError(ValueError):
    """A raw-listings file that cannot be read; the message says where and why."""


def check_text_file(path: Path) -> None:
    """Fail early, with a message, on a file that cannot be JSON lines (unreadable, or not UTF-8 text)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as error:
                    raise InputError(
                        f"{path} is not UTF-8 text (byte {offset + error.start}): is it a JSON lines file?"
                    ) from error
                offset += len(chunk)
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from error


@dataclass(frozen=True)
class UnreadableLine:
    """A line of a JSON lines file that is not a JSON object: kept, and rejected with its line number."""

    number: int
    text: str

    def payload(self) -> dict[str, Any]:
        return {"unreadable_line": self.number, "text": self.text}


# A JSON escape of a UTF-16 surrogate: a lone one decodes to a string that cannot be written as UTF-8.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def read_jsonl(path: Path) -> Iterator[dict[str, Any] | UnreadableLine]:
    """RawListing JSON lines. A line that is not a JSON object comes back as an UnreadableLine, never dropped."""
    for number, line in _jsonl_lines(path):
        yield _parse_line(number, line)


def _jsonl_lines(path: Path) -> Iterator[tuple[int, str]]:
    """The file's lines that are not blank, with their numbers."""
    try:
        handle = path.open(encoding="utf-8")
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from error
    number = 0
    with handle:
        try:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield number, line
        except UnicodeDecodeError as error:
            # The decoder reads ahead: its byte offset is within its own chunk, not the file.
            raise InputError(f"{path} is not UTF-8 text (after line {number}): is it a JSON lines file?") from error


def _parse_line(number: int, line: str) -> dict[str, Any] | UnreadableLine:
    try:
        record = json_text.loads(line)
    except ValueError:
        return UnreadableLine(number, line.rstrip("\n"))
    if not isinstance(record, dict):
        return UnreadableLine(number, line.rstrip("\n"))
    lone = "\\u" in line and _SURROGATE_ESCAPE.search(line)
    return readable(record) if lone else record


# Normalisation's own code, hashed: a raw record is "unchanged" only if the code that reads it has not changed either.
_NORMALISER_FILES = ("normalise.py", "schedules.py", "schedule_text.py", "addresses.py", "contacts.py", "classify.py",
                     "places.py", "text.py")  # fmt: skip
_NORMALISER_VERSION = hashlib.sha256(
    b"".join((Path(__file__).parent / name).read_bytes() for name in _NORMALISER_FILES)
    + b"".join(path.read_bytes() for path in sorted((Path(__file__).parent.parent / "schemas").glob("*.py")))
).hexdigest()[:12]


_RAW_HASH_PREFIX = f"{_NORMALISER_VERSION}\n".encode()


def raw_hash(record: dict[str, Any]) -> str:
    """What a raw record says (not when it was fetched), with the normaliser's version."""
    content = record
    if "fetched_at" in record:
        content = record.copy()  # a copy and a deletion: twice as fast as a comprehension that skips the key
        del content["fetched_at"]
    return hashlib.sha256(_RAW_HASH_PREFIX + json_text.dumps_utf8(content, sort_keys=True)).hexdigest()[:32]


def _line_key_prefix(default_source: str, override_source: bool) -> bytes:
    """What a line's hash is taken with besides the line: the normaliser's version, and the source it is read under
    (a record naming no source, or every record with `override_source`, takes the file's)."""
    read_as = f"line\x1f{'override' if override_source else 'own'}\x1f{default_source}\x1f"
    return _RAW_HASH_PREFIX + read_as.encode("utf-8", "surrogatepass")


def _line_key(prefix: bytes, line: str) -> str:
    return hashlib.blake2b(prefix + line.rstrip("\n").encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class KnownRecords(dict[str, str]):
    """listing_id → raw hash of what the warehouse holds, and `lines`: the hash of the JSON line each listing's
    record last came in → (listing_id, source), so an identical line is confirmed without being read."""

    def __init__(self, hashes: Mapping[str, str] = (), lines: Mapping[str, tuple[str, str]] | None = None) -> None:
        super().__init__(hashes)
        self.lines: Mapping[str, tuple[str, str]] = lines or {}


def _as_read(record: dict[str, Any], source: str, override_source: bool) -> dict[str, Any]:
    """The record as a batch of `source` reads it: a record naming no source, or every record with
    `override_source`, takes the batch's."""
    return {**record, "source": source} if override_source or not record.get("source") else record


@collector_paused()
def normalise_batch(
    source: str,
    records: Iterable[dict[str, Any] | UnreadableLine],
    *,
    override_source: bool = False,
    known: Mapping[str, str] | None = None,
    line_hashes: Sequence[str | None] | None = None,
    confirmed_lines: Sequence[ConfirmedLine] = (),
) -> SourceBatch:
    """Normalise one source's records. Every record ends as a listing or a reject: raw = listings + rejects.

    Records without a `source` get this batch's name; with `override_source` every record gets it.
    A second record with the same (source, source_id) in one batch is rejected, not merged over the first.
    `known` (listing_id → raw hash, from the warehouse) lets a record identical to the stored one skip
    normalisation: it is confirmed, not re-read (`SourceBatch.unchanged`). `line_hashes` (one per record, from
    `normalise_file`) are kept for the listings and confirmed records; `confirmed_lines` were confirmed by their
    line and come before the records.
    """
    raw_records: list[dict[str, Any]] = []
    listings: list[GroupListing] = []
    rejects: list[Reject] = []
    unchanged: list[str] = [line.listing_id for line in confirmed_lines]
    hashes: dict[str, str] = {}
    line_of: dict[str, str] = {}
    seen: set[str] = set(unchanged)
    raw_ids: list[str | None] = []
    digests: list[str | None] = []
    confirmed: set[int] = set()  # positions of the raw records confirmed unchanged by their hash
    for position, record in enumerate(records):
        line = line_hashes[position] if line_hashes is not None else None
        if isinstance(record, UnreadableLine):
            payload = record.payload()
            raw_records.append(payload)
            raw_ids.append(None)
            digests.append(None)
            rejects.append(Reject(source, None, [f"line {record.number}/invalid: not a JSON object"], payload))
            continue
        record = _as_read(record, source, override_source)
        raw_records.append(record)
        try:
            digest = raw_hash(record)
            fetched_at = record.get("fetched_at")
            if not (fetched_at is None or (type(fetched_at) is str and fetched_at.isascii())):
                json_text.dumps(fetched_at)  # stored, not hashed: it must be storable (an ASCII text always is)
        except ValueError:  # UnicodeError included
            # A huge integer or a lone surrogate: kept in readable form, or the load could not store it.
            record = readable(record)
            raw_records[-1] = record
            digest = raw_hash(record)
        identity = record_listing_id(record)
        raw_ids.append(identity)
        digests.append(digest)
        if known and identity and identity not in seen and known.get(identity) == digest:
            seen.add(identity)
            unchanged.append(identity)
            confirmed.add(len(raw_records) - 1)
            if line:
                line_of[identity] = line
            continue
        outcome = normalise(record)
        if isinstance(outcome, Reject):
            rejects.append(outcome)
        elif outcome.listing_id in seen:
            reason = f"source_id/duplicate: {outcome.source_id!r} appears twice in this batch; the first was kept"
            rejects.append(Reject(outcome.source, outcome.source_id, [reason], record))
        else:
            seen.add(outcome.listing_id)
            listings.append(outcome)
            hashes[outcome.listing_id] = digest
            if line:
                line_of[outcome.listing_id] = line
    return SourceBatch(
        source=source, raw_records=raw_records, listings=listings, rejects=rejects, unchanged=unchanged,
        raw_hashes=hashes, raw_listing_ids=raw_ids, raw_digests=digests,
        raw_confirmed=[position in confirmed for position in range(len(raw_records))],
        confirmed_lines=list(confirmed_lines), raw_line_hashes=line_of,
    )  # fmt: skip


@collector_paused()
def normalise_file(
    path: Path,
    default_source: str,
    *,
    override_source: bool = False,
    complete: bool = False,
    known: Mapping[str, str] | None = None,
) -> list[SourceBatch]:
    """A handed-over file may hold several sources' records: one batch per source, so each is reported apart.

    A line identical to the one a stored listing's record last came in (`known.lines`, see `known_raw_hashes`) is
    that record again: confirmed without being read (most lines of a directory's weekly file)."""
    known_lines = getattr(known, "lines", None) or {}
    prefix = _line_key_prefix(default_source, override_source)
    by_source: dict[str, list[dict[str, Any] | UnreadableLine]] = {default_source: []}
    line_hashes: dict[str, list[str | None]] = {default_source: []}
    confirmed: dict[str, list[ConfirmedLine]] = {}
    read_ids: set[str] = set()  # listings some line of this file stands for: a second line for one is read
    valid: dict[str, bool] = {}  # a file names few sources: each checked once
    for number, line in _jsonl_lines(path):
        key = _line_key(prefix, line)
        hit = known_lines.get(key)
        if hit is not None and hit[0] not in read_ids:
            read_ids.add(hit[0])
            confirmed.setdefault(hit[1], []).append(ConfirmedLine(hit[0], hit[1], line, override_source))
            continue
        record = _parse_line(number, line)
        own = "" if isinstance(record, UnreadableLine) else str(record.get("source") or "").strip()
        if own not in valid:
            valid[own] = bool(own) and valid_source_name(own)
        # A record naming no valid source is reported (and rejected) under the file's own source.
        name = own if valid[own] and not override_source else default_source
        by_source.setdefault(name, []).append(record)
        line_hashes.setdefault(name, []).append(None if isinstance(record, UnreadableLine) else key)
        if known_lines and not isinstance(record, UnreadableLine):
            identity = record_listing_id(_as_read(record, name, override_source))
            if identity:
                read_ids.add(identity)
    names = [*by_source, *(name for name in confirmed if name not in by_source)]
    batches = [
        normalise_batch(name, by_source.get(name, []), override_source=override_source, known=known,
                        line_hashes=line_hashes.get(name, []), confirmed_lines=confirmed.get(name, ()))
        for name in names
        if by_source.get(name) or confirmed.get(name) or name == default_source
    ]  # fmt: skip
    for batch in batches:
        # The file is complete for its own source only, not for other sources some of its records name.
        batch.complete = complete and batch.source == default_source and batch.raw_count > 0
    return batches


@collector_paused()
def known_raw_hashes(warehouse: Path, sources: Sequence[str] | None = None) -> KnownRecords:
    """listing_id → raw hash of what the warehouse holds (for `normalise_batch(known=...)`), with the JSON lines the
    records last came in (`KnownRecords.lines`, for `normalise_file`); empty when there is no warehouse yet or
    another process is writing it (then everything is simply normalised)."""
    from pipeline.warehouse import WarehouseBusy, WarehouseError

    if not warehouse.exists():
        return KnownRecords()
    try:
        con = connect(warehouse, read_only=True)
    except (WarehouseBusy, WarehouseError):
        return KnownRecords()
    try:
        where = "raw_hash IS NOT NULL" + (" AND list_contains($sources, source)" if sources else "")
        # As Arrow columns, not rows: a row tuple per listing costs more than the query.
        table = con.sql(f"SELECT listing_id, raw_hash, raw_line_hash, source FROM listings WHERE {where}",
                        params={"sources": list(sources)} if sources else None).to_arrow_table()  # fmt: skip
    finally:
        con.close()
    ids, hashes, lines, names = (table.column(index).to_pylist() for index in range(4))
    by_line = {line: (identity, name) for line, identity, name in zip(lines, ids, names, strict=True) if line}
    return KnownRecords(dict(zip(ids, hashes, strict=True)), by_line)


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]


@collector_paused()
def store_run(
    warehouse: Path,
    kind: str,
    batches: Sequence[SourceBatch],
    run_id: str | None = None,
    *,
    trust: Mapping[str, int] | None = None,
    before_link: Callable[[Any], None] | None = None,
    wait_s: float = 0,
) -> dict[str, Any]:
    """Load all batches, re-dedupe, and record the run, in one transaction. Returns the run report.

    Failed sources load nothing (their earlier listings stay as they were) but are recorded in the report.
    """
    run_id = run_id or new_run_id()
    con = connect(warehouse, wait_s=wait_s)
    stages: dict[str, float] = {}
    clock = time.perf_counter()

    def stage(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        stages[name] = round(now - clock, 3)
        clock = now

    try:
        with transaction(con):
            record_run_start(con, run_id, kind)
            for batch in batches:
                batch.source = readable(batch.source)  # a caller's name with a lone surrogate cannot be stored
            loaded = [batch for batch in batches if batch.status != "failed"]
            _reject_duplicates_across_batches(loaded)
            earlier = earlier_runs(con, [batch.source for batch in batches])
            drops = {batch.source: _sharp_drop(batch, earlier.get(batch.source)) for batch in loaded}
            for batch in loaded:
                if drops[batch.source]:
                    batch.status, batch.error = "broken", drops[batch.source]
            load_batches(con, run_id, loaded)
            stage("load_s")
            withdrawn = withdraw_unlisted(con, run_id, [b for b in loaded if b.complete and b.status == "ok"])
            mark_stale(con, run_id)
            stage("withdraw_s")
            if before_link is not None:
                before_link(con)  # e.g. a review decision, stored in the same transaction as the re-link
            changed = con.execute("SELECT count(*) FROM listing_events WHERE run_id = ?", [run_id]).fetchall()[0][0]
            if changed or before_link is not None or _never_linked(con) or links_outdated(con, trust):
                # A review decision re-links every pair: it may join or part listings no edit touched.
                new_group_ids = refresh_groups(con, run_id, trust=trust, relink=before_link is not None)
            else:
                # Nothing new, changed, withdrawn or relisted, and the same linkage model and source trust: the
                # groups stand; only their confirmation moves on.
                new_group_ids = set()
                confirm_groups(con)
            stage("groups_s")
            linked = con.execute("SELECT kind, rescored_listings FROM link_state WHERE run_id = ?", [run_id]).fetchall()
            new_by_source = _new_groups_by_source(con, new_group_ids)
            group_count = con.execute("SELECT count(*) FROM groups").fetchone()[0]  # type: ignore[index]
            source_rows = [
                _source_row(batch, new_by_source.get(batch.source, 0), withdrawn.get(batch.source)) for batch in batches
            ]
            changed_by_source = dict(con.execute(
                """SELECT source, count(*) FROM listing_events WHERE run_id = ? AND event = 'changed'
                   GROUP BY source""", [run_id]).fetchall())  # fmt: skip
            for row in source_rows:
                before = earlier.get(row["source"])
                row["missing_jumps"] = _missing_jumps(row, before)
                # Records now minus records in the source's previous run (None for its first run).
                row["change"] = None if before is None or before.last_raw is None else row["raw"] - before.last_raw
                row["changed"] = changed_by_source.get(row["source"], 0)
                row["http_errors"] = http_errors(row["crawl_stats"])
            # Any source not fully healthy (failed, broken, or partial: some of its pages failed) makes the run
            # partial; only every source failing makes it failed.
            troubled = [row for row in source_rows if row["status"] != "ok"]
            failed = [row for row in source_rows if row["status"] == "failed"]
            status = "ok" if not troubled else ("failed" if len(failed) == len(source_rows) else "partial")
            report = {
                "run_id": run_id,
                "kind": kind,
                "status": status,
                "warehouse": str(warehouse),
                "sources": source_rows,
                "totals": {
                    "raw": sum(row["raw"] for row in source_rows),
                    "listings": sum(row["listings"] for row in source_rows),
                    "rejects": sum(row["rejects"] for row in source_rows),
                    "new_groups": len(new_group_ids),
                    "withdrawn": sum(withdrawn.values()),
                    "groups": group_count,
                },
                # How the groups were brought up to date: every pair scored ("full"), only the pairs of listings
                # whose link keys are new or changed ("incremental"), or not at all (nothing changed).
                "link": {"kind": linked[0][0], "rescored": linked[0][1]} if linked else {"kind": "none"},
            }
            stage("report_s")
            report["timings"] = stages
            record_run_end(con, run_id, status, report, source_rows)
    finally:
        con.close()
    return report


def _reject_duplicates_across_batches(batches: Sequence[SourceBatch]) -> None:
    """A record with the same (source, source_id) as one in an earlier batch of this run (a source's records that
    name another source) is rejected, not loaded over the first: every raw record stays a listing or a reject."""
    first: dict[str, str] = {}
    for batch in batches:
        identities = [listing.listing_id for listing in batch.listings] + batch.unchanged
        if not any(identity in first for identity in identities):
            first.update(dict.fromkeys(identities, batch.source))
            continue  # the common case: nothing repeated, no record to look up
        raw_by_id = {record_listing_id(record): record for record in batch.raw_records}
        kept = []
        for listing in batch.listings:
            if listing.listing_id in first:
                reason = (f"source_id/duplicate: {listing.source_id!r} of {listing.source} also came in the batch of "
                          f"{first[listing.listing_id]} in this run; the first was kept")  # fmt: skip
                batch.rejects.append(
                    Reject(listing.source, listing.source_id, [reason], raw_by_id.get(listing.listing_id, {}))
                )
            else:
                first[listing.listing_id] = batch.source
                kept.append(listing)
        batch.listings = kept
        by_line = {line.listing_id: line for line in batch.confirmed_lines}
        for identity in list(batch.unchanged):
            if identity in first:
                batch.unchanged.remove(identity)
                line = by_line.get(identity)
                record = _read_confirmed_line(batch, line) if line else raw_by_id.get(identity, {})
                batch.rejects.append(
                    Reject(batch.source, str(record.get("source_id")), ["source_id/duplicate: in two batches"], record)
                )
            else:
                first[identity] = batch.source


def _read_confirmed_line(batch: SourceBatch, line: ConfirmedLine) -> dict[str, Any]:
    """A record confirmed by its line, read after all (to be rejected with its content): a raw record like any."""
    batch.confirmed_lines.remove(line)
    # It was read (and stored) before: a JSON object, its lone surrogates made readable as it is parsed.
    record = _as_read(_parse_line(0, line.text), batch.source, line.override_source)  # type: ignore[arg-type]
    batch.raw_records.append(record)
    batch.raw_listing_ids.append(line.listing_id)
    batch.raw_digests.append(raw_hash(record))
    batch.raw_confirmed.append(False)
    return record


def _never_linked(con: Any) -> bool:
    """Listings exist that no linkage has placed in a group yet (a warehouse from before group_members existed)."""
    return bool(
        con.execute("SELECT count(*) FROM listings l ANTI JOIN group_members m USING (listing_id)").fetchall()[0][0]
    )


def _new_groups_by_source(con: Any, new_group_ids: set[str]) -> dict[str, int]:
    if not new_group_ids:
        return {}
    rows = con.execute(
        """SELECT l.source, count(DISTINCT m.group_id) FROM group_members m JOIN listings l USING (listing_id)
           WHERE list_contains($ids, m.group_id) GROUP BY l.source""",
        {"ids": sorted(new_group_ids)},
    ).fetchall()
    return dict(rows)


# A field missing this much more often than in the source's last healthy run is flagged: the page shape changed.
MISSING_JUMP = 0.25


def missing_shares(stats: dict[str, Any], raw_count: int) -> dict[str, float]:
    """field → share of the crawl's items that lacked it, from the spider's `peergroups/field/<f>/missing` stats."""
    if not raw_count:
        return {}
    return {
        key.split("/")[2]: count / raw_count
        for key, count in stats.items()
        if key.startswith("peergroups/field/") and key.endswith("/missing")
    }


@dataclass(frozen=True)
class EarlierRuns:
    """A source's earlier runs, as this run is judged against them (run ids order runs: they begin with the time)."""

    last_raw: int | None  # records in its previous run, whatever its status: "change since last run"
    healthy_raw: int | None  # in its last healthy run (ok, records > 0): the base of missing-field shares
    healthy_stats: dict[str, Any]  # that run's crawl stats
    complete_raw: int | None  # in its last healthy complete run: what a sharp drop is measured against


def earlier_runs(con: Any, sources: Sequence[str]) -> dict[str, EarlierRuns]:
    """Every source's EarlierRuns, in one query (the current run's own rows are written at its end)."""
    healthy = "status = 'ok' AND raw_count > 0"
    rows = con.execute(
        f"""SELECT source, arg_max(raw_count, run_id),
                   arg_max(raw_count, run_id) FILTER (WHERE {healthy}),
                   arg_max_null(crawl_stats, run_id) FILTER (WHERE {healthy}),
                   arg_max(raw_count, run_id) FILTER (WHERE {healthy} AND complete IS NOT FALSE)
            FROM run_sources WHERE list_contains($sources, source) GROUP BY source""",
        {"sources": sorted(set(sources))},
    ).fetchall()
    return {
        source: EarlierRuns(last, healthy_raw, json.loads(stats) if stats else {}, complete)
        for source, last, healthy_raw, stats, complete in rows
    }


def _missing_jumps(row: dict[str, Any], earlier: EarlierRuns | None) -> dict[str, list[float]]:
    """Fields missing far more often than in this source's last healthy run: {field: [before, now]}."""
    if row["status"] == "failed" or not row["raw"] or earlier is None or not earlier.healthy_raw:
        return {}
    before = missing_shares(earlier.healthy_stats, earlier.healthy_raw)
    now = missing_shares(row["crawl_stats"], row["raw"])
    return {
        field: [round(before.get(field, 0.0), 2), round(share, 2)]
        for field, share in sorted(now.items())
        if share - before.get(field, 0.0) >= MISSING_JUMP
    }


# A healthy source that suddenly returns less than this share of its last healthy run's records is broken (a
# changed page, a half-served feed): what it returned is loaded, but nothing of it is withdrawn.
SHARP_DROP = 0.5
SHARP_DROP_MIN = 10  # below this many records a halving is noise


def _sharp_drop(batch: SourceBatch, earlier: EarlierRuns | None) -> str | None:
    """Only a complete batch is compared, and only with the last complete, healthy one: a handed-over correction of
    one record is not a drop, nor a baseline. An empty complete batch is broken after any healthy run."""
    if batch.status != "ok" or not batch.complete or earlier is None:
        return None
    now = batch.raw_count
    if now == 0 and (earlier.complete_raw or earlier.healthy_raw):
        # An empty feed from a source that listed groups is a broken page, not every group stopping at once.
        before = earlier.complete_raw or earlier.healthy_raw
        return f"broken: no records, down from {before} in its last healthy run; nothing withdrawn"
    before = earlier.complete_raw
    if before is None or before < SHARP_DROP_MIN:
        return None
    if now < before * SHARP_DROP:
        return f"broken: {now} records, down from {before} in its last healthy run; nothing withdrawn"
    return None


def _source_row(batch: SourceBatch, new_groups: int, withdrawn: int | None = None) -> dict[str, Any]:
    issues = Counter(issue for listing in batch.listings for issue in listing.field_issues)
    return {
        "source": batch.source,
        "status": batch.status,
        "error": batch.error,
        "raw": batch.raw_count,
        "listings": len(batch.listings) + len(batch.unchanged),
        "rejects": len(batch.rejects),
        "new_groups": new_groups if batch.status != "failed" else 0,
        "complete": batch.complete and batch.status == "ok",
        "withdrawn": withdrawn or 0,
        "duration_s": batch.duration_s,
        "crawl_stats": batch.crawl_stats or {},
        "field_issues": dict(sorted(issues.items())),
    }
