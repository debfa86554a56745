"""Export the deduplicated groups as an Open Referral HSDS 3.0 tabular data package, plus the API's JSON form.

Directories that already publish HSDS (211s, community-resource platforms) can load our groups without a custom
mapping. The package is `datapackage.json` (a Frictionless tabular data package: each CSV, its fields, types,
required columns, enums and foreign keys) with one CSV per HSDS table, `services.ndjson` (one fully nested HSDS
service a line, as `GET /services/{id}` of the HSDS API returns it) and `LICENSE-ATTRIBUTION.md` (the directories
the data came from). File names are the spec's own (`services.csv`, `organizations.csv`, ...): HSDS readers look
tables up by them.

The mapping, and why:

- **One service per group** (groups whose status is `withdrawn` are left out). Ids are UUIDs, as HSDS wants, made
  with uuid5 over a fixed namespace from our stable keys (the group id, the organisation's name, the meeting
  place), so a service keeps its id from one export to the next and a consumer can update rather than duplicate.
- **Organisations** from `groups.organization`, one per name (case and spacing ignored). HSDS needs one for every
  service; groups whose directories do not say who runs them share one "Unknown organisation" row that says so.
- **Locations**: a `physical` location for in-person and hybrid groups with a street, coordinates or at least a
  town (one per building: groups meeting at the same standardised street address share it; the room goes on the
  service-at-location), a `virtual` location for online and hybrid groups (its `url` is the join link; groups
  sharing one room share it). HSDS requires a full address (street, city, state, postal code, country); where we
  lack one the address as listed is kept in the location's description instead of inventing parts. A group with
  no place at all (a phone line) has a service with no location, which HSDS allows.
- **Schedules** are RFC 5545 rules as HSDS keeps them (`freq`, `interval`, `byday`, `opens_at`, `closes_at`,
  `valid_from`, `valid_to`, `dtstart` when an interval needs an anchor and we know one). HSDS's `timezone` is a
  numeric UTC offset, which is wrong for half of the year wherever clocks change: it holds the offset in force when
  the export was made, while the IANA zone (the truth) is written in the schedule's `description` and `notes`.
  Opening times are local wall-clock times. HSDS 3.0 has no DAILY: a daily rule becomes WEEKLY on every day; one
  every n days cannot be written and keeps its words only.
- **Topics and audiences** are terms of a `peergroups` taxonomy (`schemas/vocab.py`), linked by attributes.
- **Provenance**: every service's attributes name each directory listing it (value: its page there) and when the
  group was last confirmed (`last_confirmed`, and `assured_date`); `url` is the group's own website, else its
  first directory page. `LICENSE-ATTRIBUTION.md` and the package's `sources` list every directory.
- **Privacy**: no e-mail address is published (neither the group's `email` nor one written in a description)
  unless `include_contacts`; join links and text pass through the password scrubbers again (they were already
  clean); every text is plain text (HTML stripped, entities decoded).

Rows are read from DuckDB in batches (`fetchmany`) and written as they come, table by table, so memory does not
grow with the number of groups: shared rows (organisations, locations) are grouped by DuckDB, not remembered here.
"""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from pipeline.contacts import strip_join_secrets
from pipeline.export import ExportError
from pipeline.export_shared import describe_slot
from pipeline.privacy import public_text
from pipeline.text import plain_text
from schemas.vocab import WEEKDAY_CODES, Audience, Status, Topic

# Fixed forever: changing it changes every id of every export.
ID_NAMESPACE = uuid.UUID("65851d05-b07a-40d6-8182-6d1429a6f016")
BATCH_ROWS = 500
HSDS_VERSION = "3.0"
TAXONOMY_NAME = "peergroups"


def hsds_id(kind: str, key: str) -> str:
    """A stable UUID for one HSDS object: the same kind and key give the same id in every export."""
    return str(uuid.uuid5(ID_NAMESPACE, f"{kind}|{key}"))


# --- the HSDS tables written ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """One HSDS table: its file and its columns, in the spec's order (HSDS 3.0 `schema/<name>.json`).

    `fields` is compact: `name[:type][!]`, where type is a string format (uuid, uri, email) or a Frictionless type
    (number, date, time, datetime; plain string when absent) and `!` marks a column the spec requires (its
    `required` plus `tabular_required`). `tests/test_export_hsds.py` checks these against the official schema.
    """

    name: str
    path: str
    fields: str
    description: str
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    foreign_keys: dict[str, str] = field(default_factory=dict)  # column -> the table its id refers to
    unique: tuple[str, ...] = ("id",)

    @property
    def columns(self) -> list[str]:
        return [token.split(":")[0].rstrip("!") for token in self.fields.split()]

    def schema(self) -> dict[str, Any]:
        """The Frictionless table schema of this table."""
        descriptors = []
        for token in self.fields.split():
            required = token.endswith("!")
            name, _, kind = token.rstrip("!").partition(":")
            descriptor: dict[str, Any] = {"name": name, "type": "string"}
            if kind in ("uuid", "uri", "email"):
                descriptor["format"] = kind
            elif kind:
                descriptor["type"] = kind
            constraints: dict[str, Any] = {}
            if required:
                constraints["required"] = True
            if name in self.unique:
                constraints["unique"] = True
            if name in self.enums:
                constraints["enum"] = list(self.enums[name])
            if constraints:
                descriptor["constraints"] = constraints
            descriptors.append(descriptor)
        return {
            "fields": descriptors,
            "primaryKey": "id",
            "foreignKeys": [
                # Frictionless names a table's reference to itself with the resource "".
                {"fields": column, "reference": {"resource": "" if target == self.name else target, "fields": "id"}}
                for column, target in self.foreign_keys.items()
            ],
        }


HSDS_SERVICE_STATUS = ("active", "inactive", "defunct", "temporarily closed")
TABLES: tuple[Table, ...] = (
    Table(
        "organization",
        "organizations.csv",
        "id:uuid! name! alternate_name description! email:email website:uri tax_status tax_id "
        "year_incorporated:number legal_status logo uri:uri parent_organization_id:uuid",
        "Who runs the groups, as the directories name them; one placeholder row for groups no directory names.",
    ),
    Table(
        "service",
        "services.csv",
        "id:uuid! organization_id:uuid! program_id:uuid name! alternate_name description url:uri email:email "
        "status! interpretation_services application_process fees_description wait_time fees accreditations "
        "eligibility_description minimum_age:number maximum_age:number assured_date:date assurer_email:email "
        "licenses alert last_modified:datetime",
        "One service per peer-support group (deduplicated across directories).",
        enums={"status": HSDS_SERVICE_STATUS},
        foreign_keys={"organization_id": "organization"},
    ),
    Table(
        "attribute",
        "attributes.csv",
        "id:uuid! link_id:uuid! taxonomy_term_id:uuid! link_type link_entity! value",
        "Topics, audiences and provenance (directories listing the group, last confirmed) of each service.",
        foreign_keys={"taxonomy_term_id": "taxonomy_term"},
    ),
    Table(
        "service_at_location",
        "service_at_location.csv",
        "id:uuid! service_id:uuid! location_id:uuid! description",
        "Where each group meets: its physical and/or virtual location.",
        foreign_keys={"service_id": "service", "location_id": "location"},
    ),
    Table(
        "location",
        "locations.csv",
        "id:uuid! location_type! url:uri organization_id:uuid name alternate_name description transportation "
        "latitude:number longitude:number external_identifier external_identifier_type",
        "Meeting places: buildings (physical) and online rooms (virtual, url = the join link without password).",
        enums={"location_type": ("physical", "postal", "virtual")},
        foreign_keys={"organization_id": "organization"},
    ),
    Table(
        "phone",
        "phones.csv",
        "id:uuid! location_id:uuid service_id:uuid organization_id:uuid contact_id:uuid "
        "service_at_location_id:uuid number! extension:number type description",
        "The group's phone (service_id) and dial-ins of online meetings (service_at_location_id).",
        foreign_keys={"service_id": "service", "service_at_location_id": "service_at_location"},
    ),
    Table(
        "address",
        "addresses.csv",
        "id:uuid! location_id:uuid attention address_1! address_2 city! region state_province! postal_code! "
        "country! address_type!",
        "Street addresses of physical locations (US streets in USPS standard form).",
        enums={"address_type": ("physical", "postal", "virtual")},
        foreign_keys={"location_id": "location"},
    ),
    Table(
        "schedule",
        "schedules.csv",
        "id:uuid! service_id:uuid location_id:uuid service_at_location_id:uuid valid_from:date valid_to:date "
        "dtstart:date timezone:number until:date count:number wkst freq interval:number byday byweekno bymonthday "
        "byyearday description opens_at:time closes_at:time schedule_link:uri attending_type notes",
        "When each group meets (RFC 5545). timezone is the UTC offset in force at export time; the IANA zone is "
        "in description and notes, and opens_at/closes_at are local times in it.",
        enums={"wkst": WEEKDAY_CODES[1:] + WEEKDAY_CODES[:1], "freq": ("WEEKLY", "MONTHLY")},
        foreign_keys={"service_id": "service"},
    ),
    Table(
        "language",
        "languages.csv",
        "id:uuid! service_id:uuid location_id:uuid phone_id:uuid name code note",
        "The language each group meets in (ISO 639-1 code).",
        foreign_keys={"service_id": "service"},
    ),
    Table(
        "taxonomy_term",
        "taxonomy_terms.csv",
        "id:uuid! code name! description! parent_id:uuid taxonomy language taxonomy_id:uuid term_uri:uri",
        "Terms of the peergroups taxonomy: topics, audiences, directories, last confirmed.",
        foreign_keys={"parent_id": "taxonomy_term", "taxonomy_id": "taxonomy"},
        unique=("id", "code"),
    ),
    Table(
        "taxonomy",
        "taxonomies.csv",
        "id:uuid! name! description! uri:uri version",
        "The peergroups taxonomy.",
    ),
)
TABLES_BY_NAME = {table.name: table for table in TABLES}

HSDS_STATUS: dict[str, str] = {
    Status.ACTIVE: "active",
    Status.TEMPORARILY_CLOSED: "temporarily closed",
    Status.INACTIVE: "inactive",
}
# Never exported: a group withdrawn from publication.
EXCLUDED_STATUS = "withdrawn"

# --- the peergroups taxonomy -------------------------------------------------------------------------------------

TOPIC_TERMS: dict[str, tuple[str, str]] = {
    Topic.DEPRESSION: ("Depression", "Groups for people living with depression."),
    Topic.ANXIETY: ("Anxiety", "Groups for people living with anxiety or panic."),
    Topic.BIPOLAR: ("Bipolar disorder", "Groups for people living with bipolar disorder."),
    Topic.PSYCHOSIS: ("Psychosis", "Groups for people who experience psychosis or hear voices."),
    Topic.OCD: ("OCD", "Groups for people living with obsessive-compulsive disorder."),
    Topic.PTSD: ("PTSD and trauma", "Groups for people living with post-traumatic stress or trauma."),
    Topic.EATING_DISORDERS: ("Eating disorders", "Groups for people living with an eating disorder."),
    Topic.GRIEF: ("Grief and loss", "Groups for people grieving a death or loss."),
    Topic.SUICIDE_LOSS: ("Suicide loss", "Groups for people bereaved by suicide."),
    Topic.POSTPARTUM: ("Postpartum and perinatal", "Groups for parents with postpartum or perinatal mood issues."),
    Topic.FAMILY: ("Family and friends", "Groups for the family and friends of someone living with mental illness."),
    Topic.SUBSTANCE_USE: ("Substance use", "Groups about substance use alongside mental health (dual recovery)."),
    Topic.HOARDING: ("Hoarding", "Groups for people living with hoarding disorder."),
    Topic.BPD: ("Borderline personality disorder", "Groups for people living with borderline personality disorder."),
    Topic.GENERAL_MENTAL_HEALTH: ("Mental health (general)", "Groups open to anyone living with a mental illness."),
}
AUDIENCE_TERMS: dict[str, tuple[str, str]] = {
    Audience.FAMILY: ("Family members", "Meant for family members and friends."),
    Audience.LGBTQIA: ("LGBTQIA+", "Meant for LGBTQIA+ people."),
    Audience.WOMEN: ("Women", "Meant for women."),
    Audience.MEN: ("Men", "Meant for men."),
    Audience.YOUNG_ADULTS: ("Young adults", "Meant for young adults."),
    Audience.TEENS: ("Teens", "Meant for teenagers."),
    Audience.SENIORS: ("Seniors", "Meant for older adults."),
    Audience.VETERANS: ("Veterans", "Meant for military veterans."),
    Audience.BIPOC: ("BIPOC", "Meant for Black, Indigenous and people of colour."),
    Audience.SPANISH_SPEAKERS: ("Spanish speakers", "Meant for Spanish speakers."),
}
# Top-level terms; topics, audiences and directories are their children.
PARENT_TERMS: dict[str, tuple[str, str]] = {
    "topic": ("Topic", "What the group is about."),
    "audience": ("Audience", "Who the group is meant for."),
    "source": ("Listed in directory", "A public directory that lists the group; the value is its page there."),
    "last_confirmed": (
        "Last confirmed",
        "When a directory last listed the group (UTC, ISO 8601); the value is that time.",
    ),
}


def taxonomy_id() -> str:
    return hsds_id("taxonomy", TAXONOMY_NAME)


def taxonomy_row() -> dict[str, Any]:
    return {
        "id": taxonomy_id(),
        "name": TAXONOMY_NAME,
        "description": "The peergroups project's controlled vocabularies (topics, audiences) and provenance terms "
        "(which directory lists a group, when it was last confirmed).",
        "version": "1",
    }


def term_object(code: str) -> dict[str, Any]:
    """The taxonomy term with this code (`topic:depression`, `audience:veterans`, `source:<directory>`)."""
    kind, _, value = code.partition(":")
    if not value:
        name, description = PARENT_TERMS[kind]
        parent = None
    else:
        parent = hsds_id("taxonomy_term", f"{TAXONOMY_NAME}|{kind}")
        if kind == "topic":
            name, description = TOPIC_TERMS.get(value, (_label(value), f"Groups about {_label(value).lower()}."))
        elif kind == "audience":
            name, description = AUDIENCE_TERMS.get(value, (_label(value), f"Meant for {_label(value).lower()}."))
        else:
            name, description = value, f"Listed in the directory {value!r}."
    return _compact(
        {
            "id": hsds_id("taxonomy_term", f"{TAXONOMY_NAME}|{code}"),
            "code": code,
            "name": name,
            "description": description,
            "parent_id": parent,
            "taxonomy": TAXONOMY_NAME,
            "language": "en",
            "taxonomy_id": taxonomy_id(),
        }
    )


def _label(code: str) -> str:
    return code.replace("_", " ").capitalize()


# --- reading the warehouse ---------------------------------------------------------------------------------------

# The groups exported, each with the standardised street of the listing that supplied its address, and the keys
# that decide which organisation and which meeting places it shares with other groups.
_CTES = rf"""
WITH base AS (
    SELECT g.group_id, g.name, g.organization, g.description, g.location_name, g.address, g.city, g.region,
           g.postal_code, g.country, g.latitude, g.longitude, g.coordinates_precision, g.phone, g.email,
           g.website, g.conference_url, g.conference_phone, g.format, g.status, g.topics, g.audiences, g.cost,
           g.language, g.registration, g.last_seen_at,
           p.street AS street, p.unit AS unit, p.address_key AS address_key,
           CASE g.coordinates_precision WHEN 'source' THEN 0 WHEN 'approximate' THEN 1
                WHEN 'postal_code' THEN 2 ELSE 3 END AS precision_rank,
           coalesce(lower(regexp_replace(trim(g.organization), '\s+', ' ', 'g')), '') AS org_key
    FROM groups g
    LEFT JOIN listings p ON p.listing_id = json_extract_string(g.provenance, '$.address')
    WHERE g.status IS DISTINCT FROM '{EXCLUDED_STATUS}'
),
places AS (
    SELECT group_id, 'physical' AS location_type,
           CASE WHEN street IS NOT NULL AND address_key IS NOT NULL THEN 'address:' || address_key
                WHEN street IS NOT NULL THEN 'address:' || lower(regexp_replace(trim(address), '\s+', ' ', 'g'))
                ELSE 'group:' || group_id END AS place_key
    FROM base
    -- A place someone can go to: a street, coordinates or at least a town (a state alone is not a place).
    WHERE (format IN ('in_person', 'hybrid') AND (street IS NOT NULL OR latitude IS NOT NULL OR city IS NOT NULL))
       OR (format IS NULL AND street IS NOT NULL)
    UNION ALL
    SELECT group_id, 'virtual',
           CASE WHEN conference_url IS NOT NULL THEN 'url:' || conference_url ELSE 'group:' || group_id END
    FROM base
    WHERE format IN ('online', 'hybrid') AND (conference_url IS NOT NULL OR conference_phone IS NOT NULL)
),
locations AS (
    SELECT struct_pack(
        location_type := pl.location_type,
        place_key := pl.place_key,
        name := first(b.location_name ORDER BY b.group_id) FILTER (WHERE b.location_name IS NOT NULL),
        street := arg_min(b.street, b.group_id),
        address := arg_min(b.address, b.group_id),
        city := arg_min(b.city, b.group_id),
        region := arg_min(b.region, b.group_id),
        postal_code := arg_min(b.postal_code, b.group_id),
        country := arg_min(b.country, b.group_id),
        coordinates := arg_min(struct_pack(latitude := b.latitude, longitude := b.longitude,
                                           precision := b.coordinates_precision),
                               (b.precision_rank, b.group_id)) FILTER (WHERE b.latitude IS NOT NULL),
        url := first(b.conference_url ORDER BY b.group_id) FILTER (WHERE b.conference_url IS NOT NULL),
        org_key := CASE WHEN count(DISTINCT b.org_key) = 1 THEN first(b.org_key) END,
        org_name := CASE WHEN count(DISTINCT b.org_key) = 1 THEN first(b.organization) END
    ) AS location
    FROM places pl JOIN base b USING (group_id)
    GROUP BY pl.location_type, pl.place_key
),
organizations AS (
    SELECT org_key, first(organization ORDER BY n DESC, organization) AS organization
    FROM (SELECT org_key, trim(organization) AS organization, count(*) AS n FROM base GROUP BY ALL)
    GROUP BY org_key
)
"""

_GROUPS_SQL = (
    _CTES
    + """,
group_locations AS (
    SELECT pl.group_id, list(l.location ORDER BY pl.location_type) AS locations
    FROM places pl JOIN locations l
      ON l.location.location_type = pl.location_type AND l.location.place_key = pl.place_key
    GROUP BY pl.group_id
),
group_schedules AS (
    SELECT m.group_id,
           list(DISTINCT struct_pack(freq := s.freq, "interval" := s."interval", byday := s.byday,
                                     opens_at := s.opens_at, closes_at := s.closes_at, timezone := s.timezone,
                                     notes := s.notes, valid_from := s.valid_from, valid_to := s.valid_to))
               AS schedules
    FROM group_members m JOIN listing_schedules s USING (listing_id)
    GROUP BY m.group_id
),
group_sources AS (
    SELECT m.group_id, list(DISTINCT struct_pack(source := l.source, url := l.source_url)) AS listed_in
    FROM group_members m JOIN listings l USING (listing_id)
    GROUP BY m.group_id
)
SELECT b.group_id, b.name, b.description, b.website, b.email, b.phone, b.conference_url, b.conference_phone,
       b.format, b.status, b.topics, b.audiences, b.cost, b.language, b.registration, b.unit,
       strftime(b.last_seen_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ') AS last_seen_at,
       b.org_key, o.organization, gl.locations, gs.schedules, src.listed_in
FROM base b
LEFT JOIN organizations o USING (org_key)
LEFT JOIN group_locations gl USING (group_id)
LEFT JOIN group_schedules gs USING (group_id)
LEFT JOIN group_sources src USING (group_id)
ORDER BY b.group_id
"""
)

_ORGANIZATIONS_SQL = _CTES + "SELECT org_key, organization FROM organizations ORDER BY org_key"
_LOCATIONS_SQL = _CTES + "SELECT location FROM locations ORDER BY location.location_type, location.place_key"
_SOURCES_SQL = (
    _CTES
    + """
SELECT l.source,
       list(DISTINCT regexp_extract(l.source_url, '^(https?://[^/?#]+)')) FILTER (WHERE l.source_url ~ '^https?://')
           AS sites,
       count(DISTINCT l.listing_id) AS listings,
       count(DISTINCT b.group_id) AS groups,
       strftime(max(l.last_seen_at) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ') AS last_seen_at
FROM base b JOIN group_members m USING (group_id) JOIN listings l USING (listing_id)
GROUP BY l.source
ORDER BY l.source
"""
)


def _stream(con: duckdb.DuckDBPyConnection, sql: str) -> Iterator[dict[str, Any]]:
    """Rows as dicts, fetched a batch at a time, so a large warehouse never sits in memory whole."""
    cursor = con.execute(sql)
    columns = [column[0] for column in cursor.description]
    while batch := cursor.fetchmany(BATCH_ROWS):
        for values in batch:
            yield dict(zip(columns, values, strict=True))


# --- text, numbers, contacts --------------------------------------------------------------------------------------


def _url(value: Any) -> str | None:
    """An http(s) URL without any join password, or None."""
    if not value:
        return None
    text = str(value).strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return strip_join_secrets(text)


def _number(value: float | int) -> float | int:
    """Numbers as HSDS readers expect them: 2, not 2.0."""
    return int(value) if float(value).is_integer() else float(value)


def utc_offset_hours(zone: str | None, moment: datetime) -> float | int | None:
    """The zone's offset from UTC at `moment`, in hours (-8, 5.5), for HSDS's numeric `timezone`."""
    if not zone:
        return None
    try:
        offset = moment.astimezone(ZoneInfo(zone)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return None if offset is None else _number(offset.total_seconds() / 3600)


def _phone_parts(e164: str) -> tuple[str, int | None, str | None]:
    """'+15035550123;ext=12' → ('+15035550123', 12, None); an extension that is not a number goes to words."""
    number, _, extension = e164.partition(";ext=")
    if not extension:
        return number, None, None
    if extension.isdigit():
        return number, int(extension), None
    return number, None, f"Extension {extension}."


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    """Only the fields with a value: HSDS JSON leaves unknown fields out rather than null."""
    return {key: value for key, value in values.items() if value not in (None, "", [])}


# --- HSDS objects --------------------------------------------------------------------------------------------------

UNKNOWN_ORGANIZATION = "Unknown organisation"


def organization_object(org_key: str, name: str | None) -> dict[str, Any]:
    """One organisation; groups no directory attributes to anyone share the placeholder."""
    if not org_key or not name:
        return {
            "id": hsds_id("organization", ""),
            "name": UNKNOWN_ORGANIZATION,
            "description": "Placeholder: the directories listing these groups do not say who runs them. HSDS needs "
            "an organisation for every service, so they share this row; it is not a real organisation.",
        }
    clean = public_text(name, include_contacts=False) or UNKNOWN_ORGANIZATION
    return {
        "id": hsds_id("organization", org_key),
        "name": clean,
        "description": f"{clean} runs the peer-support groups linked to it here, as the directories listing them "
        "say. peergroups holds no other details about the organisation.",
    }


_PRECISION_NOTE = {
    "postal_code": "Coordinates are the centre of the ZIP code, not the building.",
    "approximate": "Coordinates are approximate, as the directory says.",
}


def location_object(location: dict[str, Any], *, include_contacts: bool) -> dict[str, Any]:
    """A meeting place (the `locations` struct of the SQL) as an HSDS location with its address."""
    key = f"{location['location_type']}|{location['place_key']}"
    location_id = hsds_id("location", key)
    # The organisation that all groups meeting here share, when they share one we know.
    org_key = location.get("org_key")
    organization_id = organization_object(org_key, location.get("org_name"))["id"] if org_key else None
    if location["location_type"] == "virtual":
        url = _url(location.get("url"))
        host = urlsplit(url).hostname if url else None
        return _compact(
            {
                "id": location_id,
                "location_type": "virtual",
                "url": url,
                "organization_id": organization_id,
                "name": f"Online meeting ({host})" if host else "Online meeting (by phone)",
                "description": "An online meeting room. Passwords are never published here: ask the group for one.",
            }
        )
    address = _address_object(location, location_id)
    notes = []
    if address is None and location.get("address"):
        notes.append(f"Address as listed: {public_text(location['address'], include_contacts=include_contacts)}.")
    coordinates = location.get("coordinates") or {}
    if coordinates.get("precision") in _PRECISION_NOTE:
        notes.append(_PRECISION_NOTE[coordinates["precision"]])
    name = public_text(location.get("name"), include_contacts=include_contacts)
    if not name:
        fallback = address["address_1"] if address else location.get("address")
        name = public_text(fallback, include_contacts=include_contacts)
    return _compact(
        {
            "id": location_id,
            "location_type": "physical",
            "organization_id": organization_id,
            "name": name,
            "description": " ".join(notes),
            "latitude": coordinates.get("latitude"),
            "longitude": coordinates.get("longitude"),
            "addresses": [address] if address else [],
        }
    )


def _address_object(location: dict[str, Any], location_id: str) -> dict[str, Any] | None:
    """The street address, when we have every part HSDS requires; else None (nothing is made up)."""
    parts = {
        "address_1": plain_text(location.get("street")),
        "city": plain_text(location.get("city")),
        "state_province": plain_text(location.get("region")),
        "postal_code": plain_text(location.get("postal_code")),
        "country": plain_text(location.get("country")),
    }
    if not all(parts.values()):
        return None
    return {"id": hsds_id("address", location_id), **parts, "address_type": "physical"}


_ATTENDING = {"in_person": "In person", "online": "Online", "hybrid": "In person or online"}
_FEES = {
    "free": "Free.",
    "donation": "By donation.",
    "paid": "There is a fee: ask the group.",
}
_REGISTRATION = {
    "required": "Registration required: contact the group before your first meeting.",
    "drop_in": "Drop in: no registration needed.",
}


def service_object(row: dict[str, Any], *, include_contacts: bool, now: datetime) -> dict[str, Any]:
    """One group as a fully nested HSDS service, as the HSDS API's `GET /services/{id}` returns it."""
    service_id = hsds_id("service", row["group_id"])
    status = row["status"]
    if status not in HSDS_STATUS:
        raise ExportError(f"group {row['group_id']} has status {status!r}, which has no HSDS 3.0 equivalent")
    listed_in = sorted({(entry["source"], entry["url"] or "") for entry in row["listed_in"] or []})
    website = _url(row["website"])
    source_urls = [url for url in (_url(url) for _, url in listed_in) if url]
    audiences = list(row["audiences"] or [])
    service = {
        "id": service_id,
        "name": public_text(row["name"], include_contacts=include_contacts) or "Unnamed group",
        "description": public_text(row["description"], include_contacts=include_contacts),
        "url": website or (source_urls[0] if source_urls else None),
        "email": row["email"] if include_contacts else None,
        "status": HSDS_STATUS[status],
        "application_process": _REGISTRATION.get(row["registration"] or ""),
        "fees_description": _FEES.get(row["cost"] or ""),
        "eligibility_description": (
            "For: " + ", ".join(AUDIENCE_TERMS.get(a, (_label(a), ""))[0] for a in audiences) + "."
            if audiences
            else None
        ),
        "assured_date": row["last_seen_at"][:10] if row["last_seen_at"] else None,
        "organization": organization_object(row["org_key"], row["organization"]),
        "phones": [],
        "schedules": schedule_objects(row["schedules"] or [], service_id, row["format"], now),
        "service_at_locations": [],
        "languages": [],
        "attributes": [],
    }
    if row["phone"]:
        number, extension, words = _phone_parts(row["phone"])
        service["phones"].append(
            _compact(
                {
                    "id": hsds_id("phone", f"service|{service_id}"),  # the group's one phone, whatever its number
                    "number": number,
                    "extension": extension,
                    "type": "voice",
                    "description": words,
                }
            )
        )
    for location in row["locations"] or []:
        service["service_at_locations"].append(
            _service_at_location(service_id, location, row, include_contacts=include_contacts)
        )
    if row["language"]:
        service["languages"].append(
            {"id": hsds_id("language", service_id), "code": row["language"]}  # the one language it meets in
        )
    attributes = [(f"topic:{topic}", None) for topic in row["topics"] or []]
    attributes += [(f"audience:{audience}", None) for audience in audiences]
    attributes += [(f"source:{source}", _url(url)) for source, url in listed_in]
    if row["last_seen_at"]:
        attributes.append(("last_confirmed", row["last_seen_at"]))
    for code, value in attributes:
        term = term_object(code)
        kind = code.partition(":")[0]
        service["attributes"].append(
            _compact(
                {
                    # A service has one `last_confirmed`, whose time changes: its id must not.
                    "id": hsds_id(
                        "attribute", f"{service_id}|{code}|{'' if code == 'last_confirmed' else value or ''}"
                    ),
                    "link_id": service_id,
                    "taxonomy_term_id": term["id"],
                    "link_type": kind if kind in ("topic", "audience") else "provenance",
                    "link_entity": "service",
                    "value": value,
                    "taxonomy_term": term,
                }
            )
        )
    return _compact(service)


def _service_at_location(
    service_id: str, location: dict[str, Any], row: dict[str, Any], *, include_contacts: bool
) -> dict[str, Any]:
    place = location_object(location, include_contacts=include_contacts)
    sal_id = hsds_id("service_at_location", f"{service_id}|{place['id']}")
    phones = []
    description = None
    if place["location_type"] == "virtual":
        description = "Online."
        dial_in = str(row["conference_phone"] or "").strip()
        if dial_in:
            number, _, rest = dial_in.partition(",")
            meeting = rest.strip(", #")
            phones.append(
                _compact(
                    {
                        "id": hsds_id("phone", f"dial_in|{sal_id}"),
                        "number": number.strip(),
                        "type": "voice",
                        "description": "Dial-in for the online meeting"
                        + (f"; then enter meeting ID {meeting}#." if meeting else "."),
                    }
                )
            )
    elif row["unit"]:
        description = f"Meets in {public_text(row['unit'], include_contacts=include_contacts)}."
    return _compact({"id": sal_id, "description": description, "phones": phones, "location": place})


# --- schedules -----------------------------------------------------------------------------------------------------

_FREQ_ORDER = {"WEEKLY": 0, "MONTHLY": 1, "DAILY": 2}


@dataclass
class _Rule:
    """One merged recurrence, before it is written the HSDS way (DAILY mapped, offsets computed)."""

    freq: str
    interval: int
    byday: list[str]
    opens_at: time | None
    closes_at: time | None
    timezone: str | None
    valid_from: date | None
    valid_to: date | None
    notes: list[str]


def _merged(rows: list[dict[str, Any]]) -> list[_Rule]:
    """The members' schedules as one set: weekly rules at the same times merge their days (as `groups` does)."""
    merged: dict[tuple[Any, ...], _Rule] = {}
    for row in rows:
        days = list(row["byday"] or [])
        times = (row["opens_at"], row["closes_at"], row["timezone"])
        shared = (row["interval"], *times, row["valid_from"], row["valid_to"])
        key = (row["freq"], *shared) if row["freq"] == "WEEKLY" else (row["freq"], tuple(days), *shared)
        rule = merged.get(key)
        if rule is None:
            rule = merged[key] = _Rule(row["freq"], int(row["interval"] or 1), [], *shared[1:], notes=[])
        rule.byday += [day for day in days if day not in rule.byday]
        if row["notes"] and row["notes"] not in rule.notes:
            rule.notes.append(row["notes"])
    for rule in merged.values():
        if rule.freq != "MONTHLY":
            rule.byday.sort(key=lambda code: (WEEKDAY_CODES.index(code[-2:]) - 1) % 7)
        rule.notes.sort()
    return sorted(
        merged.values(),
        key=lambda rule: (_FREQ_ORDER.get(rule.freq, 9), rule.interval, rule.byday, str(rule.opens_at), str(rule)),
    )


def schedule_objects(
    rows: list[dict[str, Any]], service_id: str, group_format: str | None, now: datetime
) -> list[dict[str, Any]]:
    """HSDS schedules for one service from its members' `listing_schedules` rows."""
    objects = []
    for rule in _merged(rows):
        freq, byday = rule.freq, list(rule.byday)
        notes: list[str] = []
        if freq == "DAILY":
            # HSDS 3.0 keeps WEEKLY and MONTHLY only: every day is every week on each day; every n days is not.
            if rule.interval == 1:
                freq, byday = "WEEKLY", byday or [*WEEKDAY_CODES[1:], WEEKDAY_CODES[0]]
            else:
                notes.append(f"Meets every {rule.interval} days (RRULE FREQ=DAILY;INTERVAL={rule.interval}).")
        dtstart = None
        if rule.interval > 1 and freq in ("WEEKLY", "MONTHLY"):
            if rule.valid_from and _occurs_on(rule.valid_from, freq, byday):
                dtstart = rule.valid_from
            else:
                notes.append("Which weeks or months it meets is not known here: ask the group.")
        offset = utc_offset_hours(rule.timezone, now)
        if rule.timezone:
            shown = "" if offset is None else f" (UTC{_offset_text(offset)} on {now.date().isoformat()})"
            notes.insert(0, f"Times are local to the IANA time zone {rule.timezone}{shown}.")
        else:
            notes.insert(0, "The time zone is not known: times are as the directory gives them.")
        notes += [f"As listed: {public_text(note, include_contacts=False)}" for note in rule.notes]
        parts = (rule.freq, rule.interval, ",".join(rule.byday), rule.opens_at, rule.closes_at, rule.timezone)
        key = "|".join(str(part) for part in (*parts, rule.valid_from, rule.valid_to))
        objects.append(
            _compact(
                {
                    "id": hsds_id("schedule", f"{service_id}|{key}"),
                    "valid_from": rule.valid_from.isoformat() if rule.valid_from else None,
                    "valid_to": rule.valid_to.isoformat() if rule.valid_to else None,
                    "dtstart": dtstart.isoformat() if dtstart else None,
                    "timezone": offset,
                    "freq": freq if freq in ("WEEKLY", "MONTHLY") else None,
                    "interval": rule.interval if freq in ("WEEKLY", "MONTHLY") else None,
                    "byday": ",".join(byday) if freq in ("WEEKLY", "MONTHLY") else None,
                    "description": _describe(rule),
                    "opens_at": rule.opens_at.strftime("%H:%M:%S") if rule.opens_at else None,
                    "closes_at": rule.closes_at.strftime("%H:%M:%S") if rule.closes_at else None,
                    "attending_type": _ATTENDING.get(group_format or ""),
                    "notes": " ".join(notes),
                }
            )
        )
    return objects


def _occurs_on(day: date, freq: str, byday: list[str]) -> bool:
    """Whether `day` is one of the rule's days, so it can anchor the rule's interval (`dtstart`)."""
    code = WEEKDAY_CODES[(day.weekday() + 1) % 7]
    if freq == "WEEKLY":
        return not byday or code in byday
    nth = (day.day - 1) // 7 + 1
    return f"{nth}{code}" in byday or code in byday


def _offset_text(hours: float | int) -> str:
    """-8 → '-08:00', 5.5 → '+05:30': the offset as people read it, beside the IANA zone."""
    sign = "+" if hours >= 0 else "-"
    minutes = round(abs(hours) * 60)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _describe(rule: _Rule) -> str:
    """The rule in words, as every export words it: 'Every other week on Sunday, 14:00–15:00 (America/Los_Angeles).'"""
    return describe_slot(rule) + "."  # type: ignore[arg-type]  # a _Rule has every field a Slot's wording reads


# --- flattening the nested service into table rows -----------------------------------------------------------------


def service_rows(service: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The rows one nested service adds to the tables it owns, foreign keys filled from the nesting.

    Organisations, locations, addresses and taxonomy terms are shared between services and written once each, by
    their own passes; here they are only referred to.
    """
    service_id = service["id"]
    yield "service", {**service, "organization_id": service["organization"]["id"]}
    for phone in service.get("phones", []):
        yield "phone", {**phone, "service_id": service_id}
    for schedule in service.get("schedules", []):
        yield "schedule", {**schedule, "service_id": service_id}
    for language in service.get("languages", []):
        yield "language", {**language, "service_id": service_id}
    for attribute in service.get("attributes", []):
        yield "attribute", attribute
    for sal in service.get("service_at_locations", []):
        yield "service_at_location", {**sal, "service_id": service_id, "location_id": sal["location"]["id"]}
        for phone in sal.get("phones", []):
            yield "phone", {**phone, "service_at_location_id": sal["id"]}


# --- writing -------------------------------------------------------------------------------------------------------


class _PackageWriter:
    """One CSV writer per table, rows written as they come (cells of columns the table lacks are ignored)."""

    def __init__(self, out_dir: Path, stack: ExitStack) -> None:
        self.paths: dict[str, Path] = {}
        self._writers: dict[str, tuple[Table, Any]] = {}
        for table in TABLES:
            path = out_dir / table.path
            handle: IO[str] = stack.enter_context(path.open("w", encoding="utf-8", newline=""))
            writer = csv.writer(handle)
            writer.writerow(table.columns)
            self.paths[table.name] = path
            self._writers[table.name] = (table, writer)

    def write(self, table_name: str, row: dict[str, Any]) -> None:
        table, writer = self._writers[table_name]
        writer.writerow([_cell(row.get(column)) for column in table.columns])


def _cell(value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(_number(value)) if value.is_integer() else repr(value)
    return str(value)


def export_hsds(
    con: duckdb.DuckDBPyConnection, out_dir: Path, *, include_contacts: bool = False, now: datetime | None = None
) -> list[Path]:
    """Write the HSDS 3.0 data package, `services.ndjson` and `LICENSE-ATTRIBUTION.md` into out_dir.

    `now` (default: the current time) fixes the UTC offsets written in schedules' `timezone` and the package's
    `created` time. Returns the paths written.
    """
    now = now or datetime.now(UTC)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with ExitStack() as stack:
            tables = _PackageWriter(out_dir, stack)
            ndjson_path = out_dir / "services.ndjson"
            ndjson = stack.enter_context(ndjson_path.open("w", encoding="utf-8"))
            _write_shared_rows(con, tables, include_contacts=include_contacts)
            for row in _stream(con, _GROUPS_SQL):
                service = service_object(row, include_contacts=include_contacts, now=now)
                ndjson.write(json.dumps(service, ensure_ascii=False) + "\n")
                for table_name, table_row in service_rows(service):
                    tables.write(table_name, table_row)
            sources = list(_stream(con, _SOURCES_SQL))  # one row per directory: a handful, not per group
            for source in sources:
                tables.write("taxonomy_term", term_object(f"source:{source['source']}"))
        attribution_path = out_dir / "LICENSE-ATTRIBUTION.md"
        attribution_path.write_text(attribution_text(sources, now), encoding="utf-8")
        package_path = out_dir / "datapackage.json"
        package_path.write_text(
            json.dumps(datapackage(sources, now), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    except OSError as error:
        raise ExportError(f"cannot write the HSDS export into {out_dir}: {error}") from error
    return [package_path, *tables.paths.values(), ndjson_path, attribution_path]


def _write_shared_rows(con: duckdb.DuckDBPyConnection, tables: _PackageWriter, *, include_contacts: bool) -> None:
    """Organisations, locations with their addresses, the taxonomy and its fixed terms: each written once."""
    for row in _stream(con, _ORGANIZATIONS_SQL):
        tables.write("organization", organization_object(row["org_key"], row["organization"]))
    for row in _stream(con, _LOCATIONS_SQL):
        location = location_object(row["location"], include_contacts=include_contacts)
        tables.write("location", location)
        for address in location.get("addresses", []):
            tables.write("address", {**address, "location_id": location["id"]})
    tables.write("taxonomy", taxonomy_row())
    for code in PARENT_TERMS:
        tables.write("taxonomy_term", term_object(code))
    for topic in Topic:
        tables.write("taxonomy_term", term_object(f"topic:{topic.value}"))
    for audience in Audience:
        tables.write("taxonomy_term", term_object(f"audience:{audience.value}"))


def datapackage(sources: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """The Frictionless descriptor: every table with its schema, the JSON form, and the attribution file."""
    resources: list[dict[str, Any]] = [
        {
            "name": table.name,
            "path": table.path,
            "description": table.description,
            "profile": "tabular-data-resource",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "schema": table.schema(),
        }
        for table in TABLES
    ]
    resources.append(
        {
            "name": "services_json",
            "path": "services.ndjson",
            "description": "The same services as fully nested HSDS 3.0 service objects (the API's "
            "GET /services/{id}), one JSON object a line.",
            "format": "ndjson",
            "mediatype": "application/x-ndjson",
            "encoding": "utf-8",
        }
    )
    resources.append(
        {
            "name": "attribution",
            "path": "LICENSE-ATTRIBUTION.md",
            "description": "The directories the data comes from; their terms apply.",
            "format": "md",
            "mediatype": "text/markdown",
            "encoding": "utf-8",
        }
    )
    return {
        "profile": "tabular-data-package",
        "name": "peergroups-hsds",
        "title": "Mental-health peer-support groups (Open Referral HSDS 3.0)",
        "description": f"Peer-support groups gathered from public directories and deduplicated by peergroups, in "
        f"Open Referral HSDS {HSDS_VERSION}. See LICENSE-ATTRIBUTION.md for the sources and their terms.",
        "created": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sources": [_package_source(source) for source in sources],
        "resources": resources,
    }


def _package_source(source: dict[str, Any]) -> dict[str, Any]:
    sites = sorted(source["sites"] or [])
    return _compact({"title": source["source"], "path": sites[0] if sites else None})


def attribution_text(sources: list[dict[str, Any]], now: datetime) -> str:
    """LICENSE-ATTRIBUTION.md: every directory the exported groups come from, with where and how much."""
    lines = [
        "# Sources and attribution",
        "",
        f"This Open Referral HSDS {HSDS_VERSION} data package was made by peergroups on "
        f"{now.astimezone(UTC).strftime('%Y-%m-%d %H:%M UTC')} from the public directories below. Each group's "
        "service names the directories that list it (attributes with the `source:` terms, valued with the "
        "group's page there) and when it was last confirmed (`last_confirmed`, `assured_date`).",
        "",
        "The listings remain the work of these directories: credit them when you republish, and check each "
        "directory's own terms of use before you do. peergroups claims no rights in the listings themselves.",
        "",
        "| directory | site | listings | groups | last confirmed (UTC) |",
        "|---|---|---|---|---|",
    ]
    for source in sources:
        sites = ", ".join(sorted(source["sites"] or [])) or "(no web address recorded)"
        lines.append(
            f"| {_markdown_cell(source['source'])} | {_markdown_cell(sites)} | {source['listings']} | "
            f"{source['groups']} | {source['last_seen_at'] or ''} |"
        )
    if not sources:
        lines.append("| (none: no groups were exported) | | | | |")
    return "\n".join(lines) + "\n"


def _markdown_cell(text: str) -> str:
    return (plain_text(text) or "").replace("|", "\\|")
