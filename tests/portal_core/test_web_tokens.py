"""The web chat's signed session token: what it carries, when it ends, and what it refuses."""

from __future__ import annotations

import base64
import json
import warnings
from datetime import datetime, timedelta, timezone

import jwt
import pytest

from portal_core.config import Settings
from portal_core.errors import AccessDenied, SessionExpired
from portal_core.web_tokens import InvalidToken, WebIdentity, issue_token, read_token
from wording.catalogue import say_error

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc)
SECRET = "test-secret-that-is-at-least-32-bytes-long"
SETTINGS = Settings(jwt_secret=SECRET)
CLAIMS = {
    "sub": "42",
    "lvl": "premium",
    "iat": int(NOW.timestamp()),
    "exp": int((NOW + timedelta(minutes=15)).timestamp()),
    "iss": "genesis-portal",
    "aud": "genesis-assist",
}


def _read(token: str, at: datetime = NOW) -> WebIdentity:
    return read_token(token, now=at, settings=SETTINGS)


def _signed(**changes: object) -> str:
    claims = {k: v for k, v in {**CLAIMS, **changes}.items() if v is not None}
    return jwt.encode(claims, SECRET, algorithm="HS256")


def _hs512_with_our_secret() -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(CLAIMS, SECRET, algorithm="HS512")


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_round_trip() -> None:
    token = issue_token(42, "premium", now=NOW, settings=SETTINGS)
    who = _read(token)
    assert who == WebIdentity(42, "premium", NOW, NOW + timedelta(minutes=15))
    assert who.is_premium
    assert not _read(issue_token(7, "basic", now=NOW, settings=SETTINGS)).is_premium


def test_claims_are_the_agreed_ones() -> None:
    token = issue_token(42, "premium", ttl=timedelta(minutes=5), now=NOW, settings=SETTINGS)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims == {**CLAIMS, "exp": int((NOW + timedelta(minutes=5)).timestamp())}


def test_the_token_ends_at_its_expiry() -> None:
    token = issue_token(42, "premium", now=NOW, settings=SETTINGS)
    end = NOW + timedelta(minutes=15)
    assert _read(token, end - timedelta(seconds=1)).patient_id == 42
    with pytest.raises(SessionExpired) as err:
        _read(token, end)
    assert "sign in" in say_error(err.value)
    assert not isinstance(err.value, InvalidToken)


def test_invalid_token_is_an_access_denial() -> None:
    assert issubclass(InvalidToken, AccessDenied)
    assert say_error(InvalidToken())


@pytest.mark.parametrize(
    "token",
    [
        jwt.encode(CLAIMS, "some-other-secret-of-at-least-32-bytes!", algorithm="HS256"),
        _signed(aud="someone-else"),
        _signed(iss="evil-portal"),
        _signed(exp=None),
        _signed(iat=None),
        _signed(sub=None),
        _signed(lvl=None),
        _signed(lvl="admin"),
        _signed(sub="42; DROP TABLE patients"),
        _signed(sub="-1"),
        _signed(sub="0"),
        _signed(exp="tomorrow"),
        _signed(iat=int((NOW + timedelta(hours=1)).timestamp())),  # issued in the future
        _signed(nbf=int((NOW + timedelta(hours=1)).timestamp())),
        _signed(exp=CLAIMS["iat"]),  # ends before it begins
        _hs512_with_our_secret(),  # right key, but not the configured algorithm
        f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(CLAIMS)}.",
        f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(CLAIMS)}",
        "garbage",
        "a.b.c",
        "",
        "x" * 10_000,
    ],
)
def test_anything_else_is_an_invalid_token(token: str) -> None:
    with pytest.raises(InvalidToken):
        _read(token)


def test_tampering_with_the_payload_breaks_the_signature() -> None:
    header, _, signature = issue_token(42, "basic", now=NOW, settings=SETTINGS).split(".")
    forged = f"{header}.{_b64({**CLAIMS, 'lvl': 'premium'})}.{signature}"
    with pytest.raises(InvalidToken):
        _read(forged)


def test_non_string_tokens_are_refused() -> None:
    with pytest.raises(InvalidToken):
        read_token(None, now=NOW, settings=SETTINGS)  # type: ignore[arg-type]


def test_small_clock_skew_is_tolerated_on_issue_time() -> None:
    token = issue_token(42, "premium", now=NOW + timedelta(seconds=20), settings=SETTINGS)
    assert _read(token).patient_id == 42


@pytest.mark.parametrize(
    ("patient_id", "level", "ttl"),
    [
        (0, "premium", timedelta(minutes=15)),
        (-5, "premium", timedelta(minutes=15)),
        (True, "premium", timedelta(minutes=15)),
        (42, "gold", timedelta(minutes=15)),
        (42, "premium", timedelta(0)),
        (42, "premium", timedelta(days=2)),
    ],
)
def test_issue_refuses_bad_arguments(patient_id: int, level: str, ttl: timedelta) -> None:
    # The portal that issues tokens passed something it never should: a bug, not a refusal
    # to word for a patient.
    with pytest.raises(ValueError):
        issue_token(patient_id, level, ttl=ttl, now=NOW, settings=SETTINGS)


def test_a_configured_none_algorithm_is_refused_outright() -> None:
    with pytest.raises(RuntimeError):
        issue_token(
            42, "premium", now=NOW, settings=Settings(jwt_secret=SECRET, jwt_algorithm="none")
        )


SIGN_IN = "Zq3v0Xn1-k_8Lw2YbT5eRa"


def test_a_token_can_name_the_portal_sign_in_it_belongs_to() -> None:
    token = issue_token(42, "premium", now=NOW, settings=SETTINGS, session=SIGN_IN)
    assert jwt.decode(token, options={"verify_signature": False})["sid"] == SIGN_IN
    assert _read(token).session == SIGN_IN
    assert _read(issue_token(42, "premium", now=NOW, settings=SETTINGS)).session is None


@pytest.mark.parametrize("session", ["short", "x" * 65, "has spaces in it ok", "a/b" * 8, ""])
def test_a_malformed_sign_in_id_is_refused_when_issuing(session: str) -> None:
    with pytest.raises(ValueError):
        issue_token(42, "premium", now=NOW, settings=SETTINGS, session=session)


@pytest.mark.parametrize("sid", [12345678901234567890, "short", "../../etc/passwd/xx", ["a" * 20]])
def test_a_signed_token_with_a_malformed_sign_in_id_is_invalid(sid: object) -> None:
    with pytest.raises(InvalidToken):
        _read(_signed(sid=sid))
