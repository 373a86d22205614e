"""The service's own errors. Services raise them; handlers/http.py maps them to HTTP answers."""
from __future__ import annotations


class DomainError(Exception):
    """Base class: `code` is the snake_case error code clients match on."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details


class Malformed(DomainError):
    """The request cannot be read at all (bad JSON, wrong types)."""

    code = "malformed_request"


class Invalid(DomainError):
    """Well-formed, but a rule is broken (invalid address, unknown field, bad value)."""

    code = "invalid"


class LimitReached(Invalid):
    """A plan or quota limit forbids it."""

    code = "limit_reached"


class NotFound(DomainError):
    """Missing, or another tenant's: the two are indistinguishable."""

    code = "not_found"

    def __init__(self, what: str = "resource"):
        super().__init__(f"The {what} was not found.")


class Conflict(DomainError):
    code = "conflict"


class Unauthorized(DomainError):
    code = "unauthorized"

    def __init__(self, message: str = "Missing or invalid credentials."):
        super().__init__(message)


class Forbidden(DomainError):
    code = "forbidden"

    def __init__(self, message: str = "You may not do this."):
        super().__init__(message)


class TooLarge(DomainError):
    code = "too_large"


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int, code: str | None = None):
        super().__init__(message, code=code)
        self.retry_after = retry_after


class UpstreamError(DomainError):
    """An AWS dependency failed in a way the caller cannot fix (adapters raise it `from` the cause)."""

    code = "upstream_unavailable"
