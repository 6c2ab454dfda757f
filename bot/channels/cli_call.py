"""Call the running assistant from a terminal, as Twilio would drive a phone call (`make call`).

Each step is POSTed to the voice channel's webhooks with the fields Twilio sends and an
`X-Twilio-Signature` computed by the twilio library from `TWILIO_AUTH_TOKEN` and the public URL
(`TWILIO_PUBLIC_BASE_URL` + path when set, as the channel checks it). The TwiML that comes back
is played the way Twilio plays it: what each `<Say>` says is printed, a `<Gather>` waits for you,
silence falls through to the next verb, `<Dial>` and `<Hangup/>` end the conversation.

At the `you>` prompt, type what you would say, or keypad digits:

    06/15/1983       speech (what the recogniser heard)
    d:06151983       keypad digits; `#06151983` and `*1` work too (`#` ends keypad entry)
    (empty line)     silence: the assistant asks again, then says goodbye
    /hangup          hang up (Ctrl-D too)

    .venv/bin/python -m bot.channels.cli_call --from +12545550101
    .venv/bin/python -m bot.channels.cli_call --say "refill my lisinopril" --say d:06151983
"""

from __future__ import annotations

import contextlib
import sys
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field

from bot.channels.twilio_common import load_twilio_settings
from bot.channels.twilio_requests import (
    ASSISTANT_NUMBER,
    DEMO_PHONE,
    QUIT_WORDS,
    REFUSED,
    VOICE_BASE_PATH,
    call_form,
    new_sid,
    post_signed,
    say_no_token,
    spoken,
    terminal_parser,
    typed_lines,
)

BASE_PATH = VOICE_BASE_PATH
HANG_UP = "/hangup"
SILENCE = ""


def keypad(line: str) -> str | None:
    """The digits of a keypad entry (`d:123`, `#123`, `*1`), or None for speech."""
    text = line.strip()
    for prefix in ("d:", "D:", "#"):
        if text.startswith(prefix) and len(text) > len(prefix):
            digits = text[len(prefix) :].strip().rstrip("#")
            return digits if all(c in "0123456789*" for c in digits) and digits else None
    return text if text.startswith("*") and all(c in "0123456789*" for c in text) else None


@dataclass
class Call:
    """One simulated call: its ids, where Rasa listens, and how to sign like Twilio."""

    token: str
    rasa_url: str
    public_base: str | None
    caller: str = DEMO_PHONE
    called: str = ASSISTANT_NUMBER
    sid: str = field(default_factory=lambda: new_sid("CA"))
    document: str = BASE_PATH + "webhook"  # the path of the TwiML being played

    def form(self, **fields: str) -> dict[str, str]:
        return call_form(self.sid, self.caller, self.called, **fields)

    def post(self, target: str, fields: dict[str, str]) -> tuple[int, str]:
        """POST to `target` (relative to the TwiML being played, as Twilio resolves it)."""
        path = urllib.parse.urljoin(self.document, target)
        signed_url = (self.public_base or self.rasa_url) + path
        self.document = urllib.parse.urlsplit(path).path
        return post_signed(self.rasa_url + path, signed_url, self.token, fields)

    def hang_up(self) -> None:
        self.post(BASE_PATH + "status", self.form(CallStatus="completed", CallDuration="60"))


@dataclass
class Transcript:
    """Everything the call showed, printed as it happens (unless quiet)."""

    quiet: bool = False
    echo: bool = True  # print the caller's answers too (not when they were typed at a prompt)
    lines: list[str] = field(default_factory=list)

    def show(self, line: str) -> None:
        self.lines.append(line)
        if not self.quiet:
            print(line, flush=True)

    def heard(self, answer: str) -> None:
        self.lines.append(f"you> {answer}")
        if self.echo and not self.quiet:
            print(f"you> {answer}", flush=True)

    @property
    def failed(self) -> bool:
        return any(line.startswith("!!") for line in self.lines)


def play(call: Call, twiml: str, answers: Iterator[str], log: Transcript) -> str | None:
    """Play one TwiML document; the next document to play, or None when the call is over."""
    try:
        root = ET.fromstring(twiml)
    except ET.ParseError:
        log.show(f"!! not TwiML: {twiml[:200]}")
        return None
    for verb in root:
        if verb.tag == "Say":
            log.show("assistant> " + spoken(verb))
        elif verb.tag == "Gather":
            for say in verb.iter("Say"):
                log.show("assistant> " + spoken(say))
            answer = next(answers, HANG_UP)
            if answer == HANG_UP:
                return None
            if answer == SILENCE:
                log.show("   (silence)")
                continue
            log.heard(answer)
            digits = keypad(answer)
            fields = {"Digits": digits} if digits else {"SpeechResult": answer, "Confidence": "0.9"}
            return _request(call, verb.get("action") or call.document, call.form(**fields), log)
        elif verb.tag == "Dial":
            number = "".join(verb.itertext()).strip()
            log.show(f"   [transferring the call to {number}]")
            action = verb.get("action")
            if not action:
                continue
            result = next(answers, SILENCE)
            status = "busy" if result.strip().lower() == "busy" else "completed"
            return _request(call, action, call.form(DialCallStatus=status), log)
        elif verb.tag == "Redirect":
            return _request(call, (verb.text or "").strip() or call.document, call.form(), log)
        elif verb.tag == "Hangup":
            log.show("   [the assistant hung up]")
            return None
    return None  # Twilio hangs up at the end of a document


def _request(call: Call, target: str, fields: dict[str, str], log: Transcript) -> str | None:
    try:
        status, body = call.post(target, fields)
    except OSError as error:
        log.show(f"!! could not reach {call.rasa_url}: {error}. Is `make run` running?")
        return None
    if status == 403:
        log.show(REFUSED)
        return None
    if status >= 400:
        log.show(f"!! HTTP {status}: {body[:200]}")
        return None
    return body


def _typed() -> Iterator[str]:
    for line in typed_lines():
        yield HANG_UP if line.strip() in (HANG_UP, *QUIT_WORDS) else line.strip()


def converse(call: Call, answers: Iterator[str], log: Transcript | None = None) -> Transcript:
    """Place the call, play it to the end, and send the final status callback."""
    log = log or Transcript()
    twiml = _request(call, BASE_PATH + "webhook", call.form(CallStatus="ringing"), log)
    while twiml is not None:
        twiml = play(call, twiml, answers, log)
    with contextlib.suppress(OSError):  # the call is over either way
        call.hang_up()
    return log


def main(argv: list[str] | None = None) -> int:
    parser = terminal_parser(__doc__.split("\n\n")[0], sender="caller")
    parser.add_argument(
        "--say", action="append", help="answer with these, in order, then hang up (repeatable)"
    )
    args = parser.parse_args(argv)

    settings = load_twilio_settings()
    if not settings.auth_token:
        return say_no_token()
    call = Call(
        token=settings.auth_token,
        rasa_url=args.url.rstrip("/"),
        public_base=settings.public_base_url,
        caller=args.caller,
        called=args.to,
    )
    if not args.say:
        print(
            f"Calling {call.rasa_url} from {call.caller}. Type what you'd say; d:1234 for "
            "keypad digits; an empty line is silence; /hangup to end."
        )
    if args.say:
        return 1 if converse(call, iter([*args.say, HANG_UP])).failed else 0
    return 1 if converse(call, _typed(), Transcript(echo=False)).failed else 0


if __name__ == "__main__":
    sys.exit(main())
