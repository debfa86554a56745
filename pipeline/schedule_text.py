"""Free-text schedules → `Schedule` rows: "2nd and 4th Wednesdays 6-7:30pm", "Mon–Fri 9am–5pm ET", "Call for times".

The text is cut into tokens (days, ordinals, time ranges, zones, interval and month words, separators, noise such
as dates, ages and prices), day tokens are grouped into day patterns, and each pattern takes the time that follows
it (or the one before it when the text starts with the time). Anything the grammar cannot read with confidence
("bimonthly", "Tuesdays monthly", a time without a day) gives no schedule: a wrong schedule is worse than none.
Qualifications ("except holidays", "starting 6/8/2022", "on Zoom") are kept as the schedule's notes, and dates
with a year after "starting"/"until" become validity dates.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from pipeline.schedules import ZONE_ABBREVIATIONS
from schemas.listing import Schedule
from schemas.vocab import WEEKDAY_CODES, Freq


class TextScheduleKind(StrEnum):
    PARSED = "parsed"
    NONE_STATED = "none_stated"  # "call for times", "TBD", "by appointment": a real value, not an error
    UNPARSED = "unparsed"  # text we could not read with confidence: kept, counted, never guessed


@dataclass(frozen=True)
class TextScheduleReading:
    kind: TextScheduleKind
    schedules: tuple[Schedule, ...] = ()
    notes: str | None = None


_DAY_WORDS: dict[str, str] = {}
for _code, _words in zip(
    WEEKDAY_CODES,
    (
        "sunday sundays sun",
        "monday mondays mon mons",
        "tuesday tuesdays tue tues tu",
        "wednesday wednesdays wed weds",
        "thursday thursdays thu thur thurs th",
        "friday fridays fri",
        "saturday saturdays sat sats",
    ),
    strict=True,
):
    for _word in _words.split():
        _DAY_WORDS[_word] = _code
# Spanish, for the Spanish-language groups US directories list.
for _code, _words in zip(
    WEEKDAY_CODES,
    (
        "domingo domingos",
        "lunes",
        "martes",
        "miércoles miercoles",
        "jueves",
        "viernes",
        "sábado sábados sabado sabados",
    ),
    strict=True,
):
    for _word in _words.split():
        _DAY_WORDS[_word] = _code

_ORDINALS = {
    "1st": 1, "first": 1, "2nd": 2, "second": 2, "3rd": 3, "third": 3, "4th": 4, "fourth": 4,
    "5th": 5, "fifth": 5, "last": -1,
    "primer": 1, "primero": 1, "primera": 1, "segundo": 2, "segunda": 2, "tercer": 3, "tercero": 3, "tercera": 3,
    "cuarto": 4, "cuarta": 4, "quinto": 5, "quinta": 5, "último": -1, "ultimo": -1, "última": -1, "ultima": -1,
}  # fmt: skip
_MONTH_NAMES = "january february march april may june july august september october november december".split()
_MONTHS = "|".join(sorted({*_MONTH_NAMES, *(name[:3] for name in _MONTH_NAMES), "sept"}, key=len, reverse=True))
_MONTH_NUMBERS = {name[:3]: number for number, name in enumerate(_MONTH_NAMES, start=1)}

_ONE_TIME = r"(?:\d{1,2}(?:[:.][0-5]\d)?(?:\s*(?:am|pm)\b|(?<=\d)[ap]\b)?|noon|midday|midnight)"
_ZONE_WORDS = {
    "et": "ET", "est": "ET", "edt": "ET", "eastern": "ET", "ct": "CT", "cst": "CT", "cdt": "CT", "central": "CT",
    "mt": "MT", "mst": "MT", "mdt": "MT", "mountain": "MT", "pt": "PT", "pst": "PT", "pdt": "PT", "pacific": "PT",
    "gmt": "GMT", "bst": "BST", "uk": "UK", "hst": "HST", "akst": "AKT", "akdt": "AKT", "akt": "AKT",
    "hora del este": "ET", "hora del centro": "CT", "hora de la montaña": "MT", "hora de la montana": "MT",
    "hora del pacífico": "PT", "hora del pacifico": "PT",
}  # fmt: skip

# Zone words that are also ordinary words or abbreviations ("Central Library", "Mt. Zion", "Oak Ct"): a zone only
# right after a time ("7pm ET", "7:00 (PT)") or with "time" ("Eastern Time").
_AMBIGUOUS_ZONE_WORDS = frozenset({"et", "ct", "mt", "pt", "uk", "eastern", "central", "mountain", "pacific"})

_TOKEN = re.compile(
    "|".join(
        [
            r"(?P<SEP>;)",
            rf"(?P<DATE>\b\d{{1,2}}/\d{{1,2}}(?:/\d{{2,4}})?\b|\b(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b"
            rf"(?:,?\s+\d{{4}})?|\b(?:{_MONTHS})\b\.?(?:\s+\d{{4}}\b)?)",
            r"(?P<DAILY>\bdaily\b|\bnightly\b|\bevery\s*day\b|\beach\s+day\b|\b(?:7|seven)\s+days\s+a\s+week\b"
            r"|\btodos\s+los\s+d[íi]as\b|\bcada\s+d[íi]a\b|\bdiariamente\b"
            r"|\bevery\s+(?:morning|evening|night|afternoon)\b)",
            r"(?P<NOISE>\bages?\s+\d+\s*(?:-|to)\s*\d+|\bgrades?\s+\d+\s*(?:-|to)\s*\d+|\b\d+\s*\+"
            r"|\b\d+\s*(?:-\s*)?(?:weeks?|wks?|years?|yrs?|months?|sessions?|minutes?|mins?|hours?|hrs?|people"
            r"|days?|steps?)\b|[$£€]\s*\d+(?:\.\d+)?|\b\d{3}[-.\s]\d{3}[-.\s]\d{4}\b|\b\d{3}[-.]\d{4}\b|\b\d{4,}\b"
            r"|\b(?:room|rm|suite|ste|unit|step|floor|fl|building|bldg)\.?\s*#?\s*\d+[a-z]?\b|#\s*\d+\b|\b\d+%"
            # Times that are not the meeting's: "doors open at 6:45", "after the 11am service", "arrive by 6:50".
            rf"|\bdoors?\s+opens?\s+(?:at\s+)?{_ONE_TIME}|\b(?:arrive|come)\s+(?:by|at|early)\s+{_ONE_TIME}"
            rf"|\b(?:after|before|following)\s+(?:the\s+)?{_ONE_TIME}\s+(?:service|mass|worship|meeting|class))",
            r"(?P<ORD>\b(?:1st|2nd|3rd|4th|5th|first|second|third|fourth|fifth|last|primer[oa]?|segund[oa]|tercer[oa]?"
            r"|cuart[oa]|quint[oa]|[úu]ltim[oa])(?!\w))",
            rf"(?P<RANGE_T>(?:\bfrom\s+)?{_ONE_TIME}\s*(?:-|\bto\b|\buntil\b|\btill?\b)\s*{_ONE_TIME}"
            rf"|\bbetween\s+{_ONE_TIME}\s+and\s+{_ONE_TIME}|(?:\bde\s+)?{_ONE_TIME}\s+a\s+{_ONE_TIME})",
            rf"(?P<TIME>(?:(?:\bat|@|\bfrom|\bstarts?|\bstarting|\bbegins?|\ba\s+las?|\bdesde)\s*)?\b{_ONE_TIME})",
            r"(?P<WEEKDAYS>\bweek\s?days?\b|\bmonday\s*(?:-|to|through|thru)\s*friday\b)",
            r"(?P<WEEKENDS>\bweekends?\b)",
            r"(?P<INTERVAL2>\bevery\s+other\b|\balternat(?:e|ing)\b|\bbi-?weekly\b|\bevery\s+(?:2|two|second)\s+weeks?\b"
            r"|\bfortnightly\b|\bcada\s+(?:dos|2)\s+semanas\b|\bquincenal(?:mente)?\b|\bcada\s+quince\s+d[íi]as\b)",
            r"(?P<AMBIGUOUS>\bbi-?monthly\b|\bsemi-?monthly\b|\bquarterly\b|\btwice\s+(?:a|per)\s+month\b"
            r"|\bevery\s+(?:third|3rd|fourth|4th|three|four|\d+)\s+weeks?\b|\bonce\s+a\s+month\b|\bseasonal)",
            r"(?P<MONTHLY>\bmonthly\b|\b(?:of|in)\s+(?:the|each|every)\s+month\b|\b(?:each|every|a|per)\s+month\b"
            r"|\bdel\s+mes\b|\bde\s+cada\s+mes\b|\bcada\s+mes\b|\bal\s+mes\b|\bmensual(?:mente)?\b)",
            r"(?P<NONE>\bcall\b|\btbd\b|\btba\b|\bappointment\b|\bvar(?:y|ies)\b|\bcontact\b|\bcoming\s+soon\b"
            r"|\bhiatus\b|\bsuspended\b|\bpaused\b|\bcancell?ed\b|\bemail\b|\be-mail\b|\bwebsite\b"
            r"|\bto\s+be\s+(?:determined|announced|confirmed)\b|\bnot\s+(?:currently\s+)?meeting\b"
            r"|\bll[áa]m(?:e|enos|ar)\b|\bpor\s+determinar\b)",
            r"(?P<ZONE>\b(?:et|est|edt|eastern|ct|cst|cdt|central|mt|mst|mdt|mountain|pt|pst|pdt|pacific|gmt|bst"
            r"|uk|hst|akst|akdt|akt)\b(?:\s+(?:standard\s+|daylight\s+)?time\b)?"
            r"|\bhora\s+del?\s+(?:la\s+)?(?:este|centro|monta[ñn]a|pac[íi]fico)\b)",
            r"(?P<DAYPART>\b(?:mornings?|afternoons?|evenings?|nights?|lunchtimes?)\b)",
            r"(?P<RANGE>\bthrough\b|\bthru\b|-|\bto\b|\btill?\b)",
            r"(?P<AND>\band\b|,|/|&|\bor\b|\+|\by\b)",
            r"(?P<WORD>\b[^\W\d_]+(?:'[^\W\d_]+)?)",
            r"(?P<OTHER>\S)",
        ]
    )
)

# Words that carry no information beyond what the tokens say; anything else left over is a note worth keeping.
_FILLER = frozenset(
    (
        "every each on at the of a an in from and or meets meet meeting meetings group groups session sessions "
        "month months week weeks weekly time times we are is held scheduled starting starts begins beginning "
        "there will be our this day days o'clock oclock sharp usually normally generally regularly hrs hr "
        "s th nd rd st per via also all year round "
        "cada todos todas los las el la de del mes semana semanas en a y se reúne reunimos nos grupo grupos apoyo"
    ).split()
)


@dataclass
class _DaySpec:
    freq: Freq
    codes: list[str]
    interval: int = 1
    position: int = 0


@dataclass
class _TimeSpec:
    opens: time | None
    closes: time | None
    position: int = 0


@dataclass
class _Group:
    specs: list[_DaySpec]
    times: _TimeSpec | None = None
    zone: str | None = None


_LETTER_DAYS = {"m": "monday", "t": "tuesday", "tu": "tuesday", "w": "wednesday", "th": "thursday", "r": "thursday",
                "f": "friday", "sa": "saturday", "su": "sunday"}  # fmt: skip
_LETTER_DAY_LIST = re.compile(r"\b(?:m|tu|t|w|th|r|f|sa|su)(?:\s*[/-]\s*(?:m|tu|t|w|th|r|f|sa|su))+\b")


def _expand_letter_days(match: re.Match[str]) -> str:
    pieces = re.split(r"\s*([/-])\s*", match.group())
    return "".join({"/": " and ", "-": " - "}.get(piece) or _LETTER_DAYS[piece] for piece in pieces)


def _hhmm_range(match: re.Match[str]) -> str:
    """'1900-2030' → '19:00-20:30' when it reads as a meeting (quarter hours, 15 min to 4 h), not years."""
    start_h, start_m, end_h, end_m = (int(match.group(i)) for i in (1, 2, 4, 5))
    minutes = (end_h * 60 + end_m) - (start_h * 60 + start_m)
    if start_m % 15 or end_m % 15 or not 15 <= minutes <= 240:
        return match.group()
    return f"{start_h:02d}:{start_m:02d}{match.group(3)}{end_h:02d}:{end_m:02d}"


_HHMM_RANGE = re.compile(r"\b([01]\d|2[0-3])([0-5]\d)(\s*(?:-|to)\s*)([01]\d|2[0-3])([0-5]\d)\b")


def _normalise(text: str) -> str:
    text = text.casefold()
    # "M/W/F", "T/Th": single-letter day lists, only in slash form where the letters cannot be anything else.
    text = _LETTER_DAY_LIST.sub(_expand_letter_days, text)
    # 24-hour times without a colon ("1900-2030", "1830 hrs") and "7 to 830": written the usual way.
    text = _HHMM_RANGE.sub(_hhmm_range, text)
    text = re.sub(r"\b([01]\d|2[0-3])([0-5]\d)\s*(?:hrs|hours|h)\b", r"\1:\2", text)
    text = re.sub(r"(\b\d{1,2}(?::\d\d)?\s*(?:-|to)\s*)([1-9])([0-5]\d)\b", r"\1\2:\3", text)
    text = re.sub(r"[\u2010-\u2015\u2212]", "-", text)
    text = re.sub(r"\b([ap])\.\s?m\b\.?", r"\1m", text)
    text = re.sub(r"(?<=\d)\s*([ap])\.(?=\s|$|[-,;)])", r"\1m", text)
    text = text.replace("\u00a0", " ")
    return text


@lru_cache(maxsize=65536)
def parse_schedule_text(text: str | None, default_timezone: str | None = None) -> TextScheduleReading:
    """Read a schedule written in words. Never raises; never guesses a day.

    Cached: directories repeat the same phrasing ("Tuesdays 7pm") across thousands of listings. The reading is
    shared, so callers must not change it (its schedules are frozen models).
    """
    if text is None or not text.strip():
        return TextScheduleReading(TextScheduleKind.UNPARSED)
    normalised = _normalise(text)
    tokens = _tokens(normalised)
    kinds = {kind for kind, _, _ in tokens}

    leftover = [
        value for kind, value, _ in tokens if kind == "WORD" and value not in _FILLER and value not in _DAY_WORDS
    ]
    has_note = bool(leftover) or "DATE" in kinds or "NONE" in kinds
    notes = " ".join(text.split()) if has_note else None

    tokens, excluded_days = _set_aside_exclusions(normalised, tokens)
    kinds = {kind for kind, _, _ in tokens}
    day_specs = _subtract_days(_day_specs(tokens), excluded_days)
    if not day_specs:
        kind = TextScheduleKind.NONE_STATED if "NONE" in kinds else TextScheduleKind.UNPARSED
        return TextScheduleReading(kind, notes=" ".join(text.split()))
    frequencies = {spec.freq for spec in day_specs}
    if "AMBIGUOUS" in kinds or ("MONTHLY" in kinds and Freq.WEEKLY in frequencies and Freq.MONTHLY not in frequencies):
        # "Tuesdays, bimonthly", "Mondays monthly": which Mondays is not said.
        return TextScheduleReading(TextScheduleKind.UNPARSED, notes=" ".join(text.split()))

    dayparts = {value.rstrip("s") for kind, value, _ in tokens if kind == "DAYPART"}
    times = [
        _time_spec(kind, value, position, dayparts) for kind, value, position in tokens if kind in ("TIME", "RANGE_T")
    ]
    times = [spec for spec in times if spec is not None]
    zones = [(position, _zone_word(value)) for kind, value, position in tokens if kind == "ZONE"]
    separators = [position for kind, _, position in tokens if kind == "SEP"]
    conjunctions = [position for kind, _, position in tokens if kind == "AND"]

    groups = _pair(day_specs, times, zones, separators, conjunctions)
    valid_from, valid_to = _validity(normalised)
    schedules = _schedules(groups, default_timezone, notes, valid_from, valid_to)
    return TextScheduleReading(TextScheduleKind.PARSED, tuple(schedules), notes)


_FULL_DAY_NAMES = [word for word in _DAY_WORDS if len(word) >= 6]


@lru_cache(maxsize=4096)
def _day_word(word: str) -> str | None:
    """A day name as people type it: "Wed's", "Wednesday's", and misspellings ("Wendesdays", "Thrusday")."""
    word = word.removesuffix("'s").removesuffix("'")
    if word in _DAY_WORDS:
        return word
    if len(word) >= 6:
        close = difflib.get_close_matches(word, _FULL_DAY_NAMES, n=1, cutoff=0.8)
        if close:
            return close[0]
    return None


def _zone_word(value: str) -> str:
    words = " ".join(value.split())
    return _ZONE_WORDS.get(words) or _ZONE_WORDS[words.split()[0]]


def _tokens(normalised: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    for match in _TOKEN.finditer(normalised):
        kind, value = match.lastgroup or "OTHER", match.group()
        if kind == "WORD" and value not in _DAY_WORDS and value not in _FILLER:
            value = _day_word(value) or value
        if kind == "ZONE" and value in _AMBIGUOUS_ZONE_WORDS:
            previous = [token for token in tokens[-2:] if token[1] != "("]
            if not previous or previous[-1][0] not in ("TIME", "RANGE_T"):
                kind = "WORD"
        tokens.append((kind, value, match.start()))
    return tokens


# Clauses that say when the group does NOT meet: "(no meetings on holiday weekends)", "except Sunday", "closed in
# August". Their words are notes, never days; "except <day>" removes that day from the pattern before it.
_EXCLUSION = re.compile(
    r"\([^)]*\b(?:no|not|except|excluding|closed|cancel\w*|skip\w*|holidays?)\b[^)]*\)"
    r"|\b(?:except|excluding|but not|other than|no meetings?|closed|not on|not during)\b"
    r"(?:[^;,\n()\d]|\d+(?:st|nd|rd|th)\b)*"
)


def _set_aside_exclusions(
    normalised: str, tokens: list[tuple[str, str, int]]
) -> tuple[list[tuple[str, str, int]], set[str]]:
    spans = [(match.start(), match.end(), match.group()) for match in _EXCLUSION.finditer(normalised)]
    if not spans:
        return tokens, set()
    kept: list[tuple[str, str, int]] = []
    excluded: set[str] = set()
    for kind, value, position in tokens:
        span = next((span for span in spans if span[0] <= position < span[1]), None)
        if span is None:
            kept.append((kind, value, position))
            continue
        if (
            kind == "WORD"
            and value in _DAY_WORDS
            and re.match(r"\(?\s*(?:except|excluding|but not|other than)", span[2])
        ):
            excluded.add(_DAY_WORDS[value])
        kept.append(("NOTE", value, position))
    return kept, excluded


def _subtract_days(specs: list[_DaySpec], excluded: set[str]) -> list[_DaySpec]:
    """'Every day except Sunday' → WEEKLY MO..SA; 'Mon-Fri except Wednesday' → MO,TU,TH,FR."""
    if not excluded:
        return specs
    result = []
    for spec in specs:
        if spec.freq is Freq.DAILY:
            spec = _DaySpec(Freq.WEEKLY, list(WEEKDAY_CODES), 1, spec.position)
        if spec.freq is Freq.WEEKLY:
            spec.codes = [code for code in spec.codes if code not in excluded]
        if spec.codes or spec.freq is Freq.DAILY:
            result.append(spec)
    return result


def _day_specs(tokens: list[tuple[str, str, int]]) -> list[_DaySpec]:
    """Day patterns in text order: '1st & 3rd Thursday' → MONTHLY 1TH,3TH; 'Mon-Fri' → WEEKLY MO..FR."""
    specs: list[_DaySpec] = []
    interval_pending = False
    index = 0
    while index < len(tokens):
        kind, value, position = tokens[index]
        if kind == "INTERVAL2":
            interval_pending = True
        elif kind == "ORD" or (kind == "WORD" and value in _DAY_WORDS):
            ordinals: list[int] = []
            while index < len(tokens) and tokens[index][0] == "ORD":
                ordinals.append(_ORDINALS[tokens[index][1]])
                index += 1
                if (
                    index < len(tokens)
                    and tokens[index][0] == "AND"
                    and index + 1 < len(tokens)
                    and (tokens[index + 1][0] == "ORD")
                ):
                    index += 1
            days, index = _day_list(tokens, index)
            if not days:
                continue  # an ordinal without a day ("the 1st of June", "last week")
            if ordinals:
                codes = [f"{ordinal}{day}" for ordinal in ordinals for day in days]
                specs.append(_DaySpec(Freq.MONTHLY, codes, 1, position))
            else:
                specs.append(_DaySpec(Freq.WEEKLY, days, 2 if interval_pending else 1, position))
                interval_pending = False
            continue
        elif kind == "WEEKDAYS":
            specs.append(_DaySpec(Freq.WEEKLY, list(WEEKDAY_CODES[1:6]), 2 if interval_pending else 1, position))
            interval_pending = False
        elif kind == "WEEKENDS":
            specs.append(_DaySpec(Freq.WEEKLY, ["SU", "SA"], 2 if interval_pending else 1, position))
            interval_pending = False
        elif kind == "DAILY":
            specs.append(_DaySpec(Freq.DAILY, [], 1, position))
        index += 1
    if interval_pending:
        # "Sundays, every other week": the interval word came after its days.
        weekly = [spec for spec in specs if spec.freq is Freq.WEEKLY]
        if len(weekly) == 1:
            weekly[0].interval = 2
    return specs


def _day_list(tokens: list[tuple[str, str, int]], index: int) -> tuple[list[str], int]:
    """'Mon, Wed & Fri', 'Monday through Friday', 'Tues/Thurs' → day codes; returns the index after the list."""
    days: list[str] = []
    while index < len(tokens):
        kind, value, _ = tokens[index]
        if kind != "WORD" or value not in _DAY_WORDS:
            break
        days.append(_DAY_WORDS[value])
        index += 1
        if (
            index + 1 < len(tokens)
            and (tokens[index][0] in ("AND", "RANGE") or tokens[index][1] == "a")
            and tokens[index + 1][1] in _DAY_WORDS
        ):
            if tokens[index][0] == "RANGE" or tokens[index][1] == "a":
                start = WEEKDAY_CODES.index(days[-1])
                end = WEEKDAY_CODES.index(_DAY_WORDS[tokens[index + 1][1]])
                span = range(start, end + 1) if start <= end else [*range(start, 7), *range(0, end + 1)]
                days.extend(WEEKDAY_CODES[day] for day in span)
                index += 2
                continue
            index += 1
            continue
        # "Tuesdays and Thursdays" may also read "Tuesday and the 3rd Thursday": stop before another ordinal.
    ordered = [code for code in WEEKDAY_CODES if code in days]
    return ordered, index


_ONE_TIME_PARTS = re.compile(
    r"(?P<hour>\d{1,2})(?:[:.](?P<minute>[0-5]\d))?\s*(?P<ap>am|pm|a|p)?|(?P<word>noon|midday|midnight)"
)


def _time_spec(kind: str, value: str, position: int, dayparts: set[str]) -> _TimeSpec | None:
    marker = re.match(r"^(?:from|between|at|@|starts?|starting|begins?|de|desde|a\s+las?)\s*", value.strip())
    value = value.strip()[marker.end() :] if marker else value.strip()
    if kind == "RANGE_T":
        parts = re.split(r"\s*(?:-|\bto\b|\buntil\b|\btill?\b|\band\b|\ba\b)\s*", value, maxsplit=1)
        if len(parts) != 2:
            return None
        start, end = _clock(parts[0]), _clock(parts[1])
        if start is None or end is None:
            return None
        return _resolve_range(start, end, dayparts, position)
    single = _clock(value)
    if single is None:
        return None
    if single.meridiem is None and single.word is None and not single.minute_given and not marker:
        return None  # a bare number is not a time: "Room 7", "Step 12", "the 15th"
    return _TimeSpec(_to_time(single, dayparts), None, position)


@dataclass
class _Clock:
    hour: int
    minute: int
    meridiem: str | None
    word: str | None
    minute_given: bool
    is_24h: bool


def _clock(text: str) -> _Clock | None:
    match = _ONE_TIME_PARTS.fullmatch(text.strip())
    if not match:
        return None
    if match["word"]:
        return _Clock(0 if match["word"] == "midnight" else 12, 0, None, match["word"], True, True)
    hour, minute = int(match["hour"]), int(match["minute"] or 0)
    meridiem = {"a": "am", "p": "pm"}.get(match["ap"] or "", match["ap"])
    if meridiem and not 1 <= hour <= 12:
        return None
    if hour > 23:
        return None
    is_24h = meridiem is None and (hour >= 13 or hour == 0 or match["hour"].startswith("0"))
    return _Clock(hour, minute, meridiem, None, match["minute"] is not None, is_24h)


def _with_meridiem(clock: _Clock, meridiem: str) -> time:
    hour = clock.hour % 12 + (12 if meridiem == "pm" else 0)
    return time(hour, clock.minute)


def _guess_meridiem(clock: _Clock, dayparts: set[str]) -> str:
    """A bare hour: what a listing means by '7' or '12-1'. Day-part words decide; else the usual meeting hours."""
    if "morning" in dayparts:
        return "am"
    if dayparts & {"evening", "night", "afternoon"}:
        return "pm"
    if clock.hour == 12 or 1 <= clock.hour <= 8:
        return "pm"
    return "am"


def _to_time(clock: _Clock, dayparts: set[str]) -> time:
    if clock.word or clock.is_24h:
        return time(clock.hour, clock.minute)
    return _with_meridiem(clock, clock.meridiem or _guess_meridiem(clock, dayparts))


def _resolve_range(start: _Clock, end: _Clock, dayparts: set[str], position: int) -> _TimeSpec | None:
    if start.is_24h or start.word or start.meridiem:
        opens = _to_time(start, dayparts)
    elif end.meridiem:
        # "7-8:30pm": the start takes the end's half of the day unless that puts it after the end ("11-1pm").
        opens = _with_meridiem(start, end.meridiem)
        closes_guess = _with_meridiem(end, end.meridiem)
        if opens > closes_guess:
            opens = _with_meridiem(start, "am")
    elif end.word == "noon":
        opens = _with_meridiem(start, "am")
    else:
        opens = _to_time(start, dayparts)
    if end.is_24h or end.word:
        closes = time(end.hour, end.minute)
    elif end.meridiem:
        closes = _with_meridiem(end, end.meridiem)
    else:
        # A bare end follows the start: "7-8:30" after 19:00 is 20:30; "12-1" after noon is 13:00.
        closes = time(end.hour % 12, end.minute)
        while closes <= opens and closes.hour + 12 <= 23:
            closes = time(closes.hour + 12, closes.minute)
    bare = not (start.minute_given or end.minute_given or start.meridiem or end.meridiem or start.word or end.word)
    if bare and not (1 <= start.hour <= 12 and 1 <= end.hour <= 12):
        return None  # two bare numbers are a time only when both read as clock hours ("12-1"), not "18-30"
    return _TimeSpec(opens, closes, position)


def _pair(
    specs: list[_DaySpec],
    times: list[_TimeSpec],
    zones: list[tuple[int, str]],
    separators: list[int],
    conjunctions: list[int],
) -> list[_Group]:
    """Give each day pattern its time: the time after it, or the time before it when the text starts with one."""
    events: list[tuple[int, str, object]] = [(spec.position, "day", spec) for spec in specs]
    events += [(spec.position, "time", spec) for spec in times]
    events += [(position, "zone", zone) for position, zone in zones]
    events += [(position, "sep", None) for position in separators]
    events += [(position, "and", None) for position in conjunctions]
    events.sort(key=lambda event: event[0])

    groups: list[_Group] = []
    pending: list[_DaySpec] = []
    leading_time: _TimeSpec | None = None
    last_group: _Group | None = None

    def flush() -> None:
        nonlocal pending, leading_time, last_group
        if pending:
            last_group = _Group(pending, leading_time)
            groups.append(last_group)
        pending, leading_time = [], None

    recent: list[str] = []  # the kinds of the last events, to see "2pm and 7pm"
    for _, kind, payload in events:
        if kind == "day":
            pending.append(payload)  # type: ignore[arg-type]
        elif kind == "time":
            if pending:
                last_group = _Group(pending, payload)  # type: ignore[arg-type]
                groups.append(last_group)
                pending = []
            elif last_group is not None and recent[-2:] == ["time", "and"]:
                # "Tuesdays 2pm & 7pm": a second time for the same days.
                last_group = _Group(last_group.specs, payload)  # type: ignore[arg-type]
                groups.append(last_group)
            elif leading_time is None:
                leading_time = payload  # type: ignore[assignment]
        elif kind == "zone":
            if last_group is not None and last_group.zone is None:
                last_group.zone = payload  # type: ignore[assignment]
        elif kind == "sep":
            flush()
        if kind != "zone":  # "12pm ET and 8pm ET": a zone between two times does not part them
            recent.append(kind)
    flush()
    if len({zone for _, zone in zones}) == 1:
        # One zone named anywhere ("ET" at the end of "Mon 7pm, Wed 8pm ET") holds for the whole text.
        for group in groups:
            group.zone = zones[0][1]
    return groups


def _validity(normalised: str) -> tuple[date | None, date | None]:
    def find(words: str) -> date | None:
        match = re.search(
            rf"\b(?:{words})\s+(?:on\s+)?(?:(?P<m>\d{{1,2}})/(?P<d>\d{{1,2}})/(?P<y>\d{{2,4}})"
            rf"|(?P<mn>{_MONTHS})[a-z]*\.?\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y2>\d{{4}}))",
            normalised,
        )
        if not match:
            return None
        try:
            if match["m"]:
                year = int(match["y"])
                return date(year + 2000 if year < 100 else year, int(match["m"]), int(match["d"]))
            return date(int(match["y2"]), _MONTH_NUMBERS[match["mn"][:3]], int(match["d2"]))
        except ValueError:
            return None

    return find("starting|starts|beginning|begins|effective|from|as of"), find("through|thru|until|till|ending|ends")


def _without_zone_conversions(groups: list[_Group]) -> list[_Group]:
    """'7 PM ET / 4 PM PT' is one meeting told in two zones: keep the first telling."""
    kept: list[_Group] = []
    for group in groups:
        if (
            group.zone
            and group.times
            and group.times.opens
            and any(
                other.specs is group.specs
                and other.zone
                and other.zone != group.zone
                and other.times
                and other.times.opens
                and _same_instant(other.times.opens, other.zone, group.times.opens, group.zone)
                for other in kept
            )
        ):
            continue
        kept.append(group)
    return kept


def _same_instant(first: time, first_zone: str, second: time, second_zone: str) -> bool:
    """The same moment in two zones, in winter or in summer (zones change clocks on different dates)."""
    for reference in (date(2026, 1, 15), date(2026, 7, 15)):
        one = datetime.combine(reference, first, ZoneInfo(ZONE_ABBREVIATIONS[first_zone]))
        two = datetime.combine(reference, second, ZoneInfo(ZONE_ABBREVIATIONS[second_zone]))
        if one == two:
            return True
    return False


def _schedules(
    groups: list[_Group],
    default_timezone: str | None,
    notes: str | None,
    valid_from: date | None,
    valid_to: date | None,
) -> list[Schedule]:
    merged: dict[tuple[Freq, int, time | None, time | None, str | None], list[str]] = {}
    groups = _without_zone_conversions(groups)
    for group in groups:
        zone = ZONE_ABBREVIATIONS.get(group.zone) if group.zone else default_timezone
        opens = group.times.opens if group.times else None
        closes = group.times.closes if group.times else None
        for spec in group.specs:
            key = (spec.freq, spec.interval, opens, closes, zone)
            codes = merged.setdefault(key, [])
            codes.extend(code for code in spec.codes if code not in codes)
    schedules = []
    for (freq, interval, opens, closes, zone), codes in merged.items():
        schedules.append(
            Schedule(
                freq=freq,
                interval=interval,
                byday=tuple(sorted(codes, key=byday_order)),
                opens_at=opens,
                closes_at=closes,
                timezone=zone,
                notes=notes,
                valid_from=valid_from,
                valid_to=valid_to,
            )
        )
    return schedules


def byday_order(code: str) -> tuple[int, int]:
    """Week order for weekly codes; ordinal first (last = -1 after 5) for monthly ones: 1TU, 3TU, -1TU."""
    ordinal = code[:-2]
    rank = 0 if not ordinal else (6 if ordinal == "-1" else int(ordinal))
    return rank, WEEKDAY_CODES.index(code[-2:])
