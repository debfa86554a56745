"""Step 3 of docs/scaling.md: our Splink model on Splink's Spark backend (local pyspark), against the DuckDB one.

    python -m tests.scaling.spark_linkage                     # 3,000 generated listings (~2 min on 2 cores)
    python -m tests.scaling.spark_linkage --listings 20000

What it does, on a seeded set of generated listings (normalised columns, `pipeline.linkage.LINK_COLUMNS`) with
duplicates across five directories and hard negatives (venues hosting several groups, a chapter's one phone line,
generic names in many towns, shared Zoom rooms):

1. DuckDB, the reference: the real `pipeline.linkage.link_tables` (groups), and Splink's DuckDB predictions with
   `settings()` and `_term_frequencies` (every scored pair, with each comparison's match weight).
2. `build_link_input` prepares `link_input` in DuckDB exactly as production does; it is written to Parquet and read
   by Spark (local[2], Java 17). The Spark side uses the object `settings()` builds: the same comparisons, levels,
   m/u, prior and blocking rules, and the same term-frequency lookups (computed by `_term_frequencies` in DuckDB
   and registered on the Spark linker).
3. `settings()` unchanged on Spark: it fails, and the proof prints why. Then each custom level's condition is tried
   on Spark as written (DuckDB SQL), as Splink's sqlglot translation gives it (`CustomLevel(...,
   base_dialect_str="duckdb")`), and with the renames in `spark_functions`; and Spark's Jaro-Winkler functions are
   compared with DuckDB's on real name pairs.
4. Splink predicts on Spark with the renamed levels, twice: with Jaro-Winkler from rapidfuzz in a pandas UDF (the
   library DuckDB's own function comes from: the exact variant) and with the JVM UDF in Splink's jar (fast, not
   identical). Each run's pairs, probabilities and per-comparison weights are compared with DuckDB's, and its pairs
   are fed to the unchanged `pipeline.linkage.link()` in place of DuckDB's predictions (the rule edges, evidence
   and `cluster_links` stay in DuckDB): the groups must be link_tables' own, ids included.
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import random
import re
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pandas as pd

from tests.scaling.common import Timings, check, finish, require, say

# Jaro-Winkler on Spark: DUCKDB_JW is a pandas UDF over rapidfuzz (the implementation DuckDB's function derives from;
# it agrees with DuckDB on every non-empty pair); "jaro_winkler" is the JVM UDF Splink registers from its own jar.
# Spark 4.3 also has a built-in `jaro_winkler_similarity`, so that level runs as written, but not with DuckDB's values.
DUCKDB_JW = "duckdb_jaro_winkler"


def spark_functions(jaro: str = DUCKDB_JW) -> dict[str, str]:
    """The dialect change: DuckDB's list functions under Spark's names (`len` is only ever applied to lists in
    pipeline/linkage.py; Spark's `len` is for strings), and a Jaro-Winkler Spark has."""
    return {"len": "size", "list_intersect": "array_intersect", "jaro_winkler_similarity": jaro}


def to_spark_sql(sql: str, jaro: str = DUCKDB_JW) -> str:
    names = spark_functions(jaro)
    return re.sub(r"\b(len|list_intersect|jaro_winkler_similarity)\(", lambda m: names[m[1]] + "(", sql)


def register_duckdb_jaro_winkler(spark: Any) -> None:
    from pyspark.sql.functions import pandas_udf

    # pandas_udf reads the type hints, resolved in this module's globals (hence pandas imported at the top).
    @pandas_udf("double")  # type: ignore[call-overload]
    def duckdb_jaro_winkler(left: pd.Series, right: pd.Series) -> pd.Series:
        from rapidfuzz.distance import JaroWinkler

        def one(a: Any, b: Any) -> float | None:
            if pd.isna(a) or pd.isna(b):
                return None
            return JaroWinkler.similarity(a, b) if a and b else 0.0  # DuckDB: 0 when either is empty

        return pd.Series([one(a, b) for a, b in zip(left, right, strict=True)], dtype="float64")

    spark.udf.register(DUCKDB_JW, duckdb_jaro_winkler)


# --- a generated world --------------------------------------------------------------------------------------------

TOPICS = ["Depression", "Bipolar", "Anxiety", "Grief", "Family", "OCD", "Hearing Voices", "Postpartum", "Mood"]
KINDS = ["Support Group", "Peer Support", "Circle", "Connection Group", "Recovery Group"]
FLAVOURS = ["", "", "", "Evening", "Morning", "Sunrise", "Harbor", "Lighthouse", "Cedar", "Open Door", "Young Adult"]
STREETS = ["Main St", "Oak Ave", "Harbor Rd", "Church St", "Cedar Ln", "Mill Rd", "Park Blvd", "Elm St"]
TOWN_WORDS = [
    "Riverton", "Lakeport", "Fernhollow", "Quillmere", "Ashby", "Brookfield", "Cold Spring", "Dunmore",
    "Eastlake", "Fairhaven", "Glenwood", "Hillcrest", "Ironwood", "Juniper", "Kingsbridge", "Larkspur",
]  # fmt: skip
DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
SOURCES = ["peerlink_meetings", "chapter_finder", "county_211", "wellness_calendar", "helpline_handover"]


def generate(listings_wanted: int, seed: int) -> tuple[Any, Any, dict[str, str]]:
    """Listings (LINK_COLUMNS) and schedules (listing_id, byday, opens_at) as pandas frames, and the truth."""
    import pandas as pd

    rng = random.Random(seed)
    towns = []
    for number in range(max(8, listings_wanted // 120)):
        region = ["OR", "WA", "CA", "ID"][number % 4]
        name = TOWN_WORDS[number % len(TOWN_WORDS)] + ("" if number < len(TOWN_WORDS) else f" {number}")
        zip5 = f"9{number:04d}"
        towns.append((name, region, zip5, 44.0 + number * 0.05, -123.0 - (number % 9) * 0.07))
    venues = []
    for town in towns:
        for _ in range(4):
            street = f"{rng.randint(10, 990)} {rng.choice(STREETS)}"
            lat, lng = town[3] + rng.uniform(-0.02, 0.02), town[4] + rng.uniform(-0.02, 0.02)
            venues.append((town, street, f"{street.upper()}|{town[2]}", lat, lng, rng.choice(["Library", "Church"])))
    chapters = {region: (f"NAMI {TOWN_WORDS[i]}", f"+1541555{i:04d}") for i, region in enumerate("OR WA CA ID".split())}
    listing_rows: list[dict[str, Any]] = []
    schedule_rows: list[dict[str, Any]] = []
    truth: dict[str, str] = {}
    serial = 0
    group = 0
    while len(listing_rows) < listings_wanted:
        group += 1
        venue = rng.choice(venues)
        town = venue[0]
        online = rng.random() < 0.1
        room = f"https://zoom.example.org/j/{rng.randint(10**9, 10**10 - 1) if rng.random() < 0.8 else 5550100}"
        flavour = rng.choice(FLAVOURS)
        name = " ".join(part for part in (flavour, rng.choice(TOPICS), rng.choice(KINDS)) if part)
        chapter = chapters[town[1]] if rng.random() < 0.4 else None
        own_phone = f"+1541555{rng.randint(0, 9999):04d}"
        phone_choice = rng.random()
        phone = own_phone if phone_choice < 0.6 else (chapter[1] if chapter and phone_choice < 0.9 else None)
        day, hour = rng.choice(DAYS), rng.choice(["10:00", "12:00", "18:00", "18:30", "19:00"])
        for source in rng.sample(SOURCES, rng.choice([1, 1, 2, 2, 2, 3, 4])):
            serial += 1
            listing_id = f"{source}:{serial}"
            truth[listing_id] = f"T{group}"
            shown = name
            style = rng.random()
            if style < 0.15 and chapter:
                shown = f"{chapter[0].split()[0]} {name}"
            elif style < 0.3:
                shown = f"{name} - {town[0]}"
            elif style < 0.4:
                shown = name.replace("Support Group", "Supp. Grp").replace("Group", "Grp")
            elif style < 0.5:
                words = shown.split()
                target = rng.randrange(len(words))
                word = words[target]
                if len(word) > 4:
                    words[target] = word[:2] + word[3] + word[2] + word[4:]
                shown = " ".join(words)
            precise = not online and rng.random() < 0.7
            listing_rows.append(
                {
                    "listing_id": listing_id,
                    "source": source,
                    "name": shown,
                    "organization": chapter[0] if chapter and rng.random() < 0.7 else None,
                    "conference_url": f"{room}?pwd=x{rng.randint(0, 99)}" if online else None,
                    "address_key": None if online or rng.random() < 0.25 else venue[2],
                    "street": None if online else venue[1],
                    "postal_code": None if online or rng.random() < 0.1 else town[2],
                    "city": town[0],
                    "region": town[1],
                    "location_name": None if online else venue[5],
                    "latitude": venue[3] + rng.uniform(-0.0003, 0.0003) if precise else None,
                    "longitude": venue[4] + rng.uniform(-0.0003, 0.0003) if precise else None,
                    "coordinates_precision": "source" if precise else None,
                    "phone": phone if rng.random() < 0.85 else None,
                    "field_issues": [],
                }
            )
            when = rng.random()
            if when < 0.8:
                schedule_rows.append({"listing_id": listing_id, "byday": [day], "opens_at": hour})
            elif when < 0.9:
                schedule_rows.append({"listing_id": listing_id, "byday": [day], "opens_at": None})
    return pd.DataFrame(listing_rows), pd.DataFrame(schedule_rows), truth


# --- the two backends -----------------------------------------------------------------------------------------------


def prepare(listings: Any, schedules: Any) -> Any:
    """A scratch DuckDB with `link_input`, as `link_tables` builds it."""
    import duckdb

    from pipeline.linkage import build_link_input, organisation_acronyms

    con = duckdb.connect()
    con.register("listings_src", listings)
    con.register("schedules_src", schedules)
    organizations = [row[0] for row in con.execute("SELECT DISTINCT organization FROM listings_src").fetchall()]
    build_link_input(con, organisation_acronyms(organizations))
    con.execute("SET lambda_syntax='ENABLE_SINGLE_ARROW'")  # as link() sets it: Splink writes `x -> ...` lambdas
    return con


def predictions_frame(frame: Any) -> Any:
    """Pairs, probability and each comparison's match weight: the part of Splink's output both backends give."""
    weights = sorted(column for column in frame.columns if column.startswith("mw_"))
    frame = frame[["listing_id_l", "listing_id_r", "match_probability", *weights]]
    return frame.sort_values(["listing_id_l", "listing_id_r"]).reset_index(drop=True)


def duckdb_predict(con: Any) -> Any:
    from splink import DuckDBAPI, Linker

    from pipeline.linkage import REVIEW_LOW, _term_frequencies, settings

    db_api = DuckDBAPI(connection=con)
    linker = Linker(db_api.register("link_input"), settings())
    _term_frequencies(con, linker, db_api)
    predicted = linker.inference.predict(threshold_match_probability=REVIEW_LOW)
    return predictions_frame(con.execute(f"SELECT * FROM {predicted.physical_name}").df())


def link_with_predictions(con: Any, predictions: Any) -> dict[str, str]:
    """The unchanged `pipeline.linkage.link()` on `con`, with Splink's predict answering from `predictions` (Spark's)
    instead of scoring on DuckDB: everything after predict (rule edges, evidence, clustering, ids) is production's."""
    import splink

    from pipeline.linkage import link

    con.register("spark_predictions_src", predictions)
    con.execute("CREATE OR REPLACE TABLE spark_predictions AS SELECT * FROM spark_predictions_src")
    real = splink.Linker

    def linker(*args: Any, **kwargs: Any) -> Any:
        inner = real(*args, **kwargs)
        predict = lambda **_: SimpleNamespace(physical_name="spark_predictions")  # noqa: E731
        return SimpleNamespace(
            table_management=inner.table_management, training=inner.training, inference=SimpleNamespace(predict=predict)
        )

    with mock.patch.object(splink, "Linker", linker):
        result = link(con)
    return {m.listing_id: m.group_id for m in result.memberships}


def spark_session(work: Path) -> Any:
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    # Python UDF workers run this virtualenv's interpreter, not the system's (pyspark reads the variable only).
    os.environ["PYSPARK_PYTHON"] = sys.executable
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("peergroups-splink-proof")
        .config("spark.jars", similarity_jar_location())
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "4g")
        .config("spark.local.dir", str(work / "spark-local"))
        .config("spark.sql.warehouse.dir", str(work / "spark-warehouse"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={work / 'derby'}")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("OFF")  # the failures the dialect check provokes are reported, not logged
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL + 1)
    spark.sparkContext.setCheckpointDir(str(work / "spark-checkpoints"))
    return spark


def spark_settings(jaro: str) -> Any:
    """`settings()` with each custom level's SQL and each blocking rule renamed for Spark (the grid-cell rules ask
    for a shared name word with `list_intersect`); everything else is the object settings() built."""
    from splink import comparison_level_library as cll

    from pipeline.linkage import settings

    built = copy.deepcopy(settings())
    for comparison in built.comparisons:
        for level in comparison._comparison_levels:
            if isinstance(level, cll.CustomLevel):
                level.sql_condition = to_spark_sql(level.sql_condition, jaro)
    built.blocking_rules_to_generate_predictions = [
        to_spark_sql(rule, jaro) for rule in built.blocking_rules_to_generate_predictions
    ]
    return built


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    found = re.search(r"\[([A-Z_.]+)\]", text)
    return found[1] if found else text[:70]


def level_dialects(spark: Any, con: Any, columns: list[str]) -> tuple[list[tuple[str, ...]], dict[str, int]]:
    """For every custom level: does its condition run on Spark as written, as sqlglot translates it, renamed? And how
    often do Spark's Jaro-Winkler functions disagree with DuckDB's (at the level's 0.92), on name pairs in a ZIP?"""
    from splink import comparison_level_library as cll
    from splink.internals.dialects import SplinkDialect

    from pipeline.linkage import COMPARISONS, _splink_sql

    spark_dialect = SplinkDialect.from_string("spark")
    pairs = ", ".join(f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in columns)
    level_pairs = spark.sql(
        f"SELECT {pairs} FROM link_input l JOIN link_input r ON l.zip5 = r.zip5 AND l.listing_id < r.listing_id "
        "LIMIT 300000"
    ).cache()
    level_pairs.createOrReplaceTempView("level_pairs")

    def runs(condition: str) -> str:
        try:
            spark.sql(f"SELECT count(*) FROM level_pairs WHERE CASE WHEN {condition} THEN true END").collect()
            return "runs"
        except Exception as error:  # Spark's AnalysisException / ParseException: reported, not raised
            return first_line(error)

    rows = []
    for name, levels in COMPARISONS.items():
        for level in levels:
            if not level.sql:
                continue
            written = _splink_sql(level.sql)
            translated = cll.CustomLevel(written, base_dialect_str="duckdb").create_sql(spark_dialect)
            rows.append((f"{name}: {level.label}", runs(written), runs(translated), runs(to_spark_sql(written)),
                         translated if translated != written else ""))  # fmt: skip
    names = spark.sql(
        f"""SELECT DISTINCT name_core_l AS a, name_core_r AS b,
                   jaro_winkler_similarity(name_core_l, name_core_r) AS spark_builtin,
                   jaro_winkler(name_core_l, name_core_r) AS splink_jar,
                   {DUCKDB_JW}(name_core_l, name_core_r) AS rapidfuzz_udf
            FROM level_pairs WHERE name_core_l IS NOT NULL AND name_core_r IS NOT NULL"""
    ).toPandas()
    con.register("jw_pairs", names)
    counts = {"name pairs": con.execute("SELECT count(*) FROM jw_pairs").fetchall()[0][0]}
    for column in ("spark_builtin", "splink_jar", "rapidfuzz_udf"):
        differ, flips = con.execute(
            f"""SELECT count(*) FILTER (WHERE abs(jw - {column}) > 1e-12),
                       count(*) FILTER (WHERE (jw >= 0.92) <> ({column} >= 0.92))
                FROM (SELECT *, jaro_winkler_similarity(a, b) AS jw FROM jw_pairs)"""
        ).fetchall()[0]
        counts[column] = differ
        counts[f"{column} flips"] = flips
    con.unregister("jw_pairs")
    level_pairs.unpersist()
    return rows, counts


def compare(duck: Any, sparked: Any, label: str) -> dict[str, Any]:
    keys = ["listing_id_l", "listing_id_r"]
    duck_pairs, spark_pairs = set(map(tuple, duck[keys].values)), set(map(tuple, sparked[keys].values))
    both = duck.merge(sparked, on=keys, suffixes=("_duckdb", "_spark"))
    weights = [column for column in duck.columns if column.startswith("mw_")]
    return {
        "label": label,
        "only_duckdb": len(duck_pairs - spark_pairs),
        "only_spark": len(spark_pairs - duck_pairs),
        "delta": float((both["match_probability_duckdb"] - both["match_probability_spark"]).abs().max()),
        "pairs_differing": int(
            ((both["match_probability_duckdb"] - both["match_probability_spark"]).abs() > 1e-9).sum()
        ),
        "weights": {w: int(((both[f"{w}_duckdb"] - both[f"{w}_spark"]).abs() > 1e-9).sum()) for w in weights},
    }


def pairwise_f1(predicted: dict[str, str], truth: dict[str, str]) -> float:
    from tests.benchmarks.dedupe_benchmark import pairwise

    return pairwise(predicted, truth)["f1"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listings", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    require(
        {"pyspark": "pyspark", "splink": "splink", "rapidfuzz": "rapidfuzz"},
        {"java": "apt-get install -y openjdk-17-jre-headless"},
    )
    from pipeline.linkage import LINK_COLUMNS, REVIEW_LOW, _term_frequencies, link_tables, settings

    timings = Timings()
    work = Path(tempfile.mkdtemp(prefix="peergroups-scale-spark-"))
    with timings("generate listings"):
        listings, schedules, truth = generate(args.listings, args.seed)
    say(f"work folder {work}; {len(listings):,} generated listings of {len(set(truth.values())):,} true groups, "
        f"{len(schedules):,} schedules")  # fmt: skip
    ok = True

    # 1. DuckDB: the production function, and Splink's DuckDB predictions.
    with timings("DuckDB: link_tables (production, all stages)"):
        production = link_tables(listings[LINK_COLUMNS], schedules)
    production_groups = {m.listing_id: m.group_id for m in production.memberships}
    with timings("DuckDB: build_link_input"):
        con = prepare(listings[LINK_COLUMNS], schedules)
    with timings("DuckDB: Splink predict"):
        duck = duckdb_predict(con)
    parquet = work / "link_input.parquet"
    with timings("DuckDB: link_input → Parquet"):
        con.execute(f"COPY link_input TO '{parquet}' (FORMAT parquet)")
    columns = [row[0] for row in con.execute("DESCRIBE link_input").fetchall()]

    # 2. Spark.
    with timings("Spark: start local[2] session"):
        spark = spark_session(work)
    say(f"  Spark {spark.version} local[2]; link_input read from {parquet.name}")
    results: dict[str, Any] = {}
    try:
        from splink import Linker, SparkAPI

        spark.read.parquet(str(parquet)).createOrReplaceTempView("link_input")
        with timings("Spark: predict with settings() unchanged (fails)"):
            db_api = SparkAPI(spark_session=spark, break_lineage_method="parquet", num_partitions_on_repartition=4)
            try:
                unchanged = Linker(db_api.register(spark.table("link_input")), settings())
                _term_frequencies(con, unchanged, db_api)
                unchanged.inference.predict(threshold_match_probability=REVIEW_LOW).as_pandas_dataframe()
                say("  settings() unchanged: ran on Spark")
            except Exception as error:
                cause = error.__cause__ or error.__context__ or error
                say(f"  settings() unchanged fails on Spark at predict: {str(cause).strip().splitlines()[0][:170]}")
            for view in ("tf_lookup_name_core", "tf_lookup_phone"):
                spark.catalog.dropTempView(view)
        register_duckdb_jaro_winkler(spark)

        say("\n  custom levels on Spark: as written (DuckDB SQL) | sqlglot duckdb→spark | renamed (spark_functions)")
        with timings("Spark: dialect check of each level"):
            dialects, jw = level_dialects(spark, con, columns)
        for label, written, translated, renamed, sqlglot_sql in dialects:
            say(f"    {label:<36} {written:<34} {translated:<34} {renamed}")
            if sqlglot_sql and translated != "runs":
                say(f"      sqlglot gave: {sqlglot_sql}")
        ok &= check(all(row[3] == "runs" for row in dialects), "every level runs on Spark after the renames")
        needing = [row[0] for row in dialects if row[1] != "runs"]
        say(f"  levels that fail on Spark as written: {len(needing)} of {len(dialects)} ({', '.join(needing)})")
        say(f"  of those, sqlglot's duckdb→spark translation fixed: "
            f"{sum(r[1] != 'runs' and r[2] == 'runs' for r in dialects)}")  # fmt: skip
        say(f"  Jaro-Winkler against DuckDB's on {jw['name pairs']:,} distinct name pairs within a ZIP "
            "(values differing / on the other side of 0.92):")  # fmt: skip
        for column, what in (("spark_builtin", "Spark 4.3 built-in jaro_winkler_similarity"),
                             ("splink_jar", "Splink's jar jaro_winkler (JVM)"),
                             ("rapidfuzz_udf", f"{DUCKDB_JW} (rapidfuzz pandas UDF)")):  # fmt: skip
            say(f"    {what:<46} {jw[column]:>7,} / {jw[f'{column} flips']:,}")

        for variant, jaro in (("exact", DUCKDB_JW), ("jar", "jaro_winkler")):
            label = f"Spark: Splink predict ({variant}: {jaro})"
            with timings(label):
                db_api = SparkAPI(spark_session=spark, break_lineage_method="parquet", num_partitions_on_repartition=4)
                linker = Linker(db_api.register(spark.table("link_input")), spark_settings(jaro))
                _term_frequencies(con, linker, db_api)  # the same lookups, computed in DuckDB, registered on Spark
                predicted = linker.inference.predict(threshold_match_probability=REVIEW_LOW).as_pandas_dataframe()
            for view in ("tf_lookup_name_core", "tf_lookup_phone"):
                spark.catalog.dropTempView(view)
            results[variant] = compare(duck, predictions_frame(predicted), label)
            with timings(f"DuckDB: link() fed Spark's predictions ({variant})"):
                linking = prepare(listings[LINK_COLUMNS], schedules)
                cols = ["listing_id_l", "listing_id_r", "match_probability"]
                results[variant]["groups"] = link_with_predictions(linking, predicted[cols])
                linking.close()
    finally:
        spark.stop()
    con.close()

    # 3. Compare.
    groups = len(set(production_groups.values()))
    say(f"\n  DuckDB: {len(duck):,} pairs at p ≥ {REVIEW_LOW}; link_tables: {groups:,} groups, "
        f"pairwise F1 {pairwise_f1(production_groups, truth):.4f} against the generated truth")  # fmt: skip
    for variant, result in results.items():
        exact = variant == "exact"
        same_groups = result["groups"] == production_groups
        moved = sum(result["groups"].get(k) != v for k, v in production_groups.items())
        say(f"  Spark, {variant} Jaro-Winkler: pairs only DuckDB {result['only_duckdb']}, only Spark "
            f"{result['only_spark']}; probabilities differ on {result['pairs_differing']} pairs (largest "
            f"{result['delta']:.1e}); weights differ: {result['weights']}; "
            f"groups: {len(set(result['groups'].values())):,}, "
            f"{moved} listings in another group; F1 {pairwise_f1(result['groups'], truth):.4f}")  # fmt: skip
        if exact:
            ok &= check(result["only_duckdb"] == result["only_spark"] == 0, "exact variant: the same scored pairs")
            ok &= check(result["delta"] < 1e-9, f"exact variant: the same probabilities (largest difference "
                        f"{result['delta']:.1e})")  # fmt: skip
            ok &= check(not any(result["weights"].values()), "exact variant: the same weight for every comparison")
            ok &= check(same_groups, "exact variant: link() on Spark's pairs gives link_tables' groups, ids included")
    print()
    timings.show()
    duck_s = timings.seconds["DuckDB: Splink predict"]
    for variant, result in results.items():
        spark_s = timings.seconds[result["label"]]
        say(f"  Splink scoring: DuckDB {duck_s:.1f} s, Spark ({variant}) {spark_s:.1f} s: {spark_s / duck_s:.0f}× "
            "slower on local[2]")  # fmt: skip
    return finish(work, ok, args.keep, "step 3 (Splink on Spark gives DuckDB's pairs and groups)")


if __name__ == "__main__":
    raise SystemExit(main())
