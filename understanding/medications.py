"""Which of a patient's medications they mean: by name, brand, misspelling, or what it is for.

"my lisinopril", "the zestril", "ventilin", "my blood pressure pill", "the inhaler", "the 20 mg
one": names (generic or brand, near misses included) win over descriptions, and an active
prescription or one of the strength said is preferred when several fit. This module only reads
words against the prescriptions it is given; `portal_core.prescriptions` loads them, checks who
may see them, audits, and words what is found or not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from difflib import SequenceMatcher, get_close_matches
from typing import Protocol, TypeVar

from understanding.text import normalise


class Prescribed(Protocol):
    """What matching reads of a prescription (`portal_core.models.Prescription` has it)."""

    @property
    def medication(self) -> str: ...
    @property
    def strength(self) -> str: ...
    @property
    def instructions(self) -> str: ...
    @property
    def active(self) -> bool: ...


_Rx = TypeVar("_Rx", bound=Prescribed)

# How people name their medications. Lay phrases map to the generics (or, for dosage forms,
# words found in the name, strength or instructions) that identify them on a prescription.
LAY_TERMS: dict[str, tuple[str, ...]] = {
    "blood pressure": (
        "lisinopril", "amlodipine", "losartan", "valsartan", "olmesartan", "irbesartan",
        "hydrochlorothiazide", "chlorthalidone", "metoprolol", "atenolol", "carvedilol",
        "enalapril", "benazepril", "ramipril", "nifedipine", "diltiazem", "spironolactone",
        "clonidine", "hydralazine",
    ),
    "cholesterol": (
        "atorvastatin", "simvastatin", "rosuvastatin", "pravastatin", "lovastatin", "ezetimibe",
    ),
    "diabetes": (
        "metformin", "glipizide", "glimepiride", "glyburide", "insulin", "sitagliptin",
        "semaglutide", "dulaglutide", "liraglutide", "empagliflozin", "dapagliflozin",
        "pioglitazone",
    ),
    "thyroid": ("levothyroxine", "liothyronine", "methimazole"),
    "inhaler": ("inhaler", "inhalation", "inhale", "hfa", "puff", "diskus", "respimat"),
    "allergy": (
        "cetirizine", "loratadine", "fexofenadine", "montelukast", "fluticasone", "azelastine",
        "diphenhydramine", "hydroxyzine",
    ),
    "stomach": ("omeprazole", "pantoprazole", "esomeprazole", "famotidine", "ondansetron"),
    "mood": (
        "sertraline", "fluoxetine", "escitalopram", "citalopram", "bupropion", "venlafaxine",
        "duloxetine", "paroxetine", "buspirone", "trazodone",
    ),
    "pain": (
        "ibuprofen", "naproxen", "acetaminophen", "meloxicam", "tramadol", "oxycodone",
        "hydrocodone", "gabapentin", "cyclobenzaprine", "methocarbamol",
    ),
    "sleep": ("zolpidem", "trazodone", "melatonin", "eszopiclone"),
    "water pill": ("furosemide", "hydrochlorothiazide", "chlorthalidone", "spironolactone"),
    "blood thinner": ("warfarin", "apixaban", "rivaroxaban", "clopidogrel", "dabigatran"),
    "adhd": ("methylphenidate", "amphetamine", "dextroamphetamine", "lisdexamfetamine"),
    "birth control": ("norethindrone", "levonorgestrel", "drospirenone", "norgestimate"),
    "migraine": ("sumatriptan", "rizatriptan", "topiramate"),
    "antibiotic": (
        "amoxicillin", "azithromycin", "cephalexin", "doxycycline", "ciprofloxacin",
        "sulfamethoxazole", "clindamycin", "nitrofurantoin",
    ),
}  # fmt: skip
LAY_SYNONYMS: dict[str, str] = {
    "bp": "blood pressure",
    "hypertension": "blood pressure",
    "statin": "cholesterol",
    "lipid": "cholesterol",
    "sugar": "diabetes",
    "blood sugar": "diabetes",
    "diabetic": "diabetes",
    "puffer": "inhaler",
    "asthma": "inhaler",
    "rescue inhaler": "inhaler",
    "allergies": "allergy",
    "reflux": "stomach",
    "heartburn": "stomach",
    "acid": "stomach",
    "nausea": "stomach",
    "depression": "mood",
    "anxiety": "mood",
    "antidepressant": "mood",
    "painkiller": "pain",
    "pain killer": "pain",
    "pain pill": "pain",
    "sleeping pill": "sleep",
    "sleeping": "sleep",
    "insomnia": "sleep",
    "diuretic": "water pill",
    "anticoagulant": "blood thinner",
    "contraceptive": "birth control",
    "headache": "migraine",
    "antibiotics": "antibiotic",
}
BRAND_NAMES: dict[str, str] = {
    "zestril": "lisinopril", "prinivil": "lisinopril", "norvasc": "amlodipine",
    "cozaar": "losartan", "diovan": "valsartan", "toprol": "metoprolol",
    "lopressor": "metoprolol", "tenormin": "atenolol", "coreg": "carvedilol",
    "hctz": "hydrochlorothiazide", "microzide": "hydrochlorothiazide", "lasix": "furosemide",
    "lipitor": "atorvastatin", "zocor": "simvastatin", "crestor": "rosuvastatin",
    "zetia": "ezetimibe", "glucophage": "metformin", "januvia": "sitagliptin",
    "ozempic": "semaglutide", "trulicity": "dulaglutide", "jardiance": "empagliflozin",
    "synthroid": "levothyroxine", "levoxyl": "levothyroxine", "ventolin": "albuterol",
    "proair": "albuterol", "proventil": "albuterol", "flovent": "fluticasone",
    "flonase": "fluticasone", "advair": "fluticasone", "singulair": "montelukast",
    "zyrtec": "cetirizine", "claritin": "loratadine", "allegra": "fexofenadine",
    "prilosec": "omeprazole", "protonix": "pantoprazole", "nexium": "esomeprazole",
    "pepcid": "famotidine", "zofran": "ondansetron", "zoloft": "sertraline",
    "prozac": "fluoxetine", "lexapro": "escitalopram", "celexa": "citalopram",
    "wellbutrin": "bupropion", "effexor": "venlafaxine", "cymbalta": "duloxetine",
    "motrin": "ibuprofen", "advil": "ibuprofen", "aleve": "naproxen",
    "tylenol": "acetaminophen", "mobic": "meloxicam", "neurontin": "gabapentin",
    "flexeril": "cyclobenzaprine", "ambien": "zolpidem", "adderall": "amphetamine",
    "ritalin": "methylphenidate", "vyvanse": "lisdexamfetamine", "coumadin": "warfarin",
    "eliquis": "apixaban", "xarelto": "rivaroxaban", "plavix": "clopidogrel",
    "imitrex": "sumatriptan", "maxalt": "rizatriptan", "topamax": "topiramate",
    "epipen": "epinephrine", "amoxil": "amoxicillin", "zithromax": "azithromycin",
    "keflex": "cephalexin", "bactrim": "sulfamethoxazole", "valtrex": "valacyclovir",
}  # fmt: skip
_FILLER_WORDS = (
    "a an the my our his her their its me i we you he she they this that these those it "
    "is are was be want need needs would like to get some more again please can could "
    "order request refill refills renew renewal medication medications medicine medicines "
    "med meds pill pills tablet tablets capsule capsules prescription prescriptions rx "
    "for of on with and or one stuff thing"
)
_FILLER = frozenset(_FILLER_WORDS.split())
NAME_CUTOFF = 0.8
NAME_TIE_WINDOW = 0.05


def match_medications(text: str, prescriptions: Sequence[_Rx]) -> list[_Rx]:
    """The prescriptions `text` could mean, best first (empty when nothing fits)."""
    normal = normalise(text, possessives=True)
    tokens = normal.split()
    words = [t for t in tokens if t not in _FILLER and not t.isdigit() and len(t) >= 3]
    numbers = {t for t in tokens if t.replace(".", "", 1).isdigit()}

    scored = [(rx, _name_score(words, rx)) for rx in prescriptions]
    best = max((score for _, score in scored), default=0.0)
    if best >= NAME_CUTOFF:
        found = [rx for rx, score in scored if score >= best - NAME_TIE_WINDOW]
    else:
        found = [rx for rx in prescriptions if _fits_description(normal, words, rx)]
    found = _prefer(found, lambda rx: bool(rx.active))
    found = _prefer(found, lambda rx: bool(numbers & _numbers(rx.strength)))
    return found


def _prefer(items: list[_Rx], keep: Callable[[_Rx], bool]) -> list[_Rx]:
    """Narrow to the items that pass `keep`, unless none do."""
    narrowed = [item for item in items if keep(item)]
    return narrowed or items


def _generic_name(token: str) -> str:
    """Brand names (and near misses such as 'ventilin') stand for their generic."""
    if token in BRAND_NAMES:
        return BRAND_NAMES[token]
    if len(token) >= 5 and token not in _FILLER:
        close = get_close_matches(token, BRAND_NAMES, n=1, cutoff=0.85)
        if close:
            return BRAND_NAMES[close[0]]
    return token


def _name_score(words: Iterable[str], rx: Prescribed) -> float:
    """How well any spoken word matches any word of the medication's name (0 to 1)."""
    best = 0.0
    name_words = [w for w in normalise(rx.medication, possessives=True).split() if len(w) >= 3]
    spoken = {form for word in words for form in (word, _generic_name(word))}
    for word in spoken:
        for name_word in name_words:
            if word == name_word:
                return 1.0
            if len(word) >= 4 and name_word.startswith(word):
                score = 0.95
            else:
                score = SequenceMatcher(None, word, name_word).ratio()
            best = max(best, score)
    return best


_LAY_PHRASES = {**{term: term for term in LAY_TERMS}, **LAY_SYNONYMS}
_LAY_SINGLE_WORDS = [phrase for phrase in _LAY_PHRASES if " " not in phrase and len(phrase) >= 4]


def _fits_description(normal: str, words: Sequence[str], rx: Prescribed) -> bool:
    """Does a lay description in the text ("inhaler", "water pill") fit this prescription?"""
    terms = {_LAY_PHRASES[p] for p in _LAY_PHRASES if re.search(rf"\b{re.escape(p)}\b", normal)}
    for word in words:  # misspelled single-word descriptions: "inhailer", "thyriod"
        close = get_close_matches(word, _LAY_SINGLE_WORDS, n=1, cutoff=0.8)
        if close:
            terms.add(_LAY_PHRASES[close[0]])
    haystack = normalise(f"{rx.medication} {rx.strength} {rx.instructions}", possessives=True)
    return any(
        re.search(rf"\b{re.escape(marker)}", haystack)
        for term in terms
        for marker in LAY_TERMS[term]
    )


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"\d+(?:\.\d+)?", text))
