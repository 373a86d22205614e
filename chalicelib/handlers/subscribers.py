"""Routes: /v1/lists/{list_id}/subscribers."""
from __future__ import annotations


from chalicelib import clock, ses
from chalicelib.handlers.http import Api, Call, bodies, json_response, no_content, page_response
from chalicelib.models.subscribers import Subscriber, SubscriberStatus
from chalicelib.services import links, subscribers

api = Api(__name__)


def shape(item: Subscriber) -> dict:
    complained = item.status == SubscriberStatus.COMPLAINED.value
    return {
        "id": item.subscriber_id,
        "list_id": item.list_id,
        "email": None if complained else item.email,   # R23: complainers are never shown
        "status": item.status,
        "fields": item.fields.as_dict(),
        "consent": item.consent.as_dict(),
        "unsubscribe_url": links.unsubscribe_url(item.account_id, item.list_id, item.subscriber_id),
        "created_at": item.created_at,
        "updated_at": clock.iso(item.updated_at),
        "confirmed_at": clock.iso(item.confirmed_at),
        "unsubscribed_at": clock.iso(item.unsubscribed_at),
    }


@api.route("/v1/lists/{list_id}/subscribers", methods=["POST"])
def add_subscriber(call: Call, list_id: str):
    body = call.body(bodies.NewSubscriber)
    consent = subscribers.Consent(**body.consent.model_dump())
    item = subscribers.add(call.account_id, list_id, body.email, body.fields, consent, ses.mailer())
    return json_response({"subscriber": shape(item)}, status=201)


@api.route("/v1/lists/{list_id}/subscribers")
def list_subscribers(call: Call, list_id: str):
    raw_status = call.query("status")
    status = subscribers.parse_status(raw_status) if raw_status is not None else None
    return page_response(subscribers.page(call.account_id, list_id, status, call.limit(), call.cursor()), shape)


@api.route("/v1/lists/{list_id}/subscribers/{subscriber_id}")
def get_subscriber(call: Call, list_id: str, subscriber_id: str):
    return json_response({"subscriber": shape(subscribers.get(call.account_id, list_id, subscriber_id))})


@api.route("/v1/lists/{list_id}/subscribers/{subscriber_id}", methods=["PATCH"])
def update_subscriber(call: Call, list_id: str, subscriber_id: str):
    changes = call.body(bodies.SubscriberChanges).model_dump(exclude_unset=True)
    item = subscribers.update(call.account_id, list_id, subscriber_id, changes)
    return json_response({"subscriber": shape(item)})


@api.route("/v1/lists/{list_id}/subscribers/{subscriber_id}", methods=["DELETE"])
def delete_subscriber(call: Call, list_id: str, subscriber_id: str):
    subscribers.delete(call.account_id, list_id, subscriber_id)
    return no_content()


@api.route("/v1/lists/{list_id}/subscribers/{subscriber_id}/unsubscribe", methods=["POST"])
def unsubscribe_subscriber(call: Call, list_id: str, subscriber_id: str):
    return json_response({"subscriber": shape(subscribers.unsubscribe(call.account_id, list_id, subscriber_id))})
