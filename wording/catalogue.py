"""Every sentence the assistant's actions and channels say, keyed by message id.

One place to read (and one day translate) what a patient reads or hears: a message id names a
template with named variables (`str.format` fields, so `{reply_due_on:%A, %B %-d}` formats a
date), optionally worded differently for a channel (`web`, `sms`, `voice`; a channel without its
own wording gets `text`). The facts the sentences state (phone numbers, how long a reply or a
renewal takes, how far a booking search reaches) are in `FACTS` once, with their source beside
them, and every template can name them as variables. Facts that are rules of the portal are read
from the rule itself (`portal_core.config.Settings`, `portal_core.scheduling`), so the sentence
changes with the rule.

Speech: the voice channel makes every reply speakable (`wording.speech`) on its way out, so a
`voice` wording here is what is said in other words, not spelled for the synthesiser.

The domain's typed errors carry a message id and data, never a sentence (the domain may not
import this floor): `say_error` words them here, and `wording.formats` holds the rules that
word their data (`{choices:or}`, `{wait:wait}`, `{at:local}`). Views carry codes, not words: a
refill's status, a result's flag and an emergency's kind are said by `refill_status`,
`result_flag` and `emergency_response` / `emergency_contacts`, through `wording.codes`.

What is not here yet: the Rasa responses (`bot/domain.yml`, `bot/data/responses/*.yml`) must be
literal text, so `tests/wording/test_catalogue.py` checks that the facts they state are these.
Errors meant for operators (the database-roles report, security alerts) carry their own
sentence (`PortalError.user_message`); nothing a patient reads does
(`tests/test_domain_sentences.py`).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from portal_core import contacts, messaging, scheduling
from portal_core.config import Settings, load_settings
from portal_core.errors import PortalError, Unavailable
from portal_core.messaging import EmergencyInMessage
from portal_core.records import LabResultView, ReportView
from portal_core.scheduling import AppointmentView, PreferredWindow, SlotView
from understanding.when import When
from wording import codes
from wording.formats import WORDING
from wording.formats import with_article as with_article  # one rule, said where it was
from wording.speech import cardinal

CHANNELS = ("web", "sms", "voice")


@dataclass(frozen=True)
class Message:
    """A sentence and, where a channel needs other words, that channel's wording."""

    text: str
    web: str | None = None
    sms: str | None = None
    voice: str | None = None

    def for_channel(self, channel: str) -> str:
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}")
        return getattr(self, channel) or self.text

    def wordings(self) -> tuple[str, ...]:
        return tuple(w for w in (self.text, self.web, self.sms, self.voice) if w is not None)


# --- Facts, once -------------------------------------------------------------------------------

FACTS: Mapping[str, str] = {
    # Source: portal_core/contacts.py (the domain's refusals name it too).
    "global_service_center": contacts.GLOBAL_SERVICE_CENTER,
    # Source: portal guide, "Nurse Advice Line": 1-800-874-2273, option 1, 24/7.
    "nurse_advice_line": "1-800-874-2273, option 1",
    # Source: portal guide, "Medications": renewals need the provider's approval, up to three
    # business days (the domain has no rule for it: a typical time, not a promise).
    "renewal_business_days": cardinal(3),
    # What the SMS program calls itself in its carrier keyword answers (CTIA).
    "service_name": "Genesis Assist",
    # The emergency answers' numbers, as said and as dialled (wording/codes.py links them).
    "emergency_number": "911",
    # Source: Veterans and Military Crisis Line: dial 988 then press 1, or text 838255.
    "crisis_line": "988",
    "crisis_text": "838255",
}


def rule_facts(settings: Settings) -> dict[str, str]:
    """The facts that are portal rules, in words, as the rules are configured now."""
    return {
        # Source: portal_core.config, PORTAL_MESSAGE_REPLY_BUSINESS_DAYS (the reply-by date).
        "reply_business_days": cardinal(settings.message_reply_business_days),
        # Source: portal_core.scheduling.DEFAULT_WINDOW_DAYS (how far a widened search reaches).
        "search_window": _weeks(scheduling.DEFAULT_WINDOW_DAYS),
        # Source: portal_core.scheduling.MAX_AHEAD_DAYS (how far ahead anything is searched).
        "booking_horizon": f"{cardinal(round(scheduling.MAX_AHEAD_DAYS / 30))} months",
        # Source: portal_core.scheduling.MAX_REASON_CHARS (a visit reason's length).
        "reason_max_chars": str(scheduling.MAX_REASON_CHARS),
        # Source: portal_core.messaging.MAX_BODY_CHARS (a secure message's length).
        "message_max_chars": f"{messaging.MAX_BODY_CHARS:,}",
    }


def _weeks(days: int) -> str:
    if days % 7:
        return f"{cardinal(days)} days"
    weeks = days // 7
    return "one week" if weeks == 1 else f"{cardinal(weeks)} weeks"


RULE_FACTS = frozenset(rule_facts(Settings()))


# --- The messages --------------------------------------------------------------------------------

# Phrases several of the domain's refusals share, written once (templates still: `{...}` fields).
_TRICARE_ASSIGNS = "your TRICARE regional contractor (tricare.mil/ContactUs), to be assigned one."
_NOT_AMONG = "Sorry, I couldn't find that person among the people you can act for."
_ANYONE_CAN_GRANT = "Anyone 18 or older can give you proxy access through the patient portal."
_HELP = "the MHS GENESIS Global Service Center at {global_service_center}, or your clinic"
_DOB_HINT = (
    "Please say or type your date of birth as month, day and year, for example June 15, 1985, "
    "or 06/15/1985."
)
_ASK_CLINIC = "Which clinic would you like? For example 'family medicine'."
_ASK_TYPE = "What kind of appointment do you need? For example 'a checkup'."
_TOO_LONG_FOR_A_NAME = "That's a bit long for a name."

MESSAGES: Mapping[str, Message] = {
    # Leaving or steering a task form (bot/actions/task_form.py)
    "task.stopped": Message(
        "OK, I've stopped that. Nothing was changed. What else can I help with?"
    ),
    "task.yes_or_no": Message("Sorry, I need a yes or a no."),
    "task.not_read": Message("Sorry, I didn't get that."),
    "task.who_unclear": Message("Sorry, I didn't catch who this is for."),
    "task.sign_in_first": Message(
        "Please sign in to the patient portal first; I can't show or change health information "
        "until you're signed in."
    ),
    # A call or text from a withheld number: no number, no verification.
    "task.no_caller_number": Message(
        "Sorry, I can't verify who you are on this line. Please call your clinic."
    ),
    "verify.done": Message("Thank you, you're verified."),
    "verify.retry": Message("{reason} Let's try again."),
    # A form's questions (bot/actions/asking.py)
    "ask.dob": Message(
        "First I need to confirm who you are. What is your date of birth? (for example 06/15/1985)",
        voice="First I need to confirm who you are. Please say or key in your date of birth, "
        "as two digits for the month, two for the day and four for the year.",
    ),
    "ask.dod_last4": Message(
        "Thanks. What are the last four digits of your DoD ID number?",
        voice="Thanks. Now say or key in the last four digits of your DoD ID number.",
    ),
    "ask.clinic": Message("Which clinic would you like?"),
    "ask.time": Message(
        'When would you like to come in? You can say something like "next Tuesday morning" or '
        '"as soon as possible".'
    ),
    "ask.message_body": Message(
        "What would you like to say? Please don't include anything urgent: for an emergency, "
        "call 911."
    ),
    "ask.message_body_nurse": Message(
        "I'll send your question to the nurses as a secure message; they typically answer "
        "within {reply_business_days} business days. For advice sooner, call the Nurse Advice "
        "Line at {nurse_advice_line} (24/7). What would you like to ask? For an emergency, "
        "call 911."
    ),
    "ask.recipient": Message("Who should the message go to?"),
    "ask.for_whom": Message("Who is this for?"),
    # Choosing one of the offered times (bot/actions/appointments.py)
    "choice.pick_from": Message("Please pick 1 to {count}, or tell me another day."),
    "choice.not_offered": Message(
        "None of the times I offered fits that. Please pick 1 to {count}, or tell me another day."
    ),
    "choice.several_fit": Message("More than one of those times fits that."),
    "booking.none_in_window": Message(
        "There are no open {kind} times at {clinic} in the next {search_window}. I can send the "
        "clinic a request and they'll contact you."
    ),
    "ask.appointment_type": Message("What kind of appointment is it?"),
    "ask.appointment_choice": Message("Which appointment?"),
    "choice.which_of_these": Message("Which of these would you like?"),
    "booking.day_unread": Message("Sorry, I didn't catch the day."),
    "booking.search_again": Message("Sorry, let's try again."),
    "booking.confirm_request": Message(
        "Shall I ask {clinic} to schedule {who} a {visit}, preferably {when}?"
    ),
    "booking.confirm_move": Message("Move the {visit} to {time} at {clinic}?"),
    "booking.confirm_book": Message("Book {who} a {visit} at {clinic} on {time}?"),
    "booking.booked": Message("You're booked: {summary}."),
    "booking.request_sent": Message(
        "I've sent your request for {visit} appointment to the {clinic}. The clinic will contact "
        "you by {contact_by:%A, %B %-d} to schedule it. If you need care sooner, call the clinic "
        "at {phone}."
    ),
    "booking.questionnaire": Message(
        " Please fill in the pre-visit questionnaire ({questionnaire}) in the patient portal "
        "before the visit; it saves time at check-in."
    ),
    "appointments.none_yours": Message(
        "You have no upcoming appointments. Would you like to book one?"
    ),
    "appointments.none_theirs": Message(
        "{who} has no upcoming appointments. Would you like to book one?"
    ),
    "appointments.book_button": Message("Book an appointment"),
    "appointments.heading_yours": Message("Your upcoming appointments:"),
    "appointments.heading_theirs": Message("{who}'s upcoming appointments:"),
    "booking.times_lead": Message("Here are open {visit} times at {clinic}:"),
    "booking.nearest_times_lead": Message(
        "There's nothing open {when}. The nearest {visit} times at {clinic} after that are:"
    ),
    "booking.how_to_change": Message(" To change it, call {phone} or ask me."),
    "clinic.hours": Message(
        "The {clinic} at {facility} is at {phone}. Hours differ by clinic and change on "
        "holidays, so they can tell you today's hours."
    ),
    "care_team.pcm": Message("The primary care manager (PCM) is {pcm} at {clinic}, {phone}."),
    "care_team.others": Message(" The care team also includes {others}."),
    "booking.declined": Message("OK, I haven't booked anything."),
    "booking.slot_taken": Message("{message} Shall I look for other times?"),
    "booking.look_again_button": Message("Find another time"),
    "reschedule.declined": Message("OK, your appointment stays as it was."),
    "reschedule.failed": Message("Sorry, I couldn't change that appointment."),
    "reschedule.call_clinic": Message(
        "Your current appointment stays booked. For other times, please call {clinic} at {phone}."
    ),
    "reschedule.done": Message("Done. It's now: {appointment}."),
    "cancel.confirm": Message("Cancel the {appointment}?"),
    "cancel.declined": Message("OK, I've left it booked."),
    "cancel.failed": Message("Sorry, I couldn't cancel that appointment."),
    "cancel.done": Message("Cancelled: {appointment}."),
    # Medications (bot/actions/medications.py)
    "ask.medication": Message("Which medication?"),
    "medications.none_active": Message("There are no active medications on file."),
    "refill.confirm": Message("Request a refill of {medication} for pickup at {pharmacy}?"),
    "refill.pickup_usual": Message("Pick it up at {pharmacy} as usual, or somewhere else?"),
    "refill.which_pharmacy": Message("Which pharmacy would you like to pick it up from?"),
    "refill.done": Message(
        "Done. Refill request number {number} for {medication} is {status:refill_status} at "
        "{pharmacy} ({phone}). {left:refill/refills} left after this one. Ask me "
        '"where\'s my refill" any time.'
    ),
    "refill.recent_heading": Message("{whose} recent refills:"),
    "renewal.ask_button": Message("Ask to renew {medication}"),
    # A refusal that a renewal would help, and the offer of one (the button asks it)
    "renewal.offer": Message("{reason} Shall I?"),
    "refill.since": Message(" since {at:%a %b %-d, %-I:%M %p}"),
    "refill.declined": Message("OK, I haven't requested a refill."),
    "refill.none_recent": Message("There are no recent refill requests."),
    "renewal.confirm": Message("Ask {prescriber} to renew {medication}?"),
    "renewal.declined": Message("OK, I haven't sent a renewal request."),
    "renewal.sent": Message(
        "Sent. {prescriber} will review the renewal of {medication}; renewals usually take up "
        "to {renewal_business_days} business days. I'll show it under your medications once "
        "it's approved."
    ),
    # Results (bot/actions/records.py): no values or diagnoses by text
    "results.none_final": Message(
        "I don't see any final {what} yet. Results appear as soon as they're final."
    ),
    "immunizations.heading": Message("Immunizations for {first_name}:"),
    "immunizations.none": Message("No immunizations are on file."),
    "results.reference_range": Message(" (reference range {range})"),
    "results.collected": Message("collected {on:%b %-d, %Y}"),
    "results.withheld_by_text": Message(
        "You have results ready to view. For your privacy, I don't send results by text. You "
        "can see them in the MHS GENESIS Patient Portal, or call this number and I'll read them "
        "to you once you've confirmed who you are."
    ),
    "results.questions": Message(
        "Questions about a result? I can send a secure message to your care team."
    ),
    # Secure messages (bot/actions/messages.py)
    "message.confirm": Message('Send this to {recipient}? "{preview}"'),
    "message.send_button": Message("Send"),
    "message.dont_send_button": Message("Don't send"),
    "message.declined": Message("OK, I haven't sent it."),
    "message.empty": Message("The message is empty. What would you like to say?"),
    "message.too_long": Message(
        "That's a bit long for one message (the limit is {limit} characters). Could you shorten it?"
    ),
    "message.sent": Message(
        "Sent to {recipient}. Care teams typically reply within {reply_business_days} business "
        "days, so by {reply_due_on:%A, %B %-d}. If anything gets worse before then, call your "
        "clinic, or 911 in an emergency."
    ),
    # The fallback and the hand-off to a person (bot/actions/help.py)
    "fallback.rephrase": Message("Sorry, I didn't quite get that. Could you say it another way?"),
    "fallback.still_unsure": Message("Sorry, I'm still not sure. Here's what I can help with:"),
    "handoff.clinic": Message(
        "Let me get you to a person. For health questions, call {clinic} at {phone}. For portal "
        "or technical problems, the Global Service Center is at {global_service_center}, 24/7."
    ),
    "handoff.general": Message(
        "Let me get you to a person. Tell me your clinic's name and I'll give you its number. "
        "For health questions, the MHS Nurse Advice Line is at {nurse_advice_line}, 24/7; for "
        "portal or technical problems, the MHS GENESIS Global Service Center is at "
        "{global_service_center}, 24/7."
    ),
    "record_correction.intro": Message(
        "Corrections to your health record (allergies, medications, problems, notes) are made by "
        "your care team, not technical support. I'll send them a secure message for you.",
        voice="Corrections to your record are made by your care team. I'll take a message for "
        "them.",
    ),
    # Signing-in help (bot/actions/account.py): each answer as the portal guide states it
    # Source: portal guide, "Account security": e-mails only from .mil addresses.
    "sign_in.phishing": Message(
        "Genuine MHS GENESIS e-mails come only from .mil addresses, and nobody from the portal "
        "will ask for your password. Don't click links in other messages; delete them, and sign "
        "in by typing the portal's address yourself."
    ),
    # Source: portal guide, "Can't find your record": DEERS details, corrected at milConnect.
    "sign_in.no_record": Message(
        "If the portal says it can't find your record, the details you signed up with don't "
        "match DEERS. Check and correct them at milConnect (or at an ID card office), then try "
        "again. The Global Service Center ({global_service_center}, 24/7) can help if it still "
        "doesn't work."
    ),
    # Source: portal guide, "Signing up": remote identity proofing; premium (Level 2) needed.
    "sign_in.sign_up": Message(
        'To sign up, choose "Need an account" on the DS Logon page and verify your identity '
        "online (remote identity proofing: a few questions only you can answer). The patient "
        "portal needs a premium (Level 2) account; if yours is basic, upgrade it at milConnect "
        "or at an ID card office."
    ),
    # Source: portal guide, "Browser tips": Edge or Chrome, pop-ups allowed, clear the cache.
    "sign_in.browser": Message(
        "The portal works best in Microsoft Edge or Google Chrome. Allow pop-ups for the portal, "
        "and if a page keeps loading or looping, clear your browser's cache or use a private "
        "window. The Global Service Center ({global_service_center}, 24/7) can help if that "
        "doesn't fix it."
    ),
    # Source: portal guide, "Global Service Center": CAC users can also use chat and e-mail.
    "sign_in.cac": Message(
        "To sign in with your CAC, choose the CAC option on the sign-in page with the card in "
        "your reader. On a government network you can also reach the Global Service Center by "
        "chat or e-mail, or call {global_service_center}, 24/7."
    ),
    # Source: portal guide, "DS Logon": locked up to 30 days; "Forgot Password" first.
    "sign_in.locked_out": Message(
        'Locked out or forgot your password? Use "Forgot Password" on the DS Logon page first: '
        "after too many failed attempts a DS Logon account can stay locked for up to 30 days, "
        "and resetting the password is the quickest way back in. The portal needs a premium "
        "(Level 2) DS Logon account, a CAC, or a PIV card; it works best in Microsoft Edge or "
        "Google Chrome with pop-ups allowed. The Global Service Center "
        "({global_service_center}, 24/7) can help with anything else."
    ),
    # What the channels themselves say (bot/channels/), around the bot's own replies
    "channel.try_again": Message(
        "Sorry, I'm having trouble answering right now. Please try again in a minute.",
        # On a call the caller can try again at once: we listen straight away.
        voice="Sorry, I'm having trouble answering right now. Please try again.",
    ),
    "channel.too_long": Message(
        "That message is too long for me to read at once, so I read only the first part. For a "
        "long note to your care team, please use a secure message."
    ),
    "channel.sign_in_to_chat": Message("Please sign in to the patient portal to chat."),
    "sms.not_text": Message("Sorry, I can only read text messages. Please type your question."),
    "sms.reply_cut": Message(
        "That's all I can send by text. You'll find the rest in the patient portal."
    ),
    "sms.late": Message("About your earlier message:"),
    # Button titles: what a patient taps, or hears read out as a keypad menu (bot/actions/,
    # bot/channels/twilio_voice.py). A title that is data (a clinic, a time, a medication) is not
    # here; its payload is not a sentence and stays with the code.
    "button.yes": Message("Yes"),
    "button.no": Message("No"),
    "button.me": Message("Me"),
    "booking.request_button": Message("Send a request"),
    "booking.never_mind_button": Message("Never mind"),
    "booking.none_of_these_button": Message("None of these"),
    "results.message_button": Message("Message my care team"),
    "recipient.pcm_button": Message("My PCM"),
    "recipient.nurse_button": Message("Nurse"),
    "recipient.front_desk_button": Message("Front desk"),
    "recipient.pharmacy_button": Message("Pharmacy"),
    "recipient.scheduling_button": Message("Scheduling"),
    # The phone's main menu, and any buttons read aloud: "Say or press one for Yes, or two for No."
    "voice.menu_appointments": Message("appointments"),
    "voice.menu_refills": Message("prescription refills"),
    "voice.menu_results": Message("test results"),
    "voice.menu_message": Message("a message to your care team"),
    "voice.press_for": Message("{number} for {title}"),
    "voice.say_or_press_one": Message("Say or press {item}."),
    "voice.say_or_press": Message("Say or press {items}, or {last}."),
    "voice.greeting": Message(
        "Hello, this is {service_name}, the patient portal's automated assistant. "
        "If this is a medical emergency, hang up and dial 911."
    ),
    "voice.menu_lead": Message("Tell me what you need, or use your keypad."),
    "voice.operator": Message("Press 0 to talk to someone."),
    "voice.not_heard": Message("Sorry, I didn't hear anything."),
    "voice.still_not_heard": Message("I still didn't hear anything."),
    "voice.didnt_catch": Message("Sorry, I didn't catch that. Could you say it again?"),
    "voice.silent_goodbye": Message(
        "Sorry, I can't hear you. Please call again whenever you're ready. Goodbye."
    ),
    "voice.silent_transfer": Message(
        "I can't hear you, so let me connect you with someone who can help."
    ),
    "voice.connecting": Message("I'm connecting you to your clinic now. Please stay on the line."),
    "voice.connecting_fallback": Message(
        "I'm connecting you with someone who can help. Please stay on the line."
    ),
    "voice.if_disconnected": Message("If we get disconnected, the number is {number}."),
    "voice.dial_unanswered": Message(
        "Sorry, no one could take the call right now. Please try again later, or tell me what "
        "else I can help with."
    ),
    "voice.one_moment": Message("One moment, please."),
    "voice.late": Message("About what you asked earlier:"),
    "voice.cant_handle": Message(
        "Sorry, this call can't be handled right now. Please call again later. Goodbye."
    ),
    "voice.goodbye": Message("Goodbye."),
    # The scheduling rules' refusals (portal_core/scheduling.py raises them with these ids)
    "scheduling.reason_unreadable": Message(
        "Sorry, I couldn't read the reason for the visit. Please say it again."
    ),
    "scheduling.limit": Message("I can show between 1 and {most} times at once."),
    "scheduling.time_of_day": Message(
        "Would you prefer the morning, the afternoon or the evening?"
    ),
    "scheduling.days_not_times": Message("Sorry, I need calendar days for that, not times."),
    "scheduling.date_unreadable": Message(
        "Sorry, one of those dates doesn't look right. Which days work for you?"
    ),
    "scheduling.too_far_ahead": Message(
        "I can only look about {booking_horizon} ahead. Could you pick earlier days?"
    ),
    "scheduling.range_reversed": Message(
        "The end of that date range comes before its start. Which days work?"
    ),
    "scheduling.dates_passed": Message(
        "Those dates have already passed. Which upcoming days work for you?"
    ),
    "scheduling.too_many_windows": Message(
        "Please give me at most {most} choices of days; the clinic will work with you on the "
        "details."
    ),
    # --- Prescriptions, results and emergencies (portal_core/prescriptions.py, records.py,
    # safety.py raise or return these ids with data; wording/codes.py names the codes' words)
    # A refill's status (a view carries the code; `{status:refill_status}` says it)
    "refill.status.requested": Message("requested"),
    "refill.status.in_progress": Message("being filled"),
    "refill.status.ready": Message("ready for pickup"),
    "refill.status.picked_up": Message("picked up"),
    "refill.status.cancelled": Message("cancelled"),
    # The refill rules' answers (prescriptions.refill_eligibility), in a pharmacist's order
    "refill.inactive": Message(
        "{medication} is no longer an active prescription, so it can't be refilled. If you "
        "still need it, please message your care team."
    ),
    "refill.already_open": Message(
        "A refill of {medication} is already {status:refill_status}, so there's no need to "
        "request another one."
    ),
    "refill.expired_renewable": Message(
        "The prescription for {medication} expired on {expired_on:%A, %B %-d}, so it can't be "
        "refilled. I can send a renewal request to {prescriber}."
    ),
    "refill.expired_needs_visit": Message(
        "The prescription for {medication} expired on {expired_on:%A, %B %-d}, so it can't be "
        "refilled. Because it's a controlled medication, it can't be renewed online; "
        "{prescriber} needs to see you for a visit first. I can help you book one."
    ),
    "refill.no_refills_renewable": Message(
        "There are no refills left on {medication}. I can send a renewal request to {prescriber}."
    ),
    "refill.no_refills_needs_visit": Message(
        "There are no refills left on {medication}. Because it's a controlled medication, it "
        "can't be renewed online; {prescriber} needs to see you for a visit first. I can help "
        "you book one."
    ),
    "refill.too_soon": Message(
        "It's too soon to refill {medication}: it was last filled on "
        "{last_filled_on:%A, %B %-d}. You can request a refill on or after {earliest:%A, %B %-d}."
    ),
    "refill.allowed": Message("{medication} can be refilled. {left} refills left."),
    "refill.allowed_one": Message("{medication} can be refilled. {left} refill left."),
    "refill.not_found": Message("Sorry, I couldn't find that refill request."),
    "refill.unknown_status": Message("Unknown refill status {status!r}."),
    "refill.illegal_transition": Message(
        "A refill that is {status:refill_status} can't become {new_status:refill_status}."
    ),
    "refill.limit": Message("Please ask for between 1 and {most} refills."),
    "medications.prescription_not_found": Message(
        "Sorry, I couldn't find that prescription on the record."
    ),
    "medications.name_unreadable": Message("Sorry, I couldn't read that medication name."),
    "medications.name_too_long": Message(
        "Sorry, that medication name is too long ({length:,} characters). Please keep it under "
        "{limit:,} characters."
    ),
    "medications.which": Message("Which medication do you mean? You can say its name."),
    "medications.which_one": Message("Which one do you mean: {choices:serial_or}?"),
    "medications.none_active_yours": Message(
        "I don't see any active prescriptions on your record."
    ),
    "medications.none_active_theirs": Message(
        "I don't see any active prescriptions on {first_name}'s record."
    ),
    "medications.not_listed_yours": Message(
        'I couldn\'t find "{query:.60}" on your medication list. Your current medications are: '
        "{medications:list}."
    ),
    "medications.not_listed_theirs": Message(
        "I couldn't find \"{query:.60}\" on {first_name}'s medication list. {first_name}'s "
        "current medications are: {medications:list}."
    ),
    "renewal.inactive": Message(
        "{medication} is no longer an active prescription, so it can't be renewed online. "
        "Please message your care team if you still need it."
    ),
    "renewal.controlled": Message(
        "{medication} is a controlled medication, so it can't be renewed online. {prescriber} "
        "needs to see you for a visit before writing a new prescription. I can help you book an "
        "appointment."
    ),
    "renewal.already_waiting": Message(
        "You already asked for {medication} to be renewed on {asked_on:%A, %B %-d}. It's "
        "waiting in {prescriber}'s queue, so there's no need to ask again."
    ),
    "renewal.note_unreadable": Message("Sorry, I couldn't read that note."),
    "renewal.note_too_long": Message(
        "Sorry, that note is too long ({length:,} characters). Please keep it under {limit:,} "
        "characters."
    ),
    "pharmacy.not_found": Message(
        "Sorry, I couldn't find that pharmacy. Which pharmacy would you like?"
    ),
    "pharmacy.not_found_among": Message(
        "Sorry, I couldn't find that pharmacy. The pharmacies are: {pharmacies:list}."
    ),
    "pharmacy.none_on_file": Message(
        "Which pharmacy would you like to pick it up from? There's no pharmacy on file for this "
        "prescription yet."
    ),
    "pharmacy.which": Message("Which pharmacy would you like? You can say its name."),
    "pharmacy.which_one": Message("Which pharmacy do you mean: {choices:serial_or}?"),
    "pharmacy.name_unreadable": Message("Sorry, I couldn't read that pharmacy name."),
    "pharmacy.name_too_long": Message(
        "Sorry, that pharmacy name is too long ({length:,} characters). Please keep it under "
        "{limit:,} characters."
    ),
    # A lab result's flag (a view carries the code; `result_flag` says it)
    "results.flag.normal": Message("normal"),
    "results.flag.high": Message("high"),
    "results.flag.low": Message("low"),
    "results.flag.critical_high": Message("critically high"),
    "results.flag.critical_low": Message("critically low"),
    "results.flag.abnormal": Message("abnormal"),
    # Source: the MHS GENESIS Patient Portal guide, "Immunizations": the official immunization
    # record for school, work or travel is downloaded from the portal itself.
    "immunizations.official_record": Message(
        "For school, work or travel, download the official immunization record from the patient "
        "portal: sign in, open Health Record, then Immunizations, and choose Download (or Print)."
    ),
    # What is said when an emergency or a crisis is detected (portal_core.safety finds it);
    # `web` and `sms` read the text, and a caller hears how to dial.
    "safety.medical": Message(
        "This sounds like a medical emergency. Call {emergency_number} now, or go to the nearest "
        "emergency room. This service cannot send help.",
        voice="This sounds like a medical emergency. Please hang up and dial {emergency_number} "
        "now. This service cannot send help.",
    ),
    "safety.crisis": Message(
        "You are not alone, and help is available right now. Contact the Veterans and Military "
        "Crisis Line: dial {crisis_line}, then press 1, or text {crisis_text}. If you are in "
        "immediate danger, call {emergency_number}.",
        voice="You are not alone, and help is available right now. Please hang up and dial "
        "{crisis_line}, then press 1, to reach the Veterans and Military Crisis Line, or text "
        "{crisis_text}. If you are in immediate danger, dial {emergency_number}.",
    ),
    # The web chat's tap-to-call buttons under an emergency answer (wording/codes.py links them)
    "safety.call_emergency": Message("Call {emergency_number}"),
    "safety.call_crisis_line": Message("Call {crisis_line}, then press 1"),
    "safety.text_crisis_line": Message("Text {crisis_text}"),
    # Requests for records the results service can't read (portal_core/records.py)
    "results.report_kind": Message("Please choose radiology, pathology or visit notes."),
    "results.channel_unknown": Message("Sorry, results can't be sent through this channel."),
    "results.query_too_long": Message(
        "Sorry, I couldn't tell which test you mean. Could you say it shorter?"
    ),
    "results.limit": Message("Please ask for between 1 and {most} records."),
    # What a record's data says in a list of results (portal_core/records.py views carry the
    # data: whether and when it was reviewed, its kind, where it came from; wording/codes.py)
    "records.whose_own": Message("Your"),
    "records.whose_other": Message("{name}'s"),
    "results.labs_heading": Message("{whose} most recent lab results, newest first:"),
    "results.heading": Message("{whose} {what}, newest first:"),
    "medications.heading": Message("{whose} current medications:"),
    "medications.line": Message("- {name} {strength}: {instructions} ({refills} refills left)"),
    "medications.past_heading": Message("Past medications:"),
    "medications.past_line": Message("- {name} {strength} (no longer active)"),
    "results.not_reviewed": Message("not yet reviewed by your care team"),
    "results.reviewed_on": Message("reviewed by your care team on {on:%B %-d, %Y}"),
    "results.from_source": Message("from {org}"),
    "results.kind.lab": Message("lab results"),
    "results.kind.radiology": Message("radiology report"),
    "results.kind.pathology": Message("pathology report"),
    "results.kind.clinical_note": Message("visit note"),
    # An appointment's data in words (portal_core/scheduling.py views; wording/codes.py)
    "appointments.summary": Message("{type} with {provider} at the {clinic} on {at:local}"),
    "appointments.offered_time": Message("{at:local} with {provider}"),
    # The days a patient asked for, as a booking's lead line repeats them (wording.codes; one
    # day is worded as a request's window below)
    "when.days": Message("between {start:%B %-d} and {end:%B %-d}"),
    "when.days_part": Message("between {start:%B %-d} and {end:%B %-d} in the {part}"),
    "appointments.window.day": Message("{start:%A, %B %-d}"),
    "appointments.window.days": Message("{start:%A, %B %-d} to {end:%A, %B %-d}"),
    "appointments.window.day_part": Message("{start:%A, %B %-d} in the {part}"),
    "appointments.window.days_part": Message(
        "{start:%A, %B %-d} to {end:%A, %B %-d} in the {part}"
    ),
    # The proxy rule's reasons (portal_core/proxy.py decides with these ids; a refusal is said)
    "proxy.own_record": Message("Patients have full access to their own record."),
    "proxy.granted": Message("{name} granted you proxy access."),
    "proxy.allowed": Message("You may do this for {name}."),
    "proxy.not_granted": Message(
        "You don't have proxy access to {name}'s record. {name} can grant access through the "
        "patient portal, or your clinic can help."
    ),
    "proxy.young_child": Message(
        "Parents and guardians have full access for children under {teen_from}."
    ),
    "proxy.teen_shared": Message(
        "Parents may manage appointments and prescriptions for teens aged {teen_from} to {teen_to}."
    ),
    "proxy.teen_private": Message(
        "Because {name} is {age}, parents can't see {name}'s {what:capability}. For privacy, "
        "teens aged {teen_from} to {teen_to} see these themselves. {name} can share them with "
        "you, or you can call the clinic."
    ),
    "proxy.capability.appointments": Message("appointments"),
    "proxy.capability.prescriptions": Message("prescriptions"),
    "proxy.capability.results": Message("test results"),
    "proxy.capability.clinical_notes": Message("clinical notes"),
    "proxy.capability.messages": Message("secure messages"),
    "proxy.capability.immunizations": Message("immunizations"),
    "proxy.capability.care_team": Message("care team"),
    "proxy.adult": Message(
        "{name} is an adult, so parents no longer have access to {name}'s record. {name} can "
        "grant you proxy access through the patient portal."
    ),
    # Malformed ids and webhook fields (portal_core/ids.py, channel_state, the Twilio channels)
    "error.invalid_id": Message("Sorry, that isn't a valid {what}."),
    "channel.conversation_invalid": Message(
        "Sorry, this conversation can't be continued. Please start again."
    ),
    "channel.field_invalid": Message("Sorry, that {what} isn't valid."),
    "channel.call_invalid": Message("Sorry, that call can't be handled."),
    "sms.you_can_call": Message("You can call {dial}."),
    # Days and times the patient can't be understood for (understanding/when.py raises them)
    "when.ask_day": Message("Please tell me a day or a time, for example 'next Tuesday morning'."),
    "when.weekdays_only": Message(
        "Clinics book weekdays only. Which weekday works for you, for example Monday?"
    ),
    "when.day_not_caught": Message(
        "Sorry, I didn't catch the day. You can say something like 'tomorrow', 'next Tuesday' "
        "or 'December 3rd'."
    ),
    "when.no_such_date": Message(
        "That date doesn't exist. Which day works for you, for example 'December 3rd'?"
    ),
    "when.passed": Message("That date has already passed. Which upcoming day works for you?"),
    "when.too_far_ahead": Message(
        "I can only look about {booking_horizon} ahead. Could you pick an earlier day?"
    ),
    "when.not_a_day_of_month": Message("That isn't a day of the month. Which date works for you?"),
    # SMS keywords (channel_state/opt_out.py), as US carriers (CTIA) require
    "sms.help": Message(
        "{service_name}, the MHS GENESIS patient portal assistant. For help, call the MHS "
        "GENESIS Global Service Center at {global_service_center}, 24/7. In an emergency, call "
        "911. Msg & data rates may apply. Reply STOP to opt out."
    ),
    "sms.stopped": Message(
        "{service_name}: You're unsubscribed and won't get more texts from this number. Reply "
        "START to subscribe again."
    ),
    "sms.started": Message(
        "{service_name}: You're subscribed again. How can I help? Reply HELP for help, STOP to "
        "opt out."
    ),
    # CANCEL is a carrier opt-out word, but a patient may simply mean an appointment.
    "sms.cancel_hint": Message(
        ' If you meant to cancel an appointment, reply START, then "cancel my appointment".'
    ),
    # --- The domain's refusals (portal_core raises them with these ids and their data) ---------
    # portal_core/errors.py: each kind of failure's own words, when raised without a message id
    "error.generic": Message("Sorry, that request could not be completed."),
    "error.invalid_input": Message(
        "Sorry, I couldn't understand that. Please check it and try again."
    ),
    "error.not_found": Message("Sorry, I couldn't find that."),
    "error.patient_not_found": Message("Sorry, I couldn't find a patient record that matches."),
    "error.access_denied": Message("Sorry, you don't have access to that."),
    "error.premium_required": Message(
        "This feature needs a premium (DS Logon Level 2) account. You can upgrade at "
        "milConnect or at your nearest ID card office."
    ),
    "error.conflict": Message("Sorry, that changed while we were working on it. Please try again."),
    "error.slot_unavailable": Message("Sorry, that appointment time is no longer available."),
    "error.refill_not_allowed": Message("Sorry, that prescription can't be refilled right now."),
    "error.renewal_not_allowed": Message("Sorry, that prescription can't be renewed online."),
    "error.verification_failed": Message("Sorry, those details don't match our records."),
    "error.locked_out": Message(
        "For your security, verification is locked for now after too many attempts. "
        "Please try again later or call the MHS GENESIS Global Service Center at "
        "{global_service_center}."
    ),
    "error.session_expired": Message("Your session has ended. Please verify your identity again."),
    "error.unavailable": Message(
        "Sorry, I can't reach our records right now, so nothing was changed. "
        "Please try again shortly."
    ),
    # portal_core/people.py: care team, who "my son" is, proxy grants
    "people.no_pcm": Message(
        "You don't have a primary care manager (PCM) assigned yet. Please call your clinic, or "
        f"{_TRICARE_ASSIGNS}"
    ),
    "people.no_pcm_call_clinic": Message(
        "You don't have a primary care manager (PCM) assigned yet. Please call {clinic} at "
        f"{{phone}}, or {_TRICARE_ASSIGNS}"
    ),
    "people.who_unclear": Message("Sorry, I couldn't tell who you mean."),
    "people.which_person": Message("Who do you mean: {choices:or}?"),
    "people.not_found": Message(
        f"{_NOT_AMONG} You can act for {{others:yourself and}}. {_ANYONE_CAN_GRANT}"
    ),
    "people.not_found_only_self": Message(
        f"{_NOT_AMONG} Right now you can only act for yourself. {_ANYONE_CAN_GRANT}"
    ),
    "people.who_is_it_for": Message(
        'Who is this for? You can say "me" or a family member\'s name.'
    ),
    "people.reference_too_long": Message(
        "That's a bit long. Please just tell me the person's first name."
    ),
    "people.grant_adults_only": Message(
        "Only patients 18 or older can give someone proxy access. For younger patients, a "
        "parent or guardian already manages access."
    ),
    "people.grant_not_found": Message(
        "You haven't given that person proxy access, so there's nothing to remove."
    ),
    "people.grant_to_self": Message("You already have full access to your own record."),
    "people.grant_end_date": Message("Please give the date the access should end."),
    "people.grant_end_after_today": Message(
        "The end date for proxy access needs to be after today."
    ),
    # Source: portal_core.people.MAX_GRANT_YEARS (one year).
    "people.grant_up_to_a_year": Message(
        "Proxy access can be given for up to one year at a time, so the latest end date is "
        "{latest:%B %-d, %Y}. You can renew it before then."
    ),
    "people.dod_id_needed": Message("Please give the person's 10-digit DoD ID number."),
    "people.dod_id_digits": Message(
        "A DoD ID number has 10 digits. Please check it and try again."
    ),
    "people.dod_id_unknown": Message("Sorry, I couldn't find anyone with that DoD ID number."),
    # portal_core/messaging.py: what is never filed as a secure message, and who it goes to
    "messaging.emergency": Message(
        "This sounds like it could be an emergency, so I haven't sent it as a secure message: "
        "those aren't read right away. If this is an emergency, call 911 now."
    ),
    "messaging.too_long": Message(
        "That message is too long. Please keep it under {message_max_chars} characters, or "
        "send it as two messages."
    ),
    "messaging.too_long_by": Message(
        "That message is {length:,} characters long; the limit is {message_max_chars}. "
        "Please shorten it or send it as two messages."
    ),
    "messaging.subject_too_long": Message("Please keep the subject under {most} characters."),
    "messaging.unknown_category": Message("Sorry, I don't know that kind of message."),
    "messaging.unreadable": Message("Sorry, I couldn't read that {what}."),
    "messaging.thread_limit": Message("Please ask for between 1 and {most} conversations."),
    "messaging.unknown_recipient": Message(
        "I'm not sure who to send that to. I can send it to your primary care manager (PCM), "
        "the nurses, the front desk, scheduling, or the pharmacy."
    ),
    "messaging.not_to_provider": Message(
        "I can't send secure messages to {provider} from here. I can send it to {pcm}, or to "
        "the nurses, front desk, scheduling or pharmacy at your clinic."
    ),
    "messaging.not_to_provider_no_pcm": Message(
        "I can't send secure messages to {provider} from here. I can send it to your care "
        "team, or to the nurses, front desk, scheduling or pharmacy at your clinic."
    ),
    "messaging.portal_help": Message(
        "Secure messages go to your care team. For help with the patient portal itself, "
        "please call the MHS GENESIS Global Service Center at {global_service_center}."
    ),
    "messaging.no_clinic": Message(
        "I couldn't find a clinic on file to send this to. Please call your military hospital "
        "or clinic, or the MHS GENESIS Global Service Center at {global_service_center}."
    ),
    "messaging.which_clinic_of": Message("Which clinic do you mean: {choices:each_or}?"),
    # portal_core/identity.py: proving who is on the phone (its security alert is for operators)
    "identity.details_wrong": Message(
        "Sorry, those details don't match our records for this phone number. "
        "You have {attempts_left:more try/more tries} before verification is locked for a while."
    ),
    "identity.locked": Message(
        "For your security, verification from this phone is locked after too many attempts. "
        f"Please try again in {{wait:wait}}, or for help now call {_HELP}."
    ),
    "identity.cannot_confirm": Message(
        f"Sorry, I can't confirm who you are from those details. Please call {_HELP}."
    ),
    "identity.not_a_phone": Message(
        "Sorry, that doesn't look like a phone number. Please check it."
    ),
    "identity.date_unreadable": Message(f"Sorry, I didn't catch that date. {_DOB_HINT}"),
    "identity.not_a_date": Message(f"That isn't a real date. {_DOB_HINT}"),
    "identity.no_such_day": Message(
        "{month:%B} {year} doesn't have a day {day}. Please check your date of birth and try again."
    ),
    "identity.birth_date_wrong": Message(
        "That date of birth doesn't look right. Please check it and try again."
    ),
    "identity.last4_needed": Message("Please give the last four digits of your DoD ID number."),
    "identity.start_again": Message(
        "Sorry, this conversation can't be verified. Please start again."
    ),
    "identity.wrong_channel": Message("Sorry, verification isn't available on this channel."),
    # portal_core/web_tokens.py: the web chat's sign-in
    "web_token.invalid": Message(
        "Sorry, I couldn't confirm your portal sign-in. Please refresh the page or sign in to "
        "the patient portal again."
    ),
    "web_token.expired": Message(
        "Your portal session has ended. Please refresh the page or sign in again."
    ),
    # portal_core/clinics.py: which clinic or visit was meant
    "clinics.not_found": Message("Sorry, I couldn't find that clinic."),
    "clinics.which": Message("Which clinic do you mean?"),
    "clinics.type_not_found": Message("Sorry, I couldn't find that kind of appointment."),
    "clinics.which_type": Message("What kind of appointment do you need?"),
    "clinics.type_not_offered": Message(
        "Sorry, that clinic doesn't offer that kind of appointment."
    ),
    "clinics.type_not_offered_at": Message(
        "Sorry, the {clinic} doesn't offer {kind:lower a} appointment. You can call them at "
        "{phone} to ask where to go."
    ),
    "clinics.ask_clinic": Message(_ASK_CLINIC),
    "clinics.clinic_too_long": Message(f"{_TOO_LONG_FOR_A_NAME} {_ASK_CLINIC}"),
    "clinics.ask_type": Message(_ASK_TYPE),
    "clinics.type_too_long": Message(f"{_TOO_LONG_FOR_A_NAME} {_ASK_TYPE}"),
    "clinics.none_set_up": Message("Sorry, there are no clinics set up yet."),
    "clinics.no_such_clinic": Message(
        'Sorry, I couldn\'t find a clinic called "{name}". Clinics include {nearest:serial_or}.'
    ),
    "clinics.no_types_set_up": Message("Sorry, no appointment types are set up yet."),
    "clinics.no_such_type": Message(
        'Sorry, I don\'t know the appointment type "{name}". I can book {types:lower serial_or}.'
    ),
    "clinics.which_of": Message(
        'I found more than one clinic for "{name}". Do you mean {shown:serial_or}?'
    ),
    "clinics.which_of_more": Message(
        'I found more than one clinic for "{name}". Do you mean {shown:serial_or} or another '
        "clinic?"
    ),
    "clinics.which_type_of": Message("Do you mean {types:lower serial_or}?"),
    # portal_core/scheduling.py: the booking rules' refusals (with the `scheduling.*` above)
    "scheduling.request_only": Message(
        "That clinic schedules this kind of appointment itself, so I can't book it online. "
        "I can send them a request and they'll contact you to set it up."
    ),
    "scheduling.request_only_at": Message(
        "The {clinic} schedules {kind:lower} appointments itself, so I can't book one online. "
        "I can send the clinic a request with the days that suit you, and they'll contact "
        "you to set it up."
    ),
    "scheduling.request_pending": Message(
        "You already have a request waiting for that kind of appointment."
    ),
    "scheduling.request_pending_since": Message(
        "There's already a request for {kind:lower a} appointment with the {clinic}, sent on "
        "{sent:%A, %B %-d}. The clinic will contact you by {contact_by:%A, %B %-d}. To add "
        "details, send them a secure message; if you need care sooner, call the clinic at "
        "{phone}."
    ),
    "scheduling.overlap": Message("You already have an appointment at that time."),
    "scheduling.overlap_at": Message(
        "You already have an appointment at the {clinic} on {at:local} at that time. "
        "Would you like to reschedule that one instead, or pick another time?"
    ),
    "scheduling.slot_not_found": Message(
        "Sorry, I couldn't find that appointment time. Let's look for another one."
    ),
    "scheduling.slot_too_soon": Message(
        "Sorry, that time has passed or starts too soon to book online. "
        "Let's look for a later time."
    ),
    "scheduling.appointment_not_found": Message("Sorry, I couldn't find that appointment."),
    "scheduling.not_changeable": Message("Sorry, that appointment can't be changed online."),
    "scheduling.already_cancelled": Message("That appointment has already been cancelled."),
    "scheduling.already_past": Message(
        "That appointment has already taken place, so it can't be changed."
    ),
    "scheduling.same_slot": Message(
        "That's the time you already have. Would you like a different time?"
    ),
    "scheduling.different_type": Message(
        "That time is for a different kind of appointment. To change the kind of visit, cancel "
        "this one and book a new one."
    ),
    "scheduling.clinic_needed": Message("Which clinic would you like to be seen at?"),
    "scheduling.provider_not_found": Message("Sorry, I couldn't find that provider."),
    "scheduling.window_unusable": Message(
        "Sorry, I couldn't use those dates. Which days work for you?"
    ),
    "scheduling.reason_too_long": Message(
        "Please keep the reason for the visit under {reason_max_chars} characters. "
        "You can tell your care team more at the appointment."
    ),
}


def refill_status(status: str, channel: str = "web") -> str:
    """A refill's status code in words ('in_progress' -> 'being filled')."""
    return render(codes.REFILL_STATUS[status], channel)


def capability_words(capability: str, channel: str = "web") -> str:
    """A proxy capability's value in words ('results' -> 'test results')."""
    return render(codes.CAPABILITY[capability], channel)


def result_flag(flag: str, channel: str = "web") -> str:
    """A lab result's flag in words ('critical_high' -> 'critically high'); a flag the catalogue
    doesn't know yet is said as its code reads."""
    key = codes.RESULT_FLAG.get(flag)
    return render(key, channel) if key else flag.replace("_", " ")


def review_note(record: LabResultView | ReportView, channel: str = "web") -> str | None:
    """Whether the care team has reviewed a result, as its line says it: "not yet reviewed by
    your care team", "reviewed by your care team on November 24, 2026", or nothing for a record
    that awaits no review (a visit note)."""
    if not record.reviewed:
        return render(codes.NOT_REVIEWED, channel)
    if record.reviewed_on is None:
        return None
    return render(codes.REVIEWED_ON, channel, on=record.reviewed_on)


def record_kind(kind: str, channel: str = "web") -> str:
    """A report's kind code in words ('radiology' -> 'radiology report')."""
    return render(codes.RECORD_KIND[kind], channel)


def record_source(source_org: str | None, channel: str = "web") -> str | None:
    """Where a record from the health information exchange came from ("from CVS Pharmacy")."""
    return render(codes.FROM_SOURCE, channel, org=source_org) if source_org else None


def appointment_summary(view: AppointmentView, channel: str = "web") -> str:
    """'Wellness Visit with Dr. Lee, MD at the Family Medicine Clinic on Tuesday, December 1 at
    9:30 AM CST': an appointment as every confirmation and list names it."""
    return render(
        codes.APPOINTMENT_SUMMARY,
        channel,
        type=view.type_name,
        provider=view.provider_name,
        clinic=view.clinic_name,
        at=view.local_start,
    )


def offered_time(slot: SlotView, channel: str = "web") -> str:
    """'Tuesday, December 1 at 9:00 AM CST with Dr. Lee, MD': two offered times never read the
    same."""
    return render(codes.OFFERED_TIME, channel, at=slot.local_start, provider=slot.provider_name)


def preferred_window(window: PreferredWindow, channel: str = "web") -> str:
    """'Tuesday, December 1 to Friday, December 4 in the morning': when a request asks for."""
    return _days(codes.PREFERRED_WINDOW, window.start, window.end, window.time_of_day, channel)


def asked_days(when: When, channel: str = "web") -> str:
    """'Tuesday, December 1', 'between December 1 and December 4 in the morning': the days a
    patient asked for, as the assistant repeats them."""
    return _days(codes.ASKED_DAYS, when.start, when.end, when.time_of_day, channel)


def _days(
    keys: Mapping[tuple[bool, bool], str],
    start: date,
    end: date,
    part: str | None,
    channel: str,
) -> str:
    """A span of days and maybe a part of the day, in the wording `keys` picks for its shape
    (one day or several, a part of the day or not)."""
    # A template ignores what it doesn't name (a one-day wording has no {end}).
    return render(keys[(start == end, bool(part))], channel, start=start, end=end, part=part)


def emergency_response(kind: str, channel: str) -> str:
    """What is said when `kind` of emergency (`portal_core.safety.KINDS`) is detected."""
    if kind not in codes.EMERGENCY:
        raise ValueError(f"unknown emergency kind {kind!r}")
    return render(codes.EMERGENCY[kind], channel)


def emergency_contacts(kind: str, channel: str = "web") -> list[dict[str, str]]:
    """The calls (and text) an emergency answer offers, as `{"label", "href"}` links."""
    if kind not in codes.EMERGENCY_CONTACTS:
        raise ValueError(f"unknown emergency kind {kind!r}")
    return [
        {"label": render(key, channel), "href": href.format(**FACTS)}
        for key, href in codes.EMERGENCY_CONTACTS[kind]
    ]


def say_error(error: PortalError | Unavailable, channel: str = "web") -> str:
    """What a domain error says in `channel`'s words: the message id it was raised with, else
    the sentence it still carries (an error not yet moved to message ids), else its class's
    message id; rendered with its data."""
    if isinstance(error, Unavailable):
        return render(Unavailable.default_key, channel)
    if isinstance(error, EmergencyInMessage):
        # A secure message or a renewal note that describes an emergency is answered as the
        # emergency itself would be: 911 (or the crisis line) first, in the channel's words.
        return emergency_response(error.finding.kind, channel)
    if error.key is None and error.user_message:
        return error.user_message
    return render(error.message_key, channel, **error.data)


def fields(template: str) -> frozenset[str]:
    """The variables a template names (`{count}`, `{reply_due_on:%A}` -> count, reply_due_on)."""
    return frozenset(
        name.split(".")[0].split("[")[0]
        for _, name, _, _ in string.Formatter().parse(template)
        if name
    )


def variables(key: str) -> frozenset[str]:
    """What a caller of `key` must supply: its templates' fields less the facts."""
    named = frozenset().union(*(fields(w) for w in MESSAGES[key].wordings()))
    return named - FACTS.keys() - RULE_FACTS


def render(
    key: str, channel: str = "web", *, settings: Settings | None = None, **values: Any
) -> str:
    """The sentence `key` as `channel` words it, with `values` and the facts filled in.

    A KeyError for an unknown key, or for a variable the caller did not give, is a bug the
    catalogue's tests are there to catch before a patient does.
    """
    template = MESSAGES[key].for_channel(channel)
    facts: dict[str, Any] = dict(FACTS)
    if fields(template) & RULE_FACTS:
        facts.update(rule_facts(settings or load_settings()))
    return WORDING.format(template, **{**facts, **values})
