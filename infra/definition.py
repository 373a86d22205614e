"""The one definition of mailroom's AWS resources, as CloudFormation.

`resources(stage)` is used twice: `infra.package` merges it into Chalice's packaged template for AWS,
and `infra.provision` creates the same resources with boto3 in the local emulator (moto's
CloudFormation skips several of these types). tests/integration/test_infra.py keeps the two and
the PynamoDB models from drifting apart.
"""
from __future__ import annotations

from typing import Any

# logical table name -> (hash key, range key or None, {index name: (hash, range or None)}, ttl attr or None)
TABLES: dict[str, dict[str, Any]] = {
    "accounts": {"hash": "account_id", "indexes": {"by_status": ("status", "created_at")}},
    "users": {"hash": "account_id", "range": "user_id"},
    "logins": {"hash": "email"},
    "credentials": {"hash": "account_id", "range": "credential_key", "ttl": "expires_at"},
    "audit": {"hash": "account_id", "range": "audit_key"},
    "throttles": {"hash": "throttle_key", "ttl": "expires_at"},
    "lists": {"hash": "account_id", "range": "list_id"},
    "subscribers": {
        "hash": "list_key",
        "range": "subscriber_id",
        "indexes": {"by_status": ("list_status", "created_at"), "by_email": ("email_key", "list_key")},
    },
    "suppressions": {"hash": "account_id", "range": "email_key"},
}

# logical queue name -> visibility timeout (s); each gets a dead-letter queue "<name>-dlq".
QUEUES: dict[str, int] = {
    "fanout": 900,
    "send": 180,
    "feedback": 120,
}
MAX_RECEIVES = 5
DLQ_RETENTION_SECONDS = 14 * 24 * 3600

# SES configuration-set events go to this topic; the feedback queue is subscribed to it.
EVENTS_TOPIC = "ses-events"
SES_EVENT_TYPES = ["SEND", "REJECT", "BOUNCE", "COMPLAINT", "DELIVERY", "DELIVERY_DELAY", "OPEN", "CLICK"]


def name(stage: str, logical: str) -> str:
    return f"mailroom-{stage}-{logical}"


def _camel(logical: str) -> str:
    return "".join(part.capitalize() for part in logical.replace("-", "_").split("_"))


def table_resource(stage: str, logical: str) -> dict[str, Any]:
    spec = TABLES[logical]
    keys = [(spec["hash"], "HASH")] + ([(spec["range"], "RANGE")] if spec.get("range") else [])
    attributes = {attr for attr, _ in keys}
    indexes = []
    for index_name, (hash_key, range_key) in spec.get("indexes", {}).items():
        schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
        attributes.add(hash_key)
        if range_key:
            schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
            attributes.add(range_key)
        indexes.append({"IndexName": index_name, "KeySchema": schema, "Projection": {"ProjectionType": "ALL"}})
    properties: dict[str, Any] = {
        "TableName": name(stage, logical),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)],
        "KeySchema": [{"AttributeName": attr, "KeyType": kind} for attr, kind in keys],
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
    }
    if indexes:
        properties["GlobalSecondaryIndexes"] = indexes
    if spec.get("ttl"):
        properties["TimeToLiveSpecification"] = {"AttributeName": spec["ttl"], "Enabled": True}
    return {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain", "Properties": properties}


def resources(stage: str, sender_domain: str) -> dict[str, dict[str, Any]]:
    """Every resource besides the Lambda functions and the API (Chalice packages those)."""
    out: dict[str, dict[str, Any]] = {}
    for logical in TABLES:
        out[f"{_camel(logical)}Table"] = table_resource(stage, logical)
    for logical, visibility in QUEUES.items():
        dlq = f"{_camel(logical)}DeadLetterQueue"
        out[dlq] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": name(stage, f"{logical}-dlq"),
                "MessageRetentionPeriod": DLQ_RETENTION_SECONDS,
                "SqsManagedSseEnabled": True,
            },
        }
        out[f"{_camel(logical)}Queue"] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": name(stage, logical),
                "VisibilityTimeout": visibility,
                "SqsManagedSseEnabled": True,
                "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]}, "maxReceiveCount": MAX_RECEIVES},
            },
        }
    out["SesEventsTopic"] = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": name(stage, EVENTS_TOPIC)}}
    out["SesEventsToFeedbackQueue"] = {
        "Type": "AWS::SNS::Subscription",
        "Properties": {
            "TopicArn": {"Ref": "SesEventsTopic"},
            "Protocol": "sqs",
            "Endpoint": {"Fn::GetAtt": ["FeedbackQueue", "Arn"]},
            "RawMessageDelivery": False,
        },
    }
    out["FeedbackQueuePolicy"] = {
        "Type": "AWS::SQS::QueuePolicy",
        "Properties": {
            "Queues": [{"Ref": "FeedbackQueue"}],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": {"Fn::GetAtt": ["FeedbackQueue", "Arn"]},
                    "Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": "SesEventsTopic"}}},
                }],
            },
        },
    }
    out["SesConfigurationSet"] = {
        "Type": "AWS::SES::ConfigurationSet",
        "Properties": {"Name": name(stage, "events")},
    }
    out["SesEventsDestination"] = {
        "Type": "AWS::SES::ConfigurationSetEventDestination",
        "Properties": {
            "ConfigurationSetName": {"Ref": "SesConfigurationSet"},
            "EventDestination": {
                "Name": "to-sns",
                "Enabled": True,
                "MatchingEventTypes": [t.lower().replace("delivery_delay", "deliveryDelay") for t in SES_EVENT_TYPES],
                "SnsDestination": {"TopicARN": {"Ref": "SesEventsTopic"}},
            },
        },
    }
    out["SenderIdentity"] = {
        "Type": "AWS::SES::EmailIdentity",
        "Properties": {"EmailIdentity": sender_domain, "ConfigurationSetAttributes": {
            "ConfigurationSetName": {"Ref": "SesConfigurationSet"}}},
    }
    return out
