"""Passwords, secret tokens, keyed hashes and signed tokens.

The keys come from the service's secret (config.keys()): tokens are signed with the newest signing key and verified
with every one, so the signing key can rotate without breaking links in mail already sent; keyed hashes use the hash
key, which never rotates (docs/operations.md, "Rotate the signing key")."""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from chalicelib.config import keys

TOKEN_BYTES = 32  # 256 bits of randomness in every bearer token and one-time link


@lru_cache(maxsize=1)
def _hasher():
    from argon2 import PasswordHasher  # argon2id, RFC 9106 parameters

    return PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash (salted, slow) of the password (R2)."""
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; spends the same time when there is no hash to check."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash(secrets.token_urlsafe(16))


def new_secret() -> str:
    """A URL-safe random secret with 256 bits of entropy."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def digest(token: str) -> str:
    """How a high-entropy token is stored: its SHA-256, never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


def keyed_hash(*parts: str) -> str:
    """A stable keyed hash (HMAC-SHA256, hex) of `parts`: reveals nothing without the hash key, which never rotates,
    so a hash stored years ago (an erased address's suppression) still matches the same parts."""
    message = "\x1f".join(parts).encode()
    return hmac.new(_derived(keys().hashing, "keyed-hash"), message, hashlib.sha256).hexdigest()


@lru_cache(maxsize=64)
def _derived(key: bytes, label: str) -> bytes:
    """A key for one use, derived once per process from one of the secret's keys."""
    return hmac.digest(key, label.encode(), "sha256")


# --- link tokens: the ids of a recipient's links, signed on the hot path of every email ---------------------------
# "2.<id>.<id>….<mac>": the ids in clear (a token never carries an address or a URL) and a 128-bit HMAC-SHA256 of
# them under a key made once per process for the purpose and signing key. Tokens made before (itsdangerous: base64
# JSON, a time and a signature) are in mail already sent; they still verify (`read_link`).
LINK_VERSION = "2"
_LINK_BODY = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")


class LinkSigner:
    """Signs the link tokens of one purpose with one signing key; made once per process, key and purpose."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes):
        self._key = key

    def sign(self, ids: Sequence[str]) -> str:
        """The token of `ids` (each non-empty, of letters, digits, "_" and "-": read back as the same ids)."""
        body = ".".join(ids)
        if not _LINK_BODY.fullmatch(body) or body.count(".") != len(ids) - 1:
            raise ValueError("a link token carries non-empty ids of letters, digits, '_' and '-' only")
        return f"{LINK_VERSION}.{body}.{self.mac(body)}"

    def mac(self, body: str) -> str:
        return base64.urlsafe_b64encode(hmac.digest(self._key, body.encode(), "sha256")[:16]).rstrip(b"=").decode()


def link_signer(purpose: str) -> LinkSigner:
    """The signer of `purpose`'s link tokens with the newest signing key; get it once for a recipient's links."""
    return _link_signers(keys().signing, purpose)[0]


def read_link(purpose: str, token: str) -> list[str] | None:
    """The ids of a link token of `purpose` signed with any of the signing keys, or None if forged, altered or made
    for another purpose. Tokens made before this format (mail already sent) are read too."""
    version, _, rest = token.partition(".")
    if version != LINK_VERSION:
        return _earlier_ids(unsign(purpose, token))
    body, _, mac = rest.rpartition(".")
    if not _LINK_BODY.fullmatch(body):
        return None
    for signer in _link_signers(keys().signing, purpose):
        if hmac.compare_digest(signer.mac(body), mac):
            return body.split(".")
    return None


@lru_cache(maxsize=64)
def _link_signers(signing_keys: tuple[bytes, ...], purpose: str) -> tuple[LinkSigner, ...]:
    return tuple(LinkSigner(_derived(key, f"mailroom.link.{purpose}")) for key in signing_keys)


def _earlier_ids(payload: Any) -> list[str] | None:
    """The ids of an earlier token's payload (a JSON list; a click's link index was a number)."""
    if isinstance(payload, list) and all(isinstance(p, str) or type(p) is int for p in payload):
        return [str(p) for p in payload]
    return None


# --- signed payloads: any JSON, with the time they were signed (itsdangerous) ---------------------------------------
def sign(purpose: str, payload: Any) -> str:
    """A URL-safe, tamper-proof token carrying `payload` (ids only, never a URL or address)."""
    return _serializer(keys().signing, purpose).dumps(payload)


def unsign(purpose: str, token: str, max_age_seconds: int | None = None) -> Any | None:
    """The payload of a token made by `sign` for the same purpose with any of the signing keys, or None if forged,
    altered or old."""
    from itsdangerous import BadSignature

    try:
        return _serializer(keys().signing, purpose).loads(token, max_age=max_age_seconds)
    except (BadSignature, ValueError, TypeError, UnicodeDecodeError):
        return None


def sign_fixed(purpose: str, payload: Any) -> str:
    """Like `sign`, without a time in it: the same payload always gives the same token (a link that is printed or
    embedded, and must read the same every time it is shown, until the signing key rotates)."""
    return _fixed_serializer(keys().signing, purpose).dumps(payload)


def unsign_fixed(purpose: str, token: str) -> Any | None:
    """The payload of a token made by `sign_fixed` for the same purpose, or None if forged or altered."""
    from itsdangerous import BadSignature

    try:
        return _fixed_serializer(keys().signing, purpose).loads(token)
    except (BadSignature, ValueError, TypeError, UnicodeDecodeError):
        return None


# itsdangerous takes its keys oldest first and signs with the last.
@lru_cache(maxsize=64)
def _fixed_serializer(signing_keys: tuple[bytes, ...], purpose: str) -> Any:
    from itsdangerous import URLSafeSerializer

    return URLSafeSerializer(list(reversed(signing_keys)), salt=f"mailroom.{purpose}")


@lru_cache(maxsize=64)
def _serializer(signing_keys: tuple[bytes, ...], purpose: str) -> Any:
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(list(reversed(signing_keys)), salt=f"mailroom.{purpose}")
