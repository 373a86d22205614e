"""Template constructs masked so that HTML can be processed once per campaign rather than once per recipient.

The customer's HTML is a Jinja template. Every template construct is replaced by a marker that an HTML
parser keeps where it stands (a private-use character sequence in text and attribute values, an HTML
comment for block tags between elements); the HTML is processed (rendering/markup.py) and the constructs
are put back. A personalised value is text, so it is parsed exactly as the marker that stood for it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

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
            raise template_error(part, line, "{% raw %} is not supported in HTML; write {{ '{{' }} "
                                  "for a literal {{")
    for index, context in contexts.items():
        if context == "tag":
            line = source.count("\n", 0, offsets[index]) + 1
            raise template_error(part, line, f"the template tag {short(originals[index])} sits inside an "
                                  "HTML tag; put it inside an attribute value or between tags")
        if context.startswith("raw:") and index in structural:
            line = source.count("\n", 0, offsets[index]) + 1
            raise template_error(part, line, f"{short(originals[index])} cannot be used inside "
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


def short(construct: str) -> str:
    flat = " ".join(construct.split())
    return flat if len(flat) <= 40 else flat[:37] + "…"


def template_error(part: str, line: int, problem: str) -> errors.Invalid:
    return errors.Invalid(f"{part}: line {line}: {problem}.", code="template_error",
                          details={"part": part, "line": line})
