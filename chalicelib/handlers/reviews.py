"""Routes: /v1/admin/reviews, /v1/admin/campaigns and /v1/admin/flags (staff only): campaigns held for review
(R8, R21), and accounts flagged for a pattern of use (R16 one-time mailings)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib import clock
from chalicelib.handlers import campaigns as campaign_routes
from chalicelib.handlers.context import origin
from chalicelib.handlers.http import Api, Call, bodies, json_response, page_body
from chalicelib.handlers.lazy import lazy_module
from chalicelib.models.campaigns import Campaign

if TYPE_CHECKING:   # the services, named for readers and type checkers; at run time loaded on first use (cold start)
    from chalicelib.models.flags import Flag
    from chalicelib.services.campaigns import one_time, reviews
else:
    one_time = lazy_module("chalicelib.services.campaigns.one_time")
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


def flag_shape(item: Flag) -> dict:
    return {
        "id": item.flag_id,
        "account_id": item.account_id,
        "kind": item.kind,
        "evidence": item.evidence.as_dict(),
        "status": "open" if item.queue else "dismissed",
        "flagged_at": item.flagged_at,
        "dismissed_at": clock.iso(item.dismissed_at),
        "dismissal_note": item.dismissal_note,
    }


def hold_shape(hold: dict) -> dict:
    return {
        "account_id": hold["account_id"],
        "rate": hold.get("rate"),
        "value": hold.get("value"),
        "limit": hold.get("limit"),
        "reported": hold.get("reported"),
        "hard_bounces": hold.get("hard_bounces"),
        "complaints": hold.get("complaints"),
        "message": hold.get("sentence"),
        "held_at": hold.get("at"),
        "owner_notified_at": hold.get("notified_at"),
    }


@api.route("/v1/admin/reviews", staff=True, answers={200: "Reviews"})
def list_reviews(call: Call):
    """The held campaigns (paged: `items`), the open flags of accounts (`flags`, oldest first), and the accounts
    whose sending is on reputation hold (`accounts_on_hold`, oldest hold first)."""
    held = reviews.page(call.caller, call.limit(), call.cursor(), origin(call))
    flags = one_time.open_flags(call.caller, origin(call))
    on_hold = reviews.accounts_on_hold(call.caller, origin(call))
    return json_response({**page_body(held, shape), "flags": [flag_shape(flag) for flag in flags],
                          "accounts_on_hold": [hold_shape(hold) for hold in on_hold]})


@api.route("/v1/admin/flags/{flag_id}/dismiss", methods=["POST"], staff=True, answers={200: "OneFlag"})
def dismiss_flag(call: Call, flag_id: str):
    note = call.body(bodies.FlagDismissal).note
    return json_response({"flag": flag_shape(one_time.dismiss(call.caller, flag_id, note, origin(call)))})


@api.route("/v1/admin/campaigns/{campaign_id}/approve", methods=["POST"], staff=True,
           answers={200: "OneCampaign"})
def approve(call: Call, campaign_id: str):
    return json_response({"campaign": campaign_routes.shape(reviews.approve(call.caller, campaign_id,
                                                                            origin(call)))})


@api.route("/v1/admin/campaigns/{campaign_id}/reject", methods=["POST"], staff=True, answers={200: "OneCampaign"})
def reject(call: Call, campaign_id: str):
    reason = call.body(bodies.Rejection).reason
    return json_response({"campaign": campaign_routes.shape(reviews.reject(call.caller, campaign_id, reason,
                                                                           origin(call)))})
