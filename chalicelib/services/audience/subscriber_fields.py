"""A subscriber's custom field values, checked against the list's field definitions. Pure: no I/O."""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from chalicelib import errors

MAX_TEXT = 1000
DATE_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TRUE_WORDS = frozenset({"on", "true", "1", "yes"})
FALSE_WORDS = frozenset({"off", "false", "0", "no"})
# What a DynamoDB number holds: 38 significant digits, magnitudes from 1E-130 to below 1E+126.
NUMBER_DIGITS = 38
NUMBER_SMALLEST = Decimal("1E-130")
NUMBER_BOUND = Decimal("1E+126")


class FieldDefinition(Protocol):
    key: str
    label: str
    type: str


def check(definitions: Iterable[FieldDefinition], values: Mapping[str, Any]) -> dict[str, Any]:
    """JSON values checked against the list's fields; a None value means "remove this field"."""
    types = {d.key: d.type for d in definitions}
    checked: dict[str, Any] = {}
    for key, value in values.items():
        if key not in types:
            raise _unknown(key, types)
        checked[key] = None if value is None else _check_value(key, types[key], value)
    return checked


def from_form(definitions: Iterable[FieldDefinition], form: Mapping[str, str]) -> dict[str, Any]:
    """Values of an HTML form (all strings) converted to the list's field types; blanks are left out."""
    checked: dict[str, Any] = {}
    for definition in definitions:
        raw = (form.get(definition.key) or "").strip()
        if definition.type == "boolean":
            checked[definition.key] = _form_boolean(definition.key, raw)
        elif raw:
            checked[definition.key] = _check_value(definition.key, definition.type, _form_value(
                definition.key, definition.type, raw))
    return checked


def merge(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Checked changes applied to current values: None removes a field."""
    merged = dict(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _check_value(key: str, kind: str, value: Any) -> Any:
    if kind == "text":
        if not isinstance(value, str):
            raise _wrong(key, "text")
        if len(value) > MAX_TEXT:
            raise errors.Invalid(f"Field {key!r} is longer than {MAX_TEXT} characters.", code="invalid_field")
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise _wrong(key, "a number")
        if not _storable(value):
            raise _wrong(key, f"a number with at most {NUMBER_DIGITS} significant digits, between -1E+126 and "
                              "1E+126 and no closer to 0 than 1E-130")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _wrong(key, "true or false")
        return value
    if kind == "date":
        if not isinstance(value, str) or not DATE_FORMAT.match(value):
            raise _wrong(key, "a date as YYYY-MM-DD")
        try:
            date.fromisoformat(value)
        except ValueError:
            raise _wrong(key, "a real calendar date (YYYY-MM-DD)") from None
        return value
    raise errors.Invalid(f"Field {key!r} has an unknown type.", code="invalid_field")


def _storable(value: int | float) -> bool:
    number = Decimal(str(value)).copy_abs()   # str: a float's shortest form, the one it is stored as
    if not number:
        return True
    digits = "".join(map(str, number.as_tuple().digits)).strip("0")
    return len(digits) <= NUMBER_DIGITS and NUMBER_SMALLEST <= number < NUMBER_BOUND


def _form_value(key: str, kind: str, raw: str) -> Any:
    if kind != "number":
        return raw
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError:
        raise _wrong(key, "a number") from None


def _form_boolean(key: str, raw: str) -> bool:
    word = raw.lower()
    if word in TRUE_WORDS:
        return True
    if not word or word in FALSE_WORDS:
        return False
    raise _wrong(key, "ticked or not")


def _wrong(key: str, expected: str) -> errors.Invalid:
    return errors.Invalid(f"Field {key!r} must be {expected}.", code="invalid_field")


def _unknown(key: str, types: Mapping[str, str]) -> errors.Invalid:
    known = ", ".join(sorted(types)) or "none"
    return errors.Invalid(f"The list has no field {key!r} (its fields: {known}).", code="unknown_field")
