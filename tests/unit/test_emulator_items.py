"""local/dynamodb_items.py: the emulator's fast path for DynamoDB items answers exactly what moto's own
serializer answers, for every attribute type."""
from __future__ import annotations

import boto3
from moto import mock_aws
from moto.core import serialize

from local import dynamodb_items

ITEM = {
    "pk": {"S": "list#1"}, "sk": {"S": "sub_1"}, "n": {"N": "-12.50"}, "b": {"B": b"\x00\xffbytes"},
    "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.5"]}, "bs": {"BS": [b"\x01", b"\x02"]},
    "l": {"L": [{"S": "x"}, {"N": "1"}, {"M": {"deep": {"BOOL": True}}}, {"B": b"\x03"}]},
    "m": {"M": {"first_name": {"S": "Ada"}, "orders": {"N": "3"}, "none": {"NULL": True},
                "tags": {"L": [{"S": "vip"}]}}},
    "t": {"BOOL": False}, "z": {"NULL": True}, "u": {"S": "Zoë \u2603 \"quoted\""},
}


def read_everything() -> dict:
    client = boto3.client("dynamodb", region_name="eu-west-1")
    return {
        "query": client.query(TableName="t", KeyConditionExpression="pk = :k",
                              ExpressionAttributeValues={":k": {"S": "list#1"}})["Items"],
        "get": client.get_item(TableName="t", Key={"pk": {"S": "list#1"}, "sk": {"S": "sub_1"}})["Item"],
        "scan": client.scan(TableName="t")["Items"],
        "batch": client.batch_get_item(RequestItems={"t": {"Keys": [{"pk": {"S": "list#1"}, "sk": {"S": "sub_1"}}]}})
        ["Responses"]["t"],
        "update": client.update_item(TableName="t", Key={"pk": {"S": "list#1"}, "sk": {"S": "sub_1"}},
                                     UpdateExpression="SET touched = :t", ExpressionAttributeValues={":t": {"N": "1"}},
                                     ReturnValues="ALL_OLD")["Attributes"],
    }


def test_the_fast_path_answers_what_motos_serializer_answers(monkeypatch):
    monkeypatch.setattr(serialize, "SERVICE_SPECIFIC_SERIALIZERS", dict(serialize.SERVICE_SPECIFIC_SERIALIZERS))
    monkeypatch.setattr(dynamodb_items, "_installed", False)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        client.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                       {"AttributeName": "sk", "KeyType": "RANGE"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                  {"AttributeName": "sk", "AttributeType": "S"}])
        client.put_item(TableName="t", Item=ITEM)
        by_moto = read_everything()
        client.delete_item(TableName="t", Key={"pk": {"S": "list#1"}, "sk": {"S": "sub_1"}})
        client.put_item(TableName="t", Item=ITEM)

        dynamodb_items.install()
        assert serialize.get_serializer_class("dynamodb", "json") is dynamodb_items.DynamoDBJSONSerializer
        fast = read_everything()

    assert fast == by_moto
    assert fast["get"]["b"] == {"B": b"\x00\xffbytes"} and fast["get"]["m"]["M"]["orders"] == {"N": "3"}
