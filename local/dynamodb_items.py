"""DynamoDB items in the emulator's answers without moto's per-value walk.

moto (5.2) writes every answer through a generic serializer that walks each attribute value against the
AttributeValue shape, looking each of its ten members up through a chain of aliases: about 3 ms of CPU per
item read, so a Query or Scan of 100,000 members takes minutes where DynamoDB takes seconds. moto's items
are already in DynamoDB's JSON form (`Item.to_json()`: {"S": ...}, {"N": ...}, binary as base64), so
`install()` passes a value that is plain JSON data through as it is, and leaves anything else (a value
still holding one of moto's own types) to moto's serializer. tests/unit/test_emulator_items.py checks that
both write the same answer for every attribute type.
"""
from __future__ import annotations

from typing import Any

from moto.core import serialize

_PLAIN = (str, int, float, bool, type(None))
_installed = False


def _plain(value: Any) -> bool:
    if isinstance(value, _PLAIN):
        return True
    if isinstance(value, list):
        return all(_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _plain(item) for key, item in value.items())
    return False


class DynamoDBJSONSerializer(serialize.JSONSerializer):
    """moto's JSON serializer, with attribute values that are already DynamoDB JSON written as they are."""

    def _serialize_type_structure(self, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and shape.name == "AttributeValue" and isinstance(value, dict) and _plain(value):
            serialized[self.get_serialized_name(shape, key)] = value
            return
        super()._serialize_type_structure(serialized, value, shape, key)


def install() -> None:
    """Use the serializer above for the emulator's DynamoDB answers (idempotent)."""
    global _installed
    if not _installed:
        serialize.SERVICE_SPECIFIC_SERIALIZERS.setdefault("dynamodb", {})["json"] = DynamoDBJSONSerializer
        _installed = True
