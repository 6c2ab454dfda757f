"""Emergency and crisis detection: the deterministic check every message passes first.

`detect(text)` returns None, or a `Finding`: `medical` (send the person to 911) or `crisis`
(suicide, self-harm or harming others: the Veterans and Military Crisis Line), with the words that
triggered it. The NLU layer calls it on every message from every channel and its answer overrides
the classifier both ways, so it must be predictable, explainable and reviewable; hence rules, not
a model, and rules kept as data in `data/safety_lexicon.yaml`, compiled once at import.

How a message is read:

1. Normalise into word forms. Tokens are cut from the original text (their offsets are kept so
   the trigger is quoted exactly as written), folded to plain lower-case ASCII (accents,
   full-width letters, look-alike Cyrillic letters, curly apostrophes), and rewritten word by
   word: contractions lose their apostrophe ("can't" -> "cant", "I'm" -> "i am"), SMS shorthand
   is expanded ("kms" -> "kill myself", "pls" -> "please", "rn" -> "right now"), known misspellings
   are mapped ("brething", "siezure", "od'd"), one-edit misspellings of a few long distinctive
   words are corrected (SymSpell-style delete lookups, so "sucidal" and "unconcious" need no
   entry), stretched letters shrink ("helppp" -> "help") and dropped g's return ("feelin").
   Sentence punctuation becomes "." so that context cues stay inside their sentence; voice
   transcripts have none and are read as one sentence.
2. Match patterns over those word forms. Patterns name the situation rather than list
   sentences: a state with its subject ("my son is seizing"), a symptom with what makes it
   dangerous (chest pain spreading to the arm or jaw), an intention with its object ("going to
   ... kill myself", "want ... to die"). The prefilter: each pattern is compiled on its own and
   indexed by the word prefixes it cannot match without, read off its parse tree at import, so a
   message is searched only with the few patterns whose words it contains (one combined
   alternation per kind cost about 100 us a message; this costs about 20).
3. `always` patterns are unmistakable and fire whatever else the message says ("refill my
   inhaler, I can't breathe" is an emergency). `default` patterns are the words that also appear
   in ordinary requests ("seizure", "chest pain", "overdose", "suicide"); they fire unless a cue
   listed for their topic cancels them: a negation in the three words before ("I'm not
   suicidal"), or, in the same sentence, a past or history cue ("last year", "history of"), an
   administrative cue ("refill", "appointment", "results", "training"), an information question
   ("signs of"), humour ("lol"), a device ("phone", "battery") or a minor context ("gums").

When both kinds are found, an `always` finding leads over a `default` one, and otherwise
`medical` comes first (a body in danger now needs 911 before anything else); `also` says the other
kind was found too, so the caller can give both messages. A question about a hypothetical
emergency ("what should I do if someone is choking") is not one unless something says it is
happening now.
Threats of violence against the writer are `medical` (911); the writer's wish to harm someone
else is `crisis` (the crisis line takes those calls, and its message includes 911). "kys"
("kill yourself") is abuse aimed at someone else and is not treated as a crisis of the writer.

What is said to the person is the wording floor's (`wording.catalogue.emergency_response` and
`emergency_contacts`), and `raise_alert()` records the detection (audit entry and care-team alert)
in one transaction.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

try:  # the regex parser moved in Python 3.11
    from re import _constants as _C  # type: ignore[attr-defined]
    from re import _parser as _sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as _C
    import sre_parse as _sre_parse

import yaml

from portal_core import audit, free_text
from portal_core.actors import CHANNELS, Actor
from portal_core.clock import as_utc, utcnow
from portal_core.database import Database
from portal_core.models import CareTeamAlert, Patient

KINDS = ("medical", "crisis")
LEXICON_PATH = Path(__file__).parent / "data" / "safety_lexicon.yaml"
NEGATION_WINDOW = 3  # words before a default match that may deny it
_TRIGGER_MAX = 200  # characters of trigger kept in an alert


@dataclass(frozen=True)
class Finding:
    """What was found: the kind, the words as the person wrote them, and where they are.

    `start`/`end` index the original text; `rule` names the lexicon topic that matched; `also`
    lists any other kind found in the same message.
    """

    kind: str
    trigger: str
    start: int = 0
    end: int = 0
    rule: str = ""
    also: tuple[str, ...] = ()


# ------------------------------------------------------------------ loading the lexicon


@dataclass(frozen=True)
class _Rule:
    """One pattern of the lexicon, compiled on its own so it is searched only when needed."""

    topic: str
    kind: str
    always: bool
    regex: re.Pattern[str]
    unless: tuple[str, ...]


@dataclass(frozen=True)
class _Lexicon:
    max_chars: int
    words: dict[str, str]
    emoji: dict[str, str]
    known: frozenset[str]
    fuzzy: dict[str, str]
    rules: tuple[_Rule, ...]  # `always` rules first, medical before crisis
    anchors: dict[str, frozenset[int]]  # word prefix -> rules that cannot match without it
    anchor_lengths: tuple[int, ...]
    unanchored: frozenset[int]  # rules with no required word (searched on every message)
    negations: frozenset[str]
    cues: dict[str, re.Pattern[str]]
    hypothetical: re.Pattern[str]  # a question's "what should I do if" before a match
    happening: re.Pattern[str]  # ...unless this follows it
    long_ago: re.Pattern[str]  # a time phrase that puts the event itself in the past
    present: frozenset[str]  # words that bring a story back to now ("and now", "still")
    long_ago_window: int  # how many words from the match the time phrase may stand
    semantic_unless: dict[str, tuple[str, ...]]  # kind -> cues that cancel a learned finding


_MACRO = re.compile(r"(?<!\(\?)(?<!\(\?P)<([a-z_]+)>")


def _expand(pattern: str, macros: dict[str, str], depth: int = 0) -> str:
    if depth > 8:
        raise ValueError(f"safety lexicon: macros nest too deep in {pattern!r}")

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in macros:
            raise ValueError(f"safety lexicon: unknown macro <{name}>")
        return _expand(macros[name], macros, depth + 1)

    return _MACRO.sub(sub, pattern)


def _words(patterns: Iterable[str]) -> Iterable[str]:
    for p in patterns:
        yield from re.findall(r"[a-z]{2,}", p)


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _load(path: Path = LEXICON_PATH) -> _Lexicon:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    norm = data["normalise"]
    macros = {k: str(v) for k, v in data["macros"].items()}
    words = {str(k): str(v) for k, v in norm["words"].items()}

    rules: list[_Rule] = []
    for t in data["topics"]:
        name, kind = t["name"], t["kind"]
        if kind not in KINDS:
            raise ValueError(f"safety lexicon: topic {name} has unknown kind {kind!r}")
        unless = tuple(t.get("unless") or ())
        unknown = set(unless) - set(data["cues"])
        if unknown:
            raise ValueError(f"safety lexicon: topic {name} names unknown cues {unknown}")
        for tier in ("always", "default"):
            for item in t.get(tier) or []:
                rules.append(
                    _Rule(name, kind, tier == "always", _compile(name, item, macros), unless)
                )
    rules.sort(key=lambda r: (not r.always, KINDS.index(r.kind)))
    for kind, names in data["semantic_unless"].items():
        unknown = set(names) - set(data["cues"]) - {"long_ago"}
        if kind not in KINDS or unknown:
            raise ValueError(f"safety lexicon: semantic_unless {kind}: unknown {unknown or kind}")

    anchors: dict[str, set[int]] = {}
    unanchored: set[int] = set()
    for index, rule in enumerate(rules):
        required = _required_prefixes(rule.regex.pattern)
        if not required:
            unanchored.add(index)
        for prefix in required or ():
            anchors.setdefault(prefix, set()).add(index)

    fuzzy: dict[str, str] = {}
    for word in norm["fuzzy"]:
        fuzzy[word] = word
        for d in _deletes(word):
            fuzzy.setdefault(d, word)

    sources = [r.regex.pattern for r in rules]
    known = frozenset(_words(sources)) | frozenset(_words(words.values())) | set(norm["fuzzy"])
    return _Lexicon(
        max_chars=int(norm["max_chars"]),
        words=words,
        emoji={str(k): str(v) for k, v in norm["emoji"].items()},
        known=known,
        fuzzy=fuzzy,
        rules=tuple(rules),
        anchors={k: frozenset(v) for k, v in anchors.items()},
        anchor_lengths=tuple(sorted({len(k) for k in anchors})),
        unanchored=frozenset(unanchored),
        negations=frozenset(data["cues"]["negation"]),
        cues={n: _whole(str(v)) for n, v in data["cues"].items() if not isinstance(v, list)},
        hypothetical=re.compile(r"\b" + data["hypothetical"]["before"]),
        happening=_whole(data["hypothetical"]["now"]),
        long_ago=_whole(data["long_ago"]["cue"]),
        present=frozenset(data["long_ago"]["present"]),
        long_ago_window=int(data["long_ago"]["window"]),
        semantic_unless={k: tuple(v) for k, v in data["semantic_unless"].items()},
    )


def _compile(topic: str, item: object, macros: dict[str, str]) -> re.Pattern[str]:
    """Expand and compile one pattern, failing at import with the topic and pattern named."""
    if not isinstance(item, str):  # YAML reads an unquoted ": " as a mapping
        raise ValueError(f"safety lexicon: topic {topic}: quote the pattern {item!r}")
    pattern = _expand(item, macros)
    if _MACRO.search(pattern):
        raise ValueError(f"safety lexicon: topic {topic}: unexpanded macro in {item!r}")
    try:
        return _whole(pattern)
    except re.error as exc:
        raise ValueError(f"safety lexicon: topic {topic}: {exc} in {item!r}") from exc


def _whole(pattern: str) -> re.Pattern[str]:
    """Matched as whole words only."""
    return re.compile(r"\b(?:" + pattern + r")\b")


# ---- anchors: which words a pattern cannot match without
#
# Searching ~250 patterns on every message costs ~100 us; most messages contain none of the
# words the patterns need. From each pattern's parse tree we take a set of word prefixes one of
# which every match must contain (the most selective such set), and index rules by them. The
# analysis is conservative: where it is unsure, the rule is searched on every message.

_Prefixes = frozenset[str]


def _required_prefixes(pattern: str) -> _Prefixes | None:
    return _seq_prefixes(list(_sre_parse.parse(pattern)), True)[0]


def _seq_prefixes(items: list[tuple[Any, Any]], at_start: bool) -> tuple[_Prefixes | None, bool]:
    """(best required prefixes of a sequence, whether it ends at a word start)."""
    best: _Prefixes | None = None
    i = 0
    while i < len(items):
        op, av = items[i]
        found: _Prefixes | None = None
        if op is _C.LITERAL:
            run = ""
            while i < len(items) and items[i][0] is _C.LITERAL:
                run += chr(items[i][1])
                i += 1
            # every piece after a space starts a word; the first one only if we were at one
            pieces = run.split(" ")
            starts = [p for n, p in enumerate(pieces) if p and (n or at_start)]
            if starts:
                found = frozenset({max(starts, key=len)})
            if pieces[-1] and (len(pieces) > 1 or at_start) and i < len(items):
                # the parser factors "shot|stabbed" into "s" + (hot|tabbed): join them again
                op2, av2 = items[i]
                if op2 is _C.BRANCH:
                    found = _better(found, frozenset(pieces[-1] + _lead(b) for b in av2[1]))
            at_start = run.endswith(" ")
            best = _better(best, found)
            continue
        if op is _C.SUBPATTERN:
            found, at_start = _seq_prefixes(list(av[-1]), at_start)
        elif op is _C.BRANCH:
            results = [_seq_prefixes(list(branch), at_start) for branch in av[1]]
            sets = [r[0] for r in results]
            found = None if any(s is None for s in sets) else frozenset().union(*sets)
            at_start = all(r[1] for r in results)
        elif op in (_C.MAX_REPEAT, _C.MIN_REPEAT):
            low, _high, body = av
            inner, ends = _seq_prefixes(list(body), at_start)
            found = inner if low >= 1 else None
            at_start = ends and (low >= 1 or at_start)
        elif op in (_C.AT, _C.ASSERT, _C.ASSERT_NOT):
            pass  # zero width
        else:
            at_start = False
        best = _better(best, found)
        i += 1
    return best, at_start


def _lead(branch: Any) -> str:
    """The literal characters a branch starts with (up to a space or anything else)."""
    lead = ""
    for op, av in branch:
        if op is not _C.LITERAL or chr(av) == " ":
            break
        lead += chr(av)
    return lead


# Words in nearly every message make poor anchors.
# fmt: off
_COMMON = frozenset({
    "a", "i", "s", "am", "are", "is", "be", "been", "do", "go", "he", "her", "him", "his", "in",
    "it", "me", "my", "no", "not", "of", "on", "or", "she", "so", "that", "the", "them", "they",
    "this", "to", "up", "us", "we", "you", "your", "and", "at", "for", "get", "got", "have",
    "has", "had", "just", "now", "with",
})
# fmt: on


def _better(a: _Prefixes | None, b: _Prefixes | None) -> _Prefixes | None:
    """The more selective requirement: no common words, long prefixes, then few of them."""
    if a is None or b is None:
        return a or b

    def score(s: _Prefixes) -> tuple[bool, int, int]:
        return (not (s & _COMMON), min(min(len(p) for p in s), 3), -len(s))

    return a if score(a) >= score(b) else b


_LEX = _load()

# ------------------------------------------------------------------ normalisation

_APOSTROPHES = "'\u2019\u2018`\u00b4\u02bc"
_TOKEN = re.compile(
    r"\d+\.\d+(?![^\W_])|[^\W_]+(?:["
    + _APOSTROPHES
    + r"][^\W_]+)*|[.!?;\n]+|["
    + re.escape("".join(_LEX.emoji))
    + "]"
)
_BREAKS = frozenset(".!?;\n")
_RUN3 = re.compile(r"([a-z])\1\1+")
# Cyrillic and Greek letters that look like Latin ones (a cheap guard against look-alikes).
_CONFUSABLES = str.maketrans("аеорсухкмтвнјѕіїαβεικνορτυχ", "aeopcyxkmtbhjsiiabeikvoptyx")
_ONE_APOSTROPHE = str.maketrans(_APOSTROPHES[1:], "'" * (len(_APOSTROPHES) - 1))


def _fold(token: str) -> str:
    """Plain lower-case ASCII where possible: 'Ｃａｎ’ｔ' -> "can't", 'suicídal' -> 'suicidal'."""
    text = unicodedata.normalize("NFKD", token).translate(_CONFUSABLES)
    return "".join(c for c in text if not unicodedata.combining(c)).casefold()


@lru_cache(maxsize=65536)
def _rewrite(word: str) -> str:
    """One lower-case word to its canonical form(s), space-separated."""
    lex = _LEX
    word = word.translate(_ONE_APOSTROPHE)
    mapped = lex.words.get(word)
    if mapped is not None:
        return mapped
    if "'" in word:
        word = word.replace("'", "")
        mapped = lex.words.get(word)
        if mapped is not None:
            return mapped
    if _RUN3.search(word):
        word = _shrink(word)
        mapped = lex.words.get(word)
        if mapped is not None:
            return mapped
    if word in lex.known:
        return word
    if len(word) >= 6:
        corrected = lex.fuzzy.get(word)
        if corrected is None:
            for d in _deletes(word):
                corrected = lex.fuzzy.get(d)
                if corrected is not None:
                    break
        if corrected is not None:
            return corrected
    if word.endswith("in") and word + "g" in lex.known:
        return word + "g"
    return word


def clear_word_cache() -> None:
    """Forget rewritten words (the evaluation times the worst case with an empty cache)."""
    _rewrite.cache_clear()
    _rules_for.cache_clear()


@lru_cache(maxsize=65536)
def _rules_for(word: str) -> frozenset[int]:
    """The rules that need a word starting like this one."""
    found: set[int] = set()
    for length in _LEX.anchor_lengths:
        if length > len(word):
            break
        rules = _LEX.anchors.get(word[:length])
        if rules:
            found.update(rules)
    return frozenset(found)


def _shrink(word: str) -> str:
    """'killll' -> 'kill', 'helppp' -> 'help', 'pleeease' -> 'please'."""
    two = _RUN3.sub(r"\1\1", word)
    if two in _LEX.known or two in _LEX.words:
        return two
    return _RUN3.sub(r"\1", word)


@dataclass(frozen=True)
class _Normalised:
    text: str  # canonical words joined by single spaces; "." marks a sentence break
    words: list[str]
    starts: list[int]  # offset in `text` of each canonical word
    spans: list[tuple[int, int]]  # the original text's span behind each canonical word

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        first = max(0, bisect_right(self.starts, start) - 1)
        last = max(first, bisect_right(self.starts, max(start, end - 1)) - 1)
        return self.spans[first][0], self.spans[last][1]


def normalise(text: str) -> str:
    """The word forms the patterns see (for tests, the evaluation and reviewing the lexicon)."""
    return _normalise(text).text


def _normalise(text: str) -> _Normalised:
    text = text[: _LEX.max_chars]
    ascii_only = text.isascii()
    words: list[str] = []
    starts: list[int] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in _TOKEN.finditer(text):
        token = m.group()
        if token[0] in _BREAKS:
            if not words or words[-1] == ".":
                continue
            canonical = "."
        elif token in _LEX.emoji:
            canonical = _LEX.emoji[token]
        else:
            canonical = _rewrite(token.lower() if ascii_only else _fold(token))
            if not canonical:
                continue
        span = m.span()
        for word in canonical.split(" "):
            words.append(word)
            starts.append(pos)
            spans.append(span)
            pos += len(word) + 1
    while words and words[-1] == ".":
        words.pop()
        starts.pop()
        spans.pop()
    return _Normalised(" ".join(words), words, starts, spans)


# ------------------------------------------------------------------ detection


def detect(text: str) -> Finding | None:
    """The emergency or crisis in `text`, if any."""
    if not text or not isinstance(text, str):
        return None
    norm = _normalise(text)
    if not norm.text:
        return None
    candidates = set(_LEX.unanchored)
    for word in set(norm.words):
        candidates.update(_rules_for(word))
    return _finding(text, norm, candidates)


def _finding(text: str, norm: _Normalised, candidates: Iterable[int]) -> Finding | None:
    """Search the candidate rules (indexes into the lexicon's rules) and pick the finding."""
    found: dict[str, tuple[re.Match[str], _Rule]] = {}
    for index in sorted(candidates):  # `always` rules first, medical before crisis
        rule = _LEX.rules[index]
        if rule.kind in found:
            continue
        for m in rule.regex.finditer(norm.text):
            if not _cancelled(norm.text, m, () if rule.always else rule.unless):
                found[rule.kind] = (m, rule)
                break
    if not found:
        return None
    # An unmistakable finding leads over a weaker one of the other kind ("thinking of
    # overdosing" is a crisis, though "overdosing" alone would be medical); otherwise medical.
    kinds = sorted(found, key=lambda k: (not found[k][1].always, KINDS.index(k)))
    m, rule = found[kinds[0]]
    start, end = norm.original_span(m.start(), m.end())
    return Finding(
        kind=kinds[0],
        trigger=text[start:end],
        start=start,
        end=end,
        rule=rule.topic,
        also=tuple(kinds[1:]),
    )


def _cancelled(text: str, m: re.Match[str], unless: tuple[str, ...]) -> bool:
    """Whether the sentence around a match makes it no emergency.

    Any match inside a hypothetical question ("what should I do if...") is cancelled unless
    something says it is happening now, and so is any match whose event a time phrase right
    beside it puts long ago ("swallowed a battery when she was 3", "crushing chest pain two
    years ago") unless the story comes back to now in between ("last year ... and now I'm
    having crushing chest pain"). A default match is also cancelled by the cues its topic lists.
    """
    begin = text.rfind(" . ", 0, m.start())
    begin = 0 if begin < 0 else begin + 3
    end = text.find(" . ", m.end())
    end = len(text) if end < 0 else end
    before = text[begin : m.start()].rstrip()
    if _LEX.hypothetical.search(before) and not _LEX.happening.search(text, m.end(), end):
        return True
    if _long_ago(text[begin : m.start()], text[m.start() : end], m.end() - m.start()):
        return True
    for name in unless:
        if name == "negation":
            if any(w in _LEX.negations for w in before.split()[-NEGATION_WINDOW:]):
                return True
        elif _LEX.cues[name].search(text, begin, end):
            return True
    return False


def _long_ago(before: str, rest: str, length: int) -> bool:
    """A long-ago time phrase inside the match or within the window on either side, with no
    return to now between it and the match (`rest` is the sentence from the match on)."""
    window = _LEX.long_ago_window
    inside = _LEX.long_ago.search(rest, 0, length)
    if inside and not _LEX.present & set(rest[inside.end() : length].split()):
        return True
    after = rest[length:]
    near_after = " ".join(after.split()[:window])
    found = _LEX.long_ago.search(near_after)
    if found and not _LEX.present & set(near_after[: found.start()].split()):
        return True
    near_before = " ".join(before.split()[-window:])
    ends = [m.end() for m in _LEX.long_ago.finditer(near_before)]
    return bool(ends) and not _LEX.present & set(near_before[ends[-1] :].split())


def context_cue(text: str, kind: str) -> str | None:
    """The cue that makes a finding of `kind` about this whole message no emergency, if any.

    For the learned layer, which reads a message's meaning but has no matched words to weigh:
    the cues `semantic_unless` lists for the kind, searched in the whole message ("long_ago"
    counts only when nothing in the message brings the story back to now).
    """
    norm = _normalise(text).text
    if not norm:
        return None
    for name in _LEX.semantic_unless.get(kind, ()):
        if name == "long_ago":
            if _LEX.long_ago.search(norm) and not _LEX.present & set(norm.split()):
                return name
        elif name == "negation":
            continue  # a denial needs a match to stand before
        elif _LEX.cues[name].search(norm):
            return name
    return None


# ------------------------------------------------------------------ what to say, and the alert


def raise_alert(
    db: Database,
    actor: Actor | None,
    patient_id: int | None,
    finding: Finding,
    channel: str,
    *,
    now: datetime | None = None,
) -> None:
    """Tell the patient's care team, and audit the detection, in one transaction.

    No access check: an emergency is reported for anyone, whatever their account level, and
    nothing is disclosed. The alert holds only the kind and the trigger words. For an unknown
    patient (an unverified caller) the detection is still audited, without a subject or alert.
    """
    if finding.kind not in KINDS:
        raise ValueError(f"unknown emergency kind {finding.kind!r}")
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    at = as_utc(now) if now else utcnow()
    detail = free_text.clean(f"{finding.kind}: {finding.trigger[:_TRIGGER_MAX]}")
    with db.transaction() as session:
        known = patient_id is not None and session.get(Patient, patient_id) is not None
        alert_id = None
        if known:
            alert = CareTeamAlert(
                patient_id=patient_id,
                kind=finding.kind,
                priority="high",
                detail=detail,
                channel=channel,
                created_at=at,
            )
            session.add(alert)
            session.flush()
            alert_id = alert.id
        audit.record(
            session,
            actor,
            subject_id=patient_id if known else None,
            action="emergency_detected",
            resource="safety",
            resource_id=alert_id,
            detail=detail,
            channel=channel,
            now=at,
        )
