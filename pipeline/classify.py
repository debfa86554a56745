"""What a group is about and for whom, how people attend, and what it costs: words → controlled values."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

from schemas.vocab import Audience, Cost, Format, Status, Topic

E = TypeVar("E", Topic, Audience)

# Word patterns for topics and audiences, matched on the name and description together.
# Measured against tests/data/listing_labels.jsonl by `python -m tests.benchmarks.classify_accuracy`.
# People supporting someone: a family group's topic and its audience. Names of clinics and services are not families.
_FAMILY_WORDS = re.compile(
    r"\bfamil(?:y|ies)\b(?! medicine| practice| doctor| services?| cent(?:er|re)| health| counsel| clinic| room)"
    r"|\bcarers?\b|\bcaregiv|\bloved ones?\b|\bparents of\b|\bspouses?\b|\bpartners of\b|\bsiblings?\b"
    r"|\bfamiliares\b|\bfamilias\b|\bseres queridos\b|\bpadres de\b",
)
TOPIC_PATTERNS: dict[Topic, re.Pattern[str]] = {
    Topic.DEPRESSION: re.compile(r"(?<!manic[\s-])\bdepress|\bdepresi[oó]n\b"),
    Topic.BIPOLAR: re.compile(r"\bbi-?polar\b|\bmanic\b|\bbipolaridad\b"),
    Topic.ANXIETY: re.compile(r"\banxi|\bpanic\b|\bphobia|\bworr(?:y|ies|ying)\b|\bansiedad\b"),
    Topic.PSYCHOSIS: re.compile(
        r"\bpsychos[ie]s|\bpsychotic\b|\bschizo|\besquizofren|\bhearing voices\b|\bvoices\b.*\bvisions\b|\bparanoi"
        r"|\bunusual beliefs\b|\bextreme states\b|\bpsicosis\b",
    ),
    Topic.OCD: re.compile(r"\bocd\b|\bobsessive|\bcompulsive\b|\bbfrbs?\b|\btrichotillomania\b|\bskin[\s-]picking\b"),
    Topic.PTSD: re.compile(r"\bc?-?ptsd\b|\btept\b|\btrauma|\bpost-?traumatic\b|\bsexual (?:assault|abuse)\b"),
    Topic.EATING_DISORDERS: re.compile(
        r"\beating disorders?\b|\banorexi|\bbulimi|\bbinge[\s-]eating\b|\barfid\b|\bed recovery\b"
    ),
    Topic.SUICIDE_LOSS: re.compile(
        r"\bsuicide (?:loss|bereave|survivors?)|\bsurvivors of suicide\b|\blost (?:a loved one |someone )?to suicide\b"
        r"|\b(?:loss|death)s? (?:to|by|from) suicide\b|\bafter (?:a )?suicide\b(?! attempt)|\bsuicide grief\b"
        r"|\bsuicide of a loved one\b|\bp[ée]rdida (?:por|a causa del?) suicidio\b|\bsobrevivientes\b.*\bsuicidio\b",
    ),
    Topic.GRIEF: re.compile(
        r"\bgrie(?:f|v)|\bbereave|\bmourning\b|\bloss of (?:a |your )?(?:loved one|child|spouse|partner|parent|baby)"
        r"|\b(?:pregnancy|infant|child|baby) loss\b|\bwidow|\bduelo\b",
    ),
    Topic.POSTPARTUM: re.compile(
        r"\bpost-?partum|\bperinatal|\bprenatal|\bantenatal|\bmaternal mental|\bpmads?\b|\bnew (?:and expecting )?"
        r"(?:parents|moms|mothers|dads)\b|\bexpecting (?:parents|moms|mothers)\b|\bpregnan(?!cy (?:and |& )?(?:infant )?loss)|\bnicu\b|\bposparto\b"
        r"|\bbirth trauma\b|\bchildbirth\b|\bperinatal\b",
    ),
    Topic.FAMILY: _FAMILY_WORDS,
    Topic.SUBSTANCE_USE: re.compile(
        r"\bco-?occurring|\bdual (?:diagnosis|recovery)\b|\brecuperaci[óo]n dual\b|\bsubstance|\baddict|\balcohol(?![\s-]free)|\bdrinking\b|\bdrug use\b"
        r"|\bdouble trouble\b|\bsobriety\b|\brecovery from (?:alcohol|drugs)",
    ),
    Topic.HOARDING: re.compile(r"\bhoard|\bclutter"),
    Topic.BPD: re.compile(r"\bbpd\b|\bborderline\b"),
    Topic.GENERAL_MENTAL_HEALTH: re.compile(
        r"\bmental (?:health|illness|illnesses|wellness)\b|\bmood disorders?\b|\bemotional (?:health|wellness|difficult"
        r"|problems|struggles|well-?being)|\bemotions anonymous\b|\bwellness\b|\bsalud mental\b|\bpsychiatric\b"
        r"|\bany (?:diagnosis|condition)\b|\ball diagnoses\b|\bsant[ée] mentale\b|\bsa[úu]de mental\b"
        r"|\bbienestar emocional\b|\bs[ứu]c kh[ỏo]e t[âa]m th[ầa]n\b|\bself-?harm|\bself-?injur|\bsuicid(?:e attempt|al)"
        r"|\bburn-?out\b|\bstress\b",
    ),
}
_SPECIFIC_TOPICS = frozenset(TOPIC_PATTERNS) - {Topic.FAMILY, Topic.GENERAL_MENTAL_HEALTH}
# "Any mental or emotional challenge — stress, fears, worry": the examples do not make it an anxiety group.
_GENERAL_ONLY = re.compile(
    r"\bany (?:mental|emotional|mental or emotional|mental health)[\w\s]{0,20}?(?:challenges?|conditions?|issues?"
    r"|concerns?|struggles?|difficult(?:y|ies))\b|\bgeneral (?:wellness|mental health|support)\b",
)
# "any mental health condition", "all diagnoses welcome": general on top of the conditions named.
_ANY_CONDITION = re.compile(r"\bany (?:mental health )?(?:condition|diagnosis|challenge)|\ball diagnoses\b")

AUDIENCE_PATTERNS: dict[Audience, re.Pattern[str]] = {
    Audience.FAMILY: _FAMILY_WORDS,
    Audience.LGBTQIA: re.compile(
        r"\blgbt|\b2slgbt|\bqueer\b|\btrans(?:gender)?\b|\bnon-?binary\b|\bgay\b|\blesbian|\bbisexual"
    ),
    Audience.WOMEN: re.compile(
        r"\bwomen'?s?\b|\bwomxn\b|\bmujeres\b|\bfemale\b|\bmoms?\b|\bmums?\b|\bmothers?\b|\bmadres?\b|\bm[ãa]es\b",
    ),
    Audience.MEN: re.compile(r"(?<!wo)\bmen'?s?\b|\bdads?\b|\bfathers\b|\bhombres\b|\bmale\b"),
    Audience.YOUNG_ADULTS: re.compile(
        r"\byoung adults?\b|\bcollege\b|\buniversity students\b|\bages? 18\s*(?:-|–|to)\s*(?:2\d|3\d)\b"
        r"|\b(?:18|19|20)\s*(?:-|–|to)\s*(?:2[4-9]|3\d)\b|\bj[oó]venes\b|\bemerging adults\b",
    ),
    Audience.TEENS: re.compile(
        r"\bteens?\b|\bteenagers?\b|\badolescen|\bhigh school|\bages? 1[2-5]\s*(?:-|–|to)\s*1[6-9]\b|\byouth\b"
        r"|\bmiddle school",
    ),
    Audience.SENIORS: re.compile(
        r"\bseniors?\b|\bolder adults?\b|\belders?\b|\b(?:50|55|60|65)\s*\+|\b(?:50|55|60|65) and (?:over|older)\b"
        r"|\blater life\b|\bretirees?\b",
    ),
    Audience.VETERANS: re.compile(
        r"\bveterans?\b|\bmilitary\b|\bservice ?members?\b|\bvets\b|\bnational guard\b|\barmed forces\b"
    ),
    Audience.BIPOC: re.compile(
        r"\bbipoc\b|\bpeople of colou?r\b|\bblack\b(?! ?(?:tie|friday))|\bafrican[\s-]american|\blatin[xoae]\b|\blatine\b"
        r"|\bhispanic\b|\basian[\s-]american|\baapi\b|\bindigenous\b|\bnative american\b|\bfirst nations\b"
        r"|\b(?:korean|chinese|vietnamese|filipino|south asian|arab|muslim)[\s-]american",
    ),
    Audience.SPANISH_SPEAKERS: re.compile(
        r"\ben español\b|\bin spanish\b|\bspanish[\s-](?:speaking|language)\b|\bhispanohablantes?\b"
        r"|\bse habla español\b",
    ),
}
# "Parents of teens" is a family group, not a teen group: the people named after "parents of" are not the audience.
_PARENTS_OF = re.compile(
    r"\b(?:parents?|families|family members|caregivers|carers) of (?:\w+ ){0,3}?(?:teens?|teenagers|children|kids"
    r"|youth|young adults|adolescents|veterans|service members|adult children)\b",
)

# Meeting Guide type codes (code4recovery/spec types.json) that speak to audience, topic or language.
MEETING_GUIDE_AUDIENCES: dict[str, Audience] = {
    "W": Audience.WOMEN,
    "M": Audience.MEN,
    "LGBTQ": Audience.LGBTQIA,
    "G": Audience.LGBTQIA,
    "L": Audience.LGBTQIA,
    "BI": Audience.LGBTQIA,
    "T": Audience.LGBTQIA,
    "NB": Audience.LGBTQIA,
    "Y": Audience.YOUNG_ADULTS,
    "SEN": Audience.SENIORS,
    "POC": Audience.BIPOC,
    "N": Audience.BIPOC,
    "NDG": Audience.BIPOC,
    "S": Audience.SPANISH_SPEAKERS,
}
MEETING_GUIDE_TOPICS: dict[str, Topic] = {"DD": Topic.SUBSTANCE_USE}
MEETING_GUIDE_LANGUAGES: dict[str, str] = {
    "AF": "af", "AM": "am", "AR": "ar", "BG": "bg", "DA": "da", "DE": "de", "EL": "el", "EN": "en", "FA": "fa",
    "FI": "fi", "FR": "fr", "HE": "he", "HI": "hi", "HR": "hr", "HU": "hu", "IS": "is", "ITA": "it", "JA": "ja",
    "KA": "ka", "KOR": "ko", "LT": "lt", "ML": "ml", "MT": "mt", "NE": "ne", "NL": "nl", "NO": "no", "POL": "pl",
    "POR": "pt", "PUN": "pa", "RUS": "ru", "S": "es", "SK": "sk", "SL": "sl", "SV": "sv", "TH": "th", "TL": "tl",
    "TUR": "tr", "UK": "uk",
}  # fmt: skip

_FORMAT_WORDS: dict[str, Format] = {
    "in_person": Format.IN_PERSON, "in person": Format.IN_PERSON, "in-person": Format.IN_PERSON,
    "inperson": Format.IN_PERSON, "offline": Format.IN_PERSON,
    "online": Format.ONLINE, "virtual": Format.ONLINE, "remote": Format.ONLINE, "zoom": Format.ONLINE,
    "hybrid": Format.HYBRID, "mixed": Format.HYBRID,
}  # fmt: skip


def _folded(*texts: str | None) -> str:
    """The texts joined and case-folded once: every pattern here is written in lower case, without re.I (which
    costs a third more per search)."""
    return " ".join(text for text in texts if text).casefold()


def classify_topics(*texts: str | None) -> list[Topic]:
    """Every topic the words name; a suicide-loss group is a grief group too."""
    joined = _folded(*texts)
    found = [topic for topic, pattern in TOPIC_PATTERNS.items() if pattern.search(joined)]
    if Topic.SUICIDE_LOSS in found and Topic.GRIEF not in found:
        found.append(Topic.GRIEF)
    return found


# One pass over the text says whether any audience is named at all; most listings name none, and then the ten
# patterns below are not run one by one.
_ANY_AUDIENCE = re.compile("|".join(f"(?:{pattern.pattern})" for pattern in AUDIENCE_PATTERNS.values()))


def classify_audiences(*texts: str | None) -> list[Audience]:
    joined = _folded(*texts)
    if not _ANY_AUDIENCE.search(joined) and not _PARENTS_OF.search(joined):
        return []
    family = bool(_PARENTS_OF.search(joined))
    joined = _PARENTS_OF.sub(" family ", joined)
    found = [audience for audience, pattern in AUDIENCE_PATTERNS.items() if pattern.search(joined)]
    if family and Audience.FAMILY not in found:
        found.insert(0, Audience.FAMILY)
    return found


_LANGUAGE_NAMES: dict[str, str] = {
    "english": "en", "spanish": "es", "español": "es", "espanol": "es", "french": "fr", "français": "fr",
    "german": "de", "portuguese": "pt", "português": "pt", "chinese": "zh", "mandarin": "zh", "cantonese": "zh",
    "vietnamese": "vi", "korean": "ko", "arabic": "ar", "russian": "ru", "polish": "pl", "italian": "it",
    "japanese": "ja", "tagalog": "tl", "hindi": "hi", "urdu": "ur", "farsi": "fa", "persian": "fa",
    "haitian creole": "ht", "creole": "ht", "somali": "so", "amharic": "am", "asl": "ase", "american sign language": "ase",
}  # fmt: skip
_LANGUAGE_IN_TEXT = re.compile(
    r"\b(?:in|en|conducted in|held in|spoken in|language:)\s+(?P<name>"
    + "|".join(sorted((re.escape(name) for name in _LANGUAGE_NAMES), key=len, reverse=True))
    + r")\b|\b(?P<adj>"
    + "|".join(sorted((re.escape(name) for name in _LANGUAGE_NAMES), key=len, reverse=True))
    + r")[\s-](?:speaking|speakers|language)\b",
)
_SPANISH_WORDS = re.compile(r"\b(?:grupo|apoyo|para|personas|familias|reuni[oó]n|salud|español|gratis|cada|los|las)\b")


def detect_language(stated: str | None, types: list[str], *texts: str | None) -> str | None:
    """ISO 639-1 code of the language the group meets in: the source's field, a type code, the text, else English."""
    if stated:
        key = stated.strip().casefold()
        if key in _LANGUAGE_NAMES:
            return _LANGUAGE_NAMES[key]
        if len(key) == 2 and key.isalpha():
            return key
    for code in types:
        if code.upper() in MEETING_GUIDE_LANGUAGES and code.upper() != "EN":
            return MEETING_GUIDE_LANGUAGES[code.upper()]
    joined = _folded(*texts)
    match = _LANGUAGE_IN_TEXT.search(joined)
    if match:
        return _LANGUAGE_NAMES[(match["name"] or match["adj"]).casefold()]
    if len(_SPANISH_WORDS.findall(joined)) >= 3:
        return "es"
    return "en" if joined.strip() else None


_FAITH = re.compile(
    r"\bchrist[\s-]?(?:cent(?:er|re)d|ian)\b|\bfaith[\s-]based\b|\bbiblical|\bbible\b|\bscripture|\bpray(?:er|ers|ing)?\b"
    r"|\bministr(?:y|ies)\b|\bgospel\b|\bjesus\b|\bgod'?s\b|\bcelebrate recovery\b|\bgriefshare\b|\bspiritual(?:ity)?\b"
    r"|\bchurch[\s-](?:based|run|led|sponsored)\b|\bpastor(?:al)?\b|\bcatholic\b|\bparish ministry\b|\bfaith community\b",
)
_SECULAR = re.compile(
    r"\bsecular\b|\bnon-?religious\b|\bnot (?:a church|affiliated with (?:the|any) church|religious)"
    r"|\bno religious\b|\ball (?:faiths|beliefs) (?:and none|welcome)",
)


def detect_faith_based(types: list[str], *texts: str | None) -> bool | None:
    joined = _folded(*texts)
    if "A" in {code.upper() for code in types} or _SECULAR.search(joined):
        return False
    if _FAITH.search(joined):
        return True
    return None


_PROFESSIONAL = re.compile(
    r"\btherapists?\b|\bclinicians?\b|\bclinical(?:ly)?\b|\bcounsel(?:l)?ors?\b|\bsocial workers?\b|\blcsw\b|\blmft\b"
    r"|\blpcc?\b|\bmsw\b|\bpsychologists?\b|\bpsychiatrists?\b|\blicensed\b|\bprofessionally (?:led|facilitated)\b"
    r"|\bmental health professionals?\b|\bnurses?\b|\bph\.?d\b|\bpsy\.?d\b|\bled by (?:a |our )?(?:professional|staff)\b",
)
_PEER = re.compile(
    r"\bpeer[\s-](?:led|run|facilitated|support|group|specialists?|facilitators?|mentors?)\b|\blived experience\b"
    r"|\btrained (?:peer |volunteer )?(?:facilitators?|leaders?|volunteers?)\b|\b12[\s-]step\b|\banonymous\b"
    r"|\bself[\s-]help\b|\bmutual (?:aid|support)\b|\bby and for\b|\bvolunteer[\s-]led\b",
)


def detect_led_by(types: list[str], *texts: str | None) -> str | None:
    """'professional' when a clinician runs it, 'peer' when people with lived experience do, else None."""
    joined = _folded(*texts)
    if _PROFESSIONAL.search(joined):
        return "professional"
    if _PEER.search(joined) or types:
        return "peer"  # Meeting Guide meetings are fellowship meetings: peer-run by definition
    return None


_DROP_IN = re.compile(
    r"\bdrop[\s-]?in\b|\bwalk[\s-]?ins?\b|\bno (?:need to |pre-?)?regist|\bregistration (?:is )?not (?:required|needed)"
    r"|\bjust (?:show up|come|drop by)\b|\bno sign[\s-]?up\b|\bno rsvp\b|\bno appointment\b|\bcome as you are\b"
    r"|\bno need to (?:call|rsvp|sign up)\b|\bopen to all,? no",
)
_REGISTER = re.compile(
    r"\bregist(?:er|ration)\b|\bpre-?regist|\brsvp\b|\bsign[\s-]?up\b|\bintake\b|\bscreening (?:call|interview)\b"
    r"|\b(?:call|email|e-mail|contact|text)\b[^.]{0,60}\b(?:to (?:join|register|attend|receive|get)|for (?:the|a) "
    r"(?:link|zoom|login|location|address))|\b(?:link|address|location) (?:is )?(?:sent|provided|given) (?:after|upon|once)"
    r"|\bspace is limited\b|\bmust (?:call|register|sign up|contact)\b|\binscri",
)


def detect_registration(*texts: str | None) -> str | None:
    joined = _folded(*texts)
    if _DROP_IN.search(joined):
        return "drop_in"
    if _REGISTER.search(joined):
        return "required"
    return None


def vocabulary_values(values: list[str], vocabulary: type[E]) -> tuple[list[E], list[str]]:
    """Source-given values that are in our vocabulary, and those that are not (kept, counted)."""
    known: list[E] = []
    unknown: list[str] = []
    for value in values:
        key = value.strip().casefold().replace(" ", "_").replace("-", "_")
        try:
            known.append(vocabulary(key))
        except ValueError:
            unknown.append(value)
    return known, unknown


def parse_format(
    word: str | None, *, has_place: bool, has_online: bool, types: list[str]
) -> tuple[Format | None, Status | None, bool]:
    """(format, status if the source implies one, whether the source's own word was unusable).

    Meeting Guide's rule: a listing is online only if it has a join link or phone. `TC` means the venue is
    temporarily closed: with a join link the group meets online, without one it is temporarily closed.
    """
    codes = {code.upper() for code in types}
    stated = None
    invalid = False
    status = None
    if word:
        key = word.strip().casefold()
        if key == "inactive":
            status = Status.INACTIVE
        else:
            stated = _FORMAT_WORDS.get(key)
            invalid = stated is None
    if "TC" in codes:
        if has_online:
            return Format.ONLINE, status, invalid
        return (Format.IN_PERSON if has_place else None), Status.TEMPORARILY_CLOSED, invalid
    if stated in (Format.ONLINE, Format.HYBRID) and not has_online:
        # Said to be online, but no way to join is published: it can only be attended in person, if at all.
        return (Format.IN_PERSON if has_place else None), status, True
    if stated is not None:
        if stated is Format.IN_PERSON and has_online:
            return Format.HYBRID, status, invalid
        return stated, status, invalid
    if "ONL" in codes and has_online and not has_place:
        return Format.ONLINE, status, invalid
    if has_place and has_online:
        return Format.HYBRID, status, invalid
    if has_online:
        return Format.ONLINE, status, invalid
    if has_place:
        return Format.IN_PERSON, status, invalid
    return None, status, invalid


_NOT_FREE = re.compile(r"\b(?:not|isn't|isnt|never)\s+free\b")
# "free" that describes something else: parking, childcare, refreshments, Wi-Fi.
_FREE_OTHER = re.compile(
    r"\bfree[\s-]will\b|\bfree\s+(?:parking|child\s?care|childminding|refreshments|snacks|coffee|tea|wi-?fi|pizza|dinner|lunch"
    r"|resources?|materials?|literature|workbooks?|consultations?|screenings?|transport\w*|to\s+(?:leave|join|bring))"
    r"|\bfeel\s+free\b|\bfree\s+(?:of|from)\s+(?!charge)|\bfreedom\b|\b(?:smoke|alcohol|drug|scent|fragrance|judgment|stigma)"
    r"[\s-]free\b|\btoll[\s-]free\b",
)
_FREE = re.compile(
    r"\bfree\b|\bno\s+(?:cost|fee|charge)\b|\bat\s+no\s+(?:cost|charge)\b|\bno[\s-]cost\b|\bgratis\b"
    r"|\bgratuito\b|\bsin\s+costo\b|\bcost:\s*(?:none|nothing|\$?0(?:\.00)?)\b",
)
_DONATION = re.compile(
    r"\bdonations?\b|\bpay\s+what\s+you\s+(?:can|wish)\b|\bsliding\s+scale\b|\bfree[\s-]will\s+offering\b"
    r"|\b7th\s+tradition\b|\bseventh\s+tradition\b|\bsuggested\s+contribution\b|\bpass\s+the\s+hat\b",
)
_MONEY = re.compile(r"[$£€]\s*(?!0(?:\.00)?\b)\d|\b[1-9]\d*\s*(?:dollars|pounds|euros|usd|gbp)\b")
_ZERO_PAID = re.compile(r"\bno\s+(?:fees?|charge)\b|\bfee[\s-]free\b|\bwithout\s+(?:a\s+)?fee\b")


_FEE_WORDS = re.compile(r"\b(?:fees?|tuition|per\s+(?:session|week|class|person|meeting|month))\b")


def parse_cost(cost: str | None, description: str | None) -> Cost:
    """Free, donation or paid where the source says so; unknown otherwise (unknown is not free).

    A price beats "free" ("free parking, $10 per session" is paid); "donations welcome" beside "free" is still free
    to attend; "not free", "free parking", "feel free", "toll-free" are not free.
    """
    for original in (cost, description):
        if not original:
            continue
        text = original.casefold()
        cleaned = _FREE_OTHER.sub(" ", text)
        priced = bool(_MONEY.search(cleaned)) or (bool(_FEE_WORDS.search(cleaned)) and not _ZERO_PAID.search(cleaned))
        donation = bool(_DONATION.search(text))
        if _NOT_FREE.search(cleaned):
            return Cost.DONATION if donation and not _FEE_WORDS.search(cleaned) else Cost.PAID
        if priced and donation and not _FEE_WORDS.search(cleaned):
            return Cost.DONATION  # "$10 suggested donation"
        if priced:
            return Cost.PAID
        if _FREE.search(cleaned):
            return Cost.FREE
        if donation:
            return Cost.DONATION
    return Cost.UNKNOWN


_CARERS = re.compile(r"\bcarers?\b|\bcaregiv|\bfamily members of\b|\bfamilies of (?:people|those|someone)")
_OTHER_PARENTS = re.compile(r"\bdads?\b|\bfathers?\b|\bparents\b|\bpartners\b|\bfamilies\b|\bpadres\b")


def _topic_rules(topics: list[Topic], text: str, general_stated: bool) -> list[Topic]:
    """How the topics of one listing fit together."""
    found = set(topics)
    if found & {Topic.GRIEF, Topic.SUICIDE_LOSS}:
        # In a grief group "loved ones" are the people who died; it is not a family-carers group.
        found.discard(Topic.FAMILY)
    if Topic.POSTPARTUM in found:
        # Perinatal mood and anxiety disorders are the postpartum topic.
        found -= {Topic.DEPRESSION, Topic.ANXIETY}
    if _GENERAL_ONLY.search(text) and not general_stated:
        found = {topic for topic in found if topic not in (Topic.ANXIETY, Topic.DEPRESSION)}
        found.add(Topic.GENERAL_MENTAL_HEALTH)
    # "A group for people with depression, a mental health condition": the condition is the topic, unless the
    # group says it is for any condition.
    specific = bool(found & _SPECIFIC_TOPICS)
    if Topic.GENERAL_MENTAL_HEALTH in found and specific and not general_stated and not _ANY_CONDITION.search(text):
        found.discard(Topic.GENERAL_MENTAL_HEALTH)
    if not found & _SPECIFIC_TOPICS:
        # A peer-support listing that names no condition (or only families) is about mental health in general.
        found.add(Topic.GENERAL_MENTAL_HEALTH)
    return [topic for topic in TOPIC_PATTERNS if topic in found]


@dataclass(frozen=True)
class Classification:
    topics: tuple[Topic, ...]
    audiences: tuple[Audience, ...]
    cost: Cost
    language: str | None
    faith_based: bool | None
    led_by: str | None
    registration: str | None
    unknown_topics: tuple[str, ...]
    unknown_audiences: tuple[str, ...]


def classify_listing(
    *,
    name: str,
    description: str | None,
    types: list[str],
    source_topics: list[str],
    source_audiences: list[str],
    cost: str | None,
    language: str | None,
) -> Classification:
    """Everything about what a group is and for whom, from its words, its type codes and the source's defaults."""
    return _classify(name, description, tuple(types), tuple(source_topics), tuple(source_audiences), cost, language)


@lru_cache(maxsize=65536)
def _classify(
    name: str,
    description: str | None,
    types: tuple[str, ...],
    source_topics: tuple[str, ...],
    source_audiences: tuple[str, ...],
    cost: str | None,
    language: str | None,
) -> Classification:
    # Cached: national programmes publish one description for hundreds of local groups. The result is frozen.
    codes = [code.upper() for code in types]
    stated_topics, unknown_topics = vocabulary_values(list(source_topics), Topic)
    stated_audiences, unknown_audiences = vocabulary_values(list(source_audiences), Audience)
    text = _folded(name, description)
    topics = _union(stated_topics, [MEETING_GUIDE_TOPICS[c] for c in codes if c in MEETING_GUIDE_TOPICS],
                    classify_topics(text))  # fmt: skip
    topics = _topic_rules(topics, text, Topic.GENERAL_MENTAL_HEALTH in stated_topics)
    audiences = _union(stated_audiences, [MEETING_GUIDE_AUDIENCES[c] for c in codes if c in MEETING_GUIDE_AUDIENCES],
                       classify_audiences(text))  # fmt: skip
    if Topic.GRIEF in topics and Audience.FAMILY in audiences and not _CARERS.search(text):
        audiences.remove(Audience.FAMILY)  # the bereaved, not carers
    if Topic.POSTPARTUM in topics and Audience.WOMEN not in audiences and not _OTHER_PARENTS.search(text):
        audiences.append(Audience.WOMEN)  # perinatal groups are for mothers unless they say otherwise
    detected_language = detect_language(language, list(types), text)
    if detected_language == "es" and Audience.SPANISH_SPEAKERS not in audiences:
        audiences.append(Audience.SPANISH_SPEAKERS)
    return Classification(
        topics=tuple(topics),
        audiences=tuple(audiences),
        cost=parse_cost(cost, description),
        language=detected_language,
        faith_based=detect_faith_based(list(types), text),
        led_by=detect_led_by(list(types), text),
        registration=detect_registration(description),
        unknown_topics=tuple(unknown_topics),
        unknown_audiences=tuple(unknown_audiences),
    )


def _union(*lists: list[E]) -> list[E]:
    seen: list[E] = []
    for values in lists:
        for value in values:
            if value not in seen:
                seen.append(value)
    return seen
