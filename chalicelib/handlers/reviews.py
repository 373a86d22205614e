"""Routes: /v1/admin/reviews and /v1/admin/campaigns (staff only): campaigns held for review (R8, R21)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.handlers import campaigns as campaign_routes
from chalicelib.handlers.context import origin
from chalicelib.handlers.http import Api, Call, bodies, json_response, page_response
from chalicelib.handlers.lazy import lazy_module
from chalicelib.models.campaigns import Campaign

if TYPE_CHECKING:   # the services, named for readers and type checkers; at run time loaded on first use (cold start)
    from chalicelib.services.campaigns import reviews
else:
    reviews = lazy_module("chalicelib.services.campaigns.reviews")

api = Api(__name__)


def shape(item: Campaign) -> dict:
    review = item.review.as_dict() if item.review is not None else {}
    return {
        **campaign_routes.shape(item),
        "account_id": item.account_id,
        "reasons": review.get("reasons", []),
        "matches": review.get("matches", []),
        "requested_at": review.get("requested_at"),
    }


@api.route("/v1/admin/reviews", staff=True)
def list_reviews(call: Call):
    return page_response(reviews.page(call.caller, call.limit(), call.cursor(), origin(call)), shape)


@api.route("/v1/admin/campaigns/{campaign_id}/approve", methods=["POST"], staff=True)
def approve(call: Call, campaign_id: str):
    return json_response({"campaign": campaign_routes.shape(reviews.approve(call.caller, campaign_id,
                                                                            origin(call)))})


@api.route("/v1/admin/campaigns/{campaign_id}/reject", methods=["POST"], staff=True)
def reject(call: Call, campaign_id: str):
    reason = call.body(bodies.Rejection).reason
    return json_response({"campaign": campaign_routes.shape(reviews.reject(call.caller, campaign_id, reason,
                                                                           origin(call)))})
