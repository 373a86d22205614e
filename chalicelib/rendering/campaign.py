"""A campaign's content, checked and compiled once at save time and cached for sending."""
from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib import errors
from chalicelib.rendering import footer, markup, template

if TYPE_CHECKING:
    from jinja2 import Template

# Gmail clips an email whose HTML exceeds 102 KB ("[Message clipped]", and the footer with the
# unsubscribe link and the open pixel go unseen). 100 KiB, measured as a recipient receives the
# HTML (inlined CSS, tracked links, footer), leaves room for personalised values.
MAX_HTML_BYTES = 100 * 1024
CACHE_SIZE = 64
SAMPLE_ID = "x" * 30   # as long as a real id, so that sample tracking links are as long as real ones


@dataclass(frozen=True, eq=False)
class CompiledCampaign:
    """Templates ready to personalise, and the link table the campaign stores for its click redirects."""

    content_hash: str
    subject: Template
    html: Template
    text: Template
    links: tuple[str, ...]
    html_bytes: int


_cache: OrderedDict[str, CompiledCampaign] = OrderedDict()


def content_hash(subject: str, html: str, text: str | None, field_keys: Iterable[str]) -> str:
    """The key a campaign's compiled content is cached under."""
    material = json.dumps([subject, html, text, sorted(set(field_keys))], ensure_ascii=False)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def compile_campaign(subject: str, html: str, text: str | None, field_keys: Iterable[str]) -> CompiledCampaign:
    """Check and compile a campaign's content; raises errors.Invalid (template_error, too_large)."""
    field_keys = [key for key in field_keys if key.isidentifier() and not key.startswith("_")]
    key = content_hash(subject, html, text, field_keys)
    cached = _cache.get(key)
    if cached is not None:
        _cache.move_to_end(key)
        return cached
    known = (*template.BUILTINS, *field_keys)
    template.check("subject", subject, known)
    template.check("html", html, known)
    if text is not None:
        template.check("text", text, known)
    prepared = markup.prepare_html(html, text)
    compiled = _build(key, subject, prepared)
    _cache[key] = compiled
    if len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)
    return compiled


def _build(key: str, subject: str, prepared: markup.PreparedHtml) -> CompiledCampaign:
    from markupsafe import Markup

    from chalicelib.rendering import tracking

    subject_template = template.build(subject, html=False)
    html_template = template.build(prepared.html, html=True)
    text_template = template.build(prepared.text, html=False)
    head, between, middle, tail = footer.footer_html("x" * 60, "x" * 200, pro=False)
    unsubscribe = tracking.unsubscribe_url(SAMPLE_ID, SAMPLE_ID, SAMPLE_ID, SAMPLE_ID)
    preferences = tracking.preferences_url(SAMPLE_ID, SAMPLE_ID, SAMPLE_ID, SAMPLE_ID)
    sample = {
        "email": "", "unsubscribe_url": unsubscribe, "preferences_url": preferences, "list_name": "",
        "_click": tracking.ClickUrls(SAMPLE_ID, SAMPLE_ID, SAMPLE_ID),
        "_footer": Markup(head + unsubscribe + between + preferences + middle
                          + tracking.open_url(SAMPLE_ID, SAMPLE_ID, SAMPLE_ID) + tail),
    }
    rendered = {}
    for part, compiled in (("subject", subject_template), ("html", html_template), ("text", text_template)):
        try:
            rendered[part] = compiled.render(sample)
        except Exception as exc:   # noqa: BLE001 - any failure here is the customer's to fix, named
            raise errors.Invalid(f"{part}: the template fails for a subscriber without custom values: {exc}.",
                                 code="template_error", details={"part": part}) from exc
    size = len(rendered["html"].encode("utf-8"))
    if size > MAX_HTML_BYTES:
        raise errors.Invalid(
            f"html: the email is {size / 1024:.0f} KB once CSS is inlined and links and footer are added; "
            f"Gmail clips emails over 102 KB, so the limit is {MAX_HTML_BYTES // 1024} KB.",
            code="too_large", details={"part": "html", "bytes": size, "limit": MAX_HTML_BYTES})
    return CompiledCampaign(key, subject_template, html_template, text_template, prepared.links, size)


def extract_links(html: str, text: str | None = None) -> list[str]:
    """The campaign's link table: distinct tracked URLs of the HTML in order, then the text part's others."""
    return list(markup.prepare_html(html, text).links)
