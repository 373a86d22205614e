"""The operator's rotation steps (infra/keys.py) as values: the new key verifies before it signs, the oldest goes
last, and the hash key never changes."""
from __future__ import annotations

import json

import pytest

from chalicelib.config import parse_keys
from infra.keys import RotationError, next_value

FIRST = "k" * 64   # a secret as the stack makes it: one string, the first signing key and the hash key


def test_a_rotation_adds_a_key_that_verifies_then_promotes_it_then_retires_the_old_one():
    added = parse_keys(next_value(FIRST, "add"), "added")
    assert added.signing[0] == FIRST.encode() and len(added.signing) == 2   # the current key still signs
    new = added.signing[1]
    assert len(new) >= 32 and new != FIRST.encode()

    twice = parse_keys(next_value(next_value(FIRST, "add"), "add"), "twice")
    assert len(twice.signing) == 3 and twice.signing[0] == FIRST.encode()   # adding twice keeps every key

    value = next_value(json.dumps({"signing_keys": [FIRST, new.decode()], "hash_key": FIRST}), "promote")
    promoted = parse_keys(value, "promoted")
    assert promoted.signing == (new, FIRST.encode())

    retired = parse_keys(next_value(value, "retire"), "retired")
    assert retired.signing == (new,)
    for step_value in (added, twice, promoted, retired):
        assert step_value.hashing == FIRST.encode()   # the hash key never moves


@pytest.mark.parametrize("step", ["promote", "retire"])
def test_the_only_signing_key_is_neither_promoted_nor_retired(step):
    with pytest.raises(RotationError):
        next_value(FIRST, step)


def test_an_invalid_secret_is_not_rotated():
    from chalicelib.config import SettingsError

    with pytest.raises(SettingsError):
        next_value("short", "add")
