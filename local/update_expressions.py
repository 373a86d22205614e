"""DynamoDB update expressions parsed once per text in the emulator, not on every write.

moto (5.2) tokenizes and parses an UpdateExpression twice for every UpdateItem (once to check its names and
values, once to apply it) and once more per Update of a TransactWriteItems, though a service sends the same
few texts over and over (the values travel apart, as :placeholders). In a profile of a 10,000-member
campaign on the local runtime, parsing was a tenth of the time the emulator spent recording the sender's
outcomes. moto never changes a parsed expression: its checks only read it, and its validator works on a
deep copy before it substitutes values. So `install()` makes `UpdateExpressionParser.make` keep the tree
of each text it parsed and give that back; a text moto refuses is refused again every time (errors are
not kept). tests/unit/test_update_expressions.py compares answers with and without.

That deep copy, made for every update, walked the whole tree through `copy.deepcopy` (1.3 ms for a SET of
four actions; 6% of the runtime's CPU in a 2,000-recipient campaign). A kept tree also keeps its pickled form,
and the validator's copy of a kept tree is unpickled from it, five times faster and the same nodes; anything
else the validator copies is deep-copied as before.
"""
from __future__ import annotations

import copy
import pickle
from functools import lru_cache
from typing import Any

from moto.dynamodb.parsing import validators

# mypy (2.4) does not see this module's parser classes, though moto ships its types; at run time they are there
from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

_original = UpdateExpressionParser.make
_original_copy = validators.deepcopy
_PICKLED = "_pickled_by_the_emulator"   # the attribute of a kept tree that holds its pickled form
_installed = False


@lru_cache(maxsize=4096)
def _parsed(expression: str) -> Any:
    tree = _original(expression)
    pickled = pickle.dumps(tree, protocol=pickle.HIGHEST_PROTOCOL)
    setattr(tree, _PICKLED, pickled)   # after pickling: copies do not carry it
    return tree


def _copy(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """`copy.deepcopy`, by unpickling for a kept tree."""
    pickled = getattr(value, _PICKLED, None) if type(value).__module__ == _AST_MODULE else None
    return pickle.loads(pickled) if pickled is not None else copy.deepcopy(value, memo)


_AST_MODULE = "moto.dynamodb.parsing.ast_nodes"


def _make(cls: type, expression: str) -> Any:
    return _parsed(expression)


def install() -> None:
    """Make moto parse each update expression text once (idempotent)."""
    global _installed
    if not _installed:
        UpdateExpressionParser.make = classmethod(_make)
        validators.deepcopy = _copy                          # type: ignore[assignment]
        _installed = True
