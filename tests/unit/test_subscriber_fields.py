"""Custom field values checked against a list's field definitions (pure)."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from chalicelib import errors
from chalicelib.services.audience import subscriber_fields


@dataclass
class Field:
    key: str
    type: str
    label: str = "A label"


FIELDS = [Field("name", "text"), Field("age", "number"), Field("born", "date"), Field("vip", "boolean")]


def test_given_values_of_each_type_when_checked_then_they_are_kept_as_given():
    values = {"name": "Ada", "age": 36, "born": "1815-12-10", "vip": True}
    assert subscriber_fields.check(FIELDS, values) == values


def test_given_a_fractional_number_when_checked_then_it_is_kept():
    assert subscriber_fields.check(FIELDS, {"age": 36.5}) == {"age": 36.5}


def test_given_none_when_checked_then_it_means_remove_and_is_kept_as_none():
    assert subscriber_fields.check(FIELDS, {"name": None}) == {"name": None}


def test_given_a_key_the_list_does_not_define_when_checked_then_unknown_field():
    with pytest.raises(errors.Invalid) as caught:
        subscriber_fields.check(FIELDS, {"shoe_size": 42})
    assert caught.value.code == "unknown_field"
    assert "shoe_size" in caught.value.message


@pytest.mark.parametrize("key, value", [
    ("name", 5),
    ("name", "x" * (subscriber_fields.MAX_TEXT + 1)),
    ("age", "36"),
    ("age", True),
    ("age", float("nan")),
    ("born", "10/12/1815"),
    ("born", "2023-02-30"),
    ("born", "20230101"),
    ("born", 20230101),
    ("vip", "yes"),
    ("vip", 1),
])
def test_given_a_value_of_the_wrong_type_when_checked_then_invalid_field(key, value):
    with pytest.raises(errors.Invalid) as caught:
        subscriber_fields.check(FIELDS, {key: value})
    assert caught.value.code == "invalid_field"
    assert key in caught.value.message


def test_given_form_strings_when_converted_then_each_gets_its_type():
    form = {"email": "x@example.org", "name": " Ada ", "age": "36", "born": "1815-12-10", "vip": "on"}
    assert subscriber_fields.from_form(FIELDS, form) == {"name": "Ada", "age": 36, "born": "1815-12-10", "vip": True}


def test_given_a_form_with_blanks_and_an_unticked_box_when_converted_then_blanks_are_left_out():
    assert subscriber_fields.from_form(FIELDS, {"name": "", "age": "  "}) == {"vip": False}


def test_given_a_form_decimal_when_converted_then_it_is_a_number():
    assert subscriber_fields.from_form(FIELDS, {"age": "36.5"})["age"] == 36.5


@pytest.mark.parametrize("form", [{"age": "old"}, {"age": "inf"}, {"born": "yesterday"}, {"vip": "maybe"}])
def test_given_a_form_value_that_does_not_fit_when_converted_then_invalid_field(form):
    with pytest.raises(errors.Invalid) as caught:
        subscriber_fields.from_form(FIELDS, form)
    assert caught.value.code == "invalid_field"


def test_given_changes_when_merged_then_none_removes_and_others_replace():
    merged = subscriber_fields.merge({"name": "Ada", "age": 36}, {"name": None, "age": 37, "vip": True})
    assert merged == {"age": 37, "vip": True}
