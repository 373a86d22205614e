"""The outbox's web pages: each email as a person sees it, and the list of them, searchable.

    GET /                                   the messages, newest first, 50 a page; ?q= finds a recipient or subject
                                            (case-insensitive, part of either), ?page=N turns the page
    GET /messages.json                      [{"id", "to": [...], "subject", "sent_at", "raw"}], oldest first
    GET /messages/<id>                      one raw MIME message, as text
    GET /messages/<id>/view                 the message: its HTML part rendered, its text part, headers, attachments
    GET /messages/<id>/attachments/<n>      the n-th attachment (from 1), as a download

An email's HTML is shown in an iframe made from `srcdoc` with an empty `sandbox` (no scripts, no forms, an
origin of its own) and a Content-Security-Policy that allows only inline styles and `data:` images, so nothing
in it runs and nothing is fetched from the network: a tracking pixel or remote image stays unloaded, as a mail
client that blocks remote content shows it. Inline images sent with the message (`cid:`) are shown from the
message itself. Links open in a new tab, as in a mail client (following one is a click, like any reader's).
Every value taken from a message is escaped.
"""
from __future__ import annotations

import base64
import email
import html
import json
import mimetypes
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from http import HTTPStatus
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

if TYPE_CHECKING:
    from local.outbox import Outbox, SentEmail

PAGE_SIZE = 50
EMAIL_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:"
# The pages' own policy: no scripts, nothing remote; a srcdoc frame inherits it as well as carrying its own.
PAGE_POLICY = f"{EMAIL_POLICY}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
TEXT = "text/plain; charset=utf-8"
PAGE = "text/html; charset=utf-8"
_CID = re.compile(r"""cid:([^"'\s)>]+)""", re.IGNORECASE)
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._ -]+")


@dataclass(frozen=True)
class Answer:
    """What the outbox server sends back for one request."""

    status: HTTPStatus
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


def answer(outbox: Outbox, target: str) -> Answer:
    """The answer to `GET target` (a path with its query string)."""
    parts = urlsplit(target)
    path = parts.path
    if path == "/":
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        return _page(list_page(outbox.messages(), query.get("q", ""), query.get("page", "1")))
    if path == "/messages.json":
        return Answer(HTTPStatus.OK, "application/json", json.dumps([m.as_json() for m in outbox.messages()]).encode())
    segments = path.split("/")
    if len(segments) >= 3 and segments[1] == "messages" and (found := outbox.get(unquote(segments[2]))):
        rest = segments[3:]
        if not rest:
            return Answer(HTTPStatus.OK, TEXT, found.raw.encode("utf-8"))
        if rest == ["view"]:
            return _page(message_page(found))
        if len(rest) == 2 and rest[0] == "attachments" and rest[1].isdigit():
            download = attachment(found, int(rest[1]))
            if download is not None:
                return download
    return Answer(HTTPStatus.NOT_FOUND, TEXT, b"Not found\n")


def _page(markup: str) -> Answer:
    return Answer(HTTPStatus.OK, PAGE, markup.encode("utf-8"), (("Content-Security-Policy", PAGE_POLICY),))


# --- the list ----------------------------------------------------------------------------------------

STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328;background:#f6f7f9}
header{background:#24292f;color:#fff;padding:.7rem 1.5rem} header a{color:#fff;text-decoration:none;font-weight:600}
main{max-width:72rem;margin:1.5rem auto;padding:0 1.5rem}
a{color:#0b5cad} h1{font-size:1.4rem;margin:.2rem 0 1rem}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #d8dee4}
th,td{text-align:left;padding:.45rem .7rem;border-bottom:1px solid #e6e9ec;vertical-align:top}
th{background:#eef1f4;font-weight:600} td.when{white-space:nowrap;color:#57606a}
td.to{max-width:22rem;overflow-wrap:anywhere} tr:hover td{background:#f9fafb}
form.search{display:flex;gap:.5rem;margin:0 0 1rem} form.search input{flex:1;padding:.45rem .6rem;font:inherit;
border:1px solid #c8d0d8;border-radius:4px} form.search button{padding:.45rem .9rem;font:inherit}
nav.pages{display:flex;justify-content:space-between;margin:1rem 0;color:#57606a}
.muted{color:#57606a} dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0 0 1rem}
dt{color:#57606a} dd{margin:0;overflow-wrap:anywhere}
section{background:#fff;border:1px solid #d8dee4;border-radius:6px;padding:1rem 1.2rem;margin:0 0 1.2rem}
section h2{font-size:1.05rem;margin:0 0 .7rem}
iframe{width:100%;height:70vh;border:1px solid #d8dee4;background:#fff;resize:vertical}
pre{white-space:pre-wrap;overflow-wrap:anywhere;font:13px/1.5 ui-monospace,monospace;margin:0}
table.headers td:first-child{white-space:nowrap;color:#57606a;width:1%}
"""

SHELL = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{style}</style></head>
<body><header><a href="/">mailroom outbox</a></header><main>
{body}
</main></body></html>
"""


def _shell(title: str, body: str) -> str:
    return SHELL.format(title=html.escape(title), style=STYLE, body=body)


def _when(sent: SentEmail) -> str:
    return html.escape(sent.sent_at.strftime("%Y-%m-%d %H:%M:%S UTC"))


def _link(sent: SentEmail, suffix: str = "") -> str:
    return html.escape(f"/messages/{quote(sent.id, safe='')}{suffix}")


def search(messages: list[SentEmail], query: str) -> list[SentEmail]:
    """The messages whose recipients or subject contain `query` (any case), newest first."""
    needle = query.strip().casefold()
    newest_first = list(reversed(messages))
    if not needle:
        return newest_first
    return [m for m in newest_first
            if needle in m.subject.casefold() or any(needle in address.casefold() for address in m.to)]


def list_page(messages: list[SentEmail], query: str = "", page: str = "1") -> str:
    """One page of the outbox, newest first, filtered by `query`; a page number out of range shows the nearest."""
    found = search(messages, query)
    pages = max((len(found) + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    number = min(max(int(page), 1), pages) if page.isdigit() else 1
    shown = found[(number - 1) * PAGE_SIZE: number * PAGE_SIZE]
    rows = "\n".join(
        f'<tr><td class="when">{_when(m)}</td><td class="to">{html.escape(", ".join(m.to))}</td>'
        f'<td><a href="{_link(m, "/view")}">{html.escape(m.subject) or "(no subject)"}</a></td>'
        f'<td><a class="muted" href="{_link(m)}">raw</a></td></tr>'
        for m in shown)
    if not rows:
        rows = f'<tr><td colspan="4">{"No email matches." if query.strip() else "Nothing sent yet."}</td></tr>'
    if found:
        first = (number - 1) * PAGE_SIZE + 1
        summary = f"{first}–{first + len(shown) - 1} of {len(found)}"
    else:
        summary = "0"
    matching = f' matching “{html.escape(query.strip())}”' if query.strip() else ""
    body = f"""<h1>Outbox</h1>
<p class="muted">Every email sent through the local AWS emulator, newest first: {summary}{matching}
({len(messages)} in all). <a href="/messages.json">messages.json</a></p>
<form class="search" method="get" action="/"><input type="search" name="q" value="{html.escape(query)}"
 placeholder="Recipient or subject" aria-label="Search by recipient or subject"><button>Search</button></form>
<table><thead><tr><th>Sent</th><th>To</th><th>Subject</th><th></th></tr></thead>
<tbody>
{rows}
</tbody></table>
{_pager(query, number, pages)}"""
    return _shell("mailroom outbox", body)


def _pager(query: str, number: int, pages: int) -> str:
    def to(n: int, label: str) -> str:
        target = "/?" + urlencode({**({"q": query} if query.strip() else {}), "page": n})
        return f'<a href="{html.escape(target)}">{label}</a>'

    newer = to(number - 1, "← Newer") if number > 1 else "<span></span>"
    older = to(number + 1, "Older →") if number < pages else "<span></span>"
    return f'<nav class="pages">{newer}<span>Page {number} of {pages}</span>{older}</nav>'


# --- one message -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes
    content_id: str | None


def _parsed(sent: SentEmail) -> EmailMessage:
    parsed = email.message_from_string(sent.raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _bodies(message: EmailMessage) -> tuple[Message | None, Message | None]:
    """The HTML part and the text part a mail client would show."""
    return message.get_body(preferencelist=("html",)), message.get_body(preferencelist=("plain",))


def attachments(message: EmailMessage) -> list[Attachment]:
    """Every part that is not one of the bodies shown: files and inline images, in the message's order."""
    shown = [part for part in _bodies(message) if part is not None]
    found: list[Attachment] = []
    for part in message.walk():
        if part.is_multipart() or any(part is body for body in shown):
            continue
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        name = part.get_filename() or f"part-{len(found) + 1}{mimetypes.guess_extension(part.get_content_type()) or ''}"
        content_id = (part.get("Content-ID") or "").strip().strip("<>") or None
        found.append(Attachment(name, part.get_content_type(), content, content_id))
    return found


def _text_of(part: Message | None) -> str:
    return part.get_content() if isinstance(part, EmailMessage) else ""


def email_document(markup: str, inline: list[Attachment]) -> str:
    """The email's HTML as the sandboxed frame shows it: its own CSP first, links to new tabs, cid: images inline."""
    by_id = {a.content_id: a for a in inline if a.content_id}

    def data_uri(match: re.Match) -> str:
        found = by_id.get(unquote(match.group(1)))
        if found is None or not found.content_type.startswith("image/"):
            return match.group(0)
        return f"data:{found.content_type};base64,{base64.b64encode(found.content).decode()}"

    return (f'<!doctype html><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" '
            f'content="{EMAIL_POLICY}"><base target="_blank">' + _CID.sub(data_uri, markup))


def message_page(sent: SentEmail) -> str:
    """One message as a person sees it: the HTML part rendered (sandboxed), the text part, headers, attachments."""
    message = _parsed(sent)
    html_part, text_part = _bodies(message)
    files = attachments(message)
    sender = str(message.get("From", sent.source))
    details = "".join(f"<dt>{label}</dt><dd>{html.escape(value)}</dd>" for label, value in (
        ("From", sender), ("To", ", ".join(sent.to)), ("Sent", sent.sent_at.strftime("%Y-%m-%d %H:%M:%S UTC")),
        ("SES message id", sent.id), ("Configuration set", sent.configuration_set or "—"),
        ("Tags", ", ".join(f"{k}={v}" for k, v in sorted(sent.tags.items())) or "—")))
    sections = [f'<h1>{html.escape(sent.subject) or "(no subject)"}</h1><dl>{details}</dl>'
                f'<p><a href="/">← Outbox</a> · <a href="{_link(sent)}">raw MIME</a></p>']
    if html_part is not None:
        document = email_document(_text_of(html_part), files)
        sections.append(
            '<section><h2>HTML</h2><p class="muted">Shown as a mail client that blocks remote content would: '
            'no scripts, no remote images.</p>'
            f'<iframe title="The email\'s HTML part" sandbox="allow-popups allow-popups-to-escape-sandbox" '
            f'referrerpolicy="no-referrer" srcdoc="{html.escape(document, quote=True)}"></iframe></section>')
    text = _text_of(text_part)
    sections.append(f'<section><h2>Text</h2><pre>{html.escape(text) if text else "(no text part)"}</pre></section>')
    if files:
        items = "".join(
            f'<li><a href="{_link(sent, f"/attachments/{n}")}" download>{html.escape(a.filename)}</a> '
            f'<span class="muted">{html.escape(a.content_type)}, {_size(len(a.content))}'
            f'{", inline" if a.content_id else ""}</span></li>'
            for n, a in enumerate(files, start=1))
        sections.append(f"<section><h2>Attachments</h2><ul>{items}</ul></section>")
    rows = "".join(f"<tr><td>{html.escape(name)}</td><td>{html.escape(str(value))}</td></tr>"
                   for name, value in message.items())
    sections.append(f'<section><h2>Headers</h2><table class="headers"><tbody>{rows}</tbody></table></section>')
    return _shell(f"{sent.subject} · mailroom outbox", "\n".join(sections))


def _size(count: int) -> str:
    return f"{count} bytes" if count < 1024 else f"{count / 1024:.1f} KB"


def attachment(sent: SentEmail, number: int) -> Answer | None:
    """The `number`-th attachment (from 1) as a download, or None if the message has no such attachment."""
    files = attachments(_parsed(sent))
    if not 1 <= number <= len(files):
        return None
    found = files[number - 1]
    ascii_name = _UNSAFE_FILENAME.sub("_", found.filename).strip() or f"attachment-{number}"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(found.filename, safe='')}"
    return Answer(HTTPStatus.OK, found.content_type, found.content, (
        ("Content-Disposition", disposition), ("X-Content-Type-Options", "nosniff"),
        ("Content-Security-Policy", "sandbox")))
