"""Signing-in help: the answer to the problem the person describes, not one paragraph for all.

Every fact is stated as the MHS GENESIS Patient Portal guide states it; the answers are in
`wording.catalogue`, their sources noted beside them. They are not domain responses because they
are chosen by what the person wrote, and `rasa data validate --fail-on-warnings` counts responses
that only an action uses as unused.
"""

from __future__ import annotations

import re

from rasa_sdk.events import EventType

from bot.actions.base import ConversationAction, Turn
from bot.actions.conversation import latest_text
from wording.catalogue import render

# (what the person wrote, the answer's id in wording.catalogue) in order: the first topic that
# fits is answered; the sources of the answers' facts are noted beside them in the catalogue.
SIGN_IN_TOPICS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Source: portal guide, "Account security": the portal's e-mails come only from .mil
    # addresses; anything else asking for a password or a payment is phishing.
    (
        re.compile(
            r"phish|scam|suspicious|fake|e-?mail (?:asking|saying)|is this (?:email|text)", re.I
        ),
        "sign_in.phishing",
    ),
    # Source: portal guide, "Can't find your record": the record wasn't matched because DEERS
    # holds different details; they are corrected through milConnect (or an ID card office).
    (
        re.compile(
            r"(?:can'?t|cannot|couldn'?t|doesn'?t|won'?t|unable to|not) (?:find|see|show|locate)"
            r".{0,20}(?:record|chart|information|info)|no record|record (?:not|isn'?t) found|deers",
            re.I,
        ),
        "sign_in.no_record",
    ),
    # Source: portal guide, "Signing up": a new account is created online with remote identity
    # proofing (the identity questions), and must be premium (DS Logon Level 2) to see records.
    (
        re.compile(
            r"sign ?up|register|new account|create (?:an |my )?account|premium|upgrade", re.I
        ),
        "sign_in.sign_up",
    ),
    # Source: portal guide, "Browser tips": use Microsoft Edge or Google Chrome, allow pop-ups
    # for the portal; clearing the cache or a private window fixes most looping pages.
    (
        re.compile(
            r"\b(?:browser|pop-?ups?|page|load(?:ing|s)?|loop(?:ing|s)?|blank|time[sd]? ?out|"
            r"timing out|error|app|safari|firefox|chrome|edge)\b",
            re.I,
        ),
        "sign_in.browser",
    ),
    # Source: portal guide, "Global Service Center": CAC users on a government network can also
    # reach it by chat and by e-mail.
    (
        re.compile(
            r"\bcac\b|common access card|government (?:network|computer)|work computer", re.I
        ),
        "sign_in.cac",
    ),
)


def sign_in_answer(text: str) -> str:
    """The first topic's answer; otherwise the locked-out answer ("Forgot Password" first)."""
    for pattern, key in SIGN_IN_TOPICS:
        if pattern.search(text):
            return render(key)
    return render("sign_in.locked_out")


class ActionLoginHelp(ConversationAction):
    action_name = "action_login_help"

    def respond(self, turn: Turn) -> list[EventType]:
        turn.say(sign_in_answer(latest_text(turn.tracker)))
        return []
