"""The first, deterministic dedupe, and what the linkage still shares with it (the words that say nothing about a
group, organisation initials, `Membership`, stable group ids).

Production links with Splink (pipeline/linkage.py); these rules are kept as the baseline that
`tests/benchmarks/dedupe_benchmark.py --matcher both` measures beside it, so a change to either shows against the
other.

Two listings are the same group when they meet at the same place (coordinates within 150 m, the same street
number, street and ZIP, or the same join link), their names agree once boilerplate ("support group") and
organisation acronyms are set aside, and their schedules share a meeting slot (or one has no schedule). Rows of one
source with the same name at the same place are one group meeting on several days.

Hard negatives stay apart by construction: a shared venue or phone line is never enough, names must agree, and
different days at the same venue are different groups unless one source lists them under one name.
Precision matters more than recall: a wrong merge hides a group from someone who needs it.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pipeline.text import fold

# Words that say nothing about which group it is.
BOILERPLATE = frozenset(
    (
        "a an and the of for with in at on to group groups grp support supports peer peers meeting meetings "
        "circle program programme session sessions online virtual zoom weekly"
    ).split()
)
# National organisations whose acronym or name prefixes a chapter's group names.
KNOWN_ACRONYMS = frozenset({"nami", "dbsa", "mha", "afsp", "psi", "ea", "smart"})
# A bucket bigger than this is a common value (a chain's one address, a national hotline): it cannot block.
MAX_BLOCK_SIZE = 200
SAME_PLACE_KM = 0.15
CELL = 0.002  # degrees: ~220 m of latitude, more than SAME_PLACE_KM everywhere a group meets
NAME_THRESHOLD = 0.5


@dataclass
class DedupeRecord:
    listing_id: str
    source: str
    name: str
    organization: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    street: str | None = None
    address: str | None = None
    postal_code: str | None = None
    conference_url: str | None = None
    address_key: str | None = None  # standardised street and ZIP from normalisation, when the address parsed
    seniority: int = 0  # lower is older: who keeps a group id when members disagree
    slots: frozenset[tuple[str, str | None]] = frozenset()
    # The source gave no name and the listing carries its venue's: such rows of one source are not one group.
    named_by_venue: bool = False
    # Derived keys, filled by `prepare`.
    name_tokens: frozenset[str] = field(default_factory=frozenset)
    street_key: str | None = None
    online_key: str | None = None


@dataclass
class Membership:
    group_id: str
    listing_id: str
    score: float
    evidence: str


def initials(text: str | None) -> str | None:
    words = fold(text or "").split()
    return "".join(word[0] for word in words) if len(words) >= 2 else None


def name_tokens(name: str, acronyms: Iterable[str]) -> frozenset[str]:
    words = fold(name.replace("&", " and ")).split()
    drop = BOILERPLATE | KNOWN_ACRONYMS | set(acronyms)
    meaningful = frozenset(word for word in words if word not in drop)
    return meaningful or frozenset(words)


_STREET_NUMBER = re.compile(r"^\s*(\d+[a-z]?)\s+(.*)$", re.IGNORECASE)


STREET_TYPES = frozenset(
    "st street ave avenue rd road dr drive blvd boulevard ln lane ct court pl place way pkwy parkway hwy highway "
    "ter terrace cir circle sq square".split()
)


def street_key(street: str | None, address: str | None, postal_code: str | None) -> str | None:
    """'415 Alder Street' + 97301 → '415 alder 97301', for addresses the US parser did not standardise.

    Street types are ignored (St/Street), the rest of the street name is kept ("100 N Main" ≠ "100 N Oak"), and a
    ZIP is required: a number and street name alone repeat across towns.
    """
    line = street or (address.split(",")[0] if address else None)
    if not line:
        return None
    match = _STREET_NUMBER.match(line)
    if not match:
        return None
    words = [word for word in fold(match.group(2)).split() if word not in STREET_TYPES]
    zip5 = (postal_code or "")[:5] or _zip_in(address)
    if not words or not zip5:
        return None
    return f"{match.group(1).casefold()} {' '.join(words)} {zip5}"


def _zip_in(address: str | None) -> str | None:
    found = re.findall(r"\b(\d{5})(?:-\d{4})?\b", address or "")
    return found[-1] if found else None


def online_key(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.netloc.casefold()}{parts.path.rstrip('/')}" or None


def prepare(records: Sequence[DedupeRecord]) -> None:
    acronyms = {initials(record.organization) for record in records} - {None}
    for record in records:
        record.name_tokens = name_tokens(record.name, acronyms)  # type: ignore[arg-type]
        record.street_key = record.address_key or street_key(record.street, record.address, record.postal_code)
        record.online_key = online_key(record.conference_url)


def _distance_km(a: DedupeRecord, b: DedupeRecord) -> float | None:
    if None in (a.latitude, b.latitude, a.longitude, b.longitude):
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))  # type: ignore[arg-type]
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(h))


def compare(a: DedupeRecord, b: DedupeRecord) -> tuple[float, str] | None:
    """(score, evidence) when a and b are the same group, else None."""
    place = None
    if a.online_key and a.online_key == b.online_key:
        place = "join_link"
    elif a.street_key and a.street_key == b.street_key:
        place = "street"
    else:
        distance = _distance_km(a, b)
        if distance is not None and distance <= SAME_PLACE_KM:
            place = "coordinates"
    if place is None:
        return None

    if not a.name_tokens or not b.name_tokens:
        return None
    overlap = len(a.name_tokens & b.name_tokens)
    name_score = overlap / min(len(a.name_tokens), len(b.name_tokens))
    if a.source == b.source:
        # One source's rows: the same name at the same place is one group meeting on several days.
        if a.name_tokens != b.name_tokens or a.named_by_venue or b.named_by_venue:
            return None
        return 1.0, f"same_source_rows;name=1.00;place={place}"
    if name_score < NAME_THRESHOLD:
        return None

    if a.slots and b.slots:
        if not a.slots & b.slots:
            return None
        schedule = "overlap"
    else:
        schedule = "unknown"
    score = round(0.5 * name_score + 0.3 + (0.2 if schedule == "overlap" else 0.1), 3)
    return score, f"name={name_score:.2f};place={place};schedule={schedule}"


def candidate_pairs(records: Sequence[DedupeRecord]) -> set[tuple[int, int]]:
    """Pairs sharing a street key, a join link or a ~200 m coordinate cell; oversized blocks are skipped.

    Cells are CELL degrees on a side and each is compared with its neighbours, so any two points closer than
    SAME_PLACE_KM (less than one cell) meet.
    """
    blocks: dict[tuple[str, Any], list[int]] = defaultdict(list)
    for index, record in enumerate(records):
        if record.street_key:
            blocks[("street", record.street_key)].append(index)
        if record.online_key:
            blocks[("online", record.online_key)].append(index)
        if record.latitude is not None and record.longitude is not None:
            cell = (math.floor(record.latitude / CELL), math.floor(record.longitude / CELL))
            blocks[("cell", cell)].append(index)
    pairs: set[tuple[int, int]] = set()
    for key, members in blocks.items():
        if len(members) > MAX_BLOCK_SIZE:
            continue
        if key[0] == "cell":
            # Neighbouring cells too, so two points either side of a cell edge still meet.
            lat, lng = key[1]
            neighbours = [
                other
                for dlat in (-1, 0, 1)
                for dlng in (-1, 0, 1)
                for other in blocks.get(("cell", (lat + dlat, lng + dlng)), [])
            ]
            if len(neighbours) > MAX_BLOCK_SIZE:
                continue
            candidates = sorted(set(neighbours))
        else:
            candidates = members
        for i in members:
            for j in candidates:
                if i != j:
                    pairs.add((min(i, j), max(i, j)))
    return pairs


def cluster(records: Sequence[DedupeRecord], previous_groups: Mapping[str, str] | None = None) -> list[Membership]:
    """Group listings; each listing gets a group id, its best match score and the evidence for it.

    `previous_groups` (listing_id → group_id from the last run) keeps ids stable: a cluster takes the id most of
    its members had, so adding or editing a listing does not rename its group.
    """
    prepare(records)
    parent = list(range(len(records)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    members: dict[int, list[int]] = {index: [index] for index in range(len(records))}
    best: dict[int, tuple[float, str]] = {}
    scored = [(pair, compare(records[pair[0]], records[pair[1]])) for pair in sorted(candidate_pairs(records))]
    # Strongest links first, so a weak link cannot join two groups before their own members have found each other.
    for (i, j), result in sorted(
        ((pair, result) for pair, result in scored if result is not None), key=lambda item: -item[1][0]
    ):
        root_i, root_j = find(i), find(j)
        if root_i != root_j:
            if not _compatible(records, members[root_i], members[root_j]):
                continue  # the link would chain two different groups together
            keep, gone = min(root_i, root_j), max(root_i, root_j)
            parent[gone] = keep
            members[keep].extend(members.pop(gone))
        for index in (i, j):
            if index not in best or result[0] > best[index][0]:
                best[index] = result

    clusters: dict[int, list[int]] = defaultdict(list)
    for index in range(len(records)):
        clusters[find(index)].append(index)

    ids = _assign_group_ids(records, list(clusters.values()), previous_groups or {})
    memberships = []
    for members, group_id in zip(clusters.values(), ids, strict=True):
        for index in members:
            score, evidence = best.get(index, (1.0, "single"))
            memberships.append(Membership(group_id, records[index].listing_id, score, evidence))
    return memberships


def _compatible(records: Sequence[DedupeRecord], left: list[int], right: list[int]) -> bool:
    """Two clusters may merge only if no pair across them contradicts: listings of different sources that both
    have schedules must share a slot; two listings of one source must be rows of one group (same name)."""
    for i in left:
        for j in right:
            a, b = records[i], records[j]
            if a.source == b.source:
                if a.name_tokens != b.name_tokens or a.named_by_venue or b.named_by_venue:
                    return False
            elif a.slots and b.slots and not a.slots & b.slots:
                return False
    return True


def _assign_group_ids(
    records: Sequence[DedupeRecord], clusters: list[list[int]], previous: Mapping[str, str]
) -> list[str]:
    seniority = {record.listing_id: record.seniority for record in records}
    return assign_group_ids([[records[i].listing_id for i in members] for members in clusters], previous, seniority)


def assign_group_ids(
    clusters: Sequence[Sequence[str]],
    previous: Mapping[str, str],
    seniority: Mapping[str, int],
    reserved: Collection[str] = (),
) -> list[str]:
    """Reuse the id most members held before; a split keeps it for the larger part; new clusters get a hash.

    On a tie the id held by the longest-known listing (lowest seniority) wins, so editing a listing never renames
    its group. `reserved`: ids held by groups not among these clusters (an incremental link), never handed out.
    """
    votes = []
    for position, members in enumerate(clusters):
        counts: dict[str, int] = defaultdict(int)
        eldest: dict[str, int] = {}
        for listing in members:
            old = previous.get(listing)
            if old:
                counts[old] += 1
                rank = seniority.get(listing, len(seniority))  # unknown: the newest
                eldest[old] = min(eldest.get(old, rank), rank)
        for old, count in counts.items():
            votes.append((-count, eldest[old], old, position))
    chosen: dict[int, str] = {}
    taken: set[str] = set(reserved)
    for _, _, old, position in sorted(votes):
        if position not in chosen and old not in taken:
            chosen[position] = old
            taken.add(old)
    ids = []
    for position, members in enumerate(clusters):
        if position in chosen:
            ids.append(chosen[position])
            continue
        group_id = "G" + hashlib.sha256(min(members).encode()).hexdigest()[:16]
        while group_id in taken:
            group_id = "G" + hashlib.sha256(group_id.encode()).hexdigest()[:16]
        taken.add(group_id)
        ids.append(group_id)
    return ids
