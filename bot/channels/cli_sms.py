"""Text the running assistant from a terminal, as Twilio would deliver each SMS (`make sms`).

Every message is POSTed to the SMS channel's webhook with the form fields Twilio sends and an
`X-Twilio-Signature` computed by the twilio library from `TWILIO_AUTH_TOKEN` and the public URL
(`TWILIO_PUBLIC_BASE_URL` + path when set, as the channel checks it), so the whole channel runs
exactly as it would for a real text: signature, STOP/HELP, numbered choices, splitting.

    .venv/bin/python -m bot.channels.cli_sms --from +12545550101
    .venv/bin/python -m bot.channels.cli_sms --say "refill my lisinopril" --say "06/15/1983"
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator

from bot.channels.twilio_common import load_twilio_settings
from bot.channels.twilio_requests import (
    QUIT_WORDS,
    REFUSED,
    SMS_PATH,
    new_sid,
    post_signed,
    say_no_token,
    sms_form,
    terminal_parser,
    typed_lines,
)

WEBHOOK_PATH = SMS_PATH


def twilio_form(sender: str, to: str, body: str) -> dict[str, str]:
    """The fields Twilio posts for an incoming SMS, with a fresh MessageSid."""
    return sms_form(sender, body, new_sid("SM"), to=to)


def send(
    webhook_url: str, public_url: str, token: str, form: dict[str, str], timeout: float = 30
) -> tuple[int, str]:
    """POST one signed delivery; (HTTP status, body)."""
    return post_signed(webhook_url, public_url, token, form, timeout)


def messages_in(twiml: str) -> list[str]:
    """The texts of a TwiML `<Response>`'s `<Message>` verbs, in order."""
    root = ET.fromstring(twiml)
    return [
        "".join(message.itertext()).strip()
        for message in root.iter("Message")
        if "".join(message.itertext()).strip()
    ]


def _lines(said: list[str] | None) -> Iterator[str]:
    if said:
        yield from said
        return
    for line in typed_lines():
        if line.strip() in QUIT_WORDS:
            return
        yield line


def main(argv: list[str] | None = None) -> int:
    parser = terminal_parser(__doc__.split("\n\n")[0], sender="sender")
    parser.add_argument("--say", action="append", help="send these texts and exit (repeatable)")
    args = parser.parse_args(argv)

    settings = load_twilio_settings()
    if not settings.auth_token:
        return say_no_token()
    webhook_url = args.url.rstrip("/") + WEBHOOK_PATH
    public_url = (
        (settings.public_base_url + WEBHOOK_PATH) if settings.public_base_url else webhook_url
    )
    if not args.say:
        print(f"Texting {webhook_url} as {args.sender}. Reply STOP, HELP, or /quit to leave.")
    for line in _lines(args.say):
        try:
            status, body = send(
                webhook_url,
                public_url,
                settings.auth_token,
                twilio_form(args.sender, args.to, line),
            )
        except OSError as error:
            print(f"!! could not reach {webhook_url}: {error}. Is `make run` running?")
            return 1
        if status == 403:
            print(REFUSED)
            return 1
        if status >= 400:
            print(f"!! HTTP {status}: {body[:200]}")
            continue
        texts = messages_in(body)
        if not texts:
            print("   (no reply)")
        for text in texts:
            print("bot> " + text.replace("\n", "\n     "))
    return 0


if __name__ == "__main__":
    sys.exit(main())
