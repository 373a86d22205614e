"""The plain-text part of a campaign derived from its HTML: readable text, links as "text (url)", lists as
"- item", hidden content left out, template markers kept in place."""
from __future__ import annotations

import re
from html.parser import HTMLParser

from chalicelib.rendering.masking import MARKER

VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
                  "source", "track", "wbr"})
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
