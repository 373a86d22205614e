"""Contact lists: sender details, postal address, opt-in mode and custom fields."""
from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from chalicelib.models.base import BaseModel, Page, take_page


class FieldDef(MapAttribute):
    key = UnicodeAttribute()
    label = UnicodeAttribute()
    type = UnicodeAttribute()
    editable = BooleanAttribute(default=False)   # its members may change it in the preference centre


class ContactList(BaseModel):
    class Meta:
        logical_name = "lists"

    account_id = UnicodeAttribute(hash_key=True)
    list_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    from_name = UnicodeAttribute()
    from_email = UnicodeAttribute()
    reply_to = UnicodeAttribute(null=True)
    company_address = UnicodeAttribute()
    double_opt_in = BooleanAttribute(default=True)
    fields = ListAttribute(of=FieldDef, default=list)
    notify_email = UnicodeAttribute(null=True)   # R29: where subscribe/unsubscribe notices go (else the owner)
    notify_subscribes = BooleanAttribute(default=False)     # R29: send digests of new subscribers
    notify_unsubscribes = BooleanAttribute(default=False)   # R29: ... and of unsubscribes
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()


def get(account_id: str, list_id: str) -> ContactList | None:
    return ContactList.find(account_id, list_id)


def page(account_id: str, limit: int, start: dict | None) -> Page[ContactList]:
    return take_page(ContactList.query(account_id, limit=limit, last_evaluated_key=start), limit)
