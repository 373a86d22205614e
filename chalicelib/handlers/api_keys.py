"""Routes: /v1/api-keys (R3). The key itself is shown once, in the answer to POST."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib import clock
from chalicelib.handlers.context import origin
from chalicelib.handlers.http import Api, Call, bodies, json_response, no_content, page_response
from chalicelib.handlers.lazy import lazy_module
from chalicelib.models.credentials import Credential

if TYPE_CHECKING:   # the services, named for readers and type checkers; at run time loaded on first use (cold start)
    from chalicelib.services.accounts import api_keys
else:
    api_keys = lazy_module("chalicelib.services.accounts.api_keys")

api = Api(__name__)


def shape(item: Credential) -> dict:
    return {
        "id": api_keys.id_of(item),
        "name": item.name,
        "user_id": item.user_id,
        "scopes": list(item.scopes) if item.scopes is not None else None,
        "created_at": clock.iso(item.created_at),
        "last_used_at": clock.iso(item.last_used_at),
    }


@api.route("/v1/api-keys", methods=["POST"], answers={201: "NewApiKey"})
def create_key(call: Call):
    body = call.body(bodies.NewKey)
    created = api_keys.create(call.caller, body.name, body.scopes, origin(call))
    return json_response({**shape(created.credential), "key": created.key}, status=201)


@api.route("/v1/api-keys", answers={200: "Page[ApiKey]"})
def list_keys(call: Call):
    return page_response(api_keys.page(call.account_id, call.limit(), call.cursor()), shape)


@api.route("/v1/api-keys/{key_id}", methods=["DELETE"], answers={204: None})
def delete_key(call: Call, key_id: str):
    api_keys.delete(call.caller, key_id, origin(call))
    return no_content()
