"""DynamoDB requests read in the emulator without moto's per-value walk.

moto (5.2) reads every request through a generic parser that walks the JSON body against the operation's
input shape, rebuilding each attribute value member by member (the AttributeValue shape has ten): in a
profile of a 20,000-row CSV import this parsing was a quarter of the emulator's time for DynamoDB requests
(8.2 of 32.9 s, 1.5 million `_parse_shape` calls for 1,870 requests, mostly BatchWriteItem's items). For an
attribute value of one member, S, N, SS, NS, NULL or BOOL (or M and L made only of such values), moto's walk
gives back the very value it was given, so `install()` uses a parser that keeps such a value as it is and
leaves any other (binary values, which moto decodes from base64, and anything malformed) to moto's walk.
Only DynamoDB's shapes are named AttributeValue with these members, so other services parse as before.
tests/unit/test_dynamodb_requests.py compares both parsers' results for many random requests.
"""
from __future__ import annotations

from typing import Any

from moto.core import parse

_KEPT = frozenset({"S", "N", "NULL", "BOOL"})
_LISTS = frozenset({"SS", "NS"})
_MEMBERS = frozenset({"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"})
_original = parse.PROTOCOL_PARSERS["json"]
_installed = False


def _as_given(value: Any) -> bool:
    """Whether moto's parser would give back this attribute value unchanged."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    (kind, inner), = value.items()
    if kind in _KEPT:
        return inner is not None
    if kind in _LISTS:
        return isinstance(inner, list)
    if kind == "M":
        return isinstance(inner, dict) and all(_as_given(member) for member in inner.values())
    if kind == "L":
        return isinstance(inner, list) and all(_as_given(member) for member in inner)
    return False


class DynamoDBJSONParser(_original):   # type: ignore[misc, valid-type]
    """moto's JSON request parser, with DynamoDB attribute values it would not change kept as they are."""

    def _parse_structure(self, shape: Any, value: Any) -> Any:
        if shape.name == "AttributeValue" and set(shape.members) == _MEMBERS and _as_given(value):
            return value
        return super()._parse_structure(shape, value)


def install() -> None:
    """Read JSON-protocol requests with the parser above (idempotent)."""
    global _installed
    if not _installed:
        parse.PROTOCOL_PARSERS["json"] = DynamoDBJSONParser
        _installed = True
