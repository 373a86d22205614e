"""The preference centre's page: one section per list, the member's choice and the list's editable fields, one
Save button, and the one-click "unsubscribe from all" in a form of its own."""
from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import TYPE_CHECKING, Any

from chalice import Response

from chalicelib.handlers import pages
from chalicelib.handlers.lazy import lazy_module
from chalicelib.models.subscribers import SubscriberStatus

if TYPE_CHECKING:   # the services, named for readers and type checkers; at run time loaded on first use (cold start)
    from chalicelib.rendering import signup_form
    from chalicelib.services.audience import preferences
else:
    preferences = lazy_module("chalicelib.services.audience.preferences")
    signup_form = lazy_module("chalicelib.rendering.signup_form")

UNSUBSCRIBE_ALL = "unsubscribe-all"   # the value of "action" that the one-click button posts
MAX_FIELDS = 5000   # a choice, a marker and up to 50 fields for each of the address's lists
STATUS_WORDS = {
    SubscriberStatus.SUBSCRIBED: "You receive these emails.",
    SubscriberStatus.PENDING: "Waiting for you to confirm: look for our email asking you to.",
    SubscriberStatus.UNSUBSCRIBED: "You do not receive these emails.",
    SubscriberStatus.BOUNCED: "Emails to this address could not be delivered, so none are sent.",
}


def centre_page(centre: preferences.Centre, notice: str | None = None, problems: Mapping[str, str] | None = None,
                posted: Mapping[str, str] | None = None, status: int = 200) -> Response:
    """The whole page; `posted` refills what the member typed when `problems` sends it back."""
    problems = problems or {}
    sections = [_section(m, problems.get(m.contact_list.list_id), posted) for m in centre.memberships]
    lists_html = "".join(sections) or "<p>This address is not on any list of this sender any more.</p>"
    top = ""
    if notice:
        top = f'<p class="notice" role="status">{escape(notice)}</p>'
    if problems:
        top = '<p class="error" role="alert">Some values need correcting; nothing was saved.</p>'
    body = (
        top
        + f"<p>Choose which emails <strong>{escape(centre.email)}</strong> receives from "
          f"{escape(centre.sender)}.</p>"
        + f'<form method="post">{lists_html}'
        + ('<button type="submit">Save preferences</button>' if centre.memberships else "")
        + "</form>"
        + '<form method="post" class="all">'
          f'<input type="hidden" name="action" value="{UNSUBSCRIBE_ALL}">'
          f"<p>Or stop every email from {escape(centre.sender)} at once:</p>"
          '<button type="submit">Unsubscribe from all</button></form>'
    )
    return pages.page("Your email preferences", body, status)


def _section(membership: preferences.Membership, problem: str | None, posted: Mapping[str, str] | None) -> str:
    contact_list, status = membership.contact_list, membership.status
    prefix = f"{contact_list.list_id}:"
    status_choice, fields_shown = preferences.STATUS_CHOICE, preferences.FIELDS_SHOWN
    parts = [f"<fieldset><legend>{escape(contact_list.name)}</legend>"]
    if problem:
        parts.append(f'<p class="error" role="alert">{escape(problem)}</p>')
    parts.append(f'<p class="status">{escape(STATUS_WORDS.get(status, ""))}</p>')
    offered = status in (SubscriberStatus.SUBSCRIBED, SubscriberStatus.PENDING) or membership.can_rejoin
    if offered:
        chosen = (posted or {}).get(prefix + status_choice) or (
            "unsubscribed" if status is SubscriberStatus.UNSUBSCRIBED else "subscribed")
        for value, words in (("subscribed", "Receive these emails"), ("unsubscribed", "Don't receive them")):
            checked = " checked" if chosen == value else ""
            parts.append(f'<label class="choice"><input type="radio" name="{escape(prefix + status_choice)}" '
                         f'value="{value}"{checked}> {words}</label>')
        if status is SubscriberStatus.UNSUBSCRIBED and contact_list.double_opt_in:
            parts.append('<p class="hint">To receive them again, you will be asked to confirm by email.</p>')
    elif status is SubscriberStatus.UNSUBSCRIBED:
        parts.append('<p class="hint">This list cannot take this address back from here.</p>')
    editable = membership.editable
    if editable:
        parts.append(f'<input type="hidden" name="{escape(prefix + fields_shown)}" value="1">')
        stored = membership.member.fields.as_dict()
        for definition in editable:
            name = prefix + definition.key
            value = posted.get(name, "") if posted is not None else _as_text(stored.get(definition.key))
            parts.append(signup_form.field_input("p", name, definition.label, definition.type, value))
    parts.append("</fieldset>")
    return "".join(parts)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else ""
    return str(value)
