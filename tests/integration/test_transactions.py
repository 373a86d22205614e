"""The emulator's DynamoDB transactions (local/transactions.py): all or nothing, as DynamoDB's are."""
from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local import transactions

TABLE = "tx-test"


@pytest.fixture
def dynamodb():
    transactions.install()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        client.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        client.put_item(TableName=TABLE, Item={"pk": {"S": "counter"}, "n": {"N": "1"}, "label": {"S": "text"}})
        yield client


def item(client, key: str) -> dict | None:
    return client.get_item(TableName=TABLE, Key={"pk": {"S": key}}).get("Item")


def add_one(key: str = "counter", attribute: str = "n") -> dict:
    return {"Update": {"TableName": TABLE, "Key": {"pk": {"S": key}}, "UpdateExpression": "ADD #a :one",
                       "ExpressionAttributeNames": {"#a": attribute},
                       "ExpressionAttributeValues": {":one": {"N": "1"}}}}


def put_new(key: str) -> dict:
    return {"Put": {"TableName": TABLE, "Item": {"pk": {"S": key}}, "ConditionExpression": "attribute_not_exists(pk)"}}


def test_when_every_condition_holds_then_every_write_lands(dynamodb):
    dynamodb.transact_write_items(TransactItems=[put_new("marker"), add_one()])

    assert item(dynamodb, "marker") == {"pk": {"S": "marker"}}
    assert item(dynamodb, "counter")["n"] == {"N": "2"}


def test_when_one_condition_fails_then_nothing_is_written_and_the_failing_item_is_named(dynamodb):
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "marker"}})

    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(TransactItems=[add_one(), put_new("marker")])

    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    codes = [reason["Code"] for reason in raised.value.response["CancellationReasons"]]
    assert codes == ["None", "ConditionalCheckFailed"]
    assert item(dynamodb, "counter")["n"] == {"N": "1"}


def test_when_a_write_fails_half_way_then_the_earlier_writes_are_rolled_back(dynamodb):
    # ADD of a number to a string attribute is refused only when the write is made
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "counter2"}, "label": {"S": "text"}})

    with pytest.raises(ClientError):
        dynamodb.transact_write_items(TransactItems=[put_new("marker"), add_one(), add_one("counter2", "label")])

    assert item(dynamodb, "marker") is None
    assert item(dynamodb, "counter")["n"] == {"N": "1"}
    assert item(dynamodb, "counter2") == {"pk": {"S": "counter2"}, "label": {"S": "text"}}


def test_when_one_item_is_named_twice_then_the_transaction_is_refused(dynamodb):
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(TransactItems=[add_one(), add_one()])

    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert item(dynamodb, "counter")["n"] == {"N": "1"}
