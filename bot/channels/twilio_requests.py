"""Requests as Twilio makes them: the form fields it posts for a text or a call step, and the
`X-Twilio-Signature` it computes (the twilio library's `RequestValidator`).

One place for what the terminal clients (`cli_sms`, `cli_call`), the test patients and the
load benchmark's clients (`ops/clients.py`) all send, so a field Twilio adds or a signing detail
is changed once. Standard library and twilio only: no Rasa, so `ops` can import it cheaply.
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

SIGNATURE_HEADER = "X-Twilio-Signature"
ACCOUNT_SID = "AC" + "0" * 32
ASSISTANT_NUMBER = "+15005550006"  # Twilio's magic test number; any number works locally
API_VERSION = "2010-04-01"
SMS_PATH = "/webhooks/twilio_sms/webhook"
VOICE_BASE_PATH = "/webhooks/twilio_voice/"
VOICE_PATH = VOICE_BASE_PATH + "webhook"
LOCAL_RASA_URL = "http://127.0.0.1:5005"
DEMO_PHONE = "+12545550101"  # Marcus Rivera in the demo data (`make run` lists them all)

# What the terminal clients say when they cannot talk to the channel; the same for texts and calls.
NO_TOKEN = (
    "TWILIO_AUTH_TOKEN is not set. Put the same value in .env for `make run` and here "
    "(locally any string will do, e.g. TWILIO_AUTH_TOKEN=local-dev-token), then restart "
    "`make run`."
)
REFUSED = (
    "!! 403: the signature was refused. Do this client and Rasa share "
    "TWILIO_AUTH_TOKEN and TWILIO_PUBLIC_BASE_URL?"
)
QUIT_WORDS = ("/quit", "/exit")


def new_sid(prefix: str) -> str:
    """A fresh Twilio-style id (`SM…` for a text, `CA…` for a call)."""
    return prefix + secrets.token_hex(16)


def signature(token: str, url: str, form: dict[str, str]) -> str:
    """HMAC-SHA1 of the public URL plus the sorted form fields, as Twilio signs."""
    return RequestValidator(token).compute_signature(url, form)


def form_headers(signed: str | None) -> dict[str, str]:
    """The headers of a form post, signed when `signed` is given."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signed is not None:
        headers[SIGNATURE_HEADER] = signed
    return headers


def sms_form(sender: str, body: str, sid: str, to: str = ASSISTANT_NUMBER) -> dict[str, str]:
    """The fields Twilio posts for an incoming text."""
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
        "ApiVersion": API_VERSION,
    }


def call_form(sid: str, caller: str, called: str, **extra: str) -> dict[str, str]:
    """The fields Twilio posts for a step of an inbound call, with `extra` on top."""
    form = {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": API_VERSION,
        "CallSid": sid,
        "CallStatus": "in-progress",
        "Direction": "inbound",
        "From": caller,
        "Caller": caller,
        "To": called,
        "Called": called,
    }
    form.update(extra)
    return form


def post_signed(
    url: str, signed_url: str, token: str, form: dict[str, str], timeout: float = 30
) -> tuple[int, str]:
    """POST one delivery to `url`, signed for `signed_url` (the URL Twilio was told).

    (HTTP status, body); an HTTP error is an answer too, not an exception."""
    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode(form).encode(),
        headers=form_headers(signature(token, signed_url, form)),
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", errors="replace")


def spoken(element: ET.Element) -> str:
    """What a `<Say>` says (SSML breaks are silent)."""
    return " ".join(" ".join(element.itertext()).split())


def typed_lines() -> Iterator[str]:
    """Lines typed at a `you>` prompt, as typed, until end of input or Ctrl-C."""
    while True:
        try:
            line = input("you> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return
        yield line


def terminal_parser(description: str, sender: str) -> argparse.ArgumentParser:
    """The options both terminal clients take: your number (into `sender`), theirs, Rasa's URL."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--from", dest=sender, default=DEMO_PHONE, help="your number")
    parser.add_argument("--to", default=ASSISTANT_NUMBER, help="the assistant's Twilio number")
    parser.add_argument("--url", default=LOCAL_RASA_URL, help="where Rasa listens")
    return parser


def say_no_token() -> int:
    """Tell the user the secret is missing; the exit status for it."""
    print(NO_TOKEN, file=sys.stderr)
    return 2
