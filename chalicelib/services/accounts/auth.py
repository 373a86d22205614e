"""Who is calling, how they prove it and what they may do (R2, R3, R6): sessions and API keys, roles and the
permissions they grant (a key's scopes), sign-in and password resets."""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from chalicelib import clock, errors, queues, security
from chalicelib.config import get_settings
from chalicelib.log import logger
from chalicelib.models import credentials as store
from chalicelib.models import users
from chalicelib.models.credentials import Credential
from chalicelib.outbound import Mailer
from chalicelib.services import addresses
from chalicelib.services.accounts import account_mail, audit, throttle
from chalicelib.services.accounts.audit import Action, Actor, Origin, Result

STAFF_ACCOUNT = "staff"

SESSION_LIFETIME = timedelta(hours=12)
RESET_LIFETIME = timedelta(hours=1)
VERIFY_LIFETIME = timedelta(days=7)
API_KEY_USE_RESOLUTION = timedelta(minutes=5)   # last_used_at is written at most this often
MIN_PASSWORD = 8
MAX_PASSWORD = 256
MAX_TOKEN = 512
MAX_ID = 100          # ids from paths are checked against this before any lookup (key size limits)

SESSION_PREFIX = "mrs"
API_KEY_PREFIX = "mrk"


class Role(str, Enum):
    """A user's role in their account (R6); staff users are in the staff account. A stored role read as none of
    these grants nothing."""

    OWNER = "owner"      # signed up: everything
    ADMIN = "admin"      # everything but closing the account
    EDITOR = "editor"    # lists, subscribers, imports and exports, segments, campaigns and sending
    VIEWER = "viewer"    # reads only
    STAFF = "staff"


class Permission(str, Enum):
    """What a route needs (handlers/access.py), what a role grants, and what an API key may be limited to (its
    scopes). Reading X needs `x:read`; changing it `x:write`."""

    ACCOUNT_READ = "account:read"           # the account, its plan and limits
    ACCOUNT_MANAGE = "account:manage"       # profile, users, API keys, the audit trail, the whole account's export
    ACCOUNT_CLOSE = "account:close"         # closing the account (R33): the owner's alone
    USER_SELF = "user:self"                 # one's own password, login email, verification and session
    LISTS_READ = "lists:read"               # lists and segments
    LISTS_WRITE = "lists:write"
    SUBSCRIBERS_READ = "subscribers:read"   # members, their activity, imports, suppressions
    SUBSCRIBERS_WRITE = "subscribers:write"
    SUBSCRIBERS_EXPORT = "subscribers:export"   # list exports: a copy of every member in one file
    CAMPAIGNS_READ = "campaigns:read"       # campaigns and their reports
    CAMPAIGNS_WRITE = "campaigns:write"
    CAMPAIGNS_SEND = "campaigns:send"       # send, test copies, pause, resume, cancel
    DOMAINS_READ = "domains:read"
    DOMAINS_WRITE = "domains:write"         # the sending domains the account may send as


_READS = frozenset({Permission.ACCOUNT_READ, Permission.USER_SELF, Permission.LISTS_READ,
                    Permission.SUBSCRIBERS_READ, Permission.CAMPAIGNS_READ, Permission.DOMAINS_READ})
_EDITS = _READS | {Permission.LISTS_WRITE, Permission.SUBSCRIBERS_WRITE, Permission.SUBSCRIBERS_EXPORT,
                   Permission.CAMPAIGNS_WRITE, Permission.CAMPAIGNS_SEND}
_ADMINISTERS = frozenset(Permission) - {Permission.ACCOUNT_CLOSE}
GRANTS: dict[str, frozenset[Permission]] = {
    Role.OWNER.value: frozenset(Permission),
    Role.ADMIN.value: _ADMINISTERS,
    Role.EDITOR.value: _EDITS,
    Role.VIEWER.value: _READS,
    Role.STAFF.value: frozenset({Permission.USER_SELF}),   # staff work on the staff routes (/v1/admin/...)
}


def granted(role: str) -> frozenset[Permission]:
    """What a role may do; nothing for a role this service does not know."""
    return GRANTS.get(role, frozenset())


def scopes_from(names: list[str] | None, grants: frozenset[Permission]) -> list[str]:
    """The scopes of a new API key made by a caller who may do `grants`: the ones named, or all of `grants` when
    none are named (sorted). Invalid (422 unknown_scope) for a name that is no permission, Forbidden (403) for
    one the caller may not use: a key never does more than the user who made it."""
    if names is None:
        return sorted(p.value for p in grants)
    known = {p.value for p in Permission}
    unknown = sorted(set(names) - known)
    if unknown or not names:
        raise errors.Invalid(f"Unknown scopes: {', '.join(unknown)}. The scopes are: {', '.join(sorted(known))}."
                             if unknown else "scopes must name at least one (leave it out for all of yours).",
                             code="unknown_scope", details={"unknown": unknown})
    beyond = sorted(set(names) - {p.value for p in grants})
    if beyond:
        raise errors.Forbidden(f"A key cannot do more than the user who makes it; you may not use: "
                               f"{', '.join(beyond)}.")
    return sorted(set(names))


class Kind(str, Enum):
    """What a stored credential is; its sort key is "<kind>#<digest or key id>"."""

    SESSION = "session"
    API_KEY = "apikey"
    RESET = "reset"
    VERIFY = "verify"


class Via(str, Enum):
    SESSION = "session"
    API_KEY = "api_key"


@dataclass(frozen=True)
class Principal:
    account_id: str
    user_id: str
    role: str               # the user's role as it is now (Role)
    via: str                # "session" or "api_key"
    credential_key: str     # the stored credential that authenticated this call
    # What this call may do: the role's grants, narrowed to the key's scopes when a key made it.
    permissions: frozenset[Permission] = frozenset()

    @property
    def is_staff(self) -> bool:
        return self.role == Role.STAFF.value


class InvalidCredentials(errors.Unauthorized):
    code = "invalid_credentials"

    def __init__(self) -> None:
        super().__init__("The email address or password is not correct.")


@dataclass(frozen=True)
class Session:
    token: str
    expires_at: datetime


def credential_key(kind: Kind, suffix: str) -> str:
    return f"{kind.value}#{suffix}"


def plausible_id(value: str) -> bool:
    """Whether an id taken from a request could be one of ours (anything else is simply not found)."""
    return 0 < len(value) <= MAX_ID


def actor_of(principal: Principal) -> Actor:
    """Who a call acts as, for the audit trail: the user, and the API key if the call used one."""
    key_id = principal.credential_key.split("#", 1)[1] if principal.via == Via.API_KEY.value else None
    return Actor(principal.user_id, principal.role, key_id)


# --- passwords ---------------------------------------------------------------------------------

def check_password(password: str) -> str:
    """The password if the policy accepts it (R2: at least 8 characters), else Invalid (422)."""
    if len(password) < MIN_PASSWORD:
        raise errors.Invalid(f"The password must have at least {MIN_PASSWORD} characters.", code="password_too_short")
    if len(password) > MAX_PASSWORD:
        raise errors.Invalid(f"The password must have at most {MAX_PASSWORD} characters.", code="password_too_long")
    return password


# --- authentication ----------------------------------------------------------------------------

def authenticate(token: str) -> Principal:
    """The principal a session token or API key stands for, or Unauthorized (401). Its role is the user's as it
    is now, so a demoted user's sessions and keys can do less at once, and a removed user's nothing."""
    parts = token.split(".") if len(token) <= MAX_TOKEN else []
    if not parts or not all(parts):
        raise errors.Unauthorized()
    if parts[0] == SESSION_PREFIX and len(parts) == 3:
        key = credential_key(Kind.SESSION, security.digest(token))
        item = store.get_live(parts[1], key)
        user = users.read_now(item.account_id, item.user_id) if item else None
        if item is None or user is None:
            raise errors.Unauthorized("The session has expired or ended; sign in again.")
        return Principal(item.account_id, item.user_id, user.role, Via.SESSION.value, key, granted(user.role))
    if parts[0] == API_KEY_PREFIX and len(parts) == 4:
        key = credential_key(Kind.API_KEY, parts[2])
        item = store.get_live(parts[1], key)
        if item is None or not hmac.compare_digest(item.secret_digest or "", security.digest(token)):
            raise errors.Unauthorized("The API key is not valid.")
        user = users.read_now(item.account_id, item.user_id)
        if user is None:
            raise errors.Unauthorized("The API key is not valid.")
        _note_use(item)
        return Principal(item.account_id, item.user_id, user.role, Via.API_KEY.value, key,
                         key_permissions(item, user.role))
    raise errors.Unauthorized()


def key_permissions(item: Credential, role: str) -> frozenset[Permission]:
    """What an API key may do: its scopes, within what its user's role grants now (a key made before keys had
    scopes has all of them)."""
    grants = granted(role)
    if item.scopes is None:
        return grants
    return frozenset(p for p in grants if p.value in item.scopes)


def _note_use(item: Credential) -> None:
    now = clock.now()
    if item.last_used_at is None or now - item.last_used_at >= API_KEY_USE_RESOLUTION:
        store.mark_used(item, now)


# --- sessions ----------------------------------------------------------------------------------

def log_in(email: str, password: str, origin: Origin) -> Session:
    """Check email and password (throttled per address and per IP) and open a session; every attempt is audited."""
    address = _sign_in_address(email)
    login = users.login_for(address) if address else None
    user = users.get(login.account_id, login.user_id) if login else None
    subject = address or email.strip().lower()
    _reserve_attempt(user, subject, origin)
    if not security.verify_password(user.password_hash if user else None, password) or user is None:
        if user:
            _audit_login(user, origin, Action.LOGIN_FAILED, Result.INVALID_CREDENTIALS)
        raise InvalidCredentials()
    throttle.clear(throttle.LOGIN_FAILURES_PER_EMAIL, subject)
    throttle.release(throttle.LOGIN_FAILURES_PER_IP, origin.ip)
    session = open_session(user.account_id, user.user_id, user.role)
    users.update(user, last_login_at=clock.now())
    _audit_login(user, origin, Action.LOGIN_SUCCEEDED, Result.OK)
    logger.info("login succeeded", extra={"account_id": user.account_id, "user_id": user.user_id})
    return session


def _reserve_attempt(user: users.User | None, subject: str, origin: Origin) -> None:
    """Count the attempt as a failure per address and per IP before the password is checked (a success gives
    it back), so that parallel guesses cannot all pass the limit; refused attempts are audited."""
    try:
        throttle.reserve(throttle.LOGIN_FAILURES_PER_EMAIL, subject)
        try:
            throttle.reserve(throttle.LOGIN_FAILURES_PER_IP, origin.ip)
        except errors.RateLimited:
            throttle.release(throttle.LOGIN_FAILURES_PER_EMAIL, subject)
            raise
    except errors.RateLimited:
        if user:
            _audit_login(user, origin, Action.LOGIN_FAILED, Result.RATE_LIMITED)
        raise


def _sign_in_address(email: str) -> str | None:
    try:
        return addresses.normalise(email)
    except errors.Invalid:
        return None


def _audit_login(user: users.User, origin: Origin, action: Action, result: Result) -> None:
    audit.record(user.account_id, action, origin, Actor(user.user_id, user.role), result=result)


def open_session(account_id: str, user_id: str, role: str) -> Session:
    """A new session token for the user; only its digest is stored."""
    token = f"{SESSION_PREFIX}.{account_id}.{security.new_secret()}"
    now = clock.now()
    expires_at = now + SESSION_LIFETIME
    store.put(Credential(
        account_id,
        credential_key(Kind.SESSION, security.digest(token)),
        user_id=user_id,
        role=role,
        created_at=now,
        expires_at=expires_at,
    ))
    return Session(token, expires_at)


def end_session(principal: Principal) -> None:
    """End the session that authenticated this call."""
    if principal.via != Via.SESSION.value:
        raise errors.Invalid("Only a session can be ended this way; delete an API key instead.", code="not_a_session")
    store.delete(principal.account_id, principal.credential_key)


def revoke_sessions(account_id: str, user_id: str, keep: str | None = None) -> int:
    """End every session of one user (but the one whose credential key is `keep`); return how many."""
    count = 0
    for item in store.all_of_kind(account_id, Kind.SESSION.value):
        if item.user_id == user_id and item.credential_key != keep:
            store.delete(account_id, item.credential_key)
            count += 1
    return count


# --- one-time link tokens (verification, reset) ------------------------------------------------

def issue_link_token(kind: Kind, account_id: str, user_id: str, lifetime: timedelta) -> str:
    """A "<account_id>.<secret>" token for a link; only its digest is stored."""
    token = f"{account_id}.{security.new_secret()}"
    now = clock.now()
    store.put(Credential(
        account_id,
        credential_key(kind, security.digest(token)),
        user_id=user_id,
        created_at=now,
        expires_at=now + lifetime,
    ))
    return token


def find_link_token(kind: Kind, token: str) -> Credential | None:
    """The live credential behind a link token, or None when forged, used or expired."""
    account_id, dot, secret = token.partition(".")
    if not dot or not account_id or not secret or len(token) > MAX_TOKEN:
        return None
    return store.get_live(account_id, credential_key(kind, security.digest(token)))


# --- password resets ---------------------------------------------------------------------------

RESET_QUEUE = "password-resets"


@dataclass(frozen=True)
class ResetJob:
    """A queued password reset: the user (None when no user signs in with the address) and where it came from."""

    account_id: str | None
    user_id: str | None
    origin: Origin

    def body(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "user_id": self.user_id, "ip": self.origin.ip,
                "user_agent": self.origin.user_agent, "route": self.origin.route}

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> ResetJob:
        def text(name: str) -> str | None:
            value = body.get(name)
            if value is not None and not isinstance(value, str):
                raise errors.Malformed(f"A password reset message's {name} is not text.")
            return value

        return cls(text("account_id"), text("user_id"), Origin(text("ip"), text("user_agent"), text("route")))


def request_password_reset(email: str, origin: Origin) -> None:
    """Queue a one-time reset link for the user who signs in with `email`, if any; say nothing either way.

    A known and an unknown address cost the same here (a throttle count, one look-up, one queued message):
    the user, the link and the email are dealt with off the request (send_reset_link), so the answer's timing
    does not tell whether the address has an account."""
    address = _sign_in_address(email)
    if address is None:
        return
    try:
        throttle.reserve(throttle.RESET_REQUESTS_PER_EMAIL, address)
    except errors.RateLimited:
        logger.warning("password reset requests throttled")
        return
    login = users.login_for(address)
    queues.enqueue(RESET_QUEUE, ResetJob(login.account_id if login else None, login.user_id if login else None,
                                         origin).body())


def send_reset_link(job: ResetJob, mailer: Mailer) -> None:
    """Email the reset link a queued request asked for (nothing when no user was found, or it has gone since)."""
    user = users.get(job.account_id, job.user_id) if job.account_id and job.user_id else None
    if user is None:
        return
    token = issue_link_token(Kind.RESET, user.account_id, user.user_id, RESET_LIFETIME)
    audit.record(user.account_id, Action.PASSWORD_RESET_REQUESTED, job.origin, Actor(user.user_id, user.role))
    mailer.send(account_mail.password_reset(user.email, get_settings().link(f"/reset-password/{token}")))
    logger.info("password reset link sent", extra={"account_id": user.account_id, "user_id": user.user_id})


def reset_link_is_live(token: str) -> bool:
    """Whether a reset link may still be used (for showing its form)."""
    return find_link_token(Kind.RESET, token) is not None


def confirm_password_reset(token: str, password: str, origin: Origin) -> None:
    """Set a new password with a one-time reset token; end the user's sessions."""
    check_password(password)
    item = find_link_token(Kind.RESET, token)
    user = users.get(item.account_id, item.user_id) if item else None
    if item is None or user is None:
        raise errors.NotFound("password reset link")
    password_hash = security.hash_password(password)
    if not store.consume(item, clock.now()):
        raise errors.NotFound("password reset link")
    if not users.update(user, password_hash=password_hash):
        raise errors.NotFound("password reset link")
    revoked = revoke_sessions(user.account_id, user.user_id)
    throttle.clear(throttle.LOGIN_FAILURES_PER_EMAIL, user.email)
    audit.record(user.account_id, Action.PASSWORD_RESET, origin, Actor(user.user_id, user.role),
                 details={"sessions_ended": revoked})
    logger.info("password reset", extra={"account_id": user.account_id, "user_id": user.user_id})
