"""DynamoDB update expressions parsed once per text in the emulator, not on every write.

moto (5.2) tokenizes and parses an UpdateExpression twice for every UpdateItem (once to check its names and
values, once to apply it) and once more per Update of a TransactWriteItems, though a service sends the same
few texts over and over (the values travel apart, as :placeholders). In a profile of a 10,000-member
campaign on the local runtime, parsing was a tenth of the time the emulator spent recording the sender's
outcomes. moto never changes a parsed expression: its checks only read it, and its validator works on a
deep copy before it substitutes values. So `install()` makes `UpdateExpressionParser.make` keep the tree
of each text it parsed and give that back; a text moto refuses is refused again every time (errors are
not kept). tests/unit/test_update_expressions.py compares answers with and without.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

# mypy (2.4) does not see this module's parser classes, though moto ships its types; at run time they are there
from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

_original = UpdateExpressionParser.make
_installed = False


@lru_cache(maxsize=4096)
def _parsed(expression: str) -> Any:
    return _original(expression)


def _make(cls: type, expression: str) -> Any:
    return _parsed(expression)


def install() -> None:
    """Make moto parse each update expression text once (idempotent)."""
    global _installed
    if not _installed:
        UpdateExpressionParser.make = classmethod(_make)
        _installed = True
