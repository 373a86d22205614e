"""What each Lambda function may do (R32): one role per function, with only the calls its code makes.

`GRANTS` names, per function (Chalice's logical id), what it reaches besides its own log group, the stage's data
key and the keys' secret; `policy(function)` turns that into the role's IAM policy. A function Chalice packages
that has no entry here stops `make package` (infra/package.py): a new function starts with nothing, not with everything.

Where a grant comes from in the code:
- tables: every function reads and writes the stage's tables (the models share helpers across capabilities), but
  only a function that scans (`scans`) may call `dynamodb:Scan`, and only on the tables it scans
  (models/accounts.py page_by_status with no status; models/retention.py accounts_where, every_list,
  expired_scan, unfinished_jobs).
- queues: `sends_to` are the queues its code puts work on (chalicelib/queues.py callers), `consumes` the queue of
  its event source mapping (Lambda polls with the function's role).
- mail: `mails` sends as the service's own sender (ses.mailer(): verification, notices, warnings); `mails_as_customers`
  sends as customers' sending domains (campaign mail: the sender, and the API's test copies).
- `manages_domains` registers, reads and removes customers' sending domains (identities.py); `removes_domains`
  removes them only (a purged account's domains).
- buckets: "exports"/"uploads" -> "write" (put, read, abort uploads, delete, list) or "delete" (list, delete).

Customers' domains are created at run time, so their ARNs cannot be listed: they are tagged with the stage when
registered (identities.py STAGE_TAG), and every grant on them requires that tag. No function can reach an SES
identity of another stage or one an operator made by hand, except the stage's own sender domain.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.identities import STAGE_TAG  # the tag of the domains the stage registers
from infra import definition, distribution

ALL_TABLES = tuple(definition.TABLES)
TTL_TABLES = tuple(logical for logical, spec in definition.TABLES.items() if spec.get("ttl"))

DYNAMODB_ACTIONS = [
    "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
    "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
]
SEND_ACTIONS = ["sqs:GetQueueUrl", "sqs:SendMessage"]
CONSUME_ACTIONS = ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]   # what Lambda's poller calls
SES_SEND_ACTIONS = ["ses:SendEmail", "ses:SendRawEmail"]
XRAY_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
BUCKET_ACTIONS = {
    "write": ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:DeleteObject"],
    "delete": ["s3:DeleteObject"],
}
BUCKET_IDS = {definition.EXPORTS_BUCKET: definition.EXPORTS_BUCKET_ID,
              definition.UPLOADS_BUCKET: definition.UPLOADS_BUCKET_ID}


@dataclass(frozen=True)
class Grants:
    """What one function does besides writing its logs."""

    scans: tuple[str, ...] = ()
    sends_to: tuple[str, ...] = ()
    consumes: str | None = None
    mails: bool = False
    mails_as_customers: bool = False
    manages_domains: bool = False
    removes_domains: bool = False
    buckets: dict[str, str] = field(default_factory=dict)
    reads_secrets: tuple[str, ...] = ()   # logical ids of secrets besides the keys'


# The account purge (retention/account_purge.py) removes the account's sending domains and export files.
_PURGES: dict[str, Any] = {"removes_domains": True, "buckets": {"exports": "delete"}}

GRANTS: dict[str, Grants] = {
    "APIHandler": Grants(
        scans=("accounts",),                                       # staff's account listing without a status
        sends_to=("fanout", "exports", "imports", "password-resets"),
        mails=True, mails_as_customers=True,                       # service mail; a campaign's test copies
        manages_domains=True,
        buckets={"exports": "write", "uploads": "write"},          # links, erasure, uploads through presigned POSTs
        reads_secrets=(distribution.TOKEN_SECRET,),                # whose requests to trust for readers' countries
    ),
    "StartDueCampaigns": Grants(sends_to=("fanout",)),
    "FanoutCampaign": Grants(consumes="fanout", sends_to=("fanout", "send")),
    "SendChunk": Grants(consumes="send", mails=True, mails_as_customers=True),   # R22's stop notice is service mail
    "ApplyFeedback": Grants(consumes="feedback", mails=True),
    "ExportAccount": Grants(consumes="exports", sends_to=("exports",), mails=True, buckets={"exports": "write"}),
    "ImportList": Grants(consumes="imports", sends_to=("imports",), buckets={"uploads": "write"}),
    "PublishReputation": Grants(mails=True),   # today's service-wide rates; owners of holds not yet told
    "SendResetLinks": Grants(consumes="password-resets", mails=True),
    "SendNoticeDigests": Grants(mails=True),
    "PurgeClosedAccounts": Grants(**_PURGES),
    "PurgeInactiveAccounts": Grants(scans=("accounts",), mails=True, **_PURGES),
    "ExpireCredits": Grants(scans=("accounts",)),
    "ExpireTrials": Grants(scans=("accounts",)),
    "PurgeUnconfirmedSubscribers": Grants(scans=("lists",)),
    "PurgeExpiredItems": Grants(scans=TTL_TABLES),
    # The hourly catch-up goes on with any rule above that stopped early, and with unfinished purges.
    "ResumeRetention": Grants(scans=("jobs", "accounts", "lists", *TTL_TABLES), mails=True, **_PURGES),
}


def _arn(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def _identities(kind: str) -> dict[str, Any]:
    return {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:" + kind}


def _stage_tagged(key: str) -> dict[str, Any]:
    return {"StringEquals": {f"{key}/{STAGE_TAG}": {"Ref": "Stage"}}}


def statements(function: str) -> list[dict[str, Any]]:
    """The IAM statements of `function`'s role (its log group and the data key included)."""
    grants = GRANTS.get(function, Grants())
    tables = [definition.table_id(logical) for logical in ALL_TABLES]
    out: list[dict[str, Any]] = [
        {"Sid": "OwnLogGroup", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": [_arn(f"{function}LogGroup")]},
        {"Sid": "StageTablesAndIndexes", "Action": DYNAMODB_ACTIONS,
         "Resource": [_arn(t) for t in tables] + [{"Fn::Sub": f"${{{t}.Arn}}/index/*"} for t in tables]},
        # Tables, queues and buckets are encrypted with the stage's key: writers make data keys, readers decrypt.
        {"Sid": "StageDataKey", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
         "Resource": [_arn(definition.DATA_KEY)]},
        # Every function reads the keys when it starts (config.check_at_start) and signs, verifies or hashes with them.
        {"Sid": "ReadsTheKeys", "Action": ["secretsmanager:GetSecretValue"], "Resource": [{"Ref": definition.SECRET}]},
        # Active tracing (infra/package.py): Lambda and the X-Ray SDK send the function's segments. X-Ray has no
        # resource to name in these calls.
        {"Sid": "WritesTraces", "Action": XRAY_ACTIONS, "Resource": ["*"]},
    ]
    if grants.reads_secrets:
        out.append({"Sid": "ReadsItsSecrets", "Action": ["secretsmanager:GetSecretValue"],
                    "Resource": [{"Ref": secret} for secret in grants.reads_secrets]})
    if grants.scans:
        out.append({"Sid": "ScansItsSweeps", "Action": ["dynamodb:Scan"],
                    "Resource": [_arn(definition.table_id(t)) for t in grants.scans]})
    if grants.sends_to:
        out.append({"Sid": "PutsWorkOn", "Action": SEND_ACTIONS,
                    "Resource": [_arn(definition.queue_id(q)) for q in grants.sends_to]})
    if grants.consumes:
        out.append({"Sid": "ConsumesItsQueue", "Action": CONSUME_ACTIONS,
                    "Resource": [_arn(definition.queue_id(grants.consumes))]})
    configuration_set = _identities("configuration-set/${SesConfigurationSet}")
    if grants.mails:
        out.append({"Sid": "MailsAsTheService", "Action": SES_SEND_ACTIONS,
                    "Resource": [_identities("identity/${SenderDomain}"), configuration_set]})
    if grants.mails_as_customers:
        out.append({"Sid": "MailsAsCustomersDomains", "Action": SES_SEND_ACTIONS,
                    "Resource": [_identities("identity/*")], "Condition": _stage_tagged("aws:ResourceTag")})
        if not grants.mails:
            out.append({"Sid": "MailsThroughTheStageConfigurationSet", "Action": SES_SEND_ACTIONS,
                        "Resource": [configuration_set]})
    if grants.manages_domains:
        out.append({"Sid": "RegistersCustomersDomains", "Action": ["ses:CreateEmailIdentity", "ses:TagResource"],
                    "Resource": [_identities("identity/*")], "Condition": _stage_tagged("aws:RequestTag")})
        out.append({"Sid": "ReadsAndRemovesCustomersDomains",
                    "Action": ["ses:DeleteEmailIdentity", "ses:GetEmailIdentity"],
                    "Resource": [_identities("identity/*")], "Condition": _stage_tagged("aws:ResourceTag")})
    elif grants.removes_domains:
        out.append({"Sid": "RemovesCustomersDomains", "Action": ["ses:DeleteEmailIdentity"],
                    "Resource": [_identities("identity/*")], "Condition": _stage_tagged("aws:ResourceTag")})
    for bucket, level in sorted(grants.buckets.items()):
        bucket_id = BUCKET_IDS[bucket]
        camel = bucket.capitalize()
        out.append({"Sid": f"{camel}Objects", "Action": BUCKET_ACTIONS[level],
                    "Resource": [{"Fn::Sub": f"${{{bucket_id}.Arn}}/*"}]})
        out.append({"Sid": f"{camel}Listing", "Action": ["s3:ListBucket"], "Resource": [_arn(bucket_id)]})
    return [{"Effect": "Allow", **statement} for statement in out]


def policy(function: str) -> dict[str, Any]:
    """The policy document of `function`'s role."""
    return {"Version": "2012-10-17", "Statement": statements(function)}
