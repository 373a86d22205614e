"""Routes: /v1/lists."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib import clock
from chalicelib.handlers.http import Api, Body, Call, json_response, no_content, page_response
from chalicelib.models.lists import ContactList
from chalicelib.services import lists

api = Api(__name__)

Text = Field(min_length=1, max_length=200)


class FieldBody(Body):
    key: str = Field(min_length=1, max_length=40)
    label: str = Field(min_length=1, max_length=100)
    type: Literal["text", "number", "date", "boolean"] = "text"


class NewList(Body):
    name: str = Text
    from_name: str = Text
    from_email: str = Field(max_length=254)
    company_address: str = Field(min_length=1, max_length=500)
    double_opt_in: bool = True
    reply_to: str | None = Field(default=None, max_length=254)
    notify_email: str | None = Field(default=None, max_length=254)
    fields: list[FieldBody] = Field(default_factory=list, max_length=50)


class ListChanges(Body):
    name: str | None = Text
    from_name: str | None = Text
    from_email: str | None = Field(default=None, max_length=254)
    company_address: str | None = Field(default=None, min_length=1, max_length=500)
    double_opt_in: bool | None = None
    reply_to: str | None = Field(default=None, max_length=254)
    notify_email: str | None = Field(default=None, max_length=254)
    fields: list[FieldBody] | None = Field(default=None, max_length=50)


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
        "fields": [{"key": f.key, "label": f.label, "type": f.type} for f in item.fields],
        "created_at": clock.iso(item.created_at),
        "updated_at": clock.iso(item.updated_at),
    }


@api.route("/v1/lists", methods=["POST"])
def create_list(call: Call):
    body = call.body(NewList)
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
    changes = call.body(ListChanges).model_dump(exclude_unset=True)
    return json_response({"list": shape(lists.update(call.account_id, list_id, changes))})


@api.route("/v1/lists/{list_id}", methods=["DELETE"])
def delete_list(call: Call, list_id: str):
    lists.delete(call.account_id, list_id)
    return no_content()
