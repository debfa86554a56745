"""Clerical review: the pairs the linkage model is least sure of, and a person's same/different decisions.

Decisions are stored in `review_decisions` and obeyed by every later linkage (pipeline/linkage.py): "same" joins two
listings' groups, "different" keeps them apart whatever the model says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb


class ReviewError(ValueError):
    """A decision that cannot be recorded (an unknown listing id, a listing paired with itself)."""


@dataclass
class ReviewPair:
    listing_id_l: str
    listing_id_r: str
    match_probability: float
    evidence: str
    left: dict[str, Any]
    right: dict[str, Any]


SHOWN = ("source", "name", "address", "conference_url", "phone", "schedule")


def uncertain_pairs(con: duckdb.DuckDBPyConnection, limit: int = 10) -> list[ReviewPair]:
    """The queued pairs nearest to even odds first: where a person's judgement changes the most."""
    rows = con.execute(
        """SELECT q.listing_id_l, q.listing_id_r, q.match_probability, q.evidence
           FROM review_queue q
           WHERE NOT EXISTS (SELECT 1 FROM review_decisions d
                             WHERE d.listing_id_l = q.listing_id_l AND d.listing_id_r = q.listing_id_r)
           ORDER BY abs(q.match_probability - 0.5), q.listing_id_l, q.listing_id_r
           LIMIT ?""",
        [limit],
    ).fetchall()
    details = _details(con, {listing for row in rows for listing in row[:2]})
    return [ReviewPair(left, right, probability, evidence or "", details[left], details[right])
            for left, right, probability, evidence in rows]  # fmt: skip


def _details(con: duckdb.DuckDBPyConnection, listing_ids: set[str]) -> dict[str, dict[str, Any]]:
    if not listing_ids:
        return {}
    rows = con.execute(
        """SELECT l.listing_id, l.source, l.name, l.address, l.conference_url, l.phone,
                  (SELECT string_agg(s.rrule || coalesce(' ' || left(CAST(s.opens_at AS VARCHAR), 5), ''), '; ')
                   FROM listing_schedules s WHERE s.listing_id = l.listing_id) AS schedule
           FROM listings l WHERE list_contains(?, l.listing_id)""",
        [sorted(listing_ids)],
    ).fetchall()
    return {row[0]: dict(zip(SHOWN, row[1:], strict=True)) for row in rows}


def record_decision(
    con: duckdb.DuckDBPyConnection,
    first: str,
    second: str,
    *,
    same: bool,
    by: str | None = None,
    note: str | None = None,
) -> None:
    """Store (or replace) a person's decision on a pair. The caller re-links for it to take effect."""
    if first == second:
        raise ReviewError("a listing cannot be reviewed against itself: give two different listing ids")
    known = {row[0] for row in con.execute(
        "SELECT listing_id FROM listings WHERE listing_id IN (?, ?)", [first, second]
    ).fetchall()}  # fmt: skip
    unknown = [listing for listing in (first, second) if listing not in known]
    if unknown:
        raise ReviewError(
            f"no listing with id {', '.join(unknown)} in this warehouse; `peergroups review` lists pairs with their ids"
        )
    left, right = sorted((first, second))
    con.execute(
        """INSERT OR REPLACE INTO review_decisions (listing_id_l, listing_id_r, same, decided_at, decided_by, note)
           VALUES (?, ?, ?, ?, ?, ?)""",
        [left, right, same, datetime.now(UTC), by, note],
    )
