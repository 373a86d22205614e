"""The emulator's items measure their size once (local/item_size.py) and still refuse what DynamoDB refuses."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from chalicelib import aws
from chalicelib.config import get_settings
from local import item_size


def put(size: int, attributes: int = 1) -> None:
    item = {"throttle_key": {"S": f"size-{size}-{attributes}"}}
    item.update({f"a{n}": {"S": "x" * (size // attributes)} for n in range(attributes)})
    aws.client("dynamodb").put_item(TableName=get_settings().table_name("throttles"), Item=item)


@pytest.mark.parametrize("attributes", [1, 40])
def test_items_up_to_the_limit_are_stored_and_larger_ones_refused(moto_env, attributes):
    # Given the emulator's faster item sizing
    item_size.install()

    # When an item under 400 KB and one over it are put
    put(390_000, attributes)
    with pytest.raises(ClientError) as refused:
        put(420_000, attributes)

    # Then the first is stored, the second refused as DynamoDB refuses it
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "size has exceeded" in refused.value.response["Error"]["Message"]
    stored = aws.client("dynamodb").get_item(TableName=get_settings().table_name("throttles"),
                                            Key={"throttle_key": {"S": f"size-390000-{attributes}"}})
    assert len(stored["Item"]) == attributes + 1
