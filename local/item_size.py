"""DynamoDB items made in the emulator with their size measured once, not once per attribute.

moto checks DynamoDB's 400 KB item limit as each attribute of a new item is set, measuring every attribute set
before it again (LimitedSizeDict.__setitem__), so making an item of n attributes measures n²/2 of them; with
15 attributes a member of a list, that was most of the emulator's time for a CSV import's batch writes.
`install()` makes new items measure their attributes once and refuse the same items (ItemSizeTooLarge over
moto's 405,000 bytes); changes to existing items keep moto's own check.
"""
from __future__ import annotations

from typing import Any

from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.utilities import bytesize

MOTO_LIMIT = 405_000   # what moto's LimitedSizeDict allows: between DynamoDB's 400 KB and what AWS accepts
_installed = False


def _init(self: Item, hash_key: DynamoType, range_key: DynamoType | None, attrs: dict[str, Any]) -> None:
    self.hash_key = hash_key
    self.range_key = range_key
    values = {key: DynamoType(value) for key, value in attrs.items()}
    if sum(bytesize(key) + value.size() for key, value in values.items()) > MOTO_LIMIT:
        raise ItemSizeTooLarge
    self.attrs = LimitedSizeDict(values)   # dict.update inside: no per-attribute measuring


def install() -> None:
    """Make new items in moto's DynamoDB measure their size once (idempotent)."""
    global _installed
    if not _installed:
        Item.__init__ = _init   # type: ignore[method-assign]
        _installed = True
