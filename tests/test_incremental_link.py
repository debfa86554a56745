"""Incremental linkage: a re-run scores again only the pairs of new or changed listings, clusters only the listings a
change can reach, and ends with the groups a full link of the same listings gives. Real DuckDB warehouses, loaded as
`peergroups ingest` loads them, from the seeded synthetic world of the dedupe benchmark."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipeline.groups import link_listings
from pipeline.ingest import known_raw_hashes, normalise_batch, store_run
from pipeline.linkage import MAX_BLOCK, Decision, LinkResult
from pipeline.normalise import listing_id
from pipeline.warehouse import UNINDEXED_KEYS
from tests.benchmarks.dedupe_data import generate
from tests.benchmarks.incremental import edit
from tests.conftest import query


def word(rng: random.Random) -> str:
    """A made-up word: names made of them share nothing."""
    return "".join(rng.choice("bcdfghjklmnpqrstvwxz") + rng.choice("aeiouy") for _ in range(3)).title()


DAYS = ["Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays"]


def ingest(warehouse: Path, records: list[dict[str, Any]], trust: dict[str, int] | None = None) -> dict[str, Any]:
    """Every source's records as one complete batch, unchanged records confirmed by their raw hash."""
    by_source: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_source[record["source"]].append(record)
    known = known_raw_hashes(warehouse)
    batches = []
    for source, items in sorted(by_source.items()):
        batch = normalise_batch(source, items, known=known)
        batch.complete = True
        batches.append(batch)
    return store_run(warehouse, "ingest", batches, trust=trust)


def stored_partition(warehouse: Path) -> set[frozenset[str]]:
    members: dict[str, set[str]] = defaultdict(set)
    for group_id, listing in query(warehouse, "SELECT group_id, listing_id FROM group_members"):
        members[group_id].add(listing)
    return {frozenset(items) for items in members.values()}


def full_link(warehouse: Path) -> LinkResult:
    """What a full link (every pair scored) of the warehouse's listings gives."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        decisions = [Decision(*row) for row in con.execute(
            "SELECT listing_id_l, listing_id_r, same FROM review_decisions").fetchall()]  # fmt: skip
        return link_listings(con, {}, decisions, {})
    finally:
        con.close()


def partition(result: LinkResult) -> set[frozenset[str]]:
    """A link's groups, as sets of listing ids."""
    members: dict[str, set[str]] = defaultdict(set)
    for membership in result.memberships:
        members[membership.group_id].add(membership.listing_id)
    return {frozenset(items) for items in members.values()}


def full_link_partition(warehouse: Path) -> set[frozenset[str]]:
    """The groups a full link of the warehouse's listings gives, as sets of listing ids."""
    return partition(full_link(warehouse))


def link_state(warehouse: Path) -> tuple[str, int | None]:
    return query(warehouse, "SELECT kind, rescored_listings FROM link_state")[0]  # type: ignore[return-value]


@pytest.fixture
def world() -> list[dict[str, Any]]:
    return generate(1500, 11).records


def changed_world(
    world: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], dict[str, Any]]]]:
    """Edits (new descriptions and meeting times), withdrawals, and a new directory copying some listings: the
    copies must join their originals' groups, which only the pairs of new listings can show. Returns the world and
    (copy, original) pairs."""
    rng = random.Random(5)
    edited = edit(world, 0.03, 5)
    kept = [record for record in edited if rng.random() > 0.01]
    copies = [
        ({**record, "source": "copycat-directory", "source_id": f"copy-{index}"}, record)
        for index, record in enumerate(rng.sample(kept, 20))
    ]
    return kept + [copy for copy, _ in copies], copies


def test_a_re_run_links_only_what_changed_and_gets_a_full_links_groups(warehouse: Path, world: list) -> None:
    ingest(warehouse, world)
    assert link_state(warehouse) == ("full", None)
    edges_before = query(warehouse, "SELECT count(*) FROM link_edges")[0][0]
    assert edges_before > 0

    changed, copies = changed_world(world)
    report = ingest(warehouse, changed)
    new, edited = query(warehouse, f"""SELECT count(*) FILTER (WHERE event = 'new'),
                                              count(*) FILTER (WHERE event IN ('changed', 'relisted'))
                                       FROM listing_events WHERE run_id = '{report["run_id"]}'""")[0]  # fmt: skip
    kind, rescored = link_state(warehouse)
    assert kind == "incremental" and report["link"] == {"kind": "incremental", "rescored": rescored}
    # The new listings and the edited ones whose link keys changed (new meeting times, not new descriptions), and
    # any sharing a rare phone with one (its level may have changed).
    assert 20 <= new < rescored < new + edited < len(world) * 0.2

    assert stored_partition(warehouse) == full_link_partition(warehouse)
    # The copies were scored against the listings they copy, and joined them.
    groups = dict(query(warehouse, "SELECT listing_id, group_id FROM listings"))
    originals = {copy["source_id"]: listing_id(original["source"], original["source_id"])
                 for copy, original in copies}  # fmt: skip
    copy_groups = query(warehouse, "SELECT source_id, group_id FROM listings WHERE source = 'copycat-directory'")
    assert len(copy_groups) == len(copies)
    assert all(group_id == groups[originals[source_id]] for source_id, group_id in copy_groups), copy_groups
    # Every listing still has exactly one group, and every copy's link to its original is stored.
    assert query(warehouse, "SELECT count(*), count(DISTINCT listing_id) FROM group_members")[0] == (
        len(groups), len(groups))  # fmt: skip
    linked = query(warehouse, """SELECT DISTINCT l.source_id FROM link_edges e JOIN listings l
                                 ON l.listing_id IN (e.listing_id_l, e.listing_id_r)
                                 WHERE l.source = 'copycat-directory'""")  # fmt: skip
    assert {source_id for (source_id,) in linked} == set(originals)


def test_an_edit_linkage_does_not_read_scores_nothing_again_and_rebuilds_the_groups_record(
    warehouse: Path, world: list
) -> None:
    ingest(warehouse, world)
    edges_before = query(warehouse, "SELECT * FROM link_edges ORDER BY ALL")
    edited = [{**record, "description": "Now meeting in the annex."} if index < 5 else record
              for index, record in enumerate(world)]  # fmt: skip
    report = ingest(warehouse, edited)
    assert report["link"] == {"kind": "incremental", "rescored": 0}
    assert query(warehouse, "SELECT * FROM link_edges ORDER BY ALL") == edges_before
    assert stored_partition(warehouse) == full_link_partition(warehouse)
    ids = [listing_id(record["source"], record["source_id"]) for record in world[:5]]
    # Each group whose description an edited listing supplies shows the new one: its record was rebuilt.
    supplied = query(warehouse, f"""SELECT description FROM groups
                                    WHERE provenance ->> '$.description' IN {tuple(ids)}""")  # fmt: skip
    assert len(supplied) >= 3 and {description for (description,) in supplied} == {"Now meeting in the annex."}


def test_listings_sharing_a_new_listings_phone_are_scored_again(warehouse: Path, world: list) -> None:
    """Two directories list one group with its phone; two new listings elsewhere give the same number. A phone at
    more than two places is a shared line, which proves nothing: the pair of unchanged listings must be scored
    again, as a full link would, not keep its old "phone=exact"."""

    def listing(source: str, source_id: str, name: str, address: str, day: str = "Tuesdays") -> dict[str, Any]:
        return {"source": source, "source_id": source_id, "name": name, "address": address,
                "schedule_text": f"{day} 6pm", "phone": "(503) 555-0142"}  # fmt: skip

    pair = [listing("alpha-directory", "1", "Harbor Bipolar Peer Support", "12 Quay Street, Riverton, OR 97301"),
            listing("beta-directory", "1", "Mood Circle Riverton", "12 Quay St, Riverton, OR 97301")]  # fmt: skip
    elsewhere = [listing("gamma-directory", "z1", "Family Night", "5 Oak Street, Eugene, OR 97401", "Fridays"),
                 listing("gamma-directory", "z2", "Anxiety Talk", "9 Pine St, Bend, OR 97701", "Fridays")]  # fmt: skip
    ingest(warehouse, world + pair)
    report = ingest(warehouse, world + pair + elsewhere)
    assert report["link"]["kind"] == "incremental" and report["link"]["rescored"] >= 4
    assert stored_partition(warehouse) == full_link_partition(warehouse)
    evidence = query(warehouse, """SELECT e.evidence FROM link_edges e
                                   JOIN listings l ON l.listing_id = e.listing_id_l
                                   JOIN listings r ON r.listing_id = e.listing_id_r
                                   WHERE l.source IN ('alpha-directory', 'beta-directory')
                                     AND r.source IN ('alpha-directory', 'beta-directory')""")  # fmt: skip
    assert len(evidence) == 1 and "phone=shared line" in evidence[0][0], evidence


def assert_same_as_a_full_link(warehouse: Path) -> None:
    """Groups, stored scored pairs and review queue: those a full link of the warehouse's listings gives."""
    result = full_link(warehouse)
    assert stored_partition(warehouse) == partition(result)

    def pairs(rows: Any) -> set[tuple[str, str, float, str]]:
        return {(left, right, round(probability, 9), evidence) for left, right, probability, evidence in rows}

    columns = "listing_id_l, listing_id_r, match_probability, evidence"
    assert pairs(query(warehouse, f"SELECT {columns} FROM link_edges")) == pairs(result.edges.itertuples(index=False))
    assert pairs(query(warehouse, f"SELECT {columns} FROM review_queue")) == pairs(
        result.review_pairs.itertuples(index=False))  # fmt: skip


def test_a_second_incremental_run_keeps_the_groups_of_a_full_link(warehouse: Path, world: list) -> None:
    ingest(warehouse, world)
    changed, _ = changed_world(world)
    ingest(warehouse, changed)
    again = edit(changed, 0.02, 9)
    ingest(warehouse, again)
    assert link_state(warehouse)[0] == "incremental"
    # The groups, and the stored scored pairs and review queue too.
    assert_same_as_a_full_link(warehouse)
    assert query(warehouse, "SELECT count(*) FROM review_queue")[0][0] > 0
    # Edited, withdrawn, relisted and new listings, groups rebuilt: the ids stay unique (no index keeps them so).
    for table, key in UNINDEXED_KEYS.items():
        rows, distinct = query(warehouse, f"SELECT count(*), count(DISTINCT {key}) FROM {table}")[0]
        assert rows == distinct > 0, table


def test_a_place_made_too_common_to_block_on_is_re_scored(warehouse: Path, world: list) -> None:
    """MAX_BLOCK listings at one address are a block; one more makes the address a common value (a chain's head
    office, a ZIP centroid) that no longer makes pairs, and one moving away makes it a block again. The listings
    there did not change, but their pairs did: a full link's pairs and groups, every time."""
    rng = random.Random(3)
    crowd = [{"source": f"directory-{index % 7}", "source_id": f"crowd-{index}", "name": f"{word(rng)} {word(rng)}",
              "address": "1 Commons Plaza, Riverton, OR 97301",
              # Some meet at one time: an uncertain pair (the place and time agree, the names do not) for review.
              "schedule_text": f"{DAYS[index % 7]} {index % 3 + 5}pm"} for index in range(MAX_BLOCK + 1)]  # fmt: skip
    ingest(warehouse, world + crowd[:MAX_BLOCK])
    crowded = """SELECT count(*) FROM review_queue q JOIN listings l ON l.listing_id = q.listing_id_l
                 WHERE l.source_id LIKE 'crowd-%'"""
    assert query(warehouse, crowded)[0][0] > 100
    report = ingest(warehouse, world + crowd)
    assert report["link"]["kind"] == "incremental" and report["link"]["rescored"] > MAX_BLOCK
    assert_same_as_a_full_link(warehouse)
    assert query(warehouse, crowded)[0][0] == 0  # no longer a place to pair listings by
    moved = {**crowd[0], "address": "9 Pine Street, Bend, OR 97701"}
    report = ingest(warehouse, [*world, moved, *crowd[1:]])
    assert report["link"]["kind"] == "incremental" and report["link"]["rescored"] > MAX_BLOCK
    assert_same_as_a_full_link(warehouse)
    assert query(warehouse, crowded)[0][0] > 100


def test_changes_piling_up_since_the_last_full_link_link_everything_again(warehouse: Path, world: list) -> None:
    """An incremental link keeps term frequencies as the last full link counted them: once the listings scored
    again since then would pass a fifth of all, every pair is scored again, and the count starts over."""
    ingest(warehouse, world)
    kinds = []
    current = world
    for seed in range(4):
        # 180 of 1,500 listings each time, about half of them new meeting times (scored again), half descriptions.
        current = edit(current, 0.12, seed)
        kinds.append(ingest(warehouse, current)["link"]["kind"])
        if kinds[-1] == "full":
            assert_same_as_a_full_link(warehouse)
    assert kinds == ["incremental", "incremental", "full", "incremental"]


def test_a_join_link_made_too_common_to_block_on_is_re_scored(warehouse: Path, world: list) -> None:
    """As a place: a meeting link shared by more than MAX_BLOCK listings (a directory's one "join us" room) makes no
    pairs; the listings sharing it are scored again when one more makes it common."""
    rng = random.Random(4)
    crowd = [{"source": f"directory-{index % 7}", "source_id": f"room-{index}", "name": f"{word(rng)} {word(rng)}",
              "conference_url": "https://meet.example.org/j/5550100", "format": "online",
              "schedule_text": f"{DAYS[index % 7]} {index % 3 + 5}pm"} for index in range(MAX_BLOCK + 1)]  # fmt: skip
    ingest(warehouse, world + crowd[:MAX_BLOCK])
    shared = """SELECT count(*) FROM review_queue q JOIN listings l ON l.listing_id = q.listing_id_l
                WHERE l.source_id LIKE 'room-%' AND q.evidence LIKE '%location=join link%'"""
    assert query(warehouse, shared)[0][0] > 100
    report = ingest(warehouse, world + crowd)
    assert report["link"]["kind"] == "incremental"
    assert_same_as_a_full_link(warehouse)
    assert query(warehouse, shared)[0][0] == 0


def test_an_incremental_link_leaves_nothing_behind(warehouse: Path, world: list) -> None:
    """Its work tables are temporary and dropped, its scratch database detached: the connection (which goes on,
    as a review's does) and the file hold the same objects after as before."""
    from pipeline.groups import refresh_groups
    from pipeline.warehouse import connect, load_batches, transaction

    objects = """SELECT 'table', database_name, schema_name, table_name FROM duckdb_tables()
                 UNION ALL SELECT 'view', database_name, schema_name, view_name FROM duckdb_views() WHERE NOT internal
                 UNION ALL SELECT 'macro', database_name, schema_name, function_name FROM duckdb_functions()
                           WHERE NOT internal AND function_type LIKE '%macro%'
                 UNION ALL SELECT 'database', database_name, '', '' FROM duckdb_databases() WHERE NOT internal
                 ORDER BY ALL"""
    ingest(warehouse, world)
    changed, _ = changed_world(world)
    by_source: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in changed:
        by_source[record["source"]].append(record)
    known = known_raw_hashes(warehouse)
    con = connect(warehouse)
    try:
        before = con.execute(objects).fetchall()
        with transaction(con):
            load_batches(
                con, "r2", [normalise_batch(source, items, known=known) for source, items in by_source.items()]
            )
            refresh_groups(con, "r2")
            assert con.execute("SELECT kind FROM link_state").fetchall() == [("incremental",)]
            assert con.execute(objects).fetchall() == before
    finally:
        con.close()
    assert query(warehouse, objects) == [row for row in before if row[1] not in ("temp",)]


def test_a_different_linkage_model_links_everything_again_though_nothing_changed(warehouse: Path, world: list) -> None:
    ingest(warehouse, world)
    con = duckdb.connect(str(warehouse))
    con.execute("UPDATE link_state SET model_version = 'an older model', kind = 'incremental'")
    con.close()
    report = ingest(warehouse, world)
    assert query(warehouse, f"SELECT count(*) FROM listing_events WHERE run_id = '{report['run_id']}'")[0][0] == 0
    assert link_state(warehouse) == ("full", None)
    assert report["link"] == {"kind": "full", "rescored": None}
    assert ingest(warehouse, world)["link"] == {"kind": "none"}  # and then nothing to do


def test_a_new_organisations_initials_link_everything_again(warehouse: Path, world: list) -> None:
    """Initials are set aside from every listing's name ("ZQPN Family Support"): a new organisation's change the
    name words of listings that did not change, so their stored keys and scores no longer hold."""
    ingest(warehouse, world)
    newcomer = {**world[0], "source_id": "newcomer-1", "organization": "Zephyr Quarry Peer Network"}
    assert ingest(warehouse, [*world, newcomer])["link"]["kind"] == "full"
    again = {**world[1], "source_id": "newcomer-2", "organization": "Zephyr Quarry Peer Network"}
    assert ingest(warehouse, [*world, newcomer, again])["link"]["kind"] == "incremental"


def test_a_change_of_source_trust_rebuilds_the_golden_records(warehouse: Path) -> None:
    def listing(source: str, description: str) -> dict[str, Any]:
        return {"source": source, "source_id": "1", "name": "Harbor Bipolar Peer Support", "description": description,
                "address": "12 Quay Street, Riverton, OR 97301", "schedule_text": "Tuesdays 6pm"}  # fmt: skip

    records = [listing("alpha-directory", "Told by alpha."), listing("beta-directory", "Told by beta, at length.")]
    ingest(warehouse, records, trust={"alpha-directory": 5})
    assert query(warehouse, "SELECT description FROM groups") == [("Told by alpha.",)]
    ingest(warehouse, records, trust={"alpha-directory": 0, "beta-directory": 5})
    assert query(warehouse, "SELECT description FROM groups") == [("Told by beta, at length.",)]
    ingest(warehouse, records)  # a run that names no trust (an `ingest`) keeps the warehouse's
    assert query(warehouse, "SELECT description FROM groups") == [("Told by beta, at length.",)]
    assert query(warehouse, "SELECT trust FROM link_state") == [('{"alpha-directory": 0, "beta-directory": 5}',)]
