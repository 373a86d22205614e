"""Routes: /v1/lists."""
from __future__ import annotations


from chalicelib import clock
from chalicelib.handlers.http import Api, Call, bodies, json_response, no_content, page_response
from chalicelib.models.lists import ContactList
from chalicelib.services import lists

api = Api(__name__)


def shape(item: ContactList) -> dict:
    return {
        "id": item.list_id,
        "name": item.name,
        "from_name": item.from_name,
        "from_email": item.from_email,
        "reply_to": item.reply_to,
        "company_address": item.company_address,
        "double_opt_in": item.double_opt_in,
        "notify_email": item.notify_email,
        "notify": {"subscribes": bool(item.notify_subscribes), "unsubscribes": bool(item.notify_unsubscribes)},
        "fields": [{"key": f.key, "label": f.label, "type": f.type} for f in item.fields],
        "created_at": clock.iso(item.created_at),
        "updated_at": clock.iso(item.updated_at),
    }


@api.route("/v1/lists", methods=["POST"])
def create_list(call: Call):
    body = call.body(bodies.NewList)
    item = lists.create(call.account_id, lists.ListInput(**body.model_dump()))
    return json_response({"list": shape(item)}, status=201)


@api.route("/v1/lists")
def list_lists(call: Call):
    return page_response(lists.page(call.account_id, call.limit(), call.cursor()), shape)


@api.route("/v1/lists/{list_id}")
def get_list(call: Call, list_id: str):
    return json_response({"list": shape(lists.get(call.account_id, list_id))})


@api.route("/v1/lists/{list_id}", methods=["PATCH"])
def update_list(call: Call, list_id: str):
    changes = call.body(bodies.ListChanges).model_dump(exclude_unset=True)
    return json_response({"list": shape(lists.update(call.account_id, list_id, changes))})


@api.route("/v1/lists/{list_id}", methods=["DELETE"])
def delete_list(call: Call, list_id: str):
    lists.delete(call.account_id, list_id)
    return no_content()
