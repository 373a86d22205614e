"""DynamoDB transactions in the emulator without copying whole tables.

moto's TransactWriteItems deep-copies every table a transaction names before it starts, so that it can
roll back; the cost of one transaction grows with everything stored in those tables (tens of
milliseconds per thousand items), and a campaign's ledger, markers and feedback are all transactions on
large tables. `install()` replaces it with the same all-or-nothing semantics at the cost of the items the
transaction touches: every condition is checked first, nothing is written unless all hold, and only the
touched items are saved for the rollback of a write that fails half-way. The emulator serialises
DynamoDB requests (local/emulator.py), so no other request runs in between, as in moto itself.
"""
from __future__ import annotations

import copy
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend

OPERATIONS = ("ConditionCheck", "Put", "Delete", "Update")
_installed = False


def _key(backend: DynamoDBBackend, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return op["Key"]
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return key


def _check(backend: DynamoDBBackend, op: dict[str, Any], key: dict[str, Any]) -> tuple[Any, Any]:
    """The item as it is now, and the error tuple moto reports for it (all None when its condition holds)."""
    current = backend.get_item(op["TableName"], key)
    expression = op.get("ConditionExpression")
    if expression is None:
        return current, (None, None, None)
    condition = get_filter_expression(expression, op.get("ExpressionAttributeNames"),
                                      op.get("ExpressionAttributeValues"))
    if condition.expr(current):
        return current, (None, None, None)
    old = current.to_json()["Attributes"] if current and op.get(
        "ReturnValuesOnConditionCheckFailure") == "ALL_OLD" else None
    return current, ("ConditionalCheckFailed", "The conditional request failed", old)


def _write(backend: DynamoDBBackend, op_type: str, op: dict[str, Any], key: dict[str, Any]) -> None:
    names, values = op.get("ExpressionAttributeNames") or {}, op.get("ExpressionAttributeValues") or {}
    if op_type == "Put":
        backend.put_item(op["TableName"], op["Item"], expression_attribute_names=names,
                         expression_attribute_values=values)
    elif op_type == "Delete":
        backend.delete_item(op["TableName"], key, expression_attribute_names=names,
                            expression_attribute_values=values)
    elif op_type == "Update":
        backend.update_item(op["TableName"], key, update_expression=op["UpdateExpression"],
                            expression_attribute_names=names, expression_attribute_values=values)


def _restore(backend: DynamoDBBackend, table_name: str, key: dict[str, Any], before: Any) -> None:
    if before is None:
        if backend.get_item(table_name, key) is not None:
            backend.delete_item(table_name, key)
    else:
        backend.put_item(table_name, before.to_json()["Attributes"])


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """TransactWriteItems: all conditions checked, then all writes, or none (moto's errors and shapes)."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    plan: list[tuple[str, dict[str, Any], dict[str, Any], Any]] = []
    seen: set[tuple[str, str]] = set()
    errors: list[tuple[Any, Any, Any]] = []
    for item in transact_items:
        if len(item) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(item.items()))
        if op_type not in OPERATIONS:
            raise MockValidationException("Unsupported transaction operation")
        key = _key(self, op_type, op)
        unique = (str(op["TableName"]), str(dict(sorted(key.items()))))
        if unique in seen:
            raise MultipleTransactionsException()
        seen.add(unique)
        try:
            current, error = _check(self, op, key)
        except MockValidationException:
            raise
        except Exception as exc:  # noqa: BLE001 - reported per item, as moto does
            current, error = None, (type(exc).__name__, str(exc), None)
        errors.append(error)
        plan.append((op_type, op, key, copy.deepcopy(current)))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)

    done: list[tuple[str, dict[str, Any], Any]] = []
    for index, (op_type, op, key, before) in enumerate(plan):
        try:
            _write(self, op_type, op, key)
        except Exception as exc:
            for table_name, written_key, old in reversed(done):
                _restore(self, table_name, written_key, old)
            if isinstance(exc, MockValidationException):
                raise
            failed: list[tuple[str | None, str | None, None]] = [(None, None, None)] * len(plan)
            failed[index] = (type(exc).__name__, str(exc), None)
            raise TransactionCanceledException(failed) from exc
        done.append((op["TableName"], key, before))


def install() -> None:
    """Use the item-level transaction in every moto DynamoDB backend of this process (idempotent)."""
    global _installed
    if not _installed:
        DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
        _installed = True
