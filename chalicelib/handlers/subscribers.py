"""Routes: /v1/lists/{list_id}/subscribers."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib import clock, errors, ses
from chalicelib.handlers.context import actor, origin
from chalicelib.handlers.http import Api, Call, bodies, json_response, no_content, page_body, page_response
from chalicelib.handlers.lazy import lazy_module
from chalicelib.models.base import Page
from chalicelib.models.subscribers import Subscriber, SubscriberStatus

if TYPE_CHECKING:   # the services, named for readers and type checkers; at run time loaded on first use (cold start)
    from chalicelib.services.audience import activity, links, subscribers
    from chalicelib.services.feedback import lookups
    from chalicelib.services.privacy import erasure
else:
    activity = lazy_module("chalicelib.services.audience.activity")
    erasure = lazy_module("chalicelib.services.privacy.erasure")
    links = lazy_module("chalicelib.services.audience.links")
    lookups = lazy_module("chalicelib.services.feedback.lookups")
    subscribers = lazy_module("chalicelib.services.audience.subscribers")

api = Api(__name__)


def shape(item: Subscriber) -> dict:
    return {
        "id": item.subscriber_id,
        "list_id": item.list_id,
        "email": item.email,
        "status": item.status,
        "fields": item.fields.as_dict(),
        "consent": item.consent.as_dict(),
        "unsubscribe_url": links.unsubscribe_url(item.account_id, item.list_id, item.subscriber_id),
        "created_at": item.created_at,
        "updated_at": clock.iso(item.updated_at),
        "confirmed_at": clock.iso(item.confirmed_at),
        "unsubscribed_at": clock.iso(item.unsubscribed_at),
        "activity": activity_shape(activity.of(item)),
    }


def activity_shape(counts: activity.Activity) -> dict:
    return {
        "score": activity.score(counts, clock.now()),
        "received": counts.received,
        "opened": counts.opened,
        "clicked": counts.clicked,
        "last_activity_at": clock.iso(counts.last_activity_at),
        "last_opened_at": clock.iso(counts.last_opened_at),
        "last_clicked_at": clock.iso(counts.last_clicked_at),
    }


def standing_shape(standing: lookups.Standing) -> dict:
    return {
        "id": standing.subscriber_id,
        "list_id": standing.list_id,
        "status": standing.status,
        "suppressed": standing.suppression is not None,
        "suppression_reason": standing.suppression,
        "suppressed_at": clock.iso(standing.suppressed_since),
        "mailable": standing.mailable,
    }


def campaign_email_shape(item: lookups.CampaignEmail) -> dict:
    bounce = item.bounce
    return {
        "campaign_id": item.campaign_id,
        "campaign_name": item.campaign_name,
        "state": item.state,
        "message_id": item.message_id,
        "claimed_at": clock.iso(item.claimed_at),
        "sent_at": clock.iso(item.sent_at),
        "delivered_at": clock.iso(item.delivered_at),
        "bounce": None if bounce is None else {"type": bounce.type, "reason": bounce.reason,
                                               "at": clock.iso(bounce.at)},
        "opened_at": clock.iso(item.opened_at),
        "clicked_at": clock.iso(item.clicked_at),
    }


@api.route("/v1/lists/{list_id}/subscribers", methods=["POST"], answers={201: "OneSubscriber"})
def add_subscriber(call: Call, list_id: str):
    body = call.body(bodies.NewSubscriber)
    consent = subscribers.Consent(**body.consent.model_dump())
    item = subscribers.add(call.account_id, list_id, body.email, body.fields, consent, ses.mailer())
    return json_response({"subscriber": shape(item)}, status=201)


@api.route("/v1/lists/{list_id}/subscribers", answers={200: "Page[SubscriberView]"})
def list_subscribers(call: Call, list_id: str):
    raw_status = call.query("status")
    status = subscribers.parse_status(raw_status) if raw_status is not None else None
    email = call.query("email")
    if email is not None:   # the member with that address, if any: one item at most, never a next page
        member = subscribers.find(call.account_id, list_id, email)
        found = [member] if member is not None and status in (None, SubscriberStatus(member.status)) else []
        return page_response(Page(found, None), shape)
    return page_response(subscribers.page(call.account_id, list_id, status, call.limit(), call.cursor()), shape)


@api.route("/v1/lists/{list_id}/subscribers/{subscriber_id}", answers={200: "OneSubscriber"})
def get_subscriber(call: Call, list_id: str, subscriber_id: str):
    return json_response({"subscriber": shape(subscribers.get(call.account_id, list_id, subscriber_id))})


@api.route("/v1/lists/{list_id}/subscribers/{subscriber_id}/activity", answers={200: "SubscriberActivity"})
def subscriber_activity(call: Call, list_id: str, subscriber_id: str):
    """Support look-up (R27): the subscriber's standing and every campaign email sent to them, newest first."""
    found = lookups.look_up(call.account_id, list_id, subscriber_id, call.limit(), call.cursor())
    return json_response({"subscriber": standing_shape(found.standing),
                          **page_body(found.emails, campaign_email_shape)})


@api.route("/v1/lists/{list_id}/subscribers/{subscriber_id}", methods=["PATCH"], answers={200: "OneSubscriber"})
def update_subscriber(call: Call, list_id: str, subscriber_id: str):
    changes = call.body(bodies.SubscriberChanges).changes()
    item = subscribers.update(call.account_id, list_id, subscriber_id, changes, actor=actor(call), origin=origin(call))
    return json_response({"subscriber": shape(item)})


@api.route("/v1/lists/{list_id}/subscribers/{subscriber_id}", methods=["DELETE"], answers={204: None})
def delete_subscriber(call: Call, list_id: str, subscriber_id: str):
    erase = call.query("erase", "false")
    if erase not in ("true", "false"):
        raise errors.Malformed('erase must be "true" or "false".', code="invalid_erase")
    if erase == "true":   # R28: the address goes from every list of the account, with its events and ledger
        erasure.erase_subscriber(call.account_id, list_id, subscriber_id, actor(call), origin(call))
    else:
        subscribers.delete(call.account_id, list_id, subscriber_id, actor=actor(call), origin=origin(call))
    return no_content()


@api.route("/v1/lists/{list_id}/subscribers/{subscriber_id}/unsubscribe", methods=["POST"],
           answers={200: "OneSubscriber"})
def unsubscribe_subscriber(call: Call, list_id: str, subscriber_id: str):
    item = subscribers.unsubscribe(call.account_id, list_id, subscriber_id, actor=actor(call), origin=origin(call))
    return json_response({"subscriber": shape(item)})
