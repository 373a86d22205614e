"""The one definition of mailroom's AWS resources, as CloudFormation.

`resources(stage, sender_domain)` is used twice: `infra.package` merges it into Chalice's packaged
template for AWS, and `infra.provision` creates the same resources with boto3 in the local emulator
(moto's CloudFormation skips several of these types). tests/integration/test_infra.py keeps the two
and the PynamoDB models from drifting apart.
"""
from __future__ import annotations

from typing import Any

# logical table name -> {"hash", "range"?, "indexes"?: {index name: (hash, range or None)}, "ttl"?}.
# Every key attribute is a string; every index projects ALL attributes.
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
    "suppressions": {"hash": "account_id", "range": "email_key", "indexes": {"by_email": ("email_key", "account_id")}},
    "campaigns": {"hash": "account_id", "range": "campaign_id", "indexes": {"by_queue": ("queue", "due_at")}},
    "events": {"hash": "campaign_key", "range": "event_key", "ttl": "expires_at"},
    "deliveries": {
        "hash": "campaign_key",
        "range": "delivery_key",
        "indexes": {"by_subscriber": ("subscriber_key", "claimed_at")},
        "ttl": "expires_at",
    },
    "usage": {"hash": "account_id", "range": "period"},
    "domains": {"hash": "account_id", "range": "name"},
    "domain_claims": {"hash": "name"},   # one owner per sending domain, across accounts
    "exports": {"hash": "account_id", "range": "export_id", "ttl": "expires_at"},   # account data exports (R28)
    "jobs": {"hash": "job"},   # where an unfinished pass of a scheduled retention job stopped
    "notices": {   # subscribe/unsubscribe notices waiting for a list's digest (R29)
        "hash": "list_key",
        "range": "notice_key",
        "indexes": {"by_queue": ("queue", "queued_at"), "by_email": ("email_key", "list_key")},
        "ttl": "expires_at",
    },
    "segments": {"hash": "account_id", "range": "segment_id", "indexes": {"by_list": ("list_key", "segment_id")}},
    "imports": {"hash": "list_key", "range": "import_id"},   # CSV imports into a list (R14) and their cursors
    "flags": {"hash": "account_id", "range": "pattern_key", "indexes": {"by_queue": ("queue", "flagged_at")}},   # R16
    # per-day SES reports of each account, and holds
    "reputation": {"hash": "day", "range": "account_id", "ttl": "expires_at"},
}

# logical queue name -> visibility timeout (s); each gets a dead-letter queue "<name>-dlq".
# A queue's visibility timeout is at least VISIBILITY_PER_TIMEOUT times its consumer Lambda's timeout, as AWS
# advises: a batch whose invocation was throttled and retried is not handed out again while it is still running
# (infra/package.py refuses a template that breaks this).
VISIBILITY_PER_TIMEOUT = 6
QUEUES: dict[str, int] = {
    "fanout": 900,
    "send": 180,
    "feedback": 180,
    "exports": 3600,   # account data exports (R28): the consumer may run for 10 minutes
    "imports": 3600,   # CSV imports (R14): the consumer runs up to 10 minutes, then hands on to the next message
    "password-resets": 180,   # reset links, emailed off the request so known and unknown addresses answer alike
}
# At most this many Lambda invocations consume the queue at once (the least AWS allows is 2). Senders beyond
# what SES's sending rate takes only throttle each other, and each one in flight is a chunk that leaves
# before the auto-stop rates (R22) can stop a campaign.
MAX_CONCURRENCY: dict[str, int] = {"send": 2}
MAX_RECEIVES = 5
DLQ_RETENTION_SECONDS = 14 * 24 * 3600

# Point-in-time recovery keeps this many days (AWS allows 1 to 35). The longest AWS offers: a restore is the last
# resort after a bad deploy or an operator's mistake noticed late, and erasures since the restore point are replayed
# (docs/operations.md), so a longer window costs storage only, not privacy.
PITR_RECOVERY_DAYS = 35

DATA_KEY = "DataKey"   # the customer-managed KMS key of the stage's data (R32)

# The service's keys (chalicelib/config.py Keys): the functions read it at run time; docs/operations.md says how to
# rotate its signing key. CloudFormation generates its first value (one random string: the first signing key and
# the hash key), so the value is never in the template. Never change its Name or GenerateSecretString: CloudFormation
# would make a new value, and every keyed hash stored (subscribers, suppressions, erased addresses) would stop matching.
SECRET = "Secret"
SECRET_NAME = "mailroom/{stage}/secret-key"

# SES configuration-set events go to this topic; the feedback queue is subscribed to it.
EVENTS_TOPIC = "ses-events"
CONFIGURATION_SET = "events"
# Only the events the feedback consumer acts on (services/feedback/ses_events.py APPLIED), and rendering failures.
# Never "open" or "click": subscribing to them turns on SES's own engagement tracking, which adds SES's pixel and
# rewrites every link of every email (our /c/ links and the footer's unsubscribe link included). Not
# "deliveryDelay" or "send" either: the consumer reads them but does nothing with them.
SES_EVENT_TYPES = ["bounce", "complaint", "delivery", "reject", "renderingFailure"]
ENGAGEMENT_EVENT_TYPES = frozenset({"open", "click"})


# Account data exports (R28) wait here for their download; the lifecycle deletes them after this many days.
EXPORTS_BUCKET = "exports"
EXPORTS_BUCKET_ID = "ExportsBucket"
EXPORT_RETENTION_DAYS = 7
# CSV files uploaded for imports (R14), and their rejected rows' reports, are deleted after this many days
# (services/audience/imports.py FILE_RETENTION says the same).
UPLOADS_BUCKET = "uploads"
UPLOADS_BUCKET_ID = "UploadsBucket"
UPLOAD_RETENTION_DAYS = 3


def name(stage: str, logical: str) -> str:
    """The physical name of a stage's resource: mailroom-<stage>-<logical>."""
    return f"mailroom-{stage}-{logical}"


def _camel(logical: str) -> str:
    return "".join(part.capitalize() for part in logical.replace("-", "_").split("_"))


def table_id(logical: str) -> str:
    """The template's logical id of a table."""
    return f"{_camel(logical)}Table"


def queue_id(logical: str) -> str:
    """The template's logical id of a queue."""
    return f"{_camel(logical)}Queue"


def dead_letter_queue_id(logical: str) -> str:
    """The template's logical id of a queue's dead-letter queue."""
    return f"{_camel(logical)}DeadLetterQueue"


def table_resource(stage: str, logical: str) -> dict[str, Any]:
    """One table: on-demand, encrypted with the data key, point-in-time recovery, TTL where the spec names one."""
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
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True,
                                             "RecoveryPeriodInDays": PITR_RECOVERY_DAYS},
        "DeletionProtectionEnabled": True,
        "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": {"Ref": DATA_KEY}},
    }
    if indexes:
        properties["GlobalSecondaryIndexes"] = indexes
    if spec.get("ttl"):
        properties["TimeToLiveSpecification"] = {"AttributeName": spec["ttl"], "Enabled": True}
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties,
    }


def _data_key(stage: str) -> dict[str, dict[str, Any]]:
    """The customer-managed key that encrypts every table, queue and the events topic (R32).

    The account's IAM decides who else may use it (the functions' role is granted in infra/package.py);
    SES may publish to the encrypted topic and SNS deliver to the encrypted queue, for this account only.
    """
    own_account = {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    return {
        DATA_KEY: {
            "Type": "AWS::KMS::Key",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Description": f"mailroom {stage}: encrypts its tables, queues and SES events topic",
                "EnableKeyRotation": True,
                "KeyPolicy": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AccountAdministersThroughIam",
                            "Effect": "Allow",
                            "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
                            "Action": "kms:*",
                            "Resource": "*",
                        },
                        {
                            "Sid": "SesPublishesAndSnsDeliversEncrypted",
                            "Effect": "Allow",
                            "Principal": {"Service": ["ses.amazonaws.com", "sns.amazonaws.com"]},
                            "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                            "Resource": "*",
                            "Condition": own_account,
                        },
                    ],
                },
            },
        },
        f"{DATA_KEY}Alias": {
            "Type": "AWS::KMS::Alias",
            "Properties": {"AliasName": f"alias/{name(stage, 'data')}", "TargetKeyId": {"Ref": DATA_KEY}},
        },
    }


# A stack deleted or a resource replaced by mistake leaves the data behind (queued work, export files, tables).
_RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}


def _queues(stage: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for logical, visibility in QUEUES.items():
        dlq = dead_letter_queue_id(logical)
        out[dlq] = {
            "Type": "AWS::SQS::Queue",
            **_RETAIN,
            "Properties": {
                "QueueName": name(stage, f"{logical}-dlq"),
                "MessageRetentionPeriod": DLQ_RETENTION_SECONDS,
                "KmsMasterKeyId": {"Ref": DATA_KEY},
            },
        }
        out[queue_id(logical)] = {
            "Type": "AWS::SQS::Queue",
            **_RETAIN,
            "Properties": {
                "QueueName": name(stage, logical),
                "VisibilityTimeout": visibility,
                "KmsMasterKeyId": {"Ref": DATA_KEY},
                "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]}, "maxReceiveCount": MAX_RECEIVES},
            },
        }
    return out


def _feedback_route() -> dict[str, dict[str, Any]]:
    """SES configuration-set events -> SNS topic -> the feedback queue, each hop allowed only for its source."""
    feedback = queue_id("feedback")
    configuration_set_arn = {
        "Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/${SesConfigurationSet}"
    }
    return {
        "SesEventsTopicPolicy": {
            "Type": "AWS::SNS::TopicPolicy",
            "Properties": {
                "Topics": [{"Ref": "SesEventsTopic"}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Sid": "SesConfigurationSetPublishes",
                        "Effect": "Allow",
                        "Principal": {"Service": "ses.amazonaws.com"},
                        "Action": "sns:Publish",
                        "Resource": {"Ref": "SesEventsTopic"},
                        "Condition": {
                            "StringEquals": {"AWS:SourceAccount": {"Ref": "AWS::AccountId"}},
                            "ArnLike": {"AWS:SourceArn": configuration_set_arn},
                        },
                    }],
                },
            },
        },
        "SesEventsToFeedbackQueue": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "TopicArn": {"Ref": "SesEventsTopic"},
                "Protocol": "sqs",
                "Endpoint": {"Fn::GetAtt": [feedback, "Arn"]},
                "RawMessageDelivery": False,
            },
        },
        "FeedbackQueuePolicy": {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [{"Ref": feedback}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "SesEventsTopicDelivers",
                            "Effect": "Allow",
                            "Principal": {"Service": "sns.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": {"Fn::GetAtt": [feedback, "Arn"]},
                            "Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": "SesEventsTopic"}}},
                        },
                        {
                            "Sid": "TlsOnly",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "sqs:*",
                            "Resource": {"Fn::GetAtt": [feedback, "Arn"]},
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        },
                    ],
                },
            },
        },
    }


def exports_bucket(stage: str) -> dict[str, Any]:
    """The bucket of account data exports (R28): private, encrypted by default with the data key, kept 7 days."""
    return _private_bucket(stage, EXPORTS_BUCKET, "expire-exports", EXPORT_RETENTION_DAYS)


def uploads_bucket(stage: str) -> dict[str, Any]:
    """The bucket of CSV files uploaded for imports (R14): private, encrypted with the data key, kept 3 days."""
    return _private_bucket(stage, UPLOADS_BUCKET, "expire-uploads", UPLOAD_RETENTION_DAYS)


def _private_bucket(stage: str, logical: str, rule: str, days: int) -> dict[str, Any]:
    return {
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "BucketName": name(stage, logical),
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [{
                "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                  "KMSMasterKeyID": {"Fn::GetAtt": [DATA_KEY, "Arn"]}},
                "BucketKeyEnabled": True,
            }]},
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                               "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "LifecycleConfiguration": {"Rules": [{
                "Id": rule,
                "Status": "Enabled",
                "ExpirationInDays": days,
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
            }]},
        },
    }


def secret(stage: str) -> dict[str, Any]:
    """The secret holding the stage's keys, encrypted with the data key, kept if the stack goes or would replace it."""
    return {
        "Type": "AWS::SecretsManager::Secret",
        **_RETAIN,
        "Properties": {
            "Name": SECRET_NAME.format(stage=stage),
            "Description": f"mailroom {stage}: its signing keys (newest first) and its never-rotated hash key",
            "KmsKeyId": {"Ref": DATA_KEY},
            "GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": True},
        },
    }


def resources(stage: str, sender_domain: Any) -> dict[str, dict[str, Any]]:
    """Every resource besides the Lambda functions and the API (Chalice packages those).

    `sender_domain` is the domain SES sends from, or a CloudFormation expression for it (a Ref to a
    template parameter, when packaging).
    """
    out: dict[str, dict[str, Any]] = {table_id(logical): table_resource(stage, logical) for logical in TABLES}
    out.update(_queues(stage))
    out.update(_data_key(stage))
    out[EXPORTS_BUCKET_ID] = exports_bucket(stage)
    out[UPLOADS_BUCKET_ID] = uploads_bucket(stage)
    out[SECRET] = secret(stage)
    out["SesEventsTopic"] = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": name(stage, EVENTS_TOPIC),
                                                                      "KmsMasterKeyId": {"Ref": DATA_KEY}}}
    out.update(_feedback_route())
    out["SesConfigurationSet"] = {
        "Type": "AWS::SES::ConfigurationSet",
        "Properties": {
            "Name": name(stage, CONFIGURATION_SET),
            # SES's engagement tracking stays off even where the account turns on Virtual Deliverability Manager:
            # it would add its pixel and rewrite every link, beside our own open pixel (/o/) and click links (/c/).
            "VdmOptions": {"DashboardOptions": {"EngagementMetrics": "DISABLED"}},
        },
    }
    out["SesEventsDestination"] = {
        "Type": "AWS::SES::ConfigurationSetEventDestination",
        "Properties": {
            "ConfigurationSetName": {"Ref": "SesConfigurationSet"},
            "EventDestination": {
                "Name": "to-sns",
                "Enabled": True,
                "MatchingEventTypes": SES_EVENT_TYPES,
                "SnsDestination": {"TopicARN": {"Ref": "SesEventsTopic"}},
            },
        },
    }
    out["SenderIdentity"] = {
        "Type": "AWS::SES::EmailIdentity",
        "Properties": {
            "EmailIdentity": sender_domain,
            "ConfigurationSetAttributes": {"ConfigurationSetName": {"Ref": "SesConfigurationSet"}},
        },
    }
    return out
