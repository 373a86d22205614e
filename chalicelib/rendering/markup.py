"""Campaign HTML, processed once per campaign: CSS inlined, links found and rewritten, a footer slot.

The customer's HTML is a Jinja template. To inline CSS and rewrite links once per campaign rather
than once per recipient, every template construct is first replaced by a marker that an HTML
parser keeps where it stands (a private-use character sequence in text and attribute values, an
HTML comment for block tags between elements), the HTML is processed, and the constructs are put
back. A personalised value is text, so it is parsed exactly as the marker that stood for it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser
from typing import Iterable
from urllib.parse import quote, urlsplit, urlunsplit

from chalicelib import errors

OPEN, CLOSE = "\ue000", "\ue001"
MARKER = re.compile(f"{OPEN}(\\d+){CLOSE}")
COMMENT_MARKER = re.compile(f"<!--{OPEN}(\\d+){CLOSE}-->")
CONSTRUCT = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
# A literal "{" that would start template syntax once the constructs are back in place.
LITERAL_BRACE = re.compile(f"\\{{(?=[{{%#]|{OPEN}|<!--{OPEN})")
ESCAPED_BRACE = "{{ '{' }}"
MARKER_REFERENCE = re.compile(r"&#(?:x0*e00[01]|0*5734[45]);?", re.IGNORECASE)  # the markers, as entities
RAW_BLOCK = re.compile(r"\{%-?\s*raw\b")
RAW_TEXT = frozenset({"script", "style", "title", "textarea", "xmp", "iframe", "noembed", "noframes",
                      "noscript"})
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
                  "source", "track", "wbr"})
TRACKED_SCHEMES = ("http://", "https://")
FOOTER_SLOT = "{{ _footer }}"


def click_slot(index: int) -> str:
    """The template expression that renders the click URL of link `index` for a recipient."""
    return f"{{{{ _click[{index}] }}}}"


@dataclass(frozen=True)
class Masked:
    """A template with its constructs replaced by markers, and what to put back."""

    text: str
    originals: list[str]
    offsets: list[int]       # where each customer construct starts in the source (for line numbers)
    structural: list[int]    # block tags and comments, in source order: they must survive parsing

    def marker(self, construct: str) -> str:
        """Register a construct of our own and return its marker."""
        self.originals.append(construct)
        return f"{OPEN}{len(self.originals) - 1}{CLOSE}"

    def unmask(self, text: str) -> str:
        text = COMMENT_MARKER.sub(lambda m: self.originals[int(m.group(1))], text)
        return MARKER.sub(lambda m: self.originals[int(m.group(1))], text)

    def line_of(self, index: int, source: str) -> int:
        return source.count("\n", 0, self.offsets[index]) + 1


@dataclass(frozen=True)
class PreparedHtml:
    """The HTML template after inlining and link rewriting, and the text template derived from it."""

    html: str                 # a Jinja template with `_click[i]` hrefs and a `_footer` slot
    text: str                 # a Jinja template for the plain-text part
    links: tuple[str, ...]    # the link table: distinct tracked URLs in document order


def mask(source: str, part: str, html: bool = True) -> Masked:
    """Replace each template construct by a marker; for HTML, choose the marker its context needs."""
    source = source.replace(OPEN, "").replace(CLOSE, "")
    if html:
        source = MARKER_REFERENCE.sub("", source)
    originals: list[str] = []
    offsets: list[int] = []
    pieces: list[str] = []
    last = 0
    for match in CONSTRUCT.finditer(source):
        pieces.append(source[last:match.start()])
        pieces.append(f"{OPEN}{len(originals)}{CLOSE}")
        originals.append(match.group())
        offsets.append(match.start())
        last = match.end()
    pieces.append(source[last:])
    flat = "".join(pieces)
    structural = [i for i, c in enumerate(originals) if c.startswith("{%")]
    if not html:
        return Masked(flat, originals, offsets, structural)
    contexts = _contexts(flat)
    for index in structural:
        if RAW_BLOCK.match(originals[index]):
            line = source.count("\n", 0, offsets[index]) + 1
            raise _template_error(part, line, "{% raw %} is not supported in HTML; write {{ '{{' }} "
                                  "for a literal {{")
    for index, context in contexts.items():
        if context == "tag":
            line = source.count("\n", 0, offsets[index]) + 1
            raise _template_error(part, line, f"the template tag {_short(originals[index])} sits inside an "
                                  "HTML tag; put it inside an attribute value or between tags")
        if context.startswith("raw:") and index in structural:
            line = source.count("\n", 0, offsets[index]) + 1
            raise _template_error(part, line, f"{_short(originals[index])} cannot be used inside "
                                  f"<{context[4:]}>; only {{{{ … }}}} values can")

    def place(m: re.Match) -> str:
        index = int(m.group(1))
        if not originals[index].startswith("{{") and contexts.get(index) == "data":
            return f"<!--{m.group()}-->"
        return m.group()

    return Masked(MARKER.sub(place, flat), originals, offsets, structural)


def _contexts(text: str) -> dict[int, str]:
    """Where each marker stands: data, attr (an attribute value), tag, raw:<element> or comment."""
    found: dict[int, str] = {}
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == OPEN:
            end = text.index(CLOSE, i)
            found[int(text[i + 1:end])] = "data"
            i = end + 1
        elif text.startswith("<!--", i):
            end = text.find("-->", i + 4)
            end = n if end < 0 else end + 3
            _mark_all(text[i:end], "comment", found)
            i = end
        elif char == "<" and i + 1 < n and (text[i + 1].isalpha() or text[i + 1] == "/"
                                            or text[i + 1] == OPEN):
            i = _scan_tag(text, i, found)
        else:
            i += 1
    return found


def _scan_tag(text: str, i: int, found: dict[int, str]) -> int:
    n = len(text)
    closing = text[i + 1] == "/"
    j = i + (2 if closing else 1)
    start = j
    while j < n and not text[j].isspace() and text[j] not in "/>":
        j += 1
    name = text[start:j]
    _mark_all(name, "tag", found)
    while j < n and text[j] != ">":
        if text[j] == "=":
            j += 1
            while j < n and text[j].isspace():
                j += 1
            if j < n and text[j] in "\"'":
                end = text.find(text[j], j + 1)
                end = n if end < 0 else end
                _mark_all(text[j + 1:end], "attr", found)
                j = end + 1
            else:
                end = j
                while end < n and not text[end].isspace() and text[end] != ">":
                    end += 1
                _mark_all(text[j:end], "attr", found)
                j = end
        elif text[j] == OPEN:
            end = text.index(CLOSE, j)
            found[int(text[j + 1:end])] = "tag"
            j = end + 1
        else:
            j += 1
    j += 1
    lowered = name.lower()
    if not closing and lowered in RAW_TEXT:
        end = text.lower().find(f"</{lowered}", j)
        end = n if end < 0 else end
        _mark_all(text[j:end], f"raw:{lowered}", found)
        return end
    return j


def _mark_all(chunk: str, context: str, found: dict[int, str]) -> None:
    for m in MARKER.finditer(chunk):
        found[int(m.group(1))] = context


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
    culprit = next((want for want, got in zip(masked.structural, seen) if want != got), None)
    if culprit is None:
        culprit = masked.structural[len(seen)] if len(seen) < len(masked.structural) else masked.structural[-1]
    raise _template_error("html", masked.line_of(culprit, source),
                          f"{_short(masked.originals[culprit])} sits where HTML parsing moves or drops it "
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
        if following == OPEN or not trailing and following and not following.isspace() and following not in "<>\"'":
            return m.group()
        target = trackable(url)
        if target is None:
            return m.group()
        return masked.marker(click_slot(table.add(target))) + trailing

    return masked.unmask(url_pattern.sub(replace, masked.text))


BLOCKS = frozenset({"p", "div", "table", "tr", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
                    "blockquote", "section", "article", "header", "footer", "center", "form", "pre",
                    "dl", "dt", "dd", "address", "figure", "figcaption", "main", "nav", "aside"})
PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "ul", "ol",
                        "pre", "dl", "figure"})
SKIPPED = frozenset({"head", "style", "script", "title", "template", "noscript"})
HIDDEN_STYLE = re.compile(r"display\s*:\s*none|mso-hide\s*:\s*all", re.IGNORECASE)


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML document: links as "text (url)", lists as "- item"."""
    writer = _TextWriter()
    writer.feed(html)
    writer.close()
    return writer.result()


class _TextWriter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.stack: list[tuple[str, bool]] = []
        self.links: list[tuple[str | None, int]] = []
        self.lists: list[list] = []
        self.pre = 0

    @property
    def hidden(self) -> bool:
        return any(hidden for _, hidden in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag not in VOID:
            hidden = tag in SKIPPED or "hidden" in values or bool(HIDDEN_STYLE.search(values.get("style") or ""))
            self.stack.append((tag, hidden))
        if self.hidden and tag not in VOID:
            return
        if tag == "br":
            self._emit("\n")
        elif tag == "hr":
            self._break(2)
            self._emit("-" * 40)
            self._break(2)
        elif tag == "img":
            if self.links and values.get("alt"):
                self._text(values["alt"] or "")
        elif tag == "a":
            self.links.append((values.get("href"), len(self.out)))
        elif tag in ("ul", "ol"):
            self.lists.append([tag, 0])
            self._break(2)
        elif tag == "li":
            self._break(1)
            if self.lists and self.lists[-1][0] == "ol":
                self.lists[-1][1] += 1
                self._emit(f"{self.lists[-1][1]}. ")
            else:
                self._emit("- ")
        elif tag in ("td", "th"):
            self._emit(" ")
        elif tag == "pre":
            self._break(2)
            self.pre += 1
        elif tag in BLOCKS:
            self._break(2 if tag in PARAGRAPHS else 1)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if not any(open_tag == tag for open_tag, _ in self.stack):
            return
        hidden = self.hidden
        while self.stack:
            open_tag, _ = self.stack.pop()
            if open_tag == tag:
                break
        if hidden:
            return
        if tag == "a" and self.links:
            self._close_link()
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
            self._break(2)
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
            self._break(2)
        elif tag in BLOCKS:
            self._break(2 if tag in PARAGRAPHS else 1)

    def _close_link(self) -> None:
        href, start = self.links.pop()
        label = " ".join("".join(self.out[start:]).split())
        href = (href or "").strip()
        if not href or href.startswith("#") or href.lower().startswith("javascript:"):
            return
        shown = href.split(":", 1)[1] if href.lower().startswith(("mailto:", "tel:")) else href
        if not label:
            self._emit(shown)
        elif label != shown and label != href:
            self._emit(f" ({shown})")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self._text(data)

    def handle_comment(self, data: str) -> None:
        if MARKER.fullmatch(data):
            self.out.append(data)   # a block tag: kept even in hidden content, so the template stays whole

    def _text(self, data: str) -> None:
        if self.pre:
            self.out.append(data)
        else:
            self.out.append(re.sub(r"\s+", " ", data))

    def _emit(self, text: str) -> None:
        self.out.append(text)

    def _break(self, count: int) -> None:
        """End the current line with at least `count` line breaks in all (count=2: a blank line)."""
        trailing = 0
        for chunk in reversed(self.out):
            body = chunk.rstrip(" \t\n")
            trailing += chunk[len(body):].count("\n")
            if body:
                break
        else:
            return
        if trailing < count:
            self.out.append("\n" * (count - trailing))

    def result(self) -> str:
        text = "".join(self.out).replace("\xa0", " ")
        text = "\n".join(re.sub(r" {2,}", " ", line.strip()) for line in text.split("\n"))
        return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _short(construct: str) -> str:
    flat = " ".join(construct.split())
    return flat if len(flat) <= 40 else flat[:37] + "…"


def _template_error(part: str, line: int, problem: str) -> errors.Invalid:
    return errors.Invalid(f"{part}: line {line}: {problem}.", code="template_error",
                          details={"part": part, "line": line})


def footer_html(list_name: str, company_address: str, pro: bool) -> tuple[str, str, str]:
    """The footer block as three pieces around the unsubscribe URL and the open-pixel URL."""
    reset = ("display:block !important;visibility:visible !important;opacity:1 !important;"
             "font-family:Arial,Helvetica,sans-serif !important;font-size:12px !important;"
             "line-height:18px !important;color:#666666 !important;margin:0 0 8px 0 !important;"
             "text-align:center !important;max-height:none !important;overflow:visible !important;")
    address = "<br>".join(escape(line.strip()) for line in company_address.splitlines() if line.strip())
    credit = "" if pro else f'<p style="{reset}">Email marketing by mailroom</p>'
    head = (
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="display:table !important;visibility:visible !important;opacity:1 !important;'
        'width:100% !important;max-height:none !important;margin:0 !important;'
        'border-collapse:collapse !important;background-color:#ffffff !important;">'
        '<tr style="display:table-row !important;visibility:visible !important;">'
        '<td align="center" style="display:table-cell !important;visibility:visible !important;'
        'padding:24px 16px !important;text-align:center !important;background-color:#ffffff !important;">'
        f'<p style="{reset}">You receive this email because you subscribed to {escape(list_name)}. '
        f'<a href="'
    )
    middle = (
        f'" style="color:#666666 !important;text-decoration:underline !important;'
        f'font-size:12px !important;visibility:visible !important;">Unsubscribe</a></p>'
        f'<p style="{reset}">{address}</p>{credit}</td></tr></table>'
        '<img src="'
    )
    tail = '" width="1" height="1" alt="">'
    return head, middle, tail


def footer_text(list_name: str, company_address: str, pro: bool, unsubscribe_url: str) -> str:
    """The plain-text footer: unsubscribe link, postal address and (unless PRO) the service credit."""
    lines = ["", "-- ", f"You receive this email because you subscribed to {list_name}.",
             f"Unsubscribe: {unsubscribe_url}"]
    lines += [line.strip() for line in company_address.splitlines() if line.strip()]
    if not pro:
        lines.append("Email marketing by mailroom")
    return "\n".join(lines) + "\n"
