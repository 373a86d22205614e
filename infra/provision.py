"""Create the resources of infra/definition.py with boto3 (the local emulator, or a test's moto)."""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError

from infra import definition

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
# What SES, SES v2 (and moto's rendering of them) and DynamoDB answer when a resource is already there.
_ALREADY_EXISTS = frozenset({
    "AlreadyExistsException", "AlreadyExists", "ConfigurationSetAlreadyExists",
    "ConfigurationSetAlreadyExistsException", "EventDestinationAlreadyExists",
    "EventDestinationAlreadyExistsException", "ResourceInUseException", "BucketAlreadyOwnedByYou",
})


@contextmanager
def _already_exists_is_fine() -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in _ALREADY_EXISTS:
            raise


class Provisioner:
    """Walks the definition and creates each resource it knows how to make, in dependency order."""

    def __init__(self, session: Any, stage: str, sender_domain: str, endpoint_url: str | None = None):
        self.stage = stage
        self.template = definition.resources(stage, sender_domain)
        self._session = session
        self._endpoint_url = endpoint_url
        self._clients: dict[str, Any] = {}
        self.made: dict[str, str] = {}   # logical id -> what Ref answers (name, URL or ARN)
        self.arns: dict[str, str] = {}   # logical id -> what Fn::GetAtt Arn answers
        self._pseudo: dict[str, str] | None = None

    def _client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(service, endpoint_url=self._endpoint_url)
        return self._clients[service]

    def run(self) -> dict[str, str]:
        """Create every resource (each step is idempotent) and return what each Ref resolves to."""
        handlers: dict[str, Callable[[str, dict], None]] = {
            "AWS::KMS::Key": self._key,
            "AWS::KMS::Alias": self._alias,
            "AWS::DynamoDB::Table": self._table,
            "AWS::SQS::Queue": self._queue,
            "AWS::SNS::Topic": self._topic,
            "AWS::SNS::TopicPolicy": self._topic_policy,
            "AWS::SNS::Subscription": self._subscription,
            "AWS::SQS::QueuePolicy": self._queue_policy,
            "AWS::SES::ConfigurationSet": self._configuration_set,
            "AWS::SES::ConfigurationSetEventDestination": self._event_destination,
            "AWS::SES::EmailIdentity": self._identity,
            "AWS::S3::Bucket": self._bucket,
            "AWS::SecretsManager::Secret": self._secret,
        }
        unknown = sorted({r["Type"] for r in self.template.values()} - set(handlers))
        if unknown:
            raise RuntimeError(f"infra/provision.py cannot create {', '.join(unknown)} yet; add a handler.")
        pending = dict(self.template)
        while pending:
            progressed = False
            for logical_id, resource in list(pending.items()):
                if not self._ready(resource):
                    continue
                handlers[resource["Type"]](logical_id, self.resolve(resource["Properties"]))
                del pending[logical_id]
                progressed = True
            if not progressed:
                raise RuntimeError(f"Unresolvable references in {sorted(pending)}")
        return self.made

    # --- references -------------------------------------------------------------------------
    def _refs(self, value: Any) -> set[str]:
        if isinstance(value, dict):
            if "Ref" in value:
                return {value["Ref"]} - {"AWS::Region", "AWS::AccountId", "AWS::Partition"}
            if "Fn::GetAtt" in value:
                return {value["Fn::GetAtt"][0]}
            if "Fn::Sub" in value:
                names = {n.split(".")[0] for n in _SUB_VARIABLE.findall(value["Fn::Sub"])}
                return {n for n in names if not n.startswith("AWS::")}
            return set().union(*(self._refs(v) for v in value.values())) if value else set()
        if isinstance(value, list):
            return set().union(*(self._refs(v) for v in value)) if value else set()
        return set()

    def _ready(self, resource: dict) -> bool:
        return self._refs(resource.get("Properties", {})) <= set(self.made)

    def _pseudo_parameters(self) -> dict[str, str]:
        if self._pseudo is None:
            account = self._client("sts").get_caller_identity()["Account"]
            self._pseudo = {"AWS::Region": self._session.region_name, "AWS::AccountId": account,
                            "AWS::Partition": "aws"}
        return self._pseudo

    def _lookup(self, ref: str) -> str:
        if ref.startswith("AWS::"):
            return self._pseudo_parameters()[ref]
        if ref.endswith(".Arn"):
            return self.arns[ref[: -len(".Arn")]]
        return self.made[ref]

    def resolve(self, value: Any) -> Any:
        """A template value with its Refs, Fn::GetAtt Arns and Fn::Subs replaced by what was made."""
        if isinstance(value, dict):
            if "Ref" in value:
                return self._lookup(value["Ref"])
            if "Fn::GetAtt" in value:
                logical_id, attribute = value["Fn::GetAtt"]
                if attribute != "Arn":
                    raise RuntimeError(f"infra/provision.py resolves only Fn::GetAtt Arn, not {attribute}")
                return self.arns[logical_id]
            if "Fn::Sub" in value:
                return _SUB_VARIABLE.sub(lambda match: self._lookup(match.group(1)), value["Fn::Sub"])
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    # --- resource types ---------------------------------------------------------------------
    def _key(self, logical_id: str, props: dict) -> None:
        """The stage's data key, found again by its alias on a second run (keys have no name of their own)."""
        kms = self._client("kms")
        alias = next((r["Properties"]["AliasName"] for r in self.template.values()
                      if r["Type"] == "AWS::KMS::Alias" and r["Properties"]["TargetKeyId"] == {"Ref": logical_id}),
                     None)
        key_id = None
        if alias:
            try:
                key_id = kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]
            except kms.exceptions.NotFoundException:
                key_id = None
        if key_id is None:
            key_id = kms.create_key(Description=props["Description"], Policy=json.dumps(props["KeyPolicy"]))[
                "KeyMetadata"]["KeyId"]
            if props.get("EnableKeyRotation"):
                kms.enable_key_rotation(KeyId=key_id)
        self.made[logical_id] = key_id
        self.arns[logical_id] = kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]

    def _alias(self, logical_id: str, props: dict) -> None:
        kms = self._client("kms")
        with _already_exists_is_fine():
            kms.create_alias(AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"])
        self.made[logical_id] = props["AliasName"]

    def _table(self, logical_id: str, props: dict) -> None:
        dynamodb = self._client("dynamodb")
        create = {k: props[k] for k in ("TableName", "BillingMode", "AttributeDefinitions", "KeySchema")}
        if "GlobalSecondaryIndexes" in props:
            create["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        sse = props.get("SSESpecification", {})
        if sse.get("SSEEnabled"):
            create["SSESpecification"] = {"Enabled": True, **({"SSEType": sse["SSEType"], "KMSMasterKeyId":
                                                                 sse["KMSMasterKeyId"]} if "SSEType" in sse else {})}
        try:
            arn = dynamodb.create_table(**create)["TableDescription"]["TableArn"]
        except dynamodb.exceptions.ResourceInUseException:
            arn = dynamodb.describe_table(TableName=props["TableName"])["Table"]["TableArn"]
        if "TimeToLiveSpecification" in props:
            spec = props["TimeToLiveSpecification"]
            current = dynamodb.describe_time_to_live(TableName=props["TableName"])["TimeToLiveDescription"]
            if current.get("TimeToLiveStatus") != "ENABLED":
                dynamodb.update_time_to_live(
                    TableName=props["TableName"],
                    TimeToLiveSpecification={"AttributeName": spec["AttributeName"], "Enabled": spec["Enabled"]},
                )
        if props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"):
            dynamodb.update_continuous_backups(
                TableName=props["TableName"],
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
        self.made[logical_id] = props["TableName"]
        self.arns[logical_id] = arn

    def _queue(self, logical_id: str, props: dict) -> None:
        sqs = self._client("sqs")
        attributes = {
            key: (json.dumps(value) if isinstance(value, dict) else str(value).lower() if isinstance(value, bool)
                  else str(value))
            for key, value in props.items() if key != "QueueName"
        }
        url = sqs.create_queue(QueueName=props["QueueName"], Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.made[logical_id] = url
        self.arns[logical_id] = arn

    def _topic(self, logical_id: str, props: dict) -> None:
        attributes = {key: str(value) for key, value in props.items() if key == "KmsMasterKeyId"}
        arn = self._client("sns").create_topic(Name=props["TopicName"], Attributes=attributes)["TopicArn"]
        self.made[logical_id] = arn
        self.arns[logical_id] = arn

    def _topic_policy(self, logical_id: str, props: dict) -> None:
        sns = self._client("sns")
        for arn in props["Topics"]:
            sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy",
                                     AttributeValue=json.dumps(props["PolicyDocument"]))
        self.made[logical_id] = ",".join(props["Topics"])

    def _subscription(self, logical_id: str, props: dict) -> None:
        response = self._client("sns").subscribe(
            TopicArn=props["TopicArn"],
            Protocol=props["Protocol"],
            Endpoint=props["Endpoint"],
            Attributes={"RawMessageDelivery": str(props.get("RawMessageDelivery", False)).lower()},
            ReturnSubscriptionArn=True,
        )
        self.made[logical_id] = response["SubscriptionArn"]

    def _queue_policy(self, logical_id: str, props: dict) -> None:
        sqs = self._client("sqs")
        for url in props["Queues"]:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])})
        self.made[logical_id] = ",".join(props["Queues"])

    def _configuration_set(self, logical_id: str, props: dict) -> None:
        with _already_exists_is_fine():
            self._client("sesv2").create_configuration_set(
                ConfigurationSetName=props["Name"],
                **({"VdmOptions": props["VdmOptions"]} if "VdmOptions" in props else {}))
        self.made[logical_id] = props["Name"]

    def _event_destination(self, logical_id: str, props: dict) -> None:
        destination = props["EventDestination"]
        with _already_exists_is_fine():
            self._client("ses").create_configuration_set_event_destination(
                ConfigurationSetName=props["ConfigurationSetName"],
                EventDestination={
                    "Name": destination["Name"],
                    "Enabled": destination["Enabled"],
                    "MatchingEventTypes": destination["MatchingEventTypes"],
                    "SNSDestination": {"TopicARN": destination["SnsDestination"]["TopicARN"]},
                },
            )
        self.made[logical_id] = destination["Name"]

    def _identity(self, logical_id: str, props: dict) -> None:
        configuration_set = props.get("ConfigurationSetAttributes", {}).get("ConfigurationSetName")
        with _already_exists_is_fine():
            self._client("sesv2").create_email_identity(
                EmailIdentity=props["EmailIdentity"],
                **({"ConfigurationSetName": configuration_set} if configuration_set else {}),
            )
        # The emulator verifies domains on request, as SES does once DKIM records are published.
        self._client("ses").verify_domain_identity(Domain=props["EmailIdentity"])
        self.made[logical_id] = props["EmailIdentity"]


    def _bucket(self, logical_id: str, props: dict) -> None:
        s3 = self._client("s3")
        bucket = props["BucketName"]
        region = self._session.region_name
        with _already_exists_is_fine():
            s3.create_bucket(Bucket=bucket, **({"CreateBucketConfiguration": {"LocationConstraint": region}}
                                               if region != "us-east-1" else {}))
        if "OwnershipControls" in props:
            s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=props["OwnershipControls"])
        if "PublicAccessBlockConfiguration" in props:
            s3.put_public_access_block(Bucket=bucket,
                                       PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
        if "BucketEncryption" in props:
            rules = [{"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                      "BucketKeyEnabled": rule.get("BucketKeyEnabled", False)}
                     for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]]
            s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": rules})
        if "LifecycleConfiguration" in props:
            s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
                _lifecycle_rule(rule) for rule in props["LifecycleConfiguration"]["Rules"]]})
        self.made[logical_id] = bucket
        self.arns[logical_id] = f"arn:aws:s3:::{bucket}"

    def _secret(self, logical_id: str, props: dict) -> None:
        """The secret with a value generated as CloudFormation would; one already there keeps its value."""
        secretsmanager = self._client("secretsmanager")
        try:
            arn = secretsmanager.describe_secret(SecretId=props["Name"])["ARN"]
        except secretsmanager.exceptions.ResourceNotFoundException:
            value = secretsmanager.get_random_password(**props["GenerateSecretString"])["RandomPassword"]
            arn = secretsmanager.create_secret(Name=props["Name"], Description=props["Description"],
                                               KmsKeyId=props["KmsKeyId"], SecretString=value)["ARN"]
        self.made[logical_id] = arn
        self.arns[logical_id] = arn


def _lifecycle_rule(rule: dict) -> dict:
    """A CloudFormation lifecycle rule as the S3 API spells it."""
    made: dict[str, Any] = {"ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
    if "ExpirationInDays" in rule:
        made["Expiration"] = {"Days": rule["ExpirationInDays"]}
    if "AbortIncompleteMultipartUpload" in rule:
        made["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
    return made


def provision(settings: Any) -> dict[str, str]:
    """Create every resource for `settings` (stage, region, endpoint); safe to run again."""
    import boto3

    session = boto3.session.Session(region_name=settings.region)
    return Provisioner(session, settings.stage, settings.sender_domain, settings.aws_endpoint).run()
