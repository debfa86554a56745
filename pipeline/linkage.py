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


# The four offset grids' cells, over a listing's keys.
_CELL_SOURCES = {"cell_0": _cells(0, 0), "cell_1": _cells(0.5, 0), "cell_2": _cells(0, 0.5), "cell_3": _cells(0.5, 0.5)}


def build_link_input(con: duckdb.DuckDBPyConnection, acronyms: Sequence[str]) -> None:
    """`link_input` from the registered `listings_src` and `schedules_src`: one row per listing, keys normalised.

    In two steps: each listing's own keys (`link_keys`: name words, address, place, phone, meeting slots), then what
    depends on all listings (shared phones, values too common to block on). Runs in DuckDB so a million listings cost
    seconds, not minutes.
    """
    _build_link_keys(con, acronyms)
    _finish_link_input(con, "SELECT * FROM link_keys")


# What each blocking column is made of, over a listing's keys (see `_finish_link_input`): a listing shares a block
# with another exactly when these are equal and the block is not a common value.
_BLOCK_SOURCES = {
    "address_block": "address_key",
    "street_block": "street_key || '|' || town",
    "online_block": "online_key",
    "phone_block": "phone",
}


# The grid cells, worked out once in `link_counted` (each count and join over all listings would work them out again).
_RAW_CELLS = {cell: f"raw_{cell}" for cell in _CELL_SOURCES}
# The key columns counted over all listings: shared phones, common values, crowded cells, term frequencies.
_COUNTED_COLUMNS = ["listing_id", "name_core", "address_key", "online_key", "street_key", "town", "zip5", "phone",
                    "precise"]  # fmt: skip


def build_changed_link_input(con: duckdb.DuckDBPyConnection, acronyms: Sequence[str], stored_keys: str) -> set[str]:
    """For an incremental link: `link_scope`, the link_input rows an incremental link's candidate pairs can come
    from, built without building every listing's.

    On a connection holding `stored_keys` (a table: every listing's keys as the last link saw them) and
    `listings_src`/`schedules_src` holding the changed listings only. Their keys are built (`changed_link_keys`);
    `link_named` is every listing's keys now. The re-scored listings (`dirty`) are the changed ones whose keys
    changed (or that had none), those whose phone crossed a limit because of them, and those sharing a value they
    made common or no longer common (`_crossed_common`); `link_scope` holds them and
    every listing sharing a block with one. What depends on all listings (shared phones, common values, crowded
    cells) is counted over `link_counted` (a narrow copy of `link_named`), for the values of these rows only.
    Returns the re-scored listings.
    """
    _build_link_keys(con, acronyms, into="changed_link_keys")
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW link_named AS
            SELECT * FROM {stored_keys} ANTI JOIN changed_link_keys USING (listing_id)
            UNION ALL BY NAME SELECT * FROM changed_link_keys"""
    )
    # What is counted, of every listing, in one narrow copy: each count then scans it, not the stored keys' lists.
    cells = ", ".join(f"{source} AS {_RAW_CELLS[cell]}" for cell, source in _CELL_SOURCES.items())
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE link_counted AS SELECT {', '.join(_COUNTED_COLUMNS)}, {cells} FROM link_named"
    )
    # A listing edited where linkage does not look (a description, an e-mail address) keeps its keys, so every
    # score of its pairs stands: only listings whose keys changed (or are new) are scored again.
    columns = ", ".join(row[0] for row in con.execute("DESCRIBE changed_link_keys").fetchall())
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE changed_stored_keys AS
            SELECT * FROM {stored_keys} SEMI JOIN listings_src USING (listing_id)"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE link_dirty AS
            SELECT listing_id FROM (
                SELECT {columns} FROM changed_link_keys EXCEPT SELECT {columns} FROM changed_stored_keys)
            UNION SELECT listing_id FROM link_counted WHERE phone IN ({_crossed_phones(stored_keys)})
            {
            "".join(
                f" UNION SELECT listing_id FROM link_counted WHERE ({counted}) IN ({_crossed_common(value, counted)})"
                for value, counted in _COMMON_VALUES
            )
        }"""
    )
    counted = "SELECT * FROM link_counted"
    _finish_link_input(
        con, counted, rows="SELECT * FROM link_named SEMI JOIN link_dirty USING (listing_id)", into="link_dirty_input",
        counted_cells=_RAW_CELLS,
    )  # fmt: skip
    # The neighbourhood: a semi-join per blocking rule on narrow columns, not one wide scan with a test per rule.
    shares = ["SELECT listing_id FROM link_dirty"]
    for keys, _ in BLOCKING:
        sources = [_BLOCK_SOURCES.get(key) or _RAW_CELLS.get(key) or key for key in keys]
        values = ", ".join(f"{source} AS v{index}" for index, source in enumerate(sources))
        on = " AND ".join(f"d.{key} = n.v{index}" for index, key in enumerate(keys))
        shares.append(f"SELECT listing_id FROM (SELECT listing_id, {values} FROM link_counted) n "
                      f"SEMI JOIN link_dirty_input d ON {on}")  # fmt: skip
    con.execute(f"CREATE OR REPLACE TEMP TABLE link_scope_ids AS {' UNION '.join(shares)}")
    _neighbour_link_input(con, counted)
    return {row[0] for row in con.execute("SELECT listing_id FROM link_dirty").fetchall()}


# The temporary objects `build_changed_link_input` and its caller make on the warehouse's connection.
_CHANGED_LINK_TABLES = ("changed_link_keys", "changed_stored_keys", "link_counted", "link_dirty", "link_dirty_input",
                        "link_scope_ids", "link_scope", "listings_src", "schedules_src")  # fmt: skip


def drop_changed_link_input(con: duckdb.DuckDBPyConnection) -> None:
    """Drop what an incremental link made on the warehouse's connection (which may go on, as a review's does)."""
    con.execute("DROP VIEW IF EXISTS temp.link_named")
    for table in _CHANGED_LINK_TABLES:
        con.execute(f"DROP TABLE IF EXISTS temp.{table}")
    con.execute("DROP MACRO IF EXISTS temp.link_words_of")


def _neighbour_link_input(con: duckdb.DuckDBPyConnection, counted: str) -> None:
    """`link_scope`: the re-scored listings' rows (`link_dirty_input`) and their neighbours' (`link_scope_ids`).

    A neighbour's columns matter only in its pairs with a re-scored listing, so what is used only to block (street,
    phone and cell blocks) is kept where a re-scored listing has the same block and left out elsewhere, and the
    phone's count is a re-scored listing's with that phone (a pair's phones must be equal to count). What says
    where a listing is (address and join link blocks: rows of one group must be at one place) is counted honestly,
    for the neighbours' values only.
    """
    blocking_only = {block: _BLOCK_SOURCES[block] for block in ("street_block", "phone_block")} | _CELL_SOURCES
    kept = ", ".join(
        f"CASE WHEN {source} IN (SELECT {block} FROM link_dirty_input) THEN {source} END AS {block}"
        for block, source in blocking_only.items()
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE link_scope AS
        WITH named AS ({counted}),
             chosen AS MATERIALIZED (SELECT * FROM link_named SEMI JOIN link_scope_ids USING (listing_id)
                                     ANTI JOIN link_dirty USING (listing_id)),
             common_addresses AS (SELECT address_key FROM named
                                  WHERE address_key IN (SELECT address_key FROM chosen)
                                  GROUP BY address_key HAVING count(*) > {MAX_BLOCK}),
             common_links AS (SELECT online_key FROM named WHERE online_key IN (SELECT online_key FROM chosen)
                              GROUP BY online_key HAVING count(*) > {MAX_BLOCK}),
             dirty_phones AS (SELECT DISTINCT phone, phone_groups FROM link_dirty_input WHERE phone IS NOT NULL)
        SELECT *, true AS dirty FROM link_dirty_input
        UNION ALL BY NAME
        SELECT chosen.* EXCLUDE (precise), coalesce(dirty_phones.phone_groups, 0) AS phone_groups,
               CASE WHEN address_key NOT IN (SELECT address_key FROM common_addresses) THEN address_key END
                   AS address_block,
               CASE WHEN online_key NOT IN (SELECT online_key FROM common_links) THEN online_key END AS online_block,
               {kept}, false AS dirty
        FROM chosen LEFT JOIN dirty_phones USING (phone)
        """
    )


def _crossed_phones(stored_keys: str) -> str:
    """The phones whose levels the changed listings changed, as a query: "exact" needs the number at
    two places at most, a phone block twenty rows at most. Pairs of unchanged listings with such a phone score
    differently though nothing of theirs changed (term frequencies move too, but slowly: those are left to the next
    full link). Only the changed listings' phones, before and after, can have crossed."""
    return f"""
        WITH touched AS (SELECT phone FROM changed_stored_keys WHERE phone IS NOT NULL
                         UNION SELECT phone FROM changed_link_keys WHERE phone IS NOT NULL),
             before AS (SELECT phone, count(DISTINCT {_PHONE_PLACE}) AS places, count(*) AS n FROM {stored_keys}
                        WHERE phone IN (SELECT phone FROM touched) GROUP BY phone),
             after AS (SELECT phone, count(DISTINCT {_PHONE_PLACE}) AS places, count(*) AS n FROM link_counted
                       WHERE phone IN (SELECT phone FROM touched) GROUP BY phone)
        SELECT phone FROM touched LEFT JOIN before USING (phone) LEFT JOIN after USING (phone)
        WHERE (coalesce(after.places, 0) <= {SHARED_LINE_PLACES})
                  <> (coalesce(before.places, 0) <= {SHARED_LINE_PLACES})
           OR (coalesce(after.n, 0) <= {PHONE_BLOCK_ROWS}) <> (coalesce(before.n, 0) <= {PHONE_BLOCK_ROWS})"""


# The values that stop being blocks when more than MAX_BLOCK listings share them (see `_finish_link_input`): as
# worked out over keys, and as `link_counted` holds them.
_COMMON_VALUES = [
    *((_BLOCK_SOURCES[block],) * 2 for block in ("address_block", "online_block", "street_block")),
    *((source, _RAW_CELLS[cell]) for cell, source in _CELL_SOURCES.items()),
]


def _crossed_common(value: str, counted: str) -> str:
    """The values (`value` over keys, `counted` over `link_counted`) the changed listings made common
    or no longer common, as a query: the listings sharing one gain or lose candidate pairs, and rows of one group
    there are told apart differently, though nothing of theirs changed. Only the changed listings' values can have
    crossed: each is counted now, and before by taking the changed listings' new rows out and their old rows in."""
    return f"""
        WITH old AS (SELECT {value} AS value, 1 AS n FROM changed_stored_keys),
             new AS (SELECT {value} AS value, -1 AS n FROM changed_link_keys),
             delta AS (SELECT value, sum(n) AS n FROM (FROM old UNION ALL FROM new) WHERE value IS NOT NULL
                       GROUP BY value HAVING sum(n) <> 0),
             now AS (SELECT {counted} AS value, count(*) AS n FROM link_counted
                     WHERE {counted} IN (SELECT value FROM delta) GROUP BY ALL)
        SELECT value FROM delta LEFT JOIN now USING (value)
        WHERE (coalesce(now.n, 0) > {MAX_BLOCK}) <> (coalesce(now.n, 0) + delta.n > {MAX_BLOCK})"""


def _build_link_keys(con: duckdb.DuckDBPyConnection, acronyms: Sequence[str], into: str = "link_keys") -> None:
    """Each listing's keys, from `listings_src` and `schedules_src`, as the temporary table `into`. Only temporary
    objects are made: on the warehouse's connection, an incremental link must leave nothing behind."""
    drop = sorted(BOILERPLATE | KNOWN_ACRONYMS | set(acronyms))
    statements = [
        """
        CREATE OR REPLACE TEMP MACRO link_words_of(text) AS
            list_filter(string_split_regex(lower(strip_accents(replace(coalesce(text, ''), '&', ' and '))),
                                           '[^\\p{L}\\p{N}]+'), lambda w: w <> '')
        """,
        # One statement, its steps as named subqueries: on the few rows of an incremental link, a statement's own
        # cost (planning it, making its table) is most of the work.
        f"""
        CREATE OR REPLACE TEMP TABLE {into} AS
        WITH link_drop AS (SELECT DISTINCT unnest($drop) AS word),
        -- Names repeat ("Family Support Group" in a hundred towns): their words are worked out once per distinct
        -- name, with an anti-join rather than a list lookup per word, so thousands of acronyms stay cheap.
        link_names AS (
            WITH names AS (SELECT DISTINCT name FROM listings_src),
                 words AS (SELECT name, link_words_of(name) AS words FROM names),
                 exploded AS (SELECT name, unnest(words) AS word FROM words),
                 meaningful AS (SELECT name, list(word) AS meaningful FROM (SELECT * FROM exploded ANTI JOIN link_drop
                                USING (word)) GROUP BY name)
            SELECT w.name, w.words, coalesce(m.meaningful, []) AS meaningful
            FROM words w LEFT JOIN meaningful m USING (name)
        ),
        -- Directories add their town or venue to a group's name ("Bipolar Support - St. Mark"); those words say
        -- where, which the location comparison already weighs, not which group.
        link_tokens AS (
            WITH places AS (SELECT listing_id, name, list_concat(link_words_of(city), link_words_of(location_name))
                                   AS place_words FROM listings_src)
            SELECT p.listing_id,
                   list_sort(list_distinct(coalesce(
                       nullif(list_filter(n.meaningful, lambda x: NOT list_contains(p.place_words, x)), []),
                       nullif(n.meaningful, []), n.words))) AS name_tokens
            FROM places p JOIN link_names n ON n.name IS NOT DISTINCT FROM p.name
        ),
        link_slots AS (
            SELECT listing_id,
                   -- Weekdays without their ordinals: one directory's "first Sunday" is another's "Sundays".
                   list_distinct(flatten(list(list_transform(byday,
                       lambda d: concat(regexp_replace(d, '^[+-]?[0-9]+', ''), '@', coalesce(opens_at, ''))))))
                       AS slots,
                   list_distinct(flatten(list(list_transform(byday,
                       lambda d: regexp_replace(d, '^[+-]?[0-9]+', ''))))) AS days,
                   list_distinct(list(opens_at) FILTER (WHERE opens_at IS NOT NULL)) AS times
            FROM schedules_src GROUP BY listing_id
        ),
        link_base AS (
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
                   CASE WHEN l.city IS NOT NULL
                        THEN lower(strip_accents(l.city)) || '|' || lower(coalesce(l.region, '')) END AS town,
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
                           '[^\\p{{L}}\\p{{N}}]+', ' ', 'g')), ' '),
                           lambda x: x <> '' AND NOT list_contains($street_types, x)), ' ') || '|' ||
                       left(postal_code, 5) AS key
                FROM listings_src
                WHERE address_key IS NULL AND regexp_matches(street, '^\\s*\\d') AND postal_code IS NOT NULL
            ) street_fallback USING (listing_id)
        )
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


def _finish_link_input(
    con: duckdb.DuckDBPyConnection,
    keys: str,
    *,
    rows: str | None = None,
    into: str = "link_input",
    counted_cells: Mapping[str, str] | None = None,
) -> None:
    """`into` (link_input's rows, a temporary table) from the keys: what depends on every listing (shared phones,
    values too common to block on, crowded grid cells), counted over `keys` (a query: every listing's keys).
    `rows` (a query over keys): only these rows are made, and only their values counted.
    `counted_cells`: the grid cells of `keys`' rows, where they come worked out (by default, worked out here)."""
    chosen = rows or keys

    def among(column: str, source: str | None = None) -> str:  # only the values of the rows made: a narrow count
        return f" AND {column} IN (SELECT {source or column} FROM chosen)" if rows else ""

    # A shared grid cell is a block only when few listings share it (a ZIP-centroid pile-up is not a place).
    crowded_cells = ",\n".join(
        f"""crowded_{cell} AS (SELECT {cell} FROM cells WHERE {cell} IS NOT NULL{among(cell, source)}
                                GROUP BY {cell} HAVING count(*) > {MAX_BLOCK})"""
        for cell, source in _CELL_SOURCES.items()
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {into} AS
        WITH named AS ({keys}),
             chosen AS {"MATERIALIZED " if rows else ""}({chosen}),
             -- A number given at more than two places is a shared line (a chapter office, a national helpline).
             phones AS (SELECT phone, count(DISTINCT {_PHONE_PLACE})
                                      AS phone_groups, count(*) AS phone_rows
                        FROM named WHERE phone IS NOT NULL{among("phone")} GROUP BY phone),
             -- Values shared by too many listings to block on (few rows: a semi-join, not a window per row).
             common_addresses AS (SELECT address_key FROM named WHERE address_key IS NOT NULL{among("address_key")}
                                  GROUP BY address_key HAVING count(*) > {MAX_BLOCK}),
             common_links AS (SELECT online_key FROM named WHERE online_key IS NOT NULL{among("online_key")}
                              GROUP BY online_key HAVING count(*) > {MAX_BLOCK}),
             common_streets AS (SELECT street_key, town FROM named WHERE street_key IS NOT NULL{among("street_key")}
                                GROUP BY street_key, town HAVING count(*) > {MAX_BLOCK}),
             cells AS (SELECT {
            ", ".join(f"{source} AS {cell}" for cell, source in (counted_cells or _CELL_SOURCES).items())
        }
                       FROM named WHERE precise),
             {crowded_cells}
        SELECT chosen.* EXCLUDE (precise), coalesce(phones.phone_groups, 0) AS phone_groups,
               CASE WHEN street_key IS NOT NULL AND NOT EXISTS (SELECT 1 FROM common_streets c
                         WHERE c.street_key = chosen.street_key AND c.town IS NOT DISTINCT FROM chosen.town)
                    THEN street_key || '|' || town END AS street_block,
               CASE WHEN address_key NOT IN (SELECT address_key FROM common_addresses) THEN address_key END
                   AS address_block,
               CASE WHEN online_key NOT IN (SELECT online_key FROM common_links) THEN online_key END AS online_block,
               CASE WHEN phones.phone_rows <= {PHONE_BLOCK_ROWS} THEN phone END AS phone_block,
               {
            ", ".join(
                f"CASE WHEN {source} NOT IN (SELECT {cell} FROM crowded_{cell}) THEN {source} END AS {cell}"
                for cell, source in _CELL_SOURCES.items()
            )
        }
        FROM chosen LEFT JOIN phones USING (phone)
        """
    )


EDGE_COLUMNS = ["listing_id_l", "listing_id_r", "match_probability", "evidence"]


@dataclass
class LinkResult:
    memberships: list[Membership]
    review_pairs: pd.DataFrame  # listing_id_l, listing_id_r, match_probability, evidence: the uncertain band
    timings: dict[str, float] = field(default_factory=dict)
    # The scored pairs at p >= REVIEW_LOW (EDGE_COLUMNS): every pair of a full link; an incremental link's re-scored
    # pairs (those with a `rescored` listing). What a later incremental link starts from.
    edges: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=EDGE_COLUMNS))
    # The listings clustered again (None: all). An incremental link leaves the groups of all others as they were;
    # `memberships` and `review_pairs` then cover these listings only.
    scope: set[str] | None = None
    keys: Any = None  # the link keys built (all of a full link, the changed listings'), for later incremental links
    # An incremental link's re-scored listings: the changed ones whose link keys changed, and those whose phone's
    # levels or shared values (common or not) they changed.
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


def term_frequency_tables(
    con: duckdb.DuckDBPyConnection, table: str = "link_input", among: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """How common a name or phone is among DIFFERENT groups, for Splink's term-frequency adjustment: (name, phone)
    lookups over the listings in `table`; with `among` (a table of link rows), only for the names and phones these
    rows have, still counted over all.

    Splink's default counts rows, so a group listed by four directories would make its own name look common. A
    name's frequency here is the share of distinct places (address, join link, ZIP or town) it appears at; a phone's
    is the share of distinct names that give it.
    """
    names = f" AND name_core IN (SELECT name_core FROM {among})" if among else ""
    phones = f" AND phone IN (SELECT phone FROM {among})" if among else ""
    name_tf = con.execute(
        f"""SELECT name_core, count(DISTINCT coalesce(address_key, online_key, zip5, town, listing_id)) /
                   greatest((SELECT count(DISTINCT coalesce(address_key, online_key, zip5, town, listing_id))
                             FROM {table}), {TF_FLOOR})::DOUBLE AS tf_name_core
            FROM {table} WHERE name_core IS NOT NULL{names} GROUP BY name_core"""
    ).df()
    phone_tf = con.execute(
        f"""SELECT phone, count(DISTINCT coalesce(name_core, listing_id)) /
                   greatest((SELECT count(DISTINCT name_core) FROM {table}), {TF_FLOOR})::DOUBLE AS tf_phone
            FROM {table} WHERE phone IS NOT NULL{phones} GROUP BY phone"""
    ).df()
    return name_tf, phone_tf


def _term_frequencies(
    con: duckdb.DuckDBPyConnection, linker: Any, db_api: Any, tables: tuple[pd.DataFrame, pd.DataFrame] | None = None
) -> None:
    """Register the term-frequency lookups (`term_frequency_tables`, of `link_input` unless given) with Splink."""
    name_tf, phone_tf = tables if tables is not None else term_frequency_tables(con)
    for column, frame in (("name_core", name_tf), ("phone", phone_tf)):
        registered = db_api.register(frame, table_name=f"tf_lookup_{column}")
        linker.table_management.register_term_frequency_lookup(registered, column)


def score_pairs(
    con: duckdb.DuckDBPyConnection,
    table: str = "link_input",
    *,
    train: bool = False,
    frequencies: tuple[pd.DataFrame, pd.DataFrame] | None = None,
    timings: dict[str, float] | None = None,
) -> pd.DataFrame:
    """The scored pairs (EDGE_COLUMNS) at p >= REVIEW_LOW of the link rows in `table` on `con`, strongest first.

    `con` is a scratch connection of our own, never the warehouse's database (Splink creates work tables): a DuckDB
    of its own, or a cursor whose default database is an attached in-memory one. A table with
    a `dirty` column (`build_changed_link_input`'s `link_scope`): only pairs with a dirty listing are scored, with
    `frequencies` (`term_frequency_tables`) counted over all listings.
    """
    import time

    from splink import DuckDBAPI, Linker

    started = time.perf_counter()
    timings = timings if timings is not None else {}
    # Splink 5 writes `x -> ...` lambdas, which DuckDB 2 accepts only with this setting.
    con.execute("SET lambda_syntax='ENABLE_SINGLE_ARROW'")
    columns = {row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()}
    incremental = "dirty" in columns
    count = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    if count < 2:
        return pd.DataFrame(columns=EDGE_COLUMNS)
    db_api = DuckDBAPI(connection=con)
    # Splink's settings check reads every comparison's SQL (a tenth of a second): the settings are ours and constant,
    # and every full link still checks them.
    linker = Linker(
        db_api.register(table), settings(changed_only=incremental), log_level=None, validate_settings=not incremental
    )
    _term_frequencies(con, linker, db_api, frequencies)
    if train and count >= TRAIN_MIN:
        _train(linker)
    timings["train"] = time.perf_counter() - started
    predicted = linker.inference.predict(threshold_match_probability=REVIEW_LOW)
    changed_pairs = "AND (l.dirty OR r.dirty)" if incremental else ""
    # Rows of one directory with the same name at the same place are one group meeting on several days (a daily group
    # published as seven rows): linked by rule, first, whatever their other fields say.
    edges = con.execute(
        f"""WITH scored AS (
                SELECT e.listing_id_l, e.listing_id_r, e.match_probability, {evidence_sql()} AS evidence
                FROM {predicted.physical_name} e
                JOIN {table} l ON l.listing_id = e.listing_id_l
                JOIN {table} r ON r.listing_id = e.listing_id_r),
            rows_of_one_group AS (
                SELECT l.listing_id AS listing_id_l, r.listing_id AS listing_id_r, 1.0 AS match_probability,
                       'rows of one source: same name, same place' AS evidence
                FROM {table} l JOIN {table} r
                  ON l.source = r.source AND l.name_core = r.name_core AND l.listing_id < r.listing_id
                 AND coalesce(l.address_block, l.online_block) = coalesce(r.address_block, r.online_block)
                WHERE NOT l.named_by_venue AND NOT r.named_by_venue
                  -- and nothing says otherwise: the same start time (or none given), the same phone (or none)
                  AND (len(l.times) = 0 OR len(r.times) = 0 OR len(list_intersect(l.times, r.times)) > 0)
                  AND (l.phone IS NULL OR r.phone IS NULL OR l.phone = r.phone) {changed_pairs})
            SELECT * FROM rows_of_one_group
            UNION ALL
            SELECT * FROM scored WHERE (listing_id_l, listing_id_r) NOT IN
                (SELECT (listing_id_l, listing_id_r) FROM rows_of_one_group)
            ORDER BY match_probability DESC, listing_id_l, listing_id_r"""
    ).df()
    timings["predict"] = time.perf_counter() - started - timings["train"]
    return edges


def link(
    con: duckdb.DuckDBPyConnection,
    previous: Mapping[str, str] | None = None,
    decisions: Iterable[Decision] = (),
    seniority: Mapping[str, int] | None = None,
    *,
    train: bool = False,
) -> LinkResult:
    """Score, cluster and name groups for the listings in `link_input` (see `build_link_input`) on `con`, a scratch
    connection (see `score_pairs`).

    `previous` (listing_id → group_id) keeps ids stable; `seniority` (lower = known longer) breaks id ties.
    """
    import time

    timings: dict[str, float] = {}
    decisions = list(decisions)
    edges = score_pairs(con, train=train, timings=timings)
    mark = time.perf_counter()
    meta = cluster_meta(con, "link_input", edges, decisions)
    memberships, review = cluster_links(edges, meta, decisions, previous or {}, seniority or {}, con=con)
    timings["cluster"] = time.perf_counter() - mark
    return LinkResult(memberships, review, timings, edges)


TRAIN_MIN = 5000

# The listing columns the linkage reads.
LINK_COLUMNS = [
    "listing_id", "source", "name", "organization", "conference_url", "address_key", "street", "postal_code",
    "city", "region", "location_name", "latitude", "longitude", "coordinates_precision", "phone", "field_issues",
]  # fmt: skip


def link_tables(
    listings: Any,
    schedules: Any,
    previous: Mapping[str, str] | None = None,
    decisions: Iterable[Decision] = (),
    seniority: Mapping[str, int] | None = None,
    *,
    train: bool = False,
    acronyms: Sequence[str] | None = None,
) -> LinkResult:
    """Link listings given as tables (Arrow or pandas) with `LINK_COLUMNS`, and their schedules (listing_id, byday,
    opens_at "HH:MM"), on a scratch in-memory DuckDB, so Splink's work tables never touch the warehouse.
    `acronyms`: the organisation initials set aside from names, if the caller has them (else worked out from these
    listings). `LinkResult.keys` are the keys built here, for a later incremental link.
    """
    import time

    scratch = duckdb.connect()
    try:
        started = time.perf_counter()
        scratch.register("listings_src", listings)
        scratch.register("schedules_src", schedules)
        if acronyms is None:
            named = scratch.execute("SELECT DISTINCT organization FROM listings_src").fetchall()
            acronyms = organisation_acronyms(row[0] for row in named)
        build_link_input(scratch, acronyms)
        keys = scratch.sql("SELECT * FROM link_keys").to_arrow_table()
        prepared = time.perf_counter() - started
        # Clustering builds millions of small objects and no cycles: the cyclic collector would only rescan them.
        with collector_paused():
            result = link(scratch, previous, decisions, seniority, train=train)
        result.timings = {"prepare": prepared, **result.timings}
        result.keys = keys
        return result
    finally:
        scratch.close()


def score_changed(
    con: duckdb.DuckDBPyConnection,
    acronyms: Sequence[str],
    stored_keys: str,
    timings: dict[str, float] | None = None,
) -> tuple[pd.DataFrame, set[str], Any]:
    """An incremental link's scoring: the pairs (EDGE_COLUMNS, strongest first) with a re-scored listing (see
    `build_changed_link_input`: a changed one whose keys changed, or one whose phone's levels or shared values they
    changed), scored as a full link would score them; the re-scored listings; and the changed listings' keys
    (Arrow), to store.

    On the warehouse's connection (see `build_changed_link_input`: `listings_src`, `schedules_src`, `stored_keys`);
    only temporary objects are made there. Only the neighbourhood of the changed listings goes to a scratch
    connection, where Splink scores it: hundreds of rows, not every listing.
    """
    import time

    started = time.perf_counter()
    timings = timings if timings is not None else {}
    dirty = build_changed_link_input(con, acronyms, stored_keys)
    scope = con.sql("SELECT * FROM link_scope").to_arrow_table()
    frequencies = term_frequency_tables(con, "link_counted", among="link_scope")
    keys = con.sql("SELECT * FROM changed_link_keys").to_arrow_table()
    timings["prepare"] = time.perf_counter() - started
    # Splink's scratch: an in-memory database attached to the warehouse's instance, used from a cursor of its own
    # (a connection with its own transaction and temporary objects), so Splink's tables never touch the warehouse.
    # Opening a separate DuckDB instance would cost more than the scoring of a few hundred rows.
    scratch = con.cursor()
    try:
        scratch.execute(f"ATTACH ':memory:' AS {_SCRATCH}")
        scratch.execute(f"USE {_SCRATCH}")
        scratch.register("link_scope_src", scope)
        scratch.execute("CREATE TABLE link_scope AS SELECT * FROM link_scope_src")
        scratch.unregister("link_scope_src")
        edges = score_pairs(scratch, "link_scope", frequencies=frequencies, timings=timings)
    finally:
        scratch.close()
        con.execute(f"DETACH DATABASE IF EXISTS {_SCRATCH}")
    return edges, dirty, keys


_SCRATCH = "peergroups_link_scratch"


def _train(linker: Any) -> None:
    """u from random pairs (what unrelated listings share); m stays at its prior values."""
    linker.training.estimate_u_using_random_sampling(max_pairs=2_000_000, seed=7)


@dataclass
class _Meta:
    source: str
    name_core: str | None
    named_by_venue: bool
    days: frozenset[str]  # weekdays it meets, without ordinals


def cluster_meta(
    con: duckdb.DuckDBPyConnection,
    table: str,
    edges: pd.DataFrame,
    decisions: list[Decision],
    scope: Collection[str] | None = None,
) -> dict[str, _Meta]:
    """What clustering checks of each listing (`_Meta`), from `table` (link rows or keys): of the listings in `scope`,
    or of those the edges and decisions name."""
    if scope is not None:
        ids = set(scope)
    else:
        ids = set(edges["listing_id_l"]) | set(edges["listing_id_r"])
        ids |= {d.listing_id_l for d in decisions} | {d.listing_id_r for d in decisions}
    if not ids:
        return {}
    con.register("link_ids", pd.DataFrame({"listing_id": sorted(ids)}, dtype="string"))
    rows = con.execute(
        f"SELECT listing_id, source, name_core, named_by_venue, days FROM {table} SEMI JOIN link_ids USING (listing_id)"
    ).fetchall()
    con.unregister("link_ids")
    return {row[0]: _Meta(row[1], row[2], bool(row[3]), frozenset(row[4] or ())) for row in rows}


def cluster_links(
    edges: pd.DataFrame,
    meta: Mapping[str, _Meta],
    decisions: Sequence[Decision],
    previous: Mapping[str, str],
    seniority: Mapping[str, int],
    *,
    con: duckdb.DuckDBPyConnection | None = None,
    scope: set[str] | None = None,
    reserved: Collection[str] = (),
) -> tuple[list[Membership], pd.DataFrame]:
    """Strongest links first, each accepted only if its two clusters have nothing that contradicts it.

    Every listing of `link_input` on `con` is placed; or, with `scope` (a set closed under strong links, "same"
    decisions and previous groups: see `groups.affected_listings`), only these, and a weak link from one of them to
    a listing outside goes to review, as it would in a full run (the two cannot be in one cluster). `reserved`: the
    group ids held outside the scope, never handed out.
    """
    review_rows = []
    if scope is not None:
        reviewed = {frozenset((d.listing_id_l, d.listing_id_r)) for d in decisions}
        inside_l, inside_r = edges["listing_id_l"].isin(scope), edges["listing_id_r"].isin(scope)
        for left, right, probability, evidence in edges[inside_l != inside_r].itertuples(index=False):
            if frozenset((left, right)) not in reviewed:
                review_rows.append((left, right, probability, evidence))
        edges = edges[inside_l & inside_r]
        decisions = [d for d in decisions if d.listing_id_l in scope and d.listing_id_r in scope]
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
        singles = con.execute("SELECT listing_id FROM link_input ORDER BY listing_id").fetchall() if con else []
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
