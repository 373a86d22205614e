"""Small, self-contained HTML pages for people (no scripts, inline style only, so the CSP stays strict)."""
from __future__ import annotations

from collections.abc import Callable
from html import escape
from urllib.parse import parse_qs

from chalice import Response

from chalicelib import errors
from chalicelib.handlers.http import html_response
from chalicelib.services.accounts.auth import MAX_PASSWORD, MIN_PASSWORD

STYLE = ("body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;"
         "line-height:1.5;color:#222}button{font-size:1rem;padding:.5rem 1.2rem;cursor:pointer}"
         "label{display:block;margin:.8rem 0 .2rem}input[type=text],input[type=email],input[type=number],"
         "input[type=password],"
         "input[type=date]{width:100%;padding:.4rem;font-size:1rem;box-sizing:border-box}"
         ".error{color:#a00}.trap{position:absolute;left:-10000px}"
         "fieldset{border:1px solid #ccc;border-radius:6px;margin:1.2rem 0;padding:.4rem 1rem 1rem}"
         "legend{font-weight:600;padding:0 .3rem}label.choice{margin:.3rem 0}.status,.hint{color:#555;margin:.3rem 0}"
         ".notice{background:#eef6ee;border:1px solid #9c9;border-radius:6px;padding:.6rem 1rem}"
         "form.all{margin-top:2rem;border-top:1px solid #ddd;padding-top:.5rem}")


def page(title: str, body_html: str, status: int = 200) -> Response:
    """A whole page: `title` is escaped here; `body_html` must already be safe HTML."""
    return html_response(
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{escape(title)}</title><style>{STYLE}</style></head>'
        f"<body><h1>{escape(title)}</h1>{body_html}</body></html>",
        status,
    )


def message(title: str, text: str, status: int = 200) -> Response:
    """A page that says one thing."""
    return page(title, f"<p>{escape(text)}</p>", status)


def not_found() -> Response:
    return message("Link not valid", "This link is not valid or has expired.", 404)


def shown(view: Callable[[], Response]) -> Response:
    """Answer in HTML, also when the link is not valid or a dependency is down."""
    try:
        return view()
    except errors.NotFound:
        return not_found()
    except errors.UpstreamError:
        return message("Please try again", "We could not finish this just now. Please try again in a few minutes.",
                       503)


def password_form(title: str, button: str, intro: str = "", problem: str | None = None, status: int = 200) -> Response:
    """A page asking for a new password twice; it posts back to its own URL (no action attribute), whatever
    prefix the API is served under. `intro` must already be safe HTML."""
    notice = f'<p role="alert" class="error">{escape(problem)}</p>' if problem else ""
    fields = "".join(
        f"""
  <p><label>{label}<br><input type="password" name="{name}" minlength="{MIN_PASSWORD}"
     maxlength="{MAX_PASSWORD}" autocomplete="new-password" required></label></p>"""
        for label, name in (("New password", "password"), ("Repeat it", "password_confirm")))
    return page(title, f"""{intro}{notice}
<form method="post">{fields}
  <p><button type="submit">{escape(button)}</button></p>
</form>""", status)


def chosen_password(raw_body: bytes) -> str:
    """The password a password_form was sent with, or Invalid when its two fields differ."""
    fields = parse_qs(raw_body.decode("utf-8", errors="replace"), max_num_fields=10)
    password = (fields.get("password") or [""])[0]
    if password != (fields.get("password_confirm") or [""])[0]:
        raise errors.Invalid("The two passwords are not the same.")
    return password
