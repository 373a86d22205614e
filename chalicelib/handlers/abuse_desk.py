"""Routes: /v1/admin/abuse (staff only): which accounts and campaigns mailed an address, and when. Each account
shown is audited (R4)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.handlers.context import origin
from chalicelib.handlers.http import Api, Call, json_response, page_body
from chalicelib.handlers.lazy import lazy_module

if TYPE_CHECKING:   # the services, named for readers and type checkers; at run time loaded on first use (cold start)
    from chalicelib.services.privacy import abuse_desk
else:
    abuse_desk = lazy_module("chalicelib.services.privacy.abuse_desk")

api = Api(__name__)


@api.route("/v1/admin/abuse", staff=True, answers={200: "AbuseLookup"})
def look_up(call: Call):
    """Which accounts and campaigns mailed an address, and when (the abuse desk); audited on each account shown."""
    found = abuse_desk.look_up(call.caller, call.query("email") or "", call.limit(), call.cursor(), origin(call))
    return json_response({**page_body(found.mailings, abuse_desk.shape),
                          "erased_in": [abuse_desk.shape_erased(e) for e in found.erased]})
