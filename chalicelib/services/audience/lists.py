"""Contact lists of an account (R13, R17): create, read, edit, delete."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib import clock, errors, ids
from chalicelib.models import lists as store
from chalicelib.models import segments, subscribers
from chalicelib.models.base import Page
from chalicelib.models.lists import ContactList, FieldDef
from chalicelib.rendering import signup_form
from chalicelib.services import addresses
from chalicelib.services.accounts import accounts
from chalicelib.services.audience import links

FIELD_TYPES = ("text", "number", "date", "boolean")
RESERVED_FIELD_KEYS = frozenset({"email", "status", "id"})


@dataclass
class ListInput:
    name: str
    from_name: str
    from_email: str
    company_address: str
    double_opt_in: bool = True
    reply_to: str | None = None
    notify_email: str | None = None
    notify: dict[str, bool | None] | None = None   # {"subscribes", "unsubscribes"}: R29 digests, off by default
    fields: list[dict[str, Any]] = field(default_factory=list)


def create(account_id: str, data: ListInput) -> ContactList:
    """Create a list after checking its sender addresses and field definitions; a closed account takes none."""
    accounts.ensure_open(account_id)
    now = clock.now()
    item = ContactList(account_id, ids.new_id("lst"), created_at=now, updated_at=now)
    _apply(item, vars(data))
    item.save()
    return item


def get(account_id: str, list_id: str) -> ContactList:
    item = store.get(account_id, list_id)
    if item is None:
        raise errors.NotFound("list")
    return item


def page(account_id: str, limit: int, start: dict | None) -> Page[ContactList]:
    return store.page(account_id, limit, start)


def update(account_id: str, list_id: str, changes: dict[str, Any]) -> ContactList:
    item = get(account_id, list_id)
    _apply(item, changes)
    item.updated_at = clock.now()
    item.save(condition=ContactList.list_id.exists())
    return item


def delete(account_id: str, list_id: str) -> None:
    """Delete a list; its subscribers and segments go with it. Its exports are forgotten first, by the route
    (list_export.forget_list: that module reads lists)."""
    item = get(account_id, list_id)
    subscribers.delete_all_in_list(account_id, list_id)
    segments.delete_all_in_list(account_id, list_id)
    item.delete()


REQUIRED = ("name", "from_name", "from_email", "company_address", "double_opt_in", "fields")
OPTIONAL_ADDRESSES = ("reply_to", "notify_email")


def _apply(item: ContactList, values: dict[str, Any]) -> None:
    for kind, wanted in (values.pop("notify", None) or {}).items():
        if wanted is not None:   # a setting left out is left as it is
            setattr(item, f"notify_{kind}", wanted)
    for name in REQUIRED:
        if name in values and (values[name] is None or (isinstance(values[name], str) and not values[name].strip())):
            raise errors.Invalid(f"{name} must not be empty.", code="invalid_field")
    for name in ("from_email", *OPTIONAL_ADDRESSES):
        if values.get(name):
            values[name] = addresses.normalise_sender(values[name], name)
    if "fields" in values:
        values["fields"] = [FieldDef(**f) for f in _check_fields(values["fields"])]
    for name, value in values.items():
        setattr(item, name, value.strip() if isinstance(value, str) else value)


def _check_fields(definitions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    for definition in definitions:
        key = definition["key"]
        if not key.isidentifier() or key.lower() in RESERVED_FIELD_KEYS:
            raise errors.Invalid(f"Field key {key!r} must be a simple name and not a reserved one.",
                                 code="invalid_field")
        if key in seen:
            raise errors.Invalid(f"Field key {key!r} is defined twice.", code="invalid_field")
        if definition["type"] not in FIELD_TYPES:
            raise errors.Invalid(f"Field type must be one of {', '.join(FIELD_TYPES)}.", code="invalid_field")
        seen.add(key)
    return definitions


def view(item: ContactList) -> dict:
    """A list as the API and the account export show it."""
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
        "fields": [{"key": f.key, "label": f.label, "type": f.type, "editable": bool(f.editable)}
                   for f in item.fields],
        "form_url": links.form_url(item.account_id, item.list_id),
        "form_html": embeddable_form(item),
        "created_at": clock.iso(item.created_at),
        "updated_at": clock.iso(item.updated_at),
    }


def sender_promise(item: ContactList) -> str:
    """What a signup form tells the visitor they agree to."""
    return (f"You will receive emails from {item.from_name}. You can unsubscribe at any time with the link in "
            "every email.")


def embeddable_form(item: ContactList) -> str:
    """The list's signup form to paste into the customer's own site: it posts to the hosted page."""
    return signup_form.form(item.fields, links.embed_stamp(item.account_id, item.list_id), sender_promise(item),
                            action=links.form_url(item.account_id, item.list_id), id_prefix=f"mr-{item.list_id}",
                            styled=True)
