"""Reading HTML form posts: application/x-www-form-urlencoded and multipart/form-data."""
from __future__ import annotations

from collections.abc import Iterable
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl

from chalicelib import errors
from chalicelib.handlers.http import Call

MAX_FIELDS = 100


def form_fields(call: Call, max_fields: int = MAX_FIELDS) -> dict[str, str]:
    """The text fields of a form post (first value of each name); {} for any other or unreadable body."""
    raw = call.raw_body()
    content_type = call.request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=max_fields)
        except ValueError:
            raise errors.Malformed(f"A form may carry at most {max_fields} fields.") from None
        return _first_values(pairs)
    if media_type == "multipart/form-data":
        return _multipart(raw, content_type, max_fields)
    return {}


def _multipart(raw: bytes, content_type: str, max_fields: int) -> dict[str, str]:
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace") + raw)
    if not message.is_multipart():
        return {}
    pairs = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name or part.get_filename():
            continue
        payload = part.get_payload(decode=True)
        text = payload.decode(part.get_content_charset() or "utf-8", "replace") if isinstance(payload, bytes) else ""
        pairs.append((str(name), text))
    return _first_values(pairs[:max_fields])


def _first_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields
