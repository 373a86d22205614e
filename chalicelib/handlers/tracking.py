"""Routes: the open pixel and the click redirect (public, signed tokens), and a campaign's report."""
from __future__ import annotations

import base64
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice import Response
from chalice.app import CaseInsensitiveMapping

from chalicelib import errors
from chalicelib.handlers import pages
from chalicelib.handlers.http import GIF, HTML, REDIRECT, Api, Call, json_response
from chalicelib.handlers.lazy import lazy_module

if TYPE_CHECKING:   # the services, named for readers and type checkers; at run time loaded on first use (cold start)
    from chalicelib.services.feedback import reports, tracking
else:
    reports = lazy_module("chalicelib.services.feedback.reports")
    tracking = lazy_module("chalicelib.services.feedback.tracking")

api = Api(__name__)

PIXEL_ROUTE = "/o/{name}"
# The 43-byte transparent 1x1 GIF89a.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
PIXEL_HEADERS = {
    "Content-Type": "image/gif",
    "Cache-Control": "no-store, no-cache, must-revalidate, private",
    "Pragma": "no-cache",
    "Expires": "0",
}
NO_STORE = "no-store, no-cache, must-revalidate, private"


def _visitor(call: Call) -> tracking.Visitor:
    return tracking.Visitor(ip=call.ip, user_agent=call.user_agent, country=call.country)


@api.route(PIXEL_ROUTE, auth_required=False, answers={200: GIF})
def open_pixel(call: Call, name: str):
    tracking.open_pixel(name, _visitor(call))
    return Response(body=PIXEL, status_code=200, headers=dict(PIXEL_HEADERS))


@api.route("/c/{token}", auth_required=False, answers={302: REDIRECT, 404: HTML})
def click(call: Call, token: str):
    try:
        url = tracking.follow_click(token, _visitor(call))
    except errors.NotFound:
        return pages.not_found()
    return Response(body="", status_code=302, headers={"Location": url, "Cache-Control": NO_STORE})


@api.route("/v1/campaigns/{campaign_id}/report", answers={200: "OneReport"})
def campaign_report(call: Call, campaign_id: str):
    return json_response({"report": reports.campaign_report(call.account_id, campaign_id)})


def pixel_for_any_client(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Serve the pixel whatever the client's Accept header says.

    Chalice answers 400 to a binary (image/gif) response unless the request's Accept header names a binary
    type literally or as */*; mail clients and proxies send "image/*", "image/webp,…" or no Accept at all.
    The pixel is the only binary answer there is, so its requests are treated as accepting it.
    """
    if getattr(event, "path", None) == PIXEL_ROUTE:
        event.headers = CaseInsensitiveMapping({**event.headers, "accept": PIXEL_HEADERS["Content-Type"]})
    return get_response(event)


api.blueprint.register_middleware(pixel_for_any_client, "http")
