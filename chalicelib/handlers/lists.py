"""Routes: /v1/lists."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.handlers.http import Api, Call, bodies, json_response, no_content, page_response
from chalicelib.handlers.lazy import lazy_module
from chalicelib.models.lists import ContactList

if TYPE_CHECKING:   # the services, named for readers and type checkers; at run time loaded on first use (cold start)
    from chalicelib.services.audience import list_export, lists
else:
    lists = lazy_module("chalicelib.services.audience.lists")
    list_export = lazy_module("chalicelib.services.audience.list_export")

api = Api(__name__)


def shape(item: ContactList) -> dict:
    return lists.view(item)   # a function, so that the service loads with the first request, not at the cold start


@api.route("/v1/lists", methods=["POST"], answers={201: "OneList"})
def create_list(call: Call):
    body = call.body(bodies.NewList)
    item = lists.create(call.account_id, lists.ListInput(**body.model_dump()))
    return json_response({"list": shape(item)}, status=201)


@api.route("/v1/lists", answers={200: "Page[ListView]"})
def list_lists(call: Call):
    return page_response(lists.page(call.account_id, call.limit(), call.cursor()), shape)


@api.route("/v1/lists/{list_id}", answers={200: "OneList"})
def get_list(call: Call, list_id: str):
    return json_response({"list": shape(lists.get(call.account_id, list_id))})


@api.route("/v1/lists/{list_id}", methods=["PATCH"], answers={200: "OneList"})
def update_list(call: Call, list_id: str):
    changes = call.body(bodies.ListChanges).changes()
    return json_response({"list": shape(lists.update(call.account_id, list_id, changes))})


@api.route("/v1/lists/{list_id}", methods=["DELETE"], answers={204: None})
def delete_list(call: Call, list_id: str):
    from chalicelib.storage import ExportFiles

    lists.get(call.account_id, list_id)   # 404 for a missing or another tenant's list, before anything goes
    list_export.forget_list(call.account_id, list_id, ExportFiles())
    lists.delete(call.account_id, list_id)
    return no_content()
