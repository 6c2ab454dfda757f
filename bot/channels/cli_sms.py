"""Text the running assistant from a terminal, as Twilio would deliver each SMS (`make sms`).

Every message is POSTed to the SMS channel's webhook with the form fields Twilio sends and an
`X-Twilio-Signature` computed by the twilio library from `TWILIO_AUTH_TOKEN` and the public URL
(`TWILIO_PUBLIC_BASE_URL` + path when set, as the channel checks it), so the whole channel runs
exactly as it would for a real text: signature, STOP/HELP, numbered choices, splitting.

    .venv/bin/python -m bot.channels.cli_sms --from +12545550101
    .venv/bin/python -m bot.channels.cli_sms --say "refill my lisinopril" --say "06/15/1983"
"""

from __future__ import annotations

import argparse
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator

from twilio.request_validator import RequestValidator

from bot.channels.twilio_common import SIGNATURE_HEADER, load_twilio_settings

DEFAULT_RASA_URL = "http://127.0.0.1:5005"
WEBHOOK_PATH = "/webhooks/twilio_sms/webhook"
DEFAULT_FROM = "+12545550101"  # Marcus Rivera in the demo data (`make run` lists them all)
DEFAULT_TO = "+15005550006"  # Twilio's magic test number; any number works locally
ACCOUNT_SID = "AC" + "0" * 32


def twilio_form(sender: str, to: str, body: str) -> dict[str, str]:
    """The fields Twilio posts for an incoming SMS, with a fresh MessageSid."""
    sid = "SM" + secrets.token_hex(16)
    return {
        "ToCountry": "US",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": body,
        "To": to,
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }


def send(
    webhook_url: str, public_url: str, token: str, form: dict[str, str], timeout: float = 30
) -> tuple[int, str]:
    """POST one signed delivery; (HTTP status, body)."""
    signature = RequestValidator(token).compute_signature(public_url, form)
    request = urllib.request.Request(
        webhook_url,
        data=urllib.parse.urlencode(form).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            SIGNATURE_HEADER: signature,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", errors="replace")


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
    while True:
        try:
            line = input("you> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return
        if line.strip() in ("/quit", "/exit"):
            return
        yield line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="sender", default=DEFAULT_FROM, help="your number")
    parser.add_argument("--to", default=DEFAULT_TO, help="the assistant's Twilio number")
    parser.add_argument("--url", default=DEFAULT_RASA_URL, help="where Rasa listens")
    parser.add_argument("--say", action="append", help="send these texts and exit (repeatable)")
    args = parser.parse_args(argv)

    settings = load_twilio_settings()
    if not settings.auth_token:
        print(
            "TWILIO_AUTH_TOKEN is not set. Put the same value in .env for `make run` and here "
            "(locally any string will do, e.g. TWILIO_AUTH_TOKEN=local-dev-token), then restart "
            "`make run`.",
            file=sys.stderr,
        )
        return 2
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
            print(
                "!! 403: the signature was refused. Do this client and Rasa share "
                "TWILIO_AUTH_TOKEN and TWILIO_PUBLIC_BASE_URL?"
            )
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
