"""Which clinic or kind of visit a patient's words name: "peds", "the clinic in Germany",
"family medicine at Darnall", "a checkup for my son", "flu shot", typos included.

These functions only read words against the clinics and visit types they are handed, and return
the candidates; `portal_core.clinics` loads them, picks one or asks which, and words the answer.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from understanding.text import normalise

if TYPE_CHECKING:  # the views are only read, and `portal_core.clinics` imports this module
    from portal_core.clinics import AppointmentTypeView, ClinicView

# What people call a visit -> the appointment type's code. Phrases are matched as whole words
# after the same normalisation as the query (lower case, punctuation as spaces, plurals folded),
# longest phrase first, so "behavioral health follow up" wins over "follow up". Codes missing from
# the database fall back to the type whose name holds the code's words.
APPOINTMENT_TYPE_SYNONYMS: dict[str, str] = {
    # wellness
    "wellness": "wellness",
    "wellness visit": "wellness",
    "wellness exam": "wellness",
    "checkup": "wellness",
    "check up": "wellness",
    "annual": "wellness",
    "annual exam": "wellness",
    "annual checkup": "wellness",
    "annual check up": "wellness",
    "yearly checkup": "wellness",
    "yearly check up": "wellness",
    "routine visit": "wellness",
    "preventive visit": "wellness",
    "well visit": "wellness",
    # children and sports
    "well child": "well_child",
    "well child check": "well_child",
    "well baby": "well_child",
    "baby checkup": "well_child",
    "sports physical": "sports_physical",
    "school physical": "sports_physical",
    "camp physical": "sports_physical",
    # women's health
    "womens health": "womens_health",
    "well woman": "womens_health",
    "pap smear": "womens_health",
    # acute
    "acute": "acute",
    "acute visit": "acute",
    "acute care": "acute",
    "sick": "acute",
    "sick call": "acute",
    "sick visit": "acute",
    "same day": "acute",
    "same day appointment": "acute",
    "feeling sick": "acute",
    "not feeling well": "acute",
    # follow-up
    "follow up": "follow_up",
    "followup": "follow_up",
    "recheck": "follow_up",
    "re check": "follow_up",
    "check back": "follow_up",
    # periodic health assessment
    "physical": "pha",
    "physical exam": "pha",
    "pha": "pha",
    "periodic health assessment": "pha",
    "deployment physical": "pha",
    # behavioral health intake
    "behavioral health": "behavioral_health_intake",
    "behavioral health intake": "behavioral_health_intake",
    "behavioural health": "behavioral_health_intake",
    "bh intake": "behavioral_health_intake",
    "mental health": "behavioral_health_intake",
    "mental health intake": "behavioral_health_intake",
    "counseling": "behavioral_health_intake",
    "counselling": "behavioral_health_intake",
    "therapy": "behavioral_health_intake",
    "therapist": "behavioral_health_intake",
    # behavioral health follow-up
    "behavioral health follow up": "behavioral_health_follow_up",
    "bh follow up": "behavioral_health_follow_up",
    "therapy follow up": "behavioral_health_follow_up",
    "counseling follow up": "behavioral_health_follow_up",
    # other visits
    "telehealth": "telehealth",
    "video visit": "telehealth",
    "virtual visit": "telehealth",
    "medication review": "medication_review",
    "med review": "medication_review",
    "medication check": "medication_review",
    # immunizations
    "immunization": "immunization",
    "vaccine": "immunization",
    "vaccination": "immunization",
    "shot": "immunization",
    "flu shot": "immunization",
}

# Spoken shorthand for clinic names, expanded before matching (normalised phrase -> words).
CLINIC_ALIASES: dict[str, str] = {
    "peds": "pediatrics",
    "pedes": "pediatrics",
    "kids": "pediatrics",
    "children": "pediatrics",
    "fm": "family medicine",
    "family practice": "family medicine",
    "family doctor": "family medicine",
    "obgyn": "obstetrics gynecology",
    "ob gyn": "obstetrics gynecology",
    "ob": "obstetrics",
    "gyn": "gynecology",
    "women": "womens health",
    "mental health": "behavioral health",
    "bh": "behavioral health",
}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Countries people name instead of a base ("the clinic in Germany"), by ISO country code.
COUNTRY_NAMES: dict[str, str] = {
    "BH": "bahrain",
    "BE": "belgium",
    "CU": "cuba guantanamo",
    "DE": "germany",
    "ES": "spain",
    "GB": "england britain uk",
    "GU": "guam",
    "IT": "italy",
    "JP": "japan",
    "KR": "korea south korea",
    "TR": "turkey",
}

_CLINIC_FILLER = _words(
    "the a an clinic at in on of my our for to please i want need go see with hospital "
    "base facility mtf medical center centre department dept"
)
_TYPE_FILLER = _words(
    "the a an my our for to please i want need book schedule make get set up appointment "
    "appt visit exam one new"
)


def clinic_candidates(raw: str, clinics: list[ClinicView]) -> list[ClinicView]:
    """The clinics `raw` may name, one when it names one; all of them when it names nothing
    specific ("the clinic"); none when it fits none (then see `closest_clinics`)."""
    wanted = normalise(raw)
    exact = [
        c for c in clinics if wanted in (normalise(c.code), normalise(c.name), normalise(c.label))
    ]
    if len(exact) == 1:
        return exact
    tokens = _clinic_query_tokens(raw)
    if not tokens:
        return clinics
    haystacks = {c.id: _clinic_tokens(c) for c in clinics}
    vocabulary = set().union(*haystacks.values())
    for attempt in (tokens, _corrected(tokens, vocabulary)):
        found = [c for c in clinics if attempt <= haystacks[c.id]]
        if found:
            named = [c for c in found if attempt == _content_tokens(c.name, _CLINIC_FILLER)]
            return named if len(named) == 1 else found
    return []


def type_candidates(raw: str, types: list[AppointmentTypeView]) -> list[AppointmentTypeView]:
    """The kinds of visit `raw` may name (none when it fits none)."""
    wanted = normalise(raw)
    exact = [t for t in types if wanted in (normalise(t.code), normalise(t.name))]
    if len(exact) == 1:
        return exact
    words = _tokens(raw)
    codes = _synonym_codes(words)
    if codes:
        found = [t for code in codes for t in _types_for_code(types, code)]
        if found:
            return found
    content = {w for w in words if w not in _TYPE_FILLER}
    haystacks = {t.id: _type_tokens(t) for t in types}
    vocabulary = set().union(*haystacks.values())
    for attempt in (content, _corrected(content, vocabulary)) if content else ():
        found = [t for t in types if attempt <= haystacks[t.id]]
        if found:
            return found
    return []


def _stem(word: str) -> str:
    """Fold simple plurals so 'pediatric' and 'pediatrics', 'shot' and 'shots' agree."""
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _tokens(text: str) -> list[str]:
    return [_stem(w) for w in normalise(text).split()]


def _content_tokens(text: str, filler: frozenset[str]) -> set[str]:
    return {w for w in _tokens(text) if w not in filler}


def _expand(text: str, aliases: dict[str, str]) -> str:
    normal = f" {normalise(text)} "
    for phrase in sorted(aliases, key=len, reverse=True):
        normal = normal.replace(f" {phrase} ", f" {aliases[phrase]} ")
    return normal.strip()


def _clinic_query_tokens(raw: str) -> set[str]:
    return _content_tokens(_expand(raw, CLINIC_ALIASES), _CLINIC_FILLER)


def _initials(text: str) -> str:
    skip = {"of", "the", "and", "at"}
    return "".join(w[0] for w in normalise(text).split() if w not in skip)


def _clinic_tokens(clinic: ClinicView) -> set[str]:
    country = COUNTRY_NAMES.get(clinic.country, "")
    words = " ".join(
        (clinic.name, clinic.facility, clinic.city, clinic.code, clinic.service, country)
    )
    return set(_tokens(words)) | {
        _initials(clinic.facility),
        normalise(clinic.code).replace(" ", ""),
    }


def _type_tokens(appointment_type: AppointmentTypeView) -> set[str]:
    return set(_tokens(f"{appointment_type.name} {appointment_type.code}"))


def _corrected(tokens: set[str], vocabulary: set[str]) -> set[str]:
    """Replace each unknown word with its closest known word (typos such as 'pediatircs')."""
    fixed = set()
    for token in tokens:
        if token in vocabulary or len(token) < 4:
            fixed.add(token)
            continue
        close = difflib.get_close_matches(token, vocabulary, n=1, cutoff=0.8)
        fixed.add(close[0] if close else token)
    return fixed


# Words that name a kind of visit only when nothing more specific is said: "well child checkup" is
# a well-child visit, not "a well-child visit or a wellness exam?".
GENERIC_TYPE_PHRASES = frozenset({"checkup", "check up", "annual", "physical", "physical exam"})


def _synonym_codes(words: list[str]) -> list[str]:
    """Codes of the synonym phrases in `words`, longest phrases first, without overlaps; a
    generic phrase ("checkup") counts only when no specific one was said."""
    phrases = sorted(
        ((tuple(_tokens(p)), code) for p, code in APPOINTMENT_TYPE_SYNONYMS.items()),
        key=lambda item: len(item[0]),
        reverse=True,
    )
    generic = {tuple(_tokens(p)) for p in GENERIC_TYPE_PHRASES}
    taken = [False] * len(words)
    codes: list[str] = []
    specific: list[str] = []
    for phrase, code in phrases:
        n = len(phrase)
        for i in range(len(words) - n + 1):
            if tuple(words[i : i + n]) == phrase and not any(taken[i : i + n]):
                taken[i : i + n] = [True] * n
                if code not in codes:
                    codes.append(code)
                if phrase not in generic and code not in specific:
                    specific.append(code)
    return specific or codes


def _types_for_code(types: list[AppointmentTypeView], code: str) -> list[AppointmentTypeView]:
    by_code = [t for t in types if t.code == code]
    if by_code:
        return by_code
    words = set(_tokens(code))
    return [t for t in types if words <= _type_tokens(t)]


def closest_clinics(clinics: list[ClinicView], raw: str, limit: int) -> list[ClinicView]:
    """The `limit` clinics whose name, facility or city reads most like `raw`, to offer."""
    wanted = normalise(raw)

    def score(clinic: ClinicView) -> float:
        return max(
            difflib.SequenceMatcher(None, wanted, normalise(text)).ratio()
            for text in (clinic.name, clinic.facility, clinic.city)
        )

    return sorted(clinics, key=score, reverse=True)[:limit]
