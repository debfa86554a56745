"""Cross-directory record linkage: which listings describe the same group, scored by Splink 5 on DuckDB.

The model is Fellegi–Sunter, the field's standard: each candidate pair is compared on four things, each comparison
falls into one level, and each level adds evidence (a match weight) for or against "same group":

- name: the name's meaningful words (boilerplate such as "support group" and organisation acronyms such as NAMI set
  aside), exact, nearly the same spelling, or sharing most words. Exact names are weighed by how common they are
  (term-frequency adjustment), so "Family Support" in a hundred towns says little and a rare name says much.
- location: ONE hierarchical comparison (the same join link; the same standardised street address; within 150 m;
  the same ZIP; the same town), because address, ZIP and town are correlated and counting them apart would count
  one fact three times.
- schedule: a shared meeting slot (day and start), a shared day, or no day in common.
- phone: the same number, weighed by its frequency: a chapter's one line on ten groups proves nothing.

Candidate pairs come from blocking rules on place, join link, rare phones and name-within-ZIP; values shared by very
many listings (a national hotline, a ZIP centroid) are kept out of blocking. Pairs above `MATCH_PROBABILITY` are
then clustered strongest first under hard guards, so weak links cannot chain groups together: listings of one source
join only if they are rows of one group (the same name), listings of different sources that both state schedules
must share a slot, and a person's review decisions always win.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipeline.dedupe import BOILERPLATE, KNOWN_ACRONYMS, STREET_TYPES, Membership, assign_group_ids, initials
from pipeline.memory import collector_paused

# Pairs at or above this probability are links; clustering may still refuse one that contradicts its cluster.
MATCH_PROBABILITY = 0.9
# Pairs between these are kept for clerical review (`peergroups review`): the model is unsure of them.
REVIEW_LOW = 0.2
# The prior: the probability that two listings picked at random are the same group. Fixed rather than estimated, so
# a listing's links do not change with the size of the warehouse.
PRIOR = 1e-4
# A blocking value shared by more listings than this is a common value (a hotline, a chain's address): not a block.
MAX_BLOCK = 300
# Coordinate grid cell in degrees (~440 m of latitude, less of longitude away from the equator). Four grids offset
# by half a cell put any two points less than half a cell apart on each axis in one cell of at least one grid.
CELL = 0.004
SAME_PLACE_KM = 0.15
# A phone is "exact" evidence only at this many places at most (else a shared line: a chapter office, a helpline);
# it is a block only up to this many rows. One place: listings at one ZIP, town or join link.
SHARED_LINE_PLACES = 2
PHONE_BLOCK_ROWS = 20
_PHONE_PLACE = "coalesce(zip5, town, online_key, listing_id)"

# The linkage's own code, hashed: links stored by one run are reused by the next (which re-scores only the pairs
# of listings that changed) only while the model that scored them is the same.
LINK_MODEL_VERSION = hashlib.sha256(
    b"".join((Path(__file__).parent / name).read_bytes() for name in ("linkage.py", "dedupe.py"))
).hexdigest()[:12]

# Splink logs each stage's timing at INFO; a run's report says what matters.
logging.getLogger("splink").setLevel(logging.WARNING)


_HAVERSINE_KM = (
    "2 * 6371 * asin(sqrt(power(sin(radians(l.latitude - r.latitude) / 2), 2) + cos(radians(l.latitude)) * "
    "cos(radians(r.latitude)) * power(sin(radians(l.longitude - r.longitude) / 2), 2)))"
)


_AN_ADDRESS_UNKNOWN = "(l.address_key IS NULL OR r.address_key IS NULL)"


@dataclass(frozen=True)
class Level:
    label: str
    sql: str | None  # over l.<column> and r.<column>; None for the else level
    m: float | None = None
    u: float | None = None
    tf_column: str | None = None


# The model, in one table: for each comparison its levels, most specific first, with prior m and u.
#   m: how often two listings of the same group fall into the level; u: how often two unrelated listings do.
# Set from what directories do (a duplicate's name is exact about half the time and shares at least half its words
# nearly always; its address is standardised alike about half the time); u is re-estimated from random pairs when
# there are enough listings (`link(train=True)`).
COMPARISONS: dict[str, list[Level]] = {
    "name": [
        Level("missing", "l.name_core IS NULL OR r.name_core IS NULL"),
        Level("exact", "l.name_core = r.name_core", 0.55, 0.001, "name_core"),
        Level("similar", "jaro_winkler_similarity(l.name_core, r.name_core) >= 0.92", 0.2, 0.003),
        Level(
            "half the words",
            "len(list_intersect(l.name_tokens, r.name_tokens)) * 2 >= least(len(l.name_tokens), len(r.name_tokens))",
            0.17,
            0.01,
        ),
        Level("a word", "len(list_intersect(l.name_tokens, r.name_tokens)) >= 1", 0.05, 0.05),
        Level("else", None, 0.03, 0.936),
    ],
    "location": [
        Level(
            "missing",
            "(l.online_key IS NULL AND l.address_key IS NULL AND l.latitude IS NULL AND l.zip5 IS NULL "
            "AND l.town IS NULL) OR (r.online_key IS NULL AND r.address_key IS NULL AND r.latitude IS NULL "
            "AND r.zip5 IS NULL AND r.town IS NULL)",
        ),
        Level("join link", "l.online_key = r.online_key", 0.2, 0.0001),
        # The same standardised street in the same ZIP or town: one directory gives the ZIP, another only the town.
        Level(
            "address",
            "l.address_key = r.address_key OR (l.street_key = r.street_key AND (l.zip5 = r.zip5 OR l.town = r.town))",
            0.45,
            0.0002,
        ),
        Level("within 150 m", f"{_HAVERSINE_KM} <= {SAME_PLACE_KM}", 0.2, 0.0005),
        # Where one side gives no street address, the same ZIP or town is all there is to agree on; where both give
        # addresses and they differ, the same ZIP or town means two venues, which is evidence against.
        Level("zip, one address unknown", f"l.zip5 = r.zip5 AND {_AN_ADDRESS_UNKNOWN}", 0.12, 0.002),
        Level("town, one address unknown", f"l.town = r.town AND {_AN_ADDRESS_UNKNOWN}", 0.1, 0.004),
        Level("same area, other address", "l.zip5 = r.zip5 OR l.town = r.town", 0.03, 0.01),
        Level("else", None, 0.05, 0.9839),
    ],
    "schedule": [
        Level("missing", "len(l.slots) = 0 OR len(r.slots) = 0"),
        Level("slot", "len(list_intersect(l.slots, r.slots)) > 0", 0.8, 0.02),
        # Rows of one directory at the same time on other days are how directories list a group meeting several
        # days a week.
        Level("rows of one source", "l.source = r.source AND len(list_intersect(l.times, r.times)) > 0", 0.1, 0.1),
        Level("day", "len(list_intersect(l.days, r.days)) > 0", 0.1, 0.12),
        Level("else", None, 0.1, 0.86),
    ],
    "phone": [
        Level("missing", "l.phone IS NULL OR r.phone IS NULL"),
        Level("exact", f"l.phone = r.phone AND l.phone_groups <= {SHARED_LINE_PLACES}", 0.65, 0.0005, "phone"),
        # A chapter's one line on many differently named groups says nothing about which group it is.
        Level("shared line", "l.phone = r.phone", 0.05, 0.05),
        Level("else", None, 0.3, 0.9495),
    ],
}


def _splink_sql(sql: str) -> str:
    """Splink names the two sides' columns `<column>_l` and `<column>_r`."""
    return re.sub(r"\b([lr])\.(\w+)", r"\2_\1", sql)


def comparisons() -> list[Any]:
    """The comparisons as Splink objects, built from `COMPARISONS`."""
    from splink import comparison_level_library as cll
    from splink import comparison_library as cl

    built = []
    for name, levels in COMPARISONS.items():
        creators = []
        for level in levels:
            if level.label == "missing":
                creators.append(cll.CustomLevel(_splink_sql(level.sql or ""), "missing").configure(is_null_level=True))
                continue
            creator = cll.ElseLevel() if level.sql is None else cll.CustomLevel(_splink_sql(level.sql), level.label)
            options: dict[str, Any] = {"m_probability": level.m, "u_probability": level.u}
            if level.tf_column:
                options["tf_adjustment_column"] = level.tf_column
            creators.append(creator.configure(**options))
        built.append(cl.CustomComparison(output_column_name=name, comparison_levels=creators))
    return built


def evidence_sql() -> str:
    """'name=exact;location=address;...' for a pair `l`, `r` of link_input rows: the level each comparison fell in."""
    parts = []
    for name, levels in COMPARISONS.items():
        cases = " ".join(f"WHEN {level.sql} THEN '{level.label}'" for level in levels if level.sql)
        parts.append(f"'{name}=' || CASE {cases} ELSE 'else' END")
    return " || ';' || ".join(parts)


# Candidate pairs: listings equal on every key of one rule (and meeting its condition, if any).
_SHARE_A_NAME_WORD = "len(list_intersect(l.name_tokens, r.name_tokens)) > 0"
BLOCKING: list[tuple[tuple[str, ...], str | None]] = [
    (("address_block",), None),
    (("street_block",), None),
    (("online_block",), None),
    # Nearby with no name word in common is never enough to link, so such pairs are not compared at all.
    (("cell_0",), _SHARE_A_NAME_WORD),
    (("cell_1",), _SHARE_A_NAME_WORD),
    (("cell_2",), _SHARE_A_NAME_WORD),
    (("cell_3",), _SHARE_A_NAME_WORD),
    (("phone_block",), None),
    (("zip5", "name_core"), None),
    (("town", "name_core"), None),
]
BLOCKING_RULES = [
    " AND ".join([f"l.{key} = r.{key}" for key in keys] + ([condition] if condition else []))
    for keys, condition in BLOCKING
]


def settings(prior: float = PRIOR, *, changed_only: bool = False) -> Any:
    """Splink's settings. `changed_only`: candidate pairs are only those with a listing marked `dirty` (an
    incremental link, which keeps the stored scores of every other pair)."""
    from splink import SettingsCreator

    rules = [f"({rule}) AND (l.dirty OR r.dirty)" for rule in BLOCKING_RULES] if changed_only else BLOCKING_RULES
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="listing_id",
        probability_two_random_records_match=prior,
        comparisons=comparisons(),
        blocking_rules_to_generate_predictions=rules,
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=True,
    )


def _cells(offset_lat: float, offset_lng: float) -> str:
    return (
        f"CASE WHEN precise THEN concat(floor(latitude / {CELL} + {offset_lat})::BIGINT, ',', "
        f"floor(longitude / {CELL} + {offset_lng})::BIGINT) END"
    )


def build_link_input(
    con: duckdb.DuckDBPyConnection,
    acronyms: Sequence[str],
    *,
    kept_keys: Any = None,
    changed: Collection[str] | None = None,
) -> None:
    """`link_input` from the registered `listings_src` and `schedules_src`: one row per listing, keys normalised.

    In two steps: each listing's own keys (`link_keys`: name words, address, place, phone, meeting slots), then what
    depends on all listings (shared phones, values too common to block on). `kept_keys` (an earlier link's
    `link_keys` rows; those of listings in `listings_src` are replaced) are added between the two, so an incremental
    link builds keys only for the listings that changed, which `changed` marks (column `dirty`), with the listings
    whose phone's levels they changed. Runs in DuckDB so a million
    listings cost seconds, not minutes.
    """
    _build_link_keys(con, acronyms)
    keys = "SELECT * FROM link_keys"
    if kept_keys is not None:
        con.register("kept_keys_src", kept_keys)
        keys += " UNION ALL BY NAME (SELECT * FROM kept_keys_src ANTI JOIN link_keys USING (listing_id))"
    dirty = None
    if changed is not None:
        con.register("changed_src", pd.DataFrame({"listing_id": sorted(changed)}, dtype="string"))
        dirty = "listing_id IN (SELECT listing_id FROM changed_src)"
    _finish_link_input(con, keys, dirty)
    if kept_keys is not None and changed is not None:
        _mark_phone_transitions(con)
    for name in ("kept_keys_src", "changed_src"):
        con.unregister(name)


def _mark_phone_transitions(con: duckdb.DuckDBPyConnection) -> None:
    """Mark `dirty` the unchanged listings whose phone crossed a limit because of the changed ones: "exact" needs the
    number at two places at most, a phone block twenty rows at most. Their pairs then score differently though
    nothing of theirs changed (term frequencies move too, but slowly: those are left to the next full link).

    Before: the stored keys (`kept_keys_src`, every listing as the last link saw it); after: `link_input`.
    """
    con.execute(
        f"""UPDATE link_input SET dirty = true WHERE NOT dirty AND phone IN (
                WITH before AS (SELECT phone, count(DISTINCT {_PHONE_PLACE}) AS places, count(*) AS n
                                FROM kept_keys_src WHERE phone IS NOT NULL GROUP BY phone),
                     after AS (SELECT phone, any_value(phone_groups) AS places, count(*) AS n FROM link_input
                               WHERE phone IS NOT NULL GROUP BY phone)
                SELECT phone FROM after FULL JOIN before USING (phone)
                WHERE (coalesce(after.places, 0) <= {SHARED_LINE_PLACES})
                          <> (coalesce(before.places, 0) <= {SHARED_LINE_PLACES})
                   OR (coalesce(after.n, 0) <= {PHONE_BLOCK_ROWS}) <> (coalesce(before.n, 0) <= {PHONE_BLOCK_ROWS}))"""
    )


def _build_link_keys(con: duckdb.DuckDBPyConnection, acronyms: Sequence[str]) -> None:
    drop = sorted(BOILERPLATE | KNOWN_ACRONYMS | set(acronyms))
    statements = [
        """
        CREATE OR REPLACE MACRO link_words_of(text) AS
            list_filter(string_split_regex(lower(strip_accents(replace(coalesce(text, ''), '&', ' and '))),
                                           '[^\\p{L}\\p{N}]+'), lambda w: w <> '')
        """,
        "CREATE OR REPLACE TEMP TABLE link_drop AS SELECT DISTINCT unnest($drop) AS word",
        # Names repeat ("Family Support Group" in a hundred towns): their words are worked out once per distinct
        # name, with an anti-join rather than a list lookup per word, so thousands of acronyms stay cheap.
        """
        CREATE OR REPLACE TEMP TABLE link_names AS
        WITH names AS (SELECT DISTINCT name FROM listings_src),
             words AS (SELECT name, link_words_of(name) AS words FROM names),
             exploded AS (SELECT name, unnest(words) AS word FROM words),
             meaningful AS (SELECT name, list(word) AS meaningful FROM (SELECT * FROM exploded ANTI JOIN link_drop
                            USING (word)) GROUP BY name)
        SELECT w.name, w.words, coalesce(m.meaningful, []) AS meaningful
        FROM words w LEFT JOIN meaningful m USING (name)
        """,
        # Directories add their town or venue to a group's name ("Bipolar Support - St. Mark"); those words say
        # where, which the location comparison already weighs, not which group.
        """
        CREATE OR REPLACE TEMP TABLE link_tokens AS
        WITH places AS (SELECT listing_id, name, list_concat(link_words_of(city), link_words_of(location_name))
                               AS place_words FROM listings_src)
        SELECT p.listing_id,
               list_sort(list_distinct(coalesce(
                   nullif(list_filter(n.meaningful, lambda x: NOT list_contains(p.place_words, x)), []),
                   nullif(n.meaningful, []), n.words))) AS name_tokens
        FROM places p JOIN link_names n ON n.name IS NOT DISTINCT FROM p.name
        """,
        """
        CREATE OR REPLACE TEMP TABLE link_slots AS
        SELECT listing_id,
               -- Weekdays without their ordinals: one directory's "first Sunday" is another's "Sundays".
               list_distinct(flatten(list(list_transform(byday,
                   lambda d: concat(regexp_replace(d, '^[+-]?[0-9]+', ''), '@', coalesce(opens_at, '')))))) AS slots,
               list_distinct(flatten(list(list_transform(byday, lambda d: regexp_replace(d, '^[+-]?[0-9]+', '')))))
                   AS days,
               list_distinct(list(opens_at) FILTER (WHERE opens_at IS NOT NULL)) AS times
        FROM schedules_src GROUP BY listing_id
        """,
        """
        CREATE OR REPLACE TEMP TABLE link_base AS
        SELECT l.listing_id, l.source,
               t.name_tokens,
               nullif(lower(regexp_extract(l.conference_url, '^[a-zA-Z][a-zA-Z0-9+.-]*://([^/?#]+)', 1)) ||
                   rtrim(regexp_extract(l.conference_url, '^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]+([^?#]*)', 1), '/'),
                   '') AS online_key,
               coalesce(l.address_key, street_fallback.key) AS address_key,
               CASE WHEN l.latitude IS NOT NULL AND l.longitude IS NOT NULL
                         AND coalesce(l.coordinates_precision, 'source') <> 'postal_code'
                    THEN l.latitude END AS latitude,
               CASE WHEN l.latitude IS NOT NULL AND l.longitude IS NOT NULL
                         AND coalesce(l.coordinates_precision, 'source') <> 'postal_code'
                    THEN l.longitude END AS longitude,
               nullif(left(regexp_replace(coalesce(l.postal_code, ''), '[^0-9A-Za-z]', '', 'g'), 5), '') AS zip5,
               CASE WHEN l.city IS NOT NULL THEN lower(strip_accents(l.city)) || '|' || lower(coalesce(l.region, ''))
                    END AS town,
               l.phone,
               coalesce(s.slots, []) AS slots,
               coalesce(s.days, []) AS days,
               coalesce(s.times, []) AS times,
               list_contains(coalesce(l.field_issues, []), 'name/missing') AS named_by_venue
        FROM listings_src l
        JOIN link_tokens t USING (listing_id)
        LEFT JOIN link_slots s USING (listing_id)
        LEFT JOIN (
            SELECT listing_id,
                   regexp_extract(lower(street), '^\\s*(\\d+[a-z]?)\\s', 1) || ' ' ||
                   array_to_string(list_filter(string_split(trim(regexp_replace(
                       regexp_replace(lower(street), '^\\s*\\d+[a-z]?\\s+', ''),
                       '[^\\p{L}\\p{N}]+', ' ', 'g')), ' '),
                       lambda x: x <> '' AND NOT list_contains($street_types, x)), ' ') || '|' ||
                   left(postal_code, 5) AS key
            FROM listings_src
            WHERE address_key IS NULL AND regexp_matches(street, '^\\s*\\d') AND postal_code IS NOT NULL
        ) street_fallback USING (listing_id)
        """,
        """
        CREATE OR REPLACE TABLE link_keys AS
        SELECT *, nullif(array_to_string(name_tokens, ' '), '') AS name_core,
               -- Street words without their type ("415 n alder"), whichever way the key was made,
               -- so a standardised address meets one the parser could not read.
               nullif(array_to_string(list_filter(string_split(lower(split_part(address_key, '|', 1)),
                   ' '), lambda x: x <> '' AND NOT list_contains($street_types, x)), ' '), '') AS street_key,
               latitude IS NOT NULL AS precise
        FROM link_base
        """,
    ]
    parameters = {"drop": drop, "street_types": sorted(STREET_TYPES)}
    for statement in statements:
        used = {key: value for key, value in parameters.items() if f"${key}" in statement}
        con.execute(statement, used or None)


def _finish_link_input(con: duckdb.DuckDBPyConnection, keys: str, dirty: str | None) -> None:
    """`link_input` from the keys (`keys`, a query): what depends on every listing (shared phones, values too common
    to block on, crowded grid cells); and `dirty`, an expression, if given."""
    con.execute(
        f"""
        CREATE OR REPLACE TABLE link_input AS
        WITH named AS ({keys}),
             -- A number given at more than two places is a shared line (a chapter office, a national helpline).
             phones AS (SELECT phone, count(DISTINCT {_PHONE_PLACE})
                                      AS phone_groups, count(*) AS phone_rows
                        FROM named WHERE phone IS NOT NULL GROUP BY phone),
             -- Values shared by too many listings to block on (few rows: a semi-join, not a window per row).
             common_addresses AS (SELECT address_key FROM named WHERE address_key IS NOT NULL
                                  GROUP BY address_key HAVING count(*) > {MAX_BLOCK}),
             common_links AS (SELECT online_key FROM named WHERE online_key IS NOT NULL
                              GROUP BY online_key HAVING count(*) > {MAX_BLOCK}),
             common_streets AS (SELECT street_key, town FROM named WHERE street_key IS NOT NULL
                                GROUP BY street_key, town HAVING count(*) > {MAX_BLOCK})
        SELECT named.*, coalesce(phones.phone_groups, 0) AS phone_groups,
               CASE WHEN street_key IS NOT NULL AND NOT EXISTS (SELECT 1 FROM common_streets c
                         WHERE c.street_key = named.street_key AND c.town IS NOT DISTINCT FROM named.town)
                    THEN street_key || '|' || town END AS street_block,
               CASE WHEN address_key NOT IN (SELECT address_key FROM common_addresses) THEN address_key END
                   AS address_block,
               CASE WHEN online_key NOT IN (SELECT online_key FROM common_links) THEN online_key END AS online_block,
               CASE WHEN phones.phone_rows <= {PHONE_BLOCK_ROWS} THEN phone END AS phone_block,
               {_cells(0, 0)} AS cell_0, {_cells(0.5, 0)} AS cell_1, {_cells(0, 0.5)} AS cell_2,
               {_cells(0.5, 0.5)} AS cell_3{f", {dirty} AS dirty" if dirty else ""}
        FROM named LEFT JOIN phones USING (phone)
        """
    )
    # A shared grid cell is a block only when few listings share it (a ZIP-centroid pile-up is not a place).
    for cell in ("cell_0", "cell_1", "cell_2", "cell_3"):
        con.execute(
            f"""UPDATE link_input SET {cell} = NULL WHERE {cell} IN (
                   SELECT {cell} FROM link_input WHERE {cell} IS NOT NULL
                   GROUP BY {cell} HAVING count(*) > {MAX_BLOCK})"""
        )
    con.execute("ALTER TABLE link_input DROP COLUMN precise")


EDGE_COLUMNS = ["listing_id_l", "listing_id_r", "match_probability", "evidence"]


@dataclass
class LinkResult:
    memberships: list[Membership]
    review_pairs: pd.DataFrame  # listing_id_l, listing_id_r, match_probability, evidence: the uncertain band
    timings: dict[str, float] = field(default_factory=dict)
    # Every scored pair at p >= REVIEW_LOW (EDGE_COLUMNS), new and kept: what a later incremental link starts from.
    edges: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=EDGE_COLUMNS))
    # The listings clustered again (None: all). An incremental link leaves the groups of all others as they were;
    # `memberships` and `review_pairs` then cover these listings only.
    scope: set[str] | None = None
    keys: Any = None  # the link keys built (table link_keys), for the next incremental link
    # An incremental link's re-scored listings: the changed ones and those whose phone's levels they changed.
    rescored: set[str] | None = None


@dataclass(frozen=True)
class Decision:
    """A person's verdict on a pair: same group or different groups. Always obeyed."""

    listing_id_l: str
    listing_id_r: str
    same: bool


# Frequencies are shares of at least this many places (names) or groups (phones): in a small warehouse a name's
# share says nothing about how common it is in the world.
TF_FLOOR = 10_000


def _term_frequencies(con: duckdb.DuckDBPyConnection, linker: Any, db_api: Any) -> None:
    """How common a name or phone is among DIFFERENT groups, for Splink's term-frequency adjustment.

    Splink's default counts rows, so a group listed by four directories would make its own name look common. A
    name's frequency here is the share of distinct places (address, join link, ZIP or town) it appears at; a phone's
    is the share of distinct names that give it.
    """
    name_tf = con.execute(
        f"""SELECT name_core, count(DISTINCT coalesce(address_key, online_key, zip5, town, listing_id)) /
                   greatest((SELECT count(DISTINCT coalesce(address_key, online_key, zip5, town, listing_id))
                             FROM link_input), {TF_FLOOR})::DOUBLE AS tf_name_core
            FROM link_input WHERE name_core IS NOT NULL GROUP BY name_core"""
    ).df()
    phone_tf = con.execute(
        f"""SELECT phone, count(DISTINCT coalesce(name_core, listing_id)) /
                   greatest((SELECT count(DISTINCT name_core) FROM link_input), {TF_FLOOR})::DOUBLE AS tf_phone
            FROM link_input WHERE phone IS NOT NULL GROUP BY phone"""
    ).df()
    for column, frame in (("name_core", name_tf), ("phone", phone_tf)):
        registered = db_api.register(frame, table_name=f"tf_lookup_{column}")
        linker.table_management.register_term_frequency_lookup(registered, column)


def link(
    con: duckdb.DuckDBPyConnection,
    previous: Mapping[str, str] | None = None,
    decisions: Iterable[Decision] = (),
    seniority: Mapping[str, int] | None = None,
    *,
    train: bool = False,
    kept_edges: Any = None,
) -> LinkResult:
    """Score, cluster and name groups for the listings in `link_input` (see `build_link_input`) on `con`.

    `con` is a scratch DuckDB connection of our own, never the warehouse's (Splink creates work tables).
    `previous` (listing_id → group_id) keeps ids stable; `seniority` (lower = known longer) breaks id ties.
    `kept_edges` (EDGE_COLUMNS, an earlier link's `edges`): an incremental link. Only pairs with a listing marked
    `dirty` in link_input are scored; the kept scores of pairs of two unchanged listings are reused; clustering
    then runs over them all, as a full link would.
    """
    import time

    from splink import DuckDBAPI, Linker

    timings: dict[str, float] = {}
    started = time.perf_counter()
    # Splink 5 writes `x -> ...` lambdas, which DuckDB 2 accepts only with this setting.
    con.execute("SET lambda_syntax='ENABLE_SINGLE_ARROW'")
    count = con.execute("SELECT count(*) FROM link_input").fetchall()[0][0]
    decisions = list(decisions)
    edges = pd.DataFrame(columns=EDGE_COLUMNS)
    incremental = kept_edges is not None
    changed_pairs = "AND (l.dirty OR r.dirty)" if incremental else ""
    if incremental:
        con.register("kept_edges_src", kept_edges)
        kept = """
                UNION ALL
                SELECT k.listing_id_l, k.listing_id_r, k.match_probability, k.evidence FROM kept_edges_src k
                JOIN link_input l ON l.listing_id = k.listing_id_l AND NOT l.dirty
                JOIN link_input r ON r.listing_id = k.listing_id_r AND NOT r.dirty"""
    else:
        kept = ""
    if count >= 2:
        db_api = DuckDBAPI(connection=con)
        if incremental:
            _changed_neighbourhood(con)
        # Splink's settings check reads every comparison's SQL (a tenth of a second): the settings are ours and
        # constant, and every full link still checks them.
        linker = Linker(
            db_api.register("link_scope" if incremental else "link_input"),
            settings(changed_only=incremental),
            log_level=None,
            validate_settings=not incremental,
        )
        _term_frequencies(con, linker, db_api)
        if train and count >= TRAIN_MIN:
            _train(linker)
        timings["train"] = time.perf_counter() - started
        predicted = linker.inference.predict(threshold_match_probability=REVIEW_LOW)
        # Rows of one directory with the same name at the same place are one group meeting on several days (a daily
        # group published as seven rows): linked by rule, first, whatever their other fields say.
        edges = con.execute(
            f"""WITH scored AS (
                    SELECT e.listing_id_l, e.listing_id_r, e.match_probability, {evidence_sql()} AS evidence
                    FROM {predicted.physical_name} e
                    JOIN link_input l ON l.listing_id = e.listing_id_l
                    JOIN link_input r ON r.listing_id = e.listing_id_r),
                rows_of_one_group AS (
                    SELECT l.listing_id AS listing_id_l, r.listing_id AS listing_id_r, 1.0 AS match_probability,
                           'rows of one source: same name, same place' AS evidence
                    FROM link_input l JOIN link_input r
                      ON l.source = r.source AND l.name_core = r.name_core AND l.listing_id < r.listing_id
                     AND coalesce(l.address_block, l.online_block) = coalesce(r.address_block, r.online_block)
                    WHERE NOT l.named_by_venue AND NOT r.named_by_venue
                      -- and nothing says otherwise: the same start time (or none given), the same phone (or none)
                      AND (len(l.times) = 0 OR len(r.times) = 0 OR len(list_intersect(l.times, r.times)) > 0)
                      AND (l.phone IS NULL OR r.phone IS NULL OR l.phone = r.phone) {changed_pairs})
                SELECT * FROM rows_of_one_group
                UNION ALL
                SELECT * FROM scored WHERE (listing_id_l, listing_id_r) NOT IN
                    (SELECT (listing_id_l, listing_id_r) FROM rows_of_one_group){kept}
                ORDER BY match_probability DESC, listing_id_l, listing_id_r"""
        ).df()
        timings["predict"] = time.perf_counter() - started - timings["train"]
    mark = time.perf_counter()
    scope = None
    if incremental:
        con.unregister("kept_edges_src")
        changed = [row[0] for row in con.execute("SELECT listing_id FROM link_input WHERE dirty").fetchall()]
        scope = affected_listings(edges, previous or {}, decisions, changed)
    meta = _cluster_meta(con, edges, decisions, scope)
    memberships, review = cluster_links(
        edges, meta, decisions, previous or {}, seniority or {}, count, con, scope=scope
    )
    timings["cluster"] = time.perf_counter() - mark
    return LinkResult(memberships, review, timings, edges, scope, rescored=None if scope is None else set(changed))


def _changed_neighbourhood(con: duckdb.DuckDBPyConnection) -> None:
    """`link_scope`: the changed (`dirty`) listings and every listing sharing a blocking key with one, the only rows
    an incremental link's candidate pairs can come from. Splink then works on hundreds of rows, not all."""
    shares = []
    for keys, _ in BLOCKING:
        key = " || chr(31) || ".join(keys)  # NULL when any part is: such a row is in no block of this rule
        shares.append(f"{key} IN (SELECT {key} FROM link_input WHERE dirty)")
    con.execute(f"CREATE OR REPLACE TABLE link_scope AS SELECT * FROM link_input WHERE dirty OR {' OR '.join(shares)}")


def affected_listings(
    edges: pd.DataFrame, previous: Mapping[str, str], decisions: Sequence[Decision], changed: Iterable[str]
) -> set[str]:
    """The listings whose groups a change can reach: the changed ones, closed under links strong enough to join
    (`MATCH_PROBABILITY`), a reviewer's "same", and membership of one previous group.

    Clustering joins only along such links, so each closed set clusters exactly as it would among all listings:
    clustering just these gives a full run's groups for them, and every other group stands.
    """
    strong = edges[edges["match_probability"] >= MATCH_PROBABILITY]
    left, right = strong["listing_id_l"], strong["listing_id_r"]
    members: dict[str, list[str]] = defaultdict(list)
    for listing, group_id in previous.items():
        members[group_id].append(listing)
    same = [(d.listing_id_l, d.listing_id_r) for d in decisions if d.same]
    scope = set(changed)
    frontier = set(scope)  # each step grows from the listings the last one added, not the whole scope again
    while frontier:
        reached: set[str] = set()
        for listing in frontier:
            if listing in previous:
                reached.update(members[previous[listing]])
        touching = left.isin(frontier) | right.isin(frontier)
        reached.update(left[touching])
        reached.update(right[touching])
        reached.update(item for pair in same if pair[0] in frontier or pair[1] in frontier for item in pair)
        frontier = reached - scope
        scope |= frontier
    return scope


TRAIN_MIN = 5000

# The listing columns the linkage reads.
LINK_COLUMNS = [
    "listing_id", "source", "name", "organization", "conference_url", "address_key", "street", "postal_code",
    "city", "region", "location_name", "latitude", "longitude", "coordinates_precision", "phone", "field_issues",
]  # fmt: skip


@dataclass(frozen=True)
class EarlierLink:
    """What an earlier link stored, for an incremental one: the listings that changed since, its scored pairs
    (EDGE_COLUMNS) and its keys (`link_keys`, every listing's as that link saw them), and the initials of every
    listing's organisation (`organisation_acronyms`: counted over all listings, not just the changed)."""

    changed: Collection[str]
    edges: Any
    keys: Any
    acronyms: Sequence[str]


def link_tables(
    listings: Any,
    schedules: Any,
    previous: Mapping[str, str] | None = None,
    decisions: Iterable[Decision] = (),
    seniority: Mapping[str, int] | None = None,
    *,
    train: bool = False,
    earlier: EarlierLink | None = None,
) -> LinkResult:
    """Link listings given as tables (Arrow or pandas) with `LINK_COLUMNS`, and their schedules (listing_id, byday,
    opens_at "HH:MM"), on a scratch in-memory DuckDB, so Splink's work tables never touch the warehouse.

    With `earlier`, incrementally: `listings` and `schedules` need hold only the changed listings; the others' keys
    come from `earlier.keys`; only pairs involving a changed listing are scored (see `link`). Shared-value limits
    and term frequencies are still counted over all listings. `LinkResult.keys` are the keys built here.
    """
    import time

    scratch = duckdb.connect()
    try:
        started = time.perf_counter()
        scratch.register("listings_src", listings)
        scratch.register("schedules_src", schedules)
        if earlier is not None:
            acronyms = earlier.acronyms
        else:
            named = scratch.execute("SELECT DISTINCT organization FROM listings_src").fetchall()
            acronyms = organisation_acronyms(row[0] for row in named)
        build_link_input(
            scratch,
            acronyms,
            kept_keys=None if earlier is None else earlier.keys,
            changed=None if earlier is None else earlier.changed,
        )
        keys = scratch.sql("SELECT * FROM link_keys").to_arrow_table()
        prepared = time.perf_counter() - started
        # Clustering builds millions of small objects and no cycles: the cyclic collector would only rescan them.
        with collector_paused():
            kept_edges = None if earlier is None else earlier.edges
            result = link(scratch, previous, decisions, seniority, train=train, kept_edges=kept_edges)
        result.timings = {"prepare": prepared, **result.timings}
        result.keys = keys
        return result
    finally:
        scratch.close()


def _train(linker: Any) -> None:
    """u from random pairs (what unrelated listings share); m stays at its prior values."""
    linker.training.estimate_u_using_random_sampling(max_pairs=2_000_000, seed=7)


@dataclass
class _Meta:
    source: str
    name_core: str | None
    named_by_venue: bool
    days: frozenset[str]  # weekdays it meets, without ordinals


def _cluster_meta(
    con: duckdb.DuckDBPyConnection, edges: pd.DataFrame, decisions: list[Decision], scope: set[str] | None = None
) -> dict[str, _Meta]:
    if scope is not None:
        ids = set(scope)
    else:
        ids = set(edges["listing_id_l"]) | set(edges["listing_id_r"])
        ids |= {d.listing_id_l for d in decisions} | {d.listing_id_r for d in decisions}
    if not ids:
        return {}
    con.register("link_ids", pd.DataFrame({"listing_id": sorted(ids)}))
    rows = con.execute(
        "SELECT listing_id, source, name_core, named_by_venue, days FROM link_input JOIN link_ids USING (listing_id)"
    ).fetchall()
    con.unregister("link_ids")
    return {row[0]: _Meta(row[1], row[2], bool(row[3]), frozenset(row[4] or ())) for row in rows}


def cluster_links(
    edges: pd.DataFrame,
    meta: Mapping[str, _Meta],
    decisions: Sequence[Decision],
    previous: Mapping[str, str],
    seniority: Mapping[str, int],
    count: int,
    con: duckdb.DuckDBPyConnection,
    *,
    scope: set[str] | None = None,
) -> tuple[list[Membership], pd.DataFrame]:
    """Strongest links first, each accepted only if its two clusters have nothing that contradicts it.

    `scope` (see `affected_listings`): cluster only these listings; a weak link from one of them to a listing
    outside goes to review, as it would in a full run (the two cannot be in one cluster).
    """
    review_rows = []
    reserved: set[str] = set()
    if scope is not None:
        reviewed = {frozenset((d.listing_id_l, d.listing_id_r)) for d in decisions}
        inside_l, inside_r = edges["listing_id_l"].isin(scope), edges["listing_id_r"].isin(scope)
        for left, right, probability, evidence in edges[inside_l != inside_r].itertuples(index=False):
            if frozenset((left, right)) not in reviewed:
                review_rows.append((left, right, probability, evidence))
        edges = edges[inside_l & inside_r]
        decisions = [d for d in decisions if d.listing_id_l in scope and d.listing_id_r in scope]
        reserved = {group_id for listing, group_id in previous.items() if listing not in scope}
    different = {frozenset((d.listing_id_l, d.listing_id_r)) for d in decisions if not d.same}
    decided = different | {frozenset((d.listing_id_l, d.listing_id_r)) for d in decisions if d.same}
    parent: dict[str, str] = {}
    members: dict[str, list[str]] = {}

    def find(item: str) -> str:
        parent.setdefault(item, item)
        members.setdefault(item, [item])
        root = item
        while parent[root] != root:
            root = parent[root]
        while parent[item] != root:
            parent[item], item = root, parent[item]
        return root

    def join(a: str, b: str, *, forced: bool) -> bool:
        root_a, root_b = find(a), find(b)
        if root_a == root_b:
            return True
        if not forced and not _compatible(members[root_a], members[root_b], meta, different):
            return False
        if forced and any(frozenset((x, y)) in different for x in members[root_a] for y in members[root_b]):
            return False
        keep, gone = sorted((root_a, root_b))
        parent[gone] = keep
        members[keep].extend(members.pop(gone))
        return True

    best: dict[str, tuple[float, str]] = {}
    # A person's "same" comes first and is always obeyed (unless it contradicts their own "different").
    for decision in decisions:
        if decision.same and decision.listing_id_l in meta and decision.listing_id_r in meta:
            join(decision.listing_id_l, decision.listing_id_r, forced=True)
            for item in (decision.listing_id_l, decision.listing_id_r):
                best[item] = (1.0, "review=same")

    columns = (edges[name].tolist() for name in EDGE_COLUMNS)
    for left, right, probability, evidence in zip(*columns, strict=True):
        if decided and frozenset((left, right)) in decided:
            continue
        accepted = probability >= MATCH_PROBABILITY and join(left, right, forced=False)
        if accepted:
            # Edges come strongest first: a listing's first accepted link is its best.
            best.setdefault(left, (probability, evidence))
            best.setdefault(right, (probability, evidence))
        elif find(left) != find(right):
            reason = "" if probability < MATCH_PROBABILITY else ";refused=contradicts its cluster"
            review_rows.append((left, right, probability, evidence + reason))

    clusters: dict[str, list[str]] = defaultdict(list)
    for item in list(parent):
        clusters[find(item)].append(item)
    linked = set(parent)
    if scope is not None:
        singles = [(listing,) for listing in sorted(scope)]
    else:
        singles = con.execute("SELECT listing_id FROM link_input ORDER BY listing_id").fetchall() if count else []
    groups = [sorted(items) for items in clusters.values()]
    groups += [[listing] for (listing,) in singles if listing not in linked]
    ids = assign_group_ids(groups, previous, seniority, reserved)
    memberships = [
        Membership(group_id, listing, *best.get(listing, (1.0, "single")))
        for group_ids, group_id in zip(groups, ids, strict=True)
        for listing in group_ids
    ]
    review = pd.DataFrame(review_rows, columns=EDGE_COLUMNS)
    return memberships, review


def _compatible(left: list[str], right: list[str], meta: Mapping[str, _Meta], different: set[frozenset[str]]) -> bool:
    """Nothing in the merged cluster contradicts: one source's listings are rows of one group only when they share
    the name; what two sources say of the group's days must overlap (each source's days taken over all its rows, so a
    daily group's seven rows agree with a directory listing it on Wednesdays); no person said "different"."""
    for a_id in left:
        a = meta[a_id]
        for b_id in right:
            b = meta[b_id]
            if different and frozenset((a_id, b_id)) in different:
                return False
            if a.source == b.source and (a.name_core != b.name_core or a.named_by_venue or b.named_by_venue):
                return False
    days: dict[str, set[str]] = defaultdict(set)
    for member in (*left, *right):
        days[meta[member].source] |= meta[member].days
    stated = [found for found in days.values() if found]
    return all(one & other for i, one in enumerate(stated) for other in stated[i + 1 :])


def organisation_acronyms(organizations: Iterable[str | None]) -> list[str]:
    """Initials of every organisation seen ("Riverside Peer Support Network" → "rpsn"): directories prefix names
    with them."""
    return sorted({acronym for name in organizations if isinstance(name, str) and (acronym := initials(name))})
