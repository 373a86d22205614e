"""Update expressions parsed once per text (local/update_expressions.py) give the items and errors moto's own
parsing gives, however often a text is used with other values, and the copy the validator works on is unpickled
from the kept tree."""
from __future__ import annotations

import re

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.parsing import validators
from moto.dynamodb.parsing.expressions import UpdateExpressionParser

from local import update_expressions

TEXTS = [
    "SET #s = :s, #m = :m, #t = :t",
    "SET #n = if_not_exists(#n, :zero) + :one REMOVE #gone",
    "ADD #count :one, #tags :tags",
    "SET #list = list_append(if_not_exists(#list, :empty), :more), #map.#key = :s",
    "DELETE #tags :tags",
    "SET #s = :s SET #m = :m",     # refused by moto: two SET clauses
    "SET #s = ",                   # refused by moto: no value
]
NAMES = {"#s": "state", "#m": "message_id", "#t": "sent_at", "#n": "n", "#gone": "old", "#count": "count",
         "#tags": "tags", "#list": "list", "#map": "map", "#key": "key"}


def values(round_number: int) -> dict:
    return {":s": {"S": f"state-{round_number}"}, ":m": {"S": f"m-{round_number}"}, ":t": {"N": str(round_number)},
            ":zero": {"N": "0"}, ":one": {"N": "1"}, ":tags": {"SS": [f"t{round_number}", "shared"]},
            ":empty": {"L": []}, ":more": {"L": [{"N": str(round_number)}]}}


def outcomes() -> list:
    """Every update of every text, three rounds with new values each, on an item per text: answers and items."""
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
        dynamodb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                              KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}])
        for n in range(len(TEXTS)):
            dynamodb.put_item(TableName="t", Item={"k": {"S": str(n)}, "old": {"S": "x"}, "map": {"M": {}}})
        seen = []
        for round_number in range(3):
            for n, text in enumerate(TEXTS):
                tokens = set(re.findall(r"[#:]\w+", text))
                used = {name: value for name, value in NAMES.items() if name in tokens}
                given = {name: value for name, value in values(round_number).items() if name in tokens}
                try:
                    answer = dynamodb.update_item(TableName="t", Key={"k": {"S": str(n)}}, UpdateExpression=text,
                                                  ExpressionAttributeNames=used, ExpressionAttributeValues=given,
                                                  ReturnValues="ALL_NEW")["Attributes"]
                except ClientError as exc:
                    answer = exc.response["Error"]
                seen.append((text, answer))
                transaction = [{"Update": {"TableName": "t", "Key": {"k": {"S": str(n)}}, "UpdateExpression": text,
                                           "ExpressionAttributeNames": used, "ExpressionAttributeValues": given}}]
                try:
                    dynamodb.transact_write_items(TransactItems=transaction)
                    seen.append((text, dynamodb.get_item(TableName="t", Key={"k": {"S": str(n)}})["Item"]))
                except ClientError as exc:
                    seen.append((text, exc.response["Error"]))
        return seen


def test_items_and_errors_are_the_ones_moto_gives_when_it_parses_every_time(monkeypatch):
    # Given moto's answers to updates that parse each text every time
    monkeypatch.setattr(UpdateExpressionParser, "make", update_expressions._original)
    monkeypatch.setattr(validators, "deepcopy", update_expressions._original_copy)
    expected = outcomes()
    refused = [text for text, answer in expected if "Code" in answer]
    assert set(refused) == set(TEXTS[-2:]) and len(refused) == 2 * 3 * 2   # both ways, three rounds

    # When each text is parsed once and its tree reused with other values, copied from its pickled form
    update_expressions._parsed.cache_clear()
    monkeypatch.setattr(UpdateExpressionParser, "make", classmethod(update_expressions._make))
    monkeypatch.setattr(validators, "deepcopy", update_expressions._copy)
    reused = outcomes()

    # Then every answer, item and error is the same, and every text but the one with a syntax error (refused
    # anew each time) was kept once
    assert reused == expected
    assert update_expressions._parsed.cache_info().currsize == len(TEXTS) - 1


@pytest.fixture(autouse=True)
def as_moto_was():
    original = UpdateExpressionParser.__dict__["make"]
    yield
    UpdateExpressionParser.make = original


def shape(node: object) -> object:
    """A tree as nested (type, values) tuples, to compare two trees node by node."""
    if isinstance(node, (list, tuple)):
        return [shape(member) for member in node]
    if hasattr(node, "__dict__"):
        return type(node).__name__, {k: shape(v) for k, v in vars(node).items() if k != "parent"
                                     and k != update_expressions._PICKLED}
    return node


def test_the_validator_works_on_a_fresh_copy_of_a_kept_tree_each_time():
    # Given a text parsed once and kept
    update_expressions._parsed.cache_clear()
    kept = update_expressions._parsed("SET #n = if_not_exists(#n, :zero) + :one REMOVE #gone")

    # When the validator copies it twice
    first, second = update_expressions._copy(kept), update_expressions._copy(kept)

    # Then each copy is a new tree of the same nodes (changing one leaves the kept tree and the other alone),
    # and anything else is deep-copied as before
    assert first is not kept and second is not first and type(first) is type(kept)
    assert shape(first) == shape(kept) == shape(second)
    first.children.clear()
    assert kept.children and second.children
    value = {"a": [1, {"b": 2}]}
    copied = update_expressions._copy(value)
    assert copied == value and copied["a"] is not value["a"]
