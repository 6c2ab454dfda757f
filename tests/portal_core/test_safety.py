"""Emergency and crisis detection: both sides of the line, the wording, and the care-team alert.

The phrasings here are deliberately not in eval/safety_corpus.tsv (a test checks that), so they
exercise the patterns' generality rather than the corpus the lexicon was tuned on.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from eval import safety_eval
from portal_core import audit, safety
from portal_core.actors import Actor
from portal_core.database import Database
from portal_core.models import AuditEvent, CareTeamAlert
from tests.factories import make_patient

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc)

MEDICAL = [
    "CANT BREATHE",
    "my wife stopped breathing",
    "brother not breathing pls hurry",
    "my little girl is choking on a hot dog",
    "he collapsed at the gym and isnt responding",
    "my dad fell in the shower and cant get up",
    "blood wont stop coming out of my head",
    "the left side of her face is sagging",
    "he's talking gibberish and his arm is limp",
    "my lips and tongue are swelling after eating cashews",
    "throat feels like its closing",
    "my son is havin a siezure",
    "please help my baby wont stop seizing",
    "my toddler ate grandma's heart pills",
    "found my son with a needle in his arm not breathing",
    "he's been stabbed in the stomach",
    "i was just hit by a car",
    "my dad shot himself",
    "chest pain radiating to my left arm",
    "sugar is 32 and he's confused",
    "pregnant 30 wks and baby stopped moving",
    "helppp cant breatheee",
    "she's turning blue 😭",
    "theres so much blood i cut my leg with the chainsaw",
    "I got bit by a rattlesnake",
    "there's a fire in my kitchen and im trapped",
    "i need an appointment, i can't breathe",
    "uncontious",
    "EMERGENCY",
    "this is an emergency!!",
    "my toddler drank something toxic under the sink",
    # described by symptoms, without an alarm word (issue 11)
    "feels like a car is parked on my chest and i'm all sweaty",
    "pressure behind my breastbone and my left arm is tingling",
    "his shin is bent sideways after the tackle",
    "you can see the bone in her finger",
    "my 3 week old has a temp of 100.9",
    "fever of 105 and my daughter is floppy",
    "book me for today, my mouth is drooping and my words come out wrong",
    "gave him a second insulin shot by accident and now he's confused and clammy",
    "my son drank some dishwasher gel",
    "inhaled smoke from the barn fire and now I'm wheezing",
    "belly is hard as a board and it's killing me",
    "pregnant with sharp pain on one side and pain in my shoulder",
    "need an appt, chest pain right now",
    "chst tight rn",
    "stopped sweating on the run and he's confused",
]

CRISIS = [
    "i want to kill myself tonight",
    "Im going to end my life",
    "thinking about suicide a lot lately",
    "i wanna unalive",
    "i'd be better off dead",
    "my friend wants to kill herself",
    "ive been cutting again",
    "i have a gun and i'm going to use it on myself",
    "i'm gonna jump off the bridge",
    "i'm going to kill my ex",
    "kms fr",
    "i've been stockpiling my oxy",
    "i feel so hopeless, i have a rope in the garage",
    "no one would notice if I was gone",
    "why bother living",
    "i dont want to exist anymore",
    "im going to od tonight",
    "im thinking of overdosing",
    "i'm going to blow my brains out",
    "I keep having urges to cut myself",
    "i want to die lol",
    "im not safe here",
    "we are in danger please help",
    "i don't feel safe in my house",
    "i've got a bottle of pills and i'm about to swallow them all",
    # the means made ready, and farewells, without a word of harm (issue 11)
    "my revolver is loaded and sitting next to me",
    "i've lined up all my pills on the counter",
    "wrote letters to my kids for after i'm gone",
    "gave away my guns and my dog, won't be needing them anymore",
    "this will be the last message anyone gets from me",
    "i won't be alive by then so cancel it",
    "after tonight none of this is going to matter",
    "i want the hurting to stop for good",
]

BENIGN = [
    "refill my nitro",
    "can i get a stroke risk assessment",
    "im dying to hear back about my biopsy",
    "my husband had a heart attack 5 years ago, does he need a stress test",
    "suicide prevention class sign up",
    "renew my wife's epipen",
    "keppra refill for my son",
    "i had an overdose in 2015, is it in my record",
    "kill the app and restart?",
    "dead battery in my glucometer",
    "the wait times are killing me",
    "shoot me an email",
    "i'm not suicidal, just need a therapy appt",
    "what are the signs of a heart attack",
    "what should i do if someone is choking",
    "how do i know if i'm having a stroke",
    "i hurt my back moving boxes",
    "i want to die my hair before my wedding",
    "drowning in paperwork for my va claim",
    "my phone is dying, call me back",
    "my son is not breathing well through his nose because of a cold",
    "I stabbed my finger with a needle while sewing, tiny cut, need a tetanus shot?",
    "i have a plan to lose weight",
    "i would never hurt myself",
    "i cut myself shaving",
    "i want to end my gym membership lol",
    "my son had a seizure in 2020 and is now seizure free, can he get cleared for sports",
    "i need my records about my suicide attempt in 2012 for the va",
    "my mom is dying of cancer, can i get hospice info",
    "kys",
    "where is the emergency room on base",
    "update my emergency contact",
    "is it safe to take ibuprofen with lisinopril",
    "i'm not safe to drive after the eye drops, can someone else pick me up",
    "i don't feel safe giving my date of birth over text",
    "i'm not in danger, just have a question",
    # the harder look-alikes: the past, other people, questions, results, leaving (issue 11)
    "i had crushing chest pain two years ago, need my cardiology records",
    "my daughter swallowed a coin when she was four, does that show in her chart",
    "my father died of a heart attack, should i get a cholesterol check",
    "what does a heart attack feel like",
    "can stress cause chest tightness",
    "fever of 100.6 in my 9 year old, she's playing fine, book a sick visit",
    "are my chest ct results back",
    "im going on leave, i won't be around next week, move my appt",
    "i won't need my refill anymore, my doctor switched me to something else",
    "writing a goodbye card to my nurse before I pcs",
    "how do i lock up my rifle with kids at home",
]


@pytest.mark.parametrize("text", MEDICAL)
def test_medical_emergencies_are_found(text: str) -> None:
    finding = safety.detect(text)
    assert finding is not None and finding.kind == "medical", finding


@pytest.mark.parametrize("text", CRISIS)
def test_crises_are_found(text: str) -> None:
    finding = safety.detect(text)
    assert finding is not None and finding.kind == "crisis", finding


@pytest.mark.parametrize("text", BENIGN)
def test_look_alikes_are_not_emergencies(text: str) -> None:
    assert safety.detect(text) is None


def test_these_cases_are_not_copied_from_the_corpus() -> None:
    corpus = {e.text.lower() for e in safety_eval.load()}
    corpus |= {e.text.lower() for e in safety_eval.load(safety_eval.HARD_CORPUS)}
    assert not corpus & {t.lower() for t in MEDICAL + CRISIS + BENIGN}


def test_trigger_is_quoted_from_the_original_text() -> None:
    text = "Hi, sorry to bother you. My husband CAN'T BREATHE!!"
    finding = safety.detect(text)
    assert finding is not None
    assert finding.trigger == "CAN'T BREATHE"
    assert text[finding.start : finding.end] == finding.trigger
    assert finding.rule == "breathing"


def test_shorthand_trigger_points_at_what_was_typed() -> None:
    finding = safety.detect("ugh i'm gonna kms")
    assert finding is not None and finding.kind == "crisis"
    assert finding.trigger.endswith("kms")


def test_an_unmistakable_emergency_wins_over_a_routine_request() -> None:
    finding = safety.detect("I need a refill of my albuterol, I can't breathe right now")
    assert finding is not None and finding.kind == "medical"


def test_both_kinds_in_one_message() -> None:
    finding = safety.detect("I took all my pills because I want to die")
    assert finding is not None
    assert finding.kind == "medical" and finding.also == ("crisis",)


def test_normalisation_folds_what_people_type_and_say() -> None:
    assert safety.normalise("I'M HAVIN chest pain!!! pls") == "i am having chest pain . please"
    assert safety.normalise("cant breatheee helppp") == "cant breathe help"
    assert safety.normalise("my gf od’d") == "my gf overdosed"
    assert safety.normalise("been feeling sucidal rn") == "been feeling suicidal right now"
    assert safety.normalise("Ｉ ｃａｎ’ｔ ｂｒｅａｔｈｅ") == "i cant breathe"
    assert safety.normalise("suicídal") == "suicidal"
    assert safety.normalise("im dead 😂") == "i am dead lol"
    assert safety.normalise("сhest раin") == "chest pain"  # Cyrillic look-alikes


def test_a_time_long_ago_beside_the_event_makes_it_history() -> None:
    """Even an unmistakable match is history when a time phrase beside it says so, unless the
    story comes back to now between the two."""
    assert safety.detect("crushing chest pain back in 2019, all fine since") is None
    assert safety.detect("in 2019 i had crushing chest pain") is None
    finding = safety.detect("I had a heart attack last year and now I have crushing chest pain")
    assert finding is not None and finding.kind == "medical"
    # "last night" and "an hour ago" are recent: they matter
    assert safety.detect("crushing chest pain since last night") is not None
    assert safety.detect("took too much insulin an hour ago and i'm shaking") is not None


def test_temperatures_keep_their_decimals() -> None:
    assert safety.normalise("Temp 100.4, baby 5 wks old.") == "temp 100.4 baby 5 wks old"
    assert safety.detect("my 5 week old has a temp of 100.4") is not None
    assert safety.detect("my 5 week old has a temp of 100.1") is None


def test_emoji_and_punctuation_only_input() -> None:
    assert safety.detect("🙂🙂🙂") is None
    assert safety.detect("?!...") is None
    assert safety.detect("🆘 🚑 please") is not None


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_input(text: str) -> None:
    assert safety.detect(text) is None


def test_long_input() -> None:
    filler = "I have a question about my appointment and my prescription refill. " * 150
    assert len(filler) > 10_000
    assert safety.detect(filler) is None
    finding = safety.detect(filler + "Also my dad just collapsed and is not breathing")
    assert finding is not None and finding.kind == "medical"
    assert safety.detect("a" * 1_000_000) is None  # bounded work, no error


def test_the_anchor_index_finds_what_a_full_search_finds() -> None:
    """Rules are only searched when a word they need is present; that must lose nothing."""
    every_rule = range(len(safety._LEX.rules))
    texts = [e.text for e in safety_eval.load()] + MEDICAL + CRISIS + BENIGN
    for text in texts:
        full = safety._finding(text, safety._normalise(text), every_rule)
        assert safety.detect(text) == full, text
    assert not safety._LEX.unanchored


def test_lexicon_errors_name_the_pattern(tmp_path: Path) -> None:
    source = safety.LEXICON_PATH.read_text(encoding="utf-8")
    bad = tmp_path / "lexicon.yaml"
    bad.write_text(source.replace("      - foaming at the mouth\n", "      - foaming (at\n"))
    with pytest.raises(ValueError, match="topic seizure"):
        safety._load(bad)
    bad.write_text(source.replace("      - foaming at the mouth\n", "      - <nosuch> mouth\n"))
    with pytest.raises(ValueError, match="nosuch"):
        safety._load(bad)
    bad.write_text(source.replace("      - foaming at the mouth\n", "      - foaming: mouth\n"))
    with pytest.raises(ValueError, match="quote the pattern"):
        safety._load(bad)


def test_corpus_meets_the_targets() -> None:
    examples = safety_eval.load()
    emergencies = [e for e in examples if e.label != "benign"]
    assert len(emergencies) >= 150 and len(examples) - len(emergencies) >= 150
    for kind in safety.KINDS:
        assert sum(e.label == kind for e in examples) >= 50
    report = safety_eval.evaluate(examples)
    assert [e.text for e in report.misses] == []
    assert [e.text for e, _ in report.wrong_kind] == []
    assert report.false_positive_rate <= safety_eval.FALSE_POSITIVE_TARGET, [
        e.text for e, _ in report.false_positives
    ]


# ---------------------------------------------------------------- the care-team alert


def test_raise_alert_writes_one_alert_and_one_audit_entry(db: Database) -> None:
    with db.transaction() as s:
        pid = make_patient(s).id
    finding = safety.detect("my chest is crushing and my left arm is numb")
    assert finding is not None
    safety.raise_alert(db, Actor(pid, "sms"), pid, finding, "sms", now=NOW)
    with db.transaction() as s:
        alerts = s.scalars(select(CareTeamAlert)).all()
        entries = audit.entries_for(s, pid)
    assert len(alerts) == 1
    alert = alerts[0]
    assert (alert.patient_id, alert.kind, alert.priority, alert.channel) == (
        pid,
        "medical",
        "high",
        "sms",
    )
    assert alert.detail == f"medical: {finding.trigger}"
    assert alert.created_at == NOW
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.action, entry.resource, entry.resource_id) == (
        "emergency_detected",
        "safety",
        str(alert.id),
    )
    assert (entry.actor_id, entry.channel, entry.detail) == (pid, "sms", alert.detail)


@pytest.mark.parametrize(
    ("trigger", "channel"),
    [
        pytest.param("kms", "voice", id="without-a-verified-actor"),
        pytest.param("k\u202ems\x00", "sms", id="control-characters-dropped"),
    ],
)
def test_raise_alert_without_a_verified_actor(db: Database, trigger: str, channel: str) -> None:
    """Raised for an unverified caller too, keeping the words but no control characters."""
    with db.transaction() as s:
        pid = make_patient(s).id
    finding = safety.Finding(kind="crisis", trigger=trigger)
    safety.raise_alert(db, None, pid, finding, channel, now=NOW)
    with db.transaction() as s:
        (entry,) = audit.entries_for(s, pid)
        (alert,) = s.scalars(select(CareTeamAlert)).all()
    assert entry.actor_id is None and entry.channel == channel
    assert alert.detail == entry.detail == "crisis: kms"


def test_unknown_patient_is_audited_without_an_alert(db: Database) -> None:
    safety.raise_alert(db, None, 999_999, safety.Finding("medical", "cant breathe"), "sms")
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(CareTeamAlert)) == 0
        events = s.scalars(select(AuditEvent)).all()
    assert len(events) == 1
    assert events[0].subject_id is None and events[0].action == "emergency_detected"


def test_raise_alert_rejects_bad_input_and_writes_nothing(db: Database) -> None:
    with db.transaction() as s:
        pid = make_patient(s).id
    with pytest.raises(ValueError):
        safety.raise_alert(db, None, pid, safety.Finding("other", "x"), "sms")
    with pytest.raises(ValueError):
        safety.raise_alert(db, None, pid, safety.Finding("medical", "x"), "pager")
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(CareTeamAlert)) == 0
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 0
