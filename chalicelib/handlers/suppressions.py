"""Routes: /v1/suppressions, the account's do-not-mail list."""
from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote

from chalicelib import clock
from chalicelib.handlers.http import Api, Call, bodies, json_response, no_content, page_response
from chalicelib.handlers.lazy import lazy_module
from chalicelib.models.suppressions import Suppression

if TYPE_CHECKING:   # the services, named for readers and type checkers; at run time loaded on first use (cold start)
    from chalicelib.services.audience import suppressions
else:
    suppressions = lazy_module("chalicelib.services.audience.suppressions")

api = Api(__name__)


def shape(item: Suppression) -> dict:
    email, reason = suppressions.as_seen(item)
    return {
        "email": email,
        "reason": reason,
        "source": item.source,
        "created_at": clock.iso(item.created_at),
    }


@api.route("/v1/suppressions", answers={200: "Page[SuppressionView]"})
def list_suppressions(call: Call):
    return page_response(suppressions.page(call.account_id, call.limit(), call.cursor()), shape)


@api.route("/v1/suppressions", methods=["POST"], answers={201: "OneSuppression"})
def add_suppression(call: Call):
    item = suppressions.add_manual(call.account_id, call.body(bodies.NewSuppression).email)
    return json_response({"suppression": shape(item)}, status=201)


@api.route("/v1/suppressions/{email}", methods=["DELETE"], answers={204: None})
def remove_suppression(call: Call, email: str):
    suppressions.remove(call.account_id, unquote(email))
    return no_content()
