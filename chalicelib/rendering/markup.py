"""Campaign HTML, processed once per campaign: CSS inlined, tracked links found and rewritten to click
slots, a footer slot added, and the text part derived or its links rewritten too.

The template constructs are masked first (rendering/masking.py), so that the HTML parser and the CSS
inliner see plain HTML, and put back afterwards.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit, urlunsplit

from chalicelib import errors
from chalicelib.rendering.masking import (
    CLOSE,
    ESCAPED_BRACE,
    LITERAL_BRACE,
    MARKER,
    OPEN,
    Masked,
    mask,
    short,
    template_error,
)
from chalicelib.rendering.plaintext import html_to_text

TRACKED_SCHEMES = ("http://", "https://")
FOOTER_SLOT = "{{ _footer }}"


def click_slot(index: int) -> str:
    """The template expression that renders the click URL of link `index` for a recipient."""
    return f"{{{{ _click[{index}] }}}}"


@dataclass(frozen=True)
class PreparedHtml:
    """The HTML template after inlining and link rewriting, and the text template derived from it."""

    html: str                 # a Jinja template with `_click[i]` hrefs and a `_footer` slot
    text: str                 # a Jinja template for the plain-text part
    links: tuple[str, ...]    # the link table: distinct tracked URLs in document order


def inline_css(html: str) -> str:
    """The document with its <style> rules moved into style attributes (at-rules such as @media kept)."""
    import css_inline

    inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False,
                                    keep_link_tags=False)
    try:
        return inliner.inline(html)
    except (css_inline.InlineError, ValueError) as exc:
        raise errors.Invalid(f"html: the CSS cannot be inlined: {exc}", code="template_error",
                             details={"part": "html"}) from exc


def prepare_html(source: str, text_source: str | None = None) -> PreparedHtml:
    """Inline CSS, rewrite tracked links, add the footer slot, derive or link the text part."""
    masked = mask(source, "html")
    inlined = _restore_doctype(source, inline_css(masked.text))
    _check_structure(masked, inlined, source)
    edits = _HtmlEdits(masked)
    edits.feed(inlined)
    edits.close()
    table = _LinkTable(edits.urls)
    footer = masked.marker(FOOTER_SLOT)
    rewritten = edits.apply(inlined, table, masked, footer)
    brace = masked.marker(ESCAPED_BRACE)
    html_template = masked.unmask(LITERAL_BRACE.sub(brace, rewritten))
    if text_source is None:
        text_template = masked.unmask(LITERAL_BRACE.sub(brace, html_to_text(rewritten.replace(footer, ""))))
    else:
        text_template = link_text(text_source, table)
    return PreparedHtml(html_template, text_template, tuple(table.urls))


def _restore_doctype(source: str, inlined: str) -> str:
    original = re.match(r"\s*(<!doctype[^>]*>)", source, re.IGNORECASE)
    if original and inlined.lower().startswith("<!doctype"):
        return original.group(1) + inlined[inlined.index(">") + 1:]
    return inlined


def _check_structure(masked: Masked, processed: str, source: str) -> None:
    seen = [int(i) for i in MARKER.findall(processed) if int(i) in masked.structural]
    if seen == masked.structural:
        return
    culprit = next((want for want, got in zip(masked.structural, seen, strict=False) if want != got), None)
    if culprit is None:
        culprit = masked.structural[len(seen)] if len(seen) < len(masked.structural) else masked.structural[-1]
    raise template_error("html", masked.line_of(culprit, source),
                          f"{short(masked.originals[culprit])} sits where HTML parsing moves or drops it "
                          "(for example between table rows, outside any cell); move it inside an element")


class _LinkTable:
    def __init__(self, urls: Iterable[str]):
        self.urls: list[str] = []
        self.index: dict[str, int] = {}
        for url in urls:
            self.add(url)

    def add(self, url: str) -> int:
        if url not in self.index:
            self.index[url] = len(self.urls)
            self.urls.append(url)
        return self.index[url]


def trackable(href: str | None) -> str | None:
    """The URL a click on `href` should lead to, or None when the link is not tracked."""
    if not href or OPEN in href or CLOSE in href:
        return None
    url = re.sub(r"[\t\r\n]", "", href).strip()
    if not url.lower().startswith(TRACKED_SCHEMES) or re.search(r"[\x00-\x20\x7f]", url):
        return None
    from chalicelib.config import get_settings

    if url.startswith(get_settings().link("/unsubscribe/")):
        return None
    return _ascii_url(url)


def _ascii_url(url: str) -> str:
    if url.isascii():
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        host = quote(host, safe="")
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    if parts.username:
        netloc = f"{quote(parts.username, safe='')}@{netloc}"
    safe = "!#$%&'()*+,/:;=?@[]~"
    return urlunsplit((parts.scheme, netloc, quote(parts.path, safe=safe), quote(parts.query, safe=safe),
                       quote(parts.fragment, safe=safe)))


class _HtmlEdits(HTMLParser):
    """Finds, in inlined HTML, the tracked links, <plaintext> tags and the end of the body."""

    def __init__(self, masked: Masked):
        super().__init__(convert_charrefs=True)
        self.masked = masked
        self.urls: list[str] = []
        self.anchors: list[tuple[int, int, str, list[tuple[str, str | None]], str]] = []
        self.removals: list[tuple[int, int]] = []
        self.body_end: int | None = None
        self._line_starts: list[int] = []

    def feed(self, data: str) -> None:
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", data)]
        self._data = data
        super().feed(data)

    def _offset(self) -> int:
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        start = self._offset()
        raw = self.get_starttag_text() or ""
        if tag in ("a", "area"):
            url = trackable(dict(attrs).get("href"))
            if url:
                self.urls.append(url)
                self.anchors.append((start, start + len(raw), tag, attrs, url))
        elif tag == "plaintext":
            # <plaintext> has no end tag for a mail client: everything after it, the footer too,
            # would show as source. The element is dropped and its content kept.
            self.removals.append((start, start + len(raw)))

    def handle_endtag(self, tag: str) -> None:
        start = self._offset()
        end = self._data.find(">", start) + 1
        if tag == "plaintext":
            self.removals.append((start, end))
        elif tag == "body":
            self.body_end = start

    def apply(self, html: str, table: _LinkTable, masked: Masked, footer: str) -> str:
        edits: list[tuple[int, int, str]] = [(start, end, "") for start, end in self.removals]
        for start, end, tag, attrs, url in self.anchors:
            slot = masked.marker(click_slot(table.index[url]))
            rebuilt = "".join(
                f' {name}' if value is None and name != "href"
                else f' {name}="{slot if name == "href" else _attr(value or "")}"'
                for name, value in attrs
            )
            edits.append((start, end, f"<{tag}{rebuilt}>"))
        position = self.body_end if self.body_end is not None else len(html)
        edits.append((position, position, footer))
        out, last = [], 0
        for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1])):
            out.append(html[last:start])
            out.append(replacement)
            last = end
        out.append(html[last:])
        return "".join(out)


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;")


def link_text(text_source: str, table: _LinkTable) -> str:
    """A customer's text template with its tracked URLs pointing to click slots."""
    masked = mask(text_source, "text", html=False)
    url_pattern = re.compile(f"https?://[^\\s<>\"'{OPEN}{CLOSE}]+", re.IGNORECASE)

    def replace(m: re.Match) -> str:
        url = m.group().rstrip(".,;:!?)]}")
        trailing = m.group()[len(url):]
        following = masked.text[m.end():m.end() + 1]
        if following == OPEN or (not trailing and following and not following.isspace() and following not in "<>\"'"):
            return m.group()
        target = trackable(url)
        if target is None:
            return m.group()
        return masked.marker(click_slot(table.add(target))) + trailing

    return masked.unmask(url_pattern.sub(replace, masked.text))
