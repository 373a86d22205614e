"""Passwords, secret tokens, keyed hashes and signed link tokens."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import cache, lru_cache
from typing import Any

from chalicelib.config import get_settings

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
    """A stable keyed hash (HMAC-SHA256, hex) of `parts`: reveals nothing without the secret."""
    message = "\x1f".join(parts).encode()
    return hmac.new(_subkey("keyed-hash"), message, hashlib.sha256).hexdigest()


def _subkey(purpose: str) -> bytes:
    return hmac.new(get_settings().secret_key.encode(), purpose.encode(), hashlib.sha256).digest()


def sign(purpose: str, payload: Any) -> str:
    """A URL-safe, tamper-proof token carrying `payload` (ids only, never a URL or address)."""
    return _serializer(purpose).dumps(payload)


def unsign(purpose: str, token: str, max_age_seconds: int | None = None) -> Any | None:
    """The payload of a token made by `sign` for the same purpose, or None if forged, altered or old."""
    from itsdangerous import BadSignature

    try:
        return _serializer(purpose).loads(token, max_age=max_age_seconds)
    except (BadSignature, ValueError, TypeError, UnicodeDecodeError):
        return None


def sign_fixed(purpose: str, payload: Any) -> str:
    """Like `sign`, without a time in it: the same payload always gives the same token (a link that is printed or
    embedded, and must read the same every time it is shown)."""
    return _fixed_serializer(purpose).dumps(payload)


def unsign_fixed(purpose: str, token: str) -> Any | None:
    """The payload of a token made by `sign_fixed` for the same purpose, or None if forged or altered."""
    from itsdangerous import BadSignature

    try:
        return _fixed_serializer(purpose).loads(token)
    except (BadSignature, ValueError, TypeError, UnicodeDecodeError):
        return None


@cache
def _fixed_serializer(purpose: str):
    from itsdangerous import URLSafeSerializer

    return URLSafeSerializer(get_settings().secret_key, salt=f"mailroom.{purpose}")


@cache
def _serializer(purpose: str):
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(get_settings().secret_key, salt=f"mailroom.{purpose}")

