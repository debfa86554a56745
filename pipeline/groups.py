"""Groups from listings: link the warehouse's listings (pipeline/linkage.py) and build one golden record per group.

Survivorship rules live here, in one place (`survivorship_rank`): each field comes from the group's listing of the
most trusted source, then the most complete one (most fields filled), then the most recently seen, then the smallest
id, so the choice is deterministic; where that listing lacks a field, the next one that has it supplies it. Topics
and audiences are the union of the members'; schedules are the union. `provenance` records which listing supplied
each field.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb
import pandas as pd

from pipeline.dedupe import Membership
from pipeline.linkage import (
    EDGE_COLUMNS,
    LINK_COLUMNS,
    LINK_MODEL_VERSION,
    MATCH_PROBABILITY,
    Decision,
    LinkResult,
    cluster_links,
    cluster_meta,
    drop_changed_link_input,
    link_tables,
    organisation_acronyms,
    score_changed,
)
from schemas.listing import Schedule
from schemas.vocab import WEEKDAY_CODES, Freq

# (freq, interval, byday, opens_at "HH:MM", closes_at, timezone) as stored in listing_schedules.
ScheduleRow = tuple[str, int, tuple[str, ...], str | None, str | None, str | None]

SURVIVING_FIELDS = [
    "name", "organization", "description", "location_name", "address", "city", "region", "postal_code", "country",
    "phone", "email", "website", "conference_url", "conference_phone", "format", "cost", "language",
    "faith_based", "led_by", "registration",
]  # fmt: skip
# What build_golden_records reads of each listing besides SURVIVING_FIELDS.
GOLDEN_RECORD_INPUTS = [
    "listing_id", "source", "source_url", "status", "first_seen_at", "last_seen_at", "latitude", "longitude",
    "coordinates_precision", "topics", "audiences",
]  # fmt: skip
# A group is as alive as its liveliest listing: active if any directory lists it as meeting, withdrawn only when
# every directory has withdrawn it.
STATUS_RANK = {"active": 0, "temporarily_closed": 1, "stale": 2, "inactive": 3, "withdrawn": 4}
# Coordinates travel together, from the member whose position is best known.
PRECISION_RANK = {"source": 0, "approximate": 1, "postal_code": 2}


def _present(value: Any) -> bool:
    """A value worth keeping: not None, NaN or NA, not blank, not 'unknown'. (Called for every field of every member
    of every rebuilt group: the common cases are tested first.)"""
    if value is None:
        return False
    if isinstance(value, str):
        return value != "unknown" and not value.isspace() and value != ""
    if isinstance(value, list | tuple):
        return len(value) > 0
    if isinstance(value, float):
        return value == value  # NaN is not equal to itself
    return not (value is pd.NA or value is pd.NaT)


# Above this share of listings new or changed since the last full link, every pair is scored again: it costs little
# more than re-scoring theirs, and refreshes the scores of unchanged pairs (term frequencies, counted over all
# listings, move slowly; a phone's levels and the limits on values shared by hundreds of listings, which can turn on
# one listing, are checked on every incremental link: see linkage.build_changed_link_input).
INCREMENTAL_MAX_SHARE = 0.2


def _trust_json(trust: Mapping[str, int] | None) -> str:
    return json.dumps(dict(sorted((trust or {}).items())))


def organisation_initials(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The initials of every organisation the warehouse's listings name: set aside from names when linking."""
    return organisation_acronyms(row[0] for row in con.execute("SELECT DISTINCT organization FROM listings").fetchall())


def link_model(acronyms: Sequence[str]) -> str:
    """The linkage model the listings are linked with: the linkage code, and the organisation initials set aside from
    names (`organisation_initials`, counted over all listings, so a new organisation's initials change the name words
    of listings that did not change: stored link keys and scores then no longer hold)."""
    initials = "\n".join(acronyms)
    return f"{LINK_MODEL_VERSION}:{hashlib.sha256(initials.encode()).hexdigest()[:12]}"


def links_outdated(con: duckdb.DuckDBPyConnection, trust: Mapping[str, int] | None = None) -> bool:
    """The stored links and golden records were made by another linkage model or with other source trust (or
    never): the groups must be rebuilt even if no listing changed."""
    state = con.execute("SELECT model_version, trust FROM link_state").fetchone()
    return (
        state is None
        or state[0] != link_model(organisation_initials(con))
        or _stored_trust(state) != source_trust(state, trust)
    )


def _stored_trust(state: tuple[Any, ...] | None) -> dict[str, int]:
    return json.loads(state[1] or "{}") if state is not None else {}


def source_trust(state: tuple[Any, ...] | None, trust: Mapping[str, int] | None) -> dict[str, int]:
    """The trust to build golden records with: the warehouse's, with the given sources' trust over it. A run that
    crawls some sources, or an `ingest` that knows none, leaves the other sources' trust as it was."""
    return {**_stored_trust(state), **(trust or {})}


def refresh_groups(
    con: duckdb.DuckDBPyConnection,
    run_id: str | None = None,
    *,
    trust: Mapping[str, int] | None = None,
    relink: bool = False,
) -> set[str]:
    """Link the listings and bring `groups`, `group_members`, `review_queue` and `listings.group_id` up to date.

    Incremental where it can be: when the stored links (`link_edges`) were made by this linkage model, only pairs
    involving a listing new in this run or whose link keys it changed (`run_id`'s events; see `link_changed`) are
    scored again, and only the listings a change can reach are clustered again (`affected_listings`). `relink`, a
    changed model, no stored links, or many listings changed since the last full link score every pair.

    Group ids are kept from the last run where members agree (`assign_group_ids`); where groups merged or split,
    `group_id_changes` records which old id became which, for publishers to redirect. Review decisions
    (`review_decisions`) are always obeyed. Golden records are rebuilt only for groups whose members changed or
    whose listings changed in this run; the others stand (all are rebuilt when source trust changed). The caller
    owns the transaction. Returns the ids of new groups.
    """
    stored = con.execute("SELECT model_version, trust, rescored_since_full FROM link_state").fetchall()
    state = stored[0] if stored else None
    trust = source_trust(state, trust)
    decisions = [
        Decision(left, right, same)
        for left, right, same in con.execute(
            "SELECT listing_id_l, listing_id_r, same FROM review_decisions ORDER BY decided_at"
        ).fetchall()
    ]
    acronyms = organisation_initials(con)
    model = link_model(acronyms)
    rescored: set[str] | None = None
    if not relink and run_id is not None and state is not None and state[0] == model:
        # New, edited or back; and any listing without stored keys (none, unless a link was interrupted).
        rescored = {
            row[0]
            for row in con.execute(
                """SELECT listing_id FROM listing_events WHERE run_id = ? AND event IN ('new', 'changed', 'relisted')
                   UNION SELECT listing_id FROM listings ANTI JOIN link_keys USING (listing_id)""",
                [run_id],
            ).fetchall()
        }
        listing_count = con.execute("SELECT count(*) FROM listings").fetchall()[0][0]
        # What incremental links leave to a full one (term frequencies drifting with every change) stays bounded:
        # once the listings scored again since the last full link, with this run's changed ones, pass a fifth of
        # all listings, every pair is scored again.
        if len(rescored) + (state[2] or 0) > INCREMENTAL_MAX_SHARE * listing_count:
            rescored = None
    # Every golden record is rebuilt when source trust changed: survivorship ranks sources by their trust.
    rebuild_all = run_id is None or state is None or _stored_trust(state) != trust
    edited = (
        {row[0] for row in con.execute("SELECT listing_id FROM listing_events WHERE run_id = ?", [run_id]).fetchall()}
        if not rebuild_all
        else set()
    )
    if rescored is None:
        stored_members = _stored_members(con)
        previous = {listing: group_id for listing, (group_id, _, _) in stored_members.items()}
        seniority = _seniority(con)
        result = link_listings(con, previous, decisions, seniority, acronyms=acronyms)
        if rebuild_all:
            edited = set(seniority)
        memberships = list(result.memberships)
        old_group_ids = set(previous.values())
    else:
        result = link_changed(con, rescored, decisions, acronyms)
        scope = result.scope or set()
        # An incremental link clustered only the listings a change could reach: every other group stands as it was,
        # and only those with a listing withdrawn, gone stale or relisted in this run get their records rebuilt.
        if rebuild_all:
            edited = {row[0] for row in con.execute("SELECT listing_id FROM listings").fetchall()}
            standing = [row[0] for row in con.execute("SELECT listing_id FROM group_members").fetchall()]
        else:  # the other listings of the groups of edited listings outside the scope (closed: all are outside)
            with _id_table(con, "edited_outside", [listing for listing in edited if listing not in scope]):
                standing = [row[0] for row in con.execute(
                    """SELECT listing_id FROM group_members WHERE group_id IN (
                           SELECT group_id FROM group_members SEMI JOIN edited_outside USING (listing_id))"""
                ).fetchall()]  # fmt: skip
        standing = [listing for listing in standing if listing not in scope]
        stored_members = _stored_members(con, [*scope, *standing])
        previous = {listing: group_id for listing, (group_id, _, _) in stored_members.items()}
        memberships = list(result.memberships)
        for listing in standing:
            group_id, score, evidence = stored_members[listing]
            memberships.append(Membership(group_id, listing, score, evidence))
        # Every group id the scope and the standing groups held: ids held elsewhere were reserved, so no other old
        # id can be among theirs now.
        old_group_ids = set(previous.values())

    members_now: dict[str, set[str]] = defaultdict(set)
    for membership in memberships:
        members_now[membership.group_id].add(membership.listing_id)
    members_before: dict[str, set[str]] = defaultdict(set)
    for listing, (group_id, _, _) in stored_members.items():
        members_before[group_id].add(listing)
    con.register("candidate_groups", pd.DataFrame({"group_id": sorted(members_now)}, dtype="string"))
    stored = {row[0] for row in con.execute("SELECT group_id FROM groups SEMI JOIN candidate_groups USING (group_id)"
                                            ).fetchall()}  # fmt: skip
    con.unregister("candidate_groups")
    affected = {
        group_id
        for group_id, members in members_now.items()
        if group_id not in stored or members_before.get(group_id) != members or members & edited
    }
    groups = _golden_records_for(con, [m for m in memberships if m.group_id in affected], trust or {})

    record_id_changes(con, run_id, previous, memberships)
    if result.scope is None:
        con.execute("DELETE FROM review_queue")
    else:
        con.register("relinked", pd.DataFrame({"listing_id": sorted(result.scope)}, dtype="string"))
        con.execute(
            """DELETE FROM review_queue WHERE listing_id_l IN (SELECT listing_id FROM relinked)
                                           OR listing_id_r IN (SELECT listing_id FROM relinked)"""
        )
        con.unregister("relinked")
    if len(result.review_pairs):
        con.register("staged_review", result.review_pairs)
        con.execute("INSERT INTO review_queue BY NAME SELECT * FROM staged_review")
        con.unregister("staged_review")

    _store_links(con, result, model, run_id, trust, (state[2] or 0) if state is not None else 0)
    # Only the memberships that moved or whose evidence changed are rewritten: a re-run changes few.
    moved = [m for m in memberships if stored_members.get(m.listing_id) != (m.group_id, m.score, m.evidence)]
    member_frame = pd.DataFrame(
        {
            "group_id": pd.array([m.group_id for m in moved], dtype="string"),
            "listing_id": pd.array([m.listing_id for m in moved], dtype="string"),
            "score": pd.array([m.score for m in moved], dtype="float64"),
            "evidence": pd.array([m.evidence for m in moved], dtype="string"),
        }
    )
    con.register("staged_members", member_frame)
    con.execute("DELETE FROM group_members WHERE listing_id IN (SELECT listing_id FROM staged_members)")
    con.execute("INSERT INTO group_members SELECT * FROM staged_members")
    con.execute(
        """UPDATE listings SET group_id = m.group_id FROM staged_members m
           WHERE listings.listing_id = m.listing_id AND listings.group_id IS DISTINCT FROM m.group_id"""
    )
    con.unregister("staged_members")
    # Groups no longer held by any listing, and those rebuilt. (An incremental link's scope holds every listing of
    # every group it touched, so a group none of its listings hold any more has vanished.)
    vanished = set(members_before) - set(members_now)
    con.register("dropped_groups", pd.DataFrame({"group_id": sorted(vanished | affected)}, dtype="string"))
    con.execute("DELETE FROM groups WHERE group_id IN (SELECT group_id FROM dropped_groups)")
    con.unregister("dropped_groups")
    if result.scope is None:
        con.execute("DELETE FROM groups WHERE group_id NOT IN (SELECT group_id FROM group_members)")
    if groups:
        group_frame = pd.DataFrame(groups)
        con.register("staged_groups", group_frame)
        con.execute(
            """INSERT INTO groups BY NAME
               SELECT * REPLACE (CAST(topics AS VARCHAR[]) AS topics, CAST(audiences AS VARCHAR[]) AS audiences,
                                 CAST(schedules AS VARCHAR[]) AS schedules, CAST(sources AS VARCHAR[]) AS sources,
                                 CAST(source_urls AS VARCHAR[]) AS source_urls,
                                 CAST(provenance AS JSON) AS provenance)
               FROM staged_groups"""
        )
        con.unregister("staged_groups")
    confirm_groups(con)
    return set(members_now) - old_group_ids


@contextmanager
def _id_table(
    con: duckdb.DuckDBPyConnection, name: str, ids: Collection[str], column: str = "listing_id"
) -> Iterator[str]:
    """`ids` as a one-column table `name` on `con` for the duration (unregistered on error too): yields its name."""
    con.register(name, pd.DataFrame({column: list(ids)}, dtype="string"))
    try:
        yield name
    finally:
        con.unregister(name)


def _seniority(con: duckdb.DuckDBPyConnection, among: str | None = None) -> dict[str, int]:
    """listing_id → rank, older first (first seen, then id), of all listings or of those in the table `among`: on a
    tie, the group id the longest-known listing held is kept."""
    semi = f"SEMI JOIN {among} USING (listing_id)" if among else ""
    ordered = con.execute(f"SELECT listing_id FROM listings {semi} ORDER BY first_seen_at, listing_id").fetchall()
    return {listing: rank for rank, (listing,) in enumerate(ordered)}


def _stored_members(
    con: duckdb.DuckDBPyConnection, listings: list[str] | None = None
) -> dict[str, tuple[str, float, str]]:
    """listing_id → (group_id, score, evidence) as stored: of all listings, or of these."""
    if listings is None:
        rows = con.execute("SELECT listing_id, group_id, score, evidence FROM group_members").fetchall()
    else:
        con.register("wanted_members", pd.DataFrame({"listing_id": listings}, dtype="string"))
        rows = con.execute(
            """SELECT listing_id, group_id, score, evidence
               FROM group_members SEMI JOIN wanted_members USING (listing_id)"""
        ).fetchall()
        con.unregister("wanted_members")
    return {listing: (group_id, score, evidence) for listing, group_id, score, evidence in rows}


def _store_links(
    con: duckdb.DuckDBPyConnection,
    result: LinkResult,
    model: str,
    run_id: str | None,
    trust: Mapping[str, int] | None,
    rescored_before: int = 0,
) -> None:
    """Keep this link's scored pairs and keys for the next run: all after a full link, else the re-scored ones.
    `rescored_before`: listings incremental links scored again since the last full link, before this one."""
    edges, rescored = result.edges, result.rescored
    if rescored is None:
        con.execute("DELETE FROM link_edges")
        con.execute("DELETE FROM link_keys")
    else:
        with _id_table(con, "rescored_listings", sorted(rescored)):
            con.execute(
                """DELETE FROM link_edges WHERE listing_id_l IN (SELECT listing_id FROM rescored_listings)
                                              OR listing_id_r IN (SELECT listing_id FROM rescored_listings)"""
            )
    if result.keys is not None and result.keys.num_rows:
        con.register("staged_keys", result.keys)
        con.execute("DELETE FROM link_keys WHERE listing_id IN (SELECT listing_id FROM staged_keys)")
        con.execute("INSERT INTO link_keys BY NAME SELECT * FROM staged_keys")
        con.unregister("staged_keys")
    if len(edges):
        con.register("staged_edges", edges)
        con.execute(
            """INSERT INTO link_edges SELECT listing_id_l, listing_id_r, match_probability, evidence
               FROM staged_edges"""
        )
        con.unregister("staged_edges")
    con.execute("DELETE FROM link_state")
    con.execute(
        """INSERT INTO link_state (model_version, trust, linked_at, run_id, kind, rescored_listings,
                                  rescored_since_full)
           VALUES (?, ?, now(), ?, ?, ?, ?)""",
        [model, _trust_json(trust), run_id, "full" if rescored is None else "incremental",
         None if rescored is None else len(rescored), 0 if rescored is None else rescored_before + len(rescored)],
    )  # fmt: skip


def confirm_groups(con: duckdb.DuckDBPyConnection) -> None:
    """Every group's `last_seen_at` follows its listings', whether its record was rebuilt or not."""
    con.execute(
        """UPDATE groups SET last_seen_at = m.seen FROM (
               SELECT g.group_id, max(l.last_seen_at) AS seen
               FROM group_members g JOIN listings l USING (listing_id) GROUP BY g.group_id) m
           WHERE groups.group_id = m.group_id AND groups.last_seen_at IS DISTINCT FROM m.seen"""
    )


def _golden_records_for(
    con: duckdb.DuckDBPyConnection, memberships: list[Membership], trust: Mapping[str, int]
) -> list[dict[str, Any]]:
    """Golden records of the groups these memberships make up, reading only their listings and schedules."""
    if not memberships:
        return []
    con.register("rebuilt_listings", pd.DataFrame({"listing_id": [m.listing_id for m in memberships]}, dtype="string"))
    # Only the columns a golden record is made of: a listing row is wide, and converting it costs.
    columns = ", ".join(dict.fromkeys([*GOLDEN_RECORD_INPUTS, *SURVIVING_FIELDS]))
    # Rows as dicts straight from DuckDB (NULL is None): a DataFrame's conversion to records cost more than the rest.
    cursor = con.execute(
        f"""SELECT {columns} FROM listings WHERE listing_id IN (SELECT listing_id FROM rebuilt_listings)
            ORDER BY listing_id"""
    )
    names = [column[0] for column in cursor.description]
    listings = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    schedules = con.execute(
        """SELECT listing_id, freq, "interval", byday, left(CAST(opens_at AS VARCHAR), 5) AS opens_at,
                  left(CAST(closes_at AS VARCHAR), 5) AS closes_at, timezone
           FROM listing_schedules WHERE listing_id IN (SELECT listing_id FROM rebuilt_listings)
           ORDER BY listing_id, position"""
    ).fetchall()
    con.unregister("rebuilt_listings")
    schedule_rows: dict[str, list[ScheduleRow]] = defaultdict(list)
    for listing, freq, interval, byday, opens, closes, zone in schedules:
        schedule_rows[listing].append((freq, int(interval), tuple(byday or ()), opens, closes, zone))
    return build_golden_records(listings, memberships, schedule_rows, trust)


def link_listings(
    con: duckdb.DuckDBPyConnection,
    previous: Mapping[str, str],
    decisions: list[Decision],
    seniority: Mapping[str, int],
    *,
    acronyms: Sequence[str] | None = None,
) -> LinkResult:
    """Link all the warehouse's listings (read as Arrow tables: no per-row Python): every pair scored.
    `acronyms`: `organisation_initials(con)`, if the caller has them already (else worked out from the listings)."""
    columns = ", ".join(LINK_COLUMNS)
    listings = con.sql(f"SELECT {columns} FROM listings").to_arrow_table()
    schedules = con.sql(
        "SELECT listing_id, byday, left(CAST(opens_at AS VARCHAR), 5) AS opens_at FROM listing_schedules"
    ).to_arrow_table()
    return link_tables(listings, schedules, previous, decisions, seniority, acronyms=acronyms)


def link_changed(
    con: duckdb.DuckDBPyConnection, changed: Collection[str], decisions: list[Decision], acronyms: Sequence[str]
) -> LinkResult:
    """Link incrementally, after `changed` listings were added or edited: only pairs with one whose link keys changed
    (or with a listing whose phone's levels or shared values they changed) are scored (`score_changed`); the stored
    scores of all other pairs (`link_edges`) stand; only the listings a change can reach are clustered again
    (`affected_listings`), as a full link would cluster them. Every listing's keys are counted, narrowly; only the
    neighbourhood of the changed ones is read in full and scored."""
    timings: dict[str, float] = {}
    con.register("changed_listings", pd.DataFrame({"listing_id": sorted(changed)}, dtype="string"))
    try:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE listings_src AS SELECT {", ".join(LINK_COLUMNS)} FROM listings
                SEMI JOIN changed_listings USING (listing_id)"""
        )
        con.execute(
            """CREATE OR REPLACE TEMP TABLE schedules_src AS
               SELECT listing_id, byday, left(CAST(opens_at AS VARCHAR), 5) AS opens_at FROM listing_schedules
               SEMI JOIN changed_listings USING (listing_id)"""
        )
        new_edges, rescored, keys = score_changed(con, acronyms, "link_keys", timings)
        mark = time.perf_counter()
        scope = affected_listings(con, new_edges, decisions, rescored)
        with _id_table(con, "linked_scope", sorted(scope)), _id_table(con, "rescored_listings", sorted(rescored)):
            con.register("new_edges", new_edges)
            # The pairs clustering sees: the new ones and the stored ones of two listings not re-scored, of the scope.
            edges = con.execute(
                f"""SELECT {", ".join(EDGE_COLUMNS)} FROM new_edges
                    UNION ALL
                    SELECT {", ".join(EDGE_COLUMNS)} FROM link_edges
                    WHERE (listing_id_l IN (SELECT listing_id FROM linked_scope)
                           OR listing_id_r IN (SELECT listing_id FROM linked_scope))
                      AND listing_id_l NOT IN (SELECT listing_id FROM rescored_listings)
                      AND listing_id_r NOT IN (SELECT listing_id FROM rescored_listings)
                    ORDER BY match_probability DESC, listing_id_l, listing_id_r"""
            ).df()
            con.unregister("new_edges")
            previous = dict(con.execute("""SELECT listing_id, group_id FROM group_members
                                           SEMI JOIN linked_scope USING (listing_id)""").fetchall())  # fmt: skip
            seniority = _seniority(con, "linked_scope")
            held_outside = "SELECT DISTINCT group_id FROM group_members ANTI JOIN linked_scope USING (listing_id)"
            reserved = {row[0] for row in con.execute(held_outside).fetchall()}
        meta = cluster_meta(con, "link_named", edges, decisions, scope)
        memberships, review = cluster_links(edges, meta, decisions, previous, seniority, scope=scope, reserved=reserved)
        timings["cluster"] = time.perf_counter() - mark
    finally:
        drop_changed_link_input(con)
        con.unregister("changed_listings")
    return LinkResult(memberships, review, timings, new_edges, scope, keys, rescored)


def affected_listings(
    con: duckdb.DuckDBPyConnection, new_edges: pd.DataFrame, decisions: Sequence[Decision], rescored: Collection[str]
) -> set[str]:
    """The listings whose groups a change can reach: the re-scored ones, closed under links strong enough to join
    (`MATCH_PROBABILITY`: the new pairs, and the stored pairs of two listings not re-scored), a reviewer's "same",
    and membership of one group as the last link left them (`group_members`).

    Clustering joins only along such links, so each closed set clusters exactly as it would among all listings:
    clustering just these gives a full run's groups for them, and every other group stands. One recursive query
    walks the links (a group is a node its members link to): no round trip per step.
    """
    strong = new_edges[new_edges["match_probability"] >= MATCH_PROBABILITY]
    pairs = [*zip(strong["listing_id_l"], strong["listing_id_r"], strict=True)]
    pairs += [(d.listing_id_l, d.listing_id_r) for d in decisions if d.same]
    joins = pd.DataFrame({"a": [a for a, _ in pairs], "b": [b for _, b in pairs]}, dtype="string")
    con.register("new_joins", joins)
    try:
        with _id_table(con, "rescored_listings", sorted(rescored)):
            rows = con.execute(
                f"""WITH RECURSIVE
                        kept AS (SELECT listing_id_l AS a, listing_id_r AS b FROM link_edges
                                 WHERE match_probability >= {MATCH_PROBABILITY}
                                   AND listing_id_l NOT IN (SELECT listing_id FROM rescored_listings)
                                   AND listing_id_r NOT IN (SELECT listing_id FROM rescored_listings)
                                 UNION ALL SELECT a, b FROM new_joins),
                        links(a, b) AS MATERIALIZED (
                            SELECT a, b FROM kept UNION ALL SELECT b, a FROM kept
                            UNION ALL SELECT listing_id, '#' || group_id FROM group_members
                            UNION ALL SELECT '#' || group_id, listing_id FROM group_members),
                        reached(node) AS (SELECT listing_id FROM rescored_listings
                                          UNION SELECT links.b FROM reached JOIN links ON links.a = reached.node)
                    SELECT node FROM reached WHERE NOT starts_with(node, '#')"""
            ).fetchall()
    finally:
        con.unregister("new_joins")
    return {row[0] for row in rows}


def record_id_changes(
    con: duckdb.DuckDBPyConnection, run_id: str | None, previous: Mapping[str, str], memberships: list[Membership]
) -> None:
    """Which old group ids became which: 'merged' (an old group's listings now sit in another group) and 'split'
    (part of an old group now forms or joins a group with another id). Publishers redirect old ids with these."""
    moves: set[tuple[str, str]] = set()
    for membership in memberships:
        old = previous.get(membership.listing_id)
        if old and old != membership.group_id:
            moves.add((old, membership.group_id))
    if not moves:
        return
    surviving = {membership.group_id for membership in memberships}
    ordered = sorted(moves)
    changes = pd.DataFrame(
        {
            "old_group_id": [old for old, _ in ordered],
            "new_group_id": [new for _, new in ordered],
            "kind": ["split" if old in surviving else "merged" for old, _ in ordered],
        },
        dtype="string",
    )
    con.register("staged_id_changes", changes)
    # One statement, not one per row (DuckDB's executemany costs a statement a row).
    con.execute(
        """INSERT INTO group_id_changes (run_id, old_group_id, new_group_id, kind, changed_at)
           SELECT $run, old_group_id, new_group_id, kind, now() FROM staged_id_changes""",
        {"run": run_id},
    )
    con.unregister("staged_id_changes")


# Survivorship: which listing's value a group shows. The one ordering, used for every field.
def survivorship_rank(row: Mapping[str, Any], trust: Mapping[str, int]) -> tuple[Any, ...]:
    """Most trusted source first, then the most complete listing, then the most recently seen, then the id."""
    return (
        -trust.get(row["source"], 0),
        -sum(_present(row[name]) for name in SURVIVING_FIELDS),
        -(row["last_seen_at"].timestamp() if _present(row["last_seen_at"]) else 0),
        row["listing_id"],
    )


def build_golden_records(
    listings: Sequence[Mapping[str, Any]],
    memberships: list[Membership],
    schedule_rows: dict[str, list[ScheduleRow]],
    trust: Mapping[str, int] | None = None,
) -> list[dict[str, Any]]:
    by_id = {row["listing_id"]: row for row in listings}
    members: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for membership in memberships:
        members[membership.group_id].append(by_id[membership.listing_id])

    groups = []
    for group_id, rows in members.items():
        ranked = sorted(rows, key=lambda row: survivorship_rank(row, trust or {}))
        group: dict[str, Any] = {"group_id": group_id}
        provenance: dict[str, str] = {}
        for name in SURVIVING_FIELDS:
            supplier = next((row for row in ranked if _present(row[name])), None)
            group[name] = supplier[name] if supplier else None
            if supplier is not None:
                provenance[name] = supplier["listing_id"]
        placed = [row for row in ranked if _present(row["latitude"]) and _present(row["longitude"])]
        if placed:
            best_place = min(placed, key=lambda row: PRECISION_RANK.get(row["coordinates_precision"], 3))
            group["latitude"], group["longitude"] = best_place["latitude"], best_place["longitude"]
            group["coordinates_precision"] = best_place["coordinates_precision"]
            provenance["latitude"] = provenance["longitude"] = best_place["listing_id"]
        else:
            group["latitude"] = group["longitude"] = group["coordinates_precision"] = None
        group["cost"] = group["cost"] or "unknown"
        group["status"] = min((row["status"] for row in rows), key=lambda status: STATUS_RANK.get(status, 9))
        group["first_seen_at"] = min(row["first_seen_at"] for row in rows)
        group["topics"] = _union(row["topics"] for row in ranked)
        group["audiences"] = _union(row["audiences"] for row in ranked)
        group["name"] = best_name([row["name"] for row in ranked])
        provenance["name"] = next(row["listing_id"] for row in ranked if row["name"] == group["name"])
        group["schedules"] = merge_schedules(
            [schedule for row in ranked for schedule in schedule_rows.get(row["listing_id"], [])]
        )
        group["sources"] = sorted({row["source"] for row in rows})
        group["source_urls"] = _union([row["source_url"]] if _present(row["source_url"]) else [] for row in ranked)
        group["listing_count"] = len(rows)
        group["provenance"] = json.dumps(provenance)
        group["last_seen_at"] = max(row["last_seen_at"] for row in rows)
        groups.append(group)
    return groups


_ACRONYM = re.compile(r"\b[A-Z]{3,6}\b")
# Acronyms that are the topic or audience itself, not an organisation's initials.
_MEANINGFUL_ACRONYMS = frozenset({"OCD", "PTSD", "BPD", "LGBT", "LGBTQ", "LGBTQIA", "BIPOC", "ADHD", "DBT"})
_ABBREVIATIONS = re.compile(r"\b(grp|mtg|supp|assoc)\b\.?", re.IGNORECASE)


def best_name(names: list[str]) -> str:
    """The clearest of the members' names: no organisation acronyms, abbreviations or venue notes; then the longest.

    Directories prefix names with their own initials ("RPSN ...") or suffix the venue ("... (St. Mark)");
    the group's own name is the one without them.
    """

    def noise(name: str) -> int:
        acronyms = [word for word in _ACRONYM.findall(name) if word not in _MEANINGFUL_ACRONYMS]
        return len(acronyms) + len(_ABBREVIATIONS.findall(name)) + name.count("(") + name.count(" - ")

    return min(names, key=lambda name: (noise(name), -len(name), name))


def merge_schedules(rows: list[ScheduleRow]) -> list[str]:
    """The union of the members' schedules, as text: weekly rows at one time are merged into one set of days.

    A group listed as a Monday row and a Wednesday row by one directory and as "Mon, Wed" by another has one
    schedule: "FREQ=WEEKLY;BYDAY=MO,WE 20:00-21:00 America/Los_Angeles".
    """
    weekly: dict[tuple[int, str | None, str | None, str | None], set[str]] = defaultdict(set)
    others: list[str] = []
    for freq, interval, byday, opens, closes, zone in rows:
        if freq == "WEEKLY":
            weekly[(interval, opens, closes, zone)].update(byday)
        else:
            others.append(_schedule_text(freq, interval, byday, opens, closes, zone))
    merged = [
        _schedule_text("WEEKLY", interval, tuple(day for day in WEEKDAY_CODES if day in days), opens, closes, zone)
        for (interval, opens, closes, zone), days in weekly.items()
    ]
    return _union([merged, others])


def _schedule_text(
    freq: str, interval: int, byday: tuple[str, ...], opens: str | None, closes: str | None, zone: str | None
) -> str:
    rule = Schedule(freq=Freq(freq), interval=interval, byday=byday).rrule()
    times = "-".join(time for time in (opens, closes) if time)
    return " ".join(part for part in (rule, times, zone) if part)


def _union(lists: Any) -> list[Any]:
    seen: list[Any] = []
    for values in lists:
        if values is None or (isinstance(values, float) and pd.isna(values)):
            continue
        for value in values:
            if value not in seen:
                seen.append(value)
    return seen
