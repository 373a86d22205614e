"""The HTTP edge, in one place: routes with auth, body parsing, error mapping, cursors, pages.

Every view is registered through `Api.route`, so that every answer, good or bad, has the API's shape
(errors as `{"error": {"code", "message"}}`) and no exception ever leaves as a stack trace.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from chalice import Blueprint, Response

from chalicelib import errors
from chalicelib.handlers import access, viewer
from chalicelib.handlers.lazy import lazy_module
from chalicelib.log import logger
from chalicelib.models.base import Page
from chalicelib.services.accounts import auth
from chalicelib.services.accounts.auth import Principal

MAX_BODY_BYTES = 256 * 1024
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
JSON = "application/json"
PAGING_PARAMS = ("cursor", "limit")
FORM_TYPES = [JSON, "application/x-www-form-urlencoded", "multipart/form-data", "text/plain"]
# A route's answers that are not JSON (Api.route answers=): a page for people, the open pixel, a redirect; and a
# public page's usual ones: the page, the page saying a link is not valid, the page asking to try again later.
HTML, GIF, REDIRECT = "text/html", "image/gif", "redirect"
PAGE_ANSWERS = {200: HTML, 404: HTML, 503: HTML}

if TYPE_CHECKING:   # the request bodies (pydantic) load on first use, not at the cold start
    from pydantic import ValidationError

    from chalicelib.handlers import bodies
    from chalicelib.handlers.bodies import Body
else:
    bodies = lazy_module("chalicelib.handlers.bodies")

B = TypeVar("B", bound="Body")

STATUS = {
    errors.Malformed: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.TooLarge: 413,
    errors.Invalid: 422,
    errors.RateLimited: 429,
    errors.UpstreamError: 503,
}




@dataclass
class Call:
    """One HTTP request as a view sees it."""

    request: Any
    principal: Principal | None

    @property
    def caller(self) -> Principal:
        """Who made the call, on a route that requires authentication (the route checked it already)."""
        assert self.principal is not None
        return self.principal

    @property
    def account_id(self) -> str:
        return self.caller.account_id

    @property
    def ip(self) -> str | None:
        return viewer.address(self.request)

    @property
    def country(self) -> str | None:
        return viewer.country(self.request)

    @property
    def user_agent(self) -> str | None:
        return self.request.headers.get("user-agent")

    def query(self, name: str, default: str | None = None) -> str | None:
        return (self.request.query_params or {}).get(name, default)

    def raw_body(self, max_bytes: int = MAX_BODY_BYTES) -> bytes:
        raw = self.request.raw_body or b""
        if len(raw) > max_bytes:
            raise errors.TooLarge(f"The request body is larger than {max_bytes // 1024} KiB.")
        return raw

    def body(self, schema: type[B], max_bytes: int = MAX_BODY_BYTES) -> B:
        """The JSON body validated against `schema`: 400 if unreadable, 422 if a rule is broken."""
        from pydantic import ValidationError

        raw = self.raw_body(max_bytes)
        try:
            return schema.model_validate_json(raw or b"{}")
        except ValidationError as exc:
            raise _validation_error(exc) from None

    def limit(self) -> int:
        raw = self.query("limit")
        if raw is None:
            return DEFAULT_LIMIT
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
            raise errors.Malformed(f"limit must be a whole number from 1 to {MAX_LIMIT}.", code="invalid_limit")
        return int(raw)

    def cursor(self) -> dict | None:
        raw = self.query("cursor")
        return decode_cursor(raw) if raw else None


def _validation_error(exc: ValidationError) -> errors.DomainError:
    problems = exc.errors(include_url=False, include_input=False)
    fields = [
        {"field": ".".join(str(p) for p in problem["loc"]) or "body", "message": problem["msg"]}
        for problem in problems
    ]
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
    unreadable = any(p["type"] in ("json_invalid", "json_type", "model_type") for p in problems)
    wrong_type = any(p["type"].endswith("_type") or p["type"].endswith("_parsing") for p in problems)
    if unreadable:
        return errors.Malformed("The body must be a JSON object.", details={"fields": fields})
    if wrong_type:
        return errors.Malformed(f"Some fields have the wrong type: {summary}.", details={"fields": fields})
    return errors.Invalid(f"Some fields are not valid: {summary}.", details={"fields": fields})


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error.update(details)
    return {"error": error}


# The answer to a path no route matches, whoever gives it (API Gateway in AWS, the local server): fixed text,
# nothing taken from the request (API Gateway's own answer would echo the Authorization header).
UNKNOWN_ROUTE = error_body("not_found", "The route was not found.")
# Sent with every answer of the API.
EDGE_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def error_response(exc: errors.DomainError) -> Response:
    status = next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 400)
    headers: dict[str, str | list[str]] = {"Content-Type": JSON}
    if isinstance(exc, errors.RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    return Response(body=error_body(exc.code, exc.message, exc.details), status_code=status, headers=headers)


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": JSON, **(headers or {})})


def no_content() -> Response:
    return Response(body="", status_code=204)


def page_body(page: Page, shape: Callable[[Any], dict]) -> dict:
    """`{"items": [...], "next_cursor": ...}` (the API's lists of things), to answer alone or with more."""
    return {
        "items": [shape(item) for item in page.items],
        "next_cursor": encode_cursor(page.last_key) if page.last_key else None,
    }


def page_response(page: Page, shape: Callable[[Any], dict]) -> Response:
    return json_response(page_body(page, shape))


# What the cursors of the request being answered are bound to (set by Api.route for each request).
_cursor_scope: ContextVar[list] = ContextVar("cursor_scope", default=[])  # noqa: B039 - replaced whole, never changed


def cursor_scope(request: Any, principal: Principal | None) -> list:
    """A page's place in its query: the route, its path parameters and filters, and the calling account."""
    params = sorted([name, value] for name, value in (request.uri_params or {}).items())
    filters = sorted([name, value] for name, value in (request.query_params or {}).items()
                     if name not in PAGING_PARAMS)
    return [request.path, params, filters, principal.account_id if principal else None]


def encode_cursor(last_key: dict) -> str:
    """A signed cursor that works only for the query being answered (its route, filters and account)."""
    from chalicelib import security

    return security.sign("cursor", {"for": _cursor_scope.get(), "key": last_key})


def decode_cursor(cursor: str) -> dict:
    """The key a cursor given out for this same query carries, else Malformed (400 invalid_cursor)."""
    from chalicelib import security

    payload = security.unsign("cursor", cursor)
    if not isinstance(payload, dict) or payload.get("for") != _cursor_scope.get() or not isinstance(
            payload.get("key"), dict):
        raise errors.Malformed("The cursor is not one this API gave out for this query.", code="invalid_cursor")
    return payload["key"]


class Api:
    """A Chalice blueprint whose routes authenticate, parse and answer errors the same way."""

    def __init__(self, name: str):
        self.blueprint = Blueprint(name)

    def route(
        self,
        path: str,
        methods: Iterable[str] = ("GET",),
        *,
        auth_required: bool = True,
        staff: bool = False,
        content_types: list[str] | None = None,
        answers: dict[int, Any] | None = None,
    ) -> Callable:
        """Register `view(call, **path_params)` at `path`. `answers` are its answers by status: the name of a type
        in `handlers/answers.py` (loaded only to describe the API), HTML, GIF, REDIRECT, or None for an empty 204;
        the OpenAPI document (`handlers/openapi.py`) describes the route with them, and with its body and query
        parameters as the view reads them."""

        def register(view: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(view)
            def endpoint(**params: str) -> Any:
                request = self.blueprint.current_request
                try:
                    principal = authenticate(request) if (auth_required or staff) else None
                    if staff and not (principal and principal.is_staff):
                        raise errors.Forbidden("This route is for staff only.")
                    check_access(principal, request.method, path)
                    _cursor_scope.set(cursor_scope(request, principal))
                    return view(Call(request, principal), **params)
                except errors.DomainError as exc:
                    return error_response(exc)
                except Exception:  # noqa: BLE001 - logged with its trace; the caller gets the error shape, not a crash
                    logger.exception("unhandled error", extra={"path": request.path})
                    return json_response(
                        error_body("internal_error", "Something went wrong on our side; it has been logged."),
                        status=500,
                    )

            endpoint.openapi = {"auth": auth_required or staff, "staff": staff,   # type: ignore[attr-defined]
                                "answers": answers or {}}
            self.blueprint.route(path, methods=list(methods), content_types=content_types or [JSON])(endpoint)
            return view

        return register


def check_access(principal: Principal | None, method: str, path: str) -> None:
    """Forbidden (403) unless the caller may call the route (handlers/access.py); a route missing from the table
    is refused to everyone."""
    need = access.need(method, path)
    if need is None:
        logger.error("route missing from the access table", extra={"route": f"{method} {path}"})
        raise errors.Forbidden("This route is not open yet.")
    if isinstance(need, access.Open):
        return
    lacking = access.missing(need, principal.permissions if principal is not None else frozenset())
    if not lacking:
        return
    names = " and ".join(p.value for p in lacking)
    if principal is not None and principal.via == auth.Via.API_KEY.value and not access.missing(
            need, auth.granted(principal.role)):
        raise errors.Forbidden(f"This API key's scopes do not include {names}, which this needs.")
    role = principal.role if principal is not None else "anonymous"
    raise errors.Forbidden(f"The {role} role may not do this: it needs the {names} permission.")


def authenticate(request: Any) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.Unauthorized()
    return auth.authenticate(token.strip())


def edge_middleware(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Give Chalice's own errors (405, 415, …) our error shape and add protective headers."""
    response = get_response(event)
    body = response.body
    if isinstance(body, dict) and set(body) == {"Code", "Message"}:
        code = "".join("_" + c.lower() if c.isupper() else c for c in body["Code"]).lstrip("_")
        code = code.removesuffix("_error") or "error"
        if response.status_code == 500:
            code, body["Message"] = "internal_error", "Something went wrong on our side; it has been logged."
        response.body = error_body(code, body["Message"])
        response.headers["Content-Type"] = JSON
    for name, value in EDGE_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def html_response(html: str, status: int = 200) -> Response:
    return Response(
        body=html,
        status_code=status,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
            "X-Frame-Options": "DENY",
        },
    )
