"""The emulator reads DynamoDB requests (local/dynamodb_requests.py) into what moto's own parser reads."""
from __future__ import annotations

import base64
import json
import random
from typing import Any

import pytest
from botocore.session import get_session

from local import dynamodb_requests


def value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.choice(["S", "N", "B", "SS", "NS", "BS", "NULL", "BOOL", "M", "L", "odd"] if depth < 3 else ["S", "N"])
    if kind == "S":
        return {"S": rng.choice(["", "x", "é🙂", "a" * 40])}
    if kind == "N":
        return {"N": rng.choice(["0", "-1.5", "1E+3"])}
    if kind == "B":
        return {"B": base64.b64encode(bytes(rng.randrange(256) for _ in range(4))).decode()}
    if kind in ("SS", "NS"):
        return {kind: [str(n) for n in range(rng.randint(1, 3))]}
    if kind == "BS":
        return {"BS": [base64.b64encode(b"ab").decode()]}
    if kind == "NULL":
        return {"NULL": True}
    if kind == "BOOL":
        return {"BOOL": rng.random() < 0.5}
    if kind == "M":
        return {"M": {f"k{n}": value(rng, depth + 1) for n in range(rng.randint(0, 3))}}
    if kind == "L":
        return {"L": [value(rng, depth + 1) for _ in range(rng.randint(0, 3))]}
    return rng.choice([{"S": "x", "N": "1"}, {"S": None}, {"Q": "x"}, {"SS": "abc"}, {}, {"M": {"k": None}}])


def requests(rng: random.Random) -> list[tuple[str, dict]]:
    item = {f"a{n}": value(rng) for n in range(rng.randint(1, 8))}
    return [
        ("PutItem", {"TableName": "t", "Item": item, "ExpressionAttributeValues": {":v": value(rng)}}),
        ("BatchWriteItem", {"RequestItems": {"t": [{"PutRequest": {"Item": item}}, {"DeleteRequest": {"Key": item}}]}}),
        ("BatchGetItem", {"RequestItems": {"t": {"Keys": [item, item]}}}),
        ("TransactWriteItems", {"TransactItems": [{"Update": {
            "TableName": "t", "Key": item, "UpdateExpression": "SET a = :v",
            "ExpressionAttributeValues": {":v": value(rng)}}}]}),
        ("Query", {"TableName": "t", "ExclusiveStartKey": item, "ExpressionAttributeValues": {":p": value(rng)}}),
    ]


@pytest.mark.parametrize("seed", range(4))
def test_requests_read_as_moto_reads_them(seed):
    model = get_session().get_service_model("dynamodb")
    rng = random.Random(seed)
    for _ in range(150):
        for operation, body in requests(rng):
            shape = model.operation_model(operation)
            raw = {"body": json.dumps(body).encode()}
            expected = dynamodb_requests._original(shape, map_type=dict).parse(raw)
            assert dynamodb_requests.DynamoDBJSONParser(shape, map_type=dict).parse(raw) == expected


def test_binary_values_are_still_decoded():
    shape = get_session().get_service_model("dynamodb").operation_model("PutItem")
    item = {"b": {"B": base64.b64encode(b"\x00\xff").decode()}}
    raw = {"body": json.dumps({"TableName": "t", "Item": item}).encode()}
    assert dynamodb_requests.DynamoDBJSONParser(shape, map_type=dict).parse(raw)["Item"]["b"] == {"B": b"\x00\xff"}
