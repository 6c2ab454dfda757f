"""Fuzzed webhook inputs against the running production topology (through the front door):
whatever arrives, the answer is a clear status (200 with TwiML or JSON, 400, 403, 404), never a
500, never a stack trace or an internal name in the body."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ops.clients import ACCOUNT_SID, REST_PATH, SMS_PATH, sms_form
from tests.prod.conftest import Prod

LEAKS = ("Traceback", "Exception", "Error:", "sqlalchemy", "psycopg2", 'File "', "redis")
ALLOWED = {200, 400, 403, 404, 405, 413}
FUZZ = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same inputs every run: a failure can be reproduced
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)),  # no lone surrogates (not UTF-8)
    max_size=400,
)
odd_texts = st.one_of(
    texts,
    st.sampled_from(
        [
            "",
            "1",
            "99",
            "STOP",
            "' OR 1=1; --",
            "<Response><Say>hi</Say></Response>",
            "🙂" * 200,
            "x" * 10_000,
            '/inform{"choice": "#1"}',
            "/restart",
            "${TWILIO_AUTH_TOKEN}",
        ]
    ),
)


def post(prod: Prod, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(
        prod.layout.front_url + path, data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", errors="replace")


def assert_clean(status: int, body: str) -> None:
    assert status in ALLOWED, (status, body[:300])
    assert not any(leak in body for leak in LEAKS), body[:500]


def signed_form(prod: Prod, path: str, form: dict[str, str]) -> tuple[int, str]:
    body = urllib.parse.urlencode(form).encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": prod.signer.signature(path, form),
    }
    return post(prod, path, body, headers)


@FUZZ
@given(
    body=odd_texts,
    sender=st.one_of(st.just("+13025559901"), texts.map(lambda t: t[:30])),
    sid=st.one_of(st.just(None), texts.map(lambda t: t[:80])),
    extra=st.dictionaries(texts.map(lambda t: t[:20] or "x"), texts, max_size=3),
)
def test_signed_sms_webhooks_with_anything_in_them(
    prod: Prod, body: str, sender: str, sid: str | None, extra: dict[str, str]
) -> None:
    form = {**extra, **sms_form(sender, body, sid if sid is not None else "SM" + "f" * 32)}
    if sid is not None:
        form["MessageSid"] = sid
    assert_clean(*signed_form(prod, SMS_PATH, form))


@FUZZ
@given(
    raw=st.binary(max_size=2000),
    signature=st.one_of(
        st.none(),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=100),
    ),
)
def test_raw_bytes_and_forged_signatures_are_refused(
    prod: Prod, raw: bytes, signature: str | None
) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    for path in (SMS_PATH, "/webhooks/twilio_voice/webhook", "/webhooks/twilio_voice/turn"):
        status, body = post(prod, path, raw, headers)
        assert status == 403, (path, status, body[:200])
        assert_clean(status, body)


@FUZZ
@given(
    step=st.one_of(st.integers(-5, 10**12).map(str), texts.map(lambda t: t[:20])),
    said=odd_texts,
    digits=st.one_of(st.none(), st.text(alphabet="0123456789*#abc", max_size=40)),
    call_sid=st.one_of(st.just("CA" + "e" * 32), texts.map(lambda t: t[:70])),
)
def test_signed_voice_turns_with_anything_in_them(
    prod: Prod, step: str, said: str, digits: str | None, call_sid: str
) -> None:
    path = "/webhooks/twilio_voice/turn?" + urllib.parse.urlencode({"step": step})
    form = {
        "AccountSid": ACCOUNT_SID,
        "CallSid": call_sid,
        "From": "+13025559902",
        "To": "+15005550006",
        "CallStatus": "in-progress",
        "SpeechResult": said,
    }
    if digits is not None:
        form["Digits"] = digits
    assert_clean(*signed_form(prod, path, form))


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), texts),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(texts.map(lambda t: t[:10]), inner, max_size=3)
    ),
    max_leaves=8,
)


@FUZZ
@given(
    sender=st.one_of(texts.map(lambda t: t[:60]), json_values),
    message=st.one_of(odd_texts, json_values),
    metadata=st.one_of(st.dictionaries(texts.map(lambda t: t[:15]), json_values), json_values),
)
def test_web_chat_messages_with_anything_in_them(
    prod: Prod, sender: object, message: object, metadata: object
) -> None:
    body = json.dumps({"sender": sender, "message": message, "metadata": metadata}).encode()
    status, answer = post(prod, REST_PATH, body, {"Content-Type": "application/json"})
    assert_clean(status, answer)
