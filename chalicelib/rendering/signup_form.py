"""The signup form of a list (R18): one markup for its hosted page and for the copy a customer embeds in their
own site. Every name and label is customer input and is escaped here; nothing needs a script or a stylesheet."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import Protocol

HONEYPOT = "hp-website"   # not an identifier, so no list field can have this name
STAMP = "form-stamp"      # the signed time the form was handed out (not an identifier either)
TRUE_WORDS = ("on", "true", "1", "yes")
HIDDEN = "position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden"


class FormField(Protocol):
    key: str
    label: str
    type: str


def form(fields: Iterable[FormField], stamp: str, intro: str, values: Mapping[str, str] | None = None, *,
         action: str | None = None, id_prefix: str = "f", styled: bool = False) -> str:
    """A `<form method="post">` with the email input, the list's fields by type, the honeypot and the stamp.

    `action` is set for the embeddable copy (which posts to the hosted page); `styled` gives it inline styles
    of its own, since it lives in a page whose stylesheet is not ours; `id_prefix` keeps its ids unique there.
    """
    values = values or {}
    label_style = ' style="display:block;margin:.8rem 0 .2rem"' if styled else ""
    input_style = ' style="width:100%;max-width:24rem;padding:.4rem;font-size:1rem;box-sizing:border-box"' \
        if styled else ""
    inputs = [field_input(id_prefix, "email", "Email address", "email", values.get("email", ""), required=True,
                          label_style=label_style, input_style=input_style)]
    inputs += [field_input(id_prefix, f.key, f.label, f.type, values.get(f.key, ""), label_style=label_style,
                           input_style=input_style) for f in fields]
    button_style = ' style="margin-top:1rem;font-size:1rem;padding:.5rem 1.2rem;cursor:pointer"' if styled else ""
    target = f' action="{escape(action)}"' if action else ""
    return (
        f'<form method="post"{target} accept-charset="utf-8">'
        + "".join(inputs)
        + f'<div style="{HIDDEN}" aria-hidden="true"><label>Leave this empty'
          f'<input type="text" name="{HONEYPOT}" tabindex="-1" autocomplete="off"></label></div>'
        + f'<input type="hidden" name="{STAMP}" value="{escape(stamp)}">'
        + f"<p>{escape(intro)}</p>"
        + f'<button type="submit"{button_style}>Subscribe</button></form>'
    )


def field_input(id_prefix: str, name: str, label: str, kind: str, value: str, required: bool = False,
                label_style: str = "", input_style: str = "") -> str:
    """One labelled input for a field of type `kind` (text, number, date, boolean; email for the address)."""
    field_id = escape(f"{id_prefix}-{name}")
    attrs = f'name="{escape(name)}" id="{field_id}"' + (" required" if required else "")
    if kind == "boolean":
        checked = " checked" if value.strip().lower() in TRUE_WORDS else ""
        return (f'<label for="{field_id}"{label_style}><input type="checkbox" {attrs} value="on"{checked}> '
                f"{escape(label)}</label>")
    html_type = {"email": "email", "number": "number", "date": "date"}.get(kind, "text")
    extra = ' step="any"' if kind == "number" else ' autocomplete="email"' if kind == "email" else ""
    return (f'<label for="{field_id}"{label_style}>{escape(label)}</label>'
            f'<input type="{html_type}" {attrs}{extra} value="{escape(value)}"{input_style}>')
