"""Step 4 of docs/scaling.md: the warehouse snapshot as a partitioned Parquet dataset, read with partition pruning.

    python -m tests.scaling.parquet_snapshot                 # 150,000 groups (~45 s on 2 cores)
    python -m tests.scaling.parquet_snapshot --skip-spark --skip-s3

What it proves:

1. A warehouse (pipeline.warehouse.connect: the real schema and migrations) with more than `PARTITION_MIN` published
   groups in several countries and regions is exported by the real command, `peergroups export --format parquet`,
   into a Hive-partitioned dataset: groups/country=XX/region=YY/*.parquet (withdrawn groups left out).
2. Local files: DuckDB (`read_parquet(..., hive_partitioning=true)`), pyarrow.dataset and Spark answer "groups in
   US/OR" with the warehouse's count while opening only that partition's files (DuckDB's EXPLAIN ANALYZE, pyarrow's
   fragments, Spark's PartitionFilters and its "files read" metric).
3. Object storage: the dataset is uploaded to a local S3 endpoint (moto's server on 127.0.0.1) and read back with
   pruning by DuckDB (through fsspec's s3fs: DuckDB's httpfs extension cannot be installed offline, see below) and
   by pyarrow's own S3 client; the endpoint's request log shows only that partition's objects were fetched.
   DuckDB httpfs and Spark's s3a are tried too, and their offline failures are printed.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.scaling.common import ROOT, Timings, check, finish, free_port, http_ok, require, say, service, wait_for

BUCKET = "peergroups-snapshots"
PREFIX = "snapshots/2026-11-26"
KEY, SECRET = "local-proof", "local-proof-secret"  # moto accepts any credentials; nothing leaves 127.0.0.1
# Where the generated groups are: (country, region, share). Non-US regions as their directories give them.
PLACES = [
    ("US", "CA", 14), ("US", "TX", 10), ("US", "NY", 8), ("US", "FL", 8), ("US", "OR", 6), ("US", "WA", 6),
    ("US", "IL", 5), ("US", "PA", 5), ("US", "OH", 4), ("US", "MI", 4), ("US", "GA", 4), ("US", "NC", 4),
    ("CA", "ON", 5), ("CA", "BC", 4), ("CA", "QC", 3), ("GB", "ENG", 5), ("GB", "SCT", 2), ("AU", "NSW", 3),
]  # fmt: skip


def build_warehouse(path: Path, groups: int) -> dict[str, int]:
    """`groups` synthetic groups (1% withdrawn) with members and schedules, in a migrated warehouse."""
    from pipeline.warehouse import connect

    con = connect(path)
    weights = [share for _, _, share in PLACES]
    bounds, total = [], 0
    for weight in weights:
        total += weight
        bounds.append(total)
    cases = " ".join(
        f"WHEN i % {total} < {bound} THEN {{'c': '{c}', 'r': '{r}'}}"
        for (c, r, _), bound in zip(PLACES, bounds, strict=True)
    )
    con.execute(
        f"""INSERT INTO groups BY NAME
            SELECT 'g' || lpad(i::VARCHAR, 8, '0') AS group_id,
                   ['Depression', 'Bipolar', 'Anxiety', 'Grief', 'Family'][i % 5 + 1] || ' Support Group ' || i AS name,
                   'Peer Network ' || (i % 97) AS organization,
                   'Peer-led, free, drop-in.' AS description,
                   'Community Hall' AS location_name,
                   (i % 900 + 10) || ' Main St' AS address,
                   'Town ' || (i % 311) AS city,
                   place.r AS region,
                   lpad((i % 99999)::VARCHAR, 5, '0') AS postal_code,
                   place.c AS country,
                   30 + (i % 2000) / 100.0 AS latitude, -120 + (i % 3000) / 100.0 AS longitude,
                   '+1541555' || lpad((i % 10000)::VARCHAR, 4, '0') AS phone,
                   ['in_person', 'online', 'hybrid'][i % 3 + 1] AS format,
                   CASE WHEN i % 100 = 0 THEN 'withdrawn' ELSE 'active' END AS status,
                   [['depression', 'bipolar', 'anxiety', 'grief', 'family'][i % 5 + 1]] AS topics,
                   ['adults'] AS audiences, 'free' AS cost,
                   ['FREQ=WEEKLY;BYDAY=' || ['MO', 'TU', 'WE', 'TH', 'FR'][i % 5 + 1]] AS schedules,
                   ['source_' || (i % 7)] AS sources, ['https://source' || (i % 7) || '.example.org/'] AS source_urls,
                   1 + i % 3 AS listing_count, TIMESTAMPTZ '2026-11-20 12:00:00+00' AS last_seen_at,
                   'source' AS coordinates_precision, 'en' AS language
            FROM (SELECT i, CASE {cases} END AS place FROM range({groups}) t(i))"""
    )
    con.execute("INSERT INTO group_members SELECT group_id, 'l' || group_id, 1.0, 'single' FROM groups")
    con.execute(
        """INSERT INTO listing_schedules (listing_id, position, freq, "interval", byday, opens_at, timezone, rrule)
           SELECT 'l' || group_id, 0, 'WEEKLY', 1, [substr(schedules[1], 19)], TIME '19:00', 'America/Los_Angeles',
                  schedules[1] FROM groups"""
    )
    counts = dict(
        con.execute(
            """SELECT country || '/' || region, count(*) FROM groups WHERE status IS DISTINCT FROM 'withdrawn'
               GROUP BY ALL"""
        ).fetchall()
    )
    con.close()
    return counts


def duckdb_scan(con: Any, source: str, where: str) -> tuple[int, str, str]:
    """Count with `where` over a hive-partitioned dataset; the scan's "Scanning Files" and "Total Files Read"."""
    query = f"SELECT count(*) FROM read_parquet('{source}', hive_partitioning = true) WHERE {where}"
    count = con.execute(query).fetchall()[0][0]
    plan = con.execute(f"EXPLAIN ANALYZE {query}").fetchall()[0][1]
    scanning = re.search(r"Scanning Files:\s*([\d/]+)", plan)
    read = re.search(r"Total Files Read:\s*(\d+)", plan)
    return count, scanning[1] if scanning else "?", read[1] if read else "?"


def spark_part(dataset: Path, expected: int, s3_url: str | None, timings: Timings) -> bool:
    from pyspark.sql import SparkSession

    ok = True
    with timings("Spark: start local[2] session"):
        spark = (
            SparkSession.builder.master("local[2]")
            .appName("peergroups-parquet-proof")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.adaptive.enabled", "false")  # a plain plan, so the scan's metrics are at its leaf
            .config("spark.sql.warehouse.dir", str(dataset.parent / "spark-warehouse"))
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("OFF")
    try:
        with timings("Spark: count US/OR from local files"):
            frame = spark.read.parquet(str(dataset)).where("country = 'US' AND region = 'OR'").groupBy().count()
            count = frame.collect()[0][0]
        plan = frame._jdf.queryExecution().executedPlan()
        leaves = plan.collectLeaves()
        metrics = {}
        for position in range(leaves.size()):
            leaf_metrics = leaves.apply(position).metrics()
            for name in ("numFiles", "numPartitions"):
                if leaf_metrics.contains(name):
                    metrics[name] = leaf_metrics.apply(name).value()
        filters = re.search(r"PartitionFilters: \[([^\]]*)\]", plan.toString())
        all_files = spark.read.parquet(str(dataset)).inputFiles()
        say(f"  Spark {spark.version}: {count:,} groups in US/OR; PartitionFilters [{filters[1] if filters else ''}]; "
            f"files read {metrics.get('numFiles', '?')} of {len(all_files)}, partitions read "
            f"{metrics.get('numPartitions', '?')}")  # fmt: skip
        ok &= check(count == expected, "Spark: the warehouse's count")
        ok &= check(
            bool(filters) and "US" in filters[1] and "OR" in filters[1], "Spark: the filter is a partition filter"
        )
        ok &= check(metrics.get("numPartitions") == 1, "Spark: one partition read")
        if s3_url:
            try:
                spark.read.parquet(s3_url).count()
                say("  Spark s3a: read (unexpected offline)")
            except Exception as error:
                text = str(error)
                cause = re.search(r"([\w.]+(?:Exception|Error): [^\n]+)", text.split("\n", 1)[-1]) or re.search(
                    r"(.+)", text
                )
                say(f"  Spark s3a ({s3_url}): {cause[1][:170] if cause else type(error).__name__}")
                say("    (s3a needs hadoop-aws and the AWS SDK bundle jars, from Maven Central: not reachable here)")
    finally:
        spark.stop()
    return ok


def s3_part(dataset: Path, work: Path, expected: int, partition_files: int, timings: Timings) -> bool:
    files_first = sorted(str(p.relative_to(dataset)) for p in dataset.rglob("*.parquet"))[0]
    import boto3
    import duckdb
    import pyarrow.compute as pc
    import pyarrow.dataset as ds
    import s3fs
    from pyarrow import fs as pafs

    ok = True
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = work / "moto.log"
    moto = [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    env = os.environ | {"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": "us-east-1"}
    with service(moto, log, env):
        with timings("moto S3 server start"):
            wait_for(lambda: http_ok(f"{endpoint}/moto-api/"), "moto_server", timeout_s=60)
        client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                              region_name="us-east-1")  # fmt: skip
        client.create_bucket(Bucket=BUCKET)
        uploaded = 0
        with timings("upload the snapshot to s3://" + BUCKET):
            for path in sorted(dataset.parent.rglob("*")):
                if path.is_file() and "spark-warehouse" not in path.parts:
                    client.upload_file(str(path), BUCKET, f"{PREFIX}/{path.relative_to(dataset.parent)}")
                    uploaded += 1
        say(f"  moto S3 endpoint {endpoint}: {uploaded} objects under s3://{BUCKET}/{PREFIX}/")

        def fetched(since: int) -> set[str]:
            """Object keys of the dataset fetched (GET) since byte `since` of the endpoint's request log."""
            text = log.read_text(errors="replace")[since:]
            return {m[1] for m in re.finditer(rf'"GET /{BUCKET}/([^ ?"]+\.parquet)[^"]*" 20[06]', text)}

        # DuckDB's own S3 support (httpfs) is an extension downloaded on first use.
        con = duckdb.connect()
        try:
            con.execute("INSTALL httpfs")
            con.execute("LOAD httpfs")
            say("  DuckDB httpfs: installed (the extension repository was reachable)")
        except duckdb.Error as error:
            say(f"  DuckDB httpfs: {str(error).strip().splitlines()[0][:150]}")
        # The same query through fsspec: DuckDB reads s3:// paths with any registered fsspec filesystem.
        con.register_filesystem(s3fs.S3FileSystem(key=KEY, secret=SECRET, endpoint_url=endpoint))
        mark = len(log.read_text(errors="replace"))
        with timings("DuckDB (fsspec s3fs): count US/OR from S3"):
            count, scanning, read = duckdb_scan(
                con, f"s3://{BUCKET}/{PREFIX}/groups/**/*.parquet", "country = 'US' AND region = 'OR'"
            )
        keys = fetched(mark)
        say(f"  DuckDB over S3: {count:,} groups in US/OR; scanning files {scanning}, files read {read}; "
            f"objects fetched: {len(keys)} ({', '.join(sorted(k.split('/groups/')[1] for k in keys))})")  # fmt: skip
        ok &= check(count == expected, "DuckDB over S3: the warehouse's count")
        first = f"{PREFIX}/groups/{files_first}"
        partition = {key for key in keys if "/country=US/region=OR/" in key}
        ok &= check(len(partition) == partition_files and keys - partition <= {first},
                    "DuckDB over S3: only the US/OR partition's objects were read, besides the glob's first file "
                    "(its footer gives the schema)")  # fmt: skip
        con.close()

        s3 = pafs.S3FileSystem(access_key=KEY, secret_key=SECRET, endpoint_override=f"127.0.0.1:{port}",
                               scheme="http", region="us-east-1")  # fmt: skip
        mark = len(log.read_text(errors="replace"))
        with timings("pyarrow S3FileSystem: count US/OR from S3"):
            # The schema is known (the export's), so no file is opened to discover it.
            schema = ds.dataset(str(dataset), format="parquet", partitioning="hive").schema
            dataset_s3 = ds.dataset(f"{BUCKET}/{PREFIX}/groups", filesystem=s3, format="parquet",
                                    partitioning="hive", schema=schema)  # fmt: skip
            wanted = (pc.field("country") == "US") & (pc.field("region") == "OR")
            count = dataset_s3.count_rows(filter=wanted)
            fragments = len(list(dataset_s3.get_fragments(filter=wanted)))
        keys = fetched(mark)
        say(f"  pyarrow over S3: {count:,} groups in US/OR from {fragments} fragment(s) of "
            f"{len(dataset_s3.files)}; objects fetched: {len(keys)}")  # fmt: skip
        ok &= check(count == expected, "pyarrow over S3: the warehouse's count")
        ok &= check(len(keys) == partition_files and all("/country=US/region=OR/" in key for key in keys),
                    "pyarrow over S3 (schema given): only the US/OR partition's objects were fetched")  # fmt: skip
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--groups", type=int, default=150_000, help="groups in the warehouse (export partitions above "
                        "pipeline.export.PARTITION_MIN)")  # fmt: skip
    parser.add_argument("--skip-spark", action="store_true")
    parser.add_argument("--skip-s3", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    modules = {} if args.skip_s3 else {"moto": "moto[server]", "s3fs": "s3fs", "boto3": "boto3"}
    if not args.skip_spark:
        modules["pyspark"] = "pyspark"
    require(modules, None if args.skip_spark else {"java": "apt-get install -y openjdk-17-jre-headless"})
    import duckdb
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    from pipeline.export import PARTITION_MIN

    timings = Timings()
    work = Path(tempfile.mkdtemp(prefix="peergroups-scale-parquet-"))
    warehouse, out = work / "warehouse.duckdb", work / "export"
    with timings(f"build a warehouse of {args.groups:,} groups"):
        counts = build_warehouse(warehouse, args.groups)
    published = sum(counts.values())
    say(f"work folder {work}; {args.groups:,} groups, {published:,} published (PARTITION_MIN {PARTITION_MIN:,}), "
        f"{len(counts)} country/region pairs")  # fmt: skip
    ok = check(published >= PARTITION_MIN, "more published groups than PARTITION_MIN")

    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env |= {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    command = [str(Path(sys.executable).parent / "peergroups"), "export", "--format", "parquet", "--out", str(out),
               "--warehouse", str(warehouse)]  # fmt: skip
    with timings("peergroups export --format parquet"):
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    say(f"  $ peergroups export --format parquet --out {out} → exit {done.returncode}")
    ok &= check(done.returncode == 0, "the export command succeeded")
    if done.returncode:
        say(done.stdout[-1500:] + done.stderr[-1500:])
        return 1
    dataset = out / "groups"
    files = sorted(dataset.rglob("*.parquet"))
    partitions = sorted({str(path.parent.relative_to(dataset)) for path in files})
    say(f"  {dataset}: {len(partitions)} partitions, {len(files)} files, "
        f"{sum(p.stat().st_size for p in files) / 1e6:.1f} MB; e.g. {partitions[0]}/{files[0].name}")  # fmt: skip
    ok &= check(dataset.is_dir() and len(partitions) == len(counts), "one Hive partition per country/region")
    expected = counts["US/OR"]
    partition_files = len(list((dataset / "country=US" / "region=OR").glob("*.parquet")))

    con = duckdb.connect()
    in_file = [
        row[0]
        for row in con.execute(
            f"DESCRIBE SELECT * FROM read_parquet('{files[0]}', hive_partitioning = false)"
        ).fetchall()
    ]
    ok &= check("country" not in in_file and "region" not in in_file,
                "country and region live in the paths, not inside the files")  # fmt: skip
    total = con.execute(f"SELECT count(*) FROM read_parquet('{dataset}/**/*.parquet', hive_partitioning = true)")
    ok &= check(total.fetchall()[0][0] == published, f"all {published:,} published groups exported, none withdrawn")
    with timings("DuckDB: count US/OR from local files"):
        count, scanning, read = duckdb_scan(con, f"{dataset}/**/*.parquet", "country = 'US' AND region = 'OR'")
    say(f"  DuckDB local: {count:,} groups in US/OR; scanning files {scanning}, files read {read}")
    ok &= check(count == expected and read == str(partition_files), "DuckDB: the warehouse's count, one partition read")
    con.close()

    with timings("pyarrow.dataset: count US/OR from local files"):
        local = ds.dataset(str(dataset), format="parquet", partitioning="hive")
        wanted = (pc.field("country") == "US") & (pc.field("region") == "OR")
        count = local.count_rows(filter=wanted)
        fragments = len(list(local.get_fragments(filter=wanted)))
    say(f"  pyarrow local: {count:,} groups in US/OR from {fragments} fragment(s) of {len(local.files)}")
    ok &= check(count == expected and fragments == partition_files, "pyarrow: the warehouse's count, pruned")

    if not args.skip_spark:
        s3_url = None if args.skip_s3 else f"s3a://{BUCKET}/{PREFIX}/groups"
        ok &= spark_part(dataset, expected, s3_url, timings)
    if not args.skip_s3:
        ok &= s3_part(dataset, work, expected, partition_files, timings)
    print()
    timings.show()
    return finish(work, ok, args.keep, "step 4 (partitioned Parquet snapshot read with partition pruning)")


if __name__ == "__main__":
    raise SystemExit(main())
