"""Routes: /v1/domains (sending domains, verified by SES with Easy DKIM)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib import clock
from chalicelib.handlers.http import Api, Call, bodies, json_response, no_content, page_response
from chalicelib.handlers.lazy import lazy_module
from chalicelib.models.domains import Domain

if TYPE_CHECKING:   # the services, named for readers and type checkers; at run time loaded on first use (cold start)
    from chalicelib.services.accounts import domains
else:
    domains = lazy_module("chalicelib.services.accounts.domains")

api = Api(__name__)


def shape(item: Domain) -> dict:
    return {
        "name": item.name,
        "status": item.status,
        "dns_records": [{"type": r.type, "name": r.name, "value": r.value} for r in domains.dns_records(item)],
        "created_at": clock.iso(item.created_at),
        "checked_at": clock.iso(item.checked_at),
    }


@api.route("/v1/domains", methods=["POST"], answers={201: "OneDomain"})
def add_domain(call: Call):
    domain = call.body(bodies.NewDomain).domain
    return json_response({"domain": shape(domains.register(call.account_id, domain))}, status=201)


@api.route("/v1/domains", answers={200: "Page[DomainView]"})
def list_domains(call: Call):
    return page_response(domains.page(call.account_id, call.limit(), call.cursor()), shape)


@api.route("/v1/domains/{name}", methods=["DELETE"], answers={204: None})
def delete_domain(call: Call, name: str):
    domains.delete(call.account_id, name)
    return no_content()
