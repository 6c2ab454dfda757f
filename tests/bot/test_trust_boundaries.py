"""The attacks of issue 9, each against the running stack: none may read or change a record.

Every test here failed on the code before the trust boundaries were drawn: a REST client could
name a phone conversation or claim a phone, a token signed with a guessable secret was accepted,
the action server and the HTTP API answered anyone, and a flood of huge messages stalled the
signed SMS channel past Twilio's deadline.
"""

from __future__ import annotations

import concurrent.futures
import json
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

import jwt
import pytest

from bot.channels import limits, portal_rest
from bot.channels.twilio_common import TRY_AGAIN
from bot.tracker_store import REDACTED
from portal_core import web_tokens
from portal_core.clock import utcnow
from portal_core.database import Database
from portal_core.models import PhoneLockout
from portal_core.seed import DemoIdentityRow
from tests.bot.stack import ROOT, VENV_BIN, Stack, base_env
from tests.bot.twilio_clients import SmsPhone, demo_identity

pytestmark = pytest.mark.slow

LAB_WORDS = ("Glucose", "reference range", "mg/dL", "Hemoglobin")
TWILIO_DEADLINE_SECONDS = 15


def post(url: str, body: bytes, headers: dict[str, str] | None = None, method: str = "POST"):
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def rest(stack: Stack, body: Any) -> tuple[int, str]:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    return post(
        f"{stack.rasa_url}/webhooks/rest/webhook", payload, {"Content-Type": "application/json"}
    )


def texts(body: str) -> str:
    return "\n".join(str(m.get("text") or "") for m in json.loads(body))


def verified_sms(stack: Stack, who: DemoIdentityRow) -> SmsPhone:
    phone = SmsPhone(stack, str(who.phone)).fresh()
    assert "date of birth" in phone.text("show me my lab results")
    assert "last four digits" in phone.text(f"{who.date_of_birth:%m/%d/%Y}")
    assert "you're verified" in phone.text(who.dod_last4)
    return phone


# --- 1. identity only from a verified source, bound to its channel ---------------------------


def test_a_rest_client_cannot_use_a_verified_sms_conversation(stack: Stack) -> None:
    marcus = demo_identity(stack, "Marcus Rivera")
    phone = verified_sms(stack, marcus)
    before = len(phone.events())
    status, body = rest(stack, {"sender": phone.conversation, "message": "my lab results"})
    assert status == 400  # "sms:+1..." is not a sender a web client may use
    status, body = rest(
        stack, {"sender": "sms-12545550101", "message": "show me my lab results please"}
    )
    assert status == 200 and not [w for w in LAB_WORDS if w in body], body
    assert "sign in" in texts(body).lower()
    assert len(phone.events()) == before  # the phone conversation was not touched


def test_claimed_channel_and_phone_in_rest_metadata_are_ignored(stack: Stack) -> None:
    marcus = demo_identity(stack, "Marcus Rivera")
    claim = {"channel": "sms", "phone": marcus.phone}
    sender = "claims-to-be-a-phone"
    replies = []
    for message in ("show me my lab results", "09/09/1999", "0000", "01/01/1990", "1111"):
        status, body = rest(stack, {"sender": sender, "message": message, "metadata": claim})
        assert status == 200
        replies.append(texts(body))
    everything = "\n".join(replies)
    assert not [w for w in LAB_WORDS if w in everything], everything
    assert "date of birth" not in everything  # never treated as a phone conversation
    database = Database(stack.database_url)
    try:
        with database.transaction() as session:
            lockout = session.get(PhoneLockout, marcus.phone)
            assert lockout is None or (lockout.failed_attempts == 0 and not lockout.locked_until)
    finally:
        database.dispose()


def test_a_claimed_input_channel_is_ignored(stack: Stack) -> None:
    status, body = rest(
        stack,
        {"sender": "claims-twilio", "message": "my lab results", "input_channel": "twilio_sms"},
    )
    assert status == 200 and not [w for w in LAB_WORDS if w in body]
    tracker = stack.tracker(portal_rest.conversation_id("claims-twilio", None))
    assert {e.get("input_channel") for e in tracker["events"] if e["event"] == "user"} == {"rest"}


def forged(patient_id: int, secret: str) -> str:
    now = utcnow()
    claims = {
        "sub": str(patient_id),
        "lvl": "premium",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=10)).timestamp()),
        "iss": web_tokens.ISSUER,
        "aud": web_tokens.AUDIENCE,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


@pytest.mark.parametrize(
    "secret",
    [
        "dev-only-insecure-secret-change-me",  # the default the code used to fall back to
        "change-me-to-a-long-random-string",  # the .env.example placeholder
        "a-secret-nobody-configured-here-but-long-enough-0123",
    ],
)
def test_a_token_signed_with_any_other_secret_gets_nothing(stack: Stack, secret: str) -> None:
    for subject in (1, 2, 3):
        token = forged(subject, secret)
        status, body = rest(
            stack,
            {
                "sender": "forger",
                "message": "show me my results",
                "metadata": {"portal_token": token},
            },
        )
        assert status == 200 and not [w for w in LAB_WORDS if w in body], body
        assert "couldn't confirm your portal sign-in" in texts(body)


def test_an_expired_token_gets_nothing(stack: Stack) -> None:
    token = web_tokens.issue_token(
        1, "premium", ttl=timedelta(minutes=5), now=utcnow() - timedelta(minutes=6)
    )
    status, body = rest(
        stack,
        {"sender": "late", "message": "show me my results", "metadata": {"portal_token": token}},
    )
    assert status == 200 and not [w for w in LAB_WORDS if w in body]
    assert "session has ended" in texts(body)


def test_one_patients_token_cannot_continue_anothers_web_conversation(stack: Stack) -> None:
    first = web_tokens.issue_token(1, "premium")
    second = web_tokens.issue_token(2, "premium")
    a = portal_rest.conversation_id("shared-browser", first)
    b = portal_rest.conversation_id("shared-browser", second)
    assert a != b and a.startswith("web:p1:") and b.startswith("web:p2:")


# --- 3. internal endpoints closed ------------------------------------------------------------


def test_the_action_server_refuses_requests_without_the_token(stack: Stack) -> None:
    tracker = {
        "next_action": "action_show_results",
        "sender_id": "sms:+12545550101",
        "tracker": {"sender_id": "sms:+12545550101", "slots": {}, "events": []},
        "domain": {},
        "version": "3.6.2",
    }
    body = json.dumps(tracker).encode()
    url = f"{stack.actions_url}/webhook"
    assert post(url, body, {"Content-Type": "application/json"})[0] == 401
    wrong = {"Content-Type": "application/json", "X-Genesis-Action-Token": "guess"}
    assert post(url, body, wrong)[0] == 401
    assert post(f"{stack.actions_url}/actions", b"", method="GET")[0] == 401
    with urllib.request.urlopen(f"{stack.actions_url}/health", timeout=10) as response:
        assert response.status == 200


def _other_addresses() -> list[str]:
    """This machine's addresses other than loopback (none in some sandboxes)."""
    found = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    return [a for a in found if ":" not in a and not a.startswith("127.")]


def test_the_internal_servers_listen_on_loopback_only(stack: Stack) -> None:
    addresses = _other_addresses()
    if not addresses:
        pytest.skip("this machine has no address besides loopback to try")
    for url in (stack.actions_url, stack.rasa_url):
        port = int(url.rsplit(":", 1)[1])
        for address in addresses:
            with socket.socket() as sock:
                sock.settimeout(2)
                assert sock.connect_ex((address, port)) != 0, f"{address}:{port} answered"


def test_the_http_api_needs_the_token_and_keeps_its_model(stack: Stack) -> None:
    for path in ("/status", "/conversations/sms%3A%2B12545550101/tracker", "/domain"):
        assert post(stack.rasa_url + path, b"", method="GET")[0] == 401, path
    status, _ = post(
        stack.rasa_url + "/model",
        json.dumps({"model_file": "/tmp/nothing.tar.gz"}).encode(),
        {"Content-Type": "application/json"},
        method="PUT",
    )
    assert status == 401
    assert post(stack.rasa_url + "/model/train", b"{}", method="POST")[0] == 401
    assert stack.parse("hello")["intent"]["name"]  # the model is still the one it was


def test_the_http_api_does_not_allow_other_origins(stack: Stack) -> None:
    request = urllib.request.Request(
        stack.api("/status"), headers={"Origin": "https://evil.example"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        allowed = response.headers.get("Access-Control-Allow-Origin")
    assert allowed in (None, ""), allowed


def test_trackers_keep_no_typed_date_of_birth_or_dod_digits(stack: Stack) -> None:
    marcus = demo_identity(stack, "Marcus Rivera")
    phone = verified_sms(stack, marcus)
    stored = json.dumps(stack.tracker(phone.conversation))
    born = marcus.date_of_birth
    for secret in (f"{born:%m/%d/%Y}", born.isoformat(), marcus.dod_last4):
        # As a word: the four digits also turn up inside random hex ids ("...d4821498b...").
        assert not re.search(rf"\b{re.escape(secret)}\b", stored), secret
    assert REDACTED in stored


# --- 4. bounded input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"[1, 2, 3]", b"not json", b'{"sender": 5, "message": "hi"}', b'{"sender": "a"}', b"null"],
)
def test_malformed_rest_bodies_get_400_not_500(stack: Stack, body: bytes) -> None:
    status, text = rest(stack, body)
    assert status == 400, text
    assert "Traceback" not in text


def test_an_oversized_message_is_cut_politely(stack: Stack) -> None:
    status, body = rest(stack, {"sender": "long-winded", "message": "hello there " * 9000})
    assert status == 200
    assert limits.TOO_LONG_NOTE in texts(body)
    tracker = stack.tracker(portal_rest.conversation_id("long-winded", None))
    said = [e["text"] for e in tracker["events"] if e["event"] == "user"]
    assert said and all(len(t) <= limits.MAX_MESSAGE_CHARS for t in said)


def test_an_emergency_beyond_the_cut_is_still_answered(stack: Stack) -> None:
    text = "I have a question about my appointment. " * 200 + "my husband is not breathing"
    status, body = rest(stack, {"sender": "buried-emergency", "message": text})
    assert status == 200 and "911" in texts(body), texts(body)


def test_a_flood_of_huge_messages_does_not_delay_a_signed_sms(stack: Stack) -> None:
    """Six concurrent 100 kB messages once stalled a signed SMS for 32.8 s (Twilio gives up at
    15 s). The channel must still answer inside Twilio's deadline."""
    huge = "please help me with my appointment and my refill " * 2000
    phone = SmsPhone(stack, "+12025550177").fresh()

    def flood(index: int) -> int:
        return rest(stack, {"sender": f"flood-{index}", "message": huge})[0]

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        flooding = [pool.submit(flood, i) for i in range(8)]
        time.sleep(0.2)
        started = time.monotonic()
        status, twiml = phone.post(
            {
                "MessageSid": "SM" + "f" * 32,
                "AccountSid": "AC" + "0" * 32,
                "From": phone.phone,
                "To": "+15005550006",
                "Body": "what are your hours",
            }
        )
        answered = time.monotonic() - started
        assert all(f.result() == 200 for f in flooding)
    assert status == 200 and "<Message>" in twiml
    assert TRY_AGAIN not in twiml, "the SMS was answered with 'try again', not an answer"
    assert answered < TWILIO_DEADLINE_SECONDS, f"answered after {answered:.1f} s"


# --- 2. secrets or no start ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("server", "overrides", "complaint"),
    [
        ("actions", {"PORTAL_JWT_SECRET": ""}, "PORTAL_JWT_SECRET is not set"),
        ("actions", {"PORTAL_JWT_SECRET": "change-me-to-a-long-random-string"}, "placeholder"),
        ("actions", {"GENESIS_ACTION_TOKEN": "short"}, "shorter than 32 bytes"),
        ("rasa", {"RASA_API_TOKEN": ""}, "RASA_API_TOKEN is not set"),
        ("rasa", {"TWILIO_AUTH_TOKEN": ""}, "TWILIO_AUTH_TOKEN"),
        ("rasa", {"GENESIS_FROZEN_NOW": "2026-06-10T12:00:00+00:00"}, "GENESIS_FROZEN_NOW"),
    ],
)
def test_production_refuses_to_start_without_strong_secrets(
    server: str, overrides: dict[str, str], complaint: str
) -> None:
    env = base_env()
    env.update(
        GENESIS_ENV="production",
        PORTAL_JWT_SECRET="p" * 48,
        GENESIS_ACTION_TOKEN="a" * 48,
        RASA_API_TOKEN="r" * 48,
        TWILIO_AUTH_TOKEN="t" * 32,
    )
    env.pop("GENESIS_FROZEN_NOW", None)
    env.update(overrides)
    done = subprocess.run(
        [str(VENV_BIN / "python"), "-m", "bot.launch", server, "--port", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert complaint in done.stdout + done.stderr


@pytest.mark.parametrize("token", ["-P6NpcfpQoNKcc3lTp3B9sHMsU5N5Z_Z4CYAjDDwQinETQEJE", "--x" * 12])
def test_a_token_beginning_with_a_dash_reaches_rasa_whole(token: str) -> None:
    """secrets.token_urlsafe begins with "-" one time in 64: `--auth-token -P6N...` made
    Rasa's argument parser stop with "expected one argument" and the server never started."""
    import rasa.__main__

    from bot import launch

    argv = launch.rasa_argv(launch.parse(["rasa"]), token)
    parsed = rasa.__main__.create_argument_parser().parse_args(argv[1:])
    assert parsed.auth_token == token
