"""Data contracts and vocabularies. Imports nothing else of peergroups."""

from schemas.listing import GroupListing, Schedule
from schemas.raw import RawListing, RawSchedule
from schemas.vocab import Audience, Cost, Format, Freq, Status, Topic

__all__ = [
    "Audience",
    "Cost",
    "Format",
    "Freq",
    "GroupListing",
    "RawListing",
    "RawSchedule",
    "Schedule",
    "Status",
    "Topic",
]
