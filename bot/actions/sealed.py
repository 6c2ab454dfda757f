"""A value the form must carry to its next turn but nobody reading a tracker may see.

Between "What's your date of birth?" and "the last four digits of your DoD ID", the date has to
wait in a slot, and slots live in the tracker (and in its store). It waits there sealed with
AES-GCM under a key derived from the action server's own secret, so the tracker, the HTTP API
and the tracker database only ever hold ciphertext. A value that fails to open (another key, or
a slot someone set through the API) is treated as missing, never trusted.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "sealed:"
NONCE_BYTES = 12


def _key() -> bytes:
    secret = os.environ.get("GENESIS_ACTION_TOKEN") or ""
    if not secret:
        raise RuntimeError("GENESIS_ACTION_TOKEN is not set: nothing can be sealed")
    return hashlib.sha256(b"genesis-assist slot seal\x00" + secret.encode()).digest()


def seal(value: str) -> str:
    nonce = secrets.token_bytes(NONCE_BYTES)
    box = AESGCM(_key()).encrypt(nonce, value.encode(), PREFIX.encode())
    return PREFIX + base64.urlsafe_b64encode(nonce + box).decode()


def unseal(value: object) -> str | None:
    if not isinstance(value, str) or not value.startswith(PREFIX):
        return None
    try:
        raw = base64.urlsafe_b64decode(value[len(PREFIX) :].encode())
        opened = AESGCM(_key()).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], PREFIX.encode())
    except (InvalidTag, ValueError, RuntimeError):
        return None
    return opened.decode()
