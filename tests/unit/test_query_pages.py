"""The emulator's Query pages (local/query_pages.py) are moto's own, page for page, for many random queries."""
from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table

from local import query_pages

KEY_TYPES: dict[str, Callable[[int], dict[str, Any]]] = {"S": lambda n: {"S": f"k{n:05d}" if n % 3 else f"K{n}"},
             "N": lambda n: {"N": str(n - 150) if n % 4 else f"{n / 7:.3f}"},
             "B": lambda n: {"B": bytes([n % 251, n // 251, 7])}}


def table(client, name: str, key_type: str) -> None:
    client.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": key_type},
                              {"AttributeName": "g", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"},
                                                                    {"AttributeName": "sk", "KeyType": "RANGE"}],
                                 "Projection": {"ProjectionType": "ALL"}}])


def item(rng: random.Random, key_type: str, partition: str, n: int) -> dict:
    made: dict[str, Any] = {"pk": {"S": partition}, "sk": KEY_TYPES[key_type](n), "v": {"N": str(rng.randint(0, 9))}}
    if rng.random() < 0.8:
        made["g"] = {"S": rng.choice("ab")}
    if rng.random() < 0.1:
        made["blob"] = {"S": "x" * 200_000}   # a few large items bring in moto's 1 MB page cut
    return made


def key_condition(rng: random.Random, key_type: str) -> tuple[str, dict]:
    values: dict[str, Any] = {":p": {"S": rng.choice(["p0", "p1", "p2", "none"])}}
    low, high = sorted(rng.sample(range(330), 2))
    shape = rng.choice(["eq", "between", "gt", "begins"] if key_type != "N" else ["eq", "between", "gt"])
    if shape == "between":
        values.update({":a": KEY_TYPES[key_type](low), ":b": KEY_TYPES[key_type](high)})
        return "pk = :p AND sk BETWEEN :a AND :b", values
    if shape == "gt":
        values[":a"] = KEY_TYPES[key_type](low)
        return "pk = :p AND sk > :a", values
    if shape == "begins":
        values[":a"] = {"S": "k000"} if key_type == "S" else {"B": bytes([low % 251])}
        return "pk = :p AND begins_with(sk, :a)", values
    return "pk = :p", values


def pages(client, name: str, query: dict, query_method, mutate) -> list[dict]:
    answers: list[dict] = []
    start = None
    while len(answers) < 60:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(Table, "query", query_method)
            answer = client.query(TableName=name, **query, **({"ExclusiveStartKey": start} if start else {}))
        answer.pop("ResponseMetadata")
        answers.append(answer)
        start = answer.get("LastEvaluatedKey")
        if not start:
            return answers
        mutate(name)
    return answers


@pytest.mark.parametrize("key_type", sorted(KEY_TYPES))
def test_patched_query_pages_are_moto_pages(key_type, monkeypatch):
    monkeypatch.setattr(Table, "query", query_pages._original_query)
    monkeypatch.setattr(Table, "all_items", query_pages._original_all_items)
    rng = random.Random(f"query-pages-{key_type}")
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        table(client, "moto", key_type)
        table(client, "patched", key_type)
        for n in rng.sample(range(330), 330):
            made = item(rng, key_type, f"p{n % 3}", n)
            for name in ("moto", "patched"):
                client.put_item(TableName=name, Item=made)
        seen = {"pages": 0, "size cuts": 0}
        for case in range(40):
            condition, values = key_condition(rng, key_type)
            query: dict = {"KeyConditionExpression": condition, "ExpressionAttributeValues": values,
                           "ScanIndexForward": rng.random() < 0.5}
            if rng.random() < 0.7:
                query["Limit"] = rng.randint(1, 40)
            if rng.random() < 0.4:
                query["FilterExpression"] = "v < :v"
                values[":v"] = {"N": str(rng.randint(0, 9))}
            if rng.random() < 0.2:
                query["ProjectionExpression"] = "pk, sk, v"
            if rng.random() < 0.15:   # on the index: moto's own query, over the patched all_items
                query.pop("KeyConditionExpression")
                query["IndexName"], query["KeyConditionExpression"] = "by_g", "g = :p"
                values[":p"] = {"S": rng.choice("ab")}
            changes = {"moto": random.Random(case), "patched": random.Random(case)}

            def mutate(name: str, changes: dict = changes) -> None:
                """Between pages: the same items added or removed in both tables, in the same order."""
                own = changes[name]
                n = own.randrange(330, 400)
                if own.random() < 0.5:
                    client.put_item(TableName=name, Item=item(random.Random(n), key_type, f"p{n % 3}", n))
                else:
                    client.delete_item(TableName=name, Key={"pk": {"S": f"p{n % 3}"}, "sk": KEY_TYPES[key_type](n)})

            expected = pages(client, "moto", query, query_pages._original_query, mutate)
            with monkeypatch.context() as patched:
                patched.setattr(Table, "all_items", query_pages._all_items)
                answered = pages(client, "patched", query, query_pages._query, mutate)
            assert answered == expected, (case, query)
            seen["pages"] += len(expected)
            seen["size cuts"] += sum(1 for page in expected
                                     if "LastEvaluatedKey" in page and page["ScannedCount"] < query.get("Limit", 10**6))
        assert seen["pages"] > 80 and seen["size cuts"] > 5   # the cases reach many pages, and pages cut by size


def test_all_items_keeps_moto_order(monkeypatch):
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        rng = random.Random("all-items")
        for key_type in KEY_TYPES:
            table(client, key_type, key_type)
            for n in rng.sample(range(330), 200):
                client.put_item(TableName=key_type, Item=item(rng, key_type, f"p{n % 7}", n))
            stored = dynamodb_backends["123456789012"]["eu-west-1"].get_table(key_type)
            assert query_pages._all_items(stored) == query_pages._original_all_items(stored)
