"""The portal's own sign-in sessions (demo): who signed in on this browser, until they sign out.

A real deployment puts DS Logon, CAC or PIV in front of the portal; the demo lets a person pick
a seeded identity instead. Either way the portal remembers the sign-in on the server, behind an
HttpOnly cookie, and hands the chat widget only short-lived signed tokens naming the patient and
this sign-in (`portal_core.web_tokens`, `sid`). Signing out forgets the sign-in, so no later
token names it and its conversation can't be reached again.

Kept in memory: a restart of the web app signs everyone out, which is acceptable for a demo
sign-in (several replicas would need a shared store, like Rasa's own).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from portal_core.clock import utcnow

MAX_SIGN_INS = 10_000  # a bound on memory; the oldest sign-ins go first


@dataclass(frozen=True)
class SignIn:
    """One signed-in browser: the cookie's value is `key`; `session` goes into chat tokens."""

    key: str
    session: str
    patient_id: int
    name: str
    assurance_level: str
    signed_in_at: datetime
    ends_at: datetime


class SignIns:
    """Thread-safe store of the current sign-ins, each with an absolute end."""

    def __init__(self, lifetime: timedelta) -> None:
        self.lifetime = lifetime
        self._by_key: dict[str, SignIn] = {}
        self._lock = threading.Lock()

    def start(self, patient_id: int, name: str, assurance_level: str) -> SignIn:
        now = utcnow()
        sign_in = SignIn(
            key=secrets.token_urlsafe(32),
            session=secrets.token_urlsafe(16),
            patient_id=patient_id,
            name=name,
            assurance_level=assurance_level,
            signed_in_at=now,
            ends_at=now + self.lifetime,
        )
        with self._lock:
            if len(self._by_key) >= MAX_SIGN_INS:
                oldest = min(self._by_key.values(), key=lambda s: s.signed_in_at)
                del self._by_key[oldest.key]
            self._by_key[sign_in.key] = sign_in
        return sign_in

    def current(self, key: str | None) -> SignIn | None:
        """The sign-in behind a cookie, or None when it is unknown, signed out or ended."""
        if not key or not isinstance(key, str) or len(key) > 100:
            return None
        with self._lock:
            sign_in = self._by_key.get(key)
            if sign_in is not None and utcnow() >= sign_in.ends_at:
                del self._by_key[key]
                return None
        return sign_in

    def end(self, key: str | None) -> bool:
        with self._lock:
            return self._by_key.pop(key or "", None) is not None
