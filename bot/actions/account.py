"""Signing-in help: the answer to the problem the person describes, not one paragraph for all.

Every fact here is stated as the MHS GENESIS Patient Portal guide states it; the source is noted
beside each. They live in code rather than in domain responses because they are chosen by what
the person wrote, and `rasa data validate --fail-on-warnings` counts responses that only an action
uses as unused.
"""

from __future__ import annotations

import re

from rasa_sdk.events import EventType

from bot.actions.base import ConversationAction, Turn
from bot.actions.conversation import latest_text

GLOBAL_SERVICE_CENTER = "1-800-600-9332"

# (what the person wrote, the answer) in order: the first topic that fits is answered.
SIGN_IN_TOPICS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Source: portal guide, "Account security": the portal's e-mails come only from .mil
    # addresses; anything else asking for a password or a payment is phishing.
    (
        re.compile(
            r"phish|scam|suspicious|fake|e-?mail (?:asking|saying)|is this (?:email|text)", re.I
        ),
        "Genuine MHS GENESIS e-mails come only from .mil addresses, and nobody from the portal "
        "will ask for your password. Don't click links in other messages; delete them, and sign "
        "in by typing the portal's address yourself.",
    ),
    # Source: portal guide, "Can't find your record": the record wasn't matched because DEERS
    # holds different details; they are corrected through milConnect (or an ID card office).
    (
        re.compile(
            r"(?:can'?t|cannot|couldn'?t|doesn'?t|won'?t|unable to|not) (?:find|see|show|locate)"
            r".{0,20}(?:record|chart|information|info)|no record|record (?:not|isn'?t) found|deers",
            re.I,
        ),
        "If the portal says it can't find your record, the details you signed up with don't "
        "match DEERS. Check and correct them at milConnect (or at an ID card office), then try "
        f"again. The Global Service Center ({GLOBAL_SERVICE_CENTER}, 24/7) can help if it still "
        "doesn't work.",
    ),
    # Source: portal guide, "Signing up": a new account is created online with remote identity
    # proofing (the identity questions), and must be premium (DS Logon Level 2) to see records.
    (
        re.compile(
            r"sign ?up|register|new account|create (?:an |my )?account|premium|upgrade", re.I
        ),
        'To sign up, choose "Need an account" on the DS Logon page and verify your identity '
        "online (remote identity proofing: a few questions only you can answer). The patient "
        "portal needs a premium (Level 2) account; if yours is basic, upgrade it at milConnect "
        "or at an ID card office.",
    ),
    # Source: portal guide, "Browser tips": use Microsoft Edge or Google Chrome, allow pop-ups
    # for the portal; clearing the cache or a private window fixes most looping pages.
    (
        re.compile(
            r"\b(?:browser|pop-?ups?|page|load(?:ing|s)?|loop(?:ing|s)?|blank|time[sd]? ?out|"
            r"timing out|error|app|safari|firefox|chrome|edge)\b",
            re.I,
        ),
        "The portal works best in Microsoft Edge or Google Chrome. Allow pop-ups for the portal, "
        "and if a page keeps loading or looping, clear your browser's cache or use a private "
        f"window. The Global Service Center ({GLOBAL_SERVICE_CENTER}, 24/7) can help if that "
        "doesn't fix it.",
    ),
    # Source: portal guide, "Global Service Center": CAC users on a government network can also
    # reach it by chat and by e-mail.
    (
        re.compile(
            r"\bcac\b|common access card|government (?:network|computer)|work computer", re.I
        ),
        "To sign in with your CAC, choose the CAC option on the sign-in page with the card in "
        "your reader. On a government network you can also reach the Global Service Center by "
        f"chat or e-mail, or call {GLOBAL_SERVICE_CENTER}, 24/7.",
    ),
)
# Source: portal guide, "DS Logon": after too many failed attempts an account is locked for up
# to 30 days; "Forgot Password" on the DS Logon page unlocks it sooner, so try that first.
LOCKED_OUT = (
    'Locked out or forgot your password? Use "Forgot Password" on the DS Logon page first: '
    "after too many failed attempts a DS Logon account can stay locked for up to 30 days, and "
    "resetting the password is the quickest way back in. The portal needs a premium (Level 2) "
    "DS Logon account, a CAC, or a PIV card; it works best in Microsoft Edge or Google Chrome "
    "with pop-ups allowed. The Global Service Center "
    f"({GLOBAL_SERVICE_CENTER}, 24/7) can help with anything else."
)


def sign_in_answer(text: str) -> str:
    for pattern, answer in SIGN_IN_TOPICS:
        if pattern.search(text):
            return answer
    return LOCKED_OUT


class ActionLoginHelp(ConversationAction):
    action_name = "action_login_help"

    def respond(self, turn: Turn) -> list[EventType]:
        turn.say(sign_in_answer(latest_text(turn.tracker)))
        return []
